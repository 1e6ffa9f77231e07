"""Where results go (linearnet.outputs): output paths checked before the work, files written atomically."""

import os

import pytest

from linearnet.modelfile import Model, save_model
from linearnet.outputs import atomic_write, check_output

from helpers import HOUSES, cli


def test_a_failed_write_leaves_the_existing_file_untouched(tmp_path, monkeypatch):
    path = tmp_path / "m.json"
    path.write_text("old")
    import linearnet.modelfile as mf

    def explode(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(mf.json, "dumps", lambda *a, **k: "x" * 10)
    monkeypatch.setattr("builtins.open", _failing_open(open, explode))
    with pytest.raises(OSError, match="disk full"):
        save_model(Model(["a"], [1.0], 0.0), path)
    monkeypatch.undo()
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["m.json"]


def _failing_open(real_open, fail):
    def fake(file, mode="r", *args, **kwargs):
        if "w" in mode:
            fail()
        return real_open(file, mode, *args, **kwargs)

    return fake


def test_written_files_follow_the_umask_and_keep_an_existing_mode(tmp_path, capsys):
    model = tmp_path / "m.json"
    old = os.umask(0o022)
    try:
        assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", model)[0] == 0
        assert oct(model.stat().st_mode & 0o777) == oct(0o644)
        model.chmod(0o640)
        assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", model)[0] == 0
        assert oct(model.stat().st_mode & 0o777) == oct(0o640)
    finally:
        os.umask(old)


def test_an_empty_output_name_is_refused(capsys):
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", "")
    assert code == 2 and out == ""
    assert err == "linearnet solve: error: an output option was given an empty file name; name the file to write\n"


def test_an_unwritable_folder_is_one_line(capsys):
    # /proc refuses new files even to root: refused up front (not writable) or at the write itself
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", "/proc/m.json")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("linearnet solve: error: /proc/m.json: ")


def test_a_folder_given_as_the_output_is_refused(tmp_path):
    with pytest.raises(ValueError) as info:
        check_output(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory, expected a file name for the output"


def test_a_missing_or_read_only_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    with pytest.raises(ValueError) as info:
        check_output(tmp_path / "nope" / "m.json")
    assert str(info.value) == f"{tmp_path / 'nope' / 'm.json'}: folder {tmp_path / 'nope'} does not exist"
    real_access = os.access

    def read_only(path, mode, *args, **kwargs):  # chmod does not stop root: refuse the way the OS would
        if os.fspath(path) == str(tmp_path) and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", read_only)
    with pytest.raises(ValueError) as info:
        check_output(tmp_path / "m.json")
    assert str(info.value) == f"{tmp_path / 'm.json'}: folder {tmp_path} is not writable"
    with pytest.raises(ValueError) as info:
        atomic_write(tmp_path / "m.json", lambda tmp: None)
    assert str(info.value) == f"{tmp_path / 'm.json'}: folder {tmp_path} is not writable"
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_removes_its_file_and_fails_surfaces_its_own_error(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("old")

    def write(tmp):
        os.unlink(tmp)
        raise OSError("quota exceeded")

    with pytest.raises(OSError, match=r"^quota exceeded$"):
        atomic_write(path, write)
    assert path.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["p.csv"]


def test_an_output_that_is_an_input_is_refused_however_it_is_spelled(tmp_path):
    from linearnet.outputs import check_output

    data = tmp_path / "data.csv"
    data.write_text("a,y\n1,2\n")
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    for spelling in (data, tmp_path / "." / "data.csv", link):
        with pytest.raises(ValueError) as info:
            check_output(spelling, inputs=[data])
        assert str(info.value) == f"{spelling}: is an input of this command ({data}); write the output to another file"
    check_output(tmp_path / "out.csv", inputs=[data, "-"])  # a new file, and standard input, are fine


# --- links, read-only files, devices, FIFOs, standard output, signals ----------------------


def _model(tmp_path, capsys):
    model = tmp_path / "houses.json"
    assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", model)[0] == 0
    return model


def test_a_link_is_followed_to_its_file_which_is_replaced_there(tmp_path, capsys):
    model = _model(tmp_path, capsys)
    code, expected, _ = cli(capsys, "predict", HOUSES, "--model", model)
    assert code == 0
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "real" / "p.csv"
    real.write_text("old\n")
    real.chmod(0o640)
    (tmp_path / "links" / "one.csv").symlink_to("../real/p.csv")  # relative to the link's folder
    (tmp_path / "two.csv").symlink_to(tmp_path / "links" / "one.csv")  # a link to a link
    for link in (tmp_path / "links" / "one.csv", tmp_path / "two.csv"):
        real.write_text("old\n")
        code, out, err = cli(capsys, "predict", HOUSES, "--model", model, "--out", link)
        assert (code, out, err) == (0, f"predictions written to {link}\n", "")
        assert link.is_symlink() and real.read_text() == expected
        assert oct(real.stat().st_mode & 0o777) == oct(0o640)
    assert sorted(os.listdir(tmp_path / "real")) == ["p.csv"] and sorted(os.listdir(tmp_path / "links")) == ["one.csv"]


def test_the_temporary_file_of_a_link_is_made_beside_the_file_it_names(tmp_path):
    (tmp_path / "real").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "real" / "p.csv")  # dangling: the file is made where the link points
    folders = []

    def write(tmp):
        folders.append(os.path.dirname(tmp))
        with open(tmp, "w") as fh:
            fh.write("new\n")

    atomic_write(link, write)
    assert folders == [str(tmp_path / "real")]
    assert link.is_symlink() and (tmp_path / "real" / "p.csv").read_text() == "new\n"


def test_a_link_into_a_missing_folder_or_a_loop_is_refused_before_any_work(tmp_path, capsys):
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "gone" / "m.json")
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", link)
    assert (code, out) == (2, "")
    assert err == (
        f"linearnet solve: error: {link}: is a link to {tmp_path / 'gone' / 'm.json'}, "
        f"whose folder {tmp_path / 'gone'} does not exist\n"
    )
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.symlink_to(b)
    b.symlink_to(a)
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", a)
    assert (code, out) == (2, "")
    assert (
        err == f"linearnet solve: error: {a}: is a link that loops (or more than 40 links deep); point it at a file\n"
    )
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.json", "link.json"]
    assert all(p.is_symlink() for p in (a, b, link))


def test_a_read_only_file_is_refused_before_any_work(tmp_path, capsys):
    model = tmp_path / "m.json"
    model.write_text("old")
    model.chmod(0o444)
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", model)
    assert (code, out) == (2, "")
    assert err == (
        f"linearnet solve: error: {model}: is read-only; make it writable (chmod u+w) or write the output "
        "to another file\n"
    )
    with pytest.raises(ValueError, match=r"is read-only"):
        atomic_write(model, lambda tmp: None)
    assert model.read_text() == "old" and oct(model.stat().st_mode & 0o777) == oct(0o444)
    assert sorted(os.listdir(tmp_path)) == ["m.json"]
    link = tmp_path / "link.json"
    link.symlink_to(model)
    with pytest.raises(ValueError, match=rf"^{link}: is read-only"):
        check_output(link)


def test_a_character_device_is_written_into_not_replaced(tmp_path, capsys):
    import stat

    try:  # a private /dev/null first: a regression then fails here, not on the system's one
        os.mknod(tmp_path / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        devices = [tmp_path / "null", "/dev/null"]
    except PermissionError:
        devices = ["/dev/null"]
    for device in devices:
        code, _, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", device)
        assert (code, err) == (0, ""), device
        assert stat.S_ISCHR(os.stat(device).st_mode), f"{device} is no longer a character device"
    assert sorted(os.listdir(tmp_path)) == (["null"] if len(devices) == 2 else [])


@pytest.mark.parametrize("name", ["p.csv", "p.parquet"])  # the Parquet writer seeks: no pipe for it
def test_a_fifo_is_written_into_for_its_reader(tmp_path, capsys, name):
    import stat
    import threading

    model = _model(tmp_path, capsys)
    regular = tmp_path / f"regular.{name}"
    assert cli(capsys, "predict", HOUSES, "--model", model, "--out", regular)[0] == 0
    fifo = tmp_path / name
    os.mkfifo(fifo)
    got = []

    def read():
        with open(fifo, "rb") as fh:  # blocks until the writer opens the FIFO
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    # should the writer wait for a reader that never came, opening the FIFO to read unblocks it
    rescue = threading.Timer(30, lambda: os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)))
    rescue.start()
    try:
        code, out, err = cli(capsys, "predict", HOUSES, "--model", model, "--out", fifo)
    finally:
        rescue.cancel()
    reader.join(timeout=10)
    assert (code, out, err) == (0, f"predictions written to {fifo}\n", "")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a file"
    assert not reader.is_alive() and got == [regular.read_bytes()]


def test_a_dash_writes_to_standard_output(tmp_path, capsys, monkeypatch):
    model = _model(tmp_path, capsys)
    code, expected, _ = cli(capsys, "predict", HOUSES, "--model", model)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "predict", HOUSES, "--model", model, "--out", "-")
    assert (code, out, err) == (0, expected, "")
    assert sorted(os.listdir(tmp_path)) == ["houses.json"]  # no file named '-'
    import subprocess
    import sys

    run = subprocess.run(  # standard output a pipe, as in `linearnet predict ... --out - | head`
        [sys.executable, "-m", "linearnet", "predict", HOUSES, "--model", str(model), "--out", "-"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, expected, "")
    assert sorted(os.listdir(tmp_path)) == ["houses.json"]


DRIVER = """
import sys, time
from linearnet import cli, outputs
from linearnet.cli import predict

out, ready = sys.argv[1], sys.argv[2]


def slow(args):  # a command whose write is caught half way
    def write(tmp):
        with open(tmp, "w") as fh:
            fh.write("half of the new contents\\n")
            fh.flush()
            open(ready, "w").close()
            time.sleep(60)

    outputs.atomic_write(out, write)
    return 0


predict.run = slow
sys.exit(cli.main(["predict", "data.csv", "--model", "m.json"]))
"""


@pytest.mark.parametrize(("name", "code"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_during_a_write_leaves_the_old_file_and_no_temporary_file(tmp_path, name, code):
    import signal
    import subprocess
    import sys
    import time

    driver, ready = tmp_path / "driver.py", tmp_path / "ready"
    driver.write_text(DRIVER)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "p.csv"
    out.write_text("old\n")
    proc = subprocess.Popen([sys.executable, driver, out, ready], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the write never started"
            time.sleep(0.02)
        assert len(os.listdir(tmp_path / "out")) == 2  # the old file and the half-written temporary one
        proc.send_signal(getattr(signal, name))
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert (proc.returncode, stdout, stderr) == (code, b"", b"linearnet: terminated\n")
    assert os.listdir(tmp_path / "out") == ["p.csv"] and out.read_text() == "old\n"


def test_a_terminating_signal_is_handled_in_process_as_on_ctrl_c(tmp_path, capsys, monkeypatch):
    import signal
    import threading

    from linearnet.cli import main, predict

    out = tmp_path / "p.csv"
    out.write_text("old\n")
    seen = {}

    def deliver(args):  # what the interpreter does when SIGTERM comes in the middle of the write
        def write(tmp):
            with open(tmp, "w") as fh:
                fh.write("half")
            seen["SIGHUP"] = signal.getsignal(signal.SIGHUP)
            handler = signal.getsignal(signal.SIGTERM)
            assert callable(handler), "SIGTERM would kill the program where it stands"
            handler(signal.SIGTERM, None)

        atomic_write(out, write)
        return 0

    monkeypatch.setattr(predict, "run", deliver)
    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        code, stdout, err = cli(capsys, "predict", "data.csv", "--model", "m.json")
    finally:
        signal.signal(signal.SIGHUP, before)
    assert (code, stdout, err) == (143, "", "linearnet: terminated\n")
    assert os.listdir(tmp_path) == ["p.csv"] and out.read_text() == "old\n"
    assert seen["SIGHUP"] == signal.SIG_IGN  # nohup's choice is kept
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # and put back after the command

    codes = []  # off the main thread, where no signal handler can be set, a command still runs
    thread = threading.Thread(target=lambda: codes.append(main(["presets"])))
    thread.start()
    thread.join(timeout=30)
    assert codes == [0]


def test_a_socket_is_refused_as_an_output(tmp_path):
    import socket

    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(ValueError) as info:
            check_output(path)
    assert str(info.value) == f"{path}: is a socket, expected a file name for the output"


def test_an_output_among_the_files_a_folder_or_pattern_input_names_is_refused(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "a.csv").write_text("x,y\n1,2\n")
    for output, source in [
        (folder / "p.csv", folder),
        (folder / "p.parquet", str(folder / "*.*")),
        (folder / "p.csv.gz", folder),
        (folder / "p.tsv.xz", folder),
    ]:
        with pytest.raises(ValueError) as info:
            check_output(output, inputs=[source])
        assert str(info.value) == (
            f"{output}: is among the files {source} names, which this command reads as its data (and would read "
            f"again next time); write the output elsewhere"
        )
    check_output(folder / "p.json", inputs=[folder])  # not a table: never read as data
    check_output(tmp_path / "p.csv", inputs=[folder, str(folder / "*.csv")])  # beside the folder
    (tmp_path / "odd[1].csv").write_text("x,y\n1,2\n")
    check_output(tmp_path / "o.csv", inputs=[str(tmp_path / "odd[1].csv")])  # a file whose name looks like a pattern

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

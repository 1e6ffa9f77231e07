"""The linearnet command as a whole (linearnet.cli, cli.common): dispatch, progress bar, cheap start, python -m."""

import io
import subprocess
import sys
import time

import pytest

from linearnet.cli.common import Progress as _Progress

from helpers import cli


def test_no_command_is_one_line(capsys):
    code, out, err = cli(capsys)
    assert code == 2 and out == ""
    assert (
        err == "linearnet: error: a command is required: train, solve, predict, bench, plot or presets "
        "(see linearnet --help)\n"
    )


def test_unknown_command_is_one_line(capsys):
    code, _, err = cli(capsys, "fly")
    assert (
        code == 2
        and err.count("\n") == 1
        and err.startswith("linearnet: error: argument COMMAND: invalid choice: 'fly'")
    )


def test_progress_bar_only_on_a_terminal_and_before_the_first_epoch_ends():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = _Progress(stream, epochs=4, after_seconds=0)
        deadline = time.monotonic() + 10
        while stream is tty and "epoch 0/4" not in tty.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)  # a long first epoch: the bar shows up and its clock runs
        bar.update(1, 0.5)
        bar.update(2, 0.25)
        bar.close()
    assert pipe.getvalue() == ""
    assert "[....................] epoch 0/4 elapsed" in tty.getvalue()
    assert "[##########..........] epoch 2/4 loss 0.25 elapsed" in tty.getvalue()
    assert tty.getvalue().endswith("\r\033[K")


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_help_and_bad_flags_do_not_import_torch_or_numpy():
    proc = run_python(
        "import sys\n"
        "from linearnet.cli import main\n"
        "codes = [main(['train', '--lr', '-1']), main(['presets'])]\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    codes.append(e.code)\n"
        "print(codes, sorted(m for m in ('torch', 'numpy', 'numba') if m in sys.modules))\n"
    )
    assert proc.stdout.splitlines()[-1] == "[2, 0, 0] []"


def test_the_command_runs_as_a_module():
    proc = subprocess.run(
        [sys.executable, "-m", "linearnet", "train", "--epochs", "1", "--impl", "concise"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("epoch 1, loss ")


def test_an_interrupt_is_one_line_and_exit_code_130(capsys, monkeypatch):
    import linearnet.cli.presets

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(linearnet.cli.presets, "run", interrupted)  # Ctrl-C in the middle of a command
    assert cli(capsys, "presets") == (130, "", "linearnet: interrupted\n")


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["train", "--data", "h.csv", "--target", "price", "--features", "area,,rooms"],
            "linearnet train: error: argument --features: expected column names separated by commas, got 'area,,rooms'",
        ),
        (
            ["train", "--data", "h.csv", "--target", "price", "--features", "area,"],
            "linearnet train: error: argument --features: expected column names separated by commas, got 'area,'",
        ),
        (
            ["plot", "normal", "--out", "n.png", "--size", "49x350"],
            "linearnet plot normal: error: argument --size: width and height must be 50 to 10000 pixels, got '49x350'",
        ),
        (
            ["train", "--plot", "l.png", "--plot-size", "600x10001"],
            "linearnet train: error: argument --plot-size: width and height must be 50 to 10000 pixels, "
            "got '600x10001'",
        ),
    ],
)
def test_bad_names_and_sizes_are_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


def test_the_smallest_size_is_accepted(tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "tiny.png"
    assert cli(capsys, "plot", "normal", "--out", path, "--size", "50x50")[:2] == (0, f"picture written to {path}\n")
    with Image.open(path) as image:
        assert image.size == (50, 50)


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_the_bar_stays_away_until_the_run_has_taken_its_time():
    tty = _Tty()
    bar = _Progress(tty, epochs=4, after_seconds=60)
    time.sleep(0.7)  # the ticker has woken twice, too early to draw
    bar.update(1, 0.5)
    bar.close()
    assert bar._ticker is not None and not bar._ticker.is_alive()
    assert tty.getvalue() == ""


def test_a_closed_bar_is_never_drawn_again():
    tty = _Tty()
    bar = _Progress(tty, epochs=4, after_seconds=0)
    bar.close()
    bar.update(1, 0.5)  # an epoch that ends after the bar was closed (a diverged run reporting its error)
    assert tty.getvalue() == "" and not bar.drawn


def test_python_dash_m_linearnet_runs_the_command(monkeypatch, capsys):
    import runpy

    monkeypatch.setattr(sys, "argv", ["linearnet", "presets"])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("linearnet", run_name="__main__")
    assert info.value.code == 0 and capsys.readouterr().out.startswith("d2l-3.2  (impl scratch)")


def test_a_reader_that_stops_early_ends_the_run_quietly():
    # `linearnet train --epochs 200000 | head -2`: the pipe closes after two lines
    proc = subprocess.Popen(
        [sys.executable, "-m", "linearnet", "train", "--epochs", "200000", "--num-examples", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        proc.stdout.close()
        err = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    assert [line.split(",")[0] for line in lines] == ["epoch 1", "epoch 2"]
    assert err == "" and code == 141


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--dataset", "digits"],
        ["train"],
        ["plot", "data", "--preset", "d2l-3.2", "--feature", "x1", "--out", "p.png"],
    ],
)
@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_every_seed_flag_refuses_what_a_generator_cannot_take(tmp_path, monkeypatch, capsys, argv, seed):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv, f"--seed={seed}")
    prog = " ".join(["linearnet", *argv[:2]]) if argv[0] == "plot" else "linearnet train"
    assert (code, out) == (2, "")
    assert err == f"{prog}: error: argument --seed: expected a whole number from 0 to 2**63 - 1, got '{seed}'\n"
    assert list(tmp_path.iterdir()) == []

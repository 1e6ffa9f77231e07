"""The linearnet command as a whole (linearnet.cli, cli.common): dispatch, progress bar, cheap start, python -m."""

import io
import json
import subprocess
import sys

import pytest

from linearnet.cli.common import Progress as _Progress

from helpers import FLOWERS, HOUSES, Terminal, bars_at_once, cli


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


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["solve", HOUSES, "--taget", "price"],
            "linearnet solve: error: unrecognized arguments: --taget price (did you mean --target?)",
        ),
        (
            ["solve", HOUSES, "--target=price", "--featurs=area,age"],
            "linearnet solve: error: unrecognized arguments: --featurs=area,age (did you mean --features?)",
        ),
        (
            ["solve", HOUSES, "--targt", "price", "--jsn", "--wieghts", "3"],
            "linearnet solve: error: unrecognized arguments: --targt price --jsn --wieghts 3 "
            "(did you mean --target for --targt, --json for --jsn, --weights for --wieghts?)",
        ),
        (["train", "--lrr", "0.1"], "linearnet train: error: unrecognized arguments: --lrr 0.1 (did you mean --lr?)"),
        (["train", "--colour", "red"], "linearnet train: error: unrecognized arguments: --colour red"),
        (["--verison"], "linearnet: error: unrecognized arguments: --verison (did you mean --version?)"),
    ],
)
def test_an_unknown_flag_is_named_with_its_command_and_the_closest_flag(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"


def test_no_command_takes_a_prefix_of_a_flag_for_the_flag(capsys):
    import argparse

    from linearnet.cli import build_parser

    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    every = list(parsers(build_parser()))
    assert len(every) >= 8 and not any(p.allow_abbrev for p in every)  # each command, and plot's and bench's kinds
    code, _, err = cli(capsys, "solve", HOUSES, "--targ", "price", "--miss", "drop")  # not --target, --missing
    assert code == 2 and err == (
        "linearnet solve: error: unrecognized arguments: --targ price --miss drop "
        "(did you mean --target for --targ, --missing for --miss?)\n"
    )


def test_progress_bar_only_on_a_terminal_and_by_rows_within_an_epoch():
    tty, pipe = Terminal(), io.StringIO()
    for stream in (tty, pipe):
        bar = _Progress(stream, epochs=2, by_rows=True, after_seconds=0, every=0)
        bar.rows(100, 600)
        bar.rows(200, 600)
        bar.update(1, 0.25)
        bar.rows(400, 600)
        bar.close()
    assert pipe.getvalue() == ""
    frames = tty.getvalue().split("\r")
    assert any(f.startswith("epoch 1/2:  17%") and "100/600" in f and "rows/s" in f for f in frames)
    assert any(f.startswith("epoch 1/2:  33%") and "200/600" in f for f in frames)
    assert any(f.startswith("epoch 2/2:  67%") and "400/600" in f and "loss 0.25" in f for f in frames)
    assert tty.getvalue().endswith("\r") and frames[-2].strip() == ""  # closed: the line is blanked


def test_a_training_bar_moves_within_a_one_epoch_run(monkeypatch):
    from linearnet.cli import common
    from linearnet.experiment import run_experiment
    from linearnet.presets import make_experiment

    bars_at_once(monkeypatch)
    experiment = make_experiment(None, epochs=1, num_examples=5000, impl="fast")
    for stream in (Terminal(), io.StringIO()):
        monkeypatch.setattr(sys, "stderr", stream)
        result = common.run_training(
            "linearnet train",
            1,
            lambda on_epoch, on_rows: run_experiment(experiment, on_epoch=on_epoch, on_rows=on_rows),
            quiet=True,
            out=None,
        )
        assert result is not None and len(result.history.losses) == 1
        counts = [f.split("|")[2].split()[0] for f in stream.getvalue().split("\r") if f.count("|") == 2]
        if stream.isatty():
            assert len(set(counts) - {"5.00k/5.00k"}) > 1 and counts[-1] == "5.00k/5.00k"  # moved within the epoch
        else:
            assert stream.getvalue() == ""


def test_an_epoch_is_cut_for_a_bar_only_where_the_bar_is_shown(monkeypatch):
    """Off a terminal no bar is drawn, so the loop is given no ``on_rows``: the epoch runs as one block (each
    part of a cut epoch costs the fast engine a start of its two threads), not as ~50 parts reported to nobody."""
    from linearnet.cli import common

    bars_at_once(monkeypatch)
    given = {}
    for stream in (Terminal(), io.StringIO()):
        monkeypatch.setattr(sys, "stderr", stream)
        common.run_training(
            "linearnet train",
            1,
            lambda on_epoch, on_rows, s=stream: given.update({s.isatty(): on_rows}),
            quiet=True,
            out=None,
        )
    assert callable(given[True]) and given[False] is None


def test_a_train_without_on_rows_gets_a_bar_by_epochs(monkeypatch):
    from linearnet.cli import common

    bars_at_once(monkeypatch)
    monkeypatch.setattr(sys, "stderr", tty := Terminal())

    def train(on_epoch):
        for epoch in (1, 2):
            on_epoch(epoch, 1.0 / epoch)
        return "trained"

    assert common.run_training("linearnet train", 2, train, quiet=True, out=None) == "trained"
    assert "epoch 2/2:  50%" in tty.getvalue() and "1/2 [" in tty.getvalue() and "loss 1" in tty.getvalue()


def test_no_bar_on_stderr_of_a_run_that_is_not_on_a_terminal(capsys):
    code, out, err = cli(capsys, "train", "--epochs", "2", "--impl", "fast", "--json")
    assert code == 0 and err == "" and json.loads(out)["history"]
    code, out, err = cli(capsys, "train", "--epochs", "2", "--impl", "fast")
    assert code == 0 and err == "" and out.startswith("epoch 1, loss ")


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


def test_the_bar_stays_away_until_the_run_has_taken_its_time(capsys):
    tty = Terminal()
    bar = _Progress(tty, epochs=4, after_seconds=60, every=0)
    bar.update(1, 0.5)
    bar.line("epoch 1, loss 0.5")  # a line printed before the bar ever showed: nothing to erase
    bar.close()
    assert tty.getvalue() == "" and capsys.readouterr().out == "epoch 1, loss 0.5\n"


def test_a_line_clears_the_bar_and_draws_it_again(capsys):
    tty = Terminal()
    bar = _Progress(tty, epochs=4, after_seconds=0, every=0)
    bar.update(1, 0.5)
    drawn = len(tty.getvalue())
    bar.line("epoch 1, loss 0.5")
    after = tty.getvalue()[drawn:]
    assert after.startswith("\r") and "epoch 2/4:  25%" in after  # blanked, then drawn again
    bar.close()
    bar.update(2, 0.25)  # an epoch that ends after the bar was closed (a diverged run reporting its error)
    assert capsys.readouterr().out == "epoch 1, loss 0.5\n"


def test_python_dash_m_linearnet_runs_the_command_and_delivers_all_it_printed():
    # the command leaves through os._exit (no interpreter teardown): what it printed into a pipe is flushed first
    done = subprocess.run([sys.executable, "-m", "linearnet", "presets"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("d2l-3.2  (impl scratch)")
    inline = subprocess.run([sys.executable, "-c", "from linearnet.cli import main; main(['presets'])"], **PIPE)
    assert done.stdout == inline.stdout  # every line, up to the last
    refused = subprocess.run([sys.executable, "-m", "linearnet", "solve", "none.csv", "--target", "y"], **PIPE)
    assert refused.returncode == 2 and refused.stderr == "linearnet solve: error: none.csv: no such file\n"


PIPE = {"capture_output": True, "text": True, "timeout": 60}


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


@pytest.mark.parametrize(
    "argv",
    [
        ["--data", "{houses}", "--target", "price", "--epochs", "1", "--batch-size", "2"],
        ["--data", "{rows}", "--target", "y", "--epochs", "1", "--stream", "--memory-budget", "1M"],
        ["--model", "softmax", "--data", "{flowers}", "--target", "species", "--epochs", "1", "--batch-size", "2"],
    ],
    ids=["table", "streamed", "softmax"],
)
def test_train_on_a_table_moves_its_bar_within_an_epoch(tmp_path, monkeypatch, argv):
    from linearnet.cli import main
    from linearnet.tables import plan

    rows = tmp_path / "rows.csv"  # 3,000 rows: with a budget of 1M the shuffle buffer holds 512 (1M/128/16 bytes)
    rows.write_text("a,b,c,y\n" + "".join(f"{i % 7},{i % 5},{i % 3},{i % 11}\n" for i in range(3000)))
    bars_at_once(monkeypatch)
    monkeypatch.setattr(plan, "CHUNK_ROWS", 40)  # the streamed run: chunks of 40 rows
    monkeypatch.setattr(sys, "stderr", tty := Terminal())
    assert main(["train", *[a.format(houses=HOUSES, flowers=FLOWERS, rows=rows) for a in argv], "--json"]) == 0
    counts = {f.split("|")[2].split()[0] for f in tty.getvalue().split("\r") if f.count("|") == 2}
    assert len(counts) > 2, counts  # more than the start and the end of the one epoch

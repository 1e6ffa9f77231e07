import io
import json
import re
import subprocess
import sys
import time

import pytest

from linearnet.cli import main
from linearnet.cli.common import Progress as _Progress


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_with_no_arguments_prints_the_books_report(capsys):
    code, out, err = cli(capsys, "train")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 5
    exact = [r["loss"] for r in json.loads(cli(capsys, "train", "--json")[1])["history"]]
    for i, line in enumerate(lines[:3], start=1):
        printed = re.fullmatch(rf"epoch {i}, loss (\S+)", line).group(1)
        assert float(printed) == pytest.approx(exact[i - 1], rel=1e-5)  # six significant digits, even at 5e-05
    assert re.fullmatch(r"error in estimating w: \[-?\d\.\d{6}, -?\d\.\d{6}\]", lines[3])
    assert re.fullmatch(r"error in estimating b: -?\d\.\d{6}", lines[4])
    assert float(lines[2].split()[-1]) == pytest.approx(5e-5, rel=0.2)  # the noise floor σ²/2


def test_json_prints_one_object_and_nothing_else(capsys):
    code, out, err = cli(capsys, "train", "--json", "--impl", "fast", "--epochs", "2", "--seed", "7")
    assert code == 0 and err == ""
    result = json.loads(out)
    assert {"history", "w", "b", "true_w", "true_b", "seconds", "rows_per_second", "impl", "seed"} <= set(result)
    assert [h["epoch"] for h in result["history"]] == [1, 2]
    assert result["impl"] == "fast" and result["seed"] == 7 and result["true_w"] == pytest.approx([2, -3.4])
    assert result["w"] == pytest.approx([2, -3.4], abs=0.01)


def test_flags_override_a_preset(capsys):
    code, out, _ = cli(capsys, "train", "--preset", "gluon-lesson", "--epochs", "2", "--json")
    result = json.loads(out)
    assert code == 0 and len(result["history"]) == 2 and result["impl"] == "scratch"
    assert result["true_w"] == pytest.approx([4.2, 2, -3.2])


def test_num_features_draws_the_true_weights_from_the_seed(capsys):
    _, out, _ = cli(capsys, "train", "--num-features", "4", "--json", "--epochs", "5", "--lr", "0.1")
    result = json.loads(out)
    assert len(result["true_w"]) == 4 and result["w"] == pytest.approx(result["true_w"], abs=0.01)


def test_negative_weights_with_the_equals_form(capsys):
    _, out, _ = cli(capsys, "train", "--true-w=-1,0.5", "--true-b", "-2", "--json", "--epochs", "1")
    assert json.loads(out)["true_w"] == [-1.0, 0.5]


@pytest.mark.parametrize("argv, message", [
    (["--lr", "-1"], "linearnet train: error: lr must be > 0, got -1; e.g. 0.03"),
    (["--lr", "0"], "linearnet train: error: lr must be > 0, got 0; e.g. 0.03"),
    (["--lr", "abc"], "linearnet train: error: argument --lr: expected a number, got 'abc'"),
    (["--lr", "nan"], "linearnet train: error: lr must be a finite number, got nan; e.g. 0.03"),
    (["--noise", "inf"], "linearnet train: error: noise must be a finite number, got inf; e.g. 0.01"),
    (["--batch-size", "0"], "linearnet train: error: batch_size must be a whole number >= 1, got 0; e.g. 10"),
    (["--batch-size", "2.5"], "linearnet train: error: argument --batch-size: expected a whole number, got '2.5'"),
    (["--epochs", "0"], "linearnet train: error: epochs must be a whole number >= 1, got 0; e.g. 3"),
    (["--num-examples", "-5"], "linearnet train: error: num_examples must be a whole number >= 1, got -5"),
    (["--true-w", "1,2", "--num-features", "3"],
     "linearnet train: error: true_w has 2 weights but num_features is 3; "
     "give 3 weights, or leave out true_w to draw them from the seed"),
    (["--true-w", "1,x"],
     "linearnet train: error: argument --true-w: expected numbers separated by commas such as 2,-3.4, got '1,x'"),
    (["--true-b", "inf"], "linearnet train: error: true_b must be a finite number, got inf"),
    (["--preset", "nope"], "linearnet train: error: unknown preset 'nope'; "
                           "choose from d2l-3.2, d2l-3.3, gluon-lesson, d2l-softmax, digits-softmax (`linearnet presets` lists them)"),
    (["--impl", "gpu"], "linearnet train: error: impl must be one of scratch, concise, fast, got 'gpu'"),
    (["--noise-dist", "cauchy"], "linearnet train: error: noise_dist must be one of normal, laplace, got 'cauchy'"),
    (["--seed", "-3"], "linearnet train: error: seed must be a whole number >= 0, got -3; e.g. 0"),
    (["--colour", "red"], "linearnet: error: unrecognized arguments: --colour red"),
    (["--lr"], "linearnet train: error: argument --lr: expected one argument"),
])
def test_bad_flags_end_with_one_line_and_exit_code_2(capsys, argv, message):
    code, out, err = cli(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert err == message + "\n"


def test_no_command_is_one_line(capsys):
    code, out, err = cli(capsys)
    assert code == 2 and out == ""
    assert err == "linearnet: error: a command is required: train, solve, predict, bench, plot or presets (see linearnet --help)\n"


def test_unknown_command_is_one_line(capsys):
    code, _, err = cli(capsys, "fly")
    assert code == 2 and err.count("\n") == 1 and err.startswith("linearnet: error: argument COMMAND: invalid choice: 'fly'")


def test_divergence_exits_1_naming_the_epoch(capsys):
    code, out, err = cli(capsys, "train", "--lr", "50")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert re.fullmatch(r"linearnet train: error: training diverged: the loss became (nan|inf) in epoch 1; "
                        r"the learning rate 50 is too large for these data; try a smaller one, such as 5\n", err)


def test_presets_lists_every_preset_with_its_source(capsys):
    code, out, _ = cli(capsys, "presets")
    assert code == 0
    for name in ("d2l-3.2", "d2l-3.3", "gluon-lesson", "d2l-softmax", "digits-softmax"):
        assert re.search(rf"^{re.escape(name)}  \(impl \w+\)$", out, re.M)
    assert out.count("source:") == 5 and "12.39" in out


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
        "print(codes, sorted(m for m in ('torch', 'numpy', 'numba') if m in sys.modules))\n")
    assert proc.stdout.splitlines()[-1] == "[2, 0, 0] []"


def test_the_command_runs_as_a_module():
    proc = subprocess.run([sys.executable, "-m", "linearnet", "train", "--epochs", "1", "--impl", "concise"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("epoch 1, loss ")

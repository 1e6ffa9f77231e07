"""`linearnet train` (linearnet.cli.train): synthetic runs, --data files, --dataset, and one-line errors."""

import json
import os
import re

import numpy as np
import pytest

from linearnet.modelfile import load_model
from linearnet.tables import whole_read_bytes

from helpers import FLOWERS, HOUSES, IMPLS, assert_picture, cli, statsmodels_houses, write_fashion


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


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "-1"], "linearnet train: error: lr must be > 0, got -1; e.g. 0.03"),
        (["--lr", "0"], "linearnet train: error: lr must be > 0, got 0; e.g. 0.03"),
        (["--lr", "abc"], "linearnet train: error: argument --lr: expected a number, got 'abc'"),
        (["--lr", "nan"], "linearnet train: error: lr must be a finite number, got nan; e.g. 0.03"),
        (["--noise", "inf"], "linearnet train: error: noise must be a finite number, got inf; e.g. 0.01"),
        (["--batch-size", "0"], "linearnet train: error: batch_size must be a whole number >= 1, got 0; e.g. 10"),
        (["--batch-size", "2.5"], "linearnet train: error: argument --batch-size: expected a whole number, got '2.5'"),
        (["--epochs", "0"], "linearnet train: error: epochs must be a whole number >= 1, got 0; e.g. 3"),
        (["--num-examples", "-5"], "linearnet train: error: num_examples must be a whole number >= 1, got -5"),
        (
            ["--true-w", "1,2", "--num-features", "3"],
            "linearnet train: error: true_w has 2 weights but num_features is 3; "
            "give 3 weights, or leave out true_w to draw them from the seed",
        ),
        (
            ["--true-w", "1,x"],
            "linearnet train: error: argument --true-w: expected numbers separated by commas such as 2,-3.4, got '1,x'",
        ),
        (["--true-b", "inf"], "linearnet train: error: true_b must be a finite number, got inf"),
        (
            ["--preset", "nope"],
            "linearnet train: error: unknown preset 'nope'; "
            "choose from d2l-3.2, d2l-3.3, gluon-lesson, d2l-softmax, digits-softmax (`linearnet presets` lists them)",
        ),
        (["--impl", "gpu"], "linearnet train: error: impl must be one of scratch, concise, fast, got 'gpu'"),
        (["--noise-dist", "cauchy"], "linearnet train: error: noise_dist must be one of normal, laplace, got 'cauchy'"),
        (
            ["--seed", "-3"],
            "linearnet train: error: argument --seed: expected a whole number from 0 to 2**63 - 1, got '-3'",
        ),
        (
            ["--dataset", "digits", "--seed=-1"],
            "linearnet train: error: argument --seed: expected a whole number from 0 to 2**63 - 1, got '-1'",
        ),
        (
            ["--data", HOUSES, "--target", "price", "--seed", str(2**63)],
            f"linearnet train: error: argument --seed: expected a whole number from 0 to 2**63 - 1, got '{2**63}'",
        ),
        (
            ["--noise", "1e30", "--lr", "1e-12"],
            "linearnet train: error: noise 1e+30 makes labels of about 6e+30, too large for float32 training "
            "(the loss squares them; at most 1.84e+19); choose a smaller noise",
        ),
        (
            ["--preset", "gluon-lesson", "--model", "softmax"],
            "linearnet train: error: preset 'gluon-lesson' trains linear regression, not softmax regression; "
            "the softmax presets are d2l-softmax, digits-softmax",
        ),
        (
            ["--preset", "d2l-3.2", "--dataset", "digits"],
            "linearnet train: error: preset 'd2l-3.2' trains linear regression, not softmax regression; "
            "the softmax presets are d2l-softmax, digits-softmax",
        ),
        (["--colour", "red"], "linearnet train: error: unrecognized arguments: --colour red"),
        (["--lr"], "linearnet train: error: argument --lr: expected one argument"),
    ],
)
def test_bad_flags_end_with_one_line_and_exit_code_2(capsys, argv, message):
    code, out, err = cli(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert err == message + "\n"


@pytest.mark.parametrize(
    "argv, need",
    [
        (["--num-examples", "1000000000000"], "1,000,000,000,000 rows × 2 features need about 38.2 TiB"),
        (["--num-features", "100000000"], "1,000 rows × 100,000,000 features need about 465.7 GiB"),
    ],
)
def test_data_that_cannot_fit_are_refused_before_anything_is_allocated(capsys, argv, need):
    code, out, err = cli(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert re.fullmatch(
        rf"linearnet train: error: {need} of memory and \d+\.\d [KMGT]iB is available; "
        r"ask for fewer rows or features\n",
        err,
    )


def test_divergence_exits_1_naming_the_epoch(capsys):
    code, out, err = cli(capsys, "train", "--lr", "50")
    assert code == 1 and out == ""
    assert err.count("\n") == 1
    assert re.fullmatch(
        r"linearnet train: error: training diverged: the loss became (nan|inf) in epoch 1; "
        r"the learning rate 50 is too large for these data; try a smaller one, such as 5\n",
        err,
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--loss", "cubic"], "loss must be one of half_squared, squared, l1, huber, cross_entropy, got 'cubic'"),
        (
            ["--loss", "cross_entropy"],
            "loss 'cross_entropy' does not fit model 'linear': softmax regression uses "
            "cross_entropy, linear regression half_squared, squared, l1 or huber",
        ),
        (["--huber-delta", "0", "--loss", "huber"], "huber_delta must be > 0, got 0; e.g. 1.0"),
        (["--lr-schedule", "cosine"], "lr_schedule must be one of constant, step, inverse-time, got 'cosine'"),
        (["--lr-decay", "-1"], "lr_decay must be >= 0, got -1; e.g. 0.5"),
        (["--dataset", "digits", "--loss", "l1"], "softmax regression uses the cross_entropy loss, got --loss l1"),
    ],
)
def test_bad_loss_flags(capsys, argv, message):
    code, out, err = cli(capsys, "train", *argv)
    assert code == 2
    assert out == "" and err == f"linearnet train: error: {message}\n"


def test_train_on_a_file_saves_a_model_in_original_units(tmp_path, capsys):
    model_path = tmp_path / "sgd.json"
    code, out, err = cli(
        capsys,
        "train",
        "--data",
        HOUSES,
        "--target",
        "price",
        "--standardize",
        "--epochs",
        "40",
        "--lr",
        "0.1",
        "--impl",
        "fast",
        "--out",
        model_path,
    )
    assert code == 0 and err == ""
    assert out.splitlines()[0].startswith("epoch 1, loss ")
    model = load_model(model_path)
    ref = statsmodels_houses()
    # SGD at lr 0.1 on 200 rows ends within its own jitter of the exact solution
    np.testing.assert_allclose(model.coefficients, ref.params[1:], rtol=0.1)
    assert model.training["method"] == "sgd" and model.training["impl"] == "fast"
    assert model.standardization is not None


def test_a_diverged_training_writes_no_model_and_keeps_the_old_one(tmp_path, capsys):
    model_path = tmp_path / "keep.json"
    model_path.write_text("precious")
    code, _, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--lr", "10", "--out", model_path)
    assert code == 1 and "training diverged" in err and err.endswith("; no model was written\n")
    assert model_path.read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["keep.json"]


def test_values_too_large_for_float32_training(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    path.write_text("x,y\n1,1e308\n2,-1e308\n3,1e308\n")
    code, out, err = cli(capsys, "train", "--data", path, "--target", "y")
    assert code == 2 and out == ""
    assert err.startswith("linearnet train: error: labels hold values up to 1e+308, too large for float32 training")
    code, _, err = cli(capsys, "train", "--true-b", "1e308")
    assert code == 2 and err == (
        "linearnet train: error: true_b must be at most 1e+30 in size (the data are float32), got 1e+308\n"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", HOUSES], "linearnet train: error: --data needs --target COL, the column to predict"),
        (
            ["train", "--data", HOUSES, "--target", "price", "--true-w", "1,2"],
            "linearnet train: error: --true-w describes synthetic data and cannot be combined with --data",
        ),
        (["train", "--target", "price"], "linearnet train: error: --target goes with --data FILE"),
    ],
)
def test_data_and_target_go_together_and_not_with_synthetic_flags(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--standardize"], "linearnet train: error: --standardize goes with --data FILE"),
        (["train", "--out", "m.json"], "linearnet train: error: --out goes with --data FILE or --dataset"),
        (
            ["train", "--dataset", "digits", "--standardize"],
            "linearnet train: error: --standardize goes with --data FILE",
        ),
        (
            ["train", "--data", HOUSES, "--target", "price", "--epochs", "3", "--tol", "0.01"],
            "linearnet train: error: --tol stops by the loss; --epochs runs an exact number of epochs",
        ),
        (
            ["train", "--data", HOUSES, "--target", "price", "--standardize", "--no-standardize"],
            "linearnet train: error: give --standardize or --no-standardize, not both",
        ),
        (
            ["train", "--data", HOUSES, "--target", "price", "--tol", "2"],
            "linearnet train: error: --tol must be at least 0 and below 1, got 2",
        ),
        (
            ["train", "--dataset", "digits", "--data", HOUSES, "--target", "price"],
            "linearnet train: error: give --dataset or --data, not both",
        ),
        (
            ["train", "--model", "softmax", "--target", "price"],
            "linearnet train: error: --target goes with --data FILE",
        ),
        (
            ["train", "--model", "linear", "--dataset", "digits"],
            "linearnet train: error: --dataset and the softmax presets train --model softmax",
        ),
        (["train", "--data-dir", "/tmp"], "linearnet train: error: --data-dir goes with --dataset fashion-mnist"),
        (
            ["train", "--dataset", "digits", "--plot-predictions", "p.txt"],
            "linearnet train: error: p.txt: the picture must be a .png, .pdf or .svg file",
        ),
    ],
)
def test_flags_that_do_not_fit_the_data_or_the_model_are_refused(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"


def test_train_softmax_on_digits_prints_the_books_lines(capsys):
    code, out, err = cli(capsys, "train", "--dataset", "digits", "--impl", "fast", "--epochs", "3")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    import re

    for i, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"epoch {i}, loss \d\.\d{{6}}, train acc 0\.\d{{4}}, test acc 0\.\d{{4}}", line)


def test_fashion_mnist_from_a_data_dir(tmp_path, capsys):
    write_fashion(tmp_path, compress=False)  # raw IDX files: checked by structure (MD5s are for the .gz files)
    code, out, err = cli(
        capsys, "train", "--dataset", "fashion-mnist", "--data-dir", tmp_path, "--epochs", "1", "--json"
    )
    assert code == 0 and err == ""
    assert json.loads(out)["history"][0]["epoch"] == 1


def test_softmax_on_a_csv_with_text_labels_saves_and_predicts(tmp_path, capsys):
    rows = ["a,b,kind"] + [
        f"{x:.3f},{y:.3f},{'big' if x + y > 1 else 'small'}" for x, y in np.random.default_rng(0).random((200, 2))
    ]
    data = tmp_path / "points.csv"
    data.write_text("\n".join(rows) + "\n")
    model_path = tmp_path / "kind.json"
    code, out, err = cli(
        capsys,
        "train",
        "--model",
        "softmax",
        "--data",
        data,
        "--target",
        "kind",
        "--epochs",
        "30",
        "--lr",
        "1",
        "--batch-size",
        "16",
        "--out",
        model_path,
    )
    assert code == 0 and err == "" and out.endswith(f"model written to {model_path}\n")
    model = load_model(model_path)
    assert model.classes == ["big", "small"] and model.features == ["a", "b"]
    new = tmp_path / "new.csv"
    new.write_text("a,b\n0.9,0.9\n0.05,0.1\n")
    code, out, err = cli(capsys, "predict", "--model", model_path, new)
    assert code == 0 and err == ""
    lines = [line.split(",") for line in out.splitlines()]
    assert lines[0] == ["kind_predicted", "p_big", "p_small"]
    assert [row[0] for row in lines[1:]] == ["big", "small"]
    assert all(abs(float(row[1]) + float(row[2]) - 1) < 1e-12 for row in lines[1:])


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--model", "softmax", "--true-w", "1,2"],
            "linearnet train: error: --true-w describes synthetic regression data; softmax regression trains on "
            "--dataset or --data",
        ),
        (["--dataset", "cifar"], "linearnet train: error: dataset must be one of digits, fashion-mnist, got 'cifar'"),
        (["--model", "tree"], "linearnet train: error: model must be one of linear, softmax, got 'tree'"),
        (
            ["--dataset", "digits", "--data-dir", "/tmp"],
            "linearnet train: error: --data-dir goes with --dataset fashion-mnist",
        ),
        (["--weight-decay", "-1"], "linearnet train: error: weight_decay must be >= 0, got -1; e.g. 0.001"),
        (
            ["--preset", "d2l-softmax", "--dataset", "digits", "--lr", "0"],
            "linearnet train: error: lr must be > 0, got 0; e.g. 0.03",
        ),
        (
            ["--model", "softmax", "--data", HOUSES],
            "linearnet train: error: --data needs --target COL, the column of class labels",
        ),
        (
            ["--preset", "digits-softmax", "--data-dir", "/tmp"],
            "linearnet train: error: --data-dir goes with --dataset fashion-mnist",
        ),
    ],
)
def test_bad_softmax_flags(capsys, argv, message):
    code, out, err = cli(capsys, "train", *argv)
    assert code == 2 and out == "" and err == message + "\n"


def test_bad_labels_in_a_file(tmp_path, capsys):
    data = tmp_path / "one.csv"
    data.write_text("a,label\n1,7\n2,7\n")
    code, _, err = cli(capsys, "train", "--model", "softmax", "--data", data, "--target", "label")
    assert code == 2
    assert err == (
        f"linearnet train: error: {data}: column 'label': every row has the same class '7'; "
        f"classification needs at least two classes\n"
    )


def test_dates_as_class_labels_are_names_of_classes(tmp_path, capsys):
    data = tmp_path / "days.csv"
    data.write_text("x,when\n" + "".join(f"{i},2024-01-0{5 + i % 2}\n" for i in range(20)))
    code, out, err = cli(capsys, "train", "--model", "softmax", "--data", data, "--target", "when", "--json")
    assert code == 0 and err == ""
    assert json.loads(out)["classes"] == ["2024-01-05", "2024-01-06"]


def test_a_class_number_that_would_make_absurdly_many_classes_is_refused(tmp_path, capsys):
    data = tmp_path / "ids.csv"
    data.write_text("x,label\n1,0\n2,1000000000\n3,1\n")
    code, out, err = cli(capsys, "train", "--model", "softmax", "--data", data, "--target", "label")
    assert code == 2 and out == ""
    assert err == (
        f"linearnet train: error: {data}: column 'label': row 2: class 1,000,000,000 would make 1,000,000,001 "
        f"classes (numbered from 0) for 3 rows; number the classes 0, 1, 2, ..., or write them as text, where "
        f"each distinct value is a class\n"
    )


def test_plot_predictions_needs_images(tmp_path, capsys):
    code, _, err = cli(
        capsys,
        "train",
        "--model",
        "softmax",
        "--data",
        tmp_path / "x.csv",
        "--target",
        "y",
        "--plot-predictions",
        tmp_path / "p.png",
    )
    assert code == 2 and err == "linearnet train: error: --plot-predictions draws images: use it with --dataset\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["--plot-predictions", "p.png"],  # synthetic regression data: no images
        ["--data", HOUSES, "--target", "price", "--plot-predictions", "p.png"],  # a table of numbers
    ],
    ids=["synthetic", "table"],
)
def test_plot_predictions_is_refused_for_linear_regression(capsys, argv):
    code, out, err = cli(capsys, "train", *argv)
    assert (code, out) == (2, "")
    assert err == "linearnet train: error: --plot-predictions draws images: use it with --dataset\n"


def test_help_describes_every_kind_of_training_and_every_flag(capsys):
    with pytest.raises(SystemExit):
        cli(capsys, "--help")
    top = capsys.readouterr().out
    assert "linear and softmax regression" in top and "solved exactly" in top
    with pytest.raises(SystemExit):
        cli(capsys, "train", "--help")
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for words in (
        "softmax regression on an image data set",
        "a CSV/Parquet file (--data)",
        "--features A,B,... with --data: feature columns",
        "--out MODEL with --data or --dataset",
    ):
        assert words in text, words


CITIES = "city,area,price\n" + "".join(
    f"{city},{area:.2f},{2 * area + 1:.2f}\n"
    for city, area in zip("ABCDEFGHIJKL", np.linspace(0.1, 1.2, 12), strict=True)
)
LEFT_OUT_CITY = "left out the text column city: features are numeric columns; --features names the columns to use"


def test_train_on_a_file_says_what_the_default_features_left_out(tmp_path, capsys):
    data = tmp_path / "cities.csv"
    data.write_text(CITIES)
    code, out, err = cli(capsys, "train", "--data", data, "--target", "price", "--epochs", "2")
    assert code == 0 and err == f"linearnet train: note: {LEFT_OUT_CITY}\n"
    lines = out.splitlines()
    assert [line.split(",")[0] for line in lines[:2]] == ["epoch 1", "epoch 2"]
    assert lines[2].startswith("training loss ") and "the exact least-squares loss is" in lines[2]
    assert re.fullmatch(r"intercept  -?\d\S*", lines[3]) and re.fullmatch(r"area       -?\d\S*", lines[4])
    assert len(lines) == 5  # no --out: no model file named


def test_train_on_a_file_with_json_carries_the_notes(tmp_path, capsys):
    data = tmp_path / "cities.csv"
    data.write_text(CITIES)
    code, out, err = cli(capsys, "train", "--data", data, "--target", "price", "--epochs", "2", "--json")
    assert code == 0 and err == f"linearnet train: note: {LEFT_OUT_CITY}\n"
    result = json.loads(out)  # one object and nothing else: no epoch lines
    assert result["notes"] == [LEFT_OUT_CITY]
    assert result["features"] == ["area"] and len(result["w"]) == 1 and len(result["history"]) == 2
    assert sorted(os.listdir(tmp_path)) == ["cities.csv"]


def labelled_points(path, *, missing_rows=()):
    """Points labelled big or small, with a text column; the labels of ``missing_rows`` (from 1) left empty."""
    rows = ["city,a,b,kind"]
    for i, (x, y) in enumerate(np.random.default_rng(0).random((60, 2)), start=1):
        label = "" if i in missing_rows else "big" if x + y > 1 else "small"
        rows.append(f"c{i},{x:.3f},{y:.3f},{label}")
    path.write_text("\n".join(rows) + "\n")


def test_softmax_on_a_file_says_what_it_left_out_and_dropped(tmp_path, capsys):
    data = tmp_path / "points.csv"
    labelled_points(data, missing_rows=(3, 7))
    argv = ["train", "--model", "softmax", "--data", data, "--target", "kind", "--epochs", "2", "--lr", "1", "--json"]
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == ""
    assert err == f"linearnet train: error: {data}: column 'kind': row 3: missing label\n"
    model_path = tmp_path / "kind.json"
    code, out, err = cli(capsys, *argv, "--missing", "drop", "--out", model_path)
    assert code == 0
    assert err == (
        f"linearnet train: note: {LEFT_OUT_CITY}\n"
        "linearnet train: note: dropped 2 of 60 rows with missing values in the columns in use (rows 3, 7)\n"
    )
    assert json.loads(out)["classes"] == ["big", "small"]  # the empty label is no class
    model = load_model(model_path)
    assert model.classes == ["big", "small"] and model.features == ["a", "b"]


def test_a_softmax_preset_trains_on_the_data_set_it_names(tmp_path, capsys):
    from linearnet.datasets import FASHION_MNIST_CLASSES

    write_fashion(tmp_path, compress=False)
    code, out, err = cli(capsys, "train", "--preset", "d2l-softmax", "--data-dir", tmp_path, "--epochs", "1", "--json")
    assert code == 0 and err == ""
    assert json.loads(out)["classes"] == FASHION_MNIST_CLASSES
    runs = [
        json.loads(cli(capsys, "train", *argv, "--epochs", "1", "--impl", "fast", "--json")[1])
        for argv in (["--preset", "digits-softmax"], ["--model", "softmax"], ["--dataset", "digits"])
    ]
    assert runs[0]["classes"] == [str(d) for d in range(10)]
    assert runs[0]["history"] == runs[1]["history"] == runs[2]["history"]  # the digits, by the same recipe


@pytest.mark.parametrize("impl", IMPLS)
def test_a_diverged_softmax_run_exits_1_and_writes_no_model(tmp_path, capsys, impl):
    model_path = tmp_path / "m.json"
    code, out, err = cli(
        capsys, "train", "--dataset", "digits", "--impl", impl, "--lr", "1e10", "--epochs", "2", "--out", model_path
    )
    assert code == 1 and out == ""
    # the same loss from every engine: the fast one's cross-entropy is log-sum-exp minus the true logit, not
    # log(e^(true - largest)), which underflowed to inf once the true logit lay 745 below the largest
    assert err == (
        "linearnet train: error: training diverged: the loss became 5.6e+08 in epoch 1 (over 10,000 times the 2.31 "
        "before training); the learning rate 1e+10 is too large for these data; try a smaller one, such as 1e+09; "
        "no model was written\n"
    )
    assert os.listdir(tmp_path) == []


def test_an_absurd_but_finite_loss_writes_neither_model_nor_plot(tmp_path, capsys):
    model_path, plot_path = tmp_path / "m.json", tmp_path / "loss.png"
    argv = ["--model", "softmax", "--dataset", "digits", "--lr", "1e30", "--epochs", "3", "--out", model_path]
    code, out, err = cli(capsys, "train", *argv)
    assert code == 1 and "epoch 1" not in out and err.count("\n") == 1
    assert re.fullmatch(
        r"linearnet train: error: training diverged: the loss became \S+ in epoch 1 \(over 10,000 times the 2\.31 "
        r"before training\); the learning rate 1e\+30 is too large for these data; try a smaller one, such as "
        r"1e\+29; no model was written\n",
        err,
    )
    code, out, err = cli(capsys, "train", "--lr", "2", "--plot", plot_path)
    assert code == 1 and out == "" and err.startswith("linearnet train: error: training diverged: the loss became 8.8")
    assert os.listdir(tmp_path) == []


def test_json_with_a_plot_prints_only_the_json(tmp_path, capsys):
    from helpers import assert_picture

    path = tmp_path / "loss.png"
    code, out, err = cli(capsys, "train", "--epochs", "2", "--json", "--plot", path)
    assert code == 0 and err == ""
    assert len(json.loads(out)["history"]) == 2  # no "picture written to" line after the object
    assert_picture(path)


def test_sgd_on_a_coded_text_column_writes_a_model_that_predicts_it(tmp_path, capsys):
    rows = [
        (a, c, 2 * a + {"Lyon": 0, "Nice": 30, "Paris": 60}[c]) for a in range(1, 9) for c in ("Lyon", "Nice", "Paris")
    ]
    path, model_path = tmp_path / "h.csv", tmp_path / "h.json"
    path.write_text("area,city,price\n" + "".join(f"{a},{c},{p}\n" for a, c, p in rows))
    code, out, err = cli(
        capsys, "train", "--data", path, "--target", "price", "--features", "area,city", "--standardize",
        "--lr", "0.1", "--epochs", "200", "--impl", "fast", "--out", model_path,
    )  # fmt: skip
    assert code == 0 and err == "" and "city[T.Paris]" in out
    model = load_model(model_path)
    assert model.coding == {"city": ["Lyon", "Nice", "Paris"]} and model.columns == ["area", "city"]
    np.testing.assert_allclose(model.coefficients, [2, 30, 60], atol=0.05)
    new = tmp_path / "new.csv"
    new.write_text("area,city\n4,Nice\n")
    code, out, _ = cli(capsys, "predict", "--model", model_path, new)
    assert code == 0 and float(out.splitlines()[1]) == pytest.approx(38, abs=0.3)


def test_bad_settings_are_answered_before_the_file_is_read(tmp_path, capsys):
    missing = tmp_path / "not-there.csv"  # were the file read first, the error would be about it
    code, out, err = cli(capsys, "train", "--data", missing, "--target", "y", "--lr", "-1")
    assert (code, out) == (2, "") and err == "linearnet train: error: lr must be > 0, got -1; e.g. 0.03\n"


def test_sgd_on_a_formula_lands_near_solve_and_its_model_predicts(tmp_path, capsys):
    from homes import make_homes

    path, model_path = tmp_path / "homes.csv", tmp_path / "m.json"
    path.write_text(make_homes())
    formula = "price ~ area + C(city) + np.log(age)"
    code, out, err = cli(capsys, "solve", path, "--formula", formula, "--missing", "drop", "--json")
    exact = json.loads(out)
    code, out, err = cli(
        capsys, "train", "--data", path, "--formula", formula, "--missing", "drop", "--standardize",
        "--impl", "fast", "--lr", "0.05", "--epochs", "100", "--out", model_path,
    )  # fmt: skip
    assert code == 0 and err.endswith("(row 4)\n")
    model = load_model(model_path)
    assert model.formula == formula and model.features == ["area", "C(city)[T.Nice]", "C(city)[T.Paris]", "np.log(age)"]
    for name, w in zip(model.features, model.coefficients, strict=True):
        ref = exact["coefficients"][name]
        assert abs(w - ref["estimate"]) < 0.5 * ref["stderr"], name  # SGD within half a standard error
    new = tmp_path / "new.csv"
    new.write_text("area,rooms,age,city\n100,3,10,Paris\n")
    assert cli(capsys, "predict", "--model", model_path, new)[0] == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--data", "h.csv", "--formula", "price ~ area", "--target", "price"],
            "--target goes with columns, not --formula: the formula names them",
        ),
        (["--formula", "price ~ area"], "--formula goes with --data FILE"),
        (
            ["--model", "softmax", "--data", "h.csv", "--target", "c", "--formula", "c ~ a"],
            "--formula is for linear regression",
        ),
    ],
)
def test_formula_flags_that_do_not_fit(capsys, argv, message):
    code, out, err = cli(capsys, "train", *argv)
    assert (code, out, err) == (2, "", f"linearnet train: error: {message}\n")


def test_sgd_refuses_a_formula_without_intercept(tmp_path, capsys):
    from homes import make_homes

    path = tmp_path / "homes.csv"
    path.write_text(make_homes())
    code, out, err = cli(capsys, "train", "--data", path, "--formula", "price ~ area - 1", "--missing", "drop")
    assert (code, out) == (2, "") and err == (
        "linearnet train: error: SGD fits an intercept: leave '- 1' out of the formula (solve fits without one)\n"
    )


def _rows_file(tmp_path, n=12_000, gaps=()):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, 2))
    y = X @ [1.5, -2.0] + 0.7 + 0.05 * rng.standard_normal(n)
    lines = [f"{a!r},{b!r},{t!r}" for (a, b), t in zip(X.tolist(), y.tolist(), strict=True)]
    for row in gaps:
        lines[row - 1] = lines[row - 1].split(",", 1)[0] + ",,1.0"
    path = tmp_path / "rows.csv"
    path.write_text("a,b,y\n" + "\n".join(lines) + "\n")
    return path


def test_train_streams_a_file_over_the_memory_budget_with_a_note_and_writes_its_model(tmp_path, capsys):
    path = _rows_file(tmp_path, gaps=(7, 9000))
    out = tmp_path / "m.json"
    argv = ["train", "--data", path, "--target", "y", "--epochs", "3", "--lr", "0.03", "--impl", "fast"]
    code, text, err = cli(capsys, *argv, "--memory-budget", "1M", "--missing", "drop", "--json", "--out", out)
    result = json.loads(text)
    assert code == 0
    assert err.splitlines() == [
        f"linearnet train: note: {path} is read in chunks: read whole it would take about "
        f"{whole_read_bytes(path) / 2**20:.1f} MiB, over the memory budget of 1.0 MiB (--memory-budget)",
        "linearnet train: note: dropped 2 of 12,000 rows with missing values in the columns in use (rows 7, 9000)",
    ]
    assert result["notes"] == [line.removeprefix("linearnet train: note: ") for line in err.splitlines()]
    model = load_model(out)
    assert model.training["n"] == 11_998 and model.features == ["a", "b"]
    np.testing.assert_allclose(model.coefficients, [1.5, -2.0], atol=0.02)
    assert model.intercept == pytest.approx(0.7, abs=0.02)
    code, text, err = cli(capsys, *argv, "--stream", "--missing", "drop", "--json")  # forced: no note of the budget
    assert code == 0 and err.splitlines()[1:] == [] and "dropped 2 of 12,000 rows" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--formula", "y ~ a + b", "--stream"], "--stream goes with columns: a formula reads the file whole"),
        (["--target", "y", "--model", "softmax", "--stream"], None),
        (["--target", "y", "--model", "softmax", "--memory-budget", "2G"], None),
    ],
)
def test_streaming_flags_that_do_not_apply_are_refused(tmp_path, capsys, extra, message):
    path = _rows_file(tmp_path, n=50)
    code, out, err = cli(capsys, "train", "--data", path, *extra)
    flag = "--stream" if "--stream" in extra else "--memory-budget"
    expected = message or f"{flag} is for linear regression; softmax regression reads data whole"
    assert (code, out) == (2, "") and err == f"linearnet train: error: {expected}\n"
    code, out, err = cli(capsys, "train", "--stream")
    assert (code, out) == (2, "") and err == "linearnet train: error: --stream goes with --data FILE\n"


def test_softmax_on_a_file_over_the_memory_budget_says_it_reads_it_whole(tmp_path, capsys, monkeypatch):
    from linearnet import memory

    monkeypatch.setattr(memory, "available_bytes", lambda: 4 << 20)  # a budget of 1 MiB
    path = tmp_path / "labels.csv"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12_000, 2))
    path.write_text("a,b,k\n" + "".join(f"{a!r},{b!r},{int(a > b)}\n" for a, b in X.tolist()))
    code, out, err = cli(capsys, "train", "--model", "softmax", "--data", path, "--target", "k", "--epochs", "1")
    assert code == 0 and "test acc" in out
    assert err.splitlines()[0] == (
        f"linearnet train: note: {path} is read whole, as softmax regression is not streamed: it takes about "
        f"{whole_read_bytes(path) / 2**20:.1f} MiB, over the memory budget of 1.0 MiB"
    )


def test_train_on_a_table_with_no_flags_converges_near_the_exact_loss_and_says_so(capsys):
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--json")
    result = json.loads(out)
    assert code == 0 and err == ""
    assert result["converged"] is True and result["standardize"] is True
    assert result["epochs_run"] == len(result["history"]) < 200
    exact = statsmodels_houses().ssr / 200 / 2  # the half squared loss at the least-squares optimum
    assert result["exact_loss"] == pytest.approx(exact, rel=1e-10)
    assert 0 <= result["excess"] < 0.01 and result["history"][-1]["loss"] == pytest.approx(exact, rel=0.01)
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price")
    lines = out.splitlines()
    converged, compared = lines[-6], lines[-5]
    assert re.fullmatch(
        r"converged in \d+ epochs: the loss improved by less than 0.0001 of its best for 5 epochs", converged
    )
    assert re.fullmatch(
        r"training loss \S+; the exact least-squares loss is \S+ \(SGD is 0\.\d\d% above it\)", compared
    )


def test_a_run_stopped_at_max_epochs_says_it_has_not_converged(capsys):
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--max-epochs", "3", "--json")
    assert code == 0 and json.loads(out)["converged"] is False and json.loads(out)["epochs_run"] == 3
    assert err == (
        "linearnet train: warning: not converged in 3 epochs (--max-epochs): the loss was still improving by more "
        "than 0.0001 of its best; raise --max-epochs, or --lr if it moves slowly\n"
    )
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--epochs", "3", "--json")
    assert code == 0 and err == "" and json.loads(out)["converged"] is None  # an exact count: no verdict


def test_softmax_on_a_table_with_no_flags_standardizes_and_matches_logistic_regression(tmp_path, capsys):
    from sklearn.linear_model import LogisticRegression

    from linearnet import datasets
    from linearnet.tables import read_table

    out_path = tmp_path / "m.json"
    argv = ["train", "--model", "softmax", "--data", FLOWERS, "--target", "species", "--json", "--out", out_path]
    code, out, err = cli(capsys, *argv)
    result = json.loads(out)
    assert code == 0 and err == "" and result["converged"] is True
    data = datasets.from_table(read_table(FLOWERS, target="species", labels=True), seed=0)
    reference = LogisticRegression(max_iter=10_000).fit(data.X_train, data.y_train).score(data.X_test, data.y_test)
    assert result["test_acc"] >= reference - 0.02
    model = load_model(out_path)  # weights in the features' own units: the file predicts without the scaling
    predicted = np.array([model.classes.index(c) for c in model.predict(data.X_test)])
    assert (predicted == data.y_test).mean() == pytest.approx(result["test_acc"])


def test_divergence_on_unscaled_features_names_them_as_the_likely_cause(capsys):
    argv = ["train", "--data", HOUSES, "--target", "price", "--no-standardize", "--lr", "0.03"]
    code, _, err = cli(capsys, *argv)
    assert code == 1 and err.count("\n") == 1
    assert err.strip().endswith(
        "the features were not standardized, the likely cause: leave out --no-standardize before trying smaller rates"
    )


def test_softmax_plot_draws_the_loss_and_both_accuracies(tmp_path, capsys, monkeypatch):
    from linearnet import plot

    drawn = {}
    real = plot.plot_loss
    monkeypatch.setattr(plot, "plot_loss", lambda losses, **kw: drawn.update(kw, losses=losses) or real(losses, **kw))
    picture = tmp_path / "acc.png"
    argv = ["train", "--model", "softmax", "--data", FLOWERS, "--target", "species", "--max-epochs", "6"]
    code, out, err = cli(capsys, *argv, "--plot", picture)
    assert code == 0 and "not converged in 6 epochs" in err and out.endswith(f"picture written to {picture}\n")
    assert_picture(picture)
    assert len(drawn["losses"]) == 6 and set(drawn["accuracies"]) == {"train acc", "test acc"}
    assert all(len(v) == 6 and all(0 <= a <= 1 for a in v) for v in drawn["accuracies"].values())


def test_early_stopping_watches_the_loss_on_rows_held_out(capsys):
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--early-stopping", "--json")
    result = json.loads(out)
    assert code == 0 and err == "" and result["converged"] is True
    assert all("val_loss" in record for record in result["history"])
    assert 0 <= result["excess"] < 0.01  # against the optimum of the 180 rows trained on, not all 200
    code, out, _ = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--early-stopping")
    assert "converged in" in out and "the loss on the rows held out improved by less than 0.0001" in out
    code, out, _ = cli(
        capsys, "train", "--model", "softmax", "--data", FLOWERS, "--target", "species", "--early-stopping"
    )
    assert code == 0 and ", val loss " in out.splitlines()[0]


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--early-stopping", "--epochs", "3"],
            "--early-stopping stops by the loss; --epochs runs an exact number of epochs",
        ),
        (["--validation-fraction", "0.2"], "--validation-fraction goes with --early-stopping"),
        (
            ["--early-stopping", "--validation-fraction", "1.5"],
            "--validation-fraction must be between 0 and 1, got 1.5",
        ),
        (
            ["--early-stopping", "--stream"],
            f"{HOUSES}: --early-stopping holds rows out of a file read whole, not of one read in chunks; give a "
            f"--memory-budget it fits in, or leave out --stream",
        ),
    ],
)
def test_early_stopping_flags_that_cannot_apply_are_refused(capsys, extra, message):
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", *extra)
    assert (code, out) == (2, "") and err == f"linearnet train: error: {message}\n"


def test_a_target_of_class_names_trains_softmax_regression_with_a_note(capsys):
    from sklearn.linear_model import LogisticRegression

    from linearnet import datasets
    from linearnet.tables import read_table

    code, out, err = cli(capsys, "train", "--data", FLOWERS, "--target", "species", "--json")
    result = json.loads(out)
    assert code == 0 and err == (
        "linearnet train: note: column 'species' holds text: training softmax regression (classification) on it, "
        "as --model softmax does\n"
    )
    data = datasets.from_table(read_table(FLOWERS, target="species", labels=True), seed=0)
    reference = LogisticRegression(max_iter=10_000).fit(data.X_train, data.y_train).score(data.X_test, data.y_test)
    assert result["classes"] == ["setosa", "versicolor", "virginica"] and result["converged"] is True
    assert result["test_acc"] >= reference - 0.02
    code, out, err = cli(capsys, "train", "--data", FLOWERS, "--target", "species", "--model", "linear")
    assert code == 2 and "species" in err  # asked for linear regression: the text is refused, not reinterpreted


def test_a_table_of_many_values_trains_on_the_compiled_engine_along_the_scratch_trajectory(tmp_path, capsys):
    # below config.AUTO_FAST_DATA_VALUES values the scratch engine, from there on fast: the same steps but
    # for float32's rounding
    from linearnet.config import AUTO_FAST_DATA_VALUES

    rng = np.random.default_rng(1)
    n = AUTO_FAST_DATA_VALUES // 3 + 1
    X = rng.standard_normal((n, 3))
    y = X @ [2.0, -1.0, 0.5] + 3 + 0.1 * rng.standard_normal(n)
    path = tmp_path / "many.csv"
    np.savetxt(path, np.c_[X, y], delimiter=",", header="a,b,c,y", comments="")
    argv = ["train", "--data", path, "--target", "y", "--epochs", "3", "--json", "--no-compare-exact"]
    auto = json.loads(cli(capsys, *argv)[1])
    scratch = json.loads(cli(capsys, *argv, "--impl", "scratch")[1])
    assert auto["impl"] == "fast" and scratch["impl"] == "scratch"
    np.testing.assert_allclose([r["loss"] for r in auto["history"]], [r["loss"] for r in scratch["history"]], rtol=1e-5)
    np.testing.assert_allclose(auto["w"] + [auto["b"]], scratch["w"] + [scratch["b"]], rtol=1e-5)
    few = json.loads(cli(capsys, "train", "--data", HOUSES, "--target", "price", "--epochs", "1", "--json")[1])
    assert few["impl"] == "scratch"  # 600 values: compiling would take longer than training


def test_a_table_the_model_fits_exactly_settles_and_says_so_in_valid_json(tmp_path, capsys):
    path = tmp_path / "one.csv"
    path.write_text("x,y\n0,0\n")  # one row, two parameters: the optimum's loss is 0, and so is SGD's
    code, out, err = cli(capsys, "train", "--data", path, "--target", "y", "--json")
    assert code == 0, err
    result = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert result["converged"] is True and result["epochs_run"] == 6 and result["exact_loss"] == 0.0
    code, out, err = cli(capsys, "train", "--data", path, "--target", "y")
    assert "converged in 6 epochs" in out and "an exact fit" in out and "nan" not in out and "warning" not in err

"""solve, train --data, model files and predict, through the CLI and the library."""
import json
import os
import re

import numpy as np
import pytest
import statsmodels.api as sm

from linearnet.cli import main
from linearnet.modelfile import Model, load_model, save_model
from linearnet.tables import read_table

HOUSES = os.path.join(os.path.dirname(__file__), "..", "examples", "houses.csv")


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def statsmodels_houses():
    t = read_table(HOUSES, target="price")
    return sm.OLS(t.target, sm.add_constant(t.features)).fit()


def test_solve_prints_the_statsmodels_table(capsys):
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert re.fullmatch(r"\s+coef\s+std err\s+t\s+P>\|t\|\s+\[0.025\s+0.975\]", lines[0])
    assert [line.split()[0] for line in lines[2:6]] == ["intercept", "area", "rooms", "age"]
    ref = statsmodels_houses()
    assert float(lines[3].split()[1]) == pytest.approx(ref.params[1], rel=1e-5)
    assert re.fullmatch(r"R² 0\.\d{6}   adj\. R² 0\.\d{6}   σ̂ [\d.]+   n 200   rank 4   condition number [\d.e+]+",
                        lines[-1])


def test_solve_json(capsys):
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "price", "--json")
    result = json.loads(out)
    ref = statsmodels_houses()
    keys = {"estimate", "stderr", "t", "p", "ci_low", "ci_high"}
    assert set(result) == {"intercept", "coefficients", "sigma", "r2", "adj_r2", "n", "rank", "condition_number"}
    assert set(result["intercept"]) == keys and list(result["coefficients"]) == ["area", "rooms", "age"]
    assert result["intercept"]["estimate"] == pytest.approx(ref.params[0], rel=1e-10)
    assert result["coefficients"]["age"]["stderr"] == pytest.approx(ref.bse[3], rel=1e-10)
    assert result["coefficients"]["rooms"]["ci_high"] == pytest.approx(ref.conf_int()[2, 1], rel=1e-10)
    assert result["r2"] == pytest.approx(ref.rsquared, rel=1e-12) and result["n"] == 200 and result["rank"] == 4
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "price", "--json", "--no-intercept",
                       "--features", "area,age")
    result = json.loads(out)
    assert result["intercept"] is None and list(result["coefficients"]) == ["area", "age"]


def test_solve_rank_deficient_file(tmp_path, capsys):
    path = tmp_path / "dep.csv"
    path.write_text("a,b,c,y\n" + "".join(f"{i},{i * i % 7},{i + 2 * (i * i % 7)},{i % 5}\n" for i in range(20)))
    code, _, err = cli(capsys, "solve", path, "--target", "y")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"linearnet solve: error: {path}: the columns a, b, c are linearly dependent "
                          f"(rank 3 of 4 parameters)")
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--allow-rank-deficient", "--json")
    assert code == 0 and json.loads(out)["rank"] == 3
    assert err == ("linearnet solve: warning: the design has rank 3 of 4 parameters; "
                   "returning the minimum-norm solution\n")


def test_too_few_rows_names_the_file(tmp_path, capsys):
    path = tmp_path / "few.csv"
    path.write_text("a,b,c,y\n1,2,3,4\n5,6,7,9\n")
    code, out, err = cli(capsys, "solve", path, "--target", "y")
    assert code == 2 and out == ""
    assert err == (f"linearnet solve: error: {path}: the data have 2 rows but the model has 4 parameters "
                   f"(3 features + intercept); need at least 4 rows, or allow a rank-deficient design "
                   f"(--allow-rank-deficient) for the minimum-norm solution\n")


def test_solve_save_and_predict_round_trip(tmp_path, capsys):
    model_path = tmp_path / "houses.model.json"
    assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", model_path)[0] == 0
    model = load_model(model_path)
    ref = statsmodels_houses()
    assert model.features == ["area", "rooms", "age"] and model.target == "price"
    assert model.training["method"] == "solve" and model.statistics["n"] == 200
    np.testing.assert_allclose(model.coefficients, ref.params[1:], rtol=1e-10)
    code, out, err = cli(capsys, "predict", "--model", model_path, HOUSES)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "price_predicted" and len(lines) == 201
    np.testing.assert_allclose([float(v) for v in lines[1:]], ref.fittedvalues, rtol=1e-10)
    for name in ("pred.csv", "pred.parquet"):
        assert cli(capsys, "predict", "--model", model_path, HOUSES, "--out", tmp_path / name)[0] == 0
        back = read_table(tmp_path / name, target="price_predicted", features=[])
        np.testing.assert_allclose(back.target, ref.fittedvalues, rtol=1e-12)


def test_predict_names_the_missing_columns(tmp_path, capsys):
    save_model(Model(["area", "rooms", "age"], [1.0, 2.0, 3.0], 4.0, target="price"), tmp_path / "m.json")
    data = tmp_path / "new.csv"
    data.write_text("area,size\n10,2\n")
    code, out, err = cli(capsys, "predict", "--model", tmp_path / "m.json", data)
    assert code == 2 and out == ""
    assert err == f"linearnet predict: error: {data}: has no columns 'rooms', 'age'; its columns are: area, size\n"


def test_train_on_a_file_saves_a_model_in_original_units(tmp_path, capsys):
    model_path = tmp_path / "sgd.json"
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--standardize",
                         "--epochs", "40", "--lr", "0.1", "--impl", "fast", "--out", model_path)
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
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--lr", "10",
                         "--out", model_path)
    assert code == 1 and "training diverged" in err and err.endswith("; no model was written\n")
    assert model_path.read_text() == "precious"
    assert sorted(os.listdir(tmp_path)) == ["keep.json"]


def test_model_files_round_trip_bit_for_bit(tmp_path):
    rng = np.random.default_rng(0)
    model = Model(["a", "b"], rng.standard_normal(2) * 1e-9, float(rng.standard_normal()), target="y",
                  training={"method": "solve"})
    save_model(model, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert np.array_equal(back.coefficients, model.coefficients) and back.intercept == model.intercept
    assert back.features == ["a", "b"] and json.loads((tmp_path / "m.json").read_text())["format_version"] == 1


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


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a usable linearnet model file: not JSON"),
    ('{"format": "pickle"}', 'not a usable linearnet model file: expected "format": "linearnet-model"'),
    ('{"format": "linearnet-model", "format_version": 9}',
     "not a usable linearnet model file: format_version 9 is newer than this linearnet reads (1); upgrade linearnet"),
    ('{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
     '"coefficients": [1, 2], "intercept": 0}',
     "not a usable linearnet model file: coefficients must be 1 finite numbers, one per feature"),
    ('{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
     '"coefficients": [1], "intercept": "__import__(\'os\')"}',
     "not a usable linearnet model file: intercept must be a finite number"),
])
def test_bad_model_files(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: {message}")
    code, _, err = cli(capsys, "predict", "--model", path, HOUSES)
    assert code == 2 and err.startswith(f"linearnet predict: error: {path}: {message}") and err.count("\n") == 1


@pytest.mark.parametrize("argv, message", [
    (["train", "--data", HOUSES], "linearnet train: error: --data needs --target COL, the column to predict"),
    (["train", "--data", HOUSES, "--target", "price", "--true-w", "1,2"],
     "linearnet train: error: --true-w describes synthetic data and cannot be combined with --data"),
    (["train", "--target", "price"], "linearnet train: error: --target goes with --data FILE"),
    (["solve", HOUSES], "linearnet solve: error: the following arguments are required: --target"),
    (["solve", HOUSES, "--target", "price", "--out", "/no/such/folder/m.json"],
     "linearnet solve: error: /no/such/folder/m.json: folder /no/such/folder does not exist"),
    (["predict", HOUSES], "linearnet predict: error: the following arguments are required: --model"),
])
def test_bad_combinations(capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"


# --- cases found by a second read --------------------------------------------------------------

@pytest.mark.parametrize("name, text, message", [
    ("dup.csv", "a,a,y\n1,2,3\n2,3,5\n3,5,7\n4,1,2\n",
     "{p}: column 'a' appears 2 times in the header; give each column its own name"),
    ("noname.csv", "x,,y\n1,2,3\n2,3,4\n", "{p}: column 2 has no name in the header; name every column"),
    ("hex.csv", "x,y\n1,2\n2,3\n4,5\n0x5,9\n", "{p}: column 'x', row 4 (line 5): '0x5' is not a number"),
    ("blank.csv", "x,y\n1,2\n\n2,3\n3,x\n", "{p}: column 'y', row 3 (line 5): 'x' is not a number"),
    ("magic.csv", "PAR1,y\n1,2\n2,3\n3,x\n", "{p}: column 'y', row 3 (line 4): 'x' is not a number"),
])
@pytest.mark.parametrize("chunked", [False, True], ids=["memory", "chunks"])
def test_header_and_value_typos(tmp_path, capsys, name, text, message, chunked):
    path = tmp_path / name
    path.write_text(text)
    argv = ["solve", path, "--target", "y"] + (["--chunk-rows", "1"] if chunked else [])
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == f"linearnet solve: error: {message.format(p=path)}\n"


def test_an_empty_output_name_is_refused(capsys):
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", "")
    assert code == 2 and out == ""
    assert err == "linearnet solve: error: an output option was given an empty file name; name the file to write\n"


def test_an_unwritable_folder_is_one_line(capsys):
    # /proc refuses new files even to root: refused up front (not writable) or at the write itself
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--out", "/proc/m.json")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("linearnet solve: error: /proc/m.json: ")


def test_values_too_large_for_float32_training(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    path.write_text("x,y\n1,1e308\n2,-1e308\n3,1e308\n")
    code, out, err = cli(capsys, "train", "--data", path, "--target", "y")
    assert code == 2 and out == ""
    assert err.startswith("linearnet train: error: labels hold values up to 1e+308, too large for float32 training")
    code, _, err = cli(capsys, "train", "--true-b", "1e308")
    assert code == 2 and err == ("linearnet train: error: true_b must be at most 1e+30 in size (the data are "
                                 "float32), got 1e+308\n")


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


def test_an_implicit_constant_centres_r2_like_statsmodels():
    from linearnet.leastsq import solve

    X = np.array([[1, 1], [2, 1], [3, 1], [4, 1.0]])
    y = np.array([2, 3, 5, 4.0])
    fit, ref = solve(X, y, fit_intercept=False), sm.OLS(y, X).fit()
    assert fit.r2 == pytest.approx(ref.rsquared) and fit.adj_r2 == pytest.approx(ref.rsquared_adj)


@pytest.mark.parametrize("content, message", [
    ('{"format": "linearnet-model", "format_version": true}', "format_version must be a whole number >= 1, got True"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ('{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
     '"coefficients": [1' + "0" * 400 + '], "intercept": 0}', "a number is too large for a float"),
    ('{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
     '"coefficients": [1], "intercept": 0, "fit_intercept": "no"}', "fit_intercept must be true or false"),
])
def test_more_bad_model_files(tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value) == f"{path}: not a usable linearnet model file: {message}"


@pytest.mark.parametrize("argv, message", [
    (["train", "--standardize"], "linearnet train: error: --standardize goes with --data FILE"),
    (["train", "--out", "m.json"], "linearnet train: error: --out goes with --data FILE or --dataset"),
    (["train", "--dataset", "digits", "--standardize"],
     "linearnet train: error: --standardize is for linear regression"),
    (["train", "--dataset", "digits", "--data", HOUSES, "--target", "price"],
     "linearnet train: error: give --dataset or --data, not both"),
    (["train", "--model", "softmax", "--target", "price"],
     "linearnet train: error: --target and --features go with --data FILE"),
    (["train", "--dataset", "digits", "--plot", "l.png"],
     "linearnet train: error: --plot draws regression losses; softmax runs print accuracies each epoch "
     "(use --plot-predictions for images)"),
    (["train", "--model", "linear", "--dataset", "digits"],
     "linearnet train: error: --dataset and the softmax presets train --model softmax"),
    (["train", "--data-dir", "/tmp"], "linearnet train: error: --data-dir goes with --dataset fashion-mnist"),
    (["solve", HOUSES, "--target", "price", "--chunk-rows", "0"],
     "linearnet solve: error: --chunk-rows must be a whole number >= 1, got 0"),
    (["train", "--dataset", "digits", "--plot-predictions", "p.txt"],
     "linearnet train: error: p.txt: the picture must be a .png, .pdf or .svg file"),
])
def test_more_flag_combinations(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"

"""``linearnet solve --model softmax``: the multinomial logit of a table from the command line."""

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from linearnet.modelfile import load_model

from helpers import EXAMPLES, FLOWERS, HOUSES, cli

IRIS = str(EXAMPLES / "iris.csv")  # R's iris, written by write.csv
PAIR = str(EXAMPLES / "versicolor-virginica.csv")  # its versicolor and virginica rows: an optimum exists
FEATURES = ["Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width"]


def statsmodels_pair():
    frame = pd.read_csv(PAIR)
    return sm.Logit((frame.Species == "virginica").astype(float), sm.add_constant(frame[FEATURES])).fit(
        method="newton", tol=1e-14, maxiter=100, disp=0, warn_convergence=False
    )


def test_a_text_target_is_fitted_by_the_logit_and_the_json_holds_statsmodels_numbers(capsys):
    code, out, err = cli(capsys, "solve", PAIR, "--target", "Species", "--json")
    assert code == 0
    assert err == (
        "linearnet solve: note: column 'Species' holds text: fitting the multinomial logit (classification) on it, "
        "as --model softmax does\n"
    )
    got = json.loads(out)
    ref = statsmodels_pair()
    assert got["model"] == "softmax" and got["reference"] == "versicolor" and list(got["classes"]) == ["virginica"]
    rows = got["classes"]["virginica"]
    table = [rows["intercept"], *(rows["coefficients"][c] for c in FEATURES)]
    # statsmodels' Newton iteration and ours meet at the optimum: 12 digits of the estimates, 10 of the errors
    np.testing.assert_allclose([r["estimate"] for r in table], ref.params, rtol=1e-12)
    np.testing.assert_allclose([r["stderr"] for r in table], ref.bse, rtol=1e-10)
    np.testing.assert_allclose([r["p"] for r in table], ref.pvalues, rtol=1e-8)
    np.testing.assert_allclose([[r["ci_low"], r["ci_high"]] for r in table], ref.conf_int(), rtol=1e-10)
    assert got["loglik"] == pytest.approx(ref.llf, rel=1e-12) and got["null_loglik"] == pytest.approx(ref.llnull)
    assert got["aic"] == pytest.approx(ref.aic, rel=1e-12) and got["bic"] == pytest.approx(ref.bic, rel=1e-12)
    assert got["lr_chi2"] == pytest.approx(ref.llr, rel=1e-12) and got["lr_df"] == 4
    assert got["lr_p"] == pytest.approx(ref.llr_pvalue, rel=1e-8) and got["pseudo_r2"] == pytest.approx(ref.prsquared)
    assert got["deviance"] == pytest.approx(-2 * ref.llf) and got["n"] == 100 and got["converged"] is True
    assert got["notes"] == ["column 'Species' holds text: fitting the multinomial logit"][:0] or got["notes"] == []


def test_the_table_has_a_block_per_class_and_the_test_of_the_model(capsys):
    code, out, _ = cli(capsys, "solve", IRIS, "--target", "Species", "--model", "softmax", "--features", "Sepal.Width")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "multinomial logit: log-odds of each class against the reference class 'setosa'"
    assert "class 'versicolor' (50 rows)" in lines and "class 'virginica' (50 rows)" in lines
    assert any(line.startswith("LR χ² ") and "on 2 df" in line for line in lines)
    assert any(line.startswith("reference 'setosa' (50 rows)   n 150   converged in ") for line in lines)


def test_the_reference_class_is_picked_and_the_others_are_read_against_it(capsys):
    def fit(*extra):
        code, out, _ = cli(capsys, "solve", IRIS, "--target", "Species", "--features", "Sepal.Width", "--json", *extra)
        assert code == 0
        return json.loads(out)

    first, picked = fit(), fit("--reference", "virginica")
    assert picked["reference"] == "virginica" and list(picked["classes"]) == ["setosa", "versicolor"]
    # log-odds of setosa against virginica = −(virginica against setosa); the same likelihood
    a = first["classes"]["virginica"]["coefficients"]["Sepal.Width"]["estimate"]
    b = picked["classes"]["setosa"]["coefficients"]["Sepal.Width"]["estimate"]
    assert b == pytest.approx(-a, rel=1e-10) and picked["loglik"] == pytest.approx(first["loglik"], rel=1e-12)


def test_separated_classes_are_said_with_no_errors_and_no_model_file(capsys, tmp_path):
    out_file = tmp_path / "m.json"
    code, out, err = cli(capsys, "solve", IRIS, "--target", "Species", "--out", out_file)
    assert code == 1 and not out_file.exists()
    assert "no finite optimum: 50 rows of class 'setosa' are separated from the other classes" in out
    assert "std err" not in out and "converged" not in out
    assert err.splitlines()[-1].startswith("linearnet solve: no finite optimum: 50 rows of class 'setosa' are")
    assert err.splitlines()[-1].endswith("; no model written")
    code, out, _ = cli(capsys, "solve", IRIS, "--target", "Species", "--json")
    got = json.loads(out)
    assert code == 1 and got["converged"] is False and "setosa" in got["separation"]
    assert all(r["stderr"] == "NaN" for r in got["classes"]["virginica"]["coefficients"].values())


def test_the_model_file_predicts_classes_and_probabilities(capsys, tmp_path):
    model = tmp_path / "pair.json"
    code, out, _ = cli(capsys, "solve", PAIR, "--target", "Species", "--out", model)
    assert code == 0 and out.endswith(f"model written to {model}\n")
    saved = load_model(model)
    assert saved.classes == ["versicolor", "virginica"] and saved.training["method"] == "solve"
    assert saved.statistics["loglik"] == pytest.approx(statsmodels_pair().llf, rel=1e-12)
    code, out, _ = cli(capsys, "predict", "--model", model, PAIR)
    predicted = pd.read_csv(pd.io.common.StringIO(out))
    ref = statsmodels_pair().predict()
    np.testing.assert_allclose(predicted["p_virginica"], ref, rtol=1e-9, atol=1e-15)
    assert list(predicted["Species_predicted"]) == ["virginica" if p > 0.5 else "versicolor" for p in ref]


def test_a_formula_gives_the_terms_and_the_target_stays_class_labels(capsys):
    code, out, _ = cli(capsys, "solve", FLOWERS, "--formula", "species ~ np.log(sepal)", "--json")
    got = json.loads(out)
    assert code == 0 and got["reference"] == "setosa"
    assert list(got["classes"]["versicolor"]["coefficients"]) == ["np.log(sepal)"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--se", "HC3"], "--se goes with least squares (--model linear), not --model softmax"),
        (["--cluster", "sepal"], "--cluster goes with least squares (--model linear), not --model softmax"),
        (["--weights", "sepal"], "--weights goes with least squares (--model linear), not --model softmax"),
    ],
)
def test_flags_of_least_squares_are_refused(capsys, flags, message):
    code, _, err = cli(capsys, "solve", FLOWERS, "--target", "species", "--model", "softmax", *flags)
    assert code == 2 and err.splitlines()[-1] == f"linearnet solve: error: {message}"


def test_a_reference_is_refused_for_least_squares_and_an_unknown_one_named(capsys):
    code, _, err = cli(capsys, "solve", HOUSES, "--target", "price", "--reference", "a")
    assert code == 2 and "--reference goes with --model softmax" in err
    code, _, err = cli(capsys, "solve", FLOWERS, "--target", "species", "--reference", "tulip")
    assert code == 2 and err.splitlines()[-1] == (
        f"linearnet solve: error: {FLOWERS}: the reference class 'tulip' is not one of the classes "
        f"(setosa, versicolor, virginica)"
    )


def test_a_number_target_stays_least_squares_unless_softmax_is_asked(capsys):
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "rooms", "--json")
    assert code == 0 and "model" not in json.loads(out)
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "rooms", "--model", "softmax", "--json")
    got = json.loads(out)
    assert (
        got["model"] == "softmax" and got["reference"] == "1" and list(got["classes"]) == ["2", "3", "4", "5", "6", "7"]
    )
    assert got["notes"][-1] == "class 0 numbered but with no rows: not fitted"


def test_a_boolean_target_is_classes(capsys, tmp_path):
    frame = pd.read_csv(PAIR)
    path = tmp_path / "pair.csv"
    frame.assign(virginica=frame.Species == "virginica").drop(columns="Species").to_csv(path, index=False)
    code, out, err = cli(capsys, "solve", path, "--target", "virginica", "--json")
    got = json.loads(out)
    assert code == 0 and "holds boolean values" in err and got["reference"] == "False"
    est = got["classes"]["True"]["coefficients"]["Petal.Width"]["estimate"]
    assert est == pytest.approx(statsmodels_pair().params["Petal.Width"], rel=1e-12)


def test_train_says_how_far_sgd_is_from_the_exact_optimum(capsys):
    code, out, _ = cli(capsys, "train", "--data", IRIS, "--target", "Species", "--features", "Sepal.Width")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("training loss "))
    sgd, exact = (float(x) for x in (line.split()[2].rstrip(";"), line.split("loss is ")[1].split()[0]))
    assert exact <= sgd and line.endswith(f"(SGD is {100 * (sgd / exact - 1):.2f}% above it)")
    code, out, _ = cli(capsys, "train", "--data", IRIS, "--target", "Species", "--json")
    got = json.loads(out)
    assert got["separated"] is True and got["excess"] is None and got["exact_loss"] < got["history"][-1]["loss"]


def numbers(tree, at="") -> dict:
    """The numbers of a JSON object, by their path."""
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in numbers(value, f"{at}/{key}").items()}
    return {at: tree} if isinstance(tree, (int, float)) and not isinstance(tree, bool) else {}


@pytest.mark.parametrize("flags", [["--chunk-rows", "7"], ["--memory-budget", "1M"]], ids=["chunk rows", "budget"])
def test_in_chunks_the_fit_is_the_fit_of_the_file_read_whole(capsys, flags):
    code, out, _ = cli(capsys, "solve", IRIS, "--target", "Species", "--features", "Sepal.Width,Petal.Length", "--json")
    whole = json.loads(out)
    code, out, _err = cli(
        capsys, "solve", IRIS, "--target", "Species", "--features", "Sepal.Width,Petal.Length", "--json", *flags
    )
    chunked = json.loads(out)
    assert code == 1 == (not whole["converged"]) and chunked["separation"] == whole["separation"]
    assert numbers(chunked) == pytest.approx(numbers(whole), rel=1e-10, abs=1e-300)
    code, out, _ = cli(capsys, "solve", PAIR, "--target", "Species", "--json", *flags)
    assert code == 0 and numbers(json.loads(out)) == pytest.approx(numbers(statistics_of_pair(capsys)), rel=1e-10)


def statistics_of_pair(capsys):
    _code, out, _ = cli(capsys, "solve", PAIR, "--target", "Species", "--json")
    return json.loads(out)


def test_a_folder_of_parquet_files_with_a_category_target(capsys, tmp_path):
    frame = pd.read_csv(PAIR)
    frame["Species"] = frame.Species.astype("category")
    (tmp_path / "parts").mkdir()
    for i in range(2):  # the first file holds versicolor only: the classes come from both
        frame.iloc[i * 50 : (i + 1) * 50].to_parquet(tmp_path / "parts" / f"p{i}.parquet", index=False)
    for flags in ([], ["--chunk-rows", "9"]):
        code, out, err = cli(capsys, "solve", tmp_path / "parts", "--target", "Species", "--json", *flags)
        got = json.loads(out)
        assert code == 0 and "holds category values" in err and got["reference"] == "versicolor"
        assert numbers(got) == pytest.approx(numbers(statistics_of_pair(capsys)), rel=1e-10)


def test_standard_input_is_read_whole_or_refused_in_chunks(capsys, monkeypatch):
    import io
    import sys

    text = open(PAIR, encoding="utf-8").read()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, _ = cli(capsys, "solve", "-", "--target", "Species", "--model", "softmax", "--json")
    assert code == 0 and numbers(json.loads(out)) == pytest.approx(numbers(statistics_of_pair(capsys)), rel=1e-12)
    code, _, err = cli(capsys, "solve", "-", "--target", "Species", "--model", "softmax", "--chunk-rows", "10")
    assert code == 2 and "standard input can be read once: save it to a file" in err

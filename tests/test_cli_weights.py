"""``--weights COL`` on ``solve`` and ``train --data``: R's weighted fit read from a file, whole or in chunks;
bad weights refused in one line naming the file, the column and the row."""

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from helpers import cli


@pytest.fixture(scope="module")
def weighted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weighted")
    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.uniform(0, 4, size=n)})
    frame["w"] = rng.uniform(0.2, 3, size=n).round(3)
    frame.loc[[4, 40, 90], "w"] = 0.0
    frame["y"] = 2 * frame.a - frame.b + 1 + rng.normal(size=n) / np.sqrt(frame.w + 0.1)
    frame.to_csv(folder / "w.csv", index=False)
    return folder / "w.csv", frame


def wls(frame):
    keep = frame.w > 0
    return sm.WLS(frame.y[keep], sm.add_constant(frame[["a", "b"]][keep]), weights=frame.w[keep]).fit()


@pytest.mark.parametrize("chunks", [None, "7"], ids=["whole", "chunks"])
def test_solve_weights_gives_the_weighted_fit(weighted, capsys, chunks):
    path, frame = weighted
    code, out, err = cli(
        capsys,
        "solve",
        path,
        "--target",
        "y",
        "--weights",
        "w",
        "--json",
        *(["--chunk-rows", chunks] if chunks else []),
    )
    assert code == 0, err
    got, ref = json.loads(out), wls(frame)
    for k in ("a", "b"):
        assert got["coefficients"][k]["estimate"] == pytest.approx(ref.params[k], rel=1e-10)
        assert got["coefficients"][k]["stderr"] == pytest.approx(ref.bse[k], rel=1e-10)
    assert got["intercept"]["estimate"] == pytest.approx(ref.params["const"], rel=1e-10)
    assert got["sigma"] == pytest.approx(np.sqrt(ref.scale), rel=1e-10)
    assert got["r2"] == pytest.approx(ref.rsquared, rel=1e-10)
    assert got["f_statistic"]["value"] == pytest.approx(ref.fvalue, rel=1e-10)
    assert got["loglik"] == pytest.approx(ref.llf, rel=1e-10)
    assert (got["n"], got["df_resid"], got["weights"], got["zero_weights"]) == (297, 294, "w", 3)
    assert "w" not in got["coefficients"]  # the weights are not a feature
    assert "3 rows of weight 0 left out of n and the residual degrees of freedom (as R does)" in err
    assert any("as R's lm(weights=)" in n for n in got["notes"])


def test_solve_weights_prints_the_table_with_the_weighted_statistics(weighted, capsys, tmp_path):
    path, _ = weighted
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--weights", "w", "--out", tmp_path / "m.json")
    assert code == 0, err
    assert "n 297   rank 3" in out and "F " in out and "log-likelihood" in out
    model = json.loads((tmp_path / "m.json").read_text())
    assert model["statistics"]["weights"] == "w" and model["features"] == ["a", "b"]


@pytest.mark.parametrize("value, row, why", [("-1", 7, "negative"), ("-0.5", 3, "negative")], ids=["row-7", "row-3"])
@pytest.mark.parametrize("chunks", [[], ["--chunk-rows", "2"]], ids=["whole", "chunks"])
def test_a_bad_weight_stops_solve_with_one_line_naming_file_column_and_row(tmp_path, capsys, value, row, why, chunks):
    rows = [f"{x},{2 * x + 1},1" for x in range(1, 10)]
    rows[row - 1] = f"{row},{2 * row + 1},{value}"
    path = tmp_path / "d.csv"
    path.write_text("x,y,w\n" + "\n".join(rows) + "\n")
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--weights", "w", *chunks)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"linearnet solve: error: {path}: weights column 'w', row {row}: {float(value):g} is {why}; "
        f"weights must be finite numbers >= 0"
    ]


def test_a_missing_weight_is_refused_or_its_row_dropped(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("x,y,w\n1,3,1\n2,5,\n3,7.5,2\n4,9,1\n5,11.2,1\n")
    code, _, err = cli(capsys, "solve", path, "--target", "y", "--weights", "w")
    assert code == 2 and "column 'w', row 2 (line 3): missing value" in err
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--weights", "w", "--missing", "drop", "--json")
    assert code == 0, err
    assert json.loads(out)["n"] == 4 and "dropped 1 of 5 rows" in err
    path.write_text("x,y,w\n1,3,1\n2,5,1\n3,7.5,-2\n4,9,1\n5,11.2,1\n")
    _, _, err = cli(capsys, "solve", path, "--target", "y", "--weights", "w", "--missing", "drop", "--features", "x")
    assert "weights column 'w', row 3: -2 is negative" in err


@pytest.mark.parametrize("command", [["solve"], ["train", "--data"]])
def test_a_weight_column_the_file_has_not_is_refused_in_one_line(tmp_path, capsys, command):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,3\n2,5\n3,7.5\n")
    code, out, err = cli(capsys, *command, path, "--target", "y", "--weights", "w")
    assert (code, out) == (2, "")
    assert err == f"linearnet {command[0]}: error: {path}: has no column 'w'; its columns are: x, y\n"


def test_a_bad_weight_after_dropped_rows_is_named_by_its_row_in_the_file(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("x,y,w\n1,3,1\n2,,1\n3,7.5,1\n4,9,-1\n5,11.2,1\n")
    code, _, err = cli(capsys, "solve", path, "--target", "y", "--weights", "w", "--missing", "drop")
    assert code == 2 and "weights column 'w', row 4: -1 is negative" in err


def test_train_weights_reaches_the_weighted_optimum_and_compares_with_it(weighted, capsys):
    path, frame = weighted
    code, out, err = cli(capsys, "train", "--data", path, "--target", "y", "--weights", "w", "--json", "--seed", "1")
    assert code == 0, err
    got, ref = json.loads(out), wls(frame)
    np.testing.assert_allclose(got["w"], ref.params[["a", "b"]], atol=0.1)
    assert "each row's loss is multiplied by its weight" in err
    assert got["exact_loss"] == pytest.approx(0.5 * ref.ssr / len(frame), rel=1e-9)  # Σ w·½e² / n over every row


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stream"], "--weights trains on a file read whole, not on one read in chunks"),
        (["--model", "softmax"], "--weights trains linear regression; weight classes in Python"),
    ],
)
def test_train_weights_refuses_what_would_ignore_them(weighted, capsys, argv, message):
    path, _ = weighted
    code, _, err = cli(capsys, "train", "--data", path, "--target", "y", "--weights", "w", *argv)
    assert code == 2 and message in err


def test_weights_go_with_data(capsys):
    code, _, err = cli(capsys, "train", "--weights", "w")
    assert code == 2 and "--weights goes with --data FILE" in err


def test_train_weights_on_the_fast_engine(weighted, capsys):
    path, frame = weighted
    argv = ["train", "--data", path, "--target", "y", "--weights", "w", "--json", "--impl", "fast", "--seed", "1"]
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    np.testing.assert_allclose(json.loads(out)["w"], wls(frame).params[["a", "b"]], atol=0.1)

"""linearnet solve --se HC0..HC3 and --cluster COL: the library's robust errors, whole and in chunks."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from stores import make_stores

from linearnet.leastsq import solve

from helpers import EXAMPLES, HOUSES, cli

MTCARS = str(Path(__file__).parent / "data" / "mtcars.csv")


@pytest.fixture(scope="module")
def firms(tmp_path_factory):
    """A CSV of 500 rows in 25 firms (text), with noise that grows with |a| and a shock per firm."""
    folder = tmp_path_factory.mktemp("firms")
    rng = np.random.default_rng(3)
    n = 500
    frame = pd.DataFrame(rng.normal(size=(n, 2)), columns=["a", "b"])
    firm = rng.integers(0, 25, size=n)
    frame["firm"] = [f"firm {i:02d}" for i in firm]
    frame["y"] = 1 + 2 * frame.a - frame.b + (1 + frame.a.abs()) * rng.normal(size=n) + rng.normal(size=25)[firm]
    frame.to_csv(folder / "firms.csv", index=False)
    return folder / "firms.csv", frame


def solved(capsys, *argv) -> dict:
    code, out, err = cli(capsys, "solve", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def estimates(result: dict, key: str) -> np.ndarray:
    rows = ([result["intercept"]] if result["intercept"] else []) + list(result["coefficients"].values())
    return np.array([r[key] for r in rows])


@pytest.mark.parametrize("se", ["HC0", "HC1", "HC2", "HC3"])
def test_se_gives_statsmodels_heteroskedasticity_consistent_errors(capsys, se):
    result = solved(capsys, HOUSES, "--target", "price", "--se", se)
    d = pd.read_csv(HOUSES)
    ref = sm.OLS(d["price"], sm.add_constant(d[["area", "rooms", "age"]])).fit(cov_type=se, use_t=True)
    np.testing.assert_allclose(estimates(result, "stderr"), ref.bse, rtol=1e-10)
    np.testing.assert_allclose(estimates(result, "p"), ref.pvalues, rtol=1e-8, atol=1e-300)
    np.testing.assert_allclose(estimates(result, "ci_low"), ref.conf_int()[0], rtol=1e-10)
    assert result["se_type"] == se and "clusters" not in result
    assert result["f_statistic"]["value"] == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-10)


def test_the_table_says_which_errors_and_which_f_it_shows(capsys):
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "price", "--se", "HC3")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "heteroskedasticity-consistent standard errors HC3 (sandwich::vcovHC)"
    assert lines[-2].startswith("Wald F (HC3) ") and " on 3 and 196 df, p " in lines[-2]
    _, classical, _ = cli(capsys, "solve", HOUSES, "--target", "price", "--se", "classical")
    _, default, _ = cli(capsys, "solve", HOUSES, "--target", "price")
    assert classical == default and default.splitlines()[-2].startswith("F ")


def test_cluster_gives_vcovcl_errors_whole_in_chunks_and_by_formula(capsys, firms):
    path, frame = firms
    whole = solved(capsys, str(path), "--target", "y", "--cluster", "firm")
    X = sm.add_constant(frame[["a", "b"]])
    ref = sm.OLS(frame["y"], X).fit(cov_type="cluster", cov_kwds={"groups": frame["firm"].astype("category").cat.codes})
    np.testing.assert_allclose(estimates(whole, "stderr"), ref.bse, rtol=1e-10)
    assert whole["se_type"] == "cluster" and whole["clusters"] == 25
    assert not any("firm" in note for note in whole["notes"])  # carried, not left out as a text column
    chunked = solved(capsys, str(path), "--target", "y", "--cluster", "firm", "--chunk-rows", "60")
    np.testing.assert_allclose(estimates(chunked, "stderr"), estimates(whole, "stderr"), rtol=1e-10)
    assert chunked["f_statistic"]["value"] == pytest.approx(whole["f_statistic"]["value"], rel=1e-10)
    by_formula = solved(capsys, str(path), "--formula", "y ~ a + b", "--cluster", "firm", "--se", "HC1")
    np.testing.assert_allclose(estimates(by_formula, "stderr"), estimates(whole, "stderr"), rtol=1e-12)


def test_a_cluster_column_of_numbers_as_r_s_data_sets_have_them(capsys):
    result = solved(capsys, MTCARS, "--target", "mpg", "--features", "wt,hp", "--cluster", "cyl")
    d = pd.read_csv(MTCARS)
    want = solve(d[["wt", "hp"]], d["mpg"], cov_type="cluster", groups=d["cyl"])
    np.testing.assert_allclose(estimates(result, "stderr"), want.bse, rtol=1e-12)
    assert result["clusters"] == 3


def test_the_model_file_records_the_errors(capsys, firms, tmp_path):
    path, _ = firms
    out = tmp_path / "m.json"
    code, _, err = cli(capsys, "solve", str(path), "--target", "y", "--cluster", "firm", "--out", str(out))
    assert code == 0, err
    statistics = json.loads(out.read_text())["statistics"]
    assert statistics["se_type"] == "cluster" and statistics["clusters"] == 25


def test_rows_with_no_cluster_are_refused_or_dropped(capsys, firms, tmp_path):
    _, frame = firms
    gaps = frame.copy()
    gaps.loc[6, "firm"] = None
    gaps.to_csv(tmp_path / "gaps.csv", index=False)
    code, out, err = cli(capsys, "solve", str(tmp_path / "gaps.csv"), "--target", "y", "--cluster", "firm")
    assert code == 2 and out == "" and err.count("\n") == 1
    where = "column 'firm', row 7 (line 8): missing value"
    assert err.startswith(f"linearnet solve: error: {tmp_path / 'gaps.csv'}: {where}")
    dropped = solved(capsys, str(tmp_path / "gaps.csv"), "--target", "y", "--cluster", "firm", "--missing", "drop")
    assert dropped["n"] == 499


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--se", "HC4"], "argument --se: invalid choice: 'HC4' (choose from 'classical', 'HC0', 'HC1', 'HC2', 'HC3')"),
        (["--cluster", "city"], "{path}: has no column 'city'; its columns are: a, b, firm, y"),
        (["--cluster", "firm", "--se", "HC3"], "--cluster gives sandwich's vcovCL errors of type HC1; --se HC3 does"),
        (["--cluster", "one"], "{one}: cluster-robust standard errors need at least 2 clusters; the data have 1"),
    ],
    ids=["unknown-se", "no-column", "cluster-with-hc3", "one-cluster"],
)
def test_bad_robust_flags_are_one_line(capsys, firms, tmp_path, argv, message):
    path, frame = firms
    frame.assign(one="all").to_csv(tmp_path / "one.csv", index=False)
    data = tmp_path / "one.csv" if "one" in argv else path
    code, out, err = cli(capsys, "solve", str(data), "--target", "y", "--features", "a,b", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("linearnet solve: error: " + message.format(path=path, one=tmp_path / "one.csv"))


def test_the_readme_s_stores_are_made_by_their_generator_and_clustered_as_statsmodels_does(capsys):
    assert (EXAMPLES / "stores.csv").read_text() == make_stores()
    result = solved(capsys, str(EXAMPLES / "stores.csv"), "--target", "sales", "--cluster", "store")
    d = pd.read_csv(EXAMPLES / "stores.csv")
    groups = d["store"].astype("category").cat.codes
    ref = sm.OLS(d["sales"], sm.add_constant(d[["price_cut", "ads"]])).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    np.testing.assert_allclose(estimates(result, "stderr"), ref.bse, rtol=1e-10)
    assert result["clusters"] == 30

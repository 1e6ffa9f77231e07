"""Weighted fits against R's lm(weights=) on R's data sets (stored by tests/r/make_fixtures.R): coefficients,
standard errors, t, p, intervals, σ̂, R², F, the log-likelihood, AIC and BIC to 10 digits, rows of weight 0
among them; in memory, in chunks and from the command line alike."""

import json

import numpy as np
import pytest

from linearnet.leastsq import solve, solve_chunks
from linearnet.tables import table_chunks

from helpers import cli
from r_cases import cases, fixture, names, table

WEIGHTED = {"where": lambda c: c["weights"] is not None}
RTOL = 1e-10


def check(fit, case) -> None:
    """``fit`` (an OLSResult, or the JSON of ``solve --json`` as a result's ``to_dict``) is R's ``case``."""
    assert fit["n"] == case["n"] and fit["df_resid"] == case["df_resid"]
    rows = ([fit["intercept"]] if case["intercept"] else []) + [fit["coefficients"][f] for f in case["features"]]
    got = {key: [r[key] for r in rows] for key in ("estimate", "stderr", "t", "p", "ci_low", "ci_high")}
    np.testing.assert_allclose(got["estimate"], case["coefficients"]["values"], rtol=RTOL)
    for ours, r in (("stderr", "se"), ("t", "t"), ("p", "p"), ("ci_low", "ci_lower"), ("ci_high", "ci_upper")):
        np.testing.assert_allclose(got[ours], case[r]["classical"], rtol=RTOL, err_msg=ours)
    for ours, r in (("sigma", "sigma"), ("r2", "r2"), ("adj_r2", "adj_r2"), ("loglik", "loglik"), ("aic", "aic")):
        assert fit[ours] == pytest.approx(case[r], rel=RTOL), ours
    assert fit["bic"] == pytest.approx(case["bic"], rel=RTOL)
    assert fit["rss"] == pytest.approx(case["rss"], rel=RTOL)
    f, rf = fit["f_statistic"], case["fstatistic"]
    assert (f["df_model"], f["df_resid"]) == (rf["df_model"], rf["df_resid"])
    assert f["value"] == pytest.approx(rf["value"], rel=RTOL)
    assert f["p"] == pytest.approx(rf["p"], rel=RTOL)


@pytest.mark.parametrize("case", cases(**WEIGHTED), ids=names(**WEIGHTED))
def test_a_weighted_solve_is_r_s_lm_with_weights(case):
    t = table(case)
    w = t.carried[case["weights"]]
    fit = solve(t.features, t.target, fit_intercept=case["intercept"], feature_names=t.feature_names, weights=w)
    check(fit.to_dict(), case)
    assert fit.zero_weights == int((w == 0).sum()) == len(t.target) - case["n"]


@pytest.mark.parametrize("case", cases(**WEIGHTED), ids=names(**WEIGHTED))
def test_a_weighted_solve_in_chunks_is_the_one_in_memory(case):
    t = table(case)
    ref = solve(t.features, t.target, feature_names=t.feature_names, weights=t.carried[case["weights"]]).to_dict()
    chunks, features = table_chunks(
        fixture(case["data"]),
        target=case["target"],
        features=case["features"],
        chunk_rows=5,
        carry=[case["weights"]],
        carried_in_use=True,
    )
    fit = solve_chunks(chunks.carrying(), features, weights=case["weights"]).to_dict()
    check(fit, case)
    for key in ("sigma", "r2", "loglik", "aic", "bic"):
        assert fit[key] == pytest.approx(ref[key], rel=1e-10)


def test_solve_weights_from_the_command_line_is_r_s_fit_with_zero_weights(capsys):
    (case,) = cases(where={"name": "mtcars_weighted_zero"})
    argv = ["solve", fixture(case["data"]), "--target", "mpg", "--features", "wt,hp", "--weights", "w0", "--json"]
    code, out, err = cli(capsys, *argv)
    assert code == 0, err
    check(json.loads(out), case)
    assert case["n"] == 30 and "2 rows of weight 0 left out of n" in err


@pytest.mark.parametrize("case", cases(**WEIGHTED), ids=names(**WEIGHTED))
def test_linear_regression_sample_weight_is_r_s_fit(case):
    from linearnet.sklearn import LinearRegression

    t = table(case)
    model = LinearRegression().fit(t.features, t.target, sample_weight=t.carried[case["weights"]])
    np.testing.assert_allclose([model.intercept_, *model.coef_], case["coefficients"]["values"], rtol=RTOL)
    np.testing.assert_allclose(model.bse_, case["se"]["classical"], rtol=RTOL)
    assert (model.sigma_, model.rsquared_) == pytest.approx((case["sigma"], case["r2"]), rel=RTOL)


def robust_cases():
    return [(c, k) for c in cases(**WEIGHTED) for k in ("HC0", "HC1", "HC2", "HC3", *(["CL"] if c["cluster"] else []))]


@pytest.mark.parametrize("case, kind", robust_cases(), ids=[f"{c['name']}-{k}" for c, k in robust_cases()])
@pytest.mark.parametrize("chunked", [False, True], ids=["memory", "chunks"])
def test_robust_errors_of_a_weighted_fit_are_sandwich_s(case, kind, chunked):
    """sandwich's vcovHC and vcovCL of lm(weights=), and lmtest's Wald F with them, to 10 digits: they fall out of
    the transformed rows √w·[1, x], √w·y (rows of weight 0 left out, as R's refit without them)."""
    cov = dict(cov_type="cluster", groups=case["cluster"]) if kind == "CL" else dict(cov_type=kind)
    if chunked:
        carry = [c for c in (case["weights"], case["cluster"]) if c]
        chunks, features = table_chunks(
            fixture(case["data"]),
            target=case["target"],
            features=case["features"],
            chunk_rows=5,
            carry=carry,
            carried_in_use=True,
        )
        fit = solve_chunks(chunks.carrying(), features, weights=case["weights"], **cov)
    else:
        t = table(case)
        if kind == "CL":
            cov["groups"] = t.carried[case["cluster"]]
        fit = solve(t.features, t.target, feature_names=t.feature_names, weights=t.carried[case["weights"]], **cov)
    np.testing.assert_allclose(fit.bse, case["se"][kind], rtol=RTOL)
    np.testing.assert_allclose(fit.tvalues, case["t"][kind], rtol=RTOL)
    np.testing.assert_allclose(fit.pvalues, case["p"][kind], rtol=RTOL)
    np.testing.assert_allclose(fit.conf_int[:, 0], case["ci_lower"][kind], rtol=RTOL)
    np.testing.assert_allclose(fit.conf_int[:, 1], case["ci_upper"][kind], rtol=RTOL)
    wald = case["wald"][kind]
    assert (fit.fvalue, fit.f_pvalue) == pytest.approx((wald["F"], wald["p"]), rel=RTOL)
    assert fit.n == case["n"] and fit.se_type == ("cluster" if kind == "CL" else kind)


def test_solve_weights_with_robust_errors_from_the_command_line(capsys):
    (case,) = cases(where={"name": "mtcars_weighted_cyl"})
    argv = ["solve", fixture(case["data"]), "--target", "mpg", "--features", "wt,hp", "--weights", "w", "--json"]
    code, out, err = cli(capsys, *argv, "--cluster", "cyl")
    assert code == 0, err
    got = json.loads(out)
    assert [got["intercept"]["stderr"], *(got["coefficients"][f]["stderr"] for f in ("wt", "hp"))] == pytest.approx(
        case["se"]["CL"], rel=RTOL
    )
    assert got["f_statistic"]["value"] == pytest.approx(case["wald"]["CL"]["F"], rel=RTOL)
    assert (got["se_type"], got["weights"]) == ("cluster", "w")

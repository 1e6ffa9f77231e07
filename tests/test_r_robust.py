"""Robust standard errors against R's sandwich and lmtest, as stored in tests/fixtures/r/ (no R needed).

For each of R's data sets: ``vcovHC(fit, type = "HC0".."HC3")`` and, where the case has a cluster column,
``vcovCL(fit, cluster = ~col, type = "HC1")``; standard errors, t, p and 95% intervals as
``coeftest``/``coefci`` give them with that covariance, and ``waldtest(fit, fit0, vcov = V, test = "F")``
(absent where V is singular on the coefficients tested: R has no F there, nor has linearnet). To 10 digits.
"""

import json
import math

import numpy as np
import pytest

from linearnet.leastsq import solve, solve_chunks

from helpers import cli
from r_cases import cases, fixture, names, table

UNWEIGHTED = {"weights": None}  # weighted cases: where solve takes weights
TYPES = ["HC0", "HC1", "HC2", "HC3", "CL"]
RTOL = 1e-10


def robust(case: dict, kind: str, *, chunked: bool = False):
    t = table(case)
    options = dict(fit_intercept=case["intercept"], cov_type="cluster" if kind == "CL" else kind)
    if chunked:
        rows = 7  # chunks of 7 rows, the clusters carried with them
        X, y = t.features, t.target
        g = t.carried[case["cluster"]] if kind == "CL" else None

        def chunks():
            for i in range(0, len(X), rows):
                yield X[i : i + rows], y[i : i + rows]

        def clustered():
            for i in range(0, len(X), rows):
                yield X[i : i + rows], y[i : i + rows], g[i : i + rows]

        return solve_chunks(chunks, t.feature_names, groups=clustered if kind == "CL" else None, **options)
    groups = t.carried[case["cluster"]] if kind == "CL" else None
    return solve(t.features, t.target, feature_names=t.feature_names, groups=groups, **options)


def kinds_of(case: dict) -> list[str]:
    return TYPES if case["cluster"] else TYPES[:-1]


CASES = [(c, kind) for c in cases(where=UNWEIGHTED) for kind in kinds_of(c)]
IDS = [f"{c['name']}-{kind}" for c, kind in CASES]


@pytest.mark.parametrize("case, kind", CASES, ids=IDS)
def test_robust_errors_t_p_and_intervals_are_r_s(case, kind):
    fit = robust(case, kind)
    np.testing.assert_allclose(fit.params, case["coefficients"]["values"], rtol=RTOL)
    np.testing.assert_allclose(fit.bse, case["se"][kind], rtol=RTOL)
    np.testing.assert_allclose(fit.tvalues, case["t"][kind], rtol=RTOL)
    np.testing.assert_allclose(fit.pvalues, case["p"][kind], rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(fit.conf_int[:, 0], case["ci_lower"][kind], rtol=RTOL)
    np.testing.assert_allclose(fit.conf_int[:, 1], case["ci_upper"][kind], rtol=RTOL)
    assert fit.df_resid == case["df_resid"]


@pytest.mark.parametrize("case, kind", CASES, ids=IDS)
def test_the_robust_wald_test_is_lmtest_s(case, kind):
    fit = robust(case, kind)
    wald = case["wald"][kind]
    if wald is None:  # nothing to test (intercept only), or V singular on what is tested (few clusters)
        assert fit.df_model == 0 or (math.isnan(fit.fvalue) and fit.clusters is not None)
        return
    assert fit.fvalue == pytest.approx(wald["F"], rel=RTOL)
    assert fit.f_pvalue == pytest.approx(wald["p"], rel=RTOL, abs=1e-300)
    assert (fit.df_model, fit.df_resid) == (wald["df_model"], wald["df_resid"])


@pytest.mark.parametrize("name", names(where=lambda c: c["cluster"] and c["weights"] is None))
@pytest.mark.parametrize("kind", ["HC3", "CL"])
def test_in_chunks_too(name, kind):
    case = cases(where={"name": name})[0]
    fit = robust(case, kind, chunked=True)
    np.testing.assert_allclose(fit.bse, case["se"][kind], rtol=RTOL)


def test_solve_json_gives_sandwich_s_clustered_errors_for_petersen_s_firms(capsys):
    case = cases(where={"name": "PetersenCL"})[0]
    argv = ["solve", str(fixture(case["data"])), "--target", case["target"], "--features", ",".join(case["features"])]
    code, out, err = cli(capsys, *argv, "--cluster", case["cluster"], "--json")
    assert code == 0, err
    result = json.loads(out)
    rows = [result["intercept"], *result["coefficients"].values()]
    np.testing.assert_allclose([r["stderr"] for r in rows], case["se"]["CL"], rtol=RTOL)
    np.testing.assert_allclose([r["p"] for r in rows], case["p"]["CL"], rtol=RTOL)
    assert result["f_statistic"]["value"] == pytest.approx(case["wald"]["CL"]["F"], rel=RTOL)
    assert result["se_type"] == "cluster" and result["clusters"] == 500
    code, out, err = cli(capsys, *argv, "--se", "HC2", "--json", "--chunk-rows", "700")
    assert code == 0, err
    result = json.loads(out)
    rows = [result["intercept"], *result["coefficients"].values()]
    np.testing.assert_allclose([r["stderr"] for r in rows], case["se"]["HC2"], rtol=RTOL)

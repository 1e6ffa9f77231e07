"""Robust standard errors (HC0–HC3, cluster-robust) against statsmodels, and in chunks against in memory."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from test_leastsq import statsmodels_fit

from linearnet.leastsq import solve, solve_chunks

HC = ["HC0", "HC1", "HC2", "HC3"]


def heteroskedastic(n=300, p=3, seed=0, clusters=12):
    """Rows whose noise grows with |x1|, and the cluster of each (with a shock shared within a cluster)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + np.arange(p)
    g = rng.integers(0, clusters, size=n)
    shock = rng.normal(size=clusters)[g]
    y = X @ np.arange(1.0, p + 1) + 2.0 + (1 + np.abs(X[:, 0])) * rng.normal(size=n) + shock
    return X, y, g


def robust_reference(X, y, cov_type, fit_intercept=True, groups=None):
    """statsmodels' fit with the same covariance, t with the residual degrees of freedom (as coeftest)."""
    A = sm.add_constant(X, has_constant="add") if fit_intercept else X
    kwds = {"groups": groups} if cov_type == "cluster" else None
    return sm.OLS(y, A, hasconst=fit_intercept or None).fit(cov_type=cov_type, cov_kwds=kwds, use_t=True)


def assert_robust_matches(fit, ref, df_resid):
    """Standard errors, t, p, intervals and the Wald F of ``fit`` as ``ref`` (statsmodels) gives them; p
    and intervals on ``df_resid`` degrees of freedom (statsmodels' clusters use G − 1, lmtest n − k)."""
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-10)
    np.testing.assert_allclose(fit.tvalues, ref.params / ref.bse, rtol=1e-9)
    np.testing.assert_allclose(fit.pvalues, 2 * stats.t.sf(np.abs(ref.params / ref.bse), df_resid), rtol=1e-8)
    q = stats.t.ppf(0.975, df_resid)
    want = np.column_stack([ref.params - q * ref.bse, ref.params + q * ref.bse])
    np.testing.assert_allclose(fit.conf_int, want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.cov_params(), ref.cov_params(), rtol=1e-9, atol=1e-14)
    assert fit.fvalue == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-9)
    assert fit.f_pvalue == pytest.approx(stats.f.sf(fit.fvalue, fit.df_model, df_resid), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "origin"])
@pytest.mark.parametrize("cov_type", HC)
def test_heteroskedasticity_consistent_errors_are_statsmodels(cov_type, intercept):
    X, y, _ = heteroskedastic()
    fit = solve(X, y, cov_type=cov_type, fit_intercept=intercept)
    ref = robust_reference(X, y, cov_type, intercept)
    assert_robust_matches(fit, ref, fit.df_resid)
    np.testing.assert_allclose(fit.pvalues, ref.pvalues, rtol=1e-8)  # statsmodels' t has n − k df too
    classical = solve(X, y, fit_intercept=intercept)
    np.testing.assert_array_equal(fit.params, classical.params)  # the estimates are the same
    assert fit.se_type == cov_type and fit.clusters is None
    np.testing.assert_array_equal(fit.normalized_cov_params, classical.normalized_cov_params)
    for stat in ("sigma", "r2", "llf", "aic", "bic"):  # only the errors and the F change
        assert getattr(fit, stat) == getattr(classical, stat)


@pytest.mark.parametrize("intercept", [True, False], ids=["intercept", "origin"])
def test_cluster_robust_errors_are_statsmodels_with_lmtest_s_degrees_of_freedom(intercept):
    # statsmodels' correction G/(G − 1)·(n − 1)/(n − k) is sandwich::vcovCL's for type HC1 (cadjust = TRUE)
    X, y, g = heteroskedastic()
    fit = solve(X, y, cov_type="cluster", groups=g, fit_intercept=intercept)
    ref = robust_reference(X, y, "cluster", intercept, g)
    assert_robust_matches(fit, ref, fit.df_resid)
    assert fit.se_type == "cluster" and fit.clusters == 12


def test_the_cluster_formula_is_sandwich_s():
    """V = G/(G − 1)·(n − 1)/(n − k)·(XᵀX)⁻¹ Σ_g s_g s_gᵀ (XᵀX)⁻¹, written out."""
    X, y, g = heteroskedastic(n=80, clusters=5)
    A = np.column_stack([np.ones(len(X)), X])
    bread = np.linalg.inv(A.T @ A)
    e = y - A @ (bread @ A.T @ y)
    S = np.array([(A[g == c] * e[g == c, None]).sum(0) for c in np.unique(g)])
    n, k, G = len(X), A.shape[1], 5
    V = G / (G - 1) * (n - 1) / (n - k) * bread @ S.T @ S @ bread
    fit = solve(X, y, cov_type="cluster", groups=g)
    np.testing.assert_allclose(fit.cov_params(), V, rtol=1e-10)


def test_the_wald_test_is_beta_v_inverse_beta_over_q():
    X, y, _ = heteroskedastic()
    fit = solve(X, y, cov_type="HC3")
    b, V = fit.params[1:], fit.cov_params()[1:, 1:]
    assert fit.fvalue == pytest.approx(b @ np.linalg.solve(V, b) / 3, rel=1e-12)
    assert fit.df_model == 3 and fit.f_statistic()["df_resid"] == len(X) - 4  # as lmtest::waldtest(test = "F")


def test_clusters_may_be_text_and_come_from_a_dataframe_s_column():
    X, y, g = heteroskedastic()
    firms = pd.Series(np.array([f"firm {c}" for c in g], dtype=object), name="firm")
    by_text = solve(pd.DataFrame(X, columns=["a", "b", "c"]), y, cov_type="cluster", groups=firms)
    np.testing.assert_allclose(by_text.bse, solve(X, y, cov_type="cluster", groups=g).bse, rtol=1e-12)
    assert by_text.feature_names == ["a", "b", "c"]


def chunks_of(X, y, g=None, rows=37):
    def chunks():
        for i in range(0, len(X), rows):
            yield (
                (X[i : i + rows], y[i : i + rows]) if g is None else (X[i : i + rows], y[i : i + rows], g[i : i + rows])
            )

    return chunks


class CarryingChunks:
    """Chunks as the reader gives them with carried columns: ``carrying()`` passes over (X, y, carried)."""

    def __init__(self, X, y, carried, rows=41):
        self.X, self.y, self.carried, self.rows = X, y, carried, rows

    def __call__(self):
        for i in range(0, len(self.X), self.rows):
            yield self.X[i : i + self.rows], self.y[i : i + self.rows]

    def carrying(self):
        def passes():
            for i in range(0, len(self.X), self.rows):
                part = {name: v[i : i + self.rows] for name, v in self.carried.items()}
                yield self.X[i : i + self.rows], self.y[i : i + self.rows], part

        return passes


def designs():
    rng = np.random.default_rng(5)
    X, y, g = heteroskedastic(n=900, p=4, clusters=30)
    yield "well", X, y, g
    t = rng.uniform(1, 3, size=900)  # a polynomial: the accurate paths (QR in memory, TSQR in chunks)
    P = np.column_stack([t**j for j in range(1, 6)])
    yield "ill", P, np.sin(t) + 0.01 * rng.normal(size=900) * t, g
    yield "tiny", X * 1e-170, y, g  # squares that would underflow: solved in rescaled units


@pytest.mark.parametrize("name, X, y, g", list(designs()), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("cov_type", [*HC, "cluster"])
def test_chunks_give_the_errors_of_memory(name, X, y, g, cov_type):
    names = [f"x{j}" for j in range(X.shape[1])]
    groups = g if cov_type == "cluster" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory = solve(X, y, cov_type=cov_type, groups=groups)
        rows = chunks_of(X, y, g) if groups is not None else None
        chunked = solve_chunks(chunks_of(X, y), names, cov_type=cov_type, groups=rows)
    np.testing.assert_allclose(chunked.params, memory.params, rtol=1e-10)
    np.testing.assert_allclose(chunked.bse, memory.bse, rtol=1e-10)
    np.testing.assert_allclose(chunked.pvalues, memory.pvalues, rtol=1e-9, atol=1e-300)
    assert chunked.fvalue == pytest.approx(memory.fvalue, rel=1e-10)
    assert chunked.se_type == memory.se_type == cov_type
    if name == "well":  # and both as statsmodels computes them
        ref = robust_reference(X, y, cov_type, groups=groups)
        np.testing.assert_allclose(memory.bse, ref.bse, rtol=1e-10)
    if name == "tiny":  # in rescaled units, the errors of the data as given
        ref = robust_reference(X * 1e170, y, cov_type, groups=groups)
        np.testing.assert_allclose(memory.bse[1:], ref.bse[1:] * 1e170, rtol=1e-9)
        assert memory.fvalue == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-9)


def test_a_carried_column_names_the_clusters_of_chunks():
    X, y, g = heteroskedastic()
    firms = np.array([f"f{c}" for c in g], dtype=object)
    chunks = CarryingChunks(X, y, {"firm": firms, "year": np.arange(len(X), dtype=np.float64)})
    fit = solve_chunks(chunks, ["a", "b", "c"], cov_type="cluster", groups="firm")
    np.testing.assert_allclose(fit.bse, solve(X, y, cov_type="cluster", groups=g).bse, rtol=1e-10)
    # the same, through a call over (X, y, clusters) as the docstring writes it
    rows = chunks.carrying()
    again = solve_chunks(
        chunks, ["a", "b", "c"], cov_type="cluster", groups=lambda: ((X, y, c["firm"]) for X, y, c in rows())
    )
    np.testing.assert_array_equal(again.bse, fit.bse)
    with pytest.raises(ValueError, match="the chunks carry no column 'city' \\(they carry firm, year\\)"):
        solve_chunks(chunks, ["a", "b", "c"], cov_type="cluster", groups="city")
    with pytest.raises(ValueError, match="names a carried column, but these chunks carry none"):
        solve_chunks(chunks_of(X, y), ["a", "b", "c"], cov_type="cluster", groups="firm")


def test_the_result_says_which_errors_it_shows():
    X, y, g = heteroskedastic()
    hc3 = solve(X, y, cov_type="HC3")
    text = hc3.summary().splitlines()
    assert text[0] == "heteroskedasticity-consistent standard errors HC3 (sandwich::vcovHC)"
    assert text[-2].startswith("Wald F (HC3) ") and text[-2].endswith(f"on 3 and {len(X) - 4} df, p {hc3.f_pvalue:.4g}")
    assert hc3.to_dict()["se_type"] == "HC3" and "clusters" not in hc3.to_dict()
    assert hc3.to_dict()["f_statistic"]["value"] == hc3.fvalue
    clustered = solve(X, y, cov_type="cluster", groups=g)
    assert clustered.summary().splitlines()[0] == (
        "cluster-robust standard errors, 12 clusters (sandwich::vcovCL, type HC1)"
    )
    assert clustered.to_dict()["se_type"] == "cluster" and clustered.to_dict()["clusters"] == 12
    classical = solve(X, y)
    assert classical.summary().splitlines()[0].split() == ["coef", "std", "err", "t", "P>|t|", "[0.025", "0.975]"]
    assert classical.to_dict()["se_type"] == "classical"
    # cov_params() is the covariance in use; normalized_cov_params the classical (AᵀA)⁻¹
    np.testing.assert_allclose(hc3.cov_params(), robust_reference(X, y, "HC3").cov_params(), rtol=1e-10)
    np.testing.assert_allclose(classical.cov_params(), hc3.sigma**2 * hc3.normalized_cov_params, rtol=1e-15)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cov_type": "HC4"}, "cov_type must be one of classical, HC0, HC1, HC2, HC3, cluster; got 'HC4'"),
        ({"cov_type": "cluster"}, "cov_type='cluster' needs groups: the cluster of each row"),
        ({"cov_type": "HC1", "groups": np.zeros(300)}, "groups are the clusters of cov_type='cluster'; got them with"),
        ({"cov_type": "cluster", "groups": np.zeros(299)}, r"groups must hold one cluster per row: shape \(300,\)"),
        ({"cov_type": "cluster", "groups": np.zeros(300)}, "need at least 2 clusters; the data have 1"),
        ({"cov_type": "cluster", "groups": np.r_[np.zeros(10), np.nan, np.ones(289)]}, "the cluster of row 11 is"),
        ({"cov_type": "cluster", "groups": np.array(["a"] * 4 + [None] + ["b"] * 295)}, "the cluster of row 5 is"),
        ({"cov_type": "cluster", "groups": np.array(["a"] * 7 + [""] + ["b"] * 292)}, "the cluster of row 8 is"),
    ],
    ids=["unknown", "no-groups", "groups-without-cluster", "short", "one-cluster", "nan", "none", "empty"],
)
def test_bad_robust_settings_are_refused(kwargs, message):
    X, y, _ = heteroskedastic()
    with pytest.raises(ValueError, match=message):
        solve(X, y, **kwargs)


def test_clusters_of_chunks_are_checked():
    X, y, g = heteroskedastic()
    gaps = g.astype(np.float64)
    gaps[100] = np.nan
    with pytest.raises(ValueError, match="the cluster of row 101 is missing"):
        solve_chunks(chunks_of(X, y), ["a", "b", "c"], cov_type="cluster", groups=chunks_of(X, y, gaps))
    with pytest.raises(ValueError, match="the rows given with their clusters number 296, the data 300"):
        solve_chunks(chunks_of(X, y), ["a", "b", "c"], cov_type="cluster", groups=chunks_of(X[:296], y, g))
    with pytest.raises(TypeError, match="groups must name a carried column or be a call"):
        solve_chunks(chunks_of(X, y), ["a", "b", "c"], cov_type="cluster", groups=g)


def test_robust_errors_of_a_rank_deficient_design_are_refused():
    X, y, _ = heteroskedastic()
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    with pytest.raises(ValueError, match=r"HC3 standard errors need columns that are not linearly dependent \(the "):
        solve(X, y, cov_type="HC3", allow_rank_deficient=True)


def test_a_row_of_leverage_one_gives_nan_under_hc2_and_hc3_as_in_r():
    # a dummy column for one row: that row is fitted exactly (h = 1, e = 0), and 0/0 is NaN in R too
    X, y, _ = heteroskedastic(n=50)
    X = np.column_stack([X, np.eye(50)[7]])
    assert np.isfinite(solve(X, y, cov_type="HC1").bse).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = solve(X, y, cov_type="HC3")
    assert math.isnan(fit.bse[1]) or fit.bse[1] > 0  # NaN where R gives NaN; not a division warning


def test_classical_fits_are_unchanged_by_the_default():
    X, y, _ = heteroskedastic()
    fit = solve(X, y, cov_type="classical")
    ref = statsmodels_fit(X, y)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-10)
    assert fit.se_type == "classical" and fit.robust_cov is None


def test_with_fewer_clusters_than_coefficients_tested_the_wald_test_is_not_defined():
    # the clusters' scores sum to 0: V has rank G − 1 = 2 < 3 coefficients (R's waldtest stops: singular)
    X, y, g = heteroskedastic(clusters=3)
    fit = solve(X, y, cov_type="cluster", groups=g)
    assert np.isfinite(fit.bse).all() and math.isnan(fit.fvalue) and math.isnan(fit.f_pvalue)
    assert fit.summary().splitlines()[-2] == (
        "Wald F (cluster-robust): not defined, 3 clusters give a covariance of rank 2 for 3 coefficients tested"
    )
    assert fit.to_dict()["f_statistic"]["value"] == "NaN"
    assert np.isfinite(solve(X[:, :2], y, cov_type="cluster", groups=g).fvalue)  # 2 tested: defined

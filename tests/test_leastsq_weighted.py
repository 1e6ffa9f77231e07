"""Weighted least squares (linearnet.leastsq.weighted) against statsmodels' WLS and R's lm(weights=):
zero weights left out of n as R does, integer weights as repeated rows, chunks as in memory, bad weights
refused by their row."""

import warnings

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from linearnet.leastsq import solve, solve_chunks


def data(n=60, p=3, seed=0, zero=(3, 7)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 1
    y = X @ np.arange(1.0, p + 1) + 0.5 + rng.normal(size=n) * rng.uniform(0.5, 2, size=n)
    w = rng.uniform(0.1, 3, size=n)
    w[list(zero)] = 0
    return X, y, w


def chunked(X, y, w, rows=7):
    def chunks():
        for i in range(0, len(y), rows):
            yield X[i : i + rows], y[i : i + rows], {"w": w[i : i + rows]}

    return chunks


@pytest.mark.parametrize("intercept", [True, False])
def test_a_weighted_fit_is_statsmodels_wls_of_the_rows_of_positive_weight(intercept):
    X, y, w = data()
    fit = solve(X, y, weights=w, fit_intercept=intercept)
    keep = w > 0
    A = sm.add_constant(X[keep]) if intercept else X[keep]
    ref = sm.WLS(y[keep], A, weights=w[keep]).fit()
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-12)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-12)
    np.testing.assert_allclose(fit.pvalues, ref.pvalues, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(fit.conf_int, ref.conf_int(), rtol=1e-12)
    assert fit.sigma == pytest.approx(np.sqrt(ref.scale), rel=1e-12)
    assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-12)
    assert fit.adj_r2 == pytest.approx(ref.rsquared_adj, rel=1e-12)
    assert fit.fvalue == pytest.approx(ref.fvalue, rel=1e-12)
    assert fit.f_pvalue == pytest.approx(ref.f_pvalue, rel=1e-9)
    assert fit.llf == pytest.approx(ref.llf, rel=1e-12)  # Σ log(w)/2 added, as statsmodels and R do
    assert fit.aic == pytest.approx(ref.aic + 2, rel=1e-12)  # σ counted, as R does
    assert fit.bic == pytest.approx(ref.bic + np.log(ref.nobs), rel=1e-12)
    assert (fit.n, fit.df_resid, fit.zero_weights) == (58, 58 - len(fit.params), 2)  # R's n: w > 0
    assert fit.fit_intercept is intercept and fit.weights == "weights"
    assert fit.names == (["intercept"] if intercept else []) + ["x1", "x2", "x3"]
    assert fit.coef.shape == (3,)


def test_weights_of_one_give_the_unweighted_fit():
    X, y, _ = data()
    plain, weighted = solve(X, y), solve(X, y, weights=np.ones(len(y)))
    for stat in ("params", "bse"):
        np.testing.assert_allclose(getattr(weighted, stat), getattr(plain, stat), rtol=1e-13)
    for stat in ("sigma", "r2", "fvalue", "llf", "aic", "bic"):
        assert getattr(weighted, stat) == pytest.approx(getattr(plain, stat), rel=1e-12), stat


@pytest.mark.parametrize("intercept", [True, False])
def test_weighted_chunks_give_the_in_memory_fit(intercept):
    X, y, w = data(n=300)
    ref = solve(X, y, weights=w, fit_intercept=intercept)
    fit = solve_chunks(chunked(X, y, w), ["x1", "x2", "x3"], weights="w", fit_intercept=intercept)
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-10)
    for stat in ("sigma", "r2", "adj_r2", "fvalue", "llf", "aic", "bic"):
        assert getattr(fit, stat) == pytest.approx(getattr(ref, stat), rel=1e-10), stat
    assert (fit.n, fit.zero_weights, fit.weights) == (ref.n, 2, "w")


def test_chunks_may_yield_the_weights_as_an_array_but_must_yield_them():
    X, y, w = data()

    def chunks():
        yield X, y, w

    np.testing.assert_allclose(solve_chunks(chunks, ["a", "b", "c"], weights="w").params, solve(X, y, weights=w).params)
    with pytest.raises(ValueError, match=r"weighted chunks are \(X, y, carried\) or \(X, y, w\), got 2 items"):
        solve_chunks(lambda: iter([(X, y)]), ["a", "b", "c"], weights="w")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=12, max_size=12), st.integers(0, 2**16))
def test_integer_weights_are_repeated_rows(counts, seed):
    assume(sum(c > 0 for c in counts) >= 5)
    X, y, _ = data(n=12, p=2, seed=seed, zero=())
    w = np.array(counts, dtype=float)
    fit = solve(X, y, weights=w)
    rows = np.repeat(np.arange(12), counts)
    ref = solve(X[rows], y[rows])
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-9, atol=1e-12)
    # the same fit, but R counts the distinct rows of positive weight, not the repeats: n, df and σ̂ differ
    assert fit.n == sum(c > 0 for c in counts)
    assert fit.ssr == pytest.approx(ref.ssr, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize(
    "bad, row, why",
    [(-1.0, 5, "negative"), (np.nan, 2, "missing"), (np.inf, 9, "not finite")],
)
def test_a_bad_weight_is_refused_by_its_row(bad, row, why):
    X, y, w = data()
    w[row - 1] = bad
    with pytest.raises(ValueError, match=rf"weights, row {row}: .* is {why}; weights must be finite numbers >= 0"):
        solve(X, y, weights=w)
    with pytest.raises(ValueError, match=rf"weights column 'w', row {row}: .* is {why}; weights must be"):
        solve_chunks(chunked(X, y, w, rows=3), ["a", "b", "c"], weights="w")


def test_weights_of_the_wrong_length_or_all_zero_are_refused():
    X, y, w = data()
    with pytest.raises(ValueError, match=r"weights must have shape \(60,\)"):
        solve(X, y, weights=w[:-1])
    with pytest.raises(ValueError, match="every one of the 60 weights is 0"):
        solve(X, y, weights=np.zeros(60))
    with pytest.raises(ValueError, match=r"2 rows of weight 0 left out"):
        solve(X[:5], y[:5], weights=[1, 1, 0, 1, 0])


def test_weights_as_a_column_vector_are_taken_and_text_or_nonfinite_data_are_refused():
    X, y, w = data()
    assert np.array_equal(solve(X, y, weights=w[:, None]).params, solve(X, y, weights=w).params)
    with pytest.raises(TypeError, match="weights must hold numbers, got dtype <U3"):
        solve(X, y, weights=np.array(["one"] * 60))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="X must be finite; row 4, column b is nan"):
        solve(X, y, weights=w, feature_names=["a", "b", "c"])


def test_weighted_chunks_name_their_clusters_by_a_carried_column():
    X, y, w = data()
    with pytest.raises(TypeError, match="with weights, groups must name a carried column; got ndarray"):
        solve_chunks(chunked(X, y, w, rows=7), ["a", "b", "c"], weights="w", cov_type="cluster", groups=np.ones(60))
    with pytest.raises(ValueError, match=r"the chunks carry no column 'g' \(they carry w\)"):
        solve_chunks(chunked(X, y, w, rows=7), ["a", "b", "c"], weights="w", cov_type="cluster", groups="g")


def test_a_feature_named_intercept_keeps_its_name_beside_the_weighted_constant():
    X, y, w = data()
    fit = solve(X, y, weights=w, feature_names=["intercept", "b", "c"])
    assert fit.names == ["(intercept)", "intercept", "b", "c"]
    assert list(fit.to_dict()["coefficients"]) == ["intercept", "b", "c"]


def test_a_rank_deficient_weighted_design_takes_the_minimum_norm_solution():
    X, y, w = data()
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = solve(X, y, weights=w, allow_rank_deficient=True)
    keep = w > 0
    ref = np.linalg.pinv(np.sqrt(w[keep])[:, None] * sm.add_constant(X[keep])) @ (np.sqrt(w[keep]) * y[keep])
    np.testing.assert_allclose(fit.params, ref, rtol=1e-8)
    assert fit.rank == 4 and fit.df_resid == 58 - 4


@pytest.mark.parametrize("unit", [1e-170, 1.0])
def test_a_target_in_tiny_units_keeps_r2_f_and_the_log_likelihood(unit):
    X, y, w = data()
    ref, fit = solve(X, y, weights=w), solve(X, y * unit, weights=w)
    for stat in ("r2", "adj_r2", "fvalue"):
        assert getattr(fit, stat) == pytest.approx(getattr(ref, stat), rel=1e-12), stat
    assert fit.llf == pytest.approx(ref.llf - fit.n * np.log(unit), rel=1e-12)  # −n·log(unit) more
    chunks = solve_chunks(chunked(X, y * unit, w), ["a", "b", "c"], weights="w")
    assert (chunks.r2, chunks.llf) == pytest.approx((fit.r2, fit.llf), rel=1e-10)


def test_totals_in_different_units_merge_as_one():
    from linearnet.leastsq.weighted import Totals

    _, y, w = data()
    y = y * 1e-170
    y[30:] *= 1e6  # the second part's first rows are a million times larger: another exponent
    keep = w > 0
    whole, first, second = Totals(), Totals(), Totals()
    whole.add(y[keep], w[keep])
    first.add(y[:30][keep[:30]], w[:30][keep[:30]])
    second.add(y[30:][keep[30:]], w[30:][keep[30:]])
    assert first.exponent != second.exponent
    merged = first.merged(second)
    for key in ("mean", "m2", "wyy"):
        power = 1 if key == "mean" else 2
        got = np.ldexp(getattr(merged, key), -power * merged.exponent)
        assert got == pytest.approx(np.ldexp(getattr(whole, key), -power * whole.exponent), rel=1e-12), key
    assert Totals().merged(first) == first

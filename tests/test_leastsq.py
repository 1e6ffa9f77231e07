"""solve() against statsmodels, exact rational arithmetic, and itself in chunks."""

import re
import warnings

import numpy as np
import pytest
import statsmodels.api as sm
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

import linearnet.leastsq as solve_module
import linearnet.leastsq.solver as solver_module
from linearnet import synthetic_data
from linearnet.leastsq import IllConditionedWarning, RankDeficientWarning, solve, solve_chunks

from exact import exact_ols


def statsmodels_fit(X, y, fit_intercept=True):
    if fit_intercept:
        return sm.OLS(y, sm.add_constant(X, has_constant="add")).fit()
    return sm.OLS(y, X, hasconst=False).fit()  # R's convention: no intercept term, R² uncentred


def assert_matches_statsmodels(fit, ref):
    np.testing.assert_allclose(fit.params, ref.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-9)
    np.testing.assert_allclose(fit.tvalues, ref.tvalues, rtol=1e-8)
    np.testing.assert_allclose(fit.pvalues, ref.pvalues, rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(fit.conf_int, ref.conf_int(), rtol=1e-9, atol=1e-12)
    assert fit.sigma == pytest.approx(np.sqrt(ref.scale), rel=1e-10)
    assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-10)
    assert fit.adj_r2 == pytest.approx(ref.rsquared_adj, rel=1e-10)
    assert fit.condition_number == pytest.approx(ref.condition_number, rel=1e-6)
    assert fit.n == ref.nobs and fit.df_resid == ref.df_resid
    # R's summary.lm F, logLik, AIC and BIC: statsmodels' F and log-likelihood are the same numbers; its
    # AIC and BIC leave σ out of the parameters counted, R's count it (2 and log(n) more)
    assert fit.df_model == ref.df_model and fit.fvalue == pytest.approx(ref.fvalue, rel=1e-9)
    assert fit.f_pvalue == pytest.approx(ref.f_pvalue, rel=1e-6, abs=1e-300)
    assert fit.llf == pytest.approx(ref.llf, rel=1e-12, abs=1e-9)
    assert fit.aic == pytest.approx(ref.aic + 2, rel=1e-12, abs=1e-9)
    assert fit.bic == pytest.approx(ref.bic + np.log(ref.nobs), rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(
        fit.cov_params(), ref.cov_params(), rtol=1e-8, atol=1e-14 * np.abs(ref.cov_params()).max()
    )


@settings(max_examples=25, deadline=None, derandomize=True)  # the same examples on every machine
@given(
    n=st.integers(8, 200),
    p=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    intercept=st.booleans(),
    scale=st.sampled_from([1e-3, 1.0, 1e4]),
)
@example(n=82, p=2, seed=82, intercept=False, scale=1e-3)  # an interval end near 0
@example(n=8, p=5, seed=9999, intercept=True, scale=1e-3)  # statsmodels' coefficients off by 1.5e-9
@example(n=8, p=6, seed=1, intercept=False, scale=1e-3)  # a near-constant tie for R²
def test_matches_statsmodels(n, p, seed, intercept, scale):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * scale + rng.uniform(-3, 3, p)
    y = X @ rng.standard_normal(p) + 2.0 + rng.standard_normal(n)
    fit = solve(X, y, fit_intercept=intercept)
    ref = statsmodels_fit(X, y, intercept)
    # columns that are constants plus 1e-3 noise are ill-conditioned on purpose: there statsmodels' own
    # coefficients can be off by 1e-9, so the coefficients and standard errors are held to exact arithmetic
    beta, se = exact_ols(X, y, fit_intercept=intercept)
    np.testing.assert_allclose(fit.params, beta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fit.bse, se, rtol=1e-9)
    np.testing.assert_allclose(fit.tvalues, ref.tvalues, rtol=1e-7)
    np.testing.assert_allclose(fit.conf_int, ref.conf_int(), rtol=1e-9, atol=1e-9 * np.abs(ref.conf_int()).max())
    assert fit.sigma == pytest.approx(np.sqrt(ref.scale), rel=1e-10)
    if intercept or scale >= 1:  # without an intercept, near-constant columns are a tie statsmodels breaks its way
        assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-10)
    assert fit.condition_number == pytest.approx(ref.condition_number, rel=1e-6)
    assert fit.n == ref.nobs and fit.rank == p + intercept


def polynomial(degree, x=None):
    """Columns x, x², ..., x^degree over x (default 0, 1, ..., 20)."""
    x = np.arange(21.0) if x is None else x
    return np.vander(x, degree + 1, increasing=True)[:, 1:]


def correct_digits(estimate, exact):
    return float(np.min(-np.log10(np.abs(np.asarray(estimate) - exact) / np.abs(exact) + 1e-17)))


@pytest.mark.parametrize("degree, digits", [(5, 10), (10, 7)])
def test_ill_conditioned_polynomials_against_exact_arithmetic(degree, digits):
    X = polynomial(degree)
    y = 10 * np.cos(np.arange(21.0)) + np.arange(21.0)
    beta, se = exact_ols(X, y)
    fit = solve(X, y)
    assert fit.condition_number > (1e6 if degree == 5 else 1e13)
    assert correct_digits(fit.params, beta) >= digits
    assert correct_digits(fit.bse, se) >= digits
    if degree == 10:  # what the usual tools return here
        lstsq = np.linalg.lstsq(np.column_stack([np.ones(21), X]), y, rcond=None)[0]
        assert correct_digits(lstsq, beta) < digits


def test_wampler1_is_recovered_exactly():
    """NIST StRD Wampler1: y = 1 + x + x² + x³ + x⁴ + x⁵ on x = 0..20, certified coefficients all 1."""
    X = polynomial(5)
    y = 1 + X.sum(axis=1)
    fit = solve(X, y)
    np.testing.assert_allclose(fit.params, np.ones(6), rtol=1e-10)
    assert fit.sigma < 1e-6


def test_longley_against_exact_arithmetic():
    """The Longley data (statsmodels ships them): the classic ill-conditioned economic series."""
    data = sm.datasets.longley.load_pandas()
    X, y = data.exog.to_numpy(float), data.endog.to_numpy(float)
    beta, se = exact_ols(X, y)
    fit = solve(data.exog, data.endog)
    assert fit.names == ["intercept", "GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]
    assert fit.condition_number > 1e9
    assert correct_digits(fit.params, beta) >= 10
    assert correct_digits(fit.bse, se) >= 10


def test_fast_and_accurate_paths_agree(monkeypatch):
    X = polynomial(3)
    y = np.sin(np.arange(21.0))
    fast = solve(X, y)
    monkeypatch.setattr(solver_module, "FAST_PATH_MAX_COND", 0.0)
    accurate = solve(X, y)
    assert (fast.method, accurate.method) == ("cholesky", "qr")
    np.testing.assert_allclose(fast.params, accurate.params, rtol=1e-10)
    np.testing.assert_allclose(fast.bse, accurate.bse, rtol=1e-10)


@pytest.mark.parametrize("make", ["random", "polynomial"])
def test_chunks_equal_the_in_memory_solve(make):
    rng = np.random.default_rng(1)
    if make == "random":
        X = rng.standard_normal((3001, 5)) * [1, 10, 100, 1e3, 1e4]
    else:
        x = rng.uniform(0, 20, 3001)
        X = np.column_stack([x**k for k in range(1, 7)])
    y = X @ rng.standard_normal(X.shape[1]) + rng.standard_normal(len(X))

    def chunks():
        for i in range(0, len(X), 250):
            yield X[i : i + 250], y[i : i + 250]

    whole = solve(X, y)
    parts = solve_chunks(chunks, [f"x{j + 1}" for j in range(X.shape[1])])
    assert parts.method == ("cholesky" if make == "random" else "tsqr")
    size = np.abs(whole.params).max()  # relative to the coefficient vector: a tiny intercept is noise
    np.testing.assert_allclose(parts.params, whole.params, rtol=1e-10, atol=1e-10 * size)
    np.testing.assert_allclose(parts.bse, whole.bse, rtol=1e-10)
    assert parts.r2 == pytest.approx(whole.r2, rel=1e-12) and parts.sigma == pytest.approx(whole.sigma, rel=1e-10)
    for stat in ("fvalue", "llf", "aic", "bic", "ssr"):
        assert getattr(parts, stat) == pytest.approx(getattr(whole, stat), rel=1e-10), stat


def test_the_gram_pass_over_narrow_chunks_of_many_rows_runs_blas_on_one_thread():
    """OpenBLAS's threads on a 50,000 x 6 product wait on each other for 7x the work when the cores are busy."""
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    before = blas_threads()
    rng = np.random.default_rng(2)
    X = rng.standard_normal((40_000, 5))
    y = X @ np.arange(1.0, 6.0) + 1.0 + rng.standard_normal(len(X))
    seen = []

    def chunks():
        for i in range(0, len(X), 20_000):
            yield X[i : i + 20_000], y[i : i + 20_000]
            seen.append(blas_threads())

    result = solve_chunks(chunks, [f"x{j}" for j in range(5)])
    assert seen[0] == {1}  # the Gram pass
    assert blas_threads() == before  # and as it was after
    np.testing.assert_allclose(result.params, solve(X, y).params, rtol=1e-12)


def test_dependent_columns_are_named():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    X = np.column_stack([X, X[:, 0] - 2 * X[:, 2]])
    with pytest.raises(ValueError) as info:
        solve(X, X[:, 1], feature_names=["a", "b", "c", "d"])
    assert str(info.value) == (
        "the columns a, c, d are linearly dependent (rank 4 of 5 parameters): drop one of them, or allow a "
        "rank-deficient design (--allow-rank-deficient) for the minimum-norm solution"
    )


@pytest.mark.filterwarnings("ignore:The design matrix is rank-deficient")  # statsmodels' own, for the reference
def test_rank_deficient_gives_the_minimum_norm_solution_with_a_warning():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    y = X[:, 0] + rng.standard_normal(50)
    with pytest.warns(RankDeficientWarning, match="rank 3 of 4 parameters"):
        fit = solve(X, y, allow_rank_deficient=True)
    A = np.column_stack([np.ones(50), X])
    np.testing.assert_allclose(fit.params, np.linalg.pinv(A) @ y, rtol=1e-9)
    ref = statsmodels_fit(X, y)
    np.testing.assert_allclose(fit.bse, ref.bse, rtol=1e-8)
    assert fit.rank == 3 and fit.df_resid == 47


def test_fewer_rows_than_parameters():
    X, y = np.ones((3, 4)), np.ones(3)
    with pytest.raises(
        ValueError,
        match=r"^the data have 3 rows but the model has 5 parameters "
        r"\(4 features \+ intercept\); need at least 5 rows",
    ):
        solve(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficientWarning)
        assert solve(np.eye(3)[:2], [1.0, 2.0], allow_rank_deficient=True).rank == 2


def test_too_few_rows_are_refused_before_the_gram_matrix_is_made():
    # 60,001 parameters: a Gram matrix of 26.8 GiB, for 3 rows that cannot determine them
    with pytest.raises(ValueError) as info:
        solve(np.ones((3, 60_000)), np.ones(3))
    assert str(info.value) == (
        "the data have 3 rows but the model has 60,001 parameters (60,000 features + intercept); need at least "
        "60,001 rows, or allow a rank-deficient design (--allow-rank-deficient) for the minimum-norm solution"
    )


def test_a_solve_whose_matrices_cannot_fit_is_refused_before_they_are_made(monkeypatch):
    import linearnet.memory

    monkeypatch.setattr(linearnet.memory, "available_bytes", lambda: 1 << 20)
    message = (
        "1,001 parameters need about 38.2 MiB for the solve's 1,001 × 1,001 matrices (the Gram matrix and its "
        "working copies) and 1.0 MiB is available; use fewer features"
    )
    X, y = np.ones((3, 1000)), np.ones(3)
    with pytest.raises(ValueError) as info:
        solve(X, y, allow_rank_deficient=True)
    assert str(info.value) == message
    with pytest.raises(ValueError) as info:
        solve_chunks(lambda: iter([(X, y)]), [f"x{j}" for j in range(1000)], allow_rank_deficient=True)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "X, y, message",
    [
        (
            np.ones(5),
            np.ones(5),
            "X must be 2-D (n_examples, n_features), got shape (5,); use X.reshape(-1, 1) for one feature",
        ),
        (np.ones((5, 2)), np.ones(4), "X and y must have the same number of rows, got 5 and 4"),
        (np.ones((5, 2)), np.ones((5, 2)), "y must have shape (n,) or (n, 1), got (5, 2)"),
        (np.array([[1.0, np.inf], [2, 3], [4, 5], [6, 7]]), np.ones(4), "X must be finite; row 1, column x2 is inf"),
        (np.arange(8.0).reshape(4, 2), np.array([1, 2, np.nan, 4]), "y must be finite; row 3 is nan"),
    ],
)
def test_bad_input_messages(X, y, message):
    with pytest.raises(ValueError) as info:
        solve(X, y)
    assert str(info.value) == message


def test_accepts_tensors_and_names():
    g = torch.Generator().manual_seed(0)
    X, y = synthetic_data([2, -3.4], 4.2, 1000, generator=g)
    fit = solve(X, y, feature_names=["a", "b"])
    assert fit.names == ["intercept", "a", "b"]
    np.testing.assert_allclose(fit.coef, [2, -3.4], atol=2e-3)
    assert fit.intercept == pytest.approx(4.2, abs=2e-3)
    np.testing.assert_allclose(fit.predict(X.numpy()), X.numpy().astype(float) @ fit.coef + fit.intercept)


def test_without_an_intercept_r2_is_uncentred_as_in_r_even_when_the_columns_hold_a_constant():
    # R's summary.lm centres R² only when the model has an intercept term; statsmodels also when the
    # columns can form a constant, unless told hasconst=False (which is R's rule)
    X = np.array([[1, 1], [2, 1], [3, 1], [4, 1.0]])
    y = np.array([2, 3, 5, 4.0])
    fit, ref = solve(X, y, fit_intercept=False), sm.OLS(y, X, hasconst=False).fit()
    assert not fit.centered and fit.r2 == pytest.approx(1 - fit.ssr / (y @ y), rel=1e-14)
    assert fit.r2 == pytest.approx(ref.rsquared, rel=1e-12) and fit.adj_r2 == pytest.approx(ref.rsquared_adj, rel=1e-12)
    assert fit.fvalue == pytest.approx(ref.fvalue, rel=1e-12) and fit.df_model == 2
    assert sm.OLS(y, X).fit().rsquared != pytest.approx(fit.r2)  # statsmodels' own default differs


@pytest.mark.parametrize(
    "X, y, kwargs, error, message",
    [
        (
            np.array([["1", "2"], ["3", "4"], ["5", "7"]]),
            np.ones(3),
            {},
            TypeError,
            "X must hold numbers, got dtype <U1",
        ),
        (np.ones((3, 2)), np.array([1, None, 2]), {}, TypeError, "y must hold numbers, got dtype object"),
        (
            np.ones((3, 2)),
            np.ones(3),
            {"feature_names": ["a"]},
            ValueError,
            "feature_names has 1 names but X has 2 columns",
        ),
        (np.empty((0, 2)), np.empty(0), {}, ValueError, "the data have no rows"),
    ],
)
def test_bad_input_types_names_and_no_rows(X, y, kwargs, error, message):
    with pytest.raises(error) as info:
        solve(X, y, **kwargs)
    assert str(info.value) == message


def test_chunks_with_no_rows_or_empty_chunks():
    with pytest.raises(ValueError) as info:
        solve_chunks(lambda: iter([]), ["a"])
    assert str(info.value) == "the data have no rows"
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 2)), rng.standard_normal(30)
    empty = (np.empty((0, 2)), np.empty(0))

    def chunks():  # a file's chunk can hold no rows (blank lines, an empty row group): it counts for nothing
        yield empty
        yield X[:10], y[:10]
        yield empty
        yield X[10:], y[10:]

    parts, whole = solve_chunks(chunks, ["a", "b"]), solve(X, y, feature_names=["a", "b"])
    assert parts.n == 30
    np.testing.assert_allclose(parts.params, whole.params, rtol=1e-12)
    assert parts.r2 == pytest.approx(whole.r2, rel=1e-12)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # one clear error, no numpy warning before it
def test_values_whose_squares_overflow_or_are_not_finite_are_refused():
    X, y = np.array([[1e200, 1], [2e200, 3], [3, 4], [5, 6.0]]), np.ones(4)
    with pytest.raises(ValueError) as info:
        solve(X, y)
    assert str(info.value) == "the data are too large to square in float64 (their sums overflow); rescale them"
    for bad in (X, np.array([[np.nan, 1], [2, 3], [3, 4], [5, 6.0]])):  # in chunks no row can be named
        with pytest.raises(ValueError) as info:
            solve_chunks(lambda bad=bad: iter([(bad, y)]), ["a", "b"])
        assert str(info.value) == (
            "the data hold NaN or infinite values, or values too large to square in float64 (their sums overflow)"
        )


def nearly_dependent(seed=0):
    """Two columns equal but for 1e-8 of noise: scaled condition number about 1.5e8, beyond the semi-normal
    equations in memory (SEMINORMAL_MAX_COND = 3e7)."""
    rng = np.random.default_rng(seed)
    x, z = rng.standard_normal((2, 40))
    X = np.column_stack([x, x + 1e-8 * z])
    return X, 1 + x + rng.standard_normal(40)


def test_an_ill_conditioned_design_in_memory_takes_the_augmented_method():
    X, y = nearly_dependent()
    beta, se = exact_ols(X, y)
    fit = solve(X, y)
    assert fit.method == "qr-augmented" and fit.refinement_steps >= 1
    assert fit.scaled_condition_number == pytest.approx(1.47e8, rel=0.01)
    # at least what a Householder QR of the design gives (numpy.linalg.lstsq: 7 to 8 digits here)
    assert correct_digits(fit.params, beta) >= 7 and correct_digits(fit.bse, se) >= 7


def test_an_ill_conditioned_design_in_chunks_is_refined_and_warned_about():
    X, y = nearly_dependent()
    beta, se = exact_ols(X, y)

    def chunks():
        for i in range(0, 40, 8):
            yield X[i : i + 8], y[i : i + 8]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = solve_chunks(chunks, ["a", "b"])
    (warning,) = caught
    assert warning.category is IllConditionedWarning and warning.filename == __file__  # points at the call
    # the number comes from the Gram matrix, whose smallest eigenvalue is rounding noise at this condition
    number = re.fullmatch(
        r"the design is too ill-conditioned \(scaled condition number (\S+)\) to be solved to full accuracy "
        r"in chunks; load it into memory for the augmented QR method",
        str(warning.message),
    ).group(1)
    assert float(number) > solve_module.SEMINORMAL_MAX_COND
    assert fit.method == "tsqr"
    assert correct_digits(fit.params, beta) >= 10 and correct_digits(fit.bse, se) >= 7


@pytest.mark.parametrize("ill", [False, True], ids=["cholesky-refined", "tsqr"])
def test_refinement_in_chunks_leaves_the_residual_sum_with_no_pass_more(ill):
    rng = np.random.default_rng(8)
    n = 40_000
    X = rng.standard_normal((n, 5))
    if ill:  # a nearly dependent column: the accurate path
        X[:, 4] = X[:, 3] + 1e-5 * rng.standard_normal(n)
    y = X @ [1.0, 2.0, 3.0, 1e-6, -1.0] + 1e-9 * rng.standard_normal(n)  # a coefficient near 0: refined
    passes = []

    def chunks():
        passes.append(1)
        for i in range(0, n, 7_000):
            yield X[i : i + 7_000], y[i : i + 7_000]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = solve_module.solve_chunks(chunks, list("abcde"))
    assert fit.refinement_steps >= 1
    assert fit.method == ("tsqr" if ill else "cholesky")
    # the first pass factors [A y] too (no pass for TSQR), and no pass after the last refinement step
    assert len(passes) == 1 + fit.refinement_steps
    residuals = y - X @ fit.coef - fit.intercept
    assert fit.sigma == pytest.approx(np.sqrt(np.sum(residuals**2) / (n - 6)), rel=1e-13)
    sm_fit = sm.OLS(y, sm.add_constant(X)).fit()
    assert fit.sigma == pytest.approx(np.sqrt(sm_fit.scale), rel=1e-12)

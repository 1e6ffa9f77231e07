"""A solve of arrays in memory reads X once (leastsq/gram.py): the Gram matrix, Aᵀy and the sums of the
residuals r₀ at a provisional solution from the same read, on both cores, with the digits of exact rational
arithmetic; one more pass, in double-double, only where the residuals in float64 would lose them (a fit all
but exact)."""

import functools

import numpy as np
import pytest

import linearnet.leastsq.gram as gram
import linearnet.leastsq.passes as passes
import linearnet.leastsq.result as result
import linearnet.leastsq.solver as solver
from linearnet.leastsq import solve

from exact import correct_digits, exact_statistics

STATS = ("params", "bse", "tvalues", "conf_int")


def data(noise, n=3_300, p=9, seed=26):
    """n × p with n·k² just past the small problems' double-double sums (DD_WORK), so the one-read path runs."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * np.linspace(0.5, 20, p) + np.linspace(-3, 3, p)
    y = X @ np.linspace(-2, 2.5, p) + 4.0 + noise * rng.standard_normal(n)
    assert n * p**2 > passes.DD_WORK  # with an intercept or without
    return X, y


@functools.cache
def exact_of(noise, fit_intercept=True):
    """The exact statistics of :func:`data`'s arrays (computed once for the tests that share them)."""
    return exact_statistics(*data(noise), fit_intercept=fit_intercept)


class Reads:
    """Counts what a solve reads: the one-read sums, and passes over the data after them."""

    def __init__(self, monkeypatch):
        self.sums, self.passes = 0, 0
        sums, in_memory = gram.sums, solver.in_memory

        def counted_sums(*args, **kwargs):
            self.sums += 1
            return sums(*args, **kwargs)

        def counted_memory(X, y):
            chunks = in_memory(X, y)

            def counted():
                self.passes += 1
                return chunks()

            return counted

        def no_float64_pass(*args):
            raise AssertionError("a float64 residual pass over the arrays")

        monkeypatch.setattr(gram, "sums", counted_sums)
        monkeypatch.setattr(solver, "in_memory", counted_memory)
        monkeypatch.setattr(result, "rss_in_memory", no_float64_pass)


def assert_digits(fit, exact, digits=12):
    for stat in STATS:
        assert correct_digits(getattr(fit, stat), exact[stat]) >= digits, stat
    assert correct_digits(fit.ssr, exact["rss"]) >= digits
    assert correct_digits(fit.sigma, exact["sigma"]) >= digits


def test_a_solve_in_memory_reads_x_once_with_the_digits_of_exact_arithmetic(monkeypatch):
    X, y = data(noise=0.5)
    reads = Reads(monkeypatch)
    fit = solve(X, y)
    assert (reads.sums, reads.passes) == (1, 0)
    assert fit.method == "cholesky" and fit.notes == []
    exact = exact_of(0.5)
    assert_digits(fit, exact)
    assert fit.r2 == pytest.approx(1 - exact["rss"] / (len(y) * y.var()), rel=1e-13)


def test_without_an_intercept_too(monkeypatch):
    X, y = data(noise=0.5)
    reads = Reads(monkeypatch)
    fit = solve(X, y, fit_intercept=False)
    assert (reads.sums, reads.passes) == (1, 0)
    assert_digits(fit, exact_of(0.5, fit_intercept=False))


def test_a_provisional_solution_from_the_first_rows_alone_still_gives_the_digits(monkeypatch):
    """β₀ from the first 500 rows only: r₀ is larger than the residuals, and the correction takes it the rest."""
    monkeypatch.setattr(gram, "_SAMPLE", 500)
    X, y = data(noise=0.5)
    reads = Reads(monkeypatch)
    fit = solve(X, y)
    assert (reads.sums, reads.passes) == (1, 0)
    assert_digits(fit, exact_of(0.5))


@pytest.mark.parametrize("noise", [1e-6, 0.0])
def test_a_fit_all_but_exact_takes_one_pass_more_in_double_double(monkeypatch, noise):
    """R² → 1: r₀ in float64 would lose about log10(‖y‖/‖r‖) digits (here the one-read sum of squares holds
    10), so the residual sum of squares comes from one more pass with the residuals in double-double (an
    exact fit: no residuals at all, but for those of the coefficients rounded to float64)."""
    X, y = data(noise=noise)
    if noise == 0.0:
        X, y = np.round(X), np.round(X) @ np.arange(1.0, 10.0) + 4.0  # exact in float64: the fit is exact
    reads = Reads(monkeypatch)
    fit = solve(X, y)
    assert (reads.sums, reads.passes) == (1, 1)
    exact = exact_statistics(X, y)
    if noise:
        assert_digits(fit, exact)
    else:
        assert exact["rss"] == 0 and fit.ssr < 1e-24 * float(y @ y)
        assert correct_digits(fit.params, exact["params"]) >= 12


def test_a_provisional_solution_whose_residuals_overflow_is_not_used(monkeypatch):
    """β₀ so large that r₀ᵀr₀ overflows: the solve goes on from Aᵀy, as without one, with the same digits."""
    X, y = data(noise=0.5)
    monkeypatch.setattr(gram, "provisional", lambda X, y, fit_intercept: np.full(X.shape[1] + fit_intercept, 1e200))
    reads = Reads(monkeypatch)
    fit = solve(X, y)
    assert (reads.sums, reads.passes) == (1, 1)
    assert_digits(fit, exact_of(0.5))


def test_one_thread_and_two_sum_to_the_same_numbers():
    """The lanes (runs of consecutive blocks) depend on the number of rows alone, each sums its blocks in order
    whichever thread takes it, with BLAS on one thread (so its product of a block is the same), and the lanes
    are added in lane order: the sums are equal to the last bit, however the threads were scheduled."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((20 * gram.BLOCK + 123, 7)), rng.standard_normal(20 * gram.BLOCK + 123)
    beta0 = gram.provisional(X, y, True)
    one, two = gram.sums(X, y, beta0, True, threads=1), gram.sums(X, y, beta0, True, threads=2)
    assert np.array_equal(one, two) and np.array_equal(one, gram.sums(X, y, beta0, True))  # and the default's
    B = np.column_stack([X, y, y - X @ beta0[1:] - beta0[0], np.ones(len(y))])
    np.testing.assert_allclose(one, B.T @ B, rtol=1e-12, atol=1e-9)


def test_a_provisional_solution_of_rows_that_are_not_finite_is_zero():
    X, y = np.ones((50, 2)), np.ones(50)
    X[3, 1] = np.nan
    assert np.array_equal(gram.provisional(X, y, True), np.zeros(3))
    X[3, 1] = 1e300  # finite, but its square is not
    assert np.array_equal(gram.provisional(X, y, False), np.zeros(2))


def test_an_estimate_of_the_error_is_infinite_without_residuals():
    base = gram.Provisional(np.zeros(2), np.zeros(2), 0.0, 0.0)
    assert base.error(0.0, 10) == np.inf and base.error(-1e-30, 10) == np.inf


@pytest.mark.parametrize(
    ("where", "value", "message"),
    [
        ("X", np.nan, "X must be finite; row 2001, column x4 is nan"),
        ("y", -np.inf, "y must be finite; row 2001 is -inf"),
        ("X", 1e200, "the data are too large to square in float64 (their sums overflow); rescale them"),
    ],
)
def test_data_that_are_not_finite_are_refused_by_name(where, value, message):
    X, y = data(noise=0.5)
    if where == "X":
        X[2000, 3] = value
    else:
        y[2000] = value
    with pytest.raises(ValueError) as info:
        solve(X, y)
    assert str(info.value) == message


def test_a_design_past_cond_30_is_refined_from_the_data_as_before(monkeypatch):
    """Two columns nearly alike (scaled condition number about 200): the Cholesky factor is refined and the
    coefficients too, a float64 residual pass a step, starting from β₀ + δ."""
    X, y = data(noise=0.5)
    X[:, 1] = X[:, 0] + 0.01 * np.random.default_rng(5).standard_normal(len(X))
    reads = Reads(monkeypatch)
    fit = solve(X, y)
    assert fit.method == "cholesky" and fit.refinement_steps >= 1
    assert reads.sums == 1 and reads.passes >= 2  # the factor's pass, then a pass a step
    assert_digits(fit, exact_statistics(X, y))


@pytest.mark.parametrize("threads", [1, 2])
def test_an_error_in_a_lane_is_raised_in_the_caller(threads):
    X, y = np.ones((3 * gram.BLOCK, 4)), np.ones(3 * gram.BLOCK)
    with pytest.raises(ValueError):
        gram.sums(X, y, np.zeros(3), True, threads=threads)  # β₀ one entry short

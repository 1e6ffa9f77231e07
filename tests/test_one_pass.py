"""A solve in chunks reads its data once: the first pass factors [A y] (TSQR) beside the Gram matrix, so that
the coefficients, the residual sum of squares and the standard errors need no second read, with the digits
of exact rational arithmetic; refinement passes run only where the conditioning calls for them, and say so."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet.cli import main
from linearnet.leastsq import solve, solve_chunks

from exact import correct_digits, exact_statistics


class Counted:
    """A ``Rows`` callable over arrays in chunks of ``size`` rows that counts the passes made over it."""

    def __init__(self, X, y, size, w=None):
        self.X, self.y, self.size, self.w, self.passes = X, y, size, w, 0

    def __call__(self):
        self.passes += 1
        for i in range(0, len(self.X), self.size):
            part = (self.X[i : i + self.size], self.y[i : i + self.size])
            yield part if self.w is None else (*part, {"w": self.w[i : i + self.size]})


def names(p):
    return [f"x{j + 1}" for j in range(p)]


@pytest.fixture(scope="module")
def well():
    """11,000 × 4 (n·k² past the small problems' double-double sums), well conditioned, R² about 0.99999."""
    rng = np.random.default_rng(24)
    X = rng.standard_normal((11_000, 4)) * [1.0, 3.0, 0.5, 10.0] + [0.0, 5.0, 0.0, -2.0]
    y = X @ [1.5, -0.7, 2.0, 0.25] + 3.0 + 0.003 * rng.standard_normal(len(X))
    return X, y, exact_statistics(X, y)


def test_a_well_conditioned_solve_in_chunks_reads_its_data_once(well):
    X, y, exact = well
    rows = Counted(X, y, 1_500)
    fit = solve_chunks(rows, names(4))
    assert rows.passes == 1 and fit.refinement_steps == 0 and fit.notes == []
    assert fit.method == "cholesky"
    for stat in ("params", "bse", "tvalues"):
        assert correct_digits(getattr(fit, stat), exact[stat]) >= 12, stat
    assert correct_digits(fit.sigma, exact["sigma"]) >= 12
    assert correct_digits(fit.ssr, exact["rss"]) >= 12


def test_the_residual_sum_keeps_its_digits_where_y_t_y_minus_b_t_a_t_y_cancels(well):
    """R² near 1 with y far from 0: ‖r‖² is below 1e-6 of yᵀy, where the normal equations' RSS loses 6 digits."""
    X, y, exact = well
    assert exact["rss"] < 1e-6 * float(y @ y)
    fit = solve_chunks(Counted(X, y, 4_000), names(4))
    A = np.column_stack([np.ones(len(X)), X])
    cancelled = float(y @ y - fit.params @ (A.T @ y))  # what the Gram matrix alone would give
    assert correct_digits(cancelled, exact["rss"]) < 11  # the case is one where that formula fails
    assert correct_digits(fit.ssr, exact["rss"]) >= 12 and correct_digits(fit.sigma, exact["sigma"]) >= 12
    assert fit.r2 == pytest.approx(1 - exact["rss"] / (len(y) * y.var()), rel=1e-14)


def test_chunks_and_memory_agree(well):
    X, y, _ = well
    parts, whole = solve_chunks(Counted(X, y, 3_333), names(4)), solve(X, y)
    np.testing.assert_allclose(parts.params, whole.params, rtol=1e-12)
    np.testing.assert_allclose(parts.bse, whole.bse, rtol=1e-12)
    for stat in ("sigma", "ssr", "r2", "llf", "fvalue"):
        assert getattr(parts, stat) == pytest.approx(getattr(whole, stat), rel=1e-12), stat


def test_a_small_problem_in_chunks_reads_its_data_once_too():
    """n·k² ≤ 2¹⁸: the double-double sums of the first pass give the residual sum with no pass more."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 3))
    y = X @ [1.0, -2.0, 0.5] + 1.0 + 0.01 * rng.standard_normal(300)
    exact = exact_statistics(X, y)
    rows = Counted(X, y, 64)
    fit = solve_chunks(rows, names(3))
    assert rows.passes == 1
    for stat in ("params", "bse"):
        assert correct_digits(getattr(fit, stat), exact[stat]) >= 14, stat
    assert correct_digits(fit.sigma, exact["sigma"]) >= 14


def test_a_weighted_solve_in_chunks_reads_its_data_once(well):
    X, y, _ = well
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(y))
    rows = Counted(X, y, 2_500, w)
    fit = solve_chunks(rows, names(4), weights="w")
    assert rows.passes == 1
    whole = solve(X, y, weights=w)
    np.testing.assert_allclose(fit.params, whole.params, rtol=1e-12)
    np.testing.assert_allclose(fit.bse, whole.bse, rtol=1e-12)
    assert fit.r2 == pytest.approx(whole.r2, rel=1e-12)


def ill_conditioned(n=20_000):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((n, 3))
    X[:, 2] = X[:, 1] + 1e-5 * rng.standard_normal(n)  # nearly dependent: scaled condition number about 1e5
    y = X @ [1.0, 2.0, -1.0] + 0.5 + 0.1 * rng.standard_normal(n)
    return X, y


def test_refinement_passes_run_where_the_conditioning_calls_for_them_and_say_so():
    X, y = ill_conditioned()
    rows = Counted(X, y, 2_000)
    fit = solve_chunks(rows, names(3))
    assert fit.method == "tsqr" and fit.refinement_steps >= 1
    assert rows.passes == 1 + fit.refinement_steps  # no pass to factor, none after the last step
    (note,) = fit.notes
    assert note == (
        f"the coefficients were refined in {fit.refinement_steps} more passes over the data: at the design's "
        f"scaled condition number {fit.scaled_condition_number:.3g}, the first pass alone leaves the smallest "
        f"fewer than 12 correct digits"
    )
    whole = solve(X, y)
    np.testing.assert_allclose(fit.params, whole.params, rtol=1e-12)
    assert whole.notes == []  # arrays in memory are not read again


def test_the_command_says_the_refinement_passes(tmp_path, capsys):
    X, y = ill_conditioned(6_000)
    path = tmp_path / "ill.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,y", comments="", fmt="%.17g")
    assert main(["solve", str(path), "--target", "y", "--chunk-rows", "1000", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "note: the coefficients were refined in " in err
    import json

    notes = json.loads(out)["notes"]
    assert any(n.startswith("the coefficients were refined in ") for n in notes)


@settings(max_examples=12, deadline=None)
@given(size=st.integers(min_value=5, max_value=11_000))
def test_any_chunk_size_gives_the_in_memory_solve_in_one_pass(well, size):
    X, y, _ = well
    rows = Counted(X, y, size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = solve_chunks(rows, names(4))
    assert rows.passes == 1
    whole = solve(X, y)
    np.testing.assert_allclose(fit.params, whole.params, rtol=1e-12)
    np.testing.assert_allclose(fit.bse, whole.bse, rtol=1e-12)
    assert fit.sigma == pytest.approx(whole.sigma, rel=1e-12)


def test_triangular_solves_as_lapack_at_every_order():
    """Substitution with NumPy up to order 512 (no scipy import for small solves), LAPACK's trsm beyond: the
    same solutions to rounding, for R and for Rᵀ, one right-hand side or several."""
    from scipy.linalg import solve_triangular as trsm

    from linearnet.leastsq.factor import solve_triangular

    rng = np.random.default_rng(3)
    for k in (1, 7, 513):
        R = np.triu(rng.standard_normal((k, k))) + 4 * np.eye(k)
        for B in (rng.standard_normal(k), rng.standard_normal((k, 3))):
            for trans in ("N", "T"):
                np.testing.assert_allclose(solve_triangular(R, B, trans=trans), trsm(R, B, trans=trans), rtol=1e-12)


def test_factors_of_several_processes_stack_to_the_factor_of_all_rows():
    """Each process's R of [A y], stacked in rank order and factored again, is the R of every row (up to the
    signs of its rows, which QR leaves free)."""
    from linearnet.leastsq.triangle import stacked

    rng = np.random.default_rng(4)
    A = rng.standard_normal((300, 5))
    parts = [np.linalg.qr(A[i : i + 100], mode="r") for i in range(0, 300, 100)]
    np.testing.assert_allclose(np.abs(stacked(parts)), np.abs(np.linalg.qr(A, mode="r")), rtol=1e-12, atol=1e-12)
    assert stacked(parts[:1]) is parts[0]

"""The exact multinomial logit (linearnet.logit): what its fits promise whatever the data's layout."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet.logit import solve_logit, solve_logit_chunks
from linearnet.records import logit_model

CLASSES = ["a", "b", "c"]


def multinomial(n=1500, seed=0, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(d, 2))
    eta = np.column_stack([np.zeros(n), X @ W + [0.2, -0.3]])
    P = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    return X, (rng.random(n)[:, None] > P.cumsum(axis=1)).sum(axis=1)


def passes(X, y, rows):
    def chunks():
        for i in range(0, len(X), rows):
            yield X[i : i + rows], y[i : i + rows]

    return chunks


@settings(max_examples=15, deadline=None)
@given(rows=st.integers(1, 2000))
def test_chunks_of_any_size_give_the_fit_in_memory(rows):
    X, y = multinomial()
    whole = solve_logit(X, y, classes=CLASSES)
    chunked = solve_logit_chunks(passes(X, y, rows), ["x0", "x1", "x2"], classes=CLASSES)
    # the same iterates (below WARM_START_ROWS every pass takes the Hessian): only the order of the sums'
    # additions differs
    np.testing.assert_allclose(chunked.params, whole.params, rtol=1e-10)
    np.testing.assert_allclose(chunked.cov, whole.cov, rtol=1e-10)
    assert chunked.llf == pytest.approx(whole.llf, rel=1e-12) and chunked.iterations == whole.iterations


def test_the_gradient_is_zero_and_the_hessian_inverse_is_the_covariance_at_the_optimum():
    X, y = multinomial(seed=3)
    r = solve_logit(X, y, classes=CLASSES)
    A = np.column_stack([np.ones(len(X)), X])
    eta = np.column_stack([np.zeros(len(X)), A @ r.params])
    P = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    Y = np.eye(3)[y]
    gradient = A.T @ (Y - P)[:, 1:]
    assert np.abs(gradient).max() < 1e-9 * np.abs(A).sum(axis=0).max()
    H = np.block([[A.T @ (A * (P[:, k] * ((k == l) - P[:, l]))[:, None]) for l in (1, 2)] for k in (1, 2)])
    np.testing.assert_allclose(r.cov @ H, np.eye(8), atol=1e-9)
    assert r.llf == pytest.approx(np.log(P[np.arange(len(y)), y]).sum(), rel=1e-13)


def test_float32_data_are_fitted_in_float64():
    X, y = multinomial()
    X32 = X.astype(np.float32)
    r32 = solve_logit(X32, y, classes=CLASSES)
    r64 = solve_logit(X32.astype(np.float64), y, classes=CLASSES)
    np.testing.assert_array_equal(r32.params, r64.params)


def test_the_intercept_alone_is_the_null_model():
    _, y = multinomial()
    r = solve_logit(np.zeros((len(y), 0)), y, classes=CLASSES)
    counts = np.bincount(y)
    assert r.converged and r.llnull == pytest.approx((counts * np.log(counts / len(y))).sum(), rel=1e-14)
    assert r.llf == pytest.approx(r.llnull, rel=1e-14) and r.df_model == 0
    np.testing.assert_allclose(r.intercept, np.log(counts[1:] / counts[0]), rtol=1e-14)


def test_without_an_intercept_the_null_model_gives_the_classes_equal_probabilities():
    X, y = multinomial()
    r = solve_logit(X, y, classes=CLASSES, fit_intercept=False)
    assert r.llnull == pytest.approx(-len(y) * math.log(3), rel=1e-15) and r.df_model == 6
    assert any("same probability" in note for note in r.notes)


def test_a_dependent_column_is_named_or_left_out_with_the_fit_of_the_others():
    X, y = multinomial()
    X2 = np.column_stack([X, X[:, 0] - 2 * X[:, 2]])
    with pytest.raises(ValueError, match=r"the columns x0, x2, x3 are linearly dependent \(rank 4 of 5"):
        solve_logit(X2, y, classes=CLASSES)
    r = solve_logit(X2, y, classes=CLASSES, allow_rank_deficient=True)
    ref = solve_logit(X, y, classes=CLASSES)
    assert r.dropped == ["x3"] and np.isnan(r.params[4]).all() and np.isnan(r.bse[4]).all()
    np.testing.assert_allclose(r.params[:4], ref.params, rtol=1e-9)
    assert r.llf == pytest.approx(ref.llf, rel=1e-12) and r.aic == pytest.approx(ref.aic, rel=1e-12)
    np.testing.assert_allclose(r.predict_proba(X2), ref.predict_proba(X), rtol=1e-9)


def test_a_constant_column_beside_the_intercept_is_named():
    X, y = multinomial()
    with pytest.raises(ValueError, match="column x3 is constant, as the intercept is"):
        solve_logit(np.column_stack([X, np.full(len(X), 2.5)]), y, classes=CLASSES)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda X, y: (X, np.where(y == 1, 0, y)), "class 'b' has no rows"),
        (lambda X, y: (np.where(np.arange(len(X))[:, None] == 7, np.nan, X), y), "row 8, column x0 is nan"),
        (lambda X, y: (X, np.where(y == 2, 5, y)), "class code 5 is not one of 0..2"),
    ],
    ids=["empty class", "not finite", "code out of range"],
)
def test_data_that_cannot_be_fitted_are_refused_with_the_reason(change, message):
    X, y = change(*multinomial())
    with pytest.raises(ValueError, match=message):
        solve_logit(X, y, classes=CLASSES)


def test_a_reference_outside_the_classes_is_refused():
    X, y = multinomial()
    with pytest.raises(ValueError, match=r"the reference class 'z' is not one of the classes \(a, b, c\)"):
        solve_logit(X, y, classes=CLASSES, reference="z")


def test_labels_without_classes_are_coded_as_the_reader_codes_them():
    X, y = multinomial()
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    r = solve_logit(X, names)
    assert r.classes == ["setosa", "versicolor", "virginica"] and r.reference == "setosa"
    np.testing.assert_array_equal(r.params, solve_logit(X, y, classes=r.classes).params)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(60, 400))
def test_overlapping_classes_are_never_called_separated(seed, n):
    # every class holds rows all over the space of two noisy features: a finite optimum exists
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(size=(n, 2)) + 0.3 * y[:, None]
    r = solve_logit(X, y, classes=CLASSES)
    assert r.converged and r.separation is None and np.isfinite(r.bse).all()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), gap=st.floats(0.0, 2.0))
def test_a_class_apart_from_the_others_is_said_and_has_no_standard_errors(seed, gap):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(300, 2))
    y = (rng.random(300) < 0.5).astype(int)
    y[X[:, 0] > 0.5 + gap] = 2  # class c: every row beyond a line in x0, and none before it
    y[(X[:, 0] > 0.5) & (X[:, 0] <= 0.5 + gap)] = 0
    if (y == 2).sum() == 0:
        return
    r = solve_logit(X, y, classes=CLASSES)
    assert not r.converged and np.isnan(r.bse).all()
    assert r.separation is not None and f"{(y == 2).sum()} row" in r.separation and "class 'c'" in r.separation
    assert "the column x0" in r.separation or "the columns x0" in r.separation
    assert "no finite optimum" in r.summary() and "std err" not in r.summary()


def test_the_model_file_record_predicts_the_fits_probabilities():
    X, y = multinomial()
    r = solve_logit(X, y, classes=CLASSES, reference="b")
    model = logit_model(r, target="kind")
    np.testing.assert_allclose(model.predict_proba(X), r.predict_proba(X), rtol=1e-12)
    assert model.training["reference"] == "b" and model.statistics["reference"] == "b"
    assert list(model.statistics["classes"]) == ["a", "c"]


def test_many_rows_start_from_a_samples_optimum_and_end_at_the_same_one(monkeypatch):
    """From WARM_START_ROWS rows, in memory or read a chunk at a time (the sample taken as the first pass
    reads), Newton's method starts from a sample's optimum and computes fewer Hessians over all the rows
    than from the null model, to the same optimum."""
    from linearnet.logit import newton as N
    from linearnet.logit import solver
    from linearnet.logit.solver import WARM_START_ROWS

    X, y = multinomial(n=WARM_START_ROWS, seed=8, d=2)
    hessians: list[int] = []
    counted = N.newton_sums

    def counting(chunks, B, d, fit_intercept, group=None, hessian=True):
        rows = sum(len(yc) for _, yc in chunks())
        hessians.append(rows if hessian else 0)
        return counted(chunks, B, d, fit_intercept, group, hessian=hessian)

    monkeypatch.setattr(N, "newton_sums", counting)

    def fit(chunked: bool, warm: bool):
        hessians.clear()
        monkeypatch.setattr(solver, "WARM_START_ROWS", WARM_START_ROWS if warm else 10 * WARM_START_ROWS)
        if chunked:
            r = solve_logit_chunks(passes(X, y, 50_000), ["x0", "x1"], classes=CLASSES)
        else:
            r = solve_logit(X, y, classes=CLASSES)
        return r, hessians.count(len(y))  # the passes with the Hessian over all the rows

    cold, cold_hessians = fit(chunked=False, warm=False)
    for chunked in (False, True):
        warm, warm_hessians = fit(chunked, warm=True)
        assert warm.converged and warm_hessians < cold_hessians
        np.testing.assert_allclose(warm.params, cold.params, rtol=1e-10)
        np.testing.assert_allclose(warm.cov, cold.cov, rtol=1e-10)
        assert warm.llf == pytest.approx(cold.llf, rel=1e-13)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda X, y: solve_logit(X[:, 0], y, classes=CLASSES), ValueError, "X must be a 2-D array"),
        (lambda X, y: solve_logit(X, y, feature_names=["a"]), ValueError, "feature_names has 1 names for 3 columns"),
        (lambda X, y: solve_logit(X, y + 0.5, classes=CLASSES), TypeError, "y must hold class codes 0..K-1"),
        (lambda X, y: solve_logit(X, y[:-1], classes=CLASSES), ValueError, r"one class code per row of X \(1500\)"),
        (lambda X, y: solve_logit(X, y, classes=["a", "a", "b"]), ValueError, "the classes must be distinct"),
        (lambda X, y: solve_logit(X, y, classes=["a"]), ValueError, "at least two classes, got 1"),
        (lambda X, y: solve_logit(X[:0], y[:0], classes=CLASSES), ValueError, "the data have no rows"),
        (
            lambda X, y: solve_logit_chunks(passes(X * np.inf, y, 100), ["x0", "x1", "x2"], classes=CLASSES),
            ValueError,
            "the data hold NaN or infinite values",
        ),
    ],
    ids=["1-D", "names", "fractions", "lengths", "twice", "one class", "no rows", "not finite in chunks"],
)
def test_arguments_that_do_not_fit_are_refused_with_the_reason(call, error, message):
    with pytest.raises(error, match=message):
        call(*multinomial())


def test_a_fit_stopped_by_max_iter_says_so_and_gives_no_errors():
    X, y = multinomial()
    r = solve_logit(X, y, classes=CLASSES, max_iter=1)
    assert not r.converged and r.separation is None and np.isnan(r.bse).all()
    assert r.notes[-1].startswith("not converged in 1 iterations: the log-likelihood was still rising")
    assert "not converged in 1 iterations" in r.summary() and "LR χ²" not in r.summary()
    assert r.predict(X[:3]) == [CLASSES[k] for k in r.predict_proba(X[:3]).argmax(axis=1)]


def test_a_design_of_pandas_columns_keeps_their_names():
    import pandas as pd

    X, y = multinomial()
    r = solve_logit(pd.DataFrame(X, columns=["area", "rooms", "age"]), y, classes=CLASSES)
    assert r.feature_names == ["area", "rooms", "age"] and r.names == ["intercept", "area", "rooms", "age"]


def test_a_hessian_not_positive_definite_gives_the_step_of_its_positive_part_and_no_factor():
    from linearnet.logit.newton import newton_step
    from linearnet.logit.sums import Sums

    H = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 along (1, 1) and −1 along (1, −1): no Cholesky
    step, decrement, U = newton_step(Sums(loglik=-3.0, gradient=np.array([[1.0], [1.0]]), hessian=H))
    assert U is None
    np.testing.assert_allclose(step.ravel(), [1 / 3, 1 / 3])  # g lies along (1, 1): g / 3
    assert decrement == pytest.approx(2 / 3)


# ---- the distributions of the statistics, without scipy ----------------------------------------------------


@given(df=st.integers(1, 600), x=st.floats(1e-6, 2000.0))
@settings(max_examples=300, deadline=None)
def test_chi2_survival_agrees_with_scipy(df, x):
    from scipy.special import chdtrc

    from linearnet.logit.result import chi2_sf

    want = float(chdtrc(df, x))
    got = chi2_sf(x, df)
    if want > 1e-280:  # lgamma's rounding at large df: 1e-13 relative to 250 df, 2e-12 at 5,000
        assert got == pytest.approx(want, rel=1e-12, abs=0)
    else:
        assert got < 1e-270
    assert chi2_sf(0.0, df) == 1.0 and chi2_sf(math.inf, df) == 0.0


def test_normal_p_values_agree_with_scipy_into_the_tail():
    from scipy.special import ndtr

    from linearnet.logit.result import normal_two_sided

    z = np.concatenate([np.linspace(-37, 37, 20001), [np.nan]])
    got, want = normal_two_sided(z), 2 * ndtr(-np.abs(z))
    np.testing.assert_allclose(got[:-1], want[:-1], rtol=5e-13)  # erfc is the more exact of the two out there
    assert np.isnan(got[-1])


def test_a_pass_gives_the_same_sums_on_one_thread_or_several_and_after_a_fork(monkeypatch):
    """The pieces' sums are added in the pieces' order whichever thread computed them: the same numbers to
    the last bit; and a forked child, which has none of its parent's threads, still passes over its data."""
    import multiprocessing

    from linearnet.leastsq.passes import in_memory
    from linearnet.logit import sums as S

    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40_000, 6)), rng.integers(0, 3, 40_000)
    B, d = rng.standard_normal((7, 2)) * 0.3, np.ones(7)
    several = S.newton_sums(in_memory(X, y), B, d, True)
    monkeypatch.setattr(S, "workers", lambda: 1)
    one = S.newton_sums(in_memory(X, y), B, d, True)
    assert several.loglik == one.loglik
    assert np.array_equal(several.gradient, one.gradient) and np.array_equal(several.hessian, one.hessian)
    monkeypatch.undo()
    if "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(1) as pool:
            child = pool.apply_async(_loglik_in_child, (X, y, B, d)).get(timeout=60)
        assert child == several.loglik


def _loglik_in_child(X, y, B, d) -> float:
    from linearnet.leastsq.passes import in_memory
    from linearnet.logit.sums import newton_sums

    return newton_sums(in_memory(X, y), B, d, True).loglik


class _OneOfOne:
    """A group of one process: what a torchrun share of all the rows does, without torchrun."""

    def everyone(self, part):
        return [part()]


def test_a_step_of_an_earlier_hessian_that_does_not_raise_the_likelihood_is_taken_again_with_its_own(monkeypatch):
    """A step with an earlier or approximate Hessian (here a hundredth of the true one: a step far too long)
    that does not raise ℓ costs a pass, not the answer: the pass is made again with its own Hessian."""
    from linearnet.leastsq.passes import in_memory
    from linearnet.logit import newton as N

    X, y = multinomial(n=3000, seed=4)
    rows, d, B = in_memory(X, y), np.ones(4), np.zeros((4, 2))
    options = dict(tol=1e-9, col_max=np.abs(np.column_stack([np.ones(len(X)), X])).max(axis=0))
    want = N.newton(rows, B, d, True, **options)
    restarts: list[int] = []
    restart = N._Walk.restart

    def counted(self, sums):
        restarts.append(1)
        return restart(self, sums)

    monkeypatch.setattr(N, "_chord", lambda exact, decrements, trail: True)  # every step may take an old one
    monkeypatch.setattr(N._Walk, "restart", counted)
    got = N.newton(rows, B, d, True, hessian=want.sums.hessian / 100, **options)
    assert restarts and got.converged and want.converged
    np.testing.assert_allclose(got.B, want.B, rtol=0, atol=1e-10 * np.abs(want.B).max())  # converged, both
    np.testing.assert_allclose(got.sums.hessian, want.sums.hessian, rtol=1e-9)


def test_a_last_step_is_confirmed_by_a_pass_where_it_moves_the_predictors(monkeypatch):
    """With STILL at 0 every last step is followed by a pass (its sums at the point reported): the same
    optimum, standard errors and log-likelihood as when a step too small to matter is taken without one."""
    from linearnet.logit import newton as N

    X, y = multinomial(seed=6)
    want = solve_logit(X, y, classes=CLASSES)
    monkeypatch.setattr(N, "STILL", 0.0)
    got = solve_logit(X, y, classes=CLASSES)
    assert got.converged and got.iterations >= want.iterations
    np.testing.assert_allclose(got.params, want.params, rtol=1e-12)
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-11)
    assert got.llf == pytest.approx(want.llf, rel=1e-14)


def test_a_separated_sample_leaves_the_fit_to_start_from_the_null_model():
    """Every k-th row of the sample is separated (x > 0 tells the classes apart there), while a few other
    rows overlap: the data have a finite optimum, the sample none; the fit starts without it and converges."""
    from linearnet.logit.solver import WARM_START_ROWS

    n = WARM_START_ROWS
    rng = np.random.default_rng(9)
    x = rng.normal(size=n)
    y = (x > 0).astype(np.int64)
    k = n // (WARM_START_ROWS // 4)
    off = np.flatnonzero(np.arange(n) % k != 0)[:200]  # rows outside the sample, given the other class
    y[off] = 1 - y[off]
    r = solve_logit(x[:, None], y, classes=["no", "yes"])
    assert r.converged and r.separation is None and np.isfinite(r.bse).all()
    sm = pytest.importorskip("statsmodels.api")
    ref = sm.Logit(y, sm.add_constant(x)).fit(method="newton", disp=0, tol=1e-12, maxiter=100)
    np.testing.assert_allclose(r.params[:, 0], ref.params, rtol=1e-9)


def test_process_shares_of_many_rows_start_from_the_null_model():
    """A process's share (a group) takes no sample: the fit is the one in memory all the same."""
    from linearnet.logit.solver import WARM_START_ROWS

    X, y = multinomial(n=WARM_START_ROWS, seed=11, d=2)
    want = solve_logit(X, y, classes=CLASSES)
    got = solve_logit_chunks(passes(X, y, 65_536), ["x0", "x1"], classes=CLASSES, group=_OneOfOne())
    np.testing.assert_allclose(got.params, want.params, rtol=1e-10)
    np.testing.assert_allclose(got.bse, want.bse, rtol=1e-10)


def test_where_no_step_raises_the_likelihood_the_iteration_ends_there(monkeypatch):
    """At the rounding of the sums no step raises ℓ: the line search gives up after halving the step 40 times,
    and the iteration ends at the point it had (here forced by steps that point downhill)."""
    from linearnet.leastsq.passes import in_memory
    from linearnet.logit import newton as N

    X, y = multinomial(n=300, seed=2)
    rows, d, B = in_memory(X, y), np.ones(4), np.zeros((4, 2))
    options = dict(tol=1e-9, col_max=np.abs(np.column_stack([np.ones(len(X)), X])).max(axis=0))
    uphill = N.newton_step
    monkeypatch.setattr(N, "newton_step", lambda sums: (lambda s, dec, U: (-s, dec, U))(*uphill(sums)))
    fit = N.newton(rows, B, d, True, **options)
    assert fit.iterations == 1 and np.array_equal(fit.B, B)
    data = N._Pass(rows, d, True, None, 1e-9, options["col_max"])
    assert data.separation(np.zeros((4, 2))) is None and data.separation(np.full((4, 2), np.nan)) is None

"""linearnet.distributions gives what scipy.stats gives: NaN, the sign of zero and the ends of the support
alike; beyond MATH_MAX_DF degrees of freedom the same numbers to the last digit (the same scipy.special
functions); up to it, the tails summed with math alone, within 2e-12 of an mpmath reference at 40 digits
(the continued fraction's rounding, about ε·df near its branch point) and of scipy.stats."""

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from linearnet.distributions import MATH_MAX_DF, f_sf, norm_ppf, t_ppf, t_sf

RTOL = 2e-12  # the math-alone tails' error measured against mpmath (module docstring)

X = np.array(
    [0.0, -0.0, 1e-300, 5e-8, 0.5, -0.5, 1.0, 1.96, -3.0, 10.0, 40.0, 1e3, 1e10, -1e10, 1e200, np.inf, -np.inf, np.nan]
)
Q = np.array([0.0, 1e-300, 1e-10, 0.025, 0.5, 0.975, 1 - 1e-16, 1.0, -0.1, 1.1, np.nan])
DF = [1, 2, 3, 4.5, 10, 30, 196, 1000, 1e6, 1e12, np.inf, 0, -1, np.nan]


def same(ours, scipys, rtol: float = 0.0) -> bool:
    """Equal (to ``rtol``), NaN where NaN, infinite where infinite, the same sign of zero, shape and type."""
    ours, scipys = np.asarray(ours), np.asarray(scipys)
    return (
        ours.shape == scipys.shape
        and ours.dtype == scipys.dtype
        and np.array_equal(np.isnan(ours), np.isnan(scipys))
        and np.array_equal(ours[np.isinf(ours)], scipys[np.isinf(ours)])
        and np.allclose(ours, scipys, rtol=rtol, atol=0, equal_nan=True)
        and np.array_equal(np.signbit(ours[ours == 0]), np.signbit(scipys[ours == 0]))
    )


def near(df) -> float:
    """The tolerance against scipy.stats: the math-alone tails' where they are used, else none."""
    return RTOL if 1 <= df <= MATH_MAX_DF else 0.0


# scipy's stdtr at df = 1 near t = 0 is off by 3e-9 (P(T > 1e-8) = ½ − atan(1e-8)/π = 0.49999999681690113...,
# scipy 0.4999999952568131): there the comparison is with the Cauchy distribution's closed form instead
CAUCHY_NEAR_ZERO = np.abs(X) < 1e-6


@pytest.mark.parametrize("df", DF)
def test_t_as_scipy_stats(df):
    expected = stats.t.sf(X, df)
    if df == 1:
        expected = np.where(CAUCHY_NEAR_ZERO, 0.5 - np.arctan(X) / np.pi, expected)
    assert same(t_sf(X, df), expected, near(df))
    assert same(t_ppf(Q, df), stats.t.ppf(Q, df), near(df))


@pytest.mark.parametrize("dfn", [1, 2, 3.5, 100, 1e8, 0, np.nan])
@pytest.mark.parametrize("dfd", [1, 2, 196, 1e6, np.inf, -1])
def test_f_as_scipy_stats(dfn, dfd):
    assert same(f_sf(X, dfn, dfd), stats.f.sf(X, dfn, dfd), max(near(dfn), near(dfd)) if near(dfn) and near(dfd) else 0)


def test_normal_as_scipy_stats():
    assert same(norm_ppf(Q), stats.norm.ppf(Q))
    assert same(norm_ppf([0.25, 0.75]), stats.norm.ppf([0.25, 0.75]))


def test_scalars_in_scalars_out():
    """A NumPy float64 for numbers, as scipy.stats returns (the statistics print and store it as such)."""
    for ours, scipys in [
        (t_sf(2.0, 10), stats.t.sf(2.0, 10)),
        (t_ppf(0.975, 196), stats.t.ppf(0.975, 196)),
        (f_sf(8468.22, 3, 196), stats.f.sf(8468.22, 3, 196)),
        (norm_ppf(0.75), stats.norm.ppf(0.75)),
    ]:
        assert type(ours) is type(scipys) is np.float64
        assert ours == pytest.approx(scipys, rel=RTOL)
    assert t_sf(np.array([1.0, 2.0]), np.array([3, 30])).shape == (2,)


@settings(max_examples=25, deadline=None)
@given(
    x=st.floats(allow_nan=True, allow_infinity=True),
    df=st.one_of(st.integers(1, 10**7), st.floats(1e-3, 1e15)),
    q=st.floats(0, 1),
)
def test_any_number_as_scipy_stats(x, df, q):
    if not (df == 1 and abs(x) < 1e-6):  # scipy's own error there: see CAUCHY_NEAR_ZERO
        assert same(t_sf(x, df), stats.t.sf(x, df), near(df))
    assert same(t_ppf(q, df), stats.t.ppf(q, df), near(df))
    assert same(f_sf(x, df, df + 1), stats.f.sf(x, df, df + 1), near(df) if near(df + 1) else 0)
    assert same(norm_ppf(q), stats.norm.ppf(q))
    assert math.isnan(t_sf(x, -df)) and math.isnan(f_sf(x, -df, 1))


def _mp_tail(a, b, z):
    """I_z(a, b) by mpmath at 40 digits (None where mpmath itself does not converge)."""
    with mpmath.workdps(40):
        try:
            return mpmath.betainc(mpmath.mpf(a), mpmath.mpf(b), 0, z, regularized=True)
        except (ValueError, mpmath.libmp.NoConvergence):
            return None


@pytest.mark.parametrize("df", [1, 2, 3, 5, 17, 196, 1000, MATH_MAX_DF])
def test_t_tail_against_mpmath(df):
    """The math-alone t tail against an independent reference, from the centre to tails of 1e-250."""
    for t in [1e-3, 0.3, 1.0, 1.96, 3.0, 8.0, 40.0, 1e3, 1e8]:
        with mpmath.workdps(40):
            exact = _mp_tail(df / 2, 0.5, mpmath.mpf(df) / (df + mpmath.mpf(t) ** 2))
        if exact is None or exact < 1e-250:
            continue
        assert float(t_sf(t, df)) == pytest.approx(float(exact / 2), rel=RTOL)


@pytest.mark.parametrize("dfn", [1, 3, 50, 1000])
@pytest.mark.parametrize("dfd", [1, 10, 196, MATH_MAX_DF])
def test_f_tail_against_mpmath(dfn, dfd):
    for x in [1e-6, 0.5, 1.0, 3.0, 30.0, 1e4]:
        with mpmath.workdps(40):
            exact = _mp_tail(dfd / 2, dfn / 2, dfd / (dfd + dfn * mpmath.mpf(x)))
        if exact is None or exact < 1e-250:
            continue
        assert float(f_sf(x, dfn, dfd)) == pytest.approx(float(exact), rel=RTOL)


@pytest.mark.parametrize("df", [3, 5, 21, 100, 196, 500, 1000, 3000, MATH_MAX_DF])
def test_t_quantile_of_intervals_against_mpmath(df):
    """The 97.5% quantile every 95% interval takes, within 4.5e-15 of the exact one (scipy's: 6e-16), which
    tests/test_leastsq_accuracy.py allows the intervals (Q_ERROR)."""
    with mpmath.workdps(40):
        exact = mpmath.findroot(lambda t: _mp_tail(df / 2, 0.5, df / (df + t**2)) / 2 - mpmath.mpf("0.025"), 2.0)
        assert abs(float(t_ppf(0.975, df)) - exact) <= 4.5e-15 * exact


def test_t_quantile_inverts_the_tail():
    """t_ppf(q) is where t_sf is 1 − q, to the tail's own accuracy (the interval's half-width 1.96... and beyond)."""
    for df in [3, 4.5, 30, 196, 5000]:
        for q in [0.6, 0.975, 0.995, 1 - 1e-9]:
            t = float(t_ppf(q, df))
            assert float(t_sf(t, df)) == pytest.approx(1 - q, rel=1e-12)


def test_small_fits_import_no_scipy():
    """The tails of a fit with at most MATH_MAX_DF degrees of freedom take no scipy (a tenth of a second to import)."""
    code = (
        "import sys; from linearnet.distributions import t_sf, t_ppf, f_sf; "
        "t_sf([0.5, 2.0], 196); t_ppf(0.975, 196); f_sf(8468.2, 3, 196); "
        "print(any(m.startswith('scipy') for m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"

"""linearnet.distributions gives what scipy.stats gives: the same numbers to the last digit (the same
scipy.special functions underneath), the same sign of zero, NaN and the ends of the support alike."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from linearnet.distributions import f_sf, norm_ppf, t_ppf, t_sf

X = np.array(
    [0.0, -0.0, 1e-300, 5e-8, 0.5, -0.5, 1.0, 1.96, -3.0, 10.0, 40.0, 1e3, 1e10, -1e10, np.inf, -np.inf, np.nan]
)
Q = np.array([0.0, 1e-300, 1e-10, 0.025, 0.5, 0.975, 1 - 1e-16, 1.0, -0.1, 1.1, np.nan])
DF = [1, 2, 3, 4.5, 10, 30, 196, 1000, 1e6, 1e12, np.inf, 0, -1, np.nan]


def same(ours, scipys) -> bool:
    """Equal to the last digit, NaN where NaN, the same sign of zero, the same shape and type."""
    ours, scipys = np.asarray(ours), np.asarray(scipys)
    return (
        ours.shape == scipys.shape
        and ours.dtype == scipys.dtype
        and np.array_equal(ours, scipys, equal_nan=True)
        and np.array_equal(np.signbit(ours), np.signbit(scipys))
    )


@pytest.mark.parametrize("df", DF)
def test_t_as_scipy_stats(df):
    assert same(t_sf(X, df), stats.t.sf(X, df))
    assert same(t_ppf(Q, df), stats.t.ppf(Q, df))


@pytest.mark.parametrize("dfn", [1, 2, 3.5, 100, 1e8, 0, np.nan])
@pytest.mark.parametrize("dfd", [1, 2, 196, 1e6, np.inf, -1])
def test_f_as_scipy_stats(dfn, dfd):
    assert same(f_sf(X, dfn, dfd), stats.f.sf(X, dfn, dfd))


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
        assert ours == scipys
    assert t_sf(np.array([1.0, 2.0]), np.array([3, 30])).shape == (2,)


@settings(max_examples=25, deadline=None)
@given(
    x=st.floats(allow_nan=True, allow_infinity=True),
    df=st.one_of(st.integers(1, 10**7), st.floats(1e-3, 1e15)),
    q=st.floats(0, 1),
)
def test_any_number_as_scipy_stats(x, df, q):
    assert same(t_sf(x, df), stats.t.sf(x, df))
    assert same(t_ppf(q, df), stats.t.ppf(q, df))
    assert same(f_sf(x, df, df + 1), stats.f.sf(x, df, df + 1))
    assert same(norm_ppf(q), stats.norm.ppf(q))
    assert math.isnan(t_sf(x, -df)) and math.isnan(f_sf(x, -df, 1))

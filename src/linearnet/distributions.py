"""The tails and quantiles that the statistics need: Student's t (p-values, intervals), Fisher's F (the
overall test) and the standard normal (Q-Q plots), as ``scipy.stats`` computes them: the same
``scipy.special`` functions (``stdtr``, ``stdtrit``, ``fdtrc``, ``ndtri``) with the same values at the
ends of the support and outside it (NaN for a bad argument or parameter), so the numbers are the same to
the last digit. ``scipy.stats`` itself takes half a second or more to import, most of a small solve.

Each function takes numbers or arrays and returns a NumPy float64 (a scalar for scalars, as
``scipy.stats`` does).
"""

from __future__ import annotations

import numpy as np

__all__ = ["f_sf", "norm_ppf", "t_ppf", "t_sf"]


def _out(values: np.ndarray):
    return values[()] if values.ndim == 0 else values


def t_sf(x, df):
    """P(T > x) for T with ``df`` degrees of freedom (``scipy.stats.t.sf``)."""
    from scipy.special import stdtr

    x, df = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(df, dtype=np.float64))
    out = np.zeros(x.shape)
    inside = (df > 0) & (np.abs(x) < np.inf)
    out[inside] = stdtr(df[inside], -x[inside])
    out[(df > 0) & (x == -np.inf)] = 1.0
    out[~(df > 0) | np.isnan(x)] = np.nan
    return _out(out)


def _quantile(q, good: np.ndarray, lower: float, upper: float, inverse) -> np.ndarray:
    """The quantile at ``q`` where the parameters are ``good``: ``lower``/``upper`` at q = 0/1, ``inverse``
    strictly between, NaN elsewhere (``rv_continuous.ppf``, scale 1 and location 0 included)."""
    q, good = np.broadcast_arrays(np.asarray(q, dtype=np.float64), good)
    out = np.full(q.shape, np.nan)
    inside = good & (q > 0) & (q < 1)
    out[inside] = inverse(inside) * 1.0 + 0.0
    out[good & (q == 0)] = lower
    out[good & (q == 1)] = upper
    return out


def t_ppf(q, df):
    """The ``q`` quantile of the t distribution with ``df`` degrees of freedom (``scipy.stats.t.ppf``)."""
    from scipy.special import stdtrit

    q, df = np.broadcast_arrays(np.asarray(q, dtype=np.float64), np.asarray(df, dtype=np.float64))
    return _out(_quantile(q, df > 0, -np.inf, np.inf, lambda at: stdtrit(df[at], q[at])))


def norm_ppf(q):
    """The ``q`` quantile of the standard normal (``scipy.stats.norm.ppf``)."""
    from scipy.special import ndtri

    q = np.asarray(q, dtype=np.float64)
    return _out(_quantile(q, np.ones(q.shape, dtype=bool), -np.inf, np.inf, lambda at: ndtri(q[at])))


def f_sf(x, dfn, dfd):
    """P(F > x) for F with ``dfn`` and ``dfd`` degrees of freedom (``scipy.stats.f.sf``)."""
    from scipy.special import fdtrc

    x, dfn, dfd = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, dfn, dfd)))
    good = (dfn > 0) & (dfd > 0)
    out = np.zeros(x.shape)
    inside = good & (x > 0) & (x < np.inf)
    out[inside] = fdtrc(dfn[inside], dfd[inside], x[inside])
    out[good & (x <= 0)] = 1.0
    out[~good | np.isnan(x)] = np.nan
    return _out(out)

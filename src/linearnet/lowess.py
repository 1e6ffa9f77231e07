"""R's ``lowess(x, y, f = 2/3, iter = 3)``: Cleveland's robust locally weighted line, the smooth R's
``plot(lm)`` draws through its panels (R's ``clowess``, step for step)."""

from __future__ import annotations

import numpy as np

__all__ = ["lowess"]


def lowess(x, y, *, f: float = 2 / 3, iterations: int = 3, delta: float | None = None):
    """The lowess smooth of ``y`` on ``x``, as R's ``lowess`` computes it.

    Args:
        x, y: (n,) finite values.
        f: the share of the points in each local fit (R's ``f``).
        iterations: robustness iterations (R's ``iter``).
        delta: points closer than this to the last fitted one are interpolated, not fitted
            (default, as R's: 1% of the range of x).

    Returns:
        ``(xs, ys)``: x sorted (ties kept in row order) and the smooth at each.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    n = len(x)
    if n < 2:
        return x, y.copy()
    if delta is None:
        delta = 0.01 * float(x[-1] - x[0])
    ns = max(2, min(n, int(f * n + 1e-7)))
    rw = np.ones(n)
    ys = np.empty(n)
    for step in range(iterations + 1):
        _smooth_pass(x, y, ns, delta, rw if step else None, ys)
        res = y - ys
        if step == iterations:
            break
        sc = np.abs(res).mean()
        cmad = 6 * float(np.median(np.abs(res)))
        if cmad < 1e-7 * sc:  # the residuals are effectively zero
            break
        r = np.abs(res)
        with np.errstate(divide="ignore", invalid="ignore"):  # cmad = 0: every r is 0, weighed 1
            rw = np.where(r <= 0.001 * cmad, 1.0, np.where(r <= 0.999 * cmad, (1 - (r / cmad) ** 2) ** 2, 0.0))
    return x, ys


def _smooth_pass(x: np.ndarray, y: np.ndarray, ns: int, delta: float, rw: np.ndarray | None, ys: np.ndarray) -> None:
    """One pass of local fits over the sorted points, skipping (and interpolating) those within ``delta``."""
    n = len(x)
    nleft, nright, last, i = 0, ns - 1, -1, 0
    while True:
        if nright < n - 1 and x[i] - x[nleft] > x[nright + 1] - x[i]:  # the window moves right
            nleft, nright = nleft + 1, nright + 1
            continue
        value = _local_fit(x, y, i, nleft, nright, rw)
        ys[i] = y[i] if value is None else value
        if last < i - 1:  # skipped points: interpolated
            alpha = (x[last + 1 : i] - x[last]) / (x[i] - x[last])
            ys[last + 1 : i] = alpha * ys[i] + (1 - alpha) * ys[last]
        last = i
        cut = x[last] + delta
        i = last + 1
        while i < n and x[i] <= cut:
            if x[i] == x[last]:
                ys[i] = ys[last]
                last = i
            i += 1
        i = max(last + 1, i - 1)
        if last >= n - 1:
            return


def _local_fit(x: np.ndarray, y: np.ndarray, i: int, nleft: int, nright: int, rw: np.ndarray | None) -> float | None:
    """The weighted local line at x[i] over the window (ties on the right picked up), None if every weight is 0."""
    xs = x[i]
    h = max(xs - x[nleft], x[nright] - xs)
    h9, h1 = 0.999 * h, 0.001 * h
    stop = int(np.searchsorted(x, xs + h, side="right")) + 1  # past every point the loop below may reach
    window = x[nleft:stop]
    r = np.abs(window - xs)
    beyond = np.flatnonzero((r > h9) & (window > xs))
    end = int(beyond[0]) if len(beyond) else len(window)
    window, r = window[:end], r[:end]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(r <= h9, np.where(r <= h1, 1.0, (1 - (r / h) ** 3) ** 3), 0.0)
    if rw is not None:
        w = w * rw[nleft : nleft + end]
    a = w.sum()
    if a <= 0:
        return None
    w = w / a
    if h > 0:
        center = float((w * window).sum())
        c = float((w * (window - center) ** 2).sum())
        if np.sqrt(c) > 0.001 * (x[-1] - x[0]):  # spread enough for a slope
            w = w * ((xs - center) / c * (window - center) + 1)
    return float((w * y[nleft : nleft + end]).sum())

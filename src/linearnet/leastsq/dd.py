"""Double-double arithmetic: error-free transformations (Dekker, Knuth; Ogita, Rump & Oishi's Dot2).

A sum or product of float64 numbers is held exactly as an unevaluated pair hi + lo. Residuals
and Gram matrices summed this way carry about 32 digits, so refinement converges to the
solution of the float64 data themselves rather than to one perturbed by rounding.
"""

from __future__ import annotations

import numpy as np

EPS = np.finfo(np.float64).eps  # float64's machine epsilon
_SPLITTER = 134217729.0  # 2**27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves
DD_BLOCK = 1 << 16  # elements of the temporaries of one block of double-double products


def two_sum(a, b):
    """a + b = s + e exactly."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _split(a):
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a, b):
    """a·b = p + e exactly (barring underflow)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def dd_add(ah, al, bh, bl):
    s, e = two_sum(ah, bh)
    return two_sum(s, e + (al + bl))


def _dd_sum(hi, lo, axis):
    """Σ along ``axis`` of the double-double numbers hi + lo, pairwise: (hi, lo)."""
    hi, lo = np.moveaxis(hi, axis, 0), np.moveaxis(lo, axis, 0)
    m = len(hi)
    if m == 0:
        return np.zeros(hi.shape[1:]), np.zeros(hi.shape[1:])
    while m > 1:
        h = m // 2
        sh, sl = dd_add(hi[:h], lo[:h], hi[h : 2 * h], lo[h : 2 * h])
        if m % 2:
            sh[0], sl[0] = dd_add(sh[0], sl[0], hi[2 * h], lo[2 * h])
        hi, lo, m = sh, sl, h
    return hi[0], lo[0]


def dd_dot(a, b, axis):
    """Σ along ``axis`` of the products a·b (broadcast), in double-double: (hi, lo)."""
    p, e = _two_prod(a, b)
    return _dd_sum(p, e, axis)


def dd_gram(A, y):
    """AᵀA and Aᵀy in double-double, in blocks of rows: ((hi, lo), (hi, lo))."""
    k = A.shape[1]
    Gh, Gl, bh, bl = np.zeros((k, k)), np.zeros((k, k)), np.zeros(k), np.zeros(k)
    rows = max(1, DD_BLOCK // (k * k))
    for i in range(0, len(A), rows):
        a = A[i : i + rows]
        Gh, Gl = dd_add(Gh, Gl, *dd_dot(a[:, :, None], a[:, None, :], axis=0))
        bh, bl = dd_add(bh, bl, *dd_dot(a, y[i : i + rows, None], axis=0))
    return (Gh, Gl), (bh, bl)


def dd_residual(A, y, z):
    """r = y − Az in double-double, in blocks of rows: (hi, lo)."""
    rh, rl = np.empty(len(y)), np.empty(len(y))
    rows = max(1, DD_BLOCK // A.shape[1])
    for i in range(0, len(y), rows):
        ph, pl = dd_dot(A[i : i + rows], z, axis=1)
        h, l = two_sum(y[i : i + rows], -ph)
        rh[i : i + rows], rl[i : i + rows] = two_sum(h, l - pl)
    return rh, rl


def dd_augmented_residuals(A, b, c, x, r):
    """f = b − r − Ax and g = c − Aᵀr, each summed in double-double and rounded once.

    A (n, k), b and r (n, m), c and x (k, m): the residuals of the augmented system
    [I A; Aᵀ 0][r; x] = [b; c] for m right-hand sides at once.
    """
    n, k = A.shape
    m = b.shape[1]
    f = np.empty_like(r)
    gh, gl = np.zeros((k, m)), np.zeros((k, m))
    rows = max(1, DD_BLOCK // (k * m))
    for i in range(0, n, rows):
        a = A[i : i + rows]
        ph, pl = dd_dot(a[:, :, None], x[None, :, :], axis=1)
        h, l = two_sum(b[i : i + rows], -r[i : i + rows])
        h2, l2 = two_sum(h, -ph)
        f[i : i + rows] = h2 + ((l + l2) - pl)
        gh, gl = dd_add(gh, gl, *dd_dot(a[:, :, None], r[i : i + rows, None, :], axis=0))
    h, l = two_sum(c, -gh)
    return f, h + (l - gl)

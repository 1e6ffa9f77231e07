"""Iterative refinement: corrections from residuals summed in double-double, until they stop shrinking.

Of the coefficients against the data (the semi-normal equations, a pass per step), against the
normal equations summed in double-double (O(k³) a step), or of the augmented system with the
thin QR factors in memory (Björck).
"""

from __future__ import annotations

import math

import numpy as np

from .dd import dd_augmented_residuals, dd_dot, two_sum
from .factor import solve_r, solve_triangular
from .passes import residual_pass

_MAX_REFINE = 30


def _change(dx, x):
    """The size of a correction: max |dx| / |x| over the entries, those near 0 measured against max |x|."""
    floor = 1e-18 * float(np.max(np.abs(x))) + 1e-300
    return float(np.max(np.abs(dx) / np.maximum(np.abs(x), floor)))


def refine(correction, x, tol, measure=lambda v: v):
    """x += correction(x) until the corrections reach ``tol`` or stop shrinking; returns x and the steps.

    The size of a correction is its largest entry relative to x's (componentwise). Refinement
    goes on while that size at least halves a step, or while the largest entry itself
    (normwise) at least falls fourfold: a componentwise size that grows then is taken for x's
    small entries not yet found, not for a stall. A correction that grows
    normwise to more than twice the one before means the iteration diverges (the condition
    is beyond what it converges for): the step before it is undone.
    """
    steps, previous, previous_norm, last = 0, math.inf, math.inf, None
    for steps in range(1, _MAX_REFINE + 1):  # noqa: B007 - the count of steps taken is returned
        dx = correction(x)
        size, norm = _change(measure(dx), measure(x)), float(np.max(np.abs(measure(dx))))
        if size > previous / 2 and norm > previous_norm / 4:  # converged to rounding level, or diverging
            if last is not None and norm > 2 * previous_norm:
                x = x - last
            break
        x, last, previous, previous_norm = x + dx, dx, size, norm
        if size <= tol:
            break
    return x, steps


def refine_seminormal(chunks, z, R, d, fit_intercept, extended, tol, group=None):
    """Iterative refinement z += R⁻¹R⁻ᵀ (AD)ᵀr of the scaled coefficients, a pass over the data per step.

    Returns z, the steps, and what the last pass found: (its z, (AD)ᵀr there, rᵀr there), from
    which the residual sum of squares at the z returned follows with no pass more.
    """
    last: list = []

    def correction(v):
        g, rss = residual_pass(chunks, v, d, fit_intercept, extended, group=group)
        last[:] = [v, g, rss]
        return solve_r(R, g)

    z, steps = refine(correction, z, tol)
    return z, steps, tuple(last)


def rss_from(last, z: np.ndarray, Gs: np.ndarray) -> float:
    """‖y − ADz‖² from a pass at a nearby z₀ that found g = (AD)ᵀr₀ and r₀ᵀr₀: with δ = z − z₀,
    ‖r₀ − ADδ‖² = r₀ᵀr₀ − 2δᵀg + δᵀ(AD)ᵀ(AD)δ, exact algebra; δ is the last refinement step
    (or nothing), so the two terms added are at rounding level beside r₀ᵀr₀."""
    z0, g, rss = last
    delta = z - z0
    if not delta.any():
        return rss
    return float(rss - 2 * (delta @ g) + delta @ (Gs @ delta))


def refine_normal(G, rhs, R, x, tol, measure=lambda v: v):
    """Refine x in G x = rhs, with G = (hi, lo) and rhs = (hi, lo) in double-double and R ≈ chol(G).

    x is (k,) or (k, m); each step costs O(k²m), not a pass over the data.
    """
    Gh, Gl = G
    bh, bl = rhs

    def correction(x):
        ph, pl = dd_dot(Gh[:, :, None], x.reshape(len(x), -1)[None, :, :], axis=1)
        h, l = two_sum(bh.reshape(ph.shape), -ph)
        return solve_r(R, h + ((l + bl.reshape(ph.shape)) - (pl + Gl @ x.reshape(ph.shape)))).reshape(x.shape)

    return refine(correction, x, tol, measure)


def augmented(As, Q, R, b, c, x, r, tol, measure=lambda v: v):
    """Björck's refinement of [I As; Asᵀ 0][r; x] = [b; c] with the thin QR factors of As.

    Residuals in double-double; each step shrinks the error by about cond(As)·ε.
    b, r (n, m); c, x (k, m). Returns x, r and the steps taken.
    """
    k = len(x)

    def correction(xr):
        f, g = dd_augmented_residuals(As, b, c, xr[:k], xr[k:])
        qf_h = Q.T @ f - solve_triangular(R, g, trans="T")
        return np.concatenate([solve_triangular(R, qf_h), f - Q @ qf_h])

    xr, steps = refine(correction, np.concatenate([x, r]), tol, lambda v: measure(v[:k]))
    return xr[:k], xr[k:], steps

"""Newton's method for the multinomial logit, and what tells a finite optimum from none.

Each iteration is one pass over the data (:func:`.sums.newton_sums`): the step solves H·Δ = g with the
exact Hessian's Cholesky factor, and a backtracking line search halves it until the log-likelihood
rises by at least a ten-thousandth of what the quadratic model promised; once that gain is below the
rounding of ℓ itself (1e-12 of |ℓ|), near the optimum, the step is taken whole, as Newton's method
converges there. The iteration stops after the step whose Newton decrement λ² = gᵀH⁻¹g (about twice the
gain the step brings) was below ``1e-20`` of max(1, |ℓ|), which in quadratic convergence leaves the
coefficients within far less than that of their optimum relative to their standard errors; or below
1e-12 of it without falling quadratically any more (the rounding of the sums is reached).

**No finite optimum.** When the classes are separated, ℓ creeps toward a limit while the coefficients
run off along a direction D: Newton then converges only linearly (each decrement about e⁻¹ of the one
before), where a finite optimum is approached quadratically. When the decrements fall steadily but not
quadratically, the last step's direction is tested over the data (:func:`.sums.margins`): when no row's
observed class loses against another class along D and some rows' win, D certifies the separation
(Albert and Anderson's condition for the optimum to be at infinity), and the fit says so, with the
separated classes and the columns along which they part, instead of standard errors.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from ..leastsq.passes import Group, Rows
from .sums import Sums, margins, newton_sums, one_blas_thread

DECREMENT_TOL = 1e-20  # of max(1, |ℓ|): the decrement at which the iteration stops
FLOOR = 1e-12  # of max(1, |ℓ|): a decrement this small that no longer falls quadratically is the sums' rounding
NOISE = 1e-12  # of max(1, |ℓ|): a gain this small is below the rounding of ℓ: the step is taken whole
CHORD = 1e-3  # a step of an earlier Hessian must cut the decrement by this for the next to leave it out too
STILL = 3e-11  # a last step moving no linear predictor by more than this leaves the standard errors to 10 digits
_ARMIJO = 1e-4
_LINEAR = (1e-3, 0.95)  # decrement ratios of an iteration converging linearly, as along a separation


@dataclass
class Separation:
    """A direction along which the classes part: the rows of each class it tells apart (``strict``) and the
    columns it runs along (indices into the design's columns)."""

    strict: np.ndarray  # (K,) rows per class whose margin along D is positive
    columns: list[int]


@dataclass
class NewtonFit:
    """Where Newton's method stopped: the parameters B (scaled units), the sums at B, the upper Cholesky
    factor of the Hessian there (None when it is not positive definite), and how it ended."""

    B: np.ndarray
    sums: Sums
    factor: np.ndarray | None
    iterations: int
    converged: bool
    separation: Separation | None
    decrement: float


def newton_step(sums: Sums) -> tuple[np.ndarray, float, np.ndarray | None]:
    """The Newton step Δ = H⁻¹g (shaped as the gradient), the decrement gᵀΔ, and H's upper Cholesky factor
    (None when H is not positive definite numerically: then the step of its pseudo-inverse)."""
    g = sums.gradient.T.ravel()  # class-major, as the Hessian
    H = sums.hessian
    assert H is not None
    with one_blas_thread():  # a matrix of a few hundred rows: threads only wait on each other
        try:
            U = np.linalg.cholesky(H).T
            Uinv = np.linalg.inv(U)  # triangular: its LU needs no pivot, so this is back substitution
            step = Uinv @ (Uinv.T @ g)
        except np.linalg.LinAlgError:
            U = None
            lam, V = np.linalg.eigh(H)
            keep = lam > lam.max() * 1e-14 if lam.max() > 0 else np.zeros(len(lam), bool)
            step = V[:, keep] @ ((V[:, keep].T @ g) / lam[keep])
    p, q = sums.gradient.shape
    return step.reshape(q, p).T, float(g @ step), U


@dataclass
class _Pass:
    """The data and how to pass over them: what every pass of the iteration is called with."""

    chunks: Rows
    d: np.ndarray
    fit_intercept: bool
    group: Group | None
    tol: float  # a margin along a separating direction below this (scaled) is zero
    col_max: np.ndarray

    def sums(self, B: np.ndarray, hessian: bool = True) -> Sums:
        return newton_sums(self.chunks, B, self.d, self.fit_intercept, self.group, hessian=hessian)

    def moves(self, step: np.ndarray) -> float:
        """A bound on how far the step moves any row's linear predictors against each other: the most
        |a·(Δ_k − Δ_l)| can be over the rows, from each column's largest |value|."""
        return 2.0 * float((self.col_max * self.d) @ np.abs(step).max(axis=1))

    def separation(self, step: np.ndarray) -> Separation | None:
        """The step's direction, when it certifies a separation (no row's margin below −tol, some above)."""
        scale = float(np.abs(step).max())
        if not math.isfinite(scale) or scale == 0:
            return None
        D = step / scale
        weight = (self.col_max * self.d) * np.abs(D).max(axis=1)  # how far each column moves the predictors
        bound = self.tol * 2 * float(weight.sum())
        low, strict = margins(self.chunks, D, self.d, self.fit_intercept, bound, self.group)
        if low < -bound or strict.sum() == 0:
            return None
        return Separation(strict, [int(j) for j in np.flatnonzero(weight > 1e-3 * weight.max())])


def newton(
    chunks: Rows,
    B: np.ndarray,
    d: np.ndarray,
    fit_intercept: bool,
    *,
    tol: float,
    col_max: np.ndarray,
    group: Group | None = None,
    max_iter: int = 100,
    hessian: np.ndarray | None = None,
    chord: bool = True,
) -> NewtonFit:
    """Newton's method with a line search from B until the decrement is below DECREMENT_TOL·max(1, |ℓ|),
    ℓ stops rising, or a separation is certified. ``tol`` is the margin below which a row is on the
    boundary of a separating direction, relative to the largest a row could have (:func:`.sums.margins`).
    ``hessian``, an approximation of the Hessian at B (a sample's, scaled to the rows), takes the first
    step, so that the first pass sums ℓ and the gradient alone.

    Near the optimum, once the decrements fall faster than linearly, passes leave the Hessian out (a
    fifth of the work) and step with the last one computed, as long as each such step cuts the decrement
    by CHORD or more; the pass after the last step computes it again, for the standard errors. Without
    ``chord`` (data read from a file each pass, where reading costs more than the Hessian) every pass takes it."""
    data = _Pass(chunks, d, fit_intercept, group, tol, col_max)
    walk = _Walk(B, data.sums(B, hessian=hessian is None), hessian)
    checked = 0
    for iteration in range(1, max_iter + 1):
        here = walk.here()
        step, decrement, U = newton_step(here)
        if walk.record(decrement) and data.moves(step) <= STILL:
            # the step moves no linear predictor by more than STILL: each row's weights in the Hessian change
            # by less than about 3·STILL, the standard errors by half that, and ℓ by the decrement (below its
            # rounding): the pass that would confirm it is left out
            return _ended(data, walk.B + step, here, U, iteration, walk.decrements, step)
        last = _done(walk.trail, here.loglik)  # the pass after this step will be the last: it takes the Hessian
        with_hessian = last or not walk.may_chord(chord)
        trial: Sums | None
        if decrement <= NOISE * max(1.0, abs(here.loglik)):  # a gain below ℓ's rounding: the full step
            trial, t = data.sums(walk.B + step, hessian=with_hessian), 1.0
        else:
            trial, t = _line_search(data, walk.B, here, step, decrement, hessian=with_hessian)
        if trial is None and not walk.exact:  # the step of an earlier Hessian does not raise ℓ: the Hessian here
            walk.restart(data.sums(walk.B))
            continue
        if trial is None:  # ℓ cannot rise any more in float64: the sums' rounding is reached
            return _ended(data, walk.B, here, U, iteration, walk.decrements, step)
        walk.move(t * step, trial)
        if walk.exact and last and walk.ended:  # a second pass after a step below the tolerance: the rounding
            here = walk.here()
            _, final, U = newton_step(here)
            return _ended(data, walk.B, here, U, iteration, [*walk.decrements, final], step)
        walk.ended = walk.ended or (walk.exact and last)
        if walk.exact and iteration - checked >= 3 and _linear(walk.decrements):
            checked = iteration
            found = data.separation(step)
            if found is not None:
                return NewtonFit(walk.B, walk.sums, None, iteration, False, found, decrement)
    here = walk.here()
    step, decrement, U = newton_step(here)
    found = data.separation(step)
    return NewtonFit(walk.B, here, None if found or not walk.exact else U, max_iter, False, found, decrement)


class _Walk:
    """Where the iteration is: B, the sums there, the Hessian its steps take (B's own when ``exact``, else
    an earlier one or an approximation), and the decrements so far."""

    def __init__(self, B: np.ndarray, sums: Sums, hessian: np.ndarray | None):
        self.B, self.sums = B, sums
        self.H = sums.hessian if hessian is None else hessian
        self.exact = hessian is None
        self.decrements: list[float] = []  # of the passes with the Hessian
        self.trail: list[float] = []  # of every pass
        self.ended = False  # whether a pass with the Hessian followed a step below the tolerance

    def here(self) -> Sums:
        return Sums(self.sums.loglik, self.sums.gradient, self.H)

    def record(self, decrement: float) -> bool:
        """Note the decrement at B; whether it is B's own (its Hessian's) and below the tolerance."""
        self.trail.append(decrement)
        if not self.exact:
            return False
        self.decrements.append(decrement)
        return _done(self.decrements, self.sums.loglik)

    def may_chord(self, allowed: bool) -> bool:
        return allowed and _chord(self.exact, self.decrements, self.trail)

    def move(self, step: np.ndarray, sums: Sums) -> None:
        self.B, self.sums = self.B + step, sums
        self.exact = sums.hessian is not None
        self.H = sums.hessian if self.exact else self.H

    def restart(self, sums: Sums) -> None:
        """B's sums again, with its Hessian."""
        self.sums, self.H, self.exact = sums, sums.hessian, True


def _chord(exact: bool, decrements: list[float], trail: list[float]) -> bool:
    """Whether the next pass may leave the Hessian out and step with the last one: after a pass with the
    Hessian, when the decrement fell by a hundredfold or more and is below 10 (Newton's quadratic phase, not
    the linear creep of a separation); after one without, when that step cut the decrement by CHORD."""
    if len(trail) < 2 or trail[-2] <= 0:
        return False
    ratio = trail[-1] / trail[-2]
    if exact:
        return len(decrements) >= 1 and trail[-1] <= 10.0 and ratio <= 1e-2
    return ratio <= CHORD


def _done(decrements: list[float], loglik: float) -> bool:
    """Whether the step just taken was the last: its decrement below DECREMENT_TOL·max(1, |ℓ|), or below
    FLOOR·max(1, |ℓ|) and no longer falling quadratically (the rounding of the sums is reached)."""
    scale = max(1.0, abs(loglik))
    last = decrements[-1]
    if last <= DECREMENT_TOL * scale:
        return True
    return last <= FLOOR * scale and len(decrements) > 1 and last > 0.25 * decrements[-2]


def _line_search(data: _Pass, B, sums: Sums, step, decrement: float, hessian: bool = True) -> tuple[Sums | None, float]:
    """The sums at B + t·step for the first t of 1, ½, ¼, ... at which ℓ rises enough (Armijo's rule);
    None when none does. Without ``hessian`` (a step of an earlier Hessian) only t = 1 is tried."""
    t = 1.0
    while t >= 2.0**-40:
        trial = data.sums(B + t * step, hessian=hessian)
        if trial.loglik >= sums.loglik + _ARMIJO * t * decrement:
            return trial, t
        if not hessian:
            return None, t
        t /= 2
    return None, t


def _ended(data: _Pass, B, sums: Sums, U, iteration: int, decrements: list[float], step) -> NewtonFit:
    """The end of the iteration: converged, unless the decrements fell linearly and the last step's
    direction separates the classes."""
    if _linear(decrements[:-1]) or _linear(decrements):
        found = data.separation(step)
        if found is not None:
            return NewtonFit(B, sums, None, iteration, False, found, decrements[-1])
    return NewtonFit(B, sums, U, iteration, U is not None, None, decrements[-1])


def _linear(decrements: list[float]) -> bool:
    """Whether the last four decrements fell steadily but not quadratically (each ratio within _LINEAR)."""
    last = decrements[-4:]
    if len(last) < 4 or not all(a > 0 for a in last):
        return False
    return all(_LINEAR[0] <= b / a <= _LINEAR[1] for a, b in itertools.pairwise(last))

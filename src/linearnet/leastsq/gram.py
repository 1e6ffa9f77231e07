"""The first pass over arrays in memory, in one read of X, on both cores.

The rows are cut into up to 16 lanes of consecutive blocks of rows (a few MB each, in cache while they
are used); a lane adds, block after block, XᵀX, Xᵀ[y, r₀, 1] and [y, r₀, 1]ᵀ[y, r₀, 1], where
r₀ = y − Aβ₀ are the residuals of a provisional solution β₀ (least squares on the first rows). With
two cores free, two threads take the lanes in turn, each the next one not yet taken, so that a thread
slowed by a busy core takes fewer (NumPy's products release the GIL; BLAS runs on one thread in each,
since OpenBLAS's own threads do not split the long inner dimension of XᵀX); otherwise one thread takes
them all. Which lanes there are depends on the number of rows alone, each sums its blocks in order, and
the lanes' sums are added last in lane order: the sums are the same numbers on one thread or two,
however the threads were scheduled.

With Aᵀr₀ and r₀ᵀr₀ from the same read, the solve needs no pass more (:class:`Provisional`): the
correction δ of (AᵀA)δ = Aᵀr₀ gives β = β₀ + δ, and ‖y − Aβ‖² = r₀ᵀr₀ − δᵀAᵀr₀.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from dataclasses import dataclass

import numpy as np

from .dd import EPS

BLOCK = 4096  # rows a block: 3.2 MB of 100 float64 columns
_SAMPLE = 10_000  # rows of the provisional solution β₀ (its products: about 1/30 of a read of 1M rows)
_LANES = 16  # at most; a thread slowed by a busy core leaves the others at most a lane's work to wait for
_LAMBDA = 8.0  # the multiple of a sum's random-walk rounding error taken as its bound


@dataclass
class Provisional:
    """What the read found at the provisional solution β₀ (intercept first, as in A = [1, X]): g = Aᵀr₀ and
    r₀ᵀr₀ for r₀ = y − Aβ₀, computed in float64, and ``rounding``, an estimate of ‖e‖ for the rounding error e
    of r₀: each r₀ᵢ = yᵢ − aᵢβ₀ is off by about u·(|yᵢ| + |r₀ᵢ| + √k·‖aᵢ∘β₀‖) (u = ε/2; the errors of a sum
    of k products add as a random walk over its partial sums)."""

    beta: np.ndarray
    g: np.ndarray
    rr: float
    rounding: float

    def error(self, rss: float, n: int) -> float:
        """An estimate of the relative error of ‖y − Aβ‖² = ``rss`` found from r₀'s sums (r₀ᵀr₀ − δᵀAᵀr₀ for
        β = β₀ + δ). The residuals of the computed r₀ are r + P⊥e, so rss is off by 2rᵀP⊥e + ‖P⊥e‖²; rᵀP⊥e,
        a sum of n products of rounding errors with the residuals, is taken at λ = 8 times its random-walk
        size ‖r‖·‖e‖/√n (rounding errors behave as independent of the values, Higham & Mary's
        probabilistic analysis; exceeded with probability below 1e-13). And √n·u·r₀ᵀr₀/rss for the sums
        themselves, which cancel to the residuals' as far as β₀ was off."""
        if not rss > 0:
            return math.inf
        ratio = self.rounding / math.sqrt(rss)
        return 2 * _LAMBDA * ratio / math.sqrt(n) + ratio**2 + math.sqrt(n) * EPS / 2 * self.rr / rss


def read(X: np.ndarray, y: np.ndarray, fit_intercept: bool, threads: int | None = None):
    """β₀ (:func:`provisional`) and the sums M at it (:func:`sums`): the first pass over arrays in memory."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    with threadpool_limits(1, user_api="blas"):  # the sample's products too: OpenBLAS's threads lose on them
        beta0 = provisional(X, y, fit_intercept)
        return beta0, sums(X, y, beta0, fit_intercept, threads)


def provisional(X: np.ndarray, y: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """β₀: least squares on the first rows, from their normal equations (what matters is that r₀ = y − Aβ₀ is
    small beside y, not β₀'s digits); 0 where those rows give nothing finite."""
    Xs, ys = X[:_SAMPLE], y[:_SAMPLE]
    off, p = int(fit_intercept), X.shape[1]
    G, b = np.empty((p + off, p + off)), np.empty(p + off)
    with np.errstate(all="ignore"):
        G[off:, off:], b[off:] = np.dot(Xs.T, Xs), np.dot(Xs.T, ys)
        if off:  # A = [1, X]: n, the column sums and Σy
            G[0, 0], G[0, 1:], b[0] = len(ys), Xs.sum(axis=0), ys.sum()
            G[1:, 0] = G[0, 1:]
        if not (np.isfinite(G).all() and np.isfinite(b).all()):
            return np.zeros(p + off)
        beta = np.linalg.lstsq(G, b, rcond=None)[0]  # rank deficient or not
    return beta if np.isfinite(beta).all() else np.zeros(p + off)


def sums(X: np.ndarray, y: np.ndarray, beta0: np.ndarray, fit_intercept: bool, threads: int | None = None):
    """M = BᵀB, (p + 3) × (p + 3), for B = [X, y, r₀, 1], r₀ = y − Aβ₀: one read of X, lane by lane.

    ``threads``: 1 or 2 (default: 2 where two cores are free to this process and there are blocks for both).
    """
    from threadpoolctl import threadpool_limits

    n, p = X.shape
    off = int(fit_intercept)
    slope, b0 = beta0[off:], (float(beta0[0]) if off else 0.0)
    blocks = -(-n // BLOCK)
    count = max(1, min(_LANES, blocks))
    cuts = [BLOCK * (blocks * i // count) for i in range(count + 1)]  # lane i: rows cuts[i] to cuts[i + 1]
    lanes: list = [None] * count
    taken = itertools.count()  # the next lane not yet taken (next() on it is atomic under the GIL)

    def take() -> None:
        while (i := next(taken)) < count:
            try:
                lanes[i] = _lane(X[cuts[i] : cuts[i + 1]], y[cuts[i] : cuts[i + 1]], slope, b0)
            except BaseException as error:  # raised again by the caller's thread, once every lane is done
                lanes[i] = error

    if threads is None:
        threads = 2 if blocks > 1 and _free_cores() >= 2 else 1
    with np.errstate(over="ignore", invalid="ignore"), threadpool_limits(1, user_api="blas"):
        if threads >= 2:  # sums that overflow are refused by name after the pass
            workers = [threading.Thread(target=take) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        else:
            take()
        for part in lanes:
            if isinstance(part, BaseException):
                raise part
        XtX, XtY, YtY = (np.sum([part[j] for part in lanes], axis=0) for j in range(3))
    M = np.empty((p + 3, p + 3))
    M[:p, :p], M[:p, p:], M[p:, :p], M[p:, p:] = XtX, XtY, XtY.T, YtY
    return M


def _lane(X: np.ndarray, y: np.ndarray, slope: np.ndarray, b0: float):
    """A lane's sums: XᵀX, Xᵀ[y, r₀, 1] and [y, r₀, 1]ᵀ[y, r₀, 1] over its rows, a block at a time, in order."""
    n, p = X.shape
    XtX, YtX, YtY = np.zeros((p, p)), np.zeros((3, p)), np.zeros((3, 3))
    rows = np.empty((3, BLOCK))  # [y, r₀, 1]ᵀ of a block, row by row (YᵀX as one product of 3 rows: the fastest)
    for lo in range(0, n, BLOCK):
        a = X[lo : lo + BLOCK]
        Y = rows[:, : len(a)]
        Y[0] = y[lo : lo + BLOCK]
        np.dot(a, slope, out=Y[1])
        np.subtract(Y[0], Y[1], out=Y[1])
        Y[1] -= b0
        Y[2] = 1.0
        XtX += np.dot(a.T, a)  # numpy's dot: BLAS's syrk for a product of a matrix with itself, without the GIL
        YtX += np.dot(Y, a)
        YtY += np.dot(Y, Y.T)
    return XtX, YtX.T, YtY


def _free_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1

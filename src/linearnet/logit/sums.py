"""The passes of a multinomial-logit fit: each reads every chunk once and sums what a Newton step needs.

The model: K classes coded 0..K−1, class 0 the reference; for a row a (the design's row: 1 for the
intercept when fitted, then the features, each column scaled by a power of two) and the
parameters B (p × (K−1), one column per non-reference class), the linear predictors are
η = aᵀB (η₀ = 0 for the reference) and P(class k | a) = exp(η_k) / Σ_j exp(η_j).

A pass at B sums the log-likelihood ℓ, its gradient Aᵀ(Y − P) and the Hessian of −ℓ, whose block
(k, l) is Σ_i P_ik(δ_kl − P_il)·a_i a_iᵀ: one matrix product (w·A)ᵀA per block, in the orientation
BLAS runs fastest. The weights P_k(1 − P_k) of the diagonal blocks take 1 − P_k as the sum of the
other classes' probabilities, so that a row fitted with P_k near 1 keeps its digits. With a
``group`` each process sums its share of the rows, and the sums are added in rank order.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import functools
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..leastsq.passes import Group, Rows, everyone, total

_T = TypeVar("_T")


@dataclass
class Counts:
    """What the first pass finds: the rows, the rows of each class, and the Gram matrix AᵀA of the design,
    that its scaling and (when well-conditioned) its rank come from."""

    n: int
    counts: np.ndarray  # (K,) rows per class
    G: np.ndarray  # (p, p)
    col_max: np.ndarray  # (p,) the largest |value| of each column of A
    finite: bool


@dataclass
class Sums:
    """The sums of one pass at B: ℓ, its gradient (p, K−1), and the Hessian of −ℓ (p(K−1) square,
    class-major: the parameters of class 1, then of class 2, ...)."""

    loglik: float
    gradient: np.ndarray
    hessian: np.ndarray | None


def first_pass(chunks: Rows, fit_intercept: bool, p: int, K: int, group: Group | None = None) -> Counts:
    """Rows, rows per class and the Gram matrix of the design, in one pass; labels outside 0..K−1 are
    refused, values that are not finite said."""

    def piece(Xc, yc):
        At = scaled_design(Xc, fit_intercept, np.ones(p))
        with np.errstate(invalid="ignore", over="ignore"):  # a value that is not finite is said after the pass
            G = np.dot(At, At.T)
        if not np.isfinite(G).all() and not np.isfinite(At).all():  # a NaN or inf makes its row's square one
            return None
        codes = np.asarray(yc)
        if len(codes) and (codes.min() < 0 or codes.max() >= K):
            bad = codes[(codes < 0) | (codes >= K)][0]
            raise ValueError(f"class code {bad} is not one of 0..{K - 1}")
        col_max = np.abs(At).max(axis=1) if At.shape[1] else np.zeros(p)
        return G, np.bincount(codes.astype(np.int64), minlength=K), col_max

    def part():
        found = summed(chunks, _piece_rows(p), piece, threads=group is None)
        kept = [x for x in found if x is not None]
        if not kept:
            return np.zeros((p, p)), np.zeros(K, dtype=np.int64), np.zeros(p), len(kept) == len(found)
        col_max = np.max([x[2] for x in kept], axis=0)
        return total([x[0] for x in kept]), total([x[1] for x in kept]), col_max, len(kept) == len(found)

    parts = everyone(group, part)
    counts = total([q[1] for q in parts]).astype(np.int64)
    col_max = np.max([q[2] for q in parts], axis=0)
    return Counts(int(counts.sum()), counts, total([q[0] for q in parts]), col_max, all(q[3] for q in parts))


def probabilities(eta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For linear predictors η (K−1, m) of the non-reference classes, a row per class: the probabilities of
    all K classes (K, m), 1 − P_k for each (K, m) computed as the sum of the others, and log Σ_j exp(η_j)
    (m,). A class per row keeps each operation one long loop over the rows."""
    m = eta.shape[1]
    full = np.empty((len(eta) + 1, m))
    full[0] = 0.0
    full[1:] = eta
    top = full.argmax(axis=0)
    rows = np.arange(m)
    peak = full[top, rows]
    e = np.exp(np.subtract(full, peak, out=full), out=full)  # the largest is exactly 1
    e[top, rows] = 0.0
    rest = e.sum(axis=0)  # Σ of the others, without the 1: no cancellation
    scale = 1.0 + rest
    log_sum = peak + np.log1p(rest)
    inverse = 1.0 / scale
    others = (scale - e) * inverse  # 1 − P_k for k not on top: 1 + rest − e_k ≥ 1
    others[top, rows] = rest * inverse
    e[top, rows] = 1.0
    return np.multiply(e, inverse, out=e), others, log_sum


def newton_sums(
    chunks: Rows,
    B: np.ndarray,
    d: np.ndarray,
    fit_intercept: bool,
    group: Group | None = None,
    hessian: bool = True,
) -> Sums:
    """ℓ, gradient and (with ``hessian``) the Hessian at B (the design's columns scaled by ``d``), summed over
    one pass; without ``hessian`` the pass costs about a fifth, and ``Sums.hessian`` is None."""
    p, q = B.shape
    Bt = np.ascontiguousarray(B.T)

    def piece(Xc, yc):
        At = scaled_design(Xc, fit_intercept, d)
        eta = np.dot(Bt, At)
        P, others, log_sum = probabilities(eta)
        codes = np.asarray(yc, dtype=np.int64)
        hit = np.flatnonzero(codes > 0)
        rows = codes[hit] - 1
        loglik = float(eta[rows, hit].sum() - log_sum.sum())
        residual = np.negative(P[1:])  # Y − P: 1 − P in the observed class, as 1 − P was
        residual[rows, hit] = others[1:][rows, hit]
        g = np.dot(At, residual.T)
        return loglik, g, _hessian(At, P[1:], others[1:]) if hessian else None

    def part():
        parts = summed(chunks, _piece_rows(p), piece, threads=group is None)
        return (
            math.fsum(x[0] for x in parts),
            total([x[1] for x in parts]) if parts else np.zeros((p, q)),
            (total([x[2] for x in parts]) if parts else _packed_zeros(p, q)) if hessian else None,
        )

    parts = everyone(group, part)
    H = _unpacked(total([x[2] for x in parts]), p, q) if hessian else None
    return Sums(loglik=math.fsum(x[0] for x in parts), gradient=total([x[1] for x in parts]), hessian=H)


def summed(chunks: Rows, rows: int, work: Callable[[np.ndarray, np.ndarray], _T], threads: bool = True) -> list[_T]:
    """``work`` of each piece of ``rows`` rows of the chunks, in the pieces' order, computed on up to
    :func:`workers` threads: a thread takes the next piece when it is free, so that a core taken by another
    process slows the pass by its share and no more, and the results, added in order by the caller, are
    the same numbers whichever thread computed them. At most two pieces a thread are in memory at once.
    The pieces' products are ``np.dot``'s: numpy's ``@`` holds the interpreter's lock through a product of
    these shapes (21 × 2,048 by 2,048 × 21: two threads took as long as one), ``np.dot`` lets it go."""
    n_threads = workers() if threads else 1
    with one_blas_thread():
        if n_threads == 1:
            return [work(Xc, yc) for Xc, yc in _pieces(chunks, rows)]
        out: list[_T] = []
        pending: collections.deque = collections.deque()
        pool = _pool(n_threads)
        for Xc, yc in _pieces(chunks, rows):
            pending.append(pool.submit(work, Xc, yc))
            if len(pending) >= 2 * n_threads:
                out.append(pending.popleft().result())
        out.extend(f.result() for f in pending)
        return out


def workers() -> int:
    """The threads of a pass: the cores this process may run on, at most four (a pass's pieces are
    small: beyond a few threads they wait on memory)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


@functools.cache
def _pool(n_threads: int) -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(n_threads, thread_name_prefix="linearnet-pass")


if hasattr(os, "register_at_fork"):  # a forked child has none of its parent's threads: it starts its own pool
    os.register_at_fork(after_in_child=_pool.cache_clear)


def _pieces(chunks: Rows, rows: int):
    """The chunks' rows, ``rows`` at a time: a piece's probabilities, weights and products then stay in the
    cache from the first use to the last (a pass over 1,000,000 × 21 rows, 5 classes, in pieces of 8,332
    rows took 0.52 s against 0.66 s for chunks of 65,536)."""
    for Xc, yc in chunks():
        Xc, yc = np.asarray(Xc), np.asarray(yc)
        for s in range(0, len(Xc), rows):
            yield Xc[s : s + rows], yc[s : s + rows]


def scaled_design(Xc, fit_intercept: bool, d: np.ndarray) -> np.ndarray:
    """The chunk's scaled design, transposed: (A·diag(d))ᵀ, a row per column of the design, in one copy
    (the numbers of ``design(Xc, fit_intercept) * d`` without the unscaled copy between)."""
    Xc = np.asarray(Xc)
    offset = int(fit_intercept)
    At = np.empty((len(d), len(Xc)))
    if fit_intercept:
        At[0] = d[0]
    np.multiply(Xc.T, d[offset:, None], out=At[offset:])
    return At


def _hessian(At: np.ndarray, P: np.ndarray, others: np.ndarray) -> np.ndarray:
    """A piece's Hessian, packed: for each pair of classes k ≤ l (a row), the upper triangle of its block
    Σ P_k(δ_kl − P_l)·a aᵀ, every block being symmetric (:func:`_unpacked` spreads them out). One product
    W·Uᵀ per block of rows, W holding the weights P_k(1 − P_k) and P_k P_l, U the products a_j a_j' (j ≤ j') of
    each row: half the work of a product per block of classes, and 0.37 s instead of 0.55 s for 1M × 21 rows,
    5 classes, on one core. The diagonal blocks' weights take 1 − P_k as the sum of the other classes'."""
    p, m_all = At.shape
    q = len(P)
    pairs = p * (p + 1) // 2
    rows = int(np.clip(16_000_000 // (8 * pairs), 256, 8192))  # U within 16 MB
    U = np.empty((pairs, min(rows, m_all)))
    W = np.empty((q * (q + 1) // 2, min(rows, m_all)))
    packed = np.zeros((len(W), pairs))
    for s in range(0, m_all, rows):
        a = At[:, s : s + rows]
        m = a.shape[1]
        Um, Wm = U[:, :m], W[:, :m]
        at = 0
        for j in range(p):
            np.multiply(a[j:], a[j], out=Um[at : at + p - j])
            at += p - j
        c = 0
        for k in range(q):
            np.multiply(P[k, s : s + rows], others[k, s : s + rows], out=Wm[c])
            np.multiply(P[k + 1 :, s : s + rows], P[k, s : s + rows], out=Wm[c + 1 : c + q - k])
            c += q - k
        packed += np.dot(Wm, Um.T)
    return packed


def _packed_zeros(p: int, q: int) -> np.ndarray:
    return np.zeros((q * (q + 1) // 2, p * (p + 1) // 2))


def _unpacked(packed: np.ndarray, p: int, q: int) -> np.ndarray:
    """The Hessian of −ℓ (pq square, class-major) from its packed blocks (:func:`_hessian`): block (k, l) is
    the packed row's triangle mirrored, with the sign of −P_k P_l off the diagonal of classes."""
    H = np.empty((p * q, p * q))
    upper = np.triu_indices(p)
    c = 0
    for k in range(q):
        for l in range(k, q):
            block = np.zeros((p, p))
            block[upper] = packed[c] if k == l else -packed[c]
            block = block + np.triu(block, 1).T
            H[k * p : (k + 1) * p, l * p : (l + 1) * p] = block
            H[l * p : (l + 1) * p, k * p : (k + 1) * p] = block  # symmetric: its own transpose
            c += 1
    return H


def one_blas_thread() -> contextlib.AbstractContextManager:
    """One BLAS thread for a pass's products: each is a block of a few thousand rows, too small to share
    between cores, and on a busy machine the threads wait on each other (the 10-class digits, 549
    parameters: a pass took 0.86 s on two threads beside a busy process, 0.03 s on one). The pass's own
    threads (:func:`summed`) share the pieces instead."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(1, user_api="blas")


def _piece_rows(p: int) -> int:
    """The rows of a piece a thread takes: four blocks of about 350 kB of the design (8,332 rows of 21
    columns), between 1,024 and 32,768 rows."""
    return int(np.clip(4 * (350_000 // (8 * p)), 1024, 32768))


def margins(
    chunks: Rows, D: np.ndarray, d: np.ndarray, fit_intercept: bool, tol: float, group: Group | None = None
) -> tuple[float, np.ndarray]:
    """How the direction D (p × (K−1)) parts the classes: for each row of class y, its margin, the least of
    a·(D_y − D_k) over the other classes k (D₀ = 0). Returns the smallest margin and, per class, the rows
    whose margin passes ``tol``: D separates them when no margin is below −``tol``."""
    q = D.shape[1]
    Dt = np.ascontiguousarray(D.T)

    def piece(Xc, yc):
        full = np.empty((q + 1, len(Xc)))
        full[0] = 0.0
        np.dot(Dt, scaled_design(Xc, fit_intercept, d), out=full[1:])
        codes = np.asarray(yc, dtype=np.int64)
        rows = np.arange(len(codes))
        own = full[codes, rows]
        full[codes, rows] = -np.inf
        margin = own - full.max(axis=0)
        low = float(margin.min()) if len(margin) else np.inf
        return low, np.bincount(codes[margin > tol], minlength=q + 1)

    def part():
        parts = summed(chunks, _piece_rows(len(D)), piece, threads=group is None)
        strict = total([x[1] for x in parts]) if parts else np.zeros(q + 1)
        return min((x[0] for x in parts), default=np.inf), strict

    parts = everyone(group, part)
    return min(x[0] for x in parts), total([x[1] for x in parts]).astype(np.int64)

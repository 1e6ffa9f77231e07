"""Linear regression's epoch with each large batch's gradient split between two threads
(:func:`linear_epoch_pair`), as softmax regression's is (:func:`~linearnet.fast.softmax.softmax_epoch_pair`),
through the same hand-over (:mod:`~linearnet.fast.halves`).

A batch of m rows has two halves, rows order[i : i + m//2] and the rest. Each half's sums (Σ ℓ'(r)·x,
Σ ℓ'(r), Σ ℓ(r)) are :func:`~linearnet.fast.linear.sgd_epoch`'s per-batch sums over those rows, computed by
the same compiled code; the step adds the second half's sums to the first's. So the steps are
:func:`~linearnet.fast.linear.sgd_epoch`'s but for the order of the sums (the two halves summed apart, then
added): equal up to rounding, about 1e-12 relative in float64 for one epoch. Which thread computed a half
never changes it, so the results repeat exactly whether the helping thread runs, is stalled, or never starts.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .halves import SYNC_SIZE, _batch_to_help, _half_done, _pair_started, _second_half_into, _stepped, _stop
from .linear import _batch_gradient, _step
from .machine import _FASTMATH, _cycles, aligned

__all__ = ["linear_epoch_pair", "linear_epoch_part"]


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _add_halves(g, g2, gb, gb2, total, total2):  # pragma: no cover - compiled
    """Add the second half's sums (g2, gb2, total2) to the first's, g in place; return (gb, total)."""
    for k in range(g.size):
        g[k] += g2[k]
    return gb + gb2, total + total2


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def linear_epoch_part(
    X, y, order, w, bias, lr, batch_size, kind, c, delta, mean, wd, steps, running, gs, sums, sync, me
):  # pragma: no cover - compiled
    """One thread's part of :func:`linear_epoch_pair`: ``me`` 0 steps, 1 helps.

    The arguments of :func:`~linearnet.fast.linear.sgd_epoch`, but the bias in ``bias[0]`` (read by
    both threads, written by thread 0 after each step), and gs (2, ≥ d) float64, sums (2, ≥ 2) float64:
    the halves' gradient sums and (Σ ℓ'(r), Σ ℓ(r)), row 0 thread 0's first half, row 1 thread 1's
    second half (the rows a cache line or more apart, :func:`pair_buffers`); sync: the pair's flags
    (:mod:`~linearnet.fast.halves`). Thread 0 computes the first half, then the second itself (into a
    buffer of its own) unless thread 1 claimed it and finished it about as soon as thread 0 finished its
    own half. Returns :func:`~linearnet.fast.linear.sgd_epoch`'s results (thread 1:
    the bias, ``running``, 0 batches and True).
    """
    n, d = order.shape[0], X.shape[1]
    flags = sync.ctypes.data
    own = np.empty(d, np.float64)  # thread 0's buffer for a second half it computes itself
    batches = -(-n // batch_size)
    if not _pair_started(sync, me):
        return bias[0], running, 0, True
    spent = 0  # the cycles thread 0 took for its half of the batch
    k = 0  # the batch
    while k < batches:
        if me == 1:  # wait until thread 0 has stepped the batch before, then help with the one it is on
            k = _batch_to_help(flags, k, batches)
            if k >= batches:
                break
        i = k * batch_size
        m = min(batch_size, n - i)
        half = i + m // 2
        b = bias[0]
        into = 0  # where this thread put the half: gs[0] or gs[1], 2 its own buffer, −1 not this thread
        gb2, total2 = 0.0, 0.0
        for h in range(me, 2):
            into = h if h == 0 else _second_half_into(flags, k, me, spent)
            if into < 0:
                break
            g = own if into == 2 else gs[into, :d]
            began = _cycles()
            if h == 0:
                gb, total = _batch_gradient(X, y, order, i, half, half, w, b, g, kind, c, delta)
                spent = _cycles() - began
            else:  # prefetching on into the next batch
                gb, total = _batch_gradient(X, y, order, half, i + m, n, w, b, g, kind, c, delta)
            if into == 2:
                gb2, total2 = gb, total
            else:
                sums[into, 0], sums[into, 1] = gb, total
        if me == 1:
            if into == 1:
                _half_done(flags, k)  # the second half of batch k is in slot 1
            k += 1
            continue
        helped = into < 0  # thread 1 computed the second half
        if helped:
            gb2, total2 = sums[1, 0], sums[1, 1]
        gb, total = _add_halves(gs[0, :d], gs[1, :d] if helped else own, sums[0, 0], gb2, sums[0, 1], total2)
        b, batch_loss, ok = _step(w, gs[0, :d], gb, total, b, m, lr, mean, wd)
        bias[0] = b
        if not ok:
            _stop(flags)
            return b, batch_loss, k, False
        running += batch_loss
        if steps.size:  # the caller asked for every step's loss
            steps[k] = batch_loss
        k += 1
        _stepped(flags, k)  # the weights and bias are stepped: thread 1 may read them
    _stop(flags)
    return bias[0], running, batches, True


@njit(cache=True, nogil=True, parallel=True)
def _pair(
    X, y, order, w, bias, lr, batch_size, kind, c, delta, mean, wd, steps, running, gs, sums, sync, out
):  # pragma: no cover - compiled
    """Both parts of :func:`linear_epoch_part` at once on numba's threads (see
    :func:`~linearnet.fast.linear._pipeline`). Results in out."""
    for part in prange(2):
        me = np.int64(part)
        b, total, batches, finite = linear_epoch_part(
            X, y, order, w, bias, lr, batch_size, kind, c, delta, mean, wd, steps, running, gs, sums, sync, me
        )
        if part == 0:
            out[0], out[1], out[2], out[3] = b, total, batches, finite


def pair_buffers(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gs, sums, sync): what the two parts of :func:`linear_epoch_part` share, for d features. Each thread's
    row of gs and of sums starts on a cache line of its own, a line apart: a line both threads wrote to,
    row after row, would cost thread 1 about half its speed."""
    width = -(-d // 8) * 8 + 8  # float64s: whole cache lines, and one more between the two rows
    return aligned(np.zeros((2, width))), aligned(np.zeros((2, 16))), np.zeros(SYNC_SIZE, np.int64)


def linear_epoch_pair(X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running):
    """:func:`~linearnet.fast.linear.sgd_epoch` (same arguments and results, up to the order of the sums) with
    the second half of each batch's gradient computed by a second thread when it is ready for it (see
    :func:`linear_epoch_part`): the halves are fixed and added in one order, so the results repeat exactly."""
    gs, sums, sync = pair_buffers(X.shape[1])
    bias, out = np.array([b], np.float64), np.zeros(4)
    _pair(X, y, order, w, bias, lr, batch_size, kind, c, delta, mean, wd, steps, running, gs, sums, sync, out)
    return float(out[0]), float(out[1]), int(out[2]), bool(out[3])

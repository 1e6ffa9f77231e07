"""The compiled epochs of linear regression: one thread (:func:`sgd_epoch`), or a pipeline of two
(:func:`sgd_epoch_pipelined`), and the loss over all rows (:func:`total_loss`); large batches split
between two threads are :mod:`~linearnet.fast.linear_pair`'s, and :func:`epoch` chooses among them.

The per-example loss is ℓ(r) with r = x·w + b − y: c·r² (c = ½ or 1), |r| or Huber's, so the
gradient of the batch's summed loss is Σ ℓ'(r)·x for w and Σ ℓ'(r) for b. Parameters and sums are kept
in float64; rows stay float32 as the caller gave them.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .machine import (
    _AHEAD,
    _CLAIMED,
    _F32_MAX,
    _FASTMATH,
    _LIVE,
    _READY,
    _STOP,
    _USED,
    _load,
    _prefetch_row,
    _stepper_started,
    _store,
    _wait_a_little,
    two_threads,
)

PIPELINE_BYTES = 32 << 20  # from features this large (beyond a typical L3 cache) on, a linear epoch runs as a pipeline
# From this batch size on, a linear batch's gradient is split between two threads. Below it the hand-over of
# each batch (a few cache lines between the cores, and a helper that is often late for a small half) costs
# more than the half batch it saves: with a helper that seldom helped (a machine busy with other programs),
# the stepping thread's own CPU time was at most 5% more than one thread's from 256 rows on, up to 8% more
# at 128, up to 14% at 64, up to 32% at 32 (1M x 100 float32; rows in order, in blocks, shuffled).
LINEAR_PAIR_BATCH = 256
_CHUNK_BYTES = 128 << 10  # the pipeline's rows per chunk: about this many bytes of them
_SLOTS = 16  # chunks the ring holds: how far the copying thread may run ahead

__all__ = [
    "SQUARED",
    "ABSOLUTE",
    "HUBER",
    "LOSS_KINDS",
    "PIPELINE_BYTES",
    "LINEAR_PAIR_BATCH",
    "epoch",
    "uses_pair",
    "gradient",
    "step",
    "total_loss",
    "sgd_epoch",
    "sgd_epoch_pipelined",
]

SQUARED, ABSOLUTE, HUBER = 0, 1, 2  # the per-example losses of linear regression
LOSS_KINDS = {"half_squared": SQUARED, "squared": SQUARED, "l1": ABSOLUTE, "huber": HUBER}  # by TrainConfig.loss

# The epoch kernels below (linear and softmax, on one thread and on two) share their per-row and
# per-batch work (_add_row, _batch_gradient and _step, _softmax_gradient and _softmax_step) but each keeps
# its own dozen lines of loop bookkeeping (the batch cursor, the running loss, the per-step record, the stop
# on a non-finite loss). Sharing them would mean one loop that takes the batch kernel as a first-class
# function argument (which numba compiles as a separate specialisation per kernel, through a
# dispatcher-typed argument) and one state for a bias that the linear kernels return by value and the
# softmax kernels update in place: more machinery than the twelve lines it would save, and plain loops read
# top to bottom.


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _loss_and_slope(r, kind, c, delta):  # pragma: no cover - compiled
    """Per-example loss ℓ(r) of the residual r = ŷ − y and its slope dℓ/dr.

    SQUARED: c·r², 2c·r. ABSOLUTE: |r|, sign(r) (0 at 0, as torch). HUBER: ½r² inside
    [−δ, δ], δ(|r| − ½δ) outside; slope r clipped to [−δ, δ] (``torch.nn.HuberLoss``).
    """
    if kind == SQUARED:
        return c * r * r, 2.0 * c * r
    if kind == ABSOLUTE:
        return abs(r), (1.0 if r > 0 else (-1.0 if r < 0 else 0.0))
    if abs(r) <= delta:
        return 0.5 * r * r, r
    return delta * (abs(r) - 0.5 * delta), (delta if r > 0 else -delta)


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _add_row(x, t, w, b, g, kind, c, delta):  # pragma: no cover - compiled
    """Add ℓ'(r)·x to g for the row x with label t; return (ℓ'(r), ℓ(r)), r = x·w + b − t."""
    s = 0.0
    for k in range(x.size):
        s += x[k] * w[k]
    loss, slope = _loss_and_slope(s + b - t, kind, c, delta)  # of the residual ŷ − y
    for k in range(x.size):
        g[k] += slope * x[k]
    return slope, loss


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _batch_gradient(X, y, order, lo, hi, limit, w, b, g, kind, c, delta):  # pragma: no cover - compiled
    """Set g = Σ ℓ'(r)·x over rows order[lo:hi]; return (Σ ℓ'(r), Σ ℓ(r)), r = x·w + b − y.

    Prefetches the row ``_AHEAD`` positions later, up to position ``limit``.
    """
    for k in range(X.shape[1]):
        g[k] = 0.0
    return _add_rows(X, y, order, lo, hi, limit, w, b, g, 0.0, 0.0, kind, c, delta)


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _step(w, g, gb, total, b, m, lr, mean, wd):  # pragma: no cover - compiled
    """Take the SGD step for a batch of m rows with gradient sums (g, gb) and Σ loss = total.

    Weight decay adds wd·w to the weights' gradient. Returns (b, the batch's mean loss, ok);
    ok is False, and w untouched, when that loss is NaN or would be inf in float32.
    """
    batch_loss = total / m
    if not batch_loss <= _F32_MAX:
        return b, batch_loss if math.isnan(batch_loss) else math.inf, False
    scale = lr / m if mean else lr
    decay = lr * wd
    for k in range(w.size):
        w[k] -= scale * g[k] + decay * w[k]
    return b - scale * gb, batch_loss, True


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def sgd_epoch(X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running):  # pragma: no cover
    """One epoch of minibatch SGD over the rows of X in ``order``; updates ``w`` in place.

    Args:
        X: (n, d) rows; y: (n,) labels; order: the int64 row numbers to visit, in order (a
            permutation of range(n), or a slice of one: the rows of this part of the epoch).
        w: (d,) float64 weights, updated in place; b: the bias.
        lr: step size; batch_size: rows per step (the last batch may be short).
        kind, c, delta: the per-example loss (SQUARED c·r², ABSOLUTE |r|, HUBER with threshold
            delta; see :func:`_loss_and_slope`); mean: step along the batch-mean gradient if True,
            else along the summed gradient; wd: weight decay (adds wd·w to w's gradient).
        steps: an array with a slot per batch to receive each batch's loss, or an empty one.
        running: the sum the batch losses are added to (0.0, or the sum over the epoch's earlier
            parts: added batch after batch, the sum is the same however the epoch is cut).

    Returns:
        (b, running plus the sum over batches of the batch's mean loss before its step, batches done,
        finite). On a batch loss that is NaN or would be inf in float32 the epoch stops at
        once with finite=False and that loss (NaN or inf) in place of the sum.
    """
    n, d = order.shape[0], X.shape[1]  # rows visited: all of X, or the slice of the epoch in order
    g = np.empty(d, np.float64)
    batches = 0
    i = 0
    while i < n:
        m = min(batch_size, n - i)
        gb, total = _batch_gradient(X, y, order, i, i + m, n, w, b, g, kind, c, delta)
        b, batch_loss, ok = _step(w, g, gb, total, b, m, lr, mean, wd)
        if not ok:
            return b, batch_loss, batches, False
        running += batch_loss
        if steps.size:  # the caller asked for every step's loss
            steps[batches] = batch_loss
        batches += 1
        i += m
    return b, running, batches, True


@njit(cache=True, nogil=True, boundscheck=False, inline="always")
def _copy_chunk(X, y, order, i, ring, ring_y, sync):  # pragma: no cover - compiled
    """Copy chunk i, rows order[i·rows : (i + 1)·rows], into ring slot i % slots; then mark the slot ready."""
    slots, rows, d = ring.shape
    n = order.shape[0]
    base = X.ctypes.data
    row_bytes = d * X.itemsize
    slot = i % slots
    lo = i * rows
    for j in range(lo, min(lo + rows, n)):
        if j + _AHEAD < n:
            _prefetch_row(base + order[j + _AHEAD] * row_bytes, row_bytes)
        row = order[j]
        for k in range(d):
            ring[slot, j - lo, k] = X[row, k]
        ring_y[slot, j - lo] = y[row]
    _store(sync.ctypes.data + 8 * (_READY + 8 * slot), i + 1)


@njit(cache=True, nogil=True, boundscheck=False)
def copy_chunks(X, y, order, ring, ring_y, sync):  # pragma: no cover - compiled
    """The copying thread of :func:`sgd_epoch_pipelined`: copy the chunks, in order, into the ring ahead
    of the stepping thread, until the last chunk or until the stepping thread says stop.

    It is the only thread that writes the ring, and it marks a slot ready (a release store) only once
    the chunk is in it, so the stepping thread, which looks at a chunk's flag once at the chunk's
    start, reads either a whole chunk or none. It copies chunk i into slot i % slots only once the
    stepping thread has moved past chunk i − slots, the slot's last; it skips the chunks the stepping
    thread has reached without it (that thread reads those rows from X itself), and each time it
    finds it came too late for the chunk it copied, it keeps one chunk further ahead from then on.
    Waiting for a slot, it gives its CPU up, soon for a while at a time (:func:`_wait_a_little`).
    """
    slots, rows = ring.shape[0], ring.shape[1]
    chunks = -(-order.shape[0] // rows)
    flags = sync.ctypes.data
    if not _stepper_started(sync):
        return
    lead = 1  # how far ahead of the stepping thread's chunk it starts, after falling behind
    i = 0
    while True:
        i = max(i, _load(flags + 8 * _USED) + lead)
        if i >= chunks or _load(flags + 8 * _STOP):
            return
        spins = 0
        while _load(flags + 8 * _USED) <= i - slots:  # its slot is still in use
            if _load(flags + 8 * _STOP):
                return
            spins += 1
            _wait_a_little(spins)
        _store(flags + 8 * _CLAIMED, i)  # the chunk being copied (only this thread reads or writes it)
        _copy_chunk(X, y, order, i, ring, ring_y, sync)
        if _load(flags + 8 * _USED) > i:  # the stepping thread went past it while it was being copied
            lead = min(lead + 1, slots - 1)
        i += 1


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _add_rows(src, src_y, at, lo, hi, limit, w, b, g, gb, total, kind, c, delta):  # pragma: no cover - compiled
    """Add the rows src[at[j]], j in [lo, hi), to a batch's sums g, gb and total, one after the other as
    :func:`_batch_gradient` does; return (gb, total). Prefetches the row ``_AHEAD`` positions on, below ``limit``."""
    base = src.ctypes.data
    row_bytes = src.shape[1] * src.itemsize
    for j in range(lo, hi):
        if j + _AHEAD < limit:
            _prefetch_row(base + at[j + _AHEAD] * row_bytes, row_bytes)
        row = at[j]
        slope, loss = _add_row(src[row], src_y[row], w, b, g, kind, c, delta)
        total += loss
        gb += slope
    return gb, total


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def sgd_epoch_ring(
    X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running, ring, ring_y, sync
):  # pragma: no cover - compiled
    """The stepping thread of :func:`sgd_epoch_pipelined`: :func:`sgd_epoch` over the rows, read from the
    ring where the copying thread has copied them.

    It never waits: at each chunk's start it looks once whether the chunk is in its slot (the flag the
    copying thread sets after the copy); if so it reads the chunk's rows from there, else from X, in
    the epoch's order with the same prefetch as :func:`sgd_epoch`. Either way the same rows go through
    the same compiled code (:func:`_add_rows`), so the steps do not depend on how far the copying
    thread got: if it is late, descheduled or never runs, this thread runs on alone at one thread's speed.
    """
    slots, rows, d = ring.shape
    n = order.shape[0]
    flags = sync.ctypes.data
    _store(flags + 8 * _LIVE, 1)
    in_slot = np.arange(rows)  # a slot's rows, in order
    g = np.zeros(d, np.float64)
    gb = 0.0
    total = 0.0
    batches = 0
    slot = 0
    copied = False  # whether the chunk being stepped through was found in the ring
    finite = True
    start = 0  # the batch's first position
    j = 0
    while j < n:
        i = j // rows  # the chunk
        if j == i * rows:  # its start
            _store(flags + 8 * _USED, i)  # the chunks before it are done with
            slot = i % slots
            copied = _load(flags + 8 * (_READY + 8 * slot)) == i + 1
        end = min(start + batch_size, n)  # the batch's end
        upto = min(end, (i + 1) * rows)  # and the part of it in this chunk
        if copied:
            src, src_y, at, lo, hi, limit = ring[slot], ring_y[slot], in_slot, j - i * rows, upto - i * rows, 0
        else:
            src, src_y, at, lo, hi, limit = X, y, order, j, upto, n
        gb, total = _add_rows(src, src_y, at, lo, hi, limit, w, b, g, gb, total, kind, c, delta)
        j = upto
        if j == end:  # the batch is complete: step
            b, batch_loss, finite = _step(w, g, gb, total, b, end - start, lr, mean, wd)
            if not finite:
                running = batch_loss
                break
            running += batch_loss
            if steps.size:  # the caller asked for every step's loss
                steps[batches] = batch_loss
            batches += 1
            for k in range(d):
                g[k] = 0.0
            gb = 0.0
            total = 0.0
            start = end
    _store(flags + 8 * _STOP, 1)
    return b, running, batches, finite


@njit(cache=True, nogil=True, parallel=True)
def _pipeline(
    X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running, ring, ring_y, sync, out
):  # pragma: no cover - compiled
    """The stepping part (thread 0) and the copying part (thread 1) of the pipeline, at once on numba's
    threads: OpenMP's, which torch shares, so that torch's workers, which spin for about 10 ms after each
    parallel operation, take the second part instead of competing for the second CPU. Results in out."""
    for part in prange(2):
        if part == 0:
            last_b, total, batches, finite = sgd_epoch_ring(
                X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running, ring, ring_y, sync
            )
            out[0], out[1], out[2], out[3] = last_b, total, batches, finite
        else:
            copy_chunks(X, y, order, ring, ring_y, sync)


def sgd_epoch_pipelined(X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running):
    """:func:`sgd_epoch` (same arguments, same steps, results up to the last bit) with a second thread
    copying the rows, in order, into a ring of contiguous chunks ahead of the thread that steps through them.

    For data beyond the caches: the stepping thread reads contiguous rows, and the random reads
    from memory are spread over two cores. Needs two CPUs to gain anything (:func:`two_threads`).
    """
    d = X.shape[1]
    rows = max(1, _CHUNK_BYTES // (d * X.itemsize))  # rows per chunk
    ring = np.empty((_SLOTS, rows, d), X.dtype)
    ring_y = np.empty((_SLOTS, rows), y.dtype)
    sync = np.zeros(_READY + 8 * _SLOTS, np.int64)
    out = np.zeros(4)
    _pipeline(X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running, ring, ring_y, sync, out)
    return float(out[0]), float(out[1]), int(out[2]), bool(out[3])


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def total_loss(X, y, w, b, kind, c, delta):  # pragma: no cover - compiled
    """Σ ℓ(x·w + b − y) over all rows, in float64."""
    n, d = X.shape
    total = 0.0
    for i in range(n):
        s = 0.0
        for k in range(d):
            s += X[i, k] * w[k]
        total += _loss_and_slope(s + b - y[i], kind, c, delta)[0]
    return total


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def sgd_epoch_weighted(
    X, y, sw, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running
):  # pragma: no cover
    """:func:`sgd_epoch` with each row's loss times its weight ``sw[row]`` (sw: (n,) float32): a batch's
    loss Σ sw·ℓ / m and its gradient Σ sw·ℓ'(r)·x (/ m with ``mean``), as the scratch engine weights rows."""
    n, d = order.shape[0], X.shape[1]
    g = np.empty(d, np.float64)
    batches = 0
    i = 0
    while i < n:
        m = min(batch_size, n - i)
        for k in range(d):
            g[k] = 0.0
        gb = 0.0
        total = 0.0
        for j in range(i, i + m):
            row = order[j]
            x = X[row]
            s = 0.0
            for k in range(d):
                s += x[k] * w[k]
            loss, slope = _loss_and_slope(s + b - y[row], kind, c, delta)
            weight = float(sw[row])
            slope *= weight
            total += weight * loss
            for k in range(d):
                g[k] += slope * x[k]
            gb += slope
        b, batch_loss, ok = _step(w, g, gb, total, b, m, lr, mean, wd)
        if not ok:
            return b, batch_loss, batches, False
        running += batch_loss
        if steps.size:
            steps[batches] = batch_loss
        batches += 1
        i += m
    return b, running, batches, True


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def total_loss_weighted(X, y, sw, w, b, kind, c, delta):  # pragma: no cover - compiled
    """Σ sw·ℓ(x·w + b − y) over all rows, in float64."""
    n, d = X.shape
    total = 0.0
    for i in range(n):
        s = 0.0
        for k in range(d):
            s += X[i, k] * w[k]
        total += float(sw[i]) * _loss_and_slope(s + b - y[i], kind, c, delta)[0]
    return total


# --- what the engines call -----------------------------------------------------------------------


def uses_pair(batch_size: int) -> bool:
    """Whether batches this large are split between two threads
    (:func:`~linearnet.fast.linear_pair.linear_epoch_pair`)."""
    return batch_size >= LINEAR_PAIR_BATCH and two_threads()


def epoch(X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running, *, shuffled: bool):
    """One epoch (the arguments and results of :func:`sgd_epoch`), on two threads when there are two: large
    batches split between them (:func:`~linearnet.fast.linear_pair.linear_epoch_pair`, in any order of the
    rows), else shuffled rows beyond the caches, read in a random order, as the pipeline
    (:func:`sgd_epoch_pipelined`). Weighted rows (:func:`sgd_epoch_weighted`) run on one thread. The
    pipeline takes :func:`sgd_epoch`'s steps; the pair takes them up to the order of each batch's sums, and
    repeats its own results exactly however its two threads were scheduled."""
    if uses_pair(batch_size):
        from .linear_pair import linear_epoch_pair  # imports this module's kernels

        run = linear_epoch_pair
    elif shuffled and X.nbytes >= PIPELINE_BYTES and two_threads():
        run = sgd_epoch_pipelined
    else:
        run = sgd_epoch
    return run(X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running)


def gradient(X, y, w, b, kind, c, delta) -> tuple[np.ndarray, float, float]:
    """(g (d,), gb, total): the gradient of the loss summed over every row of X (n, d) float32 at (w, b),
    and that summed loss; w and b are left as they are."""
    g = np.empty(len(w))
    gb, total = _batch_gradient(X, y, np.arange(len(X)), 0, len(X), len(X), w, b, g, kind, c, delta)
    return g, gb, total


def step(w, g, gb, b, rows, lr, mean, wd) -> float:
    """The step :func:`sgd_epoch` takes for a batch of ``rows`` rows whose summed gradient is (g, gb):
    updates w in place and returns the new bias."""
    return _step(w, g, gb, 0.0, b, rows, lr, mean, wd)[0]

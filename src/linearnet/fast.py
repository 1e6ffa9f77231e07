"""The compiled engine: whole SGD epochs for linear regression, with analytic gradients.

Why numba: the epoch is a loop over tiny batches, where per-step overhead (Python,
autograd, kernel launches) and random row access cost far more than the arithmetic.
``@njit`` compiles the whole epoch into one machine-code loop over the permutation,
with no per-step allocation, while staying plain Python that a learner can read next
to the autograd version. It needs no C compiler on the user's machine and caches its
machine code on disk (``cache=True``), so only the first run pays for compilation; each
kernel is compiled the first time a run needs it.

Where the time goes (see benchmarks/README.md): rows are read in a random order, so
every row is a cache and TLB miss. The loop therefore prefetches the row it will need
``_AHEAD`` rows later (``llvm.prefetch``). On data larger than the caches that still leaves
one core waiting for memory, so with two CPUs the epoch runs as a pipeline
(:func:`sgd_epoch_pipelined`): a second thread copies the rows, in the epoch's order, into a
small ring of contiguous chunks while the first steps through the chunks already copied,
and copies the next chunk itself whenever it would otherwise wait. The steps are those of
:func:`sgd_epoch`, batch for batch (the sums may differ in the last bit: the compiler fuses
multiply-adds its own way in each copy of the loop). Softmax regression, whose rows cost
2·d·q multiply-adds each, splits each batch's gradient between the two threads instead
(:func:`softmax_epoch_pair`).

The two threads are numba's (``prange`` over the two parts, nothing else in parallel): with
the OpenMP layer they are the threads torch's operations run on, whose second one spins for
about 10 ms after each parallel operation (such as the permutation ``fit`` draws before every
epoch); any other second thread would have competed with it for the second CPU. They share
work through a few int64 flags read and written with atomic instructions (:func:`_load`,
:func:`_store`, :func:`_claim`): each part's compiled loop is its own function, so only a
small wrapper goes through numba's parallel compiler. The stepping thread never waits for
work the other has not claimed (it does it itself), and the other waits for it only once it
has started, so the two parts give the same results run at once, one after the other, or on
one thread.

The per-example loss is ℓ(r) with r = x·w + b − y: c·r² (c = ½ or 1), |r| or Huber's, so the
gradient of the batch's summed loss is Σ ℓ'(r)·x for w and Σ ℓ'(r) for b. Parameters and sums are kept
in float64; rows stay float32 as the caller gave them.
"""

from __future__ import annotations

import math
import os
import platform
from typing import Any

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = [
    "sgd_epoch",
    "sgd_epoch_pipelined",
    "total_loss",
    "softmax_epoch",
    "softmax_epoch_pair",
    "softmax_evaluate",
    "two_threads",
    "PIPELINE_BYTES",
    "SOFTMAX_PAIR_BATCH",
]

# Reassociation lets LLVM vectorise the dot products; no "nnan"/"ninf", so isfinite stays honest.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
_AHEAD = 8  # rows prefetched ahead of the one being used
_F32_MAX = float(np.finfo(np.float32).max)  # beyond it the loss would be inf in float32, as in torch
PIPELINE_BYTES = 32 << 20  # from features this large (beyond a typical L3 cache) on, a linear epoch runs as a pipeline
_CHUNK_BYTES = 128 << 10  # the pipeline's rows per chunk: about this many bytes of them
_SLOTS = 16  # chunks the ring holds: how far the copying thread may run ahead
_YIELD_EVERY = 256  # a waiting thread gives up its CPU once every so many spins
SOFTMAX_PAIR_BATCH = 64  # from this batch size on, softmax's batch gradient is split between two threads


def _intrinsic(codegen_of) -> Any:
    """numba's ``intrinsic``: compiled code calls the result without the typing context its definition takes."""
    return intrinsic(codegen_of)


@_intrinsic
def _prefetch(typingctx, address):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Hint the CPU to load the cache line at ``address`` (an integer) for reading."""
    sig = types.void(types.intp)

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        ptr = builder.inttoptr(args[0], i8p)
        opaque = getattr(ptr.type, "is_opaque", False)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(
            builder.module, fnty, "llvm.prefetch.p0" if opaque else "llvm.prefetch.p0i8"
        )
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all cache levels, data
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _prefetch_row(address, row_bytes):  # pragma: no cover - compiled
    """Prefetch the cache lines of the row of ``row_bytes`` bytes that starts at ``address``."""
    for offset in range(0, row_bytes + 64, 64):
        _prefetch(address + offset)


# --- what two threads meet through: atomic reads and writes of int64 flags, and a polite spin ------------


def _int64_at(builder, address):  # pragma: no cover - runs when numba compiles, not from its cache
    return builder.inttoptr(address, ir.IntType(64).as_pointer())


@_intrinsic
def _load(typingctx, address):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """The int64 at ``address``, read atomically (acquire): never cached in a register across a wait."""

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_int64_at(builder, args[0]), "acquire", 8)

    return types.int64(types.intp), codegen


@_intrinsic
def _store(typingctx, address, value):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Write the int64 ``value`` at ``address`` atomically (release): what was written before is seen first."""

    def codegen(context, builder, signature, args):
        builder.store_atomic(args[1], _int64_at(builder, args[0]), "release", 8)
        return context.get_dummy_value()

    return types.void(types.intp, types.int64), codegen


@_intrinsic
def _claim(typingctx, address, expected):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Raise the int64 at ``address`` from ``expected`` to ``expected + 1`` if it still holds
    ``expected`` (compare-and-swap); True if this thread did."""

    def codegen(context, builder, signature, args):
        one = ir.Constant(ir.IntType(64), 1)
        pair = builder.cmpxchg(_int64_at(builder, args[0]), args[1], builder.add(args[1], one), "acq_rel", "acquire")
        return builder.extract_value(pair, 1)

    return types.boolean(types.intp, types.int64), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@_intrinsic
def _pause(typingctx, yield_cpu):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Tell the CPU this thread is spin-waiting (x86 ``pause``), or, every so often (``yield_cpu``),
    give the CPU to another thread (POSIX ``sched_yield``): on a busy machine the partner thread
    may be waiting for this very CPU."""

    def codegen(context, builder, signature, args):
        yield_cpu = args[0]
        with builder.if_else(yield_cpu) as (then, otherwise):
            with then:
                if os.name == "posix":
                    fn = cgutils.get_or_insert_function(
                        builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
                    )
                    builder.call(fn, [])
            with otherwise:
                if _X86:
                    fn = cgutils.get_or_insert_function(
                        builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
                    )
                    builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(types.boolean), codegen


SQUARED, ABSOLUTE, HUBER = 0, 1, 2  # the per-example losses of linear regression

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
    d = X.shape[1]
    base = X.ctypes.data
    row_bytes = d * X.itemsize
    for k in range(d):
        g[k] = 0.0
    gb = 0.0
    total = 0.0
    for j in range(lo, hi):
        if j + _AHEAD < limit:
            _prefetch_row(base + order[j + _AHEAD] * row_bytes, row_bytes)
        row = order[j]
        slope, loss = _add_row(X[row], y[row], w, b, g, kind, c, delta)
        total += loss
        gb += slope
    return gb, total


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


# --- two threads: the pipeline of a linear epoch, the pair of a softmax epoch ------------------------
#
# The flags two threads share live in one int64 array, each on its own cache line, so that a write to
# one does not take the line of another away from the thread that polls it.
_CLAIMED = 0  # chunks claimed for copying (pipeline), or batches whose second half is claimed (pair)
_USED = 8  # the chunk the stepping thread is on, every earlier slot free (pipeline); batches stepped (pair)
_STOP = 16  # set to 1 when the stepping thread is done: the other stops waiting and returns
_LIVE = 24  # set to 1 when the stepping thread starts: only then does the other wait for it
_READY = 32  # _READY + 8·slot: 1 + the chunk copied into the slot (pipeline); second halves done (pair)
_START_SPINS = 1 << 16  # how long the helping thread waits for the stepping one to start, in spins


@njit(cache=True, nogil=True, inline="always")
def _stepper_started(sync):  # pragma: no cover - compiled
    """Wait, a bounded while, for the stepping thread to start: False if it has not. Then the two
    parts are running one after the other, as on a single thread, and the helping one leaves it all
    to the stepping one (which never waits for work nobody has claimed)."""
    flags = sync.ctypes.data
    spins = 0
    while not _load(flags + 8 * _LIVE):
        if spins == _START_SPINS:
            return False
        spins += 1
        _pause(spins % _YIELD_EVERY == 0)
    return True


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
    """The copying thread of :func:`sgd_epoch_pipelined`: claim the next chunk, wait until its slot has
    been stepped through, copy it; until every chunk is claimed or the stepping thread says stop."""
    slots, rows = ring.shape[0], ring.shape[1]
    chunks = -(-order.shape[0] // rows)
    flags = sync.ctypes.data
    if not _stepper_started(sync):
        return
    while True:
        i = _load(flags + 8 * _CLAIMED)
        if i >= chunks or _load(flags + 8 * _STOP):
            return
        if not _claim(flags + 8 * _CLAIMED, i):  # the stepping thread took it first
            continue
        spins = 0
        while _load(flags + 8 * _USED) <= i - slots:  # its slot is still in use
            if _load(flags + 8 * _STOP):
                return
            spins += 1
            _pause(spins % _YIELD_EVERY == 0)
        _copy_chunk(X, y, order, i, ring, ring_y, sync)


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def sgd_epoch_ring(
    X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running, ring, ring_y, sync
):  # pragma: no cover - compiled
    """The stepping thread of :func:`sgd_epoch_pipelined`: :func:`sgd_epoch` over the rows in the ring.

    At each chunk it waits until the chunk is copied; while it waits it claims and copies the
    next chunk nobody has claimed (within the ring), so it never waits for the copying thread
    longer than one chunk, and it runs on alone if that thread never starts.
    """
    slots, rows, d = ring.shape
    n = order.shape[0]
    chunks = -(-n // rows)
    flags = sync.ctypes.data
    _store(flags + 8 * _LIVE, 1)
    g = np.zeros(d, np.float64)
    gb = 0.0
    total = 0.0
    m = 0
    batches = 0
    slot = 0
    finite = True
    for j in range(n):
        at = j % rows
        if at == 0:  # a new chunk
            i = j // rows
            _store(flags + 8 * _USED, i)  # the chunks before it are done with
            slot = i % slots
            spins = 0
            while _load(flags + 8 * (_READY + 8 * slot)) != i + 1:
                ahead = _load(flags + 8 * _CLAIMED)
                if ahead < min(i + slots, chunks) and _claim(flags + 8 * _CLAIMED, ahead):
                    _copy_chunk(X, y, order, ahead, ring, ring_y, sync)
                else:
                    spins += 1
                    _pause(spins % _YIELD_EVERY == 0)
        slope, loss = _add_row(ring[slot, at], ring_y[slot, at], w, b, g, kind, c, delta)
        total += loss
        gb += slope
        m += 1
        if m == batch_size or j == n - 1:  # the batch is complete: step
            b, batch_loss, finite = _step(w, g, gb, total, b, m, lr, mean, wd)
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
            m = 0
    _store(flags + 8 * _STOP, 1)
    return b, running, batches, finite


def two_threads() -> bool:
    """Whether an epoch may use a second thread: numba runs at least two (``NUMBA_NUM_THREADS``, by
    default the CPUs this process may run on, or ``numba.set_num_threads``)."""
    return get_num_threads() >= 2


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


# --- softmax regression --------------------------------------------------------------------

_ROWS = 8  # rows whose logits and gradient are computed together, sharing each load of W and G


@njit(cache=True, nogil=True, inline="always")
def _aligned_empty(rows, width):  # pragma: no cover - compiled
    """An uninitialised float32 (rows, width) array that starts on a 64-byte boundary (a cache line,
    and the width of an AVX-512 load); so does each row when width is a multiple of 16."""
    raw = np.empty(rows * width + 16, np.float32)
    skip = (-(raw.ctypes.data // 4)) % 16  # floats to the next 64-byte boundary
    return raw[skip : skip + rows * width].reshape((rows, width))


def aligned(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``array`` that starts on a 64-byte boundary (see :func:`_aligned_empty`)."""
    raw = np.empty(array.nbytes + 64, np.uint8)
    skip = -raw.ctypes.data % 64
    out = raw[skip : skip + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _logits(rows, W, b, Z):  # pragma: no cover - compiled
    """Z[i] = W·x_i + b for the ``_ROWS`` rows x_i: each weight loaded serves eight dot products."""
    q, d = W.shape
    x0, x1, x2, x3, x4, x5, x6, x7 = rows
    for c in range(q):
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = np.float32(0.0)
        for k in range(d):
            w = W[c, k]
            s0 += x0[k] * w
            s1 += x1[k] * w
            s2 += x2[k] * w
            s3 += x3[k] * w
            s4 += x4[k] * w
            s5 += x5[k] * w
            s6 += x6[k] * w
            s7 += x7[k] * w
        Z[0, c], Z[1, c], Z[2, c], Z[3, c] = s0 + b[c], s1 + b[c], s2 + b[c], s3 + b[c]
        Z[4, c], Z[5, c], Z[6, c], Z[7, c] = s4 + b[c], s5 + b[c], s6 + b[c], s7 + b[c]


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _add_outer(R, rows, G, gb):  # pragma: no cover - compiled
    """G[c] += Σ_i R[i, c]·x_i and gb[c] += Σ_i R[i, c] over the ``_ROWS`` rows x_i: each gradient
    entry loaded and stored takes eight rows."""
    q, d = G.shape
    x0, x1, x2, x3, x4, x5, x6, x7 = rows
    for c in range(q):
        a0, a1, a2, a3, a4, a5, a6, a7 = R[0, c], R[1, c], R[2, c], R[3, c], R[4, c], R[5, c], R[6, c], R[7, c]
        gb[c] += a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
        for k in range(d):
            G[c, k] += (
                a0 * x0[k] + a1 * x1[k] + a2 * x2[k] + a3 * x3[k] + a4 * x4[k] + a5 * x5[k] + a6 * x6[k] + a7 * x7[k]
            )


@njit(cache=True, fastmath=_FASTMATH, nogil=True, inline="always")
def _exp(v):  # pragma: no cover - compiled
    """e^v for v ≤ 0 with no call into libm, so that a loop of them vectorises: e^(v/128) by its
    Taylor polynomial of degree 10, squared seven times. Relative error below 1e-7 down to v = −87,
    where float32 ends; below that, e^−87.5 (about 1e-38) stands for e^v."""
    x = max(v, -87.5) / 128.0
    p = 1.0
    for k in range(10, 0, -1):  # Horner: 1 + x(1 + x/2(1 + x/3(…)))
        p = 1.0 + x * p / k
    for _ in range(7):
        p *= p
    return p


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _softmax_gradient(X, y, order, lo, hi, W, b, G, gb, Z, R):  # pragma: no cover - compiled
    """Add the cross-entropy gradient of rows order[lo:hi] to G (q, d) and gb (q,); return Σ loss.

    Per row: logits z = Wx + b (W is (q, d), so each logit is one contiguous dot product),
    p = exp(z − max z) / Σ, loss log Σ exp(z − max) + max − z_y (log-sum-exp), and the
    gradient (p − onehot(y))·xᵀ. Rows go ``_ROWS`` at a time, so that each weight or gradient entry
    loaded serves eight rows (:func:`_logits`, :func:`_add_outer`); unless X's rows start on cache
    lines, each block's rows are first copied into ones that do (a 64-byte load across two lines
    costs two: about 30% of the epoch). The exponentials are :func:`_exp`'s. Z, R: (_ROWS, q) scratch.
    """
    q, d = W.shape
    row_bytes = d * X.itemsize
    in_place = X.ctypes.data % 64 == 0 and row_bytes % 64 == 0  # X's rows start on cache lines already
    block = _aligned_empty(_ROWS, -(-d // 16) * 16)  # else each block's rows are copied here first
    at = np.empty(_ROWS, np.int64)  # the rows of the block: in X, or in ``block``
    loss = 0.0
    j = lo
    while j < hi:
        m = min(_ROWS, hi - j)
        for i in range(_ROWS):  # a short last block repeats its first row, with no weight in the gradient
            row = order[j + i] if i < m else order[j]
            at[i] = row
            if not in_place:
                if j + _ROWS + i < hi:  # the same row of the next block, on its way from memory meanwhile
                    _prefetch_row(X.ctypes.data + order[j + _ROWS + i] * row_bytes, row_bytes)
                x = X[row]
                for k in range(d):
                    block[i, k] = x[k]
                at[i] = i
        src = X if in_place else block
        rows = (src[at[0]], src[at[1]], src[at[2]], src[at[3]], src[at[4]], src[at[5]], src[at[6]], src[at[7]])
        _logits(rows, W, b, Z)
        for i in range(_ROWS):
            if i >= m:  # padding rows of the last block add nothing
                for c in range(q):
                    R[i, c] = 0.0
                continue
            t = y[order[j + i]]
            zmax = -np.inf
            for c in range(q):
                zmax = max(zmax, Z[i, c])
            zt = Z[i, t] - zmax
            total = 0.0
            for c in range(q):
                Z[i, c] = _exp(Z[i, c] - zmax)
                total += Z[i, c]
            loss += math.log(total) - zt  # = logsumexp(z) − z_t
            for c in range(q):
                R[i, c] = Z[i, c] / total - (1.0 if c == t else 0.0)  # ∂loss/∂z_c
        _add_outer(R, rows, G, gb)
        j += m
    return loss


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _softmax_step(W, b, G, gb, m, lr, mean, wd):  # pragma: no cover - compiled
    q, d = W.shape
    scale = np.float32(lr / m if mean else lr)
    decay = np.float32(lr * wd)
    for c in range(q):
        for k in range(d):
            W[c, k] -= scale * G[c, k] + decay * W[c, k]
        b[c] -= scale * gb[c]


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def softmax_epoch(X, y, order, W, b, lr, batch_size, mean, wd, steps, running):  # pragma: no cover - compiled
    """One epoch of minibatch SGD for softmax regression; updates W (q, d) and b (q,) in place.

    ``order`` and ``running`` as in :func:`sgd_epoch`. Returns (running plus the sum over batches
    of the batch's mean loss before its step, batches, finite);
    stops at once, finite=False, on a loss that is NaN or inf in float32.
    """
    n, d = order.shape[0], X.shape[1]
    q = W.shape[0]
    G = _aligned_empty(q, d)
    gb = np.empty(q, np.float32)
    Z = np.empty((_ROWS, q), np.float64)
    R = np.empty((_ROWS, q), np.float32)
    batches = 0
    i = 0
    while i < n:
        m = min(batch_size, n - i)
        G[:] = 0.0
        gb[:] = 0.0
        batch_loss = _softmax_gradient(X, y, order, i, i + m, W, b, G, gb, Z, R) / m
        if not batch_loss <= _F32_MAX:
            return math.nan if math.isnan(batch_loss) else math.inf, batches, False
        _softmax_step(W, b, G, gb, m, lr, mean, wd)
        running += batch_loss
        if steps.size:  # the caller asked for every step's loss
            steps[batches] = batch_loss
        batches += 1
        i += m
    return running, batches, True


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def softmax_epoch_part(
    X, y, order, W, b, lr, batch_size, mean, wd, steps, running, Gs, gbs, L, sync, me
):  # pragma: no cover
    """One thread's part of :func:`softmax_epoch_pair`: ``me`` 0 steps, 1 helps.

    A batch of m rows has two halves, rows order[i : i + m//2] and the rest, with a gradient slot
    each (Gs[h], gbs[h], loss L[h]). Thread 0 computes the first half, then the second unless
    thread 1 has claimed it (then waits until it is done), adds slot 1 to slot 0 and steps. Thread 1
    waits for each step and claims the next batch's second half. The claim is a compare-and-swap, so
    exactly one thread computes each half; the same code fills the same slot whichever it is, so
    the results repeat exactly, and a helper that is late, or never runs, only leaves thread 0
    more to do.
    """
    n = order.shape[0]
    q, d = W.shape
    flags = sync.ctypes.data
    Z = np.empty((_ROWS, q), np.float64)
    R = np.empty((_ROWS, q), np.float32)
    batches = -(-n // batch_size)
    if me == 0:
        _store(flags + 8 * _LIVE, 1)
    elif not _stepper_started(sync):
        return running, 0, True
    k = 0  # the batch
    while k < batches:
        if me == 1:  # wait until thread 0 has stepped the batch before, then help with the one it is on
            spins = 0
            while _load(flags + 8 * _USED) < k and not _load(flags + 8 * _STOP):
                spins += 1
                _pause(spins % _YIELD_EVERY == 0)
            k = _load(flags + 8 * _USED)
            if k >= batches or _load(flags + 8 * _STOP):
                break
        i = k * batch_size
        m = min(batch_size, n - i)
        second = False  # whether this thread computes the second half
        for h in range(me, 2):
            if h == 1:
                second = _claim(flags + 8 * _CLAIMED, k)
                if not second:
                    break
            G, gb = Gs[h], gbs[h]
            G[:] = 0.0
            gb[:] = 0.0
            L[h] = _softmax_gradient(X, y, order, i + h * (m // 2), i + m // 2 + h * (m - m // 2), W, b, G, gb, Z, R)
        if me == 1:
            if second:
                _store(flags + 8 * _READY, k + 1)  # the second half of batch k is in slot 1
            k += 1
            continue
        spins = 0
        while not second and _load(flags + 8 * _READY) <= k:  # thread 1 has it and always finishes it
            spins += 1
            _pause(spins % _YIELD_EVERY == 0)
        batch_loss = (L[0] + L[1]) / m
        if not batch_loss <= _F32_MAX:
            _store(flags + 8 * _STOP, 1)
            return math.nan if math.isnan(batch_loss) else math.inf, k, False
        for c in range(q):
            gbs[0, c] += gbs[1, c]
            for j in range(d):
                Gs[0, c, j] += Gs[1, c, j]
        _softmax_step(W, b, Gs[0], gbs[0], m, lr, mean, wd)
        running += batch_loss
        if steps.size:  # the caller asked for every step's loss
            steps[k] = batch_loss
        k += 1
        _store(flags + 8 * _USED, k)  # the weights are stepped: thread 1 may read them
    _store(flags + 8 * _STOP, 1)
    return running, batches, True


@njit(cache=True, nogil=True, parallel=True)
def _pair(X, y, order, W, b, lr, batch_size, mean, wd, steps, running, Gs, gbs, L, sync, out):  # pragma: no cover
    """Both parts of :func:`softmax_epoch_part` at once on numba's threads (see :func:`_pipeline`)."""
    for part in prange(2):
        total, batches, finite = softmax_epoch_part(
            X, y, order, W, b, lr, batch_size, mean, wd, steps, running, Gs, gbs, L, sync, np.int64(part)
        )
        if part == 0:
            out[0], out[1], out[2] = total, batches, finite


def softmax_epoch_pair(X, y, order, W, b, lr, batch_size, mean, wd, steps, running):
    """:func:`softmax_epoch` (same arguments and results, but for the order of a sum) with the second half
    of each batch's gradient computed by a second thread when it is ready for it (see
    :func:`softmax_epoch_part`): the halves are fixed and added in one order, so the results repeat exactly."""
    q, d = W.shape
    Gs = aligned(np.empty((2, q, d), np.float32))
    gbs = np.empty((2, q), np.float32)
    L = np.zeros(2)
    sync = np.zeros(_READY + 8, np.int64)
    out = np.zeros(3)
    _pair(X, y, order, W, b, lr, batch_size, mean, wd, steps, running, Gs, gbs, L, sync, out)
    return float(out[0]), int(out[1]), bool(out[2])


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def softmax_evaluate(X, y, W, b):  # pragma: no cover - compiled
    """(Σ cross-entropy, number of rows whose largest logit is the true class)."""
    n = X.shape[0]
    q = W.shape[0]
    z = np.empty(q, np.float64)
    loss = 0.0
    right = 0
    for i in range(n):
        x = X[i]
        zmax = -np.inf
        best = 0
        for c in range(q):
            s = np.float32(0.0)
            for k in range(W.shape[1]):
                s += x[k] * W[c, k]
            z[c] = s + b[c]
            if z[c] > z[best]:
                best = c
            zmax = max(zmax, z[c])
        total = 0.0
        for c in range(q):
            total += math.exp(z[c] - zmax)
        loss += math.log(total) + zmax - z[y[i]]
        right += best == y[i]
    return loss, right

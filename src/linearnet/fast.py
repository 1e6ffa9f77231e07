"""The compiled engine: whole SGD epochs for linear regression, with analytic gradients.

Why numba: the epoch is a loop over tiny batches, where per-step overhead (Python,
autograd, kernel launches) and random row access cost far more than the arithmetic.
``@njit`` compiles the whole epoch into one machine-code loop over the permutation,
with no per-step allocation, while staying plain Python that a learner can read next
to the autograd version. It needs no C compiler on the user's machine and caches its
machine code on disk (``cache=True``), so only the first run pays for compilation.

Where the time goes (see benchmarks/README.md): rows are read in a random order, so
every row is a cache and TLB miss. The loop therefore prefetches the row it will need
``_AHEAD`` rows later (``llvm.prefetch``), which roughly doubles throughput on large
data at small batches. From ``PARALLEL_BATCH`` rows per batch on, the batch's gradient
is split over the cores (numba's ``prange``), which about doubles it again.

The per-example loss is ℓ(r) with r = x·w + b − y: c·r² (c = ½ or 1), |r| or Huber's, so the
gradient of the batch's summed loss is Σ ℓ'(r)·x for w and Σ ℓ'(r) for b. Parameters and sums are kept
in float64; rows stay float32 as the caller gave them.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = [
    "sgd_epoch",
    "sgd_epoch_parallel",
    "total_loss",
    "softmax_epoch",
    "softmax_epoch_parallel",
    "softmax_evaluate",
    "PARALLEL_BATCH",
    "SOFTMAX_PARALLEL_BATCH",
]

# Reassociation lets LLVM vectorise the dot products; no "nnan"/"ninf", so isfinite stays honest.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
_AHEAD = 8  # rows prefetched ahead of the one being used
_F32_MAX = float(np.finfo(np.float32).max)  # beyond it the loss would be inf in float32, as in torch
PARALLEL_BATCH = 512  # from this batch size on, each batch's gradient is split over the threads
SOFTMAX_PARALLEL_BATCH = 64  # the same for softmax regression, whose rows cost 2·d·q multiply-adds


@intrinsic
def _prefetch(typingctx, address):
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


SQUARED, ABSOLUTE, HUBER = 0, 1, 2  # the per-example losses of linear regression

# The four epoch kernels below (linear and softmax, one thread and split over threads) share their
# per-batch work (_batch_gradient and _step, _softmax_gradient and _softmax_step) but each keeps its own
# dozen lines of loop bookkeeping (the batch cursor, the running loss, the per-step record, the stop on a
# non-finite loss). Sharing them would mean one loop that takes the batch kernel as a first-class function
# argument (which numba compiles as a separate specialisation per kernel, through a dispatcher-typed
# argument) and one state for a bias that the linear kernels return by value and the softmax kernels
# update in place: more machinery than the twelve lines it would save, and four plain loops read top to
# bottom.


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
            address = base + order[j + _AHEAD] * row_bytes
            for offset in range(0, row_bytes + 64, 64):
                _prefetch(address + offset)  # type: ignore[call-arg]  # numba passes the typing context
        row = order[j]
        s = 0.0
        for k in range(d):
            s += X[row, k] * w[k]
        loss, slope = _loss_and_slope(s + b - y[row], kind, c, delta)  # of the residual ŷ − y
        total += loss
        gb += slope
        for k in range(d):
            g[k] += slope * X[row, k]
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


@njit(cache=True, fastmath=_FASTMATH, boundscheck=False, parallel=True)
def sgd_epoch_parallel(
    X, y, order, w, b, lr, batch_size, kind, c, delta, mean, wd, steps, running, parts
):  # pragma: no cover
    """:func:`sgd_epoch` with each batch's gradient split over ``parts`` threads.

    For large batches: each thread sums the gradient of its slice of the batch, so
    twice the rows are fetched at once. The split is fixed, so results repeat exactly.
    """
    n, d = order.shape[0], X.shape[1]
    G = np.empty((parts, d), np.float64)
    GB = np.empty(parts, np.float64)
    SQ = np.empty(parts, np.float64)
    g = np.empty(d, np.float64)
    batches = 0
    i = 0
    while i < n:
        m = min(batch_size, n - i)
        for t in prange(parts):
            lo = i + t * m // parts
            hi = i + (t + 1) * m // parts
            GB[t], SQ[t] = _batch_gradient(X, y, order, lo, hi, hi, w, b, G[t], kind, c, delta)
        for k in range(d):
            g[k] = 0.0
            for t in range(parts):
                g[k] += G[t, k]
        b, batch_loss, ok = _step(w, g, GB.sum(), SQ.sum(), b, m, lr, mean, wd)
        if not ok:
            return b, batch_loss, batches, False
        running += batch_loss
        if steps.size:  # the caller asked for every step's loss
            steps[batches] = batch_loss
        batches += 1
        i += m
    return b, running, batches, True


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

_ROWS = 4  # rows whose logits and gradient are computed together, sharing each load of W and G


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _softmax_gradient(X, y, order, lo, hi, W, b, G, gb, Z, R):  # pragma: no cover - compiled
    """Add the cross-entropy gradient of rows order[lo:hi] to G (q, d) and gb (q,); return Σ loss.

    Per row: logits z = Wx + b (W is (q, d), so each logit is one contiguous dot product),
    p = exp(z − max z) / Σ, loss log Σ exp(z − max) + max − z_y (log-sum-exp), and the
    gradient (p − onehot(y))·xᵀ. Rows go ``_ROWS`` at a time: each weight loaded serves four
    dot products, each gradient entry stored takes four rows. Z, R: (_ROWS, q) scratch.
    """
    q, d = W.shape
    loss = 0.0
    j = lo
    while j < hi:
        m = min(_ROWS, hi - j)
        r0 = order[j]
        r1 = order[j + 1] if m > 1 else r0
        r2 = order[j + 2] if m > 2 else r0
        r3 = order[j + 3] if m > 3 else r0
        x0, x1, x2, x3 = X[r0], X[r1], X[r2], X[r3]
        for c in range(q):
            s0 = np.float32(0.0)
            s1 = np.float32(0.0)
            s2 = np.float32(0.0)
            s3 = np.float32(0.0)
            for k in range(d):
                w = W[c, k]
                s0 += x0[k] * w
                s1 += x1[k] * w
                s2 += x2[k] * w
                s3 += x3[k] * w
            Z[0, c], Z[1, c], Z[2, c], Z[3, c] = s0 + b[c], s1 + b[c], s2 + b[c], s3 + b[c]
        for i in range(_ROWS):
            if i >= m:  # padding rows of the last block add nothing
                for c in range(q):
                    R[i, c] = 0.0
                continue
            t = y[order[j + i]]
            zmax = -np.inf
            for c in range(q):
                zmax = max(zmax, Z[i, c])
            total = 0.0
            for c in range(q):
                Z[i, c] = math.exp(Z[i, c] - zmax)
                total += Z[i, c]
            loss += math.log(total) - math.log(Z[i, t])  # = logsumexp(z) − z_t
            for c in range(q):
                R[i, c] = Z[i, c] / total - (1.0 if c == t else 0.0)  # ∂loss/∂z_c
        for c in range(q):
            a0, a1, a2, a3 = R[0, c], R[1, c], R[2, c], R[3, c]
            gb[c] += a0 + a1 + a2 + a3
            for k in range(d):
                G[c, k] += a0 * x0[k] + a1 * x1[k] + a2 * x2[k] + a3 * x3[k]
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
    G = np.empty((q, d), np.float32)
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


@njit(cache=True, fastmath=_FASTMATH, boundscheck=False, parallel=True)
def softmax_epoch_parallel(X, y, order, W, b, lr, batch_size, mean, wd, steps, running, parts):  # pragma: no cover
    """:func:`softmax_epoch` with each batch's gradient split over ``parts`` threads (fixed split)."""
    n, d = order.shape[0], X.shape[1]
    q = W.shape[0]
    Gs = np.empty((parts, q, d), np.float32)
    gbs = np.empty((parts, q), np.float32)
    Zs = np.empty((parts, _ROWS, q), np.float64)
    Rs = np.empty((parts, _ROWS, q), np.float32)
    L = np.empty(parts, np.float64)
    G = np.empty((q, d), np.float32)
    gb = np.empty(q, np.float32)
    batches = 0
    i = 0
    while i < n:
        m = min(batch_size, n - i)
        for t in prange(parts):
            lo = i + t * m // parts
            hi = i + (t + 1) * m // parts
            Gs[t] = 0.0
            gbs[t] = 0.0
            L[t] = _softmax_gradient(X, y, order, lo, hi, W, b, Gs[t], gbs[t], Zs[t], Rs[t])
        batch_loss = L.sum() / m
        if not batch_loss <= _F32_MAX:
            return math.nan if math.isnan(batch_loss) else math.inf, batches, False
        for c in range(q):
            gb[c] = 0.0
            for t in range(parts):
                gb[c] += gbs[t, c]
            for k in range(d):
                G[c, k] = 0.0
                for t in range(parts):
                    G[c, k] += Gs[t, c, k]
        _softmax_step(W, b, G, gb, m, lr, mean, wd)
        running += batch_loss
        if steps.size:  # the caller asked for every step's loss
            steps[batches] = batch_loss
        batches += 1
        i += m
    return running, batches, True


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

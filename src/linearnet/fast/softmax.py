"""The compiled epochs of softmax regression: one thread (:func:`softmax_epoch`), or each batch's
gradient split between two (:func:`softmax_epoch_pair`), and the loss and right answers over all rows
(:func:`softmax_evaluate`). W is kept (q, d) float32 so that each logit reads one contiguous row."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .halves import SYNC_SIZE, _batch_to_help, _half_done, _pair_started, _second_half_into, _stepped, _stop
from .machine import _F32_MAX, _FASTMATH, _cycles, _prefetch_row, aligned, two_threads

SOFTMAX_PAIR_BATCH = 64  # from this batch size on, softmax's batch gradient is split between two threads

__all__ = [
    "SOFTMAX_PAIR_BATCH",
    "aligned",
    "epoch",
    "gradient",
    "step",
    "uses_pair",
    "softmax_epoch",
    "softmax_epoch_pair",
    "softmax_evaluate",
]

_ROWS = 8  # rows whose logits and gradient are computed together, sharing each load of W and G


@njit(cache=True, nogil=True, inline="always")
def _aligned_empty(rows, width):  # pragma: no cover - compiled
    """An uninitialised float32 (rows, width) array that starts on a 64-byte boundary (a cache line,
    and the width of an AVX-512 load); so does each row when width is a multiple of 16."""
    raw = np.empty(rows * width + 16, np.float32)
    skip = (-(raw.ctypes.data // 4)) % 16  # floats to the next 64-byte boundary
    return raw[skip : skip + rows * width].reshape((rows, width))


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


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False, inline="always")
def _add_and_step(W, b, G, gb, G2, gb2, m, lr, mean, wd):  # pragma: no cover - compiled
    """Add the second half's gradient (G2, gb2) to the first's (G, gb), and step."""
    q, d = W.shape
    for c in range(q):
        gb[c] += gb2[c]
        for j in range(d):
            G[c, j] += G2[c, j]
    _softmax_step(W, b, G, gb, m, lr, mean, wd)


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
# long: one compiled loop, the two threads' parts of each batch side by side; split, the kernel would be slower
def softmax_epoch_part(
    X, y, order, W, b, lr, batch_size, mean, wd, steps, running, Gs, gbs, L, sync, me
):  # pragma: no cover
    """One thread's part of :func:`softmax_epoch_pair`: ``me`` 0 steps, 1 helps.

    A batch of m rows has two halves, rows order[i : i + m//2] and the rest. Thread 0 computes the
    first half (into Gs[0], gbs[0]), then the second itself (into a buffer of its own) unless thread
    1 has claimed it; thread 1 waits for each step, claims the next batch's second half and computes
    it into Gs[1], gbs[1], L[1]. The claim is a compare-and-swap, so one thread claims each half, and
    each buffer has one writer. Thread 0 waits for a claimed half only about as long as its own half
    took it, from when thread 1 began (cycle counts): past that, thread 1 has been descheduled or is
    slow, and thread 0 computes the half itself. Thread 1's late result is then never read: thread 0
    reads Gs[1] for a batch only once thread 1 has marked that batch's half done, after any late half
    (thread 1 works through its halves in order). The same compiled code computes every half into
    whichever buffer, so the results repeat exactly, however the work was shared; a helper that is
    late, or never runs, only leaves thread 0 more to do, never waiting long for it.
    """
    n = order.shape[0]
    q, d = W.shape
    flags = sync.ctypes.data
    Z = np.empty((_ROWS, q), np.float64)
    R = np.empty((_ROWS, q), np.float32)
    own = _aligned_empty(q, d)  # thread 0's buffer for a second half it computes itself
    own_b = np.empty(q, np.float32)
    batches = -(-n // batch_size)
    if not _pair_started(sync, me):
        return running, 0, True
    spent = 0  # the cycles thread 0 took for its half of the batch
    k = 0  # the batch
    while k < batches:
        if me == 1:  # wait until thread 0 has stepped the batch before, then help with the one it is on
            k = _batch_to_help(flags, k, batches)
            if k >= batches:
                break
        i = k * batch_size
        m = min(batch_size, n - i)
        into = 0  # where this thread put the half: Gs[0] or Gs[1], 2 its own buffer, −1 not this thread
        second_loss = 0.0
        for h in range(me, 2):
            into = h if h == 0 else _second_half_into(flags, k, me, spent)
            if into < 0:
                break
            G, gb = (own, own_b) if into == 2 else (Gs[into], gbs[into])
            G[:] = 0.0
            gb[:] = 0.0
            began = _cycles()
            loss = _softmax_gradient(X, y, order, i + h * (m // 2), i + m // 2 + h * (m - m // 2), W, b, G, gb, Z, R)
            if h == 0:
                spent = _cycles() - began
            if into == 2:
                second_loss = loss
            else:
                L[into] = loss
        if me == 1:
            if into == 1:
                _half_done(flags, k)  # the second half of batch k is in slot 1
            k += 1
            continue
        helped = into < 0  # thread 1 computed the second half
        batch_loss = (L[0] + (L[1] if helped else second_loss)) / m
        if not batch_loss <= _F32_MAX:
            _stop(flags)
            return math.nan if math.isnan(batch_loss) else math.inf, k, False
        _add_and_step(W, b, Gs[0], gbs[0], Gs[1] if helped else own, gbs[1] if helped else own_b, m, lr, mean, wd)
        running += batch_loss
        if steps.size:  # the caller asked for every step's loss
            steps[k] = batch_loss
        k += 1
        _stepped(flags, k)  # the weights are stepped: thread 1 may read them
    _stop(flags)
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
    sync = np.zeros(SYNC_SIZE, np.int64)
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


# --- what the engines call -----------------------------------------------------------------------


def uses_pair(batch_size: int) -> bool:
    """Whether batches this large are split between two threads (:func:`softmax_epoch_pair`)."""
    return batch_size >= SOFTMAX_PAIR_BATCH and two_threads()


def epoch(X, y, order, W, b, lr, batch_size, mean, wd, steps, running):
    """One epoch (the arguments and results of :func:`softmax_epoch`), on two threads for large batches."""
    run = softmax_epoch_pair if uses_pair(batch_size) else softmax_epoch
    return run(X, y, order, W, b, lr, batch_size, mean, wd, steps, running)


def gradient(X, y, W, b) -> tuple[np.ndarray, np.ndarray, float]:
    """(G (q, d), gb (q,), total): the gradient of the cross-entropy summed over every row of X (n, d)
    float32 at (W (q, d), b (q,)), and that summed loss; W and b are left as they are."""
    q = len(b)
    G, gb = np.zeros_like(W), np.zeros_like(b)
    Z, R = np.empty((_ROWS, q)), np.empty((_ROWS, q), np.float32)
    total = _softmax_gradient(X, y, np.arange(len(X)), 0, len(X), W, b, G, gb, Z, R)
    return G, gb, total


def step(W, b, G, gb, rows, lr, mean, wd) -> None:
    """The step :func:`softmax_epoch` takes for a batch of ``rows`` rows whose summed gradient is (G, gb),
    in place."""
    _softmax_step(W, b, G, gb, rows, lr, mean, wd)

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
data at small batches.

The per-example loss is c·r² with r = x·w + b − y (c = ½ or 1), so the gradient of the
batch's summed loss is Σ 2c·r·x for w and Σ 2c·r for b. Parameters and sums are kept
in float64; rows stay float32 as the caller gave them.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["sgd_epoch", "total_loss"]

# Reassociation lets LLVM vectorise the dot products; no "nnan"/"ninf", so isfinite stays honest.
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
_AHEAD = 8  # rows prefetched ahead of the one being used


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
        fn = cgutils.get_or_insert_function(builder.module, fnty,
                                            "llvm.prefetch.p0" if opaque else "llvm.prefetch.p0i8")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all cache levels, data
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def sgd_epoch(X, y, order, w, b, lr, batch_size, c, mean):  # pragma: no cover - compiled
    """One epoch of minibatch SGD over the rows of X in ``order``; updates ``w`` in place.

    Args:
        X: (n, d) rows; y: (n,) labels; order: (n,) int64 permutation of range(n).
        w: (d,) float64 weights, updated in place; b: the bias.
        lr: step size; batch_size: rows per step (the last batch may be short).
        c: per-example loss c·(ŷ−y)²; mean: step along the batch-mean gradient if True,
            else along the summed gradient.

    Returns:
        (b, sum over batches of the batch's mean loss before its step, batches done,
        finite). On a non-finite batch loss the epoch stops at once with finite=False.
    """
    n, d = X.shape
    base = X.ctypes.data
    row_bytes = d * X.itemsize
    g = np.empty(d, np.float64)
    step = 2.0 * c * lr
    running = 0.0
    batches = 0
    i = 0
    while i < n:
        m = min(batch_size, n - i)
        for k in range(d):
            g[k] = 0.0
        gb = 0.0
        batch_loss = 0.0
        for j in range(i, i + m):
            if j + _AHEAD < n:
                address = base + order[j + _AHEAD] * row_bytes
                for offset in range(0, row_bytes + 64, 64):
                    _prefetch(address + offset)
            row = order[j]
            s = 0.0
            for k in range(d):
                s += X[row, k] * w[k]
            r = s + b - y[row]  # residual ŷ − y
            batch_loss += r * r
            gb += r
            for k in range(d):
                g[k] += r * X[row, k]
        batch_loss = c * batch_loss / m
        if not math.isfinite(batch_loss):
            return b, batch_loss, batches, False
        running += batch_loss
        scale = step / m if mean else step
        for k in range(d):
            w[k] -= scale * g[k]
        b -= scale * gb
        batches += 1
        i += m
    return b, running, batches, True


@njit(cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
def total_loss(X, y, w, b, c):  # pragma: no cover - compiled
    """Σ c·(x·w + b − y)² over all rows, in float64."""
    n, d = X.shape
    total = 0.0
    for i in range(n):
        s = 0.0
        for k in range(d):
            s += X[i, k] * w[k]
        r = s + b - y[i]
        total += r * r
    return c * total

"""The compiled engine: whole SGD epochs for linear and softmax regression, with analytic gradients.

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
and reads the rows of any chunk not yet copied from X itself, as the one-thread epoch does.
The steps are those of
:func:`sgd_epoch`, batch for batch (the sums may differ in the last bit: the compiler fuses
multiply-adds its own way in each copy of the loop). Large batches (``LINEAR_PAIR_BATCH`` rows
and more) split each batch's gradient between the two threads instead, in any order of the rows
(:func:`linear_epoch_pair`): each thread sums half the batch's rows, and the step adds the two
halves, so the steps are :func:`sgd_epoch`'s up to the order of those sums (within 1e-10 relative
over an epoch in the tests; the pair's own results repeat exactly, however the halves were shared).
Softmax regression, whose rows cost 2·d·q multiply-adds each, splits its batches from
``SOFTMAX_PAIR_BATCH`` rows on (:func:`softmax_epoch_pair`), through the same hand-over
(:mod:`~linearnet.fast.halves`). Weighted rows (:func:`~linearnet.fast.linear.sgd_epoch_weighted`)
run on one thread.

The two threads are numba's (``prange`` over the two parts, nothing else in parallel): with
the OpenMP layer, where numba and torch load the same OpenMP runtime, they are the threads
torch's operations run on, whose second one spins for about 10 ms after each parallel
operation (such as the permutation ``fit`` draws before every epoch); any other second thread
would have competed with it for the second CPU. (A torch wheel that bundles its own libgomp
next to the system's numba uses keeps two pools; the epochs' results do not depend on it.) They share
work through a few int64 flags read and written with atomic instructions (:func:`_load`,
:func:`_store`, :func:`_claim`): each part's compiled loop is its own function, so only a
small wrapper goes through numba's parallel compiler. The stepping thread never waits for the
other (the pipeline) or only about as long as its own half of the batch took (the pair): on a
busy machine, where three runnable threads share two cores, the helping thread is often
descheduled mid-way, for a whole time slice, and whatever it had taken on the stepping thread
then does itself; the helping thread, waiting long, sleeps rather than spins. So the two parts
give the same results run at once, one after the other, on one thread, or with the helping one
stalled anywhere, and a stalled helper costs the stepping thread next to nothing.

The modules: :mod:`~linearnet.fast.linear` (linear regression's epochs on one thread and the pipeline),
:mod:`~linearnet.fast.linear_pair` (its pair epoch), :mod:`~linearnet.fast.softmax` (softmax
regression's epochs), :mod:`~linearnet.fast.halves` (the pairs' hand-over of a batch's second half:
the claim, the timed wait) and :mod:`~linearnet.fast.machine` (prefetch, atomic flags, threads).
What the engines call is each model's ``epoch``, ``gradient`` and ``step``.
"""

from __future__ import annotations

from . import linear, linear_pair, softmax
from .linear import (
    ABSOLUTE,
    HUBER,
    LINEAR_PAIR_BATCH,
    PIPELINE_BYTES,
    SQUARED,
    copy_chunks,
    sgd_epoch,
    sgd_epoch_pipelined,
    sgd_epoch_ring,
    total_loss,
)
from .linear_pair import linear_epoch_pair, linear_epoch_part
from .machine import two_threads
from .softmax import (
    SOFTMAX_PAIR_BATCH,
    aligned,
    softmax_epoch,
    softmax_epoch_pair,
    softmax_epoch_part,
    softmax_evaluate,
)

__all__ = [
    "linear",
    "linear_pair",
    "softmax",
    "sgd_epoch",
    "sgd_epoch_pipelined",
    "sgd_epoch_ring",
    "copy_chunks",
    "linear_epoch_pair",
    "linear_epoch_part",
    "total_loss",
    "softmax_epoch",
    "softmax_epoch_pair",
    "softmax_epoch_part",
    "softmax_evaluate",
    "aligned",
    "two_threads",
    "PIPELINE_BYTES",
    "LINEAR_PAIR_BATCH",
    "SOFTMAX_PAIR_BATCH",
    "SQUARED",
    "ABSOLUTE",
    "HUBER",
]

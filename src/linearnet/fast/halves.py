"""The hand-over of a batch's second half between the two threads of a pair epoch (softmax's and linear
regression's): who computes it (a compare-and-swap claim), how long the stepping thread waits for the
helping one (about as long as its own half took), and when the helping one may start on a batch.

Thread 0 steps; thread 1 helps. For each batch k, whichever thread first raises the ``_CLAIMED`` flag from
k to k + 1 computes the batch's second half: thread 1 into its slot (then marks ``_READY`` k + 1), thread 0
into a buffer of its own. Thread 0 reads thread 1's slot for batch k only once ``_READY`` > k, and waits
for that only about as long as its own half took, from when thread 1 began: past that it computes the half
itself, and thread 1's late result is never read (thread 1 works through its halves in order, and claims
batch k only once thread 0 has stepped batch k − 1, published through ``_USED``). So which thread computed
a half never changes what it holds: the results do not depend on timing.
"""

from __future__ import annotations

from numba import njit

from .machine import (
    _BEGUN,
    _CLAIMED,
    _LIVE,
    _READY,
    _STOP,
    _USED,
    _YIELD_EVERY,
    _claim,
    _cycles,
    _load,
    _pause,
    _stepper_started,
    _store,
    _wait_a_little,
)

__all__ = ["SYNC_SIZE"]

SYNC_SIZE = _READY + 8  # int64 flags a pair needs: _CLAIMED, _USED, _STOP, _LIVE, _READY and _BEGUN


@njit(cache=True, nogil=True, inline="always")
def _pair_started(sync, me):  # pragma: no cover - compiled
    """Thread 0 says it has started; thread 1 waits a bounded while for that: False if thread 0 has not
    (then the two parts run one after the other, and thread 1 leaves every batch to thread 0)."""
    if me == 0:
        _store(sync.ctypes.data + 8 * _LIVE, 1)
        return True
    return _stepper_started(sync)


@njit(cache=True, nogil=True, inline="always")
def _helper_done(flags, k, spent):  # pragma: no cover - compiled
    """Whether thread 1 has computed the second half of batch k that it claimed, waiting for it until
    about as long after it began as thread 0's own half took (``spent`` cycles), and an eighth more."""
    deadline = max(_cycles(), _load(flags + 8 * _BEGUN) + spent) + spent // 8
    spins = 0
    while _load(flags + 8 * _READY) <= k:
        if _cycles() > deadline:  # never, without a cycle counter: then it waits until the half is done
            return False
        spins += 1
        _pause(spins % _YIELD_EVERY == 0)
    return True


@njit(cache=True, nogil=True, inline="always")
def _second_half_into(flags, k, me, spent):  # pragma: no cover - compiled
    """Where thread ``me`` computes the second half of batch k: 1 (thread 1, into its slot), 2 (thread 0,
    into its own buffer), or −1, not at all: thread 1 finds thread 0 has claimed it, or thread 0 finds
    thread 1 has done it (:func:`_helper_done`)."""
    if _claim(flags + 8 * _CLAIMED, k):
        if me == 1:
            _store(flags + 8 * _BEGUN, _cycles())
        return 1 if me == 1 else 2
    if me == 1 or _helper_done(flags, k, spent):
        return -1
    return 2  # claimed by thread 1 and not done in time: thread 0 does it and never reads thread 1's


@njit(cache=True, nogil=True, inline="always")
def _batch_to_help(flags, k, batches):  # pragma: no cover - compiled
    """Thread 1: wait until thread 0 has stepped batch k − 1; the batch it is on now (``batches`` once it
    has stopped)."""
    spins = 0
    while _load(flags + 8 * _USED) < k and not _load(flags + 8 * _STOP):
        spins += 1
        _wait_a_little(spins)
    return batches if _load(flags + 8 * _STOP) else _load(flags + 8 * _USED)


@njit(cache=True, nogil=True, inline="always")
def _half_done(flags, k):  # pragma: no cover - compiled
    """Thread 1: the second half of batch k is in its slot."""
    _store(flags + 8 * _READY, k + 1)


@njit(cache=True, nogil=True, inline="always")
def _stepped(flags, k):  # pragma: no cover - compiled
    """Thread 0: batches before k are stepped, the parameters written: thread 1 may read them."""
    _store(flags + 8 * _USED, k)


@njit(cache=True, nogil=True, inline="always")
def _stop(flags):  # pragma: no cover - compiled
    """Thread 0 is done (or stopped on a non-finite loss): thread 1 stops waiting and returns."""
    _store(flags + 8 * _STOP, 1)

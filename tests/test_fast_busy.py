"""The fast engine's two-thread epochs when the second thread is late, descheduled or never runs: the
stepping thread never waits for it, and the steps stay those of the one-thread epoch."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from linearnet import fast
from linearnet.fast import machine

SLOTS, ROWS, D = 4, 16, 5  # a ring of 4 chunks of 16 rows of 5 features
LOSS = (fast.SQUARED, 0.5, 1.0)


def inputs(n=700, d=D, q=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, q, n) if q else (X @ rng.standard_normal(d)).astype(np.float32)
    return X, y, rng.permutation(n)


def one_thread(X, y, order, batch_size=9):
    w, steps = np.zeros(X.shape[1]), np.empty(-(-len(order) // batch_size))
    out = fast.sgd_epoch(X, y, order, w, 0.0, 0.05, batch_size, *LOSS, True, 0.0, steps, 0.0)
    return out, w, steps


def ring_parts(d=D):
    ring = np.full((SLOTS, ROWS, d), np.nan, np.float32)  # nothing copied: rows that would poison the steps
    ring_y = np.full((SLOTS, ROWS), np.nan, np.float32)
    return ring, ring_y, np.zeros(machine._READY + 8 * SLOTS, np.int64)


def stepper(X, y, order, ring, ring_y, sync, batch_size=9):
    w, steps = np.zeros(X.shape[1]), np.empty(-(-len(order) // batch_size))
    args = (X, y, order, w, 0.0, 0.05, batch_size, *LOSS, True, 0.0, steps, 0.0, ring, ring_y, sync)
    return fast.sgd_epoch_ring(*args), w, steps


def same(a, b):
    """The same results and arrays (weights, bias, steps), exactly."""
    return a[0] == b[0] and all(np.array_equal(p, q) for p, q in zip(a[1:], b[1:], strict=True))


@pytest.mark.timeout(60)
def test_the_stepping_thread_never_waits_for_a_chunk_being_copied():
    # a copying thread that took chunks and was descheduled mid-copy: their slots half-written, never marked
    # ready. The stepping thread reads those rows from X and finishes on its own, with the one-thread steps.
    X, y, order = inputs()
    ring, ring_y, sync = ring_parts()
    sync[machine._CLAIMED] = 3  # copying chunk 3 (and chunks 1 and 2 before it, never finished)
    ring[1:4, :5] = 7.0  # the first rows of each, copied before it stopped
    assert same(stepper(X, y, order, ring, ring_y, sync), one_thread(X, y, order))
    assert sync[machine._STOP] == 1  # it told the copying thread to stop


@pytest.mark.timeout(60)
def test_a_slot_is_read_only_when_marked_ready_for_that_very_chunk():
    X, y, order = inputs()
    ring, ring_y, sync = ring_parts()
    # slot 1 holds chunk 1, marked so; at chunk 5 (slot 1 again) the mark is stale: rows 5 come from X
    rows = order[1 * ROWS : 2 * ROWS]
    ring[1], ring_y[1] = X[rows], y[rows]
    sync[machine._READY + 8 * 1] = 2
    assert same(stepper(X, y, order, ring, ring_y, sync), one_thread(X, y, order))
    # a slot marked ready for its chunk is read from the ring: chunk 2's rows copied there, the steps unchanged
    ring, ring_y, sync = ring_parts()
    rows = order[2 * ROWS : 3 * ROWS]
    ring[2], ring_y[2] = X[rows], y[rows]
    sync[machine._READY + 8 * 2] = 3
    assert same(stepper(X, y, order, ring, ring_y, sync), one_thread(X, y, order))
    ring[2] *= 2.0  # and what the slot holds is what it steps on
    assert not same(stepper(X, y, order, ring, ring_y, sync), one_thread(X, y, order))


@pytest.mark.timeout(60)
def test_the_copying_thread_skips_the_chunks_the_stepping_thread_has_passed():
    X, y, order = inputs(n=10 * ROWS)  # ten chunks
    ring, ring_y, sync = ring_parts()
    sync[machine._LIVE] = 1  # the stepping thread has started
    sync[machine._USED] = 7  # and is on chunk 7: chunks 8 and 9 are left to copy, into slots 0 and 1
    fast.copy_chunks(X, y, order, ring, ring_y, sync)
    assert list(sync[machine._READY : machine._READY + 8 * SLOTS : 8]) == [9, 10, 0, 0]
    np.testing.assert_array_equal(ring[0], X[order[8 * ROWS : 9 * ROWS]])
    np.testing.assert_array_equal(ring_y[1], y[order[9 * ROWS :]])
    assert np.isnan(ring[2]).all() and np.isnan(ring[3]).all()  # the chunks passed were not copied


@pytest.mark.timeout(120)
@pytest.mark.parametrize("batch_size", [1, 9, 40, 700])
def test_the_two_parts_at_once_take_the_one_thread_steps(batch_size):
    # the copying part on a Python thread (the kernels release the GIL), the stepping part here, many times:
    # however far the copying got at each chunk, the same steps
    X, y, order = inputs()
    reference = one_thread(X, y, order, batch_size)
    for _ in range(20):
        ring, ring_y, sync = ring_parts()
        copier = threading.Thread(target=fast.copy_chunks, args=(X, y, order, ring, ring_y, sync))
        copier.start()
        result = stepper(X, y, order, ring, ring_y, sync, batch_size)
        copier.join()
        assert same(result, reference)


def softmax_parts(q, d, poison=True):
    Gs = np.full((2, q, d), np.nan if poison else 0.0, np.float32)
    gbs = np.full((2, q), np.nan if poison else 0.0, np.float32)
    L = np.full(2, np.nan if poison else 0.0)
    return Gs, gbs, L, np.zeros(machine._READY + 8, np.int64)


def softmax_part(X, y, order, Gs, gbs, L, sync, me, batch_size=100):
    W, b, steps = np.zeros((3, X.shape[1]), np.float32), np.zeros(3, np.float32), np.empty(-(-len(order) // batch_size))
    args = (X, y, order, W, b, 0.5, batch_size, True, 0.0, steps, 0.0, Gs, gbs, L, sync)
    return fast.softmax_epoch_part(*args, me), W, b, steps


def softmax_alone(X, y, order):
    return softmax_part(X, y, order, *softmax_parts(3, X.shape[1], poison=False), 0)


@pytest.mark.timeout(60)
def test_a_softmax_pair_takes_over_a_half_its_helper_claimed_and_never_finished():
    # the helper claimed batch 0's second half and was descheduled: its slot holds NaN, never marked done.
    # The stepping thread waits about as long as its own half took, then computes that half itself.
    X, y, order = inputs(n=500, d=6, q=3)
    Gs, gbs, L, sync = softmax_parts(3, 6)
    sync[machine._CLAIMED] = 1
    result = softmax_part(X, y, order, Gs, gbs, L, sync, 0)
    assert same(result, softmax_alone(X, y, order))
    assert np.isnan(Gs[1]).all()  # the helper's slot was never read nor written
    assert sync[machine._STOP] == 1


@pytest.mark.timeout(60)
def test_a_softmax_pair_ignores_a_late_helpers_mark_for_an_earlier_batch():
    X, y, order = inputs(n=500, d=6, q=3)
    Gs, gbs, L, sync = softmax_parts(3, 6)
    sync[machine._CLAIMED] = 1  # batch 0's second half claimed; the only "done" mark is for no batch yet
    sync[machine._READY] = 0
    first = softmax_part(X, y, order, Gs, gbs, L, sync, 0)
    assert np.isfinite(first[1]).all() and same(first, softmax_alone(X, y, order))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("batch_size", [64, 100, 333])
def test_a_softmax_pair_on_two_python_threads_takes_the_same_steps(batch_size):
    X, y, order = inputs(n=1000, d=6, q=3)
    reference = softmax_part(X, y, order, *softmax_parts(3, 6, poison=False), 0, batch_size)
    for _ in range(20):
        Gs, gbs, L, sync = softmax_parts(3, 6)
        W, b, steps = np.zeros((3, 6), np.float32), np.zeros(3, np.float32), np.empty(-(-1000 // batch_size))
        args = (X, y, order, W, b, 0.5, batch_size, True, 0.0, steps, 0.0, Gs, gbs, L, sync)
        helper = threading.Thread(target=fast.softmax_epoch_part, args=(*args, np.int64(1)))
        helper.start()
        ours = fast.softmax_epoch_part(*args, np.int64(0))
        helper.join()
        assert same((ours, W, b, steps), reference)

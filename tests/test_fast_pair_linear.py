"""The fast engine's linear pair epoch: each large batch's gradient split between two threads.

What holds: the pair's steps are ``sgd_epoch``'s but for the order of the sums (each batch's two halves
summed apart, then added), within 1e-10 relative over one epoch here, for every loss and reduction, with
weight decay; and the pair is deterministic: the same results, to the last bit, whether the helping thread
runs, is stalled in the middle of a half, or never starts.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from linearnet import fast
from linearnet.fast import linear, linear_pair, machine

LOSSES = [(fast.SQUARED, 0.5, 1.0), (fast.ABSOLUTE, 1.0, 1.0), (fast.HUBER, 1.0, 0.5)]
RTOL = 1e-10  # the pair against sgd_epoch: the same steps up to the order of each batch's sums


def inputs(n=600, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = (X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n)).astype(np.float32)
    return X, y, rng.permutation(n)


def settings(loss=LOSSES[0], mean=True, wd=0.05, lr=0.02, batch_size=64):
    return lr, batch_size, *loss, mean, wd


def one_thread(X, y, order, lr, batch_size, *rest):
    w, steps = np.zeros(X.shape[1]), np.empty(-(-len(order) // batch_size))
    return linear.sgd_epoch(X, y, order, w, 0.1, lr, batch_size, *rest, steps, 0.0), w, steps


def pair(X, y, order, lr, batch_size, *rest):
    w, steps = np.zeros(X.shape[1]), np.empty(-(-len(order) // batch_size))
    return linear_pair.linear_epoch_pair(X, y, order, w, 0.1, lr, batch_size, *rest, steps, 0.0), w, steps


def part_args(X, y, order, lr, batch_size, *rest, poison=True):
    """The arguments of a linear_epoch_part, its shared buffers NaN (what is never written must never be read)."""
    w, steps = np.zeros(X.shape[1]), np.empty(-(-len(order) // batch_size))
    gs, sums, sync = linear_pair.pair_buffers(X.shape[1])
    if poison:
        gs[:], sums[:] = np.nan, np.nan
    return (X, y, order, w, np.array([0.1]), lr, batch_size, *rest, steps, 0.0, gs, sums, sync)


def run_part(args, me=0):
    """A part's results with the weights and steps it wrote."""
    return linear_pair.linear_epoch_part(*args, np.int64(me)), args[3], args[12]


def same(a, b):
    """The same results and arrays (weights, steps), exactly."""
    return a[0] == b[0] and all(np.array_equal(p, q) for p, q in zip(a[1:], b[1:], strict=True))


def close(a, b):
    (b1, run1, n1, ok1), w1, s1 = a
    (b2, run2, n2, ok2), w2, s2 = b
    assert (n1, ok1) == (n2, ok2)
    assert b1 == pytest.approx(b2, rel=RTOL) and run1 == pytest.approx(run2, rel=RTOL)
    np.testing.assert_allclose(w1, w2, rtol=RTOL, atol=1e-14)
    np.testing.assert_allclose(s1, s2, rtol=RTOL)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mean", [True, False], ids=["mean", "sum"])
@pytest.mark.parametrize("loss", LOSSES, ids=["squared", "absolute", "huber"])
def test_the_pair_takes_sgd_epochs_steps_up_to_the_order_of_the_sums(loss, mean):
    X, y, order = inputs()
    for batch_size in (64, 77, 600):  # halves of 32, of 38 and 39 with a short last batch, one batch
        args = settings(loss, mean, lr=0.2 if mean else 0.002, batch_size=batch_size)
        reference = one_thread(X, y, order, *args)
        close(pair(X, y, order, *args), reference)
        close(run_part(part_args(X, y, order, *args)), reference)  # the stepping part alone
        assert np.abs(reference[1]).max() > 0.01 and reference[0][3]  # it went somewhere, finitely


@pytest.mark.timeout(120)
def test_the_pair_repeats_exactly_however_the_halves_were_shared():
    X, y, order = inputs(n=2000)
    args = settings(LOSSES[2], batch_size=100)
    alone = run_part(part_args(X, y, order, *args, poison=False))
    # the helper never starts: the stepping part waits for nobody; a helper that came first gave up
    never = part_args(X, y, order, *args)
    linear_pair.linear_epoch_part(*never, np.int64(1))  # gives up waiting for a stepping part that never starts
    assert same(run_part(never), alone)
    # the helper claimed batch 0's second half and stalled in the middle of it: its slot half-written, never
    # marked done. The stepping part waits about as long as its own half took, then computes the half itself.
    stalled = part_args(X, y, order, *args)
    stalled[14][1, :2] = 7.0
    stalled[16][machine._CLAIMED] = 1
    assert same(run_part(stalled), alone)
    assert np.isnan(stalled[14][1, 2:]).all() and np.isnan(stalled[15][1]).all()  # never read nor written
    assert stalled[16][machine._STOP] == 1  # it told the helper to stop
    # both parts at once on two Python threads (the kernels release the GIL), many times
    for _ in range(20):
        both = part_args(X, y, order, *args)
        helper = threading.Thread(target=linear_pair.linear_epoch_part, args=(*both, np.int64(1)))
        helper.start()
        ours = run_part(both)
        helper.join()
        assert same(ours, alone)


@pytest.mark.timeout(60)
def test_a_helper_s_half_is_what_the_stepping_part_steps_on():
    # a half the helper marked done is read from its slot: a wrong one there changes the steps
    X, y, order = inputs()
    args = settings()
    alone = run_part(part_args(X, y, order, *args, poison=False))
    marked = part_args(X, y, order, *args, poison=False)
    marked[16][machine._CLAIMED] = 1
    marked[16][machine._READY] = 1  # batch 0's second half done, and it is zeros
    assert not same(run_part(marked), alone)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("lr", [1e3, 1e30], ids=["inf", "overflow"])
def test_a_non_finite_loss_stops_the_pair_as_it_stops_sgd_epoch(lr):
    X, y, order = inputs()
    args = settings(LOSSES[0], lr=lr, wd=0.0)
    (_, loss1, n1, ok1), _, s1 = one_thread(X, y, order, *args)
    (_, loss2, n2, ok2), _, s2 = pair(X, y, order, *args)
    assert not ok1 and not ok2 and n1 == n2 > 0
    assert (np.isnan(loss1) and np.isnan(loss2)) or loss1 == loss2 == np.inf
    np.testing.assert_allclose(s2[:n2], s1[:n1], rtol=RTOL)  # the steps before the stop, recorded


@pytest.mark.timeout(60)
def test_the_steps_need_not_be_recorded():
    X, y, order = inputs()
    args = settings()
    w = np.zeros(X.shape[1])
    recorded = pair(X, y, order, *args)
    out = linear_pair.linear_epoch_pair(X, y, order, w, 0.1, *args, np.empty(0), 0.0)
    assert out == recorded[0] and np.array_equal(w, recorded[1])
    assert recorded[0][1] == pytest.approx(recorded[2].sum(), rel=1e-12)  # the running sum of the steps


@pytest.mark.parametrize(
    ("batch_size", "threads", "shuffled", "kernel"),
    [
        (linear.LINEAR_PAIR_BATCH, True, False, "pair"),  # rows in order
        (linear.LINEAR_PAIR_BATCH, True, True, "pair"),  # shuffled rows beyond the caches: not the pipeline
        (linear.LINEAR_PAIR_BATCH - 1, True, True, "pipeline"),
        (linear.LINEAR_PAIR_BATCH - 1, True, False, "one"),
        (linear.LINEAR_PAIR_BATCH, False, True, "one"),  # one thread: never two
    ],
)
def test_the_pair_runs_from_its_batch_size_on_when_there_are_two_threads(
    monkeypatch, batch_size, threads, shuffled, kernel
):
    ran = []
    monkeypatch.setattr(linear, "two_threads", lambda: threads)
    monkeypatch.setattr(linear, "PIPELINE_BYTES", 0)  # every shuffled epoch counts as beyond the caches
    monkeypatch.setattr(linear_pair, "linear_epoch_pair", lambda *args: ran.append("pair") or (0.0, 0.0, 1, True))
    monkeypatch.setattr(linear, "sgd_epoch_pipelined", lambda *args: ran.append("pipeline") or (0.0, 0.0, 1, True))
    monkeypatch.setattr(linear, "sgd_epoch", lambda *args: ran.append("one") or (0.0, 0.0, 1, True))
    X, y, order = inputs(n=10)
    linear.epoch(X, y, order, np.zeros(5), 0.0, *settings(batch_size=batch_size), np.empty(0), 0.0, shuffled=shuffled)
    assert ran == [kernel]
    assert linear.uses_pair(batch_size) == (kernel == "pair")


@pytest.mark.timeout(120)
def test_the_fast_engine_splits_large_batches_and_keeps_weighted_rows_on_one_thread(monkeypatch):
    from linearnet.presets import make_train_config
    from linearnet.training import fit_arrays

    X, y, _ = inputs(n=1500)
    config = make_train_config(None, impl="fast", lr=0.1, batch_size=linear.LINEAR_PAIR_BATCH, epochs=2)
    monkeypatch.setattr(linear, "two_threads", lambda: False)
    one = fit_arrays(X, y, config, seed=3)
    pairs, epoch_pair = [], linear_pair.linear_epoch_pair
    monkeypatch.setattr(linear, "two_threads", lambda: True)
    monkeypatch.setattr(linear_pair, "linear_epoch_pair", lambda *args: pairs.append(1) or epoch_pair(*args))
    two = fit_arrays(X, y, config, seed=3)
    assert len(pairs) == 3  # the engine's warm-up (no rows), then each epoch on the pair
    np.testing.assert_allclose(two.history.losses, one.history.losses, rtol=RTOL)
    np.testing.assert_allclose(two.w, one.w, rtol=RTOL)
    weights = np.linspace(0.5, 2.0, len(y))
    fit_arrays(X, y, config, seed=3, weights=weights)
    assert len(pairs) == 4  # weighted rows: the warm-up only, the epochs on one thread

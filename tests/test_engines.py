"""The three engines (linearnet.training.engines: scratch, concise, fast) follow one trajectory from one seed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet import DivergedError, run
from linearnet.presets import make_train_config
from linearnet.training import fit_arrays, fit_classifier

from helpers import IMPLS, assert_same_trajectory


def runs(**overrides):
    return {impl: run(impl=impl, **overrides) for impl in IMPLS}


@pytest.mark.parametrize(
    "overrides",
    [
        dict(),  # d2l 3.2
        dict(preset="d2l-3.3"),
        dict(preset="gluon-lesson"),
        dict(num_examples=103, num_features=7, batch_size=10, epochs=4, lr=0.05, seed=5),  # partial batches
        dict(loss="squared", grad_reduction="sum", lr=0.002, batch_size=16, epochs=2, seed=2),
        dict(num_examples=3000, num_features=6, batch_size=700, epochs=3, lr=0.3, seed=1),  # threads split batches
    ],
    ids=["d2l-3.2", "d2l-3.3", "gluon-lesson", "partial-batches", "summed-squared", "large-batches"],
)
def test_the_three_implementations_follow_one_trajectory(overrides):
    assert_same_trajectory(runs(**overrides))


@settings(max_examples=10, deadline=None)
@given(
    n=st.integers(1, 80),
    d=st.integers(1, 5),
    batch_size=st.integers(1, 30),
    lr=st.floats(0.001, 0.1),
    seed=st.integers(0, 1000),
)
def test_implementations_agree_on_any_shape(n, d, batch_size, lr, seed):
    assert_same_trajectory(runs(num_examples=n, num_features=d, batch_size=batch_size, lr=lr, epochs=2, seed=seed))


@pytest.mark.parametrize("loss", ["l1", "huber"])
@pytest.mark.parametrize(
    "extra",
    [dict(), dict(grad_reduction="sum", lr=0.003), dict(batch_size=700, num_examples=3000)],
    ids=["mean", "sum", "threads"],
)
def test_the_three_implementations_agree_on_robust_losses(loss, extra):
    assert_same_trajectory(runs(loss=loss, huber_delta=0.5, noise_dist="laplace", noise=0.5, epochs=3, **extra))


def test_the_same_schedule_in_every_implementation():
    assert_same_trajectory(runs(lr_schedule="step", lr_decay=0.3, epochs=3))


def test_every_step_is_recorded_the_same_way_by_each_implementation():
    results = {impl: run(impl=impl, record_steps=True, epochs=2) for impl in IMPLS}
    steps = results["scratch"].history.step_losses
    assert len(steps) == 2 * 100  # 1000 rows in batches of 10, two epochs
    for impl in ("concise", "fast"):
        np.testing.assert_allclose(results[impl].history.step_losses, steps, rtol=1e-4)


def fits(digits, **overrides):
    config = dict(epochs=3, lr=0.5, batch_size=37) | overrides
    return {
        impl: fit_classifier(
            digits.X_train[:500],
            digits.y_train[:500],
            make_train_config("digits-softmax", impl=impl, **config),
            X_test=digits.X_test,
            y_test=digits.y_test,
            seed=3,
        )
        for impl in IMPLS
    }


@pytest.mark.parametrize(
    "overrides",
    [dict(), dict(weight_decay=0.01), dict(grad_reduction="sum", lr=0.01), dict(batch_size=100)],
    ids=["book", "weight-decay", "summed", "threads-split-batches"],
)
def test_the_three_implementations_agree_on_softmax_regression(digits, overrides):
    assert_same_trajectory(fits(digits, **overrides))


@pytest.mark.parametrize("impl", IMPLS)
def test_weight_decay_shrinks_linear_weights_identically(impl):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = X @ [3.0, -2.0, 1.0, 0.5] + 1
    plain = fit_arrays(X, y, make_train_config(impl=impl, epochs=5, lr=0.05), seed=1)
    decayed = fit_arrays(X, y, make_train_config(impl=impl, epochs=5, lr=0.05, weight_decay=0.5), seed=1)
    reference = fit_arrays(X, y, make_train_config(impl="scratch", epochs=5, lr=0.05, weight_decay=0.5), seed=1)
    assert np.linalg.norm(decayed.w) < 0.8 * np.linalg.norm(plain.w)
    np.testing.assert_allclose(decayed.w, reference.w, atol=1e-5)
    assert decayed.b == pytest.approx(reference.b, abs=1e-5)


def pipelined(monkeypatch):
    """From here on every shuffled linear epoch of the fast engine runs as the two-thread pipeline,
    whatever the size of the data and of the batches, in chunks of about 200 bytes of rows and a ring
    of 4 of them; returns the list of the pipelined epochs run."""
    from linearnet.fast import linear

    epochs, pipeline = [], linear.sgd_epoch_pipelined
    monkeypatch.setattr(linear, "PIPELINE_BYTES", 0)
    monkeypatch.setattr(linear, "LINEAR_PAIR_BATCH", 1 << 62)  # no batch split between two threads instead
    monkeypatch.setattr(linear, "two_threads", lambda: True)
    monkeypatch.setattr(linear, "_CHUNK_BYTES", 200)
    monkeypatch.setattr(linear, "_SLOTS", 4)
    monkeypatch.setattr(linear, "sgd_epoch_pipelined", lambda *args: epochs.append(1) or pipeline(*args))
    return epochs


@pytest.mark.parametrize(
    "overrides",
    [
        dict(num_examples=1003, num_features=5, batch_size=7, epochs=2, lr=0.05),  # batches across chunks
        dict(num_examples=3000, num_features=6, batch_size=700, lr=0.3, loss="l1", noise_dist="laplace"),
        dict(num_examples=500, num_features=3, batch_size=10, loss="huber", huber_delta=0.5, grad_reduction="sum"),
        dict(num_examples=300, num_features=2, batch_size=300, epochs=4, lr=0.1, weight_decay=0.1),  # > the ring
    ],
    ids=["partial-batches", "large-batches-l1", "huber-summed", "batch-beyond-the-ring"],
)
def test_the_pipelined_epoch_takes_the_steps_of_the_one_thread_epoch(monkeypatch, overrides):
    one = run(impl="fast", record_steps=True, **overrides)
    epochs = pipelined(monkeypatch)
    two = run(impl="fast", record_steps=True, **overrides)
    assert epochs  # the pipeline ran
    # the same batches in the same order: equal but for the last bits of sums the compiler fuses its own way
    assert two.history.losses == pytest.approx(one.history.losses, rel=1e-12)
    assert two.history.step_losses == pytest.approx(one.history.step_losses, rel=1e-12)
    assert two.w == pytest.approx(one.w, rel=1e-12) and two.b == pytest.approx(one.b, rel=1e-12)


def test_the_pipelined_epoch_diverges_as_the_one_thread_epoch(monkeypatch):
    settings = dict(impl="fast", lr=50.0, num_examples=2000, epochs=2)
    with pytest.raises(DivergedError) as one:
        run(**settings)
    epochs = pipelined(monkeypatch)
    with pytest.raises(DivergedError) as two:
        run(**settings)
    assert epochs and str(two.value) == str(one.value)


def epoch_inputs(n=700, d=5, q=None, seed=0):
    """Rows, labels (class numbers given ``q``) and a permutation for one epoch of a compiled kernel."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, q, n) if q else (X @ rng.standard_normal(d)).astype(np.float32)
    return X, y, rng.permutation(n)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("copier_first", [False, True], ids=["copier-never-runs", "copier-runs-before"])
def test_the_pipeline_steps_alone_when_its_two_parts_do_not_run_at_once(copier_first):
    # on one thread (or a layer that runs the two parts one after the other) the stepping part does it all
    from linearnet import fast

    X, y, order = epoch_inputs()
    one_w, two_w = np.zeros(5), np.zeros(5)
    one_steps, two_steps = np.empty(78), np.empty(78)
    one = fast.sgd_epoch(X, y, order, one_w, 0.0, 0.05, 9, fast.SQUARED, 0.5, 1.0, True, 0.0, one_steps, 0.0)
    ring, ring_y, sync = np.empty((4, 16, 5), np.float32), np.empty((4, 16), np.float32), np.zeros(80, np.int64)
    if copier_first:
        fast.copy_chunks(X, y, order, ring, ring_y, sync)  # gives up waiting for a stepping part that never starts
    args = (X, y, order, two_w, 0.0, 0.05, 9, fast.SQUARED, 0.5, 1.0, True, 0.0, two_steps, 0.0, ring, ring_y, sync)
    two = fast.sgd_epoch_ring(*args)
    assert two == one and np.array_equal(two_w, one_w) and np.array_equal(two_steps, one_steps)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("helper_first", [False, True], ids=["helper-never-runs", "helper-runs-before"])
def test_a_softmax_pair_steps_alone_when_its_two_parts_do_not_run_at_once(helper_first):
    from linearnet import fast

    X, y, order = epoch_inputs(n=500, d=6, q=3)

    def alone(helper_first: bool):
        """The stepping part on this thread, after a helping part that came and gave up, or with none."""
        W, b, steps = np.zeros((3, 6), np.float32), np.zeros(3, np.float32), np.empty(5)
        Gs, gbs, L, sync = (
            np.empty((2, 3, 6), np.float32),
            np.empty((2, 3), np.float32),
            np.zeros(2),
            np.zeros(40, np.int64),
        )
        args = (X, y, order, W, b, 0.5, 100, True, 0.0, steps, 0.0, Gs, gbs, L, sync)
        if helper_first:
            fast.softmax_epoch_part(*args, 1)  # gives up waiting for a stepping part that never starts
        return fast.softmax_epoch_part(*args, 0), W, b, steps

    W, b, steps = np.zeros((3, 6), np.float32), np.zeros(3, np.float32), np.empty(5)
    pair = fast.softmax_epoch_pair(X, y, order, W, b, 0.5, 100, True, 0.0, steps, 0.0), W, b, steps  # both at once
    one, reference = alone(helper_first), alone(False)
    # the same compiled part, whether a helper came and went or never ran: the same steps, exactly
    assert one[0] == reference[0] and all(np.array_equal(p, q) for p, q in zip(one[1:], reference[1:], strict=True))
    # the pair runs its own compiled copy of the part, made inside the parallel wrapper; loaded from numba's cache
    # the two copies may fuse their multiply-adds differently: the same steps but for the last bits of sums
    assert pair[0][1:] == one[0][1:] and pair[0][0] == pytest.approx(one[0][0], rel=1e-9)
    np.testing.assert_allclose(pair[1], one[1], rtol=1e-5)  # float32 weights
    np.testing.assert_allclose(pair[2], one[2], rtol=1e-5)
    np.testing.assert_allclose(pair[3], one[3], rtol=1e-9)  # each step's loss

"""The three implementations (linearnet.engines: scratch, concise, fast) follow one trajectory from one seed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet import DivergedError, run
from linearnet.array_fit import fit_arrays, fit_classifier
from linearnet.presets import make_train_config

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
    whatever the size of the data, in chunks of about 200 bytes of rows and a ring of 4 of them;
    returns the list of the copying threads started."""
    from linearnet import fast

    copiers, copy_chunks = [], fast.copy_chunks
    monkeypatch.setattr(fast, "PIPELINE_BYTES", 0)
    monkeypatch.setattr(fast, "two_threads", lambda: True)
    monkeypatch.setattr(fast, "_CHUNK_BYTES", 200)
    monkeypatch.setattr(fast, "_SLOTS", 4)
    monkeypatch.setattr(fast, "copy_chunks", lambda *args: copiers.append(1) or copy_chunks(*args))
    return copiers


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
def test_the_pipelined_epoch_takes_the_steps_of_the_one_thread_epoch_bit_for_bit(monkeypatch, overrides):
    one = run(impl="fast", record_steps=True, **overrides)
    copiers = pipelined(monkeypatch)
    two = run(impl="fast", record_steps=True, **overrides)
    assert copiers  # the pipeline ran
    assert two.history.losses == one.history.losses and two.history.step_losses == one.history.step_losses
    assert (two.w, two.b) == (one.w, one.b)


def test_the_pipeline_steps_on_alone_when_its_copying_thread_never_starts(monkeypatch):
    from linearnet import fast

    one = run(impl="fast", num_examples=700, batch_size=9, record_steps=True)
    pipelined(monkeypatch)
    monkeypatch.setattr(fast, "copy_chunks", lambda *args: None)  # the stepping thread copies every chunk
    alone = run(impl="fast", num_examples=700, batch_size=9, record_steps=True)
    assert alone.history.step_losses == one.history.step_losses and (alone.w, alone.b) == (one.w, one.b)


def test_the_pipelined_epoch_diverges_as_the_one_thread_epoch(monkeypatch):
    settings = dict(impl="fast", lr=50.0, num_examples=2000, epochs=2)
    with pytest.raises(DivergedError) as one:
        run(**settings)
    copiers = pipelined(monkeypatch)
    with pytest.raises(DivergedError) as two:
        run(**settings)
    assert copiers and str(two.value) == str(one.value)


@pytest.mark.timeout(60)
def test_a_softmax_pair_whose_helper_fails_raises_instead_of_waiting_for_it(monkeypatch, digits):
    from linearnet import fast

    part = fast.softmax_epoch_part

    def failing(*args):
        if args[-1] == 1:  # the helping thread
            raise RuntimeError("the helper failed")
        return part(*args)

    monkeypatch.setattr(fast, "two_threads", lambda: True)
    monkeypatch.setattr(fast, "softmax_epoch_part", failing)
    config = make_train_config("digits-softmax", impl="fast", epochs=1, batch_size=100)
    with pytest.raises(RuntimeError, match="the helper failed"):
        fit_classifier(digits.X_train[:500], digits.y_train[:500], config)


def test_a_softmax_pair_whose_helper_never_starts_takes_the_same_steps(monkeypatch, digits):
    from linearnet import fast

    monkeypatch.setattr(fast, "two_threads", lambda: True)
    config = make_train_config("digits-softmax", impl="fast", epochs=2, batch_size=100)
    pair = fit_classifier(digits.X_train[:500], digits.y_train[:500], config)
    part = fast.softmax_epoch_part
    monkeypatch.setattr(fast, "softmax_epoch_part", lambda *args: None if args[-1] == 1 else part(*args))
    alone = fit_classifier(digits.X_train[:500], digits.y_train[:500], config)  # the first thread does it all
    assert alone.history.losses == pair.history.losses and np.array_equal(alone.W, pair.W)

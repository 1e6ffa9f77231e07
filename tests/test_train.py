"""One loop, three implementations, one trajectory."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from linearnet import DivergedError, TrainConfig, fit, make_engine, run, synthetic_data
from linearnet.batches import TensorSource
from linearnet.linear_regression import init_params

IMPLS = ("scratch", "concise", "fast")


def runs(**overrides):
    return {impl: run(impl=impl, **overrides) for impl in IMPLS}


def assert_same_trajectory(results):
    ref = results["scratch"]
    for impl in ("concise", "fast"):
        other = results[impl]
        for a, b in zip(ref.history.losses, other.history.losses):
            assert b == pytest.approx(a, rel=1e-4), impl
        assert other.w == pytest.approx(ref.w, abs=1e-5), impl
        assert other.b == pytest.approx(ref.b, abs=1e-5), impl


@pytest.mark.parametrize("overrides", [
    dict(),  # d2l 3.2
    dict(preset="d2l-3.3"),
    dict(preset="gluon-lesson"),
    dict(num_examples=103, num_features=7, batch_size=10, epochs=4, lr=0.05, seed=5),  # partial batches
    dict(loss="squared", grad_reduction="sum", lr=0.002, batch_size=16, epochs=2, seed=2),
    dict(num_examples=3000, num_features=6, batch_size=700, epochs=3, lr=0.3, seed=1),  # threads split batches
], ids=["d2l-3.2", "d2l-3.3", "gluon-lesson", "partial-batches", "summed-squared", "large-batches"])
def test_the_three_implementations_follow_one_trajectory(overrides):
    assert_same_trajectory(runs(**overrides))


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 80), d=st.integers(1, 5), batch_size=st.integers(1, 30),
       lr=st.floats(0.001, 0.1), seed=st.integers(0, 1000))
def test_implementations_agree_on_any_shape(n, d, batch_size, lr, seed):
    assert_same_trajectory(runs(num_examples=n, num_features=d, batch_size=batch_size, lr=lr,
                                epochs=2, seed=seed))


def test_training_recovers_w_and_b():
    result = run()  # d2l 3.2: the book prints errors of about 1e-4..1e-3
    assert max(abs(e) for e in result.w_error) < 0.005 and abs(result.b_error) < 0.005


@pytest.mark.parametrize("impl", IMPLS)
def test_loss_reaches_the_noise_floor(impl):
    result = run(impl=impl, num_examples=5000, epochs=4, noise=0.1)
    floor = result.experiment.noise_floor  # σ²/2 = 0.005
    assert floor == pytest.approx(0.005)
    # the training-set loss of the fitted line is the noise's sample variance / 2: ±2% at n = 5000
    assert 0.9 * floor < result.history.losses[-1] < 1.1 * floor


def test_the_same_seed_gives_the_same_run_and_another_seed_another():
    a, b, c = run(seed=1), run(seed=1), run(seed=2)
    assert a.history.losses == b.history.losses and a.w == b.w
    assert a.history.losses != c.history.losses


@pytest.mark.parametrize("impl", IMPLS)
def test_divergence_stops_with_a_message_naming_the_epoch(impl):
    with pytest.raises(DivergedError) as info:
        run(impl=impl, lr=50.0, epochs=3)
    assert info.value.epoch == 1
    assert str(info.value).startswith("training diverged: the loss became ")
    assert str(info.value).endswith(
        "in epoch 1; the learning rate 50 is too large for these data; try a smaller one, such as 5")


@pytest.mark.parametrize("impl", IMPLS)
def test_divergence_with_threads_splitting_large_batches(impl):
    with pytest.raises(DivergedError, match="^training diverged: the loss became inf in epoch 1; "):
        run(impl=impl, num_examples=3000, num_features=6, batch_size=700, lr=1e6)


def test_history_reports_time_and_throughput():
    history = run(epochs=2).history
    assert len(history.losses) == 2 and history.rows == 2000
    assert history.seconds >= history.train_seconds > 0
    assert history.rows_per_second == pytest.approx(2000 / history.train_seconds)
    assert history.as_records()[1] == {"epoch": 2, "loss": history.losses[1]}


def test_fit_runs_any_engine_on_a_source():
    g = torch.Generator().manual_seed(0)
    X, y = synthetic_data([1.5, -2.0, 0.5], 1.0, 500, generator=g)
    config = TrainConfig(lr=0.1, batch_size=25, epochs=5, impl="fast")
    engine = make_engine(config, *init_params(3, generator=g))
    seen = []
    history = fit(engine, TensorSource(X, y), config, generator=g, on_epoch=lambda e, l: seen.append((e, l)))
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5] and [l for _, l in seen] == history.losses
    w, b = engine.parameters()
    assert w == pytest.approx([1.5, -2.0, 0.5], abs=0.01) and b == pytest.approx(1.0, abs=0.01)


def test_running_report_averages_the_batch_losses():
    # one batch per epoch: the running loss is the loss before that epoch's single step
    full = run(num_examples=40, batch_size=40, epochs=3)
    running = run(num_examples=40, batch_size=40, epochs=3, report="running")
    assert running.history.losses[1] == pytest.approx(full.history.losses[0], rel=1e-5)
    assert running.history.losses[2] == pytest.approx(full.history.losses[1], rel=1e-5)
    assert all(math.isfinite(x) for x in running.history.losses)

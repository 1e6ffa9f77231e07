"""The training loop (linearnet.train.fit): history, divergence, reports and schedules, with any engine."""

import math

import numpy as np
import pytest
import torch

from linearnet import DivergedError, TrainConfig, fit, make_engine, run, synthetic_data
from linearnet.batches import TensorSource
from linearnet.linear_regression import init_params

from helpers import IMPLS


@pytest.mark.parametrize("impl", IMPLS)
def test_divergence_stops_with_a_message_naming_the_epoch(impl):
    with pytest.raises(DivergedError) as info:
        run(impl=impl, lr=50.0, epochs=3)
    assert info.value.epoch == 1
    assert str(info.value).startswith("training diverged: the loss became ")
    assert str(info.value).endswith(
        "in epoch 1; the learning rate 50 is too large for these data; try a smaller one, such as 5"
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_divergence_names_the_rate_the_schedule_used_in_that_epoch(impl):
    # lr 0.03, 0.3, 3, ...: the book's rate is fine, the schedule's third one is not
    with pytest.raises(DivergedError) as info:
        run(impl=impl, lr=0.03, lr_schedule="step", lr_decay=10, epochs=4)
    assert info.value.epoch == 3 and info.value.lr == pytest.approx(3.0)
    assert str(info.value).endswith(
        "in epoch 3; the learning rate 3 is too large for these data; try a smaller one, such as 0.3"
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_divergence_with_threads_splitting_large_batches(impl):
    with pytest.raises(DivergedError, match=r"^training diverged: the loss became inf in epoch 1; "):
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


def test_a_decaying_rate_settles_where_a_constant_one_oscillates():
    def spread(schedule, decay):
        r = run(
            impl="fast",
            loss="l1",
            noise_dist="laplace",
            noise=1.0,
            epochs=12,
            lr=0.2,
            lr_schedule=schedule,
            lr_decay=decay,
        )
        return np.ptp(r.history.losses[-5:])

    constant = spread("constant", 0.5)
    assert spread("inverse-time", 1.0) < constant / 10
    assert spread("step", 0.7) < constant / 10

"""The training loop (linearnet.training.fit): history, divergence, reports and schedules, with any engine."""

import math
import re

import numpy as np
import pytest
import torch

from linearnet import DivergedError, TrainConfig, fit, make_engine, run, synthetic_data
from linearnet.batches import TensorSource
from linearnet.linear_regression import init_params
from linearnet.training import DIVERGENCE_FACTOR, fit_classifier

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


@pytest.mark.parametrize("impl", IMPLS)
def test_a_loss_grown_absurd_but_finite_has_diverged(impl):
    # lr 2 on the book's data: 16.4 before training, 8.8e7 after epoch 1: finite in float32, but no model
    with pytest.raises(DivergedError) as info:
        run(impl=impl, lr=2.0, epochs=3)
    assert info.value.epoch == 1 and info.value.before == pytest.approx(16.4, rel=0.01)
    assert info.value.loss > DIVERGENCE_FACTOR * info.value.before
    assert re.fullmatch(
        r"training diverged: the loss became 8\.8\de\+07 in epoch 1 \(over 10,000 times the 16\.4 before "
        r"training\); the learning rate 2 is too large for these data; try a smaller one, such as 0\.2",
        str(info.value),
    )


@pytest.mark.parametrize("impl", IMPLS)
def test_softmax_at_an_absurd_rate_has_diverged(impl):
    # logits of 1e30: the predictions may still be good, the loss (about 7e28) says the model is not
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    config = TrainConfig(lr=1e30, batch_size=20, epochs=3, impl=impl, model="softmax", loss="cross_entropy")
    with pytest.raises(DivergedError, match=r"^training diverged: the loss became \S+ in epoch 1[ ;]"):
        fit_classifier(X, y, config)


def test_a_loss_that_only_settles_has_not_diverged():
    # the gluon lesson's first running loss (12.4) is far above the last (4e-4): falling is never divergence
    losses = run("gluon-lesson").history.losses
    assert losses[0] > 1e4 * losses[-1]


def test_data_whose_loss_overflows_before_training_are_refused():
    X = torch.ones(4, 1)
    y = torch.full((4, 1), 1e30)  # a label fits float32, its square does not
    config = TrainConfig(epochs=1)
    engine = make_engine(config, *init_params(1))
    with pytest.raises(ValueError, match=r"^the loss is inf before training, at the initial weights: the data"):
        fit(engine, TensorSource(X, y), config)


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


def test_a_callback_returning_true_ends_training_after_that_epoch_and_other_values_do_not():
    g = torch.Generator().manual_seed(0)
    X, y = synthetic_data([1.5, -2.0], 1.0, 200, generator=g)
    config = TrainConfig(lr=0.1, batch_size=25, epochs=6)
    source = TensorSource(X, y)
    stopped = fit(make_engine(config, *init_params(2, generator=g)), source, config, on_epoch=lambda e, l: e == 3)
    assert len(stopped.losses) == 3 and stopped.rows == 600
    truthy = fit(make_engine(config, *init_params(2, generator=g)), source, config, on_epoch=lambda e, l: [e])
    assert len(truthy.losses) == 6  # only True stops: a callback that returns something else by accident does not


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


def _fit_twice(config, X, y, *, classes=False):
    """The same fit without and with on_rows: (history, parameters, rows reported) of each."""
    runs = []
    for report in (False, True):
        g = torch.Generator().manual_seed(0)
        engine = make_engine(config, *init_params(X.shape[1], 3 if classes else 1, generator=g))
        seen: list[tuple[int, int]] = []
        history = fit(
            engine,
            TensorSource(X, y, classes=classes),
            config,
            generator=g,
            record_steps=True,
            on_rows=(lambda done, total, seen=seen: seen.append((done, total))) if report else None,
        )
        runs.append((history, engine.parameters(), seen))
    return runs


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("batch_size", [7, 600])  # 600: the fast engine splits each batch over threads
@pytest.mark.parametrize("report", ["full", "running"])
def test_reporting_rows_within_an_epoch_changes_nothing_of_the_fit(impl, batch_size, report):
    g = torch.Generator().manual_seed(1)
    X, y = synthetic_data([1.5, -2.0, 0.5], 1.0, 3001, generator=g)
    config = TrainConfig(lr=0.05, batch_size=batch_size, epochs=2, impl=impl, report=report)
    (plain, plain_params, _), (cut, cut_params, seen) = _fit_twice(config, X, y)
    assert cut.losses == plain.losses and cut.step_losses == plain.step_losses  # bit for bit
    assert cut_params == plain_params
    assert len(seen) > 2 * 2 and seen == sorted(seen) and seen[-1] == (2 * 3001, 2 * 3001)  # many reports an epoch


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("batch_size", [5, 100])  # 100: the fast engine splits each batch over threads
def test_reporting_rows_within_an_epoch_changes_nothing_of_a_softmax_fit(impl, batch_size):
    g = torch.Generator().manual_seed(2)
    X = torch.randn(1003, 4, generator=g)
    y = (X[:, 0] > 0).to(torch.int64) + (X[:, 1] > 0.5).to(torch.int64)
    config = TrainConfig(
        lr=0.1, batch_size=batch_size, epochs=2, impl=impl, model="softmax", loss="cross_entropy", report="running"
    )
    (plain, plain_params, _), (cut, cut_params, seen) = _fit_twice(config, X, y, classes=True)
    assert cut.losses == plain.losses and cut.train_acc == plain.train_acc and cut.step_losses == plain.step_losses
    assert cut_params == plain_params and len(seen) > 4 and seen[-1] == (2 * 1003, 2 * 1003)


@pytest.mark.parametrize("impl", IMPLS)
def test_reporting_rows_within_an_epoch_diverges_as_without(impl):
    g = torch.Generator().manual_seed(3)
    X, y = synthetic_data([1.5, -2.0], 1.0, 2000, generator=g)
    config = TrainConfig(lr=1e6, batch_size=10, epochs=2, impl=impl)
    errors = []
    for on_rows in (None, lambda done, total: None):
        engine = make_engine(config, *init_params(2, generator=torch.Generator().manual_seed(0)))
        with pytest.raises(DivergedError) as info:
            fit(engine, TensorSource(X, y), config, generator=torch.Generator().manual_seed(0), on_rows=on_rows)
        errors.append(str(info.value))
    assert errors[0] == errors[1]

"""Absolute and Huber losses in every implementation; learning-rate schedules; the MLE story."""
import numpy as np
import pytest
import torch
from torch import nn

from linearnet import run
from linearnet.cli import main
from linearnet.config import TrainConfig
from linearnet.linear_regression import absolute_loss, huber_loss

IMPLS = ("scratch", "concise", "fast")


def test_losses_match_torch():
    y_hat, y = torch.randn(50, 1) * 3, torch.randn(50)
    torch.testing.assert_close(absolute_loss(y_hat, y), nn.L1Loss(reduction="none")(y_hat, y.reshape(-1, 1)))
    torch.testing.assert_close(huber_loss(y_hat, y, 0.7),
                               nn.HuberLoss(reduction="none", delta=0.7)(y_hat, y.reshape(-1, 1)))


@pytest.mark.parametrize("loss", ["l1", "huber"])
@pytest.mark.parametrize("extra", [dict(), dict(grad_reduction="sum", lr=0.003), dict(batch_size=700, num_examples=3000)],
                         ids=["mean", "sum", "threads"])
def test_the_three_implementations_agree_on_robust_losses(loss, extra):
    results = {impl: run(impl=impl, loss=loss, huber_delta=0.5, noise_dist="laplace", noise=0.5, epochs=3,
                         **extra) for impl in IMPLS}
    ref = results["scratch"]
    for impl in ("concise", "fast"):
        for a, b in zip(ref.history.losses, results[impl].history.losses):
            assert b == pytest.approx(a, rel=1e-4), impl
        assert results[impl].w == pytest.approx(ref.w, abs=1e-5)


def test_l1_is_the_better_fit_under_laplace_noise():
    """Squared loss is the MLE under Gaussian noise, absolute loss under Laplace noise (d2l 3.1)."""
    def error(loss, seed):
        r = run(impl="fast", loss=loss, noise_dist="laplace", noise=3.0, epochs=20, lr=0.05,
                lr_schedule="inverse-time", lr_decay=0.5, seed=seed)
        return max(abs(e) for e in r.w_error + [r.b_error])

    squared = np.mean([error("squared", s) for s in range(6)])
    absolute = np.mean([error("l1", s) for s in range(6)])
    assert absolute < 0.85 * squared  # the median is twice as efficient as the mean under Laplace noise


def test_a_decaying_rate_settles_where_a_constant_one_oscillates():
    def spread(schedule, decay):
        r = run(impl="fast", loss="l1", noise_dist="laplace", noise=1.0, epochs=12, lr=0.2,
                lr_schedule=schedule, lr_decay=decay)
        return np.ptp(r.history.losses[-5:])

    constant = spread("constant", 0.5)
    assert spread("inverse-time", 1.0) < constant / 10
    assert spread("step", 0.7) < constant / 10


def test_schedules():
    c = TrainConfig(lr=0.4, lr_schedule="step", lr_decay=0.5)
    assert [c.lr_at(e) for e in (1, 2, 3)] == [0.4, 0.2, 0.1]
    c = TrainConfig(lr=0.4, lr_schedule="inverse-time", lr_decay=1.0)
    assert [c.lr_at(e) for e in (1, 2, 4)] == pytest.approx([0.4, 0.2, 0.1])
    assert TrainConfig(lr=0.4).lr_at(9) == 0.4


def test_the_same_schedule_in_every_implementation():
    results = {impl: run(impl=impl, lr_schedule="step", lr_decay=0.3, epochs=3) for impl in IMPLS}
    for impl in ("concise", "fast"):
        assert results[impl].history.losses == pytest.approx(results["scratch"].history.losses, rel=1e-4)


@pytest.mark.parametrize("argv, message", [
    (["--loss", "cubic"], "loss must be one of half_squared, squared, l1, huber, cross_entropy, got 'cubic'"),
    (["--loss", "cross_entropy"], "loss 'cross_entropy' does not fit model 'linear': softmax regression uses "
                                  "cross_entropy, linear regression half_squared, squared, l1 or huber"),
    (["--huber-delta", "0", "--loss", "huber"], "huber_delta must be > 0, got 0; e.g. 1.0"),
    (["--lr-schedule", "cosine"], "lr_schedule must be one of constant, step, inverse-time, got 'cosine'"),
    (["--lr-decay", "-1"], "lr_decay must be >= 0, got -1; e.g. 0.5"),
    (["--dataset", "digits", "--loss", "l1"], "softmax regression uses the cross_entropy loss, got --loss l1"),
])
def test_bad_loss_flags(capsys, argv, message):
    assert main(["train", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == f"linearnet train: error: {message}\n"


def test_the_l1_noise_floor_is_the_mean_absolute_noise():
    r = run(impl="fast", loss="l1", noise_dist="laplace", noise=0.5, num_examples=20000, epochs=8, lr=0.05,
            lr_schedule="inverse-time", lr_decay=1.0)
    assert r.experiment.noise_floor == 0.5
    assert r.history.losses[-1] == pytest.approx(0.5, rel=0.03)

"""Seeded synthetic runs (linearnet.experiment.run): w and b recovered, the noise floor reached, the MLE story."""

import numpy as np
import pytest

from linearnet import run

from helpers import IMPLS


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


def test_l1_is_the_better_fit_under_laplace_noise():
    """Squared loss is the MLE under Gaussian noise, absolute loss under Laplace noise (d2l 3.1)."""

    def error(loss, seed):
        r = run(
            impl="fast",
            loss=loss,
            noise_dist="laplace",
            noise=3.0,
            epochs=20,
            lr=0.05,
            lr_schedule="inverse-time",
            lr_decay=0.5,
            seed=seed,
        )
        return max(abs(e) for e in r.w_error + [r.b_error])

    squared = np.mean([error("squared", s) for s in range(6)])
    absolute = np.mean([error("l1", s) for s in range(6)])
    assert absolute < 0.85 * squared  # the median is twice as efficient as the mean under Laplace noise


def test_the_l1_noise_floor_is_the_mean_absolute_noise():
    r = run(
        impl="fast",
        loss="l1",
        noise_dist="laplace",
        noise=0.5,
        num_examples=20000,
        epochs=8,
        lr=0.05,
        lr_schedule="inverse-time",
        lr_decay=1.0,
    )
    assert r.experiment.noise_floor == 0.5
    assert r.history.losses[-1] == pytest.approx(0.5, rel=0.03)

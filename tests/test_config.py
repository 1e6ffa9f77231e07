"""Training settings (linearnet.config): learning-rate schedules, and every setting checked where it enters."""

import numpy as np
import pytest

from linearnet.config import Experiment, SyntheticSpec, TrainConfig


def test_schedules():
    c = TrainConfig(lr=0.4, lr_schedule="step", lr_decay=0.5)
    assert [c.lr_at(e) for e in (1, 2, 3)] == [0.4, 0.2, 0.1]
    c = TrainConfig(lr=0.4, lr_schedule="inverse-time", lr_decay=1.0)
    assert [c.lr_at(e) for e in (1, 2, 4)] == pytest.approx([0.4, 0.2, 0.1])
    assert TrainConfig(lr=0.4).lr_at(9) == 0.4


@pytest.mark.parametrize("value", [3.0, np.float64(3.0), np.int64(3)])
def test_whole_numbers_written_as_floats_are_counts(value):
    """epochs=3.0 (from JSON, or arithmetic) is 3 epochs, stored as a plain int."""
    config = TrainConfig(epochs=value, batch_size=value)
    assert config.epochs == 3 and type(config.epochs) is int and type(config.batch_size) is int


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: TrainConfig(epochs=2.5), TypeError, "epochs must be a whole number >= 1, got 2.5; e.g. 3"),
        (lambda: TrainConfig(epochs="3"), TypeError, "epochs must be a whole number >= 1, got '3'; e.g. 3"),
        (
            lambda: TrainConfig(batch_size=float("inf")),
            TypeError,
            "batch_size must be a whole number >= 1, got inf; e.g. 10",
        ),
        (
            lambda: SyntheticSpec(true_w=2.0),
            TypeError,
            "true_w must be a sequence of numbers, got 2.0; e.g. true_w=(2, -3.4)",
        ),
        (
            lambda: SyntheticSpec(true_w="2,-3.4"),
            TypeError,
            "true_w must be a sequence of numbers, got '2,-3.4'; e.g. true_w=(2, -3.4)",
        ),
        (
            lambda: SyntheticSpec(true_w=None),
            ValueError,
            "num_features is needed when true_w is not given; e.g. num_features=2",
        ),
        (
            lambda: Experiment(data={"true_w": (2, -3.4)}, train=TrainConfig()),
            TypeError,
            "data must be a SyntheticSpec, got dict",
        ),
        (lambda: Experiment(data=SyntheticSpec(), train=None), TypeError, "train must be a TrainConfig, got NoneType"),
        (
            lambda: Experiment(data=SyntheticSpec(), train=TrainConfig(), seed=2**63),
            ValueError,
            "seed must be below 2**63, got 9223372036854775808",
        ),
    ],
)
def test_bad_settings_are_refused(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert str(info.value) == message


def test_a_bool_is_not_a_count():
    with pytest.raises(TypeError) as info:
        TrainConfig(epochs=True)
    assert str(info.value) == "epochs must be a whole number >= 1, got True; e.g. 3"


def test_the_largest_seed_is_accepted():
    assert Experiment(data=SyntheticSpec(), train=TrainConfig(), seed=2**63 - 1).seed == 2**63 - 1


@pytest.mark.parametrize(
    "loss, noise_dist, floor",
    [
        ("half_squared", "normal", 0.5 * 0.04),
        ("squared", "laplace", 2 * 0.04),
        ("l1", "laplace", 0.2),
        ("l1", "normal", 0.2 * (2 / np.pi) ** 0.5),
        ("huber", "normal", None),  # no closed form: reported as null, not made up
    ],
)
def test_noise_floor(loss, noise_dist, floor):
    floor_of = Experiment(SyntheticSpec(noise=0.2, noise_dist=noise_dist), TrainConfig(loss=loss)).noise_floor
    assert floor_of == (None if floor is None else pytest.approx(floor))

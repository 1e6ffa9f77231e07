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


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(noise=1e30), "noise 1e+30 makes labels of about 6e+30"),
        (dict(true_b=-1e25), "true_b -1e+25 makes labels of about 1e+25"),
        (dict(true_w=(3e19, 1.0)), "true_w (up to 3e+19) makes labels of about 1.8e+20"),
    ],
)
def test_labels_too_large_for_float32_training_name_the_setting(settings, message):
    with pytest.raises(ValueError) as info:
        SyntheticSpec(**settings)
    name = message.split()[0]
    assert str(info.value) == (
        f"{message}, too large for float32 training (the loss squares them; at most 1.84e+19); choose a smaller {name}"
    )


def test_labels_drawn_beyond_their_expected_reach_are_refused():
    # Laplace noise has long tails: six standard deviations (1.7e19) allow it, a million draws reach 3e19
    import torch

    from linearnet import synthetic_data

    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match=r"^noise 2e\+18 makes labels of about 3\.01e\+19, too large for float32"):
        synthetic_data([1.0], 0.0, 10**6, noise=2e18, noise_dist="laplace", generator=g)


def test_data_that_cannot_fit_are_refused_before_any_allocation(monkeypatch):
    import linearnet.memory
    from linearnet import synthetic_data

    with pytest.raises(ValueError) as info:
        synthetic_data([1.0, 2.0], 0.0, 10**12)  # 38.2 TiB: torch would try
    assert str(info.value).startswith("1,000,000,000,000 rows × 2 features need about 38.2 TiB of memory and ")
    monkeypatch.setattr(linearnet.memory, "available_bytes", lambda: 100 << 20)
    spec = SyntheticSpec(true_w=None, num_examples=1000, num_features=100_000)  # 477 MiB
    with pytest.raises(ValueError) as info:
        spec.check_fits()
    assert str(info.value) == (
        "1,000 rows × 100,000 features need about 476.9 MiB of memory and 100.0 MiB is available; "
        "ask for fewer rows or features"
    )
    SyntheticSpec(num_examples=1000).check_fits()  # 42 kB

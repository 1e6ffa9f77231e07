"""Each preset lands where its source's printed figures say, over several seeds.

The bands follow from the recipe: SGD with step lr·(1−…) shrinks the distance to the
optimum by about (1 − lr·2c) per step, so epoch 1 ends at c·|θ*|²·(1−2c·lr)^(2·steps),
and later epochs sit on the floor c·Var(noise) within the sample variance of 1000 draws
(±4.5%) plus a little SGD jitter. The source's own numbers lie inside every band.
The classification presets reach the accuracy their source printed.
"""

import re

import pytest

from linearnet import PRESETS, make_experiment, run
from linearnet.datasets import load_fashion_mnist
from linearnet.presets import make_train_config
from linearnet.training import fit_classifier

BANDS = {
    # preset: (per-epoch (low, high), what the source printed)
    "d2l-3.2": ([(0.01, 0.1), (6e-5, 5e-4), (4.25e-5, 6e-5)], [0.04, 0.00016, 0.000051]),
    "d2l-3.3": ([(1e-4, 1e-3), (8.5e-5, 1.2e-4), (8.5e-5, 1.2e-4)], [0.0002, 0.0001, 0.0001]),
    "gluon-lesson": (
        [(2.0, 30.0), (0.03, 0.6), (7e-4, 0.015), (3.4e-4, 6e-4), (3.4e-4, 4.8e-4)],
        [12.39, 0.164, 0.0026, 0.000418, 0.000386],
    ),
}


@pytest.mark.parametrize("name", list(BANDS))
def test_each_preset_states_the_figures_its_source_printed_and_its_noise_floor(name):
    """`linearnet presets` shows PRESETS[name].printed: the losses the bands were drawn around, and the floor."""
    bands, printed = BANDS[name]
    losses, floor = re.fullmatch(
        r"loss (?:about )?([\d., ]+?)(?:;.*)? \(floor .* = ([\de.-]+)\)", PRESETS[name].printed
    ).groups()
    assert [float(x) for x in losses.split(", ")] == printed
    assert all(lo <= x <= hi for (lo, hi), x in zip(bands, printed, strict=True))
    assert float(floor) == pytest.approx(make_experiment(name).noise_floor)
    assert bands[-1][0] < float(floor) < bands[-1][1]  # the last epoch sits on the floor


@pytest.mark.parametrize("name", list(BANDS))
@pytest.mark.parametrize("seed", range(6))
def test_preset_reproduces_its_source(name, seed):
    result = run(name, seed=seed)
    bands, _ = BANDS[name]
    assert result.experiment.train.impl == PRESETS[name].train.impl
    assert len(result.history.losses) == len(bands)
    for epoch, (loss, (lo, hi)) in enumerate(zip(result.history.losses, bands, strict=True), start=1):
        assert lo <= loss <= hi, f"{name} seed {seed} epoch {epoch}: {loss} not in [{lo}, {hi}]"
    assert max(abs(e) for e in result.w_error + [result.b_error]) < 0.005


def test_gluon_lesson_recipe():
    exp = make_experiment("gluon-lesson")
    assert exp.data.true_w == (4.2, 2.0, -3.2) and exp.data.true_b == 2.0 and exp.data.noise_repeats == 2
    t = exp.train
    assert (t.lr, t.batch_size, t.epochs, t.loss, t.grad_reduction, t.init_std, t.report) == (
        0.001,
        10,
        5,
        "squared",
        "sum",
        1.0,
        "running",
    )
    assert exp.noise_floor == pytest.approx(4e-4)


def test_overrides_and_defaults():
    assert make_experiment().preset == "d2l-3.2" and make_experiment().train.impl == "scratch"
    exp = make_experiment(num_features=5)
    assert exp.data.true_w is None and exp.data.dim == 5 and exp.data.true_b == 4.2
    assert make_experiment(true_w=(1, 2, 3)).data.dim == 3
    assert make_experiment(num_examples=1_000_000, num_features=2).train.impl == "fast"
    assert make_experiment("d2l-3.2", num_examples=1_000_000).train.impl == "scratch"
    assert make_experiment("d2l-3.3", epochs=1).train.epochs == 1
    drawn = run(num_features=4, epochs=1, seed=3)
    assert drawn.true_w == run(num_features=4, epochs=1, seed=3).true_w and len(drawn.true_w) == 4


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            dict(preset="d2l-9"),
            ValueError,
            "unknown preset 'd2l-9'; choose from d2l-3.2, d2l-3.3, gluon-lesson, d2l-softmax, digits-softmax "
            "(`linearnet presets` lists them)",
        ),
        (dict(lr=0), ValueError, "lr must be > 0, got 0; e.g. 0.03"),
        (dict(lr="fast"), TypeError, "lr must be a number, got 'fast'; e.g. 0.03"),
        (dict(batch_size=0), ValueError, "batch_size must be a whole number >= 1, got 0; e.g. 10"),
        (dict(epochs=0), ValueError, "epochs must be a whole number >= 1, got 0; e.g. 3"),
        (dict(impl="gpu"), ValueError, "impl must be one of scratch, concise, fast, got 'gpu'"),
        (
            dict(true_w=(1, 2), num_features=3),
            ValueError,
            "true_w has 2 weights but num_features is 3; give 3 weights, "
            "or leave out true_w to draw them from the seed",
        ),
        (dict(seed=-1), ValueError, "seed must be a whole number >= 0, got -1; e.g. 0"),
        (dict(colour="red"), TypeError, "unknown setting(s) colour; accepted: "),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(kwargs, error, message):
    with pytest.raises(error) as info:
        make_experiment(**kwargs)
    assert str(info.value).startswith(message)


def test_digits_preset_reaches_its_accuracy(digits):
    result = fit_classifier(
        digits.X_train,
        digits.y_train,
        make_train_config("digits-softmax"),
        X_test=digits.X_test,
        y_test=digits.y_test,
        seed=0,
    )
    assert result.history.test_acc[-1] >= 0.95
    assert len(result.history.as_records()) == 10 and set(result.history.as_records()[0]) == {
        "epoch",
        "loss",
        "train_acc",
        "test_acc",
    }


@pytest.mark.skipif(
    not all(
        (__import__("linearnet.datasets", fromlist=["x"]).default_data_dir() / name).exists()
        for name in __import__("linearnet.datasets", fromlist=["x"]).FASHION_MNIST_FILES
    ),
    reason="the Fashion-MNIST files are not in the cache folder (no download in tests)",
)
def test_fashion_mnist_reaches_the_books_accuracy():
    data = load_fashion_mnist(download=False)
    result = fit_classifier(
        data.X_train,
        data.y_train,
        make_train_config("d2l-softmax", impl="fast"),
        X_test=data.X_test,
        y_test=data.y_test,
        seed=0,
    )
    assert result.history.test_acc[-1] >= 0.83


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(preset="digits-softmax"),
            "synthetic data are for linear regression; softmax regression (preset 'digits-softmax') runs on a "
            "dataset: --dataset digits|fashion-mnist, or --data FILE --target COL",
        ),
        (
            dict(model="softmax", loss="cross_entropy"),
            "synthetic data are for linear regression; softmax regression runs on a dataset: "
            "--dataset digits|fashion-mnist, or --data FILE --target COL",
        ),
    ],
)
def test_synthetic_data_are_not_for_classification(kwargs, message):
    with pytest.raises(ValueError) as info:
        make_experiment(**kwargs)
    assert str(info.value) == message


def test_make_train_config_refuses_data_settings():
    with pytest.raises(TypeError) as info:
        make_train_config(num_examples=10, colour="red")
    assert str(info.value) == (
        "unknown setting(s) colour, num_examples; accepted: batch_size, epochs, grad_reduction, huber_delta, impl, "
        "init_bias_std, init_std, loss, lr, lr_decay, lr_schedule, model, report, shuffle, weight_decay"
    )
    assert make_train_config("digits-softmax", epochs=2, lr=None).epochs == 2  # None: the preset's value
    assert make_train_config("digits-softmax", lr=None).lr == 0.5


@pytest.mark.parametrize(
    "preset, model, message",
    [
        (
            "gluon-lesson",
            "softmax",
            "preset 'gluon-lesson' trains linear regression, not softmax regression; "
            "the softmax presets are d2l-softmax, digits-softmax",
        ),
        (
            "digits-softmax",
            "linear",
            "preset 'digits-softmax' trains softmax regression, not linear regression; "
            "the linear presets are d2l-3.2, d2l-3.3, gluon-lesson",
        ),
    ],
)
def test_a_preset_trains_only_its_own_model(preset, model, message):
    with pytest.raises(ValueError) as info:
        make_train_config(preset, model=model, loss="cross_entropy" if model == "softmax" else None)
    assert str(info.value) == message


def test_data_that_cannot_fit_are_refused_before_they_are_drawn():
    with pytest.raises(ValueError, match=r"^1,000,000,000,000 rows × 2 features need about 38\.2 TiB of memory and "):
        make_experiment(num_examples=10**12)


def test_data_config_is_the_librarys_policy_for_a_users_data():
    from linearnet.presets import data_config

    # standardized features: 1/(d + 1) where it is below the recipe's 0.03; never above a rate given
    assert data_config(num_features=3, standardize=True).lr == 0.03
    assert data_config(num_features=99, standardize=True).lr == pytest.approx(0.01)
    assert data_config(num_features=99, standardize=False).lr == 0.03
    assert data_config(num_features=99, standardize=True, lr=0.5).lr == 0.5
    # the engine: fast from AUTO_FAST_DATA_VALUES values on, unless one or a preset is named
    assert data_config(num_values=9_999).impl == "scratch" and data_config(num_values=10_000).impl == "fast"
    assert data_config(num_values=10**7, impl="concise").impl == "concise"
    assert data_config("d2l-3.2", num_values=10**7).impl == "scratch"
    # softmax regression: the digits recipe
    soft = data_config(model="softmax", num_values=10**5)
    assert (soft.lr, soft.batch_size, soft.impl, soft.loss) == (0.5, 32, "fast", "cross_entropy")

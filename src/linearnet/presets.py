"""Presets: the seed material's experiments, each with its source and recipe.

Torch-free, like :mod:`linearnet.config`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .config import AUTO_FAST_VALUES, MODELS, Experiment, SyntheticSpec, TrainConfig, auto_impl, standardized_lr

__all__ = [
    "Preset",
    "PRESETS",
    "DEFAULT_PRESET",
    "CLASSIFIER_PRESETS",
    "get_preset",
    "make_experiment",
    "make_train_config",
    "DATASET_PRESETS",
    "DATA_PRESETS",
    "data_config",
]


@dataclass(frozen=True)
class Preset:
    name: str
    source: str  # where the recipe comes from
    recipe: str  # one line a learner can check against the source
    printed: str  # what the source printed
    train: TrainConfig
    data: SyntheticSpec | None = None  # the synthetic data of a regression preset
    dataset: str | None = None  # the data set a classification preset trains on ("digits", "fashion-mnist")


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="d2l-3.2",
            source="Dive into Deep Learning, 3.2 Linear Regression Implementation from Scratch",
            recipe="w=[2,-3.4] b=4.2, 1000 rows, noise N(0,0.01²); ½-squared loss, "
            "SGD lr 0.03 on the batch-mean gradient, batch 10, 3 epochs, weights N(0,0.01²), b=0",
            printed="loss 0.04, 0.00016, 0.000051 (floor σ²/2 = 5e-5)",
            data=SyntheticSpec(true_w=(2.0, -3.4), true_b=4.2, num_examples=1000, noise=0.01),
            train=TrainConfig(lr=0.03, batch_size=10, epochs=3, impl="scratch", loss="half_squared"),
        ),
        Preset(
            name="d2l-3.3",
            source="Dive into Deep Learning, 3.3 Concise Implementation of Linear Regression",
            recipe="the data of d2l-3.2; nn.Linear, nn.MSELoss (no ½), torch.optim.SGD lr 0.03, batch 10, 3 epochs",
            printed="loss about 0.0002, 0.0001, 0.0001 (floor σ² = 1e-4)",
            data=SyntheticSpec(true_w=(2.0, -3.4), true_b=4.2, num_examples=1000, noise=0.01),
            train=TrainConfig(lr=0.03, batch_size=10, epochs=3, impl="concise", loss="squared"),
        ),
        Preset(
            name="gluon-lesson",
            source="MXNet/Gluon linear regression lesson (MXNet is retired; its recipe is reproduced)",
            recipe="w=[4.2,2,-3.2] b=2, 1000 rows, y = Xw + b + ε + ε with ε ~ N(0,0.01²); loss (ŷ−y)², "
            "SGD lr 0.001 on the summed batch gradient, batch 10, 5 epochs, w and b ~ N(0,1), "
            "running mean of batch losses",
            printed="loss 12.39, 0.164, 0.0026, 0.000418, 0.000386; w ≈ [4.1997, 2.0004, −3.1995], "
            "b ≈ 2.0012 (floor 4σ² = 4e-4)",
            data=SyntheticSpec(true_w=(4.2, 2.0, -3.2), true_b=2.0, num_examples=1000, noise=0.01, noise_repeats=2),
            train=TrainConfig(
                lr=0.001,
                batch_size=10,
                epochs=5,
                impl="scratch",
                loss="squared",
                grad_reduction="sum",
                init_std=1.0,
                init_bias_std=1.0,
                report="running",
            ),
        ),
        Preset(
            name="d2l-softmax",
            source="Dive into Deep Learning, 3.6 Softmax Regression Implementation from Scratch",
            recipe="Fashion-MNIST (--dataset fashion-mnist; digits for an offline run), softmax regression "
            "784 -> 10, W ~ N(0,0.01²), b=0, cross-entropy, SGD lr 0.1 on the batch-mean gradient, "
            "batch 256, 10 epochs",
            printed="test accuracy about 0.82-0.84 after 10 epochs",
            dataset="fashion-mnist",
            train=TrainConfig(lr=0.1, batch_size=256, epochs=10, impl="scratch", loss="cross_entropy", model="softmax"),
        ),
        Preset(
            name="digits-softmax",
            source="the d2l-softmax recipe adapted to scikit-learn's 8 x 8 digits (runs offline)",
            recipe="1,438 training and 359 test images (seeded 80/20 split), softmax regression 64 -> 10, "
            "W ~ N(0,0.01²), b=0, cross-entropy, SGD lr 0.5, batch 32 (45 steps an epoch), 10 epochs",
            printed="(linearnet's own target) test accuracy >= 0.95",
            dataset="digits",
            train=TrainConfig(lr=0.5, batch_size=32, epochs=10, impl="scratch", loss="cross_entropy", model="softmax"),
        ),
    )
}

DEFAULT_PRESET = "d2l-3.2"
CLASSIFIER_PRESETS = tuple(name for name, p in PRESETS.items() if p.dataset is not None)
DATASET_PRESETS = {p.dataset: name for name, p in PRESETS.items() if p.dataset is not None}  # default per data set

DATA_PRESETS = {"linear": DEFAULT_PRESET, "softmax": "digits-softmax"}  # the recipes a user's data train by

_DATA_FIELDS = {f.name for f in fields(SyntheticSpec)}
_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown preset {name!r}; choose from {', '.join(PRESETS)} (`linearnet presets` lists them)"
        ) from None


def make_experiment(preset: str | None = None, *, seed: int = 0, **overrides) -> Experiment:
    """Build an :class:`Experiment` from a preset and overrides, validating every value.

    ``preset=None`` starts from the default preset (d2l-3.2). Overrides name fields of
    :class:`SyntheticSpec` or :class:`TrainConfig`. Giving ``num_features`` without
    ``true_w`` draws the true weights from the seed. ``impl`` defaults to the preset's
    implementation when a preset is named, and otherwise to ``fast`` once the data hold
    at least a million values (rows × features).
    """
    base = get_preset(DEFAULT_PRESET if preset is None else preset)
    if base.data is None or overrides.get("model") not in (None, "linear"):
        raise ValueError(
            f"synthetic data are for linear regression; softmax regression "
            f"{'(preset ' + repr(base.name) + ') ' if base.data is None else ''}"
            f"runs on a dataset: --dataset digits|fashion-mnist, or --data FILE --target COL"
        )
    unknown = set(overrides) - _DATA_FIELDS - _TRAIN_FIELDS
    if unknown:
        raise TypeError(
            f"unknown setting(s) {', '.join(sorted(unknown))}; accepted: "
            f"{', '.join(sorted(_DATA_FIELDS | _TRAIN_FIELDS))}"
        )
    data_kw = {k: v for k, v in overrides.items() if k in _DATA_FIELDS and v is not None}
    train_kw = {k: v for k, v in overrides.items() if k in _TRAIN_FIELDS and v is not None}
    if "num_features" in data_kw and "true_w" not in data_kw:
        data_kw["true_w"] = None
    if "true_w" in data_kw and "num_features" not in data_kw:
        data_kw["num_features"] = None
    data = replace(base.data, **data_kw)
    data.check_fits()  # answered before torch is imported, let alone the data drawn
    train = _train_config(base, preset is not None, data.num_examples * data.dim, train_kw)
    return Experiment(data=data, train=train, seed=seed, preset=base.name)


def make_train_config(preset: str | None = None, *, num_values: int = 0, **overrides) -> TrainConfig:
    """The training settings of a preset with overrides, for data that are not synthetic.

    ``num_values`` (rows × features) picks ``impl="fast"`` for large data when neither a
    preset nor ``impl`` is named.
    """
    base = get_preset(DEFAULT_PRESET if preset is None else preset)
    unknown = set(overrides) - _TRAIN_FIELDS
    if unknown:
        raise TypeError(
            f"unknown setting(s) {', '.join(sorted(unknown))}; accepted: {', '.join(sorted(_TRAIN_FIELDS))}"
        )
    train_kw = {k: v for k, v in overrides.items() if v is not None}
    model = train_kw.get("model", base.train.model)
    if preset is not None and model != base.train.model and model in MODELS:  # a recipe is tuned for its model
        kind = {"linear": "linear regression", "softmax": "softmax regression"}
        others = [name for name, p in PRESETS.items() if p.train.model == model]
        raise ValueError(
            f"preset {base.name!r} trains {kind[base.train.model]}, not {kind[model]}; "
            f"the {model} presets are {', '.join(others)}"
        )
    return _train_config(base, preset is not None, num_values, train_kw)


def _train_config(base: Preset, preset_named: bool, num_values: int, train_kw: dict) -> TrainConfig:
    if "impl" not in train_kw and not preset_named and num_values >= AUTO_FAST_VALUES:
        train_kw["impl"] = "fast"
    return replace(base.train, **train_kw)


def data_config(
    preset: str | None = None,
    *,
    model: str = "linear",
    num_values: int = 0,
    num_features: int | None = None,
    standardize: bool = False,
    weighted: bool = False,
    **overrides,
) -> TrainConfig:
    """The training settings for a user's data: what ``linearnet train --data``, :func:`linearnet.fit_arrays`
    and :func:`linearnet.fit_classifier` given no config, and the scikit-learn estimators train with.

    A named ``preset`` is its recipe with the overrides, as :func:`make_train_config` gives it. Without one,
    the recipe of ``DATA_PRESETS[model]`` (d2l-3.2 for linear regression, digits-softmax for softmax) with
    the library's policy for what the overrides leave open (None counts as not given):

    - ``lr``: for linear regression on standardized features (``standardize``, ``num_features`` d), the
      recipe's rate or 1/(d + 1) where that is smaller (:func:`linearnet.config.standardized_lr`);
    - ``impl``: ``fast`` for data of ``num_values`` (rows × features) from
      ``config.AUTO_FAST_DATA_VALUES`` on, else ``scratch`` (:func:`linearnet.config.auto_impl`); weighted
      rows of softmax regression by ``scratch`` (its fast engine does not weight rows).
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if preset is not None:
        return make_train_config(preset, num_values=num_values, model=model, **given)
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    base = get_preset(DATA_PRESETS[model])
    given.setdefault("impl", "scratch" if weighted and model == "softmax" else auto_impl(num_values))
    if model == "linear" and standardize and num_features is not None and "lr" not in given:
        given["lr"] = standardized_lr(base.train.lr, num_features)
    return make_train_config(base.name, **given)

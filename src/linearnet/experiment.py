"""A whole run on synthetic data: draw the data and the initial weights, fit, report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

import numpy as np

from .config import Experiment, TrainConfig
from .data import TensorSource, _make
from .engines import make_engine
from .models import init_params
from .presets import make_experiment
from .train import History, fit

__all__ = ["Result", "run", "run_experiment", "experiment_data", "ArrayFit", "fit_arrays", "ClassifierFit", "fit_classifier"]


@dataclass
class Result:
    experiment: Experiment
    history: History
    w: list[float]  # learned weights
    b: float  # learned bias
    true_w: list[float]
    true_b: float

    @property
    def w_error(self) -> list[float]:
        """true_w − w, as the book prints it."""
        return [t - e for t, e in zip(self.true_w, self.w)]

    @property
    def b_error(self) -> float:
        return self.true_b - self.b

    def to_dict(self) -> dict:
        return {
            "history": self.history.as_records(),
            "w": self.w,
            "b": self.b,
            "true_w": self.true_w,
            "true_b": self.true_b,
            "seconds": self.history.seconds,
            "rows_per_second": self.history.rows_per_second,
            "impl": self.experiment.train.impl,
            "seed": self.experiment.seed,
            "preset": self.experiment.preset,
            "noise_floor": self.experiment.noise_floor,
        }


def experiment_data(experiment: Experiment, generator: torch.Generator):
    """(true_w, features, labels) of ``experiment``: the first draws of its seeded generator."""
    spec = experiment.data
    if spec.true_w is None:
        true_w = torch.normal(0.0, 1.0, (spec.dim,), generator=generator)
    else:
        true_w = torch.tensor(spec.true_w, dtype=torch.float32)
    X, y = _make(spec, true_w, generator)
    return true_w, X, y


def run_experiment(experiment: Experiment, *,
                   on_epoch: Callable[[int, float], None] | None = None, record_steps: bool = False) -> Result:
    """Run ``experiment``; the seed fixes the data, the initial weights and every permutation.

    The draws come from one ``torch.Generator`` in one order (true weights if drawn,
    features, noise, initial weights, one permutation per epoch) whatever the
    implementation, so scratch, concise and fast follow the same trajectory.
    """
    spec, config = experiment.data, experiment.train
    g = torch.Generator().manual_seed(experiment.seed)
    true_w, X, y = experiment_data(experiment, g)
    w0, b0 = init_params(spec.dim, std=config.init_std, bias_std=config.init_bias_std, generator=g)
    engine = make_engine(config, w0, b0)
    history = fit(engine, TensorSource(X, y), config, generator=g, on_epoch=on_epoch, record_steps=record_steps)
    w, b = engine.parameters()
    return Result(experiment, history, w, b, true_w.tolist(), spec.true_b)


def run(preset: str | None = None, *, seed: int = 0, on_epoch: Callable[[int, float], None] | None = None,
        record_steps: bool = False, **overrides) -> Result:
    """Run a preset with overrides: ``run("d2l-3.2", impl="fast", epochs=5)``.

    Example:
        >>> result = run()  # the book's section 3.2
        >>> result.history.losses[-1] < 1e-4
        True
    """
    return run_experiment(make_experiment(preset, seed=seed, **overrides), on_epoch=on_epoch,
                          record_steps=record_steps)


@dataclass
class ArrayFit:
    """SGD on the user's data: coefficients in the features' original units."""

    config: TrainConfig
    seed: int
    history: History
    feature_names: list[str]
    w: list[float]
    b: float
    standardization: dict | None  # {"mean": [...], "scale": [...]} when trained on standardized features

    def to_dict(self) -> dict:
        return {
            "history": self.history.as_records(),
            "features": self.feature_names,
            "w": self.w,
            "b": self.b,
            "seconds": self.history.seconds,
            "rows_per_second": self.history.rows_per_second,
            "impl": self.config.impl,
            "seed": self.seed,
            "standardize": self.standardization is not None,
        }


def fit_arrays(X, y, config: TrainConfig, *, feature_names=None, seed: int = 0, standardize: bool = False,
               on_epoch: Callable[[int, float], None] | None = None, record_steps: bool = False) -> ArrayFit:
    """Train linear regression by minibatch SGD on arrays X (n, p) and y (n,).

    With ``standardize=True`` each feature is centred and divided by its standard deviation
    for training (SGD then needs no tuning per unit), and the learned coefficients are
    converted back: w = w_s / scale, b = b_s − Σ w_s·mean / scale.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    limit = float(np.finfo(np.float32).max) ** 0.5  # squares must stay finite in float32
    for name, a in (("features", X), ("labels", y)):
        if a.size and not np.abs(a).max() <= limit:
            raise ValueError(f"{name} hold values up to {np.abs(a).max():g}, too large for float32 training "
                             f"(at most {limit:.3g}); rescale them, or use solve")
    names = list(feature_names) if feature_names is not None else [f"x{j + 1}" for j in range(X.shape[1])]
    if standardize:
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        Xt = (X - mean) / scale
    else:
        mean, scale, Xt = np.zeros(X.shape[1]), np.ones(X.shape[1]), X
    g = torch.Generator().manual_seed(seed)
    w0, b0 = init_params(X.shape[1], std=config.init_std, bias_std=config.init_bias_std, generator=g)
    engine = make_engine(config, w0, b0)
    source = TensorSource(torch.from_numpy(Xt.astype(np.float32)), torch.from_numpy(y.astype(np.float32)))
    history = fit(engine, source, config, generator=g, on_epoch=on_epoch, record_steps=record_steps)
    w_s, b_s = engine.parameters()
    w_s = np.asarray(w_s, dtype=np.float64)
    w = w_s / scale
    b = float(b_s - np.sum(w_s * mean / scale))
    standardization = {"mean": mean.tolist(), "scale": scale.tolist()} if standardize else None
    return ArrayFit(config, seed, history, names, w.tolist(), b, standardization)


@dataclass
class ClassifierFit:
    """Softmax regression trained by SGD: W (d, q), b (q,), the history with accuracies."""

    config: TrainConfig
    seed: int
    history: History
    W: list[list[float]]
    b: list[float]
    classes: list[str]
    feature_names: list[str]

    def predict_proba(self, X) -> np.ndarray:
        z = np.asarray(X, dtype=np.float64) @ np.asarray(self.W) + np.asarray(self.b)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def to_dict(self) -> dict:
        return {
            "history": self.history.as_records(),
            "classes": self.classes,
            "seconds": self.history.seconds,
            "rows_per_second": self.history.rows_per_second,
            "impl": self.config.impl,
            "seed": self.seed,
            "test_acc": self.history.test_acc[-1] if self.history.test_acc else None,
        }


def fit_classifier(X, y, config: TrainConfig, *, X_test=None, y_test=None, num_classes: int | None = None,
                   classes: list[str] | None = None, feature_names=None, seed: int = 0,
                   on_epoch: Callable[[int, float], None] | None = None) -> ClassifierFit:
    """Train softmax regression by minibatch SGD on X (n, d) and class numbers y (n,) in 0..q−1.

    The weights start N(0, config.init_std²) and the bias at 0 (d2l 3.6); the seed fixes
    them and every epoch's order, whatever the implementation.
    """
    if config.model != "softmax":
        raise ValueError(f"fit_classifier needs a softmax config (model='softmax'), got model={config.model!r}")
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    y = torch.as_tensor(np.asarray(y))
    q = _check_classes(y, num_classes, "y")
    source = TensorSource(X, y, classes=True)
    test_source = None
    if X_test is not None:
        y_test = torch.as_tensor(np.asarray(y_test))
        _check_classes(y_test, q, "y_test")
        test_source = TensorSource(torch.as_tensor(np.asarray(X_test, dtype=np.float32)), y_test, classes=True)
        if test_source.num_features != source.num_features:
            raise ValueError(f"X_test has {test_source.num_features} features but X has {source.num_features}")
    g = torch.Generator().manual_seed(seed)
    W0 = torch.normal(0.0, config.init_std, (source.num_features, q), generator=g) if config.init_std > 0 \
        else torch.zeros(source.num_features, q)
    engine = make_engine(config, W0, torch.zeros(q))
    history = fit(engine, source, config, generator=g, on_epoch=on_epoch, test_source=test_source)
    W, b = engine.parameters()
    names = list(feature_names) if feature_names is not None else [f"x{j + 1}" for j in range(source.num_features)]
    return ClassifierFit(config, seed, history, W, b, list(classes) if classes else [str(c) for c in range(q)],
                         names)


def _check_classes(y: torch.Tensor, num_classes: int | None, name: str) -> int:
    if y.is_floating_point():
        if not torch.isfinite(y).all():
            raise ValueError(f"{name} must hold class numbers, found NaN or inf")
        if not torch.equal(y, y.round()):
            raise ValueError(f"{name} must hold whole class numbers, found fractions such as "
                             f"{float(y[y != y.round()][0])}")
    y = y.to(torch.int64)
    if y.numel() == 0:
        raise ValueError(f"{name} has no labels")
    if int(y.min()) < 0:
        raise ValueError(f"{name} has class {int(y.min())}; classes are numbered from 0")
    q = int(y.max()) + 1 if num_classes is None else num_classes
    if int(y.max()) >= q:
        raise ValueError(f"{name} has class {int(y.max())} but the model has {q} classes (0..{q - 1})")
    if num_classes is None and len(torch.unique(y)) < 2:
        raise ValueError(f"{name} holds a single class ({int(y[0])}); classification needs at least two")
    return q

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

__all__ = ["Result", "run", "run_experiment", "ArrayFit", "fit_arrays"]


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


def run_experiment(experiment: Experiment, *,
                   on_epoch: Callable[[int, float], None] | None = None) -> Result:
    """Run ``experiment``; the seed fixes the data, the initial weights and every permutation.

    The draws come from one ``torch.Generator`` in one order (true weights if drawn,
    features, noise, initial weights, one permutation per epoch) whatever the
    implementation, so scratch, concise and fast follow the same trajectory.
    """
    spec, config = experiment.data, experiment.train
    g = torch.Generator().manual_seed(experiment.seed)
    if spec.true_w is None:
        true_w = torch.normal(0.0, 1.0, (spec.dim,), generator=g)
    else:
        true_w = torch.tensor(spec.true_w, dtype=torch.float32)
    X, y = _make(spec, true_w, g)
    w0, b0 = init_params(spec.dim, std=config.init_std, bias_std=config.init_bias_std, generator=g)
    engine = make_engine(config, w0, b0)
    history = fit(engine, TensorSource(X, y), config, generator=g, on_epoch=on_epoch)
    w, b = engine.parameters()
    return Result(experiment, history, w, b, true_w.tolist(), spec.true_b)


def run(preset: str | None = None, *, seed: int = 0,
        on_epoch: Callable[[int, float], None] | None = None, **overrides) -> Result:
    """Run a preset with overrides: ``run("d2l-3.2", impl="fast", epochs=5)``.

    Example:
        >>> result = run()  # the book's section 3.2
        >>> result.history.losses[-1] < 1e-4
        True
    """
    return run_experiment(make_experiment(preset, seed=seed, **overrides), on_epoch=on_epoch)


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
               on_epoch: Callable[[int, float], None] | None = None) -> ArrayFit:
    """Train linear regression by minibatch SGD on arrays X (n, p) and y (n,).

    With ``standardize=True`` each feature is centred and divided by its standard deviation
    for training (SGD then needs no tuning per unit), and the learned coefficients are
    converted back: w = w_s / scale, b = b_s − Σ w_s·mean / scale.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
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
    history = fit(engine, source, config, generator=g, on_epoch=on_epoch)
    w_s, b_s = engine.parameters()
    w_s = np.asarray(w_s, dtype=np.float64)
    w = w_s / scale
    b = float(b_s - np.sum(w_s * mean / scale))
    standardization = {"mean": mean.tolist(), "scale": scale.tolist()} if standardize else None
    return ArrayFit(config, seed, history, names, w.tolist(), b, standardization)

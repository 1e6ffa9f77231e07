"""A whole run on synthetic data (the book's experiments): draw the data and the initial weights, fit, report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .batches import TensorSource
from .config import Experiment
from .presets import make_experiment
from .synthetic import draw
from .training.loop import EpochCallback, History, RowsCallback
from .training.run import train

if TYPE_CHECKING:
    from .distributed import Group

__all__ = ["Result", "run", "run_experiment"]


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
        return [t - e for t, e in zip(self.true_w, self.w, strict=True)]

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


def run_experiment(
    experiment: Experiment,
    *,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    on_rows: RowsCallback | None = None,
    group: Group | None = None,
) -> Result:
    """Run ``experiment``; the seed fixes the data, the initial weights and every permutation.

    The draws come from one ``torch.Generator`` in one order (true weights if drawn,
    features, noise, initial weights, one permutation per epoch) whatever the
    implementation, so scratch, concise and fast follow the same trajectory. ``on_epoch`` and
    ``on_rows`` are :func:`~linearnet.training.fit`'s.

    Given a ``group`` of processes (:func:`linearnet.distributed.group`), every process draws the
    same data and they train data-parallel, each on its part of every batch: together they follow
    the trajectory of one process.
    """
    spec, config = experiment.data, experiment.train
    g = torch.Generator().manual_seed(experiment.seed)
    true_w, X, y = draw(spec, g)
    run = train(
        TensorSource(X, y), config, g, group=group, on_epoch=on_epoch, record_steps=record_steps, on_rows=on_rows
    )
    w, b = run.W[:, 0].tolist(), float(run.b[0])
    return Result(experiment, run.history, w, b, true_w.tolist(), spec.true_b)


def run(
    preset: str | None = None,
    *,
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    **overrides,
) -> Result:
    """Run a preset with overrides: ``run("d2l-3.2", impl="fast", epochs=5)``.

    Example:
        >>> result = run()  # the book's section 3.2
        >>> result.history.losses[-1] < 1e-4
        True
    """
    return run_experiment(make_experiment(preset, seed=seed, **overrides), on_epoch=on_epoch, record_steps=record_steps)

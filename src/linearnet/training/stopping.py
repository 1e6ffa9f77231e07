"""When training stops: scikit-learn's rule on the loss, watched on the training rows or on the one
validation split (rows held out of training, drawn by the seed)."""

from __future__ import annotations

import math

import numpy as np

from ..config import PATIENCE, TOL
from .loop import EpochCallback

__all__ = ["StoppingRule", "with_stopping", "held_out_rows", "rows_held_out", "settled_where_it_started"]


class StoppingRule:
    """scikit-learn's SGD rule: stop once the loss has not improved on its best by more than
    tol·max(|best|, floor) for ``patience`` epochs in a row (never with tol None). Calling it
    with an epoch's loss says whether to stop; ``met`` says whether it has.

    ``floor`` 0 makes the tolerance relative (a squared loss has the target's units); a floor of
    1 suits cross-entropy, in nats, which falls towards 0 on separable classes without settling
    relative to itself."""

    def __init__(self, tol: float | None, patience: int = 5, floor: float = 0.0):
        self.tol, self.patience, self.floor = tol, patience, floor
        self.best, self.stale, self.met = math.inf, 0, False

    @classmethod
    def for_model(cls, model: str, tol: float | None = None, patience: int = PATIENCE) -> StoppingRule:
        """The library's rule for ``model`` ("linear" or "softmax"): ``tol`` by default ``TOL[model]``,
        relative for a squared loss, with a floor of 1 nat for cross-entropy."""
        return cls(TOL[model] if tol is None else tol, patience, 1.0 if model == "softmax" else 0.0)

    def __call__(self, loss: float) -> bool:
        if self.tol is None:
            return False
        margin = self.tol * max(abs(self.best), self.floor)
        if math.isfinite(self.best) and (loss > self.best - margin or (margin == 0 and loss >= self.best)):
            self.stale += 1  # not improved by more than the margin (a best of 0, floor 0: cannot improve at all)
        else:
            self.stale = 0
        self.best = min(self.best, loss)
        self.met = self.stale >= self.patience
        return self.met


def settled_where_it_started(rule: StoppingRule, losses: list[float], before: float | None) -> bool:
    """Whether a run that ``rule`` stopped never fell below the loss ``before`` training by the rule's own
    margin: its loss settled because the steps hardly move the weights (a rate too small), not because they
    reached the optimum. Such a run has not converged, whatever the rule says."""
    if not rule.met or rule.tol is None or before is None or not before > 0 or not losses:
        return False
    return min(losses) > before - rule.tol * max(abs(before), rule.floor)


def with_stopping(on_epoch: EpochCallback | None, stopping: StoppingRule | None) -> EpochCallback | None:
    """``on_epoch``, then the stopping rule's answer (True ends training) for the epoch's loss, or
    for the loss on the rows held out when there are (early stopping)."""
    if stopping is None:
        return on_epoch

    def each(epoch: int, loss: float, **metrics: float) -> bool:
        if on_epoch is not None:
            on_epoch(epoch, loss, **metrics)
        return stopping(metrics.get("val_loss", loss))

    return each


def rows_held_out(n: int, fraction: float) -> int:
    """How many of n rows ``held_out_rows`` holds out: ``fraction`` of them, at least one."""
    return max(1, round(n * fraction))


def held_out_rows(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (kept, held out): ``fraction`` of n rows held out for early stopping, drawn by the seed.
    The one validation split of every fit on the user's data."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be between 0 and 1, got {fraction:g}")
    held = rows_held_out(n, fraction)
    if n - held < 1:
        raise ValueError(f"{n} rows are too few to hold {fraction:g} of them out for early stopping")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])

"""The training loop: the only one, whatever the implementation."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch

from .config import TrainConfig
from .data import BatchSource
from .engines import Engine

__all__ = ["History", "DivergedError", "fit"]

_F32_MAX = torch.finfo(torch.float32).max


@dataclass
class History:
    """What happened in :func:`fit`: one loss per epoch and the time it took."""

    losses: list[float] = field(default_factory=list)  # per epoch, as config.report says
    seconds: float = 0.0  # wall time of the whole fit, loss evaluation included
    train_seconds: float = 0.0  # time spent stepping through batches
    rows: int = 0  # rows stepped through (epochs × rows)

    @property
    def rows_per_second(self) -> float:
        """Training throughput: rows stepped through per second of stepping."""
        return self.rows / self.train_seconds if self.train_seconds > 0 else float("inf")

    def as_records(self) -> list[dict]:
        return [{"epoch": i, "loss": loss} for i, loss in enumerate(self.losses, start=1)]


class DivergedError(ArithmeticError):
    """The loss became inf or NaN: nothing trained in this run should be kept."""

    def __init__(self, epoch: int, loss: float, lr: float):
        self.epoch, self.loss, self.lr = epoch, loss, lr
        super().__init__(f"training diverged: the loss became {loss} in epoch {epoch}; "
                         f"the learning rate {lr:g} is too large for these data; "
                         f"try a smaller one, such as {lr / 10:g}")


def fit(engine: Engine, source: BatchSource, config: TrainConfig, *,
        generator: torch.Generator | None = None,
        on_epoch: Callable[[int, float], None] | None = None) -> History:
    """Train ``engine`` on ``source`` for ``config.epochs`` epochs of minibatch SGD.

    Each epoch visits the rows in a fresh random order drawn from ``generator`` and then
    records the loss: over the whole training set (``report="full"``, the book's figure)
    or the mean of the batch losses seen during the epoch (``report="running"``).
    ``on_epoch(epoch, loss)`` is called after each epoch.

    Raises:
        DivergedError: the loss became inf or NaN; raised at the end of that epoch.
    """
    history = History()
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        running, batches = 0.0, 0
        for block in source.blocks(shuffle=True, generator=generator):
            block_running, block_batches = engine.train_block(block, config.batch_size)
            running += block_running
            batches += block_batches
        history.train_seconds += time.perf_counter() - t0
        history.rows += source.num_rows
        if config.report == "running" or not math.isfinite(running):
            loss = running / max(batches, 1)
        else:
            loss = sum(engine.total_loss(b) for b in source.blocks(shuffle=False)) / source.num_rows
        if not abs(loss) <= _F32_MAX:  # NaN, or inf in the float32 the engines compute in
            raise DivergedError(epoch, loss if math.isnan(loss) else math.inf, config.lr)
        history.losses.append(loss)
        if on_epoch is not None:
            on_epoch(epoch, loss)
    history.seconds = time.perf_counter() - start
    return history

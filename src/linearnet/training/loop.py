"""The training loop: the only one, whatever the implementation."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch

from ..batches import BatchSource
from ..config import TrainConfig
from .engines import Engine

__all__ = [
    "History",
    "DegenerateRunError",
    "DivergedError",
    "StalledError",
    "OutOfRangeError",
    "DIVERGENCE_FACTOR",
    "LOGIT_MAX",
    "EpochCallback",
    "RowsCallback",
    "fit",
]

_F32_MAX = torch.finfo(torch.float32).max
_F32_EPS = float(np.finfo(np.float32).eps)  # 1.19e-7: the spacing of float32 numbers, relative to their size
YARDSTICK_ROWS = 100_000  # rows the loss before training is measured on, when the data come in blocks
DIVERGENCE_FACTOR = 1e4  # a loss this many times the loss before training has diverged
PROGRESS_PARTS = 50  # given on_rows, an in-memory epoch is reported about this many times
LOGIT_MAX = 2.0**24  # past this a float32 logit cannot be told from one a nat away: the cross-entropy means nothing


@dataclass
class History:
    """What happened in :func:`fit`: one loss per epoch and the time it took."""

    losses: list[float] = field(default_factory=list)  # per epoch, as config.report says
    step_losses: list[float] = field(default_factory=list)  # per SGD step, when fit(record_steps=True)
    train_acc: list[float] = field(default_factory=list)  # per epoch, classifiers only
    test_acc: list[float] = field(default_factory=list)  # per epoch, when a test source is given
    val_loss: list[float] = field(default_factory=list)  # per epoch, when a validation source is given
    seconds: float = 0.0  # wall time of the whole fit, loss evaluation included
    train_seconds: float = 0.0  # time spent stepping through batches
    rows: int = 0  # rows stepped through (epochs × rows)
    before: float | None = None  # the loss at the initial parameters, before the first step

    @property
    def rows_per_second(self) -> float:
        """Training throughput: rows stepped through per second of stepping."""
        return self.rows / self.train_seconds if self.train_seconds > 0 else float("inf")

    def as_records(self) -> list[dict]:
        records = [{"epoch": i, "loss": loss} for i, loss in enumerate(self.losses, start=1)]
        for name in ("train_acc", "test_acc", "val_loss"):
            values = getattr(self, name)  # one per epoch, or none (regression; no test source)
            for record, value in zip(records, values, strict=bool(values)):
                record[name] = value
        return records


class DegenerateRunError(ArithmeticError):
    """A run whose parameters are no fit of the data: nothing trained in it should be kept.
    It diverged (:class:`DivergedError`), did not move (:class:`StalledError`), or left the range where
    its loss means anything (:class:`OutOfRangeError`)."""


class DivergedError(DegenerateRunError):
    """The loss ran away: nothing trained in this run should be kept.

    A run diverges when an epoch's loss is inf or NaN (in the float32 the engines compute
    in), or grows past ``DIVERGENCE_FACTOR`` (10⁴) times the loss of the initial parameters,
    measured over the training rows before the first step. The loss before training is the
    yardstick, not the first epoch's, because a rate far too large already spoils the first
    epoch: softmax regression at lr 1e30 reaches a loss of 5e28 there, finite but absurd.
    A sound run ends below where it started, so 10⁴ times the start is no run worth keeping.

    ``lr`` is the learning rate the schedule used in that epoch; ``before`` is the loss
    before training (None when the loss became inf or NaN).
    """

    def __init__(self, epoch: int, loss: float, lr: float, before: float | None = None):
        self.epoch, self.loss, self.lr, self.before = epoch, loss, lr, before
        grew = "" if before is None else f" (over {DIVERGENCE_FACTOR:,.0f} times the {before:.3g} before training)"
        super().__init__(
            f"training diverged: the loss became {loss:.3g} in epoch {epoch}{grew}; "
            f"the learning rate {lr:g} is too large for these data; "
            f"try a smaller one, such as {lr / 10:g}"
        )


class StalledError(DegenerateRunError):
    """The first epoch moved no parameter by more than float32's resolution of the largest one, with a loss
    above 0 to reduce: the steps are lost in rounding, and the rate only decays from there, so no later
    epoch moves them either. Such a run has not converged: it has not begun."""

    def __init__(self, loss: float, lr: float):
        self.loss, self.lr = loss, lr
        super().__init__(
            f"training did not move: after epoch 1 the weights are where they started, to float32's resolution "
            f"(loss {loss:.6g}); "
            f"the learning rate {lr:g} makes steps below float32's resolution of the weights; try a larger one, "
            f"such as {TrainConfig.lr:g}"
        )


class OutOfRangeError(DegenerateRunError):
    """Softmax regression whose logits passed ``LOGIT_MAX`` (2²⁴) on its training rows: there float32 cannot
    tell a logit from one a nat away, so a loss of 0 (or any) says nothing of the fit; the weights have run
    off with the rate."""

    def __init__(self, weight: float, lr: float):
        self.weight, self.lr = weight, lr
        super().__init__(
            f"training left the range where its loss means anything: the logits pass {LOGIT_MAX:.3g} (2^24, "
            f"beyond which float32 cannot tell a logit from one a nat away), with weights up to {weight:.3g}; "
            f"the learning rate {lr:g} is too large for these data; try a smaller one, such as {lr / 10:g}"
        )


class EpochCallback(Protocol):
    """What :func:`fit` calls after each epoch: the epoch (from 1), its loss, and for a
    classifier the keywords ``train_acc`` and, given a test source, ``test_acc``. Returning
    ``True`` ends training after this epoch (a stopping rule); any other value, None included,
    goes on."""

    def __call__(self, epoch: int, loss: float, **metrics: float) -> bool | None: ...


class RowsCallback(Protocol):
    """What :func:`fit` calls after each block of rows it trained on: the rows stepped through
    since the start of training, and the rows of the whole run (epochs × rows)."""

    def __call__(self, done: int, total: int) -> object: ...


class Summing(Protocol):
    """Processes training together (:class:`linearnet.distributed.Group`): each holds some of the rows."""

    def all_sum(self, values: np.ndarray) -> np.ndarray:
        """Every process's ``values`` added up, on every process."""
        ...


def _evaluate(
    engine: Engine, source: BatchSource, *, enough: int | None = None, group: Summing | None = None
) -> tuple[float, float | None]:
    """Mean loss and accuracy (None for regression) over every row of ``source``, or over its
    first blocks once they hold ``enough`` rows (a source read from a file: not a whole pass);
    given a ``group``, over the rows of every process's source."""
    loss, right, classifier, rows = 0.0, 0.0, False, 0
    for block in source.blocks(shuffle=False):
        block_loss, block_right = engine.evaluate(block)
        loss += block_loss
        rows += len(block.features)
        if block_right is not None:
            right += block_right
            classifier = True
        if enough is not None and rows >= enough:
            break
    if group is not None:  # a process may hold no rows, and then no opinion on whether this is a classifier
        loss, right, rows, classifier = group.all_sum(np.array([loss, right, rows, classifier], np.float64)).tolist()
    return loss / rows, (right / rows if classifier else None)


def fit(
    engine: Engine,
    source: BatchSource,
    config: TrainConfig,
    *,
    generator: torch.Generator | None = None,
    on_epoch: EpochCallback | None = None,
    test_source: BatchSource | None = None,
    record_steps: bool = False,
    on_rows: RowsCallback | None = None,
    validation_source: BatchSource | None = None,
    group: Summing | None = None,
) -> History:
    """Train ``engine`` on ``source`` for ``config.epochs`` epochs of minibatch SGD.

    Each epoch visits the rows in a fresh random order drawn from ``generator`` (``config.shuffle``: one
    permutation of all rows, or blocks of rows, :func:`linearnet.batches.block_order`) and then records the
    loss: over the whole training set (``report="full"``, the book's figure) or the mean of the batch losses
    seen during the epoch (``report="running"``). For a classifier it also records the accuracy on the
    training set and, given ``test_source``, on the test set. ``on_epoch(epoch, loss)`` is called after each
    epoch, for a classifier with the keywords ``train_acc`` (and ``test_acc``) too; when it returns
    ``True`` training ends there, before ``config.epochs`` (early stopping). Given a
    ``validation_source`` (rows held out of training), its mean loss is recorded in
    ``History.val_loss`` and passed as the keyword ``val_loss``: what early stopping watches. With
    ``record_steps=True`` every step's batch loss goes to ``History.step_losses``.

    ``on_rows(done, total)`` is called after each block of rows trained on, with the rows stepped through so far
    and ``config.epochs`` × rows (a progress bar). For it an in-memory epoch is cut into about ``PROGRESS_PARTS``
    slices of its order, each a whole number of batches: the steps are exactly those of an uncut epoch.

    Given a ``group``, the engine and sources are this process's part of a run over several
    (:class:`linearnet.distributed.DataParallel`): losses and accuracies are over every process's rows.

    Raises:
        DivergedError: the loss became inf or NaN, or grew past ``DIVERGENCE_FACTOR`` times
            the loss before training; raised at the end of that epoch.
        ValueError: the loss is inf or NaN before any step: the data (or the initial
            weights) are too large for float32.
    """
    history = History()
    start = time.perf_counter()
    history.before = before = _yardstick(engine, source, group)
    start_parameters = _float32(engine)
    steps = history.step_losses if record_steps else None
    block_rows = None
    if on_rows is not None:  # whole batches, so that cutting the epoch changes none of them
        block_rows = max(1, source.num_rows // PROGRESS_PARTS // config.batch_size) * config.batch_size
    shuffle = True if config.shuffle == "rows" else config.shuffle  # True: one permutation, as sources take it
    for epoch in range(1, config.epochs + 1):
        lr = config.lr_at(epoch)
        if config.lr_schedule != "constant":
            engine.set_lr(lr)
        t0 = time.perf_counter()
        running, batches = 0.0, 0
        done = history.rows
        for block in source.blocks(
            shuffle=shuffle, generator=generator, block_rows=block_rows, batch_size=config.batch_size
        ):
            running, block_batches = engine.train_block(block, config.batch_size, steps, running)
            batches += block_batches
            if on_rows is not None:
                done += len(block.features) if block.order is None else len(block.order)
                on_rows(done, config.epochs * source.num_rows)
        history.train_seconds += time.perf_counter() - t0
        history.rows += source.num_rows
        loss, accuracy = _epoch_loss(engine, source, config, running, batches, group)
        if not abs(loss) <= _F32_MAX:  # NaN, or inf in the float32 the engines compute in
            raise DivergedError(epoch, loss if math.isnan(loss) else math.inf, lr)
        if before > 0 and loss > DIVERGENCE_FACTOR * before:  # finite, but absurd
            raise DivergedError(epoch, loss, lr, before)
        if epoch == 1 and before > 0 and not _moved(start_parameters, _float32(engine)):  # nor will it later:
            raise StalledError(loss, lr)  # epoch 1 has the largest rate (a schedule only decays it)
        history.losses.append(loss)
        metrics = _record_metrics(history, engine, accuracy, test_source, validation_source, group)
        if on_epoch is not None and on_epoch(epoch, loss, **metrics) is True:
            break
    if config.model == "softmax":
        _check_logits(engine, source, config, group)
    history.seconds = time.perf_counter() - start
    return history


def _float32(engine: Engine) -> list[np.ndarray]:
    """The engine's parameters in float32, which every engine steps (one keeps the intercept in float64)."""
    return [np.asarray(p, dtype=np.float32) for p in engine.parameters()]


def _moved(start: list[np.ndarray], now: list[np.ndarray]) -> bool:
    """Whether some parameter moved from ``start`` by more than float32's resolution of the largest of them
    (eps·max|θ₀|): a step smaller than that is lost in rounding wherever it lands (a bias that starts at 0
    can take a step of 1e-30 and still be nothing trained)."""
    scale = max(float(np.abs(p).max(initial=0.0)) for p in start)
    return max(float(np.abs(b - a).max(initial=0.0)) for a, b in zip(start, now, strict=True)) > _F32_EPS * scale


def _check_logits(engine: Engine, source: BatchSource, config: TrainConfig, group: Summing | None) -> None:
    """Raise :class:`OutOfRangeError` when the trained weights give a logit beyond ``LOGIT_MAX`` on a
    training row (of any process, given a ``group``)."""
    W, b = (np.asarray(p, dtype=np.float64) for p in engine.parameters())  # (d, q), (q,)
    largest = 0.0
    for block in source.blocks(shuffle=False):
        if len(block.features):
            z = block.features.numpy().astype(np.float64) @ W + b  # (n, q)
            largest = max(largest, float(np.abs(z).max()))
    beyond = float(not largest <= LOGIT_MAX)
    if group is not None:
        beyond = float(group.all_sum(np.array([beyond], np.float64))[0])
    if beyond:
        weight = max(float(np.abs(W).max(initial=0.0)), float(np.abs(b).max(initial=0.0)))
        raise OutOfRangeError(weight, config.lr)


def _yardstick(engine: Engine, source: BatchSource, group: Summing | None) -> float:
    """The loss before training (over the first ``YARDSTICK_ROWS`` rows when the data come in blocks): the
    yardstick of divergence. Raises ValueError when it is not a float32."""
    before = _evaluate(engine, source, enough=YARDSTICK_ROWS, group=group)[0]
    if not abs(before) <= _F32_MAX:
        raise ValueError(
            f"the loss is {before} before training, at the initial weights: the data (or the initial "
            f"weights) are too large for float32 training, whose squares must stay below {_F32_MAX:.3g}; "
            f"rescale them"
        )
    return before


def _epoch_loss(
    engine: Engine, source: BatchSource, config: TrainConfig, running: float, batches: int, group: Summing | None
) -> tuple[float, float | None]:
    """An epoch's loss as ``config.report`` says (the mean of its batch losses ``running`` / ``batches``, or over
    every row), and the accuracy over every row (None for regression, or once the loss ran away)."""
    if not math.isfinite(running):
        return running / max(batches, 1), None
    loss, accuracy = _evaluate(engine, source, group=group)
    if config.report == "running":
        loss = running / max(batches, 1)
    return loss, accuracy


def _record_metrics(
    history: History,
    engine: Engine,
    accuracy: float | None,
    test_source: BatchSource | None,
    validation_source: BatchSource | None,
    group: Summing | None,
) -> dict[str, float]:
    """Record an epoch's accuracies (a classifier's, on the training and test rows) and the loss on the
    rows held out in ``history``; return them as the keywords of ``on_epoch``."""
    metrics = {}
    if accuracy is not None:
        history.train_acc.append(accuracy)
        metrics["train_acc"] = accuracy
        if test_source is not None:
            test_acc = _evaluate(engine, test_source, group=group)[1]
            assert test_acc is not None  # the engine is a classifier: it counts right answers
            history.test_acc.append(test_acc)
            metrics["test_acc"] = test_acc
    if validation_source is not None:
        history.val_loss.append(_evaluate(engine, validation_source, group=group)[0])
        metrics["val_loss"] = history.val_loss[-1]
    return metrics

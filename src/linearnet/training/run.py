"""The run, written once: initial weights → engine → data-parallel → the loop → weights in data units.

Every SGD fit in linearnet goes through :func:`train`: the book's synthetic experiment, ``train --data``
(:func:`~linearnet.training.fit_arrays`, :func:`~linearnet.training.fit_chunks`,
:func:`~linearnet.training.fit_classifier`), the scikit-learn estimators and the distributed path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..batches import BatchSource
from ..config import TrainConfig
from ..linear_regression import init_params
from .engines import Engine, make_engine
from .loop import EpochCallback, History, RowsCallback, fit
from .scaling import Standardization
from .stopping import StoppingRule, settled_where_it_started, with_stopping

if TYPE_CHECKING:
    from ..distributed import Group

__all__ = ["Trained", "train"]


@dataclass
class Trained:
    """What a run leaves: the history, and the weights W (d, q) and bias b (q,) in the features' units
    (``W_s``, ``b_s`` as trained, on standardized features when they were)."""

    history: History
    W: np.ndarray
    b: np.ndarray
    W_s: np.ndarray
    b_s: np.ndarray
    rows: int  # rows trained on (this process's, given a group)
    converged: bool | None  # whether the stopping rule ended the run (None: no rule, a fixed number of epochs)


def train(
    source: BatchSource,
    config: TrainConfig,
    generator: torch.Generator,
    *,
    start: tuple[torch.Tensor, torch.Tensor] | None = None,
    num_classes: int = 1,
    scaling: Standardization | None = None,
    group: Group | None = None,
    replicated: bool = True,
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    stopping: StoppingRule | None = None,
    record_steps: bool = False,
    on_rows: RowsCallback | None = None,
    test_source: BatchSource | None = None,
    validation: BatchSource | None = None,
) -> Trained:
    """Train on ``source`` from ``start`` (W0 (d, q), b0 (q,)), or from initial weights drawn from
    ``generator`` (N(0, init_std²), d2l 3.2 and 3.6), which then draws every epoch's order.

    Given a ``group`` of processes (:func:`linearnet.distributed.group`) of more than one, they train
    data-parallel (:class:`linearnet.distributed.DataParallel`): with ``replicated`` every process holds
    every row and steps through its part of every batch (together they follow one process's trajectory);
    otherwise ``source`` is this process's share of the rows, which it shuffles with a generator of its
    own (``seed`` and its rank). The weights come back in data units through ``scaling``.
    """
    if start is None:
        start = init_params(
            source.num_features, num_classes, std=config.init_std, bias_std=config.init_bias_std, generator=generator
        )
    engine: Engine = make_engine(config, *start)
    rows = source.num_rows
    if group is not None and (group.size > 1 or not replicated):
        from ..distributed import DataParallel, Replicated, Shared

        if replicated:
            rank, size = group.rank, group.size

            def part(s: BatchSource | None) -> BatchSource | None:
                return None if s is None else Replicated(s, rank, size, config.batch_size)

            source, test_source, validation = (
                Replicated(source, rank, size, config.batch_size),
                part(test_source),
                part(validation),
            )
        else:
            generator = torch.Generator().manual_seed(seed * group.size + group.rank)
            source = Shared(source, group.rank, group.size)
        engine = DataParallel(engine, group)
    else:
        group = None
    history = fit(
        engine,
        source,
        config,
        generator=generator,
        on_epoch=with_stopping(on_epoch, stopping),
        test_source=test_source,
        record_steps=record_steps,
        on_rows=on_rows,
        validation_source=validation,
        group=group,
    )
    W, b = engine.parameters()
    W_s = np.asarray(W, dtype=np.float64).reshape(source.num_features, -1)  # (d, q)
    b_s = np.asarray(b, dtype=np.float64).reshape(-1)  # (q,)
    W_data, b_data = (W_s, b_s) if scaling is None else scaling.to_data_units(W_s, b_s)
    converged = None  # a fixed number of epochs; else the rule ended the run after the weights moved
    if stopping is not None:
        converged = stopping.met and not settled_where_it_started(stopping, history.losses, history.before)
    return Trained(history, W_data, b_data, W_s, b_s, rows, converged)

"""SGD on the user's own arrays (a table's columns, NumPy, a DataFrame's values) or on a file read a chunk
at a time: linear regression by :func:`fit_arrays` and :func:`fit_chunks`.

Both check the data, standardize them (:class:`~linearnet.training.scaling.Standardization`), hold rows
out for early stopping (:func:`~linearnet.training.stopping.held_out_rows`) and hand the rows to the one
run (:func:`~linearnet.training.run.train`); the result prints itself (``to_dict``) and becomes a model
file (``to_model``). Given no config they train as ``linearnet train --data`` does
(:func:`linearnet.presets.data_config`): the library's learning rate and engine for the data, until the
loss settles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..batches import STREAM_BLOCKS, BatchSource, ShuffledChunks, StreamSource, TensorSource
from ..config import F32_TINY, LABEL_MIN, MAX_EPOCHS, SameEverywhereError, TrainConfig, check_float32, check_not_tiny
from ..leastsq.weighted import check_weights
from ..modelfile import Model
from ..presets import data_config
from ..records import sgd_model
from .engines import WEIGHTED_IMPLS
from .loop import EpochCallback, History, RowsCallback
from .run import train
from .scaling import Standardization, merge_all, moments
from .stopping import StoppingRule, held_out_rows

if TYPE_CHECKING:
    from ..distributed import Group

__all__ = ["ArrayFit", "fit_arrays", "fit_chunks", "check_arrays", "feature_names_for", "default_run"]


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
    n: int = 0  # rows trained on
    converged: bool | None = None  # whether a stopping rule ended the run (None: a fixed number of epochs)
    scaling: Standardization | None = field(default=None, repr=False)  # what the features were trained on
    trained: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # W_s (d, 1), b_s (1,) as trained

    def predict(self, X) -> np.ndarray:
        return self.to_model().predict(X)

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
            "epochs_run": len(self.history.losses),
            "converged": self.converged,
        }

    def to_model(self, *, target: str | None = None, data: str | None = None, table=None) -> Model:
        """The model file record (:func:`linearnet.records.sgd_model`); ``target`` and ``data`` name the
        column and file it came from, or ``table`` (a :class:`linearnet.tables.Table`) gives them and the
        coding of its categories."""
        return sgd_model(self, target=target, data=data, table=table)


def check_arrays(X, y) -> tuple[np.ndarray, np.ndarray]:
    """X (n, p) and y (n,) as float64, finite and small enough for float32 training."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_examples, n_features), got shape {X.shape}; use X.reshape(-1, 1) for one feature"
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must have shape ({len(X)},) to match X's rows, got {y.shape}")
    if len(X) == 0:
        raise ValueError("X must have at least one row, got 0")
    check_float32(X, "features")
    check_float32(y, "labels", smallest=LABEL_MIN)
    return X, y


def feature_names_for(feature_names, d: int) -> list[str]:
    """The names given, or x1, x2, ... as linearnet names unnamed columns."""
    names = list(feature_names) if feature_names is not None else [f"x{j + 1}" for j in range(d)]
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names but X has {d} columns")
    return names


def default_run(
    config: TrainConfig | None,
    stopping: StoppingRule | None,
    *,
    model: str,
    num_rows: int,
    d: int,
    standardize: bool,
    weighted: bool = False,
) -> tuple[TrainConfig, StoppingRule | None]:
    """The config and stopping rule of a fit given ``config`` (as it is), or none: the library's defaults for
    these data (:func:`linearnet.presets.data_config`; an engine that weights rows when they are
    ``weighted``), trained until the loss settles by :meth:`StoppingRule.for_model` (at most
    ``MAX_EPOCHS`` epochs) unless a ``stopping`` rule is given."""
    if config is not None:
        if weighted:
            check_weighted_impl(config.impl, model)
        return config, stopping
    config = data_config(
        model=model,
        num_values=num_rows * d,
        num_features=d,
        standardize=standardize,
        weighted=weighted,
        epochs=MAX_EPOCHS,
    )
    return config, StoppingRule.for_model(model) if stopping is None else stopping


def check_weighted_impl(impl: str, model: str) -> None:
    """Refuse an engine that cannot weight the rows, rather than train as if every weight were 1."""
    if impl not in WEIGHTED_IMPLS[model]:
        raise ValueError(
            f"the {impl} engine does not weight the rows of {model} regression; train them with impl "
            f"{' or '.join(repr(i) for i in WEIGHTED_IMPLS[model])}"
        )


def check_sgd_weights(weights, n: int, name: str = "weights") -> np.ndarray | None:
    """Weights (n,) as float64: finite, ≥ 0, not all 0, and small enough for float32 training; None when
    every one is 1 (the unweighted run, step for step, whatever the engine)."""
    w = check_weights(weights, n, name)
    if n and not w.any():
        raise ValueError(f"every one of the {n:,} {name} is zero: no row is left to train on")
    check_float32(w, name)
    return None if (w == 1).all() else w


def _tensors(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> TensorSource:
    weights = None if w is None else torch.from_numpy(w.astype(np.float32))
    return TensorSource(torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.float32)), weights=weights)


def fit_arrays(
    X,
    y,
    config: TrainConfig | None = None,
    *,
    feature_names=None,
    seed: int = 0,
    standardize: bool = False,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    stopping: StoppingRule | None = None,
    on_rows: RowsCallback | None = None,
    validation_fraction: float | None = None,
    scaling: Standardization | None = None,
    start: tuple[torch.Tensor, torch.Tensor] | None = None,
    weights=None,
) -> ArrayFit:
    """Train linear regression by minibatch SGD on arrays X (n, p) and y (n,).

    Given ``weights`` (n,) ≥ 0, each row's loss is multiplied by its weight (as scikit-learn's
    ``SGDRegressor`` takes ``sample_weight``): a batch's loss is Σ wᵢ·½(ŷᵢ − yᵢ)² / B, and the loss
    reported Σ wᵢ·½(ŷᵢ − yᵢ)² / n over the n rows, whose minimum is the weighted least-squares fit's
    (:func:`linearnet.leastsq.solve` with ``weights``). Every engine weights rows, and the weights of 1
    follow the unweighted trajectory.

    With a ``stopping`` rule, training ends once the rule is met (at ``config.epochs`` at most),
    and ``converged`` says whether it was. With ``validation_fraction`` that share of the rows,
    drawn by the seed, is held out of training and the rule watches the loss on them instead
    (early stopping); ``history.val_loss`` records it. Without a ``config``, the library's defaults
    for these data (:func:`default_run`).

    With ``standardize=True`` each feature is centred and divided by its standard deviation
    for training (SGD then needs no tuning per unit), and the learned coefficients are
    converted back: w = w_s / scale, b = b_s − Σ w_s·mean / scale. A given ``scaling`` (an earlier
    fit's) is used instead of the rows' own, and ``start`` (W0 (d, 1), b0 (1,) in its units) in place of
    initial weights drawn from the seed: a fit that goes on from another (``partial_fit``).
    """
    X, y = check_arrays(X, y)
    w = None if weights is None else check_sgd_weights(weights, len(y))
    names = feature_names_for(feature_names, X.shape[1])
    config, stopping = default_run(
        config, stopping, model="linear", num_rows=len(X), d=X.shape[1], standardize=standardize, weighted=w is not None
    )
    validation = None
    if validation_fraction is not None:
        kept, held = held_out_rows(len(X), validation_fraction, seed)
        X, y, X_val, y_val = X[kept], y[kept], X[held], y[held]
        w, w_val = (None, None) if w is None else (w[kept], w[held])
    if scaling is None:
        scaling = Standardization.of(X) if standardize else Standardization.none(X.shape[1])
    source = _tensors(trained_features(scaling(X), names), y, w)
    if validation_fraction is not None:
        validation = _tensors(scaling(X_val), y_val, w_val)
    run = train(
        source,
        config,
        torch.Generator().manual_seed(seed),
        start=start,
        scaling=scaling,
        on_epoch=on_epoch,
        stopping=stopping,
        record_steps=record_steps,
        on_rows=on_rows,
        validation=validation,
    )
    return _array_fit(run, config, seed, names, scaling)


def _checked_moments(chunks, d: int, group) -> tuple[int, int, np.ndarray, np.ndarray]:
    """(this process's rows, every process's rows, the features' means, their sums of squared deviations) in
    one pass over ``chunks`` (each process's share, given a ``group``), whose features and labels float32
    training must take: checked chunk by chunk, and the labels' scale over every chunk of every process."""
    largest = [0.0]  # the largest label in size, of this process's rows

    def check(X: np.ndarray, y: np.ndarray) -> None:
        check_float32(X, "features")
        check_float32(y, "labels")
        largest[0] = max(largest[0], float(np.abs(y).max(initial=0.0)))

    def part() -> tuple[tuple[int, np.ndarray, np.ndarray], float]:
        return moments(chunks, d, check), largest[0]

    parts = [part()] if group is None else group.everyone(part)
    local_rows = parts[0 if group is None else group.rank][0][0]
    n, mean, m2 = merge_all([moments_ for moments_, _ in parts], d)  # in rank order: the file's order
    if n == 0:
        raise ValueError("the data have no rows")
    try:  # every process holds every process's largest label: refused alike by all
        check_not_tiny(max(label for _, label in parts), "labels", fix="rescale them, or use solve")
    except ValueError as exc:
        raise (ValueError if group is None else SameEverywhereError)(str(exc)) from None
    return local_rows, n, mean, m2


def trained_features(X: np.ndarray, names) -> np.ndarray:
    """The features ``X`` as they will be trained (standardized, or not), refused when float32 would take a
    column of them for 0 (``F32_TINY``)."""
    check_float32(X, "features", columns=names, where="the features trained on", smallest=F32_TINY)
    return X


def _array_fit(run, config: TrainConfig, seed: int, names: list[str], scaling: Standardization) -> ArrayFit:
    w, b = run.W[:, 0].tolist(), float(run.b[0])
    std = scaling.as_record()
    return ArrayFit(config, seed, run.history, names, w, b, std, run.rows, run.converged, scaling, (run.W_s, run.b_s))


def fit_chunks(
    chunks: ShuffledChunks,
    config: TrainConfig | None = None,
    *,
    feature_names: list[str],
    seed: int = 0,
    standardize: bool = False,
    buffer_rows: int = 1_000_000,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    stopping: StoppingRule | None = None,
    on_rows: RowsCallback | None = None,
    group: Group | None = None,
) -> ArrayFit:
    """:func:`fit_arrays` on data read a chunk at a time (:func:`linearnet.tables.table_chunks`):
    streaming SGD for files larger than memory.

    A first pass counts the rows, checks them and, with ``standardize=True``, finds each
    feature's mean and standard deviation. Each epoch then visits the chunks in a random order
    drawn from the seed and mixes their rows through a shuffle buffer of ``buffer_rows`` rows
    (:class:`linearnet.batches.StreamSource`): the same engines and loop as in memory, but
    not the same order of rows, so the trajectory differs from :func:`fit_arrays`' while the
    fit it reaches agrees within SGD's own noise. That order is the stream's own: a config with
    ``shuffle="blocks"`` (an order of rows in memory) is refused with a ValueError.

    Given a ``group`` of processes (:func:`linearnet.distributed.group`), ``chunks`` are this
    process's share of the rows: the moments are those of every share, and the processes train
    data-parallel (:class:`linearnet.distributed.DataParallel`), each shuffling its own share; the
    global batch is ``config.batch_size`` rows.
    """
    names = list(feature_names)
    d = len(names)
    if config is not None and config.shuffle == "blocks":  # before a pass, and alike in every process
        raise SameEverywhereError(STREAM_BLOCKS)
    if config is not None and group is not None:  # refused before the processes exchange anything: alike in all
        from ..distributed import local_batch

        local_batch(config.batch_size, group.rank, group.size)

    local_rows, n, mean, m2 = _checked_moments(chunks, d, group)
    config, stopping = default_run(config, stopping, model="linear", num_rows=n, d=d, standardize=standardize)
    batch = config.batch_size
    if group is not None:
        from ..distributed import local_batch

        batch = local_batch(batch, group.rank, group.size)
    scaling = Standardization.from_moments(n, mean, m2) if standardize else Standardization.none(d)
    source: BatchSource = StreamSource(
        chunks,
        local_rows,
        d,
        batch_size=batch,
        buffer_rows=buffer_rows,
        transform=scaling if standardize else None,
    )
    run = train(
        source,
        config,
        torch.Generator().manual_seed(seed),
        scaling=scaling,
        group=group,
        replicated=False,
        seed=seed,
        on_epoch=on_epoch,
        stopping=stopping,
        record_steps=record_steps,
        on_rows=on_rows,
    )
    return _array_fit(run, config, seed, names, scaling)

"""SGD on the user's own arrays (a table's columns, NumPy, a DataFrame's values), not synthetic data.

:func:`fit_arrays` trains linear regression, :func:`fit_classifier` softmax regression;
both drive the one training loop (:func:`linearnet.train.fit`) with the engine the config
names, and return a result that can print itself (``to_dict``) and become a model file
(``to_model``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from .batches import BatchSource, Chunks, StreamSource, TensorSource
from .config import TrainConfig
from .engines import Engine, make_engine
from .leastsq import merge_moments
from .linear_regression import init_params
from .modelfile import Model, SoftmaxModel, from_table
from .train import EpochCallback, History, RowsCallback, fit

if TYPE_CHECKING:
    from .distributed import Group

__all__ = ["ArrayFit", "fit_arrays", "fit_chunks", "ClassifierFit", "fit_classifier", "StoppingRule"]


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

    def __call__(self, loss: float) -> bool:
        if self.tol is None:
            return False
        if math.isfinite(self.best) and loss > self.best - self.tol * max(abs(self.best), self.floor):
            self.stale += 1
        else:
            self.stale = 0
        self.best = min(self.best, loss)
        self.met = self.stale >= self.patience
        return self.met


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


def standard_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation, what standardization subtracts and divides by
    (1 for a constant column, which it leaves as it is)."""
    return X.mean(axis=0), _unit_if_constant(X.std(axis=0))


def _unit_if_constant(scale: np.ndarray) -> np.ndarray:
    return np.where(scale > 0, scale, 1.0)


def held_out_rows(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers (kept, held out): ``fraction`` of n rows held out for early stopping, drawn by the seed."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be between 0 and 1, got {fraction:g}")
    held = max(1, round(n * fraction))
    if n - held < 1:
        raise ValueError(f"{n} rows are too few to hold {fraction:g} of them out for early stopping")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])


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
        """The model file record; ``target`` and ``data`` name the column and file it came from, or
        ``table`` (a :class:`linearnet.tables.Table`) gives them and the coding of its categories."""
        target, data, coding = from_table(table, target, data)
        c = self.config
        training = {
            "method": "sgd",
            "data": data,
            "n": self.n,
            "seed": self.seed,
            "standardize": self.standardization is not None,
            "epochs_loss": self.history.losses,
            "impl": c.impl,
            "lr": c.lr,
            "batch_size": c.batch_size,
            "epochs": c.epochs,
            "loss": c.loss,
            "grad_reduction": c.grad_reduction,
        }
        return Model(
            features=self.feature_names,
            coefficients=np.asarray(self.w),
            intercept=self.b,
            target=target,
            standardization=self.standardization,
            training=training,
            **coding,
        )


def _check_arrays(X, y) -> tuple[np.ndarray, np.ndarray]:
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
    for name, a in (("features", X), ("labels", y)):
        _check_float32(name, a)
    return X, y


_FLOAT32_LIMIT = float(np.finfo(np.float32).max) ** 0.5  # squares must stay finite in float32


def _check_float32(name: str, a: np.ndarray) -> None:
    """Finite, and small enough that the float32 engines can square it."""
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite; found NaN or inf")
    if a.size and not np.abs(a).max() <= _FLOAT32_LIMIT:
        raise ValueError(
            f"{name} hold values up to {np.abs(a).max():g}, too large for float32 training "
            f"(at most {_FLOAT32_LIMIT:.3g}); rescale them, or use solve"
        )


def _names(feature_names, d: int) -> list[str]:
    names = list(feature_names) if feature_names is not None else [f"x{j + 1}" for j in range(d)]
    if len(names) != d:
        raise ValueError(f"feature_names has {len(names)} names but X has {d} columns")
    return names


def fit_arrays(
    X,
    y,
    config: TrainConfig,
    *,
    feature_names=None,
    seed: int = 0,
    standardize: bool = False,
    on_epoch: EpochCallback | None = None,
    record_steps: bool = False,
    stopping: StoppingRule | None = None,
    on_rows: RowsCallback | None = None,
    validation_fraction: float | None = None,
) -> ArrayFit:
    """Train linear regression by minibatch SGD on arrays X (n, p) and y (n,).

    With a ``stopping`` rule, training ends once the rule is met (at ``config.epochs`` at most),
    and ``converged`` says whether it was. With ``validation_fraction`` that share of the rows,
    drawn by the seed, is held out of training and the rule watches the loss on them instead
    (early stopping); ``history.val_loss`` records it.

    With ``standardize=True`` each feature is centred and divided by its standard deviation
    for training (SGD then needs no tuning per unit), and the learned coefficients are
    converted back: w = w_s / scale, b = b_s − Σ w_s·mean / scale.
    """
    X, y = _check_arrays(X, y)
    names = _names(feature_names, X.shape[1])
    validation = None
    if validation_fraction is not None:
        kept, held = held_out_rows(len(X), validation_fraction, seed)
        X, y, X_val, y_val = X[kept], y[kept], X[held], y[held]
    if standardize:
        mean, scale = standard_scale(X)
        Xt = (X - mean) / scale
    else:
        mean, scale, Xt = np.zeros(X.shape[1]), np.ones(X.shape[1]), X
    source = TensorSource(torch.from_numpy(Xt.astype(np.float32)), torch.from_numpy(y.astype(np.float32)))
    if validation_fraction is not None:
        Xv = (X_val - mean) / scale
        validation = TensorSource(torch.from_numpy(Xv.astype(np.float32)), torch.from_numpy(y_val.astype(np.float32)))
    center = mean if standardize else None
    return _fit_linear(
        source, config, names, seed, center, scale, on_epoch, record_steps, stopping, on_rows, validation
    )


def fit_chunks(
    chunks: Chunks,
    config: TrainConfig,
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
    fit it reaches agrees within SGD's own noise.

    Given a ``group`` of processes (:func:`linearnet.distributed.group`), ``chunks`` are this
    process's share of the rows: the moments are those of every share, and the processes train
    data-parallel (:class:`linearnet.distributed.DataParallel`), each shuffling its own share; the
    global batch is ``config.batch_size`` rows.
    """
    names = list(feature_names)
    d = len(names)
    batch = config.batch_size
    if group is not None:  # refused before the processes exchange anything: alike in all, said once
        from .distributed import local_batch

        batch = local_batch(batch, group.rank, group.size)

    def moments() -> tuple[int, np.ndarray, np.ndarray]:
        n, mean, m2 = 0, np.zeros(d), np.zeros(d)
        for X, y in chunks():
            for what, a in (("features", X), ("labels", y)):
                _check_float32(what, a)
            part_mean = X.mean(axis=0)  # the chunk's, merged into the running ones (Chan et al.)
            n, mean, m2 = merge_moments(n, mean, m2, len(X), part_mean, ((X - part_mean) ** 2).sum(axis=0))
        return n, mean, m2

    parts = [moments()] if group is None else group.everyone(moments)
    local_rows = parts[0 if group is None else group.rank][0]
    n, mean, m2 = 0, np.zeros(d), np.zeros(d)
    for part in parts:  # in rank order: the file's order
        n, mean, m2 = merge_moments(n, mean, m2, *part)
    if n == 0:
        raise ValueError("the data have no rows")
    if standardize:
        scale = _unit_if_constant(np.sqrt(m2 / n))
        center = mean

        def transform(X: np.ndarray) -> np.ndarray:
            return (X - center) / scale
    else:
        scale = np.ones(d)
    source: BatchSource = StreamSource(
        chunks,
        local_rows,
        d,
        batch_size=batch,
        buffer_rows=buffer_rows,
        transform=transform if standardize else None,
    )
    shift = mean if standardize else None
    return _fit_linear(
        source, config, names, seed, shift, scale, on_epoch, record_steps, stopping, on_rows, group=group
    )


def _fit_linear(
    source: BatchSource,
    config: TrainConfig,
    names: list[str],
    seed: int,
    mean: np.ndarray | None,
    scale: np.ndarray,
    on_epoch: EpochCallback | None,
    record_steps: bool,
    stopping: StoppingRule | None,
    on_rows: RowsCallback | None = None,
    validation: BatchSource | None = None,
    group: Group | None = None,
) -> ArrayFit:
    """Train from ``source`` and bring the coefficients back to the features' units: with ``mean``
    (standardized training) w = w_s / scale, b = b_s − Σ w_s·mean / scale. Given a ``group``, the
    source is this process's share: every process starts from the same weights, then shuffles its
    share from a generator of its own (the seed and its rank)."""
    g = torch.Generator().manual_seed(seed)
    w0, b0 = init_params(source.num_features, std=config.init_std, bias_std=config.init_bias_std, generator=g)
    engine: Engine = make_engine(config, w0, b0)
    if group is not None:
        from .distributed import DataParallel, Shared

        g = torch.Generator().manual_seed(seed * group.size + group.rank)
        source, engine = Shared(source), DataParallel(engine, group)
    history = fit(
        engine,
        source,
        config,
        generator=g,
        on_epoch=with_stopping(on_epoch, stopping),
        record_steps=record_steps,
        on_rows=on_rows,
        validation_source=validation,
        group=group,
    )
    w_s, b_s = engine.parameters()
    w_s = np.asarray(w_s, dtype=np.float64)
    w = w_s / scale
    center = mean if mean is not None else np.zeros(len(w_s))
    b = float(b_s - np.sum(w_s * center / scale))
    standardization = {"mean": center.tolist(), "scale": scale.tolist()} if mean is not None else None
    converged = stopping.met if stopping is not None else None
    return ArrayFit(config, seed, history, names, w.tolist(), b, standardization, source.num_rows, converged)


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
    converged: bool | None = None  # whether a stopping rule ended the run (None: a fixed number of epochs)

    def predict_proba(self, X) -> np.ndarray:
        """P(class | x) for each row of X (n, d): softmax(XW + b), as the model file computes it."""
        return self.to_model().predict_proba(X)

    def to_dict(self) -> dict:
        return {
            "history": self.history.as_records(),
            "classes": self.classes,
            "seconds": self.history.seconds,
            "rows_per_second": self.history.rows_per_second,
            "impl": self.config.impl,
            "seed": self.seed,
            "test_acc": self.history.test_acc[-1] if self.history.test_acc else None,
            "epochs_run": len(self.history.losses),
            "converged": self.converged,
        }

    def to_model(self, *, target: str | None = None, data: str | None = None, table=None) -> SoftmaxModel:
        """The model file record; ``target`` and ``data`` name the label column and the data it came from,
        or ``table`` (a :class:`linearnet.tables.Table`) gives them and the coding of its categories."""
        target, data, coding = from_table(table, target, data)
        c = self.config
        training = {
            "method": "sgd",
            "data": data,
            "seed": self.seed,
            "test_acc": self.history.test_acc[-1] if self.history.test_acc else None,
            "impl": c.impl,
            "lr": c.lr,
            "batch_size": c.batch_size,
            "epochs": c.epochs,
            "weight_decay": c.weight_decay,
        }
        return SoftmaxModel(
            features=self.feature_names,
            classes=self.classes,
            coefficients=np.asarray(self.W, dtype=np.float64).T,
            intercepts=np.asarray(self.b),
            target=target,
            training=training,
            **coding,
        )


def fit_classifier(
    X,
    y,
    config: TrainConfig,
    *,
    X_test=None,
    y_test=None,
    num_classes: int | None = None,
    classes: list[str] | None = None,
    feature_names=None,
    seed: int = 0,
    on_epoch: EpochCallback | None = None,
    standardize: bool = False,
    stopping: StoppingRule | None = None,
    on_rows: RowsCallback | None = None,
    validation_fraction: float | None = None,
    group: Group | None = None,
) -> ClassifierFit:
    """Train softmax regression by minibatch SGD on X (n, d) and class numbers y (n,) in 0..q−1.

    Given a ``group`` of processes (:func:`linearnet.distributed.group`) each holding the same
    rows, they train data-parallel, each on its part of every batch: together they follow the
    trajectory of one process.

    The weights start N(0, config.init_std²) and the bias at 0 (d2l 3.6); the seed fixes
    them and every epoch's order, whatever the implementation. ``standardize``, ``stopping`` and
    ``validation_fraction`` are those of :func:`fit_arrays` (the mean and scale from the rows trained
    on; the weights come back in X's units; the rows held out come from X, not from the test set).
    """
    if config.model != "softmax":
        raise ValueError(f"fit_classifier needs a softmax config (model='softmax'), got model={config.model!r}")
    X = np.asarray(X, dtype=np.float64)
    _check_float32("features", X)
    y = np.asarray(y)
    X_val = y_val = None
    if validation_fraction is not None:
        if num_classes is None:  # from every row: a class may fall among the rows held out only
            num_classes = _check_classes(torch.as_tensor(y), None, "y")
        kept, held = held_out_rows(len(X), validation_fraction, seed)
        X, y, X_val, y_val = X[kept], y[kept], X[held], y[held]
    mean, scale = np.zeros(X.shape[1]), np.ones(X.shape[1])
    if standardize and len(X):
        mean, scale = standard_scale(X)
        X = (X - mean) / scale
        if X_test is not None:
            X_test = (np.asarray(X_test, dtype=np.float64) - mean) / scale
    X = torch.as_tensor(X.astype(np.float32))
    validation = None
    if X_val is not None:
        Xv = torch.as_tensor(((X_val - mean) / scale).astype(np.float32))
        validation = TensorSource(Xv, torch.as_tensor(y_val).to(torch.int64), classes=True)
    y = torch.as_tensor(np.asarray(y))
    q = _check_classes(y, num_classes, "y")
    y = y.to(torch.int64)  # whole numbers stored as floats are class numbers too
    source = TensorSource(X, y, classes=True)
    test_source = None
    if X_test is not None:
        y_test = torch.as_tensor(np.asarray(y_test))
        _check_classes(y_test, q, "y_test")
        y_test = y_test.to(torch.int64)
        test_source = TensorSource(torch.as_tensor(np.asarray(X_test, dtype=np.float32)), y_test, classes=True)
        if test_source.num_features != source.num_features:
            raise ValueError(f"X_test has {test_source.num_features} features but X has {source.num_features}")
    names = _names(feature_names, source.num_features)
    g = torch.Generator().manual_seed(seed)
    W0, b0 = init_params(source.num_features, q, std=config.init_std, bias_std=config.init_bias_std, generator=g)
    engine: Engine = make_engine(config, W0, b0)
    train_source: BatchSource = source
    if group is not None and group.size > 1:
        from .distributed import DataParallel, Replicated

        def part(s):
            return None if s is None else Replicated(s, group.rank, group.size, config.batch_size)

        train_source, test_source, validation = part(source), part(test_source), part(validation)
        engine = DataParallel(engine, group)
    history = fit(
        engine,
        train_source,
        config,
        generator=g,
        on_epoch=with_stopping(on_epoch, stopping),
        test_source=test_source,
        on_rows=on_rows,
        validation_source=validation,
        group=group if group is not None and group.size > 1 else None,
    )
    W_s, b_s = (np.asarray(p, dtype=np.float64) for p in engine.parameters())  # (d, q) and (q,)
    W = W_s / scale[:, None]  # back in X's units, as for linear regression
    b = b_s - (W_s * (mean / scale)[:, None]).sum(axis=0)
    names_of_classes = list(classes) if classes else [str(c) for c in range(q)]
    converged = stopping.met if stopping is not None else None
    return ClassifierFit(config, seed, history, W.tolist(), b.tolist(), names_of_classes, names, converged)


def _check_classes(y: torch.Tensor, num_classes: int | None, name: str) -> int:
    if y.is_floating_point():
        if not torch.isfinite(y).all():
            raise ValueError(f"{name} must hold class numbers, found NaN or inf")
        if not torch.equal(y, y.round()):
            raise ValueError(
                f"{name} must hold whole class numbers, found fractions such as {float(y[y != y.round()][0])}"
            )
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

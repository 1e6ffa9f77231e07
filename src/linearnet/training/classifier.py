"""Softmax regression by SGD on the user's arrays: :func:`fit_classifier`, through the one run
(:func:`~linearnet.training.run.train`) with the one standardizer and validation split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..batches import TensorSource
from ..config import TrainConfig, check_float32
from ..modelfile import SoftmaxModel
from ..records import softmax_model
from .arrays import check_sgd_weights, default_run, feature_names_for, trained_features
from .loop import EpochCallback, History, RowsCallback
from .run import train
from .scaling import Standardization
from .stopping import StoppingRule, held_out_rows

if TYPE_CHECKING:
    from ..distributed import Group

__all__ = ["ClassifierFit", "fit_classifier", "check_classes"]


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
    scaling: Standardization | None = field(default=None, repr=False)  # what the features were trained on
    trained: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)  # W_s (d, q), b_s (q,) as trained

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
        """The model file record (:func:`linearnet.records.softmax_model`); ``target`` and ``data`` name the
        label column and the data it came from, or ``table`` (a :class:`linearnet.tables.Table`) gives them and
        the coding of its categories."""
        return softmax_model(self, target=target, data=data, table=table)


def fit_classifier(
    X,
    y,
    config: TrainConfig | None = None,
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
    scaling: Standardization | None = None,
    start: tuple[torch.Tensor, torch.Tensor] | None = None,
    weights=None,
) -> ClassifierFit:
    """Train softmax regression by minibatch SGD on X (n, d) and class numbers y (n,) in 0..q−1.

    Given a ``group`` of processes (:func:`linearnet.distributed.group`) each holding the same
    rows, they train data-parallel, each on its part of every batch: together they follow the
    trajectory of one process.

    The weights start N(0, config.init_std²) and the bias at 0 (d2l 3.6); the seed fixes
    them and every epoch's order, whatever the implementation. ``standardize``, ``stopping``,
    ``validation_fraction``, ``scaling`` and ``start`` are those of :func:`~linearnet.training.fit_arrays`
    (the mean and scale from the rows trained on; the weights come back in X's units; the rows held out
    come from X, not from the test set); so are a missing ``config`` and ``weights`` (the accuracies unweighted).
    """
    if config is not None and config.model != "softmax":
        raise ValueError(f"fit_classifier needs a softmax config (model='softmax'), got model={config.model!r}")
    X = np.asarray(X, dtype=np.float64)
    check_float32(X, "features")
    y = np.asarray(y)
    w = _weights(weights, len(X), group)
    config, stopping = default_run(
        config,
        stopping,
        model="softmax",
        num_rows=len(X),
        d=X.shape[1],
        standardize=standardize,
        weighted=w is not None,
    )
    X_val = y_val = w_val = None
    if validation_fraction is not None:
        (X, y, w), (X_val, y_val, w_val), num_classes = _hold_out(X, y, w, validation_fraction, seed, num_classes)
    if scaling is None:
        scaling = Standardization.of(X) if standardize and len(X) else Standardization.none(X.shape[1])
    source, q = _labelled(trained_features(scaling(X), feature_names), y, num_classes, "y", w)
    validation = None if X_val is None else _labelled(scaling(X_val), y_val, q, None, w_val)[0]
    test_source = None
    if X_test is not None:
        test_source = _labelled(scaling(np.asarray(X_test, dtype=np.float64)), y_test, q, "y_test")[0]
        if test_source.num_features != source.num_features:
            raise ValueError(f"X_test has {test_source.num_features} features but X has {source.num_features}")
    names = feature_names_for(feature_names, source.num_features)
    run = train(
        source,
        config,
        torch.Generator().manual_seed(seed),
        start=start,
        num_classes=q,
        scaling=scaling,
        group=group,
        on_epoch=on_epoch,
        stopping=stopping,
        on_rows=on_rows,
        test_source=test_source,
        validation=validation,
    )
    names_of_classes = list(classes) if classes else [str(c) for c in range(q)]
    W, b = run.W.tolist(), run.b.tolist()
    return ClassifierFit(
        config, seed, run.history, W, b, names_of_classes, names, run.converged, scaling, (run.W_s, run.b_s)
    )


def _hold_out(X: np.ndarray, y: np.ndarray, w: np.ndarray | None, fraction: float, seed: int, num_classes):
    """(X, y, w) of the rows trained on and of those held out, and the number of classes (of every row: a
    class may fall among the rows held out only)."""
    if num_classes is None:
        num_classes = check_classes(torch.as_tensor(y), None, "y")
    kept, held = held_out_rows(len(X), fraction, seed)
    w_kept, w_held = (None, None) if w is None else (w[kept], w[held])
    return (X[kept], y[kept], w_kept), (X[held], y[held], w_held), num_classes


def _weights(weights, n: int, group) -> np.ndarray | None:
    if weights is not None and group is not None:
        raise ValueError("weighted rows are trained in one process; leave out the group (or the weights)")
    return None if weights is None else check_sgd_weights(weights, n)


def _labelled(
    X: np.ndarray, y, num_classes: int | None, name: str | None, w: np.ndarray | None = None
) -> tuple[TensorSource, int]:
    """The float32 rows X, the class numbers y (and the rows' weights ``w``) as a source, and the number of
    classes (checked against ``num_classes`` under ``name``; none for the rows held out, which come from the
    checked ones)."""
    labels = torch.as_tensor(np.asarray(y))
    q = num_classes if name is None else check_classes(labels, num_classes, name)
    assert q is not None
    weights = None if w is None else torch.from_numpy(w.astype(np.float32))
    return TensorSource(torch.as_tensor(X.astype(np.float32)), labels.to(torch.int64), classes=True, weights=weights), q


def check_classes(y: torch.Tensor, num_classes: int | None, name: str) -> int:
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

"""The model-file records of fits (:mod:`linearnet.modelfile`), each made from what fitted it: an exact
least-squares fit, linear regression trained by SGD, softmax regression trained by SGD, and the exact
multinomial logit."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .intervals import Uncertainty
from .modelfile import Model, SoftmaxModel

if TYPE_CHECKING:
    from .array_fit import ArrayFit, ClassifierFit
    from .leastsq import OLSResult
    from .logit import LogitResult


def from_table(table, target: str | None, data: str | None) -> tuple[str | None, str | None, dict]:
    """What a model record takes from the table it was fitted on (:class:`linearnet.tables.Table`):
    the target, the data file, and the coding of its categories and its formula (``{}`` without any)."""
    if table is None:
        return target, data, {}
    coding = {"coding": table.coding, "columns": table.columns} if table.coding else {}
    if getattr(table, "formula", None):
        coding = {"coding": table.coding or None, "columns": table.columns, "formula": table.formula}
        if isinstance(getattr(table, "factors", None), dict):  # the levels its categorical terms were coded with
            coding["factors"] = table.factors
    return target if target is not None else table.target_name, data if data is not None else table.path, coding


def linear_model(result: OLSResult, *, target: str | None = None, data: str | None = None, table=None) -> Model:
    """The record of an exact fit (:func:`linearnet.leastsq.solve`), its statistics included.

    ``target`` and ``data`` name the predicted column and the data file; or ``table`` (the
    :class:`linearnet.tables.Table` the fit came from) gives them and the coding of its categories,
    so that predict() can apply it.
    """
    target, data, coding = from_table(table, target, data)
    return Model(
        features=result.feature_names,
        coefficients=result.coef,
        intercept=result.intercept,
        fit_intercept=result.fit_intercept,
        target=target,
        training={"method": "solve", "data": data, "n": result.n, "algorithm": result.method},
        statistics=result.to_dict(),
        uncertainty=Uncertainty.of(result),
        **coding,
    )


def sgd_model(fit: ArrayFit, *, target: str | None = None, data: str | None = None, table=None) -> Model:
    """The record of linear regression trained by SGD (:func:`linearnet.array_fit.fit_arrays`,
    ``fit_chunks``), with its settings and the loss of each epoch; ``target``, ``data`` and ``table``
    as in :func:`linear_model`."""
    target, data, coding = from_table(table, target, data)
    c = fit.config
    training = {
        "method": "sgd",
        "data": data,
        "n": fit.n,
        "seed": fit.seed,
        "standardize": fit.standardization is not None,
        "epochs_loss": fit.history.losses,
        "impl": c.impl,
        "lr": c.lr,
        "batch_size": c.batch_size,
        "epochs": c.epochs,
        "loss": c.loss,
        "grad_reduction": c.grad_reduction,
        "shuffle": c.shuffle,
    }
    return Model(
        features=fit.feature_names,
        coefficients=np.asarray(fit.w),
        intercept=fit.b,
        target=target,
        standardization=fit.standardization,
        training=training,
        **coding,
    )


def softmax_model(
    fit: ClassifierFit, *, target: str | None = None, data: str | None = None, table=None
) -> SoftmaxModel:
    """The record of softmax regression trained by SGD (:func:`linearnet.array_fit.fit_classifier`);
    ``target`` names the label column, ``data`` and ``table`` as in :func:`linear_model`."""
    target, data, coding = from_table(table, target, data)
    c = fit.config
    training = {
        "method": "sgd",
        "data": data,
        "seed": fit.seed,
        "test_acc": fit.history.test_acc[-1] if fit.history.test_acc else None,
        "impl": c.impl,
        "lr": c.lr,
        "batch_size": c.batch_size,
        "epochs": c.epochs,
        "weight_decay": c.weight_decay,
        "shuffle": c.shuffle,
    }
    return SoftmaxModel(
        features=fit.feature_names,
        classes=fit.classes,
        coefficients=np.asarray(fit.W, dtype=np.float64).T,
        intercepts=np.asarray(fit.b),
        target=target,
        training=training,
        **coding,
    )


def logit_model(result: LogitResult, *, target: str | None = None, data: str | None = None, table=None) -> SoftmaxModel:
    """The record of an exact multinomial logit (:func:`linearnet.logit.solve_logit`): a softmax model whose
    reference class has weights 0 (the same probabilities), its statistics included; ``target``, ``data``
    and ``table`` as in :func:`linear_model`. A column left out of a rank-deficient fit weighs 0."""
    target, data, coding = from_table(table, target, data)
    params = np.nan_to_num(result.params, nan=0.0)
    W = np.zeros((len(result.classes), params.shape[0]))
    W[[result.classes.index(c) for c in result.others]] = params.T
    offset = int(result.fit_intercept)
    return SoftmaxModel(
        features=result.feature_names,
        classes=list(result.classes),
        coefficients=W[:, offset:],
        intercepts=W[:, 0] if offset else np.zeros(len(result.classes)),
        target=target,
        training={
            "method": "solve",
            "data": data,
            "n": result.n,
            "reference": result.reference,
            "iterations": result.iterations,
            "fit_intercept": result.fit_intercept,
        },
        statistics=result.to_dict(),
        **coding,
    )

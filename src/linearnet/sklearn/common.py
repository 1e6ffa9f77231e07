"""What the scikit-learn faces share: feature names as linearnet gives them, and model files read back."""

from __future__ import annotations

import functools

import numpy as np

from ..modelcheck import bad
from ..modelfile import Model, SoftmaxModel, load_model
from ..tables.messages import _shown


def _feature_names(estimator) -> list[str]:
    """The fitted DataFrame's column names, or x1, x2, ... as linearnet names unnamed columns."""
    names = getattr(estimator, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else [f"x{j + 1}" for j in range(estimator.n_features_in_)]


def _set_features(estimator, features: list[str]) -> None:
    """n_features_in_ and, unless they are linearnet's default x1, x2, ..., feature_names_in_ from a model file."""
    estimator.n_features_in_ = len(features)
    if features != [f"x{j + 1}" for j in range(len(features))]:
        estimator.feature_names_in_ = np.asarray(features, dtype=object)


def _load(path, kind: type) -> Model | SoftmaxModel:
    model = load_model(path)
    if not isinstance(model, kind):
        want = "linear_regression" if kind is Model else "softmax_regression"
        raise ValueError(f"{path}: holds a {type(model).__name__} model; this estimator reads {want} models")
    if model.coding or getattr(model, "formula", None):
        raise ValueError(
            f"{path}: the model codes text columns or applies a formula, which needs the table's columns; "
            f"use `linearnet predict` on the file instead"
        )
    return model


def _check_flags(estimator, *names: str) -> None:
    """Refuse a parameter meant to be True or False that is not a bool: a string such as "False" or "no" would
    be taken as True."""
    for name in names:
        value = getattr(estimator, name)
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {_shown(value)} ({type(value).__name__})")


def _loading(load):
    """A face's ``load``: whatever a tampered model file makes go wrong reading it back is a ValueError naming
    the file, never a KeyError, TypeError, AttributeError or OverflowError."""

    @functools.wraps(load)
    def wrapped(cls, path):
        try:
            return load(cls, path)
        except ValueError as exc:
            if str(exc).startswith(f"{path}: "):
                raise
            raise bad(path, exc) from None
        except (KeyError, TypeError, AttributeError, OverflowError, IndexError, ZeroDivisionError) as exc:
            raise bad(path, f"a field does not hold what linearnet writes ({type(exc).__name__}: {exc})") from None

    return wrapped

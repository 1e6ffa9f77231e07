"""What the scikit-learn faces share: feature names as linearnet gives them, and model files read back."""

from __future__ import annotations

import numpy as np

from ..modelfile import Model, SoftmaxModel, load_model


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

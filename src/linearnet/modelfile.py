"""Model files: a documented, versioned JSON format. Loading one never executes code.

Format version 1, one JSON object:

    {
      "format": "linearnet-model",          always this string
      "format_version": 1,
      "linearnet_version": "0.1.0",         the version that wrote it
      "kind": "linear_regression",
      "target": "price",                    the predicted column (null if unnamed)
      "features": ["area", "rooms", "age"], the columns predict() needs, in order
      "coefficients": [2.5, 8.1, -0.6],     one per feature, in the features' original units
      "intercept": 50.2,                    0 when fitted without an intercept
      "fit_intercept": true,
      "standardization": null | {"mean": [...], "scale": [...]},
                                            how features were scaled during training (the
                                            coefficients above already undo it)
      "training": {...},                    how it was fitted: "method" ("solve" or "sgd") and
                                            its settings, the data file, rows
      "statistics": {...} | null            for "solve": the table of estimates and R², σ̂, ...
    }

Prediction is ŷ = Σ coefficients[j]·x[features[j]] + intercept. Floats are written with
``repr`` so that they read back bit for bit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .tables import atomic_write

__all__ = ["Model", "save_model", "load_model", "FORMAT_VERSION"]

FORMAT = "linearnet-model"
FORMAT_VERSION = 1


@dataclass
class Model:
    features: list[str]
    coefficients: np.ndarray
    intercept: float
    fit_intercept: bool = True
    target: str | None = None
    standardization: dict | None = None
    training: dict = field(default_factory=dict)
    statistics: dict | None = None

    def __post_init__(self):
        self.coefficients = np.asarray(self.coefficients, dtype=np.float64)

    def predict(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.features):
            raise ValueError(f"X must have shape (n, {len(self.features)}) for the features "
                             f"{', '.join(self.features)}, got {X.shape}")
        return X @ self.coefficients + self.intercept

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "linearnet_version": __version__,
            "kind": "linear_regression",
            "target": self.target,
            "features": list(self.features),
            "coefficients": [float(c) for c in self.coefficients],
            "intercept": float(self.intercept),
            "fit_intercept": bool(self.fit_intercept),
            "standardization": self.standardization,
            "training": self.training,
            "statistics": self.statistics,
        }


def save_model(model: Model, path) -> None:
    """Write ``model`` to ``path`` atomically: an existing file is replaced whole or not at all."""
    text = json.dumps(model.to_dict(), indent=2, allow_nan=False) + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)


def _bad(path, why) -> ValueError:
    return ValueError(f"{path}: not a usable linearnet model file: {why}")


def load_model(path) -> Model:
    """Read a model file written by :func:`save_model`, checking every field."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, expected a model file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"not JSON ({exc})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _bad(path, f'expected "format": "{FORMAT}"')
    version = data.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise _bad(path, f"format_version must be a whole number >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise _bad(path, f"format_version {version} is newer than this linearnet reads "
                         f"({FORMAT_VERSION}); upgrade linearnet")
    if data.get("kind") != "linear_regression":
        raise _bad(path, f"kind {data.get('kind')!r} is not supported (linear_regression)")
    features = data.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
        raise _bad(path, "features must be a non-empty list of column names")
    coef = data.get("coefficients")
    if (not isinstance(coef, list) or len(coef) != len(features)
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
                       for c in coef)):
        raise _bad(path, f"coefficients must be {len(features)} finite numbers, one per feature")
    intercept = data.get("intercept")
    if isinstance(intercept, bool) or not isinstance(intercept, (int, float)) or not math.isfinite(intercept):
        raise _bad(path, "intercept must be a finite number")
    target = data.get("target")
    if target is not None and not isinstance(target, str):
        raise _bad(path, "target must be a column name or null")
    return Model(features=features, coefficients=np.array(coef, dtype=np.float64), intercept=float(intercept),
                 fit_intercept=bool(data.get("fit_intercept", True)), target=target,
                 standardization=data.get("standardization"), training=data.get("training") or {},
                 statistics=data.get("statistics"))

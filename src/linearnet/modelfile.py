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

Softmax regression ("kind": "softmax_regression") has "classes" (names, in order),
"coefficients" (one row of len(features) weights per class) and "intercepts" (one per
class) instead of "coefficients"/"intercept"; P(class c | x) = softmax(Wx + b)_c. Fitted exactly
(``linearnet solve --model softmax``, the multinomial logit), its "training" has "method": "solve" and
"reference" (the class whose weights are 0), and "statistics" holds the fit's table (per class and
parameter the estimate, standard error, z, p, interval; the log-likelihood, AIC, ...), as
``linearnet solve --json`` prints it.

Format version 2 adds, for a model with text columns coded as categories or made by a formula
("formula": "price ~ area + C(city) + np.log(age)"; "features" are then the formula's terms):

      "columns": ["area", "city"],          the file's columns predict() reads, in order
      "coding": {"city": ["Lille", "Lyon", "Paris"]}
                                            each coded column's levels, the first the
                                            reference; "features" then names the coded
                                            columns: ["area", "city[T.Lyon]", "city[T.Paris]"]

A model without coded columns is still written as version 1. A formula's model also keeps the design it was
fitted on (a field added without a new version: files without it are read as before):

      "factors": {"C(g)": [1.0, 2.0, 3.0], "city": ["Lille", "Lyon", "Paris"]}
                                            each categorical term of the formula and its levels,
                                            in order, the first the reference; predict codes new
                                            rows with them, refuses a value outside them, and
                                            matches the rebuilt design's columns to "features"
                                            by name

A formula whose terms learn from the rows (R's ``poly(x, 3)``, ``scale(x)``, ``bs(x, df=5)``; ``center(x)``,
R's ``scale(x, scale = FALSE)``) keeps their state, which predict applies to new rows as R's ``predict()`` does
(a field added without a new version: a linearnet that predates it refuses these transforms in a formula):

      "transforms": {"poly(x, 3)": {"alpha": [15.4, 14.8, 13.65],
                                    "norm2": [1.0, 50.0, 1370.0, 52923.58, 1811093.05]},
                     "scale(z)": {"center": 15.4, "scale": 5.29}}
                                            each call, as formulaic writes it, and its state: for
                                            poly the "coefs" R keeps (alpha: d numbers; norm2:
                                            d + 2, the first 1, the second the rows' count), for
                                            scale and center the number subtracted and the one
                                            divided by (null: none), for bs "knots" (the
                                            boundary ones repeated degree + 1 times) and
                                            "lower_bound", "upper_bound"; floats written with repr

An ``offset(z)`` term is not in "features": the fit took it off the target, and predict adds it back.

A model file is read with a bound (:data:`MAX_MODEL_BYTES`); a key written twice, ``NaN`` or ``Infinity``,
and a standardization scale that is not a positive finite number are refused.

Format version 3 adds, for an exact fit (``linearnet solve``) with residual degrees of freedom, what
``linearnet predict --interval`` needs (see :mod:`linearnet.intervals`):

      "uncertainty": {
        "cov_factor": [[...], ...],         F, k rows of k numbers (k: the intercept, first when
                                            fitted, then the features), with (AᵀA)⁻¹ = F·Fᵀ in the
                                            data's units: F = R⁻¹ for the triangular factor of the
                                            Gram matrix AᵀA = RᵀR (upper triangular; of a rank-
                                            deficient fit, the eigenvectors of the pseudo-inverse
                                            scaled by the roots of its eigenvalues). The factor,
                                            not (AᵀA)⁻¹ itself: x₀ᵀ(AᵀA)⁻¹x₀ = ‖Fᵀx₀‖² keeps its
                                            digits where the rounded matrix loses cond(A)·ε
        "sigma": 1.93,                      σ̂, the residual standard deviation
        "df_resid": 196                     n − rank, for Student's t
      }

A model without it is written as version 1 or 2, as before; files of versions 1 and 2 are read as
they were (without intervals). A model of the intercept alone (``y ~ 1``) has no features:
"features" and "coefficients" are empty lists, and it predicts its intercept for every row.

The records are made from what fitted them by :mod:`linearnet.records`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .intervals import Uncertainty
from .modelcheck import bad, finite_numbers, load_coding, load_records, shown, twice
from .outputs import atomic_write
from .tables.design import coded_features
from .tables.transforms import is_transform_state

__all__ = [
    "Model",
    "SoftmaxModel",
    "save_model",
    "load_model",
    "coded_features",
    "FORMAT_VERSION",
]

FORMAT = "linearnet-model"
FORMAT_VERSION = 3


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
    coding: dict[str, list[str]] | None = None  # text column -> levels, when some columns are coded
    columns: list[str] | None = None  # the file's columns behind the features, when some are coded
    formula: str | None = None  # the Wilkinson formula that made the features from the columns
    factors: dict[str, list | dict] | None = None  # the formula's categorical terms -> their levels, and its
    # transforms that learn -> their state (None: not recorded)
    uncertainty: Uncertainty | None = None  # an exact fit's (AᵀA)⁻¹ factor, σ̂ and residual df, for intervals
    source: str | None = field(default=None, compare=False)  # the model file it was loaded from, for messages

    def __post_init__(self):
        self.coefficients = np.asarray(self.coefficients, dtype=np.float64)

    def predict(self, X, *, first_row: int = 1) -> np.ndarray:
        """ŷ = X·coefficients + intercept, one per row; a row whose ŷ overflows float64 is refused
        (named counting from ``first_row``, the number of X's first row in its file)."""
        X = _checked(X, self.features)
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, with the row, not warned of
            y_hat = X @ self.coefficients + self.intercept  # (n,)
        _check_finite(self.source, X, y_hat, "the prediction for row {row} overflows", first_row)
        return y_hat

    def prediction_columns(
        self, X, *, first_row: int = 1, interval: str | None = None, level: float = 0.95
    ) -> dict[str, np.ndarray]:
        """What ``linearnet predict`` writes: ``<target>_predicted`` (or ``prediction``), and with
        ``interval`` ("confidence" or "prediction", at ``level``) ``<target>_lower`` and ``<target>_upper``
        (or ``lower``, ``upper``), as R's ``predict.lm`` computes them (:mod:`linearnet.intervals`)."""
        y_hat = self.predict(X, first_row=first_row)
        columns = {_prediction_name(self.target): y_hat}
        if interval is not None:
            lower, upper = self.bounds(X, y_hat, interval=interval, level=level, first_row=first_row)
            prefix = f"{self.target}_" if self.target else ""
            columns.update({f"{prefix}lower": lower, f"{prefix}upper": upper})
        return columns

    def bounds(
        self, X, y_hat, *, interval: str, level: float = 0.95, first_row: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """The bounds of the ``interval`` at ``level`` of the predictions ``y_hat`` of the rows ``X`` (numbered
        from ``first_row`` in messages); bounds that overflow float64 are refused with the first row."""
        if self.uncertainty is None:
            raise ValueError(f"{self.source or 'the model'}: {self.no_intervals()}")
        X = _checked(X, self.features)
        lower, upper = self.uncertainty.bounds(
            X, y_hat, fit_intercept=self.fit_intercept, interval=interval, level=level
        )
        _check_finite(self.source, X, upper - lower, "the interval for row {row} overflows", first_row)
        return lower, upper

    def no_intervals(self) -> str | None:
        """Why this model gives no intervals, or None when it does."""
        if self.uncertainty is not None:
            return None
        statistics = self.statistics or {}
        if self.training.get("method") != "solve":
            return "a model trained by SGD has no intervals (they need an exact fit: make it with linearnet solve)"
        if statistics.get("df_resid") == 0:
            return "the model was fitted with as many parameters as rows: no residual degree of freedom, no intervals"
        return (
            "the model file holds no uncertainty for intervals (written by a linearnet older than format "
            "version 3): make it again with linearnet solve"
        )

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": 3 if self.uncertainty else 2 if self.coding or self.formula else 1,
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
            **_coding_fields(self),
            **({"uncertainty": self.uncertainty.to_dict()} if self.uncertainty else {}),
        }


@dataclass
class SoftmaxModel:
    """Softmax regression: P(class c | x) = softmax(W x + b)_c; ``coefficients`` is (q, d)."""

    features: list[str]
    classes: list[str]
    coefficients: np.ndarray  # (q, d): one row of weights per class
    intercepts: np.ndarray  # (q,)
    target: str | None = None
    training: dict = field(default_factory=dict)
    coding: dict[str, list[str]] | None = None  # as in Model
    columns: list[str] | None = None
    statistics: dict | None = None  # for "solve": the exact fit's table (LogitResult.to_dict)
    source: str | None = field(default=None, compare=False)  # as in Model

    def __post_init__(self):
        self.coefficients = np.asarray(self.coefficients, dtype=np.float64)
        self.intercepts = np.asarray(self.intercepts, dtype=np.float64)

    def predict_proba(self, X, *, first_row: int = 1) -> np.ndarray:
        X = _checked(X, self.features)
        with np.errstate(over="ignore", invalid="ignore"):  # refused below, with the row, not warned of
            z = X @ self.coefficients.T + self.intercepts  # (n, q) logits
        _check_finite(self.source, X, z, "the class scores for row {row} overflow", first_row)
        z = np.exp(z - z.max(axis=1, keepdims=True))  # stable: the largest is exp(0)
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, X) -> list[str]:
        return [self.classes[k] for k in self.predict_proba(X).argmax(axis=1)]

    def prediction_columns(self, X, *, first_row: int = 1) -> dict[str, object]:
        """What ``linearnet predict`` writes: the predicted class, then each class's probability ``p_<class>``."""
        proba = self.predict_proba(X, first_row=first_row)
        columns: dict[str, object] = {_prediction_name(self.target): [self.classes[k] for k in proba.argmax(axis=1)]}
        columns.update({f"p_{c}": proba[:, k] for k, c in enumerate(self.classes)})
        return columns

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": 2 if self.coding else 1,
            "linearnet_version": __version__,
            "kind": "softmax_regression",
            "target": self.target,
            "features": list(self.features),
            "classes": list(self.classes),
            "coefficients": self.coefficients.tolist(),
            "intercepts": self.intercepts.tolist(),
            "training": self.training,
            **({"statistics": self.statistics} if self.statistics is not None else {}),
            **_coding_fields(self),
        }


def _coding_fields(model: Model | SoftmaxModel) -> dict:
    fields: dict = {"columns": list(model.columns or []), "coding": model.coding} if model.coding else {}
    formula = getattr(model, "formula", None)
    if formula:
        fields.update({"columns": list(model.columns or []), "coding": model.coding or {}, "formula": formula})
        factors = getattr(model, "factors", None)
        if factors is not None:  # the levels its categorical terms were coded with, the state of its transforms
            fields["factors"] = {name: v for name, v in factors.items() if not is_transform_state(v)}
            if transforms := {name: v for name, v in factors.items() if is_transform_state(v)}:
                fields["transforms"] = transforms
    return fields


def _checked(X, features: list[str]) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(features):
        raise ValueError(
            f"X must have shape (n, {len(features)}) for the features {', '.join(features)}, got {X.shape}"
        )
    return X


def _check_finite(source: str | None, X: np.ndarray, values: np.ndarray, what: str, first_row: int = 1) -> None:
    """Refuse values computed from the rows of ``X`` that are not finite, naming the model and the first row
    (X's rows are numbered from ``first_row``)."""
    bad = ~np.isfinite(values) if values.ndim == 1 else ~np.isfinite(values).all(axis=1)
    if not bad.any():
        return
    rows = np.flatnonzero(bad)
    row = int(rows[0]) + first_row
    where = source or "the model"
    if not np.isfinite(X[rows[0]]).all():
        raise ValueError(f"{where}: row {row} of the data holds a value that is not a finite number")
    raise ValueError(
        f"{where}: {what.format(row=row)} float64 ({len(rows)} of the {len(values)} rows read with it do): "
        f"the model's coefficients are too large for these data"
    )


def _prediction_name(target: str | None) -> str:
    return f"{target}_predicted" if target else "prediction"


def save_model(model: Model | SoftmaxModel, path) -> None:
    """Write ``model`` to ``path`` atomically: an existing file is replaced whole or not at all."""
    text = json.dumps(model.to_dict(), indent=2, allow_nan=False) + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(path, write)


class _Refused(ValueError):
    """Why a model file is refused while it is read (the file is named by :func:`bad`)."""


MAX_MODEL_BYTES = 1 << 30  # a model file larger is refused unread: reading it would take memory without end


def _read_bounded(path) -> str:
    """The text of the model file at ``path``, read a block at a time: refused once it passes
    :data:`MAX_MODEL_BYTES` (a pipe that never ends) or when it cannot begin JSON (``/dev/zero``)."""
    blocks: list[bytes] = []
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            start = block.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
            if not blocks and start and start not in b'{["-0123456789tfnNI':  # /dev/zero, a binary file
                raise _Refused(f"not JSON (it begins with the byte {start!r})")
            size += len(block)
            if size > MAX_MODEL_BYTES:
                raise _Refused(f"larger than {MAX_MODEL_BYTES >> 20:,} MB, which no model file is")
            blocks.append(block)
    return b"".join(blocks).decode("utf-8")


def _distinct_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object's keys and values, refusing a key written twice (JSON readers would keep the last)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        name = twice([key for key, _ in pairs])
        raise _Refused(f"the key {shown(name)} is written twice in one object")
    return out


def _not_a_number(word: str):
    raise _Refused(f"{word} is not a JSON number (a model file holds finite numbers)")


def load_model(path) -> Model | SoftmaxModel:
    """Read a model file written by :func:`save_model`, checking every field."""
    try:
        data = json.loads(_read_bounded(path), object_pairs_hook=_distinct_keys, parse_constant=_not_a_number)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such model file") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: is a directory, expected a model file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise bad(path, f"not JSON ({exc})") from None
    except _Refused as exc:
        raise bad(path, exc) from None
    except RecursionError:
        raise bad(path, "nested too deeply") from None
    except ValueError:  # Python's limit on the digits of a whole number (its message advises changing it)
        raise bad(path, f"a number is written with more than {sys.get_int_max_str_digits()} digits") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise bad(path, f'expected "format": "{FORMAT}"')
    try:
        model = _from_dict(path, data)
    except OverflowError:
        raise bad(path, "a number is too large for a float") from None
    model.source = str(path)
    return model


def _from_dict(path, data) -> Model | SoftmaxModel:
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise bad(path, f"format_version must be a whole number >= 1, got {version!r}")
    if version > FORMAT_VERSION:
        raise bad(
            path, f"format_version {version} is newer than this linearnet reads ({FORMAT_VERSION}); upgrade linearnet"
        )
    kind = data.get("kind")
    if kind not in ("linear_regression", "softmax_regression"):
        raise bad(path, f"kind {kind!r} is not supported (linear_regression, softmax_regression)")
    features = data.get("features")
    alone = kind == "linear_regression" and data.get("fit_intercept", True) is True  # may hold the intercept alone
    if not isinstance(features, list) or not (features or alone) or not all(isinstance(f, str) for f in features):
        raise bad(path, "features must be a non-empty list of column names")
    if (name := twice(features)) is not None:
        raise bad(path, f"features must be distinct: {name!r} is listed twice")
    coding = load_coding(path, data, features)
    load_records(path, data, len(features))
    if kind == "softmax_regression":
        return _load_softmax(path, data, features, coding)
    coef = data.get("coefficients")
    if not finite_numbers(coef, len(features)):
        raise bad(path, f"coefficients must be {len(features)} finite numbers, one per feature")
    intercept = data.get("intercept")
    if not finite_numbers([intercept], 1):
        raise bad(path, "intercept must be a finite number")
    target = data.get("target")
    if target is not None and not isinstance(target, str):
        raise bad(path, "target must be a column name or null")
    if not isinstance(data.get("fit_intercept", True), bool):
        raise bad(path, "fit_intercept must be true or false")
    uncertainty = _load_uncertainty(path, data, len(features) + int(data.get("fit_intercept", True)))
    return Model(
        features=features,
        coefficients=np.array(coef, dtype=np.float64),
        intercept=float(intercept),
        fit_intercept=data.get("fit_intercept", True),
        target=target,
        standardization=data.get("standardization"),
        training=data.get("training") or {},
        statistics=data.get("statistics"),
        uncertainty=uncertainty,
        **coding,
    )


def _load_uncertainty(path, data, k: int) -> Uncertainty | None:
    """The "uncertainty" of an exact fit with ``k`` parameters (format 3), or None without one."""
    if "uncertainty" not in data:
        return None
    try:
        return Uncertainty.from_dict(data["uncertainty"], k)
    except ValueError as exc:
        raise bad(path, exc) from None


def _load_softmax(path, data, features, coding: dict) -> SoftmaxModel:
    classes = data.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise bad(path, "classes must be a list of at least two class names")
    if (name := twice(classes)) is not None:
        raise bad(path, f"classes must be distinct: {name!r} is listed twice")
    coef = data.get("coefficients")
    if (
        not isinstance(coef, list)
        or len(coef) != len(classes)
        or not all(finite_numbers(row, len(features)) for row in coef)
    ):
        raise bad(path, f"coefficients must be {len(classes)} rows of {len(features)} finite numbers")
    if not finite_numbers(data.get("intercepts"), len(classes)):
        raise bad(path, f"intercepts must be {len(classes)} finite numbers, one per class")
    target = data.get("target")
    if target is not None and not isinstance(target, str):
        raise bad(path, "target must be a column name or null")
    predicted = _prediction_name(target)  # predict writes it, then p_<class> for each class
    if predicted.startswith("p_") and predicted[2:] in classes:
        raise bad(
            path,
            f"class {predicted[2:]!r} would write its probability {predicted} over the predicted class's column "
            f"(target {target!r}); rename the class or the target",
        )
    return SoftmaxModel(
        features=features,
        classes=classes,
        coefficients=np.asarray(coef),
        intercepts=np.asarray(data["intercepts"]),
        target=target,
        training=data.get("training") or {},
        statistics=data.get("statistics") if isinstance(data.get("statistics"), dict) else None,
        **coding,
    )


def __getattr__(name: str):
    """The record builders, which live in :mod:`linearnet.records` (it imports this module), still import
    from here: ``from linearnet.modelfile import linear_model``."""
    if name in ("linear_model", "sgd_model", "softmax_model", "logit_model"):
        from . import records

        return getattr(records, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

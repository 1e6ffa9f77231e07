"""scikit-learn estimators over linearnet's exact solve and its one training loop.

    >>> from linearnet.sklearn import LinearRegression, SGDRegressor, SoftmaxRegression

- :class:`LinearRegression`: :func:`linearnet.leastsq.solve`, with statsmodels' statistics
  (``bse_``, ``pvalues_``, ``conf_int()``, ``summary()``: the table ``linearnet solve`` prints).
- :class:`SGDRegressor` and :class:`SoftmaxRegression`: minibatch SGD by :func:`linearnet.train.fit`
  with any engine (``impl``), stopped as scikit-learn's SGD stops: when the loss (the training
  loss, or the validation loss with ``early_stopping=True``) has not improved by more than
  ``tol``·|best| for ``n_iter_no_change`` epochs. Features are standardized for training by
  default and the coefficients reported in the features' original units.

They follow scikit-learn's conventions (parameters stored by ``__init__``, checked by ``fit``;
learned attributes end in ``_``; ``random_state`` fixes every draw), so they work in
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``. ``save(path)`` writes linearnet's model
file, which ``linearnet predict`` reads; ``load(path)`` reads one written by ``linearnet solve``
or ``train --out`` (models with coded text columns or formulas excepted: they need the table).

The wrapper holds no algorithm: it checks input, moves numbers in and out of the core.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import torch
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .config import (
    MAX_EPOCHS,
    PATIENCE,
    SEED_LIMIT,
    TOL,
    VALIDATION_FRACTION,
    TrainConfig,
    check_finite,
    check_float32,
    check_int,
    check_seed,
)
from .leastsq import OLSResult, solve
from .modelfile import Model, SoftmaxModel, linear_model, load_model, save_model
from .presets import data_config
from .training import fit_arrays, fit_classifier
from .training.scaling import Standardization
from .training.stopping import StoppingRule

__all__ = ["LinearRegression", "SGDRegressor", "SoftmaxRegression"]


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


# --- the exact solve ---------------------------------------------------------------------


class LinearRegression(RegressorMixin, BaseEstimator):
    """Ordinary least squares by :func:`linearnet.leastsq.solve`, with its statistics.

    Args:
        fit_intercept: fit b (default) or force b = 0.
        allow_rank_deficient: with dependent columns, return the minimum-norm solution (with a
            warning) instead of refusing the data.

    Attributes (after ``fit``): ``coef_`` (p,), ``intercept_``, and, intercept first when fitted,
    ``bse_``, ``tvalues_``, ``pvalues_``; ``rsquared_``, ``rsquared_adj_``, ``sigma_``, ``result_``
    (the :class:`~linearnet.leastsq.OLSResult`).

    Example:
        >>> model = LinearRegression().fit(X, y)
        >>> print(model.summary())
    """

    def __init__(self, *, fit_intercept: bool = True, allow_rank_deficient: bool = False):
        self.fit_intercept = fit_intercept
        self.allow_rank_deficient = allow_rank_deficient

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        n, p = X.shape
        k = p + bool(self.fit_intercept)
        if n < k and not self.allow_rank_deficient:
            raise ValueError(
                f"LinearRegression needs at least {k} samples for {p} feature{'s' * (p != 1)}"
                f"{' and an intercept' if self.fit_intercept else ''}, got {n} sample{'s' * (n != 1)}; "
                f"give more rows, or allow_rank_deficient=True for the minimum-norm solution"
            )
        result = solve(
            X,
            y,
            fit_intercept=bool(self.fit_intercept),
            feature_names=_feature_names(self),
            allow_rank_deficient=bool(self.allow_rank_deficient),
        )
        self._set_result(result)
        return self

    def _set_result(self, result: OLSResult) -> None:
        self.result_ = result
        self.coef_ = np.array(result.coef, dtype=np.float64)
        self.intercept_ = float(result.intercept)
        self.bse_ = result.bse
        self.tvalues_ = result.tvalues
        self.pvalues_ = result.pvalues
        self.rsquared_ = result.r2
        self.rsquared_adj_ = result.adj_r2
        self.sigma_ = result.sigma

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

    def _fitted_result(self) -> OLSResult:
        check_is_fitted(self)
        if not hasattr(self, "result_"):
            raise AttributeError(
                "this LinearRegression was loaded from a model file without statistics (an SGD fit); "
                "fit it to get standard errors, intervals and the summary"
            )
        return self.result_

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """(k, 2) intervals of confidence 1 − alpha for the parameters (intercept first), by Student's t."""
        r = self._fitted_result()
        alpha = check_finite("alpha", alpha, low=0.0, low_inclusive=False)
        if alpha >= 1:
            raise ValueError(f"alpha must be below 1, got {alpha:g}; e.g. 0.05 for 95% intervals")
        q = stats.t.ppf(1 - alpha / 2, r.df_resid) if r.df_resid > 0 else math.nan
        return np.column_stack([r.params - q * r.bse, r.params + q * r.bse])

    def summary(self) -> str:
        """The table ``linearnet solve`` prints: estimates, standard errors, t, p, 95% intervals, R², σ̂."""
        return self._fitted_result().summary()

    def save(self, path, *, target: str | None = None) -> None:
        """Write linearnet's model file (statistics included); ``target`` names the predicted column."""
        save_model(linear_model(self._fitted_result(), target=target), path)

    @classmethod
    def load(cls, path) -> LinearRegression:
        """A fitted estimator from a linear regression model file (``linearnet solve --out``, or
        ``train --out``: an SGD model carries no statistics, so only ``coef_``, ``intercept_`` and
        ``predict`` are there)."""
        model = _load(path, Model)
        assert isinstance(model, Model)
        est = cls(fit_intercept=model.fit_intercept)
        _set_features(est, list(model.features))
        if model.statistics:
            est._set_result(_result_from_statistics(model))
        else:
            est.coef_ = np.array(model.coefficients, dtype=np.float64)
            est.intercept_ = float(model.intercept)
        return est


def _result_from_statistics(model: Model) -> OLSResult:
    """The OLSResult a model file's "statistics" record (OLSResult.to_dict) was written from."""
    s = model.statistics or {}
    rows = ([s["intercept"]] if model.fit_intercept else []) + [s["coefficients"][f] for f in model.features]

    def column(key: str) -> np.ndarray:
        return np.array([math.nan if r[key] is None else r[key] for r in rows], dtype=np.float64)

    def number(key: str) -> float:
        return math.nan if s.get(key) is None else float(s[key])

    intercept_name = "(intercept)" if "intercept" in model.features else "intercept"
    return OLSResult(
        names=([intercept_name] if model.fit_intercept else []) + list(model.features),
        params=column("estimate"),
        bse=column("stderr"),
        tvalues=column("t"),
        pvalues=column("p"),
        conf_int=np.column_stack([column("ci_low"), column("ci_high")]),
        sigma=number("sigma"),
        r2=number("r2"),
        adj_r2=number("adj_r2"),
        n=int(s["n"]),
        rank=int(s["rank"]),
        condition_number=number("condition_number"),
        scaled_condition_number=math.nan,
        fit_intercept=model.fit_intercept,
        method=str(model.training.get("algorithm", "")),
        feature_names=list(model.features),
    )


# --- SGD ---------------------------------------------------------------------------------


class _SGD(BaseEstimator):
    """What SGDRegressor and SoftmaxRegression share: the settings, their checks, and the call of the
    library's fit (:func:`linearnet.training.fit_arrays`, :func:`linearnet.training.fit_classifier`).

    The parameters trained are kept as the library's fit returns them, in standardized units (``_W``
    (d, q), ``_b`` (q,), with ``_scaling``), so that ``partial_fit`` goes on from them; ``coef_`` and
    ``intercept_`` are the same model in the features' own units.
    """

    _model = "linear"
    _W: np.ndarray  # (d, q) as trained
    _b: np.ndarray  # (q,)
    _scaling: Standardization  # what the features were trained on

    def _loss(self) -> str:
        raise NotImplementedError

    def _config(self, n: int, d: int, epochs: int) -> TrainConfig:
        """The settings for n rows of d features: those given, the library's defaults for the rest
        (:func:`linearnet.presets.data_config`, as ``linearnet train --data`` has them)."""
        return data_config(
            model=self._model,
            num_values=n * d,
            num_features=d,
            standardize=bool(self.standardize),
            impl=None if self.impl == "auto" else self.impl,
            lr=self.lr,
            batch_size=self.batch_size,
            epochs=epochs,
            loss=self._loss(),
            weight_decay=self.weight_decay,
        )

    def _check_stopping(self) -> None:
        check_int("max_epochs", self.max_epochs, low=1, hint="e.g. 1000")
        check_int("n_iter_no_change", self.n_iter_no_change, low=1, hint="e.g. 5")
        if self.tol is not None:
            check_finite("tol", self.tol, low=0.0, hint="e.g. 1e-3, or None to run max_epochs")
        fraction = check_finite("validation_fraction", self.validation_fraction, low=0.0, low_inclusive=False)
        if fraction >= 1:
            raise ValueError(f"validation_fraction must be below 1, got {fraction:g}; e.g. 0.1")

    def _seed(self, offset: int = 0) -> int:
        """The torch seed of a fit, or of a partial_fit after ``offset`` rows (each visits its rows in a new order):
        an int random_state is the seed itself (as ``linearnet train --seed`` takes it), None draws one each time."""
        if isinstance(self.random_state, numbers.Integral) and not isinstance(self.random_state, bool):
            seed = check_seed(self.random_state, "random_state")  # the seed of `linearnet train --seed`
            return (seed + offset) % SEED_LIMIT
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        return (seed + offset) % np.iinfo(np.int32).max

    def _fit_rows(self, X: np.ndarray, y: np.ndarray, **kwargs):
        """The library's fit of these rows (keywords as :func:`linearnet.training.fit_arrays` takes them)."""
        raise NotImplementedError

    def _forget(self) -> None:
        """Drop what an earlier fit learned: fit starts afresh."""
        for name in ("_W", "_b", "_scaling", "_settings"):
            self.__dict__.pop(name, None)
        self.t_ = 0

    def _train(self, X: np.ndarray, y: np.ndarray, *, epochs: int, seed: int, stopping: bool) -> None:
        """Train by the library's fit: from the current parameters (a later partial_fit) or from initial weights
        drawn from the seed; ``epochs`` epochs, or fewer when ``stopping`` and the rule says so. Sets n_iter_ and
        converged_, and warns when the rule was not met in time."""
        check_float32(X, "X", fix="rescale it, or use LinearRegression")
        config = self._config(len(X), X.shape[1], epochs)
        rule = None
        if stopping and self.tol is not None:
            rule = StoppingRule.for_model(self._model, self.tol, self.n_iter_no_change)
        going_on = hasattr(self, "_W")
        result = self._fit_rows(
            X,
            y,
            config=config,
            seed=seed,
            standardize=bool(self.standardize),
            stopping=rule,
            validation_fraction=self.validation_fraction if stopping and self.early_stopping else None,
            scaling=self._scaling if going_on else None,
            start=(torch.from_numpy(self._W.astype(np.float32)), torch.from_numpy(self._b.astype(np.float32)))
            if going_on
            else None,
        )
        self._settings = config
        self._scaling = result.scaling
        self._W, self._b = result.trained
        history = result.history
        self.n_iter_ = len(history.losses)
        self.converged_ = bool(result.converged)
        self.loss_curve_ = list(history.losses)
        self._rows = history.rows // max(1, self.n_iter_)
        self.t_ = getattr(self, "t_", 0) + history.rows
        if rule is not None and not rule.met:
            warnings.warn(
                f"{type(self).__name__} stopped at max_epochs={epochs} before the loss stopped improving by more "
                f"than tol={self.tol:g} of its best for {self.n_iter_no_change} epochs; raise max_epochs or lr",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _original_units(self) -> tuple[np.ndarray, np.ndarray]:
        """(W (d, q), b (q,)) in the features' units."""
        return self._scaling.to_data_units(self._W, self._b)

    def _training_record(self) -> dict:
        c = getattr(self, "_settings", None)
        if c is None:  # loaded from a model file: the settings it recorded
            c = self._config(0, self.n_features_in_, max(1, self.n_iter_))
        return {
            "method": "sgd",
            "n": self._rows,
            "standardize": bool(self.standardize),
            "epochs_loss": self.loss_curve_,
            "impl": c.impl,
            "lr": c.lr,
            "batch_size": c.batch_size,
            "epochs": self.n_iter_,
            "weight_decay": c.weight_decay,
            "converged": bool(self.converged_),
            "standardization": {"mean": self._scaling.mean.tolist(), "scale": self._scaling.scale.tolist()},
        }

    def _restore(self, model: Model | SoftmaxModel, W: np.ndarray, b: np.ndarray) -> None:
        """Learned state from a model file: W (d, q), b (q,) in original units, standardization if recorded."""
        _set_features(self, list(model.features))
        record = model.training or {}
        for key in ("impl", "lr", "batch_size", "weight_decay"):
            if key in record:
                setattr(self, key, record[key])
        std = record.get("standardization") or getattr(model, "standardization", None) or {}
        d = len(model.features)
        try:
            mean = np.asarray(std["mean"], dtype=np.float64).reshape(d)
            scale = np.asarray(std["scale"], dtype=np.float64).reshape(d)
        except (TypeError, KeyError, ValueError):  # none recorded (solve), or not usable: the original units
            mean, scale = np.zeros(d), np.ones(d)
        self.standardize = bool(record.get("standardize", bool(std)))
        self._scaling = Standardization(mean, scale)
        self._W, self._b = self._scaling.to_trained_units(W, b)  # so that partial_fit goes on from here
        self.n_iter_ = int(record.get("epochs") or 0)
        self.converged_ = bool(record.get("converged", False))
        self.loss_curve_ = list(record.get("epochs_loss") or [])
        self.t_ = 0
        self._rows = int(record.get("n") or 0)


class SGDRegressor(RegressorMixin, _SGD):
    """Linear regression trained by minibatch SGD in linearnet's training loop.

    Args:
        impl: the engine: scratch (tensors + autograd), concise (torch.nn), fast (compiled), or auto
            (the library's choice for the data: fast from ``config.AUTO_FAST_DATA_VALUES`` values on).
        loss: half_squared ½(ŷ−y)², squared (ŷ−y)², l1 |ŷ−y| or huber.
        lr: the SGD step size; None: the library's, as ``linearnet train --data`` has it (0.03, or
            1/(d + 1) for d standardized features where smaller).
        batch_size: rows per step; None: the library's (10).
        max_epochs: the most passes over the data.
        tol: stop once the loss has not improved by more than tol·|best| for ``n_iter_no_change``
            epochs (None: run ``max_epochs``, no warning).
        n_iter_no_change: epochs without improvement before stopping.
        early_stopping: judge improvement on a held-out ``validation_fraction`` of the rows
            (not trained on) instead of the training loss.
        validation_fraction: the share held out with ``early_stopping``.
        weight_decay: λ, adding λ·w to each step's gradient of the (standardized) weights.
        standardize: train on standardized features (coefficients are reported in original units).
        random_state: an int fixes the initial weights and every epoch's order (the seed of
            ``linearnet train --seed``); None draws them.

    Attributes: ``coef_`` (p,), ``intercept_``, ``n_iter_`` (epochs of the last call),
    ``converged_``, ``loss_curve_`` (the training loss after each epoch).

    Raises :class:`linearnet.train.DivergedError` (an ArithmeticError naming a smaller rate) when
    the loss runs away, as every SGD run in linearnet does.

    Example:
        >>> model = SGDRegressor(random_state=0).fit(X, y)
        >>> model.coef_, model.n_iter_
    """

    def __init__(
        self,
        *,
        impl: str = "auto",
        loss: str = "half_squared",
        lr: float | None = None,
        batch_size: int | None = None,
        max_epochs: int = MAX_EPOCHS,
        tol: float | None = TOL["linear"],
        n_iter_no_change: int = PATIENCE,
        early_stopping: bool = False,
        validation_fraction: float = VALIDATION_FRACTION,
        weight_decay: float = 0.0,
        standardize: bool = True,
        random_state=None,
    ):
        self.impl = impl
        self.loss = loss
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.standardize = standardize
        self.random_state = random_state

    def _loss(self) -> str:
        if self.loss == "cross_entropy":
            raise ValueError("loss 'cross_entropy' is for classes: use SoftmaxRegression")
        return self.loss

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        self._check_stopping()
        self._config(len(X), X.shape[1], self.max_epochs)  # bad settings answered before anything is drawn
        seed = self._seed()
        self._forget()
        self._train(X, _labels(y), epochs=self.max_epochs, seed=seed, stopping=True)
        self._publish(*self._original_units())
        return self

    def partial_fit(self, X, y):
        """One epoch of SGD on these rows, from the parameters learned so far (the first call starts
        them, and standardizes by these rows' means and deviations for every later call)."""
        first = not hasattr(self, "_W")
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=first)
        self._config(len(X), X.shape[1], 1)
        seed = self._seed(0 if first else self.t_)
        self._train(X, _labels(y), epochs=1, seed=seed, stopping=False)
        self._publish(*self._original_units())
        return self

    def _fit_rows(self, X, y, **kwargs):
        return fit_arrays(X, y, **kwargs)

    def _publish(self, W: np.ndarray, b: np.ndarray) -> None:
        """coef_ and intercept_ from W (d, 1) and b (1,) in the features' units."""
        self.coef_ = W[:, 0]
        self.intercept_ = float(b[0])

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X @ self.coef_ + self.intercept_

    def save(self, path, *, target: str | None = None) -> None:
        """Write linearnet's model file, which ``linearnet predict`` reads; ``target`` names the predicted column."""
        check_is_fitted(self)
        record = {**self._training_record(), "loss": self.loss}
        standardization = record.pop("standardization")  # the file has a field of its own for it
        model = Model(
            features=_feature_names(self),
            coefficients=self.coef_,
            intercept=self.intercept_,
            target=target,
            standardization=standardization if self.standardize else None,
            training=record,
        )
        save_model(model, path)

    @classmethod
    def load(cls, path) -> SGDRegressor:
        """A fitted estimator from a linear regression model file (from ``train --out``, ``solve --out``
        or :meth:`save`); ``partial_fit`` goes on from its coefficients."""
        model = _load(path, Model)
        assert isinstance(model, Model)
        est = cls()
        if model.training.get("loss") in ("half_squared", "squared", "l1", "huber"):
            est.loss = model.training["loss"]
        W, b = np.asarray(model.coefficients, dtype=np.float64)[:, None], np.array([model.intercept], dtype=np.float64)
        est._restore(model, W, b)
        est._publish(W, b)  # the file's numbers as they are
        return est


def _labels(y: np.ndarray) -> np.ndarray:
    check_float32(y, "y", fix="rescale it, or use LinearRegression")
    return y


class SoftmaxRegression(ClassifierMixin, _SGD):
    """Softmax regression (multinomial logistic regression) trained by minibatch SGD in linearnet's loop.

    The same settings as :class:`SGDRegressor` (the loss is cross-entropy). Labels may be of any
    type (strings, ints, ...); ``classes_`` holds them sorted. ``coef_`` is (q, p), one row per
    class, and ``intercept_`` (q,), also for two classes; ``decision_function`` gives the logits
    (for two classes, the second's minus the first's, as scikit-learn's binary classifiers do).

    Example:
        >>> model = SoftmaxRegression(random_state=0).fit(X, species)
        >>> model.predict_proba(X[:3])
    """

    _model = "softmax"

    def __init__(
        self,
        *,
        impl: str = "auto",
        lr: float | None = None,
        batch_size: int | None = None,
        max_epochs: int = MAX_EPOCHS,
        tol: float | None = TOL["softmax"],
        n_iter_no_change: int = PATIENCE,
        early_stopping: bool = False,
        validation_fraction: float = VALIDATION_FRACTION,
        weight_decay: float = 0.0,
        standardize: bool = True,
        random_state=None,
    ):
        self.impl = impl
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.weight_decay = weight_decay
        self.standardize = standardize
        self.random_state = random_state

    def _loss(self) -> str:
        return "cross_entropy"

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self._check_stopping()
        self._config(len(X), X.shape[1], self.max_epochs)
        self.classes_ = _classes(np.unique(y))
        seed = self._seed()
        self._forget()
        self._train(X, self._class_numbers(y), epochs=self.max_epochs, seed=seed, stopping=True)
        self._publish(*self._original_units())
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch of SGD on these rows from the parameters learned so far; the first call must list
        every class in ``classes`` (later rows may hold only some of them)."""
        first = not hasattr(self, "_W")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit, e.g. classes=np.unique(y)")
            self.classes_ = _classes(np.unique(classes))
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes {np.unique(classes)} differ from those of the first call, {self.classes_}")
        self._config(len(X), X.shape[1], 1)
        seed = self._seed(0 if first else self.t_)
        self._train(X, self._class_numbers(y), epochs=1, seed=seed, stopping=False)
        self._publish(*self._original_units())
        return self

    def _fit_rows(self, X, y, **kwargs):
        return fit_classifier(X, y, num_classes=len(self.classes_), **kwargs)

    def _class_numbers(self, y: np.ndarray) -> np.ndarray:
        known = np.isin(y, self.classes_)
        if not known.all():
            raise ValueError(
                f"y holds the class {y[~known].tolist()[0]!r}, not among the classes {self.classes_.tolist()} "
                f"given to the first partial_fit"
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _publish(self, W: np.ndarray, b: np.ndarray) -> None:
        """coef_ (q, p) and intercept_ (q,) from W (d, q) and b (q,) in the features' units."""
        self.coef_ = W.T.copy()  # (q, p)
        self.intercept_ = b

    def decision_function(self, X):
        """The logits XWᵀ + b (n, q); for two classes the second's minus the first's (n,)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = X @ self.coef_.T + self.intercept_
        return z[:, 1] - z[:, 0] if len(self.classes_) == 2 else z

    def predict_proba(self, X):
        """P(class | x) = softmax(XWᵀ + b), columns in the order of ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = X @ self.coef_.T + self.intercept_
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = X @ self.coef_.T + self.intercept_
        return self.classes_[z.argmax(axis=1)]

    def save(self, path, *, target: str | None = None) -> None:
        """Write linearnet's model file; the classes are written as text (their own values are kept
        in the training record, so that :meth:`load` gives them back as they were)."""
        check_is_fitted(self)
        names = [str(c) for c in self.classes_]  # distinct: labels of one type print apart
        record = self._training_record()
        labels = self.classes_.tolist()
        if all(isinstance(c, (str, int, float)) for c in labels):
            record["class_labels"] = labels
        model = SoftmaxModel(
            features=_feature_names(self),
            classes=names,
            coefficients=self.coef_,
            intercepts=self.intercept_,
            target=target,
            training=record,
        )
        save_model(model, path)

    @classmethod
    def load(cls, path) -> SoftmaxRegression:
        """A fitted estimator from a softmax regression model file (``train --out`` or :meth:`save`)."""
        model = _load(path, SoftmaxModel)
        assert isinstance(model, SoftmaxModel)
        est = cls()
        labels = model.training.get("class_labels")
        if isinstance(labels, list) and [str(c) for c in labels] == model.classes:
            est.classes_ = np.asarray(labels)
        else:
            est.classes_ = np.asarray(model.classes)
        W, b = model.coefficients.T.copy(), model.intercepts.copy()
        est._restore(model, W, b)
        est._publish(W, b)  # the file's numbers as they are
        return est


def _classes(classes: np.ndarray) -> np.ndarray:
    if len(classes) < 2:
        raise ValueError(
            f"SoftmaxRegression needs at least two classes, got 1 class ({classes[0]!r}); "
            f"classification needs examples of two or more"
        )
    return classes

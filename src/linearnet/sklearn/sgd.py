"""SGDRegressor, and what it shares with SoftmaxRegression: scikit-learn's faces over linearnet's SGD fits
(:func:`linearnet.training.fit_arrays`, :func:`linearnet.training.fit_classifier`). They check settings and
input, convert, and call the library's fit: the training, its defaults and its stopping rule are the
library's (:func:`linearnet.presets.data_config`), those of ``linearnet train --data``."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import replace

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..config import (
    LABEL_MIN,
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
from ..modelfile import Model, SoftmaxModel, save_model
from ..presets import data_config
from ..training import fit_arrays
from ..training.scaling import Standardization
from ..training.stopping import StoppingRule, rows_held_out
from .common import _check_flags, _feature_names, _load, _loading, _set_features

__all__ = ["SGDRegressor"]


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
    _settings: TrainConfig  # the settings of the last fit

    def _loss(self) -> str:
        raise NotImplementedError

    def _config(self, n: int, d: int, epochs: int, weighted: bool = False) -> TrainConfig:
        """The settings for n rows of d features (``weighted`` or not): those given, the library's defaults
        for the rest (:func:`linearnet.presets.data_config`, as ``linearnet train --data`` has them)."""
        _check_flags(self, "standardize", "early_stopping")
        return data_config(
            model=self._model,
            num_values=n * d,
            num_features=d,
            standardize=bool(self.standardize),
            weighted=weighted,
            impl=None if self.impl == "auto" else self.impl,
            lr=self.lr,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
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

    def _train(
        self, X: np.ndarray, y: np.ndarray, *, epochs: int, seed: int, stopping: bool, sample_weight=None
    ) -> None:
        """Train by the library's fit: from the current parameters (a later partial_fit) or from initial weights
        drawn from the seed; ``epochs`` epochs, or fewer when ``stopping`` and the rule says so; each row's loss
        times its ``sample_weight``, given. Sets n_iter_ and converged_, and warns when the rule was not met in
        time."""
        check_float32(X, "X", fix="rescale it, or use LinearRegression")
        going_on = hasattr(self, "_W")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if (sample_weight == 1).all():  # the unweighted fit, step for step
                sample_weight = None
        config = self._config(len(X), X.shape[1], epochs, weighted=sample_weight is not None)
        if going_on and self.impl == "auto" and hasattr(self, "_settings"):  # a later partial_fit: the same engine
            config = replace(config, impl=self._settings.impl)
        rule = None
        if stopping and self.tol is not None:
            rule = StoppingRule.for_model(self._model, self.tol, self.n_iter_no_change)
        if stopping and self.early_stopping:
            if len(X) - rows_held_out(len(X), self.validation_fraction) < 1:
                raise ValueError(
                    f"validation_fraction {self.validation_fraction:g} of {len(X)} samples leaves none to train on; "
                    f"give more rows or early_stopping=False"
                )
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
            weights=sample_weight,
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
            "shuffle": c.shuffle,
            "epochs": self.n_iter_,
            "weight_decay": c.weight_decay,
            "converged": bool(self.converged_),
            "standardization": {"mean": self._scaling.mean.tolist(), "scale": self._scaling.scale.tolist()},
        }

    def _restore(self, model: Model | SoftmaxModel, W: np.ndarray, b: np.ndarray) -> None:
        """Learned state from a model file: W (d, q), b (q,) in original units, standardization if recorded."""
        _set_features(self, list(model.features))
        record = model.training or {}
        for key in ("impl", "lr", "batch_size", "shuffle", "weight_decay"):
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
        shuffle: each epoch's order: ``"rows"``, one random permutation of all rows (the book's), or
            ``"blocks"``, blocks of a few hundred kilobytes of rows in a random order, each block's rows
            shuffled within it (:func:`linearnet.batches.block_order`): faster on large data, batches
            drawn from within a block. A string, not scikit-learn's ``shuffle=True``: rows are always
            shuffled.
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
        shuffle: str = "rows",
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
        self.shuffle = shuffle
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

    def fit(self, X, y, sample_weight=None):
        """Train from initial weights drawn from the seed; given ``sample_weight`` (n,) ≥ 0, each row's loss is
        multiplied by its weight, as scikit-learn's SGDRegressor does."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        self._check_stopping()
        self._config(len(X), X.shape[1], self.max_epochs)  # bad settings answered before anything is drawn
        seed = self._seed()
        self._forget()
        self._train(X, _labels(y), epochs=self.max_epochs, seed=seed, stopping=True, sample_weight=sample_weight)
        self._publish(*self._original_units())
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of SGD on these rows (each row's loss times its ``sample_weight``, given), from the
        parameters learned so far (the first call starts them, and standardizes by these rows' means and
        deviations for every later call)."""
        first = not hasattr(self, "_W")
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=first)
        self._config(len(X), X.shape[1], 1)
        seed = self._seed(0 if first else self.t_)
        self._train(X, _labels(y), epochs=1, seed=seed, stopping=False, sample_weight=sample_weight)
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
    @_loading
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
    check_float32(y, "y", fix="rescale it, or use LinearRegression", smallest=LABEL_MIN)
    return y

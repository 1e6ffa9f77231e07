"""LogisticRegression: scikit-learn's classifier face over the exact multinomial logit
(:func:`linearnet.logit.solve_logit`)."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..logit import LogitResult, solve_logit
from ..modelfile import SoftmaxModel, save_model
from .common import _check_flags, _feature_names, _load, _loading, _set_features

__all__ = ["LogisticRegression", "SeparationWarning"]


class SeparationWarning(ConvergenceWarning):
    """The classes are separated: the likelihood has no finite maximum, the estimates are where the fit
    stopped and carry no standard errors. A :class:`~sklearn.exceptions.ConvergenceWarning` (so a filter
    on those covers it too), hence a ``UserWarning``."""


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression (two classes) and the multinomial logit (more), unpenalized, solved to the
    optimum of the likelihood by :func:`linearnet.logit.solve_logit` (Newton's method with the exact
    Hessian), with statsmodels' and R's statistics in ``result_`` and ``summary()``.

    What scikit-learn's ``LogisticRegression(C=np.inf)`` estimates, found exactly, and checked: with
    separated classes (no finite optimum) ``fit`` warns (:class:`SeparationWarning`, saying which class
    and columns) rather than pretending to have converged; with dependent columns it refuses the data,
    naming them, unless ``allow_rank_deficient``.

    Args:
        fit_intercept: fit an intercept per class (default) or none.
        allow_rank_deficient: leave out each column that is a linear combination of those before it (as R's
            ``glm``; its coefficients are NaN in ``result_`` and 0 in ``coef_``, so predictions ignore it)
            instead of refusing the data.
        reference: the class whose log-odds the others are against (a value of ``classes_``); default the
            first of ``classes_``. It orders ``result_`` and ``summary()``; the probabilities, and the binary
            ``coef_``, do not depend on it.
        max_iter: Newton iterations at most (each one pass over the data; 6–10 are usual).

    Attributes (after ``fit``): ``classes_`` (``np.unique(y)``, as scikit-learn's); ``coef_`` and
    ``intercept_`` in scikit-learn's layout: for two classes (1, d) and (1,), the log-odds of
    ``classes_[1]`` against ``classes_[0]``; for K > 2 classes (K, d) and (K,), a row per class, the log-odds
    against the reference class, whose row is zeros. scikit-learn's multinomial rows sum to zero over the
    classes instead; the two differ by the same vector in every row, which softmax cancels: the
    probabilities are the same. ``n_iter_`` (1,) as scikit-learn's; ``converged_``; ``result_`` (the
    :class:`~linearnet.logit.LogitResult`: ``params``, ``bse``, ``pvalues``, ``conf_int``, ``llf``, ...).

    Example:
        >>> model = LogisticRegression().fit(X, species)
        >>> print(model.summary())
        >>> model.predict_proba(X[:3])
    """

    def __init__(
        self,
        *,
        fit_intercept: bool = True,
        allow_rank_deficient: bool = False,
        reference=None,
        max_iter: int = 100,
    ):
        self.fit_intercept = fit_intercept
        self.allow_rank_deficient = allow_rank_deficient
        self.reference = reference
        self.max_iter = max_iter

    def fit(self, X, y):
        """Solve to the optimum; labels of any type (strings, numbers, booleans), features from numpy or
        pandas (the DataFrame's column names kept in ``feature_names_in_`` and the summary)."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"LogisticRegression needs at least two classes, got 1 class ({classes[0]!r}); "
                f"classification needs examples of two or more"
            )
        ref = self._reference_index(classes)
        names = _class_names(classes)
        result = solve_logit(
            X,
            np.searchsorted(classes, y).astype(np.int64),
            classes=names,
            feature_names=_feature_names(self),
            fit_intercept=bool(self.fit_intercept),
            allow_rank_deficient=bool(self.allow_rank_deficient),
            reference=names[ref],
            max_iter=int(self.max_iter),
        )
        self.classes_ = classes
        self._set_result(result)
        _warn(result)
        return self

    def _check_params(self) -> None:
        _check_flags(self, "fit_intercept", "allow_rank_deficient")
        m = self.max_iter
        if not isinstance(m, numbers.Integral) or isinstance(m, (bool, np.bool_)):
            raise TypeError(f"max_iter must be a whole number ≥ 1, got {m!r} ({type(m).__name__})")
        if m < 1:
            raise ValueError(f"max_iter must be ≥ 1, got {m}")

    def _reference_index(self, classes: np.ndarray) -> int:
        if self.reference is None:
            return 0
        found = [k for k, c in enumerate(classes.tolist()) if c == self.reference]
        if not found:  # "1" for the class 1, as a command line would name it
            found = [k for k, c in enumerate(classes.tolist()) if str(c) == str(self.reference)]
        if len(found) != 1:
            raise ValueError(
                f"reference {self.reference!r} is not one of the classes {classes.tolist()}; "
                f"give one of them, or None for the first"
            )
        return found[0]

    def _set_result(self, result: LogitResult) -> None:
        """coef_, intercept_ in scikit-learn's layout from the result's log-odds against its reference."""
        self.result_ = result
        coef = np.nan_to_num(result.coef, nan=0.0)  # a column left out counts 0, as R's predict does
        intercept = np.asarray(result.intercept, dtype=np.float64)
        ref = result.classes.index(result.reference)
        W = np.insert(coef, ref, 0.0, axis=0)  # (K, d): the reference's row zeros
        b = np.insert(intercept, ref, 0.0)
        self._publish(W, b)
        self.n_iter_ = np.array([result.iterations], dtype=np.int32)
        self.converged_ = bool(result.converged)

    def _publish(self, W: np.ndarray, b: np.ndarray) -> None:
        """coef_, intercept_ from a row of logits per class: two classes as the second's minus the first's."""
        if len(W) == 2:
            self.coef_ = (W[1] - W[0])[None, :]  # (1, d)
            self.intercept_ = np.array([b[1] - b[0]])  # (1,)
        else:
            self.coef_ = W.copy()  # (K, d)
            self.intercept_ = b.copy()  # (K,)

    def decision_function(self, X):
        """The log-odds X·coef_ᵀ + intercept_: (n,) for two classes (of ``classes_[1]``), else (n, K)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = X @ self.coef_.T + self.intercept_
        return z[:, 0] if len(self.classes_) == 2 else z

    def _logits(self, X) -> np.ndarray:
        z = self.decision_function(X)
        return np.column_stack([np.zeros_like(z), z]) if z.ndim == 1 else z  # (n, K)

    def predict_proba(self, X):
        """P(class | x): (n, K), columns in the order of ``classes_``."""
        return softmax(self._logits(X), axis=1)

    def predict_log_proba(self, X):
        """log P(class | x), computed without underflow to log(0) where a probability is tiny."""
        return log_softmax(self._logits(X), axis=1)

    def predict(self, X):
        """The most probable class (for two classes, ``classes_[1]`` where its log-odds are > 0)."""
        best = self._logits(X).argmax(axis=1)
        return self.classes_[best]

    def _fitted_result(self) -> LogitResult:
        check_is_fitted(self)
        if not hasattr(self, "result_"):
            raise AttributeError(
                "this LogisticRegression was loaded from a model file, which keeps no statistics; "
                "fit it to get standard errors, the likelihood and the summary"
            )
        return self.result_

    def summary(self) -> str:
        """The tables of R's ``summary(multinom)`` / statsmodels' ``MNLogit``: per non-reference class the
        estimates, standard errors, z, p and 95% intervals; ℓ, deviance, AIC, BIC, the LR test, pseudo-R²."""
        return self._fitted_result().summary()

    def save(self, path, *, target: str | None = None) -> None:
        """Write linearnet's softmax model file (a row of logits per class, the reference's zeros), which
        ``linearnet predict`` reads; the classes' own values are kept for :meth:`load`."""
        check_is_fitted(self)
        W, b = self._rows()
        labels = self.classes_.tolist()
        r = getattr(self, "result_", None)
        record: dict = {"method": "solve", "n_iter": int(self.n_iter_[0]), "converged": bool(self.converged_)}
        if r is not None:
            record.update(n=r.n, reference=r.reference, loglik=r.llf)
        if all(isinstance(c, (str, int, float)) for c in labels):
            record["class_labels"] = labels
        model = SoftmaxModel(
            features=_feature_names(self),
            classes=_class_names(self.classes_),
            coefficients=W,
            intercepts=b,
            target=target,
            training=record,
            statistics=None if r is None else r.to_dict(),
        )
        save_model(model, path)

    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        """A row of logits per class (K, d), (K,): for two classes the first's zeros."""
        if len(self.classes_) == 2:
            return np.vstack([np.zeros_like(self.coef_), self.coef_]), np.r_[0.0, self.intercept_]
        return self.coef_, self.intercept_

    @classmethod
    @_loading
    def load(cls, path) -> LogisticRegression:
        """A fitted estimator from a softmax model file (:meth:`save`, or ``linearnet train``'s): ``coef_``,
        ``intercept_`` and the predictions; no ``result_`` (the file keeps the statistics' table, as
        ``model.statistics`` of :func:`linearnet.modelfile.load_model`, not the fit)."""
        model = _load(path, SoftmaxModel)
        assert isinstance(model, SoftmaxModel)
        record = model.training or {}
        labels = record.get("class_labels")
        est = cls()
        if isinstance(labels, list) and [str(c) for c in labels] == model.classes:
            est.classes_ = np.asarray(labels)
        else:
            est.classes_ = np.asarray(model.classes)
        _set_features(est, list(model.features))
        W, b = model.coefficients, model.intercepts
        if len(W) > 2:  # against the reference class the file names (else the first), as the fit gave them
            ref = record.get("reference")
            r = model.classes.index(ref) if ref in model.classes else 0
            W, b = W - W[r], b - b[r]
            if r:
                est.reference = est.classes_[r]
        est._publish(W, b)
        est.n_iter_ = np.array([int(record.get("n_iter", record.get("epochs", 0)) or 0)], dtype=np.int32)
        est.converged_ = bool(record.get("converged", True))
        return est


def _class_names(classes: np.ndarray) -> list[str]:
    """The classes as text (how the result and model files name them), distinct."""
    names = [str(c) for c in classes.tolist()]
    return names if len(set(names)) == len(names) else [repr(c) for c in classes.tolist()]


def _warn(result: LogitResult) -> None:
    if result.separation:
        warnings.warn(f"no finite optimum: {result.separation}", SeparationWarning, stacklevel=3)
    elif not result.converged:
        warnings.warn(
            f"not converged in {result.iterations} iterations (max_iter); raise max_iter",
            ConvergenceWarning,
            stacklevel=3,
        )
    if result.dropped:
        warnings.warn(result.notes[0], UserWarning, stacklevel=3)

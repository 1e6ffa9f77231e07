"""SoftmaxRegression: scikit-learn's classifier face over :func:`linearnet.training.fit_classifier`."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..config import MAX_EPOCHS, PATIENCE, TOL, VALIDATION_FRACTION
from ..modelfile import SoftmaxModel, save_model
from ..training import fit_classifier
from .common import _feature_names, _load, _loading
from .sgd import _SGD

__all__ = ["SoftmaxRegression"]


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
        shuffle: str = "rows",
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
        return "cross_entropy"

    def fit(self, X, y, sample_weight=None):
        """Train from initial weights drawn from the seed; given ``sample_weight`` (n,) ≥ 0, each row's
        cross-entropy is multiplied by its weight (trained by the scratch engine under impl="auto")."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self._check_stopping()
        self._config(len(X), X.shape[1], self.max_epochs)
        self.classes_ = _classes(np.unique(y))
        seed = self._seed()
        self._forget()
        self._train(
            X, self._class_numbers(y), epochs=self.max_epochs, seed=seed, stopping=True, sample_weight=sample_weight
        )
        self._publish(*self._original_units())
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of SGD on these rows (each row's loss times its ``sample_weight``, given) from the
        parameters learned so far; the first call must list every class in ``classes`` (later rows may hold
        only some of them)."""
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
        self._train(X, self._class_numbers(y), epochs=1, seed=seed, stopping=False, sample_weight=sample_weight)
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
    @_loading
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

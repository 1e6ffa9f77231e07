"""LinearRegression: scikit-learn's face over linearnet's exact solve (:func:`linearnet.leastsq.solve`)."""

from __future__ import annotations

import math

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import _check_sample_weight, check_consistent_length, check_is_fitted, validate_data

from ..config import check_finite
from ..distributions import t_ppf
from ..leastsq import OLSResult, solve
from ..leastsq.problem import parameter_names
from ..leastsq.result import likelihood
from ..modelfile import Model, save_model
from ..records import linear_model
from .common import _check_flags, _feature_names, _load, _loading, _set_features

__all__ = ["LinearRegression"]


class LinearRegression(RegressorMixin, BaseEstimator):
    """Ordinary least squares by :func:`linearnet.leastsq.solve`, with its statistics.

    Args:
        fit_intercept: fit b (default) or force b = 0.
        allow_rank_deficient: with dependent columns, return the minimum-norm solution (with a
            warning) instead of refusing the data.
        cov_type: the standard errors, t, p, intervals and F: "classical" (default),
            heteroskedasticity-consistent "HC0", "HC1", "HC2", "HC3", or "cluster"-robust with the
            clusters given to ``fit(X, y, groups=...)`` (metadata, as scikit-learn passes ``groups``:
            ``set_fit_request(groups=True)`` routes them through a pipeline), as R's ``sandwich``.

    Attributes (after ``fit``): ``coef_`` (p,), ``intercept_``, and, intercept first when fitted,
    ``bse_``, ``tvalues_``, ``pvalues_``; ``rsquared_``, ``rsquared_adj_``, ``sigma_``, ``result_``
    (the :class:`~linearnet.leastsq.OLSResult`).

    Example:
        >>> model = LinearRegression().fit(X, y)
        >>> print(model.summary())
        >>> LinearRegression(cov_type="cluster").fit(X, y, groups=firm).bse_
    """

    def __init__(self, *, fit_intercept: bool = True, allow_rank_deficient: bool = False, cov_type: str = "classical"):
        self.fit_intercept = fit_intercept
        self.allow_rank_deficient = allow_rank_deficient
        self.cov_type = cov_type

    def fit(self, X, y, sample_weight=None, groups=None):
        """Solve; given ``sample_weight`` (n,) ≥ 0, weighted least squares as R's ``lm(weights=)`` (rows of
        weight 0 left out of n and the residual degrees of freedom); ``groups``: the cluster of each sample
        (numbers or text), for ``cov_type="cluster"``."""
        _check_flags(self, "fit_intercept", "allow_rank_deficient")
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        if groups is not None:
            check_consistent_length(X, groups)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
            if not sample_weight.any():
                raise ValueError("sample_weight is zero for every sample: give at least one non-zero weight")
        n, p = X.shape
        if sample_weight is not None:
            n = int((sample_weight > 0).sum())  # rows of weight 0 do not count, as in R
        k = p + bool(self.fit_intercept)
        if n < k and not self.allow_rank_deficient:
            raise ValueError(
                f"LinearRegression needs at least {k} samples for {p} feature{'s' * (p != 1)}"
                f"{' and an intercept' if self.fit_intercept else ''}, got {n} sample{'s' * (n != 1)}"
                f"{' of positive weight' if sample_weight is not None else ''}; "
                f"give more rows, or allow_rank_deficient=True for the minimum-norm solution"
            )
        result = solve(
            X,
            y,
            fit_intercept=bool(self.fit_intercept),
            feature_names=_feature_names(self),
            allow_rank_deficient=bool(self.allow_rank_deficient),
            cov_type=self.cov_type,
            groups=groups,
            weights=sample_weight,
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
        q = t_ppf(1 - alpha / 2, r.df_resid) if r.df_resid > 0 else math.nan
        return np.column_stack([r.params - q * r.bse, r.params + q * r.bse])

    def summary(self) -> str:
        """The table ``linearnet solve`` prints: estimates, standard errors, t, p, 95% intervals, R², σ̂."""
        return self._fitted_result().summary()

    def save(self, path, *, target: str | None = None) -> None:
        """Write linearnet's model file (statistics included); ``target`` names the predicted column."""
        save_model(linear_model(self._fitted_result(), target=target), path)

    @classmethod
    @_loading
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

    n, rank, sigma, r2 = int(s["n"]), int(s["rank"]), number("sigma"), number("r2")
    rss = number("rss") if "rss" in s else sigma**2 * (n - rank)  # files of linearnet 0.1 kept σ̂ only
    fit = likelihood(n, rank, model.fit_intercept, rss, rss / (1 - r2) if r2 != 1 else math.nan)
    f = s.get("f_statistic") or {}
    if "loglik" in s:  # as written: a weighted fit's differs from what rss alone gives
        fit.update(llf=number("loglik"), aic=number("aic"), bic=number("bic"))
        fit.update(fvalue=float(f.get("value", math.nan)), f_pvalue=float(f.get("p", math.nan)))
    return OLSResult(
        names=parameter_names(model.features, model.fit_intercept),
        params=column("estimate"),
        bse=column("stderr"),
        tvalues=column("t"),
        pvalues=column("p"),
        conf_int=np.column_stack([column("ci_low"), column("ci_high")]),
        sigma=sigma,
        n=n,
        rank=rank,
        condition_number=number("condition_number"),
        scaled_condition_number=math.nan,
        fit_intercept=model.fit_intercept,
        method=str(model.training.get("algorithm", "")),
        feature_names=list(model.features),
        se_type=str(s.get("se_type", "classical")),
        clusters=s.get("clusters"),
        **{**fit, "r2": r2, "adj_r2": number("adj_r2")},
    )

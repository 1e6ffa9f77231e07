"""Intervals of predictions, as R's ``predict.lm(interval=, level=)`` computes them, and what a model file
keeps for them (:class:`Uncertainty`).

For a row x₀ (the intercept's 1 first, when one is fitted), the fit ŷ₀ = x₀ᵀβ and q = x₀ᵀ(AᵀA)⁻¹x₀:

- ``confidence``: ŷ₀ ± t·σ̂·√q, the interval of the mean response at x₀ (V = σ̂²(AᵀA)⁻¹, the classical
  covariance, whatever standard errors the fit's table reported);
- ``prediction``: ŷ₀ ± t·σ̂·√(1 + q), of a new observation at x₀, with weight 1 (a weighted fit's σ̂ is
  that of a row of weight 1: R's default for new rows, ``pred.var = res.var / 1``);

with t the (1 + level)/2 quantile of Student's t on the fit's residual degrees of freedom. q is computed
row by row as ‖Fᵀx₀‖² from the factor F = R⁻¹ of the Gram matrix AᵀA = RᵀR (as R does from its QR),
not from (AᵀA)⁻¹ itself: that matrix, rounded, loses about cond(A)·ε of q, where the factor keeps q to
about √cond(A)·ε.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .modelcheck import finite_numbers

__all__ = ["INTERVALS", "Uncertainty"]

INTERVALS = ("confidence", "prediction")


@dataclass
class Uncertainty:
    """What intervals need of an exact fit: F (k, k) with (AᵀA)⁻¹ = F·Fᵀ (intercept first), σ̂ and the
    residual degrees of freedom."""

    cov_factor: np.ndarray  # (k, k)
    sigma: float
    df_resid: int

    @classmethod
    def of(cls, result) -> Uncertainty | None:
        """The uncertainty of a :class:`~linearnet.leastsq.OLSResult`; None where it has none to give
        (no factor, or no residual degree of freedom: σ̂ is not defined)."""
        factor = getattr(result, "cov_factor", None)
        if factor is None or result.df_resid <= 0 or not math.isfinite(result.sigma):
            return None
        return cls(np.asarray(factor, dtype=np.float64), float(result.sigma), int(result.df_resid))

    def to_dict(self) -> dict:
        return {
            "cov_factor": [[float(v) for v in row] for row in self.cov_factor],
            "sigma": float(self.sigma),
            "df_resid": int(self.df_resid),
        }

    @classmethod
    def from_dict(cls, data, k: int) -> Uncertainty:
        """Read the record of a model with ``k`` parameters (the intercept counted), checking every field;
        a ValueError says which is broken."""
        if not isinstance(data, dict):
            raise ValueError('"uncertainty" must be an object with cov_factor, sigma and df_resid')
        factor = data.get("cov_factor")
        if not (isinstance(factor, list) and len(factor) == k and all(finite_numbers(row, k) for row in factor)):
            raise ValueError(f"uncertainty.cov_factor must be {k} rows of {k} finite numbers, one per parameter")
        sigma, df = data.get("sigma"), data.get("df_resid")
        if not finite_numbers([sigma], 1) or not isinstance(sigma, (int, float)) or sigma < 0:
            raise ValueError("uncertainty.sigma must be a finite number >= 0")
        if isinstance(df, bool) or not isinstance(df, int) or df < 1:
            raise ValueError("uncertainty.df_resid must be a whole number >= 1")
        # F·Fᵀ need not be a float64 matrix (features in units of 1e-170): its diagonal is ≥ 0 whatever F is
        return cls(np.array(factor, dtype=np.float64), float(sigma), df)

    def bounds(
        self, X: np.ndarray, y_hat: np.ndarray, *, fit_intercept: bool, interval: str, level: float = 0.95
    ) -> tuple[np.ndarray, np.ndarray]:
        """The lower and upper bounds of ``interval`` ("confidence" or "prediction") at ``level`` for the rows
        ``X`` (n, p), whose fits are ``y_hat``."""
        from .distributions import t_ppf

        if interval not in INTERVALS:
            raise ValueError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level}")
        F = self.cov_factor
        with np.errstate(over="ignore", invalid="ignore"):  # a bound that overflows is the caller's to refuse
            Z = X @ F[1:] + F[0] if fit_intercept else X @ F  # (n, k): rows x₀ᵀF
            q = np.einsum("ij,ij->i", Z, Z)  # x₀ᵀ(AᵀA)⁻¹x₀
            t = float(t_ppf((1 + level) / 2, self.df_resid))
            half = t * self.sigma * np.sqrt(q + 1.0 if interval == "prediction" else q)
        return y_hat - half, y_hat + half

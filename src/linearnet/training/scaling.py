"""The one standardizer: each feature centred and divided by its standard deviation for training, and
the weights learned on the standardized features brought back to the features' own units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..leastsq import merge_moments

__all__ = ["Standardization", "standard_scale"]


def standard_scale(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's mean and standard deviation, what standardization subtracts and divides by
    (1 for a constant column, which it leaves as it is). Computed on the rows in C order, so that the
    same numbers give the same statistics to the last bit whatever their layout (a DataFrame's are
    column-major, a table's row-major)."""
    X = np.ascontiguousarray(X)
    return X.mean(axis=0), _unit_if_constant(X.std(axis=0))


def _unit_if_constant(scale: np.ndarray) -> np.ndarray:
    return np.where(scale > 0, scale, 1.0)


@dataclass(frozen=True)
class Standardization:
    """x ↦ (x − mean) / scale, feature by feature; ``identity`` when the features are trained as they are."""

    mean: np.ndarray  # (d,)
    scale: np.ndarray  # (d,)
    identity: bool = False

    @classmethod
    def of(cls, X: np.ndarray) -> Standardization:
        """The standardization of the rows X (n, d)."""
        return cls(*standard_scale(X))

    @classmethod
    def from_moments(cls, n: int, mean: np.ndarray, m2: np.ndarray) -> Standardization:
        """From the rows' count, means and sums of squared deviations (:func:`moments`)."""
        return cls(mean, _unit_if_constant(np.sqrt(m2 / n)))

    @classmethod
    def none(cls, d: int) -> Standardization:
        """The features as they are."""
        return cls(np.zeros(d), np.ones(d), identity=True)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """X (n, d) in standardized units."""
        return X if self.identity else (X - self.mean) / self.scale

    def to_data_units(self, W_s: np.ndarray, b_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """W (d, q) and b (q,) in the features' units from W_s and b_s learned on standardized ones:
        W = W_s / scale, b = b_s − Σ W_s·mean / scale (column by column)."""
        W = W_s / self.scale[:, None]
        if W_s.shape[1] > 1:  # classes: summed over the features a column at a time, all columns at once
            return W, b_s - (W_s * (self.mean / self.scale)[:, None]).sum(axis=0)
        return W, np.array([b_s[0] - np.sum(W_s[:, 0] * self.mean / self.scale)])

    def to_trained_units(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The inverse of :meth:`to_data_units`: W_s = W·scale, b_s = b + mean·W."""
        return W * self.scale[:, None], b + self.mean @ W

    def as_record(self) -> dict | None:
        """{"mean": [...], "scale": [...]}, as a model file keeps it (None for the features as they are)."""
        return None if self.identity else {"mean": self.mean.tolist(), "scale": self.scale.tolist()}


def moments(chunks, d: int, check) -> tuple[int, np.ndarray, np.ndarray]:
    """(rows, the features' means, their sums of squared deviations) over the (X, y) chunks of one pass,
    each checked by ``check(X, y)`` first; merged chunk by chunk (Chan et al.)."""
    n, mean, m2 = 0, np.zeros(d), np.zeros(d)
    for X, y in chunks():
        check(X, y)
        part_mean = X.mean(axis=0)
        n, mean, m2 = merge_moments(n, mean, m2, len(X), part_mean, ((X - part_mean) ** 2).sum(axis=0))
    return n, mean, m2


def merge_all(parts, d: int) -> tuple[int, np.ndarray, np.ndarray]:
    """The (rows, means, sums of squared deviations) of several parts' :func:`moments`, merged in order."""
    n, mean, m2 = 0, np.zeros(d), np.zeros(d)
    for part in parts:
        n, mean, m2 = merge_moments(n, mean, m2, *part)
    return n, mean, m2

"""A least-squares problem as the solver sees it: the data checked where they enter, in the units solved
for, with what the first pass over them found; and the messages that refuse one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .passes import DD_WORK, FirstPass, Group, Rows, in_memory, max_abs, pow2, scaled_chunks


def as_arrays(X, y, feature_names):
    """Accept NumPy arrays, torch tensors or a DataFrame; return float64 X (n, p), y (n,), names."""
    X, names = _features(X, feature_names)
    y = _numpy(y)
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_examples, n_features), got shape {X.shape}; use X.reshape(-1, 1) for one feature"
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"y must have shape (n,) or (n, 1), got {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of rows, got {len(X)} and {len(y)}")
    for name, a in (("X", X), ("y", y)):
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
            raise TypeError(f"{name} must hold numbers, got dtype {a.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)  # finiteness is checked on the sums of the first pass
    if names is None:
        names = [f"x{j + 1}" for j in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ValueError(f"feature_names has {len(names)} names but X has {X.shape[1]} columns")
    return X, y, names


def _features(X, feature_names) -> tuple[np.ndarray, list[str] | None]:
    """X as an array, and the names given, or a DataFrame's column names."""
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # a DataFrame
        names = [str(c) for c in X.columns] if feature_names is None else list(feature_names)
        return X.to_numpy(dtype=np.float64), names
    return _numpy(X), None if feature_names is None else list(feature_names)


def _numpy(a) -> np.ndarray:
    """A NumPy array, a pandas Series or a torch tensor as a NumPy array."""
    if hasattr(a, "to_numpy"):
        a = a.to_numpy()
    if hasattr(a, "detach"):  # a torch tensor
        a = a.detach().cpu().numpy()
    return np.asarray(a)


@dataclass
class Problem:
    """What every step of a solve needs: the data, the names, and what the first pass found.

    When squares of the data would underflow (features in tiny units), the problem is solved
    in units where each column's and y's largest |value| lies in [½, 1): powers of two, so the
    data are not rounded; ``unit`` and ``y_unit`` carry the results back.
    """

    chunks: Rows  # a new pass over the data each call
    feature_names: list[str]
    fit_intercept: bool
    memory: tuple[np.ndarray, np.ndarray] | None  # (X, y) when the data are in memory
    group: Group | None = None  # the processes sharing the rows (None: this one holds them all)
    first: FirstPass = field(init=False)  # Gram matrix, Aᵀy and y's moments
    d: np.ndarray = field(init=False)  # column scaling D: powers of two nearest 1 / column norms
    unit: np.ndarray = field(init=False)  # coefficient j of the data = coefficient j solved for · unit[j]
    col_unit: np.ndarray = field(init=False)  # column j of the design solved for = column j of the data · col_unit[j]
    y_unit: float = field(init=False)  # y of the data = y solved for · y_unit

    def __post_init__(self):
        self.first = self._first_pass()
        k = len(self.names)
        self.unit, self.col_unit, self.y_unit = np.ones(k), np.ones(k), 1.0
        if self.first.finite() and self.first.underflows():
            self._rescale()
        norms = np.sqrt(np.diag(self.first.G))
        self.d = 1.0 / pow2(norms)

    def _rescale(self):
        off = int(self.fit_intercept)
        x_max, y_max = max_abs(self.chunks, len(self.feature_names), self.group)
        x_scale = np.ldexp(1.0, -np.frexp(x_max)[1])  # largest |value| in [½, 1); 1 for a column of zeros
        y_scale = float(np.ldexp(1.0, -np.frexp(y_max)[1]))
        _refuse_subnormal(x_max, y_max, x_scale, y_scale, self.feature_names)
        if self.memory is not None:
            X, y = self.memory
            self.memory = (X * x_scale, y * y_scale)
            self.chunks = in_memory(*self.memory)
        else:
            self.chunks = scaled_chunks(self.chunks, x_scale, y_scale)
        self.first = self._first_pass()
        self.col_unit[off:] = x_scale
        self.y_unit = 1.0 / y_scale
        self.unit = self.col_unit * self.y_unit  # β_data = β_solved · col_unit / y_scale

    def _first_pass(self) -> FirstPass:
        """The first pass; over data in chunks (a file), it also factors [A y], so that no pass more is needed."""
        p = len(self.feature_names)
        factor = self.memory is None
        return FirstPass(self.chunks, self.fit_intercept, p, self.group, factor, DD_WORK, memory=self.memory)

    @property
    def names(self) -> list[str]:
        return parameter_names(self.feature_names, self.fit_intercept)

    @property
    def n(self) -> int:
        return self.first.n


def parameter_names(feature_names, fit_intercept: bool) -> list[str]:
    """The parameters' names: the intercept's first, when fitted ("intercept", or "(intercept)" when a
    column has that name), then the features'."""
    constant = "(intercept)" if "intercept" in feature_names else "intercept"
    return ([constant] if fit_intercept else []) + list(feature_names)


def _refuse_subnormal(x_max, y_max: float, x_scale, y_scale: float, feature_names) -> None:
    """Refuse a column (or y) whose values are all subnormal: finite, but so small that the power of two that
    brings them to [½, 1) passes float64's range; said as it is, not as the infinity that scale would make."""
    tiny = [(f"column {feature_names[j]}", x_max[j]) for j in np.flatnonzero(~np.isfinite(x_scale))]
    tiny += [("y", y_max)] if not np.isfinite(y_scale) else []
    if tiny:
        what, size = tiny[0]
        raise ValueError(
            f"{what} holds finite values, but all of them subnormal (the largest in size is {size:.3g}, below "
            f"2.2e-308, float64's smallest normal number): too small to be solved for in float64; multiply it "
            f"by a power of ten such as 1e300 first"
        )


def nonfinite_message(memory, feature_names):
    if memory is not None:
        X, y = memory
        bad_y = np.flatnonzero(~np.isfinite(y))
        if bad_y.size:  # rows count from 1, as everywhere in linearnet
            return f"y must be finite; row {bad_y[0] + 1} is {y[bad_y[0]]}"
        rows, cols = np.nonzero(~np.isfinite(X))
        if rows.size:
            return f"X must be finite; row {rows[0] + 1}, column {feature_names[cols[0]]} is {X[rows[0], cols[0]]}"
        return "the data are too large to square in float64 (their sums overflow); rescale them"
    return "the data hold NaN or infinite values, or values too large to square in float64 (their sums overflow)"


def dependent_columns(names, null) -> list[str]:
    """The columns that take part in the directions ``null`` the design cannot resolve, in design order."""
    return sorted({names[j] for v in null for j in np.flatnonzero(np.abs(v) > 1e-3 * np.abs(v).max())}, key=names.index)


def dependent_message(names, null, rank, k):
    involved = dependent_columns(names, null)
    return (
        f"the columns {', '.join(involved)} are linearly dependent (rank {rank} of {k} parameters): "
        f"drop one of them, or allow a rank-deficient design (--allow-rank-deficient) for the "
        f"minimum-norm solution"
    )


def too_few_rows(n: int, p: int, fit_intercept: bool) -> str:
    k = p + fit_intercept
    return (
        f"the data have {n:,} rows but the model has {k:,} parameters "
        f"({p:,} features{' + intercept' if fit_intercept else ''}); "
        f"need at least {k:,} rows, or allow a rank-deficient design "
        f"(--allow-rank-deficient) for the minimum-norm solution"
    )

"""Weighted least squares, as R's ``lm(weights = w)`` and statsmodels' WLS fit it.

β = argmin Σ wᵢ (yᵢ − xᵢᵀβ)² is the least-squares solution of the rows transformed one by one,
√wᵢ·[1, xᵢ] and √wᵢ·yᵢ, solved as a design without an implicit intercept (its first column is
√w): the solver's scaling, refinement, paths, chunks and processes all carry over, since the
transform is row by row. The result is then relabelled as R reports a weighted fit:

- the intercept named and counted as one; σ̂ = √(Σwe²/(n − k)), standard errors, t and p from
  the transformed fit as they are (its residual sum of squares is Σwe²);
- n counts the rows of positive weight: rows of weight 0 do not enter the fit, n or the residual
  degrees of freedom (as R's ``lm.wfit``, ``summary.lm``, ``nobs`` and ``logLik`` drop them);
- R² against the weighted mean, Σw(y − ȳ_w)² with an intercept, and uncentred, Σwy², without one;
  F from those totals; the log-likelihood adds Σ log(wᵢ)/2 (``logLik.lm``), AIC and BIC follow.

Weights must be finite and ≥ 0; the first one that is not is refused by its row.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from .passes import Group, design, everyone
from .problem import _numpy, parameter_names
from .result import OLSResult, likelihood

# A pass over weighted data: (X, y, w) chunks, or (X, y, carried) with the weights one of the carried columns.
WeightedRows = Callable[[], Iterable[tuple]]


def check_weights(w, n: int, name: str = "weights", first_row: int = 1) -> np.ndarray:
    """``w`` as float64 (n,), refused (ValueError naming ``name`` and the row, counted from ``first_row``)
    unless every weight is a finite number ≥ 0."""
    w = _numpy(w)
    if w.ndim == 2 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 1 or len(w) != n:
        raise ValueError(f"{name} must have shape ({n},), one weight per row, got shape {w.shape}")
    if not (np.issubdtype(w.dtype, np.number) or w.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {w.dtype}")
    w = np.ascontiguousarray(w, dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
    if bad.size:
        raise ValueError(bad_weight(name, first_row + int(bad[0]), float(w[bad[0]])))
    return w


def bad_weight(name: str, row: int, value: float) -> str:
    """The refusal of weight ``value`` in row ``row`` of ``name`` ("weights", "weights column 'w'")."""
    why = "missing" if math.isnan(value) else "negative" if value < 0 else "not finite"
    return f"{name}, row {row}: {value:g} is {why}; weights must be finite numbers >= 0"


@dataclasses.dataclass
class Totals:
    """What a weighted fit's statistics need beyond the transformed solve: the rows of positive weight
    and of weight 0, Σw, the weighted mean of y and Σw(y − ȳ_w)² (merged as chunks are), Σwy², Σ log w.

    The y moments are those of y·2^``exponent``: 0, unless the first rows' √w·y are so small or large that
    their squares would leave float64 (a target in units of 1e-170), then brought to about 1.
    """

    rows: int = 0
    zero: int = 0
    sum_w: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    wyy: float = 0.0
    sum_log_w: float = 0.0
    exponent: int | None = None  # None until rows of positive weight are added

    def add(self, y: np.ndarray, w: np.ndarray) -> None:
        """The rows of positive weight ``w`` (y's values ``y``) added."""
        if not len(w):
            return
        if self.exponent is None:
            top = float(np.max(np.abs(y) * np.sqrt(w)))
            self.exponent = 0 if top == 0 or _SAFE[0] < top < _SAFE[1] else -int(np.frexp(top)[1])
        if self.exponent:
            y = np.ldexp(y, self.exponent)
        c_sum = float(w.sum())
        c_mean = float(w @ y) / c_sum
        c_m2 = float(w @ (y - c_mean) ** 2)
        self.mean, self.m2 = _merge(self.sum_w, self.mean, self.m2, c_sum, c_mean, c_m2)
        self.sum_w += c_sum
        self.rows += len(w)
        self.wyy += float(w @ (y * y))
        self.sum_log_w += float(np.log(w).sum())

    def merged(self, other: Totals) -> Totals:
        """These totals and ``other``'s together (in this one's exponent, or other's if this one has none)."""
        if self.exponent is None:
            return dataclasses.replace(other, zero=other.zero + self.zero)
        if other.exponent is not None and other.exponent != self.exponent:
            shift = self.exponent - other.exponent
            other = dataclasses.replace(
                other,
                mean=math.ldexp(other.mean, shift),
                m2=math.ldexp(other.m2, 2 * shift),
                wyy=math.ldexp(other.wyy, 2 * shift),
            )
        out = dataclasses.replace(self)
        out.mean, out.m2 = _merge(self.sum_w, self.mean, self.m2, other.sum_w, other.mean, other.m2)
        out.sum_w += other.sum_w
        out.rows += other.rows
        out.zero += other.zero
        out.wyy += other.wyy
        out.sum_log_w += other.sum_log_w
        return out


_SAFE = (2.0**-450, 2.0**450)  # |√w·y| whose squares, summed, stay well inside float64


def _merge(w: float, mean: float, m2: float, c_w: float, c_mean: float, c_m2: float) -> tuple[float, float]:
    """The weighted mean and Σw(y − mean)² of two parts together (Chan et al.'s update, weights for counts)."""
    if c_w == 0:
        return mean, m2
    total = w + c_w
    delta = c_mean - mean
    return mean + delta * c_w / total, m2 + c_m2 + delta * delta * w * c_w / total


def transform(X: np.ndarray, y: np.ndarray, w: np.ndarray, fit_intercept: bool, totals: Totals):
    """The rows of positive weight as √w·[1, X] (or √w·X) and √w·y, their totals added to ``totals``."""
    keep = w > 0
    totals.zero += int(len(w) - keep.sum())
    if not keep.all():
        X, y, w = X[keep], y[keep], w[keep]
    totals.add(y, w)
    s = np.sqrt(w)
    return design(X, fit_intercept) * s[:, None], y * s


def solve_weighted(
    X,
    y,
    weights,
    *,
    fit_intercept: bool,
    feature_names,
    allow_rank_deficient: bool,
    weights_name: str = "weights",
    cov_type: str = "classical",
    groups=None,
) -> OLSResult:
    """:func:`linearnet.leastsq.solve` with ``weights``: the fit R's ``lm(weights=)`` gives (with robust
    errors of ``cov_type``, sandwich's of that fit: those of the transformed rows of positive weight)."""
    from .problem import as_arrays, nonfinite_message, too_few_rows
    from .robust import cluster_values
    from .solver import solve

    X, y, names = as_arrays(X, y, feature_names)
    w = check_weights(weights, len(y), weights_name)
    if groups is not None:
        groups = cluster_values(groups, len(y))[w > 0]
    if not (np.isfinite(X).all() and np.isfinite(y).all()):  # said by the rows as given, before any is dropped
        raise ValueError(nonfinite_message((X, y), names))
    totals = Totals()
    At, yt = transform(X, y, w, fit_intercept, totals)
    if totals.rows == 0:
        raise ValueError(f"every one of the {len(w):,} {weights_name} is 0: no row is left to fit")
    if totals.rows < X.shape[1] + fit_intercept and not allow_rank_deficient:
        raise ValueError(too_few_rows(totals.rows, X.shape[1], fit_intercept) + _zero_said(totals))
    solved = solve(
        At,
        yt,
        fit_intercept=False,
        feature_names=parameter_names(names, fit_intercept),
        allow_rank_deficient=allow_rank_deficient,
        cov_type=cov_type,
        groups=groups,
    )
    return relabel(solved, names, fit_intercept, totals, weights_name)


class _Transformed:
    """A pass over (X, y, weights) chunks as the transformed rows (X̃, ỹ); the totals of the last whole pass.
    A bad weight is refused by its row counted from 1 over the pass (of this process's share, in a group)."""

    def __init__(self, chunks: WeightedRows, weights: str, fit_intercept: bool, name: str):
        self.chunks, self.weights, self.fit_intercept, self.name = chunks, weights, fit_intercept, name
        self.totals: Totals | None = None

    def __call__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        totals, row = Totals(), 1
        for chunk in self.chunks():
            if len(chunk) != 3:
                raise ValueError(
                    f"weighted chunks are (X, y, carried) or (X, y, w), got {len(chunk)} items; pass "
                    f"chunks.carrying() of a table read with carry=[{self.weights!r}]"
                )
            X, y, extra = chunk
            w = extra[self.weights] if isinstance(extra, dict) else extra
            w = check_weights(w, len(y), self.name, first_row=row)
            row += len(y)
            yield transform(X, y, w, self.fit_intercept, totals)
        self.totals = totals


def solve_chunks_weighted(
    chunks: WeightedRows,
    feature_names: list[str],
    weights: str,
    *,
    fit_intercept: bool,
    allow_rank_deficient: bool,
    group: Group | None,
    weights_name: str | None = None,
    cov_type: str = "classical",
    groups=None,
) -> OLSResult:
    """:func:`linearnet.leastsq.solve_chunks` with weights: ``chunks()`` yields ``(X, y, carried)`` with the
    weights ``carried[weights]`` (or ``(X, y, w)``); each process sums its own rows' totals. ``groups``, for
    cluster-robust errors, names another carried column."""
    from .solver import solve_chunks

    names = list(feature_names)
    rows = _Transformed(chunks, weights, fit_intercept, weights_name or f"weights column {weights!r}")
    solved = solve_chunks(
        rows,
        parameter_names(names, fit_intercept),
        fit_intercept=False,
        allow_rank_deficient=allow_rank_deficient,
        group=group,
        cov_type=cov_type,
        groups=None if groups is None else _clustered(chunks, weights, groups, fit_intercept),
    )
    assert rows.totals is not None  # a pass ran whole
    here = rows.totals
    parts = everyone(group, lambda: here)
    totals = parts[0]
    for part in parts[1:]:
        totals = totals.merged(part)
    return relabel(solved, names, fit_intercept, totals, weights)


def _clustered(chunks: WeightedRows, weights: str, groups, fit_intercept: bool):
    """The passes of (X̃, ỹ, clusters) over the transformed rows of positive weight, the clusters the carried
    column ``groups``."""
    if not isinstance(groups, str):
        raise TypeError(f"with weights, groups must name a carried column; got {type(groups).__name__}")

    def rows():
        for X, y, carried in chunks():
            if groups not in carried:
                raise ValueError(f"the chunks carry no column {groups!r} (they carry {', '.join(carried) or 'none'})")
            w = np.asarray(carried[weights], dtype=np.float64)
            X_t, y_t = transform(X, y, w, fit_intercept, Totals())
            yield X_t, y_t, np.asarray(carried[groups])[w > 0]

    return rows


def _zero_said(totals: Totals) -> str:
    return f" ({totals.zero:,} rows of weight 0 left out)" if totals.zero else ""


def _wald(solved: OLSResult, fit_intercept: bool) -> tuple[float, float]:
    """F = βᵀV⁻¹β/q over the q coefficients beside the intercept with the robust V (lmtest's ``waldtest``),
    and its p on q and n − k degrees of freedom; NaN where V of them is singular (fewer clusters than q + 1)."""
    from ..distributions import f_sf

    off = int(fit_intercept)
    q, df = solved.rank - off, solved.n - solved.rank
    if q <= 0 or df <= 0 or solved.robust_cov is None or (solved.clusters is not None and solved.clusters - 1 < q):
        return math.nan, math.nan
    b, V = solved.params[off:], solved.robust_cov[off:, off:]
    try:
        fvalue = float(b @ np.linalg.solve(V, b)) / q
    except np.linalg.LinAlgError:  # a singular V (residuals of 0, or too few clusters): no test
        return math.nan, math.nan
    return fvalue, float(f_sf(fvalue, q, df)) if fvalue == fvalue else math.nan


def relabel(solved: OLSResult, names: list[str], fit_intercept: bool, totals: Totals, name: str) -> OLSResult:
    """The transformed design's fit as the weighted fit of the data: the intercept counted as one, R² and F
    against the weighted totals, the log-likelihood with Σ log(w)/2 (R's conventions)."""
    tss = totals.m2 if fit_intercept else totals.wyy
    e = totals.exponent or 0
    rss = solved.ssr
    if e:  # in the units of y·2^e: Σwe² of the data need not be a float64
        df = solved.n - solved.rank
        rss = (math.ldexp(solved.sigma, e)) ** 2 * df if df > 0 else math.ldexp(solved.ssr, 2 * e)
    log_unit = -2 * e * math.log(2)
    fit = likelihood(solved.n, solved.rank, fit_intercept, rss, tss, totals.sum_log_w, log_unit=log_unit)
    if solved.se_type != "classical":  # the robust Wald test of the coefficients beside the intercept
        fit.update(zip(("fvalue", "f_pvalue"), _wald(solved, fit_intercept), strict=True))
    return dataclasses.replace(
        solved,
        fit_intercept=fit_intercept,
        feature_names=list(names),
        weights=name,
        zero_weights=totals.zero,
        **fit,
    )

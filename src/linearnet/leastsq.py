"""The analytic solution w* = argmin ‖y − Xw − b‖², computed so that it can be trusted.

Never ``inv(XᵀX)``. The design A = [X, 1] is first scaled to unit column norms (D), which
removes the ill-conditioning that comes only from units (a year column, x¹⁰ beside x);
what remains is cond(AD), the *scaled* condition number. Then:

- **fast path**, cond(AD) ≤ 1e3: one pass forms the Gram matrix AᵀA with BLAS, a Cholesky
  factor R of D·AᵀA·D solves the normal equations, and iterative refinement on the
  residual r = y − Aβ removes what rounding left. The error of β and of (AᵀA)⁻¹ is about
  cond(AD)²·ε ≤ 2e-10 before refinement.
- **accurate path**, otherwise: R from a Householder QR of AD solves the semi-normal
  equations RᵀRβ = DAᵀy, refined with residuals computed in extended precision
  (``np.longdouble``); each step shrinks the error by about cond(AD)²·ε, so up to
  cond(AD) ≈ 3e7. Beyond that, in memory, Björck's refinement of the augmented system
  [I A; Aᵀ 0][r; β] = [y; 0] with Q, whose steps shrink it by cond(AD)·ε.
  ``numpy.linalg.lstsq`` and statsmodels instead truncate the small singular values of the
  unscaled design.
- **data in chunks** (files larger than memory, :func:`solve_chunks`): the same fast path
  (the Gram matrix is a sum over chunks); otherwise R from a QR of stacked chunk factors
  (TSQR) and refinement of the semi-normal equations with extended-precision residuals,
  one pass over the data per step. Memory is bounded by the chunk size.

Statistics are those statsmodels' OLS reports, computed from the triangular factor:
Cov(β) = σ̂²·D R⁻¹R⁻ᵀ D.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .modelfile import Model

__all__ = [
    "solve",
    "solve_chunks",
    "OLSResult",
    "RankDeficientWarning",
    "IllConditionedWarning",
    "FAST_PATH_MAX_COND",
    "SEMINORMAL_MAX_COND",
]

FAST_PATH_MAX_COND = 1e3  # scaled condition number up to which the Gram/Cholesky path is used
SEMINORMAL_MAX_COND = 3e7  # up to here refining the semi-normal equations converges (cond²·ε < 0.2)
_CHUNK = 65536  # rows per pass-through chunk of in-memory data
_MAX_REFINE = 30
_EPS = np.finfo(np.float64).eps


class IllConditionedWarning(UserWarning):
    """The data were solved in chunks, and are too ill-conditioned for full accuracy that way."""


class RankDeficientWarning(UserWarning):
    """The design does not determine every coefficient; the minimum-norm one is returned."""


@dataclass
class OLSResult:
    """A least-squares fit with the statistics statsmodels' OLS reports.

    ``params``, ``bse``, ``tvalues``, ``pvalues`` and ``conf_int`` hold the intercept first
    (when fitted) and then the coefficients in column order; ``coef`` and ``intercept``
    are the same numbers split apart.
    """

    names: list[str]  # "intercept" (if fitted), then the feature names
    params: np.ndarray  # (k,)
    bse: np.ndarray  # standard errors
    tvalues: np.ndarray
    pvalues: np.ndarray  # two-sided
    conf_int: np.ndarray  # (k, 2): 95% intervals
    sigma: float  # residual standard deviation σ̂ = sqrt(RSS / (n − rank))
    r2: float
    adj_r2: float
    n: int
    rank: int
    condition_number: float  # of the unscaled design, as statsmodels reports it
    scaled_condition_number: float  # of the design with unit-norm columns: what accuracy depends on
    fit_intercept: bool
    method: str  # "cholesky", "qr", "qr-augmented", "tsqr" or "pinv"
    refinement_steps: int = 0
    feature_names: list[str] = field(default_factory=list)

    @property
    def coef(self) -> np.ndarray:
        return self.params[1:] if self.fit_intercept else self.params

    @property
    def intercept(self) -> float:
        return float(self.params[0]) if self.fit_intercept else 0.0

    @property
    def df_resid(self) -> int:
        return self.n - self.rank

    def predict(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        return X @ self.coef + self.intercept

    def table(self) -> list[dict]:
        """One row per parameter: name, estimate, stderr, t, p, ci_low, ci_high."""
        return [
            {
                "name": name,
                "estimate": float(e),
                "stderr": float(s),
                "t": float(t),
                "p": float(p),
                "ci_low": float(lo),
                "ci_high": float(hi),
            }
            for name, e, s, t, p, (lo, hi) in zip(
                self.names, self.params, self.bse, self.tvalues, self.pvalues, self.conf_int, strict=True
            )
        ]

    def summary(self) -> str:
        """The coefficient table with standard errors, t, p and 95% intervals, then R², σ̂, n, rank."""
        width = max(9, *(len(n) for n in self.names))
        head = f"{'':<{width}} {'coef':>12} {'std err':>12} {'t':>9} {'P>|t|':>7} {'[0.025':>12} {'0.975]':>12}"
        lines = [head, "-" * len(head)]
        for r in self.table():
            lines.append(
                f"{r['name']:<{width}} {r['estimate']:>12.6g} {r['stderr']:>12.6g} {r['t']:>9.3f} "
                f"{r['p']:>7.3f} {r['ci_low']:>12.6g} {r['ci_high']:>12.6g}"
            )
        lines.append("-" * len(head))
        lines.append(
            f"R² {self.r2:.6f}   adj. R² {self.adj_r2:.6f}   σ̂ {self.sigma:.6g}   n {self.n}   "
            f"rank {self.rank}   condition number {self.condition_number:.3g}"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The statistics as JSON-ready values (NaN and ±inf become None); ``intercept`` is None without one."""
        rows = {
            r["name"]: {k: _finite_or_none(r[k]) for k in ("estimate", "stderr", "t", "p", "ci_low", "ci_high")}
            for r in self.table()
        }
        return {
            "intercept": rows.pop("intercept") if self.fit_intercept else None,
            "coefficients": {name: rows[name] for name in self.feature_names},
            "sigma": _finite_or_none(self.sigma),
            "r2": _finite_or_none(self.r2),
            "adj_r2": _finite_or_none(self.adj_r2),
            "n": self.n,
            "rank": self.rank,
            "condition_number": _finite_or_none(self.condition_number),
        }

    def to_model(self, *, target: str | None = None, data: str | None = None) -> Model:
        """The model file record (:class:`linearnet.modelfile.Model`), statistics included."""
        return Model(
            features=self.feature_names,
            coefficients=self.coef,
            intercept=self.intercept,
            fit_intercept=self.fit_intercept,
            target=target,
            training={"method": "solve", "data": data, "n": self.n, "algorithm": self.method},
            statistics=self.to_dict(),
        )


def _finite_or_none(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


# --- input -------------------------------------------------------------------------------


def _as_arrays(X, y, feature_names):
    """Accept NumPy arrays, torch tensors or a DataFrame; return float64 X (n, p), y (n,), names."""
    names: list[str] | None
    if hasattr(X, "columns") and hasattr(X, "to_numpy"):  # a DataFrame
        names = [str(c) for c in X.columns] if feature_names is None else list(feature_names)
        X = X.to_numpy(dtype=np.float64)
    else:
        if hasattr(X, "detach"):  # a torch tensor
            X = X.detach().cpu().numpy()
        X = np.asarray(X)
        names = None if feature_names is None else list(feature_names)
    if hasattr(y, "to_numpy"):
        y = y.to_numpy()
    if hasattr(y, "detach"):
        y = y.detach().cpu().numpy()
    y = np.asarray(y)
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


# --- passes over the data ----------------------------------------------------------------

Chunks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


def _in_memory(X, y) -> Chunks:
    def chunks():
        for i in range(0, len(X), _CHUNK):
            yield X[i : i + _CHUNK], y[i : i + _CHUNK]

    return chunks


class _Pass:
    """Sums over one pass: Gram matrix of A = [1, X] (intercept first), Aᵀy, and y's moments."""

    def __init__(self, chunks: Chunks, fit_intercept: bool):
        passing = iter(chunks())
        head = next(passing, None)
        if head is None:
            raise ValueError("the data have no rows")
        p = head[0].shape[1]
        k = p + fit_intercept
        G, Aty, colsum = np.zeros((k, k)), np.zeros(k), np.zeros(p)
        n, y_mean, y_m2, yty = 0, 0.0, 0.0, 0.0
        for Xc, yc in itertools.chain([head], passing):
            off = int(fit_intercept)
            G[off:, off:] += Xc.T @ Xc
            Y2 = np.ones((len(yc), 2))  # [y, 1]: Xᵀy and the column sums in one product
            Y2[:, 0] = yc
            XtY2 = Xc.T @ Y2
            colsum += XtY2[:, 1]
            Aty[off:] += XtY2[:, 0]
            if fit_intercept:
                G[0, 0] += len(Xc)
                G[0, 1:] += XtY2[:, 1]
                G[1:, 0] += XtY2[:, 1]
                Aty[0] += yc.sum()
            # Chan et al.'s pairwise update of the mean and the centred sum of squares
            m = len(yc)
            if m:
                c_mean = float(yc.mean())
                c_m2 = float(((yc - c_mean) ** 2).sum())
                total = n + m
                delta = c_mean - y_mean
                y_m2 += c_m2 + delta * delta * n * m / total
                y_mean += delta * m / total
                yty += float(yc @ yc)
                n = total
        self.G, self.Aty, self.n = G, Aty, n
        self.colsum = colsum
        self.tss_centered, self.tss_uncentered = y_m2, yty

    def implicit_constant(self) -> bool:
        """Whether the columns, without an intercept, can still form a constant (like statsmodels)."""
        norms = np.sqrt(np.diag(self.G))
        d = 1.0 / np.where(norms > 0, norms, 1.0)
        z = np.linalg.lstsq(self.G * np.outer(d, d), d * self.colsum, rcond=1e-12)[0]
        return self.n - float((d * self.colsum) @ z) <= 1e-9 * self.n


def _design(Xc, fit_intercept, dtype=np.float64):
    Xc = Xc.astype(dtype, copy=False)
    if not fit_intercept:
        return Xc
    return np.concatenate([np.ones((len(Xc), 1), dtype), Xc], axis=1)


def _residual_pass(chunks: Chunks, beta: np.ndarray, fit_intercept: bool, extended: bool, gradient: bool = True):
    """Aᵀr (if ``gradient``) and rᵀr for r = y − Aβ, in extended precision if asked."""
    dtype = np.longdouble if extended else np.float64
    b = beta.astype(dtype)
    Atr: np.ndarray = np.zeros(len(beta), dtype)
    rss = dtype(0)
    off = int(fit_intercept)
    for Xc, yc in chunks():
        if extended:
            A = _design(Xc, fit_intercept, dtype)
            r = yc.astype(dtype) - A @ b
            if gradient:
                Atr += A.T @ r
        else:
            r = yc - Xc @ beta[off:] - (beta[0] if fit_intercept else 0.0)
            if gradient:
                Atr[off:] += Xc.T @ r
                if fit_intercept:
                    Atr[0] += r.sum()
        rss += r @ r
    return Atr, float(rss)


# --- the solvers -------------------------------------------------------------------------


def _cholesky_upper(Gs):
    L = np.linalg.cholesky(Gs)
    return L.T


def _solve_r(R, v):
    """R⁻¹R⁻ᵀ v for upper-triangular R."""
    from scipy.linalg import solve_triangular

    return solve_triangular(R, solve_triangular(R, v, trans="T"), trans="N")


def _refine_seminormal(chunks, beta, R, d, fit_intercept, extended, tol):
    """Iterative refinement β += D R⁻¹R⁻ᵀ D Aᵀr; returns β and the steps taken."""
    steps = 0
    previous = math.inf
    for steps in range(1, _MAX_REFINE + 1):  # noqa: B007 - the count of steps taken is returned
        Atr, _ = _residual_pass(chunks, beta, fit_intercept, extended)
        delta = d * _solve_r(R, d * Atr.astype(np.float64))
        beta = beta + delta
        size = np.max(np.abs(delta / np.where(beta == 0, 1, beta)))
        if size <= tol or size >= previous:  # converged, or stalled at rounding level
            break
        previous = size
    return beta, steps


def _bjorck(A, y, d, tol):
    """Least squares by Householder QR of AD with Björck's refinement of the augmented system."""
    As = A * d  # (n, k) scaled design
    Q, R = np.linalg.qr(As, mode="reduced")
    from scipy.linalg import solve_triangular

    x = solve_triangular(R, Q.T @ y)  # scaled coefficients
    r = y - As @ x
    A_ext, y_ext = As.astype(np.longdouble), y.astype(np.longdouble)
    steps = 0
    previous = math.inf
    for steps in range(1, _MAX_REFINE + 1):  # noqa: B007 - the count of steps taken is returned
        # residuals of the augmented system, in extended precision
        x_ext, r_ext = x.astype(np.longdouble), r.astype(np.longdouble)
        f = (y_ext - r_ext - A_ext @ x_ext).astype(np.float64)
        g = (-(A_ext.T @ r_ext)).astype(np.float64)
        h = solve_triangular(R, g, trans="T")
        qf = Q.T @ f
        dx = solve_triangular(R, qf - h)
        dr = f - Q @ qf + Q @ h
        x, r = x + dx, r + dr
        size = np.max(np.abs(dx) / np.maximum(np.abs(x), 1e-300))
        if size <= tol or size >= previous:  # converged, or stalled at rounding level
            break
        previous = size
    return x * d, R, steps


def _tsqr(chunks, d, fit_intercept):
    """R of the QR factorisation of AD from stacked chunk factors (memory: one chunk)."""
    R = None
    for Xc, _ in chunks():
        A = _design(Xc, fit_intercept) * d
        stacked = A if R is None else np.vstack([R, A])
        R = np.linalg.qr(stacked, mode="r")
    return R


def _rank_and_nullspace(Rs, n):
    """Numerical rank of the scaled triangular factor, its singular values, and the directions it cannot resolve."""
    s, vt = np.linalg.svd(Rs)[1:]
    tol = 10 * math.sqrt(max(n, Rs.shape[0])) * _EPS * s[0]
    rank = int((s > tol).sum())
    return rank, s, vt[rank:]


def _nonfinite_message(memory, feature_names):
    if memory is not None:
        X, y = memory
        bad_y = np.flatnonzero(~np.isfinite(y))
        if bad_y.size:
            return f"y must be finite; row {bad_y[0]} is {y[bad_y[0]]}"
        rows, cols = np.nonzero(~np.isfinite(X))
        if rows.size:
            return f"X must be finite; row {rows[0]}, column {feature_names[cols[0]]} is {X[rows[0], cols[0]]}"
    return "the data are too large to square in float64 (their sums overflow); rescale them"


def _dependent_message(names, null, rank, k):
    involved = sorted(
        {names[j] for v in null for j in np.flatnonzero(np.abs(v) > 1e-3 * np.abs(v).max())}, key=names.index
    )
    return (
        f"the columns {', '.join(involved)} are linearly dependent (rank {rank} of {k} parameters): "
        f"drop one of them, or allow a rank-deficient design (--allow-rank-deficient) for the "
        f"minimum-norm solution"
    )


def solve(X, y, *, fit_intercept: bool = True, feature_names=None, allow_rank_deficient: bool = False) -> OLSResult:
    """Exact least squares ŷ = Xw + b with statsmodels' statistics.

    Args:
        X: (n, p) NumPy array, torch tensor or DataFrame (its column names become the names).
        y: (n,) or (n, 1).
        fit_intercept: fit b (default) or force b = 0.
        feature_names: names for X's columns (default x1, x2, ...).
        allow_rank_deficient: return the minimum-norm solution, with a
            :class:`RankDeficientWarning`, instead of raising when the columns are dependent.

    Example:
        >>> fit = solve(X, y)
        >>> fit.coef, fit.intercept, fit.bse, fit.r2
    """
    X, y, names = _as_arrays(X, y, feature_names)
    return _solve(_Problem(_in_memory(X, y), names, fit_intercept, memory=(X, y)), allow_rank_deficient)


def solve_chunks(
    chunks: Chunks, feature_names: list[str], *, fit_intercept: bool = True, allow_rank_deficient: bool = False
) -> OLSResult:
    """:func:`solve` over data that arrive in chunks: ``chunks()`` starts a new pass each call.

    Each pass reads the data once; memory holds one chunk and a few k × k matrices.
    """
    return _solve(_Problem(chunks, list(feature_names), fit_intercept, memory=None), allow_rank_deficient)


@dataclass
class _Problem:
    """What every step of a solve needs: the data, the names, and what the first pass found."""

    chunks: Chunks  # a new pass over the data each call
    feature_names: list[str]
    fit_intercept: bool
    memory: tuple[np.ndarray, np.ndarray] | None  # (X, y) when the data are in memory
    first: _Pass = field(init=False)  # Gram matrix, Aᵀy and y's moments
    d: np.ndarray = field(init=False)  # column scaling D: 1 / column norms

    def __post_init__(self):
        self.first = _Pass(self.chunks, self.fit_intercept)
        norms = np.sqrt(np.diag(self.first.G))
        self.d = 1.0 / np.where(norms > 0, norms, 1.0)

    @property
    def names(self) -> list[str]:
        return (["intercept"] if self.fit_intercept else []) + self.feature_names

    @property
    def n(self) -> int:
        return self.first.n


@dataclass
class _Factor:
    """The scaled triangular factor R of AD, its numerical rank and singular values."""

    R: np.ndarray
    rank: int
    s: np.ndarray  # singular values of R
    null: np.ndarray  # the directions R cannot resolve (rows)


def _solve(p: _Problem, allow_rank_deficient: bool) -> OLSResult:
    names, n, first, d = p.names, p.n, p.first, p.d
    k = len(names)
    if not (np.isfinite(first.G).all() and np.isfinite(first.Aty).all() and math.isfinite(first.tss_uncentered)):
        raise ValueError(_nonfinite_message(p.memory, p.feature_names))
    if n < k and not allow_rank_deficient:
        raise ValueError(
            f"the data have {n} rows but the model has {k} parameters "
            f"({len(p.feature_names)} features{' + intercept' if p.fit_intercept else ''}); "
            f"need at least {k} rows, or allow a rank-deficient design "
            f"(--allow-rank-deficient) for the minimum-norm solution"
        )
    Gs = first.G * np.outer(d, d)
    lam = np.linalg.eigvalsh(Gs)
    scaled_cond = math.sqrt(lam[-1] / lam[0]) if lam[0] > 0 else math.inf
    tol = 4 * _EPS
    steps = 0

    if scaled_cond <= FAST_PATH_MAX_COND:
        method = "cholesky"
        R = _cholesky_upper(Gs)
        beta = d * _solve_r(R, d * first.Aty)
        if scaled_cond > 30:
            beta, steps = _refine_seminormal(p.chunks, beta, R, d, p.fit_intercept, False, tol)
    elif p.memory is not None:
        method = "qr" if scaled_cond <= SEMINORMAL_MAX_COND else "qr-augmented"
        R = np.linalg.qr(_design(p.memory[0], p.fit_intercept) * d, mode="r")
    else:
        method = "tsqr"
        R = _tsqr(p.chunks, d, p.fit_intercept)

    factor = _Factor(R, *_rank_and_nullspace(R, n))
    if factor.rank < k or n < k:
        if not allow_rank_deficient:
            raise ValueError(_dependent_message(names, factor.null, factor.rank, k))
        return _min_norm(p, factor)

    if method == "qr-augmented":
        assert p.memory is not None  # the augmented method is chosen for data in memory only
        A = _design(p.memory[0], p.fit_intercept)
        beta, factor.R, steps = _bjorck(A, p.memory[1], d, tol)
    elif method in ("qr", "tsqr"):  # semi-normal equations with R from QR, refined with extended residuals
        beta = d * _solve_r(R, d * first.Aty)
        beta, steps = _refine_seminormal(p.chunks, beta, R, d, p.fit_intercept, True, tol)
        if method == "tsqr" and scaled_cond > SEMINORMAL_MAX_COND:
            warnings.warn(
                f"the design is too ill-conditioned (scaled condition number {scaled_cond:.2g}) "
                f"to be solved to full accuracy in chunks; load it into memory for the "
                f"augmented QR method",
                IllConditionedWarning,
                stacklevel=3,
            )
    from scipy.linalg import solve_triangular

    Rinv = solve_triangular(factor.R, np.eye(len(factor.R)))  # (AD)ᵀ(AD) = RᵀR, so (AᵀA)⁻¹ = D R⁻¹R⁻ᵀ D
    cov_unscaled = (d[:, None] * Rinv) @ (Rinv.T * d[None, :])
    return _finish(p, factor, beta, cov_unscaled, method, steps)


def _min_norm(p: _Problem, factor: _Factor) -> OLSResult:
    """The minimum-norm solution of a rank-deficient design (statsmodels' pinv fit).

    The rank and the directions it keeps come from the scaled triangular factor; the
    minimum norm is that of the unscaled coefficients, as ``pinv(A) @ y`` gives.
    """
    # R (scaled) ≈ U S Vᵀ with r singular values kept: A ≈ Q U S (VᵀD⁻¹) = Q U S B. The least-squares
    # solutions are the β with Bβ = c = S⁻² Vᵀ D Aᵀy; the minimum-norm one is pinv(B)·c, and
    # pinv(AᵀA) = pinv(B) S⁻² pinv(B)ᵀ. Everything is k × k: the same in memory and in chunks.
    _, sv, vt = np.linalg.svd(factor.R)
    V, S2 = vt[: factor.rank].T, sv[: factor.rank] ** 2
    B_pinv = np.linalg.pinv(V.T / p.d[None, :])  # (k, r)
    beta = B_pinv @ ((V.T @ (p.d * p.first.Aty)) / S2)
    cov_unscaled = (B_pinv / S2) @ B_pinv.T
    warnings.warn(
        f"the design has rank {factor.rank} of {len(p.names)} parameters; returning the minimum-norm solution",
        RankDeficientWarning,
        stacklevel=4,
    )
    return _finish(p, factor, beta, cov_unscaled, "pinv", 0)


def _finish(p: _Problem, factor: _Factor, beta, cov_unscaled, method: str, steps: int) -> OLSResult:
    """The statistics of coefficients ``beta`` with (AᵀA)⁻¹ = ``cov_unscaled``: one more pass for the RSS."""
    from scipy import stats

    extended = method not in ("cholesky", "pinv")  # the accurate paths sum residuals in extended precision
    _, rss = _residual_pass(p.chunks, beta, p.fit_intercept, extended=extended, gradient=False)
    n, rank, first = p.n, factor.rank, p.first
    df = n - rank
    sigma2 = rss / df if df > 0 else math.nan
    bse = np.sqrt(np.maximum(np.diag(cov_unscaled), 0) * sigma2)
    with np.errstate(divide="ignore", invalid="ignore"):
        tvalues = beta / bse
    if df > 0:
        pvalues = 2 * stats.t.sf(np.abs(tvalues), df)
        q = stats.t.ppf(0.975, df)
    else:
        pvalues = np.full_like(beta, math.nan)
        q = math.nan
    conf = np.column_stack([beta - q * bse, beta + q * bse])
    constant = p.fit_intercept or first.implicit_constant()  # statsmodels centres R² then too
    tss = first.tss_centered if constant else first.tss_uncentered
    r2 = 1 - rss / tss if tss > 0 else math.nan
    adj = 1 - (n - int(constant)) / df * (1 - r2) if df > 0 else math.nan
    # unscaled condition number: singular values of A = (AD)·D⁻¹ = Q·R·D⁻¹
    sv = np.linalg.svd(factor.R / p.d[None, :], compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    s = factor.s
    scaled = float(s[0] / s[-1]) if s[-1] > 0 else math.inf
    return OLSResult(
        names=p.names,
        params=beta,
        bse=bse,
        tvalues=tvalues,
        pvalues=pvalues,
        conf_int=conf,
        sigma=math.sqrt(sigma2) if sigma2 == sigma2 else math.nan,
        r2=r2,
        adj_r2=adj,
        n=n,
        rank=rank,
        condition_number=cond,
        scaled_condition_number=scaled,
        fit_intercept=p.fit_intercept,
        method=method,
        refinement_steps=steps,
        feature_names=list(p.feature_names),
    )

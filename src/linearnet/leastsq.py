"""The analytic solution w* = argmin ‖y − Xw − b‖², computed so that it can be trusted.

Never ``inv(XᵀX)``. The design A = [X, 1] is first scaled to about unit column norms by D,
the powers of two nearest 1/‖column‖: multiplying by them is exact, so AD holds the same
numbers as A and the solution found is that of the data as given. This removes the
ill-conditioning that comes only from units (a year column, x¹⁰ beside x); what remains is
cond(AD), the *scaled* condition number. Data whose squares would underflow (features in
units of 1e-170) are first brought, by powers of two again, to a largest |value| in [½, 1).
Residuals and sums that refinement depends on are accumulated in double-double arithmetic
(error-free transformations, about 32 digits), so refinement converges to the exact solution
of the float64 data rather than stalling at the rounding of the residual. Then:

- **fast path**, cond(AD) ≤ 1e3: one pass forms the Gram matrix AᵀA with BLAS, a Cholesky
  factor R of D·AᵀA·D solves the normal equations, and iterative refinement on the
  residual r = y − Aβ removes what rounding left (the error of β and of (AᵀA)⁻¹ is about
  cond(AD)²·ε ≤ 2e-10 before it). For large data beyond cond(AD) = 30, R is first refined
  by one step of CholeskyQR2 (R ← chol(QᵀQ)·R, Q = ADR⁻¹: one more pass), which makes it as
  accurate as a Householder QR's, and β by float64 residual passes.
- **accurate path**, otherwise: R from a Householder QR of AD. Small or ill-conditioned
  data in memory refine the augmented system [I AD; (AD)ᵀ 0][r; z] = [y; 0] with Q
  (Björck), each step shrinking the error by about cond(AD)·ε; large data up to
  cond(AD) ≈ 3e7 refine the semi-normal equations RᵀRz = (AD)ᵀy instead, a pass per step
  and no Q, each step shrinking the error by about cond(AD)²·ε. ``numpy.linalg.lstsq`` and
  statsmodels instead truncate the small singular values of the unscaled design.
- **data in chunks** (files larger than memory, :func:`solve_chunks`): the same fast path
  (the Gram matrix is a sum over chunks); otherwise R from a QR of stacked chunk factors
  (TSQR) and refinement of the semi-normal equations, one pass over the data per step.
  Memory is bounded by the chunk size.

Statistics are those statsmodels' OLS reports, from Cov(β) = σ̂²·(AᵀA)⁻¹ = σ̂²·D R⁻¹R⁻ᵀ D.
For small problems (n·k² ≤ 2¹⁸) the Gram matrix is also summed in double-double, one more
pass; the fast path refines β against it, and every path refines that inverse against it
(beyond cond(AD) = 3e7, through the augmented system with right-hand sides [0; −I]), so
standard errors are as accurate as the coefficients. For larger problems the inverse comes
from the QR-quality factor (error about cond(AD)·ε).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

import numpy as np

from .modelfile import Model, from_table
from .tables.plan import CHUNK_ROWS

__all__ = [
    "solve",
    "solve_chunks",
    "merge_moments",
    "OLSResult",
    "RankDeficientWarning",
    "IllConditionedWarning",
    "FAST_PATH_MAX_COND",
    "SEMINORMAL_MAX_COND",
]

FAST_PATH_MAX_COND = 1e3  # scaled condition number up to which the Gram/Cholesky path is used
SEMINORMAL_MAX_COND = 3e7  # up to here refining the semi-normal equations converges (cond²·ε < 0.2)
_CHUNK = CHUNK_ROWS  # rows per pass-through chunk of in-memory data, as a table is read in chunks
_MAX_REFINE = 30
_EPS = np.finfo(np.float64).eps
_DD_WORK = 1 << 18  # n·k² up to which the normal equations are also summed in double-double (small problems)
_GRAM_COPIES = 5  # k × k float64 matrices a solve holds at its peak: the Gram matrix, its scaled copies, R, ...
_TINY_SQUARES = 2.0**-900  # a column whose sum of squares is below this is solved in rescaled units


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

    names: list[str]  # "intercept" (if fitted; "(intercept)" beside a column of that name), then the feature names
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
        rows = [
            {k: _finite_or_none(r[k]) for k in ("estimate", "stderr", "t", "p", "ci_low", "ci_high")}
            for r in self.table()
        ]  # by position: a feature may be named "intercept" too
        return {
            "intercept": rows[0] if self.fit_intercept else None,
            "coefficients": dict(zip(self.feature_names, rows[int(self.fit_intercept) :], strict=True)),
            "sigma": _finite_or_none(self.sigma),
            "r2": _finite_or_none(self.r2),
            "adj_r2": _finite_or_none(self.adj_r2),
            "n": self.n,
            "rank": self.rank,
            "condition_number": _finite_or_none(self.condition_number),
        }

    def to_model(self, *, target: str | None = None, data: str | None = None, table=None) -> Model:
        """The model file record (:class:`linearnet.modelfile.Model`), statistics included.

        ``table``: the :class:`linearnet.tables.Table` the fit came from; the record then names its
        target and file and keeps the coding of its categories, so that predict() can apply it.
        """
        target, data, coding = from_table(table, target, data)
        return Model(
            features=self.feature_names,
            coefficients=self.coef,
            intercept=self.intercept,
            fit_intercept=self.fit_intercept,
            target=target,
            training={"method": "solve", "data": data, "n": self.n, "algorithm": self.method},
            statistics=self.to_dict(),
            **coding,
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


# --- double-double arithmetic ------------------------------------------------------------
#
# Error-free transformations (Dekker, Knuth; Ogita, Rump & Oishi's Dot2): a sum or product of
# float64 numbers held exactly as an unevaluated pair hi + lo. Residuals and Gram matrices
# summed this way carry about 32 digits, so refinement converges to the solution of the
# float64 data themselves rather than to one perturbed by rounding.

_SPLITTER = 134217729.0  # 2**27 + 1: Veltkamp's constant, splits a float64 into two 26-bit halves
_DD_BLOCK = 1 << 16  # elements of the temporaries of one block of double-double products


def _two_sum(a, b):
    """a + b = s + e exactly."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _split(a):
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a, b):
    """a·b = p + e exactly (barring underflow)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _dd_add(ah, al, bh, bl):
    s, e = _two_sum(ah, bh)
    return _two_sum(s, e + (al + bl))


def _dd_sum(hi, lo, axis):
    """Σ along ``axis`` of the double-double numbers hi + lo, pairwise: (hi, lo)."""
    hi, lo = np.moveaxis(hi, axis, 0), np.moveaxis(lo, axis, 0)
    m = len(hi)
    if m == 0:
        return np.zeros(hi.shape[1:]), np.zeros(hi.shape[1:])
    while m > 1:
        h = m // 2
        sh, sl = _dd_add(hi[:h], lo[:h], hi[h : 2 * h], lo[h : 2 * h])
        if m % 2:
            sh[0], sl[0] = _dd_add(sh[0], sl[0], hi[2 * h], lo[2 * h])
        hi, lo, m = sh, sl, h
    return hi[0], lo[0]


def _dd_dot(a, b, axis):
    """Σ along ``axis`` of the products a·b (broadcast), in double-double: (hi, lo)."""
    p, e = _two_prod(a, b)
    return _dd_sum(p, e, axis)


def _dd_gram(A, y):
    """AᵀA and Aᵀy in double-double, in blocks of rows: ((hi, lo), (hi, lo))."""
    k = A.shape[1]
    Gh, Gl, bh, bl = np.zeros((k, k)), np.zeros((k, k)), np.zeros(k), np.zeros(k)
    rows = max(1, _DD_BLOCK // (k * k))
    for i in range(0, len(A), rows):
        a = A[i : i + rows]
        Gh, Gl = _dd_add(Gh, Gl, *_dd_dot(a[:, :, None], a[:, None, :], axis=0))
        bh, bl = _dd_add(bh, bl, *_dd_dot(a, y[i : i + rows, None], axis=0))
    return (Gh, Gl), (bh, bl)


def _dd_residual(A, y, z):
    """r = y − Az in double-double, in blocks of rows: (hi, lo)."""
    rh, rl = np.empty(len(y)), np.empty(len(y))
    rows = max(1, _DD_BLOCK // A.shape[1])
    for i in range(0, len(y), rows):
        ph, pl = _dd_dot(A[i : i + rows], z, axis=1)
        h, l = _two_sum(y[i : i + rows], -ph)
        rh[i : i + rows], rl[i : i + rows] = _two_sum(h, l - pl)
    return rh, rl


def _dd_augmented_residuals(A, b, c, x, r):
    """f = b − r − Ax and g = c − Aᵀr, each summed in double-double and rounded once.

    A (n, k), b and r (n, m), c and x (k, m): the residuals of the augmented system
    [I A; Aᵀ 0][r; x] = [b; c] for m right-hand sides at once.
    """
    n, k = A.shape
    m = b.shape[1]
    f = np.empty_like(r)
    gh, gl = np.zeros((k, m)), np.zeros((k, m))
    rows = max(1, _DD_BLOCK // (k * m))
    for i in range(0, n, rows):
        a = A[i : i + rows]
        ph, pl = _dd_dot(a[:, :, None], x[None, :, :], axis=1)
        h, l = _two_sum(b[i : i + rows], -r[i : i + rows])
        h2, l2 = _two_sum(h, -ph)
        f[i : i + rows] = h2 + ((l + l2) - pl)
        gh, gl = _dd_add(gh, gl, *_dd_dot(a[:, :, None], r[i : i + rows, None, :], axis=0))
    h, l = _two_sum(c, -gh)
    return f, h + (l - gl)


# --- passes over the data ----------------------------------------------------------------

Chunks = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
_T = TypeVar("_T")


class Group(Protocol):
    """The processes a solve runs on together, each passing over its own share of the rows
    (:class:`linearnet.distributed.Group`). Without one, a solve runs on this process alone."""

    def everyone(self, part: Callable[[], _T]) -> list[_T]:
        """Run ``part`` here and return every process's result, in rank order; when ``part``
        raises ValueError or TypeError on any process, raise the lowest rank's on all of them."""
        ...


def _everyone(group: Group | None, part: Callable[[], _T]) -> list[_T]:
    return [part()] if group is None else group.everyone(part)


def _total(parts: list) -> np.ndarray:
    """The sum of the processes' arrays, in rank order: the same numbers on every process."""
    out = np.array(parts[0], dtype=np.float64, copy=True)
    for part in parts[1:]:
        out += part
    return out


def _dd_total(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The sum of the processes' double-double (hi, lo) arrays, in rank order, in double-double."""
    hi, lo = parts[0]
    for h, l in parts[1:]:
        hi, lo = _dd_add(hi, lo, h, l)
    return hi, lo


def _in_memory(X, y) -> Chunks:
    def chunks():
        for i in range(0, len(X), _CHUNK):
            yield X[i : i + _CHUNK], y[i : i + _CHUNK]

    return chunks


def _scaled_chunks(chunks: Chunks, x_scale: np.ndarray, y_scale: float) -> Chunks:
    def scaled():
        for Xc, yc in chunks():
            yield Xc * x_scale, yc * y_scale

    return scaled


def _pow2(x) -> np.ndarray:
    """The powers of two nearest (in ratio) to ``x`` > 0; 1 where x is 0 (or not finite)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.round(np.log2(np.where((x > 0) & np.isfinite(x), x, 1.0)))
    return np.ldexp(1.0, e.astype(int))


class _Pass:
    """Sums over one pass: Gram matrix of A = [1, X] (intercept first), Aᵀy, and y's moments."""

    def __init__(self, chunks: Chunks, fit_intercept: bool, p: int, group: Group | None = None):
        _check_gram_fits(p + fit_intercept)
        parts = _everyone(group, lambda: self._sum(chunks, fit_intercept, p))
        G, Aty, colsum = (_total([part[i] for part in parts]) for i in range(3))
        n, y_mean, y_m2, yty = 0, 0.0, 0.0, 0.0
        for part in parts:  # each process's mean and centred sum of squares of y, merged as chunks are
            n, y_mean, y_m2 = merge_moments(n, y_mean, y_m2, *part[3:6])
            yty += part[6]
        if n == 0:
            raise ValueError("the data have no rows")
        self.G, self.Aty, self.n = G, Aty, n
        self.colsum = colsum
        self.tss_centered, self.tss_uncentered = y_m2, yty
        self.fit_intercept = fit_intercept

    @staticmethod
    def _sum(chunks: Chunks, fit_intercept: bool, p: int) -> tuple:
        """This process's sums: (G, Aᵀy, column sums, rows, y's mean, its centred sum of squares, yᵀy).

        On narrow chunks of many rows (k <= 32 columns) BLAS runs on one thread: a product of
        50,000 x 20 takes about 4 ms on one core, and OpenBLAS's threads, when the cores are busy
        with anything else, wait on each other for 7x that (solving a 1M x 20 CSV on a busy machine:
        17 s of its 34 s in this pass, 0.14 s on one thread).
        """
        import contextlib

        k = p + fit_intercept
        G, Aty, colsum = np.zeros((k, k)), np.zeros(k), np.zeros(p)
        n, y_mean, y_m2, yty = 0, 0.0, 0.0, 0.0
        narrow = k <= 32  # until a chunk of many rows has set BLAS to one thread
        with np.errstate(over="ignore", invalid="ignore"), contextlib.ExitStack() as one_thread:
            # sums that overflow are refused by name after the pass
            for Xc, yc in chunks():
                if narrow and len(Xc) >= 10_000:
                    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

                    one_thread.enter_context(threadpool_limits(1, user_api="blas"))
                    narrow = False
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
                m = len(yc)
                if m:
                    c_mean = float(yc.mean())
                    n, y_mean, y_m2 = merge_moments(n, y_mean, y_m2, m, c_mean, float(((yc - c_mean) ** 2).sum()))
                    yty += float(yc @ yc)
        return G, Aty, colsum, n, y_mean, y_m2, yty

    def finite(self) -> bool:
        return bool(np.isfinite(self.G).all() and np.isfinite(self.Aty).all() and math.isfinite(self.tss_uncentered))

    def underflows(self) -> bool:
        """Whether the squares of a column or of y fall where float64 loses digits (below 2⁻⁹⁰⁰, or to 0)."""
        squares = np.diag(self.G)[int(self.fit_intercept) :]
        return bool((squares < _TINY_SQUARES).any() or self.tss_uncentered < _TINY_SQUARES)

    def implicit_constant(self) -> bool:
        """Whether the columns, without an intercept, can still form a constant (like statsmodels)."""
        norms = np.sqrt(np.diag(self.G))
        d = 1.0 / np.where(norms > 0, norms, 1.0)
        z = np.linalg.lstsq(self.G * np.outer(d, d), d * self.colsum, rcond=1e-12)[0]
        return self.n - float((d * self.colsum) @ z) <= 1e-9 * self.n


def merge_moments(n: int, mean, m2, m: int, c_mean, c_m2):
    """Chan et al.'s pairwise update: the count, mean and centred sum of squares of two parts (n rows with
    ``mean`` and ``m2``, m rows with ``c_mean`` and ``c_m2``) together; the moments are numbers, or arrays
    of a column's each."""
    if m == 0:
        return n, mean, m2
    total = n + m
    delta = c_mean - mean
    return total, mean + delta * m / total, m2 + c_m2 + delta * delta * n * m / total


def _max_abs(chunks: Chunks, p: int, group: Group | None = None) -> tuple[np.ndarray, float]:
    """The largest |value| of each column of X and of y, in one pass."""

    def part() -> tuple[np.ndarray, float]:
        x_max, y_max = np.zeros(p), 0.0
        for Xc, yc in chunks():
            if len(yc):
                x_max = np.maximum(x_max, np.abs(Xc).max(axis=0))
                y_max = max(y_max, float(np.abs(yc).max()))
        return x_max, y_max

    parts = _everyone(group, part)
    return np.max([x for x, _ in parts], axis=0), max(y for _, y in parts)


def _design(Xc, fit_intercept, dtype=np.float64):
    Xc = Xc.astype(dtype, copy=False)
    if not fit_intercept:
        return Xc
    return np.concatenate([np.ones((len(Xc), 1), dtype), Xc], axis=1)


def _residual_pass(
    chunks: Chunks,
    z: np.ndarray,
    d: np.ndarray,
    fit_intercept: bool,
    extended: bool,
    gradient: bool = True,
    group: Group | None = None,
):
    """(AD)ᵀr (if ``gradient``) and rᵀr for r = y − ADz, summed in double-double if ``extended``, else in float64."""
    parts = _everyone(group, lambda: _residual_part(chunks, z, d, fit_intercept, extended, gradient))
    g, gl = _dd_total([(g, gl) for g, gl, _ in parts])
    return g + gl, math.fsum(rss for _, _, rss in parts)


def _residual_part(chunks: Chunks, z: np.ndarray, d: np.ndarray, fit_intercept: bool, extended: bool, gradient: bool):
    """This process's (AD)ᵀr as a (hi, lo) pair and its rᵀr."""
    g, gl = np.zeros(len(z)), np.zeros(len(z))
    rss = 0.0
    beta = d * z  # exact: d holds powers of two
    off = int(fit_intercept)
    for Xc, yc in chunks():
        if extended:
            A = _design(Xc, fit_intercept) * d
            rh, rl = _dd_residual(A, yc, z)
            if gradient:
                rows = max(1, _DD_BLOCK // len(z))
                for i in range(0, len(rh), rows):
                    g, gl = _dd_add(g, gl, *_dd_dot(A[i : i + rows], rh[i : i + rows, None], axis=0))
                gl += A.T @ rl
            rss += float(rh @ rh + 2 * (rh @ rl))
        else:
            r = yc - Xc @ beta[off:] - (beta[0] if fit_intercept else 0.0)
            if gradient:
                g[off:] += d[off:] * (Xc.T @ r)
                if fit_intercept:
                    g[0] += d[0] * r.sum()
            rss += float(r @ r)
    return g, gl, rss


# --- the solvers -------------------------------------------------------------------------


def _cholesky_upper(Gs):
    L = np.linalg.cholesky(Gs)
    return L.T


def _solve_r(R, v):
    """R⁻¹R⁻ᵀ v for upper-triangular R."""
    from scipy.linalg import solve_triangular

    return solve_triangular(R, solve_triangular(R, v, trans="T"), trans="N")


def _inverse_gram(R):
    """R⁻¹R⁻ᵀ = (RᵀR)⁻¹."""
    from scipy.linalg import solve_triangular

    Rinv = solve_triangular(R, np.eye(len(R)))
    return Rinv @ Rinv.T


def _change(dx, x):
    """The size of a correction: max |dx| / |x| over the entries, those near 0 measured against max |x|."""
    floor = 1e-18 * float(np.max(np.abs(x))) + 1e-300
    return float(np.max(np.abs(dx) / np.maximum(np.abs(x), floor)))


def _refine(correction, x, tol, measure=lambda v: v):
    """x += correction(x) until the corrections reach ``tol`` or stop shrinking; returns x and the steps.

    The size of a correction is its largest entry relative to x's (componentwise). Refinement
    goes on while that size at least halves a step, or while the largest entry itself
    (normwise) at least falls fourfold: a componentwise size that grows then is taken for x's
    small entries not yet found, not for a stall. A correction that grows
    normwise to more than twice the one before means the iteration diverges (the condition
    is beyond what it converges for): the step before it is undone.
    """
    steps, previous, previous_norm, last = 0, math.inf, math.inf, None
    for steps in range(1, _MAX_REFINE + 1):  # noqa: B007 - the count of steps taken is returned
        dx = correction(x)
        size, norm = _change(measure(dx), measure(x)), float(np.max(np.abs(measure(dx))))
        if size > previous / 2 and norm > previous_norm / 4:  # converged to rounding level, or diverging
            if last is not None and norm > 2 * previous_norm:
                x = x - last
            break
        x, last, previous, previous_norm = x + dx, dx, size, norm
        if size <= tol:
            break
    return x, steps


def _refine_seminormal(chunks, z, R, d, fit_intercept, extended, tol, group=None):
    """Iterative refinement z += R⁻¹R⁻ᵀ (AD)ᵀr of the scaled coefficients, a pass over the data per step.

    Returns z, the steps, and what the last pass found: (its z, (AD)ᵀr there, rᵀr there), from
    which the residual sum of squares at the z returned follows with no pass more.
    """
    last: list = []

    def correction(v):
        g, rss = _residual_pass(chunks, v, d, fit_intercept, extended, group=group)
        last[:] = [v, g, rss]
        return _solve_r(R, g)

    z, steps = _refine(correction, z, tol)
    return z, steps, tuple(last)


def _rss_from(last, z: np.ndarray, Gs: np.ndarray) -> float:
    """‖y − ADz‖² from a pass at a nearby z₀ that found g = (AD)ᵀr₀ and r₀ᵀr₀: with δ = z − z₀,
    ‖r₀ − ADδ‖² = r₀ᵀr₀ − 2δᵀg + δᵀ(AD)ᵀ(AD)δ, exact algebra; δ is the last refinement step
    (or nothing), so the two terms added are at rounding level beside r₀ᵀr₀."""
    z0, g, rss = last
    delta = z - z0
    if not delta.any():
        return rss
    return float(rss - 2 * (delta @ g) + delta @ (Gs @ delta))


def _refine_normal(G, rhs, R, x, tol, measure=lambda v: v):
    """Refine x in G x = rhs, with G = (hi, lo) and rhs = (hi, lo) in double-double and R ≈ chol(G).

    x is (k,) or (k, m); each step costs O(k²m), not a pass over the data.
    """
    Gh, Gl = G
    bh, bl = rhs

    def correction(x):
        ph, pl = _dd_dot(Gh[:, :, None], x.reshape(len(x), -1)[None, :, :], axis=1)
        h, l = _two_sum(bh.reshape(ph.shape), -ph)
        return _solve_r(R, h + ((l + bl.reshape(ph.shape)) - (pl + Gl @ x.reshape(ph.shape)))).reshape(x.shape)

    return _refine(correction, x, tol, measure)


def _augmented(As, Q, R, b, c, x, r, tol, measure=lambda v: v):
    """Björck's refinement of [I As; Asᵀ 0][r; x] = [b; c] with the thin QR factors of As.

    Residuals in double-double; each step shrinks the error by about cond(As)·ε.
    b, r (n, m); c, x (k, m). Returns x, r and the steps taken.
    """
    from scipy.linalg import solve_triangular

    k = len(x)

    def correction(xr):
        f, g = _dd_augmented_residuals(As, b, c, xr[:k], xr[k:])
        qf_h = Q.T @ f - solve_triangular(R, g, trans="T")
        return np.concatenate([solve_triangular(R, qf_h), f - Q @ qf_h])

    xr, steps = _refine(correction, np.concatenate([x, r]), tol, lambda v: measure(v[:k]))
    return xr[:k], xr[k:], steps


def _refine_factor(chunks, R, d, fit_intercept, group=None):
    """The second step of CholeskyQR2: R ← chol(QᵀQ)·R with Q = ADR⁻¹, one pass over the data.

    R from the Cholesky factor of the float64 Gram matrix is off by about cond(AD)²·ε; after
    this step, by about cond(AD)·ε, as a Householder QR of the data would be.
    """
    from scipy.linalg import solve_triangular
    from scipy.linalg.blas import dsyrk

    k = len(R)

    def part() -> np.ndarray:
        G2 = np.zeros((k, k), order="F")  # its upper triangle
        for Xc, _ in chunks():
            Qt = solve_triangular(R, (_design(Xc, fit_intercept) * d).T, trans="T")  # (ADR⁻¹)ᵀ, Fortran order
            G2 = dsyrk(1.0, Qt, beta=1.0, c=G2, overwrite_c=True)
        return G2

    G2 = _total(_everyone(group, part))
    return _cholesky_upper(np.triu(G2) + np.triu(G2, 1).T) @ R


def _tsqr(chunks, d, fit_intercept, group=None):
    """R of the QR factorisation of AD from stacked chunk factors (memory: one chunk); across
    processes, the QR of their factors stacked in rank order."""

    def part() -> np.ndarray:
        R = np.zeros((0, len(d)))
        for Xc, _ in chunks():
            R = cast(np.ndarray, np.linalg.qr(np.vstack([R, _design(Xc, fit_intercept) * d]), mode="r"))
        return R

    parts = _everyone(group, part)
    return parts[0] if len(parts) == 1 else np.linalg.qr(np.vstack(parts), mode="r")


def _rank_and_nullspace(Rs, n):
    """Numerical rank of the scaled triangular factor, its singular values, and the directions it cannot resolve."""
    s, vt = np.linalg.svd(Rs)[1:]
    tol = 10 * math.sqrt(max(n, Rs.shape[0])) * _EPS * s[0]
    rank = int((s > tol).sum())
    return rank, s, vt[rank:]


def _unit_condition(R) -> float:
    """The condition number of the design with unit-norm columns, from its triangular factor."""
    norms = np.linalg.norm(R, axis=0)
    s = np.linalg.svd(R / np.where(norms > 0, norms, 1.0), compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf


def _nonfinite_message(memory, feature_names):
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


def _dependent_message(names, null, rank, k):
    involved = sorted(
        {names[j] for v in null for j in np.flatnonzero(np.abs(v) > 1e-3 * np.abs(v).max())}, key=names.index
    )
    return (
        f"the columns {', '.join(involved)} are linearly dependent (rank {rank} of {k} parameters): "
        f"drop one of them, or allow a rank-deficient design (--allow-rank-deficient) for the "
        f"minimum-norm solution"
    )


def _too_few_rows(n: int, p: int, fit_intercept: bool) -> str:
    k = p + fit_intercept
    return (
        f"the data have {n:,} rows but the model has {k:,} parameters "
        f"({p:,} features{' + intercept' if fit_intercept else ''}); "
        f"need at least {k:,} rows, or allow a rank-deficient design "
        f"(--allow-rank-deficient) for the minimum-norm solution"
    )


def _check_gram_fits(k: int) -> None:
    """Refuse, before the first k × k matrix is made, a solve whose matrices cannot fit in memory."""
    from .memory import available_bytes, human_bytes

    need, have = _GRAM_COPIES * 8 * k * k, available_bytes()
    if need > have:
        raise ValueError(
            f"{k:,} parameters need about {human_bytes(need)} for the solve's {k:,} × {k:,} matrices (the "
            f"Gram matrix and its working copies) and {human_bytes(have)} is available; use fewer features"
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
    if 0 < len(X) < X.shape[1] + fit_intercept and not allow_rank_deficient:  # said before a k × k matrix is made
        raise ValueError(_too_few_rows(len(X), X.shape[1], fit_intercept))
    return _solve(_Problem(_in_memory(X, y), names, fit_intercept, memory=(X, y)), allow_rank_deficient)


def solve_chunks(
    chunks: Chunks,
    feature_names: list[str],
    *,
    fit_intercept: bool = True,
    allow_rank_deficient: bool = False,
    group: Group | None = None,
) -> OLSResult:
    """:func:`solve` over data that arrive in chunks: ``chunks()`` starts a new pass each call.

    Each pass reads the data once; memory holds one chunk and a few k × k matrices. Given a
    ``group`` (:func:`linearnet.distributed.group`), each process passes over its own share of
    the rows and the processes combine their sums and factors: every one of them returns the
    solution of all the rows, with the same path, checks and messages as one process would.
    """
    problem = _Problem(chunks, list(feature_names), fit_intercept, memory=None, group=group)
    return _solve(problem, allow_rank_deficient)


@dataclass
class _Problem:
    """What every step of a solve needs: the data, the names, and what the first pass found.

    When squares of the data would underflow (features in tiny units), the problem is solved
    in units where each column's and y's largest |value| lies in [½, 1): powers of two, so the
    data are not rounded; ``unit`` and ``y_unit`` carry the results back.
    """

    chunks: Chunks  # a new pass over the data each call
    feature_names: list[str]
    fit_intercept: bool
    memory: tuple[np.ndarray, np.ndarray] | None  # (X, y) when the data are in memory
    group: Group | None = None  # the processes sharing the rows (None: this one holds them all)
    first: _Pass = field(init=False)  # Gram matrix, Aᵀy and y's moments
    d: np.ndarray = field(init=False)  # column scaling D: powers of two nearest 1 / column norms
    unit: np.ndarray = field(init=False)  # coefficient j of the data = coefficient j solved for · unit[j]
    col_unit: np.ndarray = field(init=False)  # column j of the design solved for = column j of the data · col_unit[j]
    y_unit: float = field(init=False)  # y of the data = y solved for · y_unit

    def __post_init__(self):
        self.first = _Pass(self.chunks, self.fit_intercept, len(self.feature_names), self.group)
        k = len(self.names)
        self.unit, self.col_unit, self.y_unit = np.ones(k), np.ones(k), 1.0
        if self.first.finite() and self.first.underflows():
            self._rescale()
        norms = np.sqrt(np.diag(self.first.G))
        self.d = 1.0 / _pow2(norms)

    def _rescale(self):
        off = int(self.fit_intercept)
        x_max, y_max = _max_abs(self.chunks, len(self.feature_names), self.group)
        x_scale = np.ldexp(1.0, -np.frexp(x_max)[1])  # largest |value| in [½, 1); 1 for a column of zeros
        y_scale = float(np.ldexp(1.0, -np.frexp(y_max)[1]))
        if self.memory is not None:
            X, y = self.memory
            self.memory = (X * x_scale, y * y_scale)
            self.chunks = _in_memory(*self.memory)
        else:
            self.chunks = _scaled_chunks(self.chunks, x_scale, y_scale)
        self.first = _Pass(self.chunks, self.fit_intercept, len(self.feature_names), self.group)
        self.col_unit[off:] = x_scale
        self.y_unit = 1.0 / y_scale
        self.unit = self.col_unit * self.y_unit  # β_data = β_solved · col_unit / y_scale

    @property
    def names(self) -> list[str]:
        constant = "(intercept)" if "intercept" in self.feature_names else "intercept"  # a column may have its name
        return ([constant] if self.fit_intercept else []) + self.feature_names

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


def _gram_condition(Gs) -> float:
    """cond(AD) with unit-norm columns, from the eigenvalues of the Gram matrix."""
    diag = np.diag(Gs)
    u = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    lam = np.linalg.eigvalsh(Gs * np.outer(u, u))
    return math.sqrt(lam[-1] / lam[0]) if lam[0] > 0 else math.inf


def _solve(p: _Problem, allow_rank_deficient: bool) -> OLSResult:
    names, n, first, d = p.names, p.n, p.first, p.d
    k = len(names)
    if not first.finite():
        raise ValueError(_nonfinite_message(p.memory, p.feature_names))
    if n < k and not allow_rank_deficient:
        raise ValueError(_too_few_rows(n, len(p.feature_names), p.fit_intercept))
    Gs = first.G * np.outer(d, d)  # exact: d holds powers of two
    scaled_cond = _gram_condition(Gs)
    tol = 4 * _EPS
    small = n * k * k <= _DD_WORK
    Q = None

    if scaled_cond <= FAST_PATH_MAX_COND:
        method = "cholesky"
        R = _cholesky_upper(Gs)
    elif p.memory is not None:
        method = "qr" if scaled_cond <= SEMINORMAL_MAX_COND else "qr-augmented"
        As = _design(p.memory[0], p.fit_intercept) * d  # exact: d holds powers of two
        if method == "qr-augmented" or small:
            Q, R = np.linalg.qr(As, mode="reduced")
        else:
            R = np.linalg.qr(As, mode="r")
    else:
        method = "tsqr"
        R = _tsqr(p.chunks, d, p.fit_intercept, p.group)

    factor = _Factor(R, *_rank_and_nullspace(R, n))
    if factor.rank < k or n < k:
        if not allow_rank_deficient:
            raise ValueError(_dependent_message(names, factor.null, factor.rank, k))
        return _min_norm(p, factor)

    steps, last = 0, None
    # small problems (n·k² ≤ _DD_WORK): the Gram matrix summed in double-double, to refine the covariance
    # (and the Cholesky path's coefficients) against, at O(k³) per step instead of a pass over the data
    normal = _dd_normal_equations(p.chunks, d, p.fit_intercept, p.group) if small and method != "qr-augmented" else None
    if Q is not None:  # in memory, and small or ill-conditioned: the augmented system, refined from the data
        assert p.memory is not None
        from scipy.linalg import solve_triangular

        y = p.memory[1][:, None]
        z0 = solve_triangular(R, Q.T @ y)
        z, _, steps = _augmented(As, Q, R, y, np.zeros((k, 1)), z0, y - As @ z0, tol)
        z = z[:, 0]
    else:
        z = _solve_r(R, d * first.Aty)
        if method != "cholesky":  # R from QR: the semi-normal equations, residuals of the data in double-double
            z, steps, last = _refine_seminormal(p.chunks, z, R, d, p.fit_intercept, True, tol, p.group)
        elif normal is not None:
            z, steps = _refine_normal(normal[0], normal[1], R, z, tol)
        else:  # large data on the fast path
            if scaled_cond > 30:  # the Cholesky factor is off by cond²·ε: refine it (CholeskyQR2)
                R = _refine_factor(p.chunks, R, d, p.fit_intercept, p.group)
            # the error of the normal equations, about cond²·ε·max|z|, relative to the smallest coefficient
            if scaled_cond > 30 or scaled_cond**2 * _EPS * np.abs(z).max() > 1e-12 * np.abs(z).min():
                z, steps, last = _refine_seminormal(p.chunks, z, R, d, p.fit_intercept, False, tol, p.group)
    C = _inverse_gram(R)  # (AD)ᵀ(AD) = RᵀR, so (AᵀA)⁻¹ = D R⁻¹R⁻ᵀ D
    if normal is not None:
        C = _refine_normal(normal[0], (np.eye(k), np.zeros((k, k))), R, C, tol, np.diagonal)[0]
    elif small:  # beyond the normal equations: the columns of C solve the augmented system with b = 0, c = −I
        assert Q is not None
        C = _augmented(As, Q, R, np.zeros((n, k)), -np.eye(k), C, -(As @ C), tol, np.diagonal)[0]
    if method == "tsqr" and _unit_condition(R) > SEMINORMAL_MAX_COND:  # from the factor: the Gram's is noise there
        warnings.warn(
            f"the design is too ill-conditioned (scaled condition number {_unit_condition(R):.2g}) "
            f"to be solved to full accuracy in chunks; load it into memory for the "
            f"augmented QR method",
            IllConditionedWarning,
            stacklevel=3,
        )
    factor.R = R
    extended = small or method != "cholesky"  # as the refinement passes summed, where they ran
    rss = None if last is None else _rss_from(last, z, Gs)
    return _finish(p, factor, d * z, C * np.outer(d, d), method, steps, extended, rss)


def _dd_normal_equations(chunks: Chunks, d: np.ndarray, fit_intercept: bool, group: Group | None = None):
    """(AD)ᵀ(AD) and (AD)ᵀy summed in double-double, one pass: ((hi, lo), (hi, lo))."""
    k = len(d)

    def part():
        Gh, Gl, bh, bl = np.zeros((k, k)), np.zeros((k, k)), np.zeros(k), np.zeros(k)
        for Xc, yc in chunks():
            (gh, gl), (ch, cl) = _dd_gram(_design(Xc, fit_intercept) * d, yc)
            Gh, Gl = _dd_add(Gh, Gl, gh, gl)
            bh, bl = _dd_add(bh, bl, ch, cl)
        return (Gh, Gl), (bh, bl)

    parts = _everyone(group, part)
    return _dd_total([G for G, _ in parts]), _dd_total([b for _, b in parts])


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
    if (p.unit != 1).any():
        # Rescaled units (tiny data): the norm minimised is still that of the coefficients of the data,
        # β_data = Wβ with W = diag(unit). The solutions differ by N = W·D·(directions R cannot
        # resolve); projecting W·pinv(B) off N gives the minimum-norm one, with no pinv of the
        # badly scaled B·W⁻¹ (whose small singular values would be cut off). Entries of those
        # directions at rounding level are not part of the dependence: W would blow them up.
        null = vt[factor.rank :].T
        null = np.where(np.abs(null) > 1e-12, null, 0.0)
        N = np.linalg.qr((p.unit * p.d)[:, None] * null)[0]
        B_pinv = p.unit[:, None] * B_pinv
        B_pinv = (B_pinv - N @ (N.T @ B_pinv)) / p.unit[:, None]
    beta = B_pinv @ ((V.T @ (p.d * p.first.Aty)) / S2)
    cov_unscaled = (B_pinv / S2) @ B_pinv.T
    warnings.warn(
        f"the design has rank {factor.rank} of {len(p.names)} parameters; returning the minimum-norm solution",
        RankDeficientWarning,
        stacklevel=4,
    )
    return _finish(p, factor, beta, cov_unscaled, "pinv", 0, False)


def _finish(
    p: _Problem,
    factor: _Factor,
    beta,
    cov_unscaled,
    method: str,
    steps: int,
    extended: bool,
    rss: float | None = None,
) -> OLSResult:
    """The statistics of coefficients ``beta`` with (AᵀA)⁻¹ = ``cov_unscaled``: one more pass for the RSS,
    unless a refinement pass left it (``rss``).

    ``extended``: sum the residuals in double-double (the accurate paths, and small problems).
    """
    from scipy import stats

    if rss is None:
        _, rss = _residual_pass(p.chunks, beta / p.d, p.d, p.fit_intercept, extended, gradient=False, group=p.group)
    n, rank, first = p.n, factor.rank, p.first
    df = n - rank
    sigma2 = rss / df if df > 0 else math.nan
    bse = np.sqrt(np.maximum(np.diag(cov_unscaled), 0) * sigma2)
    # back to the units of the data (the identity unless tiny units were rescaled): powers of two, exact
    beta, bse = beta * p.unit, bse * p.unit
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
    # unscaled condition number: singular values of A = (AD)·D⁻¹ = Q·R·D⁻¹ (and of the data's units)
    sv = np.linalg.svd(factor.R / (p.d * p.col_unit)[None, :], compute_uv=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 else math.inf
    sigma = math.sqrt(sigma2) * p.y_unit if sigma2 == sigma2 else math.nan
    return OLSResult(
        names=p.names,
        params=beta,
        bse=bse,
        tvalues=tvalues,
        pvalues=pvalues,
        conf_int=conf,
        sigma=sigma,
        r2=r2,
        adj_r2=adj,
        n=n,
        rank=rank,
        condition_number=cond,
        scaled_condition_number=_unit_condition(factor.R),
        fit_intercept=p.fit_intercept,
        method=method,
        refinement_steps=steps,
        feature_names=list(p.feature_names),
    )

"""The passes over the data: each reads every chunk once and sums what a step of the solve needs.

A solve reads its data only through these passes. With a ``group`` (several processes, each
holding its share of the rows), each process sums its share and the processes' sums are
gathered and added in rank order, so that every process holds the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

from .dd import DD_BLOCK, EPS, dd_add, dd_dot, dd_gram, dd_residual
from .triangle import Triangle, stacked

if TYPE_CHECKING:
    from .gram import Provisional

# What a pass needs of the data: a call that reads them once, as (X, y) chunks. A
# :class:`linearnet.batches.Chunks` (a file read a pass at a time) is one; arrays in memory are
# another (:func:`in_memory`).
Rows = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]
_T = TypeVar("_T")
_CHUNK = 65536  # rows per block of a pass over arrays in memory (a block of arithmetic, not a read: see CHUNK_ROWS)
_GRAM_COPIES = 5  # k × k float64 matrices a solve holds at its peak: the Gram matrix, its scaled copies, R, ...
DD_WORK = 1 << 18  # n·k² up to which the normal equations are also summed in double-double (small problems)
_TINY_SQUARES = 2.0**-900  # a column whose sum of squares is below this is solved in rescaled units


class Group(Protocol):
    """The processes a solve runs on together, each passing over its own share of the rows
    (:class:`linearnet.distributed.Group`). Without one, a solve runs on this process alone."""

    def everyone(self, part: Callable[[], _T]) -> list[_T]:
        """Run ``part`` here and return every process's result, in rank order; when ``part``
        raises ValueError or TypeError on any process, raise the lowest rank's on all of them."""
        ...


def everyone(group: Group | None, part: Callable[[], _T]) -> list[_T]:
    return [part()] if group is None else group.everyone(part)


def total(parts: list) -> np.ndarray:
    """The sum of the processes' arrays, in rank order: the same numbers on every process."""
    out = np.array(parts[0], dtype=np.float64, copy=True)
    for part in parts[1:]:
        out += part
    return out


def dd_total(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The sum of the processes' double-double (hi, lo) arrays, in rank order, in double-double."""
    hi, lo = parts[0]
    for h, l in parts[1:]:
        hi, lo = dd_add(hi, lo, h, l)
    return hi, lo


def in_memory(X, y) -> Rows:
    def chunks():
        for i in range(0, len(X), _CHUNK):
            yield X[i : i + _CHUNK], y[i : i + _CHUNK]

    return chunks


def scaled_chunks(chunks: Rows, x_scale: np.ndarray, y_scale: float) -> Rows:
    def scaled():
        for Xc, yc in chunks():
            yield Xc * x_scale, yc * y_scale

    return scaled


def pow2(x) -> np.ndarray:
    """The powers of two nearest (in ratio) to ``x`` > 0; 1 where x is 0 (or not finite)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.round(np.log2(np.where((x > 0) & np.isfinite(x), x, 1.0)))
    return np.ldexp(1.0, e.astype(int))


class FirstPass:
    """Sums over one pass: Gram matrix of A = [1, X] (intercept first), Aᵀy, and y's moments; with ``factor``,
    also the R factor of [A y] (:class:`.triangle.Triangle`), from which the coefficients, the residual sum of
    squares and the covariance follow with no pass more; while the rows seen keep n·k² ≤ ``dd_work``
    (small problems), AᵀA, Aᵀy and yᵀy summed in double-double (``dd``: ((hi, lo), (hi, lo), (hi, lo)), or None);
    and over larger arrays in ``memory``, Aᵀr₀ and r₀ᵀr₀ at a provisional solution β₀ from the same read of X
    (``provisional``: :class:`.gram.Provisional`, or None), from which the same follow with no pass more."""

    def __init__(
        self,
        chunks: Rows,
        fit_intercept: bool,
        p: int,
        group: Group | None = None,
        factor: bool = False,
        dd_work=0,
        memory: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        k = p + fit_intercept
        check_gram_fits(k)

        def here() -> _Sums:
            sums = _Sums(k, fit_intercept, factor, dd_work)
            if memory is not None and len(memory[1]) * k * k > dd_work and not factor:
                return sums.whole(*memory)  # large arrays in memory: one read of X, on both cores
            return sums.over(chunks)

        parts = everyone(group, here)
        G, Aty = (total([part.G for part in parts]), total([part.Aty for part in parts]))
        n, y_mean, y_m2, yty = 0, 0.0, 0.0, 0.0
        for part in parts:  # each process's mean and centred sum of squares of y, merged as chunks are
            n, y_mean, y_m2 = merge_moments(n, y_mean, y_m2, part.n, part.y_mean, part.y_m2)
            yty += part.yty
        if n == 0:
            raise ValueError("the data have no rows")
        self.G, self.Aty, self.n = G, Aty, n
        self.tss_centered, self.tss_uncentered = y_m2, yty
        self.fit_intercept = fit_intercept
        # arrays in memory: Aᵀr₀ and r₀ᵀr₀ at a provisional solution β₀, read with the Gram matrix (:mod:`.gram`)
        self.provisional = parts[0].provisional if len(parts) == 1 else None
        triangles = [part.triangle.R for part in parts if part.triangle is not None]
        self.R = stacked(triangles) if factor else None  # of [A y], unscaled
        dds = [part.dd for part in parts if part.dd is not None]
        self.dd = tuple(dd_total([d[i] for d in dds]) for i in range(3)) if len(dds) == len(parts) else None

    def finite(self) -> bool:
        return bool(np.isfinite(self.G).all() and np.isfinite(self.Aty).all() and math.isfinite(self.tss_uncentered))

    def underflows(self) -> bool:
        """Whether the squares of a column or of y fall where float64 loses digits (below 2⁻⁹⁰⁰, or to 0)."""
        squares = np.diag(self.G)[int(self.fit_intercept) :]
        return bool((squares < _TINY_SQUARES).any() or self.tss_uncentered < _TINY_SQUARES)


class _Sums:
    """One process's sums of a first pass, added chunk by chunk.

    On chunks of many rows BLAS runs on one thread, whatever the width: a product of 50,000 x 20
    takes about 4 ms on one core, and OpenBLAS's threads, when the cores are busy with anything
    else, wait on each other for 7x that (solving a 1M x 20 CSV on a busy machine: 17 s of its
    34 s in this pass, 0.14 s on one thread); on 500,000 x 69 in chunks of 50,000, this pass took
    0.63 s on one thread and 4.1 to 8.6 s on two beside busy processes. Reading the chunks
    dominates a pass anyway.
    """

    def __init__(self, k: int, fit_intercept: bool, factor: bool, dd_work: int):
        self.k, self.off, self.dd_work = k, int(fit_intercept), dd_work
        self.G, self.Aty = np.zeros((k, k)), np.zeros(k)
        self.n, self.y_mean, self.y_m2, self.yty = 0, 0.0, 0.0, 0.0
        self.triangle = Triangle(k, fit_intercept) if factor else None
        self.provisional: Provisional | None = None  # found by :meth:`whole` (arrays in memory)
        z = np.zeros
        self.dd: tuple | None = ((z((k, k)), z((k, k))), (z(k), z(k)), (z(()), z(()))) if dd_work > 0 else None

    def over(self, chunks: Rows) -> _Sums:
        import contextlib

        pending = True  # until a chunk of many rows has set BLAS to one thread
        with np.errstate(over="ignore", invalid="ignore"), contextlib.ExitStack() as one_thread:
            # sums that overflow are refused by name after the pass
            for Xc, yc in chunks():
                if pending and len(Xc) >= 10_000:
                    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

                    one_thread.enter_context(threadpool_limits(1, user_api="blas"))
                    pending = False
                self.add(Xc, yc)
        if self.triangle is not None:
            self.triangle.release()
        return self

    def whole(self, X: np.ndarray, y: np.ndarray) -> _Sums:
        """The sums over arrays in memory in one read of X, on both cores (:mod:`.gram`): XᵀX, Xᵀ[y, 1], and
        Aᵀr₀, r₀ᵀr₀ at a provisional solution β₀ (:attr:`provisional`), from which the solve needs no pass
        more; y's moments from y alone."""
        from .gram import Provisional, read

        off, G, Aty, p = self.off, self.G, self.Aty, X.shape[1]
        beta0, M = read(X, y, bool(off))
        n = len(y)
        G[off:, off:] = M[:p, :p]
        Aty[off:] = M[:p, p]
        g = np.concatenate([M[p + 1 : p + 2, p + 2], M[:p, p + 1]]) if off else M[:p, p + 1].copy()
        if off:
            G[0, 0] = n
            G[0, 1:] = G[1:, 0] = M[:p, p + 2]
            Aty[0] = M[p, p + 2]
        with np.errstate(over="ignore", invalid="ignore"):
            c_mean = float(y.mean()) if n else 0.0
            self.n, self.y_mean, self.y_m2 = n, c_mean, float(((y - c_mean) ** 2).sum())
            self.yty = float(y @ y)
            rr = float(M[p + 1, p + 1])
            products = math.sqrt(self.k * float(beta0**2 @ np.abs(np.diag(G))))  # √k·‖A∘β₀‖ over the rows
            rounding = EPS / 2 * (math.sqrt(abs(self.yty)) + math.sqrt(abs(rr)) + products)
        if math.isfinite(rounding) and np.isfinite(g).all():  # else (data not finite) refused after the pass
            self.provisional = Provisional(beta0, g, rr, rounding)
        return self

    def _add_sums(self, XtY2: np.ndarray, yc: np.ndarray) -> None:
        """Xᵀy and, with an intercept, the column sums, n and Σy from Xᵀ[y, 1]."""
        off, G, Aty = self.off, self.G, self.Aty
        Aty[off:] += XtY2[:, 0]
        if off:
            G[0, 0] += len(yc)
            G[0, 1:] += XtY2[:, 1]
            G[1:, 0] += XtY2[:, 1]
            Aty[0] += yc.sum()

    def add(self, Xc: np.ndarray, yc: np.ndarray) -> None:
        off, G = self.off, self.G
        G[off:, off:] += Xc.T @ Xc
        Y2 = np.ones((len(yc), 2))  # [y, 1]: Xᵀy and the column sums in one product
        Y2[:, 0] = yc
        self._add_sums(Xc.T @ Y2, yc)
        m = len(yc)
        if m:
            c_mean = float(yc.mean())
            self.n, self.y_mean, self.y_m2 = merge_moments(
                self.n, self.y_mean, self.y_m2, m, c_mean, float(((yc - c_mean) ** 2).sum())
            )
            self.yty += float(yc @ yc)
        if self.triangle is not None:
            self.triangle.add(Xc, yc)
        if self.dd is not None:
            self._add_dd(Xc, yc)

    def _add_dd(self, Xc: np.ndarray, yc: np.ndarray) -> None:
        """AᵀA, Aᵀy and yᵀy added in double-double while the rows seen keep n·k² ≤ dd_work, else dropped."""
        if self.n * self.k * self.k > self.dd_work:
            self.dd = None
            return
        assert self.dd is not None
        (Gh, Gl), (bh, bl), (yh, yl) = self.dd
        (gh, gl), (ch, cl) = dd_gram(design(Xc, bool(self.off)), yc)
        self.dd = (dd_add(Gh, Gl, gh, gl), dd_add(bh, bl, ch, cl), dd_add(yh, yl, *dd_dot(yc, yc, axis=0)))


def merge_moments(n: int, mean, m2, m: int, c_mean, c_m2):
    """Chan et al.'s pairwise update: the count, mean and centred sum of squares of two parts (n rows with
    ``mean`` and ``m2``, m rows with ``c_mean`` and ``c_m2``) together; the moments are numbers, or arrays
    of a column's each."""
    if m == 0:
        return n, mean, m2
    count = n + m
    delta = c_mean - mean
    return count, mean + delta * m / count, m2 + c_m2 + delta * delta * n * m / count


def max_abs(chunks: Rows, p: int, group: Group | None = None) -> tuple[np.ndarray, float]:
    """The largest |value| of each column of X and of y, in one pass."""

    def part() -> tuple[np.ndarray, float]:
        x_max, y_max = np.zeros(p), 0.0
        for Xc, yc in chunks():
            if len(yc):
                x_max = np.maximum(x_max, np.abs(Xc).max(axis=0))
                y_max = max(y_max, float(np.abs(yc).max()))
        return x_max, y_max

    parts = everyone(group, part)
    return np.max([x for x, _ in parts], axis=0), max(y for _, y in parts)


def design(Xc, fit_intercept, dtype=np.float64):
    Xc = Xc.astype(dtype, copy=False)
    if not fit_intercept:
        return Xc
    return np.concatenate([np.ones((len(Xc), 1), dtype), Xc], axis=1)


def rss_in_memory(X: np.ndarray, y: np.ndarray, beta: np.ndarray, fit_intercept: bool) -> float:
    """rᵀr for r = y − [1, X]β (or y − Xβ) of arrays in memory, in float64: one product, no blocks."""
    off = int(fit_intercept)
    r = y - X @ beta[off:]
    if off:
        r -= beta[0]
    return float(r @ r)


def residual_pass(
    chunks: Rows,
    z: np.ndarray,
    d: np.ndarray,
    fit_intercept: bool,
    extended: bool,
    gradient: bool = True,
    group: Group | None = None,
):
    """(AD)ᵀr (if ``gradient``) and rᵀr for r = y − ADz, summed in double-double if ``extended``, else in float64."""
    parts = everyone(group, lambda: _residual_part(chunks, z, d, fit_intercept, extended, gradient))
    g, gl = dd_total([(g, gl) for g, gl, _ in parts])
    return g + gl, math.fsum(rss for _, _, rss in parts)


def _residual_part(chunks: Rows, z: np.ndarray, d: np.ndarray, fit_intercept: bool, extended: bool, gradient: bool):
    """This process's (AD)ᵀr as a (hi, lo) pair and its rᵀr."""
    g, gl = np.zeros(len(z)), np.zeros(len(z))
    rss = 0.0
    beta = d * z  # exact: d holds powers of two
    off = int(fit_intercept)
    for Xc, yc in chunks():
        if extended:
            A = design(Xc, fit_intercept) * d
            rh, rl = dd_residual(A, yc, z)
            if gradient:
                rows = max(1, DD_BLOCK // len(z))
                for i in range(0, len(rh), rows):
                    g, gl = dd_add(g, gl, *dd_dot(A[i : i + rows], rh[i : i + rows, None], axis=0))
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


def check_gram_fits(k: int) -> None:
    """Refuse, before the first k × k matrix is made, a solve whose matrices cannot fit in memory."""
    from ..memory import available_bytes, human_bytes

    need, have = _GRAM_COPIES * 8 * k * k, available_bytes()
    if need > have:
        raise ValueError(
            f"{k:,} parameters need about {human_bytes(need)} for the solve's {k:,} × {k:,} matrices (the "
            f"Gram matrix and its working copies) and {human_bytes(have)} is available; use fewer features"
        )

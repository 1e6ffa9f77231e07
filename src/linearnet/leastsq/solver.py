"""The solve: which path a design takes (by its scaled condition number, and whether the data are in
memory), and that path's steps: factor, check the rank, refine the coefficients, then the covariance.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from .dd import EPS
from .factor import (
    Factor,
    cholesky_upper,
    gram_condition,
    inverse_gram,
    rank_and_nullspace,
    refine_factor,
    solve_r,
    solve_triangular,
    unit_condition,
)
from .passes import DD_WORK, Group, design, in_memory, residual_pass
from .problem import Problem, as_arrays, dependent_message, nonfinite_message, too_few_rows
from .refine import augmented, refine_normal, refine_seminormal, rss_from
from .result import OLSResult, finish
from .robust import Robust, check_cov_type, cluster_values, rescaled
from .robust import in_memory as clusters_in_memory
from .triangle import dd_rss

if TYPE_CHECKING:
    from ..batches import Chunks
    from .weighted import WeightedRows

FAST_PATH_MAX_COND = 1e3  # scaled condition number up to which the Gram/Cholesky path is used
SEMINORMAL_MAX_COND = 3e7  # up to here refining the semi-normal equations converges (cond²·ε < 0.2)
_TOL = 4 * EPS  # refinement stops once a correction is this small, relative to what it corrects


class IllConditionedWarning(UserWarning):
    """The data were solved in chunks, and are too ill-conditioned for full accuracy that way."""


class RankDeficientWarning(UserWarning):
    """The design does not determine every coefficient; the minimum-norm one is returned."""


def solve(
    X,
    y,
    *,
    fit_intercept: bool = True,
    feature_names=None,
    allow_rank_deficient: bool = False,
    cov_type: str = "classical",
    groups=None,
    weights=None,
) -> OLSResult:
    """Exact least squares ŷ = Xw + b with statsmodels' statistics.

    Args:
        X: (n, p) NumPy array, torch tensor or DataFrame (its column names become the names).
        y: (n,) or (n, 1).
        fit_intercept: fit b (default) or force b = 0.
        feature_names: names for X's columns (default x1, x2, ...).
        allow_rank_deficient: return the minimum-norm solution, with a
            :class:`RankDeficientWarning`, instead of raising when the columns are dependent.
        cov_type: the covariance of the standard errors, t, p, intervals and F: "classical"
            σ̂²·(XᵀX)⁻¹, heteroskedasticity-consistent "HC0", "HC1", "HC2", "HC3" or cluster-robust
            "cluster", as R's ``sandwich::vcovHC`` and ``vcovCL`` (:mod:`linearnet.leastsq.robust`).
        groups: for ``cov_type="cluster"``, the cluster of each row, (n,): numbers or text.
        weights: (n,) weights ≥ 0 for weighted least squares, as R's ``lm(weights=)``
            (:mod:`.weighted`); rows of weight 0 are left out of n and the residual df.

    Example:
        >>> fit = solve(X, y)
        >>> fit.coef, fit.intercept, fit.bse, fit.r2
        >>> solve(X, y, cov_type="HC3").bse
    """
    check_cov_type(cov_type, groups)
    if weights is not None:
        from .weighted import solve_weighted

        return solve_weighted(
            X,
            y,
            weights,
            fit_intercept=fit_intercept,
            feature_names=feature_names,
            allow_rank_deficient=allow_rank_deficient,
            cov_type=cov_type,
            groups=groups,
        )
    X, y, names = as_arrays(X, y, feature_names)
    if 0 < len(X) < X.shape[1] + fit_intercept and not allow_rank_deficient:  # said before a k × k matrix is made
        raise ValueError(too_few_rows(len(X), X.shape[1], fit_intercept))
    g = None if groups is None else cluster_values(groups, len(X))
    problem = Problem(in_memory(X, y), names, fit_intercept, memory=(X, y))
    robust = None
    if cov_type != "classical":
        # the rows the solve holds (in its units: rescaled when tiny) with their clusters
        assert problem.memory is not None
        rows = None if g is None else clusters_in_memory(problem.memory[0], problem.memory[1], g)
        robust = Robust(cov_type, rows)
    return _solve(problem, allow_rank_deficient, robust)


def solve_chunks(
    chunks: Chunks | WeightedRows,
    feature_names: list[str],
    *,
    fit_intercept: bool = True,
    allow_rank_deficient: bool = False,
    group: Group | None = None,
    cov_type: str = "classical",
    groups=None,
    weights: str | None = None,
) -> OLSResult:
    """:func:`solve` over data that arrive in chunks: ``chunks()`` starts a new pass each call.

    Each pass reads the data once; memory holds one chunk and a few k × k matrices. Given a
    ``group`` (:func:`linearnet.distributed.group`), each process passes over its own share of
    the rows and the processes combine their sums and factors: every one of them returns the
    solution of all the rows, with the same path, checks and messages as one process would.

    Robust errors (``cov_type``, as in :func:`solve`) take one more pass. For ``"cluster"``,
    ``groups`` gives the rows with their clusters: the name of a column the chunks carry
    (``table_chunks(..., carry=["firm"])``, then ``groups="firm"``: read through
    ``chunks.carrying()``), or a call that starts a pass over the same rows, in the same order,
    as (X, y, cluster values) chunks, e.g. ``lambda: ((X, y, c["firm"]) for X, y, c in
    chunks.carrying()())``. Under a ``group``, each process's share; the sums of a cluster that
    spans processes are added up.

    With ``weights`` (the name of a carried column), ``chunks()`` yields ``(X, y, carried)``, as
    ``TableChunks.carrying()`` gives, and the fit is weighted by ``carried[weights]`` (:mod:`.weighted`);
    ``groups`` then names a carried column too.
    """
    check_cov_type(cov_type, groups)
    if weights is not None:
        from .weighted import solve_chunks_weighted

        return solve_chunks_weighted(
            chunks,
            feature_names,
            weights,
            fit_intercept=fit_intercept,
            allow_rank_deficient=allow_rank_deficient,
            group=group,
            cov_type=cov_type,
            groups=groups,
        )
    problem = Problem(cast("Chunks", chunks), list(feature_names), fit_intercept, memory=None, group=group)
    robust = None
    if cov_type != "classical":
        rows = None if groups is None else _cluster_rows(chunks, groups)
        if rows is not None and (problem.y_unit != 1 or (problem.col_unit != 1).any()):  # tiny data, rescaled
            rows = rescaled(rows, problem.col_unit[int(fit_intercept) :], 1 / problem.y_unit)
        robust = Robust(cov_type, rows)
    return _solve(problem, allow_rank_deficient, robust)


def _cluster_rows(chunks, groups):
    """The (X, y, clusters) passes ``groups`` gives: itself when it is a call, else the carried column it names."""
    if callable(groups):
        return groups
    if not isinstance(groups, str):
        raise TypeError(
            "groups must name a carried column or be a call passing over (X, y, clusters) chunks; "
            f"got {type(groups).__name__}"
        )
    if not hasattr(chunks, "carrying"):
        raise ValueError(f"groups={groups!r} names a carried column, but these chunks carry none")
    carrying = chunks.carrying()
    name = groups

    def rows():
        for X, y, carried in carrying():
            if name not in carried:
                raise ValueError(f"the chunks carry no column {name!r} (they carry {', '.join(carried) or 'none'})")
            yield X, y, carried[name]

    return rows


@dataclass
class _Path:
    """The factorization a solve takes, and what its refinement needs."""

    method: str  # "cholesky", "qr", "qr-augmented" or "tsqr"
    R: np.ndarray  # the triangular factor of AD
    scaled_cond: float  # cond(AD), from the Gram matrix
    small: bool  # n·k² ≤ DD_WORK: the Gram matrix is also summed in double-double
    As: np.ndarray | None = None  # the scaled design AD, when QR factored it in memory
    Q: np.ndarray | None = None  # its thin Q, for the augmented system (small or ill-conditioned data in memory)


def _solve(p: Problem, allow_rank_deficient: bool, robust: Robust | None = None) -> OLSResult:
    _check(p, allow_rank_deficient)
    k = len(p.names)
    Gs = p.first.G * np.outer(p.d, p.d)  # exact: d holds powers of two
    path = _factorize(p, Gs)
    with _one_blas_thread(not path.small and path.As is None):
        factor = Factor(path.R, *rank_and_nullspace(path.R, p.n))
        if factor.rank < k or p.n < k:
            if not allow_rank_deficient:
                raise ValueError(dependent_message(p.names, factor.null, factor.rank, k))
            if robust is not None:
                kind = "cluster-robust" if robust.cov_type == "cluster" else robust.cov_type
                raise ValueError(
                    f"{kind} standard errors need columns that are not linearly dependent (the design has rank "
                    f"{factor.rank} of {k} parameters): drop the dependent columns for them"
                )
            return _min_norm(p, factor)
        # small problems (n·k² ≤ DD_WORK): the Gram matrix summed in double-double in the first pass, to refine the
        # covariance (and the coefficients) against, at O(k³) per step instead of a pass over the data
        normal = _normal_equations(p) if path.small and path.method != "qr-augmented" else None
        z, steps, last = _coefficients(p, path, normal)
        C = _covariance(p, path, normal)
        # the condition number from the factor: the Gram matrix's is noise there
        if path.method == "tsqr" and unit_condition(path.R) > SEMINORMAL_MAX_COND:
            warnings.warn(
                f"the design is too ill-conditioned (scaled condition number {unit_condition(path.R):.2g}) "
                f"to be solved to full accuracy in chunks; load it into memory for the "
                f"augmented QR method",
                IllConditionedWarning,
                stacklevel=3,
            )
        factor.R = path.R
        extended = path.small or path.method != "cholesky"  # as the refinement passes summed, where they ran
        rss = _rss(p, z, last, Gs, normal, path.method)
        notes = [] if last is None or p.memory is not None else [_refined_note(path.R, steps)]
        return finish(p, factor, p.d * z, C * np.outer(p.d, p.d), path.method, steps, extended, rss, robust, notes)


def _one_blas_thread(large: bool):
    """BLAS on one thread for the k × k work of a large solve (n·k² > DD_WORK), and for its passes over chunks
    of rows (as in :meth:`.passes._Sums.over`): OpenBLAS's threads gain little on them and, beside a busy
    process, wait on each other (an SVD of 101 × 101 took 30-70 ms so, 1-2 ms on one thread). Small problems
    leave BLAS as it is (and threadpoolctl unimported); so does a path that holds an n × k matrix."""
    if not large:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    return threadpool_limits(1, user_api="blas")


def _normal_equations(p: Problem) -> tuple:
    """(AD)ᵀ(AD) and (AD)ᵀy in double-double, ((hi, lo), (hi, lo)), from the first pass's sums: exact, since D
    holds powers of two."""
    assert p.first.dd is not None  # summed while n·k² ≤ DD_WORK
    (Gh, Gl), (bh, bl), _ = p.first.dd
    dd = np.outer(p.d, p.d)
    return (Gh * dd, Gl * dd), (bh * p.d, bl * p.d)


def _rss(p: Problem, z: np.ndarray, last: tuple | None, Gs: np.ndarray, normal, method: str) -> float | None:
    """The residual sum of squares at the scaled coefficients ``z`` with no pass more where the passes so far
    tell it: from the last refinement pass; for small problems, from the first pass's double-double sums
    (about ε²·yᵀy off: where the residuals are not below 1e-8·‖y‖); for data in chunks, from the factor of
    [A y], |R[k, k]|² (backward stable); in memory on the Cholesky path, from the first pass's residuals at
    its provisional solution (:func:`_rss_in_memory`). None: one more pass, the residuals in double-double."""
    if last is not None:
        return rss_from(last, z, Gs)
    if normal is not None:  # in the scaled units of z, whose products stay inside float64's range
        assert p.first.dd is not None
        yy = p.first.dd[2]
        rss = dd_rss(normal[0], normal[1], yy, z)
        return rss if rss >= 1e-16 * float(yy[0]) else None
    if p.memory is not None:
        return _rss_in_memory(p, z, Gs) if method == "cholesky" else None
    assert p.first.R is not None
    return float(p.first.R[-1, -1] ** 2)


def _rss_in_memory(p: Problem, z: np.ndarray, Gs: np.ndarray) -> float:
    """‖y − ADz‖² from the first pass's r₀ = y − Aβ₀, (AD)ᵀr₀ and r₀ᵀr₀ (:mod:`.gram`), where its estimated
    error leaves 12 correct digits; else (a fit all but exact, whose residuals in float64 lose about
    log10(‖y‖/‖r‖) digits) from one more pass, the residuals in double-double."""
    base = p.first.provisional
    if base is not None:
        rss = rss_from((base.beta / p.d, p.d * base.g, base.rr), z, Gs)
        if base.error(rss, p.n) <= 1e-12:
            return rss
    return residual_pass(p.chunks, z, p.d, p.fit_intercept, True, gradient=False)[1]


def _refined_note(R: np.ndarray, steps: int) -> str:
    return (
        f"the coefficients were refined in {steps} more pass{'es' if steps > 1 else ''} over the data: at the "
        f"design's scaled condition number {unit_condition(R):.3g}, the first pass alone leaves the smallest "
        f"fewer than 12 correct digits"
    )


def _check(p: Problem, allow_rank_deficient: bool) -> None:
    """Refuse data that are not finite, or fewer rows than parameters (unless rank deficiency is allowed)."""
    if not p.first.finite():
        raise ValueError(nonfinite_message(p.memory, p.feature_names))
    if p.n < len(p.names) and not allow_rank_deficient:
        raise ValueError(too_few_rows(p.n, len(p.feature_names), p.fit_intercept))


def _factorize(p: Problem, Gs: np.ndarray) -> _Path:
    """The path by cond(AD): Cholesky of the scaled Gram matrix ``Gs`` when well-conditioned, else a QR of
    AD in memory, or of the stacked chunk factors (TSQR)."""
    k = len(p.names)
    small = p.n * k * k <= DD_WORK
    with _one_blas_thread(not small):
        scaled_cond = gram_condition(Gs)
        if scaled_cond <= FAST_PATH_MAX_COND:
            return _Path("cholesky", cholesky_upper(Gs), scaled_cond, small)
    if p.memory is None:  # the first pass's factor of [A y]: its first k columns are A's, scaled exactly by D
        assert p.first.R is not None
        return _Path("tsqr", p.first.R[:k, :k] * p.d, scaled_cond, small)
    method = "qr" if scaled_cond <= SEMINORMAL_MAX_COND else "qr-augmented"
    As = design(p.memory[0], p.fit_intercept) * p.d  # exact: d holds powers of two
    if method == "qr-augmented" or small:
        Q, R = np.linalg.qr(As, mode="reduced")
        return _Path(method, R, scaled_cond, small, As, Q)
    return _Path(method, cast(np.ndarray, np.linalg.qr(As, mode="r")), scaled_cond, small, As)


def _coefficients(p: Problem, path: _Path, normal) -> tuple[np.ndarray, int, tuple | None]:
    """The scaled coefficients z (β = Dz) refined by the path's method: z, the steps, and what the last
    pass over the data found (or None), from which the residual sum of squares follows."""
    if path.Q is not None:  # in memory, and small or ill-conditioned: the augmented system, refined from the data
        return _augmented_coefficients(p, path)
    z = solve_r(path.R, p.d * p.first.Aty)
    if p.first.R is not None:  # in chunks: the first pass factored [A y] too
        return _chunked_coefficients(p, path, z, normal)
    if path.method != "cholesky":  # R from QR: the semi-normal equations, residuals of the data in double-double
        return refine_seminormal(p.chunks, z, path.R, p.d, p.fit_intercept, True, _TOL, p.group)
    if normal is not None:
        z, steps = refine_normal(normal[0], normal[1], path.R, z, _TOL)
        return z, steps, None
    return _large_fast_path(p, path, z)


def _augmented_coefficients(p: Problem, path: _Path) -> tuple[np.ndarray, int, None]:
    """z from Björck's refinement of the augmented system [I AD; (AD)ᵀ 0][r; z] = [y; 0] with Q."""
    assert p.memory is not None and path.As is not None and path.Q is not None
    k = len(p.names)
    y = p.memory[1][:, None]
    z0 = solve_triangular(path.R, path.Q.T @ y)
    z, _, steps = augmented(path.As, path.Q, path.R, y, np.zeros((k, 1)), z0, y - path.As @ z0, _TOL)
    return z[:, 0], steps, None


def _chunked_coefficients(p: Problem, path: _Path, z: np.ndarray, normal) -> tuple[np.ndarray, int, tuple | None]:
    """Data in chunks: z from the first pass alone where that gives every coefficient 12 correct digits, and
    refined by passes over the data only where the conditioning calls for it.

    The Cholesky path keeps its z where the normal equations' error, about cond(AD)²·ε·max|z|, leaves the
    smallest coefficient 12 digits (or refines it against the normal equations in double-double, for small
    problems); otherwise R and z come from the first pass's QR of [A y] (R as accurate as CholeskyQR2 makes
    the Cholesky factor, with no pass for it), and are refined against the data (a pass per step, the
    residuals in double-double) only where that QR's error, about
    cond(AD)·ε·(1 + cond(AD)·‖r‖/(‖AD‖·‖z‖))·‖z‖, takes those digits. (Refined against the normal equations
    in double-double instead, z of an ill-conditioned design stalls short of them: the products of AᵀA with
    z are far larger than Aᵀr, the residuals of the data are not.)
    """
    if path.method == "cholesky":
        if normal is not None:
            return (*refine_normal(normal[0], normal[1], path.R, z, _TOL), None)
        if not _normal_error_matters(path.scaled_cond, z):
            return z, 0, None
    assert p.first.R is not None
    k = len(p.names)
    path.R = p.first.R[:k, :k] * p.d  # exact: d holds powers of two
    z = solve_triangular(path.R, p.first.R[:k, k])
    if not _qr_error_matters(path.R, z, abs(float(p.first.R[k, k]))):
        return z, 0, None
    extended = path.method != "cholesky"  # the residuals of ill-conditioned designs in double-double
    return refine_seminormal(p.chunks, z, path.R, p.d, p.fit_intercept, extended, _TOL, p.group)


def _normal_error_matters(scaled_cond: float, z: np.ndarray, step: np.ndarray | None = None) -> bool:
    """Whether z from the normal equations may hold fewer than 12 correct digits in its smallest entry (when z
    is a provisional solution corrected by ``step`` solved from them, the error is the step's)."""
    size = np.abs(z if step is None else step).max()
    return scaled_cond > 30 or scaled_cond**2 * EPS * size > 1e-12 * np.abs(z).min()


def _qr_error_matters(R: np.ndarray, z: np.ndarray, rnorm: float) -> bool:
    """Whether z from a Householder QR (R, and the residual norm ``rnorm``) may hold fewer than 12 correct
    digits in its smallest entry: its error is about cond·ε·(1 + cond·‖r‖/(‖R‖·‖z‖))·‖z‖."""
    cond, size, norm = unit_condition(R), float(np.linalg.norm(R, 2)), float(np.linalg.norm(z))
    if not (norm > 0 and size > 0 and np.isfinite(cond)):
        return True
    error = EPS * cond * (1 + cond * rnorm / (size * norm)) * float(np.abs(z).max())
    return bool(error > 1e-12 * np.abs(z).min())


def _large_fast_path(p: Problem, path: _Path, z: np.ndarray) -> tuple[np.ndarray, int, tuple | None]:
    """Large data on the fast path. In memory, z = z₀ + δ from the first pass's provisional solution z₀ and
    (AD)ᵀr₀ (:mod:`.gram`): one step of refinement with no pass more, whose error, about cond²·ε·max|δ|, is
    the normal equations' on the correction alone. Beyond cond(AD) = 30, the Cholesky factor ``path.R``, off
    by cond²·ε, is refined (CholeskyQR2, in place); z is refined by float64 residual passes where the normal
    equations' error, about cond²·ε·max|z| (or max|δ|), matters beside the smallest coefficient."""
    step = None
    base = p.first.provisional
    if base is not None:
        step = solve_r(path.R, p.d * base.g)
        z = base.beta / p.d + step  # exact: d holds powers of two
    if path.scaled_cond > 30:
        path.R = refine_factor(p.chunks, path.R, p.d, p.fit_intercept, p.group)
    if _normal_error_matters(path.scaled_cond, z, step):
        return refine_seminormal(p.chunks, z, path.R, p.d, p.fit_intercept, False, _TOL, p.group)
    return z, 0, None


def _covariance(p: Problem, path: _Path, normal) -> np.ndarray:
    """((AD)ᵀ(AD))⁻¹ = R⁻¹R⁻ᵀ, refined for small problems: against the normal equations summed in
    double-double, or beyond them through the augmented system with right-hand sides [0; −I]."""
    C = inverse_gram(path.R)  # (AD)ᵀ(AD) = RᵀR, so (AᵀA)⁻¹ = D R⁻¹R⁻ᵀ D
    k = len(C)
    if normal is not None:
        return refine_normal(normal[0], (np.eye(k), np.zeros((k, k))), path.R, C, _TOL, np.diagonal)[0]
    if path.small:  # the columns of C solve the augmented system with b = 0, c = −I
        assert path.As is not None and path.Q is not None
        As = path.As
        return augmented(As, path.Q, path.R, np.zeros((p.n, k)), -np.eye(k), C, -(As @ C), _TOL, np.diagonal)[0]
    return C


def _min_norm(p: Problem, factor: Factor) -> OLSResult:
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
    return finish(p, factor, beta, cov_unscaled, "pinv", 0, False)

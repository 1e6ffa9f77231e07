"""Robust standard errors: the sandwich V = (AᵀA)⁻¹ · M · (AᵀA)⁻¹, as R's ``sandwich`` computes it.

Once β and (AᵀA)⁻¹ are known, one more pass over the rows sums the meat M:

- heteroskedasticity-consistent (``sandwich::vcovHC``): M = Σ wᵢ aᵢaᵢᵀ with wᵢ = eᵢ² (HC0 and
  HC1, which scales V by n/(n − k)), eᵢ²/(1 − hᵢ) (HC2) or eᵢ²/(1 − hᵢ)² (HC3), where
  hᵢ = aᵢᵀ(AᵀA)⁻¹aᵢ is the leverage of row i (computed as ‖R⁻ᵀDaᵢ‖² from the triangular factor of
  the scaled design AD, which keeps it accurate where the design is ill-conditioned);
- cluster-robust (``sandwich::vcovCL``, type HC1 with its default adjustment): M = Σ_g s_g s_gᵀ with
  s_g = Σ_{i∈g} aᵢeᵢ, the scores summed within each cluster, and V scaled by
  G/(G − 1)·(n − 1)/(n − k). The sums s_g are held by cluster value (memory grows with the number
  of clusters, not of rows) and, under several processes, gathered and added in rank order: a
  cluster may span processes.

Everything is summed in the scaled units of the solve (AD, z = D⁻¹β), as the other passes are.
The Wald test of the coefficients beside the intercept (all of them without one) with V is
``lmtest::waldtest(fit, vcov = V, test = "F")``'s: F = βᵀV⁻¹β/q on q and n − k degrees of freedom.
The scores of the clusters sum to 0, so V has rank G − 1 at most: with fewer clusters than q + 1,
V of the coefficients tested is singular and F is not defined (NaN; R's ``waldtest`` stops there).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .passes import Group, Rows, design, everyone, total

if TYPE_CHECKING:
    from .problem import Problem

COV_TYPES = ("classical", "HC0", "HC1", "HC2", "HC3", "cluster")

# Rows with their cluster values: a call that reads them once, as (X, y, g) chunks, g (m,) for the m rows.
ClusterRows = Callable[[], Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class Robust:
    """Which robust covariance a solve computes, and (for ``"cluster"``) where the rows' clusters come from."""

    cov_type: str  # "HC0", "HC1", "HC2", "HC3" or "cluster"
    rows: ClusterRows | None = None  # for "cluster": the rows of the fit with their cluster values


def check_cov_type(cov_type: str, groups) -> None:
    """Refuse an unknown ``cov_type``, a cluster type without ``groups``, and groups given for another type."""
    if cov_type not in COV_TYPES:
        raise ValueError(f"cov_type must be one of {', '.join(COV_TYPES)}; got {cov_type!r}")
    if cov_type == "cluster" and groups is None:
        raise ValueError("cov_type='cluster' needs groups: the cluster of each row")
    if cov_type != "cluster" and groups is not None:
        raise ValueError(f"groups are the clusters of cov_type='cluster'; got them with cov_type={cov_type!r}")


def cluster_values(g, n: int) -> np.ndarray:
    """The cluster of each of ``n`` rows as a 1-D array (numbers or text), checked for gaps."""
    if hasattr(g, "to_numpy"):  # a pandas Series
        g = g.to_numpy()
    if hasattr(g, "detach"):  # a torch tensor
        g = g.detach().cpu().numpy()
    g = np.asarray(g)
    if g.ndim != 1 or len(g) != n:
        raise ValueError(f"groups must hold one cluster per row: shape ({n},) for {n} rows, got {g.shape}")
    _check_gaps(g, 0)
    return g


def _check_gaps(g: np.ndarray, seen: int) -> None:
    """Refuse a missing cluster value (NaN, None or an empty text), naming the row (counted from 1)."""
    if g.dtype.kind == "f":
        gap = np.flatnonzero(np.isnan(g))
    elif g.dtype.kind in "US":
        gap = np.flatnonzero(g == g.dtype.type())
    elif g.dtype.kind == "O":
        gap = np.flatnonzero([v is None or v == "" or (isinstance(v, float) and math.isnan(v)) for v in g])
    else:
        return
    if gap.size:
        raise ValueError(f"the cluster of row {seen + gap[0] + 1} is missing; every row needs a cluster")


def in_memory(X: np.ndarray, y: np.ndarray, g: np.ndarray, block: int = 65536) -> ClusterRows:
    def rows():
        for i in range(0, len(X), block):
            yield X[i : i + block], y[i : i + block], g[i : i + block]

    return rows


def rescaled(rows: ClusterRows, x_scale: np.ndarray, y_scale: float) -> ClusterRows:
    """``rows`` in the units a solve of tiny data works in (powers of two: exact)."""

    def scaled():
        for Xc, yc, gc in rows():
            yield Xc * x_scale, yc * y_scale, gc

    return scaled


@dataclass
class Sandwich:
    """The robust Cov(z) of z = D⁻¹β (scaled units), the same in the rotated coordinates Rz, and G."""

    cov: np.ndarray  # (k, k): V = R⁻¹·rotated·R⁻ᵀ
    rotated: np.ndarray  # (k, k): the meat Σ wᵢ vᵢvᵢᵀ of the rows vᵢ = R⁻ᵀaᵢ, for the Wald test
    clusters: int | None  # G, for cluster-robust errors


def sandwich(
    robust: Robust,
    chunks: Rows,
    z: np.ndarray,
    R: np.ndarray,
    C: np.ndarray,
    d: np.ndarray,
    fit_intercept: bool,
    n: int,
    group: Group | None = None,
) -> Sandwich:
    """The robust Cov(z) for the coefficients z of the scaled design AD = ``design(X) * d``, whose
    triangular factor is ``R`` and ((AD)ᵀAD)⁻¹ = ``C``: one pass over ``chunks`` (or, for clusters,
    over ``robust.rows``, the same rows with their cluster values).

    The sandwich is summed as Σ wᵢ uᵢuᵢᵀ with uᵢ = C·aᵢ (for clusters, Σ_g t_g t_gᵀ with
    t_g = Σ_{i∈g} uᵢeᵢ = C·s_g): terms that do not cancel, where C·M·C, formed from M, would lose
    cond(AD)²·ε to the products. The same sums of vᵢ = R⁻ᵀaᵢ (orthonormal columns) give the
    Wald test without inverting V, whose condition number is cond(AD)²."""
    k = len(z)
    df = n - k
    if robust.cov_type == "cluster":
        assert robust.rows is not None
        scores = _cluster_scores(robust.rows, z, C, R, d, fit_intercept, n, group)
        G = len(scores)
        if G < 2:
            raise ValueError(f"cluster-robust standard errors need at least 2 clusters; the data have {G}")
        T = np.array(list(scores.values()))  # (G, 2k): t_g, then the same sums of the vᵢeᵢ
        V, rotated = T[:, :k].T @ T[:, :k], T[:, k:].T @ T[:, k:]
        adjust = G / (G - 1) * (n - 1) / df if df > 0 else math.nan
    else:
        parts = everyone(group, lambda: _hc_part(chunks, z, C, R, d, fit_intercept, robust.cov_type))
        V, rotated = total([v for v, _ in parts]), total([m for _, m in parts])
        G = None
        adjust = 1.0
        if robust.cov_type == "HC1":
            adjust = n / df if df > 0 else math.nan
    return Sandwich(adjust * (V + V.T) / 2, adjust * (rotated + rotated.T) / 2, G)


def _rows(A: np.ndarray, C: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows uᵢ = C·aᵢ and vᵢ = R⁻ᵀaᵢ of the scaled rows aᵢ of ``A``, each (m, k)."""
    from scipy.linalg import solve_triangular

    return A @ C, solve_triangular(R, A.T, trans="T").T  # C is symmetric


def _hc_part(chunks: Rows, z, C, R, d, fit_intercept: bool, cov_type: str) -> tuple[np.ndarray, np.ndarray]:
    """This process's Σ wᵢ uᵢuᵢᵀ and Σ wᵢ vᵢvᵢᵀ, wᵢ as ``cov_type`` weighs eᵢ² (hᵢ = ‖vᵢ‖²)."""
    k = len(z)
    V, rotated = np.zeros((k, k)), np.zeros((k, k))
    with np.errstate(divide="ignore", invalid="ignore"):  # a row of leverage 1 gives NaN, as in R
        for Xc, yc in chunks():
            A = design(Xc, fit_intercept) * d  # exact: d holds powers of two
            w = (yc - A @ z) ** 2
            U, Vr = _rows(A, C, R)
            if cov_type in ("HC2", "HC3"):
                h = (Vr**2).sum(axis=1)  # the leverages
                w = w / (1 - h) if cov_type == "HC2" else w / (1 - h) ** 2
            V += (U * w[:, None]).T @ U
            rotated += (Vr * w[:, None]).T @ Vr
    return V, rotated


def _cluster_scores(rows: ClusterRows, z, C, R, d, fit_intercept: bool, n: int, group: Group | None) -> dict:
    """[t_g, Σ_{i∈g} vᵢeᵢ] by cluster value g, over every process's rows (added in rank order)."""
    parts = everyone(group, lambda: _cluster_part(rows, z, C, R, d, fit_intercept))
    seen = sum(m for _, m in parts)
    if seen != n:
        raise ValueError(f"the rows given with their clusters number {seen:,}, the data {n:,}; they must be the same")
    scores: dict = {}
    for part, _ in parts:
        for key, s in part.items():
            scores[key] = scores[key] + s if key in scores else s
    return scores


def _cluster_part(rows: ClusterRows, z, C, R, d, fit_intercept: bool) -> tuple[dict, int]:
    """This process's per-cluster sums of [uᵢeᵢ, vᵢeᵢ], and its number of rows."""
    from scipy.sparse import csr_matrix

    scores: dict = {}
    seen = 0
    for Xc, yc, gc in rows():
        gc = np.asarray(gc)
        if gc.ndim != 1 or len(gc) != len(yc):
            raise ValueError(f"a chunk of {len(yc)} rows came with {gc.shape} cluster values; give one per row")
        _check_gaps(gc, seen)
        seen += len(yc)
        if not len(yc):
            continue
        A = design(Xc, fit_intercept) * d
        e = yc - A @ z
        terms = np.concatenate(_rows(A, C, R), axis=1) * e[:, None]  # (m, 2k)
        keys, where = np.unique(gc, return_inverse=True)
        # the sums by cluster as one sparse product (4x the bincount of each column): row g of the
        # 0/1 matrix picks the chunk's rows of cluster g
        members = csr_matrix((np.ones(len(gc)), (where, np.arange(len(gc)))), shape=(len(keys), len(gc)))
        S = members @ terms
        for key, s in zip(keys.tolist(), S, strict=True):
            scores[key] = scores[key] + s if key in scores else s
    return scores, seen


def wald(rotated: np.ndarray, Rz: np.ndarray, fit_intercept: bool, df_resid: int) -> tuple[float, float]:
    """The Wald F test (value, p) that the coefficients beside the intercept are 0, zᵀV⁻¹z/q over them.

    With V = R⁻¹·``rotated``·R⁻ᵀ and R upper triangular, intercept first, the block of V of the others
    is R₁₁⁻¹·rotated₁₁·R₁₁⁻ᵀ, so zᵀV⁻¹z = (Rz)₁ᵀ·rotated₁₁⁻¹·(Rz)₁ (``Rz`` = R·z): a system as well
    conditioned as the meat, where V's own is cond(AD)² worse."""
    from ..distributions import f_sf

    off = int(fit_intercept)
    q = len(Rz) - off
    if q <= 0 or df_resid <= 0:
        return math.nan, math.nan
    b = Rz[off:]
    try:
        F = float(b @ np.linalg.solve(rotated[off:, off:], b)) / q
    except np.linalg.LinAlgError:  # a singular meat: more coefficients tested than clusters can say
        return math.nan, math.nan
    return F, float(f_sf(F, q, df_resid)) if F == F else math.nan


@dataclass
class RobustFit:
    """What robust errors change in a fit's statistics."""

    bse: np.ndarray  # standard errors of β in the solve's units (those of the data unless tiny data were rescaled)
    cov: np.ndarray  # the robust Cov(β), (k, k), in the data's units
    fvalue: float  # the Wald F test with this covariance
    f_pvalue: float
    clusters: int | None


def robust_fit(robust: Robust, p: Problem, R: np.ndarray, beta: np.ndarray, cov_unscaled: np.ndarray) -> RobustFit:
    """The robust errors of coefficients ``beta`` with (AᵀA)⁻¹ = ``cov_unscaled`` (the solve's units) and
    the triangular factor ``R`` of the scaled design."""
    z = beta / p.d  # exact: d holds powers of two
    s = sandwich(robust, p.chunks, z, R, cov_unscaled / np.outer(p.d, p.d), p.d, p.fit_intercept, p.n, p.group)
    fvalue, f_pvalue = math.nan, math.nan
    if s.clusters is None or s.clusters - 1 >= len(z) - p.fit_intercept:  # else V has too small a rank for F
        fvalue, f_pvalue = wald(s.rotated, R @ z, p.fit_intercept, p.n - len(z))  # the same in every unit
    scale = p.d * p.unit
    bse = np.sqrt(np.maximum(np.diag(s.cov), 0)) * p.d
    with np.errstate(over="ignore"):  # V of the data's units: inf beyond float64 (features in units of 1e-170)
        cov = s.cov * np.outer(scale, scale)
    return RobustFit(bse, cov, fvalue, f_pvalue, s.clusters)

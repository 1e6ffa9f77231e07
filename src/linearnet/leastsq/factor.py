"""The triangular factor R of the scaled design AD (RᵀR = (AD)ᵀ(AD)): how it is made, and what it tells.

From the Gram matrix by Cholesky (refined by one CholeskyQR2 step where that matters), or from
the data by a Householder QR, in memory or over chunks (TSQR); its numerical rank, the
directions it cannot resolve, and the condition number of the design.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from .dd import EPS
from .passes import Group, Rows, design, everyone, total
from .triangle import stacked


@dataclass
class Factor:
    """The scaled triangular factor R of AD, its numerical rank and singular values."""

    R: np.ndarray
    rank: int
    s: np.ndarray  # singular values of R
    null: np.ndarray  # the directions R cannot resolve (rows)


def gram_condition(Gs) -> float:
    """cond(AD) with unit-norm columns, from the eigenvalues of the Gram matrix."""
    diag = np.diag(Gs)
    u = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    lam = np.linalg.eigvalsh(Gs * np.outer(u, u))
    return math.sqrt(lam[-1] / lam[0]) if lam[0] > 0 else math.inf


def cholesky_upper(Gs):
    L = np.linalg.cholesky(Gs)
    return L.T


_SUBSTITUTION_ORDER = 512  # up to this order a triangular solve is substitution here; LAPACK's beyond


def solve_triangular(R: np.ndarray, B, trans: str = "N") -> np.ndarray:
    """R⁻¹B (``trans="N"``) or R⁻ᵀB (``"T"``) for upper-triangular R, B of shape (k,) or (k, m).

    Up to order 512 by substitution, a row of the result at a time with NumPy (back substitution for R,
    forward for Rᵀ; backward stable, as LAPACK's trsm): importing scipy.linalg takes 0.1 to 0.2 s, more than
    the whole of a small solve. Beyond, scipy's LAPACK (``scipy.linalg.solve_triangular``)."""
    k = len(R)
    if k > _SUBSTITUTION_ORDER:
        from scipy.linalg import solve_triangular as trsm

        return trsm(R, B, trans=trans)
    X = np.array(B, dtype=np.float64, copy=True)
    rows = range(k - 1, -1, -1) if trans == "N" else range(k)
    for i in rows:
        if trans == "N":
            X[i] -= R[i, i + 1 :] @ X[i + 1 :]
        else:
            X[i] -= R[:i, i] @ X[:i]
        X[i] /= R[i, i]
    return X


def solve_r(R, v):
    """R⁻¹R⁻ᵀ v for upper-triangular R."""
    return solve_triangular(R, solve_triangular(R, v, trans="T"), trans="N")


def inverse_gram(R):
    """R⁻¹R⁻ᵀ = (RᵀR)⁻¹."""
    Rinv = solve_triangular(R, np.eye(len(R)))
    return Rinv @ Rinv.T


def refine_factor(chunks: Rows, R: np.ndarray, d: np.ndarray, fit_intercept: bool, group: Group | None = None):
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
            Qt = solve_triangular(R, (design(Xc, fit_intercept) * d).T, trans="T")  # (ADR⁻¹)ᵀ, Fortran order
            G2 = dsyrk(1.0, Qt, beta=1.0, c=G2, overwrite_c=True)
        return G2

    G2 = total(everyone(group, part))
    return cholesky_upper(np.triu(G2) + np.triu(G2, 1).T) @ R


def tsqr(chunks: Rows, d: np.ndarray, fit_intercept: bool, group: Group | None = None) -> np.ndarray:
    """R of the QR factorisation of AD from stacked chunk factors (memory: one chunk); across
    processes, the QR of their factors stacked in rank order."""

    def part() -> np.ndarray:
        R = np.zeros((0, len(d)))
        for Xc, _ in chunks():
            R = cast(np.ndarray, np.linalg.qr(np.vstack([R, design(Xc, fit_intercept) * d]), mode="r"))
        return R

    return stacked(everyone(group, part))


def rank_and_nullspace(Rs, n):
    """Numerical rank of the scaled triangular factor, its singular values, and the directions it cannot resolve."""
    s, vt = np.linalg.svd(Rs)[1:]
    tol = 10 * math.sqrt(max(n, Rs.shape[0])) * EPS * s[0]
    rank = int((s > tol).sum())
    return rank, s, vt[rank:]


def unit_condition(R) -> float:
    """The condition number of the design with unit-norm columns, from its triangular factor."""
    norms = np.linalg.norm(R, axis=0)
    s = np.linalg.svd(R / np.where(norms > 0, norms, 1.0), compute_uv=False)
    return float(s[0] / s[-1]) if s[-1] > 0 else math.inf

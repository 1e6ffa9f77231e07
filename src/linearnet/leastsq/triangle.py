"""The triangular factor of [A y], updated chunk by chunk in the first pass (TSQR), and the residual sum of
squares from sums in double-double: what lets a solve in chunks read its data once.

The R factor of the augmented design [A y] by Householder QR holds the whole least-squares problem: with
k columns in A, R[:k, :k] is A's factor, R[:k, k] is Qᵀy (the coefficients solve R[:k, :k]·β = R[:k, k])
and |R[k, k]| is the norm of the residual y − Aβ, all backward stable: no sum of squares is formed, so
nothing cancels where the residuals are tiny beside y (R² near 1), as yᵀy − βᵀAᵀy would. Scaling the
columns by powers of two (the solver's D) scales R's columns the same way, exactly.
"""

from __future__ import annotations

import numpy as np

from .dd import dd_dot, two_sum


class Triangle:
    """R of [A y] (A = [1, X] with an intercept, else X), updated by each chunk: a Householder QR (LAPACK's
    geqrf, in place) of the factor so far stacked on the chunk's rows, in a buffer reused while the chunks keep
    their size."""

    def __init__(self, k: int, fit_intercept: bool):
        # loaded here, before the pass sets BLAS to one thread: threadpoolctl limits only the libraries loaded
        # then, and scipy's LAPACK is its own OpenBLAS (on two threads beside a busy process, 20x slower)
        import scipy.linalg.lapack  # noqa: F401

        self.k1, self.off = k + 1, int(fit_intercept)  # the columns of [A y]
        self.R = np.zeros((self.k1, self.k1))
        self.rows = 0  # rows of R that hold the factor (fewer than k + 1 until that many rows are seen)
        self._buffers: dict[int, tuple[np.ndarray, int]] = {}

    def add(self, Xc: np.ndarray, yc: np.ndarray) -> None:
        """The chunk's rows, a block of about 1 MB at a time: a QR of a block in cache runs 2 to 3 times as
        fast as one of 50,000 rows (measured 1M x 21 on one core: 0.22 s in blocks of 4,096 rows, 0.67 s in
        blocks of 65,536)."""
        rows = max(512, (1 << 17) // self.k1)
        for i in range(0, len(yc), rows):
            self._add(Xc[i : i + rows], yc[i : i + rows])

    def _add(self, Xc: np.ndarray, yc: np.ndarray) -> None:
        top = self.rows
        buf, lwork = self._buffer(top + len(yc))
        buf[:top] = self.R[:top]
        if self.off:
            buf[top:, 0] = 1.0
        buf[top:, self.off : self.k1 - 1] = Xc
        buf[top:, self.k1 - 1] = yc
        from scipy.linalg.lapack import dgeqrf

        qr, _, _, info = dgeqrf(buf, lwork=lwork, overwrite_a=1)
        assert info == 0, info
        self.rows = min(top + len(yc), self.k1)
        self.R[: self.rows] = np.triu(qr[: self.rows])

    def release(self) -> None:
        """Let the buffers go once the pass is over (this object is then sent to the other processes)."""
        self._buffers = {}

    def _buffer(self, m: int) -> tuple[np.ndarray, int]:
        """A Fortran-ordered (m, k + 1) buffer, geqrf's in place, and the workspace geqrf asks for."""
        if m not in self._buffers:
            from scipy.linalg.lapack import dgeqrf_lwork

            work, _ = dgeqrf_lwork(m, self.k1)
            if len(self._buffers) > 3:  # the sizes of a block, of a chunk's last block, of the first ones
                self._buffers.clear()
            self._buffers[m] = (np.empty((m, self.k1), order="F"), max(int(work), 1))
        return self._buffers[m]


def stacked(parts: list[np.ndarray]) -> np.ndarray:
    """The R factor of the processes' rows from their factors, stacked in rank order and factored again:
    the same numbers on every process."""
    if len(parts) == 1:
        return parts[0]
    R = np.linalg.qr(np.vstack(parts), mode="r")
    return np.asarray(R)


def dd_rss(G, b, yy, beta: np.ndarray) -> float:
    """‖y − Aβ‖² from AᵀA = ``G``, Aᵀy = ``b`` and yᵀy = ``yy``, each a (hi, lo) pair summed in double-double:
    (yᵀy − βᵀAᵀy) − βᵀ(Aᵀy − AᵀAβ), each part in double-double, so that the sums of squares, which cancel
    to the residuals' where those are tiny beside y, leave an error of about ε²·yᵀy."""
    (Gh, Gl), (bh, bl), (yh, yl) = G, b, yy
    ph, pl = dd_dot(Gh, beta[None, :], axis=1)
    h, l = two_sum(bh, -ph)
    g = h + ((l + bl) - (pl + Gl @ beta))  # Aᵀr, rounded once
    sh, sl = dd_dot(beta, bh, axis=0)
    h, l = two_sum(yh, -sh)
    return float(h + ((l + yl) - (sl + beta @ bl)) - beta @ g)

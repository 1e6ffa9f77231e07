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
- **data in chunks** (files larger than memory, :func:`solve_chunks`): one pass reads the data
  once. Beside the Gram matrix it keeps the R factor of [A y], updated chunk by chunk by a
  Householder QR of the factor so far stacked on the chunk (TSQR): |R[k, k]| is the residual
  norm, backward stable, so the residual sum of squares, σ̂ and the standard errors need no
  second read, and nothing cancels where the residuals are tiny beside y. The fast path keeps
  its Cholesky coefficients where their error leaves 12 digits; otherwise R and β come from
  that factor, and are refined by passes over the data (the semi-normal equations, one pass
  per step) only where the QR's error, cond(AD)·ε·(1 + cond(AD)·‖r‖/(‖AD‖·‖β‖)), would leave
  the smallest coefficient fewer than 12 correct digits; the result's ``notes`` then say so.
  Memory is bounded by the chunk size.

Statistics are those statsmodels' OLS reports, from Cov(β) = σ̂²·(AᵀA)⁻¹ = σ̂²·D R⁻¹R⁻ᵀ D.
For small problems (n·k² ≤ 2¹⁸) the Gram matrix of [A y] is also summed in double-double, in
the first pass; the fast path refines β against it, the residual sum of squares comes from it
(unless the fit is all but exact: then from residuals in double-double, one more pass), and
every path refines that inverse against it
(beyond cond(AD) = 3e7, through the augmented system with right-hand sides [0; −I]), so
standard errors are as accurate as the coefficients. For larger problems the inverse comes
from the QR-quality factor (error about cond(AD)·ε).

The package, in the order a solve runs: :mod:`.problem` (the data checked, in the units solved
for), :mod:`.passes` (the sums of each pass over the data, gathered across processes),
:mod:`.factor` (R and what it tells), :mod:`.triangle` (the first pass's factor of [A y]),
:mod:`.refine` (iterative refinement), :mod:`.dd` (double-double arithmetic),
:mod:`.solver` (the paths above), :mod:`.result`
(:class:`OLSResult` and its statistics) and :mod:`.robust` (heteroskedasticity-consistent and
cluster-robust standard errors, ``cov_type=``, as R's ``sandwich``). A model file is made from a result by
:func:`linearnet.records.linear_model`.
"""

from .passes import Group, merge_moments
from .result import OLSResult
from .solver import (
    FAST_PATH_MAX_COND,
    SEMINORMAL_MAX_COND,
    IllConditionedWarning,
    RankDeficientWarning,
    solve,
    solve_chunks,
)

__all__ = [
    "solve",
    "solve_chunks",
    "merge_moments",
    "OLSResult",
    "Group",
    "RankDeficientWarning",
    "IllConditionedWarning",
    "FAST_PATH_MAX_COND",
    "SEMINORMAL_MAX_COND",
]

"""Least squares in exact rational arithmetic: the reference for ill-conditioned designs."""

import math
from fractions import Fraction


def _solve_exact(M, rhs):
    """Solve M z = rhs exactly (Gauss-Jordan over the rationals); rhs is a list of columns."""
    k = len(M)
    aug = [list(M[i]) + [col[i] for col in rhs] for i in range(k)]
    for c in range(k):
        pivot = next(r for r in range(c, k) if aug[r][c] != 0)
        aug[c], aug[pivot] = aug[pivot], aug[c]
        pv = aug[c][c]
        aug[c] = [v / pv for v in aug[c]]
        for r in range(k):
            if r != c and aug[r][c] != 0:
                f = aug[r][c]
                aug[r] = [a - f * b for a, b in zip(aug[r], aug[c], strict=True)]
    return [[aug[i][k + j] for i in range(k)] for j in range(len(rhs))]


def exact_ols(X, y, fit_intercept=True):
    """Exact coefficients (intercept first) and standard errors of the float64 data as given."""
    rows = [[Fraction(1)] * fit_intercept + [Fraction(float(v)) for v in row] for row in X]
    yv = [Fraction(float(v)) for v in y]
    n, k = len(rows), len(rows[0])
    G = [[sum(r[i] * r[j] for r in rows) for j in range(k)] for i in range(k)]
    b = [sum(r[i] * t for r, t in zip(rows, yv, strict=True)) for i in range(k)]
    identity = [[Fraction(int(i == j)) for i in range(k)] for j in range(k)]
    beta, *inverse_columns = _solve_exact(G, [b] + identity)
    residuals = [t - sum(c * v for c, v in zip(beta, r, strict=True)) for r, t in zip(rows, yv, strict=True)]
    sigma2 = sum(e * e for e in residuals) / (n - k)
    se = [math.sqrt(sigma2 * inverse_columns[j][j]) for j in range(k)]
    return [float(c) for c in beta], se

"""Least squares in exact rational arithmetic: the reference for ill-conditioned designs."""

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
from scipy import stats


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


def _integer_columns(X, y, fit_intercept):
    """The design [1, X] and y as integer columns, each column scaled exactly by a power of two.

    Returns (columns, y_column, column_exponents, y_exponent): column j of the data equals
    ``columns[j] * 2**column_exponents[j]``. Integer sums are far faster than Fraction sums.
    """

    def as_integers(values):
        fr = [Fraction(float(v)) for v in values]
        shift = max((f.denominator.bit_length() - 1 for f in fr), default=0)  # denominators are powers of two
        return [f.numerator * (1 << (shift - (f.denominator.bit_length() - 1))) for f in fr], -shift

    X = np.asarray(X, dtype=np.float64)
    cols = ([np.ones(len(X))] if fit_intercept else []) + [X[:, j] for j in range(X.shape[1])]
    ints, exps = zip(*(as_integers(c) for c in cols), strict=True)
    y_int, y_exp = as_integers(y)
    return list(ints), y_int, list(exps), y_exp


def _sqrt(q: Fraction, digits: int = 60) -> Fraction:
    """√q to ``digits`` significant digits, as a fraction."""
    if q == 0:
        return Fraction(0)
    with localcontext() as ctx:
        ctx.prec = digits
        return Fraction((Decimal(q.numerator) / Decimal(q.denominator)).sqrt())


def exact_statistics(X, y, fit_intercept=True, level=0.95):
    """The OLS statistics of the float64 data as given, from exact rational arithmetic.

    Coefficients, σ̂² and (AᵀA)⁻¹ are exact; standard errors, t values and interval bounds
    are exact up to a square root taken to 60 digits; the interval uses the float64 quantile
    ``scipy.stats.t.ppf`` (as the solver does), taken as exact. Everything is returned
    correctly rounded to float64: a dict of arrays ``params``, ``bse``, ``tvalues`` (±inf
    where σ̂ = 0), ``conf_int`` (k, 2), and floats ``sigma``, ``rss``, ``df``.
    """
    A, yi, exps, y_exp = _integer_columns(X, y, fit_intercept)
    n, k = len(yi), len(A)
    # In integer columns: A = Ai·E with E = diag(2^exps), y = yi·2^y_exp, so β = 2^y_exp·E⁻¹·βi with βi from Ai.
    G = [[Fraction(sum(a * b for a, b in zip(A[i], A[j], strict=True))) for j in range(k)] for i in range(k)]
    b = [Fraction(sum(a * t for a, t in zip(A[i], yi, strict=True))) for i in range(k)]
    identity = [[Fraction(int(i == j)) for i in range(k)] for j in range(k)]
    beta_i, *inverse_columns = _solve_exact(G, [b] + identity)
    residuals = [t - sum(c * A[j][m] for j, c in enumerate(beta_i)) for m, t in enumerate(yi)]
    rss_i = sum(e * e for e in residuals)
    df = n - k
    two = Fraction(2)
    beta = [c * two ** (y_exp - e) for c, e in zip(beta_i, exps, strict=True)]
    sigma2 = rss_i * two ** (2 * y_exp) / df
    var = [sigma2 * inverse_columns[j][j] * two ** (-2 * e) for j, e in enumerate(exps)]
    se = [_sqrt(v) for v in var]
    q = Fraction(float(stats.t.ppf(0.5 + level / 2, df)))
    tvalues = []
    for c, v in zip(beta, var, strict=True):
        if v == 0:
            tvalues.append(math.copysign(math.inf, c) if c != 0 else math.nan)
        else:
            t = _sqrt(c * c / v)
            tvalues.append(float(t if c >= 0 else -t))
    return {
        "params": np.array([float(c) for c in beta]),
        "bse": np.array([float(s) for s in se]),
        "tvalues": np.array(tvalues),
        "conf_int": np.array([[float(c - q * s), float(c + q * s)] for c, s in zip(beta, se, strict=True)]),
        "sigma": float(_sqrt(sigma2)),
        "rss": float(rss_i * two ** (2 * y_exp)),
        "df": df,
    }


def correct_digits(estimate, exact, cap=16.0):
    """The fewest correct significant digits over the entries: min −log10(|est − exact| / |exact|), at most ``cap``.

    Entries whose exact value is 0 count their absolute error instead.
    """
    estimate, exact = np.asarray(estimate, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.abs(estimate - exact) / np.where(exact == 0, 1.0, np.abs(exact))
        err = np.where(estimate == exact, 0.0, err)  # also equal infinities
        digits = -np.log10(err)
    return float(min(cap, np.min(digits)))

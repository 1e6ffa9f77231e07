"""solve() against exact rational arithmetic: correct digits of every statistic it reports.

Correct digits are min over the entries of −log10(|estimate − exact| / |exact|), capped at 16
(tests/exact.py: coefficients, σ̂² and (AᵀA)⁻¹ exact, square roots to 60 digits, the t quantile
from scipy as the solver takes it). The thresholds come from the arithmetic, not from what one
machine measured, so that they hold under any BLAS kernel and CPU:
- coefficients: 15 digits (within about 5 units in the last place: the refinement makes them
  correctly rounded in every case measured, 16.0);
- standard errors and t values: 14.5 digits (within about 15 units in the last place: σ̂ and the
  diagonal of (AᵀA)⁻¹ pass through sums whose order the BLAS kernel chooses, and a square root;
  measured 15.4 to 16.0 under OpenBLAS' Haswell and SkylakeX kernels);
- interval bounds β ∓ q·se: no more error than the errors of this fit's own β and se carry into
  them, plus the roundings of q·se, of the difference and of the reference (a bound near 0 cannot
  carry as many digits as β and se, since β − q·se cancels: scotland's ceiling is 12.9 digits).

Data: R's data sets mtcars, swiss, LifeCycleSavings and USJudgeRatings (package datasets) are
in tests/data: LifeCycleSavings and USJudgeRatings converted by a script from R's own sources
(src/library/datasets/data/*.R), mtcars and swiss from published CSV copies, checked below
against the coefficients R's lm prints for them. Longley, stackloss and the others come
with statsmodels.
"""

import functools
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from linearnet.leastsq import RankDeficientWarning, solve, solve_chunks

from exact import correct_digits, exact_statistics
from houses import make_houses

DATA = Path(__file__).parent / "data"


def r_data(name, target):
    frame = pd.read_csv(DATA / f"{name}.csv", index_col=0)
    return frame.drop(columns=target).to_numpy(float), frame[target].to_numpy(float)


def statsmodels_data(name):
    data = getattr(sm.datasets, name).load_pandas()
    return data.exog.to_numpy(float), data.endog.to_numpy(float)


def polynomial(degree, x):
    return np.vander(x, degree + 1, increasing=True)[:, 1:]


X21, YEARS = np.arange(21.0), np.arange(1947.0, 1963.0)  # x = 0..20; calendar years 1947..1962

DESIGNS = {
    "longley": lambda: statsmodels_data("longley"),
    "stackloss": lambda: statsmodels_data("stackloss"),
    "cpunish": lambda: statsmodels_data("cpunish"),
    "scotland": lambda: statsmodels_data("scotland"),
    "ccard": lambda: statsmodels_data("ccard"),
    "copper": lambda: statsmodels_data("copper"),
    "statecrime": lambda: statsmodels_data("statecrime"),
    "committee": lambda: statsmodels_data("committee"),
    "mtcars": lambda: r_data("mtcars", "mpg"),
    "swiss": lambda: r_data("swiss", "Fertility"),
    "LifeCycleSavings": lambda: r_data("LifeCycleSavings", "sr"),
    "USJudgeRatings": lambda: r_data("USJudgeRatings", "RTEN"),
    # raw polynomial columns; "exact" data lie on the polynomial (every coefficient 1, σ̂ = 0)
    "degree 5 exact": lambda: (polynomial(5, X21), 1 + polynomial(5, X21).sum(axis=1)),
    "degree 5 cos": lambda: (polynomial(5, X21), 10 * np.cos(X21) + X21),
    "degree 10 exact": lambda: (polynomial(10, X21), 1 + polynomial(10, X21).sum(axis=1)),
    "degree 10 cos": lambda: (polynomial(10, X21), 10 * np.cos(X21) + X21),
    "cubic in year exact": lambda: (polynomial(3, YEARS), 1 + polynomial(3, YEARS).sum(axis=1)),
    "cubic in year cos": lambda: (polynomial(3, YEARS), np.cos(YEARS) + YEARS),
}


@functools.cache
def design(name):
    X, y = DESIGNS[name]()
    return X, y, exact_statistics(X, y)


def fit_by(way, X, y, **kwargs):
    if way == "memory":
        return solve(X, y, **kwargs)

    def chunks():  # 7 rows a chunk: several chunks even for the smallest data set
        for i in range(0, len(X), 7):
            yield X[i : i + 7], y[i : i + 7]

    return solve_chunks(chunks, [f"x{j + 1}" for j in range(X.shape[1])], **kwargs)


def digits(fit, exact):
    return {
        "params": correct_digits(fit.params, exact["params"]),
        "bse": correct_digits(fit.bse, exact["bse"]),
        "tvalues": correct_digits(fit.tvalues, exact["tvalues"]),
        "conf_int": correct_digits(fit.conf_int, exact["conf_int"]),
    }


PARAMS, BSE = 15.0, 14.5  # correct digits required of coefficients, and of standard errors and t values
U = 2.0**-53  # the unit roundoff of float64
# the t quantile of the intervals: linearnet's (distributions.t_ppf, summed with math alone up to 10⁴ df) is within
# 4.5e-15 of the exact one (tests/test_distributions.py), scipy's, which the reference takes, within 6e-16
Q_ERROR = 5.1e-15


def interval_digits(fit, exact) -> float:
    """The correct digits the interval bounds must have, given the errors of this fit's β and se.

    A bound b = β − q·se computed from β̂ and ŝ is off by at most |β̂ − β| + q·|ŝ − se| plus the
    roundings of q·ŝ and of the difference; the reference β, se and b are float64 roundings of the
    exact values (half a unit each). The bound relative to |b|, doubled for second-order terms.
    """
    beta, se, bounds = exact["params"], exact["bse"], exact["conf_int"]
    q = (bounds[:, 1] - bounds[:, 0]) / (2 * np.where(se == 0, 1.0, se))
    carried = np.abs(fit.params - beta) + U * np.abs(beta) + q * (np.abs(fit.bse - se) + (2 * U + Q_ERROR) * se)
    with np.errstate(divide="ignore", invalid="ignore"):
        allowed = 2 * (carried[:, None] / np.abs(bounds) + 2 * U)
    allowed = np.where(bounds == 0, np.inf, allowed)
    return float(min(16.0, -np.log10(allowed.max())))


def assert_accurate(fit, exact, bse=BSE):
    got = digits(fit, exact)
    assert got["params"] >= PARAMS, got
    assert got["bse"] >= bse and got["tvalues"] >= bse, got
    assert got["conf_int"] >= interval_digits(fit, exact), (got, interval_digits(fit, exact))
    return got


REAL = [  # R's and statsmodels' data sets: scaled condition numbers up to 4e4 (longley; R's lm: 10.4 digits)
    "longley",
    "stackloss",
    "cpunish",
    "scotland",  # an interval bound near 0: the float64 ceiling of its digits is 12.9
    "ccard",
    "copper",
    "statecrime",
    "committee",
    "mtcars",
    "swiss",
    "LifeCycleSavings",
    "USJudgeRatings",  # scaled condition number 590, the worst of the fast path
]


@pytest.mark.parametrize("way", ["memory", "chunks"])
@pytest.mark.parametrize("name", REAL)
def test_real_data_sets_against_exact_arithmetic(name, way):
    X, y, exact = design(name)
    got = assert_accurate(fit_by(way, X, y), exact)
    assert min(got.values()) >= 12  # the target: 12 digits on every statistic (measured 12.9 or more)


POLYNOMIALS = {  # name: ways, method in memory, whether the data lie on the polynomial (σ̂ = 0)
    "degree 5 exact": (["memory", "chunks"], "qr", True),  # condition number 6e6
    "degree 5 cos": (["memory", "chunks"], "qr", False),
    "degree 10 exact": (["memory", "chunks"], "qr", True),  # 1e14 (scaled 1.6e7)
    "degree 10 cos": (["memory", "chunks"], "qr", False),
    # 7e17 (scaled 9e8): beyond the semi-normal equations, so in memory only (chunks warn; see test_leastsq)
    "cubic in year exact": (["memory"], "qr-augmented", True),
    "cubic in year cos": (["memory"], "qr-augmented", False),
}


@pytest.mark.parametrize(
    "name, way", [(name, way) for name, (ways, _, _) in POLYNOMIALS.items() for way in ways], ids=str
)
def test_raw_polynomials_against_exact_arithmetic(name, way):
    X, y, exact = design(name)
    method, on_it = POLYNOMIALS[name][1:]
    fit = fit_by(way, X, y)
    assert fit.method == (method if way == "memory" else "tsqr")
    if on_it:  # the data lie on the polynomial: σ̂ = 0, and the intervals are points
        got = digits(fit, exact)
        assert got["params"] >= PARAMS, got  # measured 16.0 (correctly rounded) in every case
        assert exact["sigma"] == 0 and fit.sigma <= 1e-12 * np.abs(y).max()
        assert got["conf_int"] >= PARAMS, got
    else:
        assert_accurate(fit, exact)


def test_what_the_usual_tools_get_on_the_cubic_in_calendar_years():
    """The same problem through numpy.linalg.lstsq: the reason for the care above."""
    X, y, exact = design("cubic in year cos")
    A = np.column_stack([np.ones(len(X)), X])
    assert solve(X, y).condition_number > 1e17
    assert correct_digits(np.linalg.lstsq(A, y, rcond=None)[0], exact["params"]) < 8


@functools.cache
def houses():
    data = np.loadtxt(io.StringIO(make_houses()), delimiter=",", skiprows=1)
    return data[:, :3], data[:, 3]


UNITS = [  # (factor of the columns, factor of y): areas, rooms and ages in units of 1e-170 or 1e150
    (np.array([1e-170, 1e-170, 1e-170]), 1.0),  # every square underflows: was "linearly dependent"
    (np.array([1e-170, 1.0, 1.0]), 1.0),  # one column's squares underflow
    (np.array([1e-170, 1e-170, 1e-170]), 1e-170),  # y's too (R², σ̂ and rss would be 0)
    (np.array([1e150, 1e150, 1e150]), 1.0),  # squares near 1e305, still finite
    (np.array([1.0, 1e150, 1.0]), 1e150),
]


@pytest.mark.parametrize("way", ["memory", "chunks"])
@pytest.mark.parametrize(
    "columns, target",
    UNITS,
    ids=["all columns 1e-170", "area 1e-170", "all and y 1e-170", "all columns 1e150", "rooms and y 1e150"],
)
def test_tiny_and_huge_units(columns, target, way):
    X, y = houses()
    Xu, yu = X * columns, y * target
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not a RuntimeWarning of overflow, nor any other
        fit, plain = fit_by(way, Xu, yu), fit_by(way, X, y)
    assert fit.rank == 4 and fit.method == "cholesky"
    # the same fit, in the units of the data (the data themselves differ by the rounding of × 1e-170)
    unit = np.r_[target, target / columns]
    np.testing.assert_allclose(fit.params, plain.params * unit, rtol=1e-12)
    np.testing.assert_allclose(fit.bse, plain.bse * unit, rtol=1e-12)
    np.testing.assert_allclose(fit.tvalues, plain.tvalues, rtol=1e-12)
    assert fit.r2 == pytest.approx(plain.r2, rel=1e-12) and fit.sigma == pytest.approx(plain.sigma * target, rel=1e-12)
    # F is free of units; the log-likelihood moves by −n·log(unit of y), whose squares float64 may not hold
    assert fit.fvalue == pytest.approx(plain.fvalue, rel=1e-12)
    assert fit.llf == pytest.approx(plain.llf - len(y) * np.log(target), rel=1e-12)
    # and as accurate as ever against exact arithmetic on the data as given
    assert_accurate(fit, exact_statistics(Xu, yu))


def test_exact_statistics_agree_with_statsmodels():
    """The reference itself, on well-conditioned data: statsmodels' OLS to its own accuracy."""
    X, y, exact = design("stackloss")
    ref = sm.OLS(y, sm.add_constant(X)).fit()
    np.testing.assert_allclose(exact["params"], ref.params, rtol=1e-12)
    np.testing.assert_allclose(exact["bse"], ref.bse, rtol=1e-12)
    np.testing.assert_allclose(exact["tvalues"], ref.tvalues, rtol=1e-12)
    np.testing.assert_allclose(exact["conf_int"], ref.conf_int(), rtol=1e-12)
    assert exact["sigma"] == pytest.approx(np.sqrt(ref.scale), rel=1e-13) and exact["df"] == ref.df_resid


@pytest.mark.parametrize(
    "name, coefficients",
    [  # the coefficients R's summary(lm(target ~ ., data)) prints
        (
            "mtcars",
            [12.30337, -0.11144, 0.01334, -0.02148, 0.78711, -3.71530, 0.82104, 0.31776, 2.52023, 0.65541, -0.19942],
        ),
        ("swiss", [66.91518, -0.17211, -0.25801, -0.87094, 0.10412, 1.07705]),
        ("LifeCycleSavings", [28.5660865, -0.4611931, -1.6914977, -0.0003369, 0.4096949]),
    ],
)
def test_the_r_data_sets_are_r_s(name, coefficients):
    X, _, exact = design(name)
    decimals = {"mtcars": 5, "swiss": 5, "LifeCycleSavings": 7}[name]  # as R prints them
    np.testing.assert_allclose(exact["params"], coefficients, rtol=0, atol=0.5 * 10.0**-decimals)
    assert X.shape == {"mtcars": (32, 10), "swiss": (47, 5), "LifeCycleSavings": (50, 4)}[name]


@pytest.mark.parametrize("way", ["memory", "chunks"])
def test_tiny_units_keep_the_minimum_norm_solution_of_a_rank_deficient_design(way):
    X, y = houses()
    X = np.column_stack([X, X[:, 0] - 2 * X[:, 2]])  # area − 2·age: rank 4 of 5 parameters
    with pytest.warns(RankDeficientWarning, match="rank 4 of 5"):
        fit, plain = fit_by(way, X * 1e-170, y, allow_rank_deficient=True), fit_by(way, X, y, allow_rank_deficient=True)
    assert fit.rank == plain.rank == 4 and fit.method == "pinv"
    unit = np.r_[1.0, np.full(4, 1e170)]  # the minimum norm of the coefficients of the data, in its units
    # the pinv fit is not refined: measured to agree to 1.3e-12
    np.testing.assert_allclose(fit.params, plain.params * unit, rtol=1e-10)
    np.testing.assert_allclose(fit.bse, plain.bse * unit, rtol=1e-10)

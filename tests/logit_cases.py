"""What R computes for logistic and multinomial logit models on its own data sets, as stored in
``tests/fixtures/r/logit.json`` by ``tests/r/make_logit_fixtures.R`` (fields in ``tests/r/README.md``), the
cases' data as arrays, and the measure of agreement the logit tests use.

    from logit_cases import case, data, params

    c = case("birthwt_race")
    X, y = data(c)  # the features (n, d) in float64, y the class codes in R's order of c["levels"]
    fit = solve_logit(X, y, classes=c["levels"], feature_names=c["features"])
    b = params(c["newton_r"], "coefficients")  # (p, K-1): statsmodels' and linearnet's layout
"""

from __future__ import annotations

import copy
import csv
import functools
import json
from collections.abc import Callable

import numpy as np

from r_cases import FIXTURES


@functools.cache
def _expected() -> dict:
    return json.loads((FIXTURES / "logit.json").read_text(encoding="utf-8"))


def expected() -> dict:
    """The whole of ``logit.json``: ``r_version``, ``packages`` and ``cases`` (a fresh copy)."""
    return copy.deepcopy(_expected())


def cases(where: Callable[[dict], bool] | None = None) -> list[dict]:
    """Every case in the order R wrote them, or those for which ``where(case)`` is true."""
    return [c for c in expected()["cases"] if where is None or where(c)]


def names(where: Callable[[dict], bool] | None = None) -> list[str]:
    return [c["name"] for c in cases(where)]


def case(name: str) -> dict:
    found = cases(lambda c: c["name"] == name)
    if not found:
        raise KeyError(f"no logit case named {name!r}; there are {names()}")
    return found[0]


def finite(c: dict) -> bool:
    """A finite optimum on the case's own design (neither separated nor aliased)."""
    return not c["separated"] and not c["aliased"]


def binary(c: dict) -> bool:
    return len(c["levels"]) == 2


@functools.cache
def _read(name: str) -> tuple[list[str], list[list[str]]]:
    with (FIXTURES / name).open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def data(c: dict, features: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The case's features (n, d) as float64 and its target as int64 codes 0..K-1 in the order of
    ``c["levels"]`` (R's: the reference is 0), from the CSV R wrote, as R read it. For ``iris_setosa_rest``
    the species other than setosa are the level ``other``, as in R."""
    header, rows = _read(c["data"])
    cols = c["features"] if features is None else features
    X = np.array([[float(r[header.index(f)]) for f in cols] for r in rows], dtype=np.float64).reshape(len(rows), -1)
    labels = [r[header.index(c["target"])] for r in rows]
    if c["name"] == "iris_setosa_rest":
        labels = [s if s == "setosa" else "other" for s in labels]
    y = np.array([c["levels"].index(s) for s in labels], dtype=np.int64)
    return X, y


def params(fit: dict, field: str) -> np.ndarray:
    """An R fit's per-class statistic (``"coefficients"``, ``"se"``, ``"z"``, ``"p"``) as a (p, K-1) array,
    the intercept first: R stores a row per non-reference class; linearnet and statsmodels a column.
    R's NA (an aliased coefficient) is NaN."""
    return np.array([[np.nan if v is None else v for v in row] for row in fit[field]], dtype=np.float64).T


def digits(got, want, scale=None) -> float:
    """The significant digits on which ``got`` agrees with ``want`` (the worst element): −log10 of
    |got − want| / scale, where scale is |want| unless given (17 for exact agreement, NaN against a number 0)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = np.abs(want) if scale is None else np.asarray(scale, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):  # equal values (p-values of 0 among them) agree
        err = np.where(got == want, 0.0, np.abs(got - want) / scale)
    worst = float(np.max(err)) if err.size else 0.0
    return 17.0 if worst <= 1e-17 else float(-np.log10(worst))


def coef_digits(got, want, se) -> float:
    """The digits on which coefficients agree, each measured against the larger of its own size and its
    standard error (see ``assert_coef``)."""
    return digits(got, want, np.maximum(np.abs(np.asarray(want)), np.asarray(se)))


def assert_coef(got, want, se, at_least: float, what: str = "coefficients") -> None:
    """Coefficients agree to ``at_least`` significant digits, each relative to the larger of its own size
    and its standard error.

    Why not relative to its size alone: Newton's rounding error in a coefficient is the inverse Hessian
    (the covariance) times the rounding error of the gradient, so it scales with the coefficient's
    standard error, not with its value; a coefficient much smaller than its standard error (one that does
    not differ from 0) carries no more meaningful relative digits than that ratio allows. Measured against
    max(|b|, se) a well-determined coefficient is still held to its own size."""
    got_digits = coef_digits(got, want, se)
    assert got_digits >= at_least, f"{what} agree to {got_digits:.1f} digits, want {at_least}:\n{got}\n{want}"


def assert_digits(got, want, at_least: float, what: str) -> None:
    got_digits = digits(got, want)
    assert got_digits >= at_least, f"{what} agree to {got_digits:.1f} digits, want {at_least}:\n{got}\n{want}"

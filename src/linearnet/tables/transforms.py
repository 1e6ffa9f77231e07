"""The transforms of a formula's terms that R's ``lm`` has and formulaic lacks or spells otherwise: ``poly``
(R's ``stats::poly``: orthogonal polynomials, or raw powers), ``scale`` and ``center`` (R's ``scale``), ``bs``
(R's ``splines::bs``, by formulaic's) and ``offset`` (a term whose coefficient is 1, not fitted). R's ``ns``
has no counterpart in formulaic (its ``cr`` is mgcv's spline, not R's ``ns``).

``poly``, ``scale`` and ``center`` learn from the rows they are fitted on; their state (for ``poly`` the
``alpha`` and ``norm2`` of R's ``attr(, "coefs")``, for ``scale`` the centre and scale R keeps as attributes,
for ``bs`` its knots and boundary)
is kept under the expression of the call (``"poly(x, 3)"``), and a model's state is applied to new rows
unchanged, as R's ``predict()`` applies them (``predict.poly``'s three-term recurrence). The state is plain
JSON: floats, lists of floats, null.
"""

from __future__ import annotations

import ast
import itertools
import math
from typing import Any

import numpy as np

__all__ = ["formula_context", "transform_state_needed", "whole_column_refusal", "is_transform_state"]

LEARNING = frozenset({"poly", "scale", "center", "bs"})  # the transforms here that learn from the rows
OFFSET = "offset"


def _stateful(func):
    from formulaic.utils.stateful_transforms import stateful_transform

    return stateful_transform(func)


def _column(x, name: str) -> np.ndarray:
    values = np.asarray(x, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"{name}() takes one column")
    return values


def _degree(degree) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, float)) or degree != int(degree):
        raise ValueError(f"'degree' must be a whole number, got {degree!r}")
    if degree < 1:
        raise ValueError("'degree' must be at least 1")
    return int(degree)


def _poly(x, degree=1, raw=False, _state: dict | None = None):
    """R's ``poly(x, degree)``: the orthogonal polynomials of degree 1..``degree`` of ``x`` (R's algorithm:
    the QR factorisation of the centred powers, each column of unit length, its leading coefficient
    positive), or with ``raw`` the powers x, x², ... ; columns named 1..degree as R names them."""
    from formulaic.materializers.types import FactorValues

    state = {} if _state is None else _state
    x, degree = _column(x, "poly"), _degree(degree)
    if not isinstance(raw, bool):
        raise ValueError(f"raw must be True or False, got {raw!r}")
    if raw:
        out = x[:, None] ** np.arange(1, degree + 1)
    elif "alpha" in state:  # a model's coefficients: R's predict.poly
        if len(state["alpha"]) != degree:
            raise ValueError(f"the model's poly() has degree {len(state['alpha'])}, not {degree}")
        out = _poly_predict(x, state["alpha"], state["norm2"])
    else:
        out, alpha, norm2 = _poly_fit(x, degree)
        state.update(alpha=alpha, norm2=norm2)
    return FactorValues(out, column_names=tuple(str(k) for k in range(1, degree + 1)))


def _poly_fit(x: np.ndarray, degree: int) -> tuple[np.ndarray, list[float], list[float]]:
    """R's ``poly`` on the rows it is fitted on: the columns, and ``attr(, "coefs")``'s alpha and norm2."""
    if np.isnan(x).any():
        raise ValueError("missing values are not allowed in 'poly'")
    if degree >= len(np.unique(x)):
        raise ValueError("'degree' must be less than number of unique points")
    mean = float(np.mean(x))
    xc = x - mean
    q, r = np.linalg.qr(xc[:, None] ** np.arange(degree + 1))
    z = q * np.diag(r)  # the monic orthogonal polynomials: each column's leading coefficient 1
    norm2 = (z**2).sum(axis=0)
    alpha = (xc @ z**2) / norm2 + mean
    out = z[:, 1:] / np.sqrt(norm2[1:])
    return out, [float(a) for a in alpha[:degree]], [1.0, *(float(v) for v in norm2)]


def _poly_predict(x: np.ndarray, alpha: list[float], norm2: list[float]) -> np.ndarray:
    """R's ``predict.poly``: the three-term recurrence with a fit's ``alpha`` and ``norm2``."""
    degree = len(alpha)
    z = np.ones((len(x), degree + 1))
    z[:, 1] = x - alpha[0]
    for i in range(1, degree):
        z[:, i + 1] = (x - alpha[i]) * z[:, i] - (norm2[i + 1] / norm2[i]) * z[:, i - 1]
    return z[:, 1:] / np.sqrt(np.asarray(norm2[2:]))


def _scale(x, center=True, scale=True, _state: dict | None = None):
    """R's ``scale(x, center, scale)``: ``x`` less its mean (``center`` True, or less the number given), then
    divided by its standard deviation (n − 1; the root mean square when not centred), or by the number given."""
    state = {} if _state is None else _state
    x = _column(x, "scale")
    if "center" not in state:
        state["center"] = _scale_center(x, center)
        shifted = x if state["center"] is None else x - state["center"]
        state["scale"] = _scale_scale(shifted, scale)
    out = x if state["center"] is None else x - state["center"]
    return out if state["scale"] is None else out / state["scale"]


def _scale_center(x: np.ndarray, center) -> float | None:
    if center is True:  # R: colMeans(x, na.rm = TRUE)
        return float(np.mean(x[~np.isnan(x)]))
    if center is False:
        return None
    return _number(center, "center")


def _scale_scale(shifted: np.ndarray, scale) -> float | None:
    if scale is True:  # R: sqrt(sum(x^2) / max(1, n - 1)) over the values present
        present = shifted[~np.isnan(shifted)]
        return float(np.sqrt(np.sum(present**2) / max(1, len(present) - 1)))
    if scale is False:
        return None
    return _number(scale, "scale")


def _number(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be TRUE, FALSE or a number, got {value!r}")
    return float(value)


def _center(x, _state: dict | None = None):
    """``x`` less its mean (formulaic's ``center``; R's ``scale(x, scale = FALSE)``)."""
    return _scale(x, True, False, _state=_state)


def _bs(x, df=None, knots=None, degree=3, intercept=False, _state: dict | None = None):
    """R's ``splines::bs``: the B-spline basis of ``degree`` with ``df`` columns (inner knots at quantiles of
    ``x``) or the inner ``knots`` given, the boundary knots at the range of ``x``, extended beyond it as R
    extends it; ``intercept`` adds the first basis function. formulaic's ``bs``, which computes R's basis,
    with R's argument names and R's column names (1, 2, ...)."""
    from formulaic.materializers.types import FactorValues
    from formulaic.transforms import basis_spline

    state = {} if _state is None else _state
    x = _column(x, "bs")
    if not isinstance(intercept, bool):
        raise ValueError(f"intercept must be True or False, got {intercept!r}")
    basis = basis_spline(
        x, df=df, knots=knots, degree=_degree(degree), include_intercept=intercept, extrapolation="extend", _state=state
    )
    state.update(
        lower_bound=float(state["lower_bound"]),
        upper_bound=float(state["upper_bound"]),
        knots=[float(k) for k in state["knots"]],
    )
    gap = np.isnan(x)  # R: no value where x has none; the knots from the values present
    columns = [np.where(gap, np.nan, np.asarray(v, dtype=np.float64)) for v in basis.values()]
    return FactorValues(np.column_stack(columns), column_names=tuple(str(k) for k in range(1, len(columns) + 1)))


def _offset(x):
    """R's ``offset(x)``: the column as it is; the design leaves it out and the fit takes it as known."""
    return _column(x, OFFSET)


def formula_context() -> dict[str, Any]:
    """The names a formula's terms may call beyond formulaic's own, R's transforms in place of formulaic's."""
    return {
        "poly": _stateful(_poly),
        "scale": _stateful(_scale),
        "center": _stateful(_center),
        "bs": _stateful(_bs),
        OFFSET: _offset,
    }


def _calls(parsed) -> list[ast.Call]:
    """Every call in the terms of a parsed formula (its right-hand side)."""
    from formulaic.parser.types import Factor
    from formulaic.utils.code import sanitize_variable_names

    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    calls: list[ast.Call] = []
    for term in rhs:
        for factor in term.factors:
            if factor.eval_method == Factor.EvalMethod.PYTHON:  # names sanitized as formulaic keys the state
                tree = ast.parse(sanitize_variable_names(factor.expr, {}, {}).strip(), mode="eval")
                calls += [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
    return calls


def _named(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else None


def transform_state_needed(parsed) -> list[str]:
    """The calls of a parsed formula's terms that learn from the rows (``poly(x, 3)``, ``scale(x)``, ...; not
    ``poly(x, 3, raw=True)``), each once, in the order written: a design made a part of the rows at a time
    (chunks, files of a folder, shares of processes) needs their state from all the rows first."""
    found: list[str] = []
    for call in _calls(parsed):
        name = _named(call)
        if name not in LEARNING:
            continue
        raw = next((k.value for k in call.keywords if k.arg == "raw"), None)
        if name == "poly" and isinstance(raw, ast.Constant) and raw.value is True:
            continue
        text = ast.unparse(call)
        text = parsed.named(text) if hasattr(parsed, "named") else text  # an R formula's: the user's spelling
        if text not in found:
            found.append(text)
    return found


def learning_factors(parsed) -> tuple[list[str], set[str]]:
    """The factors of a parsed formula's terms (right-hand side) that call a transform that learns, each once,
    and the columns they read."""
    from formulaic import Formula

    exprs: list[str] = []
    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    for term in rhs:
        for factor in term.factors:
            if factor.expr not in exprs and transform_state_needed(Formula(f"{{{factor.expr}}}")):
                exprs.append(factor.expr)
    columns = required_columns(Formula(" + ".join(f"{{{e}}}" for e in exprs))) if exprs else set()
    return exprs, columns


def poly_columns(exprs: list[str]) -> list[tuple[str, str]]:
    """(factor, column) for each column a factor reads through an orthogonal ``poly``, which learns from it."""
    from formulaic import Formula

    found = []
    for expr in exprs:
        if any(name.startswith("poly(") for name in transform_state_needed(Formula(f"{{{expr}}}"))):
            found += [(expr, column) for column in sorted(required_columns(Formula(f"{{{expr}}}")))]
    return found


def whole_column_refusal(where: str, needed: list[str], part: str = "a chunk at a time") -> ValueError:
    """The one-line refusal of a formula whose transforms learn from a column read ``part`` ("a chunk at a
    time", "a file at a time", "a share in each process")."""
    shown = ", ".join(needed[:3]) + (", ..." if len(needed) > 3 else "")
    whole = "raise --memory-budget, " if "chunk" in part else ""
    return ValueError(
        f"{where}: {shown} in the formula {'learns' if len(needed) == 1 else 'learn'} from the whole column, "
        f"which is read here {part}: {whole}transform the column before fitting, or use poly(x, d, raw = TRUE)"
    )


def offset_terms(names: list[str]) -> list[int]:
    """The positions of the offset(...) columns among a design's column names."""
    return [j for j, name in enumerate(names) if name.startswith(f"{OFFSET}(") and name.endswith(")")]


def is_transform_state(value) -> bool:
    """Whether a value of a design's ``factors`` is a transform's state (a JSON object), not a factor's levels."""
    return isinstance(value, dict)


def check_state(state, features: int) -> str | None:
    """Why ``state`` (one entry of a model file's "transforms") is not a transform's state, or None when it is:
    ``{"alpha": [d numbers], "norm2": [d + 2 positive numbers]}`` (poly, with d at most ``features``),
    ``{"center": number | null, "scale": number other than 0 | null}`` (scale, center) or
    ``{"lower_bound": number, "upper_bound": number, "knots": [numbers, in increasing order]}`` (bs)."""
    if not isinstance(state, dict):
        return "must be an object"
    check = _STATE_CHECKS.get(frozenset(state))
    if check is None:
        return 'must hold "alpha" and "norm2" (poly), "center" and "scale" (scale, center), or "knots" and bounds (bs)'
    return check(state, max(features, 1))


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_poly(state: dict, most: int) -> str | None:
    alpha, norm2 = state["alpha"], state["norm2"]
    if not isinstance(alpha, list) or not 1 <= len(alpha) <= most or not all(map(_finite, alpha)):
        return f"alpha must be a list of 1 to {most} finite numbers"
    if not isinstance(norm2, list) or len(norm2) != len(alpha) + 2 or not all(_finite(v) and v > 0 for v in norm2):
        return f"norm2 must be a list of {len(alpha) + 2} positive finite numbers"
    return None


def _check_scale(state: dict, most: int) -> str | None:
    if not (state["center"] is None or _finite(state["center"])):
        return "center must be a finite number or null"
    if not (state["scale"] is None or (_finite(state["scale"]) and state["scale"] != 0)):
        return "scale must be a finite number other than 0, or null"
    return None


def _check_bs(state: dict, most: int) -> str | None:
    knots, most = state["knots"], 2 * most + 2  # d columns: at most d inner knots and d + 1 at each end
    if not _finite(state["lower_bound"]) or not _finite(state["upper_bound"]):
        return "lower_bound and upper_bound must be finite numbers"
    if not isinstance(knots, list) or not 2 <= len(knots) <= most or not all(map(_finite, knots)):
        return f"knots must be a list of 2 to {most} finite numbers"
    if any(b < a for a, b in itertools.pairwise(knots)):
        return "knots must be in increasing order"
    return None


_STATE_CHECKS = {
    frozenset({"alpha", "norm2"}): _check_poly,
    frozenset({"center", "scale"}): _check_scale,
    frozenset({"lower_bound", "upper_bound", "knots"}): _check_bs,
}


def required_columns(side) -> set[str]:
    """The columns a side of a parsed formula reads: formulaic's count of them, with those read inside the
    transforms here (formulaic's count leaves out what a call to a stateful transform reads)."""
    from formulaic.parser.types import Factor
    from formulaic.transforms import TRANSFORMS
    from formulaic.utils.variables import Variable, get_required_variables

    known = {*TRANSFORMS, *formula_context()}
    names = {v for v in side.required_variables if v not in known or Variable.Role.VALUE in v.roles}
    for term in side:
        for factor in term.factors:
            if factor.eval_method != Factor.EvalMethod.PYTHON or not _calls_ours(factor.expr):
                continue
            variables = get_required_variables(factor.expr, {})
            names |= {v.root for v in variables if Variable.Role.VALUE in v.roles and v.root not in known}
    return names


def _calls_ours(expr: str) -> bool:
    """Whether a term's expression calls one of the transforms here (an expression formulaic cannot parse:
    no, and formulaic says why later)."""
    import re

    return re.search(rf"\b({'|'.join(sorted({*LEARNING, OFFSET}))})\s*\(", expr) is not None


def offset_notes(parsed, target: str) -> list[str]:
    """The note of a fit whose formula has ``offset(...)`` terms: what R's summary reports otherwise."""
    offsets = [call for call in _calls(parsed) if _named(call) == OFFSET]
    if not offsets:
        return []
    shown = " + ".join(dict.fromkeys(ast.unparse(call.args[0]) if call.args else "" for call in offsets))
    return [
        f"{', '.join(dict.fromkeys(ast.unparse(c) for c in offsets))} in the formula: fitted as R fits an offset, "
        f"{target} − ({shown}) on the other terms; R² and F are that fit's, as R's summary.lm reports them since "
        f"it takes the offset off the fitted values (older R, 4.2.2 for one, computes them with the offset in)"
    ]

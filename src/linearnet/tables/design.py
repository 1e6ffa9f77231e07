"""The design matrix of a table read whole: text columns coded as R's ``lm`` codes them (treatment coding,
the first level the reference), the coded columns' names, and Wilkinson formulas (checked, then built by
formulaic)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from .messages import _listing, _missing_value, _quote, _shown, _where
from .source import _Source


def coded_features(columns: list[str], coding: dict[str, list[str]]) -> list[str]:
    """The feature names of ``columns`` with the text ones coded: ``name[T.level]`` for each level but the first."""
    return [name for c in columns for name in ([f"{c}[T.{level}]" for level in coding[c][1:]] if c in coding else [c])]


_LEARNING_TRANSFORMS = re.compile(r"\b(center|scale|standardize|bs|cr|cs|cc|poly|hashed|lag)\s*\(")
# what a formula's terms may call by name: formulaic's transforms that learn nothing, and its contrasts
_FORMULA_CALLS = frozenset(
    {"C", "I", "Q", "log", "log2", "log10", "exp", "exp2", "exp10", "Treatment", "Sum", "Helmert", "Diff", "Poly"}
)
_FORMULA_NODES = (  # besides calls, attributes, names and keywords, checked one by one
    *(ast.Expression, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.List, ast.Tuple),
    *(ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop),  # Load, +, -, <, and
)


def _check_formula_code(formula: str, parsed) -> None:
    """Refuse a term that is Python beyond the transforms: formulaic evaluates terms as Python, and predict
    applies the formula a model file holds (np.savetxt, a column's to_csv or ctypes through np would run).

    A term may call the transforms, NumPy's elementwise functions (``np.log``) and contrasts
    (``contr.treatment``), with arithmetic, comparisons, constants and columns; nothing else.
    """
    from formulaic.parser.types import Factor, Term

    def terms(part) -> Iterator[Any]:  # lhs ~ rhs, parts | parts: nested structures of terms
        if isinstance(part, Term):
            yield part
        else:
            for item in part:
                yield from terms(item)

    def harmless(node) -> bool:
        if isinstance(node, ast.Call):
            return (isinstance(node.func, ast.Name) and node.func.id in _FORMULA_CALLS) or isinstance(
                node.func, ast.Attribute
            )  # an attribute is checked on its own
        if isinstance(node, ast.Attribute):
            if not isinstance(node.value, ast.Name) or node.attr.startswith("_"):
                return False
            if node.value.id == "np":
                return isinstance(getattr(np, node.attr, None), np.ufunc | float)  # np.log, np.pi
            return node.value.id == "contr"
        if isinstance(node, ast.Name):
            return not node.id.startswith("_")
        if isinstance(node, ast.keyword):
            return node.arg is not None
        return isinstance(node, _FORMULA_NODES)

    for term in terms(parsed):
        for factor in term.factors:
            if factor.eval_method != Factor.EvalMethod.PYTHON:
                continue
            for node in ast.walk(ast.parse(factor.expr, mode="eval")):
                if not harmless(node):
                    shown = ast.unparse(node)
                    raise ValueError(
                        f"the formula {formula!r} uses {shown if len(shown) <= 40 else shown[:36] + '...'}, which "
                        f"a formula cannot: its terms may call C, I, Q, log, exp, NumPy's elementwise functions "
                        f"(np.log, np.sqrt, ...) and contrasts, on columns and numbers"
                    )


def _parse_formula(formula: str, require_target: bool):
    """The parsed formula, its target column and the columns its right-hand side reads."""
    learning = _LEARNING_TRANSFORMS.search(formula)
    if learning:  # their state (a mean, knots) would have to be kept in the model file for predict
        raise ValueError(
            f"the formula {formula!r} uses a transform that learns from the data ({learning.group(1)}), "
            f"which a model file cannot keep yet; transform the column before fitting"
        )
    try:
        from formulaic import Formula

        parsed = Formula(formula)
    except Exception as exc:  # formulaic's syntax errors have several types
        raise ValueError(f"the formula {formula!r} cannot be read: {str(exc).splitlines()[0]}") from None
    _check_formula_code(formula, parsed)
    from formulaic import SimpleFormula

    sides = [parsed.lhs, parsed.rhs] if hasattr(parsed, "lhs") else [parsed]
    if not all(isinstance(side, SimpleFormula) for side in sides):  # y ~ x | z: several designs
        raise ValueError(
            f"the formula {formula!r} has parts separated by |; write a single formula such as 'y ~ x + a'"
        )
    if not hasattr(parsed, "lhs"):
        if require_target:
            raise ValueError(f"the formula {formula!r} has no target: write it as target ~ terms")
        rhs = parsed
        return parsed, None, sorted(rhs.required_variables)
    if not require_target:  # predicting: the right-hand side alone
        return parsed, None, sorted(parsed.rhs.required_variables)
    lhs = sorted(parsed.lhs.required_variables)
    if len(lhs) != 1:
        raise ValueError(f"the formula {formula!r} must have one column on the left of ~, got {len(lhs)}")
    return parsed, str(lhs[0]), sorted(parsed.rhs.required_variables)


def _categorical(values: list, levels: list[str]):
    import pandas as pd

    return pd.Categorical([None if v is None else str(v) for v in values], categories=levels)


def _apply_formula(src: _Source, formula: str, parsed, frame: dict, with_target: bool):
    """(X, y, term names, intercept) of a formula on the columns read: formulaic builds the design."""
    import pandas as pd
    from formulaic import model_matrix

    data = pd.DataFrame(frame)
    try:
        with np.errstate(all="ignore"):  # log(0) and the like: named below as terms that are not finite
            if with_target:
                matrices = model_matrix(parsed, data, na_action="raise")
                rhs, y = matrices.rhs, np.asarray(matrices.lhs.iloc[:, 0], dtype=np.float64)
            else:
                rhs = model_matrix(parsed.rhs if hasattr(parsed, "rhs") else parsed, data, na_action="raise")
                y = None
    except Exception as exc:  # formulaic reports what it cannot evaluate in several types
        raise ValueError(f"{src.name}: the formula {formula!r} cannot be applied: {str(exc).splitlines()[0]}") from None
    names = [str(c) for c in rhs.columns]
    intercept = "Intercept" in names
    keep = [j for j, n in enumerate(names) if n != "Intercept"]
    X = np.ascontiguousarray(np.asarray(rhs, dtype=np.float64)[:, keep])
    if y is not None and not np.isfinite(y).all():
        raise ValueError(f"{src.name}: the formula's target {str(parsed.lhs)!r} is not finite in every row")
    if not np.isfinite(X).all():
        j = int(np.flatnonzero(~np.isfinite(X).all(axis=0))[0])
        raise ValueError(f"{src.name}: the formula's term {names[keep[j]]!r} is not finite in every row")
    return X, y, [names[j] for j in keep], intercept


def _levels(src: _Source, name: str, values: list) -> list[str]:
    """The levels of a text column (the rows kept), sorted as R sorts a factor's; at least two."""
    levels = sorted({str(v) for v in values if v is not None})
    if len(levels) < 2:
        raise ValueError(
            f"{src.name}: column {_quote(name)} holds the single value {_shown(levels[0] if levels else '')}"
            f": a category with one level cannot be a feature"
        )
    return levels


def _gaps(src: _Source, name: str, column, *, missing: str) -> np.ndarray:
    """Where a text column has no value: refused with the first row, or a mask for ``missing="drop"`` (or
    ``"keep"``)."""
    import pyarrow.compute as pc

    if column.null_count and missing == "error":
        row = 1 + int(pc.index(pc.is_null(column), True).as_py())
        raise ValueError(f"{src.name}: column {_quote(name)}, {_where(src, row)}: {_missing_value(src, name, row)}")
    return np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)


def _dummies(src: _Source, name: str, values: list, levels: list[str], keep: np.ndarray) -> np.ndarray:
    """Treatment coding of the kept rows' values: a 0/1 column for each level but the first (the reference);
    NaN in each for a row without a value (kept so under ``missing="keep"``)."""
    index = {level: k for k, level in enumerate(levels)}
    rows = np.flatnonzero(keep) + 1  # each value's row in the file, for messages
    out = np.zeros((len(values), len(levels) - 1))
    for i, value in enumerate(values):
        if value is None:
            out[i] = np.nan
            continue
        k = index.get(str(value))
        if k is None:
            raise ValueError(
                f"{src.name}: column {_quote(name)}, {_where(src, int(rows[i]))}: {_shown(value)} is not one of the "
                f"levels the model knows ({_listing(levels)})"
            )
        if k:
            out[i, k - 1] = 1.0
    return out

"""A Wilkinson formula read and checked: R's spellings translated (:mod:`.rformula`), its terms held to the
transforms and NumPy functions a model file may apply, its target and the columns it reads."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from .messages import _shown
from .rformula import RFormula, alias, column_of, translate, unaliased

# formulaic's transforms that learn from the data and whose state a model file does not keep (poly, scale,
# center and bs are R's, from .transforms, their state kept)
_LEARNING_TRANSFORMS = re.compile(r"\b(standardize|cr|cs|cc|hashed|lag)\s*\(")


# what a formula's terms may call by name: formulaic's transforms that learn nothing, and its contrasts
_FORMULA_CALLS = frozenset(
    {"C", "I", "Q", "log", "log2", "log10", "exp", "exp2", "exp10", "Treatment", "Sum", "Helmert", "Diff", "Poly"}
    | {"poly", "scale", "center", "bs", "offset"}  # R's transforms (.transforms)
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
                    shown = unaliased(ast.unparse(node), quoted=True)
                    raise ValueError(
                        f"the formula {_formula_shown(formula)} uses "
                        f"{shown if len(shown) <= 40 else shown[:36] + '...'}, which "
                        f"a formula cannot: its terms may call C, factor, relevel, I, Q, poly, scale, center, bs, "
                        f"offset, log, exp, sqrt, abs, NumPy's elementwise functions (np.log, np.sin, ...) and "
                        f"contrasts, on columns and numbers"
                    )


def _check_intercept_column(formula: str, parsed) -> None:
    """Refuse a column named Intercept as a term: formulaic names the intercept's column so, and the two would be
    one column of the design, the column's coefficient merged into the intercept."""
    sides = [parsed.rhs] if hasattr(parsed, "rhs") else [parsed]
    for side in sides:
        for term in side:
            if any(
                factor.expr == alias("Intercept") and str(factor.eval_method.value) == "lookup"
                for factor in term.factors
            ):
                raise ValueError(
                    f"the formula {_formula_shown(formula)} has a column named Intercept as a term, which the design "
                    f"would not tell from the intercept; rename the column, or write it as I(Intercept)"
                )


def _parse_formula(formula: str, require_target: bool, header: list[str] | None = None):
    """The parsed formula (an :class:`RFormula`: R's spellings translated for formulaic), its target column and
    the columns its right-hand side reads (and the left side's others). A formula with R's ``.`` needs the
    table's columns (``header``): without them, (None, None, None)."""
    learning = _LEARNING_TRANSFORMS.search(formula)
    if learning:  # their state (a mean, knots) would have to be kept in the model file for predict
        raise ValueError(
            f"the formula {_formula_shown(formula)} uses a transform that learns from the data ({learning.group(1)}), "
            f"which a model file cannot keep yet; transform the column before fitting"
        )
    translation = translate(formula, header)
    if translation.dot and header is None:
        return None, None, None
    try:
        from formulaic import Formula

        parsed = RFormula(Formula(translation.text), translation)
    except Exception as exc:  # formulaic's syntax errors have several types
        reason = unaliased(_formulaic_reason(exc), quoted=True)
        raise ValueError(f"the formula {_formula_shown(formula)} cannot be read: {reason}") from None
    _check_formula_code(formula, parsed.parsed)
    from formulaic import SimpleFormula

    sides = [parsed.lhs, parsed.rhs] if hasattr(parsed, "lhs") else [parsed.parsed]
    if not all(isinstance(side, SimpleFormula) for side in sides):  # y ~ x | z: several designs
        raise ValueError(
            f"the formula {_formula_shown(formula)} has parts separated by |; "
            f"write a single formula such as 'y ~ x + a'"
        )
    _check_intercept_column(formula, parsed.parsed)
    rhs = parsed.rhs if hasattr(parsed, "lhs") else parsed.parsed
    reads = sorted(column_of(str(v)) or str(v) for v in _required(rhs))
    if not hasattr(parsed, "lhs"):
        if require_target:
            raise ValueError(f"the formula {_formula_shown(formula)} has no target: write it as target ~ terms")
        return parsed, None, reads
    if not require_target:  # predicting: the right-hand side alone
        return parsed, None, reads
    target, others = _target_of(formula, parsed, reads)
    return parsed, target, reads + others


def _target_of(formula: str, parsed: RFormula, reads: list[str]) -> tuple[str, list[str]]:
    """The column read as the target of a formula's left side (one term: a column, or an expression of columns
    such as ``log(y)`` or ``I(y - x/10)``), and the left side's other columns that the right side does not read."""
    left = parsed.translation.left
    if len(parsed.lhs) != 1 or not left:
        got = len(left) if len(parsed.lhs) == 1 else len(parsed.lhs)
        raise ValueError(f"the formula {_formula_shown(formula)} must have one column on the left of ~, got {got}")
    target = next((c for c in left if c not in reads), None)
    if target is None:
        raise ValueError(
            f"the formula {_formula_shown(formula)} has on the left of ~ only columns of its right side; "
            f"write the target's column on the left"
        )
    return target, [c for c in left if c != target and c not in reads]


def _required(side) -> set[str]:
    """The columns a side of a parsed formula reads (:func:`.transforms.required_columns`: formulaic's own list
    leaves out what a transform with state reads)."""
    from .transforms import required_columns

    return required_columns(side)


def _formula_shown(formula: str) -> str:
    """A formula for a message: quoted, cut to about 200 characters (a formula can be megabytes long)."""
    return _shown(formula, _SHOWN_FORMULA)


_SHOWN_FORMULA = 200  # characters of a formula a message quotes at most


def _formulaic_reason(exc: BaseException) -> str:
    """formulaic's error for a message: its first line, without its internal names, cut to 200 characters."""
    text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    sentences = [s for s in re.split(r"(?<=[.;])\s+", text) if "__formulaic" not in s and "__" not in s]
    text = " ".join(sentences) or "formulaic cannot evaluate it"
    return text if len(text) <= 200 else text[:197] + "..."

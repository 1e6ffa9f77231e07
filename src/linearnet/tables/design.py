"""The design matrix of a table read whole: text columns coded as R's ``lm`` codes them (treatment coding,
the first level the reference), the coded columns' names, and Wilkinson formulas (checked, then built by
formulaic)."""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .coding import (  # noqa: F401 - the rules of a category's coding, named here too
    BOOLEAN_LEVELS,
    CategoryCoding,
    all_levels_column,
    category_coding,
    coded_names,
    interaction_notes,
    level_text,
    locale_order,
)
from .messages import _listing, _missing_value, _quote, _shown, _where
from .rformula import RFormula, alias, check_references, column_of, translate, unaliased
from .source import _Source


def coded_features(columns: list[str], coding: dict[str, list[str]], intercept: bool = True) -> list[str]:
    """The feature names of ``columns`` with the categories (those in ``coding``) coded: ``name[T.level]`` for each
    level but the first; without an intercept the first category keeps every level, ``name[level]`` (R's rule)."""
    full = all_levels_column(columns, coding, intercept)
    return [name for c in columns for name in (coded_names(c, coding[c], c == full) if c in coding else [c])]


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
                        f"a formula cannot: its terms may call C, factor, relevel, I, Q, log, exp, sqrt, abs, NumPy's "
                        f"elementwise functions (np.log, np.sin, ...) and contrasts, on columns and numbers"
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


def _categorical(values: list, levels: list[str]):
    """A category's values for formulaic: its levels in their order (the reference first), booleans as R's."""
    import pandas as pd

    return pd.Categorical([None if v is None else level_text(v) for v in values], categories=levels)


def _formula_shown(formula: str) -> str:
    """A formula for a message: quoted, cut to about 200 characters (a formula can be megabytes long)."""
    return _shown(formula, _SHOWN_FORMULA)


_SHOWN_FORMULA = 200  # characters of a formula a message quotes at most


def _formulaic_reason(exc: BaseException) -> str:
    """formulaic's error for a message: its first line, without its internal names, cut to 200 characters."""
    text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "`.` operator" in text:
        return "the '.' of R's formulas (every other column) is not supported: name the columns"
    sentences = [s for s in re.split(r"(?<=[.;])\s+", text) if "__formulaic" not in s and "__" not in s]
    text = " ".join(sentences) or "formulaic cannot evaluate it"
    return text if len(text) <= 200 else text[:197] + "..."


def _model_matrices(parsed, data, with_target: bool, factors: dict[str, list | dict] | None):
    """formulaic's design of ``data`` (the right-hand side) and the target (its left-hand side, with
    ``with_target``); with ``factors``, each categorical term coded with those levels (a fitted model's) and each
    transform that learns applied with its state, else with the levels and state of ``data``."""
    from formulaic import ModelSpec, model_matrix
    from formulaic.parser.types import Factor

    from .transforms import formula_context, is_transform_state, transform_state_needed

    context = formula_context()
    rhs_formula = parsed.rhs if hasattr(parsed, "rhs") else parsed
    y = None
    if with_target:
        y = np.asarray(model_matrix(parsed.lhs, data, na_action="ignore", context=context).iloc[:, 0], dtype=np.float64)
    if factors is None:
        return model_matrix(rhs_formula, data, na_action="ignore", context=context), y
    state = {
        name: (Factor.Kind.CATEGORICAL, {"categories": list(levels)})
        for name, levels in factors.items()
        if not is_transform_state(levels)
    }
    transforms = {name: dict(s) for name, s in factors.items() if is_transform_state(s)}
    for name in transform_state_needed(getattr(parsed, "parsed", parsed)):  # formulaic's keys, not the user's
        if name not in transforms:  # a model's transform without its state would learn it from the new rows
            raise ValueError(f"the model holds no state for {name}, which would be learned from these rows")
    spec = ModelSpec(formula=rhs_formula, encoder_state=state, transform_state=transforms, na_action="ignore")
    matrix = spec.get_model_matrix(data, context=context)
    learned = [name for name, s in matrix.model_spec.transform_state.items() if s and name not in transforms]
    if learned:  # one that transform_state_needed cannot see
        raise ValueError(f"the model holds no state for {learned[0]}, which would be learned from these rows")
    return matrix, y


def _transform_state(src: _Source, formula: str, parsed, numbers: dict[str, np.ndarray]) -> dict[str, dict]:
    """The state of a formula's transforms that learn, learned from every row of the file (``numbers``, NaN
    where a value is missing), as R's ``model.frame`` evaluates them before the rows with a missing value are
    dropped; empty when they read a column that is not a number."""
    import pandas as pd
    from formulaic import model_matrix

    from .transforms import formula_context, learning_factors, poly_columns

    exprs, columns = learning_factors(parsed)  # formulaic's: the columns under their aliases
    numbers = {alias(name): values for name, values in numbers.items()}
    if not exprs or not columns <= set(numbers):
        return {}
    for expr, column in poly_columns(exprs):  # R's poly refuses a missing value
        if len(gap := np.flatnonzero(np.isnan(numbers[column]))):
            raise ValueError(
                f"{src.name}: column {_quote(column_of(column) or column)}, {_where(src, int(gap[0]) + 1)}: has no "
                f"value, which R's poly (the formula's {parsed.named(expr)}) refuses before rows are dropped; drop "
                f"the row from the file, or use poly(x, d, raw = TRUE)"
            )
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            terms = " + ".join(f"{{{expr}}}" for expr in exprs)
            data = pd.DataFrame({name: numbers[name] for name in columns})
            matrix = model_matrix(f"0 + {terms}", data, na_action="ignore", context=formula_context())
    except Exception as exc:  # formulaic reports what it cannot evaluate in several types
        raise ValueError(
            f"{src.name}: the formula {_formula_shown(formula)} cannot be applied: {_formulaic_reason(exc)}"
        ) from None
    return {str(name): dict(s) for name, s in matrix.model_spec.transform_state.items() if s}


def _factor_levels(rhs) -> dict[str, list | dict]:
    """The levels of each categorical term of a design formulaic built, as JSON values, in their order; and the
    state of each transform that learned from the rows (``{"poly(x, 3)": {"alpha": [...], "norm2": [...]}}``)."""
    from formulaic.parser.types import Factor

    plain = lambda v: v.item() if isinstance(v, np.generic) else v  # noqa: E731 - numpy scalars as Python's
    levels: dict[str, list | dict] = {
        str(name): [plain(v) for v in state.get("categories", [])]
        for name, (kind, state) in rhs.model_spec.encoder_state.items()
        if kind == Factor.Kind.CATEGORICAL
    }
    levels.update({str(name): dict(s) for name, s in rhs.model_spec.transform_state.items() if s})
    return levels


def _apply_formula(
    src: _Source,
    formula: str,
    parsed: RFormula,
    frame: dict,
    with_target: bool,
    *,
    rows: np.ndarray | None = None,
    factors: dict[str, list | dict] | None = None,
):
    """(X, y, term names, intercept, the levels of each categorical term and the state of each transform that
    learns) of a formula on the columns read (``frame``, keyed by column): formulaic builds the design, its
    categorical terms coded with ``factors`` when given (a fitted model's, keyed by the terms as written: a value
    outside them is refused with its row) and its transforms applied with their state there, else with the
    levels and state of these rows. ``rows``: the number in the file of each row of ``frame``, for messages.
    Names and messages spell the terms as the formula does.

    An ``offset(z)`` term is R's: with the target, its column is taken off the target and out of the design
    (its coefficient is 1, not fitted); without (predicting), it stays in the design, to be added back."""
    import pandas as pd

    data = pd.DataFrame({alias(name): values for name, values in frame.items()})
    try:
        X, y, names, intercept, levels = _designed(src, formula, parsed, data, with_target, rows, factors)
    except ValueError as exc:
        raise ValueError(parsed.named(str(exc))) from None
    named = {parsed.named(name): values for name, values in levels.items()}
    return X, y, [parsed.named(name) for name in names], intercept, named


def _designed(src: _Source, formula: str, parsed: RFormula, data, with_target: bool, rows, factors):
    """:func:`_apply_formula` on the columns under their aliases, its names formulaic's."""
    from formulaic.errors import DataMismatchWarning

    from .transforms import offset_terms

    rows = np.arange(1, len(data) + 1) if rows is None else rows
    factors = parsed.formulaic_names(factors)
    _check_factor_room(src, parsed, data)
    if factors is None:
        check_references(src.name, parsed, data)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():  # log(0) and the like: named below
            warnings.simplefilter("error", DataMismatchWarning)
            rhs, y = _model_matrices(parsed, data, with_target, factors)
    except DataMismatchWarning:
        levels = {name: v for name, v in (factors or {}).items() if isinstance(v, list)}  # not transforms' state
        raise _unseen_level(src, data, rows, levels or _explicit_levels(parsed)) from None
    except Exception as exc:  # formulaic reports what it cannot evaluate in several types
        raise ValueError(
            f"{src.name}: the formula {_formula_shown(formula)} cannot be applied: {_formulaic_reason(exc)}"
        ) from None
    names = [str(c) for c in rhs.columns]
    intercept = "Intercept" in names
    if y is not None:
        parsed.coding_notes = interaction_notes(rhs.model_spec, parsed.named)
    offsets = offset_terms(names) if y is not None else []  # taken off the target
    keep = [j for j, n in enumerate(names) if n != "Intercept" and j not in offsets]
    if not keep and not intercept:
        raise ValueError(
            f"the formula {_formula_shown(formula)} has no term and no intercept: its design is empty; "
            f"write columns, or 1 for the intercept, on the right of ~"
        )
    full = np.asarray(rhs, dtype=np.float64)
    X = np.ascontiguousarray(full[:, keep])
    if y is not None:
        _check_finite_term(src, f"target {_quote(parsed.target_name or '')}", y, rows)
    _check_finite_terms(src, names, full, [*keep, *offsets], rows)
    if offsets:
        y = y - full[:, offsets].sum(axis=1)
    return X, y, [names[j] for j in keep], intercept, _factor_levels(rhs)


def _check_finite_terms(src: _Source, names: list[str], design: np.ndarray, used: list[int], rows) -> None:
    """Refuse the first of the columns ``used`` of a design that is not a finite number in some row."""
    for j in [k for k in used if not np.isfinite(design[:, k]).all()][:1]:
        _check_finite_term(src, f"term {_quote(names[j])}", design[:, j], rows)


def _check_finite_term(src: _Source, what: str, values: np.ndarray, rows: np.ndarray) -> None:
    """Refuse a term (or target) of a formula that is not a finite number in some row, naming the first."""
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        i = int(bad[0])
        more = f" (and {len(bad) - 1:,} more rows)" if len(bad) > 1 else ""
        raise ValueError(
            f"{src.name}: the formula's {what} is not finite in every row: {_where(src, int(rows[i]))} gives "
            f"{values[i]}{more} (a logarithm of 0 or of a negative number, a root of a negative one?)"
        )


def _unseen_level(src: _Source, data, rows: np.ndarray, factors: dict[str, list]) -> ValueError:
    """The refusal of a value of a categorical term outside the levels the model knows, naming the term, the
    value and its row (found by coding the term alone with the levels of these rows)."""
    from formulaic import model_matrix

    for name, levels in factors.items():
        known = set(levels)
        expr = name if re.fullmatch(r"[A-Za-z_]\w*|.*\)", name) else f"`{name}`"
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                alone = model_matrix(f"0 + {expr}", data, na_action="ignore")
        except Exception:
            continue
        states = [s for kind, s in alone.model_spec.encoder_state.values() if "categories" in s]
        seen = [v.item() if isinstance(v, np.generic) else v for v in (states[0]["categories"] if states else [])]
        coded = np.asarray(alone, dtype=np.float64)
        for k, level in enumerate(seen[: coded.shape[1]] if levels else []):
            if level not in known:
                row = int(rows[int(np.argmax(coded[:, k] != 0))])
                return ValueError(
                    f"{src.name}: {_where(src, row)}: the formula's term {_quote(name)} is {_shown(level)}, "
                    f"not one of the levels the model knows ({_listing([str(v) for v in levels])})"
                )
        outside = np.flatnonzero(~coded.any(axis=1)) if coded.shape[1] else np.arange(len(coded))
        if len(outside) and len(coded):
            listed = f" ({_listing([str(v) for v in levels])})" if levels else ""
            return ValueError(
                f"{src.name}: {_where(src, int(rows[int(outside[0])]))}: the formula's term {_quote(name)} holds "
                f"a value outside its levels{listed}"
            )
    return ValueError(f"{src.name}: a categorical term of the formula holds a value outside its levels")


def _explicit_levels(parsed) -> dict[str, list]:
    """The terms ``C(...)`` of a formula, which may name their levels (``C(g, levels=[1, 2])``), with no levels
    known: for :func:`_unseen_level` to find the row holding a value outside them."""
    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    return {factor.expr: [] for term in rhs for factor in term.factors if factor.expr.startswith("C(")}


def _dummy_budget() -> int:
    """Bytes the 0/1 columns of the categories may take: the reader's default memory budget."""
    from .plan import default_budget

    return default_budget()


def _check_room(src: _Source, name: str, rows: int, levels: int) -> None:
    """Refuse a category whose 0/1 columns (rows × (levels − 1) float64) would pass the memory budget, before
    they are made: an id-like column has about as many levels as rows."""
    need, budget = rows * max(levels - 1, 0) * 8, _dummy_budget()
    if need > budget:
        from ..memory import human_bytes

        raise ValueError(
            f"{src.name}: column {_quote(name)} has {levels:,} levels in {rows:,} rows: coded as categories it "
            f"would take {human_bytes(need)}, over the memory budget of {human_bytes(budget)}; an id-like column "
            f"cannot be a feature: leave it out of the features"
        )


def _check_factor_room(src: _Source, parsed, data) -> None:
    """:func:`_check_room` for each term ``C(column, ...)`` of a formula, before formulaic codes it."""
    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    for term in rhs:
        for factor in term.factors:
            found = re.match(r"C\(\s*`?([^,`)]+?)`?\s*[,)]", factor.expr)
            if found and found.group(1) in data.columns:
                column = data[found.group(1)]
                _check_room(src, found.group(1), len(column), int(column.nunique()))


def _levels(
    src: _Source, name: str, values: list, *, all_levels: bool = False, reference: str | None = None
) -> CategoryCoding:
    """The coding of a category from its values (the rows kept): :func:`category_coding`; at least two levels."""
    found = {level_text(v) for v in values if v is not None}
    if len(found) < 2:
        raise ValueError(
            f"{src.name}: column {_quote(name)} holds the single value {_shown(next(iter(found), ''))}"
            f": a category with one level cannot be a feature"
        )
    return category_coding(name, found, all_levels=all_levels, reference=reference, where=src.name)


def _gaps(src: _Source, name: str, column, *, missing: str) -> np.ndarray:
    """Where a text column has no value: refused with the first row, or a mask for ``missing="drop"`` (or
    ``"keep"``)."""
    import pyarrow.compute as pc

    if column.null_count and missing == "error":
        row = 1 + int(pc.index(pc.is_null(column), True).as_py())
        raise ValueError(f"{src.name}: column {_quote(name)}, {_where(src, row)}: {_missing_value(src, name, row)}")
    return np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)


def _dummies(
    src: _Source, name: str, values: list, levels: list[str], keep: np.ndarray, all_levels: bool = False
) -> np.ndarray:
    """Treatment coding of the kept rows' values: a 0/1 column for each level but the first (the reference), or
    for every level with ``all_levels``; NaN in each for a row without a value (kept so under
    ``missing="keep"``)."""
    _check_room(src, name, len(values), len(levels) + int(all_levels))
    index = {level: k for k, level in enumerate(levels)}
    rows = np.flatnonzero(keep) + 1  # each value's row in the file, for messages
    skip = 0 if all_levels else 1
    out = np.zeros((len(values), len(levels) - skip))
    for i, value in enumerate(values):
        if value is None:
            out[i] = np.nan
            continue
        k = index.get(level_text(value))
        if k is None:
            raise ValueError(
                f"{src.name}: column {_quote(name)}, {_where(src, int(rows[i]))}: {_shown(value)} is not one of the "
                f"levels the model knows ({_listing(levels)})"
            )
        if k >= skip:
            out[i, k - skip] = 1.0
    return out


def _one_coding(files: list[str], levels: list[dict[str, list]]) -> dict[str, list] | None:
    """The levels of each categorical term over all the files (sorted, as formulaic sorts them) when files coded
    apart differ in them, so that they are coded again alike; None when they agree. Levels that cannot be
    sorted together are refused, naming a file and the level."""
    first = levels[0]
    if all(other == first for other in levels[1:]):
        return None
    union: dict[str, list] = {}
    for name in dict.fromkeys(n for found in levels for n in found):
        seen = [v for found in levels for v in found.get(name, [])]
        try:
            union[name] = sorted(set(seen))
        except TypeError:
            j, level = next(
                (j, v) for j, found in enumerate(levels) for v in found.get(name, []) if v not in first.get(name, [])
            )
            raise ValueError(
                f"{files[j]}: the formula's term {_quote(name)} holds the level {_shown(level)}, which "
                f"{files[0]} does not, and the two cannot be coded alike; make the column one type in every file"
            ) from None
    return union

"""The design matrix of a table read whole: text columns coded as R's ``lm`` codes them (treatment coding,
the first level the reference), the coded columns' names, and Wilkinson formulas (checked, then built by
formulaic)."""

from __future__ import annotations

import re
import warnings

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
from .formula import _formula_shown, _formulaic_reason
from .messages import _listing, _missing_value, _quote, _shown, _where
from .rformula import RFormula, alias, check_references, column_of
from .source import _Source


def coded_features(columns: list[str], coding: dict[str, list[str]], intercept: bool = True) -> list[str]:
    """The feature names of ``columns`` with the categories (those in ``coding``) coded: ``name[T.level]`` for each
    level but the first; without an intercept the first category keeps every level, ``name[level]`` (R's rule)."""
    full = all_levels_column(columns, coding, intercept)
    return [name for c in columns for name in (coded_names(c, coding[c], c == full) if c in coding else [c])]


def _categorical(values: list, levels: list[str]):
    """A category's values for formulaic: its levels in their order (the reference first), booleans as R's."""
    import pandas as pd

    return pd.Categorical([None if v is None else level_text(v) for v in values], categories=levels)


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
    from .transforms import offset_terms

    rows = np.arange(1, len(data) + 1) if rows is None else rows
    rhs, y = _formulaic_design(src, formula, parsed, data, with_target, rows, parsed.formulaic_names(factors))
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


def _formulaic_design(src: _Source, formula: str, parsed: RFormula, data, with_target: bool, rows, factors):
    """formulaic's design and target (:func:`_model_matrices`), its errors in one line naming the file (and the
    row of a value outside a model's levels)."""
    from formulaic.errors import DataMismatchWarning

    _check_factor_room(src, parsed, data)
    if factors is None:
        check_references(src.name, parsed, data)
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():  # log(0) and the like: named below
            warnings.simplefilter("error", DataMismatchWarning)
            return _model_matrices(parsed, data, with_target, factors)
    except DataMismatchWarning:
        levels = {name: v for name, v in (factors or {}).items() if isinstance(v, list)}  # not transforms' state
        raise _unseen_level(src, data, rows, levels or _explicit_levels(parsed)) from None
    except Exception as exc:  # formulaic reports what it cannot evaluate in several types
        raise ValueError(
            f"{src.name}: the formula {_formula_shown(formula)} cannot be applied: {_formulaic_reason(exc)}"
        ) from None


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

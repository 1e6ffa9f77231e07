"""The coding of a category, one set of rules for every reader (whole, chunks, shares) and every face, as R's
``lm`` codes a factor: treatment coding, the levels sorted (by code point: R sorts by the locale, and a note says
when the two take different references), the reference the first unless one is chosen, a boolean's levels
``FALSE`` and ``TRUE`` (R's logical), and every level kept by the first category of a model without an
intercept."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cells import _kind
from .messages import _listing, _quote, _shown

BOOLEAN_LEVELS = ["FALSE", "TRUE"]  # R's levels of a logical column


def level_text(value) -> str:
    """A category's value as its level: a boolean as R writes it (``TRUE``, ``FALSE``), anything else its text."""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    return str(value)


def r_level_order(levels) -> list[str]:
    """A factor's levels as linearnet orders them: by value when every level is a number (as R sorts a numeric
    column's levels: 4 before 10), else by code point (R's order in the C locale)."""
    from .cells import _is_number

    found = list(levels)
    if found and all(_is_number(v) for v in found):
        return sorted(found, key=lambda v: (float(v), v))
    return sorted(found)


def locale_order(levels: list[str]) -> list[str]:
    """Levels in about the order R sorts a factor's under an English locale: numbers by value, letters compared
    without their case (``non-USA`` before ``USA``), ties by code point. The order linearnet takes is
    :func:`r_level_order`'s."""
    ordered = r_level_order(levels)
    return ordered if ordered != sorted(ordered) else sorted(levels, key=lambda s: (s.casefold(), s))


def all_levels_column(columns: list[str], categories, intercept: bool) -> str | None:
    """The category that keeps every level: without an intercept the first of ``columns`` among ``categories``
    (as R codes ``y ~ a + b - 1``: ``a`` with all its levels, ``b`` without its first), else none."""
    return None if intercept else next((c for c in columns if c in categories), None)


def coded_names(name: str, levels: list[str], all_levels: bool = False) -> list[str]:
    """The coded columns' names of a category: ``name[level]`` for every level, or ``name[T.level]`` for each but
    the first (the reference), as formulaic names them."""
    return [f"{name}[{level}]" for level in levels] if all_levels else [f"{name}[T.{level}]" for level in levels[1:]]


@dataclass(frozen=True)
class CategoryCoding:
    """How a category is coded: its ``levels`` (the reference first), the ``names`` of its coded columns, and a
    ``note`` when R would take another reference (or None)."""

    levels: list[str]
    names: list[str]
    note: str | None = None


def category_coding(
    name: str, found, *, all_levels: bool = False, reference: str | None = None, where: str = ""
) -> CategoryCoding:
    """The coding of the category ``name`` whose rows hold the levels ``found`` (level texts, see
    :func:`level_text`; repeats and order do not matter): in :func:`r_level_order`, ``reference`` (when given) moved
    first; every level coded with ``all_levels``. A reference that is not a level is refused, naming the levels;
    a note says so when R, sorting by the locale, would take another reference (``where``: the file, for
    messages)."""
    levels = r_level_order(set(found))
    prefix = f"{where}: " if where else ""
    if reference is not None:
        if reference not in levels:
            raise ValueError(
                f"{prefix}column {_quote(name)} has no level {_shown(reference)} to be the reference; "
                f"its levels are: {_listing(levels)}"
            )
        levels = [reference, *(v for v in levels if v != reference)]
    note = None
    if reference is None and not all_levels and (r_first := locale_order(levels)[0]) != levels[0]:
        note = (
            f"column {_quote(name)}: levels sorted by code point, the reference {_shown(levels[0])}; R sorts them by "
            f"the locale and takes {_shown(r_first)} (choose it with --reference {name}={r_first}, "
            f"reference={{{name!r}: {r_first!r}}} in the library)"
        )
    return CategoryCoding(levels, coded_names(name, levels, all_levels), note)


def is_category_column(column, decimal: str = ".") -> bool:
    """Whether a column named as a feature is a category: text (not numbers written as text), booleans (R's
    logical: levels FALSE, TRUE) or a dictionary of text (pandas' category, R's factor in Parquet)."""
    import pyarrow as pa

    t = column.type
    if pa.types.is_boolean(t):
        return True
    if pa.types.is_dictionary(t):
        return pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)
    return _kind(column, decimal)[0] == "text"


def check_reference(where: str, reference: dict[str, str] | None, categories: list[str]) -> None:
    """Refuse a reference level named for a column that is not a category of the model (``where``: the file)."""
    for name in reference or {}:
        if name not in categories:
            shown = f"its categories are: {_listing(categories)}" if categories else "it has no category"
            raise ValueError(
                f"{where}: a reference level is named for column {_quote(name)}, which is not a category "
                f"among the features; {shown}"
            )


def formula_intercept(parsed) -> bool:
    """Whether a formula's right-hand side keeps the intercept (``- 1`` and ``0 +`` leave it out)."""
    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    return any(str(term) == "1" for term in rhs)


def interaction_notes(spec, named) -> list[str]:
    """A note for each interaction of a formulaic design ``spec`` coded with fewer columns than R's ``lm`` codes
    it: R codes a categorical factor of a term with every level when the term without it is not in the formula
    (``mpg ~ wt + am:vs``: am and vs both with every level, four columns, one reported NA), where formulaic keeps
    the design full rank. The fit (fitted values, σ̂, R², F) is the same; the coefficients are another
    parametrisation of it. ``named``: a term as the user wrote it."""
    states = spec.encoder_state
    terms = [frozenset(f.expr for f in term.factors if f.expr != "1") for term in spec.formula]
    present = set(terms)
    notes = []
    for term, columns in zip(spec.formula, spec.term_indices.values(), strict=True):
        exprs = frozenset(f.expr for f in term.factors if f.expr != "1")
        if len(exprs) < 2 or any(e not in states for e in exprs):
            continue
        width = 1
        for expr in exprs:
            _kind, state = states[expr]
            if "categories" not in state:
                if "(" in expr:  # a transform's columns: not counted here
                    width = 0
                continue
            levels = len(state["categories"])
            width *= levels if exprs - {expr} not in present else levels - 1
        if width > len(columns):
            notes.append(
                f"the term {named(str(term))} is coded with {len(columns)} columns, where R's lm codes it with "
                f"{width} (every level of a factor whose term without it is not in the formula) and reports those "
                f"the others alias as NA: the fit (fitted values, σ̂, R², F) is R's, its coefficients another "
                f"parametrisation"
            )
    return notes

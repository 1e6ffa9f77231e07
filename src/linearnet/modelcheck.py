"""Checks of a model file's fields (:func:`linearnet.modelfile.load_model`): each refusal says which field is
broken and what it must be."""

from __future__ import annotations

import math

from .tables.design import coded_features


def bad(path, why) -> ValueError:
    return ValueError(f"{path}: not a usable linearnet model file: {why}")


def twice(names: list[str]) -> str | None:
    """The first name listed twice in ``names``, or None."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            return name
        seen.add(name)
    return None


def finite_numbers(values, count: int) -> bool:
    """Whether ``values`` is a list of ``count`` finite JSON numbers (true and false are not numbers)."""
    return (
        isinstance(values, list)
        and len(values) == count
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    )


def load_coding(path, data, features: list[str]) -> dict:
    """The "columns" and "coding" of a model with coded text columns (format 2), checked against "features"."""
    if "coding" not in data and "columns" not in data:
        return {}
    coding, columns = data.get("coding"), data.get("columns")
    if (
        not isinstance(columns, list)
        or not (columns or "formula" in data)  # a formula of the intercept alone (y ~ 1) reads no column
        or not all(isinstance(c, str) for c in columns)
    ):
        raise bad(path, "columns must be a non-empty list of column names")
    if (name := twice(columns)) is not None:
        raise bad(path, f"columns must be distinct: {name!r} is listed twice")
    if "formula" in data:  # features are the formula's terms; its categories may be none
        return load_formula(path, data, coding, columns)
    if not coding or not levels_ok(coding, columns):
        raise bad(path, "coding must map some of the columns to lists of two or more distinct levels")
    if coded_features(columns, coding) != features:
        raise bad(
            path, "features must be the columns with each coded one as name[T.level] for its levels but the first"
        )
    return {"coding": coding, "columns": columns}


def load_formula(path, data, coding, columns: list[str]) -> dict:
    """The "formula" of a model made by one, with its "columns" and the "coding" of its categories (maybe none)."""
    formula = data["formula"]
    if not isinstance(formula, str) or "~" not in formula or data.get("kind") != "linear_regression":
        raise bad(path, "formula must be the text of a formula such as 'y ~ x' (linear regression)")
    if not levels_ok(coding, columns):
        raise bad(path, "coding must map some of the columns to lists of two or more distinct levels")
    return {"coding": coding or None, "columns": columns, "formula": formula}


def levels_ok(coding, columns: list[str]) -> bool:
    """Whether ``coding`` maps some of ``columns`` to lists of two or more distinct text levels."""
    return isinstance(coding, dict) and all(
        c in columns
        and isinstance(levels, list)
        and len(levels) >= 2
        and all(isinstance(level, str) for level in levels)
        and len(set(levels)) == len(levels)
        for c, levels in coding.items()
    )

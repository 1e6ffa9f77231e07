"""Checks of a model file's fields (:func:`linearnet.modelfile.load_model`): each refusal says which field is
broken and what it must be."""

from __future__ import annotations

import math

from .tables.design import coded_features


def bad(path, why) -> ValueError:
    """The refusal of a model file, one line of bounded length whatever the file holds."""
    why = str(why)
    why = why if len(why) <= 300 else why[:297] + "..."
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
    if coded_features(columns, coding, data.get("fit_intercept", True) is not False) != features:
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
    factors: dict[str, list | dict] | None = load_factors(path, data)  # type: ignore[assignment]
    if transforms := load_transforms(path, data):
        factors = {**(factors or {}), **transforms}
    return {"coding": coding or None, "columns": columns, "formula": formula, "factors": factors}


def load_transforms(path, data) -> dict[str, dict]:
    """The "transforms" of a formula's model: the state of each of its transforms that learn (none in files
    written before linearnet kept them)."""
    from .tables.transforms import check_state

    transforms = data.get("transforms", {})
    features = data.get("features")
    if not isinstance(transforms, dict) or len(transforms) > len(data["formula"]):
        raise bad(path, "transforms must map each transform of the formula that learns to its state")
    for name, state in transforms.items():
        if (why := check_state(state, len(features) if isinstance(features, list) else 0)) is not None:
            raise bad(path, f"the state of transform {shown(name)} {why}")
        if name in (data.get("factors") or {}):
            raise bad(path, f"{shown(name)} is both a factor and a transform")
    return transforms


def load_factors(path, data) -> dict[str, list] | None:
    """The "factors" of a formula's model: each categorical term's levels, in order (None in files written
    before linearnet recorded them)."""
    if "factors" not in data:
        return None
    factors = data["factors"]

    def level(v) -> bool:
        return isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))

    if not isinstance(factors, dict) or not all(
        isinstance(levels, list) and levels and all(level(v) for v in levels) for levels in factors.values()
    ):
        raise bad(path, "factors must map each categorical term of the formula to a list of its levels")
    for name, levels in factors.items():
        if len({(type(v) is str, v) for v in levels}) != len(levels):
            raise bad(path, f"the levels of factor {shown(name)} must be distinct")
    return factors


def shown(name, most: int = 100) -> str:
    """A name from a model file for a message: quoted, control characters escaped, cut to ``most`` characters."""
    from .tables.messages import _quote

    return _quote(str(name), most)


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


def load_records(path, data, d: int) -> None:
    """Check "training" and "statistics" (objects, or null) and each standardization recorded (top-level, or in
    "training" as softmax models keep it): null, or d means and d positive scales, finite."""
    for key in ("training", "statistics"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise bad(path, f"{key} must be an object or null")
    training = data.get("training") or {}
    for where, std in (("standardization", data.get("standardization")), ("training", training.get("standardization"))):
        if std is None:
            continue
        if (
            not isinstance(std, dict)
            or not finite_numbers(std.get("mean"), d)
            or not finite_numbers(std.get("scale"), d)
        ):
            raise bad(path, f"the standardization in {where} must hold {d} finite means and {d} finite scales")
        if not all(v > 0 for v in std["scale"]):
            raise bad(path, f"the standardization in {where} must have scales above 0 (one is {min(std['scale'])!r})")


def by_name(model, names: list[str], X):
    """The columns of ``X`` (the design rebuilt from the data, its columns ``names``) in the order of the model's
    features, matched by name, never by position; a rebuilt design whose columns differ from the model's is
    refused, naming what differs."""
    from .tables.messages import _listing

    if names == list(model.features):
        return X
    where = {name: j for j, name in enumerate(names)}
    extra = [n for n in names if n not in set(model.features)]
    lacking = [f for f in model.features if f not in where]
    if not extra and not lacking and len(where) == len(names):
        return X[:, [where[f] for f in model.features]]
    parts = [f"has {_listing(extra)}, which the model does not"] if extra else []
    parts += [f"lacks {_listing(lacking)}, which the model has"] if lacking else []
    older = (
        " (the model file records no levels of its categorical terms, as files of older linearnets: make it again)"
        if getattr(model, "formula", None) and getattr(model, "factors", None) is None
        else ""
    )
    raise ValueError(
        f"{model.source or 'the model'}: the design rebuilt from the data {', and '.join(parts) or 'differs'}: "
        f"the data do not match the model{older}"
    )


def without_offsets(names: list[str], X):
    """The columns of a design rebuilt from the data (named ``names``) but its ``offset(...)`` terms, and the
    sum of those (R's offset, which predictions add), None without one."""
    from .tables.transforms import offset_terms

    offsets = offset_terms(names)
    if not offsets:
        return names, X, None
    keep = [j for j in range(len(names)) if j not in offsets]
    return [names[j] for j in keep], X[:, keep], X[:, offsets].sum(axis=1)

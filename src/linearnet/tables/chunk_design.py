"""The design of a chunk (:class:`ChunkDesign`): its categories coded by the levels a first pass found, or a
formula applied with its categorical terms' levels fixed beforehand, so that every chunk is coded alike and as
a whole read of the same rows codes it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cells import _numbers
from .coding import all_levels_column, check_reference, formula_intercept, is_category_column
from .design import (
    _apply_formula,
    _factor_levels,
    _formula_shown,
    _formulaic_reason,
    _model_matrices,
    _parse_formula,
    coded_features,
)
from .levels import CategoryLevels, category_gaps, coded_block, unknown_level
from .messages import _listing
from .source import _Source

# a column named as the first argument of C() or factor(): coded by its values, which the first pass finds
_FACTOR_COLUMN = re.compile(r"\b(?:C|factor)\(\s*`?([^,`()]+?)`?\s*[,)]")
# transforms whose state (a mean, a norm, knots) comes from the whole column
_STATEFUL = re.compile(r"\b(center|scale|standardize|bs|ns|cr|cs|cc|poly|hashed|lag)\s*\(")


def factor_columns(parsed, columns: list[str]) -> list[str]:
    """The columns of ``columns`` a formula's terms read as ``C(column, ...)`` or ``factor(column)``."""
    rhs = parsed.rhs if hasattr(parsed, "rhs") else parsed
    found = {m.group(1) for term in rhs for factor in term.factors for m in _FACTOR_COLUMN.finditer(factor.expr)}
    return [c for c in columns if c in found]


def category_kinds(src: _Source, first, chosen: list[str], parsed, named: bool) -> dict[str, str]:
    """The categories among the columns ``chosen`` (text or dictionary columns; with a formula, its columns
    of numbers in ``C()`` too, whose values are its levels), from the first rows, each with its kind."""
    import pyarrow as pa

    if not named:  # default features, or features a model names to predict with: numbers
        return {}
    kinds = {
        c: "dictionary" if pa.types.is_dictionary(first.column(c).type) else "text"
        for c in chosen
        if is_category_column(first.column(c), src.decimal)
    }
    if parsed is not None:
        kinds.update({c: "number" for c in factor_columns(parsed, chosen) if c not in kinds})
    return kinds


def formula_columns(formula: str | None, target, features):
    """The parsed formula (None without one), and the target and the columns it reads (else those given);
    a formula whose transforms need the whole column refused."""
    if formula is None:
        return None, target, features
    if target is not None or features is not None:
        raise ValueError("give a formula, or a target and features, not both")
    parsed, target, features = _parse_formula(formula, True)
    check_streamable(formula)
    return parsed, target, features


def check_streamable(formula: str) -> None:
    """Refuse a formula with a transform whose state comes from the whole column, in chunks."""
    for found in _STATEFUL.finditer(formula):
        if found.group(1) == "poly" and re.search(r"raw\s*=\s*(True|TRUE|T)\b", formula[found.end() :]):
            continue  # raw powers need no state
        raise ValueError(
            f"the formula {_formula_shown(formula)} uses {found.group(1)}(), which needs the whole column: it cannot "
            f"be read in chunks (a file over the memory budget, or under a launcher); give a larger --memory-budget"
        )


@dataclass
class ChunkDesign:
    """How a chunk's columns become its features: ``columns`` (the file's columns read), ``kinds`` (the
    categories among them, and a formula's columns of numbers in ``C()``: "text", "dictionary", "number"),
    ``coding`` (their levels; None in the first pass that finds them), and a formula."""

    columns: list[str]
    kinds: dict[str, str]
    formula: str | None = None
    parsed: Any = None
    coding: dict[str, list] | None = None
    names: list[str] = field(default_factory=list)  # the features' names
    intercept: bool = True
    factors: dict[str, list] = field(default_factory=dict)  # a formula's categorical terms and their levels
    reference: dict[str, str] | None = None  # a category's reference level, by column
    full: str | None = None  # the category coded with every level (without an intercept)

    @property
    def categories(self) -> list[str]:
        return [c for c in self.columns if self.kinds.get(c, "number") != "number"]

    def code(self, path: str, levels: CategoryLevels | dict[str, list]) -> list[str]:
        """Code the categories by ``levels`` (found by a first pass, or a model's) by the rules of :mod:`.coding`
        (the ``reference`` levels first; without an intercept the first category with every level): the
        features' names; the notes to add."""
        notes: list[str] = []
        intercept = self.intercept if self.parsed is None else formula_intercept(self.parsed)
        self.full = all_levels_column(self.columns, self.categories, intercept)
        if isinstance(levels, CategoryLevels):
            check_reference(path, self.reference, self.categories)
            found, notes = levels.coded(self.full, self.reference)
        else:
            found = levels
        missing = [c for c in self.kinds if c not in found]
        if missing:
            raise ValueError(f"{path}: no levels are given for the categories {_listing(missing)}")
        self.coding = {c: list(found[c]) for c in self.kinds}
        self._lay_out(path)
        return notes

    def _lay_out(self, path: str) -> None:
        """The features' names (and a formula's intercept and factors), from the coding."""
        assert self.coding is not None
        coding = {c: [str(v) for v in self.coding[c]] for c in self.categories}
        if self.formula is None:
            self.names = coded_features(self.columns, coding, self.intercept)
            return
        rows = max([len(v) for v in self.coding.values()] + [2])
        frame = {name: self._sample(name, rows) for name in self.columns}
        try:
            import pandas as pd

            with np.errstate(all="ignore"):
                rhs, _ = _model_matrices(self.parsed, pd.DataFrame(frame), False, None)
        except Exception as exc:
            raise ValueError(
                f"{path}: the formula {_formula_shown(self.formula)} cannot be applied: {_formulaic_reason(exc)}"
            ) from None
        names = [str(c) for c in rhs.columns]
        self.intercept = "Intercept" in names
        self.names = [n for n in names if n != "Intercept"]
        self.factors = _factor_levels(rhs)

    def _sample(self, name: str, rows: int):
        """A column of ``rows`` values holding each level (else 1.0), for the formula's layout."""
        import pandas as pd

        assert self.coding is not None
        levels = self.coding.get(name)
        if not levels:
            return np.ones(rows)
        values = [levels[i % len(levels)] for i in range(rows)]
        if self.kinds[name] == "number":
            return np.asarray(values, dtype=np.float64)
        return pd.Categorical([str(v) for v in values], categories=[str(v) for v in levels])

    def chunk(self, src: _Source, table, row: int, missing: str, y: np.ndarray | None):
        """``(X, y, gaps, unknown)`` of a chunk whose first row is ``row`` of its file: X with NaN in a row
        with a gap (a category's too), the target (a formula's left side), where a category has no value, and
        where it holds a value outside its levels (refused unless its row is dropped)."""
        n = table.num_rows
        gaps = np.zeros(n, dtype=bool)
        unknown = np.zeros(n, dtype=bool)
        if self.formula is not None and self.coding is not None:
            return self._formula_chunk(src, table, row, missing, y)
        X = np.empty((n, len(self.names) if self.coding is not None else 0), dtype=np.float64)
        j = 0
        for name in self.columns:
            column = table.column(name)
            if self.kinds.get(name, "number") == "number":
                values = _numbers(src, name, column, row, missing=missing)
                if self.coding is None:
                    gaps |= np.isnan(values)
                else:
                    X[:, j] = values
                    j += 1
                continue
            gaps |= category_gaps(src, name, column, row, missing)
            if self.coding is not None:
                block, bad = coded_block(column, self.coding[name], name == self.full)
                X[:, j : j + block.shape[1]] = block
                j += block.shape[1]
                unknown |= bad
        return X, y, gaps, unknown

    def _formula_chunk(self, src: _Source, table, row: int, missing: str, y: np.ndarray | None):
        """:meth:`chunk` of a formula: its design of the rows without a gap, NaN in the others."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        from .levels import level_texts

        assert self.coding is not None
        n = table.num_rows
        gaps = np.zeros(n, dtype=bool) if y is None else np.isnan(y)
        unknown = np.zeros(n, dtype=bool)
        frame: dict[str, Any] = {}
        for name in self.columns:
            column = table.column(name)
            if self.kinds.get(name, "number") == "number":
                frame[name] = _numbers(src, name, column, row, missing=missing)
                gaps |= np.isnan(frame[name])
                continue
            gaps |= category_gaps(src, name, column, row, missing)
            levels = [str(v) for v in self.coding[name]]
            codes = pc.index_in(level_texts(column), value_set=pa.array(levels, pa.string()))
            code = np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.float64)
            unknown |= np.isnan(code) & ~pc.is_null(level_texts(column)).to_numpy(zero_copy_only=False)
            frame[name] = pd.Categorical.from_codes(np.nan_to_num(code, nan=-1).astype(np.int64), categories=levels)
        unknown &= ~gaps  # a row dropped for a gap is not refused
        if unknown.any():
            i = int(np.argmax(unknown))
            name = next(c for c in self.categories if level_texts(table.column(c))[i].as_py() not in self.coding[c])
            raise unknown_level(src, name, table.column(name), i, row + i, self.coding[name])
        complete = ~gaps
        X = np.full((n, len(self.names)), np.nan)
        out_y = np.full(n, np.nan)
        if complete.any():
            kept = {name: values[complete] for name, values in frame.items()}
            target = str(self.parsed.lhs) if y is not None else None
            if y is not None:
                kept[_target_column(self.parsed)] = y[complete]
            rows = row + np.flatnonzero(complete)
            design = _apply_formula(
                src, self.formula or "", self.parsed, kept, y is not None, rows=rows, factors=self.factors
            )
            X[complete] = design[0]
            if target is not None:
                out_y[complete] = design[1]
        return X, out_y if y is not None else y, gaps, unknown


def _target_column(parsed) -> str:
    return str(sorted(parsed.lhs.required_variables)[0])

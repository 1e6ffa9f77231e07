"""The design of a chunk (:class:`ChunkDesign`): its categories coded by the levels a first pass found, or a
formula applied with its categorical terms' levels fixed beforehand, so that every chunk is coded alike and as
a whole read of the same rows codes it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cells import _numbers
from .coding import all_levels_column, check_reference, formula_intercept, interaction_notes, is_category_column
from .design import (
    _apply_formula,
    _factor_levels,
    _model_matrices,
    coded_features,
)
from .formula import _formula_shown, _formulaic_reason, _parse_formula
from .levels import CategoryLevels, category_gaps, coded_block, unknown_level
from .messages import _listing
from .rformula import alias, text_columns
from .source import _Source
from .transforms import transform_state_needed, whole_column_refusal


def factor_columns(parsed, columns: list[str]) -> dict[str, str]:
    """The columns of ``columns`` a formula's terms read as categories, each with its kind: "text" for those
    used only inside factor() (their numbers are levels as R writes them, 6 not 6.0, as a whole read codes
    them), "number" for those inside C() (formulaic codes the numbers)."""
    translation = parsed.translation
    as_text = set(text_columns(translation, None))
    return {c: "text" if c in as_text else "number" for c in columns if c in translation.categorical}


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
    if parsed is not None:  # a C() column of numbers and a word (Cars93's Cylinders: 4, 6, rotary) is text
        worded = lambda c: pa.types.is_string(first.column(c).type)  # noqa: E731 - typed from the first rows
        found = factor_columns(parsed, chosen)
        kinds.update({c: "text" if worded(c) else kind for c, kind in found.items() if c not in kinds})
    return kinds


def formula_columns(formula: str | None, target, features, path=None, sep=None, carry=()):
    """The parsed formula (None without one), and the target and the columns it reads (else those given);
    R's '.' is the columns of ``path`` (but its row labels and the columns ``carry``); a formula whose
    transforms need the whole column refused."""
    if formula is None:
        return None, target, features
    if target is not None or features is not None:
        raise ValueError("give a formula, or a target and features, not both")
    parsed, target, features = _parse_formula(formula, True)
    if parsed is None:  # R's '.': the file's columns
        from .plan import header

        names, labels = header(path, sep=sep)
        parsed, target, features = _parse_formula(formula, True, [n for n in names if n != labels and n not in carry])
    needed = transform_state_needed(parsed)
    if needed:
        raise whole_column_refusal(os.fspath(path) if path is not None else "the table", needed)
    return parsed, target, features


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
    factors: dict[str, list | dict] = field(default_factory=dict)  # a formula's categorical terms' levels
    reference: dict[str, str] | None = None  # a category's reference level, by column
    full: str | None = None  # the category coded with every level (without an intercept)
    target: str | None = None  # a formula's target column

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
        return notes + self._lay_out(path)

    def _lay_out(self, path: str) -> list[str]:
        """The features' names (and a formula's intercept and factors), from the coding; the notes on a
        formula's design where it differs from R's."""
        assert self.coding is not None
        coding = {c: [str(v) for v in self.coding[c]] for c in self.categories}
        if self.formula is None:
            self.names = coded_features(self.columns, coding, self.intercept)
            return []
        rows = max([len(v) for v in self.coding.values()] + [2])
        frame = {name: self._sample(name, rows) for name in self.columns}
        try:
            import pandas as pd

            with np.errstate(all="ignore"):
                data = pd.DataFrame({alias(name): values for name, values in frame.items()})
                rhs, _ = _model_matrices(self.parsed, data, False, None)
        except Exception as exc:
            raise ValueError(
                f"{path}: the formula {_formula_shown(self.formula)} cannot be applied: {_formulaic_reason(exc)}"
            ) from None
        names = [self.parsed.named(str(c)) for c in rhs.columns]
        self.intercept = "Intercept" in names
        self.names = [n for n in names if n != "Intercept"]
        self.factors = {self.parsed.named(k): v for k, v in _factor_levels(rhs).items()}
        return interaction_notes(rhs.model_spec, self.parsed.named)

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
            target = self.parsed.target_name if y is not None else None
            if y is not None:
                kept[self.target or ""] = y[complete]
            rows = row + np.flatnonzero(complete)
            design = _apply_formula(
                src, self.formula or "", self.parsed, kept, y is not None, rows=rows, factors=self.factors
            )
            X[complete] = design[0]
            if target is not None:
                out_y[complete] = design[1]
        return X, out_y if y is not None else y, gaps, unknown

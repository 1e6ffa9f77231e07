"""The levels of the categories of a table read in chunks, found by one first pass over their columns
(:func:`category_levels`), and a chunk's categories coded with them (:func:`coded_block`), as a whole read
codes them.

A category is a text or boolean column named as a feature (or read by a formula), or a Parquet dictionary
column of text (what pandas writes for a ``category`` dtype, and R's arrow for a factor), coded by the rules of
:mod:`.coding`. A text column's levels are sorted by code point (a boolean's ``FALSE``, ``TRUE``), as a whole
read sorts them; a dictionary column's levels keep the dictionary's order (the order pandas' categories or R's
factor levels had, which R keeps), merged by first appearance over the row groups and the files. Either way a
level is one that a row kept holds: levels found only in rows dropped for a missing value are not levels. Under a
launcher each process finds its share's levels and the processes join them (:meth:`CategoryLevels.union`,
in rank order, which is file order) before the fit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .coding import CategoryCoding, all_levels_column, category_coding, coded_names, r_level_order
from .design import _levels
from .messages import _listing, _missing_value, _quote, _shown, _where
from .source import _Source


def _plain(column):
    """One arrow array of a column (a chunked one joined)."""
    import pyarrow as pa

    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def level_texts(column):
    """A column's values as the text of their levels (a dictionary decoded, booleans ``TRUE`` and ``FALSE``
    as :func:`~.coding.level_text` writes them), null where missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = _plain(column)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, pa.scalar("TRUE"), pa.scalar("FALSE"))
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    return column


@dataclass
class _ColumnLevels:
    """What a pass found of one category: its dictionary's entries in order (a dictionary column), the
    levels held by rows kept, in the order first seen, and whether the dictionary is ordered."""

    kind: str  # "text", "dictionary" or "number" (a column of numbers in a formula's C())
    order: dict = field(default_factory=dict)
    present: dict = field(default_factory=dict)
    ordered: bool = False

    def add(self, column, kept: np.ndarray) -> None:
        """Note the levels of a chunk's rows ``kept``."""
        import pyarrow as pa
        import pyarrow.compute as pc

        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        at = 0
        for chunk in chunks:
            mask = pa.array(kept[at : at + len(chunk)])
            at += len(chunk)
            if pa.types.is_dictionary(chunk.type):
                self.ordered |= bool(chunk.type.ordered)
                self.order.update(dict.fromkeys(str(v) for v in chunk.dictionary.to_pylist()))
                chunk = chunk.dictionary_decode()
            chunk = level_texts(chunk) if self.kind != "number" else chunk.cast(pa.float64())
            self.present.update(dict.fromkeys(v for v in pc.unique(chunk.filter(mask)).to_pylist() if v is not None))

    def join(self, other: _ColumnLevels) -> None:
        self.order.update(other.order)
        self.present.update(other.present)
        self.ordered |= other.ordered

    def levels(self) -> list:
        """The levels: a dictionary's in its order, others sorted; those rows kept hold."""
        if self.kind == "dictionary":
            return [v for v in self.order if v in self.present]
        return sorted(self.present)


@dataclass
class CategoryLevels:
    """The levels of a table's categories, found by one pass (:func:`category_levels`): all a table's, or a
    process's share's; :meth:`union` joins the shares, :meth:`coding` gives the levels to code with."""

    path: str
    columns: dict[str, _ColumnLevels] = field(default_factory=dict)

    @classmethod
    def union(cls, parts: list[CategoryLevels]) -> CategoryLevels:
        """The levels of the shares ``parts`` (in rank order) as those of one table."""
        joined = cls(parts[0].path)
        for part in parts:
            for name, found in part.columns.items():
                joined.columns.setdefault(name, _ColumnLevels(found.kind)).join(found)
        return joined

    def coded(self, full: str | None = None, reference: dict[str, str] | None = None):
        """Each category's levels, the reference first (``reference``'s, else the first), coded by the rules of
        :mod:`.coding` (``full``: the category that keeps every level), and the notes to say (a reference R
        would not take, an ordered dictionary); a category with fewer than two levels refused."""
        coding: dict[str, list] = {}
        notes: list[str] = []
        for name, found in self.columns.items():
            levels = found.levels()
            if found.kind == "number":  # a formula's column of numbers in C(): formulaic codes it
                coding[name] = levels
                continue
            if len(levels) < 2:
                raise ValueError(
                    f"{self.path}: column {_quote(name)} holds the single value {_shown(levels[0] if levels else '')}"
                    f": a category with one level cannot be a feature"
                )
            ref, every = (reference or {}).get(name), name == full
            if found.kind == "dictionary":
                coded = dictionary_coding(name, levels, all_levels=every, reference=ref, where=self.path)
            else:
                coded = category_coding(name, levels, all_levels=every, reference=ref, where=self.path)
            coding[name] = coded.levels
            notes += [coded.note] if coded.note else []
            notes += [ordered_note(name, levels)] if found.ordered else []
        return coding, notes


def dictionary_coding(
    name: str, levels: list[str], *, all_levels: bool = False, reference: str | None = None, where: str = ""
) -> CategoryCoding:
    """The coding of a dictionary column: its levels in the dictionary's order (R's factor's levels as arrow
    writes them, pandas' categories), the ``reference`` moved first; a reference that is no level refused as
    :func:`~.coding.category_coding` does. A note says so when sorting would take another reference."""
    note = None
    if reference is not None:
        category_coding(name, levels, reference=reference, where=where)  # refuses a reference that is no level
        levels = [reference, *(v for v in levels if v != reference)]
    elif not all_levels and (first := r_level_order(levels)[0]) != levels[0]:
        note = (
            f"column {_quote(name)}: levels in its dictionary's order (R's factor levels, pandas' categories), the "
            f"reference {_shown(levels[0])} where sorted levels would take {_shown(first)} (choose it with "
            f"--reference {name}={first})"
        )
    return CategoryCoding(list(levels), coded_names(name, list(levels), all_levels), note)


def ordered_note(name: str, levels: list) -> str:
    """What linearnet does with an ordered factor (an ordered dictionary column), and how to ask for R's."""
    shown = ", ".join(repr(str(v)) for v in levels[:10]) + (", ..." if len(levels) > 10 else "")
    return (
        f"column {_quote(name)} is an ordered factor: coded by treatment contrasts, as an unordered one (R codes an "
        f"ordered factor by polynomial contrasts: ask for them with --formula and C({name}, contr.poly, "
        f"levels=[{shown}]))"
    )


class _LevelCollector:
    """A pass's categories gathered into :class:`CategoryLevels`, refusing an id-like column as it grows."""

    def __init__(self, path: str, kinds: dict[str, str], most: int):
        self.levels = CategoryLevels(path, {name: _ColumnLevels(kind) for name, kind in kinds.items()})
        self.most = most  # levels a category may have: its 0/1 columns of a chunk within the memory budget

    def seen(self, src: _Source, table, kept: np.ndarray, rows: int) -> None:
        for name, found in self.levels.columns.items():
            found.add(table.column(name), kept)
            if len(found.present) > self.most and found.kind != "number":
                from ..memory import human_bytes

                raise ValueError(
                    f"{src.name}: column {_quote(name)} has over {self.most:,} levels: coded as categories, a chunk "
                    f"of {rows:,} rows would take over {human_bytes(rows * self.most * 8)}, over the memory budget; "
                    f"an id-like column cannot be a feature: leave it out of the features"
                )


def most_levels(budget: int, chunk_rows: int) -> int:
    """The levels a category may have in chunks of ``chunk_rows`` rows: its 0/1 columns within ``budget``."""
    return max(2, budget // (8 * max(chunk_rows, 1)) + 1)


def category_gaps(src: _Source, name: str, column, first_row: int, missing: str) -> np.ndarray:
    """Where a category has no value: refused with the first row (``missing="error"``), else a mask."""
    import pyarrow.compute as pc

    gap = np.asarray(pc.is_null(_plain(column)).to_numpy(zero_copy_only=False), dtype=bool)
    if missing == "error" and gap.any():
        row = first_row + int(np.argmax(gap))
        raise ValueError(f"{src.name}: column {_quote(name)}, {_where(src, row)}: {_missing_value(src, name, row)}")
    return gap


def coded_block(column, levels: list[str], all_levels: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A chunk's category treatment-coded by ``levels`` (a 0/1 column for each level but the first, or for
    every level with ``all_levels``; NaN in a row without a value), and where a value is none of the levels."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = level_texts(column)
    codes = pc.index_in(texts, value_set=pa.array([str(v) for v in levels], pa.string()))
    code = np.asarray(codes.to_numpy(zero_copy_only=False), dtype=np.float64)  # NaN: missing, or unknown
    gap = np.asarray(pc.is_null(texts).to_numpy(zero_copy_only=False), dtype=bool)
    unknown = np.isnan(code) & ~gap
    skip = 0 if all_levels else 1
    out = np.zeros((len(code), max(len(levels) - skip, 0)))
    rows = np.flatnonzero(code >= skip)
    out[rows, code[rows].astype(np.int64) - skip] = 1.0
    out[gap] = np.nan
    return out, unknown


def unknown_level(src: _Source, name: str, column, i: int, row: int, levels: list) -> ValueError:
    """The refusal of a value of a category outside its levels, at index ``i`` of a chunk, ``row`` of its file."""
    value = level_texts(column)[i].as_py()
    return ValueError(
        f"{src.name}: column {_quote(name)}, {_where(src, row)}: {_shown(value)} is not one of the levels the "
        f"model knows ({_listing([str(v) for v in levels])})"
    )


def dictionary_levels(column, keep: np.ndarray) -> list[str]:
    """The levels of a dictionary column read whole: its dictionaries' order, those of the rows ``keep``."""
    found = _ColumnLevels("dictionary")
    found.add(column, keep)
    return found.levels()


def category_levels(
    path,
    *,
    target: str | None,
    features: list[str] | None = None,
    formula: str | None = None,
    missing: str = "error",
    sep: str | None = None,
    decimal: str | None = None,
    share: tuple[int, int] | None = None,
    chunk_rows: int | None = None,
    carry: list[str] | None = None,
    carried_in_use: bool = False,
    budget: int | None = None,
) -> CategoryLevels:
    """The levels of the categories among ``features`` (or the columns ``formula`` reads) of a file, a folder
    or a pattern (or, with ``share``, of this process's share), found by one pass reading those columns alone
    (and, under ``missing="drop"``, the other columns in use, whose gaps drop rows): memory holds a chunk and
    the distinct levels. A category with more levels than a chunk's 0/1 columns can hold within ``budget``
    (None: the default memory budget) is refused as it is met."""
    from .chunks import table_chunks
    from .plan import default_budget

    chunks, _ = table_chunks(
        path,
        target=target,
        features=features,
        formula=formula,
        chunk_rows=chunk_rows,
        missing=missing,
        sep=sep,
        decimal=decimal,
        share=share,
        carry=carry,
        carried_in_use=carried_in_use,
        _collect=budget or default_budget(),
    )
    if chunks._collector is None:  # no category: no pass
        return CategoryLevels(chunks.path)
    for _ in chunks():
        pass
    return chunks._collector.levels


# --- a table read whole: its categories coded by the same rules


def _category_levels(src: _Source, name: str, column, kept: list, keep: np.ndarray, full: bool, reference):
    """A category's coding: a dictionary's levels in its order, others sorted; those of the rows kept, at
    least two."""
    found = dictionary_levels(column, keep) if _ordered(column) is not None else None
    if found is None or len(found) < 2:
        return _levels(src, name, kept if found is None else found, all_levels=full, reference=reference)
    return dictionary_coding(name, found, all_levels=full, reference=reference, where=src.name)


def _levels_of_files(path: str, target, features, formula, text: list[str], options: dict):
    """The levels of the categories ``text`` over all the files, and the notes on them: found by one pass
    reading those columns (:func:`~linearnet.tables.levels.category_levels`), as a read in chunks finds them,
    from the rows kept."""
    found = category_levels(
        path,
        target=None if formula or options["labels"] else target,  # class labels: their gaps drop no level
        features=None if formula else features,
        formula=formula,
        **{k: options[k] for k in ("missing", "sep", "decimal", "carry", "carried_in_use")},
    )
    coded, notes = found.coded(all_levels_column(text, text, options["intercept"]), options["reference"])
    return {c: v for c, v in coded.items() if c in text}, notes


def _ordered_notes(table, categories: list[str], coding: dict[str, list[str]]) -> list[str]:
    """A note for each category that is an ordered dictionary (an ordered factor)."""
    return [ordered_note(name, coding[name]) for name in categories if _ordered(table.column(name))]


def _ordered(column) -> bool | None:
    """Whether a dictionary column is ordered (an ordered factor); None for a column that is no dictionary."""
    import pyarrow as pa

    return bool(column.type.ordered) if pa.types.is_dictionary(column.type) else None

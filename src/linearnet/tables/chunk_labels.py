"""Class labels of a table read a chunk at a time, named by :func:`~linearnet.tables.encode_labels`' rules:
gathered as each file's distinct values (:class:`TargetLabels`, to find the classes in one pass, of a
process's share or of every share), or coded by a list of classes (:class:`_Coder`, for the chunks of a fit).

A whole read names a file's labels by the type pyarrow gives its column over the whole file: whole numbers
(of an integer, float, boolean or decimal column) are class numbers, written ``"0"``, ``"1"``...; any other
value is the class it prints as (a date as 2024-01-05). A CSV's labels are read as the text they are written
as, and that type is found from the file's distinct values, by pyarrow itself (:func:`_typed`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Real
from typing import Any

import numpy as np

from .labels import MAX_SPARSE_CLASSES
from .messages import _listing, _missing_value, _quote, _shown, _where
from .source import _dialect_options, _Source


def _label_array(column):
    """A chunk's labels as one arrow array, a dictionary (a pandas category, an R factor) decoded."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column


def _missing(column) -> np.ndarray:
    """Where a label is missing: a null, an empty text or a NaN, as :func:`encode_labels` reads them."""
    import pyarrow as pa
    import pyarrow.compute as pc

    gap = pc.is_null(column)
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        gap = pc.or_(gap, pc.fill_null(pc.equal(column, ""), False))
    elif pa.types.is_floating(column.type):
        gap = pc.or_(gap, pc.fill_null(pc.is_nan(column), False))
    return np.asarray(gap.to_numpy(zero_copy_only=False), dtype=bool)


def _is_text(column, src: _Source) -> bool:
    """Whether the labels are a CSV's text as written, whose type the whole file decides."""
    import pyarrow as pa

    return src.fmt == "csv" and (pa.types.is_string(column.type) or pa.types.is_large_string(column.type))


def _is_class_number(v) -> bool:
    """Whether a label is a number (a class number when whole and >= 0); booleans are classes False, True."""
    return isinstance(v, (Real, Decimal)) and not isinstance(v, (complex, bool, np.bool_))


# what pyarrow reads as booleans, as their classes: a "1" of a column of booleans is the class True
_BOOLEANS = {
    t: str(t in ("1", "true", "True", "TRUE")) for t in ("1", "0", "true", "false", "True", "False", "TRUE", "FALSE")
}


def _name(v) -> str | None:
    """The class a value of a whole read names: a whole number >= 0 its number, else what it prints as;
    None for a number that is no class (fractional, negative)."""
    if _is_class_number(v):
        f = float(v)
        return str(int(f)) if np.isfinite(f) and f == int(f) and f >= 0 else None
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _typed(sep: str, decimal: str, texts: list[str]) -> list:
    """CSV labels written as ``texts`` as a whole read of a file holding just these values gives them: the
    type pyarrow finds for them (whole numbers, booleans, dates, text...), as Python values, in order."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    if not texts:
        return []
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(["label"])
    writer.writerows([t] for t in texts)
    table = pcsv.read_csv(pa.py_buffer(out.getvalue().encode()), **_dialect_options(sep, decimal, newlines=True))
    return table.column(0).to_pylist()


def _number_to_name(text: str, decimal: str) -> float | None:
    """A CSV label's value as a number, None where it is not one."""
    try:
        return float(text.replace(",", ".") if decimal == "," else text)
    except ValueError:
        return None


def _noted(v, decimal: str) -> bool:
    """Whether a refusal may name the row of a label: a number that is no class or makes many classes."""
    f = _number_to_name(v, decimal) if isinstance(v, str) else float(v) if _is_class_number(v) else None
    return f is not None and (not np.isfinite(f) or f != int(f) or f < 0 or f >= MAX_SPARSE_CLASSES)


@dataclass
class _FileLabels:
    """One file's distinct labels: those of the rows kept, each with its first row where a refusal may
    name it (else None), and those of the rows dropped for a gap elsewhere (they type a CSV's column)."""

    name: str
    text: bool  # CSV text, typed by the whole file's values; else values as a whole read gives them
    decimal: str = "."
    sep: str = ","
    kept: dict[Any, int | None] = field(default_factory=dict)
    dropped: set = field(default_factory=set)
    rows: int = 0  # rows with a label kept

    def add(self, other: _FileLabels) -> None:
        for v, row in other.kept.items():
            mine = self.kept.get(v)
            self.kept[v] = row if mine is None else mine if row is None else min(mine, row)
        self.dropped |= other.dropped
        self.rows += other.rows

    def values(self) -> list[tuple[Any, int | None]]:
        """The labels kept, as a whole read of the file gives them, with their rows."""
        if not self.text:
            return list(self.kept.items())
        texts = list(self.kept)
        typed = _typed(self.sep, self.decimal, texts + sorted(self.dropped - self.kept.keys()))
        return [(v, self.kept[t]) for v, t in zip(typed, texts, strict=False)]


@dataclass
class TargetLabels:
    """The distinct class labels of a target column, file by file, found by one pass (:func:`target_labels`):
    all a table's, or a process's share's; :meth:`union` joins the shares (in rank order), :meth:`classes`
    names the classes as a whole read of the same rows does."""

    path: str
    target: str
    files: dict[str, _FileLabels] = field(default_factory=dict)

    @classmethod
    def union(cls, parts: list[TargetLabels]) -> TargetLabels:
        """The labels of the shares ``parts`` (in rank order) as those of one table."""
        joined = cls(parts[0].path, parts[0].target)
        for part in parts:
            for name, labels in part.files.items():
                if name in joined.files:
                    joined.files[name].add(labels)
                else:
                    joined.files[name] = _FileLabels(name, labels.text, labels.decimal, labels.sep)
                    joined.files[name].add(labels)
        return joined

    def classes(self, *, least: int = 2) -> list[str]:
        """The class names, by :func:`encode_labels`' rules: class numbers ``"0"`` to the largest when every
        file's labels are whole numbers, else every distinct label a class, sorted. Fewer than ``least``
        classes with rows are refused (``least=0``: a share may hold no row)."""
        numbers: set[int] = set()
        names: set[str] = set()
        numbered = True
        for labels in self.files.values():
            found, is_number = _file_classes(labels, self.target)
            numbered &= is_number
            (numbers if is_number else names).update(found)
        where = f"{self.path}: column {_quote(self.target)}"
        if numbered:
            classes = [str(c) for c in range(max(numbers) + 1)] if numbers else []
            present = [str(c) for c in sorted(numbers)]
        else:
            classes = present = sorted(names | {str(c) for c in numbers})
        if len(present) < least:
            if not present:
                raise ValueError(f"{where}: no labels")
            raise ValueError(
                f"{where}: every row has the same class {present[0]!r}; classification needs at least two classes"
            )
        return classes


def _file_classes(labels: _FileLabels, target: str) -> tuple[set, bool]:
    """A file's classes present (class numbers, or names) and whether they are numbers; a number that is no
    class, or that would make too many, refused with its row as a whole read of the file refuses it."""
    values = labels.values()
    where = f"{labels.name}: column {_quote(target)}"
    if not values:  # every row of the file dropped, or none in this share
        return set(), True
    if not all(_is_class_number(v) for v, _ in values):
        return {_name(v) for v, _ in values}, False
    bad = [(row if row is not None else 0, v) for v, row in values if _name(v) is None]
    if bad:
        row, v = min(bad, key=lambda pair: pair[0])
        f = float(v)
        if not np.isfinite(f) or f != int(f):
            raise ValueError(f"{where}: row {row}: class {v!r} is not a whole number")
        raise ValueError(f"{where}: row {row}: class {int(f)} is negative; classes are numbered from 0")
    numbers = {int(float(v)) for v, _ in values}
    top = max(numbers)
    if top + 1 > max(labels.rows, MAX_SPARSE_CLASSES):
        at = next(row for v, row in values if int(float(v)) == top)
        many = (lambda k: f"{k:,}") if top < 10**15 else (lambda k: f"{float(k):.3g}")
        raise ValueError(
            f"{where}: row {at}: class {many(top)} would make {many(top + 1)} classes "
            f"(numbered from 0) for {labels.rows:,} rows; number the classes 0, 1, 2, ..., or write "
            f"them as text, where each distinct value is a class"
        )
    return numbers, True


class _Collector:
    """A pass's labels gathered into :class:`TargetLabels`: every chunk's distinct labels, file by file."""

    def __init__(self, path: str, target: str):
        self.labels = TargetLabels(path, target)

    def codes(self, src: _Source, name: str, column, first_row: int, *, missing: str, skip=None) -> np.ndarray:
        """0 for a label, -1 where one is missing (refused with its row unless ``missing="drop"``)."""
        column = _label_array(column)
        gap = _missing(column)
        _refuse_gap(src, name, gap, first_row, missing)
        return np.where(gap, -1, 0).astype(np.int64)

    def seen(self, src: _Source, column, kept: np.ndarray, file_row: Callable[[int], int]) -> None:
        """Note the labels of a chunk's rows ``kept``; ``file_row(i)`` numbers its row ``i`` in the file."""
        import pyarrow as pa
        import pyarrow.compute as pc

        column = _label_array(column)
        labels = self.labels.files.get(src.name)
        if labels is None:
            labels = self.labels.files[src.name] = _FileLabels(src.name, _is_text(column, src), src.decimal, src.sep)
        kept = kept & ~_missing(column)
        labels.rows += int(kept.sum())
        new = [v for v in pc.unique(column.filter(pa.array(kept))).to_pylist() if v not in labels.kept]
        labels.kept.update(dict.fromkeys(new))
        noted = [v for v in new if _noted(v, src.decimal)]
        if noted:  # the first kept row of each, found in one sweep (a column of fractions may hold millions)
            found = pc.index_in(column, value_set=pa.array(noted, type=column.type)).to_numpy(zero_copy_only=False)
            found = np.where(kept, np.nan_to_num(np.asarray(found, dtype=np.float64), nan=-1), -1).astype(np.int64)
            rows = np.flatnonzero(found >= 0)
            which, first = np.unique(found[rows], return_index=True)
            for k, i in zip(which.tolist(), rows[first].tolist(), strict=True):
                labels.kept[noted[k]] = file_row(i)
        if labels.text and not kept.all():
            labels.dropped.update(v for v in pc.unique(column.filter(pa.array(~kept))).to_pylist() if v is not None)


def _refuse_gap(src: _Source, name: str, gap: np.ndarray, first_row: int, missing: str) -> None:
    """A missing label refused with its row, unless its row is dropped (``missing="drop"``)."""
    if missing != "drop" and gap.any():
        row = first_row + int(np.argmax(gap))
        raise ValueError(f"{src.name}: column {_quote(name)}, {_where(src, row)}: {_missing_value(src, name, row)}")


class _Coder:
    """A chunk's labels as their codes: their index in ``classes`` (named by :func:`encode_labels`' rules)."""

    def __init__(self, classes: list[str]):
        self.classes = [str(c) for c in classes]
        self.index = {c: k for k, c in enumerate(self.classes)}
        if len(self.index) != len(self.classes):
            raise ValueError(f"classes must be distinct, got {_listing(self.classes)}")

    def _codes_of(self, src: _Source, values: list) -> list[int]:
        """The code of each distinct label of a chunk, -1 for one that is no class."""
        if values and isinstance(values[0], str) and src.fmt == "csv":  # a CSV's text: as written, or typed
            codes = [self.index.get(v, -1) for v in values]
            unknown = [v for v, c in zip(values, codes, strict=True) if c < 0]
            typed = dict(zip(unknown, _typed(src.sep, src.decimal, unknown), strict=True))
            names = {v: _name(typed[v]) or "" for v in unknown}
            if "True" in self.index or "False" in self.index:  # a column of booleans may write True as 1
                names = {v: _BOOLEANS.get(v, name) if name not in self.index else name for v, name in names.items()}
            return [c if c >= 0 else self.index.get(names[v], -1) for v, c in zip(values, codes, strict=True)]
        return [self.index.get(_name(v) or "", -1) for v in values]

    def codes(self, src: _Source, name: str, column, first_row: int, *, missing: str, skip=None) -> np.ndarray:
        """The codes of a chunk's labels, -1 where one is missing (refused with its row unless
        ``missing="drop"``); a label that is none of the classes is refused with its row and value, unless
        its row is one ``skip`` marks (dropped for a gap elsewhere, under ``missing="drop"``)."""
        import pyarrow.compute as pc

        column = _label_array(column)
        gap = _missing(column)
        _refuse_gap(src, name, gap, first_row, missing)
        distinct = pc.unique(column)
        values = distinct.to_pylist()
        known = [v for v in values if v is not None and v != "" and not (isinstance(v, float) and v != v)]
        codes = dict(zip(known, self._codes_of(src, known), strict=True))
        lookup = np.array([codes.get(v, -1) if v is not None else -1 for v in values], dtype=np.int64)
        at = pc.index_in(column, value_set=distinct).to_numpy(zero_copy_only=False)
        out = lookup[np.nan_to_num(at, nan=0).astype(np.int64)] if len(lookup) else np.full(len(column), -1)
        out[gap] = -1
        unknown = (out < 0) & ~gap & (~skip if skip is not None and missing == "drop" else True)
        if unknown.any():
            i = int(np.argmax(unknown))
            row, value = first_row + i, column[i].as_py()
            raise ValueError(
                f"{src.name}: column {_quote(name)}, {_where(src, row)}: class {_shown(value)} is not one of the "
                f"{len(self.classes):,} classes ({_listing(self.classes, 10)})"
            )
        out[skip if skip is not None and missing == "drop" else False] = -1
        return out


def target_labels(
    path,
    target: str,
    *,
    features: list[str] | None = None,
    missing: str = "error",
    sep: str | None = None,
    decimal: str | None = None,
    share: tuple[int, int] | None = None,
    chunk_rows: int | None = None,
) -> TargetLabels:
    """The distinct labels of the column ``target`` of a file, a folder or a pattern (or, with ``share``,
    of this process's share of them, as :func:`table_chunks` shares them), file by file, found by one pass
    reading that column alone: memory holds a chunk and the distinct labels, never the rows.

    A missing label is refused with its file and row, or its row skipped with ``missing="drop"``; with
    ``features`` (the columns a fit reads) a row with a gap in one of them is skipped too under
    ``missing="drop"``, as :func:`read_table` drops it. :meth:`TargetLabels.classes` names the classes;
    :meth:`TargetLabels.union` joins the labels of every process's share.
    """
    import os

    from .chunks import table_chunks

    collector = _Collector(os.fspath(path), target)
    in_use = list(features or []) if missing == "drop" else []
    chunks, _ = table_chunks(
        path,
        target=target,
        features=in_use,
        chunk_rows=chunk_rows,
        missing=missing,
        sep=sep,
        decimal=decimal,
        share=share,
        _labels=collector,
    )
    for _ in chunks():
        pass
    if chunks._several:
        return collector.labels
    collector.labels.path = chunks.path  # one file: named as its messages name it
    return collector.labels


def target_classes(
    path,
    target: str,
    *,
    features: list[str] | None = None,
    missing: str = "error",
    sep: str | None = None,
    decimal: str | None = None,
    share: tuple[int, int] | None = None,
    least: int = 2,
) -> list[str]:
    """The class names of the column ``target`` of a file, a folder or a pattern (or of this process's
    share), those :func:`read_table` gives with ``labels=True`` for the same rows: class numbers ``"0"``
    to the largest where the labels are whole numbers >= 0, else every distinct label a class, sorted.
    One pass reads that column alone (see :func:`target_labels`). Fewer than ``least`` classes with rows
    are refused; a process's share may hold one class, or none (``least=0``): the processes join their
    shares' labels (:meth:`TargetLabels.union`) to find the classes of the whole.
    """
    labels = target_labels(path, target, features=features, missing=missing, sep=sep, decimal=decimal, share=share)
    return labels.classes(least=least)


def _coder(classes: list[str] | None, target: str | None) -> _Coder | None:
    """What codes the target's labels by ``classes`` (None: the target is numbers)."""
    if classes is not None and target is None:
        raise ValueError("table_chunks with classes needs the target column of the class labels")
    return None if classes is None else _Coder(classes)

"""Tables in and out: CSV and Parquet files, checked once where they enter, by one set of rules.

One reader serves every command and both paths, the whole file in memory (:func:`read_table`)
or a pass at a time in chunks (:func:`table_chunks`):

- **Where from**: a file, a ``.gz``/``.bz2``/``.zst`` file (by its extension), or ``-``
  (standard input, held in memory). CSV or Parquet is told by content.
- **CSV dialect**: the separator is found among ``, ; TAB |`` from the first lines (or given);
  with ``;`` a decimal comma is recognised (or given). R's and pandas' missing-value tokens
  (``NA``, ``NaN``, ``null``, empty, ...) read as missing. A first column with an empty name is
  row labels (as R's ``write.csv`` and pandas' ``to_csv`` write them), left out with a note.
- **Types from the values**: a column whose values are all numbers (or true/false) is numeric; a
  column of text is text; a column of numbers with some text in it is a typo, refused with its
  row and value wherever that row is (numbers written with thousands separators, currency or
  percent signs are named as such). Dates are not numbers. Default features are the numeric
  columns but the target; whatever they leave out is named in :attr:`Table.notes`.
- **Missing values**: refused with their row (``missing="error"``), or their rows dropped
  (``missing="drop"``, R's ``na.omit``), counted and named in a note.

Every problem is one ``ValueError`` naming the file, the column and the first bad row ("row 7
(line 8)": data rows count from 1, lines include the header). Reading is done by pyarrow; when
pyarrow refuses a file, a line-by-line scan finds the row to name.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import io
import itertools
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .memory import return_freed_blocks
from .modelfile import coded_features
from .outputs import atomic_write

__all__ = [
    "Table",
    "TableChunks",
    "read_table",
    "table_chunks",
    "column_kind",
    "whole_read_bytes",
    "write_table",
    "csv_text",
    "detect_format",
    "encode_labels",
    "MISSING",
    "NA_TOKENS",
    "SEPARATORS",
]

MISSING = ("error", "drop")  # what to do with a row that has a missing value in a column in use
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}
# R's and pandas' missing-value tokens: read as missing in number and text columns alike
NA_TOKENS = (
    "",
    "NA",
    "N/A",
    "n/a",
    "NaN",
    "nan",
    "-NaN",
    "-nan",
    "NULL",
    "null",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "<NA>",
    "None",
    "-1.#IND",
    "-1.#QNAN",
    "1.#IND",
    "1.#QNAN",
)
_PARQUET_MAGIC = b"PAR1"
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_SAMPLE = 1 << 16  # bytes looked at to tell the format, the separator and the decimal mark
_DROPPED_SHOWN = 5  # rows named in the note about dropped rows


@dataclass
class Table:
    path: str
    features: np.ndarray  # (n, p) float64
    target: np.ndarray | None  # (n,) float64, or int64 class codes when read as labels
    feature_names: list[str]
    target_name: str | None
    classes: list[str] | None = None  # class names, when the target was read as labels
    notes: list[str] = field(default_factory=list)  # what the defaults left out or dropped, one line each
    left_out: list[str] = field(default_factory=list)  # columns the default features left out
    dropped_rows: list[int] = field(default_factory=list)  # rows (from 1) dropped for missing values
    coding: dict[str, list[str]] = field(default_factory=dict)  # text column -> its levels, the first the reference
    columns: list[str] = field(default_factory=list)  # the file's columns behind feature_names
    formula: str | None = None  # the Wilkinson formula the design was made from
    intercept: bool = True  # whether the model has one (a formula may leave it out: "- 1")
    header: list[str] = field(default_factory=list)  # every column of the file, in order

    @property
    def num_rows(self) -> int:
        return len(self.features)


# --- where the bytes come from -----------------------------------------------------------------


class _Source:
    """A table's bytes: a file (decompressed by its extension) or standard input held in memory,
    with its format and, for CSV, its separator and decimal mark."""

    def __init__(self, path, *, sep: str | None = None, decimal: str | None = None):
        self.name = os.fspath(path)
        self.data: bytes | None = None
        self.compression: str | None = None
        if self.name == "-":
            self.data = _decompressed(sys.stdin.buffer.read())
        else:
            p = Path(self.name)
            if not p.exists():
                raise ValueError(f"{self.name}: no such file")
            if p.is_dir():
                raise ValueError(f"{self.name}: is a directory, expected a CSV or Parquet file")
            self.compression = _COMPRESSION.get(p.suffix.lower())
        try:
            with self.binary() as fh:
                head = fh.read(_SAMPLE)
        except OSError as exc:
            raise ValueError(f"{self.name}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
        self.fmt = self._format(head)
        self.eol = b"\r" if b"\r" in head and b"\n" not in head else b"\n"  # old Mac files end lines with CR
        self.sep, self.decimal = ",", "."
        if self.fmt == "csv":
            self.sep = _check_sep(sep) if sep is not None else _sniff_separator(head)
            self.decimal = _check_decimal(decimal) if decimal is not None else _sniff_decimal(head, self.sep)

    def _format(self, head: bytes) -> str:
        name = self.name[: -len(Path(self.name).suffix)] if self.compression else self.name
        if not head:
            raise ValueError(f"{self.name}: is empty, expected a header line and rows")
        if head[:4] == _PARQUET_MAGIC:
            if self.compression is not None:
                raise ValueError(
                    f"{self.name}: is a compressed Parquet file; Parquet compresses its own "
                    f"columns: decompress the file first"
                )
            if self.data is not None:
                end = self.data[-4:]
            else:
                with open(self.name, "rb") as fh:
                    fh.seek(max(0, os.path.getsize(self.name) - 4))
                    end = fh.read(4)
            if end == _PARQUET_MAGIC:
                return "parquet"
            if b"\x00" in head or name.lower().endswith((".parquet", ".pq")):  # not a CSV that starts with PAR1
                raise ValueError(
                    f"{self.name}: is a truncated or corrupt Parquet file "
                    f"(it starts with PAR1 but does not end with it)"
                )
        if name.lower().endswith((".parquet", ".pq")):
            raise ValueError(f"{self.name}: is not a Parquet file (it does not start with PAR1)")
        if b"\x00" in head:
            raise ValueError(f"{self.name}: holds binary data, expected a CSV or Parquet file")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
                raise ValueError(f"{self.name}: is not UTF-8 text, expected a CSV or Parquet file") from None
        return "csv"

    def binary(self):
        """A fresh binary stream of the (decompressed) bytes."""
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.compression is not None:
            import pyarrow as pa

            return pa.input_stream(self.name, compression=self.compression)
        return open(self.name, "rb")

    def text(self):
        """A fresh text stream for Python's csv module."""
        return io.TextIOWrapper(self.binary(), encoding="utf-8", errors="replace", newline="")

    def arrow(self):
        """What pyarrow's readers take: the path itself where they can read it directly."""
        if self.data is None and self.compression is None:
            return self.name
        if self.data is not None:
            import pyarrow as pa

            return pa.BufferReader(self.data)
        return self.binary()

    def size(self) -> int | None:
        """Bytes on disk of an uncompressed file (None for standard input and compressed files)."""
        return os.path.getsize(self.name) if self.data is None and self.compression is None else None


_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\x28\xb5\x2f\xfd": "zstd"}


def _decompressed(data: bytes) -> bytes:
    """Standard input as it is, or decompressed when it starts with a gzip, bzip2 or zstd header."""
    for magic, codec in _MAGIC.items():
        if data.startswith(magic):
            import pyarrow as pa

            try:
                with pa.input_stream(pa.BufferReader(data), compression=codec) as stream:
                    return stream.read()
            except (OSError, pa.ArrowInvalid) as exc:
                raise ValueError(
                    f"-: standard input starts like a {codec} file but cannot be decompressed ({exc})"
                ) from None
    return data


def _check_sep(sep: str) -> str:
    sep = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "bar": "|", "pipe": "|"}.get(sep, sep)
    if sep not in SEPARATORS:
        raise ValueError(f"the separator must be one of , ; tab |, got {sep!r}")
    return sep


def _check_decimal(decimal: str) -> str:
    if decimal not in (".", ","):
        raise ValueError(f"the decimal mark must be . or , got {decimal!r}")
    return decimal


def _sample_lines(head: bytes, most: int = 20) -> list[str]:
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(head) == _SAMPLE and len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut
    return [line for line in lines if line.strip()][:most]


def _sniff_separator(head: bytes) -> str:
    """The separator among , ; TAB | that splits the first lines into the same number of fields > 1."""
    lines = _sample_lines(head)
    best, best_fields = ",", 1
    for sep in SEPARATORS:  # the lines hold no line break or NUL, and no field over csv's limit: no csv.Error
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        fields = min(counts) if counts else 1
        if len(counts) == 1 and fields > best_fields:
            best, best_fields = sep, fields
    return best


_DECIMAL_COMMA = re.compile(r"(^|;)\s*[+-]?\d+,\d+\s*(;|$)")


def _sniff_decimal(head: bytes, sep: str) -> str:
    """',' when the separator is ';' and a field is written like 3,5 (R's write.csv2, Excel in many locales)."""
    if sep != ";":
        return "."
    return "," if any(_DECIMAL_COMMA.search(line) for line in _sample_lines(head)[1:]) else "."


def detect_format(path) -> str:
    """'csv' or 'parquet', by content (Parquet's magic bytes), else by extension."""
    return _Source(path).fmt


# --- reading -------------------------------------------------------------------------------

# a number as CSV writes them: one pattern for pyarrow's RE2 (whole columns) and Python's re (one cell)
_NUMBER_RE2 = r"(?i)^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(inf|infinity|nan)\s*$"
_NUMBER = re.compile(_NUMBER_RE2, re.A)
_NUMBER_COMMA_RE2 = _NUMBER_RE2.replace(r"\.", ",")  # the same with a decimal comma (3,5), for pyarrow
_POINT_IN_A_COMMA_FILE = re.compile(r"\s*[+-]?[\d.]*\.[\d.]*(,\d*)?\s*")  # 1.500 or 1.500,25 where 3,5 is a number
_NEAR_NUMBER = (  # written like a number, but not one a reader can take as it is
    (re.compile(r"\s*[+-]?\d{1,3}([,' ]\d{3})+(\.\d*)?\s*"), "written with a thousands separator"),
    (re.compile(r"\s*[+-]?[$€£¥]\s*[+-]?[\d.,]+\s*|\s*[+-]?[\d.,]+\s*[$€£¥]\s*"), "written with a currency sign"),
    (re.compile(r"\s*[+-]?[\d.,]+\s*%\s*"), "written with a percent sign"),
    (re.compile(r"\s*[+-]?\d+,\d+\s*"), "written with a decimal comma (give --decimal ,)"),
)


def _is_number(text) -> bool:
    """A decimal number as CSV writes them (no hex, underscores or non-ASCII digits: those are typos)."""
    return isinstance(text, str) and _NUMBER.fullmatch(text) is not None


def _not_a_number(text, decimal: str = ".") -> str:
    """Why a cell is not a number, for a message: what it looks like, when it looks like a number."""
    if decimal == "," and isinstance(text, str) and _POINT_IN_A_COMMA_FILE.fullmatch(text):
        return (
            f"{_shown(text)} is not a number: the decimal mark of this file is a comma, so a point is a thousands "
            f"separator or a typo (give --decimal . if the decimal mark is a point)"
        )
    for pattern, why in _NEAR_NUMBER:
        if isinstance(text, str) and pattern.fullmatch(text):
            return f"{_shown(text)} is not a number: it is {why}"
    return f"{_shown(text)} is not a number"


def _where(src: _Source, row: int) -> str:
    """'row 7 (line 8)' for CSV (the header is line 1), 'row 7' for Parquet; row counts from 1."""
    return f"row {row} (line {_line_of_row(src, row)})" if src.fmt == "csv" else f"row {row}"


@contextlib.contextmanager
def _any_field_size() -> Iterator[None]:
    """Let Python's csv module read fields of any size (its default stops at 128 KB with csv.Error)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(limit)


def _line_of_row(src: _Source, row: int) -> int:
    """The file line where data row ``row`` starts, counting the blank lines that readers skip (a row
    whose quoted values span lines starts on the first of them)."""
    try:
        with _any_field_size(), src.text() as fh:
            reader = csv.reader(fh, delimiter=src.sep)
            next(reader, None)
            seen, before = 0, reader.line_num
            for fields in reader:
                if fields:
                    seen += 1
                    if seen == row:
                        return before + 1
                before = reader.line_num
    except OSError:
        pass
    return row + 1


def _kind(column, decimal: str = ".") -> tuple[str, int | None]:
    """What a column holds, decided from its values: ('number' | 'text' | 'date' | 'empty' | 'other', None),
    or ('typo', i): mostly numbers, with a value at index i that is not one (or is one written unreadably).
    With ``decimal=","`` numbers are written 3,5 and a point is what is written unreadably."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_null(t) or column.null_count == len(column):
        return "empty", None
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        return "number", None
    if pa.types.is_temporal(t):
        return "date", None
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return "other", None
    is_number = pc.match_substring_regex(column, _NUMBER_RE2 if decimal == "." else _NUMBER_COMMA_RE2)
    count, numbers = len(column) - column.null_count, int(pc.sum(is_number).as_py() or 0)
    if numbers == count:
        return "number", None
    near_re2 = _NEAR_NUMBER_RE2 if decimal == "." else _NEAR_NUMBER_COMMA_RE2
    near = int(pc.sum(pc.match_substring_regex(column, near_re2)).as_py() or 0)
    if numbers == 0 and near < count:
        return "text", None
    if 2 * (numbers + near) >= count:  # mostly numbers: the others are typos
        return "typo", int(pc.index(is_number, False).as_py())
    return "text", None  # mostly text: numbers among them are labels such as "40"


_NEAR_NUMBER_RE2 = (
    r"^\s*[+-]?(\d{1,3}([,' ]\d{3})+(\.\d*)?|[$€£¥]\s*[+-]?[\d.,]+|[\d.,]+\s*[$€£¥]|[\d.,]+\s*%|\d+,\d+)\s*$"
)
_NEAR_NUMBER_COMMA_RE2 = r"^\s*[+-]?(\d*\.[\d.]*(,\d*)?|[$€£¥]\s*[+-]?[\d.,]+|[\d.,]+\s*[$€£¥]|[\d.,]+\s*%)\s*$"
_KIND_WORDS = {
    "text": "text",
    "date": "date",
    "empty": "empty",
    "empty so far": "initially empty",  # a file read in chunks: empty in the first rows, which type its columns
    "other": "non-numeric",
}


def _check_header(path, names: list[str]) -> None:
    """Every column needs a name of its own (in time linear in the number of columns)."""
    for j, name in enumerate(names, start=1):
        if name == "":
            raise ValueError(f"{path}: column {j} has no name in the header; name every column")
    counts = Counter(names)
    for name in names:
        if counts[name] > 1:
            raise ValueError(
                f"{path}: column {_quote(name)} appears {counts[name]} times in the header; "
                f"give each column its own name"
            )


def _quote(name: str) -> str:
    """'name' for messages, with line breaks and other control characters escaped: a message stays one line."""
    return "'" + "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in name) + "'"


def _shown(value, most: int = 60) -> str:
    """A cell's value for a message: its repr, cut to ``most`` characters (a cell can hold megabytes)."""
    text = repr(value)
    return text if len(text) <= most else f"{text[: most - 5]}...{text[-1]} ({len(str(value)):,} characters)"


def _listing(names: list[str], most: int = 20) -> str:
    """The column names for a message: all of them, or the first ``most`` and how many there are."""
    shown = ", ".join(_quote(n)[1:-1] for n in names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names):,} columns)"


@dataclass
class _Choice:
    features: list[str]
    notes: list[str]
    left_out: list[str]


def _choose(
    src: _Source,
    names: list[str],
    kind: Callable[[str], tuple[str, int | None]],
    value: Callable[[str, int], Any],
    target,
    features,
    require_target,
) -> _Choice:
    """Check the header, the target and the features; default features: the numeric columns but the target.

    Whatever the default leaves out is named in a note; a numeric column with a typo is refused.
    """
    path = src.name
    notes: list[str] = []
    if src.fmt == "csv" and len(names) > 1 and names[0] == "":
        names = names[1:]  # row labels: not a feature, not checked as a name
        notes.append(
            "column 1 has no name: read as row labels (as R's write.csv and pandas' to_csv write "
            "them), not as a feature"
        )
    columns = _listing(names)
    _check_header(path, names)
    present = set(names)
    if target is not None and target not in present:
        raise ValueError(f"{path}: has no column {_quote(target)} for the target; its columns are: {columns}")
    if target is None and require_target:
        raise ValueError(f"{path}: name the target column (--target); its columns are: {columns}")
    left_out: dict[str, list[str]] = {}
    if features is None:
        features = []
        for name in names:
            if name == target:
                continue
            what, at = kind(name)
            if what == "number":
                features.append(name)
            elif what == "typo":
                assert at is not None
                why = _not_a_number(value(name, at), src.decimal)
                raise ValueError(f"{path}: column {_quote(name)}, {_where(src, at + 1)}: {why}")
            else:
                left_out.setdefault(_KIND_WORDS[what], []).append(name)
        if not features:
            raise ValueError(
                f"{path}: has no numeric column besides the target {_quote(target)}; its columns are: {columns}"
            )
        if left_out:
            parts = [
                f"{'the ' + word + ' column' if len(cols) == 1 else 'the ' + word + ' columns'} {_listing(cols)}"
                for word, cols in left_out.items()
            ]
            notes.append(
                f"left out {' and '.join(parts)}: features are numeric columns; --features names the columns to use"
            )
    else:
        features = list(features)
        missing = [f for f in features if f not in present]
        if missing:
            raise ValueError(
                f"{path}: has no column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}; its columns are: {columns}"
            )
        if target is not None and target in features:
            raise ValueError(f"{path}: column {_quote(target)} is the target and cannot also be a feature")
        counts = Counter(features)
        dupes = sorted(f for f, c in counts.items() if c > 1)
        if dupes:
            raise ValueError(f"{path}: feature column{'s' if len(dupes) > 1 else ''} {', '.join(dupes)} named twice")
    return _Choice(features, notes, [c for cols in left_out.values() for c in cols])


def _choose_from(
    columns, src: _Source, names: list[str], target, features, require_target, *, head: bool = False
) -> _Choice:
    """:func:`_choose` with the kinds and values of ``columns`` (a whole table, or, with ``head``, the
    first rows of a file read in chunks: a column empty there may hold numbers further on. Parquet says
    so in its schema; a CSV column empty in its first rows is left out with a note saying why)."""

    def kind(name: str) -> tuple[str, int | None]:
        import pyarrow as pa

        found = _kind(columns.column(name), src.decimal)
        if head and found[0] == "empty":
            t = columns.schema.field(name).type
            if src.fmt == "parquet" and (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
                return "number", None
            return "empty so far", None
        return found

    return _choose(
        src,
        names,
        kind,
        lambda n, i: columns.column(n)[i].as_py(),
        target,
        features,
        require_target,
    )


def _numbers(src: _Source, name: str, column, first_row: int, *, missing: str) -> np.ndarray:
    """A column as float64, NaN where a value is missing (``missing="drop"``); else a ValueError naming the row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    path, t = src.name, column.type
    if pa.types.is_null(t) and missing == "drop":
        return np.full(len(column), np.nan)
    if column.null_count and missing == "error":  # a column with no values at all says so at its first row
        row = first_row + int(pc.index(pc.is_null(column), True).as_py())
        raise ValueError(f"{path}: column {_quote(name)}, {_where(src, row)}: missing value (empty or NaN)")
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        is_number = pc.match_substring_regex(column, _NUMBER_RE2 if src.decimal == "." else _NUMBER_COMMA_RE2)
        bad = pc.and_(pc.invert(pc.fill_null(is_number, True)), pc.is_valid(column))
        if pc.any(bad).as_py():
            i = int(pc.index(bad, True).as_py())
            why = _not_a_number(column[i].as_py(), src.decimal)
            raise ValueError(f"{path}: column {_quote(name)}, {_where(src, first_row + i)}: {why}")
        values = np.array(
            [np.nan if v is None else float(v.replace(",", ".")) for v in column.to_pylist()], dtype=np.float64
        )
    elif pa.types.is_temporal(t):
        raise ValueError(
            f"{path}: column {_quote(name)} holds dates or times, not numbers; convert them to "
            f"numbers first (for example the year, or days since a start date)"
        )
    elif pa.types.is_binary(t) or pa.types.is_large_binary(t):
        raise ValueError(f"{path}: column {_quote(name)} holds bytes that are not UTF-8 text; save the file as UTF-8")
    else:
        raise ValueError(f"{path}: column {_quote(name)} holds {t} values, expected numbers")
    values = np.ascontiguousarray(values, dtype=np.float64)
    bad_rows = np.flatnonzero(np.isinf(values) if missing == "drop" else ~np.isfinite(values))
    if bad_rows.size:
        i = int(bad_rows[0])
        raise ValueError(
            f"{path}: column {_quote(name)}, {_where(src, first_row + i)}: {values[i]} is not a finite number"
        )
    return values


_TRUE_FALSE = {"1", "0", "true", "false", "True", "False", "TRUE", "FALSE"}  # what pyarrow reads as booleans


def _diagnose_csv(
    src: _Source, wanted: list[str] | None = None, booleans: frozenset[str] = frozenset(), from_row: int = 1
) -> str | None:
    """Scan a CSV line by line for the first ragged row, or non-number in a wanted column (a value other
    than true or false in one of ``booleans``: columns a file read in chunks typed from its first rows),
    from row ``from_row`` on (the rows before it are counted, not checked: another process's share)."""
    path = src.name
    with _any_field_size(), src.text() as fh:
        reader = csv.reader(fh, delimiter=src.sep)
        header = next(reader, None)
        if header is None:
            return f"{path}: is empty, expected a header line and rows"
        position = {name: j for j, name in reversed(list(enumerate(header)))}  # the first of twins
        index = [position[w] for w in (wanted or []) if w in position]
        row_number, before = 0, reader.line_num
        for row in reader:
            start, before = before + 1, reader.line_num  # the line the row starts on
            if not row:
                continue
            row_number += 1
            if row_number < from_row:
                continue
            where = f"row {row_number} (line {start})"
            if len(row) != len(header):
                return f"{path}: {where} has {len(row)} fields, expected {len(header)} like the header"
            for j in index:
                value = row[j]
                if value in NA_TOKENS:
                    continue
                if header[j] in booleans:
                    if value not in _TRUE_FALSE:
                        return (
                            f"{path}: column {_quote(header[j])}, {where}: {_shown(value)} is not true or false, "
                            f"as the column's first values are"
                        )
                    continue
                if src.decimal == ",":  # 3,5 is a number; 3.5 is not
                    value = "." if "." in value else value.replace(",", ".", 1)
                if not _is_number(value):
                    return f"{path}: column {_quote(header[j])}, {where}: {_not_a_number(row[j], src.decimal)}"
    return None


def _diagnosis(
    src: _Source,
    wanted: list[str] | None = None,
    booleans: frozenset[str] = frozenset(),
    from_row: Callable[[], int] | None = None,
) -> str | None:
    """:func:`_diagnose_csv` (from the row ``from_row()`` says), or None when the file cannot be read
    again (a truncated compressed stream, a file gone)."""
    try:
        return _diagnose_csv(src, wanted, booleans, from_row() if from_row else 1)
    except OSError:
        return None


def _csv_options(src: _Source, *, newlines: bool = False, **convert):
    """pyarrow's options for ``src``; ``newlines=True`` lets quoted values span lines (slower in threads,
    so taken only when a read without it fails)."""
    import pyarrow.csv as pcsv

    return dict(
        parse_options=pcsv.ParseOptions(delimiter=src.sep, newlines_in_values=newlines),
        convert_options=pcsv.ConvertOptions(
            decimal_point=src.decimal, null_values=list(NA_TOKENS), strings_can_be_null=True, **convert
        ),
    )


def _read_arrow(src: _Source):
    import pyarrow as pa

    try:
        if src.fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(src.arrow())
            _check_header(src.name, [str(n) for n in pf.schema_arrow.names])  # pyarrow fails on twins
            return pf.read()
        import pyarrow.csv as pcsv

        try:
            return pcsv.read_csv(src.arrow(), **_csv_options(src))
        except pa.ArrowInvalid:  # perhaps a quoted value spanning lines across pyarrow's blocks: read again
            return pcsv.read_csv(src.arrow(), **_csv_options(src, newlines=True))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        found = _diagnosis(src) if src.fmt == "csv" else None
        raise ValueError(found or f"{src.name}: cannot be read as {src.fmt.upper()} ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    """A library's error text for a message: one line, control characters escaped (pyarrow's Parquet
    errors span several lines and may quote the bad byte)."""
    return _quote("; ".join(line.strip() for line in str(exc).splitlines() if line.strip()))[1:-1]


def _check_missing(missing: str) -> None:
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {', '.join(MISSING)}, got {missing!r}")


def _dropped_note(rows: list[int], count: int, total: int) -> str:
    shown = ", ".join(str(r) for r in rows[:_DROPPED_SHOWN]) + (", ..." if count > _DROPPED_SHOWN else "")
    return (
        f"dropped {count:,} of {total:,} rows with missing values in the columns in use "
        f"(row{'s' if count > 1 else ''} {shown})"
    )


def read_table(
    path,
    *,
    target: str | None = None,
    features: list[str] | None = None,
    require_target: bool = True,
    labels: bool = False,
    missing: str = "error",
    sep: str | None = None,
    decimal: str | None = None,
    levels: dict[str, list[str]] | None = None,
    formula: str | None = None,
    _one_class: bool = False,  # a file of several read as one table may hold a single class
) -> Table:
    """Read a CSV or Parquet file (or ``-``, standard input) into float64 arrays, validating every value.

    Features default to every numeric column but the target; what that leaves out is named in
    ``Table.notes``. With ``require_target=False`` and no ``target`` (prediction), only the
    features are read. With ``labels=True`` the target holds class labels (whole numbers or
    text), returned as int64 codes. ``missing="drop"`` drops the rows with a missing value in a
    column in use (and says so in a note) instead of refusing the file. ``sep`` (one of
    ``, ; tab |``) and ``decimal`` (``.`` or ``,``) override what is read off the file.

    A text column named in ``features`` is treatment-coded as R's ``lm`` does: its levels sorted, the
    first the reference, one 0/1 column ``name[T.level]`` for each other level (``Table.coding``
    keeps the levels). ``levels`` gives the levels instead (a fitted model's): a value outside
    them is refused with its row.

    ``formula`` (``"price ~ area + C(city) + np.log(age) + area:rooms"``) names the target and the
    columns in place of ``target`` and ``features``; formulaic builds the design from the columns
    read by these rules (categories keep their levels), and ``feature_names`` are its terms.
    """
    _check_missing(missing)
    options = dict(require_target=require_target, labels=labels, missing=missing, sep=sep, decimal=decimal)
    files = _files(path)
    if files is not None:
        return _read_files(os.fspath(path), files, target, features, levels, formula, options)
    parsed = None
    if formula is not None:
        if target is not None or features is not None:
            raise ValueError("give a formula, or a target and features, not both")
        parsed, target, features = _parse_formula(formula, require_target)
    src = _Source(path, sep=sep, decimal=decimal)
    path = src.name
    table = _read_arrow(src)
    names = [str(n) for n in table.column_names]
    if table.num_rows == 0:
        raise ValueError(f"{path}: has a header but no rows")
    choice = _choose_from(table, src, names, target, features, require_target)
    chosen = choice.features
    numeric = chosen + ([target] if target and not labels else [])
    import pyarrow as pa

    # pyarrow reads 0x5 as the integer 5: a typo here. Only integer columns can hide one, and read as
    # decimal numbers (float64) they refuse it: those columns alone are parsed again, in pyarrow
    integers = [n for n in numeric if pa.types.is_integer(table.column(n).type)]
    if src.fmt == "csv" and integers:
        import pyarrow.csv as pcsv

        try:
            pcsv.read_csv(
                src.arrow(),
                **_csv_options(src, include_columns=integers, column_types=dict.fromkeys(integers, pa.float64())),
            )
        except pa.ArrowInvalid:
            found = _diagnosis(src, numeric)
            if found:
                raise ValueError(found) from None
    n = table.num_rows
    # a fitted model's levels code exactly its categories; otherwise a named text column is one
    coding = {k: list(v) for k, v in (levels or {}).items() if k in chosen}
    categories = [
        name
        for name in chosen
        if name in coding
        or (levels is None and features is not None and _kind(table.column(name), src.decimal)[0] == "text")
    ]
    numbers = {
        name: _numbers(src, name, table.column(name), 1, missing=missing) for name in chosen if name not in categories
    }
    y: np.ndarray | None = None
    label_values: list[Any] | None = None
    if target is not None and labels:
        label_values = table.column(target).to_pylist()
    elif target is not None:
        y = _numbers(src, target, table.column(target), 1, missing=missing)
    incomplete = np.zeros(n, dtype=bool)
    for name in categories:
        incomplete |= _gaps(src, name, table.column(name), missing=missing)
    for values in numbers.values():
        incomplete |= np.isnan(values)
    if y is not None:
        incomplete |= np.isnan(y)
    if label_values is not None:
        incomplete |= np.array([v is None or v == "" or (isinstance(v, float) and v != v) for v in label_values])
    notes = list(choice.notes)
    dropped: list[int] = []
    keep = np.ones(n, dtype=bool)
    if missing == "drop" and incomplete.any():
        dropped = (np.flatnonzero(incomplete) + 1).tolist()
        if len(dropped) == n:
            raise ValueError(
                f"{path}: every row has a missing value in the columns in use "
                f"({_listing(numeric + ([target] if labels and target else []))}); no row is left"
            )
        keep = ~incomplete
        y = None if y is None else y[keep]
        if label_values is not None:
            label_values = [label_values[i] for i in np.flatnonzero(keep)]
        notes.append(_dropped_note(dropped, len(dropped), n))
    blocks = []
    kept_text: dict[str, list] = {}
    for name in chosen:
        if name in categories:
            kept = [v for v, k in zip(table.column(name).to_pylist(), keep, strict=True) if k]
            coding[name] = coding.get(name) or _levels(src, name, kept)  # the levels of the rows kept
            blocks.append(_dummies(src, name, kept, coding[name], keep))
            kept_text[name] = kept
        else:
            blocks.append(numbers[name][keep][:, None])
    X = np.hstack(blocks) if blocks else np.empty((int(keep.sum()), 0))
    design = coded_features(chosen, coding)
    if parsed is not None:
        frame = {name: numbers[name][keep] for name in chosen if name in numbers}
        frame.update({name: _categorical(kept_text[name], coding[name]) for name in kept_text})
        if y is not None and target is not None:
            frame[target] = y
        X, y, design, intercept = _apply_formula(src, formula or "", parsed, frame, y is not None)
        return Table(
            path,
            X,
            y,
            design,
            str(parsed.lhs) if y is not None else None,
            None,
            notes,
            choice.left_out,
            dropped,
            coding,
            chosen,
            formula,
            intercept,
            names,
        )
    classes = None
    if label_values is not None:
        y, classes = encode_labels(
            label_values, where=f"{path}: column {_quote(target or '')}", least=1 if _one_class else 2
        )
    return Table(path, X, y, design, target, classes, notes, choice.left_out, dropped, coding, chosen, header=names)


_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def _files(path) -> list[str] | None:
    """The files a folder or a glob pattern names, sorted; None for one file (or standard input)."""
    import glob

    name = os.fspath(path)
    if name == "-" or os.path.isfile(name) or not (os.path.isdir(name) or any(c in name for c in "*?[")):
        return None  # a file is itself, even named like a pattern (sales[2024].csv)
    if os.path.isdir(name):
        found = [f for f in glob.glob(os.path.join(name, "*")) if os.path.isfile(f) and _is_table_name(f)]
        where = "in this folder"
    else:
        found = [f for f in glob.glob(name) if os.path.isfile(f)]
        where = "match this pattern"
    if not found:
        raise ValueError(f"{name}: no CSV or Parquet files {where}")
    return sorted(found)


def _is_table_name(name: str) -> bool:
    stem = name.lower()
    for suffix in _COMPRESSION:
        stem = stem.removesuffix(suffix)
    return stem.endswith(_TABLE_SUFFIXES)


def _read_files(path: str, files: list[str], target, features, levels, formula, options: dict) -> Table:
    """Several files with the same columns as one table: each read by the rules of :func:`read_table`
    with the first file's columns, categories coded with the levels of all the files; errors name the file."""
    src = _Source(files[0], sep=options["sep"], decimal=options["decimal"])
    first_arrow = _read_arrow(src)
    names = [str(n) for n in first_arrow.column_names]
    defaults: list[str] = []
    left_out: list[str] = []
    if formula is None:
        choice = _choose_from(first_arrow, src, names, target, features, options["require_target"])
        candidates = choice.features if features is not None else []  # default features are numbers only
        defaults, left_out, features = choice.notes, choice.left_out, choice.features
    else:
        candidates = [c for c in _parse_formula(formula, options["require_target"])[2] if c in names]
    text = [c for c in candidates if _kind(first_arrow.column(c), src.decimal)[0] == "text"]
    if levels is None and text:  # the levels of every file, so that all are coded alike
        seen: dict[str, set] = {column: set() for column in text}
        for name in files:
            table = _read_arrow(_Source(name, sep=options["sep"], decimal=options["decimal"]))
            for column in text:
                if column in table.column_names:
                    seen[column].update(str(v) for v in table.column(column).to_pylist() if v is not None)
        levels = {column: sorted(values) for column, values in seen.items()}
    tables: list[Table] = []
    for name in files:
        table = read_table(
            name, target=target, features=features, levels=levels, formula=formula, _one_class=True, **options
        )
        if tables and table.header != tables[0].header:
            raise ValueError(
                f"{name}: its columns ({_listing(table.header)}) differ from those of {files[0]} "
                f"({_listing(tables[0].header)}); files read as one table need the same columns"
            )
        tables.append(table)
    first = tables[0]
    y, classes = None, None
    if first.classes is not None:  # class labels: one coding for all the files
        values = [t.classes[c] for t in tables if t.classes and t.target is not None for c in t.target.tolist()]
        y, classes = encode_labels(values, where=f"{path}: column {_quote(first.target_name or '')}")
    elif first.target is not None:
        y = np.concatenate([t.target for t in tables if t.target is not None])
    notes = list(defaults)  # what the default features leave out, said once
    notes += [
        f"{name}: {n}" for name, t in zip(files, tables, strict=True) for n in t.notes if n.startswith("dropped ")
    ]
    notes.append(f"read {len(files)} files as one table: {_listing([os.path.basename(f) for f in files], 5)}")
    return Table(
        path,
        np.vstack([t.features for t in tables]),
        y,
        first.feature_names,
        first.target_name,
        classes,
        notes,
        left_out,
        [],
        first.coding,
        first.columns,
        first.formula,
        first.intercept,
        first.header,
    )


_LEARNING_TRANSFORMS = re.compile(r"\b(center|scale|standardize|bs|cr|cs|cc|poly|hashed|lag)\s*\(")
# what a formula's terms may call by name: formulaic's transforms that learn nothing, and its contrasts
_FORMULA_CALLS = frozenset(
    {"C", "I", "Q", "log", "log2", "log10", "exp", "exp2", "exp10", "Treatment", "Sum", "Helmert", "Diff", "Poly"}
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
                    shown = ast.unparse(node)
                    raise ValueError(
                        f"the formula {formula!r} uses {shown if len(shown) <= 40 else shown[:36] + '...'}, which "
                        f"a formula cannot: its terms may call C, I, Q, log, exp, NumPy's elementwise functions "
                        f"(np.log, np.sqrt, ...) and contrasts, on columns and numbers"
                    )


def _parse_formula(formula: str, require_target: bool):
    """The parsed formula, its target column and the columns its right-hand side reads."""
    learning = _LEARNING_TRANSFORMS.search(formula)
    if learning:  # their state (a mean, knots) would have to be kept in the model file for predict
        raise ValueError(
            f"the formula {formula!r} uses a transform that learns from the data ({learning.group(1)}), "
            f"which a model file cannot keep yet; transform the column before fitting"
        )
    try:
        from formulaic import Formula

        parsed = Formula(formula)
    except Exception as exc:  # formulaic's syntax errors have several types
        raise ValueError(f"the formula {formula!r} cannot be read: {str(exc).splitlines()[0]}") from None
    _check_formula_code(formula, parsed)
    from formulaic import SimpleFormula

    sides = [parsed.lhs, parsed.rhs] if hasattr(parsed, "lhs") else [parsed]
    if not all(isinstance(side, SimpleFormula) for side in sides):  # y ~ x | z: several designs
        raise ValueError(
            f"the formula {formula!r} has parts separated by |; write a single formula such as 'y ~ x + a'"
        )
    if not hasattr(parsed, "lhs"):
        if require_target:
            raise ValueError(f"the formula {formula!r} has no target: write it as target ~ terms")
        rhs = parsed
        return parsed, None, sorted(rhs.required_variables)
    if not require_target:  # predicting: the right-hand side alone
        return parsed, None, sorted(parsed.rhs.required_variables)
    lhs = sorted(parsed.lhs.required_variables)
    if len(lhs) != 1:
        raise ValueError(f"the formula {formula!r} must have one column on the left of ~, got {len(lhs)}")
    return parsed, str(lhs[0]), sorted(parsed.rhs.required_variables)


def _categorical(values: list, levels: list[str]):
    import pandas as pd

    return pd.Categorical([None if v is None else str(v) for v in values], categories=levels)


def _apply_formula(src: _Source, formula: str, parsed, frame: dict, with_target: bool):
    """(X, y, term names, intercept) of a formula on the columns read: formulaic builds the design."""
    import pandas as pd
    from formulaic import model_matrix

    data = pd.DataFrame(frame)
    try:
        with np.errstate(all="ignore"):  # log(0) and the like: named below as terms that are not finite
            if with_target:
                matrices = model_matrix(parsed, data, na_action="raise")
                rhs, y = matrices.rhs, np.asarray(matrices.lhs.iloc[:, 0], dtype=np.float64)
            else:
                rhs = model_matrix(parsed.rhs if hasattr(parsed, "rhs") else parsed, data, na_action="raise")
                y = None
    except Exception as exc:  # formulaic reports what it cannot evaluate in several types
        raise ValueError(f"{src.name}: the formula {formula!r} cannot be applied: {str(exc).splitlines()[0]}") from None
    names = [str(c) for c in rhs.columns]
    intercept = "Intercept" in names
    keep = [j for j, n in enumerate(names) if n != "Intercept"]
    X = np.ascontiguousarray(np.asarray(rhs, dtype=np.float64)[:, keep])
    if y is not None and not np.isfinite(y).all():
        raise ValueError(f"{src.name}: the formula's target {str(parsed.lhs)!r} is not finite in every row")
    if not np.isfinite(X).all():
        j = int(np.flatnonzero(~np.isfinite(X).all(axis=0))[0])
        raise ValueError(f"{src.name}: the formula's term {names[keep[j]]!r} is not finite in every row")
    return X, y, [names[j] for j in keep], intercept


def _levels(src: _Source, name: str, values: list) -> list[str]:
    """The levels of a text column (the rows kept), sorted as R sorts a factor's; at least two."""
    levels = sorted({str(v) for v in values if v is not None})
    if len(levels) < 2:
        raise ValueError(
            f"{src.name}: column {_quote(name)} holds the single value {_shown(levels[0] if levels else '')}"
            f": a category with one level cannot be a feature"
        )
    return levels


def _gaps(src: _Source, name: str, column, *, missing: str) -> np.ndarray:
    """Where a text column has no value: refused with the first row, or a mask for ``missing="drop"``."""
    import pyarrow.compute as pc

    if column.null_count and missing == "error":
        row = 1 + int(pc.index(pc.is_null(column), True).as_py())
        raise ValueError(f"{src.name}: column {_quote(name)}, {_where(src, row)}: missing value (empty or NaN)")
    return np.asarray(pc.is_null(column).to_numpy(zero_copy_only=False), dtype=bool)


def _dummies(src: _Source, name: str, values: list, levels: list[str], keep: np.ndarray) -> np.ndarray:
    """Treatment coding of the kept rows' values: a 0/1 column for each level but the first (the reference)."""
    index = {level: k for k, level in enumerate(levels)}
    rows = np.flatnonzero(keep) + 1  # each value's row in the file, for messages
    out = np.zeros((len(values), len(levels) - 1))
    for i, value in enumerate(values):
        k = index.get(str(value))
        if k is None:
            raise ValueError(
                f"{src.name}: column {_quote(name)}, {_where(src, int(rows[i]))}: {_shown(value)} is not one of the "
                f"levels the model knows ({_listing(levels)})"
            )
        if k:
            out[i, k - 1] = 1.0
    return out


@dataclass
class _Part:
    """The rows of one file that a pass reads: a CSV's bytes ``start`` to ``end`` (``start`` 0: the whole
    file, its header included; ``end`` None: to the end of the file), or a Parquet file's row ``groups``."""

    src: _Source
    size: int | None  # bytes, for progress (None where unknown: standard input, a compressed CSV)
    first_row: int | None = 1  # the file's number of the part's first row; None until a message needs it
    start: int = 0
    end: int | None = None
    header_end: int = 0  # CSV: where the rows start, one past the header
    groups: list[int] = field(default_factory=list)  # Parquet: the row groups read (those with rows)
    group_rows: list[int] = field(default_factory=list)  # Parquet: the rows of each
    weights: list[int] = field(default_factory=list)  # bytes to share out (CSV: one; Parquet: one a group)
    block: int = 0  # CSV: bytes a piece, found when the part is first read
    index: list | None = None  # CSV: the pieces a pass in order found, to read again one by one


class _Pieces:
    """Where a part's chunks come from: in file order, and once a pass has indexed them, one by one.

    ``in_order()`` yields ``(first_row, arrow_table)``, rows counted from 1 at the part's first row;
    ``index`` is the list of pieces a pass in order has found (None while unknown, or where the file
    cannot be read out of order) and ``read(i)`` yields piece ``i``'s rows the same way. ``done`` is how
    many bytes of the part's ``size`` (None where not known) the pass in order has read up to the piece
    it yielded last.
    """

    index: list | None = None
    done: int = 0
    size: int | None = None

    def in_order(self) -> Iterator[tuple[int, Any]]:  # pragma: no cover - an interface
        raise NotImplementedError

    def read(self, i: int) -> Iterator[tuple[int, Any]]:  # pragma: no cover - an interface
        raise NotImplementedError


class _ParquetPieces(_Pieces):
    """A part's row groups, read in slices of ``chunk_rows``: in order, or a row group at a time out of order."""

    def __init__(self, part: _Part, columns: list[str], chunk_rows: int):
        import pyarrow.parquet as pq

        # pre_buffer=False: pyarrow would otherwise buffer every row group of the file up front
        self.pf = pq.ParquetFile(part.src.arrow(), pre_buffer=False, buffer_size=1 << 20)
        self.groups, self.columns, self.chunk_rows, self.size = part.groups, columns, chunk_rows, part.size
        firsts = np.cumsum([0, *part.group_rows])
        self.rows = int(firsts[-1])
        self.index = [(int(firsts[i]) + 1, group) for i, group in enumerate(part.groups)]

    def in_order(self) -> Iterator[tuple[int, Any]]:
        row, rows = 1, max(self.rows, 1)
        for batch in self.pf.iter_batches(batch_size=self.chunk_rows, row_groups=self.groups, columns=self.columns):
            self.done = (self.size or 0) * (row - 1 + batch.num_rows) // rows  # in proportion to the rows
            yield row, batch
            row += batch.num_rows

    def read(self, i: int) -> Iterator[tuple[int, Any]]:
        assert self.index is not None
        row, group = self.index[i]
        for batch in self.pf.iter_batches(batch_size=self.chunk_rows, row_groups=[group], columns=self.columns):
            yield row, batch
            row += batch.num_rows


class _CsvPieces(_Pieces):
    """A CSV's rows (bytes ``start`` to ``end`` of the file: all of it by default) cut into pieces of
    about ``block`` bytes at line ends outside quoted fields, each parsed by pyarrow on its own.

    pyarrow's streaming CSV reader reads ahead of its consumer without bound (about the whole
    file at disk speed); cutting the pieces here keeps one piece in memory, and lets a pass
    in order remember where each piece lies, so that training can visit them in any order.
    """

    def __init__(
        self,
        src: _Source,
        names: list[str],
        wanted: list[str],
        types: dict,
        block: int,
        start: int = 0,
        end: int | None = None,
    ):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        self.src, self.block, self.start, self.end = src, block, start, end
        self.read_options = pcsv.ReadOptions(column_names=names)  # the header is cut off the first piece
        self.options = _csv_options(src, include_columns=wanted, column_types=types)
        self.seekable = src.size() is not None  # a plain file: pieces can be read again by offset
        self._sep = src.sep.encode()
        self.booleans = frozenset(name for name, t in types.items() if pa.types.is_boolean(t))
        size = src.size()
        self.size = None if size is None else (size if end is None else end) - start

    def _parse(self, data: bytes | memoryview):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        try:
            return pcsv.read_csv(pa.py_buffer(data), read_options=self.read_options, **self.options)
        except pa.ArrowInvalid:  # perhaps a quoted value spanning lines across pyarrow's blocks: read again
            options = {
                **self.options,
                "parse_options": pcsv.ParseOptions(delimiter=self.src.sep, newlines_in_values=True),
            }
            return pcsv.read_csv(pa.py_buffer(data), read_options=self.read_options, **options)

    def in_order(self) -> Iterator[tuple[int, Any]]:
        index, row, offset = [], 1, self.start
        whole = self.start == 0 and self.end is None
        with self.src.binary() if whole else _Range(self.src.name, self.start, self.end) as fh:
            for data in _line_pieces(fh, self.block, self.src.eol, self._sep, last=self.end is None):
                if offset == 0:  # the header record leads the first piece
                    start = min(_header_end(data.obj, self.src.eol, self._sep), len(data))  # the view's buffer
                    data, offset = data[start:], start
                if not _blank(data):
                    table = self._parse(data)
                    if table.num_rows:
                        index.append((row, offset, len(data)))
                        self.done = offset + len(data) - self.start
                        yield row, table
                        row += table.num_rows
                offset += len(data)
        if self.seekable:
            self.index = index

    def read(self, i: int) -> Iterator[tuple[int, Any]]:
        assert self.index is not None
        first, offset, length = self.index[i]
        with open(self.src.name, "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        yield first, self._parse(data)


class _RunsOn(Exception):
    """A CSV's byte range ends inside a quoted value (its bytes after the last record end)."""


class _Range(io.RawIOBase):
    """Bytes ``start`` to ``end`` (None: to the end) of a file, as a stream."""

    def __init__(self, name: str, start: int, end: int | None = None):
        self._fh = open(name, "rb")
        self._fh.seek(start)
        self._left = (os.path.getsize(name) if end is None else end) - start

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        got = self._fh.readinto(memoryview(buffer)[: max(0, min(len(buffer), self._left))])
        self._left -= got
        return got

    def close(self) -> None:
        self._fh.close()
        super().close()


class _Parts:
    """The pieces of a pass over the parts of one or more files, in file order, or, once a pass has
    listed them, one by one (every file's pieces pooled). One file is open at a time.

    ``in_order()`` and ``read(i)`` yield ``(part, first_row, arrow_table)``, ``first_row`` counted
    from 1 at the part's first row; ``current`` is the part being read (for messages), ``done`` the
    bytes of ``size`` (the parts' bytes, None where unknown) the pass in order has read.
    """

    def __init__(self, parts: list[_Part], *, names: list[str], wanted: list[str], types: dict, chunk_rows: int):
        import pyarrow as pa

        self.parts, self.names, self.wanted, self.types, self.chunk_rows = parts, names, wanted, types, chunk_rows
        self.booleans = frozenset(name for name, t in types.items() if pa.types.is_boolean(t))
        self.current: _Part | None = parts[0] if parts else None
        self.done = 0
        sizes = [part.size for part in parts]
        self.size: int | None = None if None in sizes else sum(s for s in sizes if s is not None)
        self.index: list[tuple[int, int]] | None = None
        if all(part.src.fmt == "parquet" for part in parts):  # their row groups are known beforehand
            self.index = [(k, j) for k, part in enumerate(parts) for j in range(len(part.groups))]
        self._open: tuple[int, _Pieces] | None = None

    def _pieces(self, k: int) -> _Pieces:
        if self._open is None or self._open[0] != k:
            self._open = None  # the file open before is closed first
            part = self.parts[k]
            pieces: _Pieces
            if part.src.fmt == "parquet":
                pieces = _ParquetPieces(part, self.wanted, self.chunk_rows)
            else:
                part.block = part.block or _block(part.src, self.chunk_rows)
                pieces = _CsvPieces(part.src, self.names, self.wanted, self.types, part.block, part.start, part.end)
                pieces.index = part.index
            self._open = (k, pieces)
        return self._open[1]

    def in_order(self) -> Iterator[tuple[_Part, int, Any]]:
        index: list[tuple[int, int]] | None = []
        done = 0
        for k, part in enumerate(self.parts):
            self.current = part
            pieces = self._pieces(k)
            row = 1
            try:
                for row, table in pieces.in_order():
                    self.done = done + pieces.done
                    yield part, row, table
                    row += table.num_rows
            except _RunsOn:
                raise ValueError(
                    f"{part.src.name}: {_where(part.src, self.first_row(part) + row - 1)}: a quoted value "
                    f"spanning lines runs past the line end where the next process's share of the file starts; "
                    f"values spanning lines are not split between processes: read this file in one process"
                ) from None
            part.index = pieces.index
            if index is not None and pieces.index is not None:
                index += [(k, j) for j in range(len(pieces.index))]
            else:
                index = None
            done += pieces.done if part.size is None else part.size
            self.done = done
        self.index = index
        self._open = None

    def read(self, i: int) -> Iterator[tuple[_Part, int, Any]]:
        assert self.index is not None
        k, j = self.index[i]
        part = self.current = self.parts[k]
        for row, table in self._pieces(k).read(j):
            yield part, row, table

    def first_row(self, part: _Part) -> int:
        """The file's number of the part's first row, counted the first time a message needs it."""
        if part.first_row is None:
            part.first_row = 1 + _rows_before(part.src, part.header_end, part.start, self.names, self.wanted[0])
        return part.first_row

    def file_row(self, part: _Part, row: int) -> int:
        """The file's number of the part's row ``row`` (counted from 1 at the part's first row)."""
        return self.first_row(part) + row - 1


def _block(src: _Source, chunk_rows: int) -> int:
    """Bytes a CSV piece, for pieces of about ``chunk_rows`` rows."""
    size = src.size()
    row_bytes = max(8, size // max(1, _count_guess(src))) if size else 100
    return int(min(max(chunk_rows * row_bytes, 1 << 12), 1 << 30))


def _rows_before(src: _Source, header_end: int, offset: int, names: list[str], column: str) -> int:
    """The rows of a CSV between its header and byte ``offset`` (where a record starts), as a reader of
    the whole file numbers them: read only when a message or a note names a row past ``offset``."""
    import pyarrow as pa

    pieces = _CsvPieces(src, names, [column], {column: pa.string()}, 1 << 24, header_end, offset)
    try:
        return sum(table.num_rows for _, table in pieces.in_order())
    except (pa.ArrowInvalid, _RunsOn):  # a row pyarrow refuses (another share's to name): counted as the scan does
        with (
            _any_field_size(),
            io.TextIOWrapper(
                io.BufferedReader(_Range(src.name, 0, offset)), encoding="utf-8", errors="replace", newline=""
            ) as fh,
        ):
            reader = csv.reader(fh, delimiter=src.sep)
            next(reader, None)
            return sum(1 for fields in reader if fields)


def _line_start(src: _Source, offset: int) -> int:
    """Where the rows of a CSV are cut between two processes' shares at byte ``offset``: the start of the
    next line, one past the first line end at byte ``offset - 1`` or later (``offset`` itself when a line
    ends just before it), or the end of the file. Both neighbours find the same cut from the same bytes."""
    with open(src.name, "rb") as fh:
        at = offset - 1
        fh.seek(at)
        while block := fh.read(_SAMPLE):
            end = block.find(src.eol)
            if end >= 0:
                return at + end + 1
            at += len(block)
    return at


def _check_share(share) -> tuple[int, int]:
    """``(rank, size)`` of a share (None: the whole table, one process)."""
    if share is None:
        return 0, 1
    import operator

    try:
        rank, size = (operator.index(v) for v in share)
    except (TypeError, ValueError):
        raise TypeError(f"share must be (rank, size), two whole numbers, got {share!r}") from None
    if not 0 <= rank < size:
        raise ValueError(f"share must be (rank, size) with 0 <= rank < size, got ({rank}, {size})")
    return rank, size


def _csv_header(src: _Source) -> tuple[list[str], int, bool]:
    """A CSV's column names, where its rows start (one past the header record) and whether it has one."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    data, sep = b"", src.sep.encode()
    with src.binary() as fh:
        while True:
            block = fh.read(_SAMPLE)
            data += block
            end = _header_end(data, src.eol, sep)
            rows = not _blank(memoryview(data)[end:])
            if rows or not block:
                break
    return [str(n) for n in pcsv.read_csv(pa.py_buffer(data[:end]), **_csv_options(src)).column_names], end, rows


def _whole_file(src: _Source, *, weigh: bool = False) -> tuple[list[str], _Part]:
    """A file's column names and the part that is all its rows (with their bytes, to share out, when
    ``weigh``); a file with a header and no rows is refused."""
    import pyarrow as pa

    try:
        if src.fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(src.arrow(), pre_buffer=False)
            names, meta = [str(n) for n in pf.schema_arrow.names], pf.metadata
            groups = [g for g in range(meta.num_row_groups) if meta.row_group(g).num_rows]
            weights = [
                sum(meta.row_group(g).column(c).total_compressed_size for c in range(meta.num_columns))
                for g in (groups if weigh else [])
            ]
            part = _Part(src, src.size(), groups=groups, group_rows=[meta.row_group(g).num_rows for g in groups])
            part.weights, rows = weights, bool(groups)
        else:
            names, start, rows = _csv_header(src)
            part = _Part(src, src.size(), header_end=start, weights=[(src.size() or 0) - start])
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"{src.name}: cannot be read as {src.fmt.upper()} ({_reason(exc)})") from None
    if not rows:
        raise ValueError(f"{src.name}: has a header but no rows")
    return names, part


def _shares(files: list[_Part], rank: int, size: int) -> list[_Part]:
    """The parts of ``files`` that share ``rank`` of ``size`` reads: its bytes of them all, ``total * rank //
    size`` to ``total * (rank + 1) // size`` in file order, a CSV cut where a line starts (:func:`_line_start`),
    a Parquet file by whole row groups (those whose middle byte falls in the share). The shares in rank
    order are the files in order, each row in one share."""
    total = sum(sum(part.weights) for part in files)
    low, high = total * rank // size, total * (rank + 1) // size
    parts: list[_Part] = []
    at = 0  # the bytes of the files before this one
    for whole in files:
        src = whole.src
        if src.fmt == "parquet":
            kept, before, first = [], 0, None
            for group, rows, weight in zip(whole.groups, whole.group_rows, whole.weights, strict=True):
                if 2 * low <= 2 * at + weight < 2 * high:
                    first = before + 1 if first is None else first
                    kept.append((group, rows, weight))
                at, before = at + weight, before + rows
            if kept:
                groups, rows_, weights = (list(column) for column in zip(*kept, strict=True))
                parts.append(_Part(src, sum(weights), first, groups=groups, group_rows=rows_))
            continue
        start, end, file_size = _csv_cut(whole, at, low), _csv_cut(whole, at, high), whole.size or 0
        if start < end:
            first_row = 1 if start == whole.header_end else None
            parts.append(_Part(src, end - start, first_row, start, end if end < file_size else None, whole.header_end))
        at += whole.weights[0]
    return parts


def _csv_cut(whole: _Part, at: int, b: int) -> int:
    """Where share boundary ``b`` (bytes of all the files) falls in a CSV whose rows are bytes ``at`` on."""
    if b <= at:
        return whole.header_end
    if b >= at + whole.weights[0]:
        return whole.size or 0
    return _line_start(whole.src, whole.header_end + b - at)


def _quotes(data, start: int, end: int, sep: bytes, *, at_start: bool = True) -> int:
    """The double quotes in ``data[start:end]`` that open or close a quoted field: after a separator or
    a line end (or at ``start``, when it starts a record), or before a separator or a line end. A quote
    inside unquoted text (5" pipe) is text, as pyarrow reads it, and does not count."""
    if data.find(b'"', start, end) < 0:  # memchr: most pieces have none
        return 0
    count = int(at_start and data[start] == 0x22)
    for mark in (sep, b"\n", b"\r"):
        count += data.count(mark + b'"', start, end) + data.count(b'"' + mark, start, end)
    return count


def _cut(data, size: int | None = None, eol: bytes = b"\n", sep: bytes = b",") -> int:
    """The end of the last whole CSV record in ``data[:size]`` (which starts a record): one past the
    last line end (``eol``) outside quoted fields, or 0 when there is none."""
    size = len(data) if size is None else size
    quotes = _quotes(data, 0, size, sep)
    end = data.rfind(eol, 0, size)
    while end >= 0:
        if quotes == 0 or (quotes - _quotes(data, end, size, sep, at_start=False)) % 2 == 0:  # even: outside
            return end + 1
        end = data.rfind(eol, 0, end)
    return 0


def _blank(data) -> bool:
    """Whether a piece of a CSV holds nothing but line ends (a line of spaces is a row, as the
    whole-file reader takes it: a row of too few fields)."""
    return not bytes(data[:64]).strip(b"\r\n") and not bytes(data).strip(b"\r\n")


def _release_unused() -> None:
    """Hand what pyarrow's memory pool holds unused back to the system: its allocator keeps freed
    blocks for reuse, which on chunked reading of a wide Parquet file is some 100 MB more."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _header_end(data, eol: bytes = b"\n", sep: bytes = b",") -> int:
    """One past the end of the first record (the header) in ``data``."""
    end = data.find(eol)
    while end >= 0 and _quotes(data, 0, end + 1, sep) % 2:  # inside a quoted name (a closing quote "\n included)
        end = data.find(eol, end + 1)
    return end + 1 if end >= 0 else len(data)


def _csv_head(src: _Source):
    """The header and the rows of about the first megabyte (at least one row, when the file has one),
    parsed: what the column types are decided from."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    data = b""
    with src.binary() as fh:
        sep = src.sep.encode()
        for piece in _line_pieces(fh, 1 << 20, src.eol, sep):
            data += piece
            start = _header_end(data, src.eol, sep)
            if start < len(data) and not _blank(memoryview(data)[start:]):
                break  # a row after the header
    return pcsv.read_csv(pa.py_buffer(data), **_csv_options(src))


def _line_pieces(fh, block: int, eol: bytes = b"\n", sep: bytes = b",", *, last: bool = True) -> Iterator[memoryview]:
    """The rest of a CSV stream in pieces of about ``block`` bytes, each ending at a record end (``eol``).

    With ``last`` the stream ends the file, and its last record may lack a line end; otherwise it
    ends at a line end, and bytes after the last record end are a quoted value running on past it
    (:class:`_RunsOn`).

    Each piece is a view of one buffer, read into and reused for the next piece: a piece is the
    caller's until it asks for the next one (pyarrow's parse copies what it keeps). Reusing it
    spares the page faults of a fresh block each time, about a second a gigabyte.
    """
    buf = bytearray(block)
    carry = 0  # bytes at the front of buf: the start of a record the last read cut
    while True:
        if len(buf) - carry < block:  # a record longer than a block: a larger buffer (the old may be in view)
            buf = buf[:carry] + bytearray(block)
        got = fh.readinto(memoryview(buf)[carry : carry + block])
        size = carry + got
        if got == 0:  # the end of the stream
            if not _blank(memoryview(buf)[:carry]):  # the last record; its line end would belong to an open quote
                if not last:
                    raise _RunsOn()
                yield memoryview(bytes(buf[:carry]).rstrip(b"\r\n"))
            return
        end = _cut(buf, size, eol, sep)
        if end == 0:  # one record longer than a block: read on
            carry = size
            continue
        yield memoryview(buf)[:end]
        buf[: size - end] = buf[end:size]  # the start of the next record to the front (the same length: no resize)
        carry = size - end


@dataclass
class TableChunks:
    """A table read a pass at a time: calling it starts a pass that yields ``(X, y)`` float64 chunks.

    The table is a file, or the files of a folder or a pattern read one after another (in sorted
    order), and with ``share=(rank, size)`` this process's share of them (see :func:`table_chunks`).
    The columns, types, notes and messages are those :func:`read_table` gives for the same file;
    messages name the file and the row in that file. ``dropped_rows`` counts the rows the last pass
    dropped for missing values (``missing="drop"``), ``rows_read`` the rows it read, ``dropped_note``
    says which. Without a target (``target_name`` None) ``y`` is an empty array. ``on_read(done,
    size)``, when set, is called after each chunk of a pass with the bytes read and ``share_bytes``
    (None where unknown; through a Parquet file, in proportion to the rows read).

    After one pass in file order, :meth:`shuffled` visits the chunks (CSV pieces, Parquet row
    groups, of every file) in a random order, where the files can be read out of order (plain CSV
    or Parquet files, not standard input or a compressed CSV: those are visited in file order).
    """

    path: str
    feature_names: list[str]
    target_name: str | None
    notes: list[str]
    left_out: list[str]
    _pieces: _Parts
    missing: str = "error"
    dropped_rows: int = 0  # in the last pass
    rows_read: int = 0  # in the last pass, dropped ones included
    on_read: Callable[[int, int | None], object] | None = None  # a progress bar
    share: tuple[int, int] | None = None  # (rank, size): this process reads share rank of size
    _several: bool = False  # a folder or a pattern: notes name the file of a row
    _dropped: list[tuple[_Part, int]] = field(default_factory=list)  # the first few dropped rows, by part

    def __call__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        self.dropped_rows, self._dropped, self.rows_read = 0, [], 0
        with self._reading():
            for part, first, table in self._pieces.in_order():
                chunk = self._convert(part, first, table)
                self.rows_read += table.num_rows
                if self.on_read is not None:
                    self.on_read(self._pieces.done, self._pieces.size)
                if chunk is not None:
                    yield chunk
        if self.rows_read and self.dropped_rows == self.rows_read and self.share is None:
            raise ValueError(  # a share may lose all its rows, and the others keep theirs
                f"{self.path}: every row has a missing value in the columns in use "
                f"({_listing(self._columns)}); no row is left"
            )

    @property
    def share_bytes(self) -> int | None:
        """The bytes a pass reads: the files' (this process's share of them), None where unknown."""
        return self._pieces.size

    @property
    def ordered(self) -> bool:
        """Whether :meth:`shuffled` can visit the chunks out of order (known after one pass)."""
        return self._pieces.index is not None

    def shuffled(self, generator) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """A pass visiting the chunks in an order drawn from ``generator`` (a ``torch.Generator``);
        in file order where the files cannot be read out of order."""
        import torch

        index = self._pieces.index
        if index is None:
            yield from self()
            return
        self.dropped_rows, self._dropped = 0, []  # counted again by this pass, as by a pass in order
        for i in torch.randperm(len(index), generator=generator).tolist():
            with self._reading():
                for part, first, table in self._pieces.read(i):
                    chunk = self._convert(part, first, table)
                    if chunk is not None:
                        yield chunk

    @property
    def _columns(self) -> list[str]:
        return [*self.feature_names, *([self.target_name] if self.target_name is not None else [])]

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Say what is wrong with the file, by row where a scan finds it, when pyarrow cannot read it."""
        import pyarrow as pa

        try:
            yield
        except (pa.ArrowException, OSError) as exc:
            part = self._pieces.current
            assert part is not None
            src = part.src
            found = None
            if src.fmt == "csv":  # the first bad row of this process's part: in the piece pyarrow refused
                found = _diagnosis(src, self._columns, self._pieces.booleans, lambda: self._pieces.first_row(part))
            raise ValueError(found or f"{src.name}: cannot be read as {src.fmt.upper()} ({_reason(exc)})") from None

    def _convert(self, part: _Part, first: int, table) -> tuple[np.ndarray, np.ndarray] | None:
        """A chunk's columns as float64 (rows with gaps dropped, and counted, under ``missing="drop"``).

        ``first`` counts from the part's first row; where that row's number in the file is not known
        yet (a share of a CSV starting past its first row), it is counted only when a message needs it.
        """
        src, n = part.src, table.num_rows
        row = first if part.first_row is None else part.first_row + first - 1
        try:
            X = np.empty((n, len(self.feature_names)), dtype=np.float64)
            for j, name in enumerate(self.feature_names):
                X[:, j] = _numbers(src, name, table.column(name), row, missing=self.missing)
            target = self.target_name
            y = _numbers(src, target, table.column(target), row, missing=self.missing) if target else np.empty(0)
        except ValueError:
            if part.first_row is not None:
                raise
            self._pieces.first_row(part)
            return self._convert(part, first, table)  # the same refusal, naming the row in the file
        if self.missing == "drop":
            incomplete = np.isnan(X).any(axis=1) | (np.isnan(y) if target else False)
            if incomplete.any():
                self.dropped_rows += int(incomplete.sum())
                room = _DROPPED_SHOWN + 1 - len(self._dropped)
                self._dropped += [(part, first + int(i)) for i in np.flatnonzero(incomplete)[:room]]
                X = X[~incomplete]
                y = y[~incomplete] if target else y
        _release_unused()
        return (X, y) if len(X) else None

    @property
    def first_dropped(self) -> list[int]:
        """The first few rows the last pass dropped, numbered in their files (from 1)."""
        return [self._pieces.file_row(part, row) for part, row in self._dropped]

    @property
    def dropped_note(self) -> str | None:
        """The note about the rows the last pass dropped, or None; of several files, it names the file of each."""
        if not self.dropped_rows:
            return None
        if not self._several:
            return _dropped_note(self.first_dropped, self.dropped_rows, self.rows_read)
        count, shown = self.dropped_rows, []
        for name, rows in itertools.groupby(
            zip((part.src.name for part, _ in self._dropped[:_DROPPED_SHOWN]), self.first_dropped, strict=False),
            key=lambda pair: pair[0],
        ):
            numbers = [str(row) for _, row in rows]
            shown.append(f"{name} row{'s' if len(numbers) > 1 else ''} {', '.join(numbers)}")
        return (
            f"dropped {count:,} of {self.rows_read:,} rows with missing values in the columns in use "
            f"({'; '.join(shown)}{', ...' if count > _DROPPED_SHOWN else ''})"
        )


def table_chunks(
    path,
    *,
    target: str | None,
    features: list[str] | None = None,
    chunk_rows: int = 65536,
    missing: str = "error",
    sep: str | None = None,
    decimal: str | None = None,
    share: tuple[int, int] | None = None,
) -> tuple[TableChunks, list[str]]:
    """Stream a file, or the files of a folder or a pattern as one table, in chunks of about
    ``chunk_rows`` rows, validating each by :func:`read_table`'s rules.

    Column types are decided from the first chunk of the first file (Parquet: from its schema, and
    from the first row group's values where the schema says text); later chunks must agree, and a
    value that does not is refused with its file and row. Every other file must have the same columns
    (checked before the first chunk). Returns ``(chunks, feature_names)``: each call of ``chunks``
    reads the files again, so memory holds one chunk, and ``chunks.notes`` says what the default
    features left out. ``target=None`` reads features only (to predict), and then needs ``features``.

    ``share=(rank, size)`` reads the share ``rank`` of ``size`` processes only: about a ``size``-th of
    the bytes of all the files, contiguous in file order (rank 0 first), so that the shares in rank
    order are the whole table in order. A Parquet file is shared by whole row groups, a CSV by byte
    ranges cut at the start of a line (a quoted value spanning lines across a cut is refused); a
    compressed CSV and standard input cannot be shared. A share may be empty: its passes yield nothing.
    Every process types the columns alike, from the first rows of the first file.
    """
    import pyarrow as pa

    _check_missing(missing)
    rank, size = _check_share(share)
    if size > 1 and os.fspath(path) == "-":
        raise ValueError("-: standard input cannot be shared between processes; save it to a file first")
    files = _files(path)
    return_freed_blocks()  # so that the chunks freed one after another do not stay resident
    if target is None and features is None:
        raise ValueError("table_chunks without a target needs the feature columns")
    src = _Source(files[0] if files else path, sep=sep, decimal=decimal)
    name = src.name
    if src.fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(src.arrow(), pre_buffer=False, buffer_size=1 << 20)
            names = [str(n) for n in pf.schema_arrow.names]
            _check_header(name, names)
            if pf.metadata.num_rows == 0:
                raise ValueError(f"{name}: has a header but no rows")
            batches = pf.iter_batches(batch_size=max(chunk_rows, 1000))
            first = next(batches)
            batches.close()  # or it keeps its row group decoded until collected
        except (pa.ArrowException, OSError) as exc:
            raise ValueError(f"{name}: cannot be read as PARQUET ({_reason(exc)})") from None
        _release_unused()
        partial = first.num_rows < pf.metadata.num_rows  # the first rows only: a column empty there may fill
        del pf
    else:
        try:
            first = _csv_head(src)
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(_diagnosis(src) or f"{name}: cannot be read as CSV ({exc})") from None
        if first.num_rows == 0:
            raise ValueError(f"{name}: has a header but no rows")
        names = [str(n) for n in first.schema.names]
        partial = src.size() is None or (src.size() or 0) > (1 << 20)  # the head read is about the first megabyte
    choice = _choose_from(first, src, names, target, features, target is not None, head=partial)
    wanted = [*choice.features, *([target] if target else [])]
    # in CSV pieces, numbers as float64 (booleans as booleans, numbers written as text as text)
    types = {}
    for w in wanted:
        t = first.column(w).type
        types[w] = pa.bool_() if pa.types.is_boolean(t) else pa.string() if pa.types.is_string(t) else pa.float64()
    chosen = choice.features
    for column in chosen:
        if _kind(first.column(column))[0] == "text":
            if target is None:  # features a model names: numbers, and the first that is not says where
                _numbers(src, column, first.column(column), 1, missing=missing)
            raise ValueError(
                f"{name}: column {_quote(column)} holds text: categories are coded when a file is read whole, "
                f"not in chunks; code the column as numbers to use it here"
            )
    del first
    parts = []
    for k, file in enumerate(files or [name]):
        file_src = src if k == 0 else _Source(file, sep=sep, decimal=decimal)
        if size > 1 and file_src.size() is None:
            raise ValueError(
                f"{file_src.name}: a compressed CSV cannot be shared between processes (each reads its share "
                f"from the middle of the file); decompress it, or write it as Parquet"
            )
        header, part = _whole_file(file_src, weigh=size > 1)
        if header != names:
            raise ValueError(
                f"{file_src.name}: its columns ({_listing(header)}) differ from those of {name} "
                f"({_listing(names)}); files read as one table need the same columns"
            )
        parts.append(part)
    notes = list(choice.notes)
    if files is not None:
        notes.append(f"read {len(files)} files as one table: {_listing([os.path.basename(f) for f in files], 5)}")
    pieces = _Parts(
        _shares(parts, rank, size) if size > 1 else parts,
        names=names,
        wanted=wanted,
        types=types,
        chunk_rows=chunk_rows,
    )
    table = os.fspath(path) if files is not None else name
    chunks = TableChunks(
        table,
        chosen,
        target,
        notes,
        choice.left_out,
        pieces,
        missing,
        share=(rank, size) if size > 1 else None,
        _several=files is not None,
    )
    return chunks, chosen


def column_kind(path, name: str, *, sep: str | None = None, decimal: str | None = None) -> str | None:
    """What column ``name`` of a file holds, from its first rows: 'number', 'text', 'date', ... as the
    reader decides it; None where that cannot be told without reading the data (standard input, a
    folder or pattern, a file that cannot be read or has no such column: the reader says why then)."""
    import pyarrow as pa

    name_ = os.fspath(path)
    try:
        if name_ == "-" or _files(name_) is not None:
            return None
        src = _Source(name_, sep=sep, decimal=decimal)
        if src.fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(src.arrow(), pre_buffer=False)
            if name not in pf.schema_arrow.names:
                return None
            batches = pf.iter_batches(batch_size=1000, columns=[name])
            column = next(batches).column(name)
            batches.close()
        else:
            head = _csv_head(src)
            if name not in head.column_names:
                return None
            column = head.column(name)
    except (ValueError, OSError, StopIteration, pa.ArrowException):
        return None
    return _kind(column, src.decimal)[0]


def whole_read_bytes(path) -> int | None:
    """About how much memory reading ``path`` whole takes (pyarrow's table, the float64 arrays and
    the copies made on the way): three times a CSV's size, four times a Parquet file's values as
    float64; for a folder or a pattern, the sum over its files. None where it cannot be told
    beforehand (standard input, compressed files)."""
    name = os.fspath(path)
    files = _files(name) if name != "-" else None
    if files is not None:
        sizes = [whole_read_bytes(f) for f in files]
        return None if None in sizes else sum(s for s in sizes if s is not None)
    if name == "-" or not os.path.isfile(name):
        return None
    if Path(name).suffix.lower() in _COMPRESSION:
        return None
    with open(name, "rb") as fh:
        magic = fh.read(4)
    if magic == _PARQUET_MAGIC:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(name).metadata
        except (pa.ArrowException, OSError):  # a damaged file: the reader says what is wrong with it
            return None
        return 4 * 8 * meta.num_rows * meta.num_columns
    return 3 * os.path.getsize(name)


def _count_guess(src: _Source, sample: int = 1 << 20) -> int:
    """Rows in the file, estimated from the line count of its first megabyte."""
    size = src.size() or 0
    with src.binary() as fh:
        head = fh.read(sample)
    lines = max(1, head.count(src.eol))
    return max(1, int(lines * size / max(1, len(head))))


MAX_SPARSE_CLASSES = 1000  # class numbers up to this may skip some, whatever the rows


def encode_labels(values, *, where: str = "labels", least: int = 2) -> tuple[np.ndarray, list[str]]:
    """Class labels as int64 codes and class names.

    Whole numbers >= 0 are class numbers themselves (classes 0..max); any other value (text,
    a date, a time) makes every distinct value a class, named as it prints (dates as
    2024-01-05), sorted. NaN, empty, negative or fractional numbers, and a single class are
    refused with a message naming the first offending row (counted from 1). So are class
    numbers that would make more classes than there are rows (and more than
    ``MAX_SPARSE_CLASSES``, so that small tables may skip numbers): most of those classes
    would have no row to learn from, and class 10⁹ would ask for 10⁹ classes of memory.
    """
    from decimal import Decimal
    from numbers import Real

    values = list(values)
    if not values:
        raise ValueError(f"{where}: no labels")
    for i, v in enumerate(values, start=1):
        if v is None or (isinstance(v, float) and v != v) or v == "":
            raise ValueError(f"{where}: row {i}: missing label")
    if not all(isinstance(v, (Real, Decimal)) for v in values):  # text, dates, times: names of classes
        text = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]
        classes = sorted(set(text))
        index = {c: k for k, c in enumerate(classes)}
        codes = np.array([index[t] for t in text], dtype=np.int64)
    else:
        numbers = []
        for i, v in enumerate(values, start=1):
            f = float(v)
            if not np.isfinite(f) or f != int(f):
                raise ValueError(f"{where}: row {i}: class {v!r} is not a whole number")
            if f < 0:
                raise ValueError(f"{where}: row {i}: class {int(f)} is negative; classes are numbered from 0")
            numbers.append(int(f))
        top = max(numbers)  # checked before an int64 array is made: 1e300 is a whole number too
        if top + 1 > max(len(numbers), MAX_SPARSE_CLASSES):
            many = (lambda k: f"{k:,}") if top < 10**15 else (lambda k: f"{float(k):.3g}")
            raise ValueError(
                f"{where}: row {numbers.index(top) + 1}: class {many(top)} would make {many(top + 1)} classes "
                f"(numbered from 0) for {len(numbers):,} rows; number the classes 0, 1, 2, ..., or write "
                f"them as text, where each distinct value is a class"
            )
        codes = np.array(numbers, dtype=np.int64)
        classes = [str(c) for c in range(top + 1)]
    if len(np.unique(codes)) < least:
        raise ValueError(
            f"{where}: every row has the same class {classes[int(codes[0])]!r}; "
            f"classification needs at least two classes"
        )
    return codes, classes


# --- writing -------------------------------------------------------------------------------


def write_table(path, columns: dict | Iterable[dict]) -> None:
    """Write columns to CSV or Parquet (by extension: .parquet/.pq), atomically.

    ``columns`` maps names to values, or is an iterable of such maps, written one after another
    as they come (a Parquet row group each): predictions are streamed so, a chunk at a time.
    """
    parts: Iterable[dict] = [columns] if isinstance(columns, dict) else columns
    if str(path).lower().endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        def write(tmp):
            writer = None
            try:
                for part in parts:
                    table = pa.table({k: np.asarray(v) for k, v in part.items()})
                    writer = writer or pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table)
            finally:
                if writer is not None:
                    writer.close()

    else:

        def write(tmp):
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                write_csv(fh, parts)

    atomic_write(path, write)


def write_csv(fh, parts: Iterable[dict]) -> None:
    """Write each map of columns in ``parts`` to the text stream ``fh`` as CSV rows, the header once."""
    for i, part in enumerate(parts):
        text = csv_text(part)
        fh.write(text if i == 0 else text[text.index("\n") + 1 :])


def csv_text(columns: dict[str, np.ndarray]) -> str:
    """CSV with every float written so that it reads back exactly (repr)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(columns)
    w.writerow(names)
    for row in zip(*(np.asarray(columns[n]).tolist() for n in names), strict=True):
        w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()

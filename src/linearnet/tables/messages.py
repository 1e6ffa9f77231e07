"""How the reader's messages name things: a column, a cell's value, a list of columns, a row of a file
(``row 7 (line 8)``), a library's error, and the note about dropped rows."""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .source import _Source

_DROPPED_SHOWN = 5  # rows named in the note about dropped rows


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
    found = _row_of_csv(src, row)
    return row + 1 if found is None else found[0]


def _row_of_csv(src: _Source, row: int) -> tuple[int, list[str], list[str]] | None:
    """The line where data row ``row`` of a CSV starts, the header's fields and the row's; None where
    the file has no such row or cannot be read again."""
    try:
        with _any_field_size(), src.text() as fh:
            reader = csv.reader(fh, delimiter=src.sep)
            header = next(reader, [])
            if header:  # a byte-order mark (Excel's "CSV UTF-8") is not part of the first name
                header[0] = header[0].removeprefix("\ufeff")
            seen, before = 0, reader.line_num
            for fields in reader:
                if fields:
                    seen += 1
                    if seen == row:
                        return before + 1, header, fields
                before = reader.line_num
    except OSError:
        pass
    return None


def _missing_value(src: _Source, name: str, row: int) -> str:
    """'missing value (empty)', or with the token the cell holds: "missing value ('NA')"; a Parquet
    file's missing value is a null."""
    if src.fmt != "csv":
        return "missing value (null)"
    found = _row_of_csv(src, row)
    if found is not None:
        _, header, fields = found
        j = header.index(name) if name in header else -1
        if 0 <= j < len(fields):
            cell = fields[j]
            return "missing value (empty)" if cell == "" else f"missing value ({_shown(cell)})"
    return "missing value (empty or NaN)"


SHOWN_NAME = 100  # characters of a name a message quotes at most


def _escaped(text: str) -> str:
    """``text`` with line breaks and other control characters escaped: a message stays one line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _quote(name: str, most: int | None = SHOWN_NAME) -> str:
    """'name' for messages, control characters escaped, cut to about ``most`` characters (None: whole): a
    message stays one line of bounded length (a column's name can be megabytes long)."""
    if most is not None and len(name) > most:
        return f"'{_escaped(name[: most - 5])}...' ({len(name):,} characters)"
    return "'" + _escaped(name) + "'"


def _name(name: str, most: int = SHOWN_NAME) -> str:
    """A name in a list of names: escaped, cut to about ``most`` characters, unquoted."""
    return _escaped(name) if len(name) <= most else f"{_escaped(name[: most - 5])}... ({len(name):,} characters)"


def _shown(value, most: int = 60) -> str:
    """A cell's value for a message: its repr, cut to ``most`` characters (a cell can hold megabytes)."""
    text = repr(value)
    return text if len(text) <= most else f"{text[: most - 5]}...{text[-1]} ({len(str(value)):,} characters)"


def _listing(names: list[str], most: int = 20) -> str:
    """The column names for a message: all of them, or the first ``most`` and how many there are."""
    shown = ", ".join(_name(n) for n in names[:most])
    return shown if len(names) <= most else f"{shown}, ... ({len(names):,} columns)"


def _reason(exc: BaseException) -> str:
    """A library's error text for a message: one line, control characters escaped (pyarrow's Parquet
    errors span several lines and may quote the bad byte)."""
    return _escaped("; ".join(line.strip() for line in str(exc).splitlines() if line.strip()))


def _dropped_note(rows: list[int], count: int, total: int) -> str:
    shown = ", ".join(str(r) for r in rows[:_DROPPED_SHOWN]) + (", ..." if count > _DROPPED_SHOWN else "")
    return (
        f"dropped {count:,} of {total:,} rows with missing values in the columns in use "
        f"(row{'s' if count > 1 else ''} {shown})"
    )

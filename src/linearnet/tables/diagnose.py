"""The line-by-line scan that names the first bad row of a CSV pyarrow refused: a ragged row, or a value
that is not a number in a column that holds numbers."""

from __future__ import annotations

import csv
from collections.abc import Callable

from .cells import _TRUE_FALSE, NA_TOKENS, _is_number, _not_a_number
from .messages import _any_field_size, _quote, _shown
from .source import _Source


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
        header = src.header or header  # one field short (R's write.table): the row names' column first
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

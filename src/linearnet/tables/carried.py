"""Columns carried with the rows: read beside the features, not features themselves.

A fit's weights or clusters are columns in use: their gaps are missing values like any other
(refused with their row, or their rows dropped under ``missing="drop"``), and a column of numbers is
checked as the features are. Columns carried to an output (ids beside predictions) are taken as they
are: their gaps stay gaps. Either way their values are those of the rows kept, in order.
"""

from __future__ import annotations

import numpy as np

from .cells import _numbers
from .messages import _missing_value, _quote, _where
from .source import _Source


def carried_values(src: _Source, name: str, column, first_row: int, *, number: bool, in_use: bool, missing: str):
    """A carried column's values, one per row of ``column`` (an arrow column whose first row is the file's
    ``first_row``). In use: numbers as float64 (NaN where missing) when ``number``, else text (None where
    missing); a gap is refused with its row under ``missing="error"``, and a value of a column of numbers
    that is not one is refused with its row. Not in use (ids written beside predictions): the values as
    they are, Python objects (None where missing), so that nothing is rounded: a CSV's as the text written
    (``007`` stays ``007``), a Parquet file's as stored (a whole number past 2⁵³ keeps its digits)."""
    import pyarrow.compute as pc

    if in_use and number:
        return _numbers(src, name, column, first_row, missing=missing)
    if in_use and column.null_count and missing == "error":
        row = first_row + int(pc.index(pc.is_null(column), True).as_py())
        raise ValueError(f"{src.name}: column {_quote(name)}, {_where(src, row)}: {_missing_value(src, name, row)}")
    values = np.empty(len(column), dtype=object)
    values[:] = column.to_pylist()
    return values


def read_carried(
    src: _Source,
    table,
    carry: list[str],
    *,
    in_use: bool,
    missing: str,
    first_row: int = 1,
    numbers: frozenset[str] | None = None,
) -> dict[str, np.ndarray]:
    """The carried columns of ``table`` (a whole file's, or a chunk's whose first row is the file's
    ``first_row``), by :func:`carried_values`; ``numbers``: the columns of numbers, as a chunked read
    typed them from the first rows (None: decided from ``table``'s values)."""
    return {
        name: carried_values(
            src,
            name,
            table.column(name),
            first_row,
            number=is_number_column(table.column(name), src.decimal) if numbers is None else name in numbers,
            in_use=in_use,
            missing=missing,
        )
        for name in carry
    }


def verbatim(carry: list[str], in_use: bool, features) -> list[str]:
    """The carried columns a CSV is read as text, as written: those not in use and not also features."""
    return [] if in_use else [name for name in carry if name not in (features or ())]


def gaps(carried: dict[str, np.ndarray]) -> np.ndarray | bool:
    """The rows where a carried column has no value (NaN among numbers, None among others)."""
    found: np.ndarray | bool = False
    for values in carried.values():
        found = found | (
            np.array([v is None for v in values], dtype=bool) if values.dtype == object else np.isnan(values)
        )
    return found


def is_number_column(column, decimal: str) -> bool:
    """Whether a carried column holds numbers (or is empty, or mostly numbers: its typos are refused as a
    feature's are), decided from its values."""
    from .cells import _kind

    return _kind(column, decimal)[0] in ("number", "typo", "empty")

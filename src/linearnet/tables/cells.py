"""What a cell holds: numbers as CSV writes them (and what looks like one but is not), the missing-value
tokens, the kind of a column decided from its values, and a column converted to float64."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from .messages import _missing_value, _quote, _shown, _where

if TYPE_CHECKING:
    from .source import _Source

MISSING = ("error", "drop", "keep")  # what to do with a row that has a missing value in a column in use


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


def as_numpy(column, dtype) -> np.ndarray:
    """A pyarrow column of numbers cast to ``dtype`` (float64: NaN where null; int64: no nulls) as a numpy
    array, read from its buffers: pyarrow's own ``to_numpy`` imports pandas, a fifth of a second of a
    command's start. A column of one chunk is shared, read-only, as pyarrow's zero-copy arrays are."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = np.dtype(dtype)
    cast = pc.cast(column, pa.from_numpy_dtype(dtype), safe=False)  # whole numbers past 2**53: the caller's checks
    if cast.null_count:
        cast = pc.fill_null(cast, np.nan)
    chunks = cast.chunks if isinstance(cast, pa.ChunkedArray) else [cast]
    parts = [
        np.frombuffer(c.buffers()[1], dtype=dtype, count=len(c), offset=c.offset * dtype.itemsize)
        for c in chunks
        if len(c)
    ]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype)


def _numbers(src: _Source, name: str, column, first_row: int, *, missing: str) -> np.ndarray:
    """A column as float64, NaN where a value is missing (``missing="drop"`` or ``"keep"``); else a ValueError
    naming the row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    path, t = src.name, column.type
    if pa.types.is_null(t) and missing != "error":
        return np.full(len(column), np.nan)
    if column.null_count and missing == "error":  # a column with no values at all says so at its first row
        row = first_row + int(pc.index(pc.is_null(column), True).as_py())
        raise ValueError(f"{path}: column {_quote(name)}, {_where(src, row)}: {_missing_value(src, name, row)}")
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        _check_exact(src, name, column, first_row)
        values = as_numpy(column, np.float64)  # rounding: checked
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
    else:
        values = _since_epoch(src, name, column)
    values = np.ascontiguousarray(values, dtype=np.float64)
    if _all_finite(values, missing):
        return values
    bad_rows = np.flatnonzero(np.isinf(values) if missing != "error" else ~np.isfinite(values))
    if bad_rows.size:
        i = int(bad_rows[0])
        raise ValueError(
            f"{path}: column {_quote(name)}, {_where(src, first_row + i)}: {values[i]} is not a finite number"
        )
    return values


def _all_finite(values: np.ndarray, missing: str) -> bool:
    """Whether ``values`` hold no value :func:`_numbers` refuses: no infinity, nor NaN under
    ``missing="error"``. Their sum tells at once where it is finite (NaN and infinities carry into it);
    a sum that overflows, or NaN where NaN is allowed, are looked at value by value."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(values, axis=None)):
            return True
    return not (np.isinf(values).any() if missing != "error" else not np.isfinite(values).all())


_BLOCK_BYTES = 1 << 19  # bytes of a block of rows copied column by column: it stays in a core's cache


def number_matrix(src: _Source, table, names: list[str], first_row: int, *, missing: str) -> np.ndarray:
    """The columns ``names`` of ``table`` as a C-ordered float64 (rows, columns) array, each column checked as
    :func:`_numbers` checks it, the first refusal the same: the columns of float64 without gaps copied
    a block of rows at a time (each block's values checked while in cache), the others one by one."""
    import pyarrow as pa

    n = table.num_rows
    X = _empty((n, len(names)))
    plain = {}
    for j, name in enumerate(names):
        column = table.column(name)
        if column.type == pa.float64() and column.null_count == 0:
            plain[j] = _float_segments(column)
    if plain and not _copy_checked(X, plain, missing, whole=len(plain) == len(names)):
        plain = {}  # a value refused: the columns one by one, in order, say which first
    for j, name in enumerate(names):
        if j not in plain:
            X[:, j] = _numbers(src, name, table.column(name), first_row, missing=missing)
    return X


def _empty(shape: tuple[int, int]) -> np.ndarray:
    """An empty float64 array; of a megabyte or more, in pyarrow's memory pool, which keeps what a chunk freed
    for the next one (until it is handed back): fresh memory costs a page fault each 4 KB, chunk after chunk."""
    size = shape[0] * shape[1] * 8
    if size < 1 << 20:
        return np.empty(shape, dtype=np.float64)
    import pyarrow as pa

    return np.frombuffer(pa.allocate_buffer(size), dtype=np.float64).reshape(shape)


def _float_segments(column) -> list[np.ndarray]:
    """The float64 values of a column without gaps, a read-only view of each of its chunks."""
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [
        np.frombuffer(c.buffers()[1], dtype=np.float64, count=len(c), offset=c.offset * 8) for c in chunks if len(c)
    ]


def _copy_checked(X: np.ndarray, columns: dict[int, list[np.ndarray]], missing: str, *, whole: bool) -> bool:
    """Copy ``columns`` (each a list of segments, one after another) into their columns of ``X``, a block of
    rows at a time, and say whether no value is refused (``whole``: they are every column of ``X``)."""
    ends = {tuple(np.cumsum([len(s) for s in segments]).tolist()) for segments in columns.values()}
    if len(ends) > 1:  # the columns' chunks end at different rows: each made one array
        columns = {j: [np.concatenate(s)] if len(s) > 1 else s for j, s in columns.items()}
        ends = {(len(X),)}
    step = _BLOCK_BYTES // (8 * X.shape[1])
    step = step if step >= 256 else len(X)  # a wide table: a column at a time (blocks of few rows cost more)
    ok, start = True, 0
    for k, end in enumerate(ends.pop()):
        for s in range(start, end, step):
            e = min(s + step, end)
            block = X[s:e]
            for j, segments in columns.items():
                block[:, j] = segments[k][s - start : e - start]
            ok = ok and (not whole or _all_finite(block, missing))
        start = end
    return ok if whole else _all_finite(X[:, sorted(columns)], missing)


def _since_epoch(src: _Source, name: str, column) -> np.ndarray:
    """Dates as days since 1970-01-01 and times as seconds since 1970-01-01 00:00 UTC (a time without a zone
    taken as UTC): R's numeric values of a Date and of a POSIXct, NaN where missing; any other column that
    is not numbers is refused, saying what it holds."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_temporal(t) and not (pa.types.is_date(t) or pa.types.is_timestamp(t)):
        raise ValueError(
            f"{src.name}: column {_quote(name)} holds {'durations' if pa.types.is_duration(t) else 'times of day'}, "
            f"not numbers; convert them to numbers first (for example seconds)"
        )
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        raise ValueError(
            f"{src.name}: column {_quote(name)} holds bytes that are not UTF-8 text; save the file as UTF-8"
        )
    if not pa.types.is_temporal(t):
        raise ValueError(f"{src.name}: column {_quote(name)} holds {t} values, expected numbers")
    if pa.types.is_date32(t):
        return as_numpy(pc.cast(column, pa.int32()), np.float64)
    if pa.types.is_date64(t):  # milliseconds, whole days
        return as_numpy(pc.cast(column, pa.int64()), np.float64) / 86_400_000
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[t.unit]
    return as_numpy(pc.cast(column, pa.int64()), np.float64) / per_second


def epoch_notes(table, names: list[str | None]) -> list[str]:
    """A note for each column of ``names`` holding dates or times, which are read as R reads their numbers."""
    import pyarrow as pa

    notes = []
    for name in filter(None, names):
        t = table.schema.field(name).type
        if pa.types.is_date(t):
            notes.append(f"column {_quote(name)}: dates read as days since 1970-01-01, R's number of a Date")
        elif pa.types.is_timestamp(t):
            zone = "" if t.tz else " (written without a time zone: read as UTC, where R takes its session's zone)"
            notes.append(
                f"column {_quote(name)}: times read as seconds since 1970-01-01 00:00 UTC, R's number of a "
                f"POSIXct{zone}"
            )
    return notes


EXACT = 2**53  # float64 holds every whole number up to this size, and not all beyond


def _check_exact(src: _Source, name: str, column, first_row: int) -> None:
    """Refuse a whole number beyond 2**53 that float64, which the data are computed in, would round, in a
    column of 64-bit integers (a Parquet int64 or uint64, a CSV's column of whole numbers). Read whole or in
    chunks alike, the first such value is named with its row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_integer(column.type) and column.type.bit_width == 64):
        return
    beyond = pc.greater(column, pa.scalar(EXACT, column.type))
    if pa.types.is_signed_integer(column.type):
        beyond = pc.or_(beyond, pc.less(column, pa.scalar(-EXACT, column.type)))
    if not pc.any(beyond).as_py():
        return
    for i in np.flatnonzero(pc.fill_null(beyond, False).to_numpy(zero_copy_only=False)).tolist():
        value = column[i].as_py()
        if float(value) != value:  # not one of the whole numbers beyond 2**53 that float64 holds
            break
    else:
        return
    raise ValueError(
        f"{src.name}: column {_quote(name)}, {_where(src, first_row + i)}: {value} is a whole number beyond 2**53 "
        f"that float64 (what linearnet computes in) cannot hold exactly: it would be read as {float(value):.17g}; "
        f"if the column is an id, leave it out of the features, else scale it down"
    )


_TRUE_FALSE = {"1", "0", "true", "false", "True", "False", "TRUE", "FALSE"}  # what pyarrow reads as booleans


def _check_missing(missing: str) -> None:
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {', '.join(MISSING)}, got {missing!r}")

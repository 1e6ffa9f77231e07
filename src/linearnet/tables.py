"""Tables in and out: CSV and Parquet files, checked once where they enter.

Every problem is reported as one ``ValueError`` naming the file, the column and the first
bad row ("row 7 (line 8)": data rows count from 1, lines include the header). Reading is
done by pyarrow; when pyarrow refuses a file, a line-by-line scan finds the row to name.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .outputs import atomic_write

__all__ = ["Table", "read_table", "table_chunks", "write_table", "csv_text", "detect_format", "encode_labels"]

_PARQUET_MAGIC = b"PAR1"


@dataclass
class Table:
    path: str
    features: np.ndarray  # (n, p) float64
    target: np.ndarray | None  # (n,) float64, or int64 class codes when read as labels
    feature_names: list[str]
    target_name: str | None
    classes: list[str] | None = None  # class names, when the target was read as labels

    @property
    def num_rows(self) -> int:
        return len(self.features)


# --- what the file is ----------------------------------------------------------------------


def detect_format(path) -> str:
    """'csv' or 'parquet', by content (Parquet's magic bytes), else by extension."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"{path}: no such file")
    if p.is_dir():
        raise ValueError(f"{path}: is a directory, expected a CSV or Parquet file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror})") from None
    if not head:
        raise ValueError(f"{path}: is empty, expected a header line and rows")
    if head[:4] == _PARQUET_MAGIC:
        with open(p, "rb") as fh:
            fh.seek(max(0, p.stat().st_size - 4))
            if fh.read(4) == _PARQUET_MAGIC:
                return "parquet"
    if p.suffix.lower() in (".parquet", ".pq"):
        raise ValueError(f"{path}: is not a Parquet file (it does not start with PAR1)")
    if b"\x00" in head:
        raise ValueError(f"{path}: holds binary data, expected a CSV or Parquet file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise ValueError(f"{path}: is not UTF-8 text, expected a CSV or Parquet file") from None
    return "csv"


# --- reading -------------------------------------------------------------------------------

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*|\s*[+-]?(inf|infinity|nan)\s*", re.I | re.A)


def _is_number(text) -> bool:
    """A decimal number as CSV writes them (no hex, underscores or non-ASCII digits: those are typos)."""
    return isinstance(text, str) and _NUMBER.fullmatch(text) is not None


_HEX = re.compile(rb"(^|[,\n])\s*[+-]?0[xX][0-9a-fA-F]")


def _where(path, fmt: str, row: int) -> str:
    """'row 7 (line 8)' for CSV (the header is line 1), 'row 7' for Parquet; row counts from 1."""
    return f"row {row} (line {_line_of_row(path, row)})" if fmt == "csv" else f"row {row}"


@contextlib.contextmanager
def _any_field_size() -> Iterator[None]:
    """Let Python's csv module read fields of any size (its default stops at 128 KB with csv.Error)."""
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(limit)


def _line_of_row(path, row: int) -> int:
    """The file line of data row ``row``, counting the blank lines that readers skip."""
    try:
        with _any_field_size(), open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            next(reader, None)
            seen = 0
            for fields in reader:
                if fields:
                    seen += 1
                    if seen == row:
                        return reader.line_num
    except OSError:
        pass
    return row + 1


def _column_values(path, fmt, name, column, first_row: int) -> np.ndarray:
    """A pyarrow column as float64, or a ValueError naming the first bad row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = column.type
    if pa.types.is_null(t):
        raise ValueError(f"{path}: column {_quote(name)} has no values")
    if column.null_count:
        row = first_row + int(pc.index(pc.is_null(column), True).as_py())
        raise ValueError(f"{path}: column {_quote(name)}, {_where(path, fmt, row)}: missing value (empty or NaN)")
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        values = column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        for i, text in enumerate(column.to_pylist()):
            if not _is_number(text):
                raise ValueError(
                    f"{path}: column {_quote(name)}, {_where(path, fmt, first_row + i)}: {_shown(text)} is not a number"
                )
        values = np.array(column.to_pylist(), dtype=np.float64)
    else:
        raise ValueError(f"{path}: column {_quote(name)} holds {t} values, expected numbers")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(
            f"{path}: column {_quote(name)}, {_where(path, fmt, first_row + int(bad[0]))}: "
            f"{values[bad[0]]} is not a finite number"
        )
    return values


def _looks_numeric(column) -> bool:
    """For default features: numeric types, or text whose first value is a number (a typo later)."""
    import pyarrow as pa

    t = column.type
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t):
        return True
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        first = next((v for v in column.to_pylist() if v is not None), None)
        return _is_number(first)
    return False


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


def _select(path, names: list[str], target, features, numeric: Callable[[str], bool], require_target) -> list[str]:
    """Check the target and feature columns exist; default features: numeric columns but the target."""
    columns = _listing(names)
    _check_header(path, names)
    present = set(names)
    if target is not None and target not in present:
        raise ValueError(f"{path}: has no column {_quote(target)} for the target; its columns are: {columns}")
    if target is None and require_target:
        raise ValueError(f"{path}: name the target column (--target); its columns are: {columns}")
    if features is None:
        features = [n for n in names if n != target and numeric(n)]
        if not features:
            raise ValueError(
                f"{path}: has no numeric column besides the target {_quote(target)}; its columns are: {columns}"
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
    return features


def _diagnose_csv(path, wanted: list[str] | None = None) -> str | None:
    """Scan a CSV line by line for the first ragged row, or non-number in a wanted column."""
    with _any_field_size(), open(path, newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return f"{path}: is empty, expected a header line and rows"
        position = {name: j for j, name in reversed(list(enumerate(header)))}  # the first of twins
        index = [position[w] for w in (wanted or []) if w in position]
        row_number = 0
        for row in reader:
            if not row:
                continue
            row_number += 1
            where = f"row {row_number} (line {reader.line_num})"
            if len(row) != len(header):
                return f"{path}: {where} has {len(row)} fields, expected {len(header)} like the header"
            for j in index:
                if not _is_number(row[j]):
                    value = row[j]
                    what = "missing value (empty)" if value == "" else f"{_shown(value)} is not a number"
                    return f"{path}: column {_quote(header[j])}, {where}: {what}"
    return None


def _read_arrow(path, fmt):
    import pyarrow as pa

    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(path)
            _check_header(path, [str(n) for n in pf.schema_arrow.names])  # pyarrow fails on twins
            return pf.read()
        import pyarrow.csv as pcsv

        return pcsv.read_csv(path)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        found = _diagnose_csv(path) if fmt == "csv" else None
        raise ValueError(found or f"{path}: cannot be read as {fmt.upper()} ({exc})") from None


def read_table(
    path,
    *,
    target: str | None = None,
    features: list[str] | None = None,
    require_target: bool = True,
    labels: bool = False,
) -> Table:
    """Read a CSV or Parquet file into float64 arrays, validating every value.

    Features default to every numeric column but the target. With ``require_target=False``
    and no ``target`` (prediction), only the features are read. With ``labels=True`` the
    target holds class labels (whole numbers or text), returned as int64 codes.
    """
    path = str(path)
    fmt = detect_format(path)
    table = _read_arrow(path, fmt)
    names = [str(n) for n in table.column_names]
    if table.num_rows == 0:
        raise ValueError(f"{path}: has a header but no rows")
    features = _select(path, names, target, features, lambda n: _looks_numeric(table.column(n)), require_target)
    numeric = features + ([target] if target and not labels else [])
    import pyarrow as pa

    # pyarrow reads 0x5 as the integer 5: a typo here. Only integer columns can hide one.
    if (
        fmt == "csv"
        and any(pa.types.is_integer(table.column(n).type) for n in numeric)
        and _HEX.search(Path(path).read_bytes())
    ):
        found = _diagnose_csv(path, numeric)
        if found:
            raise ValueError(found)
    X = np.empty((table.num_rows, len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        X[:, j] = _column_values(path, fmt, name, table.column(name), 1)
    classes = None
    if target is None:
        y = None
    elif labels:
        y, classes = encode_labels(table.column(target).to_pylist(), where=f"{path}: column {_quote(target)}")
    else:
        y = _column_values(path, fmt, target, table.column(target), 1)
    return Table(path, X, y, features, target, classes)


def table_chunks(path, *, target: str, features: list[str] | None = None, chunk_rows: int = 65536):
    """Stream a file in chunks of about ``chunk_rows`` rows, validating each.

    Returns ``(chunks, feature_names)``; each call of ``chunks()`` reads the file again and
    yields ``(X, y)`` float64 arrays, so memory holds one chunk.
    """
    import pyarrow as pa

    path = str(path)
    fmt = detect_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        names = [str(n) for n in schema.names]
        if pf.metadata.num_rows == 0:
            raise ValueError(f"{path}: has a header but no rows")

        def numeric(n):
            t = schema.field(n).type
            return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)

        chosen = _select(path, names, target, features, numeric, True)

        def batches():
            return pf.iter_batches(batch_size=chunk_rows, columns=[*chosen, target])
    else:
        import pyarrow.csv as pcsv

        try:
            probe = pcsv.open_csv(path)
            schema = probe.schema
            first = probe.read_next_batch()
        except StopIteration:
            raise ValueError(f"{path}: has a header but no rows") from None
        except (pa.ArrowInvalid, OSError) as exc:
            raise ValueError(_diagnose_csv(path) or f"{path}: cannot be read as CSV ({exc})") from None
        names = [str(n) for n in schema.names]
        chosen = _select(path, names, target, features, lambda n: _looks_numeric(first.column(n)), True)
        wanted = [*chosen, target]
        # about chunk_rows rows per block, from the width of the first rows
        row_bytes = max(8, os.path.getsize(path) // max(1, _count_guess(path)))
        block = int(min(max(chunk_rows * row_bytes, 1 << 16), 1 << 30))

        def batches():
            reader = pcsv.open_csv(
                path,
                read_options=pcsv.ReadOptions(block_size=block),
                convert_options=pcsv.ConvertOptions(
                    include_columns=wanted, column_types={w: pa.float64() for w in wanted}
                ),
            )
            return reader

    def chunks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        row = 1
        try:
            for batch in batches():
                n = batch.num_rows
                if n == 0:
                    continue
                X = np.empty((n, len(chosen)), dtype=np.float64)
                for j, name in enumerate(chosen):
                    X[:, j] = _column_values(path, fmt, name, batch.column(name), row)
                y = _column_values(path, fmt, target, batch.column(target), row)
                row += n
                yield X, y
        except (pa.ArrowInvalid, OSError) as exc:
            found = _diagnose_csv(path, [*chosen, target]) if fmt == "csv" else None
            raise ValueError(found or f"{path}: cannot be read as {fmt.upper()} ({exc})") from None

    return chunks, chosen


def _count_guess(path, sample: int = 1 << 20) -> int:
    """Rows in the file, estimated from the line count of its first megabyte."""
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(sample)
    lines = max(1, head.count(b"\n"))
    return max(1, int(lines * size / max(1, len(head))))


def encode_labels(values, *, where: str = "labels") -> tuple[np.ndarray, list[str]]:
    """Class labels as int64 codes and class names.

    Whole numbers >= 0 are class numbers themselves (classes 0..max); any text makes every
    distinct value a class (sorted). NaN, empty, negative or fractional numbers, and a single
    class are refused with a message naming the first offending row (counted from 1).
    """
    values = list(values)
    if not values:
        raise ValueError(f"{where}: no labels")
    for i, v in enumerate(values, start=1):
        if v is None or (isinstance(v, float) and v != v) or v == "":
            raise ValueError(f"{where}: row {i}: missing label")
    if any(isinstance(v, str) for v in values):
        text = [str(v) for v in values]
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
        codes = np.array(numbers, dtype=np.int64)
        classes = [str(c) for c in range(int(codes.max()) + 1)]
    if len(np.unique(codes)) < 2:
        raise ValueError(
            f"{where}: every row has the same class {classes[int(codes[0])]!r}; "
            f"classification needs at least two classes"
        )
    return codes, classes


# --- writing -------------------------------------------------------------------------------


def write_table(path, columns: dict[str, np.ndarray]) -> None:
    """Write columns to CSV or Parquet (by extension: .parquet/.pq), atomically."""
    if str(path).lower().endswith((".parquet", ".pq")):
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({k: np.asarray(v) for k, v in columns.items()})
        atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    else:
        text = csv_text(columns)

        def write(tmp):
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)

        atomic_write(path, write)


def csv_text(columns: dict[str, np.ndarray]) -> str:
    """CSV with every float written so that it reads back exactly (repr)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    names = list(columns)
    w.writerow(names)
    for row in zip(*(np.asarray(columns[n]).tolist() for n in names), strict=True):
        w.writerow([repr(v) if isinstance(v, float) else v for v in row])
    return buf.getvalue()

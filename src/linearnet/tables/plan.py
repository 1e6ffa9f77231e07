"""What is known of a table before it is read, and how to read it: whole or in chunks, by the memory
budget (:func:`plan_read`), the rows a chunk holds (:data:`CHUNK_ROWS`), and the kind of a column from a
file's first rows (:func:`column_kind`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .cells import _kind
from .pieces import _csv_head
from .source import _COMPRESSION, _PARQUET_MAGIC, _files, _Source

CHUNK_ROWS = 50_000  # rows a chunk holds, where a table is read in chunks (and leastsq's pass over arrays)
MAX_DEFAULT_BUDGET = 1 << 30  # the default memory budget: a quarter of the available memory, at most this


def default_budget() -> int:
    """The memory a table may take read whole, by default: a quarter of the available memory, at most
    :data:`MAX_DEFAULT_BUDGET`."""
    from .. import memory

    return min(memory.available_bytes() // 4, MAX_DEFAULT_BUDGET)


@dataclass(frozen=True)
class ReadPlan:
    """How a table is read: whole or in chunks, and why (:func:`plan_read`)."""

    chunked: bool  # read a pass at a time (table_chunks), or whole (read_table)
    budget: int  # bytes the table may take read whole
    need: int | None = None  # bytes it takes read whole (whole_read_bytes); None: not looked at, or unknown
    note: str | None = None  # for the user: why it is read in chunks, or that it is read whole over the budget
    chunk_rows: int = CHUNK_ROWS  # rows a chunk holds

    @property
    def over_budget(self) -> bool:
        return self.need is not None and self.need > self.budget


def plan_read(
    path,
    budget: int | None = None,
    *,
    chunked: bool | None = None,
    streamed: bool = True,
    chunk_rows: int | None = None,
) -> ReadPlan:
    """Whether ``path`` is read whole or in chunks: in chunks when reading it whole would take more than
    ``budget`` bytes (None: :func:`default_budget`), and the note that says so.

    ``chunked`` True or False decides it beforehand (a size of chunk asked for, a formula, a share of the
    file each process reads): nothing is looked at then, and there is no note. ``streamed=False`` is for
    what is read whole whatever its size (softmax regression): the note says what the whole read takes
    when that passes the budget. ``chunk_rows`` (None: :data:`CHUNK_ROWS`) is the rows of a chunk.
    """
    from ..memory import human_bytes

    budget = default_budget() if budget is None else budget
    rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    if chunked is not None:
        return ReadPlan(chunked=chunked, budget=budget, chunk_rows=rows)
    need = whole_read_bytes(path)
    plan = ReadPlan(chunked=False, budget=budget, need=need, chunk_rows=rows)
    if not plan.over_budget:
        return plan
    assert need is not None
    over = f"about {human_bytes(need)}, over the memory budget of {human_bytes(budget)}"
    if not streamed:
        note = f"{path} is read whole, as softmax regression is not streamed: it takes {over}"
        return ReadPlan(chunked=False, budget=budget, need=need, note=note, chunk_rows=rows)
    note = f"{path} is read in chunks: read whole it would take {over} (--memory-budget)"
    return ReadPlan(chunked=True, budget=budget, need=need, note=note, chunk_rows=rows)


def column_kind(path, name: str, *, sep: str | None = None, decimal: str | None = None) -> str | None:
    """What column ``name`` of a file holds, from its first rows: 'number', 'text', 'date', ... as the
    reader decides it, or 'boolean' and 'category' (a Parquet dictionary); None where that cannot be told
    without reading the data (standard input, an empty folder, a file that cannot be read or has no such
    column: the reader says why then). Of a folder or pattern, the first file's column."""
    import pyarrow as pa

    name_ = os.fspath(path)
    try:
        files = _files(name_) if name_ != "-" else None
        if name_ == "-" or files == []:
            return None
        name_ = files[0] if files else name_  # a folder or pattern: its first file, whose types all must share
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
    except (ValueError, KeyError, OSError, StopIteration, pa.ArrowException):  # KeyError: a name twice
        return None
    if pa.types.is_boolean(column.type):
        return "boolean"
    if pa.types.is_dictionary(column.type):
        return "category"
    return _kind(column, src.decimal)[0]


def row_labels(path, *, sep: str | None = None) -> str | None:
    """The name of the column of row labels of a file, which ``carry`` takes along with the rows: ``""``
    for a CSV's unnamed first column (as R's ``write.csv`` and pandas' ``to_csv`` write the row names or
    index), ``__index_level_0__`` for the index pandas writes to a Parquet file; None without one, or
    where it cannot be told beforehand (standard input: ``"-"``; the first file of a folder or pattern
    says for them all)."""
    import pyarrow as pa

    name_ = os.fspath(path)
    try:
        files = _files(name_) if name_ != "-" else None
        if name_ == "-":
            return None
        src = _Source(files[0] if files else name_, sep=sep)
        if src.fmt == "parquet":
            import pyarrow.parquet as pq

            names = pq.ParquetFile(src.arrow(), pre_buffer=False).schema_arrow.names
            return PANDAS_INDEX if PANDAS_INDEX in names else None
        names = _csv_head(src).column_names
    except (ValueError, OSError, pa.ArrowException):
        return None  # the reader says what is wrong with the file
    return "" if len(names) > 1 and names[0] == "" else None


PANDAS_INDEX = "__index_level_0__"  # the column pandas' to_parquet writes an index to (one not 0, 1, 2, ...)


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

"""What is known of a table before it is read, and how to read it: whole or in chunks, by the memory
budget (:func:`plan_read`), the rows a chunk holds (:data:`CHUNK_ROWS`), and the kind of a column from a
file's first rows (:func:`column_kind`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .cells import _kind
from .columns import pandas_index
from .pieces import _csv_head, _csv_head_bytes, _header_end
from .source import _csv_options, _files, _Source

CHUNK_ROWS = 50_000  # rows a chunk holds, where a table is read in chunks (and leastsq's pass over arrays)
MAX_DEFAULT_BUDGET = 1 << 30  # the default memory budget: a quarter of the available memory, at most this


def default_budget() -> int:
    """The memory a table may take read whole, by default: a quarter of the available memory, at most
    :data:`MAX_DEFAULT_BUDGET`."""
    from .. import memory

    return min(memory.available_bytes() // 4, MAX_DEFAULT_BUDGET)


def release_interval(budget: int | None, chunk_bytes: float) -> int:
    """The bytes of chunks read between two hand-backs of pyarrow's unused memory
    (:func:`~linearnet.memory.release_arrow_unused`): :data:`UNIT_CHUNKS` chunks of ``chunk_bytes``, fewer
    where a 32nd of the memory budget (None: the default; 64 MB at most) holds fewer; 0 (after every chunk)
    for chunks under 1 MB, whose memory costs little to take anew."""
    if chunk_bytes < 1 << 20:
        return 0
    most = min((default_budget() if budget is None else budget) // 32, 64 << 20)
    return int(min(most, UNIT_CHUNKS * chunk_bytes))


UNIT_CHUNKS = 4  # chunks a Parquet file is decoded by at a time, at most
# the bytes of values decoded at a time, at most: on 5,000,000 x 20 Parquet, decoding four chunks of 8 MB at a
# time took as long as one at a time (2.3-2.4 s a solve) and 80 MB more memory (330 against 247 MB; a streamed
# epoch 645 against 566 MB): units beyond a default chunk buy nothing, smaller chunks are still gathered
UNIT_BYTES = 8 << 20


def unit_rows(budget: int | None, chunk_rows: int, row_bytes: float) -> int:
    """The rows a Parquet file is decoded by at a time, then cut into chunks: :data:`UNIT_CHUNKS` chunks of
    ``chunk_rows`` rows of ``row_bytes`` each, fewer where a 32nd of the memory budget (None: the default) or
    :data:`UNIT_BYTES` holds fewer, one at least. A larger batch keeps pyarrow's threads busier than small
    chunks' rows."""
    most = min((default_budget() if budget is None else budget) // 32, UNIT_BYTES)
    return chunk_rows * max(1, min(UNIT_CHUNKS, int(most // max(1.0, chunk_rows * row_bytes))))


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
    sep: str | None = None,
    decimal: str | None = None,
) -> ReadPlan:
    """Whether ``path`` is read whole or in chunks: in chunks when reading it whole would take more than
    ``budget`` bytes (None: :func:`default_budget`), and the note that says so.

    ``chunked`` True or False decides it beforehand (a size of chunk asked for, a formula, a share of the
    file each process reads): nothing is looked at then, and there is no note. ``streamed=False`` is for
    what is read whole whatever its size (softmax regression): the note says what the whole read takes
    when that passes the budget. ``chunk_rows`` (None: :data:`CHUNK_ROWS`) is the rows of a chunk.
    What a whole read takes is measured on the file's first rows (:func:`whole_read_bytes`), of every
    source alike: a compressed file, standard input, a named pipe, a folder. ``sep`` and ``decimal`` as
    the read will be given them.
    """
    from ..memory import human_bytes

    budget = default_budget() if budget is None else budget
    rows = CHUNK_ROWS if chunk_rows is None else chunk_rows
    if chunked is not None:
        return ReadPlan(chunked=chunked, budget=budget, chunk_rows=rows)
    measured = _measured(path, sep=sep, decimal=decimal, beyond=budget)
    need, exact = (measured.need, measured.exact) if measured is not None else (None, True)
    plan = ReadPlan(chunked=False, budget=budget, need=need, chunk_rows=rows)
    if not plan.over_budget:
        return plan
    assert need is not None
    over = f"{'about' if exact else 'more than'} {human_bytes(need)}, over the memory budget of {human_bytes(budget)}"
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

    if os.fspath(path) == "-":
        return None
    try:
        return header(path, sep=sep)[1]
    except (ValueError, OSError, pa.ArrowException):
        return None  # the reader says what is wrong with the file


def header(path, *, sep: str | None = None) -> tuple[list[str], str | None]:
    """The column names of a file (the first of a folder or a pattern) and its column of row labels
    (:func:`row_labels`), from its schema or its first rows."""
    name_ = os.fspath(path)
    files = _files(name_) if name_ != "-" else None
    src = _Source(files[0] if files else name_, sep=sep)
    if src.fmt == "parquet":
        import pyarrow.parquet as pq

        schema = pq.ParquetFile(src.arrow(), pre_buffer=False).schema_arrow
        index = pandas_index(schema)
        names = [str(n) for n in schema.names]
        return names, index[0] if index else PANDAS_INDEX if PANDAS_INDEX in names else None
    names = [str(n) for n in _csv_head(src).column_names]
    return names, "" if len(names) > 1 and names[0] == "" else None


PANDAS_INDEX = "__index_level_0__"  # the column pandas' to_parquet writes an index to (one not 0, 1, 2, ...)


def whole_read_bytes(path, *, sep: str | None = None, decimal: str | None = None) -> int | None:
    """About how much memory reading ``path`` whole takes, measured on its first rows (see
    :func:`_measured`); for a folder or a pattern, the sum over its files. None where the reader will
    refuse the file (it says why then)."""
    measured = _measured(path, sep=sep, decimal=decimal)
    return None if measured is None else measured.need


def table_values(path, *, sep: str | None = None, decimal: str | None = None) -> int | None:
    """About how many values (rows × columns) ``path`` holds, as :func:`whole_read_bytes` measures it: the
    size of the data, for what depends on it before the data are read (the engine a run picks)."""
    measured = _measured(path, sep=sep, decimal=decimal)
    return None if measured is None else measured.values


# float64 copies of a value a whole read makes on the way (its arrays, the checks', the features'),
# beside pyarrow's table of it: measured on files of numbers, 4 to 5 (5 bytes per row of text: about 4.5)
_COPIES = 4.5


@dataclass(frozen=True)
class _Measure:
    need: int  # bytes a whole read takes
    values: int  # rows × columns
    exact: bool = True  # False: more than that (the count stopped past the budget)

    def __add__(self, other: _Measure) -> _Measure:
        return _Measure(self.need + other.need, self.values + other.values, self.exact and other.exact)


def _measured(path, *, sep=None, decimal=None, beyond: int | None = None) -> _Measure | None:
    """The memory reading ``path`` whole takes, and the values it holds (all of them, or more than that,
    found when the count passed ``beyond``). The first rows parsed (about a megabyte of a CSV, a thousand
    rows of a Parquet file) give the bytes a row takes in pyarrow's table; each value then takes float64
    copies (:data:`_COPIES`), and a CSV's text is held while it is parsed. The rows: a Parquet file's
    count; a CSV's, from the bytes its first rows take, of a compressed CSV the bytes counted as it is
    decompressed (standard input and a named pipe are copied to be read: their copy's size). Of a folder
    or a pattern, the first file of each format is measured so, the others by that measure (their files
    have the same columns): a glance at each, not a parse."""
    import pyarrow as pa

    name = os.fspath(path)
    try:
        files = _files(name) if name != "-" else None
        rates: dict[str, tuple[float, float]] = {}  # by format: what the first file of it measured
        total = _Measure(0, 0)
        for file in files or [name]:
            src = _Source(file, sep=sep, decimal=decimal)
            left = None if beyond is None else beyond - total.need
            total += _parquet_measure(src, rates) if src.fmt == "parquet" else _csv_measure(src, left, rates)
            if not total.exact:
                break
        return total
    except (ValueError, OSError, pa.ArrowException, StopIteration):  # the reader says what is wrong with the file
        return None


def _parquet_measure(src: _Source, rates: dict) -> _Measure:
    """A Parquet file's measure; ``rates["parquet"]``: the bytes of a row in pyarrow's table and its columns."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(src.arrow(), pre_buffer=False)
    rows = pf.metadata.num_rows
    if "parquet" not in rates:
        if rows == 0:
            return _Measure(0, 0)
        batches = pf.iter_batches(batch_size=1000)
        first = next(batches)
        batches.close()
        rates["parquet"] = (first.nbytes / max(1, first.num_rows), pf.metadata.num_columns)
    row_bytes, columns = rates["parquet"]
    return _Measure(int(rows * (row_bytes + (_COPIES - 1) * 8 * columns)), int(rows * columns))  # the table: a copy


def _csv_measure(src: _Source, beyond: int | None, rates: dict) -> _Measure:
    """A CSV's measure; ``rates["csv"]``: the memory and the values a byte of its rows' text comes to."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rows = None
    if "csv" not in rates:
        data = _csv_head_bytes(src)
        head = pcsv.read_csv(pa.py_buffer(data), **_csv_options(src))
        rows_bytes = max(1, len(data) - _header_end(data, src.eol, src.sep.encode()))
        per_byte = (head.nbytes + _COPIES * 8 * head.num_columns * head.num_rows) / rows_bytes  # of rows' text
        rates["csv"] = (per_byte, head.num_rows * head.num_columns / rows_bytes)
        whole = (src.size() or 1 << 62) - len(data) <= 2  # all of it parsed (its last line end cut)
        rows = head.num_rows * head.num_columns if whole else None
    per_byte, values_per_byte = rates["csv"]
    size, exact = src.size(), True
    if size is None:  # a compressed file: its bytes counted as they are decompressed
        size, exact = _decompressed_size(src, None if beyond is None else int(beyond / (1 + per_byte)) + 1)
    return _Measure(int(size * (1 + per_byte)), rows if rows is not None else round(size * values_per_byte), exact)


def _decompressed_size(src: _Source, most: int | None) -> tuple[int, bool]:
    """The bytes of a compressed file decompressed, and whether that is all (False: more than ``most``)."""
    size = 0
    with src.binary() as fh:
        while block := fh.read(1 << 20):
            size += len(block)
            if most is not None and size > most:
                return size, False
    return size, True

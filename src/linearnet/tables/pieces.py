"""A table's rows a piece at a time: a CSV cut into byte pieces at record ends (outside quoted values),
a Parquet file's row groups; the parts of one or more files a pass reads, in file order or, once a pass
has listed them, one by one."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..memory import release_arrow_unused
from .cells import EXACT
from .columns import _check_header
from .diagnose import _diagnosis
from .messages import _any_field_size, _reason, _where
from .source import _csv_options, _Source


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
    ``in_order()`` yields ``(first_row, arrow_table)``, rows counted from 1 at the part's first row; ``index``
    lists the pieces a pass in order found (None while unknown, or where the file cannot be read out of order),
    ``read(i)`` yields piece ``i``'s rows the same way; ``done``: the bytes of the part's ``size`` (None where
    not known) the pass in order has read up to the piece it yielded last."""

    index: list | None = None
    done: int = 0
    size: int | None = None

    def in_order(self) -> Iterator[tuple[int, Any]]:  # pragma: no cover - an interface
        raise NotImplementedError

    def read(self, i: int) -> Iterator[tuple[int, Any]]:  # pragma: no cover - an interface
        raise NotImplementedError


class _ParquetPieces(_Pieces):
    """A part's row groups, read in slices of ``chunk_rows``: in order, or a row group at a time out of order;
    decoded by pyarrow's threads ``unit_rows`` (a multiple of ``chunk_rows``) at a time."""

    def __init__(self, part: _Part, columns: list[str], chunk_rows: int, unit_rows: int | None = None):
        import pyarrow.parquet as pq

        # pre_buffer=False: pyarrow would otherwise buffer every row group of the file up front
        self.pf = pq.ParquetFile(part.src.arrow(), pre_buffer=False, buffer_size=1 << 20)
        self.groups, self.columns, self.chunk_rows, self.size = part.groups, columns, chunk_rows, part.size
        self.unit_rows = unit_rows or chunk_rows
        firsts = np.cumsum([0, *part.group_rows])
        self.rows = int(firsts[-1])
        self.index = [(int(firsts[i]) + 1, group) for i, group in enumerate(part.groups)]

    def in_order(self) -> Iterator[tuple[int, Any]]:
        row, rows = 1, max(self.rows, 1)
        for batch in self._batches(self.groups):
            self.done = (self.size or 0) * (row - 1 + batch.num_rows) // rows  # in proportion to the rows
            yield row, batch
            row += batch.num_rows

    def read(self, i: int) -> Iterator[tuple[int, Any]]:
        assert self.index is not None
        row, group = self.index[i]
        for batch in self._batches([group]):
            yield row, batch
            row += batch.num_rows

    def _batches(self, groups: list[int]) -> Iterator[Any]:
        """The rows of ``groups`` in slices of ``chunk_rows`` (the last the rest), as batches of ``chunk_rows`` are."""
        options = dict(row_groups=groups, columns=self.columns, use_threads=True)
        for unit in self.pf.iter_batches(batch_size=self.unit_rows, **options):
            yield from (unit.slice(start, self.chunk_rows) for start in range(0, unit.num_rows, self.chunk_rows))


class _CsvPieces(_Pieces):
    """A CSV's rows (bytes ``start`` to ``end`` of the file: all of it by default) cut into pieces of
    about ``block`` bytes at line ends outside quoted fields, each parsed by pyarrow on its own.

    pyarrow's streaming CSV reader reads ahead of its consumer without bound (about the whole file at disk
    speed); cutting the pieces here keeps a piece or two in memory, and lets a pass in order remember where
    each piece lies, so that training can visit them in any order."""

    def __init__(
        self,
        src: _Source,
        names: list[str],
        wanted: list[str],
        types: dict,
        block: int,
        start: int = 0,
        end: int | None = None,
        integers: frozenset[str] = frozenset(),
    ):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        self.src, self.block, self.start, self.end = src, block, start, end
        self.read_options = pcsv.ReadOptions(column_names=names)  # the header is cut off the first piece
        self.options = _csv_options(src, include_columns=wanted, column_types=types)
        self.integers = [name for name in integers if name in wanted]
        self.seekable = src.size() is not None and not src.once  # a plain file: pieces can be read again by offset
        self._sep = src.sep.encode()
        self.booleans = frozenset(name for name, t in types.items() if pa.types.is_boolean(t))
        size = src.size()
        self.size = None if size is None else (size if end is None else end) - start

    def _parse(self, data: bytes | memoryview):
        return self._exact(data, self._read(data, self.options))

    def _read(self, data: bytes | memoryview, options: dict):
        import pyarrow as pa
        import pyarrow.csv as pcsv

        options = {**options, "read_options": self.read_options}  # the names: the header is cut off
        try:
            return pcsv.read_csv(pa.py_buffer(data), **options)
        except pa.ArrowInvalid:  # perhaps a quoted value spanning lines across pyarrow's blocks: read again
            options = {**options, "parse_options": pcsv.ParseOptions(delimiter=self.src.sep, newlines_in_values=True)}
            return pcsv.read_csv(pa.py_buffer(data), **options)

    def _exact(self, data: bytes | memoryview, table):
        """``table`` with its columns of whole numbers (as the first rows typed them) that reach 2**53 read
        again as int64, as a whole read takes them: so that one float64 would round is refused alike (a piece
        where such a column holds a decimal number keeps its float64, as a whole read does)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        big = [n for n in self.integers if (pc.max(pc.abs(table.column(n))).as_py() or 0) >= EXACT]
        if not big:
            return table
        try:
            ints = self._read(
                data, _csv_options(self.src, include_columns=big, column_types=dict.fromkeys(big, pa.int64()))
            )
        except pa.ArrowInvalid:
            return table
        for name in big:
            table = table.set_column(table.schema.get_field_index(name), name, ints.column(name))
        return table

    def in_order(self) -> Iterator[tuple[int, Any]]:
        index, row, offset = [], 1, self.start
        whole = self.start == 0 and self.end is None
        with self.src.binary() if whole else _Range(self.src.path, self.start, self.end) as fh:
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
        with open(self.src.path, "rb") as fh:
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

    def __init__(
        self,
        parts: list[_Part],
        *,
        names: list[str],
        wanted: list[str],
        types: dict,
        chunk_rows: int,
        integers: frozenset[str] = frozenset(),
        unit_rows: int | None = None,
    ):
        import pyarrow as pa

        self.parts, self.names, self.wanted, self.types, self.chunk_rows = parts, names, wanted, types, chunk_rows
        self.integers = integers  # CSV: the columns of whole numbers in the first rows (read as float64)
        self.unit_rows = unit_rows  # Parquet: the rows decoded at a time (None: chunk_rows)
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
                pieces = _ParquetPieces(part, self.wanted, self.chunk_rows, self.unit_rows)
            else:
                part.block = part.block or _block(part.src, self.chunk_rows)
                pieces = _CsvPieces(
                    part.src, self.names, self.wanted, self.types, part.block, part.start, part.end, self.integers
                )
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
                io.BufferedReader(_Range(src.path, 0, offset)), encoding="utf-8", errors="replace", newline=""
            ) as fh,
        ):
            reader = csv.reader(fh, delimiter=src.sep)
            next(reader, None)
            return sum(1 for fields in reader if fields)


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
    last = data.rfind(b'"', 0, size)  # the quotes are counted up to the last one only (a header's, say)
    quotes = _quotes(data, 0, min(size, last + 2), sep) if last >= 0 else 0
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

    return pcsv.read_csv(pa.py_buffer(_csv_head_bytes(src)), **_csv_options(src))


def _csv_head_bytes(src: _Source) -> bytes:
    """The bytes of the header and the rows of about the first megabyte (at least one row, when the file
    has one), cut at a record's end."""
    data = b""
    with src.binary() as fh:
        sep = src.sep.encode()
        for piece in _line_pieces(fh, 1 << 20, src.eol, sep):
            data += piece
            start = _header_end(data, src.eol, sep)
            if start < len(data) and not _blank(memoryview(data)[start:]):
                break  # a row after the header
    return data


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


def _count_guess(src: _Source, sample: int = 1 << 20) -> int:
    """Rows in the file, estimated from the line count of its first megabyte."""
    size = src.size() or 0
    with src.binary() as fh:
        head = fh.read(sample)
    lines = max(1, head.count(src.eol))
    return max(1, int(lines * size / max(1, len(head))))


def _parquet_head(src: _Source, chunk_rows: int):
    """A Parquet file's first rows (a chunk's, at least 1,000), its column names, and whether these rows
    are not all of it (a column empty in them may hold numbers further on)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = src.name
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
    release_arrow_unused()
    return first, names, first.num_rows < pf.metadata.num_rows


def _csv_first_rows(src: _Source):
    """A CSV's rows of about its first megabyte, its column names, and whether these rows are not all of it."""
    import pyarrow as pa

    try:
        first = _csv_head(src)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValueError(_diagnosis(src) or f"{src.name}: cannot be read as CSV ({exc})") from None
    if first.num_rows == 0:
        raise ValueError(f"{src.name}: has a header but no rows")
    names = [str(n) for n in first.schema.names]
    return first, names, src.size() is None or (src.size() or 0) > (1 << 20)  # about the first megabyte read


def _piece_types(first, wanted: list[str], text: list[str]) -> dict:
    """The types the columns are read as in CSV pieces, from the first rows: numbers as float64 (booleans
    as booleans, numbers written as text as text, dates and times as dates and times); the columns ``text`` as
    text, as written."""
    import pyarrow as pa

    types = {name: pa.string() for name in text}
    for w in [w for w in wanted if w not in text]:
        t = first.column(w).type
        kept = pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_date(t) or pa.types.is_timestamp(t)
        types[w] = t if kept else pa.float64()
    return types


def _integers(src: _Source, first, types: dict) -> frozenset[str]:
    """A CSV's columns read as float64 that its first rows hold whole numbers in (typed int64 by pyarrow)."""
    import pyarrow as pa

    if src.fmt != "csv":
        return frozenset()
    return frozenset(n for n, t in types.items() if t == pa.float64() and pa.types.is_integer(first.column(n).type))

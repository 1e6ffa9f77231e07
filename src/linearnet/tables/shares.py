"""A table shared between processes: each reads about a ``size``-th of the bytes of all the files,
contiguous in file order, a CSV cut where a line starts, a Parquet file by whole row groups."""

from __future__ import annotations

from .messages import _listing, _reason
from .pieces import _blank, _header_end, _Part
from .source import _SAMPLE, _csv_options, _Source


def _line_start(src: _Source, offset: int) -> int:
    """Where the rows of a CSV are cut between two processes' shares at byte ``offset``: the start of the
    next line, one past the first line end at byte ``offset - 1`` or later (``offset`` itself when a line
    ends just before it), or the end of the file. Both neighbours find the same cut from the same bytes."""
    with open(src.path, "rb") as fh:
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


def _file_parts(
    src: _Source, files: list[str] | None, names: list[str], *, sep: str | None, decimal: str | None, shared: bool
) -> list[_Part]:
    """The part that is all the rows of each file (``src`` the first), each with the first file's columns."""
    parts = []
    for k, file in enumerate(files or [src.name]):
        file_src = src if k == 0 else _Source(file, sep=sep, decimal=decimal)
        if shared and file_src.once:
            raise ValueError(
                f"{file_src.name}: can be read only once, so processes cannot each read their share of it; "
                f"save it to a file first"
            )
        if shared and file_src.size() is None:
            raise ValueError(
                f"{file_src.name}: a compressed CSV cannot be shared between processes (each reads its share "
                f"from the middle of the file); decompress it, or write it as Parquet"
            )
        header, part = _whole_file(file_src, weigh=shared)
        if header != names:
            raise ValueError(
                f"{file_src.name}: its columns ({_listing(header)}) differ from those of {src.name} "
                f"({_listing(names)}); files read as one table need the same columns"
            )
        parts.append(part)
    return parts

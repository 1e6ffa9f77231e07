"""Where a table's bytes come from: a file (``.gz``, ``.bz2``, ``.xz``, ``.zst`` decompressed by its
extension), standard input, or the files of a folder or a pattern; CSV or Parquet told by content, and a
CSV's separator and decimal mark found from its first lines (or given)."""

from __future__ import annotations

import atexit
import contextlib
import csv
import errno
import io
import lzma
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from .cells import NA_TOKENS

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}


_PARQUET_MAGIC = b"PAR1"
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}
_SAMPLE = 1 << 16  # bytes looked at to tell the format, the separator and the decimal mark


class _Source:
    """A table's bytes: a file (decompressed by its extension), or an input that can be read only once
    (standard input, a named pipe, ``<(...)``) kept as it is read (see :class:`_Spool`), with its format
    and, for CSV, its separator and decimal mark. ``name`` is what messages call it, ``path`` where
    its bytes are read from (the temporary copy of an input read once)."""

    def __init__(self, path, *, sep: str | None = None, decimal: str | None = None):
        self.name = os.fspath(path)
        self.compression: str | None = None
        self._spool: _Spool | None = None
        if self.name == "-":
            self._spool = _spooled(self.name, None)
        else:
            status = _status(self.name)
            if stat.S_ISDIR(status.st_mode):
                raise ValueError(f"{_named(self.name)}: is a directory, expected a CSV or Parquet file")
            if stat.S_ISREG(status.st_mode):
                self.compression = _COMPRESSION.get(Path(self.name).suffix.lower())
            else:  # a named pipe, a terminal, /dev/stdin on a pipe, <(...): bytes that can be read once
                self._spool = _spooled(self.name, status)
        self.path = self.name if self._spool is None else self._spool.path
        if self._spool is not None:
            head = self._spool.head
        else:
            try:
                with self.binary() as fh:
                    head = fh.read(_SAMPLE)
            except OSError as exc:
                raise input_error(self.name, exc) from None
        self.fmt = self._format(head)  # a stream of binary bytes (/dev/zero) is refused before it is read on
        if self._spool is not None:
            self._spool.finish()
        self.eol = b"\r" if b"\r" in head and b"\n" not in head else b"\n"  # old Mac files end lines with CR
        self.sep, self.decimal = ",", "."
        self.header: list[str] | None = None  # the columns' names when the header is one field short
        if self.fmt == "csv":
            self.sep = _check_sep(sep) if sep is not None else _sniff_separator(head)
            self.decimal = _check_decimal(decimal) if decimal is not None else _sniff_decimal(head, self.sep)
            self.header = _short_header(head, self.sep)

    @property
    def once(self) -> bool:
        """Whether the input can be read only once: its copy is read in file order, as it came."""
        return self._spool is not None

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
            if self._spool is not None:
                self._spool.finish()
            with open(self.path, "rb") as fh:
                fh.seek(max(0, os.path.getsize(self.path) - 4))
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
        if self.compression == "xz":  # not among pyarrow's codecs: Python's lzma
            return _XzFile(self.path)
        if self.compression is not None:
            import pyarrow as pa

            return pa.input_stream(self.path, compression=self.compression)
        return open(self.path, "rb")

    def text(self):
        """A fresh text stream for Python's csv module."""
        return io.TextIOWrapper(self.binary(), encoding="utf-8", errors="replace", newline="")

    def arrow(self):
        """What pyarrow's readers take: the path itself where they can read it directly."""
        return self.path if self.compression is None else self.binary()

    def size(self) -> int | None:
        """Bytes of an uncompressed file (of the copy of an input read once; None for a compressed file)."""
        return os.path.getsize(self.path) if self.compression is None else None


class _XzFile(lzma.LZMAFile):
    """An xz file's bytes, a damaged or cut-off stream an ``OSError`` as pyarrow's codecs raise it."""

    def read(self, size: int | None = -1) -> bytes:
        try:
            return super().read(-1 if size is None else size)
        except (lzma.LZMAError, EOFError) as exc:
            raise OSError(f"xz: {exc}") from None

    def read1(self, size: int = -1) -> bytes:
        try:
            return super().read1(size)
        except (lzma.LZMAError, EOFError) as exc:
            raise OSError(f"xz: {exc}") from None

    def readinto(self, buffer) -> int:
        data = self.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _named(name: str, most: int = 120) -> str:
    """A file's name for a message, cut where it is longer than any a file system takes."""
    return name if len(name) <= most else f"{name[: most - 20]}...{name[-16:]} ({len(name):,} characters)"


_OS_ERRORS = {
    errno.ENOENT: "no such file",
    errno.ENOTDIR: "no such file (a part of its path is a file, not a folder)",
    errno.ENAMETOOLONG: "no file can have this name: it is too long (a name in a path has at most 255 bytes)",
    errno.ELOOP: "is a loop of symbolic links, each pointing on to the next: no file is at its end",
    errno.EISDIR: "is a directory, expected a CSV or Parquet file",
}


def input_error(name: str, exc: BaseException) -> ValueError:
    """The one-line error of an input that cannot be opened or read: ``exc`` said in words, the file named."""
    why = _OS_ERRORS.get(getattr(exc, "errno", None) or 0)
    why = why or f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    return ValueError(f"{_named(name)}: {why}")


def _status(name: str) -> os.stat_result:
    """What the file system says of an input (its links followed); an error as one line naming it."""
    try:
        return os.stat(name)
    except OSError as exc:
        raise input_error(name, exc) from None
    except ValueError:  # a NUL in the name
        raise ValueError(f"{_named(name)!r}: no file can have this name (it holds a NUL character)") from None


_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}
_BLOCK = 1 << 20  # bytes an input read once is copied by at a time
_SPOOLS: dict[tuple, _Spool | str] = {}  # the inputs read once in this process, by what they are (str: failed)
_STDINS: dict[int, object] = {}  # the standard inputs of those, by their ids


class _Spool:
    """An input that can be read only once (standard input, a named pipe, ``<(...)``), read once: its
    first bytes first (what its format is told from), then, once that is accepted, the rest, copied a
    block at a time into a temporary file that every later read of it opens (``path``) — so that it is
    read in chunks like a file, pass after pass. Bytes starting like a gzip, bzip2, xz or zstd stream
    are decompressed as they are copied. The temporary file is gone when the process ends. The input stays
    open until then: a named pipe or a pipe is known by its inode, which the file system could give to
    another one once nothing holds it."""

    def __init__(self, name: str, raw):
        self.name, self._raw = name, raw
        self.failed: str | None = None
        self._file, self.path = _temporary(name)
        try:
            first = _read_full(raw.read, _SAMPLE)
        except OSError as exc:
            raise input_error(name, exc) from None
        self.codec = next((codec for magic, codec in _MAGIC.items() if first.startswith(magic)), None)
        self._stream = _Prefixed(first, raw)
        if self.codec is not None:
            self._stream = self._decompressing(self._stream)
        self.done = False
        self._copy(_SAMPLE)
        self.head = self._head()

    def _decompressing(self, stream):
        import bz2
        import gzip

        if self.codec == "gzip":
            return gzip.GzipFile(fileobj=stream, mode="rb")
        if self.codec == "bz2":
            return bz2.BZ2File(stream)
        if self.codec == "xz":
            return lzma.LZMAFile(stream)
        import pyarrow as pa

        return pa.input_stream(pa.PythonFile(stream, mode="r"), compression=self.codec)

    def _copy(self, most: int | None = None) -> None:
        """Copy the stream on to the temporary file: ``most`` bytes, or the rest of it."""
        import zlib

        copied = 0
        while most is None or copied < most:
            try:
                block = _read_full(self._stream.read, _BLOCK if most is None else min(_BLOCK, most - copied))
            except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
                if self.codec is None:
                    raise input_error(self.name, exc) from None
                raise ValueError(
                    f"{self._called}starts like a {self.codec} file but cannot be decompressed ({exc})"
                ) from None
            if not block:
                self.done = True
                break
            try:
                self._file.write(block)
            except OSError as exc:
                raise ValueError(
                    f"{_named(self.name)}: can be read only once, and the copy kept to read it cannot be written "
                    f"({getattr(exc, 'strerror', None) or exc}); save it to a file first"
                ) from None
            copied += len(block)
        self._file.flush()

    def _head(self) -> bytes:
        with open(self.path, "rb") as fh:
            return fh.read(_SAMPLE)

    @property
    def _called(self) -> str:
        return "-: standard input " if self.name == "-" else f"{_named(self.name)}: "

    def finish(self) -> None:
        """Copy the rest of the input (once; a failure is said again to a later reader, never read on)."""
        if self.failed is not None:
            raise ValueError(self.failed)
        if not self.done:
            try:
                self._copy()
            except ValueError as exc:
                self.failed = str(exc)
                raise

    def close(self) -> None:
        """Close the copy and the input (standard input is left open)."""
        self._file.close()
        if self._raw is not getattr(sys.stdin, "buffer", None):
            self._raw.close()


class _Prefixed(io.RawIOBase):
    """Bytes already read, then the rest of the stream they came from."""

    def __init__(self, first: bytes, rest):
        self._first, self._rest = memoryview(first), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if len(self._first):
            n = min(len(buffer), len(self._first))
            memoryview(buffer).cast("B")[:n] = self._first[:n]
            self._first = self._first[n:]
            return n
        data = self._rest.read(len(buffer)) or b""
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _read_full(read, size: int) -> bytes:
    """``size`` bytes of a stream, fewer at its end only (a pipe gives what its writer wrote so far)."""
    parts, got = [], 0
    while got < size:
        block = read(size - got)
        if not block:
            break
        parts.append(block)
        got += len(block)
    return b"".join(parts)


def _temporary(name: str):
    """A file to keep the copy in and a path that opens it anew: on Linux an unnamed file, through
    /proc/self/fd (it goes with the process however it ends); elsewhere a named one, removed at exit."""
    try:
        file: Any = tempfile.TemporaryFile(prefix="linearnet-input-")
        path = f"/proc/self/fd/{file.fileno()}"
        if os.path.exists(path):
            return file, path
        file.close()
        file = tempfile.NamedTemporaryFile(prefix="linearnet-input-", delete=False)
    except OSError as exc:
        raise ValueError(
            f"{_named(name)}: can be read only once, and no temporary file to keep it in can be made "
            f"({getattr(exc, 'strerror', None) or exc}); save it to a file first"
        ) from None

    def remove() -> None:
        with contextlib.suppress(OSError):
            os.unlink(file.name)

    atexit.register(remove)
    return file, file.name


@atexit.register
def _close_spools() -> None:
    for spool in _SPOOLS.values():
        if isinstance(spool, _Spool):
            with contextlib.suppress(OSError, ValueError):
                spool.close()


def _spooled(name: str, status: os.stat_result | None) -> _Spool:
    """The input ``name`` read once: its copy, made the first time it is asked for in this process."""
    if name == "-":
        raw = getattr(sys.stdin, "buffer", None)
        if raw is None:  # started with standard input closed (<&-)
            raise ValueError("-: standard input is closed; give the data on it, or a file's name")
        key: tuple = ("-", id(raw))
        _STDINS[id(raw)] = raw  # held: its id is not reused for another stream while its copy is known
    else:
        assert status is not None
        key = (status.st_dev, status.st_ino)
        raw = None
    spool = _SPOOLS.get(key)
    if isinstance(spool, str):  # it failed: said again, never opened again (a pipe would wait for a writer)
        raise ValueError(spool)
    if spool is None:
        try:
            if raw is None:
                try:
                    raw = open(name, "rb", buffering=0)  # blocks until a writer opens
                except OSError as exc:
                    raise input_error(name, exc) from None
            spool = _SPOOLS[key] = _Spool(name, raw)
        except ValueError as exc:
            _SPOOLS[key] = str(exc)
            raise
    return spool


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
    """The separator among , ; TAB | that splits the first lines into the same number of fields > 1 (the
    header perhaps one fewer: R's write.table writes no name over the row names)."""
    lines = _sample_lines(head)
    best, best_fields = ",", 1
    for sep in SEPARATORS:  # the lines hold no line break or NUL, and no field over csv's limit: no csv.Error
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        fields = min(counts) if counts else 1
        if (len(counts) == 1 or _short_header(head, sep)) and fields > best_fields:
            best, best_fields = sep, fields
    return best


def _short_header(head: bytes, sep: str) -> list[str] | None:
    """The columns' names of a CSV whose header is one field short of every row after it, as R's
    ``write.table`` (and ``read.table``) take a first column of row names: the names with an empty one first,
    the row names' column; None for any other header."""
    rows = list(csv.reader(_sample_lines(head), delimiter=sep))
    if len(rows) < 2 or not all(len(row) == len(rows[0]) + 1 for row in rows[1:]):
        return None
    if all(row[-1] == "" for row in rows[1:]):  # a separator ending every row: a ragged file, not row names
        return None
    return ["", *rows[0]]


_DECIMAL_COMMA = re.compile(r"(^|;)\s*[+-]?\d+,\d+\s*(;|$)")


def _sniff_decimal(head: bytes, sep: str) -> str:
    """',' when the separator is ';' and a field is written like 3,5 (R's write.csv2, Excel in many locales)."""
    if sep != ";":
        return "."
    return "," if any(_DECIMAL_COMMA.search(line) for line in _sample_lines(head)[1:]) else "."


def detect_format(path) -> str:
    """'csv' or 'parquet', by content (Parquet's magic bytes), else by extension."""
    return _Source(path).fmt


def _csv_options(src: _Source, *, newlines: bool = False, **convert):
    """pyarrow's options for ``src``; ``newlines=True`` lets quoted values span lines (slower in threads,
    so taken only when a read without it fails). A header one field short is read as the names of the columns
    but the first, the row names' (named "")."""
    options = _dialect_options(src.sep, src.decimal, newlines=newlines, **convert)
    if src.header is not None:
        import pyarrow.csv as pcsv

        options["read_options"] = pcsv.ReadOptions(column_names=src.header, skip_rows=1)
    return options


def _dialect_options(sep: str, decimal: str, *, newlines: bool = False, **convert):
    """pyarrow's options for a CSV of separator ``sep`` and decimal mark ``decimal``."""
    import pyarrow.csv as pcsv

    return dict(
        parse_options=pcsv.ParseOptions(delimiter=sep, newlines_in_values=newlines),
        convert_options=pcsv.ConvertOptions(
            decimal_point=decimal, null_values=list(NA_TOKENS), strings_can_be_null=True, **convert
        ),
    )


_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def _files(path) -> list[str] | None:
    """The files a folder or a glob pattern names, sorted; None for one file (or standard input)."""
    import glob

    name = os.fspath(path)
    if name == "-" or os.path.isfile(name) or not (os.path.isdir(name) or any(c in name for c in "*?[")):
        return None  # a file is itself, even named like a pattern (sales[2024].csv)
    if os.path.isdir(name):
        try:
            os.listdir(name)  # a folder that cannot be listed says why, not that it holds no tables
        except OSError as exc:
            raise input_error(name, exc) from None
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

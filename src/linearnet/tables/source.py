"""Where a table's bytes come from: a file (``.gz``, ``.bz2``, ``.xz``, ``.zst`` decompressed by its
extension), standard input, or the files of a folder or a pattern; CSV or Parquet told by content, and a
CSV's separator and decimal mark found from its first lines (or given)."""

from __future__ import annotations

import csv
import io
import lzma
import os
import re
import sys
from pathlib import Path

from .cells import NA_TOKENS

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}


_PARQUET_MAGIC = b"PAR1"
_COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zstd": "zstd"}
_SAMPLE = 1 << 16  # bytes looked at to tell the format, the separator and the decimal mark


class _Source:
    """A table's bytes: a file (decompressed by its extension) or standard input held in memory,
    with its format and, for CSV, its separator and decimal mark."""

    def __init__(self, path, *, sep: str | None = None, decimal: str | None = None):
        self.name = os.fspath(path)
        self.data: bytes | None = None
        self.compression: str | None = None
        if self.name == "-":
            self.data = _decompressed(sys.stdin.buffer.read())
        else:
            p = Path(self.name)
            if not p.exists():
                raise ValueError(f"{self.name}: no such file")
            if p.is_dir():
                raise ValueError(f"{self.name}: is a directory, expected a CSV or Parquet file")
            self.compression = _COMPRESSION.get(p.suffix.lower())
        try:
            with self.binary() as fh:
                head = fh.read(_SAMPLE)
        except OSError as exc:
            raise ValueError(f"{self.name}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
        self.fmt = self._format(head)
        self.eol = b"\r" if b"\r" in head and b"\n" not in head else b"\n"  # old Mac files end lines with CR
        self.sep, self.decimal = ",", "."
        if self.fmt == "csv":
            self.sep = _check_sep(sep) if sep is not None else _sniff_separator(head)
            self.decimal = _check_decimal(decimal) if decimal is not None else _sniff_decimal(head, self.sep)

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
            if self.data is not None:
                end = self.data[-4:]
            else:
                with open(self.name, "rb") as fh:
                    fh.seek(max(0, os.path.getsize(self.name) - 4))
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
        if self.data is not None:
            return io.BytesIO(self.data)
        if self.compression == "xz":  # not among pyarrow's codecs: Python's lzma
            return _XzFile(self.name)
        if self.compression is not None:
            import pyarrow as pa

            return pa.input_stream(self.name, compression=self.compression)
        return open(self.name, "rb")

    def text(self):
        """A fresh text stream for Python's csv module."""
        return io.TextIOWrapper(self.binary(), encoding="utf-8", errors="replace", newline="")

    def arrow(self):
        """What pyarrow's readers take: the path itself where they can read it directly."""
        if self.data is None and self.compression is None:
            return self.name
        if self.data is not None:
            import pyarrow as pa

            return pa.BufferReader(self.data)
        return self.binary()

    def size(self) -> int | None:
        """Bytes on disk of an uncompressed file (None for standard input and compressed files)."""
        return os.path.getsize(self.name) if self.data is None and self.compression is None else None


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


_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"\x28\xb5\x2f\xfd": "zstd"}


def _decompressed(data: bytes) -> bytes:
    """Standard input as it is, or decompressed when it starts with a gzip, bzip2, xz or zstd header."""
    for magic, codec in _MAGIC.items():
        if data.startswith(magic):
            import pyarrow as pa

            try:
                if codec == "xz":
                    return lzma.decompress(data)
                with pa.input_stream(pa.BufferReader(data), compression=codec) as stream:
                    return stream.read()
            except (OSError, EOFError, lzma.LZMAError, pa.ArrowInvalid) as exc:
                raise ValueError(
                    f"-: standard input starts like a {codec} file but cannot be decompressed ({exc})"
                ) from None
    return data


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
    """The separator among , ; TAB | that splits the first lines into the same number of fields > 1."""
    lines = _sample_lines(head)
    best, best_fields = ",", 1
    for sep in SEPARATORS:  # the lines hold no line break or NUL, and no field over csv's limit: no csv.Error
        counts = {len(row) for row in csv.reader(lines, delimiter=sep)}
        fields = min(counts) if counts else 1
        if len(counts) == 1 and fields > best_fields:
            best, best_fields = sep, fields
    return best


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
    so taken only when a read without it fails)."""
    return _dialect_options(src.sep, src.decimal, newlines=newlines, **convert)


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

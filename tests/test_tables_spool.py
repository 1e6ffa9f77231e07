"""linearnet.tables.source: inputs that can be read only once (standard input, pipes) are copied as they are
read, compressed or not; what goes wrong on the way is one line naming the input."""

import bz2
import gzip
import io
import lzma
import sys
import tempfile

import numpy as np
import pytest

from linearnet.tables import read_table
from linearnet.tables import source as S


@pytest.fixture(autouse=True)
def _fresh_copies(monkeypatch):
    """Each test's standard input is copied anew: what an earlier test's input left is not looked up."""
    monkeypatch.setattr(S, "_SPOOLS", {})


ROWS = b"a,y\n" + b"".join(b"%d,%d\n" % (i, 2 * i + 1) for i in range(2000))


def _stdin(monkeypatch, data: bytes):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


@pytest.mark.parametrize(
    "pack", [lambda b: b, gzip.compress, bz2.compress, lzma.compress], ids=["plain", "gz", "bz2", "xz"]
)
def test_standard_input_compressed_or_not_is_read_once_and_whole(monkeypatch, pack):
    _stdin(monkeypatch, pack(ROWS))
    table = read_table("-", target="y")
    assert table.features.shape == (2000, 1) and np.array_equal(table.target, 2 * table.features[:, 0] + 1)


def test_a_compressed_input_that_breaks_off_is_one_line(monkeypatch):
    _stdin(monkeypatch, gzip.compress(ROWS * 20)[:-5000] + b"\x00" * 100)
    with pytest.raises(ValueError, match="starts like a gzip file but cannot be decompressed") as info:
        read_table("-", target="y")
    assert "\n" not in str(info.value)


def test_no_temporary_file_for_the_copy_is_one_line(monkeypatch):
    def refused(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    _stdin(monkeypatch, ROWS)
    with pytest.raises(ValueError, match=r"no temporary file to keep it in can be made \(No space left on device\)"):
        read_table("-", target="y")


def test_where_proc_is_missing_the_copy_is_a_named_file_removed_at_exit(monkeypatch):
    real = S.os.path.exists
    monkeypatch.setattr(S.os.path, "exists", lambda p: False if str(p).startswith("/proc/self/fd/") else real(p))
    _stdin(monkeypatch, ROWS)
    table = read_table("-", target="y")
    assert table.features.shape == (2000, 1)


def test_standard_input_closed_is_one_line(monkeypatch):
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(ValueError, match="standard input is closed"):
        read_table("-", target="y")


def test_zstandard_on_standard_input_and_a_failure_said_again_without_reading_on(monkeypatch):
    import pyarrow as pa

    _stdin(monkeypatch, pa.Codec("zstd").compress(ROWS, asbytes=True))
    assert read_table("-", target="y").features.shape == (2000, 1)
    _stdin(monkeypatch, gzip.compress(ROWS * 20)[:-5000] + b"\x00" * 100)
    for _ in range(2):  # the second read is told what the first found; the input is not read again
        with pytest.raises(ValueError, match="cannot be decompressed"):
            read_table("-", target="y")


def test_a_name_with_a_nul_character_is_one_line():
    with pytest.raises(ValueError, match="holds a NUL character"):
        read_table("data\x00.csv", target="y")

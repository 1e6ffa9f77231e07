"""linearnet.tables: files, standard input, compression, format, separator and decimal mark."""

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.tables import detect_format, read_table, table_chunks
from linearnet.tables.source import _SAMPLE

from helpers import cli
from table_helpers import PRICES, both_ways, stacked, write


def test_directory_missing_file_and_unreadable(tmp_path):
    with pytest.raises(ValueError, match=r": is a directory, expected a CSV or Parquet file$"):
        detect_format(tmp_path)
    with pytest.raises(ValueError, match=r": no CSV or Parquet files in this folder$"):
        read_table(tmp_path, target="y")
    with pytest.raises(ValueError, match=r"nope.csv: no such file$"):
        read_table(tmp_path / "nope.csv", target="y")
    path = write(tmp_path, "locked.csv", "a,y\n1,2\n")
    real_open = open

    def locked(file, *args, **kwargs):  # chmod 0 does not stop root, so refuse the way the OS would
        if str(file) == path:
            raise PermissionError(13, "Permission denied", path)
        return real_open(file, *args, **kwargs)

    import builtins
    from unittest import mock

    with mock.patch.object(builtins, "open", locked):
        with pytest.raises(ValueError, match=r"locked.csv: cannot be read \(Permission denied\)$"):
            read_table(path, target="y")


def test_format_is_picked_by_content(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    parquet_named_dat = tmp_path / "table.dat"
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "y": X[:, 2]}), parquet_named_dat)
    csv_named_txt = write(tmp_path, "table.txt", "a,b,y\n0,1,2\n3,4,5\n6,7,8\n9,10,11\n")
    assert detect_format(parquet_named_dat) == "parquet" and detect_format(csv_named_txt) == "csv"
    a, b = read_table(parquet_named_dat, target="y"), read_table(csv_named_txt, target="y")
    assert np.array_equal(a.features, b.features) and np.array_equal(a.target, b.target)


def test_text_that_is_not_utf8_is_refused(tmp_path):
    path = write(tmp_path, "latin.csv", "a,y\ncafé,1\nthé,2\n".encode("latin-1"))
    with pytest.raises(ValueError) as info:
        read_table(path, target="y")
    assert str(info.value) == f"{path}: is not UTF-8 text, expected a CSV or Parquet file"
    # UTF-8 whose sample (the bytes the format is told from) ends inside a two-byte character is still text
    rows, pad = divmod(_SAMPLE - 1 - len("name,a,y\n"), len("n,1,2\n"))
    head = "name,a,y\n" + "n,1,2\n" * rows + "x" * pad
    assert len(head.encode()) == _SAMPLE - 1
    cut = write(tmp_path, "cut.csv", head + "é,1,2\n")
    assert detect_format(cut) == "csv" and read_table(cut, target="y").num_rows == rows + 1


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz", ".zst"])
def test_compressed_files_are_read_by_their_extension(tmp_path, suffix):
    import lzma

    plain = write(tmp_path, "p.csv", "area,price\n120,400\n80,250\n150,480\n60,190\n")
    path = str(tmp_path / f"p.csv{suffix}")
    if suffix == ".xz":  # not among pyarrow's codecs: Python's lzma writes it
        Path(path).write_bytes(lzma.compress(Path(plain).read_bytes()))
    else:
        codec = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}[suffix]
        with open(plain, "rb") as src, pa.output_stream(path, compression=codec) as out:
            out.write(src.read())
    assert detect_format(path) == "csv"
    _, X, y, _ = both_ways(path)
    assert y.tolist() == PRICES and X[:, 0].tolist() == [120.0, 80.0, 150.0, 60.0]


def test_standard_input_is_read_as_a_file(monkeypatch):
    data = b"area;price\n120,5;400\n80;250\n150;480\n60;190\n"
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(data)})())
    table = read_table("-", target="price")
    assert table.features[:, 0].tolist() == [120.5, 80.0, 150.0, 60.0] and table.target.tolist() == PRICES


def test_a_forced_separator_and_decimal_mark_win_over_what_the_file_suggests(tmp_path):
    path = write(tmp_path, "odd.csv", "a;b,price\n1;2,400\n3;4,250\n5;6,480\n7;8,190\n")
    with pytest.raises(ValueError) as info:  # both split the header in two: the comma is taken
        read_table(path, target="price")
    assert str(info.value) == f"{path}: has no numeric column besides the target 'price'; its columns are: a;b, price"
    table = read_table(path, target="b,price", sep=";", decimal=",")
    assert table.feature_names == ["a"] and table.features[:, 0].tolist() == [1.0, 3.0, 5.0, 7.0]
    assert table.target.tolist() == [2.4, 4.25, 6.48, 8.19]
    with pytest.raises(ValueError) as info:
        read_table(path, target="price", sep=":")
    assert str(info.value) == "the separator must be one of , ; tab |, got ':'"
    with pytest.raises(ValueError) as info:
        read_table(path, target="price", decimal=";")
    assert str(info.value) == "the decimal mark must be . or , got ';'"


@pytest.mark.parametrize("codec", ["gzip", "xz"])
def test_compressed_standard_input_is_decompressed(monkeypatch, codec):
    import lzma

    data = {"gzip": gzip, "xz": lzma}[codec].compress(b"area,price\n120,400\n80,250\n150,480\n60,190\n")
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(data)})())
    assert read_table("-", target="price").target.tolist() == PRICES
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(data[:20])})())
    message = rf"^-: standard input starts like a {codec} file but cannot be decompressed \("
    with pytest.raises(ValueError, match=message):
        read_table("-", target="price")


def test_a_compressed_parquet_file_is_refused(tmp_path):

    plain = tmp_path / "p.parquet"
    pq.write_table(pa.table({"area": [120.0, 80.0], "price": [400.0, 250.0]}), plain)
    path = tmp_path / "p.parquet.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    message = f"{path}: is a compressed Parquet file; Parquet compresses its own columns: decompress the file first"
    for read in (lambda: read_table(path, target="price"), lambda: table_chunks(path, target="price")):
        with pytest.raises(ValueError) as info:
            read()
        assert str(info.value) == message


def test_parquet_is_read_from_standard_input(tmp_path, monkeypatch):
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"area": [120.0, 80.0, 150.0, 60.0], "city": list("abcd"), "price": PRICES}), path)
    data = path.read_bytes()
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(data)})())
    table = read_table("-", target="price")
    assert table.path == "-" and table.feature_names == ["area"] and table.target.tolist() == PRICES
    assert table.features[:, 0].tolist() == [120.0, 80.0, 150.0, 60.0] and table.left_out == ["city"]
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(data)})())
    chunks, names = table_chunks("-", target="price", chunk_rows=3)
    assert names == ["area"] and np.concatenate([y for _, y in chunks()]).tolist() == PRICES


def test_bytes_that_are_not_utf8_after_the_sample_are_named_when_the_column_is(tmp_path):
    rows = "name,a,y\n" + "n,1,2\n" * (_SAMPLE // 6 + 100)  # the format is told from the first bytes only
    path = write(tmp_path, "late.csv", rows.encode() + "café,3,4\n".encode("latin-1"))
    table = read_table(path, target="y")
    assert table.feature_names == ["a"] and table.features[-1].tolist() == [3.0] and table.left_out == ["name"]
    assert table.notes == [
        "left out the non-numeric column name: features are numeric columns; --features names the columns to use"
    ]
    with pytest.raises(ValueError) as info:
        read_table(path, target="y", features=["name"])
    assert str(info.value) == f"{path}: column 'name' holds bytes that are not UTF-8 text; save the file as UTF-8"


@pytest.mark.parametrize("suffix", [".gz", ".xz"])
@pytest.mark.parametrize("chunked", [False, True], ids=["memory", "chunks"])
def test_a_cut_off_compressed_file_is_one_line(tmp_path, chunked, suffix):
    import lzma

    rows = "a,price\n" + "".join(f"{i},{2 * i}\n" for i in range(200_000))
    data = {".gz": gzip, ".xz": lzma}[suffix].compress(rows.encode())
    path = write(tmp_path, f"cut.csv{suffix}", data[: len(data) // 2])  # a download that stopped half-way
    with pytest.raises(ValueError, match=rf"cut\.csv\{suffix}: cannot be read"):
        if chunked:
            list(table_chunks(path, target="price")[0]())
        else:
            read_table(path, target="price")


@pytest.mark.parametrize("name", ["cut.parquet", "cut.dat"])
def test_a_truncated_parquet_file_is_called_truncated(tmp_path, name):
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}), whole)
    data = whole.read_bytes()
    path = write(tmp_path, name, data[: len(data) // 2])  # starts with PAR1, lacks the footer
    with pytest.raises(ValueError) as info:
        read_table(path, target="y")
    assert str(info.value) == (
        f"{path}: is a truncated or corrupt Parquet file (it starts with PAR1 but does not end with it)"
    )


def test_a_damaged_parquet_file_is_refused_in_one_printable_line(tmp_path, capsys):
    """pyarrow's reasons for a damaged Parquet file span lines and may quote the bad byte: the message does not."""
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}), whole)
    data = whole.read_bytes()
    refused = 0
    for at in range(4, 64):  # one byte of the first pages' headers spoiled at a time
        path = write(tmp_path, "damaged.parquet", data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
        try:
            read_table(path, target="y")
        except ValueError as exc:
            refused += 1
            assert str(exc).startswith(f"{path}: cannot be read as PARQUET (") and str(exc).isprintable(), exc
            code, _, err = cli(capsys, "solve", path, "--target", "y")
            assert code == 2 and err.count("\n") == 1 and err.startswith("linearnet solve: error: "), err
    assert refused >= 10


@pytest.mark.parametrize("name", ["sales[2024].csv", "what?.csv", "all*.csv"])
def test_a_file_whose_name_has_pattern_characters_is_read_as_that_file(tmp_path, capsys, name):
    path = write(tmp_path, name, "x,y\n1,2\n2,4.5\n3,5.5\n4,8\n")
    write(tmp_path, "whatX.csv", "x,y\n1,0\n")  # matched by what?.csv as a pattern, and by all*.csv neither
    table = read_table(path, target="y")
    assert table.features.ravel().tolist() == [1, 2, 3, 4] and table.notes == []
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--json")
    assert code == 0 and err == "" and json.loads(out)["n"] == 4


def test_a_file_whose_lines_end_with_cr_alone_reads_alike_whole_and_in_chunks(tmp_path):
    path = write(tmp_path, "mac.csv", "x,y\r1,2\r2,4.5\r3,5.5\r4,8\r")
    X, y = stacked(list(table_chunks(path, target="y", chunk_rows=2)[0]()))
    whole = read_table(path, target="y")
    assert X.tolist() == whole.features.tolist() == [[1.0], [2.0], [3.0], [4.0]]
    assert y.tolist() == whole.target.tolist() == [2.0, 4.5, 5.5, 8.0]


def test_a_damaged_parquet_file_is_refused_in_one_line_in_chunks_too(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0]}), path)
    data = bytearray(path.read_bytes())
    data[4] ^= 0xFF  # the first page header
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError) as chunked:
        table_chunks(path, target="y", chunk_rows=3)
    with pytest.raises(ValueError) as whole:
        read_table(path, target="y")
    assert str(chunked.value) == str(whole.value)
    assert str(chunked.value).startswith(f"{path}: cannot be read as PARQUET (") and "\n" not in str(chunked.value)

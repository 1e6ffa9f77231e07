"""Tables in chunks (linearnet.tables.table_chunks) over several files and in shares: a folder or a pattern
streams as one table, and share=(rank, size) reads one process's part, the shares in rank order being the
whole table in order, with the messages and row numbers a single pass gives."""

import gzip
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet.tables import read_table, table_chunks


def write(folder, name, content):
    path = Path(folder) / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return str(path)


def stacked(parts, width=1):
    X = np.concatenate([X for X, _ in parts]) if parts else np.empty((0, width))
    y = np.concatenate([y for _, y in parts]) if parts else np.empty(0)
    return X, y


def whole_pass(path, **options):
    chunks, names = table_chunks(path, **options)
    return chunks, names, stacked(list(chunks()), len(names))


def in_shares(path, size, **options):
    """(chunks, X, y) of each share in rank order, and X, y of the shares concatenated; ``chunks.bytes_seen``
    is what ``on_read`` said last."""
    shares = []
    for rank in range(size):
        chunks, _ = table_chunks(path, share=(rank, size), **options)
        chunks.on_read = lambda done, size, chunks=chunks: setattr(chunks, "bytes_seen", done)
        X, y = stacked(list(chunks()), len(chunks.feature_names))
        shares.append((chunks, X, y))
    return shares, np.concatenate([X for _, X, _ in shares]), np.concatenate([y for _, _, y in shares])


def refusal(read) -> str:
    with pytest.raises(ValueError) as info:
        read()
    return str(info.value)


# --- a folder or a pattern, in chunks ----------------------------------------------------------------


def mixed_folder(folder):
    folder = Path(folder)
    write(folder, "a.csv", "area,price\n1,2\n2,3.5\n3,5\n")
    write(folder, "b.csv.gz", gzip.compress(b"area,price\n4,5.5\n6,8\n"))
    pq.write_table(
        pa.table({"area": [7.0, 8.0, 9.0], "price": [8.0, 9.0, 10.0]}), folder / "c.parquet", row_group_size=2
    )
    write(folder, "notes.md", "not a table")
    return folder


def test_a_folder_in_chunks_is_the_folder_read_whole(tmp_path):
    folder = mixed_folder(tmp_path)
    whole = read_table(folder, target="price")
    chunks, names, (X, y) = whole_pass(folder, target="price", chunk_rows=1)
    assert names == whole.feature_names == ["area"]
    np.testing.assert_array_equal(X, whole.features)
    np.testing.assert_array_equal(y, whole.target)
    assert chunks.notes == whole.notes == ["read 3 files as one table: a.csv, b.csv.gz, c.parquet"]
    assert chunks.rows_read == 8 and chunks.path == str(folder)
    pattern, _, (X, _) = whole_pass(str(folder / "*.csv*"), target="price")
    assert X[:, 0].tolist() == [1, 2, 3, 4, 6] and pattern.notes == ["read 2 files as one table: a.csv, b.csv.gz"]


def test_other_columns_in_a_later_file_are_refused_before_the_first_chunk(tmp_path):
    write(tmp_path, "a.csv", "area,price\n1,2\n")
    pq.write_table(pa.table({"price": [1.0], "area": [2.0]}), tmp_path / "b.parquet")
    assert refusal(lambda: table_chunks(tmp_path, target="price")) == (
        f"{tmp_path / 'b.parquet'}: its columns (price, area) differ from those of {tmp_path / 'a.csv'} "
        f"(area, price); files read as one table need the same columns"
    )
    (tmp_path / "b.parquet").unlink()
    write(tmp_path, "b.csv", "area,price\n\n")
    message = f"{tmp_path / 'b.csv'}: has a header but no rows"
    assert refusal(lambda: table_chunks(tmp_path, target="price")) == message
    assert refusal(lambda: read_table(tmp_path, target="price")) == message
    pq.write_table(pa.table({"area": [1.0], "price": [2.0]}).slice(0, 0), tmp_path / "b.csv")
    assert refusal(lambda: table_chunks(tmp_path, target="price")) == message
    data = (tmp_path / "b.csv").read_bytes()
    write(tmp_path, "b.csv", data[:-8] + b"\xff\xff\xff\x7fPAR1")  # a footer longer than the file
    damaged = refusal(lambda: table_chunks(tmp_path, target="price"))
    assert damaged.startswith(f"{tmp_path / 'b.csv'}: cannot be read as PARQUET (") and "\n" not in damaged


def test_values_are_refused_naming_their_file_and_row_there(tmp_path):
    write(tmp_path, "a.csv", "area,price\n1,2\n2,3\n")
    bad = write(tmp_path, "b.csv", "area,price\n3,4\n\n4,x\n")
    chunks, _ = table_chunks(tmp_path, target="price", chunk_rows=1)
    assert refusal(lambda: list(chunks())) == f"{bad}: column 'price', row 2 (line 4): 'x' is not a number"
    write(tmp_path, "b.csv", "area,price\n3,4\n4,5,6\n")  # a row pyarrow refuses: the scan of that file names it
    assert refusal(lambda: list(chunks())) == f"{bad}: row 2 (line 3) has 3 fields, expected 2 like the header"
    (tmp_path / "b.csv").unlink()
    pq.write_table(pa.table({"area": [1.0, None], "price": [1.0, 2.0]}), tmp_path / "c.parquet")
    chunks, _ = table_chunks(tmp_path, target="price")
    assert refusal(lambda: list(chunks())) == (f"{tmp_path / 'c.parquet'}: column 'area', row 2: missing value (null)")
    data = bytearray((tmp_path / "c.parquet").read_bytes())
    data[4] ^= 0xFF  # its first page header: found when the pass reaches the file
    (tmp_path / "c.parquet").write_bytes(bytes(data))
    chunks, _ = table_chunks(tmp_path, target="price")
    damaged = refusal(lambda: list(chunks()))
    assert damaged.startswith(f"{tmp_path / 'c.parquet'}: cannot be read as PARQUET (") and "\n" not in damaged


def test_dropped_rows_are_named_with_their_files(tmp_path):
    write(tmp_path, "a.csv", "area,price\n1,2\n,3\n3,4\n")
    write(tmp_path, "b.csv", "area,price\n,1\n5,6\n7,\n")
    chunks, _ = table_chunks(tmp_path, target="price", missing="drop", chunk_rows=1)
    X, _ = stacked(list(chunks()))
    assert X[:, 0].tolist() == [1, 3, 5] and chunks.first_dropped == [2, 1, 3]
    assert chunks.dropped_note == (
        f"dropped 3 of 6 rows with missing values in the columns in use "
        f"({tmp_path / 'a.csv'} row 2; {tmp_path / 'b.csv'} rows 1, 3)"
    )
    write(tmp_path, "c.csv", "area,price\n" + ",1\n" * 6)
    chunks, _ = table_chunks(tmp_path, target="price", missing="drop")
    list(chunks())  # the note shows the first five rows
    assert chunks.dropped_note.endswith(f"{tmp_path / 'b.csv'} rows 1, 3; {tmp_path / 'c.csv'} rows 1, 2, ...)")


def test_the_bytes_read_are_those_of_all_the_files(tmp_path):
    folder = mixed_folder(tmp_path)
    (folder / "b.csv.gz").unlink()  # a compressed file's bytes are not known beforehand
    write(folder, "b.csv", "area,price\n" + "".join(f"{i},{i}\n" for i in range(2000)))
    chunks, _ = table_chunks(folder, target="price", chunk_rows=100)
    seen = []
    chunks.on_read = lambda done, size: seen.append((done, size))
    list(chunks())
    total = sum(os.path.getsize(folder / name) for name in ("a.csv", "b.csv", "c.parquet"))
    dones = [done for done, _ in seen]
    assert chunks.share_bytes == total and {size for _, size in seen} == {total}
    assert dones == sorted(dones) and dones[-1] == total and len(seen) > 5


def test_shuffled_passes_pool_the_pieces_of_every_file(tmp_path):
    for k in range(3):
        rows = range(1000 * k, 1000 * (k + 1))
        if k == 1:
            pq.write_table(pa.table({"a": list(rows), "y": list(rows)}), tmp_path / f"{k}.parquet", row_group_size=100)
        else:
            write(tmp_path, f"{k}.csv", "a,y\n" + "".join(f"{i},{i}\n" for i in rows))
    chunks, _ = table_chunks(tmp_path, target="y", chunk_rows=100)
    X, _ = stacked(list(chunks()))
    assert X[:, 0].tolist() == list(range(3000)) and chunks.ordered
    visits = [X[0, 0] // 1000 for X, _ in chunks.shuffled(torch.Generator().manual_seed(0))]
    shuffled, _ = stacked(list(chunks.shuffled(torch.Generator().manual_seed(0))))
    assert sorted(shuffled[:, 0].tolist()) == list(range(3000))
    assert len(visits) >= 12 and visits[:10] != sorted(visits[:10]) and len(set(visits[:10])) == 3  # files mixed


def test_a_compressed_file_in_the_folder_is_read_in_file_order(tmp_path):
    mixed_folder(tmp_path)
    chunks, _ = table_chunks(tmp_path, target="price", chunk_rows=1)
    list(chunks())
    X, _ = stacked(list(chunks.shuffled(torch.Generator().manual_seed(0))))
    assert not chunks.ordered and X[:, 0].tolist() == [1, 2, 3, 4, 6, 7, 8, 9]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open files through /proc")
def test_many_files_are_opened_one_at_a_time(tmp_path):
    for k in range(150):
        pq.write_table(pa.table({"a": [float(k)], "y": [1.0]}), tmp_path / f"{k:03}.parquet")
        write(tmp_path, f"{k:03}.csv", f"a,y\n{k},1\n")
    chunks, _ = table_chunks(tmp_path, target="y")
    before, most = len(os.listdir("/proc/self/fd")), 0
    for _ in chunks():
        most = max(most, len(os.listdir("/proc/self/fd")))
    assert chunks.rows_read == 300 and most - before < 10


# --- shares: each process reads its part -------------------------------------------------------------

NOTES = st.sampled_from(["", "x", "a,b", 'say ""hi""', "; |", "é"])


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(-999, 999), NOTES, st.booleans()), min_size=1, max_size=60),
    end=st.sampled_from(["\n", "\r\n", "\r"]),
    final_newline=st.booleans(),
    chunk_rows=st.integers(1, 30),
)
def test_the_shares_of_a_csv_in_rank_order_are_the_whole_file(rows, end, final_newline, chunk_rows):
    lines = [f'{a},"{note}",{2 * a}' + (end if blank else "") for a, note, blank in rows]  # some blank lines
    text = "a,note,y" + end + end.join(lines) + (end if final_newline else "")
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, "notes.csv", text)
        whole, names, (X, y) = whole_pass(path, target="y", features=["a"], chunk_rows=chunk_rows)
        assert X[:, 0].tolist() == [a for a, _, _ in rows]
        for size in range(1, 5):
            shares, Xs, ys = in_shares(path, size, target="y", features=["a"], chunk_rows=chunk_rows)
            assert Xs.tolist() == X.tolist() and ys.tolist() == y.tolist()
            assert sum(c.rows_read for c, _, _ in shares) == len(rows)
            assert all(c.feature_names == names and c.notes == whole.notes for c, _, _ in shares)
            assert all(c.share_bytes == c.bytes_seen for c, _, _ in shares if c.rows_read)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(-9, 9), st.sampled_from(["x", "two\nlines", "a\n\nb,c"])), min_size=1),
    end=st.sampled_from(["\n", "\r\n"]),
)
def test_shares_of_a_csv_with_values_spanning_lines_are_the_whole_file_or_refused(rows, end):
    text = "a,note,y" + end + "".join(f'{a},"{note}",{a}{end}' for a, note in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, "notes.csv", text)
        _, _, (X, _) = whole_pass(path, target="y", features=["a"], chunk_rows=3)
        for size in range(2, 5):
            read = []
            for rank in range(size):
                chunks, _ = table_chunks(path, target="y", features=["a"], chunk_rows=3, share=(rank, size))
                try:
                    read.append(stacked(list(chunks()))[0])
                except ValueError as exc:  # the first share refusing is the one before a cut inside a value
                    assert "runs past the line end where the next process's share" in str(exc)
                    break
            else:
                assert np.concatenate(read).tolist() == X.tolist()


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(1, 200), group=st.integers(1, 80), chunk_rows=st.integers(1, 50))
def test_the_shares_of_a_parquet_file_are_whole_row_groups_in_order(rows, group, chunk_rows):
    a = np.random.default_rng(rows).standard_normal(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.parquet"
        pq.write_table(pa.table({"a": a, "y": 3 * a}), path, row_group_size=group)
        _, _, (X, y) = whole_pass(path, target="y", chunk_rows=chunk_rows)
        for size in range(1, 5):
            shares, Xs, ys = in_shares(path, size, target="y", chunk_rows=chunk_rows)
            np.testing.assert_array_equal(Xs, X)
            np.testing.assert_array_equal(ys, y)
            groups = -(-rows // group)
            assert sum(len(c._pieces.index) for c, _, _ in shares) == groups  # each row group in one share


@settings(max_examples=15, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["csv", "parquet"]), min_size=1, max_size=4),
    sizes=st.lists(st.integers(1, 40), min_size=4, max_size=4),
)
def test_the_shares_of_a_folder_in_rank_order_are_the_whole_table(kinds, sizes):
    with tempfile.TemporaryDirectory() as folder:
        start = 0
        for k, (kind, n) in enumerate(zip(kinds, sizes, strict=False)):
            values = list(range(start, start + n))
            start += n
            if kind == "parquet":
                pq.write_table(pa.table({"a": values, "y": values}), Path(folder) / f"{k}.parquet", row_group_size=7)
            else:
                write(folder, f"{k}.csv", "a,y\n" + "".join(f"{v},{v}\n" for v in values))
        _, _, (X, _) = whole_pass(folder, target="y", chunk_rows=5)
        assert X[:, 0].tolist() == list(range(start))
        for size in range(1, 5):
            shares, Xs, _ = in_shares(folder, size, target="y", chunk_rows=5)
            assert Xs[:, 0].tolist() == list(range(start))
            seen = []  # each share's shuffled pass visits its own rows
            for chunks, X_share, _ in shares:
                seen += stacked(list(chunks.shuffled(torch.Generator().manual_seed(size))))[0][:, 0].tolist()
                assert sorted(stacked(list(chunks.shuffled(None)))[0][:, 0].tolist()) == X_share[:, 0].tolist()
            assert sorted(seen) == list(range(start))


def test_shares_are_balanced_by_bytes():
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, "t.csv", "a,y\n" + "".join(f"{i},{i}\n" for i in range(100_000)))
        data = os.path.getsize(path) - 4
        shares, _, _ = in_shares(path, 4, target="y")
        for chunks, _, _ in shares:
            assert abs(chunks.share_bytes - data / 4) < 20  # within a line of a quarter
        assert sum(chunks.share_bytes for chunks, _, _ in shares) == data


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(2, 300),
    at=st.integers(0, 10**6),
    bad=st.sampled_from(["x", "", "inf", "1,2,3"]),
    size=st.integers(2, 4),
)
def test_an_error_is_reported_by_the_share_holding_it_as_a_single_pass_reports_it(rows, at, bad, size):
    row = 1 + at % rows
    lines = [f"{i},{i}" if i != row else f"{i},{bad}" for i in range(1, rows + 1)]
    with tempfile.TemporaryDirectory() as folder:
        path = write(folder, "t.csv", "a,y\n" + "\n".join(lines) + "\n")
        message = refusal(lambda: whole_pass(path, target="y", chunk_rows=7))
        assert f"row {row} (line {row + 1})" in message
        at_start, failed = [], []
        for rank in range(size):
            try:
                chunks, _ = table_chunks(path, target="y", chunk_rows=7, share=(rank, size))
            except ValueError as exc:  # a row the columns are typed from: every process refuses the file
                at_start.append(str(exc))
                continue
            try:
                list(chunks())
            except ValueError as exc:
                failed.append(str(exc))
        assert failed == [message] or at_start == [message] * size


def test_a_share_names_its_own_error_and_its_rows_in_the_file(tmp_path):
    lines = [f"{i},{i}" for i in range(1, 200_001)]  # 2.6 MB: the columns are typed from the first megabyte
    lines[89_999] = "90000,1,2"  # a row pyarrow refuses, in the first share, past the first megabyte
    lines[149_999] = "150000,oops"  # in the second
    path = write(tmp_path, "t.csv", "a,y\n" + "\n".join(lines) + "\n")
    first, second = (table_chunks(path, target="y", share=(rank, 2))[0] for rank in range(2))
    assert refusal(lambda: list(first())) == f"{path}: row 90000 (line 90001) has 3 fields, expected 2 like the header"
    assert refusal(lambda: list(second())) == f"{path}: column 'y', row 150000 (line 150001): 'oops' is not a number"
    lines[149_999] = "150000,1,2"
    write(tmp_path, "t.csv", "a,y\n" + "\n".join(lines) + "\n")
    assert refusal(lambda: list(second())) == (
        f"{path}: row 150000 (line 150001) has 3 fields, expected 2 like the header"
    )


def test_dropped_rows_in_a_share_are_numbered_in_the_file(tmp_path):
    lines = [f"{i},{i}" if i % 500 else f"{i}," for i in range(1, 2001)]
    path = write(tmp_path, "t.csv", "a,y\n" + "\n".join(lines) + "\n")
    shares, X, _ = in_shares(path, 2, target="y", missing="drop", chunk_rows=64)
    assert len(X) == 1996 and [c.first_dropped for c, _, _ in shares] == [[500, 1000], [1500, 2000]]
    assert shares[1][0].dropped_note == (
        f"dropped 2 of {shares[1][0].rows_read} rows with missing values in the columns in use (rows 1500, 2000)"
    )
    assert sum(c.rows_read for c, _, _ in shares) == 2000
    all_gaps = write(tmp_path, "gaps.csv", "a,y\n" + "1,\n" * 200 + "1,1\n" * 50)
    chunks, _ = table_chunks(all_gaps, target="y", missing="drop", share=(0, 2))  # the other share has rows
    assert list(chunks()) == [] and chunks.dropped_rows == chunks.rows_read > 100


def test_more_processes_than_row_groups_leave_shares_empty(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]}), path, row_group_size=2)
    shares, X, _ = in_shares(path, 4, target="y")
    empty = [chunks for chunks, X_share, _ in shares if len(X_share) == 0]
    assert X[:, 0].tolist() == [1, 2, 3] and len(empty) == 2
    for chunks in empty:
        assert chunks.feature_names == ["a"] and chunks.share_bytes == 0 and chunks.rows_read == 0
        assert list(chunks.shuffled(torch.Generator().manual_seed(0))) == []


def test_a_quoted_value_spanning_lines_across_a_cut_is_refused_by_the_share_before_it(tmp_path):
    path = write(tmp_path, "t.csv", 'a,note,y\n1,x,1\n2,"' + "long\n" * 40 + '",2\n3,x,zz\n')
    first, second = (table_chunks(path, target="y", features=["a"], share=(rank, 2))[0] for rank in range(2))
    assert refusal(lambda: list(first())) == (
        f"{path}: row 2 (line 3): a quoted value spanning lines runs past the line end where the next process's "
        f"share of the file starts; values spanning lines are not split between processes: read this file in "
        f"one process"
    )
    assert refusal(lambda: list(second())).startswith(f"{path}: column 'y', row ")  # read amiss, and no traceback
    path = write(tmp_path, "t.csv", "a,note,y\n" + "".join(f'{i},"two\nlines",{i}\n' for i in range(100)))
    _, _, (X, _) = whole_pass(path, target="y", features=["a"])
    refused = 0
    for size in range(2, 9):  # a cut where a line starts may be inside a value: then refused, never read amiss
        read = []
        for rank in range(size):
            chunks, _ = table_chunks(path, target="y", features=["a"], share=(rank, size))
            try:
                read.append(stacked(list(chunks()))[0])
            except ValueError as exc:  # the first share refusing is the one before the cut
                assert "runs past the line end where the next process's share" in str(exc)
                refused += 1
                break
        else:
            assert np.concatenate(read).tolist() == X.tolist()
    assert refused >= 2


def test_what_cannot_be_shared_is_refused_in_one_line(tmp_path, monkeypatch):
    plain = write(tmp_path, "t.csv", "a,y\n1,2\n3,4\n")
    packed = write(tmp_path, "t.csv.gz", gzip.compress(b"a,y\n1,2\n3,4\n"))
    assert refusal(lambda: table_chunks(packed, target="y", share=(1, 2))) == (
        f"{packed}: a compressed CSV cannot be shared between processes (each reads its share from the middle of "
        f"the file); decompress it, or write it as Parquet"
    )
    chunks, _ = table_chunks(packed, target="y", share=(0, 1))  # one process: all of it
    assert stacked(list(chunks()))[0][:, 0].tolist() == [1, 3]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"a,y\n1,2\n")))
    assert refusal(lambda: table_chunks("-", target="y", share=(0, 2))) == (
        "-: standard input cannot be shared between processes; save it to a file first"
    )
    assert refusal(lambda: table_chunks(plain, target="y", share=(2, 2))) == (
        "share must be (rank, size) with 0 <= rank < size, got (2, 2)"
    )
    with pytest.raises(TypeError, match=r"share must be \(rank, size\), two whole numbers, got 3"):
        table_chunks(plain, target="y", share=3)
    chunks, _ = table_chunks(plain, target="y", share=(np.int64(1), np.int64(2)))
    assert chunks.share == (1, 2)

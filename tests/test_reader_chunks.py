"""The chunked reader at speed: Parquet decoded by pyarrow's threads, a pass read one chunk ahead of its
caller in a thread, the columns of a chunk converted and checked at once. None of it changes what is read:
the rows, the values, the chunks' boundaries and the refusals (file, column and row) are a whole read's."""

import itertools
import threading

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linearnet.tables import ahead as ahead_module
from linearnet.tables import read_table, table_chunks
from linearnet.tables.ahead import read_ahead
from linearnet.tables.cells import _numbers, number_matrix
from linearnet.tables.pieces import _cut, _quotes
from linearnet.tables.plan import release_interval, unit_rows
from linearnet.tables.source import _Source


@pytest.fixture(params=["ahead", "in turn"])
def ahead(request, monkeypatch):
    """Every pass read ahead in a thread (chunks of any size), or in turn (none)."""
    monkeypatch.setattr(ahead_module, "AHEAD_BYTES", 0 if request.param == "ahead" else 1 << 62)
    return request.param


def frame(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns = {f"x{j}": rng.standard_normal(n).round(6) for j in range(4)}
    columns["k"] = rng.integers(-50, 50, n)  # whole numbers: converted by the column, not in bulk
    columns["y"] = rng.standard_normal(n).round(6)
    return pa.table(columns)


def write_groups(path, table: pa.Table, sizes: list[int]) -> None:
    """``table`` as Parquet in row groups of ``sizes`` rows, in order."""
    with pq.ParquetWriter(path, table.schema) as writer:
        start = 0
        for size in sizes:
            writer.write_table(table.slice(start, size), row_group_size=max(size, 1))
            start += size


def passed(chunks) -> tuple[np.ndarray, np.ndarray, list[int]]:
    parts = list(chunks())
    return np.vstack([X for X, _ in parts]), np.concatenate([y for _, y in parts]), [len(y) for _, y in parts]


def test_parquet_of_uneven_row_groups_reads_as_a_whole_read_in_chunks_of_chunk_rows(tmp_path, ahead):
    path = tmp_path / "t.parquet"
    write_groups(path, frame(1000), [130, 470, 1, 299, 100])
    assert pq.ParquetFile(path).num_row_groups == 5
    whole = read_table(path, target="y")
    chunks, names = table_chunks(path, target="y", chunk_rows=200)
    X, y, sizes = passed(chunks)
    assert names == whole.feature_names
    np.testing.assert_array_equal(X, whole.features)
    np.testing.assert_array_equal(y, whole.target)
    assert sizes == [200] * 5  # every chunk_rows rows, across the row groups, as pyarrow's batches cut them
    assert chunks.rows_read == 1000


def test_csv_cut_in_pieces_reads_as_a_whole_read(tmp_path, ahead):
    path = tmp_path / "t.csv"
    pcsv.write_csv(frame(3000), path)  # the header's names quoted, as pyarrow writes them
    whole = read_table(path, target="y")
    chunks, _ = table_chunks(path, target="y", chunk_rows=250)
    X, y, sizes = passed(chunks)
    np.testing.assert_array_equal(X, whole.features)
    np.testing.assert_array_equal(y, whole.target)
    assert len(sizes) > 5 and sum(sizes) == 3000
    again = passed(chunks)  # a second pass: the same chunks
    np.testing.assert_array_equal(again[0], X)
    assert again[2] == sizes


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None])
def test_a_bad_cell_in_the_last_row_group_is_named_with_its_row(tmp_path, ahead, bad):
    table = frame(900)
    x2 = table.column("x2").to_pylist()
    x2[871] = bad  # row 872 of the file, in the last of the row groups
    table = table.set_column(2, "x2", pa.array(x2, pa.float64()))
    path = tmp_path / "t.parquet"
    write_groups(path, table, [300, 300, 300])
    chunks, _ = table_chunks(path, target="y", chunk_rows=128)
    with pytest.raises(ValueError, match=r"t\.parquet: column 'x2', row 872: ") as refused:
        passed(chunks)
    with pytest.raises(ValueError) as whole:
        read_table(path, target="y")
    assert str(refused.value) == str(whole.value)
    assert "\n" not in str(refused.value)


def test_a_bad_cell_in_a_csv_piece_is_named_with_its_row(tmp_path, ahead):
    lines = ["a,b,y"] + [f"{i},{i % 7}.5,{2 * i}" for i in range(1, 2001)]
    lines[1733] = "1733,inf,3466"  # row 1733
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    chunks, _ = table_chunks(path, target="y", chunk_rows=100)
    with pytest.raises(ValueError, match=r"t\.csv: column 'b', row 1733 \(line 1734\): inf is not a finite number"):
        passed(chunks)


def test_the_first_bad_column_is_named_first_in_bulk_or_by_the_column(tmp_path):
    """A chunk of float64 columns and a column of whole numbers: the refusal names the first column in the
    file's order that holds a bad value, whichever way each column is converted."""
    src = _Source(str(_csv(tmp_path, "a,b\n1,2\n")))
    table = pa.table({"f": [1.0, np.inf, 3.0], "k": pa.array([1, None, 3], pa.int64()), "g": [1.0, 2.0, np.nan]})
    for names in (["f", "k", "g"], ["k", "f", "g"], ["g", "f"], ["f", "g"]):
        with pytest.raises(ValueError) as bulk:
            number_matrix(src, table, names, 10, missing="error")
        with pytest.raises(ValueError) as alone:
            for name in names:
                _numbers(src, name, table.column(name), 10, missing="error")
        assert str(bulk.value) == str(alone.value)
    with pytest.raises(ValueError, match=r"column 'f', row 2 \(line 3\): inf is not a finite number"):
        number_matrix(src, table, ["g", "f"], 1, missing="keep")  # NaN kept, an infinity refused
    kept = number_matrix(src, table, ["g", "k"], 1, missing="keep")
    np.testing.assert_array_equal(kept, [[1.0, 1.0], [2.0, np.nan], [np.nan, 3.0]])
    assert kept.flags.c_contiguous and kept.flags.writeable


def _csv(tmp_path, text: str):
    path = tmp_path / "s.csv"
    path.write_text(text)
    return path


def _chunked(values: list, cuts: list[int]) -> pa.ChunkedArray:
    """``values`` as a float64 column of several chunks, cut at ``cuts``."""
    edges = [0, *sorted({c for c in cuts if 0 < c < len(values)}), len(values)]
    return pa.chunked_array([pa.array(values[a:b], pa.float64()) for a, b in itertools.pairwise(edges)], pa.float64())


CELL = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), None, 1e308, -1e308]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.data(),
    rows=st.integers(0, 40),
    width=st.integers(1, 5),
    missing=st.sampled_from(["error", "keep", "drop"]),
)
def test_a_chunk_converted_at_once_is_its_columns_converted_one_by_one(tmp_path, data, rows, width, missing):
    """The values, or the refusal, of :func:`number_matrix` are those of each column by :func:`_numbers`, in
    order, whatever the cells (NaN, infinities, gaps, sums that overflow) and however the columns are chunked."""
    src = _Source(str(_csv(tmp_path, "a,b\n1,2\n")))
    cells = data.draw(st.lists(st.lists(CELL, min_size=rows, max_size=rows), min_size=width, max_size=width))
    cuts = data.draw(st.lists(st.integers(0, rows), max_size=3))
    table = pa.table({f"c{j}": _chunked(column, cuts if j % 2 else cuts[:1]) for j, column in enumerate(cells)})
    names = table.column_names
    try:
        expected = np.column_stack([_numbers(src, n, table.column(n), 5, missing=missing) for n in names])
    except ValueError as exc:
        with pytest.raises(ValueError) as refused:
            number_matrix(src, table, names, 5, missing=missing)
        assert str(refused.value) == str(exc)
        return
    got = number_matrix(src, table, names, 5, missing=missing)
    assert got.shape == (rows, width) and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected.reshape(rows, width))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    groups=st.lists(st.integers(1, 120), min_size=1, max_size=6),
    chunk_rows=st.integers(1, 150),
    fmt=st.sampled_from(["parquet", "csv"]),
)
def test_any_row_groups_and_chunk_sizes_read_as_a_whole_read(tmp_path_factory, monkeypatch, groups, chunk_rows, fmt):
    monkeypatch.setattr(ahead_module, "AHEAD_BYTES", 0)  # read ahead, whatever the chunks' size
    folder = tmp_path_factory.mktemp("groups")
    table = frame(sum(groups), seed=len(groups))
    path = folder / f"t.{fmt}"
    if fmt == "parquet":
        write_groups(path, table, groups)
    else:
        pcsv.write_csv(table, path)
    whole = read_table(path, target="y")
    chunks, _ = table_chunks(path, target="y", chunk_rows=chunk_rows)
    X, y, sizes = passed(chunks)
    np.testing.assert_array_equal(X, whole.features)
    np.testing.assert_array_equal(y, whole.target)
    if fmt == "parquet":  # chunk_rows rows a chunk, the last the rest, across row groups
        assert sizes[:-1] == [chunk_rows] * (len(sizes) - 1) and 0 < sizes[-1] <= chunk_rows
    order = list(range(len(chunks._pieces.index or [])))
    if order:  # a piece read again on its own is the rows it held in the pass
        first = list(chunks._pieces.read(0))
        assert sum(t.num_rows for _, _, t in first) == (sum(groups[:1]) if fmt == "parquet" else sizes[0])


def test_reading_ahead_raises_where_the_items_would_and_stops_when_left(monkeypatch):
    made = []

    def items():
        for i in range(100):
            made.append(i)
            if i == 5:
                raise ValueError("t.csv: column 'x', row 6: bad")
            yield i

    seen = []
    with pytest.raises(ValueError, match="row 6: bad"):
        for i in read_ahead(items()):
            seen.append(i)
            assert len(made) <= i + 3  # one waiting, one being made: never further ahead
    assert seen == [0, 1, 2, 3, 4]

    closed = threading.Event()

    def endless():
        try:
            k = 0
            while True:
                made.append(k)
                yield k
                k += 1
        finally:
            closed.set()  # closed in the thread that made them, once the caller stopped

    ahead = read_ahead(endless())
    assert [next(ahead) for _ in range(3)] == [0, 1, 2]
    ahead.close()
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "linearnet-read-ahead"]


def test_one_core_reads_in_turn(monkeypatch):
    monkeypatch.setattr(ahead_module, "cores", lambda: 1)
    threads = []

    def items():
        for i in range(3):
            threads.append(threading.current_thread())
            yield i

    assert list(read_ahead(items())) == [0, 1, 2]
    assert threads == [threading.main_thread()] * 3


def test_the_progress_of_a_pass_is_said_in_the_callers_thread(tmp_path, ahead):
    path = tmp_path / "t.parquet"
    write_groups(path, frame(600), [200, 200, 200])
    chunks, _ = table_chunks(path, target="y", chunk_rows=100)
    calls = []
    chunks.on_read = lambda done, size: calls.append((done, size, threading.current_thread()))
    passed(chunks)
    assert len(calls) == 6 and all(t is threading.main_thread() for *_, t in calls)
    assert [done for done, *_ in calls] == sorted(done for done, *_ in calls) and calls[-1][0] == calls[-1][1]


def test_the_memory_pool_is_released_every_32nd_of_the_budget_read(tmp_path, monkeypatch):
    """pyarrow's unused memory is handed back each time four chunks, or a 32nd of the memory budget (64 MB at
    most) if less, have been read; in between, what a chunk freed serves the next. Chunks hold chunk_rows rows,
    however many are decoded at a time."""
    assert release_interval(32 << 20, 1 << 20) == 1 << 20  # a 32nd of the budget
    assert release_interval(1 << 40, 1 << 20) == 4 << 20  # four chunks
    assert release_interval(1 << 40, 1 << 30) == 64 << 20  # 64 MB at most
    assert release_interval(1 << 40, 1000) == 0  # small chunks: after each
    assert unit_rows(16 << 20, 1000, 200.0) == 2000  # two chunks of 200 KB in a 32nd of 16 MB
    assert unit_rows(16 << 20, 1000, 5000.0) == 1000  # a chunk at least
    assert unit_rows(1 << 40, 1000, 100.0) == 4000  # four chunks at most
    assert unit_rows(1 << 40, 2_000, 1000.0) == 8_000  # four chunks of 2 MB within 8 MB
    assert unit_rows(1 << 40, 20_000, 1000.0) == 20_000  # 8 MB at most: one chunk of 20 MB
    released = []

    class Pool:
        def release_unused(self) -> None:
            released.append(1)

    path = tmp_path / "t.parquet"
    write_groups(path, frame(4000), [1000] * 4)
    monkeypatch.setattr(ahead_module, "AHEAD_BYTES", 0)
    monkeypatch.setattr(pa, "default_memory_pool", lambda: Pool())
    chunks, _ = table_chunks(path, target="y", chunk_rows=100)
    assert chunks._release_every == 0  # chunks of 4,800 bytes: after each
    assert passed(chunks)[2] == [100] * 40 and len(released) >= 40
    released.clear()
    chunk_bytes = 100 * 6 * 8  # 100 rows of six 8-byte columns, as pyarrow holds them
    chunks, _ = table_chunks(path, target="y", chunk_rows=100)
    chunks._release_every = 4 * chunk_bytes  # as for chunks of a megabyte or more
    assert passed(chunks)[2] == [100] * 40
    assert 9 <= len(released) <= 11  # every fourth chunk


def _cut_by_counting_all(data: bytes, size: int, eol: bytes, sep: bytes) -> int:
    """The end of the last whole record in ``data[:size]``, the quotes counted over all of it."""
    quotes = _quotes(data, 0, size, sep)
    end = data.rfind(eol, 0, size)
    while end >= 0:
        if quotes == 0 or (quotes - _quotes(data, end, size, sep, at_start=False)) % 2 == 0:
            return end + 1
        end = data.rfind(eol, 0, end)
    return 0


@settings(max_examples=25, deadline=None)
@given(
    fields=st.lists(st.sampled_from(["1", "2.5", '"a,b"', '"x\ny"', '""', "", '5" pipe', '"q""q"']), max_size=30),
    size=st.integers(0, 200),
    header=st.booleans(),
)
def test_a_piece_is_cut_where_counting_every_quote_cuts_it(fields, size, header):
    """Counting the quotes up to the last one only (a quoted header's, say) cuts where counting all does."""
    rows = [",".join(fields[i : i + 3]) for i in range(0, len(fields), 3)]
    data = ('"a","b","c"\n' if header else "") + "\n".join(rows) + "\n"
    raw = data.encode()
    size = min(size, len(raw))
    assert _cut(bytearray(raw), size, b"\n", b",") == _cut_by_counting_all(raw, size, b"\n", b",")


def test_a_chunk_of_a_megabyte_or_more_is_a_writable_array_of_its_own(tmp_path):
    """Its array comes from pyarrow's memory pool (what the chunk before freed), as an array of its own."""
    src = _Source(str(_csv(tmp_path, "a,b\n1,2\n")))
    rng = np.random.default_rng(1)
    table = pa.table({f"c{j}": rng.standard_normal(60_000) for j in range(3)})
    first = number_matrix(src, table, table.column_names, 1, missing="error")
    second = number_matrix(src, table, table.column_names, 1, missing="error")
    expected = np.column_stack([table.column(n).to_numpy() for n in table.column_names])
    np.testing.assert_array_equal(first, expected)
    assert first.flags.c_contiguous and first.flags.writeable and not np.shares_memory(first, second)
    first[:] = 0.0
    np.testing.assert_array_equal(second, expected)


def test_columns_cut_at_different_rows_are_copied_whole(tmp_path):
    """pyarrow may hand a chunk's columns in pieces that end at different rows (a Parquet page here, a CSV
    block there): the matrix holds every value in its row all the same."""
    src = _Source(str(_csv(tmp_path, "a,b\n1,2\n")))
    a = pa.chunked_array([[1.0, 2.0], [3.0, 4.0, 5.0]])
    b = pa.chunked_array([[10.0, 20.0, 30.0], [40.0, 50.0]])
    table = pa.Table.from_arrays([a, b], names=["a", "b"])
    X = number_matrix(src, table, ["a", "b"], 1, missing="error")
    np.testing.assert_array_equal(X, [[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]])
    assert X.flags.c_contiguous

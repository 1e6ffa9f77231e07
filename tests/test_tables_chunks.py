"""linearnet.tables: tables read in chunks (pieces cut at record ends, shuffled passes, bounded memory)."""

import gzip
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet.leastsq import solve, solve_chunks
from linearnet.tables import read_table, table_chunks, write_table

from table_helpers import stacked, write


def test_chunked_solve_of_a_parquet_file_equals_the_in_memory_one(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20_000, 3)) * [1, 50, 0.01] + [0, 1000, 0]
    y = X @ [1.5, -0.2, 30] + 4 + rng.standard_normal(20_000)
    path = tmp_path / "big.parquet"
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y}), path, row_group_size=3000)
    chunks, names = table_chunks(path, target="y", chunk_rows=1000)
    assert sum(len(c[1]) for c in chunks()) == 20_000 and names == ["a", "b", "c"]
    parts, whole = solve_chunks(chunks, names), solve(X, y)
    size = np.abs(whole.params).max()
    np.testing.assert_allclose(parts.params, whole.params, rtol=1e-10, atol=1e-10 * size)


MEMORY_PROBE = textwrap.dedent("""
    import sys
    from linearnet.leastsq import solve, solve_chunks
    from linearnet.tables import read_table, table_chunks

    def kib(field):  # this process's own figures: ru_maxrss would start from the parent's peak at exec
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))

    def fit(path, chunk_rows):  # chunk_rows 0: the whole file in memory
        if chunk_rows:
            chunks, names = table_chunks(path, target="y", chunk_rows=chunk_rows)
            return solve_chunks(chunks, names)
        table = read_table(path, target="y")
        return solve(table.features, table.target)

    path, warm_up, chunk_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fit(warm_up, chunk_rows)  # imports, thread pools and library code first: measure the solve alone
    before = kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # the peak resident size (VmHWM) starts again from here
    result = fit(path, chunk_rows)
    grown = kib("VmHWM") - before
    print(grown // 1024, result.n, " ".join(repr(float(p)) for p in result.params))
""")


PEAK_RESET = Path("/proc/self/clear_refs")


needs_peak_reset = pytest.mark.skipif(
    not PEAK_RESET.exists(), reason="measures the peak resident size through Linux's /proc/self"
)


def write_csv(path, n):
    """n rows of y = 1 + a − 2b + 0.5c + 3d + N(0, 0.1²), written by pyarrow (about 97 bytes a row)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4))
    y = X @ [1.0, -2.0, 0.5, 3.0] + 1 + rng.standard_normal(n) * 0.1
    pcsv.write_csv(pa.table({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "d": X[:, 3], "y": y}), path)
    return X, y


def memory_probes(tmp_path, path, *chunk_rows):
    """Solve ``path`` in fresh processes side by side, one per chunk_rows (0: the whole file in memory);
    for each: (MB the resident memory grew by, rows, coefficients)."""
    warm_up = tmp_path / "warm-up.csv"
    write_csv(warm_up, 2000)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MEMORY_PROBE, str(path), str(warm_up), str(rows)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rows in chunk_rows
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        grown_mb, rows, *params = out.split()
        results.append((int(grown_mb), int(rows), [float(p) for p in params]))
    return results


@needs_peak_reset
def test_a_chunked_solve_grows_memory_far_less_than_loading_the_file_and_gives_the_same_fit(tmp_path):
    """A 90 MB CSV read in ~1 MB chunks: resident memory grows by less than half of what loading it takes.

    Not smaller: table_chunks has pyarrow read some 35 blocks ahead (and its first look at the header
    reads ahead in 1 MB blocks), so the chunked solve holds up to ~90 MB, and at 20-30 MB both cost
    about the same."""
    n = 1_000_000
    path = tmp_path / "big.csv"
    X, y = write_csv(path, n)
    size_mb = path.stat().st_size / 2**20
    assert 80 < size_mb < 110
    (chunked_mb, rows, params), (loaded_mb, loaded_rows, _) = memory_probes(tmp_path, path, 10_000, 0)
    assert rows == loaded_rows == n
    assert loaded_mb > size_mb  # loading takes more than the file: the comparison means something
    assert chunked_mb < loaded_mb / 2, (chunked_mb, loaded_mb)
    np.testing.assert_allclose(params, solve(X, y).params, rtol=1e-10)


@pytest.mark.slow
@needs_peak_reset
def test_files_many_times_the_chunk_budget_solve_in_bounded_memory(tmp_path):
    """A 150 MB CSV read in ~1 MB chunks: resident memory grows by far less than the file."""
    n = 1_500_000
    path = tmp_path / "big.csv"
    X, y = write_csv(path, n)
    size_mb = path.stat().st_size / 2**20
    assert size_mb > 100
    ((grown_mb, rows, params),) = memory_probes(tmp_path, path, 20000)
    assert rows == n
    assert grown_mb < 60 < size_mb  # in memory, X and y alone would take 57 MB, pyarrow's table 150+
    whole = solve(X, y)
    np.testing.assert_allclose(params, whole.params, rtol=1e-10)


def test_files_with_a_header_and_no_rows_in_chunks(tmp_path):
    csv_path = write(tmp_path, "header.csv", "a,b,y\n")
    parquet_path = tmp_path / "header.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "y": pa.array([], pa.float64())}), parquet_path)
    for path in (csv_path, parquet_path):
        with pytest.raises(ValueError) as info:
            table_chunks(path, target="y")
        assert str(info.value) == f"{path}: has a header but no rows"


def test_long_runs_of_blank_lines_are_skipped_in_chunks(tmp_path):
    """Blank lines fill whole blocks of the chunked reader (64 kB here): such a block gives no rows, and the
    rows after it keep their numbers."""
    blank = "\n" * 200_000
    path = write(tmp_path, "blank.csv", "a,y\n1,2\n3,5\n" + blank + "4,7\n" + blank)
    chunks, _ = table_chunks(path, target="y", chunk_rows=1)
    parts = list(chunks())
    assert len(parts) == 2 and all(len(y) for _, y in parts)
    assert np.vstack([X for X, _ in parts]).tolist() == [[1], [3], [4]]
    assert np.concatenate([y for _, y in parts]).tolist() == [2, 5, 7]
    path = write(tmp_path, "blank-bad.csv", "a,y\n1,2\n3,5\n" + blank + "4,x\n")
    with pytest.raises(ValueError) as info:
        list(table_chunks(path, target="y", chunk_rows=1)[0]())
    assert str(info.value) == f"{path}: column 'y', row 3 (line 200004): 'x' is not a number"


def test_parquet_chunks_that_lose_every_row_to_gaps_yield_nothing(tmp_path):
    path = tmp_path / "gaps.parquet"
    pq.write_table(pa.table({"area": [120.0, None, 150.0, 60.0], "price": [400.0, 250.0, None, 190.0]}), path)
    chunks, _ = table_chunks(path, target="price", chunk_rows=1, missing="drop")
    parts = list(chunks())  # four chunks of a row each: two lose their row and yield nothing
    assert [X.tolist() for X, _ in parts] == [[[120.0]], [[60.0]]] and [y.tolist() for _, y in parts] == [[400], [190]]
    assert chunks.dropped_note == "dropped 2 of 4 rows with missing values in the columns in use (rows 2, 3)"
    pq.write_table(pa.table({"area": [120.0, None], "price": [None, 250.0]}), path)
    with pytest.raises(ValueError) as info:
        list(table_chunks(path, target="price", chunk_rows=1, missing="drop")[0]())
    assert (
        str(info.value) == f"{path}: every row has a missing value in the columns in use (area, price); no row is left"
    )


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(-99, 99), st.sampled_from(["", "x", "two\nlines", 'a ""quote""', "\r\n"])),
        min_size=1,
        max_size=40,
    ),
    chunk_rows=st.integers(1, 50),
    crlf=st.booleans(),
)
def test_chunks_cut_at_record_ends_never_inside_quotes(rows, chunk_rows, crlf):
    """Chunks cut by bytes still hold whole records when quoted values span lines: the same rows as read whole."""
    end = "\r\n" if crlf else "\n"
    text = "a,note,y" + end + "".join(f'{a},"{note}",{2 * a}{end}' for a, note in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "notes.csv"
        path.write_bytes(text.encode())
        chunks, _ = table_chunks(path, target="y", features=["a"], chunk_rows=chunk_rows)
        X, y = stacked(list(chunks()))
        whole = read_table(path, target="y", features=["a"])
    assert X.tolist() == whole.features.tolist() == [[float(a)] for a, _ in rows]
    assert y.tolist() == whole.target.tolist()


@pytest.mark.parametrize("kind", ["csv", "parquet", "csv.gz"])
def test_shuffled_passes_visit_every_row_once_in_a_seeded_order(tmp_path, kind):
    n = 5000
    a = np.arange(n, dtype=np.float64)
    path = tmp_path / f"rows.{kind}"
    if kind == "parquet":
        pq.write_table(pa.table({"a": a, "y": 2 * a}), path, row_group_size=500)
    else:
        text = "a,y\n" + "".join(f"{int(v)},{int(2 * v)}\n" for v in a)
        path.write_bytes(gzip.compress(text.encode()) if kind.endswith(".gz") else text.encode())
    chunks, _ = table_chunks(path, target="y", chunk_rows=400)
    in_order, _ = stacked(list(chunks()))
    assert in_order[:, 0].tolist() == a.tolist()
    assert chunks.ordered is (kind != "csv.gz")  # a compressed stream is read in file order only

    def visit(seed):
        X, y = stacked(list(chunks.shuffled(torch.Generator().manual_seed(seed))))
        assert (y == 2 * X[:, 0]).all()  # rows stay whole
        return X[:, 0]

    first, again, other = visit(1), visit(1), visit(2)
    assert sorted(first.tolist()) == a.tolist()  # every row once
    assert first.tolist() == again.tolist()  # the same seed, the same order
    if kind == "csv.gz":
        assert first.tolist() == a.tolist()
    else:
        assert first.tolist() != a.tolist() and first.tolist() != other.tolist()
        assert len(chunks._pieces.index) >= 10  # pieces of about 400-500 rows


def test_chunks_past_the_first_megabyte_name_the_row_of_a_bad_value(tmp_path):
    text = "a,y\n" + "".join(f"{i},{i}\n" for i in range(200_000)) + "zz,1\n"  # past the first megabyte
    path = write(tmp_path, "late.csv", text)
    chunks, _ = table_chunks(path, target="y", chunk_rows=300)
    with pytest.raises(ValueError, match=r"column .a., row 200001 \(line 200002\): .zz. is not a number"):
        list(chunks())


@pytest.mark.parametrize("chunk_rows", [1, 1000])
def test_rows_longer_than_a_chunk_are_read_whole(tmp_path, chunk_rows):
    pad = "z" * (1_200_000)  # each row is longer than the megabyte the column types are read from
    path = write(tmp_path, "long.csv", "a,pad,y\n" + "".join(f"{i},{pad},{2 * i}\n" for i in range(3)))
    chunks, names = table_chunks(path, target="y", features=["a"], chunk_rows=chunk_rows)
    X, y = stacked(list(chunks()))
    assert names == ["a"] and X[:, 0].tolist() == [0, 1, 2] and y.tolist() == [0, 2, 4]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_pass_in_chunks_reports_the_bytes_read(tmp_path, kind):
    X = np.random.default_rng(0).standard_normal((5000, 3))
    data = {"a": X[:, 0], "b": X[:, 1], "y": X[:, 2]}
    path = tmp_path / f"t.{kind}"
    if kind == "csv":
        write_table(path, data)
    else:
        pq.write_table(pa.table(data), path, row_group_size=700)
    chunks, _ = table_chunks(path, target="y", chunk_rows=300)
    seen = []
    chunks.on_read = lambda done, size: seen.append((done, size))
    assert sum(len(y) for _, y in chunks()) == 5000
    size = path.stat().st_size
    dones = [done for done, _ in seen]
    assert len(seen) > 5 and {s for _, s in seen} == {size}
    assert dones == sorted(dones) and 0 < dones[0] < size and dones[-1] == size


def test_a_stray_quote_inside_unquoted_text_neither_misplaces_nor_stops_the_cuts(tmp_path):
    notes = {10: '5" pipe', 20: '"two\nlines"'}  # a quote in unquoted text (text to pyarrow), then a quoted newline
    text = "x,note,y\n" + "".join(f"{i},{notes.get(i, 'ok')},{3 * i}\n" for i in range(1, 20_001))
    path = write(tmp_path, "notes.csv", text)
    chunks, _ = table_chunks(path, target="y", features=["x"], chunk_rows=500)
    parts = list(chunks())
    X, y = stacked(parts)
    assert X[:, 0].tolist() == list(range(1, 20_001)) and (y == 3 * X[:, 0]).all()
    assert len(parts) > 10 and max(len(p[0]) for p in parts) < 2000  # cut all along, not one piece to the end
    whole = read_table(path, target="y", features=["x"])
    assert whole.features[:, 0].tolist() == X[:, 0].tolist()


def test_a_file_of_cr_line_ends_is_cut_into_chunks_too(tmp_path):
    path = write(tmp_path, "mac.csv", "x,y\r" + "".join(f"{i},{2 * i}\r" for i in range(5000)))
    chunks, _ = table_chunks(path, target="y", chunk_rows=100)
    X, _y = stacked(list(chunks()))
    assert X[:, 0].tolist() == list(range(5000)) and len(chunks._pieces.index) > 10


def test_a_column_empty_in_the_first_rows_read_in_chunks(tmp_path):
    n = 3000
    z = [None] * 2000 + [float(i % 7) for i in range(1000)]
    parquet = tmp_path / "late.parquet"
    pq.write_table(
        pa.table({"x": np.arange(n, dtype=float), "z": pa.array(z, pa.float64()), "y": np.ones(n)}),
        parquet,
        row_group_size=500,
    )
    chunks, names = table_chunks(parquet, target="y", missing="drop", chunk_rows=500)
    assert names == ["x", "z"]  # Parquet's schema says z holds numbers, as the whole read finds
    assert names == read_table(parquet, target="y", missing="drop").feature_names
    lines = "".join(f"{i},,1\n" for i in range(150_000)) + "".join(f"{i},{i % 7},1\n" for i in range(1000))
    csv_path = write(tmp_path, "late.csv", "x,z,y\n" + lines)  # z empty past the first megabyte
    chunks, names = table_chunks(csv_path, target="y", missing="drop", chunk_rows=500)
    assert names == ["x"] and chunks.notes == [
        "left out the initially empty column z: features are numeric columns; --features names the columns to use"
    ]
    chunks, names = table_chunks(csv_path, target="y", features=["x", "z"], missing="drop", chunk_rows=5000)
    assert names == ["x", "z"] and len(stacked(list(chunks()))[0]) == 1000  # named, it is read


def test_a_true_false_column_that_later_holds_another_value_is_named_by_that_value_in_chunks(tmp_path):
    rows = "".join(
        f"{i / 8e4:.6f},{'2' if i == 70_000 else ('true' if i % 2 else 'false')},{i % 7}\n" for i in range(1, 80_001)
    )
    path = write(tmp_path, "flags.csv", "x,flag,y\n" + rows)  # the 2 lies past the first megabyte
    chunks, names = table_chunks(path, target="y", chunk_rows=5000)
    assert names == ["x", "flag"]
    with pytest.raises(ValueError) as info:
        list(chunks())
    assert str(info.value) == (
        f"{path}: column 'flag', row 70000 (line 70001): '2' is not true or false, as the column's first values are"
    )


def test_features_alone_in_chunks_need_their_names_and_numbers(tmp_path):
    path = write(tmp_path, "new.csv", "area,city\n120,Paris\n80,Lyon\n")
    with pytest.raises(ValueError) as info:
        table_chunks(path, target=None)
    assert str(info.value) == "table_chunks without a target needs the feature columns"
    with pytest.raises(ValueError) as info:  # a model's feature holding text here: the first word, by row
        table_chunks(path, target=None, features=["area", "city"])
    assert str(info.value) == f"{path}: column 'city', row 1 (line 2): 'Paris' is not a number"

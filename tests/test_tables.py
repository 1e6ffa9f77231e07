"""Tables (linearnet.tables): CSV/Parquet in, every validation case naming the file, the column and the
first bad row; class labels encoded; files read in chunks in bounded memory."""

import datetime
import gzip
import json
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
from linearnet.tables import detect_format, encode_labels, read_table, table_chunks, write_table
from linearnet.tables.source import _SAMPLE

from flowers import make_flowers
from helpers import FLOWERS, HOUSES, cli
from houses import make_houses


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return str(path)


CASES = [
    ("empty.csv", "", "{p}: is empty, expected a header line and rows"),
    ("header.csv", "a,b,y\n", "{p}: has a header but no rows"),
    ("ragged.csv", "a,b,y\n1,2,3\n4,5\n", "{p}: row 2 (line 3) has 2 fields, expected 3 like the header"),
    ("long.csv", "a,b,y\n1,2,3\n4,5,6,7\n", "{p}: row 2 (line 3) has 4 fields, expected 3 like the header"),
    ("text.csv", "a,b,y\n1,2,3\n4,5,6\n7,three,9\n", "{p}: column 'b', row 3 (line 4): 'three' is not a number"),
    ("missing.csv", "a,b,y\n1,,3\n4,5,6\n", "{p}: column 'b', row 1 (line 2): missing value (empty)"),
    ("nan.csv", "a,b,y\n1,2,3\n4,NaN,6\n", "{p}: column 'b', row 2 (line 3): missing value ('NaN')"),
    ("inf.csv", "a,b,y\n1,2,3\n4,5,inf\n", "{p}: column 'y', row 2 (line 3): inf is not a finite number"),
    ("binary.csv", b"\x00\x01PK\x03\x04", "{p}: holds binary data, expected a CSV or Parquet file"),
    ("fake.parquet", "a,b,y\n1,2,3\n", "{p}: is not a Parquet file (it does not start with PAR1)"),
]


@pytest.mark.parametrize("name, text, message", CASES, ids=[c[0] for c in CASES])
def test_bad_files_are_refused_with_one_clear_line(tmp_path, capsys, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(ValueError) as info:
        read_table(path, target="y")
    assert str(info.value) == message.format(p=path)
    code, out, err = cli(capsys, "solve", path, "--target", "y")
    assert code == 2
    assert out == "" and err == f"linearnet solve: error: {message.format(p=path)}\n"


def test_the_same_messages_when_reading_in_chunks(tmp_path):
    for name, text, message in CASES:
        if name in ("empty.csv", "binary.csv", "fake.parquet", "header.csv"):
            continue
        path = write(tmp_path, name, text)
        with pytest.raises(ValueError) as info:
            chunks, _ = table_chunks(path, target="y", chunk_rows=1)
            list(chunks())
        assert str(info.value) == message.format(p=path), name


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


def test_columns_are_checked(tmp_path):
    path = write(tmp_path, "h.csv", "area,rooms,price\n1,2,3\n")
    with pytest.raises(ValueError) as info:
        read_table(path, target="cost")
    assert str(info.value) == f"{path}: has no column 'cost' for the target; its columns are: area, rooms, price"
    with pytest.raises(ValueError) as info:
        read_table(path, target="price", features=["area", "age", "baths"])
    assert str(info.value) == f"{path}: has no columns 'age', 'baths'; its columns are: area, rooms, price"
    with pytest.raises(ValueError, match="column 'price' is the target and cannot also be a feature"):
        read_table(path, target="price", features=["area", "price"])


def test_features_default_to_numeric_columns_and_a_named_text_column_is_coded(tmp_path):
    path = write(tmp_path, "c.csv", "city,area,price\nParis,10,3.5\nRome,20,4.5\nLyon,30,5\n")
    table = read_table(path, target="price")
    assert table.feature_names == ["area"] and table.features.tolist() == [[10.0], [20.0], [30.0]]
    coded = read_table(path, target="price", features=["city"])
    assert coded.feature_names == ["city[T.Paris]", "city[T.Rome]"] and coded.coding == {
        "city": ["Lyon", "Paris", "Rome"]
    }
    assert coded.features.tolist() == [[1, 0], [0, 1], [0, 0]] and coded.columns == ["city"]


def test_format_is_picked_by_content(tmp_path):
    X = np.arange(12.0).reshape(4, 3)
    parquet_named_dat = tmp_path / "table.dat"
    pq.write_table(pa.table({"a": X[:, 0], "b": X[:, 1], "y": X[:, 2]}), parquet_named_dat)
    csv_named_txt = write(tmp_path, "table.txt", "a,b,y\n0,1,2\n3,4,5\n6,7,8\n9,10,11\n")
    assert detect_format(parquet_named_dat) == "parquet" and detect_format(csv_named_txt) == "csv"
    a, b = read_table(parquet_named_dat, target="y"), read_table(csv_named_txt, target="y")
    assert np.array_equal(a.features, b.features) and np.array_equal(a.target, b.target)


def test_parquet_errors_name_the_row(tmp_path):
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "y": [1.0, 2.0, 3.0]}), path)
    with pytest.raises(ValueError, match=r"n.parquet: column 'a', row 2: missing value \(null\)$"):
        read_table(path, target="y")


def test_write_table_round_trips_exactly(tmp_path):
    values = np.random.default_rng(0).standard_normal(50) * 1e-7
    for name in ("p.csv", "p.parquet"):
        write_table(tmp_path / name, {"prediction": values, "y": values})
        assert np.array_equal(read_table(tmp_path / name, target="y").target, values)


def test_the_shipped_houses_file_is_what_the_generator_makes():
    with open(HOUSES) as fh:
        assert fh.read() == make_houses()


def test_the_shipped_flowers_file_is_what_the_generator_makes():
    with open(FLOWERS) as fh:
        assert fh.read() == make_flowers()


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


@pytest.mark.parametrize("chunked", [False, True], ids=["memory", "chunks"])
def test_parquet_with_twin_column_names(tmp_path, chunked):
    path = tmp_path / "twins.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([1.0, 2.0, 3.0, 4.0])] * 3, names=["a", "a", "y"]), path)
    with pytest.raises(ValueError) as info:
        if chunked:
            list(table_chunks(path, target="y", chunk_rows=2)[0]())
        else:
            read_table(path, target="y")
    assert str(info.value) == f"{path}: column 'a' appears 2 times in the header; give each column its own name"


@pytest.mark.parametrize(
    "values, result",
    [
        (["cat", "dog", "cat"], ([0, 1, 0], ["cat", "dog"])),
        ([2, 0, 1], ([2, 0, 1], ["0", "1", "2"])),
        ([1.0, 0.0], ([1, 0], ["0", "1"])),
        ([0, 999, 5], ([0, 999, 5], [str(c) for c in range(1000)])),  # a small table may skip numbers
        (  # dates and times are names of classes, as they print
            [datetime.date(2024, 1, 6), datetime.date(2024, 1, 5), datetime.date(2024, 1, 6)],
            ([1, 0, 1], ["2024-01-05", "2024-01-06"]),
        ),
        ([datetime.datetime(2024, 1, 5, 10, 30), 3], ([0, 1], ["2024-01-05 10:30:00", "3"])),
    ],
)
def test_encode_labels(values, result):
    codes, classes = encode_labels(values)
    assert codes.tolist() == result[0] and classes == result[1]


@pytest.mark.parametrize(
    "values, message",
    [
        ([0, 1, None], "labels: row 3: missing label"),
        ([0, 1.5], "labels: row 2: class 1.5 is not a whole number"),
        ([0, -2], "labels: row 2: class -2 is negative; classes are numbered from 0"),
        (["a", "a"], "labels: every row has the same class 'a'; classification needs at least two classes"),
        (
            [0, 1e9, 1],
            "labels: row 2: class 1,000,000,000 would make 1,000,000,001 classes (numbered from 0) for 3 rows; "
            "number the classes 0, 1, 2, ..., or write them as text, where each distinct value is a class",
        ),
        (
            list(range(0, 3000, 2)),  # beyond the 1,000 classes a small table may have: one class a row at most
            "labels: row 1500: class 2,998 would make 2,999 classes (numbered from 0) for 1,500 rows; "
            "number the classes 0, 1, 2, ..., or write them as text, where each distinct value is a class",
        ),
    ],
)
def test_encode_labels_refuses(values, message):
    with pytest.raises(ValueError) as info:
        encode_labels(values)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "values, message",
    [
        (["a", None], "labels: row 2: missing label"),
        (["a", "b", ""], "labels: row 3: missing label"),
        (["a", float("nan")], "labels: row 2: missing label"),
        ([], "labels: no labels"),
    ],
)
def test_a_missing_label_after_a_text_label_is_refused(values, message):
    """Regression: missing labels were once looked for only up to the first text label, so a null after
    a text value became a class "None" (or "nan", or "")."""
    with pytest.raises(ValueError) as info:
        encode_labels(values)
    assert str(info.value) == message


def test_a_missing_text_label_in_a_parquet_file_names_the_file_column_and_row(tmp_path):
    path = tmp_path / "species.parquet"
    pq.write_table(pa.table({"petal": [1.0, 2.0, 3.0, 4.0], "species": ["iris", "rose", None, "iris"]}), path)
    with pytest.raises(ValueError) as info:
        read_table(path, target="species", labels=True)
    assert str(info.value) == f"{path}: column 'species': row 3: missing label"
    pq.write_table(pa.table({"petal": [1.0, 2.0, 3.0, 4.0], "species": ["iris", "rose", "lily", "iris"]}), path)
    table = read_table(path, target="species", labels=True)
    assert table.classes == ["iris", "lily", "rose"] and table.target.tolist() == [0, 2, 1, 0]
    assert table.num_rows == 4 and table.feature_names == ["petal"]


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


@pytest.mark.parametrize(
    "name, text, kwargs, message",
    [
        (
            "blank.csv",
            "a,b,y\n1,,3\n2,,4\n",
            dict(features=["a", "b"]),
            "{p}: column 'b', row 1 (line 2): missing value (empty)",
        ),
        (
            "dates.csv",
            "when,a,y\n2020-01-01,1,3\n2020-01-02,2,5\n",
            dict(features=["a", "when"]),
            "{p}: column 'when' holds dates or times, not numbers; convert them to numbers first "
            "(for example the year, or days since a start date)",
        ),
        (
            "nontarget.csv",
            "a,y\n1,3\n2,4\n",
            dict(target=None),
            "{p}: name the target column (--target); its columns are: a, y",
        ),
        (
            "words.csv",
            "city,y\nParis,3\nRome,4\n",
            {},
            "{p}: has no numeric column besides the target 'y'; its columns are: city, y",
        ),
        ("twice.csv", "a,b,y\n1,2,3\n2,3,4\n", dict(features=["a", "b", "a"]), "{p}: feature column a named twice"),
        (
            "twice2.csv",
            "a,b,y\n1,2,3\n2,3,4\n",
            dict(features=["b", "a", "b", "a"]),
            "{p}: feature columns a, b named twice",
        ),
    ],
    ids=["blank", "dates", "no-target", "no-numbers", "twice", "twice-two"],
)
def test_column_messages(tmp_path, name, text, kwargs, message):
    path = write(tmp_path, name, text)
    with pytest.raises(ValueError) as info:
        read_table(path, **({"target": "y"} | kwargs))
    assert str(info.value) == message.format(p=path)


def test_columns_of_dates_are_left_out_of_the_default_features_with_a_note(tmp_path):
    csv_path = write(tmp_path, "dates.csv", "when,a,y\n2020-01-01,1,3\n2020-01-02,2,5\n")
    table = read_table(csv_path, target="y")
    chunks, names = table_chunks(csv_path, target="y")
    assert table.feature_names == names == ["a"] and table.left_out == chunks.left_out == ["when"]
    assert (
        table.notes
        == chunks.notes
        == ["left out the date column when: features are numeric columns; --features names the columns to use"]
    )


def test_a_parquet_column_of_numbers_stored_as_text_is_read_as_numbers(tmp_path):
    path = tmp_path / "text.parquet"
    pq.write_table(pa.table({"a": ["1.5", " 2 ", "-3e2"], "b": ["1", "x", "2"], "y": [1.0, 2.0, 4.0]}), path)
    with pytest.raises(ValueError) as info:  # b is a default feature: its first value is a number
        read_table(path, target="y")
    assert str(info.value) == f"{path}: column 'b', row 2: 'x' is not a number"
    table = read_table(path, target="y", features=["a"])
    assert table.features[:, 0].tolist() == [1.5, 2.0, -300.0]


def test_files_with_a_header_and_no_rows_in_chunks(tmp_path):
    csv_path = write(tmp_path, "header.csv", "a,b,y\n")
    parquet_path = tmp_path / "header.parquet"
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "y": pa.array([], pa.float64())}), parquet_path)
    for path in (csv_path, parquet_path):
        with pytest.raises(ValueError) as info:
            table_chunks(path, target="y")
        assert str(info.value) == f"{path}: has a header but no rows"


def test_a_file_cut_off_inside_a_quoted_value_reads_alike_whole_and_in_chunks(tmp_path):
    path = write(tmp_path, "cut.csv", 'a,y\n1,2\n3,"4\n')  # the last value's closing quote is missing
    chunks, _ = table_chunks(path, target="y")
    parts = list(chunks())
    X, y = np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])
    table = read_table(path, target="y")
    assert X.tolist() == table.features.tolist() == [[1.0], [3.0]] and y.tolist() == table.target.tolist() == [2, 4]


def test_a_hex_looking_value_in_a_column_not_read_is_no_typo(tmp_path):
    path = write(tmp_path, "ids.csv", "id,a,y\n0x1F,1,3\nzz,2,5\n")
    table = read_table(path, target="y")
    assert (
        table.feature_names == ["a"] and table.features.tolist() == [[1.0], [2.0]] and table.target.tolist() == [3, 5]
    )
    path = write(tmp_path, "typo.csv", "id,a,y\nq,1,3\nzz,0x2,5\n")
    with pytest.raises(ValueError) as info:
        read_table(path, target="y")
    assert str(info.value) == f"{path}: column 'a', row 2 (line 3): '0x2' is not a number"


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


# --- real tables: one set of rules, whole or in chunks ------------------------------------------------

PRICES = [400.0, 250.0, 480.0, 190.0]


def both_ways(path, **options):
    """(feature names, X, y, notes) read whole and read in chunks of one row: the same by the one reader."""
    table = read_table(path, target="price", **options)
    chunks, names = table_chunks(path, target="price", chunk_rows=1, **options)
    parts = list(chunks())
    X, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    notes = [*chunks.notes, *([chunks.dropped_note] if chunks.dropped_note else [])]
    assert names == table.feature_names and notes == table.notes
    np.testing.assert_array_equal(X, table.features)
    np.testing.assert_array_equal(y, table.target)
    return table.feature_names, X, y, table.notes


@pytest.mark.parametrize(
    "name, content, features, notes",
    [
        (
            "text.csv",
            "city,area,price\nParis,120,400\nLyon,80,250\nNice,150,480\nLille,60,190\n",
            ["area"],
            ["left out the text column city: features are numeric columns; --features names the columns to use"],
        ),
        (
            "labels.csv",  # R's write.csv and pandas' to_csv: a first column of row names with an empty header
            '"","area","price"\n"1",120,400\n"2",80,250\n"3",150,480\n"4",60,190\n',
            ["area"],
            [
                "column 1 has no name: read as row labels (as R's write.csv and pandas' to_csv write them), "
                "not as a feature"
            ],
        ),
        ("semicolon.csv", "area;price\n120,0;400\n80,0;250\n150;480,0\n60;190\n", ["area"], []),  # write.csv2
        ("semicolon-dot.csv", "area;price\n120.0;400\n80;250\n150;480\n60;190.0\n", ["area"], []),
        ("tab.tsv", "area\tprice\n120\t400\n80\t250\n150\t480\n60\t190\n", ["area"], []),
        ("bar.csv", "area|price\n120|400\n80|250\n150|480\n60|190\n", ["area"], []),
        (
            "bools.csv",
            "area,garden,price\n120,true,400\n80,false,250\n150,true,480\n60,false,190\n",
            ["area", "garden"],
            [],
        ),
        (
            "na-text.csv",
            "area,note,price\n120,NA,400\n80,nice,250\n150,,480\n60,big,190\n",
            ["area"],
            ["left out the text column note: features are numeric columns; --features names the columns to use"],
        ),
    ],
)
def test_the_files_people_have_read_the_same_whole_and_in_chunks(tmp_path, name, content, features, notes):
    got_features, X, y, got_notes = both_ways(write(tmp_path, name, content))
    assert got_features == features and got_notes == notes
    assert y.tolist() == PRICES and X[:, 0].tolist() == [120.0, 80.0, 150.0, 60.0]
    if "garden" in features:
        assert X[:, 1].tolist() == [1.0, 0.0, 1.0, 0.0]


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


@pytest.mark.parametrize(
    "content, message",
    [
        (  # a typo in the first data row: the column is still numbers, and the typo is named
            "area,rooms,price\n120,two,400\n80,2,250\n150,4,480\n60,1,190\n",
            "column 'rooms', row 1 (line 2): 'two' is not a number",
        ),
        (
            'area,price\n"2,100.0",400\n"1,500.5",250\n"3,000.0",480\n"1,234",190\n',
            "column 'area', row 1 (line 2): '2,100.0' is not a number: it is written with a thousands separator",
        ),
        (
            "area,price\n$120,400\n$80,250\n$150,480\n$60,190\n",
            "column 'area', row 1 (line 2): '$120' is not a number: it is written with a currency sign",
        ),
        (
            "area,share,price\n120,5%,400\n80,10%,250\n150,7%,480\n60,1%,190\n",
            "column 'share', row 1 (line 2): '5%' is not a number: it is written with a percent sign",
        ),
        (
            "area,price\n120,400\n80,250\n150,480\n60,19O\n",  # the letter O for a zero, in the target
            "column 'price', row 4 (line 5): '19O' is not a number",
        ),
    ],
)
def test_a_typo_anywhere_is_refused_with_its_row_whole_and_in_chunks(tmp_path, content, message):
    path = write(tmp_path, "typo.csv", content)
    for read in (
        lambda: read_table(path, target="price"),
        lambda: list(table_chunks(path, target="price", chunk_rows=1)[0]()),
    ):
        with pytest.raises(ValueError) as info:
            read()
        assert str(info.value) == f"{path}: {message}"


def test_missing_values_are_refused_or_their_rows_dropped_with_a_note(tmp_path):
    path = write(
        tmp_path,
        "na.csv",
        "area,rooms,price\n120,3,400\n80,NA,250\n150,4,480\n60,1,190\n100,2,NaN\n90,,300\n130,3,430\n70,2,230\n",
    )
    with pytest.raises(ValueError) as info:
        read_table(path, target="price")
    assert str(info.value) == f"{path}: column 'rooms', row 2 (line 3): missing value ('NA')"
    names, X, y, notes = both_ways(path, missing="drop")
    assert (
        names == ["area", "rooms"] and y.tolist() == [400, 480, 190, 430, 230] and X[:, 1].tolist() == [3, 4, 1, 3, 2]
    )
    assert notes == ["dropped 3 of 8 rows with missing values in the columns in use (rows 2, 5, 6)"]
    assert read_table(path, target="price", missing="drop").dropped_rows == [2, 5, 6]
    only_area = read_table(path, target="price", features=["area"], missing="drop")  # rooms is not in use
    assert only_area.num_rows == 7 and only_area.dropped_rows == [5]
    with pytest.raises(ValueError) as info:
        read_table(path, target="price", missing="skip")
    assert str(info.value) == "missing must be one of error, drop, got 'skip'"


def test_when_every_row_has_a_gap_nothing_is_left_to_fit(tmp_path):
    path = write(tmp_path, "gaps.csv", "a,price\n1,NA\nNA,2\n")
    with pytest.raises(ValueError) as info:
        read_table(path, target="price", missing="drop")
    assert str(info.value) == f"{path}: every row has a missing value in the columns in use (a, price); no row is left"


def test_a_parquet_column_of_numbers_as_text_is_a_feature_whole_and_in_chunks(tmp_path):
    path = tmp_path / "strings.parquet"
    pq.write_table(
        pa.table({"area": ["120", "80", "150", "60"], "city": ["a", "b", "c", "d"], "price": PRICES}),
        path,
        row_group_size=2,
    )
    names, X, _, notes = both_ways(path)
    assert names == ["area"] and X[:, 0].tolist() == [120.0, 80.0, 150.0, 60.0]
    assert notes == ["left out the text column city: features are numeric columns; --features names the columns to use"]


def test_messages_stay_one_line_and_short(tmp_path):
    path = write(tmp_path, "odd.csv", 'a,"b\nc",price\n1,2,3\n4,x,6\n7,8,9\n')
    with pytest.raises(ValueError) as info:
        read_table(path, target="price")
    assert str(info.value) == f"{path}: column 'b\\nc', row 2 (line 4): 'x' is not a number"
    cell = "y" * 200_000  # past the csv module's 128 KB field limit
    path = write(tmp_path, "cell.csv", f"a,price\n1,2\n2,{cell}\n3,4\n5,6\n")
    with pytest.raises(ValueError) as info:
        list(table_chunks(path, target="price")[0]())
    assert str(info.value) == (
        f"{path}: column 'price', row 2 (line 3): '{'y' * 54}...' (200,000 characters) is not a number"
    )
    wide = ",".join(f"c{i}" for i in range(30))
    path = write(tmp_path, "wide.csv", f"{wide}\n" + ",".join("1" * 30) + "\n")
    with pytest.raises(ValueError) as info:
        read_table(path, target="price")
    assert str(info.value) == (
        f"{path}: has no column 'price' for the target; its columns are: "
        + ", ".join(f"c{i}" for i in range(20))
        + ", ... (30 columns)"
    )


@pytest.mark.parametrize("codec", ["gzip", "xz"])
def test_compressed_standard_input_is_decompressed(monkeypatch, codec):
    import gzip
    import lzma

    data = {"gzip": gzip, "xz": lzma}[codec].compress(b"area,price\n120,400\n80,250\n150,480\n60,190\n")
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(data)})())
    assert read_table("-", target="price").target.tolist() == PRICES
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": __import__("io").BytesIO(data[:20])})())
    message = rf"^-: standard input starts like a {codec} file but cannot be decompressed \("
    with pytest.raises(ValueError, match=message):
        read_table("-", target="price")


def test_a_compressed_parquet_file_is_refused(tmp_path):
    import gzip

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


@pytest.mark.parametrize(
    "name, content, left_out, note",
    [
        (
            "empty.csv",  # a column nobody filled in
            "area,garden,price\n120,,400\n80,,250\n150,,480\n60,,190\n",
            ["garden"],
            "left out the empty column garden",
        ),
        (
            "rooms.csv",  # room names, one of which is a number: a text column, not numbers with typos
            "area,room,price\n120,kitchen,400\n80,40,250\n150,hall,480\n60,attic,190\n",
            ["room"],
            "left out the text column room",
        ),
    ],
)
def test_columns_that_are_not_numbers_are_left_out_whole_and_in_chunks(tmp_path, name, content, left_out, note):
    features, X, y, notes = both_ways(write(tmp_path, name, content))
    assert features == ["area"] and X[:, 0].tolist() == [120.0, 80.0, 150.0, 60.0] and y.tolist() == PRICES
    assert notes == [f"{note}: features are numeric columns; --features names the columns to use"]
    assert read_table(tmp_path / name, target="price").left_out == left_out


def test_a_text_column_with_a_few_numbers_named_as_a_feature_is_refused_at_its_first_word(tmp_path):
    path = write(tmp_path, "rooms.csv", "area,room,price\n120,40,400\n80,kitchen,250\n150,hall,480\n60,attic,190\n")
    assert read_table(path, target="price").left_out == ["room"]  # 1 number in 4 values: text
    coded = read_table(path, target="price", features=["room"])  # named: a category, "40" one of its levels
    assert coded.coding == {"room": ["40", "attic", "hall", "kitchen"]} and coded.features[0].tolist() == [0, 0, 0]


def test_parquet_columns_of_other_types_are_left_out_or_refused_when_named(tmp_path):
    path = tmp_path / "other.parquet"
    columns = {
        "tags": [[1], [2, 3], [], [4]],
        "raw": pa.array([b"\xff", b"a", b"b", b"c"], pa.binary()),
        "area": [120.0, 80.0, 150.0, 60.0],
        "price": PRICES,
    }
    pq.write_table(pa.table(columns), path)
    features, _, y, notes = both_ways(path)
    assert features == ["area"] and y.tolist() == PRICES
    assert notes == [
        "left out the non-numeric columns tags, raw: features are numeric columns; --features names the columns to use"
    ]
    tags = pq.read_schema(path).field("tags").type  # list<element: int64>, as pyarrow names it
    for column, message in [
        ("tags", f"column 'tags' holds {tags} values, expected numbers"),
        ("raw", "column 'raw' holds bytes that are not UTF-8 text; save the file as UTF-8"),
    ]:
        with pytest.raises(ValueError) as info:
            read_table(path, target="price", features=[column])
        assert str(info.value) == f"{path}: {message}"


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


def test_a_named_column_with_no_values_leaves_no_row_to_drop_to(tmp_path):
    path = write(tmp_path, "blank.csv", "a,b,y\n1,,3\n2,,4\n")
    message = f"{path}: every row has a missing value in the columns in use (a, b, y); no row is left"
    for read in (
        lambda: read_table(path, target="y", features=["a", "b"], missing="drop"),
        lambda: list(table_chunks(path, target="y", features=["a", "b"], missing="drop", chunk_rows=1)[0]()),
    ):
        with pytest.raises(ValueError) as info:
            read()
        assert str(info.value) == message


@pytest.mark.parametrize(
    "content, message",
    [
        (  # the NA in b is a missing value, not the typo: the 0x5 after it is
            "a,b,price\n1,NA,3\n\n2,0x5,4\n",
            "column 'b', row 2 (line 4): '0x5' is not a number",
        ),
        (  # 1,5 is a number in a file of decimal commas: the 0x5 next to it is the typo
            "a;b;price\n1,5;0x5;3\n2,5;7;4\n",
            "column 'b', row 1 (line 2): '0x5' is not a number",
        ),
    ],
    ids=["missing-value", "decimal-comma"],
)
def test_the_row_by_row_scan_for_a_hex_typo_reads_values_as_the_file_writes_them(tmp_path, content, message):
    path = write(tmp_path, "hex.csv", content)
    with pytest.raises(ValueError) as info:
        read_table(path, target="price")
    assert str(info.value) == f"{path}: {message}"


def test_the_row_by_row_scan_in_chunks_passes_over_missing_values(tmp_path):
    blank = "\n" * 200_000  # the bad value lies past the block the column types are read from
    path = write(tmp_path, "late.csv", "a,y\n1,2\nNA,5\n" + blank + "4,x\n")
    with pytest.raises(ValueError) as info:
        list(table_chunks(path, target="y", chunk_rows=1, missing="drop")[0]())
    assert str(info.value) == f"{path}: column 'y', row 3 (line 200004): 'x' is not a number"


def test_rows_without_a_label_are_dropped_on_request(tmp_path):
    path = write(tmp_path, "kinds.csv", "a,kind\n1,big\n2,\n3,small\n4,NA\n5,big\n")
    with pytest.raises(ValueError) as info:
        read_table(path, target="kind", labels=True)
    assert str(info.value) == f"{path}: column 'kind': row 2: missing label"
    table = read_table(path, target="kind", labels=True, missing="drop")
    assert table.classes == ["big", "small"] and table.target.tolist() == [0, 1, 0]
    assert table.features[:, 0].tolist() == [1.0, 3.0, 5.0] and table.dropped_rows == [2, 4]
    assert table.notes == ["dropped 2 of 5 rows with missing values in the columns in use (rows 2, 4)"]
    path = write(tmp_path, "numbers.csv", "a,kind\n1,0\n2,\n3,1\n")  # class numbers with a gap
    table = read_table(path, target="kind", labels=True, missing="drop")
    assert table.classes == ["0", "1"] and table.target.tolist() == [0, 1] and table.dropped_rows == [2]
    path = write(tmp_path, "none.csv", "a,kind\n1,\n2,NA\n")
    with pytest.raises(ValueError) as info:
        read_table(path, target="kind", labels=True, missing="drop")
    assert str(info.value) == f"{path}: every row has a missing value in the columns in use (a, kind); no row is left"


def test_drop_on_a_complete_file_drops_nothing_and_says_nothing(tmp_path):
    path = write(tmp_path, "full.csv", "area,price\n120,400\n80,250\n150,480\n60,190\n")
    table = read_table(path, target="price", missing="drop")
    assert table.notes == [] and table.dropped_rows == [] and table.target.tolist() == PRICES


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


@pytest.mark.parametrize("suffix", [".gz", ".xz"])
@pytest.mark.parametrize("chunked", [False, True], ids=["memory", "chunks"])
def test_a_cut_off_compressed_file_is_one_line(tmp_path, chunked, suffix):
    import gzip
    import lzma

    rows = "a,price\n" + "".join(f"{i},{2 * i}\n" for i in range(200_000))
    data = {".gz": gzip, ".xz": lzma}[suffix].compress(rows.encode())
    path = write(tmp_path, f"cut.csv{suffix}", data[: len(data) // 2])  # a download that stopped half-way
    with pytest.raises(ValueError, match=rf"cut\.csv\{suffix}: cannot be read"):
        if chunked:
            list(table_chunks(path, target="price")[0]())
        else:
            read_table(path, target="price")


def test_row_numbers_and_the_scan_survive_a_file_that_went_away(tmp_path):
    from linearnet.tables.diagnose import _diagnose_csv
    from linearnet.tables.messages import _line_of_row
    from linearnet.tables.source import _Source

    path = write(tmp_path, "gone.csv", "a,y\n1,2\n")
    src = _Source(path)
    Path(path).unlink()  # removed between pyarrow's read and the message
    assert _line_of_row(src, 7) == 8  # the line a file without blank lines would have
    Path(path).write_text("")
    assert _diagnose_csv(src) == f"{path}: is empty, expected a header line and rows"


# --- text columns as categories (R's treatment coding) -------------------------------------------------


def test_a_text_feature_is_coded_as_r_codes_a_factor(tmp_path):
    path = write(tmp_path, "homes.csv", "area,city,price\n120,Paris,400\n80,Lyon,250\n150,Nice,480\n60,Lyon,190\n")
    table = read_table(path, target="price", features=["area", "city"])
    assert table.coding == {"city": ["Lyon", "Nice", "Paris"]}  # sorted; the first is the reference
    assert table.feature_names == ["area", "city[T.Nice]", "city[T.Paris]"] and table.columns == ["area", "city"]
    assert table.features.tolist() == [[120, 0, 1], [80, 0, 0], [150, 1, 0], [60, 0, 0]]


def test_a_fitted_models_levels_code_new_rows_and_refuse_a_level_it_never_saw(tmp_path):
    levels = {"city": ["Lyon", "Nice", "Paris"]}
    path = write(tmp_path, "new.csv", "area,city\n100,Paris\n90,Lyon\n")
    table = read_table(path, features=["area", "city"], require_target=False, levels=levels)
    assert table.feature_names == ["area", "city[T.Nice]", "city[T.Paris]"]  # Nice is coded though absent
    assert table.features.tolist() == [[100, 0, 1], [90, 0, 0]]
    path = write(tmp_path, "rome.csv", "area,city\n100,Paris\n90,Lyon\n80,Rome\n")
    with pytest.raises(ValueError) as info:
        read_table(path, features=["area", "city"], require_target=False, levels=levels)
    assert str(info.value) == (
        f"{path}: column 'city', row 3 (line 4): 'Rome' is not one of the levels the model knows (Lyon, Nice, Paris)"
    )


def test_categories_with_one_level_gaps_or_in_chunks(tmp_path):
    one = write(tmp_path, "one.csv", "area,city,price\n1,Paris,2\n2,Paris,3\n")
    with pytest.raises(ValueError) as info:
        read_table(one, target="price", features=["area", "city"])
    assert (
        str(info.value)
        == f"{one}: column 'city' holds the single value 'Paris': a category with one level cannot be a feature"
    )
    gaps = write(tmp_path, "gaps.csv", "area,city,price\n1,Paris,2\n2,NA,3\n3,Lyon,4\n4,Lyon,5\n")
    with pytest.raises(ValueError) as info:
        read_table(gaps, target="price", features=["area", "city"])
    assert str(info.value) == f"{gaps}: column 'city', row 2 (line 3): missing value ('NA')"
    table = read_table(gaps, target="price", features=["area", "city"], missing="drop")
    assert table.dropped_rows == [2] and table.features.tolist() == [[1, 1], [3, 0], [4, 0]]
    with pytest.raises(ValueError) as info:
        table_chunks(gaps, target="price", features=["area", "city"])
    assert str(info.value) == (
        f"{gaps}: column 'city' holds text: categories are coded when a file is read whole, "
        f"not in chunks; code the column as numbers to use it here"
    )


def test_levels_come_from_the_rows_kept_and_a_models_numbers_stay_numbers(tmp_path):
    path = write(tmp_path, "h.csv", "area,city,price\n1,Lyon,2\n2,Nice,NA\n3,Paris,4\n4,Lyon,5\n5,Paris,7\n")
    table = read_table(path, target="price", features=["area", "city"], missing="drop")
    assert table.coding == {"city": ["Lyon", "Paris"]}  # Nice was only in the dropped row 2
    assert table.feature_names == ["area", "city[T.Paris]"] and table.features.tolist() == [
        [1, 0],
        [3, 1],
        [4, 0],
        [5, 1],
    ]
    new = write(tmp_path, "new.csv", "area,city\nbig,Lyon\n")  # a model's numeric column given text
    with pytest.raises(ValueError) as info:
        read_table(new, features=["area", "city"], require_target=False, levels={"city": ["Lyon", "Paris"]})
    assert str(info.value) == f"{new}: column 'area', row 1 (line 2): 'big' is not a number"


def test_formulas_read_by_the_reader_and_their_errors(tmp_path):
    path = write(tmp_path, "f.csv", "area,age,city,price\n50,3,Lyon,100\n80,1,Nice,160\n60,0,Lyon,0\n90,2,Nice,170\n")
    table = read_table(path, formula="price ~ area + C(city)")
    assert table.feature_names == ["area", "C(city)[T.Nice]"] and table.intercept and table.target_name == "price"
    assert table.coding == {"city": ["Lyon", "Nice"]} and table.columns == ["area", "city"]
    rhs = read_table(path, formula="area + np.log1p(age)", require_target=False)  # a right-hand side alone
    assert rhs.feature_names == ["area", "np.log1p(age)"] and rhs.target is None
    for options, message in [
        (dict(formula="price ~ area", target="price"), "give a formula, or a target and features, not both"),
        (
            dict(formula="price + age ~ area"),
            "the formula 'price + age ~ area' must have one column on the left of ~, got 2",
        ),
        (
            dict(formula="price ~ I(area * city)"),
            f"{path}: the formula 'price ~ I(area * city)' cannot be applied: "
            f"Unable to evaluate factor `I(area * city)`.",
        ),
        (
            dict(formula="np.log(price) ~ area"),
            f"{path}: the formula's target 'np.log(price)' is not finite in every row",
        ),
        (dict(formula="price ~ np.log(age)"), f"{path}: the formula's term 'np.log(age)' is not finite in every row"),
    ]:
        with pytest.raises(ValueError) as info:
            read_table(path, **options)
        assert str(info.value).startswith(message), str(info.value)


# --- a folder or a pattern of files as one table -------------------------------------------------------


def test_a_folder_or_a_pattern_reads_as_one_table_with_the_levels_of_every_file(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    write(folder, "a.csv", "area,city,price\n1,Lyon,2\n2,Lyon,3.5\n")  # one level here
    write(folder, "b.csv.gz", __import__("gzip").compress(b"area,city,price\n4,Paris,5.5\n6,Nice,NA\n"))
    pq.write_table(pa.table({"area": [7.0], "city": ["Nice"], "price": [8.0]}), folder / "c.parquet")
    write(folder, "notes.md", "not a table")
    table = read_table(folder, target="price", features=["area", "city"], missing="drop")
    assert table.coding == {"city": ["Lyon", "Nice", "Paris"]}
    assert table.features.tolist() == [[1, 0, 0], [2, 0, 0], [4, 0, 1], [7, 1, 0]] and table.target.tolist() == [
        2,
        3.5,
        5.5,
        8,
    ]
    assert table.notes == [
        f"{folder / 'b.csv.gz'}: dropped 1 of 2 rows with missing values in the columns in use (row 2)",
        "read 3 files as one table: a.csv, b.csv.gz, c.parquet",
    ]
    pattern = read_table(str(folder / "*.csv*"), target="price", missing="drop")
    assert pattern.feature_names == ["area"] and pattern.target.tolist() == [2, 3.5, 5.5]
    assert (
        pattern.notes[0]
        == "left out the text column city: features are numeric columns; --features names the columns to use"
    )


def test_files_read_as_one_table_need_the_same_columns_and_a_match(tmp_path):
    write(tmp_path, "a.csv", "area,price\n1,2\n2,3\n")
    write(tmp_path, "b.csv", "size,price\n1,2\n2,3\n")
    with pytest.raises(ValueError) as info:
        read_table(tmp_path, target="price")
    assert str(info.value) == f"{tmp_path / 'b.csv'}: has no column 'area'; its columns are: size, price"
    write(tmp_path, "b.csv", "area,price,extra\n1,2,3\n2,3,4\n")
    with pytest.raises(ValueError) as info:
        read_table(tmp_path, target="price")
    assert str(info.value) == (
        f"{tmp_path / 'b.csv'}: its columns (area, price, extra) differ from those of {tmp_path / 'a.csv'} "
        f"(area, price); files read as one table need the same columns"
    )
    with pytest.raises(ValueError) as info:
        read_table(str(tmp_path / "*.parquet"), target="price")
    assert str(info.value) == f"{tmp_path / '*.parquet'}: no CSV or Parquet files match this pattern"
    with pytest.raises(ValueError) as info:  # in chunks, before the first chunk: the same line
        table_chunks(tmp_path, target="price")
    assert str(info.value) == (
        f"{tmp_path / 'b.csv'}: its columns (area, price, extra) differ from those of {tmp_path / 'a.csv'} "
        f"(area, price); files read as one table need the same columns"
    )


def test_class_labels_across_files_share_one_coding(tmp_path):
    write(tmp_path, "a.csv", "x,kind\n1,cat\n2,cat\n")
    write(tmp_path, "b.csv", "x,kind\n3,dog\n4,emu\n")
    table = read_table(tmp_path, target="kind", labels=True)
    assert table.classes == ["cat", "dog", "emu"] and table.target.tolist() == [0, 0, 1, 2]


def test_a_formula_over_a_folder_codes_every_files_categories_alike(tmp_path):
    write(tmp_path, "a.csv", "area,city,price\n1,Lyon,2\n2,Lyon,3\n")
    write(tmp_path, "b.csv", "area,city,price\n3,Nice,5\n4,Paris,7\n")
    table = read_table(tmp_path, formula="price ~ area + C(city)")
    assert table.feature_names == ["area", "C(city)[T.Nice]", "C(city)[T.Paris]"] and table.formula
    assert table.features.tolist() == [[1, 0, 0], [2, 0, 0], [3, 1, 0], [4, 0, 1]] and table.target.tolist() == [
        2,
        3,
        5,
        7,
    ]


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


def _stacked(parts):
    X = np.concatenate([X for X, _ in parts]) if parts else np.empty((0, 1))
    y = np.concatenate([y for _, y in parts]) if parts else np.empty(0)
    return X, y


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
        X, y = _stacked(list(chunks()))
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
    in_order, _ = _stacked(list(chunks()))
    assert in_order[:, 0].tolist() == a.tolist()
    assert chunks.ordered is (kind != "csv.gz")  # a compressed stream is read in file order only

    def visit(seed):
        X, y = _stacked(list(chunks.shuffled(torch.Generator().manual_seed(seed))))
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


@pytest.mark.parametrize(
    "term",
    [
        "I(np.ctypeslib.ctypes.CDLL(None).system(b'touch {marker}'))",  # a shell command through ctypes
        "np.savetxt('{marker}', area)",
        "I(area.to_csv('{marker}'))",  # a column's own methods
        "{{area.to_pickle('{marker}')}}",
        "C(area, **{{'levels': [1, 2, 3]}})",  # arguments unpacked from what the formula builds
    ],
)
def test_a_formula_runs_its_transforms_and_no_other_code(tmp_path, capsys, term):
    """formulaic evaluates a formula's terms as Python, and predict applies the formula a model file holds."""
    marker = tmp_path / "written"
    path = write(tmp_path, "f.csv", "area,price\n1,2\n2,3\n3,5\n")
    formula = "price ~ area + " + term.format(marker=marker)
    with pytest.raises(ValueError) as info:
        read_table(path, formula=formula)
    assert str(info.value).startswith(f"the formula {formula!r} uses "), str(info.value)
    model = {
        "format": "linearnet-model", "format_version": 2, "kind": "linear_regression", "target": "price",
        "features": ["area"], "coefficients": [1.0], "intercept": 0.0, "columns": ["area"], "coding": {},
        "formula": formula,
    }  # fmt: skip
    model_path = write(tmp_path, "model.json", json.dumps(model))
    code, out, err = cli(capsys, "predict", path, "--model", model_path)
    assert code == 2 and out == "" and err.startswith(f"linearnet predict: error: the formula {formula!r} uses ")
    assert not marker.exists()


def test_formulas_keep_their_transforms_numpy_functions_and_contrasts(tmp_path):
    path = write(tmp_path, "f.csv", "area,city,price\n1,Lyon,2\n2,Nice,3\n3,Lyon,5\n4,Paris,4\n5,Nice,9\n")
    formula = "price ~ np.sqrt(area) + I(area ** 2) + {area * np.pi} + log(area) + C(city, contr.treatment('Nice'))"
    table = read_table(path, formula=formula)
    assert table.feature_names[:4] == ["np.sqrt(area)", "I(area ** 2)", "area * np.pi", "log(area)"]
    assert table.features[:, 2].tolist() == pytest.approx([np.pi * a for a in range(1, 6)])
    ordered = read_table(path, formula="price ~ C(city, levels=['Paris', 'Nice', 'Lyon'])")  # a keyword argument
    assert [name[-8:] for name in ordered.feature_names] == ["[T.Nice]", "[T.Lyon]"]


@pytest.mark.parametrize("formula, require_target", [("y ~ x | a", True), ("y | z ~ x", True), ("x | a", False)])
def test_a_formula_of_several_parts_is_refused_in_one_line(tmp_path, capsys, formula, require_target):
    """formulaic reads '|' as parts of a formula (several designs): one design is fitted, so it is refused."""
    path = write(tmp_path, "f.csv", "x,a,y,z\n1,2,3,4\n2,3,5,1\n3,1,4,2\n4,4,9,3\n")
    message = f"the formula {formula!r} has parts separated by |; write a single formula such as 'y ~ x + a'"
    with pytest.raises(ValueError) as info:
        read_table(path, formula=formula, require_target=require_target)
    assert str(info.value) == message
    if require_target:
        code, _, err = cli(capsys, "solve", path, "--formula", formula)
        assert code == 2 and err == f"linearnet solve: error: {message}\n"


@pytest.mark.parametrize("name", ["sales[2024].csv", "what?.csv", "all*.csv"])
def test_a_file_whose_name_has_pattern_characters_is_read_as_that_file(tmp_path, capsys, name):
    path = write(tmp_path, name, "x,y\n1,2\n2,4.5\n3,5.5\n4,8\n")
    write(tmp_path, "whatX.csv", "x,y\n1,0\n")  # matched by what?.csv as a pattern, and by all*.csv neither
    table = read_table(path, target="y")
    assert table.features.ravel().tolist() == [1, 2, 3, 4] and table.notes == []
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--json")
    assert code == 0 and err == "" and json.loads(out)["n"] == 4


@pytest.mark.parametrize("chunk_rows", [1, 1000])
def test_rows_longer_than_a_chunk_are_read_whole(tmp_path, chunk_rows):
    pad = "z" * (1_200_000)  # each row is longer than the megabyte the column types are read from
    path = write(tmp_path, "long.csv", "a,pad,y\n" + "".join(f"{i},{pad},{2 * i}\n" for i in range(3)))
    chunks, names = table_chunks(path, target="y", features=["a"], chunk_rows=chunk_rows)
    X, y = _stacked(list(chunks()))
    assert names == ["a"] and X[:, 0].tolist() == [0, 1, 2] and y.tolist() == [0, 2, 4]


POINT_IN_A_COMMA_FILE = (
    "is not a number: the decimal mark of this file is a comma, so a point is a thousands separator or a typo "
    "(give --decimal . if the decimal mark is a point)"
)


@pytest.mark.parametrize(
    "content, message",
    [
        (  # 1.500 is fifteen hundred where the decimal mark is a comma: not 1.5
            "x;y\n1.500;2\n2.250;3\n3.100;5,5\n4;8\n",
            f"column 'x', row 1 (line 2): '1.500' {POINT_IN_A_COMMA_FILE}",
        ),
        (  # the point is the odd one out, not the decimal commas around it
            "x;y\n2,5;2\n1.500;3\n3,25;5,5\n4;8\n",
            f"column 'x', row 2 (line 3): '1.500' {POINT_IN_A_COMMA_FILE}",
        ),
        ("x;y\n1,5;2\n2,5;3\nabc;4\n4;8\n", "column 'x', row 3 (line 4): 'abc' is not a number"),
    ],
    ids=["thousands-points", "a-point-among-commas", "a-typo-among-commas"],
)
def test_a_file_with_a_decimal_comma_names_the_value_that_is_not_written_so(tmp_path, capsys, content, message):
    path = write(tmp_path, "comma.csv", content)
    for options in ({}, {"features": ["x"]}, {"decimal": ","}):
        with pytest.raises(ValueError) as info:
            read_table(path, target="y", **options)
        assert str(info.value) == f"{path}: {message}", options
    code, _, err = cli(capsys, "solve", path, "--target", "y")
    assert code == 2 and err == f"linearnet solve: error: {path}: {message}\n"


def test_a_file_whose_lines_end_with_cr_alone_reads_alike_whole_and_in_chunks(tmp_path):
    path = write(tmp_path, "mac.csv", "x,y\r1,2\r2,4.5\r3,5.5\r4,8\r")
    X, y = _stacked(list(table_chunks(path, target="y", chunk_rows=2)[0]()))
    whole = read_table(path, target="y")
    assert X.tolist() == whole.features.tolist() == [[1.0], [2.0], [3.0], [4.0]]
    assert y.tolist() == whole.target.tolist() == [2.0, 4.5, 5.5, 8.0]


def test_a_last_line_of_spaces_is_a_short_row_whole_and_in_chunks(tmp_path):
    path = write(tmp_path, "spaces.csv", "x,a,y\n1,2,3\n2,1,4\n3,5,9\n4,4,7\n ")
    message = f"{path}: row 5 (line 6) has 1 fields, expected 3 like the header"
    with pytest.raises(ValueError) as whole:
        read_table(path, target="y")
    with pytest.raises(ValueError) as chunked:
        list(table_chunks(path, target="y", chunk_rows=2)[0]())
    assert str(whole.value) == str(chunked.value) == message


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


def test_a_class_number_too_large_for_int64_is_refused_with_its_row():
    with pytest.raises(ValueError) as info:
        encode_labels([0, 1, 1e300, 1], where="f.csv: column 'y'")
    assert str(info.value).startswith("f.csv: column 'y': row 3: class 1e+300 would make 1e+300 classes")


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


def test_column_kind_tells_a_column_from_its_first_rows(tmp_path):
    from linearnet.tables import column_kind

    path = write(tmp_path, "t.csv", "a,s,d\n1,x,2024-01-05\n2,y,2024-01-06\n")
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0], "s": ["x", "y"]}), parquet)
    assert [column_kind(path, c) for c in ("a", "s", "d", "missing")] == ["number", "text", "date", None]
    assert [column_kind(parquet, c) for c in ("a", "s", "missing")] == ["number", "text", None]
    assert column_kind("-", "a") is None and column_kind(tmp_path, "a") is None  # stdin, a folder: not peeked at
    assert column_kind(tmp_path / "no.csv", "a") is None  # the reader says what is wrong, later


def test_a_stray_quote_inside_unquoted_text_neither_misplaces_nor_stops_the_cuts(tmp_path):
    notes = {10: '5" pipe', 20: '"two\nlines"'}  # a quote in unquoted text (text to pyarrow), then a quoted newline
    text = "x,note,y\n" + "".join(f"{i},{notes.get(i, 'ok')},{3 * i}\n" for i in range(1, 20_001))
    path = write(tmp_path, "notes.csv", text)
    chunks, _ = table_chunks(path, target="y", features=["x"], chunk_rows=500)
    parts = list(chunks())
    X, y = _stacked(parts)
    assert X[:, 0].tolist() == list(range(1, 20_001)) and (y == 3 * X[:, 0]).all()
    assert len(parts) > 10 and max(len(p[0]) for p in parts) < 2000  # cut all along, not one piece to the end
    whole = read_table(path, target="y", features=["x"])
    assert whole.features[:, 0].tolist() == X[:, 0].tolist()


def test_a_file_of_cr_line_ends_is_cut_into_chunks_too(tmp_path):
    path = write(tmp_path, "mac.csv", "x,y\r" + "".join(f"{i},{2 * i}\r" for i in range(5000)))
    chunks, _ = table_chunks(path, target="y", chunk_rows=100)
    X, _y = _stacked(list(chunks()))
    assert X[:, 0].tolist() == list(range(5000)) and len(chunks._pieces.index) > 10


def test_quoted_values_spanning_lines_past_pyarrows_blocks_are_read_whole_and_in_chunks(tmp_path):
    path = write(
        tmp_path, "multi.csv", "x,t,y\n" + "".join(f'{i},"line one\nline two",{i + 1}\n' for i in range(60_000))
    )
    whole = read_table(path, target="y", features=["x"])
    X, _y = _stacked(list(table_chunks(path, target="y", features=["x"], chunk_rows=20_000)[0]()))
    assert whole.features[:, 0].tolist() == X[:, 0].tolist() == list(range(60_000))


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
    assert names == ["x", "z"] and len(_stacked(list(chunks()))[0]) == 1000  # named, it is read


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


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunks"])
def test_a_row_whose_values_span_lines_is_named_by_the_line_it_starts_on(tmp_path, chunked):
    path = write(tmp_path, "notes.csv", 'x,t,y\n1,"a\nb",2\n2,"c\nd",3\nzz,"e\nf",4\n3,g,5\n')
    with pytest.raises(ValueError) as info:
        if chunked:
            list(table_chunks(path, target="y", features=["x"], chunk_rows=1)[0]())
        else:
            read_table(path, target="y", features=["x"])
    assert str(info.value) == f"{path}: column 'x', row 3 (line 6): 'zz' is not a number"


def test_features_alone_in_chunks_need_their_names_and_numbers(tmp_path):
    path = write(tmp_path, "new.csv", "area,city\n120,Paris\n80,Lyon\n")
    with pytest.raises(ValueError) as info:
        table_chunks(path, target=None)
    assert str(info.value) == "table_chunks without a target needs the feature columns"
    with pytest.raises(ValueError) as info:  # a model's feature holding text here: the first word, by row
        table_chunks(path, target=None, features=["area", "city"])
    assert str(info.value) == f"{path}: column 'city', row 1 (line 2): 'Paris' is not a number"

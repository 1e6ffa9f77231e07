"""linearnet.tables: class labels as codes (encode_labels) and labelled tables."""

import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.tables import encode_labels, read_table

from table_helpers import write


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


def test_class_labels_across_files_share_one_coding(tmp_path):
    write(tmp_path, "a.csv", "x,kind\n1,cat\n2,cat\n")
    write(tmp_path, "b.csv", "x,kind\n3,dog\n4,emu\n")
    table = read_table(tmp_path, target="kind", labels=True)
    assert table.classes == ["cat", "dog", "emu"] and table.target.tolist() == [0, 0, 1, 2]


def test_class_numbers_across_files_stay_class_numbers(tmp_path):
    """Files of class numbers read as one table code as one file of all their rows: classes 0 to the
    largest, in number order (not "0", "10", "2" as text), each code its class number."""
    write(tmp_path, "a.csv", "x,kind\n1,0\n2,2\n")
    write(tmp_path, "b.csv", "x,kind\n3,10\n4,2\n")
    table = read_table(tmp_path, target="kind", labels=True)
    assert table.classes == [str(c) for c in range(11)] and table.target.tolist() == [0, 2, 10, 2]
    write(tmp_path, "c.csv", "x,kind\n5,dog\n")  # with text in any file, every distinct label is a class
    table = read_table(tmp_path, target="kind", labels=True)
    assert table.classes == ["0", "10", "2", "dog"] and table.target.tolist() == [0, 2, 1, 2, 3]


def test_a_class_number_too_large_for_int64_is_refused_with_its_row():
    with pytest.raises(ValueError) as info:
        encode_labels([0, 1, 1e300, 1], where="f.csv: column 'y'")
    assert str(info.value).startswith("f.csv: column 'y': row 3: class 1e+300 would make 1e+300 classes")


def test_an_array_of_integers_with_a_negative_one_is_refused_at_its_row():
    codes, classes = encode_labels(np.array([2, 0, 1, 2], dtype=np.int32))
    assert codes.tolist() == [2, 0, 1, 2] and classes == ["0", "1", "2"] and codes.dtype == np.int64
    with pytest.raises(ValueError, match="row 2: class -1 is negative"):
        encode_labels(np.array([0, -1, 2]), where="y")

"""linearnet.tables: class labels read in chunks and in process shares, named and coded as a whole read
(``read_table(labels=True)``) names and codes them."""

import datetime
import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linearnet.cli.common import shared_classes
from linearnet.tables import NA_TOKENS, TargetLabels, read_table, table_chunks, target_classes, target_labels


def chunked(path, classes, *, share=None, missing="error", chunk_rows=37):
    """The codes of a chunked read (of one share) with ``classes``."""
    chunks, _ = table_chunks(
        path, target="y", features=["x"], classes=classes, share=share, missing=missing, chunk_rows=chunk_rows
    )
    parts = [y for _, y in chunks()]
    assert all(part.dtype == np.int64 for part in parts)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=23)
    elif fmt == "csv.gz":
        with gzip.open(path, "wt") as fh:
            frame.to_csv(fh, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def frame_of(labels: list, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pad = [f"{v:.12f}" for v in rng.standard_normal(len(labels))]  # a wide row: several CSV pieces
    return pd.DataFrame({"x": rng.standard_normal(len(labels)), "pad": pad, "y": labels})


TEXT = st.text(alphabet="ab1 .-é", min_size=1, max_size=4).filter(lambda t: t not in NA_TOKENS)
KINDS = {
    "text": st.lists(TEXT, min_size=1, max_size=5, unique=True),
    "numbers": st.lists(st.integers(0, 12), min_size=1, max_size=5, unique=True),
    "booleans": st.just([True, False]),
    "dates": st.lists(
        st.dates(datetime.date(1990, 1, 1), datetime.date(2030, 1, 1)), min_size=1, max_size=5, unique=True
    ),
}


@st.composite
def label_columns(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    values = draw(KINDS[kind])
    picks = draw(st.lists(st.integers(0, len(values) - 1), min_size=2, max_size=160))
    return kind, [values[i] for i in picks]


def agree(path, *, missing="error"):
    """A whole read and target_classes plus a chunked read agree: the same classes and codes, or both refuse."""
    try:
        whole = read_table(path, target="y", features=["x"], labels=True, missing=missing)
    except ValueError:
        with pytest.raises(ValueError):
            classes = target_classes(path, "y", features=["x"], missing=missing)
            chunked(path, classes, missing=missing)
        return None
    classes = target_classes(path, "y", features=["x"], missing=missing)
    assert classes == whole.classes
    np.testing.assert_array_equal(chunked(path, classes, missing=missing), whole.target)
    return whole


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=label_columns(), fmt=st.sampled_from(["csv", "parquet"]))
def test_target_classes_and_chunked_codes_equal_a_whole_read(column, fmt):
    _, labels = column
    with tempfile.TemporaryDirectory() as tmp:
        agree(write_frame(frame_of(labels), Path(tmp) / f"t.{fmt}", fmt))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(column=label_columns(), gaps=st.lists(st.integers(0, 159), max_size=6), fmt=st.sampled_from(["csv", "parquet"]))
def test_missing_labels_dropped_as_a_whole_read_drops_them(column, gaps, fmt):
    _, labels = column
    labels = [None if i in gaps else v for i, v in enumerate(labels)]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_frame(frame_of(labels), Path(tmp) / f"t.{fmt}", fmt)
        agree(path, missing="drop")
        if any(v is None for v in labels):
            with pytest.raises(ValueError, match=r"t\.(csv|parquet): column 'y', row \d+.*missing value"):
                target_classes(path, "y")


def test_a_feature_gap_drops_its_row_and_its_label(tmp_path):
    frame = frame_of(["a", "b", "c", "a", "b"])
    frame.loc[2, "x"] = np.nan  # the only "c"
    path = write_frame(frame, tmp_path / "t.csv", "csv")
    whole = agree(path, missing="drop")
    assert whole is not None and whole.classes == ["a", "b"]
    assert target_classes(path, "y", missing="drop") == ["a", "b", "c"]  # the label column alone


@pytest.mark.parametrize("fmt", ["csv", "parquet", "csv.gz"])
def test_a_folder_of_files_with_different_label_subsets(tmp_path, fmt):
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, labels in enumerate([[0, 2, 2, 0] * 20, [11, 3] * 30, [2] * 10]):
        write_frame(frame_of(labels, k), folder / f"p{k}.{fmt}", fmt)
    whole = agree(folder)
    assert whole is not None and whole.classes == [str(c) for c in range(12)]  # class numbers, numbers-ordered
    for k, labels in enumerate([["b", "a"] * 20, ["c"] * 5, ["a", "10", "9"] * 3]):
        write_frame(frame_of(labels, k), folder / f"p{k}.{fmt}", fmt)
    whole = agree(folder)
    assert whole is not None and whole.classes == ["10", "9", "a", "b", "c"]


def test_a_folder_mixing_class_numbers_and_text(tmp_path):
    folder = tmp_path / "parts"
    folder.mkdir()
    write_frame(frame_of([0, 12, 3] * 5), folder / "a.csv", "csv")
    write_frame(frame_of(["x", "1.0"] * 5), folder / "b.csv", "csv")
    whole = agree(folder)
    assert whole is not None and whole.classes == ["0", "1.0", "12", "3", "x"]


def test_booleans_are_classes_false_and_true(tmp_path):
    path = tmp_path / "t.csv"
    values = ["true", "FALSE"] + ["0", "1"] * 4000  # later pieces hold 0 and 1 alone: still booleans
    path.write_text("x,y\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    whole = agree(path)
    assert whole is not None and whole.classes == ["False", "True"]
    assert whole.target.tolist()[:4] == [1, 0, 0, 1]


def test_a_compressed_csv(tmp_path):
    labels = ["setosa", "versicolor", "virginica"] * 400
    whole = agree(write_frame(frame_of(labels), tmp_path / "t.csv.gz", "csv.gz"))
    assert whole is not None and whole.classes == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("size", [2, 3, 7])
def test_shares_in_rank_order_are_the_whole(tmp_path, fmt, size):
    rng = np.random.default_rng(size)
    labels = list(rng.choice(["a", "b", "c", "d"], 900, p=[0.7, 0.2, 0.09, 0.01]))
    labels[: 900 // size + 60] = ["a"] * (900 // size + 60)  # the first share holds one class
    path = write_frame(frame_of(labels), tmp_path / f"t.{fmt}", fmt)
    whole = read_table(path, target="y", features=["x"], labels=True)
    parts = [target_labels(path, "y", share=(r, size)) for r in range(size)]
    assert target_classes(path, "y", share=(0, size), least=1) == ["a"]
    with pytest.raises(ValueError, match="every row has the same class 'a'"):
        target_classes(path, "y", share=(0, size))
    assert TargetLabels.union(parts).classes() == whole.classes
    codes = [chunked(path, whole.classes, share=(r, size)) for r in range(size)]
    np.testing.assert_array_equal(np.concatenate(codes), whole.target)


def test_shares_of_a_csv_typed_by_the_whole_file(tmp_path):
    """A share of numbers in a file whose other share holds text: the file's labels are text."""
    labels = ["1", "2"] * 400 + ["a", "01"] * 200
    path = write_frame(frame_of(labels), tmp_path / "t.csv", "csv")
    whole = read_table(path, target="y", features=["x"], labels=True)
    assert whole.classes == ["01", "1", "2", "a"]
    parts = [target_labels(path, "y", share=(r, 2)) for r in range(2)]
    assert parts[0].classes() == ["0", "1", "2"]  # this share alone: class numbers
    assert TargetLabels.union(parts).classes() == whole.classes
    codes = [chunked(path, whole.classes, share=(r, 2)) for r in range(2)]
    np.testing.assert_array_equal(np.concatenate(codes), whole.target)


class Ranks:
    """A group of ``size`` processes run one after another: ``everyone`` runs ``part`` as each rank."""

    def __init__(self, size: int):
        self.size, self.rank = size, 0

    def everyone(self, part):
        found = []
        for rank in range(self.size):
            self.rank = rank
            found.append(part())
        self.rank = 0
        return found


def test_shared_classes_joins_the_shares_of_every_process(tmp_path):
    labels = [3] * 400 + [0, 7] * 200
    path = write_frame(frame_of(labels), tmp_path / "t.parquet", "parquet")
    assert shared_classes(Ranks(3), path, "y") == [str(c) for c in range(8)]
    assert shared_classes(Ranks(1), path, "y", missing="drop", features=["x"]) == [str(c) for c in range(8)]


def test_a_pandas_category_is_read_as_labels_whole_and_in_chunks(tmp_path):
    frame = frame_of(["b", "a", "c"] * 40)
    frame["y"] = frame["y"].astype("category")
    whole = agree(write_frame(frame, tmp_path / "t.parquet", "parquet"))
    assert whole is not None and whole.classes == ["a", "b", "c"]
    frame["y"] = pd.Categorical([2, 0, 5] * 40)
    whole = agree(write_frame(frame, tmp_path / "n.parquet", "parquet"))
    assert whole is not None and whole.classes == [str(c) for c in range(6)]


def test_refusals_name_the_file_and_the_row(tmp_path):
    labels = ["a", "b"] * 100 + [None] + ["a"] * 10
    path = write_frame(frame_of(labels), tmp_path / "t.csv", "csv")
    with pytest.raises(ValueError, match=r"t\.csv: column 'y', row 201 \(line 202\): missing value \(empty\)"):
        target_classes(path, "y")
    with pytest.raises(ValueError, match=r"t\.csv: column 'y', row 201 \(line 202\): missing value"):
        chunked(path, ["a", "b"])
    assert target_classes(path, "y", missing="drop") == ["a", "b"]
    with pytest.raises(
        ValueError, match=r"t\.csv: column 'y', row 2 \(line 3\): class 'b' is not one of the 2 classes"
    ):
        chunked(path, ["a", "c"], missing="drop")
    numbers = write_frame(frame_of([0, 1] * 300 + [2.5]), tmp_path / "n.parquet", "parquet")
    with pytest.raises(ValueError, match=r"n\.parquet: column 'y': row 601: class 2\.5 is not a whole number"):
        target_classes(numbers, "y")
    one = write_frame(frame_of(["a"] * 50), tmp_path / "one.csv", "csv")
    with pytest.raises(ValueError, match=r"one\.csv: column 'y': every row has the same class 'a'"):
        target_classes(one, "y")
    with pytest.raises(ValueError, match=r"row 1 \(line 2\): 'a' is not a number"):  # text without classes
        next(iter(table_chunks(one, target="y", features=["x"])[0]()))


def test_a_share_past_the_first_rows_names_rows_of_the_file(tmp_path):
    labels = ["a", "b"] * 500 + ["z"] + ["a"] * 20
    path = write_frame(frame_of(labels), tmp_path / "t.csv", "csv")
    with pytest.raises(ValueError, match=r"row 1001 \(line 1002\): class 'z' is not one of the 2 classes"):
        chunked(path, ["a", "b"], share=(1, 2))
    assert os.path.getsize(path) > 10_000  # the second share starts past the first rows


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize(
    "labels",
    [
        [0, 1] * 100 + [5000] + [1] * 10,  # too many classes for the rows
        [0, 1] * 100 + [-3, 2.5],  # negative
        [0.0, 1.0] * 100 + [2.5, -1.0],  # not a whole number
    ],
)
def test_numbers_that_are_no_classes_are_refused_as_a_whole_read_refuses_them(tmp_path, fmt, labels):
    path = write_frame(frame_of(labels), tmp_path / f"t.{fmt}", fmt)
    with pytest.raises(ValueError) as whole:
        read_table(path, target="y", labels=True)
    with pytest.raises(ValueError) as classes:
        target_classes(path, "y")
    assert str(classes.value) == str(whole.value)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_of_fractions_is_refused_in_one_pass(tmp_path, fmt):
    rng = np.random.default_rng(1)
    path = write_frame(frame_of(list(rng.standard_normal(50_000))), tmp_path / f"t.{fmt}", fmt)
    with pytest.raises(ValueError, match=rf"t\.{fmt}: column 'y': row 1: class -?\d\.\d+ is not a whole number"):
        target_classes(path, "y")


def test_classes_need_a_target(tmp_path):
    path = write_frame(frame_of(["a", "b"]), tmp_path / "t.csv", "csv")
    with pytest.raises(ValueError, match="table_chunks with classes needs the target column"):
        table_chunks(path, target=None, features=["x"], classes=["a", "b"])

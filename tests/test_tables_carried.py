"""Columns carried with the rows (a fit's weights or clusters, ids beside predictions): read whole, in
chunks, in shares and from folders alike, their rows the rows kept."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.tables import read_table, table_chunks

from table_helpers import write

TEXT = "id,firm,w,x,y\nA1,acme,1.5,1,2\nA2,,2,2,NA\nA3,bolt,NA,3,5\nA4,bolt,0.5,4,8\nA5,acme,1,5,9\n"


def chunked(path, rows=1, share=None, **options):
    """X, y and the carried columns of a pass in chunks of ``rows`` rows."""
    chunks, _ = table_chunks(path, chunk_rows=rows, share=share, **options)
    parts = list(chunks.carrying()())
    carried = {name: np.concatenate([c[name] for _, _, c in parts]) for name in chunks.carry} if parts else {}
    X = np.vstack([X for X, _, _ in parts]) if parts else np.empty((0, 1))
    return X, np.concatenate([y for _, y, _ in parts]) if parts else np.empty(0), carried, chunks


def test_carried_columns_are_not_default_features_and_keep_the_rows_kept(tmp_path):
    path = write(tmp_path, "t.csv", TEXT)
    table = read_table(path, target="y", carry=["w", "id"], missing="drop")
    assert table.feature_names == ["x"]  # w is a column of numbers, left out of the default features
    assert table.target.tolist() == [2, 5, 8, 9]  # row 2 dropped for y's gap; ids are not in use
    assert table.carried["id"].tolist() == ["A1", "A3", "A4", "A5"]
    assert table.carried["w"].tolist() == ["1.5", None, "0.5", "1"]  # not in use: as written, gaps kept
    assert not any("left out" in note and "'w'" in note for note in table.notes)


def test_columns_in_use_drop_their_gaps_or_refuse_them_by_row(tmp_path):
    path = write(tmp_path, "t.csv", TEXT)
    table = read_table(path, target="y", features=["x"], carry=["w", "firm"], carried_in_use=True, missing="drop")
    assert table.target.tolist() == [2, 8, 9] and table.dropped_rows == [2, 3]
    assert table.carried["firm"].tolist() == ["acme", "bolt", "acme"] and table.carried["w"].tolist() == [1.5, 0.5, 1]
    with pytest.raises(ValueError, match=r"u\.csv: column 'w', row 3 \(line 4\): missing value \('NA'\)"):
        read_table(
            write(tmp_path, "u.csv", "w,x,z\n1,2,0\n2,3,1\nNA,4,0\n"), target="x", carry=["w"], carried_in_use=True
        )


def test_a_column_of_numbers_in_use_refuses_a_word_by_row(tmp_path):
    path = write(tmp_path, "t.csv", "w,x,y\n1,1,2\n2,2,3\n3,3,4\ntwo,4,5\n5,5,6\n")
    with pytest.raises(ValueError, match=r"column 'w', row 4 \(line 5\): 'two' is not a number"):
        read_table(path, target="y", carry=["w"], carried_in_use=True)
    with pytest.raises(ValueError, match=r"has no column 'v'; its columns are: w, x, y"):
        read_table(path, target="y", carry=["v"])
    with pytest.raises(
        ValueError,
        match=r"no numeric column besides the target 'y' and the carried columns w, x; its columns are: w, x, y",
    ):
        read_table(path, target="y", carry=["w", "x"])


@pytest.mark.parametrize("in_use", [False, True])
@pytest.mark.parametrize("rows", [1, 2, 50])
def test_chunks_carry_what_the_whole_read_carries(tmp_path, rows, in_use):
    path = write(tmp_path, "t.csv", TEXT)
    options = dict(target="y", features=["x"], carry=["firm", "w"], carried_in_use=in_use, missing="drop")
    table = read_table(path, **options)
    X, y, carried, chunks = chunked(path, rows, **options)
    np.testing.assert_array_equal(X, table.features)
    np.testing.assert_array_equal(y, table.target)
    assert carried["firm"].tolist() == table.carried["firm"].tolist()
    np.testing.assert_array_equal(carried["w"], table.carried["w"])
    assert [X.shape for X, _ in chunks()] == [X.shape for X, _, _ in chunks.carrying()()]  # the same rows


def test_shares_and_folders_carry_their_rows_in_order(tmp_path):
    (tmp_path / "parts").mkdir()
    rng = np.random.default_rng(0)
    ids = [f"r{i}" for i in range(40)]
    for k in range(2):
        rows = range(20 * k, 20 * k + 20)
        columns = {"id": [ids[i] for i in rows], "x": rng.normal(size=20), "y": rng.normal(size=20)}
        pq.write_table(pa.table(columns), tmp_path / "parts" / f"p{k}.parquet", row_group_size=5)
    folder = str(tmp_path / "parts")
    whole = read_table(folder, target="y", carry=["id"])
    assert whole.carried["id"].tolist() == ids and whole.feature_names == ["x"]
    shares = [chunked(folder, 5, share=(rank, 3), target="y", carry=["id"])[2]["id"].tolist() for rank in range(3)]
    assert [i for share in shares for i in share] == ids and all(shares)

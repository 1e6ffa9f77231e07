"""linearnet.tables: tables read whole (read_table), from one file or a folder or a pattern of files."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.tables import read_table, table_chunks

from flowers import make_flowers
from helpers import FLOWERS, HOUSES
from houses import make_houses
from table_helpers import PRICES, both_ways, stacked, write


def test_the_shipped_houses_file_is_what_the_generator_makes():
    with open(HOUSES) as fh:
        assert fh.read() == make_houses()


def test_the_shipped_flowers_file_is_what_the_generator_makes():
    with open(FLOWERS) as fh:
        assert fh.read() == make_flowers()


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


def test_quoted_values_spanning_lines_past_pyarrows_blocks_are_read_whole_and_in_chunks(tmp_path):
    path = write(
        tmp_path, "multi.csv", "x,t,y\n" + "".join(f'{i},"line one\nline two",{i + 1}\n' for i in range(60_000))
    )
    whole = read_table(path, target="y", features=["x"])
    X, _y = stacked(list(table_chunks(path, target="y", features=["x"], chunk_rows=20_000)[0]()))
    assert whole.features[:, 0].tolist() == X[:, 0].tolist() == list(range(60_000))

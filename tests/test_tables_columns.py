"""linearnet.tables: the header, the target and the features: default features and what they leave out."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.tables import read_table, table_chunks

from table_helpers import PRICES, both_ways, write


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
    "name, text, kwargs, message",
    [
        (
            "blank.csv",
            "a,b,y\n1,,3\n2,,4\n",
            dict(features=["a", "b"]),
            "{p}: column 'b', row 1 (line 2): missing value (empty)",
        ),
        (  # dates are numbers as R's (days since 1970-01-01); times of day are not
            "times.csv",
            "when,a,y\n10:00:00,1,3\n11:30:00,2,5\n",
            dict(features=["a", "when"]),
            "{p}: column 'when' holds times of day, not numbers; convert them to numbers first (for example seconds)",
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
    ids=["blank", "times", "no-target", "no-numbers", "twice", "twice-two"],
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

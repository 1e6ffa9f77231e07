"""linearnet.tables: cells and messages (numbers, typos, missing values), each refusal naming its row."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.tables import read_table, table_chunks

from helpers import cli
from table_helpers import PRICES, both_ways, write

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


def test_parquet_errors_name_the_row(tmp_path):
    path = tmp_path / "n.parquet"
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "y": [1.0, 2.0, 3.0]}), path)
    with pytest.raises(ValueError, match=r"n.parquet: column 'a', row 2: missing value \(null\)$"):
        read_table(path, target="y")


def test_a_parquet_column_of_numbers_stored_as_text_is_read_as_numbers(tmp_path):
    path = tmp_path / "text.parquet"
    pq.write_table(pa.table({"a": ["1.5", " 2 ", "-3e2"], "b": ["1", "x", "2"], "y": [1.0, 2.0, 4.0]}), path)
    with pytest.raises(ValueError) as info:  # b is a default feature: its first value is a number
        read_table(path, target="y")
    assert str(info.value) == f"{path}: column 'b', row 2: 'x' is not a number"
    table = read_table(path, target="y", features=["a"])
    assert table.features[:, 0].tolist() == [1.5, 2.0, -300.0]


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
    assert str(info.value) == "missing must be one of error, drop, keep, got 'skip'"


@pytest.mark.parametrize("rows", [1, 3, 100])
def test_missing_keep_keeps_the_rows_with_gaps_as_nan_whole_and_in_chunks(tmp_path, rows):
    path = write(tmp_path, "na.csv", "area,rooms,city\n120,3,Lille\n80,NA,Lyon\n,4,\n60,1,Lyon\n")
    whole = read_table(path, features=["area", "rooms"], require_target=False, missing="keep")
    chunks, _ = table_chunks(path, target=None, features=["area", "rooms"], missing="keep", chunk_rows=rows)
    streamed = np.vstack([X for X, _ in chunks()])
    expected = [[120, 3], [80, np.nan], [np.nan, 4], [60, 1]]
    np.testing.assert_array_equal(whole.features, expected)
    np.testing.assert_array_equal(streamed, expected)
    assert whole.notes == [] and chunks.dropped_rows == 0 and chunks.dropped_note is None
    coded = read_table(path, features=["area", "city"], require_target=False, missing="keep")  # a category's gap
    np.testing.assert_array_equal(coded.features, [[120, 0], [80, 1], [np.nan, np.nan], [60, 1]])
    formula = read_table(path, formula="rooms ~ np.log(area) + C(city)", missing="keep")  # of the complete rows
    complete = read_table(path, formula="rooms ~ np.log(area) + C(city)", missing="drop")
    assert formula.feature_names == complete.feature_names and formula.dropped_rows == []
    np.testing.assert_array_equal(formula.features[[0, 3]], complete.features)
    assert np.isnan(formula.features[[1, 2]]).all() and np.isnan(formula.target[1])


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


def test_drop_on_a_complete_file_drops_nothing_and_says_nothing(tmp_path):
    path = write(tmp_path, "full.csv", "area,price\n120,400\n80,250\n150,480\n60,190\n")
    table = read_table(path, target="price", missing="drop")
    assert table.notes == [] and table.dropped_rows == [] and table.target.tolist() == PRICES


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


def test_a_last_line_of_spaces_is_a_short_row_whole_and_in_chunks(tmp_path):
    path = write(tmp_path, "spaces.csv", "x,a,y\n1,2,3\n2,1,4\n3,5,9\n4,4,7\n ")
    message = f"{path}: row 5 (line 6) has 1 fields, expected 3 like the header"
    with pytest.raises(ValueError) as whole:
        read_table(path, target="y")
    with pytest.raises(ValueError) as chunked:
        list(table_chunks(path, target="y", chunk_rows=2)[0]())
    assert str(whole.value) == str(chunked.value) == message


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "chunks"])
def test_a_row_whose_values_span_lines_is_named_by_the_line_it_starts_on(tmp_path, chunked):
    path = write(tmp_path, "notes.csv", 'x,t,y\n1,"a\nb",2\n2,"c\nd",3\nzz,"e\nf",4\n3,g,5\n')
    with pytest.raises(ValueError) as info:
        if chunked:
            list(table_chunks(path, target="y", features=["x"], chunk_rows=1)[0]())
        else:
            read_table(path, target="y", features=["x"])
    assert str(info.value) == f"{path}: column 'x', row 3 (line 6): 'zz' is not a number"


def test_a_missing_value_after_a_byte_order_mark_names_its_token(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfarea,y\nNA,3\n2,4\n3,5\n")  # Excel's "CSV UTF-8"
    with pytest.raises(ValueError, match=r"column 'area', row 1 \(line 2\): missing value \('NA'\)"):
        read_table(path, target="y")

"""linearnet.tables: what is known before a read: column kinds, whole or in chunks by the memory budget."""

import io
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from table_helpers import write


def test_column_kind_tells_a_column_from_its_first_rows(tmp_path):
    from linearnet.tables import column_kind

    path = write(tmp_path, "t.csv", "a,s,d\n1,x,2024-01-05\n2,y,2024-01-06\n")
    parquet = tmp_path / "t.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0], "s": ["x", "y"]}), parquet)
    assert [column_kind(path, c) for c in ("a", "s", "d", "missing")] == ["number", "text", "date", None]
    assert [column_kind(parquet, c) for c in ("a", "s", "missing")] == ["number", "text", None]
    assert column_kind("-", "a") is None  # standard input: not peeked at (it can be read once)
    folder = tmp_path / "parts"
    folder.mkdir()
    assert column_kind(folder, "a") is None  # an empty folder: the reader says so, later
    pq.write_table(pa.table({"a": [True, False], "c": pa.array(["x", "y"]).dictionary_encode()}), folder / "p.parquet")
    assert [column_kind(folder, c) for c in ("a", "c")] == ["boolean", "category"]  # a folder: its first file's
    assert column_kind(tmp_path / "no.csv", "a") is None  # the reader says what is wrong, later


def test_plan_read_reads_whole_within_the_budget_and_in_chunks_over_it(tmp_path):
    from linearnet.tables import CHUNK_ROWS, ReadPlan, plan_read, whole_read_bytes

    path = write(tmp_path, "t.csv", "a,y\n" + "".join(f"{i},{2 * i}\n" for i in range(1000)))
    need = whole_read_bytes(path)  # measured on the rows parsed: far more than the file's size
    assert need is not None and need > 10 * Path(path).stat().st_size
    assert plan_read(path, need) == ReadPlan(chunked=False, budget=need, need=need, chunk_rows=CHUNK_ROWS)
    over = plan_read(path, need - 1)
    assert over.chunked and over.over_budget and over.need == need and over.chunk_rows == CHUNK_ROWS
    assert over.note is not None and over.note.startswith(f"{path} is read in chunks: read whole it would take about ")
    assert over.note.endswith("(--memory-budget)")
    whole = plan_read(path, need - 1, streamed=False)  # softmax regression: read whole all the same, and said
    assert not whole.chunked and whole.note is not None
    assert whole.note.startswith(f"{path} is read whole, as softmax regression is not streamed: it takes about ")


def test_plan_read_asked_for_chunks_or_a_whole_read_looks_at_nothing(tmp_path, monkeypatch):
    from linearnet.tables import plan_read

    missing = tmp_path / "not-yet.csv"  # nothing is looked at: the reader says what is wrong, later
    assert plan_read(missing, 1 << 20, chunked=True, chunk_rows=7) == plan_read(
        tmp_path / "x", 1 << 20, chunked=True, chunk_rows=7
    )
    forced = plan_read(missing, 1 << 20, chunked=True, chunk_rows=7)
    assert forced.chunked and forced.chunk_rows == 7 and forced.need is None and forced.note is None
    assert not plan_read(missing, 1 << 20, chunked=False).chunked
    rows = b"a,y\n" + b"".join(b"%d,%d\n" % (i, 2 * i) for i in range(100_000))
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(rows)})())
    assert plan_read("-", 1 << 20).chunked and plan_read("-", 1 << 30).need > len(rows)  # standard input: measured


def test_the_default_budget_is_a_quarter_of_the_available_memory_at_most_a_gibibyte(monkeypatch):
    from linearnet import memory
    from linearnet.tables import MAX_DEFAULT_BUDGET, default_budget

    monkeypatch.setattr(memory, "available_bytes", lambda: 8 << 20)
    assert default_budget() == 2 << 20
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 << 30)
    assert default_budget() == MAX_DEFAULT_BUDGET == 1 << 30


def test_row_labels_are_named_so_that_they_can_be_carried_with_the_rows(tmp_path):
    import pandas as pd

    from linearnet.tables import read_table, row_labels, table_chunks

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    frame.to_csv(labelled := tmp_path / "labelled.csv")  # the index in an unnamed first column
    frame.to_parquet(indexed := tmp_path / "indexed.parquet")  # the index in a column of pandas' own
    frame.to_csv(plain := tmp_path / "plain.csv", index=False)
    assert row_labels(labelled) == "" and row_labels(indexed) == "__index_level_0__"
    assert row_labels(plain) is None and row_labels("-") is None and row_labels(tmp_path / "none.csv") is None
    for path, name in [(labelled, ""), (indexed, "__index_level_0__")]:
        table = read_table(path, features=["x"], require_target=False, carry=[name])
        chunks, _ = table_chunks(path, target=None, features=["x"], carry=[name], chunk_rows=2)
        streamed = [v for _, _, carried in chunks.carrying()() for v in carried[name].tolist()]
        assert table.carried[name].tolist() == streamed == ["a", "b", "c"]
    with pytest.raises(ValueError, match="has no column ''"):
        read_table(plain, features=["x"], require_target=False, carry=[""])

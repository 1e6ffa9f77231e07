"""linearnet.tables: tables written (write_table), read back exactly."""

import numpy as np

from linearnet.tables import read_table, write_table


def test_write_table_round_trips_exactly(tmp_path):
    values = np.random.default_rng(0).standard_normal(50) * 1e-7
    for name in ("p.csv", "p.parquet"):
        write_table(tmp_path / name, {"prediction": values, "y": values})
        assert np.array_equal(read_table(tmp_path / name, target="y").target, values)


def test_a_tsv_file_is_written_with_tabs_and_read_back_exactly(tmp_path):
    from linearnet.tables import csv_text

    values = np.random.default_rng(1).standard_normal(20)
    write_table(tmp_path / "p.tsv", {"prediction": values, "y": values})
    text = (tmp_path / "p.tsv").read_text()
    assert text == csv_text({"prediction": values, "y": values}, sep="\t") and "," not in text
    assert np.array_equal(read_table(tmp_path / "p.tsv", target="y").target, values)  # the tab is sniffed


def test_the_fast_path_for_floats_writes_what_the_csv_module_writes(tmp_path):
    import io

    from linearnet.tables import csv_text, write_csv

    hard = np.array([0.1, 1 / 3, -0.0, 1e-320, float("nan"), float("inf"), 2.5])
    for sep in (",", "\t"):
        parts = [{"a,b": hard, "c": -hard}, {"a,b": hard / 7, "c": hard}]
        fh = io.StringIO()
        write_csv(fh, parts, sep=sep)
        expected = csv_text(parts[0], sep=sep) + csv_text(parts[1], sep=sep).split("\n", 1)[1]
        assert fh.getvalue() == expected

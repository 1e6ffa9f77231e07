"""What R's ``lm`` does by definition, linearnet does too, or says where it does not: every level of a category
without an intercept, R² uncentred without one, booleans as categories FALSE/TRUE, the reference level (and a note
when R's locale would take another), dates as days, R's row names, a pandas index, an intercept-only model."""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.leastsq import solve
from linearnet.tables import read_table, table_chunks
from linearnet.tables.design import category_coding, coded_features

from helpers import cli

GROUPS = ["b", "a", "c", "a", "b", "c", "a", "c", "b", "a", "c", "b"]
SIDES = ["u", "v", "v", "u", "u", "v", "v", "u", "v", "u", "u", "v"]
SWITCH = [True, False, True, True, False, False, True, False, True, False, True, False]
Y = [4.2, 3.1, 6.0, 3.3, 4.9, 5.8, 2.7, 6.4, 4.4, 3.0, 6.1, 5.2]


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    path = tmp_path_factory.mktemp("semantics") / "groups.csv"
    lines = ["y,g,h,on"] + [
        f"{y},{g},{h},{'TRUE' if s else 'FALSE'}" for y, g, h, s in zip(Y, GROUPS, SIDES, SWITCH, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _dummies(values, levels):
    return np.array([[1.0 if v == level else 0.0 for level in levels] for v in values])


class _Done(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys):
    """``linearnet *argv`` run in this process: its exit code, stdout and stderr."""
    return lambda *argv: _Done(*cli(capsys, *argv))


# --- every level of the first category without an intercept ---


def test_without_an_intercept_the_first_category_keeps_every_level_as_r_codes_it(groups):
    table = read_table(groups, target="y", features=["g", "h"], intercept=False)
    assert table.feature_names == ["g[a]", "g[b]", "g[c]", "h[T.v]"]  # R: ga, gb, gc, hv
    X = np.hstack([_dummies(GROUPS, ["a", "b", "c"]), _dummies(SIDES, ["v"])])
    np.testing.assert_array_equal(table.features, X)
    result = solve(table.features, table.target, fit_intercept=False, feature_names=table.feature_names)
    np.testing.assert_allclose(result.params, np.linalg.lstsq(X, np.array(Y), rcond=None)[0], rtol=1e-12)
    formula = read_table(groups, formula="y ~ g + h - 1")  # the formula route names them alike
    assert formula.feature_names == table.feature_names
    np.testing.assert_array_equal(formula.features, table.features)


def test_the_rule_lives_in_one_place():
    assert coded_features(["x", "g", "h"], {"g": ["a", "b"], "h": ["u", "v"]}) == ["x", "g[T.b]", "h[T.v]"]
    assert coded_features(["x", "g", "h"], {"g": ["a", "b"], "h": ["u", "v"]}, False) == ["x", "g[a]", "g[b]", "h[T.v]"]
    coding = category_coding("g", ["b", "a", "b"], reference="b")
    assert coding.levels == ["b", "a"] and coding.names == ["g[T.a]"] and coding.note is None


def test_the_command_fits_every_level_and_reports_r2_uncentred_as_r(groups, tmp_path, run_cli):
    done = run_cli("solve", groups, "--target", "y", "--features", "g", "--no-intercept", "--json")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    X, y = _dummies(GROUPS, ["a", "b", "c"]), np.array(Y)
    beta = np.linalg.lstsq(X, y, rcond=None)[0]  # each group's mean
    np.testing.assert_allclose([got["coefficients"][f"g[{v}]"]["estimate"] for v in "abc"], beta, rtol=1e-12)
    rss = float(((y - X @ beta) ** 2).sum())
    assert got["r2_centered"] is False
    np.testing.assert_allclose(got["r2"], 1 - rss / float((y**2).sum()), rtol=1e-12)  # R's, without an intercept
    f = (float((y**2).sum()) - rss) / 3 / (rss / (len(y) - 3))  # against the zero model, on 3 and n − 3 df
    assert got["f_statistic"]["df_model"] == 3
    np.testing.assert_allclose(got["f_statistic"]["value"], f, rtol=1e-10)
    model = tmp_path / "m.json"
    assert (
        run_cli("solve", groups, "--target", "y", "--features", "g", "--no-intercept", "--out", model).returncode == 0
    )
    done = run_cli("predict", "--model", model, groups)  # predict codes the rows alike: every level
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.loadtxt(done.stdout.splitlines()[1:]), X @ beta, rtol=1e-12)


def test_r2_of_a_formula_without_an_intercept_is_uncentred(groups):
    table = read_table(groups, formula="y ~ g - 1")
    result = solve(table.features, table.target, fit_intercept=table.intercept, feature_names=table.feature_names)
    y = np.array(Y)
    rss = float(((y - table.features @ result.params) ** 2).sum())
    assert not result.centered
    np.testing.assert_allclose(result.r2, 1 - rss / float((y**2).sum()), rtol=1e-12)


# --- booleans: R's logical, the levels FALSE and TRUE ---


def test_a_boolean_column_is_a_category_false_true_in_features_and_formulas(groups, tmp_path):
    on = np.array(SWITCH, dtype=float)
    table = read_table(groups, target="y", features=["on"])
    assert table.feature_names == ["on[T.TRUE]"] and table.coding == {"on": ["FALSE", "TRUE"]}  # R: onTRUE
    np.testing.assert_array_equal(table.features[:, 0], on)
    alone = read_table(groups, target="y", features=["on", "g"], intercept=False)
    assert alone.feature_names == ["on[FALSE]", "on[TRUE]", "g[T.b]", "g[T.c]"]
    assert read_table(groups, formula="y ~ on - 1").feature_names == ["on[FALSE]", "on[TRUE]"]  # R: onFALSE, onTRUE
    formula = read_table(groups, formula="y ~ on + g")
    assert formula.feature_names == ["on[T.TRUE]", "g[T.b]", "g[T.c]"]
    path = tmp_path / "switch.parquet"  # pyarrow's bool, as R's arrow writes a logical
    pq.write_table(pa.table({"y": Y, "on": pa.array(SWITCH, pa.bool_())}), path)
    parquet = read_table(path, formula="y ~ on - 1")
    assert parquet.feature_names == ["on[FALSE]", "on[TRUE]"]
    np.testing.assert_array_equal(parquet.features, np.column_stack([1 - on, on]))
    y = np.array(Y)
    result = solve(parquet.features, parquet.target, fit_intercept=False, feature_names=parquet.feature_names)
    np.testing.assert_allclose(result.params, [y[on == 0].mean(), y[on == 1].mean()], rtol=1e-12)


# --- the reference level: chosen, and a note where R's locale would take another ---


def test_a_reference_level_is_chosen_and_the_locale_order_is_said(tmp_path):
    path = tmp_path / "origin.csv"
    path.write_text("price,origin\n10,USA\n12,non-USA\n11,USA\n15,non-USA\n9,USA\n")
    table = read_table(path, target="price", features=["origin"])
    assert table.feature_names == ["origin[T.non-USA]"]  # code points: 'U' before 'n'
    assert table.notes == [
        "column 'origin': levels sorted by code point, the reference 'USA'; R sorts them by the locale and takes "
        "'non-USA' (choose it with --reference origin=non-USA, reference={'origin': 'non-USA'} in the library)"
    ]
    chosen = read_table(path, target="price", features=["origin"], reference={"origin": "non-USA"})
    assert chosen.feature_names == ["origin[T.USA]"] and chosen.coding == {"origin": ["non-USA", "USA"]}
    assert chosen.notes == []
    np.testing.assert_array_equal(chosen.features[:, 0], [1, 0, 1, 0, 1])
    assert read_table(path, formula="price ~ origin", reference={"origin": "non-USA"}).feature_names == [
        "origin[T.USA]"
    ]
    with pytest.raises(ValueError, match=r"column 'origin' has no level 'usa' to be the reference; its levels are: "):
        read_table(path, target="price", features=["origin"], reference={"origin": "usa"})
    with pytest.raises(ValueError, match=r"column 'price', which is not a category among the features"):
        read_table(path, target="price", features=["origin"], reference={"price": "1"})
    assert read_table(path, target="price", features=["origin"], intercept=False).notes == []  # every level: no note


def test_the_command_takes_a_reference_level(tmp_path, run_cli):
    path = tmp_path / "origin.csv"
    path.write_text("price,origin\n10,USA\n12,non-USA\n11,USA\n15,non-USA\n9,USA\n")
    done = run_cli(
        "solve", path, "--target", "price", "--features", "origin", "--reference", "origin=non-USA", "--json"
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert list(got["coefficients"]) == ["origin[T.USA]"] and got["notes"] == []
    np.testing.assert_allclose(got["intercept"]["estimate"], 13.5, rtol=1e-12)  # the mean of non-USA
    done = run_cli("solve", path, "--target", "price", "--features", "origin", "--reference", "origin=x")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"linearnet solve: error: {path}: column 'origin' has no level 'x' to be the reference; "
        f"its levels are: USA, non-USA"
    ]


# --- dates and times: R's numbers of a Date and a POSIXct ---


def test_dates_are_days_since_1970_and_times_seconds_as_r_counts_them(tmp_path):
    days = ["1973-05-01", "1973-05-02", "1973-06-15", "1973-07-04", "1973-09-30"]
    times = ["1973-05-01 10:00:00", "1973-05-02 11:30:00", "1973-06-15 00:00:00", "1973-07-04 23:59:59", "1970-01-01"]
    y = [41.0, 36.0, 12.0, 18.0, 28.0]
    path = tmp_path / "days.csv"  # as R's write.csv writes a Date and a POSIXct
    path.write_text("y,day,when\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(y, days, times, strict=True)))
    since = np.array(days, dtype="datetime64[D]").astype(np.int64).astype(float)
    seconds = np.array(times, dtype="datetime64[s]").astype(np.int64).astype(float)
    table = read_table(path, target="y", features=["day", "when"])
    np.testing.assert_array_equal(table.features, np.column_stack([since, seconds]))
    assert table.notes == [
        "column 'day': dates read as days since 1970-01-01, R's number of a Date",
        "column 'when': times read as seconds since 1970-01-01 00:00 UTC, R's number of a POSIXct (written without "
        "a time zone: read as UTC, where R takes its session's zone)",
    ]
    formula = read_table(path, formula="y ~ day")
    np.testing.assert_array_equal(formula.features[:, 0], since)
    parquet = tmp_path / "days.parquet"
    stamps = pa.array(seconds.astype(np.int64) * 1000, pa.timestamp("ms", tz="UTC"))
    pq.write_table(pa.table({"y": y, "day": pa.array(since.astype(np.int32), pa.date32()), "when": stamps}), parquet)
    table = read_table(parquet, target="y", features=["day", "when"])
    np.testing.assert_array_equal(table.features, np.column_stack([since, seconds]))
    assert table.notes[1].endswith("R's number of a POSIXct")  # a zone: nothing to say about it


# --- row names as R writes them, and the index pandas writes to Parquet ---

CARS = {"Mazda RX4": (21.0, 2.62), "Datsun 710": (22.8, 2.32), "Valiant": (18.1, 3.46), "Duster 360": (14.3, 3.57)}


def test_a_write_table_header_one_field_short_is_read_with_row_names(tmp_path, run_cli):
    path = tmp_path / "cars.tsv"  # R's write.table(df, sep = "\t"): no name over the row names
    path.write_text('"mpg"\t"wt"\n' + "".join(f'"{name}"\t{m}\t{w}\n' for name, (m, w) in CARS.items()))
    table = read_table(path, target="mpg")
    assert table.feature_names == ["wt"] and table.features[:, 0].tolist() == [w for _, w in CARS.values()]
    assert table.notes == [
        "the header is one field short: the first field of each row read as its row label (as R's write.table "
        "writes row names and read.table reads them), not as a feature"
    ]
    chunks, features = table_chunks(path, target="mpg", chunk_rows=2)
    X = np.vstack([x for x, _ in chunks()])
    assert features == ["wt"] and X[:, 0].tolist() == table.features[:, 0].tolist()
    model = tmp_path / "m.json"
    assert run_cli("solve", path, "--target", "mpg", "--out", model).returncode == 0
    done = run_cli("predict", "--model", model, path)  # the row names label the predictions
    assert done.returncode == 0, done.stderr
    assert [line.split(",")[0] for line in done.stdout.splitlines()] == ["", *CARS]
    ragged = tmp_path / "ragged.csv"  # a separator ending every row is not a row name
    ragged.write_text("mpg,wt\n21,2.62,\n22.8,2.32,\n")
    with pytest.raises(ValueError, match=r"row 1 \(line 2\) has 3 fields, expected 2 like the header"):
        read_table(ragged, target="mpg")


def test_the_index_pandas_writes_to_parquet_is_row_labels(tmp_path, run_cli):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"wt": [w for _, w in CARS.values()], "mpg": [m for m, _ in CARS.values()]})
    for index, column in [(pd.Index([3, 5, 8, 13]), "__index_level_0__"), (pd.Index(list(CARS), name="car"), "car")]:
        path = tmp_path / f"{column}.parquet"
        frame.set_axis(index).to_parquet(path)
        table = read_table(path, target="mpg")
        assert table.feature_names == ["wt"]
        assert table.notes == [f"column {column}: the index pandas wrote, read as row labels, not as a feature"]
        assert table_chunks(path, target="mpg", chunk_rows=2)[1] == ["wt"]
    model = tmp_path / "m.json"
    assert run_cli("solve", tmp_path / "car.parquet", "--target", "mpg", "--out", model).returncode == 0
    done = run_cli("predict", "--model", model, tmp_path / "car.parquet")
    assert [line.split(",")[0] for line in done.stdout.splitlines()] == ["", *CARS]


# --- the intercept alone ---


def test_a_model_of_the_intercept_alone_predicts_the_mean_with_r_intervals(groups, tmp_path, run_cli):
    from scipy import stats

    model = tmp_path / "mean.json"
    assert run_cli("solve", groups, "--formula", "y ~ 1", "--out", model).returncode == 0
    y = np.array(Y)
    n, mean, s = len(y), y.mean(), y.std(ddof=1)
    t = stats.t.ppf(0.975, n - 1)
    for interval, half in [("confidence", t * s / np.sqrt(n)), ("prediction", t * s * np.sqrt(1 + 1 / n))]:
        done = run_cli("predict", "--model", model, groups, "--interval", interval)  # R's predict(interval = )
        assert done.returncode == 0, done.stderr
        got = np.loadtxt(done.stdout.splitlines()[1:], delimiter=",")
        np.testing.assert_allclose(got, np.tile([mean, mean - half, mean + half], (n, 1)), rtol=1e-12)


def test_a_parquet_dictionary_and_a_folder_are_coded_by_the_same_rules(tmp_path):
    path = tmp_path / "dict.parquet"  # pandas' category, R's factor written by arrow: the dictionary's order
    pq.write_table(pa.table({"y": Y, "g": pa.array(GROUPS).dictionary_encode()}), path)
    order = list(dict.fromkeys(GROUPS))
    table = read_table(path, target="y", features=["g"], intercept=False)
    assert table.feature_names == [f"g[{v}]" for v in order]
    np.testing.assert_array_equal(table.features, _dummies(GROUPS, order))
    folder = tmp_path / "parts"
    folder.mkdir()
    for k, rows in enumerate([range(0, 6), range(6, 12)]):
        lines = [f"{Y[i]},{GROUPS[i]},{'TRUE' if SWITCH[i] else 'FALSE'}" for i in rows]
        (folder / f"{k}.csv").write_text("y,g,on\n" + "\n".join(lines) + "\n")
    joined = read_table(folder, target="y", features=["on", "g"], intercept=False, reference={"g": "c"})
    assert joined.feature_names == ["on[FALSE]", "on[TRUE]", "g[T.a]", "g[T.b]"]
    np.testing.assert_array_equal(joined.features[:, 2:], _dummies(GROUPS, ["a", "b"]))

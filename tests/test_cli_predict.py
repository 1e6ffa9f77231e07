"""`linearnet predict` (linearnet.cli.predict): a saved model's predictions, to the screen or a file."""

import sys

import numpy as np
import pytest

from linearnet.cli import main
from linearnet.modelfile import Model, load_model, save_model
from linearnet.tables import read_table

from helpers import HOUSES, Terminal, bars_at_once, cli, statsmodels_houses


def test_solve_save_and_predict_round_trip(tmp_path, capsys):
    model_path = tmp_path / "houses.model.json"
    assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", model_path)[0] == 0
    model = load_model(model_path)
    ref = statsmodels_houses()
    assert model.features == ["area", "rooms", "age"] and model.target == "price"
    assert model.training["method"] == "solve" and model.statistics["n"] == 200
    np.testing.assert_allclose(model.coefficients, ref.params[1:], rtol=1e-10)
    code, out, err = cli(capsys, "predict", "--model", model_path, HOUSES)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "price_predicted" and len(lines) == 201
    np.testing.assert_allclose([float(v) for v in lines[1:]], ref.fittedvalues, rtol=1e-10)
    for name in ("pred.csv", "pred.parquet"):
        code, out, err = cli(capsys, "predict", "--model", model_path, HOUSES, "--out", tmp_path / name)
        assert (code, out, err) == (0, f"predictions written to {tmp_path / name}\n", "")
        back = read_table(tmp_path / name, target="price_predicted", features=[])
        np.testing.assert_allclose(back.target, ref.fittedvalues, rtol=1e-12)


def test_predict_names_the_missing_columns(tmp_path, capsys):
    save_model(Model(["area", "rooms", "age"], [1.0, 2.0, 3.0], 4.0, target="price"), tmp_path / "m.json")
    data = tmp_path / "new.csv"
    data.write_text("area,size\n10,2\n")
    code, out, err = cli(capsys, "predict", "--model", tmp_path / "m.json", data)
    assert code == 2 and out == ""
    assert err == f"linearnet predict: error: {data}: has no columns 'rooms', 'age'; its columns are: area, size\n"


def test_predict_needs_a_model(capsys):
    code, out, err = cli(capsys, "predict", HOUSES)
    assert code == 2 and out == ""
    assert err == "linearnet predict: error: the following arguments are required: --model\n"


def test_predict_says_that_an_unnamed_first_column_is_row_labels_and_writes_them_first(tmp_path, capsys):
    save_model(Model(["area"], [2.0], 1.0, target="price"), tmp_path / "m.json")
    data = tmp_path / "new.csv"  # pandas' to_csv: the index in an unnamed first column
    data.write_text(",area\n7,10\n8,20\n")
    code, out, err = cli(capsys, "predict", "--model", tmp_path / "m.json", data)
    assert code == 0 and out == ",price_predicted\n7,21.0\n8,41.0\n"
    assert err == (
        "linearnet predict: note: column 1 has no name: read as row labels (as R's write.csv and pandas' "
        "to_csv write them), not as a feature\n"
    )


def test_a_model_with_a_coded_text_column_predicts_new_rows_as_statsmodels_formulas_do(tmp_path, capsys):
    import pandas as pd
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(5)
    city = rng.choice(["Paris", "Lyon", "Nice"], 60)
    area = rng.uniform(40, 200, 60)
    price = 50 + 2.5 * area + np.select([city == "Paris", city == "Nice"], [120, 40], 0) + rng.normal(0, 10, 60)
    data = pd.DataFrame({"area": area, "city": city, "price": price})
    path, model_path = tmp_path / "homes.csv", tmp_path / "homes.json"
    data.to_csv(path, index=False)
    code, out, err = cli(capsys, "solve", path, "--target", "price", "--features", "area,city", "--out", model_path)
    assert code == 0 and err == ""
    ref = smf.ols("price ~ area + C(city)", data).fit()  # R's and patsy's treatment coding
    model = load_model(model_path)
    assert model.features == ["area", "city[T.Nice]", "city[T.Paris]"] and model.coding == {
        "city": ["Lyon", "Nice", "Paris"]
    }
    np.testing.assert_allclose(
        [model.intercept, *model.coefficients],
        ref.params[["Intercept", "area", "C(city)[T.Nice]", "C(city)[T.Paris]"]],
        rtol=1e-10,
    )
    assert model.statistics["coefficients"]["city[T.Paris]"]["stderr"] == pytest.approx(
        ref.bse["C(city)[T.Paris]"], rel=1e-9
    )
    new = tmp_path / "new.csv"
    new.write_text("city,area\nNice,100\nLyon,80.5\n")  # columns in any order, a level missing
    code, out, err = cli(capsys, "predict", "--model", model_path, new)
    assert code == 0 and err == ""
    expected = ref.predict(pd.DataFrame({"area": [100, 80.5], "city": ["Nice", "Lyon"]}))
    np.testing.assert_allclose([float(v) for v in out.splitlines()[1:]], expected, rtol=1e-10)
    new.write_text("city,area\nRome,100\n")
    code, out, err = cli(capsys, "predict", "--model", model_path, new)
    assert (
        code == 2
        and out == ""
        and err
        == (
            f"linearnet predict: error: {new}: column 'city', row 1 (line 2): 'Rome' is not one of the levels "
            f"the model knows (Lyon, Nice, Paris)\n"
        )
    )


def test_no_command_writes_over_its_input(tmp_path, capsys):
    data, model = tmp_path / "h.csv", tmp_path / "m.json"
    data.write_text(open(HOUSES).read())
    assert cli(capsys, "solve", data, "--target", "price", "--out", model)[0] == 0
    before = (data.read_bytes(), model.read_bytes())
    for argv, victim in [
        (["predict", data, "--model", model, "--out", data], data),
        (["predict", data, "--model", model, "--out", model], model),
        (["solve", data, "--target", "price", "--out", data], data),
        (["train", "--data", data, "--target", "price", "--out", data], data),
    ]:
        code, out, err = cli(capsys, *argv)
        command = argv[0]
        assert (code, out) == (2, "") and err == (
            f"linearnet {command}: error: {victim}: is an input of this command ({victim}); "
            f"write the output to another file\n"
        )
    assert (data.read_bytes(), model.read_bytes()) == before


@pytest.mark.filterwarnings("error")  # a RuntimeWarning of NumPy's would be printed too
def test_predictions_that_overflow_are_refused_in_one_line(tmp_path, capsys):
    model, data = tmp_path / "m.json", tmp_path / "rows.csv"
    save_model(Model(["x"], [1e308], 0.0, target="y"), model)
    data.write_text("x\n0.5\n3\n-4\n")
    code, out, err = cli(capsys, "predict", data, "--model", model, "--out", tmp_path / "p.csv")
    assert (code, out) == (2, "") and err == (
        f"linearnet predict: error: {model}: the prediction for row 2 overflows float64 "
        f"(2 of the 3 rows read with it do): "
        f"the model's coefficients are too large for these data\n"
    )
    assert not (tmp_path / "p.csv").exists()


def _big_model(tmp_path, n=5000):
    """A model y = 1 + 2a - b, a CSV of n rows for it (a Parquet copy too) and its predictions."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    csv_path, parquet_path = tmp_path / "rows.csv", tmp_path / "rows.parquet"
    csv_path.write_text("a,b\n" + "".join(f"{x!r},{z!r}\n" for x, z in zip(a.tolist(), b.tolist(), strict=True)))
    pq.write_table(pa.table({"a": a, "b": b}), parquet_path, row_group_size=700)
    model_path = tmp_path / "m.json"
    model = Model(["a", "b"], np.array([2.0, -1.0]), 1.0, target="y")
    save_model(model, model_path)
    return model_path, csv_path, parquet_path, model.predict(np.column_stack([a, b]))  # all rows at once


@pytest.mark.parametrize("out", [None, "pred.csv", "pred.parquet"])
@pytest.mark.parametrize("data", ["csv", "parquet"])
def test_a_file_is_predicted_a_chunk_at_a_time_with_the_same_predictions(tmp_path, capsys, monkeypatch, data, out):
    from linearnet.tables import plan

    model_path, csv_path, parquet_path, expected = _big_model(tmp_path)
    seen = []
    real = Model.prediction_columns
    monkeypatch.setattr(plan, "CHUNK_ROWS", 600)
    monkeypatch.setattr(Model, "prediction_columns", lambda self, X, **kw: seen.append(len(X)) or real(self, X, **kw))
    argv = ["predict", "--model", model_path, csv_path if data == "csv" else parquet_path]
    code, text, err = cli(capsys, *argv, *(["--out", tmp_path / out] if out else []))
    assert code == 0 and err == ""
    assert len(seen) > 5 and sum(seen) == 5000 and max(seen) <= 1000  # chunks, not the whole file
    if out is None:
        lines = text.splitlines()
        assert lines[0] == "y_predicted" and len(lines) == 5001
        got = [float(v) for v in lines[1:]]
    else:
        got = read_table(tmp_path / out, target="y_predicted", features=[]).target
    np.testing.assert_array_equal(got, expected)


def test_a_bad_value_late_in_a_streamed_file_is_named_by_its_row_and_leaves_the_output(tmp_path, capsys, monkeypatch):
    from linearnet.tables import plan

    model_path, csv_path, _, _ = _big_model(tmp_path)
    monkeypatch.setattr(plan, "CHUNK_ROWS", 600)
    lines = csv_path.read_text().splitlines()
    lines[4001] = "1e308,-1e308"  # row 4001: 2·1e308 overflows
    csv_path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "pred.csv"
    out.write_text("kept\n")
    code, text, err = cli(capsys, "predict", "--model", model_path, csv_path, "--out", out)
    assert code == 2 and text == "" and out.read_text() == "kept\n"
    assert err.startswith(f"linearnet predict: error: {model_path}: the prediction for row 4001 overflows float64")
    lines[4001] = "1,x"
    csv_path.write_text("\n".join(lines) + "\n")
    code, text, err = cli(capsys, "predict", "--model", model_path, csv_path, "--out", out)
    assert code == 2 and out.read_text() == "kept\n"
    assert err == f"linearnet predict: error: {csv_path}: column 'b', row 4001 (line 4002): 'x' is not a number\n"


def test_predicting_a_file_in_chunks_shows_the_bytes_read_on_a_terminal_only(tmp_path, capsys, monkeypatch):
    from linearnet.tables import plan

    bars_at_once(monkeypatch)
    monkeypatch.setattr(plan, "CHUNK_ROWS", 200)
    save_model(Model(["x"], [2.0], 1.0, target="y"), tmp_path / "m.json")
    data = tmp_path / "new.csv"
    data.write_text("x\n" + "".join(f"{v}.25\n" for v in range(5000)))
    argv = ["predict", "--model", tmp_path / "m.json", data]
    code, plain, err = cli(capsys, *argv)
    assert code == 0 and err == "" and plain.splitlines()[1:3] == ["1.5", "3.5"]  # not a terminal: no bar
    monkeypatch.setattr(sys, "stderr", tty := Terminal())
    code, out, _ = cli(capsys, *argv)
    assert code == 0 and out == plain  # stdout: the predictions alone
    counts = {f.split("|")[2].split()[0] for f in tty.getvalue().split("\r") if f.startswith("reading")}
    assert len(counts) > 2 and tty.getvalue().endswith("\r")
    monkeypatch.setattr(sys, "stdout", screen := Terminal())  # the predictions on the terminal: no bar across them
    monkeypatch.setattr(sys, "stderr", tty := Terminal())
    assert main([str(a) for a in argv]) == 0 and screen.getvalue() == plain and tty.getvalue() == ""


HARD_FLOATS = [
    0.1,
    1 / 3,
    -0.0,
    5e-324,
    1e-7,
    1e16,
    1e15 + 0.5,
    1.7976931348623157e308,
    float("nan"),
    float("inf"),
    2.5,
]


@pytest.mark.parametrize("out", [None, "pred.csv"])
def test_predictions_written_as_csv_are_each_floats_repr_and_read_back_exactly(tmp_path, capsys, out):
    from linearnet.cli.common import write_columns
    from linearnet.tables import csv_text

    hard = np.array(HARD_FLOATS)
    floats = [{"y_predicted": hard, "p_a,b": hard[::-1].copy()}, {"y_predicted": hard / 3, "p_a,b": -hard}]
    classes = [{"label": ["a", 'b"c'], "p_a": np.array([0.25, 1 / 7])}, {"label": ["d"], "p_a": np.array([-0.0])}]
    single = [{"y_predicted": hard}, {"y_predicted": -hard}]
    for parts in (floats, single, classes):
        path = tmp_path / out if out else None
        write_columns("linearnet predict", iter(parts), str(path) if path else None)
        text = path.read_text() if path else capsys.readouterr().out
        assert text == csv_text(parts[0]) + csv_text(parts[1]).split("\n", 1)[1]  # the header once
        if parts is floats:
            assert text.splitlines()[0] == 'y_predicted,"p_a,b"'
            rows = [[float(v) for v in line.rsplit(",", 1)] for line in text.splitlines()[1:]]
            np.testing.assert_array_equal(rows, np.column_stack([np.r_[hard, hard / 3], np.r_[hard[::-1], -hard]]))
            assert [str(r[0]) for r in rows[:3]] == ["0.1", "0.3333333333333333", "-0.0"]


def test_predictions_written_to_a_tsv_file_are_separated_by_tabs(tmp_path, capsys):
    from linearnet.tables import csv_text

    save_model(Model(["area", "rooms", "age"], [1.0, 2.0, 3.0], 4.0, target="price"), tmp_path / "m.json")
    out = tmp_path / "pred.tsv"
    code, printed, err = cli(capsys, "predict", "--model", tmp_path / "m.json", HOUSES, "--out", out)
    assert (code, printed, err) == (0, f"predictions written to {out}\n", "")
    table = read_table(HOUSES, target="price")
    expected = table.features @ np.array([1.0, 2.0, 3.0]) + 4.0
    assert out.read_text() == csv_text({"price_predicted": expected}, sep="\t")
    back = read_table(out, target="price_predicted", features=[], sep="tab")
    np.testing.assert_array_equal(back.target, expected)
    parts = [{"label": ["a", "b\tc"], "p_a": np.array([0.25, 0.5])}]
    from linearnet.cli.common import write_columns

    write_columns("linearnet predict", parts, str(out))  # a tab in a value is quoted
    assert out.read_text() == 'label\tp_a\na\t0.25\n"b\tc"\t0.5\n'

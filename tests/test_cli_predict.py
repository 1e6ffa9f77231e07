"""`linearnet predict` (linearnet.cli.predict): a saved model's predictions, to the screen or a file."""

import numpy as np

from linearnet.modelfile import Model, load_model, save_model
from linearnet.tables import read_table

from helpers import HOUSES, cli, statsmodels_houses


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


def test_predict_says_that_an_unnamed_first_column_is_row_labels(tmp_path, capsys):
    save_model(Model(["area"], [2.0], 1.0, target="price"), tmp_path / "m.json")
    data = tmp_path / "new.csv"  # pandas' to_csv: the index in an unnamed first column
    data.write_text(",area\n7,10\n8,20\n")
    code, out, err = cli(capsys, "predict", "--model", tmp_path / "m.json", data)
    assert code == 0 and out == "price_predicted\n21.0\n41.0\n"
    assert err == (
        "linearnet predict: note: column 1 has no name: read as row labels (as R's write.csv and pandas' "
        "to_csv write them), not as a feature\n"
    )

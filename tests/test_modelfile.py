"""Model files (linearnet.modelfile): saved bit for bit, and a broken file refused with its reason."""

import json

import numpy as np
import pytest

from linearnet.leastsq import solve
from linearnet.modelfile import Model, SoftmaxModel, load_model, save_model
from linearnet.records import linear_model, sgd_model, softmax_model

from helpers import HOUSES, cli


def test_model_files_round_trip_bit_for_bit(tmp_path):
    rng = np.random.default_rng(0)
    model = Model(
        ["a", "b"],
        rng.standard_normal(2) * 1e-9,
        float(rng.standard_normal()),
        target="y",
        training={"method": "solve"},
    )
    save_model(model, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert np.array_equal(back.coefficients, model.coefficients) and back.intercept == model.intercept
    assert back.features == ["a", "b"] and json.loads((tmp_path / "m.json").read_text())["format_version"] == 1


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not a usable linearnet model file: not JSON"),
        ('{"format": "pickle"}', 'not a usable linearnet model file: expected "format": "linearnet-model"'),
        (
            '{"format": "linearnet-model", "format_version": 9}',
            "not a usable linearnet model file: format_version 9 is newer than this linearnet reads (3); "
            "upgrade linearnet",
        ),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1, 2], "intercept": 0}',
            "not a usable linearnet model file: coefficients must be 1 finite numbers, one per feature",
        ),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1], "intercept": "__import__(\'os\')"}',
            "not a usable linearnet model file: intercept must be a finite number",
        ),
    ],
)
def test_bad_model_files(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: {message}")
    code, _, err = cli(capsys, "predict", "--model", path, HOUSES)
    assert code == 2 and err.startswith(f"linearnet predict: error: {path}: {message}") and err.count("\n") == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (
            '{"format": "linearnet-model", "format_version": true}',
            "format_version must be a whole number >= 1, got True",
        ),
        ("[" * 100000 + "]" * 100000, "nested too deeply"),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1' + "0" * 400 + '], "intercept": 0}',
            "a number is too large for a float",
        ),
        (
            '{"format": "linearnet-model", "format_version": 1, "kind": "linear_regression", "features": ["a"], '
            '"coefficients": [1], "intercept": 0, "fit_intercept": "no"}',
            "fit_intercept must be true or false",
        ),
    ],
)
def test_wrong_types_deep_nesting_and_huge_numbers_are_refused_exactly(tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_text(content)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value) == f"{path}: not a usable linearnet model file: {message}"


def test_a_softmax_model_predicts_the_most_probable_class(tmp_path):
    model = SoftmaxModel(["a", "b"], ["cat", "dog", "eel"], [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]], [0.0, 0.0, 0.5])
    X = np.array([[3.0, 0.0], [0.0, 3.0], [-2.0, -2.0], [1.0, 1.5]])
    assert model.predict(X) == ["cat", "dog", "eel", "dog"]
    save_model(model, tmp_path / "s.json")
    back = load_model(tmp_path / "s.json")
    assert isinstance(back, SoftmaxModel) and back.predict(X) == model.predict(X)
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("X", [np.ones((2, 3)), np.ones(2), np.ones((1, 2, 2))], ids=["columns", "1-D", "3-D"])
@pytest.mark.parametrize("make", ["linear", "softmax"])
def test_predict_wants_one_column_per_feature(X, make):
    if make == "linear":
        model = Model(["area", "rooms"], [1.0, 2.0], 0.0)
    else:
        model = SoftmaxModel(["area", "rooms"], ["a", "b"], np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError) as info:
        model.predict(X)
    assert str(info.value) == f"X must have shape (n, 2) for the features area, rooms, got {X.shape}"


def test_files_that_cannot_be_opened(tmp_path):
    cases = [
        (tmp_path / "missing.json", "no such model file"),
        (tmp_path, "is a directory, expected a model file"),
    ]
    (tmp_path / "file").write_text("{}")
    cases.append((tmp_path / "file" / "m.json", "cannot be read (Not a directory)"))
    for path, message in cases:
        with pytest.raises(ValueError) as info:
            load_model(path)
        assert str(info.value) == f"{path}: {message}"


LINEAR = {
    "format": "linearnet-model",
    "format_version": 1,
    "kind": "linear_regression",
    "features": ["a", "b"],
    "coefficients": [1.0, 2.0],
    "intercept": 0.5,
}
SOFTMAX = {
    "format": "linearnet-model",
    "format_version": 1,
    "kind": "softmax_regression",
    "features": ["a", "b"],
    "classes": ["x", "y"],
    "coefficients": [[1.0, 2.0], [3.0, 4.0]],
    "intercepts": [0.0, 1.0],
}


@pytest.mark.parametrize(
    "base, change, message",
    [
        (LINEAR, {"format_version": 0}, "format_version must be a whole number >= 1, got 0"),
        (LINEAR, {"format_version": "1"}, "format_version must be a whole number >= 1, got '1'"),
        (LINEAR, {"kind": "tree"}, "kind 'tree' is not supported (linear_regression, softmax_regression)"),
        (LINEAR, {"kind": None}, "kind None is not supported (linear_regression, softmax_regression)"),
        (LINEAR, {"features": [], "fit_intercept": False}, "features must be a non-empty list of column names"),
        (SOFTMAX, {"features": []}, "features must be a non-empty list of column names"),
        (LINEAR, {"features": "a,b"}, "features must be a non-empty list of column names"),
        (LINEAR, {"features": ["a", 2]}, "features must be a non-empty list of column names"),
        (LINEAR, {"coefficients": [1.0, True]}, "coefficients must be 2 finite numbers, one per feature"),
        (LINEAR, {"target": 3}, "target must be a column name or null"),
        (SOFTMAX, {"classes": ["x"]}, "classes must be a list of at least two class names"),
        (SOFTMAX, {"classes": ["x", 1]}, "classes must be a list of at least two class names"),
        (SOFTMAX, {"classes": "xy"}, "classes must be a list of at least two class names"),
        (SOFTMAX, {"coefficients": [[1.0, 2.0]]}, "coefficients must be 2 rows of 2 finite numbers"),
        (SOFTMAX, {"coefficients": [[1.0, 2.0], [3.0]]}, "coefficients must be 2 rows of 2 finite numbers"),
        (SOFTMAX, {"coefficients": [1.0, 2.0]}, "coefficients must be 2 rows of 2 finite numbers"),
        (SOFTMAX, {"coefficients": {"x": [1.0, 2.0]}}, "coefficients must be 2 rows of 2 finite numbers"),
        (SOFTMAX, {"intercepts": [0.0]}, "intercepts must be 2 finite numbers, one per class"),
        (SOFTMAX, {"intercepts": None}, "intercepts must be 2 finite numbers, one per class"),
        (SOFTMAX, {"target": ["species"]}, "target must be a column name or null"),
    ],
)
def test_every_field_is_checked(tmp_path, base, change, message):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(base | change))
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value) == f"{path}: not a usable linearnet model file: {message}"


@pytest.mark.parametrize("base", [LINEAR, SOFTMAX], ids=["linear", "softmax"])
def test_the_files_the_broken_ones_start_from_load(tmp_path, base):
    """Each broken file above differs from one of these in the one field its message names."""
    path = tmp_path / "m.json"
    path.write_text(json.dumps(base | {"target": "y"}))
    model = load_model(path)
    assert model.to_dict() | {"linearnet_version": None} == {
        "linearnet_version": None,
        "target": "y",
        "training": {},
        **({"fit_intercept": True, "standardization": None, "statistics": None} if base is LINEAR else {}),
        **base,
    }


def test_a_model_with_coded_columns_is_format_2_and_its_coding_is_checked(tmp_path):
    model = Model(
        ["area", "city[T.Paris]"], [2.0, 100.0], 5.0, coding={"city": ["Lyon", "Paris"]}, columns=["area", "city"]
    )
    path = tmp_path / "m.json"
    save_model(model, path)
    data = json.loads(path.read_text())
    assert data["format_version"] == 2 and data["coding"] == {"city": ["Lyon", "Paris"]}
    back = load_model(path)
    assert back.coding == model.coding and back.columns == ["area", "city"] and back.features == model.features
    save_model(Model(["area"], [2.0], 5.0), path)
    assert json.loads(path.read_text())["format_version"] == 1 and "coding" not in json.loads(path.read_text())
    for change, why in [
        ({"columns": "area"}, "columns must be a non-empty list of column names"),
        (
            {"coding": {"city": ["Paris"]}},
            "coding must map some of the columns to lists of two or more distinct levels",
        ),
        (
            {"coding": {"town": ["Lyon", "Paris"]}},
            "coding must map some of the columns to lists of two or more distinct levels",
        ),
        (
            {"coding": {"city": ["Paris", "Lyon"]}},
            "features must be the columns with each coded one as name[T.level] for its levels but the first",
        ),
    ]:
        path.write_text(json.dumps({**data, **change}))
        with pytest.raises(ValueError) as info:
            load_model(path)
        assert str(info.value) == f"{path}: not a usable linearnet model file: {why}"


def test_a_formula_model_keeps_its_formula_and_it_is_checked(tmp_path):
    model = Model(
        ["area", "np.log(age)"], [2.0, -3.0], 5.0, formula="price ~ area + np.log(age)", columns=["age", "area"]
    )
    path = tmp_path / "f.json"
    save_model(model, path)
    data = json.loads(path.read_text())
    assert data["format_version"] == 2 and data["formula"] == "price ~ area + np.log(age)" and data["coding"] == {}
    back = load_model(path)
    assert back.formula == model.formula and back.columns == ["age", "area"] and back.coding is None
    for change in ({"formula": 3}, {"formula": "area + age"}):
        path.write_text(json.dumps({**data, **change}))
        with pytest.raises(ValueError) as info:
            load_model(path)
        assert str(info.value) == (
            f"{path}: not a usable linearnet model file: formula must be the text of a formula such as 'y ~ x' "
            f"(linear regression)"
        )


def test_a_formula_models_coding_is_checked(tmp_path):
    path = tmp_path / "f.json"
    save_model(Model(["C(city)[T.Paris]"], [2.0], 5.0, formula="y ~ C(city)", coding={"city": ["Lyon", "Paris"]},
                     columns=["city"]), path)  # fmt: skip
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "coding": {"town": ["Lyon", "Paris"]}}))
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value).endswith("coding must map some of the columns to lists of two or more distinct levels")


FORMULA = LINEAR | {
    "format_version": 2,
    "features": ["a", "np.log(b)"],
    "formula": "y ~ a + np.log(b)",
    "columns": ["a", "b"],
    "coding": {},
}


@pytest.mark.parametrize(
    "base, change, message",
    [
        (LINEAR, {"features": ["a", "a"]}, "features must be distinct: 'a' is listed twice"),
        (FORMULA, {"columns": ["a", "b", "a"]}, "columns must be distinct: 'a' is listed twice"),
        (
            FORMULA,
            {"formula": "y ~ C(a) + np.log(b)", "features": ["C(a)[T.1]", "np.log(b)"], "coding": {"a": ["0", "0"]}},
            "coding must map some of the columns to lists of two or more distinct levels",
        ),
        (SOFTMAX, {"classes": ["x", "x"]}, "classes must be distinct: 'x' is listed twice"),
        (
            SOFTMAX,
            {"target": "p_y", "classes": ["x", "y_predicted"]},
            "class 'y_predicted' would write its probability p_y_predicted over the predicted class's column "
            "(target 'p_y'); rename the class or the target",
        ),
    ],
    ids=["features", "columns", "levels", "classes", "prediction-column"],
)
def test_a_model_file_naming_something_twice_is_refused_by_name(tmp_path, capsys, base, change, message):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(base | change))
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value) == f"{path}: not a usable linearnet model file: {message}"
    data = tmp_path / "rows.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    code, out, err = cli(capsys, "predict", data, "--model", path)
    assert (code, out) == (2, "") and err == f"linearnet predict: error: {info.value}\n"


def test_a_number_written_with_thousands_of_digits_is_refused_by_file_name(tmp_path, capsys):
    import sys

    path = tmp_path / "m.json"
    path.write_text(json.dumps(LINEAR).replace('"intercept": 0.5', '"intercept": ' + "1" * 5000))
    message = (
        f"{path}: not a usable linearnet model file: a number is written with more than "
        f"{sys.get_int_max_str_digits()} digits"
    )
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value) == message
    code, out, err = cli(capsys, "predict", HOUSES, "--model", path)
    assert (code, out, err) == (2, "", f"linearnet predict: error: {message}\n")


@pytest.mark.filterwarnings("error")  # no RuntimeWarning of NumPy's either
def test_predictions_that_overflow_are_refused_naming_the_model_file_and_the_first_row(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(LINEAR | {"coefficients": [1e308, 0.0]}))
    X = np.array([[0.5, 1.0], [3.0, 1.0], [-4.0, 1.0]])
    with pytest.raises(ValueError) as info:
        load_model(path).prediction_columns(X)
    assert str(info.value) == (
        f"{path}: the prediction for row 2 overflows float64 (2 of the 3 rows read with it do): "
        f"the model's coefficients are too large for these data"
    )
    path.write_text(json.dumps(SOFTMAX | {"coefficients": [[1e308, 0.0], [-1e308, 0.0]]}))
    with pytest.raises(ValueError) as info:
        load_model(path).prediction_columns(X)
    assert str(info.value) == (
        f"{path}: the class scores for row 2 overflow float64 (2 of the 3 rows read with it do): "
        f"the model's coefficients are too large for these data"
    )
    with pytest.raises(ValueError) as info:  # a model made in memory is "the model"
        Model(["a", "b"], [1e308, 0.0], 0.0).predict(X)
    assert str(info.value).startswith("the model: the prediction for row 2 overflows float64")
    assert Model(["a", "b"], [1e308, 0.0], 0.0).predict(X[:1]).tolist() == [5e307]
    with pytest.raises(ValueError) as info:  # not the model's fault
        Model(["a", "b"], [1.0, 0.0], 0.0).predict([[1.0, 2.0], [np.nan, 1.0]])
    assert str(info.value) == "the model: row 2 of the data holds a value that is not a finite number"


def test_a_model_made_from_a_tables_fit_keeps_its_target_file_and_categories(tmp_path):
    from linearnet.tables import read_table

    path = tmp_path / "h.csv"
    path.write_text("area,city,price\n1,Lyon,2\n2,Nice,3.5\n3,Paris,4\n4,Lyon,5.5\n5,Paris,7\n6,Nice,6.5\n")
    table = read_table(path, target="price", features=["area", "city"])
    model = linear_model(solve(table.features, table.target, feature_names=table.feature_names), table=table)
    assert model.target == "price" and model.training["data"] == str(path)
    assert model.coding == {"city": ["Lyon", "Nice", "Paris"]} and model.columns == ["area", "city"]
    new = read_table(path, features=model.columns, require_target=False, levels=model.coding)
    np.testing.assert_allclose(model.predict(new.features), table.target, atol=1.5)


def test_a_solve_is_recorded_with_its_statistics_and_reads_back_bit_for_bit(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 2))
    fit = solve(X, X @ [2.0, -1.0] + 3 + 0.1 * rng.standard_normal(30), feature_names=["a", "b"])
    model = linear_model(fit, target="y", data="d.csv")
    assert model.training == {"method": "solve", "data": "d.csv", "n": 30, "algorithm": fit.method}
    assert model.statistics == fit.to_dict() and model.target == "y" and model.coding is None
    save_model(model, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert np.array_equal(back.coefficients, fit.coef) and back.intercept == fit.intercept
    assert back.statistics == fit.to_dict()


def test_sgd_fits_are_recorded_as_their_own_to_model_records_them():
    from linearnet import fit_arrays, make_train_config
    from linearnet.array_fit import fit_classifier

    rng = np.random.default_rng(2)
    X = rng.standard_normal((40, 2))
    fit = fit_arrays(X, X @ [1.0, 2.0], make_train_config(epochs=2), feature_names=["a", "b"], standardize=True)
    model, reference = sgd_model(fit, target="y", data="d.csv"), fit.to_model(target="y", data="d.csv")
    assert model.to_dict() == reference.to_dict() and model.training["method"] == "sgd"
    assert model.standardization is not None and np.array_equal(model.coefficients, reference.coefficients)
    classes = fit_classifier(X, (X[:, 0] > 0).astype(int), make_train_config("digits-softmax", epochs=1), num_classes=2)
    model, reference = softmax_model(classes, target="label"), classes.to_model(target="label")
    assert model.to_dict() == reference.to_dict() and np.array_equal(model.coefficients, reference.coefficients)


def test_a_level_that_is_not_text_is_refused_not_a_crash(tmp_path):
    model = Model(["a", "c[T.y]"], [1.0, 2.0], 0.0, coding={"c": ["x", "y"]}, columns=["a", "c"])
    path = tmp_path / "m.json"
    save_model(model, path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "coding": {"c": [["x"], "y"]}}))  # a list cannot be a level
    with pytest.raises(ValueError, match="coding must map some of the columns to lists of two or more distinct levels"):
        load_model(path)


def test_a_solve_is_recorded_by_linear_model_and_its_to_model_alike():
    X, y = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [4.0, 3.0]]), np.array([1.0, 2.0, 4.0, 3.5])
    fit = solve(X, y, feature_names=["a", "b"])
    model, reference = fit.to_model(target="y", data="d.csv"), linear_model(fit, target="y", data="d.csv")
    assert model.to_dict() == reference.to_dict() and model.features == ["a", "b"]
    np.testing.assert_array_equal(model.predict(X), fit.predict(X))

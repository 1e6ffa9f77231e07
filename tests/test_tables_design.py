"""linearnet.tables: categories coded as R codes a factor, and formulas."""

import json

import numpy as np
import pytest

from linearnet.tables import read_table, table_chunks

from helpers import cli
from table_helpers import write


def test_a_text_feature_is_coded_as_r_codes_a_factor(tmp_path):
    path = write(tmp_path, "homes.csv", "area,city,price\n120,Paris,400\n80,Lyon,250\n150,Nice,480\n60,Lyon,190\n")
    table = read_table(path, target="price", features=["area", "city"])
    assert table.coding == {"city": ["Lyon", "Nice", "Paris"]}  # sorted; the first is the reference
    assert table.feature_names == ["area", "city[T.Nice]", "city[T.Paris]"] and table.columns == ["area", "city"]
    assert table.features.tolist() == [[120, 0, 1], [80, 0, 0], [150, 1, 0], [60, 0, 0]]


def test_a_fitted_models_levels_code_new_rows_and_refuse_a_level_it_never_saw(tmp_path):
    levels = {"city": ["Lyon", "Nice", "Paris"]}
    path = write(tmp_path, "new.csv", "area,city\n100,Paris\n90,Lyon\n")
    table = read_table(path, features=["area", "city"], require_target=False, levels=levels)
    assert table.feature_names == ["area", "city[T.Nice]", "city[T.Paris]"]  # Nice is coded though absent
    assert table.features.tolist() == [[100, 0, 1], [90, 0, 0]]
    path = write(tmp_path, "rome.csv", "area,city\n100,Paris\n90,Lyon\n80,Rome\n")
    with pytest.raises(ValueError) as info:
        read_table(path, features=["area", "city"], require_target=False, levels=levels)
    assert str(info.value) == (
        f"{path}: column 'city', row 3 (line 4): 'Rome' is not one of the levels the model knows (Lyon, Nice, Paris)"
    )


def test_categories_with_one_level_gaps_or_in_chunks(tmp_path):
    one = write(tmp_path, "one.csv", "area,city,price\n1,Paris,2\n2,Paris,3\n")
    with pytest.raises(ValueError) as info:
        read_table(one, target="price", features=["area", "city"])
    assert (
        str(info.value)
        == f"{one}: column 'city' holds the single value 'Paris': a category with one level cannot be a feature"
    )
    gaps = write(tmp_path, "gaps.csv", "area,city,price\n1,Paris,2\n2,NA,3\n3,Lyon,4\n4,Lyon,5\n")
    with pytest.raises(ValueError) as info:
        read_table(gaps, target="price", features=["area", "city"])
    assert str(info.value) == f"{gaps}: column 'city', row 2 (line 3): missing value ('NA')"
    table = read_table(gaps, target="price", features=["area", "city"], missing="drop")
    assert table.dropped_rows == [2] and table.features.tolist() == [[1, 1], [3, 0], [4, 0]]
    with pytest.raises(ValueError) as info:  # in chunks: the first pass, finding the levels, says the same
        table_chunks(gaps, target="price", features=["area", "city"])
    assert str(info.value) == f"{gaps}: column 'city', row 2 (line 3): missing value ('NA')"


def test_levels_come_from_the_rows_kept_and_a_models_numbers_stay_numbers(tmp_path):
    path = write(tmp_path, "h.csv", "area,city,price\n1,Lyon,2\n2,Nice,NA\n3,Paris,4\n4,Lyon,5\n5,Paris,7\n")
    table = read_table(path, target="price", features=["area", "city"], missing="drop")
    assert table.coding == {"city": ["Lyon", "Paris"]}  # Nice was only in the dropped row 2
    assert table.feature_names == ["area", "city[T.Paris]"] and table.features.tolist() == [
        [1, 0],
        [3, 1],
        [4, 0],
        [5, 1],
    ]
    new = write(tmp_path, "new.csv", "area,city\nbig,Lyon\n")  # a model's numeric column given text
    with pytest.raises(ValueError) as info:
        read_table(new, features=["area", "city"], require_target=False, levels={"city": ["Lyon", "Paris"]})
    assert str(info.value) == f"{new}: column 'area', row 1 (line 2): 'big' is not a number"


def test_formulas_read_by_the_reader_and_their_errors(tmp_path):
    path = write(tmp_path, "f.csv", "area,age,city,price\n50,3,Lyon,100\n80,1,Nice,160\n60,0,Lyon,0\n90,2,Nice,170\n")
    table = read_table(path, formula="price ~ area + C(city)")
    assert table.feature_names == ["area", "C(city)[T.Nice]"] and table.intercept and table.target_name == "price"
    assert table.coding == {"city": ["Lyon", "Nice"]} and table.columns == ["area", "city"]
    rhs = read_table(path, formula="area + np.log1p(age)", require_target=False)  # a right-hand side alone
    assert rhs.feature_names == ["area", "np.log1p(age)"] and rhs.target is None
    for options, message in [
        (dict(formula="price ~ area", target="price"), "give a formula, or a target and features, not both"),
        (
            dict(formula="price + age ~ area"),
            "the formula 'price + age ~ area' must have one column on the left of ~, got 2",
        ),
        (
            dict(formula="price ~ I(area * city)"),
            f"{path}: the formula 'price ~ I(area * city)' cannot be applied: "
            f"Unable to evaluate factor `I(area * city)`.",
        ),
        (
            dict(formula="np.log(price) ~ area"),
            f"{path}: the formula's target 'np.log(price)' is not finite in every row",
        ),
        (dict(formula="price ~ np.log(age)"), f"{path}: the formula's term 'np.log(age)' is not finite in every row"),
    ]:
        with pytest.raises(ValueError) as info:
            read_table(path, **options)
        assert str(info.value).startswith(message), str(info.value)


def test_a_formula_over_a_folder_codes_every_files_categories_alike(tmp_path):
    write(tmp_path, "a.csv", "area,city,price\n1,Lyon,2\n2,Lyon,3\n")
    write(tmp_path, "b.csv", "area,city,price\n3,Nice,5\n4,Paris,7\n")
    table = read_table(tmp_path, formula="price ~ area + C(city)")
    assert table.feature_names == ["area", "C(city)[T.Nice]", "C(city)[T.Paris]"] and table.formula
    assert table.features.tolist() == [[1, 0, 0], [2, 0, 0], [3, 1, 0], [4, 0, 1]] and table.target.tolist() == [
        2,
        3,
        5,
        7,
    ]


@pytest.mark.parametrize(
    "term",
    [
        "I(np.ctypeslib.ctypes.CDLL(None).system(b'touch {marker}'))",  # a shell command through ctypes
        "np.savetxt('{marker}', area)",
        "I(area.to_csv('{marker}'))",  # a column's own methods
        "{{area.to_pickle('{marker}')}}",
        "C(area, **{{'levels': [1, 2, 3]}})",  # arguments unpacked from what the formula builds
    ],
)
def test_a_formula_runs_its_transforms_and_no_other_code(tmp_path, capsys, term):
    """formulaic evaluates a formula's terms as Python, and predict applies the formula a model file holds."""
    marker = tmp_path / "written"
    path = write(tmp_path, "f.csv", "area,price\n1,2\n2,3\n3,5\n")
    formula = "price ~ area + " + term.format(marker=marker)
    with pytest.raises(ValueError) as info:
        read_table(path, formula=formula)
    assert str(info.value).startswith(f"the formula {formula!r} uses "), str(info.value)
    model = {
        "format": "linearnet-model", "format_version": 2, "kind": "linear_regression", "target": "price",
        "features": ["area"], "coefficients": [1.0], "intercept": 0.0, "columns": ["area"], "coding": {},
        "formula": formula,
    }  # fmt: skip
    model_path = write(tmp_path, "model.json", json.dumps(model))
    code, out, err = cli(capsys, "predict", path, "--model", model_path)
    assert code == 2 and out == "" and err.startswith(f"linearnet predict: error: the formula {formula!r} uses ")
    assert not marker.exists()


def test_formulas_keep_their_transforms_numpy_functions_and_contrasts(tmp_path):
    path = write(tmp_path, "f.csv", "area,city,price\n1,Lyon,2\n2,Nice,3\n3,Lyon,5\n4,Paris,4\n5,Nice,9\n")
    formula = "price ~ np.sqrt(area) + I(area ** 2) + {area * np.pi} + log(area) + C(city, contr.treatment('Nice'))"
    table = read_table(path, formula=formula)
    assert table.feature_names[:4] == ["np.sqrt(area)", "I(area ** 2)", "area * np.pi", "log(area)"]
    assert table.features[:, 2].tolist() == pytest.approx([np.pi * a for a in range(1, 6)])
    ordered = read_table(path, formula="price ~ C(city, levels=['Paris', 'Nice', 'Lyon'])")  # a keyword argument
    assert [name[-8:] for name in ordered.feature_names] == ["[T.Nice]", "[T.Lyon]"]


@pytest.mark.parametrize("formula, require_target", [("y ~ x | a", True), ("y | z ~ x", True), ("x | a", False)])
def test_a_formula_of_several_parts_is_refused_in_one_line(tmp_path, capsys, formula, require_target):
    """formulaic reads '|' as parts of a formula (several designs): one design is fitted, so it is refused."""
    path = write(tmp_path, "f.csv", "x,a,y,z\n1,2,3,4\n2,3,5,1\n3,1,4,2\n4,4,9,3\n")
    message = f"the formula {formula!r} has parts separated by |; write a single formula such as 'y ~ x + a'"
    with pytest.raises(ValueError) as info:
        read_table(path, formula=formula, require_target=require_target)
    assert str(info.value) == message
    if require_target:
        code, _, err = cli(capsys, "solve", path, "--formula", formula)
        assert code == 2 and err == f"linearnet solve: error: {message}\n"

"""linearnet.tables.rformula: formulas as R users write them (dotted names, '.', factor(), I(x^2), relevel(),
R's functions, an expression on the left), checked against designs built with NumPy and against R's lm."""

import json
from pathlib import Path

import numpy as np
import pytest

from linearnet.leastsq import solve
from linearnet.tables import read_table
from linearnet.tables.coding import r_level_order
from linearnet.tables.rformula import alias, column_of, translate

from helpers import cli
from table_helpers import write

MTCARS = Path(__file__).parent / "data" / "mtcars.csv"
AIR = "Ozone,Solar.R,Wind,Temp,Month\n41,190,7.4,67,5\n36,118,8,72,5\n12,149,12.6,74,6\n18,313,11.5,62,6\n"
AIR += "28,99,14.3,56,7\n23,299,8.6,65,7\n19,99,13.8,59,8\n8,19,20.1,61,8\n"


@pytest.fixture(scope="module")
def mtcars():
    data = np.genfromtxt(MTCARS, delimiter=",", names=True, dtype=None, encoding="utf-8")
    return {name: np.asarray(data[name], dtype=float) for name in data.dtype.names if name != "model"}


def fit(table):
    return solve(table.features, table.target, fit_intercept=table.intercept, feature_names=table.feature_names)


@pytest.mark.parametrize("name", ["Solar.R", "Treatment", "C", "np", "a b", "x_1", "_", "é.t", "lnvx", "1st"])
def test_an_alias_is_a_python_name_found_from_the_column_name_alone(name):
    found = alias(name)
    assert found.isidentifier() and found.isascii() and column_of(found) == name and found == alias(name)
    assert alias("Solar.R") != alias("Solar_R")


@pytest.mark.parametrize(
    "formula, text",
    [
        ("Ozone ~ Solar.R + I(Temp^2)", "lnvOzone ~ lnvSolar_2e_R + I(lnvTemp**2)"),
        ("y ~ (a + b)^2", "lnvy ~ (lnva + lnvb)^2"),  # R's crossing at the formula's level
        ("y ~ factor(g) + sqrt(x) + log(x, 2)", "lnvy ~ C(lnvg) + np.sqrt(lnvx) + I(np.log(lnvx) / np.log( 2))"),
        ('y ~ relevel(g, ref = "b")', 'lnvy ~ C(lnvg, contr.treatment(   "b"))'),
        ("y ~ poly(x, 3, raw = TRUE)", "lnvy ~ poly(lnvx, 3, raw = True)"),
        ('y ~ C(g, levels = c("b", "a")) + .5 + 1e-3', 'lnvy ~ C(lnvg, levels = ["b", "a"]) + .5 + 1e-3'),
        ("y ~ `my col` + np.log1p(x) + C(x, contr.treatment(2))",
         "lnvy ~ lnvmy_20_col + np.log1p(lnvx) + C(lnvx, contr.treatment(2))"),
    ],
)  # fmt: skip
def test_r_spellings_are_translated_for_formulaic(formula, text):
    assert translate(formula).text == text


def test_dotted_and_quoted_names_are_columns_in_every_position(tmp_path):
    path = write(tmp_path, "air.csv", AIR)
    formula = "Ozone ~ Solar.R + log(`Wind`) + I(Temp^2) + C(Month) + Solar.R:Wind + `Solar.R`:log(Temp)"
    table = read_table(path, formula=formula)
    assert table.feature_names == [
        "Solar.R",
        "log(Wind)",
        "I(Temp^2)",
        "C(Month)[T.6.0]",
        "C(Month)[T.7.0]",
        "C(Month)[T.8.0]",
        "Solar.R:Wind",
        "Solar.R:log(Temp)",
    ]
    d = np.genfromtxt(path, delimiter=",", names=True)
    s, w, t, m = d["SolarR"], d["Wind"], d["Temp"], d["Month"]
    expected = np.column_stack([s, np.log(w), t**2, m == 6, m == 7, m == 8, s * w, s * np.log(t)])
    np.testing.assert_array_equal(table.features, expected)
    assert table.target_name == "Ozone" and table.columns == ["Month", "Solar.R", "Temp", "Wind"]
    assert table.factors == {"C(Month)": [5.0, 6.0, 7.0, 8.0]}


def test_columns_named_as_formulaics_functions_and_contrasts_are_columns(tmp_path):
    path = write(
        tmp_path, "d.csv", "y,Treatment,C,I,np,poly\n1,a,1,2,4,0\n2,b,2,1,10,1\n4,a,3,5,4,3\n3,b,5,3,8,2\n7,a,4,4,9,5\n"
    )
    table = read_table(path, formula="y ~ Treatment + C + I(I^2) + np + C(poly) + log(np)")
    assert table.feature_names[:5] == ["Treatment[T.b]", "C", "I(I^2)", "np", "C(poly)[T.1.0]"]
    assert table.feature_names[-1] == "log(np)"
    assert table.features[:, 0].tolist() == [0, 1, 0, 1, 0] and table.features[:, 2].tolist() == [4, 1, 25, 9, 16]
    reference = read_table(path, formula='y ~ C(Treatment, Treatment("b")) + C(Treatment, Treatment(reference="b"))')
    assert reference.feature_names == [
        "C(Treatment, Treatment('b'))[T.a]",
        "C(Treatment, Treatment(reference='b'))[T.a]",
    ]


def test_the_dot_is_every_other_column_in_the_tables_order_and_fits_as_r(mtcars):
    table = read_table(MTCARS, formula="mpg ~ . - model")  # model: the cars' names, R's row names
    names = ["cyl", "disp", "hp", "drat", "wt", "qsec", "vs", "am", "gear", "carb"]
    assert table.feature_names == names and table.formula == "mpg ~ (model + " + " + ".join(names) + ") - model"
    np.testing.assert_array_equal(table.features, np.column_stack([mtcars[n] for n in names]))
    result = fit(table)  # R 4.2.2: coef(lm(mpg ~ ., mtcars)), summary()$sigma
    r = [12.303374155996185, -0.11144047788686268, 0.013335239913341082, -0.021482118989136323, 0.7871109722361157,
         -3.715303928327475, 0.8210407496746285, 0.31776281418542285, 2.5202268872083624, 0.6554130170817919,
         -0.19941925485626746]  # fmt: skip
    np.testing.assert_allclose([result.intercept, *result.coef], r, rtol=1e-10)
    assert result.sigma == pytest.approx(2.6501970278655098, rel=1e-10)
    minus = read_table(MTCARS, formula="log(mpg) ~ . - disp - carb - model")
    assert minus.feature_names == [n for n in names if n not in ("disp", "carb")] and minus.target_name == "log(mpg)"
    np.testing.assert_allclose(minus.target, np.log(mtcars["mpg"]), rtol=1e-15)


def test_the_dot_squared_is_every_pair_of_columns_as_r_fits_it(tmp_path, mtcars):
    path = tmp_path / "four.csv"
    path.write_text(
        "mpg,wt,hp,qsec\n"
        + "\n".join(",".join(repr(float(mtcars[c][i])) for c in ("mpg", "wt", "hp", "qsec")) for i in range(32))
    )
    table = read_table(path, formula="mpg ~ .^2")
    assert table.feature_names == ["wt", "hp", "qsec", "wt:hp", "wt:qsec", "hp:qsec"]
    result = fit(table)  # R 4.2.2: coef(lm(mpg ~ .^2, mtcars[, c("mpg", "wt", "hp", "qsec")]))
    r = [36.18272328322425, -8.914325092176519, -0.03314898645681961, 0.7328628417257997, 0.027948610863523186,
         0.05290857157837192, -0.005145557630512646]  # fmt: skip
    np.testing.assert_allclose([result.intercept, *result.coef], r, rtol=1e-10)


def test_factor_i_and_rs_functions_fit_as_r(mtcars):
    formula = "log(mpg) ~ factor(cyl) + I(wt^2) + log(hp, 2) + sqrt(disp)"
    table = read_table(MTCARS, formula=formula)
    assert table.feature_names == ["factor(cyl)[T.6]", "factor(cyl)[T.8]", "I(wt^2)", "log(hp, 2)", "sqrt(disp)"]
    assert table.factors == {"factor(cyl)": ["4", "6", "8"]} and table.coding == {"cyl": ["4", "6", "8"]}
    cyl, wt, hp, disp = mtcars["cyl"], mtcars["wt"], mtcars["hp"], mtcars["disp"]
    expected = np.column_stack([cyl == 6, cyl == 8, wt**2, np.log(hp) / np.log(2), np.sqrt(disp)])
    np.testing.assert_allclose(table.features, expected, rtol=1e-15)
    result = fit(table)  # R 4.2.2: coef(lm(log(mpg) ~ factor(cyl) + I(wt^2) + log(hp, 2) + sqrt(disp), mtcars))
    r = [4.460195481435858, -0.08224433275828218, -0.061786456835742035, -0.018067358975426748, -0.15281611200073253,
         -0.012137298394243745]  # fmt: skip
    np.testing.assert_allclose([result.intercept, *result.coef], r, rtol=1e-10)
    assert result.sigma == pytest.approx(0.11300379876649176, rel=1e-10)


def test_an_expression_on_the_left_and_relevel_fit_as_r(mtcars):
    table = read_table(MTCARS, formula='I(mpg - wt/10) ~ wt + relevel(factor(gear), ref = "4")')
    assert table.target_name == "I(mpg - wt/10)"
    assert table.feature_names == [
        "wt",
        'relevel(factor(gear), ref = "4")[T.3]',
        'relevel(factor(gear), ref = "4")[T.5]',
    ]
    np.testing.assert_allclose(table.target, mtcars["mpg"] - mtcars["wt"] / 10, rtol=1e-15)
    result = fit(table)  # R 4.2.2: coef(lm(I(mpg - wt/10) ~ wt + relevel(factor(gear), ref = "4"), mtcars))
    r = [37.37866545661003, -5.009044123545238, -2.1630536346311766, -3.0751158969648404]
    np.testing.assert_allclose([result.intercept, *result.coef], r, rtol=1e-10)


def test_numbers_as_levels_sort_by_value_and_a_word_among_numbers_is_a_level(tmp_path):
    assert r_level_order({"10", "4", "8"}) == ["4", "8", "10"] and r_level_order({"10", "4", "a"}) == ["10", "4", "a"]
    path = write(tmp_path, "g.csv", "y,g\n1,4\n2,10\n4,8\n3,4\n5,10\n")
    assert read_table(path, formula="y ~ as.factor(g)").feature_names == ["as.factor(g)[T.8]", "as.factor(g)[T.10]"]
    rows = ["3", "4", "rotary", "6", "8", "5", "4", "6"]
    cars = write(tmp_path, "cars.csv", "Price,Cylinders\n" + "\n".join(f"{i + 1},{c}" for i, c in enumerate(rows)))
    for term in ("C(Cylinders)", "factor(Cylinders)"):
        table = read_table(cars, formula=f"Price ~ {term}")
        assert table.factors == {term: ["3", "4", "5", "6", "8", "rotary"]}, table.factors
        assert table.features[2].tolist() == [0, 0, 0, 0, 1]
    with pytest.raises(ValueError, match="'rotary' is not a number"):  # as a number it stays refused
        read_table(cars, formula="Price ~ Cylinders")


def test_an_unknown_reference_level_and_what_formulaic_cannot_fit_are_refused_in_one_line(tmp_path):
    path = write(tmp_path, "d.csv", "y,x,g\n1,2,a\n2,3,b\n4,1,c\n3,5,a\n")
    not_a_level = "takes 'z' as its reference level, which is not one of the levels of 'g' (a, b, c)"
    for formula, message in [
        ('y ~ relevel(g, ref = "z")', f"""{path}: the formula's term 'relevel(g, ref = "z")' {not_a_level}"""),
        ('y ~ C(g, Treatment("z"))', f"""{path}: the formula's term 'C(g, Treatment('z'))' {not_a_level}"""),
        ("y ~ s(x)", "the formula 'y ~ s(x)' uses s(), a spline of mgcv's gam, which linearnet does not fit; "
                     "write poly(x, 3) for a smooth curve"),
        ("cbind(y, x) ~ g", "the formula 'cbind(y, x) ~ g' uses cbind(), several targets, which linearnet fits one "
                            "at a time; write one target on the left of ~"),
        ("y ~ x + (1 | g)", "the formula 'y ~ x + (1 | g)' has parts separated by |; write a single formula such as "
                            "'y ~ x + a' (random effects such as (1 | g) are not fitted: write + C(g))"),
        ("y ~ x.__class__", f"{path}: has no column 'x.__class__'"),
    ]:  # fmt: skip
        with pytest.raises(ValueError) as info:
            read_table(path, formula=formula)
        assert str(info.value).startswith(message), str(info.value)


def test_predict_rebuilds_the_design_of_a_dot_and_says_what_a_left_expression_predicts(tmp_path, capsys):
    model = tmp_path / "model.json"
    code, _, _ = cli(
        capsys, "solve", MTCARS, "--formula", "log(mpg) ~ . - model - disp - cyl + factor(cyl)", "--out", model
    )
    saved = json.loads(model.read_text())
    assert (
        code == 0
        and saved["formula"].startswith("log(mpg) ~ (model + cyl + disp + hp")
        and "factor(cyl)" in saved["factors"]
    )
    new = tmp_path / "new.csv"  # another file, its columns in another order, without the target
    rows = MTCARS.read_text().splitlines()
    header = rows[0].split(",")
    order = [header.index(c) for c in ("model", "carb", "wt", "cyl", "disp", "hp", "drat", "qsec", "vs", "am", "gear")]
    new.write_text("\n".join(",".join(row.split(",")[j] for j in order) for row in rows[:4]) + "\n")
    code, out, err = cli(capsys, "predict", new, "--model", model)
    assert code == 0, err
    assert "note: the model's target is log(mpg): the predictions are of log(mpg), as R's predict gives them" in err
    table = read_table(MTCARS, formula="log(mpg) ~ . - model - disp - cyl + factor(cyl)")
    expected = fit(table).predict(table.features[:3])
    predicted = [float(line.split(",")[-1]) for line in out.splitlines()[1:]]
    np.testing.assert_allclose(predicted, expected, rtol=1e-12)


def test_model_files_written_before_keep_their_names_and_levels(tmp_path):
    path = write(tmp_path, "f.csv", "area,age,city\n50,3,Lyon\n80,1,Nice\n")
    factors = {"C(city, contr.treatment('Nice'))": ["Lyon", "Nice", "Paris"]}
    formula = "price ~ np.log1p(age) + I(area ** 2) + C(city, contr.treatment('Nice')) + {area / 2}"
    table = read_table(path, formula=formula, require_target=False, factors=factors, levels={"city": ["Lyon", "Nice"]})
    assert table.feature_names == [
        "np.log1p(age)",
        "I(area ** 2)",
        "C(city, contr.treatment('Nice'))[T.Lyon]",
        "C(city, contr.treatment('Nice'))[T.Paris]",
        "area / 2",
    ]
    assert table.factors == factors and table.notes == []


def test_numbers_inside_factor_are_levels_as_r_writes_them_in_csv_parquet_and_folders(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"y": [1.0, 2.0, 4.0, 3.0], "g": [4.0, 10.0, 6.5, 4.0], "am": [True, False, True, False]}),
        tmp_path / "d.parquet",
    )
    table = read_table(tmp_path / "d.parquet", formula="y ~ factor(g) + factor(am)")
    assert table.feature_names == ["factor(g)[T.6.5]", "factor(g)[T.10]", "factor(am)[T.TRUE]"]
    folder = tmp_path / "parts"
    folder.mkdir()
    write(folder, "a.csv", "y,g\n1,4.0\n2,10.0\n")
    write(folder, "b.csv", "y,g\n3,4.0\n5,8.0\n")
    parts = read_table(folder, formula="y ~ factor(g)")
    assert parts.factors == {"factor(g)": ["4", "8", "10"]} and parts.features.tolist() == [
        [0, 0],
        [0, 1],
        [0, 0],
        [1, 0],
    ]

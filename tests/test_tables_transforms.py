"""linearnet.tables.transforms: R's poly, scale and offset in formulas, their state kept in the model file and
applied by predict as R's predict() applies it; checked against numpy constructions of R's definitions."""

import json

import numpy as np
import pytest

from linearnet.leastsq import solve
from linearnet.modelfile import Model, load_model, save_model
from linearnet.tables import read_table
from linearnet.tables.formula import _parse_formula
from linearnet.tables.transforms import transform_state_needed

from helpers import cli
from table_helpers import write

# R's datasets::cars
SPEED = [4, 4, 7, 7, 8, 9, 10, 10, 10, 11, 11, 12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15]
SPEED += [15, 16, 16, 17, 17, 17, 18, 18, 18, 18, 19, 19, 19, 20, 20, 20, 20, 20, 22, 23, 24, 24, 24, 24, 25]
DIST = [2, 10, 4, 22, 16, 10, 18, 26, 34, 17, 28, 14, 20, 24, 28, 26, 34, 34, 46, 26, 36, 60, 80, 20, 26]
DIST += [54, 32, 40, 32, 40, 50, 42, 56, 76, 84, 36, 46, 68, 32, 48, 52, 56, 64, 66, 54, 70, 92, 93, 120, 85]
NEW = [4.5, 30.0, 12.0]


@pytest.fixture(scope="module")
def cars(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cars")
    rows = "".join(f"{s},{d}\n" for s, d in zip(SPEED, DIST, strict=True))
    new = "".join(f"{s}\n" for s in NEW)
    return write(folder, "cars.csv", "speed,dist\n" + rows), write(folder, "new.csv", "speed\n" + new)


def orthogonal_poly(x, degree):
    """R's poly(x, degree) by its definition: the QR factorisation of the centred powers 1, x, ..., x^degree,
    each column of Q signed so that the polynomial's leading coefficient is positive (R: Q times diag(R)), then
    of unit length; the constant column left out."""
    x = np.asarray(x, dtype=float)
    q, r = np.linalg.qr(np.vander(x - x.mean(), degree + 1, increasing=True))
    return (q * np.sign(np.diag(r)))[:, 1:]


def test_poly_is_r_orthogonal_polynomials(cars):
    data, _ = cars
    table = read_table(data, formula="dist ~ poly(speed, 3)")
    assert table.feature_names == ["poly(speed, 3)[1]", "poly(speed, 3)[2]", "poly(speed, 3)[3]"]
    np.testing.assert_allclose(table.features, orthogonal_poly(SPEED, 3), rtol=0, atol=1e-14)
    # R: head(poly(cars$speed, 3), 1): -0.30799563936623059 0.41625479791741460 -0.359621513042624963
    np.testing.assert_allclose(table.features[0], [-0.30799563936623059, 0.4162547979174146, -0.35962151304262496])
    state = table.factors["poly(speed, 3)"]
    # R: attr(poly(cars$speed, 3), "coefs"): alpha 15.4 14.803503649635037 13.652818652973904,
    # norm2 1 50 1369.9999999999998 52923.583182481765 1811093.0481116052
    np.testing.assert_allclose(state["alpha"], [15.4, 14.803503649635037, 13.652818652973904], rtol=1e-14)
    np.testing.assert_allclose(state["norm2"], [1, 50, 1370, 52923.583182481765, 1811093.0481116052], rtol=1e-14)


def test_predict_applies_the_fitted_polynomials_to_new_rows(cars):
    data, new = cars
    fitted = read_table(data, formula="dist ~ poly(speed, 3)")
    table = read_table(new, formula="dist ~ poly(speed, 3)", require_target=False, factors=fitted.factors)
    # the fitted columns are polynomials in speed: their coefficients, found on the fitted rows, give the new
    # rows' values
    V = np.vander(np.asarray(SPEED, float), 4, increasing=True)
    coefficients = np.linalg.lstsq(V, fitted.features, rcond=None)[0]
    expected = np.vander(np.asarray(NEW), 4, increasing=True) @ coefficients
    np.testing.assert_allclose(table.features, expected, rtol=1e-10)
    # R: predict(poly(cars$speed, 3), c(4.5, 30))[1, ] = -0.29448705869227310 0.36908378165382583 -0.26459112395172224
    np.testing.assert_allclose(table.features[0], [-0.2944870586922731, 0.36908378165382583, -0.26459112395172224])
    assert table.factors == fitted.factors  # applied, not learned again


def test_raw_poly_scale_and_center(cars):
    data, new = cars
    formula = "dist ~ poly(speed, 2, raw=True) + scale(speed) + center(speed) + scale(speed, center=False)"
    table = read_table(data, formula=formula)
    names = ["poly(speed, 2, raw=True)[1]", "poly(speed, 2, raw=True)[2]", "scale(speed)", "center(speed)"]
    assert table.feature_names == [*names, "scale(speed, center=False)"]
    x = np.asarray(SPEED, float)
    # R: attributes(scale(cars$speed)): scaled:center 15.4, scaled:scale 5.2876444352347844
    expected = [x, x**2, (x - x.mean()) / x.std(ddof=1), x - x.mean(), x / np.sqrt((x**2).sum() / (len(x) - 1))]
    np.testing.assert_allclose(table.features, np.column_stack(expected), rtol=1e-14)
    assert "poly(speed, 2, raw=True)" not in table.factors  # raw powers learn nothing
    assert table.factors["scale(speed)"] == {"center": x.mean(), "scale": x.std(ddof=1)}
    assert table.factors["center(speed)"] == {"center": x.mean(), "scale": None}
    again = read_table(new, formula=formula, require_target=False, factors=table.factors)
    z = np.asarray(NEW)
    expected = [z, z**2, (z - x.mean()) / x.std(ddof=1), z - x.mean(), z / np.sqrt((x**2).sum() / (len(x) - 1))]
    np.testing.assert_allclose(again.features, np.column_stack(expected), rtol=1e-14)


def test_poly_refuses_as_r_does(cars, tmp_path):
    data, new = cars
    with pytest.raises(ValueError, match="'degree' must be less than number of unique points") as info:
        read_table(data, formula="dist ~ poly(speed, 19)")
    assert "\n" not in str(info.value) and str(info.value).startswith(f"{data}: the formula 'dist ~ poly(speed, 19)'")
    with pytest.raises(ValueError, match="'degree' must be at least 1"):
        read_table(data, formula="dist ~ poly(speed, 0)")
    with pytest.raises(ValueError, match="the model holds no state for poly"):  # never learned from new rows
        read_table(new, formula="dist ~ poly(speed, 3)", require_target=False, factors={})


def test_offset_is_taken_off_the_target(cars):
    data, _ = cars
    table = read_table(data, formula="dist ~ speed + offset(speed)")
    assert table.feature_names == ["speed"]
    np.testing.assert_array_equal(table.target, np.asarray(DIST, float) - SPEED)
    assert any(n.startswith("offset(speed) in the formula: fitted as R fits an offset") for n in table.notes)
    fit = solve(table.features, table.target)
    # R: coef(lm(dist ~ speed + offset(speed), cars)) = -17.579094890510930 2.9324087591240873 (the speed
    # coefficient of the fit without the offset, less 1)
    reference = np.linalg.lstsq(np.column_stack([np.ones(50), SPEED]), np.asarray(DIST, float) - SPEED, rcond=None)[0]
    np.testing.assert_allclose([fit.intercept, *fit.coef], reference, rtol=1e-12)
    np.testing.assert_allclose([fit.intercept, fit.coef[0]], [-17.57909489051093, 2.9324087591240873], rtol=1e-12)


def test_transforms_that_need_the_whole_column(tmp_path):
    formula = "y ~ poly(x, 3) + poly(z, 2, raw=True) + np.log(scale(w)) + scale(w) + offset(v) + bs(u, df=4)"
    parsed = _parse_formula(formula, True)
    assert transform_state_needed(parsed[0]) == ["poly(x, 3)", "scale(w)", "bs(u, df=4)"]
    assert parsed[2] == ["u", "v", "w", "x", "z"]  # the columns read inside the transforms
    folder = tmp_path / "parts"
    folder.mkdir()
    for name in ("a.csv", "b.csv"):
        write(folder, name, "x,y\n1,2\n2,3\n3,5\n4,4\n")
    with pytest.raises(ValueError) as info:
        read_table(str(folder), formula="y ~ poly(x, 2)")
    assert str(info.value) == (
        f"{folder}: poly(x, 2) in the formula learns from the whole column, which is read here a file at a time: "
        f"transform the column before fitting, or use poly(x, d, raw = TRUE)"
    )
    assert read_table(str(folder), formula="y ~ poly(x, 2, raw=True)").num_rows == 8


def _model(factors):
    return Model(
        features=["poly(x, 2)[1]", "poly(x, 2)[2]", "scale(z)"],
        coefficients=np.array([1.0, 2.0, 3.0]),
        intercept=0.5,
        target="y",
        coding=None,
        columns=["x", "z"],
        formula="y ~ poly(x, 2) + scale(z) + C(g)",
        factors=factors,
    )


def test_the_model_file_keeps_the_state_bit_for_bit(tmp_path):
    state = {"alpha": [0.1 + 0.2, 1 / 3], "norm2": [1.0, 7.0, 2 / 3, np.pi]}
    factors = {"C(g)": ["a", "b"], "poly(x, 2)": state, "scale(z)": {"center": 1e-300, "scale": None}}
    path = tmp_path / "model.json"
    save_model(_model(factors), path)
    written = json.loads(path.read_text())
    assert written["factors"] == {"C(g)": ["a", "b"]}
    assert written["transforms"] == {"poly(x, 2)": state, "scale(z)": {"center": 1e-300, "scale": None}}
    assert load_model(path).factors == factors  # floats read back exactly


@pytest.mark.parametrize(
    "transforms, why",
    [
        ([], "transforms must map each transform of the formula that learns to its state"),
        ({"poly(x, 2)": {"alpha": [1.0], "norm2": [1, 2, 3, 4]}}, "norm2 must be a list of 3 positive finite"),
        ({"poly(x, 2)": {"alpha": [1.0] * 9, "norm2": [1.0] * 11}}, "alpha must be a list of 1 to 3 finite numbers"),
        ({"poly(x, 2)": {"alpha": [1.0, True], "norm2": [1.0] * 4}}, "alpha must be a list of 1 to 3 finite"),
        ({"scale(z)": {"center": "1", "scale": 2.0}}, "center must be a finite number or null"),
        ({"scale(z)": {"center": 1.0, "scale": 0}}, "scale must be a finite number other than 0, or null"),
        ({"scale(z)": {"center": 1.0}}, 'must hold "alpha" and "norm2" (poly), "center" and "scale" (scale'),
        ({"bs(z)": {"lower_bound": 1, "upper_bound": 2, "knots": [1, 1, 0.5, 2]}}, "knots must be in increasing"),
        ({"bs(z)": {"lower_bound": 1, "upper_bound": 2, "knots": [1.0] * 9}}, "knots must be a list of 2 to 8 finite"),
        ({"C(g)": {"center": 1.0, "scale": None}}, "'C(g)' is both a factor and a transform"),
    ],
)
def test_a_broken_transforms_entry_is_refused(tmp_path, transforms, why):
    path = tmp_path / "model.json"
    save_model(_model({"C(g)": ["a", "b"]}), path)
    data = json.loads(path.read_text())
    data["transforms"] = transforms
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: not a usable linearnet model file: ") and why in str(info.value)


def test_solve_then_predict_reproduces_r(cars, tmp_path, capsys):
    data, new = cars
    model = str(tmp_path / "poly.json")
    formula = "dist ~ poly(speed, 3) + offset(speed)"
    assert cli(capsys, "solve", data, "--formula", formula, "--out", model)[0] == 0
    assert set(json.loads(open(model).read())["transforms"]) == {"poly(speed, 3)"}
    code, out, err = cli(capsys, "predict", "--model", model, new, "--interval", "confidence")
    assert code == 0 and err == ""
    predicted = np.array([[float(v) for v in line.split(",")] for line in out.splitlines()[1:]])
    # R: predict(lm(dist ~ poly(speed, 3) + offset(speed), cars), data.frame(speed = c(4.5, 30, 12)))
    # = 4.9535749198983 146.6413904163705 29.4730361598803 (the fit without the offset's, as its poly
    # holds speed's line)
    fitted = read_table(data, formula=formula)
    result = solve(fitted.features, fitted.target)
    again = read_table(new, formula="dist ~ poly(speed, 3)", require_target=False, factors=fitted.factors)
    expected = again.features @ result.coef + result.intercept + np.asarray(NEW)
    np.testing.assert_allclose(predicted[:, 0], expected, rtol=1e-12)
    np.testing.assert_allclose(predicted[:, 0], [4.9535749198983, 146.6413904163705, 29.4730361598803], rtol=1e-12)
    assert (predicted[:, 1] < predicted[:, 0]).all() and (predicted[:, 0] < predicted[:, 2]).all()


def test_a_quoted_column_in_poly_is_named_as_formulaic_keys_its_state():
    import pandas as pd
    from formulaic import Formula, model_matrix

    from linearnet.tables.transforms import formula_context

    data = pd.DataFrame({"a b": [1.0, 2, 3, 4, 5]})
    matrix = model_matrix("poly(`a b`, 2)", data, context=formula_context())
    assert list(matrix.columns) == ["Intercept", "poly(`a b`, 2)[1]", "poly(`a b`, 2)[2]"]
    assert transform_state_needed(Formula("poly(`a b`, 2)")) == list(matrix.model_spec.transform_state)
    np.testing.assert_allclose(np.asarray(matrix)[:, 1:], orthogonal_poly([1, 2, 3, 4, 5], 2), atol=1e-15)


def test_bs_is_r_b_spline_basis_extended_beyond_the_boundary(cars):
    from scipy.interpolate import BSpline

    data, new = cars
    fitted = read_table(data, formula="dist ~ bs(speed, df=5)")
    assert fitted.feature_names == [f"bs(speed, df=5)[{k}]" for k in range(1, 6)]
    x = np.asarray(SPEED, float)
    knots = np.r_[[x.min()] * 4, np.quantile(x, [1 / 3, 2 / 3]), [x.max()] * 4]  # R: inner knots 13 and 18

    def basis(values):  # each B-spline but the first (R's intercept = FALSE), its end pieces extended
        return np.column_stack([BSpline(knots, np.eye(7)[j], 3)(values) for j in range(1, 7)])[:, :5]

    np.testing.assert_allclose(fitted.features, basis(x), atol=1e-14)
    assert fitted.factors["bs(speed, df=5)"]["knots"] == knots.tolist()
    again = read_table(new, formula="dist ~ bs(speed, df=5)", require_target=False, factors=fitted.factors)
    # R: predict(bs(cars$speed, df = 5), 30) = 0 -0.0708616780045351 1.30031179138322 -5.26735098801425 5.03790087463557
    np.testing.assert_allclose(again.features, basis(np.asarray(NEW)), atol=1e-13)
    np.testing.assert_allclose(again.features[1], [0, -0.07086167800, 1.300311791383, -5.267350988014, 5.037900874636])


def test_transforms_learn_from_every_row_before_rows_are_dropped(tmp_path):
    # R: lm(Ozone ~ poly(Temp, 2), airquality) computes poly on all 153 temperatures, then drops the 37 rows
    # without Ozone: coefficients 42.1446672233816 272.3736170062910 102.8005592149081 (on the 116 complete
    # rows alone they would be 42.1293103448276 247.0489172040664 84.0941099207561)
    x = np.array([1.0, 2, 3, 5, 8, 9, 12, 13])
    w = np.array([2.0, np.nan, 1, 0, 4, 3, 6, 5])
    y = ["1", "", "4", "2", "", "7", "3", "9"]
    rows = "".join(f"{a},{'' if np.isnan(b) else b},{c}\n" for a, b, c in zip(x, w, y, strict=True))
    data = write(tmp_path, "gaps.csv", "x,w,y\n" + rows)
    table = read_table(data, formula="y ~ poly(x, 2) + scale(w) + x", missing="drop")
    kept = np.array([True, False, True, True, False, True, True, True])
    np.testing.assert_allclose(table.features[:, :2], orthogonal_poly(x, 2)[kept], atol=1e-14)
    present = w[~np.isnan(w)]  # R's scale: mean and sd of the values present
    np.testing.assert_allclose(table.features[:, 2], ((w - present.mean()) / present.std(ddof=1))[kept], rtol=1e-14)
    with pytest.raises(ValueError) as info:
        read_table(data, formula="y ~ poly(w, 2)", missing="drop")
    assert str(info.value) == (
        f"{data}: column 'w', row 2 (line 3): has no value, which R's poly (the formula's poly(w, 2)) refuses "
        f"before rows are dropped; drop the row from the file, or use poly(x, d, raw = TRUE)"
    )
    assert read_table(data, formula="y ~ poly(w, 2, raw=True)", missing="drop").num_rows == 6

"""`linearnet predict` on real new data: intervals as R's predict.lm computes them (statsmodels'
get_prediction as the oracle), rows with gaps kept or left out, row labels and ids carried in front of the
predictions, a model of the intercept alone; whole and in chunks alike."""

import json
from io import StringIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linearnet.leastsq import solve
from linearnet.modelfile import Model, load_model, save_model
from linearnet.records import linear_model

from helpers import HOUSES, cli


@pytest.fixture
def houses_model(tmp_path, capsys):
    path = tmp_path / "houses.json"
    assert cli(capsys, "solve", HOUSES, "--target", "price", "--out", path)[0] == 0
    return path


def _frame(text: str) -> pd.DataFrame:
    return pd.read_csv(StringIO(text), keep_default_na=False, na_values=[""])


def _statsmodels_frame(rows: pd.DataFrame, alpha: float) -> pd.DataFrame:
    import statsmodels.api as sm

    houses = pd.read_csv(HOUSES)
    fit = sm.OLS(houses["price"], sm.add_constant(houses[["area", "rooms", "age"]])).fit()
    return fit.get_prediction(sm.add_constant(rows[["area", "rooms", "age"]], has_constant="add")).summary_frame(alpha)


@pytest.mark.parametrize("level", [None, 0.9, 0.999])
@pytest.mark.parametrize("interval, kind", [("confidence", "mean_ci"), ("prediction", "obs_ci")])
def test_intervals_are_statsmodels_get_prediction(houses_model, tmp_path, capsys, interval, kind, level):
    rows = pd.read_csv(HOUSES).sample(40, random_state=1)
    rows.loc[:, "area"] *= 3  # far outside the data, too
    rows.to_csv(new := tmp_path / "new.csv", index=False)
    argv = ["predict", "--model", houses_model, new, "--interval", interval, *(["--level", level] if level else [])]
    code, out, err = cli(capsys, *argv)
    assert code == 0 and err == ""
    got = _frame(out)
    assert list(got.columns) == ["price_predicted", "price_lower", "price_upper"]
    ref = _statsmodels_frame(rows, 1 - (level or 0.95))
    np.testing.assert_allclose(got["price_predicted"], ref["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["price_lower"], ref[f"{kind}_lower"], rtol=1e-10)
    np.testing.assert_allclose(got["price_upper"], ref[f"{kind}_upper"], rtol=1e-10)


def test_the_library_refuses_an_unknown_interval_or_level_and_a_fit_without_residual_freedom(houses_model):
    model = load_model(houses_model)
    X = np.array([[120.0, 3, 10]])
    with pytest.raises(ValueError, match="interval must be one of confidence, prediction, got 'both'"):
        model.prediction_columns(X, interval="both")
    with pytest.raises(ValueError, match="level must be between 0 and 1, got 95"):
        model.prediction_columns(X, interval="confidence", level=95)
    exact = solve(np.array([[1.0], [2.0]]), np.array([3.0, 5.0]))  # 2 rows, 2 parameters: σ̂ undefined
    assert exact.df_resid == 0 and linear_model(exact).uncertainty is None


def test_intervals_keep_their_digits_where_the_design_is_ill_conditioned():
    """Longley's data (cond(A) ≈ 5e9): bounds from the factor of (AᵀA)⁻¹ match exact arithmetic to 1e-11,
    where x₀ᵀCx₀ from the rounded (AᵀA)⁻¹ loses 1e-8 of q."""
    import mpmath as mp
    import statsmodels.api as sm

    from linearnet.leastsq import solve

    data = sm.datasets.longley.load_pandas()
    X, y = data.exog.to_numpy(float), data.endog.to_numpy(float)
    model = solve(X, y).to_model()
    mp.mp.dps = 50
    A = mp.matrix([[1, *map(mp.mpf, row)] for row in X.tolist()])
    G_inv = (A.T * A) ** -1
    q = np.array([float((A[i, :] * G_inv * A[i, :].T)[0]) for i in range(A.rows)])
    F = model.uncertainty.cov_factor
    Z = X @ F[1:] + F[0]
    np.testing.assert_allclose(np.einsum("ij,ij->i", Z, Z), q, rtol=1e-11)


def test_a_model_file_keeps_what_intervals_need_and_older_files_still_load(houses_model, tmp_path, capsys):
    record = json.loads(houses_model.read_text())
    assert record["format_version"] == 3
    uncertainty = record["uncertainty"]
    assert set(uncertainty) == {"cov_factor", "sigma", "df_resid"} and uncertainty["df_resid"] == 196
    F = np.array(uncertainty["cov_factor"])
    assert F.shape == (4, 4) and np.allclose(np.tril(F, -1), 0)  # R⁻¹: upper triangular, intercept first
    import statsmodels.api as sm

    houses = pd.read_csv(HOUSES)
    fit = sm.OLS(houses["price"], sm.add_constant(houses[["area", "rooms", "age"]])).fit()
    np.testing.assert_allclose(F @ F.T, fit.normalized_cov_params, rtol=1e-9)
    assert uncertainty["sigma"] == pytest.approx(np.sqrt(fit.scale), rel=1e-12)
    for version in (1, 2):  # written before intervals: they load and predict, and say why they give no interval
        old = {k: v for k, v in record.items() if k != "uncertainty"} | {"format_version": version}
        (path := tmp_path / f"v{version}.json").write_text(json.dumps(old))
        assert load_model(path).uncertainty is None
        assert cli(capsys, "predict", "--model", path, HOUSES)[0] == 0
        code, out, err = cli(capsys, "predict", "--model", path, HOUSES, "--interval", "confidence")
        assert (code, out) == (2, "") and err == (
            f"linearnet predict: error: {path}: the model file holds no uncertainty for intervals (written by a "
            f"linearnet older than format version 3): make it again with linearnet solve\n"
        )


def test_a_model_solved_in_chunks_without_an_intercept_or_rank_deficient_gives_statsmodels_intervals(
    tmp_path, capsys, monkeypatch
):
    """A fit read in chunks (TSQR or the Gram's factor of the chunks) keeps the factor of the fit in memory to
    1e-10; without an intercept x₀ has no 1; of a rank-deficient fit (pinv), statsmodels' pinv bounds."""
    import statsmodels.api as sm

    houses = pd.read_csv(HOUSES)
    houses["area2"] = 2 * houses["area"]  # a copy: rank 4 of 5 parameters
    houses.to_csv(data := tmp_path / "h.csv", index=False)
    new = houses.sample(30, random_state=0)
    new.to_csv(rows := tmp_path / "new.csv", index=False)
    runs = {
        "chunks": (["--features", "area,rooms,age"], ["area", "rooms", "age"], True),
        "memory": (["--features", "area,rooms,age"], ["area", "rooms", "age"], True),
        "no intercept": (["--features", "area,rooms,age", "--no-intercept"], ["area", "rooms", "age"], False),
        "rank deficient": (
            ["--features", "area,rooms,age,area2", "--allow-rank-deficient"],
            ["area", "rooms", "age", "area2"],
            True,
        ),
    }
    got = {}
    for name, (flags, features, intercept) in runs.items():
        model = tmp_path / f"{name}.json"
        with monkeypatch.context() as patch:
            if name == "chunks":
                patch.setattr("linearnet.tables.plan.default_budget", lambda: 1000)  # bytes: read in chunks
                patch.setattr("linearnet.tables.plan.CHUNK_ROWS", 30)
            code, _, err = cli(capsys, "solve", data, "--target", "price", *flags, "--out", model)
        assert code == 0 and ("is read in chunks" in err) == (name == "chunks")
        code, out, _ = cli(capsys, "predict", "--model", model, rows, "--interval", "prediction", "--level", "0.8")
        assert code == 0
        got[name] = _frame(out).to_numpy()
        exog = sm.add_constant(houses[features]) if intercept else houses[features]
        fit = sm.OLS(houses["price"], exog).fit()
        new_exog = sm.add_constant(new[features], has_constant="add") if intercept else new[features]
        ref = fit.get_prediction(new_exog).summary_frame(0.2)[["mean", "obs_ci_lower", "obs_ci_upper"]]
        np.testing.assert_allclose(got[name], ref.to_numpy(), rtol=1e-10, err_msg=name)
    np.testing.assert_allclose(got["chunks"], got["memory"], rtol=1e-10)


BROKEN = [
    ({"cov_factor": [[1.0, 0.0], [0.0, 1.0]]}, "uncertainty.cov_factor must be 4 rows of 4 finite numbers"),
    ({"cov_factor": [[1.0, 0.0, 0.0, "NaN"]] * 4}, "uncertainty.cov_factor must be 4 rows of 4 finite numbers"),
    ({"cov_factor": [[1.0, 0.0, 0.0, True]] * 4}, "uncertainty.cov_factor must be 4 rows of 4 finite numbers"),
    ({"sigma": -1.0}, "uncertainty.sigma must be a finite number >= 0"),
    ({"sigma": "1"}, "uncertainty.sigma must be a finite number >= 0"),
    ({"df_resid": 0}, "uncertainty.df_resid must be a whole number >= 1"),
    ({"df_resid": 2.5}, "uncertainty.df_resid must be a whole number >= 1"),
    ("F", '"uncertainty" must be an object with cov_factor, sigma and df_resid'),
]


@pytest.mark.parametrize("change, message", BROKEN)
def test_a_broken_uncertainty_is_refused_saying_what_is_wrong(houses_model, tmp_path, capsys, change, message):
    record = json.loads(houses_model.read_text())
    record["uncertainty"] = record["uncertainty"] | change if isinstance(change, dict) else change
    (path := tmp_path / "broken.json").write_text(json.dumps(record))
    code, out, err = cli(capsys, "predict", "--model", path, HOUSES)
    assert (code, out) == (2, "")
    assert err.startswith(f"linearnet predict: error: {path}: not a usable linearnet model file: {message}")


def test_models_without_intervals_and_bad_flags_are_refused_in_one_line(houses_model, tmp_path, capsys):
    save_model(Model(["area"], [2.0], 1.0, target="price", training={"method": "sgd"}), sgd := tmp_path / "sgd.json")
    cases = [
        (["--model", sgd, "--interval", "prediction"], f"{sgd}: a model trained by SGD has no intervals (they need "),
        (["--model", houses_model, "--level", "0.9"], "--level is the level of the intervals: give --interval"),
        (["--model", houses_model, "--interval", "confidence", "--level", "95"], "argument --level: expected a level"),
        (["--model", houses_model, "--interval", "both"], "argument --interval: invalid choice: 'both'"),
        (["--model", houses_model, "--missing", "skip"], "missing must be one of error, keep, drop, got 'skip'"),
        (["--model", houses_model, "--keep", "price_predicted"], "column 'price_predicted' of the data would be"),
    ]
    houses_plus = tmp_path / "plus.csv"
    houses_plus.write_text("price_predicted,area,rooms,age\n1,120,3,10\n")
    for flags, message in cases:
        code, out, err = cli(capsys, "predict", houses_plus, *flags)
        assert (code, out) == (2, "") and err.startswith(f"linearnet predict: error: {message}"), err
        assert len(err.splitlines()) == 1


GAPS = "id,area,rooms,age\n7,120,3,10\n8,,2,40\n9,80,NA,5\n10,65,2,40\n11,95,4,\n12,150,5,2\n"


def test_rows_with_a_gap_are_kept_empty_or_left_out_with_a_note(houses_model, tmp_path, capsys):
    (new := tmp_path / "new.csv").write_text(GAPS)
    code, out, err = cli(capsys, "predict", "--model", houses_model, new, "--keep", "id", "--missing", "keep")
    assert code == 0 and err == (
        "linearnet predict: note: 3 of 6 rows have a missing value in a feature: their predictions are left empty "
        "(rows 2, 3, 5)\n"
    )
    lines = out.splitlines()
    assert lines[0] == "id,price_predicted" and [line.split(",")[0] for line in lines[1:]] == list("789") + [
        "10",
        "11",
        "12",
    ]
    assert lines[2] == "8," and lines[3] == "9," and lines[5] == "11,"
    complete = pd.read_csv(StringIO(GAPS)).dropna()
    ref = _statsmodels_frame(complete, 0.05)["mean"].to_numpy()
    np.testing.assert_allclose([float(lines[i].split(",")[1]) for i in (1, 4, 6)], ref, rtol=1e-12)
    code, out, err = cli(capsys, "predict", "--model", houses_model, new, "--keep", "id", "--missing", "drop")
    assert code == 0 and err == (
        "linearnet predict: note: dropped 3 of 6 rows with missing values in the columns in use (rows 2, 3, 5)\n"
    )
    assert [line.split(",")[0] for line in out.splitlines()] == ["id", "7", "10", "12"]
    code, out, err = cli(capsys, "predict", "--model", houses_model, new)
    assert (code, out) == (2, "") and err == (
        f"linearnet predict: error: {new}: column 'area', row 2 (line 3): missing value (empty)\n"
    )


def test_parquet_output_holds_nulls_for_the_rows_kept_without_a_prediction(houses_model, tmp_path, capsys):
    import pyarrow.parquet as pq

    (new := tmp_path / "new.csv").write_text(GAPS.replace("7,", "x7,", 1))  # ids of text
    out = tmp_path / "p.parquet"
    argv = ["predict", "--model", houses_model, new, "--keep", "id", "--missing", "keep", "--interval", "prediction"]
    assert cli(capsys, *argv, "--out", out)[0] == 0
    table = pq.read_table(out)
    assert table.column_names == ["id", "price_predicted", "price_lower", "price_upper"]
    assert str(table.schema.field("price_lower").type) == "double"
    assert table.column("id").to_pylist() == ["x7", "8", "9", "10", "11", "12"]
    assert [v is None for v in table.column("price_upper").to_pylist()] == [False, True, True, False, True, False]


@pytest.mark.parametrize("missing", ["keep", "drop"])
def test_a_file_predicted_in_chunks_is_the_file_predicted_whole(houses_model, tmp_path, capsys, monkeypatch, missing):
    """The same rows, labels, ids, bounds and notes from a file streamed in chunks of 7 rows and from a folder
    holding it (streamed too, its notes naming the file of a row)."""
    from linearnet.tables import plan

    rng = np.random.default_rng(3)
    rows = pd.read_csv(HOUSES).drop(columns="price")
    rows.index = [f"house {i}" for i in range(len(rows))]
    for column in rows.columns:  # gaps here and there
        rows.loc[rng.random(len(rows)) < 0.05, column] = np.nan
    (tmp_path / "folder").mkdir()
    rows.to_csv(new := tmp_path / "folder" / "new.csv")  # row labels in an unnamed first column
    monkeypatch.setattr(plan, "CHUNK_ROWS", 7)
    argv = ["predict", "--model", houses_model, "--interval", "confidence", "--missing", missing, "--keep", "age"]
    streamed = cli(capsys, *argv, new)
    whole = cli(capsys, *argv, tmp_path / "folder")
    assert streamed[0] == whole[0] == 0 and streamed[1] == whole[1]
    notes = [line for line in whole[2].splitlines() if "read 1 files as one table" not in line]
    assert streamed[2].splitlines() == [
        line.replace(f"{new}: ", "").replace(f"({new} rows ", "(rows ") for line in notes
    ]
    got = _frame(streamed[1])
    assert list(got.columns) == ["Unnamed: 0", "age", "price_predicted", "price_lower", "price_upper"]
    complete = rows.dropna()
    kept = got.dropna(subset=["price_predicted"])
    assert kept["Unnamed: 0"].tolist() == complete.index.tolist()
    assert len(got) == (len(rows) if missing == "keep" else len(complete))
    ref = _statsmodels_frame(complete, 0.05)
    np.testing.assert_allclose(kept["price_lower"], ref["mean_ci_lower"], rtol=1e-10)


def test_row_labels_of_a_parquet_file_from_pandas_are_carried(houses_model, tmp_path, capsys):
    rows = pd.read_csv(HOUSES).head(4)
    rows.index = ["a", "b", "c", "d"]
    rows.to_parquet(new := tmp_path / "new.parquet")
    code, out, err = cli(capsys, "predict", "--model", houses_model, new)
    assert code == 0 and err == "" and out.splitlines()[0] == ",price_predicted"  # as a CSV writes row labels
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["a", "b", "c", "d"]
    assert cli(capsys, "predict", "--model", houses_model, new, "--out", tmp_path / "p.parquet")[0] == 0
    assert pd.read_parquet(tmp_path / "p.parquet").index.tolist() == [0, 1, 2, 3]  # a column, not pandas' index


def test_kept_columns_are_written_as_the_input_holds_them(tmp_path, capsys):
    save_model(Model(["x"], [2.0], 1.0, target="y"), model := tmp_path / "m.json")
    (new := tmp_path / "new.csv").write_text("id,x,score\n101,1,0.5\n,2,NA\n0103,3,2\n9007199254740993,4,2.50\n")
    code, out, err = cli(capsys, "predict", "--model", model, new, "--keep", "id,score")
    expected = "id,score,y_predicted\n101,0.5,3.0\n,,5.0\n0103,2,7.0\n9007199254740993,2.50,9.0\n"
    assert code == 0 and err == "" and out == expected  # not 103, 2.0, 9007199254740992 or 2.5
    pq.write_table(pa.table({"id": pa.array([9007199254740993, None]), "x": [1.0, 2.0]}), new := tmp_path / "n.parquet")
    code, out, err = cli(capsys, "predict", "--model", model, new, "--keep", "id")
    assert code == 0 and out == "id,y_predicted\n9007199254740993,3.0\n,5.0\n"


def test_a_model_of_the_intercept_alone_predicts_its_constant(tmp_path, capsys):
    import statsmodels.api as sm

    houses = pd.read_csv(HOUSES)
    model = tmp_path / "mean.json"
    assert cli(capsys, "solve", HOUSES, "--formula", "price ~ 1", "--out", model)[0] == 0
    assert load_model(model).features == []
    fit = sm.OLS(houses["price"], np.ones((len(houses), 1))).fit()
    ref = fit.get_prediction(np.ones((1, 1))).summary_frame(0.05)
    for data in (HOUSES, str(tmp_path / "h.parquet")):
        houses.to_parquet(tmp_path / "h.parquet")
        code, out, err = cli(capsys, "predict", "--model", model, data, "--interval", "prediction")
        assert code == 0 and err == ""
        got = _frame(out).to_numpy()
        assert got.shape == (200, 3) and (got == got[0]).all()
        np.testing.assert_allclose(got[0], ref[["mean", "obs_ci_lower", "obs_ci_upper"]].to_numpy()[0], rtol=1e-12)
    save_model(Model([], [], 4.5, target="y"), plain := tmp_path / "plain.json")  # no formula: any file's rows
    assert cli(capsys, "predict", "--model", plain, HOUSES)[1] == "y_predicted\n" + "4.5\n" * 200


@pytest.mark.parametrize("x_unit, y_unit", [(1e-170, 1.0), (1.0, 1e-170), (1e-170, 1e-170)])
def test_intervals_of_data_in_tiny_units_are_those_of_the_data_rescaled(tmp_path, x_unit, y_unit):
    """(AᵀA)⁻¹ of features in units of 1e-170 is not a float64 matrix; its factor is, and so are the bounds."""
    import statsmodels.api as sm

    from linearnet.leastsq import solve

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = X @ [1.0, 2.0] + rng.normal(size=50)
    save_model(solve(X * x_unit, y * y_unit).to_model(), path := tmp_path / "m.json")
    model = load_model(path)
    got = np.column_stack(model.bounds(X[:5] * x_unit, model.predict(X[:5] * x_unit), interval="prediction"))
    ref = sm.OLS(y, sm.add_constant(X)).fit().get_prediction(sm.add_constant(X[:5])).summary_frame(0.05)
    np.testing.assert_allclose(got / y_unit, ref[["obs_ci_lower", "obs_ci_upper"]].to_numpy(), rtol=1e-12)


def test_a_softmax_model_leaves_the_class_and_its_probabilities_empty_for_a_row_with_a_gap(tmp_path, capsys):
    from linearnet.modelfile import SoftmaxModel

    model = SoftmaxModel(["a", "b"], ["no", "yes"], [[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], target="label")
    save_model(model, path := tmp_path / "m.json")
    (new := tmp_path / "new.csv").write_text("tag,a,b\nx,1,2\ny,,3\nz,5,1\n")
    code, out, err = cli(capsys, "predict", "--model", path, new, "--keep", "tag", "--missing", "keep")
    assert code == 0 and out.splitlines()[:3] == ["tag,label_predicted,p_no,p_yes", out.splitlines()[1], "y,,,"]
    assert err == (
        "linearnet predict: note: 1 of 3 rows has a missing value in a feature: its prediction is left empty (row 2)\n"
    )
    assert cli(capsys, "predict", "--model", path, new, "--missing", "keep", "--out", tmp_path / "p.parquet")[0] == 0
    back = pd.read_parquet(tmp_path / "p.parquet")
    assert back["label_predicted"].isna().tolist() == back["p_yes"].isna().tolist() == [False, True, False]


def test_a_formula_model_keeps_the_rows_with_gaps_empty(tmp_path, capsys):
    import statsmodels.formula.api as smf

    houses = pd.read_csv(HOUSES)
    model = tmp_path / "f.json"
    assert cli(capsys, "solve", HOUSES, "--formula", "price ~ np.log(area) + rooms", "--out", model)[0] == 0
    (new := tmp_path / "new.csv").write_text("id,area,rooms\nA,120,3\nB,,2\nC,95,NA\nD,60,2\n")
    argv = ["predict", "--model", model, new, "--keep", "id", "--missing", "keep", "--interval", "confidence"]
    code, out, err = cli(capsys, *argv)
    assert code == 0 and err.endswith("their predictions are left empty (rows 2, 3)\n")
    got = _frame(out)
    assert got["id"].tolist() == list("ABCD") and got["price_predicted"].isna().tolist() == [False, True, True, False]
    fit = smf.ols("price ~ np.log(area) + rooms", houses).fit()
    ref = fit.get_prediction(pd.DataFrame({"area": [120, 60], "rooms": [3, 2]})).summary_frame(0.05)
    np.testing.assert_allclose(got.loc[[0, 3], "price_lower"], ref["mean_ci_lower"], rtol=1e-10)

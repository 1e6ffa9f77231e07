"""R's formulas on R's own data sets, fitted by linearnet as R's ``lm()`` fits them: the values R computed
(tests/fixtures/r/formulas/expected.json, made by tests/r/make_formula_fixtures.R; the fields are
described in tests/r/README.md) against linearnet's library (``read_table(formula=...)`` and ``solve``,
as ``linearnet solve --formula`` calls them), its ``--target``/``--features`` route, ``solve --out``
then ``predict`` for the transforms that keep state, and the reading in chunks; one command per route
in a subprocess.

Tolerance rtol 1e-10 (10 significant digits): R (Householder QR) and linearnet (a refined Cholesky/QR
of the scaled design) are both backward-stable solves of the same numbers, and these designs are well
conditioned (condition numbers of the designs with unit columns 1 to 1.2·10³, the largest that of
stackloss's .^2), so each side is good to about 1e-12 or better and agreement to 1e-10 holds with room,
while a wrong coding (a level dropped, a reference moved, R² centred where R's is not, a degree of
freedom off by one) moves the numbers by percents.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import cli

RTOL = 1e-10
FORMULAS = Path(__file__).parent / "fixtures" / "r" / "formulas"


@functools.cache
def _expected() -> dict:
    return json.loads((FORMULAS / "expected.json").read_text(encoding="utf-8"))


def cases(where=lambda c: True) -> list[dict]:
    """Every case R wrote (fresh copies), or those for which ``where(case)`` is true."""
    return [c for c in copy.deepcopy(_expected()["cases"]) if where(c)]


def case(name: str) -> dict:
    return next(c for c in cases() if c["name"] == name)


def fixture(name: str) -> Path:
    path = FORMULAS / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: regenerate with `Rscript tests/r/make_formula_fixtures.R`")
    return path


def _formula_route(c: dict) -> bool:
    return c["linearnet"] is not None


# Each of linearnet's spellings of a formula case: R's own text first, then linearnet's own where it has
# one (C(x, Treatment('b')) for relevel(x, ref = "b"), C(cyl) for factor(cyl)). R's text under a locale
# other than C is left out: its levels are in the locale's order, linearnet's by code point (see
# test_levels_are_in_code_point_order_and_the_reference_is_chosen_in_the_formula).
SPELLINGS = [
    pytest.param(c["name"], i, id=f"{c['name']}-{i}" if i else c["name"])
    for c in cases(_formula_route)
    for i in range(len(c["linearnet"]))
    if (i > 0 or c["locale"] == "C") and not c["offset"]
]
FEATURES = [c["name"] for c in cases(lambda c: not _formula_route(c))]
PREDICTED = [c["name"] for c in cases(lambda c: c["predict"] is not None or c["offset"])]


# ---- the comparison --------------------------------------------------------------------------------


def _number(value) -> float:
    return float("nan") if value is None else float(value)  # to_dict writes NaN as "NaN"


def _answers(d: dict) -> dict[str, tuple[float, float]]:
    """Estimate and standard error by name ("(Intercept)" for the intercept) from linearnet's statistics
    as :meth:`OLSResult.to_dict` and ``solve --json`` give them."""
    rows = {**({"(Intercept)": d["intercept"]} if d["intercept"] is not None else {}), **d["coefficients"]}
    return {name: (_number(r["estimate"]), _number(r["stderr"])) for name, r in rows.items()}


def assert_matches_r(d: dict, c: dict, names: list[str]) -> None:
    """linearnet's fit ``d`` (``to_dict()`` or ``--json``) is R's: the coefficients and standard errors by
    linearnet's name (``names``, in R's order), σ, R², adjusted R², F and its degrees of freedom, n."""
    got = _answers(d)
    values, se, aliased = c["coefficients"]["values"], c["se"], set(c["aliased"])
    estimable = [n for n in names if n not in aliased]
    assert sorted(n for n in got if n not in aliased or not math.isnan(got[n][0])) == sorted(estimable), (
        "coefficient names (R's aliased ones absent or NaN)"
    )
    want = {n: (v, s) for n, v, s in zip(names, values, se, strict=True) if n not in aliased}
    np.testing.assert_allclose([got[n][0] for n in estimable], [want[n][0] for n in estimable], rtol=RTOL, atol=0)
    np.testing.assert_allclose([got[n][1] for n in estimable], [want[n][1] for n in estimable], rtol=RTOL, atol=0)
    statistics = [_number(d[k]) for k in ("sigma", "r2", "adj_r2")]
    np.testing.assert_allclose(statistics, [c["sigma"], c["r2"], c["adj_r2"]], rtol=RTOL, atol=1e-15)
    assert d["r2_centered"] == c["intercept"], "R² is uncentred without an intercept, as R's summary.lm"
    assert (d["n"], d["df_resid"]) == (c["n"], c["df_resid"])
    f = c["fstatistic"]
    if f is None:
        assert d["f_statistic"] is None
    else:
        assert (d["f_statistic"]["df_model"], d["f_statistic"]["df_resid"]) == (f["df_model"], f["df_resid"])
        np.testing.assert_allclose(_number(d["f_statistic"]["value"]), f["value"], rtol=RTOL)


def _library_fit(path, **read) -> dict:
    """What ``linearnet solve`` computes for a table read whole, through the library."""
    from linearnet.leastsq import solve
    from linearnet.tables import read_table

    intercept = read.pop("intercept", True)
    t = read_table(path, missing="drop", intercept=intercept, **read)
    fit = solve(t.features, t.target, fit_intercept=intercept and t.intercept, feature_names=t.feature_names)
    return fit.to_dict()


def _cli_fit(capsys, *argv) -> dict:
    code, out, err = cli(capsys, "solve", *argv, "--missing", "drop", "--json")
    assert code == 0, err
    return json.loads(out)


def _features_argv(c: dict) -> list[str]:
    f = c["features"]
    return [
        "--target",
        f["target"],
        "--features",
        ",".join(f["features"]),
        *([] if f["intercept"] else ["--no-intercept"]),
    ]


# ---- linearnet against R ---------------------------------------------------------------------------


# An interaction whose factors' main effects are not in the formula: R codes each factor with every level and
# reports the aliased columns NA; formulaic keeps the design full rank. The same fit, another parametrisation,
# said in a note (checked below with the statistics R's fit gives).
REPARAMETRISED = {"mtcars_wt_am_vs"}


@pytest.mark.parametrize(("name", "spelling"), [p for p in SPELLINGS if p.values[0] not in REPARAMETRISED])
def test_a_formula_fits_as_r_fits_it(name, spelling):
    c = case(name)
    s = c["linearnet"][spelling]
    assert_matches_r(_library_fit(fixture(c["data"]), formula=s["formula"]), c, s["names"])


@pytest.mark.parametrize("name", sorted(REPARAMETRISED))
def test_an_interaction_coded_otherwise_than_by_r_is_the_same_fit_and_says_so(name, capsys):
    from linearnet.leastsq import solve
    from linearnet.tables import read_table

    c = case(name)
    t = read_table(fixture(c["data"]), missing="drop", formula=c["linearnet"][0]["formula"])
    d = solve(t.features, t.target, fit_intercept=t.intercept, feature_names=t.feature_names).to_dict()
    statistics = [_number(d[k]) for k in ("sigma", "r2", "adj_r2")]
    np.testing.assert_allclose(statistics, [c["sigma"], c["r2"], c["adj_r2"]], rtol=RTOL, atol=1e-15)
    assert (d["n"], d["df_resid"], d["f_statistic"]["df_model"]) == (c["n"], c["df_resid"], c["fstatistic"]["df_model"])
    assert len(d["coefficients"]) == len(c["coefficients"]["values"]) - len(c["aliased"]) - c["intercept"]
    assert any(
        note.startswith("the term am:vs is coded with 3 columns, where R's lm codes it with 4") for note in t.notes
    )
    chunked = _cli_fit(capsys, fixture(c["data"]), "--formula", c["linearnet"][0]["formula"], "--chunk-rows", "8")
    assert [n for n in chunked["notes"] if "am:vs" in n] == [n for n in t.notes if "am:vs" in n]
    np.testing.assert_allclose(_number(chunked["sigma"]), c["sigma"], rtol=RTOL)


@pytest.mark.parametrize("name", FEATURES)
def test_target_and_features_fit_as_the_formula_beside_them(name):
    c = case(name)
    f = c["features"]
    d = _library_fit(fixture(c["data"]), target=f["target"], features=f["features"], intercept=f["intercept"])
    assert_matches_r(d, c, f["names"])


@pytest.mark.parametrize("name", PREDICTED)
def test_the_model_file_predicts_as_r_predicts(name, tmp_path, capsys):
    """Offsets, the state of poly() and scale(), and the intercept alone, through ``solve --out`` and
    ``predict``: the coefficients as R's, and R's ``predict(fit, newdata)``."""
    c = case(name)
    s = c["linearnet"][0]
    model = tmp_path / "model.json"
    assert_matches_r(_cli_fit(capsys, fixture(c["data"]), "--formula", s["formula"], "--out", model), c, s["names"])
    if c["predict"] is not None:
        code, out, err = cli(capsys, "predict", fixture(c["predict"]["newdata"]), "--model", model)
        assert code == 0, err
        predicted = pd.read_csv(io.StringIO(out)).iloc[:, -1].to_numpy(dtype=float)
        np.testing.assert_allclose(predicted, c["predict"]["fit"], rtol=RTOL)


CHUNKED = [
    "iris_features_no_intercept",
    "mtcars_features_am",
    "Cars93_features",
    "airquality_features_date",
    "PlantGrowth_no_intercept",
    "mtcars_factor_cyl",
    "airquality_dotted",
    "iris_dot",
    "Cars93_level_in_dropped_rows",
]


@pytest.mark.parametrize("name", CHUNKED)
def test_read_in_chunks_the_fit_is_r_s(name, capsys):
    """A few rows a chunk (--chunk-rows, as a file over the memory budget is read): categories coded from
    a first pass, the same coding and the same fit as a whole read."""
    c = case(name)
    route = ["--formula", c["linearnet"][0]["formula"]] if _formula_route(c) else _features_argv(c)
    names = c["linearnet"][0]["names"] if _formula_route(c) else c["features"]["names"]
    assert_matches_r(_cli_fit(capsys, fixture(c["data"]), *route, "--chunk-rows", "16"), c, names)


@pytest.mark.parametrize("route", ["features", "formula"])
def test_a_file_over_the_memory_budget_fits_in_chunks_as_read_whole(route, tmp_path, capsys):
    """Cars93's rows twenty times over (1,860 rows, about 2.4 MiB read whole) under a budget of 1 MiB:
    read in chunks, with a note; every statistic that of the whole read, the coefficients R's (rows
    repeated leave them as they are)."""
    c = case("Cars93_features")
    lines = fixture(c["data"]).read_text().splitlines(keepends=True)
    path = tmp_path / "Cars93x20.csv"
    path.write_text(lines[0] + "".join(lines[1:]) * 20)
    argv = _features_argv(c) if route == "features" else ["--formula", c["formula"]]
    whole = _cli_fit(capsys, path, *argv, "--memory-budget", "64M")
    chunked = _cli_fit(capsys, path, *argv, "--memory-budget", "1M")
    assert any("in chunks" in note for note in chunked["notes"])
    names = c["features"]["names"]
    got, want = _answers(chunked), _answers(whole)
    assert sorted(got) == sorted(want) == sorted(names)
    np.testing.assert_allclose([got[n] for n in names], [want[n] for n in names], rtol=RTOL)
    statistics = ("sigma", "r2", "adj_r2", "n", "df_resid")
    np.testing.assert_allclose([chunked[k] for k in statistics], [whole[k] for k in statistics], rtol=RTOL)
    np.testing.assert_allclose([got[n][0] for n in names], c["coefficients"]["values"], rtol=RTOL)
    assert whole["n"] == 20 * c["n"]


def test_levels_are_in_code_point_order_and_the_reference_is_chosen_in_the_formula(capsys):
    """Cars93's Origin: R's levels under its locale here (C.UTF-8, collated by ICU as in English) are
    non-USA, USA; in code-point order (R's C locale, linearnet's) USA, non-USA. linearnet's plain
    ``Origin`` is R's fit in the C locale (the case Cars93_origin), the same model as R's in its locale
    with the other reference; ``relevel()`` or ``C(Origin, Treatment('non-USA'))`` gives R's fit in its
    locale (the spellings of Cars93_origin_locale, tested above)."""
    locale = _expected()["locale"]
    assert locale["origin_levels_session"] == ["non-USA", "USA"] and locale["origin_levels_c"] == ["USA", "non-USA"]
    ours, theirs = case("Cars93_origin"), case("Cars93_origin_locale")
    assert theirs["locale"] == locale["session_collate"] and ours["locale"] == "C"
    d = _cli_fit(capsys, fixture(ours["data"]), "--formula", theirs["formula"])
    assert_matches_r(d, ours, ours["linearnet"][0]["names"])
    np.testing.assert_allclose([d["sigma"], d["r2"]], [theirs["sigma"], theirs["r2"]], rtol=RTOL)


def test_levels_in_another_order_than_r_s_locale_are_noted(capsys):
    """R in an English locale puts non-USA first; linearnet's code-point order puts USA first: a
    difference from R that a note says (naming the column), in the text and in --json."""
    d = _cli_fit(capsys, fixture("Cars93.csv"), "--formula", "Price ~ Origin + Horsepower")
    assert any("Origin" in note for note in d["notes"])


# ---- Parquet: dictionary columns (pandas' category dtype, R's arrow factors), pandas' index ------------


def _parquet(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path)
    return path


@pytest.fixture(scope="module")
def parquet_files(tmp_path_factory):
    """iris with Species a dictionary column; mtcars with am, vs booleans and the car names as pandas'
    index (``__index_level_0__``). R's arrow is not installed where the fixtures were made: pandas writes
    them, from the files R wrote (pandas reads their decimals back to the same doubles)."""
    folder = tmp_path_factory.mktemp("parquet")
    iris = pd.read_csv(fixture("iris.csv"), index_col=0)
    iris["Species"] = iris["Species"].astype("category")
    mtcars = pd.read_csv(fixture("mtcars.csv"), index_col=0)
    mtcars.index.name = None
    assert mtcars["am"].dtype == bool
    return {
        "iris": _parquet(iris.reset_index(drop=True), folder / "iris.parquet"),
        "mtcars": _parquet(mtcars, folder / "mtcars.parquet"),
    }


def test_parquet_holds_a_dictionary_column_and_an_index(parquet_files):
    import pyarrow.parquet as pq

    assert str(pq.read_schema(parquet_files["iris"]).field("Species").type).startswith("dictionary<values=string")
    assert "__index_level_0__" in pq.read_schema(parquet_files["mtcars"]).names


@pytest.mark.parametrize(("name", "data"), [("iris_dot", "iris"), ("iris_features", "iris"), ("mtcars_dot", "mtcars")])
def test_a_parquet_dictionary_column_is_a_category(name, data, parquet_files):
    """``y ~ .`` leaves out pandas' index (row labels, not a column)."""
    c = case(name)
    if _formula_route(c):
        d = _library_fit(parquet_files[data], formula=c["linearnet"][0]["formula"])
        names = c["linearnet"][0]["names"]
    else:
        f = c["features"]
        d = _library_fit(parquet_files[data], target=f["target"], features=f["features"], intercept=f["intercept"])
        names = f["names"]
    assert_matches_r(d, c, names)


def test_parquet_dictionaries_of_a_folder_are_merged(tmp_path, capsys):
    """A folder of Parquet files, each with its own dictionary (pandas' categories of its rows, in the
    order of their first appearance): the levels merged in the order first met, as R's rbind merges the
    levels of factors (virginica, setosa, versicolor: virginica the reference), whole and in chunks; the fit
    R's (the statistics; the coefficients R's with relevel(Species, ref = "virginica"))."""
    iris = pd.read_csv(fixture("iris.csv"), index_col=0).reset_index(drop=True)
    folder = tmp_path / "iris"
    folder.mkdir()
    for part, rows in (("a", [*range(100, 150), *range(50)]), ("b", range(50, 100))):
        piece = iris.iloc[list(rows)].copy()
        piece["Species"] = pd.Categorical(piece["Species"], categories=list(dict.fromkeys(piece["Species"])))
        piece.to_parquet(folder / f"{part}.parquet", index=False)
    c = case("iris_features")
    f = c["features"]
    names = ["Species[T.setosa]", "Species[T.versicolor]"]
    for d in (
        _library_fit(folder, target=f["target"], features=f["features"]),
        _cli_fit(capsys, folder, *_features_argv(c), "--chunk-rows", "16"),
    ):
        assert [n for n in d["coefficients"] if n.startswith("Species")] == names
        statistics = [_number(d[k]) for k in ("sigma", "r2", "adj_r2")]
        np.testing.assert_allclose(statistics, [c["sigma"], c["r2"], c["adj_r2"]], rtol=RTOL)
    setosa = d["coefficients"]["Species[T.setosa]"]["estimate"]
    versicolor = d["coefficients"]["Species[T.versicolor]"]["estimate"]
    r = dict(zip(f["names"], c["coefficients"]["values"], strict=True))  # R's, setosa the reference
    np.testing.assert_allclose(
        [setosa, versicolor],
        [-r["Species[T.virginica]"], r["Species[T.versicolor]"] - r["Species[T.virginica]"]],
        rtol=1e-9,
    )


def test_a_parquet_dictionary_column_in_chunks(parquet_files, capsys):
    c = case("iris_features_no_intercept")
    d = _cli_fit(capsys, parquet_files["iris"], *_features_argv(c), "--chunk-rows", "16")
    assert_matches_r(d, c, c["features"]["names"])


# ---- one command each route, as a user runs it -------------------------------------------------------


def _run(*argv) -> dict | str:
    done = subprocess.run(
        [sys.executable, "-m", "linearnet", *map(str, argv)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in argv else done.stdout


@pytest.mark.parametrize(
    ("name", "route"),
    [
        ("airquality_dotted", "formula"),
        ("iris_features_no_intercept", "features"),
        ("Cars93_features", "chunks"),
    ],
)
def test_the_command_fits_as_r(name, route):
    c = case(name)
    argv = ["--formula", c["linearnet"][0]["formula"]] if route == "formula" else _features_argv(c)
    names = c["linearnet"][0]["names"] if route == "formula" else c["features"]["names"]
    chunks = ["--chunk-rows", "16"] if route == "chunks" else []
    d = _run("solve", fixture(c["data"]), *argv, *chunks, "--missing", "drop", "--json")
    assert_matches_r(d, c, names)


def test_the_command_predicts_as_r(tmp_path):
    c = case("cars_poly")
    model = tmp_path / "model.json"
    _run("solve", fixture(c["data"]), "--formula", c["linearnet"][0]["formula"], "--out", model)
    out = _run("predict", fixture(c["predict"]["newdata"]), "--model", model)
    predicted = pd.read_csv(io.StringIO(out)).iloc[:, -1].to_numpy(dtype=float)
    np.testing.assert_allclose(predicted, c["predict"]["fit"], rtol=RTOL)


# ---- the fixtures: well-formed, written as R writes them -------------------------------------------


def test_the_versions_and_the_locale_that_made_them_are_recorded():
    doc = _expected()
    assert doc["r_version"].startswith("R version ") and set(doc["packages"]) >= {"stats", "MASS"}
    assert doc["locale"]["session_collate"] and isinstance(doc["locale"]["icu"], bool)
    assert len({c["name"] for c in cases()}) == len(cases()) >= 50


@pytest.mark.parametrize("name", [c["name"] for c in cases()])
def test_each_case_is_well_formed(name):
    c = case(name)
    assert fixture(c["data"]).is_file()
    k = len(c["coefficients"]["values"])
    assert len(c["coefficients"]["r_names"]) == len(c["coefficients"]["names"]) == len(c["se"]) == k
    assert c["rank"] == k - len(c["aliased"]) and c["n"] - c["df_resid"] == c["rank"]
    assert (c["coefficients"]["names"][0] == "(Intercept)") == c["intercept"]
    spellings = c["linearnet"] if _formula_route(c) else [c["features"]]
    r_text = [s for s in spellings if s.get("formula", c["formula"]) == c["formula"]]  # R's text, or --features
    assert all(s["names"] == c["coefficients"]["names"] for s in r_text)
    assert all(len(s["names"]) == k for s in spellings)
    if c["predict"] is not None:
        rows = len(pd.read_csv(fixture(c["predict"]["newdata"])))
        assert len(c["predict"]["fit"]) == rows
    if c["fstatistic"] is not None:
        assert c["fstatistic"]["df_model"] == c["rank"] - c["intercept"]
        assert c["fstatistic"]["df_resid"] == c["df_resid"]


def test_r_s_names_become_linearnet_s_by_the_rule():
    """Speciesversicolor is Species[T.versicolor], factor(cyl)6 factor(cyl)[T.6], amTRUE am[T.TRUE],
    poly(speed, 3)1 poly(speed, 3)[1], I(speed^2) itself, wt:amTRUE wt:am[T.TRUE]; without an
    intercept the first factor has all its levels, without T."""
    pairs = {
        r: ours
        for c in cases()
        for r, ours in zip(c["coefficients"]["r_names"], c["coefficients"]["names"], strict=True)
    }
    assert pairs["Speciesversicolor"] == "Species[T.versicolor]" and pairs["Speciessetosa"] == "Species[setosa]"
    assert pairs["factor(cyl)6"] == "factor(cyl)[T.6]" and pairs["amTRUE"] == "am[T.TRUE]"
    assert pairs["poly(speed, 3)1"] == "poly(speed, 3)[1]" and pairs["I(speed^2)"] == "I(speed^2)"
    assert pairs["wt:amTRUE"] == "wt:am[T.TRUE]" and pairs["amFALSE"] == "am[FALSE]"
    assert pairs["factor(dose)1"] == "factor(dose)[T.1]" and pairs["Solar.R"] == "Solar.R"


def test_the_numbers_r_prints():
    """A few values as R's printed summaries show them."""
    plant = case("PlantGrowth_no_intercept")
    assert plant["r2"] == pytest.approx(0.9867, abs=1e-4)  # uncentred: 1 − RSS/Σy²
    assert case("PlantGrowth")["r2"] == pytest.approx(0.2641, abs=1e-4)
    iris = case("iris_species_no_intercept")
    np.testing.assert_allclose(iris["coefficients"]["values"], [5.006, 5.936, 6.588], rtol=1e-12)
    assert iris["sigma"] == pytest.approx(0.5148, abs=1e-4)
    assert case("Cars93_level_in_dropped_rows")["levels"]["Type"] == ["Compact", "Large", "Midsize", "Small", "Sporty"]
    assert case("mtcars_wt_am_vs")["aliased"] == ["am[TRUE]:vs[TRUE]"]


def test_the_files_are_written_as_r_writes_them():
    lines = {name: fixture(name).read_text().splitlines() for name in ("mtcars.csv", "mtcars.txt", "stackloss.txt")}
    assert lines["mtcars.csv"][0].startswith('"","mpg",')  # write.csv: row names, a column named ""
    assert lines["mtcars.csv"][1].startswith('"Mazda RX4",21,') and ",FALSE,TRUE," in lines["mtcars.csv"][1]
    for name in ("mtcars.txt", "stackloss.txt"):  # write.table(sep = "\t"): the header one field short
        assert len(lines[name][0].split("\t")) + 1 == len(lines[name][1].split("\t"))
    assert lines["stackloss.txt"][1].startswith('"1"\t80\t27')
    assert fixture("airquality.csv").read_text().splitlines()[1].endswith(",1973-05-01")
    assert fixture("PlantGrowth.csv").read_text().startswith('"weight","group"')
    written = {p.name for p in FORMULAS.iterdir()}
    named = {c["data"] for c in cases()} | {c["predict"]["newdata"] for c in cases() if c["predict"]}
    assert written == named | {"expected.json"}
    assert all(p.stat().st_size < 100_000 for p in FORMULAS.iterdir())


# ---- the stored values are what their definitions say (numpy, without R) --------------------------------


def _frame(c: dict) -> pd.DataFrame:
    """The case's data as pandas reads them (row names, a first column named "", as the index)."""
    path = fixture(c["data"])
    return pd.read_csv(path, index_col=0 if path.read_text().startswith('""') else None)


def _ols(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Coefficients, standard errors and σ of least squares on X (its columns as given)."""
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    e = y - X @ b
    s2 = e @ e / (len(y) - X.shape[1])
    return b, np.sqrt(np.diag(np.linalg.inv(X.T @ X)) * s2), math.sqrt(s2)


def _orthogonal_poly(x: np.ndarray, degree: int) -> np.ndarray:
    """R's poly(x, degree): the QR of the centred powers, each column scaled to norm 1."""
    q, r = np.linalg.qr(np.vander(x - x.mean(), degree + 1, increasing=True))
    z = q * np.diag(r)
    return (z / np.linalg.norm(z, axis=0))[:, 1:]


def _raw_predictions(x: np.ndarray, y: np.ndarray, new: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(new)), new]) @ np.linalg.lstsq(np.column_stack([np.ones(len(x)), x]), y)[0]


def _assert_coefficients(c: dict, X: np.ndarray, y: np.ndarray, rtol: float = 1e-10) -> None:
    b, se, sigma = _ols(X, y)
    np.testing.assert_allclose(b, [v for v in c["coefficients"]["values"] if v is not None], rtol=rtol)
    np.testing.assert_allclose(se, [v for v in c["se"] if v is not None], rtol=rtol)
    np.testing.assert_allclose(sigma, c["sigma"], rtol=rtol)


def test_stored_poly_and_scale_fits_and_predictions_are_their_definitions():
    """poly()'s coefficients on the orthonormal columns; its predictions, and scale()'s, those of the same
    model on the raw columns (the same column space), on the new rows."""
    for name, target, column, degree, others in (
        ("cars_poly", "dist", "speed", 3, []),
        ("trees_poly_height", "Volume", "Girth", 2, ["Height"]),
    ):
        c, d = case(name), _frame(case(name))
        new = pd.read_csv(fixture(c["predict"]["newdata"]))
        x, y = d[column].to_numpy(), d[target].to_numpy()
        one = np.ones((len(d), 1))
        _assert_coefficients(c, np.hstack([one, _orthogonal_poly(x, degree), d[others].to_numpy()]), y)

        def raw(frame: pd.DataFrame, column=column, degree=degree, others=others) -> np.ndarray:
            v = frame[column].to_numpy()
            return np.column_stack([*(v**p for p in range(1, degree + 1)), frame[others].to_numpy()])

        np.testing.assert_allclose(_raw_predictions(raw(d), y, raw(new)), c["predict"]["fit"], rtol=1e-9)
    np.testing.assert_allclose(case("cars_poly")["predict"]["fit"], case("cars_poly_raw")["predict"]["fit"], rtol=1e-12)
    c = case("mtcars_scale")
    d = _frame(c)
    X, y = d[["wt", "hp"]].to_numpy(), d["mpg"].to_numpy()
    _assert_coefficients(c, np.column_stack([np.ones(len(d)), (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)]), y)
    new = pd.read_csv(fixture(c["predict"]["newdata"]))[["wt", "hp"]].to_numpy()
    np.testing.assert_allclose(_raw_predictions(X, y, new), c["predict"]["fit"], rtol=1e-12)


def test_stored_offset_fits_are_their_definitions():
    """An offset is a known part of the response: the coefficients of y − offset on the rest; R² and F of
    the fitted values less the offset (as R >= 4.3.0, not R 4.2's summary.lm); predictions add it back."""
    for name, target, offset, features in (
        ("cars_offset", lambda d: d["dist"], lambda d: 2 * d["speed"], lambda d: d[["speed"]]),
        ("trees_offset", lambda d: np.log(d["Volume"]), lambda d: np.log(d["Height"]), lambda d: np.log(d[["Girth"]])),
    ):
        c, d = case(name), _frame(case(name))
        y, X = (target(d) - offset(d)).to_numpy(), np.column_stack([np.ones(len(d)), features(d).to_numpy()])
        _assert_coefficients(c, X, y)
        e = y - X @ np.array(c["coefficients"]["values"])
        r2 = 1 - e @ e / np.sum((y - y.mean()) ** 2)
        np.testing.assert_allclose([c["r2"], c["fstatistic"]["value"]], [r2, r2 / (1 - r2) * c["df_resid"]], rtol=1e-10)
        new = pd.read_csv(fixture(c["predict"]["newdata"]))
        fit = np.column_stack([np.ones(len(new)), features(new).to_numpy()]) @ c["coefficients"]["values"] + offset(new)
        np.testing.assert_allclose(fit, c["predict"]["fit"], rtol=1e-12)


def test_the_stored_aliased_coefficient_is_r_s():
    """mpg ~ wt + am:vs: R codes am:vs by all four cells beside the intercept, and the last is aliased
    (NA); the others are the fit on the first three cells."""
    c, d = case("mtcars_wt_am_vs"), _frame(case("mtcars_wt_am_vs"))
    am, vs = d["am"].to_numpy(), d["vs"].to_numpy()
    cells = [~am & ~vs, am & ~vs, ~am & vs]
    _assert_coefficients(c, np.column_stack([np.ones(len(d)), d["wt"], *cells]).astype(float), d["mpg"].to_numpy())
    assert c["coefficients"]["values"][-1] is None and c["rank"] == 5

"""`linearnet solve` (linearnet.cli.solve): statsmodels' table and JSON, and one-line errors naming the file."""

import io
import json
import math
import re
import sys

import numpy as np
import pytest
import statsmodels.api as sm

from linearnet.tables import whole_read_bytes

from helpers import EXAMPLES, HOUSES, Terminal, bars_at_once, cli, statsmodels_houses
from homes import make_homes


def test_solve_prints_the_statsmodels_table(capsys):
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert re.fullmatch(r"\s+coef\s+std err\s+t\s+P>\|t\|\s+\[0.025\s+0.975\]", lines[0])
    assert [line.split()[0] for line in lines[2:6]] == ["intercept", "area", "rooms", "age"]
    ref = statsmodels_houses()
    assert float(lines[3].split()[1]) == pytest.approx(ref.params[1], rel=1e-5)
    assert re.fullmatch(
        r"R² 0\.\d{6}   adj\. R² 0\.\d{6}   σ̂ [\d.]+   n 200   rank 4   condition number [\d.e+]+", lines[-3]
    )
    f, df_model, df_resid = re.fullmatch(r"F ([\d.e+]+) on (\d) and (\d+) df, p [\d.e-]+", lines[-2]).groups()
    assert (float(f), int(df_model), int(df_resid)) == (pytest.approx(ref.fvalue, rel=1e-5), 3, 196)
    llf, aic, bic = map(float, re.fullmatch(r"log-likelihood (\S+)   AIC (\S+)   BIC (\S+)", lines[-1]).groups())
    assert llf == pytest.approx(ref.llf, rel=1e-5) and aic == pytest.approx(ref.aic + 2, rel=1e-5)  # σ counted
    assert bic == pytest.approx(ref.bic + math.log(200), rel=1e-5)


def test_solve_json(capsys):
    code, out, _ = cli(capsys, "solve", HOUSES, "--target", "price", "--json")
    result = json.loads(out)
    ref = statsmodels_houses()
    keys = {"estimate", "stderr", "t", "p", "ci_low", "ci_high"}
    stats = {"intercept", "coefficients", "sigma", "r2", "adj_r2", "n", "rank", "condition_number", "notes"}
    stats |= {"r2_centered", "df_resid", "f_statistic", "loglik", "aic", "bic", "rss", "se_type"}
    assert set(result) == stats and result["se_type"] == "classical"
    assert result["f_statistic"] == {
        "value": pytest.approx(ref.fvalue, rel=1e-10),
        "df_model": 3,
        "df_resid": 196,
        "p": pytest.approx(ref.f_pvalue, rel=1e-6, abs=1e-300),
    }
    assert result["loglik"] == pytest.approx(ref.llf, rel=1e-12) and result["aic"] == pytest.approx(ref.aic + 2)
    assert result["bic"] == pytest.approx(ref.bic + math.log(200)) and result["rss"] == pytest.approx(ref.ssr)
    assert result["notes"] == []  # every column of houses.csv is used
    assert set(result["intercept"]) == keys and list(result["coefficients"]) == ["area", "rooms", "age"]
    assert result["intercept"]["estimate"] == pytest.approx(ref.params[0], rel=1e-10)
    assert result["coefficients"]["age"]["stderr"] == pytest.approx(ref.bse[3], rel=1e-10)
    assert result["coefficients"]["rooms"]["ci_high"] == pytest.approx(ref.conf_int()[2, 1], rel=1e-10)
    assert result["r2"] == pytest.approx(ref.rsquared, rel=1e-12) and result["n"] == 200 and result["rank"] == 4
    code, out, _ = cli(
        capsys, "solve", HOUSES, "--target", "price", "--json", "--no-intercept", "--features", "area,age"
    )
    result = json.loads(out)
    assert code == 0 and result["intercept"] is None and list(result["coefficients"]) == ["area", "age"]


def test_solve_json_tells_infinite_t_from_undefined(tmp_path, capsys):
    # y = 1 - 2a exactly: σ̂ = 0, so t is ±inf where a coefficient is not 0 and 0/0 where it is; with as
    # many rows as parameters σ̂ itself is undefined. JSON has neither: they are written as strings.
    path = tmp_path / "exact.csv"
    path.write_text("a,b,y\n1,1,-1\n2,0,-3\n3,1,-5\n4,0,-7\n5,2,-9\n")
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--json")
    result = json.loads(out)
    assert code == 0 and err == "" and result["sigma"] == 0
    t = [result["intercept"]["t"], result["coefficients"]["a"]["t"], result["coefficients"]["b"]["t"]]
    assert t == ["Infinity", "-Infinity", "NaN"] and result["coefficients"]["b"]["p"] == "NaN"
    assert [float(v) for v in t[:2]] == [np.inf, -np.inf] and np.isnan(float(t[2]))  # float() reads them back
    path.write_text("a,y\n1,2\n2,3.5\n")
    code, out, _ = cli(capsys, "solve", path, "--target", "y", "--json")
    result = json.loads(out)
    assert code == 0 and result["sigma"] == "NaN" and result["coefficients"]["a"]["stderr"] == "NaN"


def test_solve_rank_deficient_file(tmp_path, capsys):
    path = tmp_path / "dep.csv"
    path.write_text("a,b,c,y\n" + "".join(f"{i},{i * i % 7},{i + 2 * (i * i % 7)},{i % 5}\n" for i in range(20)))
    code, _, err = cli(capsys, "solve", path, "--target", "y")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        f"linearnet solve: error: {path}: the columns a, b, c are linearly dependent (rank 3 of 4 parameters)"
    )
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--allow-rank-deficient", "--json")
    assert code == 0 and json.loads(out)["rank"] == 3
    assert err == (
        "linearnet solve: warning: the design has rank 3 of 4 parameters; returning the minimum-norm solution\n"
    )


def test_too_few_rows_names_the_file(tmp_path, capsys):
    path = tmp_path / "few.csv"
    path.write_text("a,b,c,y\n1,2,3,4\n5,6,7,9\n")
    code, out, err = cli(capsys, "solve", path, "--target", "y")
    assert code == 2 and out == ""
    assert err == (
        f"linearnet solve: error: {path}: the data have 2 rows but the model has 4 parameters "
        f"(3 features + intercept); need at least 4 rows, or allow a rank-deficient design "
        f"(--allow-rank-deficient) for the minimum-norm solution\n"
    )


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "dup.csv",
            "a,a,y\n1,2,3\n2,3,5\n3,5,7\n4,1,2\n",
            "{p}: column 'a' appears 2 times in the header; give each column its own name",
        ),
        ("noname.csv", "x,,y\n1,2,3\n2,3,4\n", "{p}: column 2 has no name in the header; name every column"),
        ("hex.csv", "x,y\n1,2\n2,3\n4,5\n0x5,9\n", "{p}: column 'x', row 4 (line 5): '0x5' is not a number"),
        ("blank.csv", "x,y\n1,2\n\n2,3\n3,x\n", "{p}: column 'y', row 3 (line 5): 'x' is not a number"),
        ("magic.csv", "PAR1,y\n1,2\n2,3\n3,x\n", "{p}: column 'y', row 3 (line 4): 'x' is not a number"),
    ],
)
@pytest.mark.parametrize("chunked", [False, True], ids=["memory", "chunks"])
def test_header_and_value_typos(tmp_path, capsys, name, text, message, chunked):
    path = tmp_path / name
    path.write_text(text)
    argv = ["solve", path, "--target", "y"] + (["--chunk-rows", "1"] if chunked else [])
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == f"linearnet solve: error: {message.format(p=path)}\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", HOUSES], "linearnet solve: error: the following arguments are required: --target (or --formula)"),
        (
            ["solve", HOUSES, "--target", "price", "--out", "/no/such/folder/m.json"],
            "linearnet solve: error: /no/such/folder/m.json: folder /no/such/folder does not exist",
        ),
        (
            ["solve", HOUSES, "--target", "price", "--chunk-rows", "0"],
            "linearnet solve: error: --chunk-rows must be a whole number >= 1, got 0",
        ),
    ],
)
def test_bad_solve_flags(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"


def test_help_prints_percent_signs_once(capsys):
    with pytest.raises(SystemExit):
        cli(capsys, "solve", "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "95% intervals" in text and "%%" not in text


def test_repeated_features_flags_add_up(capsys):
    code, once, err = cli(capsys, "solve", HOUSES, "--target", "price", "--features", "area,rooms,age", "--json")
    assert code == 0 and err == ""
    for split in (["--features", "area", "--features", "rooms,age"], ["--features", "area,rooms", "--features", "age"]):
        code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", *split, "--json")
        assert (code, out, err) == (0, once, "")
    assert list(json.loads(once)["coefficients"]) == ["area", "rooms", "age"]
    code, _, err = cli(capsys, "solve", HOUSES, "--target", "price", "--features", "area", "--features", "area")
    assert code == 2 and err == f"linearnet solve: error: {HOUSES}: feature column area named twice\n"
    code, out, err = cli(
        capsys,
        "train",
        "--data",
        HOUSES,
        "--target",
        "price",
        "--features",
        "area",
        "--features",
        "rooms",
        "--epochs",
        "1",
        "--json",
    )
    assert code == 0 and json.loads(out)["features"] == ["area", "rooms"]


def test_notes_name_what_the_defaults_leave_out_and_drop(tmp_path, capsys):
    path = tmp_path / "homes.csv"
    path.write_text(
        '"","city","area","rooms","price"\n"1","Paris",120,3,400\n"2","Lyon",80,NA,250\n"3","Nice",150,4,480\n'
        '"4","Lille",60,1,190\n"5","Paris",100,2,300\n"6","Lyon",90,2,290\n'
    )
    code, out, err = cli(capsys, "solve", path, "--target", "price", "--missing", "drop")
    assert code == 0 and "n 5   rank 3   condition number 1.24e+03\n" in out
    assert err.splitlines() == [
        "linearnet solve: note: column 1 has no name: read as row labels (as R's write.csv and pandas' to_csv "
        "write them), not as a feature",
        "linearnet solve: note: left out the text column city: features are numeric columns; --features names "
        "the columns to use",
        "linearnet solve: note: dropped 1 of 6 rows with missing values in the columns in use (row 2)",
    ]
    code, out, _ = cli(capsys, "solve", path, "--target", "price", "--missing", "drop", "--json")
    assert code == 0 and json.loads(out)["notes"] == [line.split("note: ", 1)[1] for line in err.splitlines()]
    code, out, err = cli(capsys, "solve", path, "--target", "price", "--missing", "drop", "--chunk-rows", "2")
    assert code == 0 and err.splitlines()[-1].endswith("(row 2)") and "n 5   rank 3" in out
    code, out, err = cli(capsys, "solve", path, "--target", "price")
    assert (
        code == 2 and err == f"linearnet solve: error: {path}: column 'rooms', row 2 (line 3): missing value ('NA')\n"
    )


def test_solve_reads_standard_input(capsys, monkeypatch):
    data = open(HOUSES, "rb").read().replace(b",", b";")
    monkeypatch.setattr(sys, "stdin", type("Stdin", (), {"buffer": io.BytesIO(data)})())
    code, out, err = cli(capsys, "solve", "-", "--target", "price")
    assert code == 0 and err == "" and "R² 0.992344" in out


def test_a_column_named_intercept_is_a_feature_beside_the_fitted_one(tmp_path, capsys):
    path = tmp_path / "i.csv"
    path.write_text("intercept,x,y\n1,0,1.0\n3,1,3.1\n2,2,4.9\n5,3,7.2\n4,4,8.8\n")
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--json")
    assert code == 0 and err == ""
    result = json.loads(out)
    ref = sm.OLS([1.0, 3.1, 4.9, 7.2, 8.8], sm.add_constant(np.array([[1, 0], [3, 1], [2, 2], [5, 3], [4, 4.0]]))).fit()
    assert result["intercept"]["estimate"] == pytest.approx(ref.params[0], rel=1e-10)
    assert list(result["coefficients"]) == ["intercept", "x"]
    assert result["coefficients"]["intercept"]["estimate"] == pytest.approx(ref.params[1], rel=1e-10)
    code, out, _ = cli(capsys, "solve", path, "--target", "y")
    assert code == 0 and [line.split()[0] for line in out.splitlines()[2:5]] == ["(intercept)", "intercept", "x"]


def formula_data(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(make_homes())
    return path


def test_the_shipped_homes_file_is_what_its_generator_makes():
    assert (EXAMPLES / "homes.csv").read_text() == make_homes()


def test_a_formula_fits_as_statsmodels_formulas_do_and_predict_applies_it(tmp_path, capsys):
    import pandas as pd
    import statsmodels.formula.api as smf

    path, model_path = formula_data(tmp_path), tmp_path / "f.json"
    formula = "price ~ area + rooms + C(city) + np.log(age) + area:rooms"
    code, out, err = cli(
        capsys, "solve", path, "--formula", formula, "--missing", "drop", "--out", model_path, "--json"
    )
    assert code == 0 and err.endswith("dropped 1 of 40 rows with missing values in the columns in use (row 4)\n")
    ref = smf.ols(formula, pd.read_csv(path).dropna()).fit()
    result = json.loads(out)
    terms = ["area", "rooms", "C(city)[T.Nice]", "C(city)[T.Paris]", "np.log(age)", "area:rooms"]
    assert list(result["coefficients"]) == terms and result["n"] == 39
    np.testing.assert_allclose([result["coefficients"][t]["estimate"] for t in terms], ref.params[terms], rtol=1e-9)
    np.testing.assert_allclose([result["coefficients"][t]["stderr"] for t in terms], ref.bse[terms], rtol=1e-9)
    new = tmp_path / "new.csv"
    new.write_text("city,age,rooms,area\nParis,10,3,100\nLyon,40,2,80\n")
    code, out, err = cli(capsys, "predict", "--model", model_path, new)
    assert code == 0 and err == ""
    np.testing.assert_allclose([float(v) for v in out.splitlines()[1:]], ref.predict(pd.read_csv(new)), rtol=1e-10)
    code, out, _ = cli(capsys, "solve", path, "--formula", "price ~ area + C(city) - 1", "--missing", "drop", "--json")
    no_intercept = json.loads(out)
    assert code == 0 and no_intercept["intercept"] is None
    assert list(no_intercept["coefficients"]) == ["area", "C(city)[Lyon]", "C(city)[Nice]", "C(city)[Paris]"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--formula", "price ~ area +"], "the formula 'price ~ area +' cannot be read: "),
        (
            ["--formula", "price ~ area + nosuch"],
            "{p}: has no column 'nosuch'; its columns are: area, rooms, age, city, price",
        ),
        (["--formula", "area + rooms"], "the formula 'area + rooms' has no target: write it as target ~ terms"),
        (
            ["--formula", "price ~ cr(area)"],
            "the formula 'price ~ cr(area)' uses a transform that learns from the data (cr), "
            "which a model file cannot keep yet; transform the column before fitting",
        ),
        (
            ["--formula", "price ~ area", "--target", "price"],
            "--target goes with columns, not --formula: the formula names the target and terms",
        ),
        (
            ["--formula", "price ~ area", "--no-intercept"],
            "--no-intercept goes with columns: write '- 1' in the formula instead",
        ),
        ([], "the following arguments are required: --target (or --formula)"),
    ],
)
def test_formula_errors_are_one_line(tmp_path, capsys, argv, message):
    path = formula_data(tmp_path)
    code, out, err = cli(capsys, "solve", path, "--missing", "drop", *argv)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"linearnet solve: error: {message.format(p=path)}")


def test_solve_reads_a_folder_of_files_as_one_table(tmp_path, capsys):
    rows = open(HOUSES).read().splitlines()
    folder = tmp_path / "houses"
    folder.mkdir()
    for k, part in enumerate((rows[1:101], rows[101:])):
        (folder / f"part-{k}.csv").write_text("\n".join([rows[0], *part]) + "\n")
    code, out, err = cli(capsys, "solve", folder, "--target", "price")
    assert code == 0 and err == "linearnet solve: note: read 2 files as one table: part-0.csv, part-1.csv\n"
    whole = cli(capsys, "solve", HOUSES, "--target", "price")[1]
    assert out == whole  # the same table, the same fit


def test_a_file_over_the_memory_budget_is_solved_in_chunks_with_a_note_and_the_same_fit(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((12_000, 3))
    y = X @ [1.0, -2.0, 0.5] + 3 + rng.standard_normal(12_000)
    path = tmp_path / "rows.csv"
    path.write_text(
        "a,b,c,y\n" + "".join(f"{a!r},{b!r},{c!r},{t!r}\n" for (a, b, c), t in zip(X.tolist(), y.tolist(), strict=True))
    )
    assert 1 << 20 < whole_read_bytes(path) < 4 << 20
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--json", "--memory-budget", "1M")
    chunked = json.loads(out)
    assert code == 0 and err == (
        f"linearnet solve: note: {path} is read in chunks: read whole it would take about "
        f"{whole_read_bytes(path) / 2**20:.1f} MiB, over the memory budget of 1.0 MiB (--memory-budget)\n"
    )
    assert chunked["notes"] == [err.removeprefix("linearnet solve: note: ").strip()]
    code, out, err = cli(capsys, "solve", path, "--target", "y", "--json", "--memory-budget", "4M")
    whole = json.loads(out)
    assert code == 0 and err == "" and whole["notes"] == []
    for name, c in whole["coefficients"].items():
        assert chunked["coefficients"][name]["estimate"] == pytest.approx(c["estimate"], rel=1e-12)
        assert chunked["coefficients"][name]["stderr"] == pytest.approx(c["stderr"], rel=1e-12)


def test_a_folder_over_the_memory_budget_is_solved_in_chunks_too(tmp_path, capsys):
    rng = np.random.default_rng(2)
    folder = tmp_path / "parts"
    folder.mkdir()
    for k in range(3):
        X = rng.standard_normal((6_000, 3))
        y = X @ [1.0, -2.0, 0.5] + 3 + rng.standard_normal(6_000)
        rows = "".join(f"{a!r},{b!r},{c!r},{t!r}\n" for (a, b, c), t in zip(X.tolist(), y.tolist(), strict=True))
        (folder / f"part-{k}.csv").write_text("a,b,c,y\n" + rows)
    need = whole_read_bytes(folder)
    assert 1 << 20 < need < 8 << 20  # together over the budget, each file under it
    code, out, err = cli(capsys, "solve", folder, "--target", "y", "--json", "--memory-budget", "1M")
    note = f"linearnet solve: note: {folder} is read in chunks: read whole it would take about {need / 2**20:.1f} MiB"
    assert code == 0 and note in err
    chunked = json.loads(out)
    whole = json.loads(cli(capsys, "solve", folder, "--target", "y", "--json", "--memory-budget", "64M")[1])
    assert "is read in chunks" not in " ".join(whole["notes"])
    for name, c in whole["coefficients"].items():
        assert chunked["coefficients"][name]["estimate"] == pytest.approx(c["estimate"], rel=1e-12)


@pytest.mark.parametrize(
    "value, message",
    [
        ("100K", "expected a memory size of at least 1M such as 600M or 2G, got '100K'"),
        ("lots", "expected a memory size of at least 1M such as 600M or 2G, got 'lots'"),
    ],
)
def test_a_memory_budget_is_a_size_of_at_least_a_megabyte(capsys, value, message):
    code, out, err = cli(capsys, "solve", HOUSES, "--target", "price", "--memory-budget", value)
    assert (code, out) == (2, "") and err == f"linearnet solve: error: argument --memory-budget: {message}\n"


def test_memory_sizes_read_as_people_write_them():
    from linearnet.cli.common import memory_size

    assert memory_size("600M") == memory_size("600MB") == memory_size("600 MiB") == 600 << 20
    assert memory_size("1.5g") == 3 << 29 and memory_size("2T") == 2 << 40 and memory_size(str(5 << 20)) == 5 << 20


def test_the_default_memory_budget_is_a_quarter_of_the_available_memory_at_most_a_gibibyte(monkeypatch):
    from linearnet import memory
    from linearnet.tables import plan_read

    monkeypatch.setattr(memory, "available_bytes", lambda: 8 << 20)
    assert plan_read(HOUSES).budget == 2 << 20  # --memory-budget not given: the library's default
    monkeypatch.setattr(memory, "available_bytes", lambda: 64 << 30)
    assert plan_read(HOUSES).budget == 1 << 30
    assert plan_read(HOUSES, 5 << 30).budget == 5 << 30


@pytest.mark.parametrize("command", ["solve", "train"])
def test_a_pattern_that_matches_nothing_is_refused_in_one_line(tmp_path, capsys, command):
    pattern = str(tmp_path / "none*.csv")
    argv = [command, pattern, "--target", "y"] if command == "solve" else [command, "--data", pattern, "--target", "y"]
    code, out, err = cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert err == f"linearnet {command}: error: {pattern}: no CSV or Parquet files match this pattern\n"


def test_a_file_solved_in_chunks_shows_the_bytes_read_on_a_terminal_only(capsys, monkeypatch, tmp_path):

    bars_at_once(monkeypatch)
    rng = np.random.default_rng(0)
    x, noise = rng.standard_normal((2, 5000))
    path = tmp_path / "big.csv"
    path.write_text("x,y\n" + "".join(f"{a:.6f},{2 * a + e:.6f}\n" for a, e in zip(x, noise, strict=True)))
    argv = ["solve", path, "--target", "y", "--chunk-rows", "200", "--json"]
    code, plain, err = cli(capsys, *argv)
    assert code == 0 and err == ""  # stderr is not a terminal: no bar
    monkeypatch.setattr(sys, "stderr", tty := Terminal())
    code, out, _ = cli(capsys, *argv)
    assert code == 0 and out == plain and json.loads(out)["n"] == 5000  # stdout: the JSON alone
    counts = {f.split("|")[2].split()[0] for f in tty.getvalue().split("\r") if f.startswith("reading")}
    assert len(counts) > 2 and tty.getvalue().endswith("\r")  # it moved, and was erased

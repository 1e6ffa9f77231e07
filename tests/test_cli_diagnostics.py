"""`linearnet solve --plot FILE`: R's plot(lm) of the fit just solved, in memory and in chunks, written
atomically, never over an input, and not at all when the run fails."""

import json

import numpy as np
import pytest
from cars import DIST, SPEED

from helpers import assert_picture, cli


@pytest.fixture
def cars(tmp_path):
    path = tmp_path / "cars.csv"
    path.write_text("speed,dist\n" + "".join(f"{s:g},{d:g}\n" for s, d in zip(SPEED, DIST, strict=True)))
    return path


@pytest.fixture
def drawn(monkeypatch):
    """The Diagnostics each run draws, its title and the names of its rows."""
    import linearnet.plot

    seen = []
    original = linearnet.plot.plot_diagnostics

    def spy(diag, *, title=None, names=None):
        seen.append((diag, title, names))
        return original(diag, title=title, names=names)

    monkeypatch.setattr(linearnet.plot, "plot_diagnostics", spy)
    return seen


def _pixels(path):
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=float)


def test_solve_plot_draws_r_s_panels(cars, tmp_path, capsys, drawn):
    out = tmp_path / "fit.png"
    code, stdout, err = cli(capsys, "solve", cars, "--target", "dist", "--plot", out)
    assert code == 0 and err == "" and stdout.endswith(f"picture written to {out}\n")
    assert_picture(out, size=(900, 900))
    diag, title, _ = drawn[0]
    assert title == "dist ~ speed"
    assert diag.labels == {"resid": [49, 23, 35], "std_resid": [49, 23, 35], "cooks": [49, 23, 39]}


def test_solve_plot_with_json_prints_json_alone(cars, tmp_path, capsys):
    out = tmp_path / "fit.svg"
    code, stdout, _ = cli(capsys, "solve", cars, "--target", "dist", "--plot", out, "--json")
    assert code == 0 and json.loads(stdout)["notes"] == [] and out.read_text().lstrip().startswith("<?xml")


def test_in_chunks_the_same_figure(cars, tmp_path, capsys, drawn):
    whole, chunked = tmp_path / "whole.png", tmp_path / "chunked.png"
    assert cli(capsys, "solve", cars, "--target", "dist", "--plot", whole)[0] == 0
    assert cli(capsys, "solve", cars, "--target", "dist", "--plot", chunked, "--chunk-rows", "7")[0] == 0
    (a, *_), (b, *_) = drawn
    assert a.labels == b.labels and a.row.tolist() == b.row.tolist()
    np.testing.assert_allclose(b.std_resid, a.std_resid, rtol=1e-10)
    assert np.abs(_pixels(whole) - _pixels(chunked)).mean() < 0.01


def test_dropped_rows_keep_their_numbers_in_the_file(cars, tmp_path, capsys, drawn):
    lines = cars.read_text().splitlines(keepends=True)
    lines.insert(3, "7,\n")  # a row 3 with a gap: the rows after it are 4, 5, ... in the file
    gappy = tmp_path / "gappy.csv"
    gappy.write_text("".join(lines))
    argv = ["solve", gappy, "--target", "dist", "--missing", "drop", "--plot", tmp_path / "f.png"]
    code, _, err = cli(capsys, *argv)
    assert code == 0 and "dropped 1 of 51 rows" in err
    assert drawn[0][0].labels["resid"] == [50, 24, 36]  # cars' rows 49, 23, 35
    code, _, err = cli(capsys, *argv, "--chunk-rows", "10")
    assert code == 0 and "numbered among the rows used, the dropped rows not counted" in err
    assert drawn[1][0].labels["resid"] == [49, 23, 35]


def test_rows_of_leverage_one_are_said(tmp_path, capsys):
    data = tmp_path / "one.csv"
    rng = np.random.default_rng(0)
    rows = [f"{x:.6f},{int(i == 3)},{y:.6f}\n" for i, (x, y) in enumerate(rng.normal(size=(12, 2)))]
    data.write_text("x,alone,y\n" + "".join(rows))
    code, _, err = cli(capsys, "solve", data, "--target", "y", "--plot", tmp_path / "f.png")
    assert code == 0
    assert "note: not plotting 1 row of leverage one in the panels of standardized residuals (as R): 4" in err


def test_past_5000_rows_a_sample_is_drawn_the_same_in_chunks(tmp_path, capsys, drawn):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6000, 2))
    y = X @ [2.0, -1.0] + rng.normal(size=6000)
    data = tmp_path / "big.csv"
    data.write_text("a,b,y\n" + "".join(f"{a:.17g},{b:.17g},{t:.17g}\n" for (a, b), t in zip(X, y, strict=True)))
    code, _, err = cli(capsys, "solve", data, "--target", "y", "--plot", tmp_path / "f.png")
    assert code == 0
    whole = drawn[0][0]
    assert f"note: {len(whole.row):,} of 6,000 points drawn (a sample; the statistics and labelled rows" in err
    assert cli(capsys, "solve", data, "--target", "y", "--plot", tmp_path / "g.png", "--chunk-rows", "999")[0] == 0
    chunked = drawn[1][0]
    assert chunked.row.tolist() == whole.row.tolist() and chunked.labels == whole.labels
    np.testing.assert_allclose(chunked.theoretical, whole.theoretical, rtol=1e-12)


@pytest.mark.parametrize(
    "plot, extra, message",
    [
        ("cars.csv", [], "is an input of this command"),
        ("f.png", ["--out", "f.png"], "--out and --plot would both write"),
        ("f.txt", [], "the picture must be a .png, .pdf or .svg file"),
        ("no/such/f.png", [], "does not exist"),
    ],
)
def test_a_picture_that_cannot_be_written_is_refused_before_the_solve(cars, tmp_path, capsys, plot, extra, message):
    extra = [str(tmp_path / e) if e.endswith(".png") else e for e in extra]
    before = cars.read_bytes()
    code, stdout, err = cli(capsys, "solve", cars, "--target", "dist", "--plot", tmp_path / plot, *extra)
    assert code == 2 and stdout == "" and message in err
    assert cars.read_bytes() == before and not (tmp_path / "f.png").exists()


def test_a_failed_run_writes_nothing_and_leaves_a_picture_as_it_was(cars, tmp_path, capsys, monkeypatch):
    out = tmp_path / "fit.png"
    code, _, err = cli(capsys, "solve", cars, "--target", "nope", "--plot", out)
    assert code == 2 and "nope" in err and not out.exists()
    out.write_bytes(b"an older picture")
    dependent = tmp_path / "dependent.csv"
    dependent.write_text("a,b,y\n1,2,1\n2,4,3\n3,6,2\n4,8,5\n")
    code, _, err = cli(capsys, "solve", dependent, "--target", "y", "--plot", out)
    assert code == 2 and "dependent" in err.lower() and out.read_bytes() == b"an older picture"
    import matplotlib.figure

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)  # the picture fails half-way: none is left
    code, _, err = cli(capsys, "solve", cars, "--target", "dist", "--plot", out)
    assert code == 2 and "No space left on device" in err and out.read_bytes() == b"an older picture"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cars.csv", "dependent.csv", "fit.png"]


def test_under_torchrun_process_0_draws_every_row(tmp_path, capsys):
    """Each process solves its share; process 0 draws the figure of every row: that of one process."""
    import os
    import subprocess
    import sys

    rng = np.random.default_rng(11)
    X = rng.normal(size=(6000, 2))
    y = X @ [3.0, -2.0] + 4 + rng.normal(size=6000)
    (tmp_path / "sales.csv").write_text(
        "price,rain,revenue\n" + "".join(f"{a:.17g},{b:.17g},{t:.17g}\n" for (a, b), t in zip(X, y, strict=True))
    )
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", "-m", "linearnet"]
    done = subprocess.run(
        [*launch, "solve", "sales.csv", "--target", "revenue", "--plot", "two.png", "--timeout", "120"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("picture written to two.png\n") and "of 6,000 points drawn" in done.stderr
    assert cli(capsys, "solve", tmp_path / "sales.csv", "--target", "revenue", "--plot", tmp_path / "one.png")[0] == 0
    assert np.abs(_pixels(tmp_path / "two.png") - _pixels(tmp_path / "one.png")).mean() < 0.01


@pytest.mark.parametrize(
    "rows, said",
    [
        ("1,2\n2,4\n3,6\n4,8\n", "σ̂ is 0 (the fit is exact, or has no residual degree of freedom)"),
        ("1,2\n2,4\n", "σ̂ is not defined (the fit is exact, or has no residual degree of freedom)"),
    ],
)
def test_an_exact_fit_is_drawn_with_a_note(tmp_path, capsys, rows, said):
    data = tmp_path / "exact.csv"
    data.write_text("x,y\n" + rows)
    code, out, err = cli(capsys, "solve", data, "--target", "y", "--plot", tmp_path / "f.png", "--json")
    assert code == 0 and said in err and said in " ".join(json.loads(out)["notes"])
    assert_picture(tmp_path / "f.png", size=(900, 900))


# --- plot diagnostics --model MODEL DATA -----------------------------------------------------------


def _model(tmp_path, capsys, data, *argv):
    path = tmp_path / "model.json"
    assert cli(capsys, "solve", data, "--out", path, *argv)[0] == 0
    assert "uncertainty" in json.loads(path.read_text())  # (AᵀA)⁻¹'s factor, σ̂ and the residual df
    return path


def test_plot_diagnostics_of_a_model_file_is_solve_s_plot(cars, tmp_path, capsys, drawn):
    model = _model(tmp_path, capsys, cars, "--target", "dist")
    code, out, err = cli(capsys, "plot", "diagnostics", "--model", model, cars, "--out", tmp_path / "m.png")
    assert code == 0 and err == "" and out == f"picture written to {tmp_path / 'm.png'}\n"
    assert cli(capsys, "solve", cars, "--target", "dist", "--plot", tmp_path / "s.png")[0] == 0
    (from_model, title, _), (from_solve, *_) = drawn
    assert title == "dist ~ speed" and from_model.labels == from_solve.labels
    for name in ("hat", "std_resid", "cooks", "theoretical"):
        np.testing.assert_allclose(getattr(from_model, name), getattr(from_solve, name), rtol=1e-9)
    assert np.abs(_pixels(tmp_path / "m.png") - _pixels(tmp_path / "s.png")).mean() < 0.01
    code, _, err = cli(
        capsys, "plot", "diagnostics", "--model", model, cars, "--out", tmp_path / "f.png", "--size", "600x600"
    )
    assert code == 0
    assert_picture(tmp_path / "f.png", size=(600, 600))


@pytest.mark.parametrize("data", ["file", "stdin"])
def test_plot_diagnostics_of_a_formula_model_reads_its_data_whole_as_solve_does(
    cars, tmp_path, capsys, drawn, monkeypatch, data
):
    import io
    import sys

    model = _model(tmp_path, capsys, cars, "--formula", "dist ~ speed + I(speed**2)")
    if data == "stdin":
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(cars.read_bytes())))
    source = cars if data == "file" else "-"
    code, _, err = cli(capsys, "plot", "diagnostics", "--model", model, source, "--out", tmp_path / "m.png")
    assert code == 0 and err == ""
    assert cli(capsys, "solve", cars, "--formula", "dist ~ speed + I(speed**2)", "--plot", tmp_path / "s.png")[0] == 0
    (from_model, title, _), (from_solve, *_) = drawn
    assert title == "dist ~ speed + I(speed**2)" and from_model.labels == from_solve.labels
    np.testing.assert_allclose(from_model.cooks, from_solve.cooks, rtol=1e-9)


def test_plot_diagnostics_of_other_rows_or_models_is_refused(cars, tmp_path, capsys):
    model = _model(tmp_path, capsys, cars, "--target", "dist")
    fewer = tmp_path / "fewer.csv"
    fewer.write_text("".join(cars.read_text().splitlines(keepends=True)[:-1]))
    code, _, err = cli(capsys, "plot", "diagnostics", "--model", model, fewer, "--out", tmp_path / "f.png")
    assert code == 2 and "the data hold 49 rows, the fit 50: draw the diagnostics of the rows fitted" in err
    sgd = tmp_path / "sgd.json"
    assert cli(capsys, "train", "--data", cars, "--target", "dist", "--epochs", "1", "--out", sgd)[0] == 0
    code, _, err = cli(capsys, "plot", "diagnostics", "--model", sgd, cars, "--out", tmp_path / "f.png")
    assert code == 2 and "the diagnostics are of an exact fit: give a model file written by solve --out" in err
    assert not (tmp_path / "f.png").exists()


def test_a_model_file_without_the_covariance_is_refused_in_one_line(cars, tmp_path, capsys):
    path = tmp_path / "old.json"
    assert cli(capsys, "solve", cars, "--target", "dist", "--out", path)[0] == 0
    record = json.loads(path.read_text())
    record.pop("uncertainty", None)
    record["format_version"] = 1  # as linearnet wrote it before
    path.write_text(json.dumps(record))
    code, out, err = cli(capsys, "plot", "diagnostics", "--model", path, cars, "--out", tmp_path / "f.png")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "holds no (AᵀA)⁻¹ factor, which the leverages need" in err and "solve --plot FILE" in err
    assert not (tmp_path / "f.png").exists()


def test_solve_plot_labels_the_rows_r_labels(tmp_path, capsys, drawn):
    """R's airquality, its rows with a gap dropped: the points are labelled by their rows in the file,
    as R labels them (tests/fixtures/r)."""
    from r_cases import case, fixture

    c = case("airquality")
    argv = ["--target", c["target"], "--features", ",".join(c["features"]), "--missing", "drop"]
    assert cli(capsys, "solve", fixture(c["data"]), *argv, "--plot", tmp_path / "f.png")[0] == 0
    labels = c["diagnostics"]["plot_labels"]
    diag = drawn[0][0]
    assert [str(r) for r in diag.labels["resid"]] == labels["residuals_fitted"]["label"] == ["117", "62", "30"]
    assert [str(r) for r in diag.labels["std_resid"]] == labels["qq"]["label"]
    assert [str(r) for r in diag.labels["cooks"]] == labels["residuals_leverage"]["label"]


@pytest.mark.parametrize("chunked", [False, True])
def test_points_are_named_by_the_file_s_row_labels_as_r_names_them(tmp_path, capsys, drawn, chunked):
    """mtcars as R writes it: the car names in an unnamed first column, R's row names, which R's
    plot(lm) shows beside the points it labels (tests/fixtures/r)."""
    from r_cases import case, fixture

    c = case("mtcars_cyl")
    argv = ["--target", c["target"], "--features", ",".join(c["features"]), "--plot", tmp_path / "f.png"]
    assert cli(capsys, "solve", fixture(c["data"]), *argv, *(["--chunk-rows", "5"] if chunked else []))[0] == 0
    diag, _, names = drawn[0]
    labels = c["diagnostics"]["plot_labels"]
    for panel, ours in (("residuals_fitted", "resid"), ("qq", "std_resid"), ("residuals_leverage", "cooks")):
        assert [names[row] for row in diag.labels[ours]] == labels[panel]["label"], panel


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("name", ["mtcars_weighted", "mtcars_weighted_zero", "women_weighted"])
def test_a_weighted_fit_s_figure_is_r_s(tmp_path, capsys, drawn, name, chunked):
    """solve --weights COL --plot, and plot diagnostics of its model file: R's hatvalues, rstandard,
    cooks.distance and plot.lm's labels (by row name) of lm(weights =), rows of weight 0 left out."""
    from r_cases import case, fixture

    c = case(name)
    argv = ["--target", c["target"], "--features", ",".join(c["features"]), "--weights", c["weights"]]
    argv += ["--plot", tmp_path / "f.png", "--out", tmp_path / "m.json", *(["--chunk-rows", "7"] if chunked else [])]
    assert cli(capsys, "solve", fixture(c["data"]), *argv)[0] == 0
    model = ["--model", tmp_path / "m.json", fixture(c["data"]), "--out", tmp_path / "g.png"]
    assert cli(capsys, "plot", "diagnostics", *model)[0] == 0
    d = c["diagnostics"]
    assert len(drawn) == 2
    for diag, _, names in drawn:
        np.testing.assert_allclose(diag.hat, d["hatvalues"], rtol=1e-10)
        np.testing.assert_allclose(diag.std_resid, d["rstandard"], rtol=1e-10)
        np.testing.assert_allclose(diag.cooks, d["cooks"], rtol=1e-9)
        for panel, ours in (("residuals_fitted", "resid"), ("qq", "std_resid"), ("residuals_leverage", "cooks")):
            assert [names.get(r, str(r)) for r in diag.labels[ours]] == d["plot_labels"][panel]["label"], panel

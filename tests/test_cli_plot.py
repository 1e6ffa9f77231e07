"""`linearnet plot` (linearnet.cli.plot): pictures written at the asked size, and one-line errors."""

import pytest

from helpers import HOUSES, assert_picture, cli


def test_plot_normal(tmp_path, capsys):
    path = tmp_path / "normal.png"
    code, out, err = cli(capsys, "plot", "normal", "--params", "0,1", "0,2", "3,1", "--out", path)
    assert code == 0 and err == "" and out == f"picture written to {path}\n"
    assert_picture(path)
    big = tmp_path / "big.png"
    assert cli(capsys, "plot", "normal", "--out", big, "--size", "1200x500")[0] == 0
    assert_picture(big, size=(1200, 500))


def test_plot_data_with_a_fitted_line(tmp_path, capsys):
    path = tmp_path / "scatter.png"
    assert (
        cli(
            capsys,
            "plot",
            "data",
            "--preset",
            "d2l-3.2",
            "--feature",
            "x2",
            "--fit",
            "--out",
            path,
            "--size",
            "640x480",
        )[0]
        == 0
    )
    assert_picture(path, size=(640, 480))
    houses = tmp_path / "h.png"
    assert (
        cli(capsys, "plot", "data", "--data", HOUSES, "--target", "price", "--feature", "area", "--out", houses)[0] == 0
    )
    assert_picture(houses)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["plot", "normal", "--params", "0,0", "--out", "n.png"],
            "linearnet plot: error: --params takes MEAN,STD pairs with a finite mean and a std > 0, got 0,0",
        ),
        (
            ["plot", "normal", "--out", "n.txt"],
            "linearnet plot: error: n.txt: the picture must be a .png, .pdf or .svg file",
        ),
        (
            ["plot", "data", "--preset", "d2l-3.2", "--feature", "x5", "--out", "s.png"],
            "linearnet plot: error: the preset's features are x1, x2, got 'x5'",
        ),
        (
            ["plot", "data", "--data", HOUSES, "--feature", "area", "--out", "s.png"],
            "linearnet plot: error: --data needs --target COL, the label column",
        ),
        (["train", "--plot-steps"], "linearnet train: error: --plot-steps and --plot-size go with --plot FILE.png"),
        (
            ["plot", "normal", "--out", "n.png", "--size", "big"],
            "linearnet plot normal: error: argument --size: expected WIDTHxHEIGHT in pixels such as 600x350, got 'big'",
        ),
        (["plot"], "linearnet plot: error: the following arguments are required: WHAT"),
        (
            ["plot", "data", "--data", HOUSES, "--target", "price", "--preset", "d2l-3.2", "--feature", "x1"]
            + ["--out", "s.png"],
            "linearnet plot: error: give --data FILE or --preset NAME, not both",
        ),
        (
            ["plot", "data", "--target", "price", "--feature", "x1", "--out", "s.png"],
            "linearnet plot: error: --target goes with --data FILE",
        ),
        (
            ["plot", "data", "--sep", ";", "--feature", "x1", "--out", "s.png"],
            "linearnet plot: error: --sep goes with --data FILE",
        ),
        (
            ["plot", "data", "--preset", "d2l-3.2", "--decimal", ",", "--feature", "x1", "--out", "s.png"],
            "linearnet plot: error: --decimal goes with --data FILE",
        ),
        (
            ["plot", "data", "--missing", "drop", "--feature", "x1", "--out", "s.png"],
            "linearnet plot: error: --missing goes with --data FILE",
        ),
    ],
)
def test_bad_plot_flags(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["normal", "data"])
def test_every_plot_flag_has_help(capsys, kind):
    with pytest.raises(SystemExit):
        cli(capsys, "plot", kind, "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "--out FILE.png the picture to write (.png, .pdf, .svg)" in text


def test_plot_data_says_what_reading_the_file_left_out(tmp_path, capsys, monkeypatch):
    import linearnet.plot

    data = tmp_path / "rows.csv"  # R's write.csv: row names in an unnamed first column; one area is missing
    data.write_text('"","area","price"\n"a",120,400\n"b",NA,250\n"c",150,480\n"d",60,190\n')
    drawn = []

    def plot_data(x, y, **kwargs):
        drawn.append((x.tolist(), y.tolist(), kwargs["xlabel"], kwargs["ylabel"]))
        return real(x, y, **kwargs)

    real = linearnet.plot.plot_data
    monkeypatch.setattr(linearnet.plot, "plot_data", plot_data)
    path = tmp_path / "s.png"
    argv = ["plot", "data", "--data", data, "--target", "price", "--feature", "area", "--out", path]
    code, out, err = cli(capsys, *argv, "--missing", "drop")
    assert code == 0 and out == f"picture written to {path}\n"
    assert err == (
        "linearnet plot: note: column 1 has no name: read as row labels (as R's write.csv and pandas' to_csv "
        "write them), not as a feature\n"
        "linearnet plot: note: dropped 1 of 4 rows with missing values in the columns in use (row 2)\n"
    )
    assert drawn == [([120.0, 150.0, 60.0], [400.0, 480.0, 190.0], "area", "price")]
    assert_picture(path)
    code, out, err = cli(capsys, *argv)  # without --missing drop the gap is refused
    assert code == 2 and out == ""
    assert err == f"linearnet plot: error: {data}: column 'area', row 2 (line 3): missing value (empty or NaN)\n"


def test_plot_data_refuses_a_text_feature_and_a_fit_on_a_constant(tmp_path, capsys):
    path = tmp_path / "d.csv"
    path.write_text("city,flat,price\nParis,1,3\nLyon,1,4\nNice,1,5\n")
    code, out, err = cli(
        capsys, "plot", "data", "--data", path, "--target", "price", "--feature", "city", "--out", tmp_path / "a.png"
    )
    assert (code, out) == (
        2,
        "",
    ) and err == "linearnet plot: error: column 'city' holds text: plot data draws a numeric feature\n"
    code, out, err = cli(capsys, "plot", "data", "--data", path, "--target", "price", "--feature", "flat", "--fit",
                         "--out", tmp_path / "b.png")  # fmt: skip
    assert (code, out) == (
        2,
        "",
    ) and err == "linearnet plot: error: --fit needs a feature that varies; 'flat' takes one value\n"
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()

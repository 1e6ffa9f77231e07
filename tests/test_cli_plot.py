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
    assert err == f"linearnet plot: error: {data}: column 'area', row 2 (line 3): missing value ('NA')\n"


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


@pytest.mark.filterwarnings("error")  # a RuntimeWarning of NumPy's would be printed too
def test_plot_normal_draws_a_huge_std_and_refuses_a_tiny_one_in_one_line(tmp_path, capsys):
    flat = tmp_path / "flat.png"
    code, out, err = cli(capsys, "plot", "normal", "--params", "0,1e300", "--out", flat)
    assert (code, out, err) == (0, f"picture written to {flat}\n", "")
    assert_picture(flat)
    code, out, err = cli(capsys, "plot", "normal", "--params", "0,1", "0,1e-320", "--out", tmp_path / "spike.png")
    assert (code, out) == (2, "") and err == (
        "linearnet plot: error: the normal density with mean 0 and std 1e-320 is too large for a float at its peak "
        "1/(std·√(2π)); give a std of at least 1e-308\n"
    )
    assert not (tmp_path / "spike.png").exists()


@pytest.mark.filterwarnings("error")
def test_plot_data_fits_values_near_1e170_and_refuses_one_row_and_values_too_large_to_draw(
    tmp_path, capsys, monkeypatch
):
    import linearnet.plot

    lines = []
    real = linearnet.plot.plot_data
    monkeypatch.setattr(linearnet.plot, "plot_data", lambda x, y, **kw: lines.append(kw["line"]) or real(x, y, **kw))
    data = tmp_path / "d.csv"
    argv = ["plot", "data", "--data", data, "--target", "y", "--feature", "x", "--fit", "--out", tmp_path / "a.png"]
    data.write_text("x,y\n1e170,3e170\n2e170,5e170\n3e170,7e170\n4e170,9e170\n")  # y = 2x + 1e170
    code, out, err = cli(capsys, *argv)
    assert (code, err) == (0, "") and lines[-1] == pytest.approx((2.0, 1e170), rel=1e-12)
    assert_picture(tmp_path / "a.png")
    data.write_text("x,y\n-1e-170,-2\n1e-170,2\n")  # y = 2e170·x: solved too
    assert cli(capsys, *argv)[0] == 0 and lines[-1] == pytest.approx((2e170, 0.0), rel=1e-12, abs=1e-12)
    for rows, message in [
        ("2,3\n", "--fit needs at least two rows to draw a line through, got 1"),
        ("1,1\n1.0000000000000002,2\n1,3\n", "--fit needs a feature that varies; 'x' varies too little to fit a line"),
        (
            "1e-170,-1e170\n2e-170,1e170\n",
            "--fit: the slope of the line overflows float64; rescale the feature or the label",
        ),
        (
            "1.7e308,1\n0,2\n",  # solved, but matplotlib cannot place ticks there
            "the feature 'x' reaches 1.7e+308, too large to draw (the axes' ticks overflow float64 beyond ±1e+307); "
            "rescale it",
        ),
    ]:
        data.write_text("x,y\n" + rows)
        code, out, err = cli(capsys, *argv[:-1], tmp_path / "b.png")
        assert (code, out, err) == (2, "", f"linearnet plot: error: {message}\n")
    assert not (tmp_path / "b.png").exists()

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
    ],
)
def test_bad_plot_flags(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"


@pytest.mark.parametrize("kind", ["normal", "data"])
def test_every_plot_flag_has_help(capsys, kind):
    with pytest.raises(SystemExit):
        cli(capsys, "plot", kind, "--help")
    text = " ".join(capsys.readouterr().out.split())
    assert "--out FILE.png the picture to write (.png, .pdf, .svg)" in text

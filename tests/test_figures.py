"""Timer, the vectorisation benchmark and the book's figures: files written, the right size, not blank."""
import time

import numpy as np
import pytest
from PIL import Image

from linearnet import run
from linearnet.bench import Timer, vectorization_benchmark
from linearnet.cli import main
from linearnet.plot import normal, plot_loss

HOUSES = str(__import__("pathlib").Path(__file__).parent.parent / "examples" / "houses.csv")


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_picture(path, size=(600, 350)):
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == size
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005  # lines and text on white, not blank


def test_timer_records_and_sums():
    timer = Timer()
    time.sleep(0.01)
    first = timer.stop()
    timer.start()
    second = timer.stop()
    assert first >= 0.01 and second >= 0
    assert timer.sum() == pytest.approx(first + second) and timer.avg() == pytest.approx((first + second) / 2)
    assert timer.cumsum() == pytest.approx([first, first + second])


def test_vectorization_is_faster_than_the_loop(capsys):
    rows = vectorization_benchmark(2000, 1)
    assert [r["library"] for r in rows] == ["torch", "numpy"]
    assert all(r["speedup"] > 1 for r in rows)
    code, out, err = cli(capsys, "bench", "vectorization", "--n", "2000", "--repeat", "1")
    assert code == 0 and err == "" and out.splitlines()[1].split() == ["library", "loop", "(s)", "vectorised",
                                                                      "(s)", "speed-up"]
    code, _, err = cli(capsys, "bench", "vectorization", "--n", "0")
    assert code == 2 and err == "linearnet bench: error: n must be a whole number >= 1, got 0; e.g. 100000\n"


def test_normal_density_integrates_to_one():
    x = np.arange(-20, 20, 0.001)
    for mu, sigma in ((0, 1), (0, 2), (3, 1)):
        assert np.trapezoid(normal(x, mu, sigma), x) == pytest.approx(1, abs=1e-6)


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
    assert cli(capsys, "plot", "data", "--preset", "d2l-3.2", "--feature", "x2", "--fit", "--out", path,
               "--size", "640x480")[0] == 0
    assert_picture(path, size=(640, 480))
    houses = tmp_path / "h.png"
    assert cli(capsys, "plot", "data", "--data", HOUSES, "--target", "price", "--feature", "area",
               "--out", houses)[0] == 0
    assert_picture(houses)


def test_plot_loss_with_steps_and_the_noise_floor(tmp_path, capsys):
    path = tmp_path / "loss.png"
    code, out, err = cli(capsys, "train", "--plot", path, "--plot-steps", "--plot-size", "800x400")
    assert code == 0 and err == "" and out.endswith(f"picture written to {path}\n")
    assert_picture(path, size=(800, 400))
    fig = plot_loss([0.04, 1.4e-4, 5e-5], steps=[10, 1, 0.1], floor=5e-5)
    assert fig.axes[0].get_yscale() == "log"  # a range of 1e5 is drawn on a log scale
    assert plot_loss([3.0, 2.0, 1.5]).axes[0].get_yscale() == "linear"


def test_every_step_is_recorded_the_same_way_by_each_implementation():
    results = {impl: run(impl=impl, record_steps=True, epochs=2) for impl in ("scratch", "concise", "fast")}
    steps = results["scratch"].history.step_losses
    assert len(steps) == 2 * 100  # 1000 rows in batches of 10, two epochs
    for impl in ("concise", "fast"):
        np.testing.assert_allclose(results[impl].history.step_losses, steps, rtol=1e-4)


@pytest.mark.parametrize("argv, message", [
    (["plot", "normal", "--params", "0,0", "--out", "n.png"],
     "linearnet plot: error: --params takes MEAN,STD pairs with a finite mean and a std > 0, got 0,0"),
    (["plot", "normal", "--out", "n.txt"], "linearnet plot: error: n.txt: the picture must be a .png, .pdf or .svg file"),
    (["plot", "data", "--preset", "d2l-3.2", "--feature", "x5", "--out", "s.png"],
     "linearnet plot: error: the preset's features are x1, x2, got 'x5'"),
    (["plot", "data", "--data", HOUSES, "--feature", "area", "--out", "s.png"],
     "linearnet plot: error: --data needs --target COL, the label column"),
    (["train", "--plot-steps"], "linearnet train: error: --plot-steps and --plot-size go with --plot FILE.png"),
    (["plot", "normal", "--out", "n.png", "--size", "big"],
     "linearnet plot normal: error: argument --size: expected WIDTHxHEIGHT in pixels such as 600x350, got 'big'"),
    (["plot"], "linearnet plot: error: the following arguments are required: WHAT"),
])
def test_bad_plot_flags(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, *argv)
    assert code == 2 and out == "" and err == message + "\n"


def test_live_loss_collects_outside_a_notebook():
    from linearnet.plot import LiveLoss

    live = LiveLoss(floor=5e-5)
    result = run(epochs=2, on_epoch=live)
    assert live.losses == result.history.losses

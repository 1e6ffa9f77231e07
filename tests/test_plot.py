"""The book's figures (linearnet.plot): the normal density, loss curves and predicted digits, not blank."""

import numpy as np
import pytest

from linearnet import run
from linearnet.plot import normal, plot_loss

from helpers import assert_picture, cli


def test_normal_density_integrates_to_one():
    x = np.arange(-20, 20, 0.001)
    for mu, sigma in ((0, 1), (0, 2), (3, 1)):
        assert np.trapezoid(normal(x, mu, sigma), x) == pytest.approx(1, abs=1e-6)


def test_plot_loss_with_steps_and_the_noise_floor(tmp_path, capsys):
    path = tmp_path / "loss.png"
    code, out, err = cli(capsys, "train", "--plot", path, "--plot-steps", "--plot-size", "800x400")
    assert code == 0 and err == "" and out.endswith(f"picture written to {path}\n")
    assert_picture(path, size=(800, 400))
    fig = plot_loss([0.04, 1.4e-4, 5e-5], steps=[10, 1, 0.1], floor=5e-5)
    assert fig.axes[0].get_yscale() == "log"  # a range of 1e5 is drawn on a log scale
    assert plot_loss([3.0, 2.0, 1.5]).axes[0].get_yscale() == "linear"


def test_live_loss_collects_outside_a_notebook():
    from linearnet.plot import LiveLoss

    live = LiveLoss(floor=5e-5)
    result = run(epochs=2, on_epoch=live)
    assert live.losses == result.history.losses


def test_plot_predictions_writes_a_picture_that_is_not_blank(tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "pred.png"
    code, out, err = cli(
        capsys, "train", "--dataset", "digits", "--impl", "fast", "--epochs", "2", "--plot-predictions", path
    )
    assert code == 0 and err == "" and out.endswith(f"picture written to {path}\n")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (960, 600)  # 3 rows of 2.0 in at 100 dpi
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20  # dark digits on white, not an empty canvas
    assert (pixels < 64).mean() > 0.05

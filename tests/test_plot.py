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


def _inside(fig) -> bool:
    """Every axes, with its labels and tick labels, lies within the picture (nothing is cut off)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    width, height = fig.bbox.width, fig.bbox.height
    boxes = [ax.get_tightbbox(canvas.get_renderer()) for ax in fig.axes]
    return all(b.x0 >= 0 and b.y0 >= 0 and b.x1 <= width and b.y1 <= height for b in boxes)


def test_a_figure_of_ones_own_is_laid_out_again_at_the_asked_size(tmp_path):
    from matplotlib.figure import Figure

    from linearnet.plot import save_figure

    fig = Figure(figsize=(6, 3.5), dpi=100)  # no layout engine: matplotlib's default margins
    ax = fig.add_subplot()
    ax.plot([0, 1000], [0, 1000])
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    path = tmp_path / "small.png"
    save_figure(fig, path, size=(240, 160))  # the default margins would cut the labels off at this size
    assert_picture(path, size=(240, 160))
    assert _inside(fig)


def test_the_librarys_figures_are_laid_out_again_at_the_asked_size(tmp_path):
    from linearnet.plot import plot_normal, save_figure

    fig = plot_normal([(0, 1)])
    save_figure(fig, tmp_path / "small.png", size=(240, 160))
    assert _inside(fig)


class _Shown:
    """IPython's display in a kernel: what was shown and how it was updated."""

    def __init__(self):
        self.shown, self.updates = [], []

    def display(self, fig, display_id):
        self.shown.append((fig, display_id))
        return self

    def update(self, fig):
        self.updates.append(fig)


def _drawn_losses(fig):
    (line,) = [line for line in fig.axes[0].get_lines() if line.get_label() == "loss after each epoch"]
    return line.get_ydata().tolist()


def test_live_loss_draws_once_and_then_updates_in_a_kernel(monkeypatch):
    from linearnet.plot import LiveLoss

    shown = _Shown()
    kernel = type("Kernel", (), {"kernel": object()})()
    monkeypatch.setattr("IPython.get_ipython", lambda: kernel)
    monkeypatch.setattr("IPython.display.display", shown.display)
    live = LiveLoss(floor=0.01)
    for epoch, loss in enumerate([1.0, 0.5, 0.25], start=1):
        live(epoch, loss, train_acc=0.5)
    assert live.losses == [1.0, 0.5, 0.25]
    assert len(shown.shown) == 1 and shown.shown[0][1] is True and _drawn_losses(shown.shown[0][0]) == [1.0]
    assert [_drawn_losses(fig) for fig in shown.updates] == [[1.0, 0.5], [1.0, 0.5, 0.25]]
    labels = [line.get_label() for line in shown.updates[-1].axes[0].get_lines()]
    assert "noise floor 0.01" in labels


def test_live_loss_only_collects_in_a_shell_without_a_kernel_or_without_ipython(monkeypatch):
    import sys

    from linearnet.plot import LiveLoss

    shown = _Shown()
    monkeypatch.setattr("IPython.display.display", shown.display)
    monkeypatch.setattr("IPython.get_ipython", lambda: type("TerminalShell", (), {})())  # IPython in a terminal
    live = LiveLoss()
    live(1, 1.0)
    monkeypatch.setitem(sys.modules, "IPython", None)  # IPython not installed: importing it fails
    live(2, 0.5)
    assert live.losses == [1.0, 0.5] and shown.shown == [] and shown.updates == []


@pytest.mark.filterwarnings("error")  # and no RuntimeWarning of NumPy's on the way
def test_the_normal_density_of_a_huge_std_is_drawn_and_of_a_tiny_one_refused():
    from linearnet.plot import plot_normal

    x = np.array([-7.0, 0.0, 7.0])
    assert normal(x, 0, 1e300) == pytest.approx([1 / (np.sqrt(2 * np.pi) * 1e300)] * 3, rel=1e-15)  # flat
    assert normal(x, 0, 1e308) == pytest.approx([1 / np.sqrt(2 * np.pi) / 1e308] * 3, rel=1e-9)  # subnormal
    assert plot_normal([(0, 1e300)]).axes[0].lines[0].get_ydata() == pytest.approx(
        normal(np.arange(-7, 7, 0.01), 0, 1e300)
    )
    for std, shown in ((1e-320, "1e-320"), (2e-309, "2e-309")):  # 1e-320 is 9.99989e-321 to :g
        with pytest.raises(ValueError) as info:
            plot_normal([(0, 1), (3, std)])
        assert str(info.value) == (
            f"the normal density with mean 3 and std {shown} is too large for a float at its peak "
            f"1/(std·√(2π)); give a std of at least 1e-308"
        )


def test_plot_data_refuses_what_it_cannot_draw():
    from linearnet.plot import plot_data

    with pytest.raises(ValueError, match=r"^the label 'price' holds a value that is not a finite number$"):
        plot_data([1.0, 2.0], [3.0, np.nan], ylabel="price")
    with pytest.raises(ValueError, match=r"^the fitted line reaches 2e\+307, too large to draw"):
        plot_data([0.0, 1.0], [0.0, 1.0], line=(2e307, 0.0))

"""linearnet.d2l's figures: the book's plot and show_images, and an Animator a learner sees outside Jupyter."""

import matplotlib
import pytest
import torch

from linearnet import d2l
from linearnet.d2l import plotting


@pytest.fixture(autouse=True)
def headless(monkeypatch, tmp_path):
    """No display, in a scratch folder; figures closed and matplotlib's settings (figure size) restored afterwards."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)
    with matplotlib.rc_context():
        yield
    d2l.plt.close("all")


def lines(axes):
    return [(list(line.get_xdata()), list(line.get_ydata())) for line in axes.get_lines()]


def test_plot_takes_x_and_y_as_the_book_gives_them():
    x = torch.arange(0.0, 3.0)
    d2l.plot(x, [x**2, 2 * x], "x", "f(x)", legend=["f", "g"])
    axes = d2l.plt.gca()
    assert lines(axes) == [([0, 1, 2], [0, 1, 4]), ([0, 1, 2], [0, 2, 4])]  # one x for two series
    assert axes.get_xlabel() == "x" and [t.get_text() for t in axes.get_legend().get_texts()] == ["f", "g"]
    d2l.plot([3.0, 1.0, 2.0])  # Y=None: a list of numbers drawn against its index
    assert lines(d2l.plt.gca()) == [([0, 1, 2], [3.0, 1.0, 2.0])]
    d2l.plot([[1, 2], [3, 4]], [[5, 6], [7, 8]], xscale="log", figsize=(4, 3))
    assert lines(d2l.plt.gca()) == [([1, 2], [5, 6]), ([3, 4], [7, 8])] and d2l.plt.gca().get_xscale() == "log"
    assert tuple(d2l.plt.rcParams["figure.figsize"]) == (4, 3)
    d2l.set_figsize()
    assert tuple(d2l.plt.rcParams["figure.figsize"]) == (3.5, 2.5)


def test_show_images_returns_the_flat_axes_with_titles():
    axes = d2l.show_images(torch.rand(4, 28, 28), 2, 3, titles=list("abcd"))
    assert len(axes) == 6 and [ax.get_title() for ax in axes[:4]] == list("abcd")
    assert len(axes[0].get_images()) == 1 and not axes[4].get_images()


def test_headless_animator_writes_the_file_it_names_once(capsys, tmp_path):
    assert matplotlib.get_backend().lower() == "agg" and plotting.where_to_draw() == "file"
    animator = d2l.Animator(xlabel="epoch", xlim=[1, 3], legend=["a", "b"])
    animator.add(1, (0.5, 0.25))
    assert capsys.readouterr().err == "Animator: drawing into animator.png\n"
    first = (tmp_path / "animator.png").read_bytes()
    animator.add(2, (0.4, None))  # None: no point for that line
    assert capsys.readouterr().err == ""
    assert (tmp_path / "animator.png").read_bytes() != first
    assert animator.X == [[1, 2], [1]] and animator.Y == [[0.5, 0.4], [0.25]]
    assert (tmp_path / "animator.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d2l.Animator(out=tmp_path / "sub.png").add([1, 2], [3, 4])
    assert (tmp_path / "sub.png").is_file() and "sub.png" in capsys.readouterr().err


def test_where_to_draw_a_window_with_an_interactive_backend_and_a_display(monkeypatch):
    monkeypatch.setattr(plotting.plt, "get_backend", lambda: "TkAgg")
    assert plotting.where_to_draw() == "file"  # no display
    monkeypatch.setenv("DISPLAY", ":0")
    assert plotting.where_to_draw() == "window"
    paused = []
    monkeypatch.setattr(plotting.plt, "pause", paused.append)
    d2l.Animator().add(1, 2)
    assert paused == [0.001]


def test_in_jupyter_the_animator_displays_and_clears_as_the_book(monkeypatch):
    from IPython import display

    shown = []
    monkeypatch.setitem(plotting.plt.rcParams, "svg.hashsalt", None)  # set again as it was after the test
    monkeypatch.setattr(plotting, "_jupyter", lambda: object())
    monkeypatch.setattr(display, "display", lambda fig: shown.append(("display", fig)))
    monkeypatch.setattr(display, "clear_output", lambda wait: shown.append(("clear", wait)))
    formats = []
    from matplotlib_inline import backend_inline

    monkeypatch.setattr(backend_inline, "set_matplotlib_formats", lambda *f, **kw: formats.append((f, kw)))
    animator = d2l.Animator()
    animator.add(1, 2)
    assert shown == [("display", animator.fig), ("clear", True)]
    assert formats == [(("svg",), {"metadata": {"Date": None}})]


def test_use_svg_display_does_nothing_outside_jupyter():
    before = dict(d2l.plt.rcParams)
    d2l.use_svg_display()
    assert dict(d2l.plt.rcParams) == before


def test_plot_one_y_and_show_images_untitled_and_an_animator_grid(monkeypatch):
    d2l.plot([1, 2, 3], torch.tensor([4.0, 5.0, 6.0]))  # one series of each
    assert lines(d2l.plt.gca()) == [([1, 2, 3], [4.0, 5.0, 6.0])]
    axes = d2l.show_images([torch.zeros(4, 4)] * 2, 1, 2)
    assert [ax.get_title() for ax in axes] == ["", ""]
    animator = d2l.Animator(nrows=2, ncols=2, out="grid.png")
    assert animator.axes.shape == (2, 2)  # as the book: a grid stays a grid, add draws on the first axes
    monkeypatch.setattr(plotting.plt, "get_backend", lambda: "macosx")
    monkeypatch.setattr(plotting.sys, "platform", "darwin")
    assert plotting.where_to_draw() == "window"  # no DISPLAY needed off Linux

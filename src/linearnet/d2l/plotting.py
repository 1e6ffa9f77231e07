"""The book's figures: ``use_svg_display``, ``set_figsize``, ``set_axes``, ``plot``, ``show_images``, ``Animator``.

In Jupyter they draw inline as the book shows them. Outside Jupyter, ``Animator`` draws where a learner
can see it: in a window when matplotlib has an interactive backend and a display, otherwise into an
image file that it names once on stderr and rewrites on every ``add``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import torch

__all__ = ["plt", "use_svg_display", "set_figsize", "set_axes", "plot", "show_images", "Animator"]

FMTS = ("-", "m--", "g-.", "r:")
_NON_INTERACTIVE = {"agg", "pdf", "ps", "svg", "pgf", "cairo", "template"}


def _jupyter():
    """The running IPython kernel's shell, or None outside Jupyter."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the test extras
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "kernel") else None


def _has_window() -> bool:
    """Whether matplotlib can open a window: an interactive backend and, on Linux, a display."""
    backend = plt.get_backend().lower()
    if backend in _NON_INTERACTIVE or backend.startswith("module://"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def where_to_draw() -> str:
    """``"inline"`` in Jupyter, ``"window"`` with a GUI backend and a display, else ``"file"``."""
    if _jupyter() is not None:
        return "inline"
    return "window" if _has_window() else "file"


def use_svg_display():
    """Show figures as SVG in Jupyter (the book's look); outside Jupyter this does nothing."""
    if _jupyter() is None:
        return
    from matplotlib_inline import backend_inline

    plt.rcParams["svg.hashsalt"] = "d2l"  # the same SVG for the same figure: stored notebooks do not churn
    backend_inline.set_matplotlib_formats("svg", metadata={"Date": None})


def set_figsize(figsize=(3.5, 2.5)):
    """Set the size of the figures drawn from now on (inches)."""
    use_svg_display()
    plt.rcParams["figure.figsize"] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """Label, scale and limit a matplotlib Axes, add the legend when given, and draw a grid."""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def _has_one_axis(X) -> bool:
    """Whether X is one series: a 1-D array or tensor, or a list of numbers."""
    if hasattr(X, "ndim"):
        return X.ndim == 1
    return isinstance(X, list) and not hasattr(X[0], "__len__")


def _drawable(v):
    return v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else v


def plot(
    X,
    Y=None,
    xlabel=None,
    ylabel=None,
    legend=None,
    xlim=None,
    ylim=None,
    xscale="linear",
    yscale="linear",
    fmts=FMTS,
    figsize=(3.5, 2.5),
    axes=None,
):
    """Plot data points: Y against X, one line per series (X and Y as lists, lists of lists or tensors).

    With ``Y=None`` the series of X are drawn against their index. One X drawn against several Y is
    shared by every series.
    """
    if legend is None:
        legend = []
    set_figsize(figsize)
    axes = axes if axes else plt.gca()
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts, strict=False):
        if len(x):
            axes.plot(_drawable(x), _drawable(y), fmt)
        else:
            axes.plot(_drawable(y), fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """Draw a grid of images (tensors or arrays) with optional titles; return the flattened axes."""
    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize)
    axes = axes.flatten() if hasattr(axes, "flatten") else [axes]
    for i, (ax, img) in enumerate(zip(axes, imgs, strict=False)):
        ax.imshow(_drawable(img))
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles:
            ax.set_title(titles[i])
    return axes


class Animator:
    """Draw data as it arrives (the book's ``Animator``): ``add(x, y)`` appends a point to each line.

    In Jupyter the figure is shown inline and replaced on each ``add``, as the book shows it. With an
    interactive matplotlib backend and a display it is drawn in a window. Elsewhere (a script in a
    terminal without a display, CI, tests) it is written to the image file ``out`` (default
    ``animator.png`` in the current folder), named once on stderr and rewritten on each ``add``.
    ``out`` is linearnet's addition; the other arguments are the book's.
    """

    def __init__(
        self,
        xlabel=None,
        ylabel=None,
        legend=None,
        xlim=None,
        ylim=None,
        xscale="linear",
        yscale="linear",
        fmts=FMTS,
        nrows=1,
        ncols=1,
        figsize=(3.5, 2.5),
        *,
        out=None,
    ):
        if legend is None:
            legend = []
        use_svg_display()
        self.fig, self.axes = plt.subplots(nrows, ncols, figsize=figsize)
        if nrows * ncols == 1:
            self.axes = [self.axes]
        self._axes_args = (xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
        self.X: list[list] | None = None
        self.Y: list[list] | None = None
        self.fmts = fmts
        self.mode = where_to_draw()
        self.out = Path(out) if out is not None else Path("animator.png")
        self._named = False

    def config_axes(self):
        set_axes(self.axes[0], *self._axes_args)

    def add(self, x, y):
        """Append the point (x, y_i) to line i (x shared when a number), then redraw."""
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y, strict=False)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        self.axes[0].cla()
        for xs, ys, fmt in zip(self.X, self.Y, self.fmts, strict=False):
            self.axes[0].plot(xs, ys, fmt)
        self.config_axes()
        self._show()

    def _show(self):
        if self.mode == "inline":
            from IPython import display

            display.display(self.fig)
            display.clear_output(wait=True)
        elif self.mode == "window":
            plt.figure(self.fig.number)  # plt.pause draws the current figure
            plt.pause(0.001)
        else:
            self.fig.savefig(self.out)
            if not self._named:
                print(f"Animator: drawing into {self.out}", file=sys.stderr)
                self._named = True

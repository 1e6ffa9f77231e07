"""Figures, drawn with matplotlib's non-interactive Agg canvas: the library returns Figures
and never calls ``plt.show()``; the CLI writes them to files."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_predictions", "save_figure"]


def plot_predictions(images, true, predicted, classes, *, image_shape, ncols: int = 6, nrows: int = 3):
    """A grid of images titled with their true and predicted class (the book's ``predict_ch3``).

    Args:
        images: (n, h·w) pixel rows in [0, 1]; the first ``ncols · nrows`` are drawn.
        true, predicted: class numbers per image; classes: their names.
        image_shape: (h, w).

    Returns:
        a ``matplotlib.figure.Figure``; a wrong prediction's title is red.
    """
    from matplotlib.figure import Figure

    count = min(len(images), ncols * nrows)
    nrows = -(-count // ncols)
    fig = Figure(figsize=(1.6 * ncols, 1.9 * nrows), dpi=100)
    for k in range(count):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        ax.imshow(np.asarray(images[k]).reshape(image_shape), cmap="gray_r", vmin=0.0, vmax=1.0)
        right = int(true[k]) == int(predicted[k])
        ax.set_title(f"{classes[int(true[k])]}\n→ {classes[int(predicted[k])]}", fontsize=8,
                     color="black" if right else "red")
        ax.axis("off")
    fig.suptitle("true → predicted", fontsize=9)
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    """Write ``fig`` to ``path`` (format by extension) atomically."""
    import os

    from .tables import atomic_write

    fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt))

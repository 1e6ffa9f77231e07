"""Figures, drawn with matplotlib's non-interactive Agg canvas: the library returns Figures
and never calls ``plt.show()``; the CLI writes them to files."""

from __future__ import annotations

import numpy as np

__all__ = [
    "plot_predictions",
    "plot_normal",
    "plot_loss",
    "plot_data",
    "plot_diagnostics",
    "save_figure",
    "normal",
    "LiveLoss",
]


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
    fig = Figure(figsize=(1.6 * ncols, 2.0 * nrows), dpi=100, layout="constrained")  # titles clear of images
    for k in range(count):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        ax.imshow(np.asarray(images[k]).reshape(image_shape), cmap="gray_r", vmin=0.0, vmax=1.0)
        right = int(true[k]) == int(predicted[k])
        ax.set_title(
            f"{classes[int(true[k])]}\n→ {classes[int(predicted[k])]}", fontsize=8, color="black" if right else "red"
        )
        ax.axis("off")
    fig.suptitle("true → predicted", fontsize=9)
    return fig


def save_figure(fig, path, *, size: tuple[int, int] | None = None) -> None:
    """Write ``fig`` to ``path`` (format by extension) atomically; ``size=(width, height)`` in pixels."""
    import os

    from .outputs import atomic_write

    if size is not None:
        fig.set_size_inches(size[0] / fig.dpi, size[1] / fig.dpi)
        from matplotlib.layout_engine import ConstrainedLayoutEngine

        if not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):  # that one follows the size itself
            import warnings

            with warnings.catch_warnings():  # a picture too small for its labels is drawn as asked, not warned of
                warnings.filterwarnings("ignore", "Tight layout not applied", UserWarning)
                fig.tight_layout()
    fmt = os.path.splitext(str(path))[1].lstrip(".").lower() or "png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=fmt))


def normal(x, mu, sigma):
    """The normal density p(x) = exp(−(x − μ)² / 2σ²) / sqrt(2πσ²) (d2l 3.1).

    Written as exp(−z²/2) / σ / √(2π) with z = (x − μ)/σ, so that no intermediate overflows: a σ of
    1e300 gives its tiny flat density, not inf/inf. Where the density itself exceeds the largest float
    (σ below about 6e-309, near μ) it is inf, without a warning; :func:`plot_normal` refuses that.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        z = (np.asarray(x, dtype=np.float64) - mu) / sigma
        return np.exp(-0.5 * z**2) / sigma / np.sqrt(2 * np.pi)


def plot_normal(params, *, x=None):
    """The book's figure: normal densities for several (mean, std) pairs on x in [−7, 7].

    A pair whose density is too large for a float at its peak (std below about 6e-309) is refused
    with ``ValueError``.
    """
    from matplotlib.figure import Figure

    x = np.arange(-7, 7, 0.01) if x is None else np.asarray(x)
    curves = []
    for mu, sigma in params:
        y = normal(x, mu, sigma)
        if not (np.isfinite(normal(mu, mu, sigma)) and np.isfinite(y).all()):
            raise ValueError(
                f"the normal density with mean {_short(mu)} and std {_short(sigma)} is too large for a float at "
                f"its peak 1/(std·√(2π)); give a std of at least 1e-308"
            )
        curves.append((y, f"mean {mu:g}, std {sigma:g}"))
    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.add_subplot()
    for y, label in curves:
        ax.plot(x, y, label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("p(x)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _short(v: float) -> str:
    """``v`` as briefly as it reads back as the same number: 3 not 3.0, 1e-320 not 9.99989e-321."""
    text, exact = f"{v:g}", repr(float(v))
    return text if float(text) == v and len(text) <= len(exact) else exact


def plot_loss(losses, *, steps=None, floor=None, title="training loss", floor_label="noise floor", accuracies=None):
    """Loss per epoch (and, given ``steps``, per step), on a log scale when the range is wide.

    ``floor``: the noise floor c·Var(ε) of synthetic data (or, with ``floor_label``, the loss at the
    least-squares optimum), drawn as a dashed line. ``accuracies`` maps names such as "train acc" to
    one accuracy per epoch, drawn against a second axis from 0 to 1 (softmax regression).
    """
    from matplotlib.figure import Figure

    losses = np.asarray(losses, dtype=float)
    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.add_subplot()
    epochs = np.arange(1, len(losses) + 1)
    values = [losses]
    if steps is not None and len(steps):
        steps = np.asarray(steps, dtype=float)
        ax.plot(
            np.arange(1, len(steps) + 1) * len(losses) / len(steps),
            steps,
            color="tab:blue",
            alpha=0.35,
            linewidth=0.8,
            label="batch loss (per step)",
        )
        values.append(steps)
    ax.plot(epochs, losses, "o-", color="tab:blue", label="loss after each epoch")
    if floor is not None and floor > 0:
        ax.axhline(floor, color="tab:red", linestyle="--", label=f"{floor_label} {floor:.3g}")
        values.append([floor])
    lines: list = []
    labels: list = []
    if accuracies:
        right = ax.twinx()
        for (name, values_of), color in zip(
            accuracies.items(), ("tab:green", "tab:orange", "tab:purple"), strict=False
        ):
            right.plot(epochs[: len(values_of)], values_of, "s--", color=color, markersize=3, label=name)
        right.set_ylim(0, 1.02)
        right.set_ylabel("accuracy")
        lines, labels = right.get_legend_handles_labels()
    finite = np.concatenate([np.ravel(v) for v in values])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size and finite.max() / finite.min() > 100:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles + lines, names + labels)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


DRAWABLE = 1e307  # matplotlib's axis limits and ticks overflow float64 for values much beyond this


def _check_drawable(values: np.ndarray, what: str) -> None:
    if not np.isfinite(values).all():
        raise ValueError(f"{what} holds a value that is not a finite number")
    if values.size and np.abs(values).max() > DRAWABLE:
        raise ValueError(
            f"{what} reaches {_short(float(np.abs(values).max()))}, too large to draw (the axes' ticks overflow "
            f"float64 beyond ±{DRAWABLE:g}); rescale it"
        )


def plot_data(x, y, *, xlabel="feature", ylabel="label", line=None):
    """A feature against the label (d2l 3.2's scatter); ``line=(slope, intercept)`` adds a fit.

    Values must be finite and at most :data:`DRAWABLE` in size (``ValueError`` otherwise): beyond
    that matplotlib cannot place the axes' ticks.
    """
    from matplotlib.figure import Figure

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    _check_drawable(x, f"the feature {xlabel!r}")
    _check_drawable(y, f"the label {ylabel!r}")
    if line is not None:
        xs = np.array([x.min(), x.max()])
        slope, intercept = line
        with np.errstate(over="ignore", invalid="ignore"):  # refused just below
            ys = slope * xs + intercept
        _check_drawable(ys, "the fitted line")
    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.add_subplot()
    ax.scatter(x, y, s=6, alpha=0.6)
    if line is not None:
        ax.plot(xs, ys, color="tab:red", label=f"fit: {slope:.4g}·x + {intercept:.4g}")
        ax.legend()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


R_RED = "#DF536B"  # R's palette()[2]: the smooth through plot(lm)'s panels
R_GRAY = "#9E9E9E"  # R's palette()[8], "gray62": its Cook's distance contours


def plot_diagnostics(diag, *, title: str | None = None, names=None):
    """R's ``plot(lm)``: residuals against fitted values, the normal Q–Q plot of the standardized
    residuals, scale–location, and standardized residuals against leverage with Cook's distance
    0.5 and 1 (dashed); a lowess smooth (red) as R draws it, and the rows R labels in each panel.

    Args:
        diag: a :class:`linearnet.diagnostics.Diagnostics` (:func:`linearnet.diagnostics.diagnostics`).
        title: drawn above the panels (such as the model's formula); "n of N points drawn" is added
            when the points are a sample.
        names: a mapping from row numbers to the names the labelled points are shown by (R's row
            names); a row not in it is shown by its number.

    Returns:
        a ``matplotlib.figure.Figure`` of 2 × 2 panels.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 9), dpi=100, layout="constrained")
    axes = fig.subplots(2, 2)
    rs = diag.std_resid
    names = dict(names or {})
    _residuals_fitted(axes[0, 0], diag, names)
    _qq(axes[0, 1], diag, names)
    root = np.sqrt(np.abs(rs))
    _panel(axes[1, 0], diag.fitted, root, "Scale-Location", "Fitted values", "√|Standardized residuals|")
    axes[1, 0].set_ylim(0, _extend(root)[1])
    _label(axes[1, 0], diag, diag.fitted, root, "std_resid", names)
    _residuals_leverage(axes[1, 1], diag, names)
    said = [title] if title else []
    if diag.sampled:
        said.append(f"{len(diag.row):,} of {diag.n:,} points drawn")
    if said:
        fig.suptitle("   ".join(said), fontsize=10)
    return fig


def _panel(ax, x, y, caption: str, xlabel: str, ylabel: str, *, smooth: bool = True) -> None:
    """Open circles, and R's lowess smooth through the finite ones."""
    from .lowess import lowess

    ax.scatter(x, y, s=16, facecolors="none", edgecolors="black", linewidths=0.7)
    ok = np.isfinite(x) & np.isfinite(y)
    if smooth and ok.sum() > 1:
        ax.plot(*lowess(x[ok], y[ok]), color=R_RED, linewidth=1.2)
    ax.set_title(caption, fontsize=11)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _extend(values: np.ndarray, f: float = 0.08) -> tuple[float, float]:
    """R's ``extendrange``: the finite range of ``values`` widened by ``f`` of it on each side."""
    finite = values[np.isfinite(values)]
    if not finite.size:  # nothing to draw: an axis about 0
        return -1.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:  # one value: an axis about it
        pad = abs(lo) / 2 or 1.0
        return lo - pad, hi + pad
    return lo - f * (hi - lo), hi + f * (hi - lo)


def _label(ax, diag, x: np.ndarray, y: np.ndarray, panel: str, names: dict) -> None:
    """The rows R labels in this panel, by name (or number), right of the point (left of it in the right half)."""
    where = {int(r): i for i, r in enumerate(diag.row)}
    lo, hi = ax.get_xlim()
    for row in diag.labels[panel]:
        i = where[row]
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        right = x[i] > (lo + hi) / 2
        ax.annotate(
            names.get(row, str(row)),
            (x[i], y[i]),
            xytext=(-4 if right else 4, 0),
            textcoords="offset points",
            ha="right" if right else "left",
            va="center",
            fontsize=7,
        )


def _residuals_fitted(ax, diag, names: dict) -> None:
    _panel(ax, diag.fitted, diag.resid, "Residuals vs Fitted", "Fitted values", "Residuals")
    ax.set_ylim(*_extend(diag.resid))
    ax.axhline(0, color="gray", linestyle=":", linewidth=0.8)
    _label(ax, diag, diag.fitted, diag.resid, "resid", names)


def _qq(ax, diag, names: dict) -> None:
    x, y = diag.theoretical, diag.std_resid
    _panel(ax, x, y, "Normal Q-Q", "Theoretical Quantiles", "Standardized residuals", smooth=False)
    lo, hi = _extend(y, 0.04)
    ax.set_ylim(lo, hi + 0.075 * (hi - lo) / 1.08)  # R: room above for the labels
    if np.isfinite(y).any():
        intercept, slope = diag.qq_line
        ax.axline((0.0, intercept), slope=slope, color="#7F7F7F", linestyle=":", linewidth=1)
    _label(ax, diag, x, y, "std_resid", names)


def _residuals_leverage(ax, diag, names: dict) -> None:
    """Standardized residuals against leverage, with the Cook's distance contours 0.5 and 1 (dashed)."""
    lo, hi = diag.hat_range
    if not hi - lo >= 1e-10 * (lo + hi) / 2:  # R: constant leverage, no factors to draw against
        ax.set_title("Residuals vs Leverage", fontsize=11)
        ax.text(0.5, 0.5, f"leverages all {lo:.4g}: nothing to draw", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    x = np.where(diag.hat < 1, diag.hat, np.nan)
    y = diag.std_resid
    _panel(ax, x, y, "Residuals vs Leverage", "Leverage", "Standardized residuals")
    top = (float(np.nanmax(x)) if np.isfinite(x).any() else 0.0) or 1.0
    right = top * 1.04
    ax.set_xlim(-0.04 * top, right)
    ax.set_ylim(*_extend(y))
    ax.axhline(0, color="gray", linestyle=":", linewidth=0.8)
    ax.axvline(0, color="gray", linestyle=":", linewidth=0.8)
    hh = np.linspace(min(lo, hi / 100), right, 101)
    hh = hh[hh > 0]
    for level in (0.5, 1.0):
        curve = np.sqrt(level * diag.rank * (1 - hh) / hh)
        label = "Cook's distance" if level == 0.5 else None
        ax.plot(hh, curve, color=R_GRAY, linestyle="--", linewidth=0.9, label=label)
        ax.plot(hh, -curve, color=R_GRAY, linestyle="--", linewidth=0.9)
        xmax = min(0.99, right)
        at = np.sqrt(level * diag.rank * (1 - xmax) / xmax)
        bottom, upper = ax.get_ylim()
        for sign in (1, -1):
            if bottom <= sign * at <= upper:
                ax.text(
                    1.01,
                    sign * at,
                    f"{level:g}",
                    color=R_GRAY,
                    fontsize=7,
                    va="center",
                    transform=ax.get_yaxis_transform(),
                )
    ax.legend(loc="lower left", frameon=False, fontsize=8, labelcolor=R_GRAY)
    _label(ax, diag, x, y, "cooks", names)


class LiveLoss:
    """An ``on_epoch`` callback that redraws the loss curve in place in a notebook.

    In a Jupyter kernel the figure is shown once and then updated after every epoch (the
    book's animated plot); anywhere else it only collects the losses.

    Example:
        >>> result = linearnet.run("d2l-3.2", on_epoch=LiveLoss(floor=5e-5))
    """

    def __init__(self, *, floor: float | None = None):
        self.losses: list[float] = []
        self.floor = floor
        self._handle = None

    def __call__(self, epoch: int, loss: float, **metrics) -> None:
        self.losses.append(loss)
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None or not hasattr(get_ipython(), "kernel"):
            return
        fig = plot_loss(self.losses, floor=self.floor)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)

"""``linearnet plot``: the book's figures, written to PNG, PDF or SVG files."""

from __future__ import annotations

import math

from .common import (
    Parser,
    UsageError,
    add_table_flags,
    check_figure_path,
    note,
    numbers,
    refused,
    seed,
    size,
    table_options,
    write_figure,
)

PROG = "linearnet plot"


def add_parser(commands) -> None:
    plot = commands.add_parser(
        "plot",
        help="the book's figures, written to files",
        description="Draw the book's figures into PNG, PDF or SVG files.",
    )
    kinds = plot.add_subparsers(dest="plot", metavar="WHAT", parser_class=Parser, required=True)
    normal = kinds.add_parser(
        "normal",
        help="normal densities for several (mean, std) pairs",
        description="The normal density for each MEAN,STD pair (d2l 3.1).",
    )
    normal.add_argument(
        "--params",
        type=numbers,
        nargs="+",
        default=[(0, 1), (0, 2), (3, 1)],
        metavar="MEAN,STD",
        help="pairs such as 0,1 0,2 3,1 (the book's)",
    )
    normal.add_argument("--out", required=True, metavar="FILE.png", help="the picture to write (.png, .pdf, .svg)")
    normal.add_argument("--size", type=size, metavar="WxH", help="picture size in pixels (default 600x350)")
    normal.set_defaults(handler=plot_normal)
    data = kinds.add_parser(
        "data",
        help="a feature against the label, with a fitted line if asked",
        description="Scatter one feature against the label (d2l 3.2).",
    )
    data.add_argument("--data", metavar="FILE", help="a CSV or Parquet file (with --target)")
    data.add_argument("--target", metavar="COL", help="the label column of --data")
    data.add_argument("--preset", metavar="NAME", help="synthetic data of a preset (default d2l-3.2)")
    data.add_argument("--seed", type=seed, default=0, metavar="N", help="with --preset (default 0)")
    data.add_argument(
        "--feature",
        required=True,
        metavar="COL",
        help="the feature to draw: a column of --data, or x1, x2, ... for a preset",
    )
    data.add_argument("--fit", action="store_true", help="draw the least-squares line of label on feature")
    add_table_flags(data)
    data.add_argument("--out", required=True, metavar="FILE.png", help="the picture to write (.png, .pdf, .svg)")
    data.add_argument("--size", type=size, metavar="WxH", help="picture size in pixels (default 600x350)")
    data.set_defaults(handler=plot_data)
    from . import diagnostics

    diagnostics.add_parser(kinds)


def plot_normal(args) -> int:
    check_figure_path(PROG, args.out)
    for pair in args.params:
        if len(pair) != 2 or not all(map(math.isfinite, pair)) or pair[1] <= 0:
            raise UsageError(
                PROG,
                f"--params takes MEAN,STD pairs with a finite mean and a std > 0, "
                f"got {','.join(f'{v:g}' for v in pair)}",
            )
    from ..plot import plot_normal as draw

    with refused(PROG):  # a density too large for a float
        fig = draw(args.params)
    write_figure(PROG, fig, args.out, args.size)
    return 0


def plot_data(args) -> int:
    check_figure_path(PROG, args.out)
    if args.data is not None and args.preset is not None:
        raise UsageError(PROG, "give --data FILE or --preset NAME, not both")
    if args.data is not None and args.target is None:
        raise UsageError(PROG, "--data needs --target COL, the label column")
    if args.data is None:
        for flag in ("target", "sep", "decimal", "missing"):
            if getattr(args, flag) is not None:
                raise UsageError(PROG, f"--{flag} goes with --data FILE")
    with refused(PROG):
        if args.data is not None:
            from ..tables import read_table

            table = read_table(args.data, target=args.target, features=[args.feature], **table_options(args))
            for text in table.notes:
                note(PROG, text)
            if table.coding:
                raise ValueError(f"column {args.feature!r} holds text: plot data draws a numeric feature")
            x, y, ylabel = table.features[:, 0], table.target, args.target
        else:
            from ..presets import make_experiment

            experiment = make_experiment(args.preset, seed=args.seed)
            features = [f"x{j + 1}" for j in range(experiment.data.dim)]
            if args.feature not in features:
                raise ValueError(f"the preset's features are {', '.join(features)}, got {args.feature!r}")
            import torch

            from ..synthetic import draw

            _, X, Y = draw(experiment.data, torch.Generator().manual_seed(args.seed))  # as train draws them
            x, y, ylabel = X[:, features.index(args.feature)].numpy(), Y.reshape(-1).numpy(), "y"
    line = fitted_line(x, y, args.feature) if args.fit else None
    from ..plot import plot_data as draw_data

    with refused(PROG):  # values too large to draw
        fig = draw_data(x, y, xlabel=args.feature, ylabel=ylabel, line=line)
    write_figure(PROG, fig, args.out, args.size)
    return 0


def fitted_line(x, y, feature: str) -> tuple[float, float]:
    """--fit: the least-squares line (slope, intercept) of y on x.

    Solved on x and y scaled by powers of two to a largest |value| in [½, 1) (exact), so that values
    near 1e170, whose squares overflow, fit as well as values near 1.
    """
    import numpy as np

    from ..leastsq import solve

    if len(x) < 2:
        raise UsageError(PROG, f"--fit needs at least two rows to draw a line through, got {len(x)}")
    if x.min() == x.max():
        raise UsageError(PROG, f"--fit needs a feature that varies; {feature!r} takes one value")
    ex, ey = (int(np.frexp(np.abs(v).max())[1]) for v in (x, y))
    try:
        fit = solve(np.ldexp(x, -ex).reshape(-1, 1), np.ldexp(y, -ey))
    except ValueError:  # the scaled values are distinct but too close to tell apart
        raise UsageError(
            PROG, f"--fit needs a feature that varies; {feature!r} varies too little to fit a line"
        ) from None
    try:
        return math.ldexp(float(fit.coef[0]), ey - ex), math.ldexp(fit.intercept, ey)
    except OverflowError:
        raise UsageError(
            PROG, "--fit: the slope of the line overflows float64; rescale the feature or the label"
        ) from None

"""R's ``plot(lm)`` from the command line: ``solve DATA --plot FILE`` (the fit just solved) and
``plot diagnostics --model MODEL DATA --out FILE`` (a model file of an exact fit and the rows it was
fitted to)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .common import (
    UsageError,
    add_table_flags,
    check_figure_path,
    check_out,
    note,
    reading_bar,
    refused,
    seed,
    size,
    table_options,
    write_figure,
)

if TYPE_CHECKING:
    from ..leastsq import OLSResult
    from ..tables import Table, TableChunks

PROG = "linearnet plot"


def check_picture(prog: str, path: str, *others: str | None) -> None:
    """Fail before the work when the picture cannot be written at ``path``, would replace one of ``others``
    (the inputs, and another output named there too), or is not a .png, .pdf or .svg file."""
    import os

    check_out(prog, path, *others)
    for other in others:
        if other is not None and other != "-" and os.path.abspath(other) == os.path.abspath(path):
            raise UsageError(prog, f"{path}: is named twice, for the picture and another file; name two files")
    check_figure_path(prog, path)


def add_parser(kinds) -> None:
    """``linearnet plot diagnostics``."""
    diag = kinds.add_parser(
        "diagnostics",
        help="R's plot(lm) of an exact fit: residuals, normal Q-Q, scale-location, leverage",
        description="Draw R's four diagnostic panels of a model file written by solve --out, for the rows it "
        "was fitted to (DATA: the same file).",
    )
    diag.add_argument("data", metavar="DATA", help="the CSV or Parquet file the model was fitted to")
    diag.add_argument("--model", required=True, metavar="MODEL", help="a model file from solve --out")
    diag.add_argument("--out", required=True, metavar="FILE.png", help="the picture to write (.png, .pdf, .svg)")
    diag.add_argument("--size", type=size, metavar="WxH", help="picture size in pixels (default 900x900)")
    diag.add_argument(
        "--seed", type=seed, default=0, metavar="N", help="draws the sample of points past 5,000 rows (default 0)"
    )
    add_table_flags(diag)
    diag.set_defaults(handler=run)


def run(args) -> int:
    """``plot diagnostics --model MODEL DATA``: the model's fit rebuilt from the file (coefficients,
    (AᵀA)⁻¹ factor, σ̂, rank, n), its rows read from DATA (whole for categories and formulas, else in
    chunks), drawn as ``solve --plot`` draws them."""
    from ..modelfile import Model, load_model

    check_picture(PROG, args.out, args.data, args.model)
    with refused(PROG):
        model = load_model(args.model)
        if not isinstance(model, Model):
            raise ValueError(f"{args.model}: the diagnostics are of a linear fit; this model is a classifier")
        fit = _fit_of(args.model, model)
        table, chunks = _read(args, model, fit.weights)
    for text in table.notes if table is not None else chunks.notes if chunks is not None else []:
        note(PROG, text)
    title = _title(model.formula, model.target, model.features, model.fit_intercept)
    drawing = dict(out=args.out, size=args.size, title=title, seed=args.seed)
    for text in draw(PROG, fit, table, chunks, **drawing, path=args.data, options=table_options(args)):
        note(PROG, text)
    print(f"picture written to {args.out}")
    return 0


def _read(args, model, weights: str | None) -> tuple[Table | None, TableChunks | None]:
    """DATA read for ``model``: whole for a formula, categories or standard input (read once), else in chunks."""
    from ..tables import read_table, table_chunks

    carry = [weights] if weights else None
    if model.formula or model.coding or args.data == "-":
        table = read_table(
            args.data,
            target=None if model.formula else model.target,
            features=None if model.formula else model.columns or model.features,
            levels=model.coding or {},
            intercept=model.fit_intercept,
            formula=model.formula,
            factors=model.factors if model.formula else None,
            carry=carry,
            carried_in_use=bool(weights),
            **table_options(args),
        )
        from ..modelcheck import by_name

        table.features = by_name(model, table.feature_names, table.features)  # the model's columns, by name
        table.feature_names = list(model.features)
        return table, None
    chunks, _ = table_chunks(
        args.data,
        target=model.target,
        features=model.features,
        carry=carry,
        carried_in_use=bool(weights),
        **table_options(args),
    )
    return None, chunks


def _fit_of(path: str, model) -> SimpleNamespace:
    """What the diagnostics need of a fit, from a model file of one; refused, saying why, when it cannot
    give it (not an exact fit, or written before model files kept (AᵀA)⁻¹)."""
    statistics = getattr(model, "statistics", None)
    if (model.training or {}).get("method") != "solve" or not statistics:
        raise ValueError(f"{path}: the diagnostics are of an exact fit: give a model file written by solve --out")
    import numpy as np

    uncertainty = getattr(model, "uncertainty", None)
    if uncertainty is None:
        raise ValueError(
            f"{path}: holds no (AᵀA)⁻¹ factor, which the leverages need (written by an older linearnet, or a fit "
            f"without residual degrees of freedom); solve again with --out, or draw with solve --plot FILE"
        )
    coef = np.asarray(model.coefficients, dtype=np.float64)
    return SimpleNamespace(
        params=np.concatenate([[model.intercept], coef]) if model.fit_intercept else coef,
        cov_factor=uncertainty.cov_factor,
        normalized_cov_params=None,
        sigma=float(uncertainty.sigma),
        rank=int(statistics["rank"]),
        n=int(statistics["n"]),
        fit_intercept=bool(model.fit_intercept),
        weights=statistics.get("weights"),
    )


def solve_diagnostics(prog: str, args, result: OLSResult, table: Table | None, chunks: TableChunks | None) -> list[str]:
    """``solve --plot FILE``: R's ``plot(lm)`` of the fit just solved, drawn from the same table (read whole,
    or in chunks: one more pass, two when the points drawn are a sample) and written to FILE; the notes
    to say. Under a launcher, process 0 draws it from every row of the file, in one process."""
    if chunks is not None and chunks.share is not None:  # this process's share: the figure needs every row
        from ..tables import table_chunks

        weights = getattr(args, "weights", None)
        with refused(prog):
            chunks, _ = table_chunks(
                args.data,
                target=None if chunks.formula else args.target,
                features=None if chunks.formula else chunks.columns,
                formula=chunks.formula,
                levels=chunks.levels,
                chunk_rows=args.chunk_rows or None,
                carry=[weights] if weights else None,
                carried_in_use=bool(weights),
                **table_options(args),
            )
    title = _title(args.formula, args.target, result.feature_names, result.fit_intercept)
    options = table_options(args)
    return draw(prog, result, table, chunks, out=args.plot, title=title, path=args.data, options=options)


def draw(
    prog: str,
    fit,
    table: Table | None,
    chunks: TableChunks | None,
    *,
    out: str,
    title: str,
    size: tuple[int, int] | None = None,
    seed: int = 0,
    announce: bool = False,
    path: str | None = None,
    options: dict | None = None,
) -> list[str]:
    """Draw the diagnostics of ``fit`` for the rows of ``table`` (read whole: rows numbered as in the file)
    or ``chunks`` into ``out``; the notes to say (rows of leverage one, a sample drawn). Where the file
    at ``path`` (read with the table ``options``) has row labels, as R's row names, they name the points."""
    import numpy as np

    from ..diagnostics import diagnostics, diagnostics_chunks
    from ..plot import plot_diagnostics

    weights = getattr(fit, "weights", None)  # the column that weighted the fit, carried with the rows
    notes = []
    with refused(prog):
        if table is not None:
            assert table.target is not None
            dropped = np.asarray(table.dropped_rows, dtype=np.int64) - 1
            rows = np.delete(np.arange(1, table.num_rows + len(dropped) + 1), dropped)
            w = _checked(table.carried[weights], weights) if weights else None
            diag = diagnostics(fit, table.features, table.target, weights=w, rows=rows, seed=seed)
        else:
            assert chunks is not None
            passes: Callable[[], Iterable[tuple]] = chunks
            if weights:
                carrying = chunks.carrying()
                passes = lambda: ((X, y, _checked(c[weights], weights)) for X, y, c in carrying())  # noqa: E731
            with reading_bar(chunks):
                diag = diagnostics_chunks(fit, passes, seed=seed)
            if chunks.dropped_rows:
                notes.append("the points drawn are numbered among the rows used, the dropped rows not counted")
        source: Table | TableChunks | None = table if table is not None else chunks
        assert source is not None
        numbered = table is not None or not source.dropped_rows  # rows numbered in the file: labels can name them
        names = _row_names(path, source.target_name, diag, options or {}) if path and numbered else {}
    fig = plot_diagnostics(diag, title=title, names=names)
    write_figure(prog, fig, out, size, announce=announce)
    return [*diag.notes, *notes]


def _row_names(path: str, target: str | None, diag, options: dict) -> dict[int, str]:
    """The row labels (R's row names: a CSV's unnamed first column) of the rows the panels label, by their
    numbers in the file; none where the file has no such column. One pass over the file's labels."""
    from ..tables import row_labels, table_chunks

    label = row_labels(path, sep=options.get("sep"))
    if label is None or target is None:
        return {}
    wanted = sorted({row for rows in diag.labels.values() for row in rows})
    options = {**options, "missing": "keep"}  # every row, so that the i-th is the file's row i
    chunks, _ = table_chunks(path, target=None, features=[target], carry=[label], **options)
    names, first = {}, 1
    for X, _, carried in chunks.carrying()():
        for row in wanted:
            if first <= row < first + len(X):
                names[row] = str(carried[label][row - first])
        first += len(X)
    return names


def _checked(w, name: str):
    """The weights of a fit, as float64; refused where one is negative or not a number."""
    import numpy as np

    w = np.asarray(w, dtype=np.float64)
    if not (np.isfinite(w) & (w >= 0)).all():
        raise ValueError(f"the weights {name!r} hold a value that is negative or not a number")
    return w


def _title(formula: str | None, target: str | None, features: list[str], fit_intercept: bool) -> str:
    """The model as R's lm call reads it, shortened past 75 characters as R's plot(lm) does."""
    if formula is None:
        formula = f"{target} ~ {' + '.join(features) or '1'}{'' if fit_intercept else ' - 1'}"
    return formula if len(formula) <= 75 else formula[:75] + " ..."

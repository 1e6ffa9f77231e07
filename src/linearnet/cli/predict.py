"""``linearnet predict``: apply a model file to the rows of a table.

The output holds, in order: the row labels when the input has them (an unnamed first column, as R's
``write.csv`` and pandas' ``to_csv`` write them; pandas' index in a Parquet file), the input columns
``--keep`` names, then the predictions (with ``--interval``, their lower and upper bounds). A plain
file is read and written a chunk at a time; categories and formulas need it whole.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass, field

from .common import (
    UsageError,
    add_table_flags,
    check_out,
    names,
    note,
    reading_bar,
    refused,
    table_options,
    write_columns,
)

PROG = "linearnet predict"
SHOWN = 5  # rows a note names at most


def add_parser(commands) -> None:
    predict = commands.add_parser(
        "predict",
        help="predict with a model file",
        description="Predict the target for each row of DATA with a model file.",
    )
    predict.add_argument("data", metavar="DATA", help="a CSV or Parquet file with the model's feature columns")
    predict.add_argument("--model", required=True, metavar="MODEL", help="a model file from solve or train --out")
    predict.add_argument(
        "--out", metavar="FILE", help="write CSV, tab-separated .tsv or Parquet (by extension); default stdout"
    )
    add_table_flags(predict, keep=True)
    group = predict.add_argument_group("what is written")
    group.add_argument(
        "--interval",
        choices=("confidence", "prediction"),
        help="add <target>_lower and <target>_upper: the interval of the mean response (confidence) or of a new "
        "observation (prediction), as R's predict.lm computes them (a model from solve)",
    )
    group.add_argument("--level", type=level, metavar="LEVEL", help="the intervals' confidence level (default 0.95)")
    group.add_argument(
        "--keep",
        type=names,
        metavar="COL,...",
        help="input columns written in front of the predictions (ids, say); row labels are written first always",
    )
    predict.set_defaults(handler=run)


def level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a level between 0 and 1 such as 0.95, got {text!r}")
    return value


@dataclass
class _Gaps:
    """The rows kept with a gap in a feature (``--missing keep``): how many, and the first few (from 1)."""

    count: int = 0
    rows: int = 0
    first: list[int] = field(default_factory=list)

    def note(self) -> str | None:
        if not self.count:
            return None
        shown = ", ".join(map(str, self.first)) + (", ..." if self.count > SHOWN else "")
        return (
            f"{self.count:,} of {self.rows:,} rows {'have' if self.count > 1 else 'has'} a missing value in a feature: "
            f"{'their predictions are' if self.count > 1 else 'its prediction is'} left empty "
            f"(row{'s' if self.count > 1 else ''} {shown})"
        )


def run(args) -> int:
    import contextlib
    import sys

    from ..modelcheck import by_name, without_offsets
    from ..modelfile import load_model
    from ..tables import read_table, row_labels, table_chunks

    check_out(PROG, args.out, args.data, args.model)
    if args.level is not None and args.interval is None:
        raise UsageError(PROG, "--level is the level of the intervals: give --interval confidence or prediction")
    reading: contextlib.AbstractContextManager = contextlib.nullcontext()
    gaps, parquet = _Gaps(), str(args.out or "").lower().endswith((".parquet", ".pq"))
    passes: Iterator[tuple]  # (X, offset, carried) of each chunk of rows (offset: R's offset() terms, or None)
    with refused(PROG):
        model = load_model(args.model)
        intervals = _interval_options(model, args)
        formula = getattr(model, "formula", None) if model.features else None  # y ~ 1 reads no column
        labels = row_labels(args.data, sep=args.sep)
        carry = list(dict.fromkeys([*([labels] if labels is not None else []), *(args.keep or [])]))
        names_out = _output_names(model, carry, labels, parquet, intervals)
        options = dict(carry=carry, **table_options(args))
        if not formula and not model.coding:
            # every source streams (a file, compressed, a folder, standard input), a chunk (CHUNK_ROWS rows) at a time
            chunks, _ = table_chunks(args.data, target=None, features=model.features, **options)
            notes, passes = chunks.notes, ((X, None, carried) for X, _, carried in chunks.carrying()())
            # the bytes read, on a terminal, unless the predictions are written on that terminal
            reading = reading_bar(chunks, show=args.out not in (None, "-") or not sys.stdout.isatty())
        else:
            table = read_table(
                args.data,
                features=None if formula else model.columns or model.features,
                require_target=False,
                levels=model.coding or {},
                intercept=getattr(model, "fit_intercept", True),
                formula=formula,
                factors=getattr(model, "factors", None),
                **options,
            )
            names, features, offset = without_offsets(table.feature_names, table.features)
            X = by_name(model, names, features)  # the model's columns, matched by name
            chunks, notes, passes = None, table.notes, iter([(X, offset, table.carried)])
    for text in notes:
        note(PROG, text)
    columns = _predicted(model, passes, intervals, gaps, names_out)
    with reading:
        write_columns(PROG, columns, args.out)  # a file whose values do not fit the model is refused on the way
    for after in (gaps.note(), chunks.dropped_note if chunks is not None else None):
        if after:
            note(PROG, after)
    if args.out not in (None, "-"):  # on standard output, the predictions alone
        print(f"predictions written to {args.out}")
    return 0


def _interval_options(model, args) -> dict:
    """The keywords of ``prediction_columns`` that ``--interval`` and ``--level`` set; a model that gives
    no intervals is refused, saying why."""
    from ..modelfile import Model

    if args.interval is None:
        return {}
    if not isinstance(model, Model):
        raise ValueError(f"{args.model}: intervals are for linear regression, and this is a softmax regression model")
    if (why := model.no_intervals()) is not None:
        raise ValueError(f"{args.model}: {why}")
    if args.interval == "prediction" and (model.statistics or {}).get("weights"):  # R's lm(weights=) fit
        note(
            PROG,
            "the model was fitted with weights: the prediction intervals are those of a new row of weight 1 "
            "(σ̂² + x₀ᵀVx₀, as R's predict.lm assumes unless given the new rows' weights)",
        )
    return {"interval": args.interval, "level": 0.95 if args.level is None else args.level}


def _output_names(model, carry: list[str], labels: str | None, parquet: bool, intervals: dict) -> dict[str, str]:
    """The name each carried column is written under (row labels: "" in a CSV, pandas' index column in
    Parquet), refusing one that a prediction column would write over."""
    import numpy as np

    from ..tables.plan import PANDAS_INDEX

    out = {name: (PANDAS_INDEX if parquet else "") if name == labels else name for name in carry}
    predicted = model.prediction_columns(np.zeros((0, len(model.features))), **intervals)
    for written in out.values():
        if written in predicted:
            raise ValueError(
                f"column {written!r} of the data would be written over by the predictions' column of that name; "
                f"leave it out of --keep"
            )
    return out


def _predicted(model, passes, intervals: dict, gaps: _Gaps, names_out: dict) -> Iterator[dict]:
    """The columns written for each chunk of rows: the carried ones, then the predictions, the offset added
    (rows numbered through the file; a row with a gap, kept, gets no prediction)."""
    import numpy as np

    row = 1
    for X, offset, carried in passes:
        gap = np.isnan(X).any(axis=1)  # only under --missing keep: the reader refuses or drops them otherwise
        if offset is not None:
            gap |= np.isnan(offset)
        columns = model.prediction_columns(
            np.where(gap[:, None], 0.0, X) if gap.any() else X, first_row=row, **intervals
        )
        if offset is not None:  # the predictions and their bounds, each moved by the offset
            columns = {name: values + np.where(gap, 0.0, offset) for name, values in columns.items()}
        if gap.any():
            gaps.count += int(gap.sum())
            gaps.first += (row + np.flatnonzero(gap)[: SHOWN - len(gaps.first)]).tolist()
            columns = {name: _blanked(values, gap) for name, values in columns.items()}
        gaps.rows += len(X)
        yield {**{names_out[n]: v for n, v in carried.items()}, **columns}  # as read: text, None where missing
        row += len(X)


def _blanked(values, gap):
    """``values`` with the rows ``gap`` empty: a masked array of numbers, or None among class names."""
    import numpy as np

    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return np.ma.MaskedArray(values, mask=gap)
    return [None if g else v for v, g in zip(values, gap, strict=True)]

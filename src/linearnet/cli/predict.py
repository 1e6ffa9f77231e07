"""``linearnet predict``: apply a model file to the rows of a table."""

from __future__ import annotations

from collections.abc import Iterator

from .common import add_table_flags, check_out, note, reading_bar, refused, table_options, write_columns

PROG = "linearnet predict"


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
    add_table_flags(predict, missing=False)
    predict.set_defaults(handler=run)


def run(args) -> int:
    import contextlib
    import os
    import sys

    from ..modelfile import load_model
    from ..tables import read_table, table_chunks

    check_out(PROG, args.out, args.data, args.model)
    reading: contextlib.AbstractContextManager = contextlib.nullcontext()
    with refused(PROG):
        model = load_model(args.model)
        formula = getattr(model, "formula", None)
        # a plain file streams, a chunk (CHUNK_ROWS rows) at a time; categories and formulas need it whole
        if not formula and not model.coding and args.data != "-" and os.path.isfile(args.data):
            chunks, _ = table_chunks(args.data, target=None, features=model.features, **table_options(args))
            notes, columns = chunks.notes, _predicted(model, chunks())
            # the bytes read, on a terminal, unless the predictions are written on that terminal
            reading = reading_bar(chunks, show=args.out not in (None, "-") or not sys.stdout.isatty())
        else:
            table = read_table(
                args.data,
                features=None if formula else model.columns or model.features,
                require_target=False,
                levels=model.coding or {},
                formula=formula,
                **table_options(args),
            )
            notes, columns = table.notes, _predicted(model, [(table.features, None)])
    for text in notes:
        note(PROG, text)
    with reading:
        write_columns(PROG, columns, args.out)  # a file whose values do not fit the model is refused on the way
    if args.out not in (None, "-"):  # on standard output, the predictions alone
        print(f"predictions written to {args.out}")
    return 0


def _predicted(model, chunks) -> Iterator[dict]:
    """The prediction columns of each chunk of rows, rows numbered through the file."""
    row = 1
    for X, _ in chunks:
        yield model.prediction_columns(X, first_row=row)
        row += len(X)

"""``linearnet predict``: apply a model file to the rows of a table."""

from __future__ import annotations

from .common import add_table_flags, check_out, note, refused, table_options, write_columns

PROG = "linearnet predict"


def add_parser(commands) -> None:
    predict = commands.add_parser(
        "predict",
        help="predict with a model file",
        description="Predict the target for each row of DATA with a model file.",
    )
    predict.add_argument("data", metavar="DATA", help="a CSV or Parquet file with the model's feature columns")
    predict.add_argument("--model", required=True, metavar="MODEL", help="a model file from solve or train --out")
    predict.add_argument("--out", metavar="FILE", help="write CSV or Parquet (by extension); default stdout")
    add_table_flags(predict, missing=False)
    predict.set_defaults(handler=run)


def run(args) -> int:
    from ..modelfile import load_model
    from ..tables import read_table

    check_out(PROG, args.out, args.data, args.model)
    with refused(PROG):
        model = load_model(args.model)
        formula = getattr(model, "formula", None)
        table = read_table(
            args.data,
            features=None if formula else model.columns or model.features,
            require_target=False,
            levels=model.coding or {},
            formula=formula,
            **table_options(args),
        )
    for text in table.notes:
        note(PROG, text)
    with refused(PROG):  # a file whose columns do not fit the model is the user's to mend
        columns = model.prediction_columns(table.features)
    write_columns(PROG, columns, args.out)
    if args.out not in (None, "-"):  # on standard output, the predictions alone
        print(f"predictions written to {args.out}")
    return 0

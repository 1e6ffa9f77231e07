"""``linearnet solve``: the exact least-squares fit of a table, with statsmodels' statistics."""

from __future__ import annotations

import json
import sys
import warnings

from .common import (
    UsageError,
    add_memory_flag,
    add_table_flags,
    add_timeout_flag,
    check_out,
    names,
    note,
    reading_bar,
    refused,
    save_model,
    shared_chunks,
    shared_dropped_note,
    table_options,
    whole,
)

PROG = "linearnet solve"


def add_parser(commands) -> None:
    solve = commands.add_parser(
        "solve",
        help="exact least squares on a CSV or Parquet file, with statistics",
        description="Fit y = Xw + b exactly (scaled QR/Cholesky with iterative refinement) and report "
        "standard errors, t, p, 95% intervals, R², σ̂ as statsmodels does.",
    )
    solve.add_argument("data", metavar="DATA", help="a CSV or Parquet file (.gz, .bz2, .xz, .zst too), or - for stdin")
    solve.add_argument("--target", metavar="COL", help="the column to predict (required without --formula)")
    solve.add_argument(
        "--formula",
        metavar="FORMULA",
        help="a Wilkinson formula such as 'price ~ area + C(city) + np.log(age) + area:rooms' in place of "
        "--target and --features ('- 1' leaves out the intercept)",
    )
    solve.add_argument(
        "--features",
        type=names,
        action="extend",
        metavar="A,B,...",
        help="feature columns (repeated, they add up; default: every numeric column but the target)",
    )
    solve.add_argument("--no-intercept", action="store_true", help="fit y = Xw without b")
    solve.add_argument(
        "--allow-rank-deficient",
        action="store_true",
        help="return the minimum-norm solution when columns are linearly dependent",
    )
    solve.add_argument(
        "--chunk-rows",
        type=whole,
        metavar="N",
        help="read the file in chunks of about N rows (default: 50000 rows, for files over the memory budget)",
    )
    add_table_flags(solve)
    add_memory_flag(solve)
    add_timeout_flag(solve)
    solve.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    solve.add_argument("--out", metavar="MODEL", help="write the model file (the table is printed too)")
    solve.set_defaults(handler=run)


def run(args) -> int:
    if args.formula is None and args.target is None:
        raise UsageError(PROG, "the following arguments are required: --target (or --formula)")
    if args.formula is not None:
        for flag, given in (
            ("--target", args.target),
            ("--features", args.features),
            ("--chunk-rows", args.chunk_rows),
            ("--memory-budget", args.memory_budget),
        ):
            if given is not None:
                raise UsageError(
                    PROG, f"{flag} goes with columns, not --formula: the formula names the target and terms"
                )
        if args.no_intercept:
            raise UsageError(PROG, "--no-intercept goes with columns: write '- 1' in the formula instead")
    check_out(PROG, args.out, args.data)
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise UsageError(PROG, f"--chunk-rows must be a whole number >= 1, got {args.chunk_rows}")
    from ..tables import plan_read, read_table, table_chunks

    group = args.group
    if group is not None and args.formula is not None:
        raise UsageError(
            PROG, "--formula reads a file whole, in one process: name --target and --features under torchrun"
        )
    with refused(PROG):
        asked = args.chunk_rows is not None or group is not None  # else by the budget; a formula reads it whole
        chunked = True if asked else False if args.formula is not None else None
        plan = plan_read(args.data, args.memory_budget, chunked=chunked, chunk_rows=args.chunk_rows)
        stream = plan.chunked
        if stream:
            options = dict(target=args.target, features=args.features, chunk_rows=plan.chunk_rows)
            if group is not None:  # each process its share
                chunks, features = shared_chunks(group, args.data, **options, **table_options(args))
                notes = [*chunks.notes, f"{group.size} processes, each reading its share of the rows"]
            else:
                chunks, features = table_chunks(args.data, **options, **table_options(args))
                notes = [*([plan.note] if plan.note else []), *chunks.notes]
        else:
            table = read_table(
                args.data, target=args.target, features=args.features, formula=args.formula, **table_options(args)
            )
            notes = table.notes
    for text in notes:  # before the solve: a note about dropped rows explains a design left too small
        note(PROG, text)
    from ..leastsq import solve, solve_chunks

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if stream:
                with reading_bar(chunks):  # on a terminal: the bytes of each pass over the file
                    result = solve_chunks(
                        chunks,
                        features,
                        fit_intercept=not args.no_intercept,
                        allow_rank_deficient=args.allow_rank_deficient,
                        group=group,
                    )
            else:
                result = solve(
                    table.features,
                    table.target,
                    fit_intercept=not args.no_intercept and table.intercept,
                    feature_names=table.feature_names,
                    allow_rank_deficient=args.allow_rank_deficient,
                )
    except ValueError as exc:
        message = str(exc)
        if not message.startswith(f"{args.data}:"):  # about the design: say which file
            message = f"{args.data}: {message}"
        raise UsageError(PROG, message) from None
    dropped = shared_dropped_note(group, chunks) if group is not None else stream and chunks.dropped_note
    if dropped:  # known once a pass has read the file
        notes = [*notes, dropped]
        note(PROG, dropped)
    for w in caught:  # one line each, like the errors
        print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    if args.out and (group is None or group.rank == 0):
        model = result.to_model(target=args.target, data=args.data, table=None if stream else table)
        save_model(PROG, model, args.out, announce=False)
    if args.json:
        print(json.dumps({**result.to_dict(), "notes": notes}))
    else:
        print(result.summary())
        if args.out:
            print(f"model written to {args.out}")
    return 0

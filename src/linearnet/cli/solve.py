"""``linearnet solve``: the exact least-squares fit of a table, with statsmodels' statistics."""

from __future__ import annotations

import dataclasses
import json
import sys
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .common import (
    UsageError,
    add_memory_flag,
    add_table_flags,
    add_timeout_flag,
    check_out,
    check_outs,
    design_error,
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
from .weights import add_weights_flag, table_weights, weighted_note

if TYPE_CHECKING:
    from ..leastsq import OLSResult
    from ..tables import Table, TableChunks

PROG = "linearnet solve"
SE_TYPES = ("classical", "HC0", "HC1", "HC2", "HC3")


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
        "--model",
        choices=("linear", "softmax"),
        help="linear: least squares (default for a target of numbers); softmax: the multinomial logit, "
        "logistic regression for two classes (default for a target of text, dates, booleans or categories)",
    )
    solve.add_argument(
        "--reference",
        action="append",
        metavar="COL=LEVEL or CLASS",
        help="COL=LEVEL: the reference level of the category COL (default: the first, its levels sorted by code "
        "point; repeated, one a column); CLASS, with --model softmax: the class the others' log-odds are against "
        "(default: the first, in the order classes are sorted)",
    )
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
    solve.add_argument(
        "--se",
        choices=SE_TYPES,
        help="standard errors: classical (default), or heteroskedasticity-consistent HC0..HC3 as R's "
        "sandwich::vcovHC (HC1 scales by n/(n-k); HC2, HC3 weigh by the leverages)",
    )
    solve.add_argument(
        "--cluster",
        metavar="COL",
        help="cluster-robust standard errors by the values of COL, as R's sandwich::vcovCL(type = 'HC1'): "
        "G/(G-1)·(n-1)/(n-k) adjusted, p and intervals on n-k df as lmtest::coeftest",
    )
    add_weights_flag(solve, "weighted least squares as R's lm(weights=)")
    add_table_flags(solve)
    add_memory_flag(solve)
    add_timeout_flag(solve)
    solve.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    solve.add_argument("--out", metavar="MODEL", help="write the model file (the table is printed too)")
    solve.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw R's plot(lm) diagnostics of the fit into a .png, .pdf or .svg file (past 5,000 rows, a sample of "
        "the points; the statistics of every row)",
    )
    solve.set_defaults(handler=run)


def run(args) -> int:
    """Parse and check the flags, read the table (whole, or in chunks past the memory budget or under a
    launcher), solve, then print the table or, with ``--json``, one object: the statistics of
    :meth:`linearnet.leastsq.OLSResult.to_dict` (a statistic that is not a finite number is the string
    "NaN", "Infinity" or "-Infinity") and the ``notes`` said on stderr."""
    from . import logit

    args.reference, args.levels_reference = references(PROG, args.reference)
    if logit.wants_softmax(args):
        _check_flags(args)
        return logit.run(args)
    if args.reference is not None:
        raise UsageError(PROG, "--reference goes with --model softmax: least squares has no reference class")
    _check_flags(args)
    with refused(PROG):
        data = _read(args)
    for text in data.notes:  # before the solve: a note about dropped rows explains a design left too small
        note(PROG, text)
    result, caught = _solve(args, data)
    group = args.group
    dropped = shared_dropped_note(group, data.chunks) if group is not None else data.chunks and data.chunks.dropped_note
    if dropped:  # known once a pass has read the file
        data.notes.append(dropped)
        note(PROG, dropped)
    for text in result.notes:  # what the solve did beyond one pass over the file (refinement passes)
        data.notes.append(text)
        note(PROG, text)
    if args.weights:  # the fit's own conventions, and the rows of weight 0 it left out
        data.notes.append(weighted_note(args.weights, result.zero_weights))
        note(PROG, data.notes[-1])
    for w in caught:  # one line each, like the errors
        print(f"{PROG}: warning: {w.message}", file=sys.stderr)
    if args.plot:
        from .diagnostics import solve_diagnostics

        for text in solve_diagnostics(PROG, args, result, data.table, data.chunks):
            data.notes.append(text)
            note(PROG, text)
    if args.out and (group is None or group.rank == 0):
        from ..records import linear_model

        model = linear_model(result, target=args.target, data=args.data, table=data.table or data.chunks)
        save_model(PROG, model, args.out, announce=False)
    _print(args, result, data.notes)
    return 0


def references(prog: str, given: list[str] | None) -> tuple[str | None, dict[str, str] | None]:
    """``--reference`` split: the class (a value without ``=``, at most one) and the reference level of each
    category (``COL=LEVEL``, one a column)."""
    classes = [g for g in given or [] if "=" not in g]
    if len(classes) > 1:
        raise UsageError(prog, f"--reference names one class, got {', '.join(map(repr, classes))}")
    levels: dict[str, str] = {}
    for g in given or []:
        if "=" in g:
            column, level = g.split("=", 1)
            if column in levels:
                raise UsageError(prog, f"--reference names two levels for column {column!r}: give one")
            levels[column] = level
    return (classes[0] if classes else None), (levels or None)


def _check_flags(args) -> None:
    """Refuse flags that do not go together, before the file is opened."""
    if args.formula is None and args.target is None:
        raise UsageError(PROG, "the following arguments are required: --target (or --formula)")
    if args.formula is not None:
        for flag, given in (
            ("--target", args.target),
            ("--features", args.features),
        ):
            if given is not None:
                raise UsageError(
                    PROG, f"{flag} goes with columns, not --formula: the formula names the target and terms"
                )
        if args.no_intercept:
            raise UsageError(PROG, "--no-intercept goes with columns: write '- 1' in the formula instead")
    if args.cluster is not None and args.se not in (None, "HC1"):
        raise UsageError(
            PROG, f"--cluster gives sandwich's vcovCL errors of type HC1; --se {args.se} does not go with it"
        )
    check_out(PROG, args.out, args.data)
    check_outs(PROG, {"--out": args.out, "--plot": args.plot}, args.data, stdout="--json" if args.json else None)
    if args.plot is not None:
        from .diagnostics import check_picture

        check_picture(PROG, args.plot, args.data, args.out)
    if args.chunk_rows is not None and args.chunk_rows < 1:
        raise UsageError(PROG, f"--chunk-rows must be a whole number >= 1, got {args.chunk_rows}")


@dataclass
class _Data:
    """The table read whole (``table``), or opened for passes in chunks (``chunks`` and ``features``)."""

    notes: list[str]
    table: Table | None = None
    chunks: TableChunks | None = None
    features: list[str] = field(default_factory=list)


def _read(args) -> _Data:
    """Read the file whole, or open it in chunks: when --chunk-rows is given, under a launcher (each
    process its share of the rows), or when read whole it would pass the memory budget (the library's
    plan). Categories and a formula's categorical terms are coded by the levels a first pass finds (under a
    launcher, over every process's share)."""
    from ..tables import plan_read, read_table, table_chunks

    group = args.group
    asked = args.chunk_rows is not None or group is not None
    chunked = True if asked else None
    plan = plan_read(args.data, args.memory_budget, chunked=chunked, chunk_rows=args.chunk_rows)
    carried = list(dict.fromkeys(c for c in (args.cluster, args.weights) if c))  # clusters, weights: columns in use
    carry: dict = dict(carry=carried, carried_in_use=True) if carried else {}
    if not plan.chunked:
        table = read_table(
            args.data,
            target=args.target,
            features=args.features,
            formula=args.formula,
            intercept=not args.no_intercept,
            reference=args.levels_reference,
            **table_options(args),
            **carry,
        )
        return _Data(list(table.notes), table=table)
    options = dict(target=args.target, features=args.features, chunk_rows=plan.chunk_rows, **carry)
    coding = dict(intercept=not args.no_intercept, reference=args.levels_reference)
    if args.formula is not None:
        options.update(formula=args.formula, target=None, features=None)
    if group is not None:  # each process its share
        chunks, features = shared_chunks(
            group, args.data, **options, **table_options(args), **coding, budget=plan.budget
        )
        return _Data(
            [*chunks.notes, f"{group.size} processes, each reading its share of the rows"], None, chunks, features
        )
    chunks, features = table_chunks(args.data, **options, **table_options(args), **coding, memory_budget=plan.budget)
    return _Data([*([plan.note] if plan.note else []), *chunks.notes], None, chunks, features)


def _solve(args, data: _Data) -> tuple[OLSResult, list[warnings.WarningMessage]]:
    """The fit, and the warnings it gave (rank deficiency, ill-conditioning); the library's refusal of the
    data as a user error that names the file."""
    from ..leastsq import solve, solve_chunks

    cov_type = "cluster" if args.cluster else args.se or "classical"
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if data.table is None:
                assert data.chunks is not None
                with reading_bar(data.chunks):  # on a terminal: the bytes of each pass over the file
                    result = solve_chunks(
                        data.chunks.carrying() if args.weights else data.chunks,
                        data.features,
                        fit_intercept=not args.no_intercept and data.chunks.intercept,
                        allow_rank_deficient=args.allow_rank_deficient,
                        group=args.group,
                        cov_type=cov_type,
                        groups=args.cluster,  # the carried column of that name
                        weights=args.weights,
                    )
            else:
                weights = table_weights(args.data, args.weights, data.table) if args.weights else None
                result = solve(
                    data.table.features,
                    data.table.target,
                    fit_intercept=not args.no_intercept and data.table.intercept,
                    feature_names=data.table.feature_names,
                    allow_rank_deficient=args.allow_rank_deficient,
                    cov_type=cov_type,
                    groups=data.table.carried[args.cluster] if args.cluster else None,
                    weights=weights,
                )
                if args.weights:
                    result = dataclasses.replace(result, weights=args.weights)
    except ValueError as exc:
        raise design_error(PROG, args.data, exc) from None
    return result, caught


def _print(args, result: OLSResult, notes: list[str]) -> None:
    if args.json:
        print(json.dumps({**result.to_dict(), "notes": notes}))
    else:
        print(result.summary())
        if args.out:
            print(f"model written to {args.out}")
        if args.plot:
            print(f"picture written to {args.plot}")

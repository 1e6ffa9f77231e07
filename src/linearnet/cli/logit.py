"""``linearnet solve --model softmax``: the multinomial logit of a table (two classes: logistic regression)
to its optimum, with R's and statsmodels' statistics (:mod:`linearnet.logit`)."""

from __future__ import annotations

import json
import sys

from .common import UsageError, design_error, note, reading_bar, refused, save_model, table_options

PROG = "linearnet solve"
_LINEAR_ONLY = (("--se", "se"), ("--cluster", "cluster"), ("--weights", "weights"), ("--plot", "plot"))
LABEL_KINDS = ("text", "date", "boolean", "category")  # a target of these holds classes


def wants_softmax(args) -> bool:
    """Whether ``solve`` fits the multinomial logit: ``--model softmax``, or no ``--model`` and a target
    (``--target``, or a formula's left side) that holds text, dates, booleans or categories: class labels,
    which least squares cannot fit (a note says so)."""
    if args.model is not None:
        return args.model == "softmax"
    target = args.target
    if target is None and args.formula is not None and "~" in args.formula:
        target = args.formula.split("~", 1)[0].strip().strip("`")  # `Solar.R` ~ x: the column Solar.R
    if not target:
        return False
    from ..tables import column_kind

    kind = column_kind(args.data, target, sep=args.sep, decimal=args.decimal)
    if kind not in LABEL_KINDS:
        return False
    note(
        PROG,
        f"column {target!r} holds {'dates' if kind == 'date' else kind + ' values' if kind != 'text' else 'text'}:"
        f" fitting the multinomial logit (classification) on it, as --model softmax does",
    )
    return True


def check_flags(args) -> None:
    """Refuse the flags of least squares alone, before the file is opened."""
    for flag, name in _LINEAR_ONLY:
        if getattr(args, name, None) is not None:
            raise UsageError(PROG, f"{flag} goes with least squares (--model linear), not --model softmax")


def run(args) -> int:
    """Read the table (whole, or in chunks past the memory budget or under a launcher), fit, print the
    tables or the JSON, write the model file. Without a finite optimum (separated classes) or when
    Newton's method did not converge, the table is printed, nothing is written, and the exit status is 1."""
    check_flags(args)
    with refused(PROG):
        data = _read(args)
    for text in data.notes:
        note(PROG, text)
    result = _solve(args, data)
    notes = [*data.notes, *result.notes]
    for text in result.notes:
        note(PROG, text)
    group = args.group
    if args.json:
        print(json.dumps({**result.to_dict(), "notes": notes}))
    else:
        print(result.summary())
    if not result.converged:
        what = f"no finite optimum: {result.separation}" if result.separation else "Newton's method did not converge"
        print(f"{PROG}: {what}{'; no model written' if args.out else ''}", file=sys.stderr)
        return 1
    if args.out and (group is None or group.rank == 0):
        from ..records import logit_model

        model = logit_model(result, target=data.target, data=args.data, table=data.table)
        save_model(PROG, model, args.out, announce=not args.json)
    return 0


class _Data:
    """The table read whole (``table``), or opened for passes in chunks (``chunks``, ``features``, ``classes``)."""

    def __init__(self, notes, target, table=None, chunks=None, features=None, classes=None):
        self.notes, self.target, self.table = notes, target, table
        self.chunks, self.features, self.classes = chunks, features or [], classes or []


def _read(args) -> _Data:
    from ..tables import plan_read, read_table

    group = args.group
    asked = args.chunk_rows is not None or group is not None
    chunked = True if asked else False if args.formula is not None else None
    plan = plan_read(args.data, args.memory_budget, chunked=chunked, chunk_rows=args.chunk_rows)
    if not plan.chunked:
        table = read_table(
            args.data,
            target=args.target,
            features=args.features,
            formula=args.formula,
            labels=True,
            intercept=not args.no_intercept,
            reference=args.levels_reference,
            **table_options(args),
        )
        return _Data(list(table.notes), table.target_name, table=table)
    return _read_chunks(args, plan)


def _read_chunks(args, plan) -> _Data:
    """The file opened for passes in chunks, its target read as class labels: their names are found first by
    a pass over the target column (under a launcher, every process's share's labels, joined)."""
    from ..tables import table_chunks, target_classes
    from .shares import shared_chunks, shared_classes

    group = args.group
    if args.data == "-":
        raise UsageError(
            PROG,
            "--model softmax in chunks passes over the target column for its classes before the rows, and "
            "standard input can be read once: save it to a file, or read it whole (a larger --memory-budget)",
        )
    options = dict(target=args.target, chunk_rows=plan.chunk_rows, **table_options(args))
    if group is None:
        features = table_chunks(args.data, features=args.features, **options)[0].columns  # the default ones, named
        classes = target_classes(args.data, args.target, features=features, **table_options(args))
        chunks, features = table_chunks(args.data, features=features, classes=classes, **options)
        return _Data([*([plan.note] if plan.note else []), *chunks.notes], args.target, None, chunks, features, classes)
    features = shared_chunks(group, args.data, features=args.features, **options)[0].columns
    classes = shared_classes(group, args.data, args.target, features=features, **table_options(args))
    chunks, features = shared_chunks(group, args.data, features=features, classes=classes, **options)
    notes = [*chunks.notes, f"{group.size} processes, each reading its share of the rows"]
    return _Data(notes, args.target, None, chunks, features, classes)


def _solve(args, data: _Data):
    from ..logit import solve_logit, solve_logit_chunks

    intercept = not args.no_intercept
    try:
        if data.table is None:
            with reading_bar(data.chunks):
                return solve_logit_chunks(
                    data.chunks,
                    data.features,
                    classes=data.classes,
                    fit_intercept=intercept,
                    allow_rank_deficient=args.allow_rank_deficient,
                    reference=args.reference,
                    group=args.group,
                    drop_empty_classes=True,
                )
        table = data.table
        return solve_logit(
            table.features,
            table.target,
            classes=table.classes,
            feature_names=table.feature_names,
            fit_intercept=intercept and table.intercept,
            allow_rank_deficient=args.allow_rank_deficient,
            reference=args.reference,
            drop_empty_classes=True,  # class numbers 1..5 number a class 0: the classes the data hold, said
        )
    except ValueError as exc:
        raise design_error(PROG, args.data, exc) from None

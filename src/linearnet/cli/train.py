"""``linearnet train``: minibatch SGD on synthetic data, on a table, or on an image data set."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import MAX_EPOCHS, PATIENCE, VALIDATION_FRACTION, SameEverywhereError
from ..presets import DATASET_PRESETS
from . import train_flags
from .common import (
    UsageError,
    check_out,
    check_outs,
    note,
    refused,
    run_training,
    save_model,
    shared_chunks,
    shared_dropped_note,
    table_options,
    write_figure,
)
from .compare import EXACT_FIT, above_exact, exact_loss, exact_softmax_loss
from .train_flags import (
    PROG,
    SYNTHETIC_FLAGS,
    TRAIN_FLAGS,
    check_plot_flags,
    check_stopping_flags,
    image_dataset,
    level_references,
    run_mode,
)
from .weights import carry_options, training_weights, weighted_note

if TYPE_CHECKING:
    from ..training.stopping import StoppingRule


def _stopping(args, model: str) -> tuple[dict, StoppingRule | None]:
    """The epochs override and the stopping rule of a run on the user's data."""
    from ..training.stopping import StoppingRule

    if args.epochs is not None:
        return {}, None
    return {"epochs": args.max_epochs or MAX_EPOCHS}, StoppingRule.for_model(model, args.tol)


def _held_out(args) -> float | None:
    """The share of rows held out for early stopping, or None without --early-stopping."""
    if not args.early_stopping:
        return None
    return VALIDATION_FRACTION if args.validation_fraction is None else args.validation_fraction


def _stopped_line(result, rule, args) -> tuple[str | None, str | None]:
    """(a line for stdout saying the run converged, a warning for stderr saying it did not)."""
    if rule is None:
        return None, None
    epochs = len(result.history.losses)
    watched = "the loss on the rows held out" if args.early_stopping else "the loss"
    if rule.met and result.converged is False:  # settled where it started: the weights hardly moved
        return None, (
            f"not converged: in {epochs} epochs the loss fell by less than {rule.tol:g} of the "
            f"{result.history.before:.6g} before training{' (or of 1 nat)' if rule.floor else ''}, and settled "
            f"there; the learning rate {result.config.lr:g} hardly moves the weights (unless they started at the "
            f"optimum): try a larger one"
        )
    if rule.met:
        return (
            f"converged in {epochs} epochs: {watched} improved by less than {rule.tol:g} of its best"
            f"{' (or of 1 nat)' if rule.floor else ''} for {PATIENCE} epochs",
            None,
        )
    return None, (
        f"not converged in {epochs} epochs (--max-epochs): {watched} was still improving by more than "
        f"{rule.tol:g} of its best{' (or of 1 nat)' if rule.floor else ''}; raise --max-epochs, or --lr if it "
        f"moves slowly"
    )


# --- the three runs ---------------------------------------------------------------------------


def add_parser(commands) -> None:
    train_flags.add_parser(commands, run)


def run(args) -> int:
    mode = run_mode(args)
    if mode == "data" and _labels_in(args):
        args.model = "softmax"  # the target holds class names: classification is the only fit for it
        mode = run_mode(args)
    check_plot_flags(args)
    check_stopping_flags(args)
    check_out(PROG, args.out, args.data)
    outputs = {"--out": args.out, "--plot": args.plot, "--plot-predictions": args.plot_predictions}
    check_outs(PROG, outputs, args.data, stdout="--json" if args.json else None)  # distinct: none loses another
    return {"synthetic": _synthetic, "data": _table, "classifier": _classifier}[mode](args)


def _labels_in(args) -> bool:
    """Whether a --data run with no --model (or preset, or formula) names a target of text or dates: class
    labels, which linear regression cannot fit, so softmax regression trains on them (a note says so)."""
    if args.model is not None or args.preset is not None or args.formula is not None:
        return False
    from ..tables import column_kind

    kind = column_kind(args.data, args.target, sep=args.sep, decimal=args.decimal)
    if kind not in ("text", "date"):
        return False
    note(
        PROG,
        f"column {args.target!r} holds {'text' if kind == 'text' else 'dates'}: training softmax regression "
        f"(classification) on it, as --model softmax does",
    )
    return True


def _overrides(args, flags) -> dict:
    return {name: getattr(args, name) for name in flags}


def _synthetic(args) -> int:
    from ..presets import make_experiment

    with refused(PROG):
        experiment = make_experiment(args.preset, seed=args.seed, **_overrides(args, SYNTHETIC_FLAGS + TRAIN_FLAGS))
    from ..experiment import run_experiment  # imports torch

    result = run_training(
        PROG,
        experiment.train.epochs,
        lambda on_epoch, on_rows: run_experiment(
            experiment, on_epoch=on_epoch, on_rows=on_rows, record_steps=args.plot_steps, group=args.group
        ),
        quiet=args.json,
        out=None,
    )
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"error in estimating w: [{', '.join(f'{e:f}' for e in result.w_error)}]")
        print(f"error in estimating b: {result.b_error:f}")
    _plot_history(args, result.history, floor=experiment.noise_floor)
    return 0


@dataclass
class _Read:
    """A file opened for training: read whole (``table``) or in chunks (``chunks``, maybe this process's share)."""

    table: Any
    chunks: Any
    columns: list[str]
    notes: list[str]
    num_values: int  # rows × features, or about so many for chunks
    weights: Any = None  # the rows' weights (--weights), of a table read whole


def _table(args) -> int:
    from ..presets import data_config, make_train_config
    from ..tables import plan_read

    standardize = not args.no_standardize
    epochs, rule = _stopping(args, "linear")
    group = args.group
    _refuse_launched(args, group)
    with refused(PROG):
        chunked = True if args.stream or group is not None else False if args.formula is not None else None
        plan = plan_read(args.data, args.memory_budget, chunked=chunked)  # else by the budget
        settings = make_train_config(args.preset, **_overrides(args, TRAIN_FLAGS))  # answered before the read
        if settings.shuffle == "blocks" and plan.chunked:  # refused alike by all processes, said once
            raise SameEverywhereError(
                f"{args.data}: --shuffle blocks orders rows held in memory, and this file is read in chunks "
                f"(--stream, a launcher, or a file beyond the memory budget), visited in the stream's own order "
                f"(its chunks in a random order, mixed through a shuffle buffer); leave out --shuffle blocks"
            )
        if group is not None:  # and before the processes exchange anything: refused alike by all, said once
            from ..distributed import local_batch

            local_batch(settings.batch_size, group.rank, group.size)
        read = _read(args, group, plan)
        config = data_config(
            args.preset,
            num_values=read.num_values,
            num_features=len(read.columns),
            standardize=standardize,
            weighted=read.weights is not None,
            **{**_overrides(args, TRAIN_FLAGS), **epochs},
        )
    if read.weights is not None:
        read.notes = [*read.notes, weighted_note(args.weights, int((read.weights == 0).sum()), sgd=True)]
    for text in read.notes:
        note(PROG, text)
    held_out = _held_out(args)
    train = _table_fit(args, read, plan, config, rule, standardize, held_out)
    result = run_training(PROG, config.epochs, _advised(train, standardize), quiet=args.json, out=args.out)
    if result is None:
        return 1
    chunks = read.chunks
    dropped = shared_dropped_note(group, chunks) if group is not None else chunks is not None and chunks.dropped_note
    if dropped:  # known once a pass has read the file
        read.notes = [*read.notes, dropped]
        note(PROG, dropped)
    converged, unsettled = _stopped_line(result, rule, args)
    if unsettled:
        print(f"{PROG}: warning: {unsettled}", file=sys.stderr)
    exact = None
    if not args.no_compare_exact:
        exact, left_out = exact_loss(
            config, read.table, chunks, read.columns, held_out, args.seed, group, read.weights, budget=plan.budget
        )
        read.notes = [*read.notes, *([left_out] if left_out else [])]
    if args.out:
        model = result.to_model(target=args.target, data=args.data, table=read.table or read.chunks)
        save_model(PROG, model, args.out, announce=False)
    _print_table_fit(args, result, read, converged, exact)
    _plot_history(args, result.history, floor=exact, floor_label="exact least-squares loss")
    return 0


def _refuse_launched(args, group) -> None:
    """Under a launcher each process reads a share of the rows: refuse what needs the whole table."""
    if group is None:
        return
    for flag, given in (("--formula", args.formula), ("--early-stopping", args.early_stopping or None)) + (
        ("--weights", args.weights),
    ):
        if given is not None:
            raise UsageError(PROG, f"{flag} needs the whole table in one process: under torchrun each reads its share")


def _read(args, group, plan) -> _Read:
    """The file, read as training needs it: this process's share under a launcher, in chunks when the
    ``plan`` (:func:`linearnet.tables.plan_read`) says so, whole otherwise."""
    from ..tables import read_table, table_chunks, table_values

    columns_read = dict(target=args.target, features=args.features, chunk_rows=plan.chunk_rows)
    options = dict(columns_read, reference=level_references(args), **table_options(args))
    if group is not None:
        chunks, columns = shared_chunks(group, args.data, **options)
        notes = [*chunks.notes, f"{group.size} processes, each reading its share of the rows"]
        return _Read(None, chunks, columns, notes, table_values(args.data, sep=args.sep, decimal=args.decimal) or 0)
    if plan.chunked:
        chunks, columns = table_chunks(args.data, **options)
        notes = [*([plan.note] if plan.note else []), *chunks.notes]
        if args.weights:
            raise ValueError(
                f"{args.data}: --weights trains on a file read whole, not on one read in chunks; "
                f"give a --memory-budget it fits in, or leave out --stream"
            )
        if args.early_stopping:
            raise ValueError(
                f"{args.data}: --early-stopping holds rows out of a file read whole, not of one read in chunks; "
                f"give a --memory-budget it fits in, or leave out --stream"
            )
        return _Read(None, chunks, columns, notes, table_values(args.data, sep=args.sep, decimal=args.decimal) or 0)
    table = read_table(
        args.data,
        target=args.target,
        features=args.features,
        formula=args.formula,
        reference=level_references(args),
        **table_options(args),
        **carry_options(args),
    )
    if not table.intercept:
        raise ValueError("SGD fits an intercept: leave '- 1' out of the formula (solve fits without one)")
    weights = training_weights(args.data, args.weights, table) if args.weights else None
    return _Read(table, None, table.feature_names, table.notes, table.features.size, weights)


def _table_fit(args, read: _Read, plan, config, rule, standardize: bool, held_out: float | None):
    """The fit of the file as ``run_training`` calls it: ``train(on_epoch, on_rows)``."""
    from ..training import fit_arrays, fit_chunks

    def train(on_epoch, on_rows):
        common = dict(
            feature_names=read.columns,
            seed=args.seed,
            standardize=standardize,
            on_epoch=on_epoch,
            on_rows=on_rows,
            record_steps=args.plot_steps,
            stopping=rule,
        )
        if read.chunks is not None:
            row_bytes = 4 * (len(read.columns) + 1)  # float32 features and label
            buffer_rows = max(2 * plan.chunk_rows, config.batch_size, plan.budget // 128 // row_bytes)
            return fit_chunks(read.chunks, config, buffer_rows=buffer_rows, group=args.group, **common)
        return fit_arrays(
            read.table.features,
            read.table.target,
            config,
            validation_fraction=held_out,
            weights=read.weights,
            **common,
        )

    return train


def _print_table_fit(args, result, read: _Read, converged: str | None, exact: float | None) -> None:
    """The fit on stdout: one JSON object, or the verdict, the comparison with the exact loss and the weights."""
    sgd_loss = result.history.losses[-1]
    if args.json:
        exact_fit = exact is not None and exact <= EXACT_FIT * sgd_loss
        excess = None if exact is None or exact_fit else sgd_loss / exact - 1
        compared = {"exact_loss": exact, "excess": excess} if exact is not None else {}
        print(json.dumps({**result.to_dict(), **compared, "notes": read.notes}))
        return
    if converged:
        print(converged)
    if exact is not None:
        print(
            f"training loss {sgd_loss:.6g}; the exact least-squares loss is {exact:.6g}{above_exact(sgd_loss, exact)}"
        )
    width = max(len(n) for n in ["intercept", *read.columns])
    print(f"{'intercept':<{width}}  {result.b:.6g}")
    for name, w in zip(read.columns, result.w, strict=True):
        print(f"{name:<{width}}  {w:.6g}")
    if args.out:
        print(f"model written to {args.out}")


def _advised(train, standardize: bool):
    """``train``, whose divergence message also names unscaled features when they were not standardized."""
    from ..training import DivergedError

    def advised(on_epoch, on_rows):
        try:
            return train(on_epoch, on_rows)
        except DivergedError as exc:
            if not standardize:
                exc.args = (
                    f"{exc.args[0]}; the features were not standardized, the likely cause: leave out "
                    f"--no-standardize before trying smaller rates",
                )
            raise

    return advised


def _classifier(args) -> int:
    from ..presets import make_train_config

    dataset = image_dataset(args)
    preset = args.preset or DATASET_PRESETS[dataset or "digits"]  # a labelled file: the digits recipe
    # the user's labelled file: standardized, and run until the loss settles (images keep their recipes)
    epochs, rule = _stopping(args, "softmax") if args.data is not None else ({}, None)
    standardize = args.data is not None and not args.no_standardize
    with refused(PROG):
        config = make_train_config(
            preset, **{**_overrides(args, TRAIN_FLAGS), **epochs, "model": "softmax", "loss": "cross_entropy"}
        )
        data, table, notes = _labelled_data(args, dataset)
        if table is not None and args.preset is None:  # the library's settings for these data (its engine)
            from ..presets import data_config

            config = data_config(
                model="softmax", num_values=table.features.size, **{**_overrides(args, TRAIN_FLAGS), **epochs}
            )
    for text in notes:
        note(PROG, text)
    from ..training import fit_classifier

    result = run_training(
        PROG,
        config.epochs,
        lambda on_epoch, on_rows: fit_classifier(
            data.X_train,
            data.y_train,
            config,
            X_test=data.X_test,
            y_test=data.y_test,
            num_classes=len(data.classes),
            classes=data.classes,
            feature_names=data.feature_names,
            seed=args.seed,
            on_epoch=on_epoch,
            on_rows=on_rows,
            standardize=standardize,
            stopping=rule,
            validation_fraction=_held_out(args),
            group=args.group,
        ),
        quiet=args.json,
        out=args.out,
    )
    if result is None:
        return 1
    _report_classifier(args, result, rule, data, table, dataset, notes)
    return 0


def _labelled_data(args, dataset: str | None):
    """(the classification data, the table they came from or None for images, notes to print)."""
    from .. import datasets

    if dataset == "digits":
        return datasets.load_digits(seed=args.seed), None, []
    if dataset == "fashion-mnist":
        return datasets.load_fashion_mnist(args.data_dir), None, []
    from ..tables import plan_read, read_table

    over = plan_read(args.data, args.memory_budget, streamed=False).note  # what a whole read costs
    options = dict(labels=True, reference=level_references(args), **table_options(args))
    table = read_table(args.data, target=args.target, features=args.features, **options)
    notes = [*([over] if over else []), *table.notes]
    if args.group is not None:
        notes.append(
            f"softmax regression reads the file whole in each of the {args.group.size} processes, which "
            f"split every batch between them (linear regression reads a share each)"
        )
    return datasets.from_table(table, seed=args.seed), table, notes


def _report_classifier(args, result, rule, data, table, dataset: str | None, notes: list[str]) -> None:
    """The verdict, the model file, the pictures and the JSON of a softmax run."""
    converged, unsettled = _stopped_line(result, rule, args)
    if unsettled:
        print(f"{PROG}: warning: {unsettled}", file=sys.stderr)
    if converged and not args.json:
        print(converged)
    exact = None
    if not args.no_compare_exact and table is not None:
        from ..tables import plan_read

        budget = plan_read(args.data, args.memory_budget, streamed=False).budget
        exact, left_out = exact_softmax_loss(data, _held_out(args), args.seed, budget=budget)
        notes.extend([left_out] if left_out else [])
    compared = _softmax_compared(args, result.history.losses[-1], exact)
    if args.out:
        save_model(
            PROG,
            result.to_model(target=args.target, data=args.data or dataset, table=table),
            args.out,
            announce=not args.json,
        )
    if args.plot_predictions:
        from ..plot import plot_predictions

        shown = data.X_test[:18]
        predicted = result.predict_proba(shown).argmax(axis=1)
        write_figure(
            PROG,
            plot_predictions(shown, data.y_test[:18], predicted, data.classes, image_shape=data.image_shape),
            args.plot_predictions,
            announce=not args.json,
        )
    if args.json:
        print(json.dumps({**result.to_dict(), **compared, "notes": notes}))
    _plot_history(args, result.history, floor=None if exact is None else exact[0], floor_label="exact optimum's loss")


def _softmax_compared(args, sgd_loss: float, exact: tuple[float, str | None] | None) -> dict:
    """SGD's loss beside the exact optimum's (the multinomial logit of the same rows): printed, and the
    JSON's ``exact_loss``, ``excess`` and ``separated``."""
    if exact is None:
        return {}
    loss, separation = exact
    if separation:
        if not args.json:
            print(
                f"training loss {sgd_loss:.6g}; the exact optimum does not exist: {separation}; the loss "
                f"approaches {loss:.3g} or less"
            )
        return {"exact_loss": loss, "excess": None, "separated": True}
    if not args.json:
        print(f"training loss {sgd_loss:.6g}; the exact optimum's loss is {loss:.6g}{above_exact(sgd_loss, loss)}")
    exact_fit = loss <= EXACT_FIT * sgd_loss
    return {"exact_loss": loss, "excess": None if exact_fit else sgd_loss / loss - 1, "separated": False}


def _plot_history(args, history, *, floor, floor_label: str = "noise floor") -> None:
    """The loss per epoch (and, for softmax regression, the train and test accuracies) in ``--plot``."""
    if not args.plot:
        return
    from ..plot import plot_loss

    accuracies = {"train acc": history.train_acc, "test acc": history.test_acc} if history.train_acc else None
    fig = plot_loss(
        history.losses,
        steps=history.step_losses if args.plot_steps else None,
        floor=floor,
        floor_label=floor_label,
        accuracies={k: v for k, v in accuracies.items() if v} if accuracies else None,
        title="training loss and accuracy" if accuracies else "training loss",
    )
    write_figure(PROG, fig, args.plot, args.plot_size, announce=not args.json)  # --json: stdout is the JSON

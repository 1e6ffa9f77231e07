"""``linearnet train``: minibatch SGD on synthetic data, on a table, or on an image data set."""

from __future__ import annotations

import json
import sys
import warnings
from typing import TYPE_CHECKING

from ..config import IMPLS, MAX_EPOCHS, NOISE_DISTS, PATIENCE, TOL, VALIDATION_FRACTION
from ..presets import CLASSIFIER_PRESETS, DATASET_PRESETS, DEFAULT_PRESET
from .common import (
    UsageError,
    add_memory_flag,
    add_table_flags,
    add_timeout_flag,
    check_figure_path,
    check_out,
    names,
    note,
    number,
    numbers,
    refused,
    run_training,
    save_model,
    seed,
    shared_chunks,
    shared_dropped_note,
    size,
    table_options,
    whole,
    write_figure,
)

if TYPE_CHECKING:
    from ..training.stopping import StoppingRule

PROG = "linearnet train"
STOPPING_FLAGS = (
    "standardize",
    "no_standardize",
    "max_epochs",
    "tol",
    "early_stopping",
    "validation_fraction",
    "no_compare_exact",
)
SYNTHETIC_FLAGS = ("true_w", "true_b", "num_examples", "num_features", "noise", "noise_dist")
TRAIN_FLAGS = ("lr", "batch_size", "epochs", "impl", "weight_decay", "loss", "huber_delta", "lr_schedule", "lr_decay")
DATASETS = tuple(sorted(DATASET_PRESETS))


def add_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train linear or softmax regression by minibatch SGD (default: the book's section 3.2 on synthetic data)",
        description="Train by minibatch SGD: linear regression on synthetic data y = Xw + b + ε (with no "
        f"flags, preset {DEFAULT_PRESET}) or on a CSV/Parquet file (--data), or softmax regression "
        "on an image data set (--dataset) or a labelled file (--model softmax --data). Flags "
        "override a preset's values.",
        epilog="Negative values in a list need the = form: --true-w=-3.4,2.",
    )
    train.add_argument("--preset", metavar="NAME", help=f"a preset from `linearnet presets` (default {DEFAULT_PRESET})")
    data = train.add_argument_group("synthetic data (linear regression)")
    data.add_argument("--true-w", type=numbers, metavar="W1,W2,...", help="true weights")
    data.add_argument("--true-b", type=number, metavar="B", help="true bias")
    data.add_argument("--num-examples", type=whole, metavar="N", help="rows")
    data.add_argument(
        "--num-features",
        type=whole,
        metavar="D",
        help="features; without --true-w the true weights are drawn from the seed",
    )
    data.add_argument("--noise", type=number, metavar="S", help="noise scale (σ, or b for Laplace)")
    data.add_argument("--noise-dist", metavar="{" + ",".join(NOISE_DISTS) + "}", help="noise distribution")
    table = train.add_argument_group("your data")
    table.add_argument("--data", metavar="FILE", help="train on a CSV or Parquet file instead of synthetic data")
    table.add_argument("--target", metavar="COL", help="with --data: the column to predict (or the class labels)")
    table.add_argument(
        "--features",
        type=names,
        action="extend",
        metavar="A,B,...",
        help="with --data: feature columns (repeated, they add up; default: every numeric column but the target)",
    )
    table.add_argument(
        "--formula",
        metavar="FORMULA",
        help="with --data, linear regression: a Wilkinson formula such as 'price ~ area + C(city)' in place of "
        "--target and --features",
    )
    table.add_argument(
        "--standardize",
        action="store_true",
        help="with --data: train on centred, unit-variance features, reporting original units (the default)",
    )
    table.add_argument("--no-standardize", action="store_true", help="with --data: train on the features as they are")
    add_table_flags(train)
    add_memory_flag(train, stream=True)
    add_timeout_flag(train)
    fit = train.add_argument_group("training")
    fit.add_argument("--lr", type=number, help="learning rate")
    fit.add_argument("--batch-size", type=whole, metavar="B", help="rows per SGD step")
    fit.add_argument(
        "--epochs",
        type=whole,
        metavar="E",
        help="passes over the data, exactly (with --data the default is to stop once the loss settles)",
    )
    fit.add_argument(
        "--max-epochs",
        type=whole,
        metavar="E",
        help=f"with --data: stop here if the loss has not settled by then (default {MAX_EPOCHS})",
    )
    fit.add_argument(
        "--tol",
        type=number,
        metavar="T",
        help=f"with --data: the loss has settled once it improves on its best by less than T·|best| "
        f"(softmax: T·max(|best|, 1 nat)) for {PATIENCE} epochs (default {TOL['linear']:g}, softmax "
        f"{TOL['softmax']:g})",
    )
    fit.add_argument(
        "--early-stopping",
        action="store_true",
        help="with --data: hold out --validation-fraction of the rows and stop once the loss on them settles",
    )
    fit.add_argument(
        "--validation-fraction",
        type=number,
        metavar="F",
        help=f"with --early-stopping: the share of rows held out (default {VALIDATION_FRACTION:g})",
    )
    fit.add_argument(
        "--no-compare-exact",
        action="store_true",
        help="with --data, linear regression: skip the solve that says how far SGD's loss is from the optimum",
    )
    fit.add_argument(
        "--loss",
        metavar="{half_squared,squared,l1,huber}",
        help="linear regression's loss (default: the preset's; l1 is the MLE under Laplace noise)",
    )
    fit.add_argument("--huber-delta", type=number, metavar="δ", help="with --loss huber (default 1)")
    fit.add_argument(
        "--lr-schedule",
        metavar="{constant,step,inverse-time}",
        help="constant (default), step: lr·decay^(epoch−1), inverse-time: lr / (1 + decay·(epoch−1))",
    )
    fit.add_argument("--lr-decay", type=number, metavar="D", help="the schedule's decay (default 0.5)")
    fit.add_argument(
        "--weight-decay", type=number, metavar="λ", help="L2 weight decay on the weights, not the bias (default 0)"
    )
    fit.add_argument(
        "--impl",
        metavar="{" + ",".join(IMPLS) + "}",
        help="implementation (default: the preset's; fast for data of 1e6+ values)",
    )
    fit.add_argument(
        "--seed",
        type=seed,
        default=0,
        metavar="N",
        help="fixes the data, the initial weights and the order (default 0)",
    )
    softmax = train.add_argument_group("softmax regression")
    softmax.add_argument(
        "--model", metavar="{linear,softmax}", help="linear regression (default) or softmax regression (classification)"
    )
    softmax.add_argument(
        "--dataset",
        metavar="{" + ",".join(DATASETS) + "}",
        help="images to classify: scikit-learn's 8x8 digits (offline) or Fashion-MNIST",
    )
    softmax.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the Fashion-MNIST files are, or are downloaded to (default ~/.cache/linearnet/fashion-mnist)",
    )
    report = train.add_argument_group("output")
    report.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    report.add_argument("--out", metavar="MODEL", help="with --data or --dataset: write the trained model file")
    report.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw the loss per epoch (log scale when wide), with the noise floor for synthetic data",
    )
    report.add_argument("--plot-steps", action="store_true", help="with --plot: draw every step's batch loss too")
    report.add_argument("--plot-size", type=size, metavar="WxH", help="picture size in pixels (default 600x350)")
    report.add_argument(
        "--plot-predictions",
        metavar="FILE.png",
        help="softmax on images: draw test images with true and predicted labels",
    )
    train.set_defaults(handler=run)


# --- which flags go together ------------------------------------------------------------------


def _refuse(args, flags, message: str) -> None:
    """Refuse ``message`` when any of ``flags`` (argument names) was given."""
    for flag in flags:
        value = getattr(args, flag)
        if value is not None and value is not False:
            raise UsageError(PROG, message.format(flag=f"--{flag.replace('_', '-')}"))


def _refuse_synthetic(args, what: str, instead: str) -> None:
    given = [f"--{f.replace('_', '-')}" for f in SYNTHETIC_FLAGS if getattr(args, f) is not None]
    if given:
        verb = "describes" if len(given) == 1 else "describe"
        raise UsageError(PROG, f"{', '.join(given)} {verb} {what}{instead}")


def _mode(args) -> str:
    """'synthetic', 'data' (linear regression on a file) or 'classifier', after checking the flags fit it."""
    if args.model not in (None, "linear", "softmax"):
        raise UsageError(PROG, f"model must be one of linear, softmax, got {args.model!r}")
    if args.model == "softmax" or args.dataset is not None or args.preset in CLASSIFIER_PRESETS:
        if args.model == "linear":
            raise UsageError(PROG, "--dataset and the softmax presets train --model softmax")
        _check_classifier_flags(args)
        return "classifier"
    _refuse(args, ["data_dir"], "--data-dir goes with --dataset fashion-mnist")
    _refuse(args, ["plot_predictions"], "--plot-predictions draws images: use it with --dataset")
    if args.data is not None:
        _refuse_synthetic(args, "synthetic data", " and cannot be combined with --data")
        if args.formula is not None:
            _refuse(args, ["target", "features"], "{flag} goes with columns, not --formula: the formula names them")
            _refuse(args, ["stream", "memory_budget"], "{flag} goes with columns: a formula reads the file whole")
        elif args.target is None:
            raise UsageError(PROG, "--data needs --target COL, the column to predict")
        return "data"
    _refuse(
        args,
        ["target", "features", "formula", *STOPPING_FLAGS, "sep", "decimal", "missing", "stream", "memory_budget"],
        "{flag} goes with --data FILE",
    )
    _refuse(args, ["out"], "--out goes with --data FILE or --dataset")
    return "synthetic"


def _check_classifier_flags(args) -> None:
    _refuse_synthetic(args, "synthetic regression data", "; softmax regression trains on --dataset or --data")
    _refuse(args, ["formula"], "--formula is for linear regression")
    _refuse(args, ["no_compare_exact"], "--no-compare-exact is for linear regression, which has an exact solution")
    if args.loss not in (None, "cross_entropy"):
        raise UsageError(PROG, f"softmax regression uses the cross_entropy loss, got --loss {args.loss}")
    if args.dataset is not None and args.data is not None:
        raise UsageError(PROG, "give --dataset or --data, not both")
    if args.dataset not in (None, *DATASETS):
        raise UsageError(PROG, f"dataset must be one of {', '.join(DATASETS)}, got {args.dataset!r}")
    if args.data is not None and args.target is None:
        raise UsageError(PROG, "--data needs --target COL, the column of class labels")
    if args.data is not None:
        _refuse(args, ["plot_predictions"], "--plot-predictions draws images: use it with --dataset")
    else:
        _refuse(args, ["target", "features"], "--target and --features go with --data FILE")
        _refuse(args, ["sep", "decimal", "missing", *STOPPING_FLAGS], "{flag} goes with --data FILE")
    _refuse(args, ["stream", "memory_budget"], "{flag} is for linear regression; softmax regression reads data whole")
    if args.data_dir is not None and _dataset(args) != "fashion-mnist":
        raise UsageError(PROG, "--data-dir goes with --dataset fashion-mnist")


def _dataset(args) -> str | None:
    """The image data set of a classifier run: named, the preset's, or digits (None for --data)."""
    if args.data is not None:
        return None
    if args.dataset is not None:
        return args.dataset
    from ..presets import PRESETS

    return PRESETS[args.preset].dataset if args.preset in CLASSIFIER_PRESETS else "digits"


def _check_stopping_flags(args) -> None:
    """On the user's data: --epochs (an exact count) or --max-epochs and --tol (stop once the loss settles)."""
    if args.standardize and args.no_standardize:
        raise UsageError(PROG, "give --standardize or --no-standardize, not both")
    if args.epochs is not None:
        _refuse(
            args,
            ["max_epochs", "tol", "early_stopping"],
            "{flag} stops by the loss; --epochs runs an exact number of epochs",
        )
    if args.validation_fraction is not None:
        if not args.early_stopping:
            raise UsageError(PROG, "--validation-fraction goes with --early-stopping")
        if not 0 < args.validation_fraction < 1:
            raise UsageError(PROG, f"--validation-fraction must be between 0 and 1, got {args.validation_fraction:g}")
    if args.max_epochs is not None and args.max_epochs < 1:
        raise UsageError(PROG, f"--max-epochs must be a whole number >= 1, got {args.max_epochs}")
    if args.tol is not None and not 0 <= args.tol < 1:
        raise UsageError(PROG, f"--tol must be at least 0 and below 1, got {args.tol:g}")


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


def _check_plot_flags(args) -> None:
    if (args.plot_steps or args.plot_size) and not args.plot:
        raise UsageError(PROG, "--plot-steps and --plot-size go with --plot FILE.png")
    for path in (args.plot, args.plot_predictions):
        if path is not None:
            check_figure_path(PROG, path)


# --- the three runs ---------------------------------------------------------------------------


def run(args) -> int:
    mode = _mode(args)
    if mode == "data" and _labels_in(args):
        args.model = "softmax"  # the target holds class names: classification is the only fit for it
        mode = _mode(args)
    _check_plot_flags(args)
    _check_stopping_flags(args)
    check_out(PROG, args.out, args.data)
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


def _table(args) -> int:
    from ..presets import data_config, make_train_config
    from ..tables import plan_read, read_table, table_chunks, whole_read_bytes

    table = chunks = None
    standardize = not args.no_standardize
    epochs, rule = _stopping(args, "linear")
    group = args.group
    if group is not None:
        for flag, given in (("--formula", args.formula), ("--early-stopping", args.early_stopping or None)):
            if given is not None:
                raise UsageError(
                    PROG, f"{flag} needs the whole table in one process: under torchrun each reads its share"
                )
    with refused(PROG):
        chunked = True if args.stream or group is not None else False if args.formula is not None else None
        plan = plan_read(args.data, args.memory_budget, chunked=chunked)  # else by the budget
        settings = make_train_config(args.preset, **_overrides(args, TRAIN_FLAGS))  # answered before the read
        if group is not None:  # and before the processes exchange anything: refused alike by all, said once
            from ..distributed import local_batch

            local_batch(settings.batch_size, group.rank, group.size)
        if group is not None:
            chunks, columns = shared_chunks(
                group,
                args.data,
                target=args.target,
                features=args.features,
                chunk_rows=plan.chunk_rows,
                **table_options(args),
            )
            notes = [*chunks.notes, f"{group.size} processes, each reading its share of the rows"]
            num_values = (whole_read_bytes(args.data) or 0) // 24
        elif plan.chunked:
            chunks, columns = table_chunks(
                args.data, target=args.target, features=args.features, chunk_rows=plan.chunk_rows, **table_options(args)
            )
            notes = [*([plan.note] if plan.note else []), *chunks.notes]
            num_values = (whole_read_bytes(args.data) or 0) // 24  # about a value per 8 bytes of a CSV
            if args.early_stopping:
                raise ValueError(
                    f"{args.data}: --early-stopping holds rows out of a file read whole, not of one read in chunks; "
                    f"give a --memory-budget it fits in, or leave out --stream"
                )
        else:
            table = read_table(
                args.data, target=args.target, features=args.features, formula=args.formula, **table_options(args)
            )
            if not table.intercept:
                raise ValueError("SGD fits an intercept: leave '- 1' out of the formula (solve fits without one)")
            columns, notes, num_values = table.feature_names, table.notes, table.features.size
        config = data_config(
            args.preset,
            num_values=num_values,
            num_features=len(columns),
            standardize=standardize,
            **{**_overrides(args, TRAIN_FLAGS), **epochs},
        )
    for text in notes:
        note(PROG, text)
    from ..training import fit_arrays, fit_chunks

    held_out = _held_out(args)

    def train(on_epoch, on_rows):
        if chunks is not None:
            row_bytes = 4 * (len(columns) + 1)  # float32 features and label
            buffer_rows = max(2 * plan.chunk_rows, config.batch_size, plan.budget // 128 // row_bytes)
            return fit_chunks(
                chunks,
                config,
                feature_names=columns,
                seed=args.seed,
                standardize=standardize,
                buffer_rows=buffer_rows,
                on_epoch=on_epoch,
                on_rows=on_rows,
                record_steps=args.plot_steps,
                stopping=rule,
                group=group,
            )
        assert table is not None
        return fit_arrays(
            table.features,
            table.target,
            config,
            feature_names=columns,
            seed=args.seed,
            standardize=standardize,
            on_epoch=on_epoch,
            on_rows=on_rows,
            record_steps=args.plot_steps,
            stopping=rule,
            validation_fraction=held_out,
        )

    result = run_training(PROG, config.epochs, _advised(train, standardize), quiet=args.json, out=args.out)
    if result is None:
        return 1
    dropped = shared_dropped_note(group, chunks) if group is not None else chunks is not None and chunks.dropped_note
    if dropped:  # known once a pass has read the file
        notes = [*notes, dropped]
        note(PROG, dropped)
    converged, unsettled = _stopped_line(result, rule, args)
    if unsettled:
        print(f"{PROG}: warning: {unsettled}", file=sys.stderr)
    exact = None if args.no_compare_exact else _exact_loss(config, table, chunks, columns, held_out, args.seed, group)
    if args.out:
        save_model(PROG, result.to_model(target=args.target, data=args.data, table=table), args.out, announce=False)
    sgd_loss = result.history.losses[-1]
    if args.json:
        exact_fit = exact is not None and exact <= _EXACT_FIT * sgd_loss
        excess = None if exact is None or exact_fit else sgd_loss / exact - 1
        compared = {"exact_loss": exact, "excess": excess} if exact is not None else {}
        print(json.dumps({**result.to_dict(), **compared, "notes": notes}))
    else:
        if converged:
            print(converged)
        if exact is not None:
            print(
                f"training loss {sgd_loss:.6g}; the exact least-squares loss is {exact:.6g}{_excess(sgd_loss, exact)}"
            )
        width = max(len(n) for n in ["intercept", *columns])
        print(f"{'intercept':<{width}}  {result.b:.6g}")
        for name, w in zip(columns, result.w, strict=True):
            print(f"{name:<{width}}  {w:.6g}")
        if args.out:
            print(f"model written to {args.out}")
    _plot_history(args, result.history, floor=exact, floor_label="exact least-squares loss")
    return 0


_EXACT_FIT = 1e-12  # an optimum this small beside SGD's loss is an exact fit: a percentage above it says nothing


def _excess(sgd_loss: float, exact: float) -> str:
    if exact <= _EXACT_FIT * sgd_loss:
        return " (the data lie on a plane: an exact fit)"
    return f" (SGD is {100 * (sgd_loss / exact - 1):.2f}% above it)"


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


def _exact_loss(config, table, chunks, columns, held_out: float | None, seed: int, group=None) -> float | None:
    """The mean training loss at the least-squares optimum, in the loss SGD reports (None for the l1 and
    Huber losses, whose optimum least squares is not, or a loss reported as a running mean); on the
    rows trained on, those early stopping did not hold out."""
    if config.loss not in ("half_squared", "squared") or config.report != "full":
        return None
    from ..leastsq import solve, solve_chunks
    from ..training.stopping import held_out_rows

    if table is not None:
        X, y = table.features, table.target
        if held_out is not None:
            kept = held_out_rows(len(X), held_out, seed)[0]
            X, y = X[kept], y[kept]

    with refused(PROG), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dependent or ill-conditioned columns: the optimum's loss holds all the same
        if chunks is not None:
            exact = solve_chunks(chunks, columns, allow_rank_deficient=True, group=group)  # passes more
        else:
            exact = solve(X, y, allow_rank_deficient=True)
    rss = exact.sigma**2 * (exact.n - exact.rank)  # σ̂² = RSS / (n − rank)
    return config.loss_factor * rss / exact.n


def _classifier(args) -> int:
    from .. import datasets
    from ..presets import data_config, make_train_config

    dataset = _dataset(args)
    preset = args.preset or DATASET_PRESETS[dataset or "digits"]  # a labelled file: the digits recipe
    notes: list[str] = []
    table = None
    # the user's labelled file: standardized, and run until the loss settles (images keep their recipes)
    epochs, rule = _stopping(args, "softmax") if args.data is not None else ({}, None)
    standardize = args.data is not None and not args.no_standardize
    with refused(PROG):
        config = make_train_config(
            preset, **{**_overrides(args, TRAIN_FLAGS), **epochs, "model": "softmax", "loss": "cross_entropy"}
        )
        if dataset == "digits":
            data = datasets.load_digits(seed=args.seed)
        elif dataset == "fashion-mnist":
            data = datasets.load_fashion_mnist(args.data_dir)
        else:
            from ..tables import plan_read, read_table

            over = plan_read(args.data, args.memory_budget, streamed=False).note  # what a whole read costs
            table = read_table(
                args.data, target=args.target, features=args.features, labels=True, **table_options(args)
            )
            notes = [*([over] if over else []), *table.notes]
            if args.group is not None:
                notes.append(
                    f"softmax regression reads the file whole in each of the {args.group.size} processes, which "
                    f"split every batch between them (linear regression reads a share each)"
                )
            data = datasets.from_table(table, seed=args.seed)
            if args.preset is None:  # the library's settings for these data (its engine)
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
    converged, unsettled = _stopped_line(result, rule, args)
    if unsettled:
        print(f"{PROG}: warning: {unsettled}", file=sys.stderr)
    if converged and not args.json:
        print(converged)
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
        print(json.dumps({**result.to_dict(), "notes": notes}))
    _plot_history(args, result.history, floor=None)
    return 0


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

"""``linearnet train``'s flags: the parser, and which flags go together (checked before anything is read)."""

from __future__ import annotations

from ..config import IMPLS, MAX_EPOCHS, NOISE_DISTS, PATIENCE, SHUFFLES, TOL, VALIDATION_FRACTION
from ..presets import CLASSIFIER_PRESETS, DATASET_PRESETS, DEFAULT_PRESET
from .common import (
    UsageError,
    add_memory_flag,
    add_table_flags,
    add_timeout_flag,
    check_figure_path,
    names,
    number,
    numbers,
    seed,
    size,
    whole,
)
from .weights import add_weights_flag

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
TRAIN_FLAGS = (
    "lr",
    "batch_size",
    "epochs",
    "impl",
    "weight_decay",
    "loss",
    "huber_delta",
    "lr_schedule",
    "lr_decay",
    "shuffle",
)
DATASETS = tuple(sorted(DATASET_PRESETS))


def add_parser(commands, handler) -> None:
    """The ``train`` subcommand's parser, its flags in groups; ``handler`` runs it."""
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
    _add_synthetic_flags(train)
    _add_table_flags(train)
    _add_training_flags(train)
    _add_softmax_flags(train)
    _add_output_flags(train)
    train.set_defaults(handler=handler)


def _add_synthetic_flags(train) -> None:
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


def _add_table_flags(train) -> None:
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
        "--reference",
        action="append",
        metavar="COL=LEVEL",
        help="with --data: the reference level of the category COL (default: the first, its levels sorted by "
        "code point; repeated, one a column)",
    )
    table.add_argument(
        "--standardize",
        action="store_true",
        help="with --data: train on centred, unit-variance features, reporting original units (the default)",
    )
    table.add_argument("--no-standardize", action="store_true", help="with --data: train on the features as they are")
    add_weights_flag(train, "with --data, linear regression: each row's loss times its weight")
    add_table_flags(train)
    add_memory_flag(train, stream=True)
    add_timeout_flag(train)


def _add_training_flags(train) -> None:
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
        help="with --data: skip the exact fit (least squares, or the multinomial logit for softmax regression) "
        "that says how far SGD's loss is from the optimum",
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
        "--shuffle",
        metavar="{" + ",".join(SHUFFLES) + "}",
        help="each epoch's order: rows, one random permutation of all rows (default), or blocks, blocks of "
        "a few hundred KB of rows in a random order, each shuffled within (faster on large data)",
    )
    fit.add_argument(
        "--impl",
        metavar="{" + ",".join(IMPLS) + "}",
        help="implementation (default: the preset's; with --data and no --preset, fast for data of 10,000 "
        "values or more)",
    )
    fit.add_argument(
        "--seed",
        type=seed,
        default=0,
        metavar="N",
        help="fixes the data, the initial weights and the order (default 0)",
    )


def _add_softmax_flags(train) -> None:
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


def _add_output_flags(train) -> None:
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


def run_mode(args) -> str:
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
        ["target", "features", "formula", *STOPPING_FLAGS, "sep", "decimal", "missing", "stream", "memory_budget"]
        + ["weights", "reference"],
        "{flag} goes with --data FILE",
    )
    _refuse(args, ["out"], "--out goes with --data FILE or --dataset")
    return "synthetic"


def _check_classifier_flags(args) -> None:
    _refuse_synthetic(args, "synthetic regression data", "; softmax regression trains on --dataset or --data")
    _refuse(args, ["formula"], "--formula is for linear regression")
    _refuse(
        args,
        ["weights"],
        "--weights trains linear regression; weight classes in Python: SoftmaxRegression().fit(X, y, sample_weight=w)",
    )
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
        _refuse(args, ["target", "features", "reference"], "{flag} goes with --data FILE")
        _refuse(args, ["sep", "decimal", "missing", *STOPPING_FLAGS], "{flag} goes with --data FILE")
    _refuse(args, ["stream", "memory_budget"], "{flag} is for linear regression; softmax regression reads data whole")
    if args.data_dir is not None and image_dataset(args) != "fashion-mnist":
        raise UsageError(PROG, "--data-dir goes with --dataset fashion-mnist")


def level_references(args) -> dict[str, str] | None:
    """``--reference COL=LEVEL``, each category's reference level, as ``read_table`` takes them."""
    given = getattr(args, "reference", None) or []
    for text in given:
        if "=" not in text:
            raise UsageError(PROG, f"--reference takes COL=LEVEL, the reference level of a category, got {text!r}")
    return dict(text.split("=", 1) for text in given) or None


def image_dataset(args) -> str | None:
    """The image data set of a classifier run: named, the preset's, or digits (None for --data)."""
    if args.data is not None:
        return None
    if args.dataset is not None:
        return args.dataset
    from ..presets import PRESETS

    return PRESETS[args.preset].dataset if args.preset in CLASSIFIER_PRESETS else "digits"


def check_stopping_flags(args) -> None:
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


def check_plot_flags(args) -> None:
    if (args.plot_steps or args.plot_size) and not args.plot:
        raise UsageError(PROG, "--plot-steps and --plot-size go with --plot FILE.png")
    for path in (args.plot, args.plot_predictions):
        if path is not None:
            check_figure_path(PROG, path)

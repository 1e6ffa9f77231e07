"""The ``linearnet`` command: parse, check, call the library, print.

Only torch-free modules are imported here at start-up; the library is imported inside
the command that needs it, so ``--help`` and bad flags are answered at once. Every
user error is one line on stderr and exit code 2; a diverged run is exit code 1.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from . import __version__
from .config import IMPLS, NOISE_DISTS
from .presets import DEFAULT_PRESET, PRESETS, make_experiment

__all__ = ["main"]


class UsageError(Exception):
    """A user error the CLI reports as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print the usage block too: one line is enough
        raise UsageError(f"{self.prog}: error: {message}")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return names


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels such as 600x350, got {text!r}") from None
    if not (50 <= width <= 10000 and 50 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"width and height must be 50 to 10000 pixels, got {text!r}")
    return width, height


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas such as 2,-3.4, got {text!r}") from None


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="linearnet", description="Linear neural networks: linear regression "
                     "trained from scratch, concisely (torch.nn) and fast (compiled), or solved exactly.")
    parser.add_argument("--version", action="version", version=f"linearnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train", help="train linear regression on synthetic data (default: the book's section 3.2)",
        description="Train linear regression by minibatch SGD on synthetic data y = Xw + b + ε. "
                    f"With no flags this runs preset {DEFAULT_PRESET}; flags override a preset's values.",
        epilog="Negative values in a list need the = form: --true-w=-3.4,2.")
    train.add_argument("--preset", metavar="NAME",
                       help=f"a preset from `linearnet presets` (default {DEFAULT_PRESET})")
    data = train.add_argument_group("data")
    data.add_argument("--true-w", type=_numbers, metavar="W1,W2,...", help="true weights")
    data.add_argument("--true-b", type=_number, metavar="B", help="true bias")
    data.add_argument("--num-examples", type=_whole, metavar="N", help="rows")
    data.add_argument("--num-features", type=_whole, metavar="D",
                      help="features; without --true-w the true weights are drawn from the seed")
    data.add_argument("--noise", type=_number, metavar="S", help="noise scale (σ, or b for Laplace)")
    data.add_argument("--noise-dist", metavar="{" + ",".join(NOISE_DISTS) + "}", help="noise distribution")
    fit = train.add_argument_group("training")
    fit.add_argument("--lr", type=_number, help="learning rate")
    fit.add_argument("--batch-size", type=_whole, metavar="B", help="rows per SGD step")
    fit.add_argument("--epochs", type=_whole, metavar="E", help="passes over the data")
    fit.add_argument("--loss", metavar="{half_squared,squared,l1,huber}",
                     help="linear regression's loss (default: the preset's; l1 is the MLE under Laplace noise)")
    fit.add_argument("--huber-delta", type=_number, metavar="δ", help="with --loss huber (default 1)")
    fit.add_argument("--lr-schedule", metavar="{constant,step,inverse-time}",
                     help="constant (default), step: lr·decay^(epoch−1), inverse-time: lr / (1 + decay·(epoch−1))")
    fit.add_argument("--lr-decay", type=_number, metavar="D", help="the schedule's decay (default 0.5)")
    fit.add_argument("--weight-decay", type=_number, metavar="λ",
                     help="L2 weight decay on the weights, not the bias (default 0)")
    fit.add_argument("--impl", metavar="{" + ",".join(IMPLS) + "}",
                     help="implementation (default: the preset's; fast for data of 1e6+ values)")
    fit.add_argument("--seed", type=_whole, default=0, metavar="N",
                     help="fixes the data, the initial weights and the order (default 0)")
    fit_model = train.add_argument_group("softmax regression")
    fit_model.add_argument("--model", metavar="{linear,softmax}",
                           help="linear regression (default) or softmax regression (classification)")
    fit_model.add_argument("--dataset", metavar="{digits,fashion-mnist}",
                           help="images to classify: scikit-learn's 8x8 digits (offline) or Fashion-MNIST")
    fit_model.add_argument("--data-dir", metavar="DIR",
                           help="where the Fashion-MNIST files are, or are downloaded to "
                                "(default ~/.cache/linearnet/fashion-mnist)")
    data.add_argument("--data", metavar="FILE", help="train on a CSV or Parquet file instead of synthetic data")
    data.add_argument("--target", metavar="COL", help="with --data: the column to predict")
    data.add_argument("--features", type=_names, metavar="A,B,...",
                      help="with --data: feature columns (default: every numeric column but the target)")
    data.add_argument("--standardize", action="store_true",
                      help="with --data: train on centred, unit-variance features; report original units")
    train.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    train.add_argument("--out", metavar="MODEL", help="with --data or --dataset: write the trained model file")
    train.add_argument("--plot", metavar="FILE.png", help="draw the loss per epoch (log scale when wide), "
                       "with the noise floor for synthetic data")
    train.add_argument("--plot-steps", action="store_true", help="with --plot: draw every step's batch loss too")
    train.add_argument("--plot-size", type=_size, metavar="WxH", help="picture size in pixels (default 600x350)")
    train.add_argument("--plot-predictions", metavar="FILE.png",
                       help="softmax on images: draw test images with true and predicted labels")
    train.set_defaults(handler=_train)

    solve = commands.add_parser(
        "solve", help="exact least squares on a CSV or Parquet file, with statistics",
        description="Fit y = Xw + b exactly (scaled QR/Cholesky with iterative refinement) and report "
                    "standard errors, t, p, 95%% intervals, R², σ̂ as statsmodels does.")
    solve.add_argument("data", metavar="DATA", help="a CSV or Parquet file")
    solve.add_argument("--target", required=True, metavar="COL", help="the column to predict")
    solve.add_argument("--features", type=_names, metavar="A,B,...",
                       help="feature columns (default: every numeric column but the target)")
    solve.add_argument("--no-intercept", action="store_true", help="fit y = Xw without b")
    solve.add_argument("--allow-rank-deficient", action="store_true",
                       help="return the minimum-norm solution when columns are linearly dependent")
    solve.add_argument("--chunk-rows", type=_whole, metavar="N",
                       help="read the file in chunks of about N rows (default: files over 1 GB)")
    solve.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    solve.add_argument("--out", metavar="MODEL", help="write the model file")
    solve.set_defaults(handler=_solve)

    predict = commands.add_parser("predict", help="predict with a model file",
                                  description="Predict the target for each row of DATA with a model file.")
    predict.add_argument("data", metavar="DATA", help="a CSV or Parquet file with the model's feature columns")
    predict.add_argument("--model", required=True, metavar="MODEL", help="a model file from solve or train --out")
    predict.add_argument("--out", metavar="FILE", help="write CSV or Parquet (by extension); default stdout")
    predict.set_defaults(handler=_predict)

    bench = commands.add_parser("bench", help="the book's timing experiments",
                                description="Timing experiments from the book.")
    bench_kinds = bench.add_subparsers(dest="bench", metavar="WHAT", parser_class=_Parser, required=True)
    vec = bench_kinds.add_parser("vectorization", help="Python loop against vectorised addition (d2l 3.1)",
                                 description="Add two vectors element by element in a Python loop and in one "
                                             "vectorised call, for torch and NumPy; print median times.")
    vec.add_argument("--n", type=_whole, default=100_000, help="vector length (default 100000)")
    vec.add_argument("--repeat", type=_whole, default=3, help="runs of each (default 3; the median is shown)")
    vec.set_defaults(handler=_bench_vectorization)

    plot = commands.add_parser("plot", help="the book's figures, written to files",
                               description="Draw the book's figures into PNG, PDF or SVG files.")
    plot_kinds = plot.add_subparsers(dest="plot", metavar="WHAT", parser_class=_Parser, required=True)
    plot_normal = plot_kinds.add_parser("normal", help="normal densities for several (mean, std) pairs",
                                        description="The normal density for each MEAN,STD pair (d2l 3.1).")
    plot_normal.add_argument("--params", type=_numbers, nargs="+", default=[(0, 1), (0, 2), (3, 1)],
                             metavar="MEAN,STD", help="pairs such as 0,1 0,2 3,1 (the book's)")
    plot_normal.add_argument("--out", required=True, metavar="FILE.png")
    plot_normal.add_argument("--size", type=_size, metavar="WxH", help="picture size in pixels (default 600x350)")
    plot_normal.set_defaults(handler=_plot_normal)
    plot_data = plot_kinds.add_parser("data", help="a feature against the label, with a fitted line if asked",
                                      description="Scatter one feature against the label (d2l 3.2).")
    plot_data.add_argument("--data", metavar="FILE", help="a CSV or Parquet file (with --target)")
    plot_data.add_argument("--target", metavar="COL", help="the label column of --data")
    plot_data.add_argument("--preset", metavar="NAME", help="synthetic data of a preset (default d2l-3.2)")
    plot_data.add_argument("--seed", type=_whole, default=0, metavar="N", help="with --preset (default 0)")
    plot_data.add_argument("--feature", required=True, metavar="COL",
                           help="the feature to draw: a column of --data, or x1, x2, ... for a preset")
    plot_data.add_argument("--fit", action="store_true", help="draw the least-squares line of label on feature")
    plot_data.add_argument("--out", required=True, metavar="FILE.png")
    plot_data.add_argument("--size", type=_size, metavar="WxH", help="picture size in pixels (default 600x350)")
    plot_data.set_defaults(handler=_plot_data)

    presets = commands.add_parser("presets", help="list the presets with their source and recipe",
                                  description="List the presets with their source and recipe.")
    presets.set_defaults(handler=_presets)
    return parser


class _Progress:
    """A one-line bar on stderr, drawn only on a terminal and once the run has taken a while."""

    def __init__(self, stream, epochs: int, after_seconds: float = 0.5):
        self.stream, self.epochs, self.after = stream, epochs, after_seconds
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.start = time.perf_counter()
        self.drawn = False

    def update(self, epoch: int, loss: float) -> None:
        elapsed = time.perf_counter() - self.start
        if not self.enabled or epoch >= self.epochs or elapsed < self.after:
            return
        done = int(20 * epoch / self.epochs)
        eta = elapsed / epoch * (self.epochs - epoch)
        self.stream.write(f"\r[{'#' * done}{'.' * (20 - done)}] epoch {epoch}/{self.epochs} "
                          f"loss {loss:.6g} elapsed {elapsed:.1f}s eta {eta:.1f}s")
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False


_SYNTHETIC_FLAGS = ("true_w", "true_b", "num_examples", "num_features", "noise", "noise_dist")
_TRAIN_FLAGS = ("lr", "batch_size", "epochs", "impl", "weight_decay", "loss", "huber_delta", "lr_schedule",
                "lr_decay")


def _train(args) -> int:
    from .presets import CLASSIFIER_PRESETS

    if args.model not in (None, "linear", "softmax"):
        raise UsageError(f"linearnet train: error: model must be one of linear, softmax, got {args.model!r}")
    if args.model == "softmax" or args.dataset is not None or args.preset in CLASSIFIER_PRESETS:
        if args.model == "linear":
            raise UsageError("linearnet train: error: --dataset and the softmax presets train --model softmax")
        return _train_classifier(args)
    if args.data_dir is not None:
        raise UsageError("linearnet train: error: --data-dir goes with --dataset fashion-mnist")
    if args.data is not None:
        return _train_data(args)
    for flag in ("target", "features", "out"):
        if getattr(args, flag) is not None:
            raise UsageError(f"linearnet train: error: --{flag} goes with --data FILE")
    if args.standardize:
        raise UsageError("linearnet train: error: --standardize goes with --data FILE")
    overrides = {name: getattr(args, name) for name in _SYNTHETIC_FLAGS + _TRAIN_FLAGS}
    try:
        experiment = make_experiment(args.preset, seed=args.seed, **overrides)
    except (ValueError, TypeError) as exc:  # the library's own message, one line
        raise UsageError(f"linearnet train: error: {exc}") from None

    _check_plot_flags(args)
    from .experiment import run_experiment  # imports torch

    result = _run_training(args, experiment.train.epochs, lambda on_epoch: run_experiment(
        experiment, on_epoch=on_epoch, record_steps=args.plot_steps))
    if result is None:
        return 1
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"error in estimating w: [{', '.join(f'{e:f}' for e in result.w_error)}]")
        print(f"error in estimating b: {result.b_error:f}")
    _plot_history(args, result.history, floor=experiment.noise_floor)
    return 0


def _refuse_synthetic_flags(args, what: str, instead: str) -> None:
    given = [f"--{f.replace('_', '-')}" for f in _SYNTHETIC_FLAGS if getattr(args, f) is not None]
    if given:
        verb = "describes" if len(given) == 1 else "describe"
        raise UsageError(f"linearnet train: error: {', '.join(given)} {verb} {what}{instead}")


def _train_classifier(args) -> int:
    _refuse_synthetic_flags(args, "synthetic regression data", "; softmax regression trains on --dataset or --data")
    if args.standardize:
        raise UsageError("linearnet train: error: --standardize is for linear regression")
    if args.loss not in (None, "cross_entropy"):
        raise UsageError(f"linearnet train: error: softmax regression uses the cross_entropy loss, "
                         f"got --loss {args.loss}")
    if args.dataset is not None and args.data is not None:
        raise UsageError("linearnet train: error: give --dataset or --data, not both")
    if args.dataset not in (None, "digits", "fashion-mnist"):
        raise UsageError(f"linearnet train: error: dataset must be one of digits, fashion-mnist, "
                         f"got {args.dataset!r}")
    if args.data is not None and args.target is None:
        raise UsageError("linearnet train: error: --data needs --target COL, the column of class labels")
    if args.plot is not None:
        raise UsageError("linearnet train: error: --plot draws regression losses; softmax runs print accuracies "
                         "each epoch (use --plot-predictions for images)")
    if args.plot_predictions is not None and args.data is not None:
        raise UsageError("linearnet train: error: --plot-predictions draws images: use it with --dataset")
    if args.data is None and (args.target is not None or args.features is not None):
        raise UsageError("linearnet train: error: --target and --features go with --data FILE")
    dataset = args.dataset or (None if args.data else ("fashion-mnist" if args.preset == "d2l-softmax" else "digits"))
    if args.data_dir is not None and dataset != "fashion-mnist":
        raise UsageError("linearnet train: error: --data-dir goes with --dataset fashion-mnist")
    preset = args.preset or ("d2l-softmax" if dataset == "fashion-mnist" else "digits-softmax")
    if args.plot_predictions is not None:
        _figure_path(args.plot_predictions, "train")
    from .presets import make_train_config

    try:
        overrides = {f: getattr(args, f) for f in _TRAIN_FLAGS}
        overrides["loss"] = "cross_entropy"
        config = make_train_config(preset, model="softmax", **overrides)
        _check_out(args.out)
        from . import datasets

        if dataset == "digits":
            data = datasets.load_digits(seed=args.seed)
        elif dataset == "fashion-mnist":
            data = datasets.load_fashion_mnist(args.data_dir)
        else:
            from .tables import read_table

            table = read_table(args.data, target=args.target, features=args.features, labels=True)
            X_train, y_train, X_test, y_test = datasets.split(table.features, table.target, seed=args.seed)
            data = datasets.ClassData(args.data, X_train.astype("float32"), y_train, X_test.astype("float32"),
                                      y_test, table.classes)
    except (ValueError, TypeError) as exc:
        raise _user_error("train", exc) from None

    from .experiment import fit_classifier

    names = data.feature_names if args.data is None else table.feature_names
    result = _run_training(args, config.epochs, lambda on_epoch: fit_classifier(
        data.X_train, data.y_train, config, X_test=data.X_test, y_test=data.y_test,
        num_classes=len(data.classes), classes=data.classes, feature_names=names, seed=args.seed,
        on_epoch=on_epoch))
    if result is None:
        return 1
    if args.out:
        from .modelfile import SoftmaxModel, save_model

        _save(save_model, SoftmaxModel(features=names, classes=data.classes,
                                coefficients=[list(col) for col in zip(*result.W)], intercepts=result.b,
                                target=args.target, training={
                                    "method": "sgd", "data": args.data or dataset, "seed": args.seed,
                                    "test_acc": result.history.test_acc[-1],
                                    **{k: getattr(config, k) for k in ("impl", "lr", "batch_size", "epochs",
                                                                       "weight_decay")}}), args.out, "train")
        if not args.json:
            print(f"model written to {args.out}")
    if args.plot_predictions:
        from .plot import plot_predictions

        shown = data.X_test[:18]
        predicted = result.predict_proba(shown).argmax(axis=1)
        _write_figure(plot_predictions(shown, data.y_test[:18], predicted, data.classes,
                                       image_shape=data.image_shape), args.plot_predictions, "train",
                      announce=not args.json)
    if args.json:
        print(json.dumps(result.to_dict()))
    return 0


def _check_plot_flags(args) -> None:
    if (args.plot_steps or args.plot_size) and not args.plot:
        raise UsageError("linearnet train: error: --plot-steps and --plot-size go with --plot FILE.png")
    if args.plot is not None:
        _figure_path(args.plot, "train")


def _plot_history(args, history, *, floor) -> None:
    if not args.plot:
        return
    from .plot import plot_loss

    fig = plot_loss(history.losses, steps=history.step_losses if args.plot_steps else None, floor=floor)
    _write_figure(fig, args.plot, "train", args.plot_size, announce=not args.json)  # --json: stdout is the JSON


def _run_training(args, epochs: int, train):
    """Call ``train(on_epoch)``, printing each epoch (and a bar on a terminal).

    Returns its result, or None after printing the one-line error of a diverged run.
    """
    from .train import DivergedError

    progress = _Progress(sys.stderr, epochs)

    def on_epoch(epoch: int, loss: float, **metrics) -> None:
        progress.clear()
        if not args.json:
            accuracies = "".join(f", {name.replace('_', ' ')} {value:.4f}" for name, value in metrics.items())
            print(f"epoch {epoch}, loss {loss:f}{accuracies}", flush=True)
        progress.update(epoch, loss)

    try:
        return train(on_epoch)
    except DivergedError as exc:
        progress.clear()
        written = "; no model was written" if getattr(args, "out", None) else ""
        print(f"linearnet train: error: {exc}{written}", file=sys.stderr)
        return None
    except (ValueError, TypeError) as exc:  # data the library refused: one line, exit 2
        raise _user_error("train", exc) from None
    finally:
        progress.clear()


def _user_error(command: str, exc: Exception) -> UsageError:
    return UsageError(f"linearnet {command}: error: {exc}")


def _train_data(args) -> int:
    _refuse_synthetic_flags(args, "synthetic data", " and cannot be combined with --data")
    if args.target is None:
        raise UsageError("linearnet train: error: --data needs --target COL, the column to predict")
    from .presets import make_train_config

    try:
        from .tables import read_table

        table = read_table(args.data, target=args.target, features=args.features)
        config = make_train_config(args.preset, num_values=table.features.size,
                                   **{f: getattr(args, f) for f in _TRAIN_FLAGS})
        _check_out(args.out)
    except (ValueError, TypeError) as exc:
        raise _user_error("train", exc) from None

    _check_plot_flags(args)
    from .experiment import fit_arrays

    result = _run_training(args, config.epochs, lambda on_epoch: fit_arrays(
        table.features, table.target, config, feature_names=table.feature_names, seed=args.seed,
        standardize=args.standardize, on_epoch=on_epoch, record_steps=args.plot_steps))
    if result is None:
        return 1
    if args.out:
        from .modelfile import Model, save_model

        training = {"method": "sgd", "data": args.data, "n": table.num_rows, "seed": args.seed,
                    "standardize": args.standardize, "epochs_loss": result.history.losses,
                    **{k: getattr(config, k) for k in ("impl", "lr", "batch_size", "epochs", "loss",
                                                       "grad_reduction")}}
        _save(save_model, Model(features=table.feature_names, coefficients=result.w,
                         intercept=result.b, target=args.target, standardization=result.standardization,
                         training=training), args.out, "train")
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        width = max(len(n) for n in ["intercept", *table.feature_names])
        print(f"{'intercept':<{width}}  {result.b:.6g}")
        for name, w in zip(table.feature_names, result.w):
            print(f"{name:<{width}}  {w:.6g}")
        if args.out:
            print(f"model written to {args.out}")
    _plot_history(args, result.history, floor=None)
    return 0


def _save(save, model, path, command: str) -> None:
    try:
        save(model, path)
    except (ValueError, OSError) as exc:
        raise _user_error(command, f"{path}: cannot be written ({getattr(exc, 'strerror', None) or exc})") from None


def _check_out(path) -> None:
    """Fail before the work, not after it, when a model cannot be written there."""
    import os

    if path is None:
        return
    if path == "":
        raise ValueError("an output option was given an empty file name; name the file to write")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, expected a file name for the output")
    if not os.path.isdir(folder):
        raise ValueError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{path}: folder {folder} is not writable")


def _solve(args) -> int:
    import os
    import warnings

    try:
        _check_out(args.out)
        from .tables import detect_format, read_table, table_chunks

        detect_format(args.data)
        if args.chunk_rows is not None and args.chunk_rows < 1:
            raise ValueError(f"--chunk-rows must be a whole number >= 1, got {args.chunk_rows}")
        stream = args.chunk_rows is not None or os.path.getsize(args.data) > _STREAM_BYTES
        if stream:
            chunks, names = table_chunks(args.data, target=args.target, features=args.features,
                                         chunk_rows=args.chunk_rows or 1_000_000)
        else:
            table = read_table(args.data, target=args.target, features=args.features)
    except (ValueError, TypeError) as exc:
        raise _user_error("solve", exc) from None

    from .leastsq import solve, solve_chunks

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if stream:
                result = solve_chunks(chunks, names, fit_intercept=not args.no_intercept,
                                      allow_rank_deficient=args.allow_rank_deficient)
            else:
                result = solve(table.features, table.target, fit_intercept=not args.no_intercept,
                               feature_names=table.feature_names,
                               allow_rank_deficient=args.allow_rank_deficient)
    except ValueError as exc:
        message = str(exc)
        if not message.startswith(f"{args.data}:"):  # about the design: say which file
            message = f"{args.data}: {message}"
        raise _user_error("solve", message) from None
    for w in caught:  # one line each, like the errors
        print(f"linearnet solve: warning: {w.message}", file=sys.stderr)
    stats = _solve_json(result)
    if args.out:
        from .modelfile import Model, save_model

        _save(save_model, Model(features=result.feature_names, coefficients=result.coef,
                                intercept=result.intercept, fit_intercept=result.fit_intercept, target=args.target,
                                training={"method": "solve", "data": args.data, "n": result.n,
                                          "algorithm": result.method}, statistics=stats), args.out, "solve")
    if args.json:
        print(json.dumps(stats))
    else:
        print(_solve_table(result))
        if args.out:
            print(f"model written to {args.out}")
    return 0


_STREAM_BYTES = 1 << 30  # files larger than this are solved in chunks


def _finite_or_none(x):
    x = float(x)
    return x if x == x and abs(x) != float("inf") else None


def _solve_json(result) -> dict:
    rows = {r["name"]: {k: _finite_or_none(r[k]) for k in ("estimate", "stderr", "t", "p", "ci_low", "ci_high")}
            for r in result.table()}
    return {
        "intercept": rows.pop("intercept") if result.fit_intercept else None,
        "coefficients": {name: rows[name] for name in result.feature_names},
        "sigma": _finite_or_none(result.sigma),
        "r2": _finite_or_none(result.r2),
        "adj_r2": _finite_or_none(result.adj_r2),
        "n": result.n,
        "rank": result.rank,
        "condition_number": _finite_or_none(result.condition_number),
    }


def _solve_table(result) -> str:
    width = max(9, *(len(n) for n in result.names))
    head = f"{'':<{width}} {'coef':>12} {'std err':>12} {'t':>9} {'P>|t|':>7} {'[0.025':>12} {'0.975]':>12}"
    lines = [head, "-" * len(head)]
    for r in result.table():
        lines.append(f"{r['name']:<{width}} {r['estimate']:>12.6g} {r['stderr']:>12.6g} {r['t']:>9.3f} "
                     f"{r['p']:>7.3f} {r['ci_low']:>12.6g} {r['ci_high']:>12.6g}")
    lines.append("-" * len(head))
    lines.append(f"R² {result.r2:.6f}   adj. R² {result.adj_r2:.6f}   σ̂ {result.sigma:.6g}   n {result.n}   "
                 f"rank {result.rank}   condition number {result.condition_number:.3g}")
    return "\n".join(lines)


def _predict(args) -> int:
    try:
        from .modelfile import load_model
        from .tables import read_table

        model = load_model(args.model)
        table = read_table(args.data, features=model.features, require_target=False)
        _check_out(args.out)
    except (ValueError, TypeError) as exc:
        raise _user_error("predict", exc) from None
    name = f"{model.target}_predicted" if model.target else "prediction"
    if hasattr(model, "classes"):  # softmax regression: the class, then each class's probability
        proba = model.predict_proba(table.features)
        columns = {name: [model.classes[k] for k in proba.argmax(axis=1)]}
        columns.update({f"p_{c}": proba[:, k] for k, c in enumerate(model.classes)})
    else:
        columns = {name: model.predict(table.features)}
    from .tables import csv_text, write_table

    if args.out is None:
        sys.stdout.write(csv_text(columns))
    else:
        try:
            write_table(args.out, columns)
        except (ValueError, OSError) as exc:
            raise _user_error("predict", f"{args.out}: cannot be written "
                                         f"({getattr(exc, 'strerror', None) or exc})") from None
    return 0


def _bench_vectorization(args) -> int:
    from .bench import vectorization_benchmark

    try:
        rows = vectorization_benchmark(args.n, args.repeat)
    except (ValueError, TypeError) as exc:
        raise _user_error("bench", exc) from None
    print(f"adding two vectors of {args.n:,} elements (median of {args.repeat})")
    print(f"{'library':<8} {'loop (s)':>10} {'vectorised (s)':>15} {'speed-up':>10}")
    for r in rows:
        print(f"{r['library']:<8} {r['loop_seconds']:>10.4f} {r['vectorized_seconds']:>15.6f} {r['speedup']:>9.0f}x")
    return 0


def _figure_path(path: str, command: str) -> None:
    try:
        _check_out(path)
        if not path.lower().endswith((".png", ".pdf", ".svg")):
            raise ValueError(f"{path}: the picture must be a .png, .pdf or .svg file")
    except ValueError as exc:
        raise _user_error(command, exc) from None


def _write_figure(fig, path: str, command: str, size=None, *, announce: bool = True) -> None:
    from .plot import save_figure

    _save(lambda f, p: save_figure(f, p, size=size), fig, path, command)
    if announce:
        print(f"picture written to {path}")


def _plot_normal(args) -> int:
    _figure_path(args.out, "plot")
    for pair in args.params:
        if len(pair) != 2 or not all(map(math.isfinite, pair)) or pair[1] <= 0:
            raise UsageError(f"linearnet plot: error: --params takes MEAN,STD pairs with a finite mean and a "
                             f"std > 0, got {','.join(f'{v:g}' for v in pair)}")
    from .plot import plot_normal

    _write_figure(plot_normal(args.params), args.out, "plot", args.size)
    return 0


def _plot_data(args) -> int:
    _figure_path(args.out, "plot")
    if args.data is not None and args.preset is not None:
        raise UsageError("linearnet plot: error: give --data FILE or --preset NAME, not both")
    try:
        if args.data is not None:
            if args.target is None:
                raise ValueError("--data needs --target COL, the label column")
            from .tables import read_table

            table = read_table(args.data, target=args.target, features=[args.feature])
            x, y, ylabel = table.features[:, 0], table.target, args.target
        else:
            if args.target is not None:
                raise ValueError("--target goes with --data FILE")
            experiment = make_experiment(args.preset, seed=args.seed)
            names = [f"x{j + 1}" for j in range(experiment.data.dim)]
            if args.feature not in names:
                raise ValueError(f"the preset's features are {', '.join(names)}, got {args.feature!r}")
            import torch

            from .experiment import experiment_data

            _, X, Y = experiment_data(experiment, torch.Generator().manual_seed(args.seed))  # as train draws it
            x, y, ylabel = X[:, names.index(args.feature)].numpy(), Y.reshape(-1).numpy(), "y"
    except (ValueError, TypeError) as exc:
        raise _user_error("plot", exc) from None
    line = None
    if args.fit:
        from .leastsq import solve

        fit = solve(x.reshape(-1, 1), y)
        line = (float(fit.coef[0]), fit.intercept)
    from .plot import plot_data

    _write_figure(plot_data(x, y, xlabel=args.feature, ylabel=ylabel, line=line), args.out, "plot", args.size)
    return 0


def _presets(args) -> int:
    for preset in PRESETS.values():
        print(f"{preset.name}  (impl {preset.train.impl})")
        print(f"  source:  {preset.source}")
        print(f"  recipe:  {preset.recipe}")
        print(f"  printed: {preset.printed}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError("linearnet: error: a command is required: train, solve, predict, bench, plot or "
                             "presets (see linearnet --help)")
        return args.handler(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("linearnet: interrupted", file=sys.stderr)
        return 130

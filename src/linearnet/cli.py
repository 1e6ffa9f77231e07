"""The ``linearnet`` command: parse, check, call the library, print.

Only torch-free modules are imported here at start-up; the library is imported inside
the command that needs it, so ``--help`` and bad flags are answered at once. Every
user error is one line on stderr and exit code 2; a diverged run is exit code 1.
"""

from __future__ import annotations

import argparse
import json
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


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas such as 2,-3.4, got {text!r}") from None


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="linearnet", description="Linear neural networks: linear regression "
                     "trained from scratch, concisely (torch.nn) and fast (compiled).")
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
    fit.add_argument("--impl", metavar="{" + ",".join(IMPLS) + "}",
                     help="implementation (default: the preset's; fast for data of 1e6+ values)")
    fit.add_argument("--seed", type=_whole, default=0, metavar="N",
                     help="fixes the data, the initial weights and the order (default 0)")
    train.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    train.set_defaults(handler=_train)

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


def _train(args) -> int:
    overrides = {name: getattr(args, name) for name in (
        "true_w", "true_b", "num_examples", "num_features", "noise", "noise_dist",
        "lr", "batch_size", "epochs", "impl")}
    try:
        experiment = make_experiment(args.preset, seed=args.seed, **overrides)
    except (ValueError, TypeError) as exc:  # the library's own message, one line
        raise UsageError(f"linearnet train: error: {exc}") from None

    from .experiment import run_experiment  # imports torch
    from .train import DivergedError

    progress = _Progress(sys.stderr, experiment.train.epochs)

    def on_epoch(epoch: int, loss: float) -> None:
        progress.clear()
        if not args.json:
            print(f"epoch {epoch}, loss {loss:f}", flush=True)
        progress.update(epoch, loss)

    try:
        result = run_experiment(experiment, on_epoch=on_epoch)
    except DivergedError as exc:
        progress.clear()
        print(f"linearnet train: error: {exc}", file=sys.stderr)
        return 1
    progress.clear()
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(f"error in estimating w: [{', '.join(f'{e:f}' for e in result.w_error)}]")
        print(f"error in estimating b: {result.b_error:f}")
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
            raise UsageError("linearnet: error: a command is required: train or presets "
                             "(see linearnet --help)")
        return args.handler(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("linearnet: interrupted", file=sys.stderr)
        return 130

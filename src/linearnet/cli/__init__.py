"""The ``linearnet`` command: one module per command, each of which parses its flags,
checks how they combine, calls the library and prints what it returns.

Every user error is one line on stderr and exit code 2; a diverged run is exit code 1.
"""

from __future__ import annotations

import sys

from .. import __version__
from . import bench, plot, predict, presets, solve, train
from .common import Parser, UsageError

__all__ = ["main", "build_parser"]

COMMANDS = (train, solve, predict, bench, plot, presets)


def build_parser() -> Parser:
    parser = Parser(
        prog="linearnet",
        description="Linear neural networks: linear and softmax regression "
        "trained by minibatch SGD from scratch, concisely (torch.nn) and fast (compiled), or linear "
        "regression solved exactly with its statistics.",
    )
    parser.add_argument("--version", action="version", version=f"linearnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError(
                "linearnet",
                "a command is required: train, solve, predict, bench, plot or presets (see linearnet --help)",
            )
        return args.handler(args)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("linearnet: interrupted", file=sys.stderr)
        return 130

"""``linearnet bench``: the book's timing experiments."""

from __future__ import annotations

import argparse
import math

from .common import Parser, refused, whole

PROG = "linearnet bench"


def add_parser(commands) -> None:
    bench = commands.add_parser(
        "bench", help="the book's timing experiments", description="Timing experiments from the book."
    )
    kinds = bench.add_subparsers(dest="bench", metavar="WHAT", parser_class=Parser, required=True)
    vec = kinds.add_parser(
        "vectorization",
        help="Python loop against vectorised addition (d2l 3.1)",
        description="Add two vectors element by element in a Python loop and in one "
        "vectorised call, for torch and NumPy; print median times.",
    )
    vec.add_argument("--n", type=length, default=100_000, help="vector length, such as 100000 or 1e5 (default 100000)")
    vec.add_argument("--repeat", type=whole, default=3, help="runs of each (default 3; the median is shown)")
    vec.set_defaults(handler=vectorization)


def length(text: str) -> int:
    """A whole number, also in scientific notation (1e5), as a vector's length is often written."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer()):
        raise argparse.ArgumentTypeError(f"expected a whole number such as 100000 or 1e5, got {text!r}")
    return int(value)


def vectorization(args) -> int:
    from ..bench import vectorization_benchmark

    with refused(PROG):
        rows = vectorization_benchmark(args.n, args.repeat)
    print(f"adding two vectors of {args.n:,} elements (median of {args.repeat})")
    print(f"{'library':<8} {'loop (s)':>10} {'vectorised (s)':>15} {'speed-up':>10}")
    for r in rows:
        print(f"{r['library']:<8} {r['loop_seconds']:>10.4f} {r['vectorized_seconds']:>15.6f} {r['speedup']:>9.0f}x")
    return 0

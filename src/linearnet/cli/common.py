"""What the commands share: the one-line user error, argument types, output checks, the
progress bar and the training runner.

Only torch-free modules are imported here; the library is imported inside the command
that needs it, so ``--help`` and bad flags are answered at once.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from ..outputs import check_output, check_outputs
from .shares import shared_chunks, shared_classes, shared_dropped_note, shared_levels

__all__ = [
    "UsageError",
    "Parser",
    "refused",
    "number",
    "whole",
    "seed",
    "names",
    "size",
    "numbers",
    "add_table_flags",
    "table_options",
    "note",
    "check_out",
    "check_outs",
    "check_figure_path",
    "write_figure",
    "save_model",
    "reading_bar",
    "Progress",
    "run_training",
    "shared_chunks",
    "shared_classes",
    "shared_dropped_note",
    "shared_levels",
]

T = TypeVar("T")


class UsageError(Exception):
    """A user error: printed as one line ``<prog>: error: <message>``, exit code 2."""

    everyone = False  # raised alike by every process of a distributed run (rank 0 alone need say it)

    def __init__(self, prog: str, message):
        super().__init__(f"{prog}: error: {message}")


class Parser(argparse.ArgumentParser):
    """The parser of ``linearnet`` and of each of its commands (subparsers are made of this class too):
    flags are matched whole, never by a prefix (``--se`` is not read as ``--sep``), and an error is one line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):  # argparse would print the usage block too: one line is enough
        """Raise ``message`` as a one-line UsageError; to arguments no flag took, add the flags closest
        to those that look like flags: ``unrecognized arguments: --taget price (did you mean --target?)``."""
        if message.startswith("unrecognized arguments: "):
            import difflib

            flags = [flag[2:] for flag in self._option_string_actions if flag.startswith("--")]
            unknown = [arg.split("=", 1)[0] for arg in message.split(": ", 1)[1].split() if arg.startswith("-")]
            close = {}
            for name in unknown:  # compared without the dashes, which every flag shares
                if match := difflib.get_close_matches(name.lstrip("-"), flags, n=1):
                    close[name] = f"--{match[0]}"
            if len(unknown) == 1 and close:
                message += f" (did you mean {next(iter(close.values()))}?)"
            elif close:
                message += f" (did you mean {', '.join(f'{flag} for {arg}' for arg, flag in close.items())}?)"
        raise UsageError(self.prog, message)


@contextlib.contextmanager
def refused(prog: str) -> Iterator[None]:
    """Report a ``ValueError``/``TypeError`` of the library (bad data, bad settings) as a user error."""
    try:
        yield
    except (ValueError, TypeError) as exc:
        raise library_error(prog, exc) from None


def library_error(prog: str, exc: Exception, message: str | None = None) -> UsageError:
    """The user error that says ``message`` (by default the library's own), said once under a launcher when
    every process raised it alike (a :class:`~linearnet.config.SameEverywhereError`)."""
    from ..config import SameEverywhereError

    error = UsageError(prog, exc if message is None else message)
    error.everyone = isinstance(exc, SameEverywhereError)
    return error


def out_of_memory(exc: MemoryError) -> str:
    """What running out of memory (Python's, numpy's or pyarrow's MemoryError) is said as: one line."""
    said = str(exc).splitlines()[0][:200] if str(exc).strip() else "MemoryError"
    return (
        f"out of memory ({said}); give a smaller --memory-budget, so that the data is read in chunks, "
        f"or free some memory (a ulimit -v counts address space, more than the memory used)"
    )


def design_error(prog: str, path: str, exc: Exception) -> UsageError:
    """:func:`library_error` for an error of the fit about the design, the file ``path`` named first (errors of
    the reader name it already)."""
    message = str(exc)
    return library_error(prog, exc, message if message.startswith(f"{path}:") else f"{path}: {message}")


# --- argument types ---------------------------------------------------------------------


def number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def seed(text: str) -> int:
    """A --seed: a whole number from 0 to 2**63 - 1, what torch.Generator takes."""
    from ..config import check_seed

    try:
        return check_seed(int(text))
    except (ValueError, TypeError):
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63 - 1, got {text!r}") from None


def names(text: str) -> list[str]:
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise argparse.ArgumentTypeError(f"expected column names separated by commas, got {text!r}")
    return parts


def size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT in pixels such as 600x350, got {text!r}") from None
    if not (50 <= width <= 10000 and 50 <= height <= 10000):
        raise argparse.ArgumentTypeError(f"width and height must be 50 to 10000 pixels, got {text!r}")
    return width, height


def numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas such as 2,-3.4, got {text!r}") from None


_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def memory_size(text: str) -> int:
    """A memory size: bytes, or a number with K, M, G or T (binary: 1G = 2**30 bytes; KB, KiB alike)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if match is None or float(match[1]) * _UNITS[match[2]] < 1 << 20:
        raise argparse.ArgumentTypeError(f"expected a memory size of at least 1M such as 600M or 2G, got {text!r}")
    return int(float(match[1]) * _UNITS[match[2]])


# --- tables -------------------------------------------------------------------------------


def add_memory_flag(parser, *, stream: bool = False) -> None:
    """``--memory-budget`` (and, for training, ``--stream``): when a file is read in chunks instead of whole."""
    group = parser.add_argument_group("larger than memory")
    group.add_argument(
        "--memory-budget",
        type=memory_size,
        metavar="SIZE",
        help="memory the data may take read whole, such as 600M or 4G (default: a quarter of the available "
        "memory, at most 1G); a larger file is read in chunks",
    )
    if stream:
        group.add_argument("--stream", action="store_true", help="read the file in chunks whatever its size")


def add_table_flags(parser, *, missing: bool = True, keep: bool = False) -> None:
    """The flags of every command that reads a table: how the CSV is written, what to do with gaps
    (``keep``: a row with one may be kept, for predict)."""
    group = parser.add_argument_group("reading the table")
    group.add_argument("--sep", metavar="SEP", help="the CSV separator: , ; tab or | (default: found from the file)")
    group.add_argument(
        "--decimal",
        metavar="MARK",
        help="the decimal mark: . or , (default: , in ;-separated files whose numbers are written so)",
    )
    if missing and keep:
        group.add_argument(
            "--missing",
            metavar="{error,keep,drop}",
            help="a row with a missing value (empty, NA, NaN, null, ...) in a feature: refuse the file (default), "
            "keep the row with its prediction left empty, or leave the row out; either says how many",
        )
        parser.set_defaults(missing_modes=("error", "keep", "drop"))
    elif missing:
        group.add_argument(
            "--missing",
            metavar="{error,drop}",
            help="a row with a missing value (empty, NA, NaN, null, ...) in a column in use: refuse the file "
            "(default), or drop the row and say how many",
        )


def table_options(args) -> dict:
    """The keyword arguments of read_table and table_chunks that the table flags set."""
    options = {"sep": args.sep, "decimal": args.decimal}
    if hasattr(args, "missing"):
        options["missing"] = args.missing or "error"
        modes = getattr(args, "missing_modes", ("error", "drop"))  # the reader's "keep" is predict's alone
        if options["missing"] not in modes:
            raise ValueError(f"missing must be one of {', '.join(modes)}, got {options['missing']!r}")
    return options


def launched_rank() -> int | None:
    """This process's rank when a launcher (torchrun, Slurm) started it as one of several; else None."""
    try:
        return int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None
    except ValueError:
        return None


def add_timeout_flag(parser) -> None:
    parser.add_argument(
        "--timeout",
        type=number,
        default=None,
        metavar="SECONDS",
        help="under torchrun (or another launcher): how long a process waits for the others before it gives up "
        "and names the one that stopped answering (default 300)",
    )


def note(prog: str, text: str) -> None:
    """A note on stderr: what a default left out or dropped, never in silence."""
    print(f"{prog}: note: {text}", file=sys.stderr)


# --- outputs ------------------------------------------------------------------------------


def check_out(prog: str, path: str | None, *inputs: str | None) -> None:
    """Fail before the work, not after it, when an output cannot be written there or would replace an input."""
    if path is not None:
        with refused(prog):
            check_output(path, inputs=[i for i in inputs if i is not None])


def check_outs(prog: str, outputs: dict[str, str | None], *inputs: str | None, stdout: str | None = None) -> None:
    """Fail before the work when two of a run's ``outputs`` (flag -> path) would write one file, or one would
    write standard output that the flag ``stdout`` (``--json``) prints to, or any would replace an input."""
    with refused(prog):
        check_outputs(outputs, inputs=[i for i in inputs if i is not None], stdout=stdout)


def check_figure_path(prog: str, path: str) -> None:
    check_out(prog, path)
    if not path.lower().endswith((".png", ".pdf", ".svg")):
        raise UsageError(prog, f"{path}: the picture must be a .png, .pdf or .svg file")


def _written(prog: str, path: str, write: Callable[[], None]) -> None:
    try:
        write()
    except (ValueError, OSError) as exc:
        raise UsageError(prog, f"{path}: cannot be written ({getattr(exc, 'strerror', None) or exc})") from None


def write_figure(prog: str, fig, path: str, size: tuple[int, int] | None = None, *, announce: bool = True) -> None:
    from ..plot import save_figure

    _written(prog, path, lambda: save_figure(fig, path, size=size))
    if announce:
        print(f"picture written to {path}")


def save_model(prog: str, model, path: str, *, announce: bool = True) -> None:
    from ..modelfile import save_model as save

    _written(prog, path, lambda: save(model, path))
    if announce:
        print(f"model written to {path}")


class _Refused(Exception):
    """A data error met while an output is being written: the user's to mend, not a failed write."""


def write_columns(prog: str, columns: dict | Iterable[dict], path: str | None) -> None:
    """Write columns as CSV or Parquet to ``path`` (by extension; a ``.tsv`` file separated by tabs), or
    as CSV to stdout.

    ``columns`` may be an iterable of column maps computed as they are written (predictions
    a chunk at a time); a ValueError or TypeError it raises is the data's, reported as a user
    error, and leaves an output file as it was (stdout keeps the rows already written).
    """
    from ..tables import write_csv, write_table

    def parts() -> Iterator[dict]:
        try:
            yield from [columns] if isinstance(columns, dict) else columns
        except (ValueError, TypeError) as exc:
            raise _Refused(str(exc)) from None

    try:
        if path is None:
            write_csv(sys.stdout, parts())
        else:
            _written(prog, path, lambda: write_table(path, parts()))
    except _Refused as exc:
        raise UsageError(prog, exc) from None


# --- progress bars (tqdm, on stderr when it is a terminal) ----------------------------------

BAR_AFTER = 0.5  # seconds a run takes before its bar appears: a quick run shows none
BAR_EVERY = 0.1  # seconds between two drawings of the bar at most


def _shown(bar) -> bool:
    """Whether a tqdm bar has been drawn (it waits ``delay`` seconds before it is)."""
    return not bar.disable and bar.last_print_t >= bar.start_t + bar.delay


class _ReadingBar:
    """The bytes of a file read in chunks (``TableChunks.on_read``): one tqdm bar a pass, as solve
    passes over the file more than once; it shows once the reading has taken ``BAR_AFTER``."""

    def __init__(self, stream):
        self.stream, self.passes, self.bar = stream, 0, None
        self.start = time.perf_counter()

    def _new(self, size: int | None) -> None:
        from tqdm import tqdm

        shown = self.bar is not None and _shown(self.bar)
        self.close()
        self.passes += 1
        self.bar = tqdm(
            total=size,
            desc="reading" if self.passes == 1 else f"reading, pass {self.passes}",
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=self.stream,
            delay=0 if shown else max(BAR_AFTER - (time.perf_counter() - self.start), 0),
            mininterval=BAR_EVERY,
            leave=False,
        )

    def __call__(self, done: int, size: int | None) -> None:
        bar = self.bar
        if bar is None or done < bar.n or (bar.total is not None and bar.n >= bar.total):  # a new pass
            self._new(size)
            bar = self.bar
            assert bar is not None
        bar.update(done - bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@contextlib.contextmanager
def reading_bar(chunks, *, show: bool = True) -> Iterator[None]:
    """While in the block, a bar on stderr of the bytes ``chunks`` (a ``TableChunks``) has read, when
    stderr is a terminal and ``show`` (False, say, when stdout is that terminal and gets the rows)."""
    if not (show and sys.stderr.isatty()):
        yield
        return
    bar = chunks.on_read = _ReadingBar(sys.stderr)
    try:
        yield
    finally:
        chunks.on_read = None
        bar.close()


# --- training -----------------------------------------------------------------------------


class Progress:
    """The training bar: a tqdm bar on stderr, on a terminal only, that appears once the run has
    taken ``after_seconds``; :meth:`close` erases it.

    With ``by_rows`` it counts the rows trained on (epochs × rows, from :meth:`rows`, which
    ``fit(on_rows=...)`` calls within each epoch) with rows/s and the time left; otherwise
    it counts epochs. Either way it shows the current epoch and the last epoch's loss.
    """

    def __init__(self, stream, epochs: int, *, by_rows: bool = False, after_seconds: float = 0.5, every: float = 0.1):
        from tqdm import tqdm

        self.epochs, self.by_rows = epochs, by_rows
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.bar = tqdm(
            total=None if by_rows else epochs,  # the rows are known once fit reports them
            desc=f"epoch 1/{epochs}",
            unit=" rows" if by_rows else " epochs",
            unit_scale=by_rows,
            file=stream,
            disable=not self.enabled,
            delay=after_seconds,
            mininterval=every,
            leave=False,
        )

    def rows(self, done: int, total: int) -> None:
        """``done`` rows of ``total`` (epochs × rows) trained on."""
        if self.bar.total != total:
            self.bar.total = total
        per_epoch = max(total // self.epochs, 1)
        self.bar.set_description_str(f"epoch {max(-(-done // per_epoch), 1)}/{self.epochs}", refresh=False)
        self.bar.update(done - self.bar.n)

    def update(self, epoch: int, loss: float) -> None:
        """Epoch ``epoch`` (from 1) ended with ``loss``."""
        self.bar.set_postfix_str(f"loss {loss:.6g}", refresh=False)
        if not self.by_rows:
            self.bar.set_description_str(f"epoch {min(epoch + 1, self.epochs)}/{self.epochs}", refresh=False)
            self.bar.update(epoch - self.bar.n)

    def line(self, text: str) -> None:
        """Print ``text`` on stdout with the bar out of its way (stderr and stdout may share a terminal)."""
        shown = _shown(self.bar)
        if shown:
            self.bar.clear()
        print(text, flush=True)
        if shown:
            self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def run_training(prog: str, epochs: int, train: Callable[..., T], *, quiet: bool, out: str | None) -> T | None:
    """Call ``train(on_epoch)``, printing each epoch unless ``quiet`` (and a bar on a terminal).

    When ``train`` takes an ``on_rows`` keyword too, it is called as ``train(on_epoch,
    on_rows=on_rows)``, to pass on to ``fit(on_rows=...)``: the bar then moves within an epoch.
    Returns its result, or None after printing the one-line error of a degenerate run (diverged, did not
    move, or left the range where its loss means anything) (and
    saying that no model was written, when ``out`` names one).
    """
    import inspect

    from ..training.loop import DegenerateRunError

    by_rows = "on_rows" in inspect.signature(train).parameters
    progress = Progress(sys.stderr, epochs, by_rows=by_rows, after_seconds=BAR_AFTER, every=BAR_EVERY)
    # an epoch is cut into parts only for a bar shown: each part costs the fast engine a start of its threads
    keywords = {"on_rows": progress.rows if progress.enabled else None} if by_rows else {}

    def on_epoch(epoch: int, loss: float, **metrics: float) -> None:
        if not quiet:
            accuracies = "".join(f", {name.replace('_', ' ')} {value:.4f}" for name, value in metrics.items())
            progress.line(f"epoch {epoch}, loss {loss:.6g}{accuracies}")
        progress.update(epoch, loss)

    try:
        with refused(prog):  # data the library refused: one line, exit 2
            return train(on_epoch, **keywords)
    except DegenerateRunError as exc:  # diverged, did not move, or left the range of its loss
        progress.close()
        written = "; no model was written" if out else ""
        print(f"{prog}: error: {exc}{written}", file=sys.stderr)
        return None
    finally:
        progress.close()

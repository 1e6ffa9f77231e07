"""The ``linearnet`` command: one module per command, each of which parses its flags,
checks how they combine, calls the library and prints what it returns.

Every user error is one line on stderr and exit code 2; a diverged run is exit code 1. When
the reader of stdout goes away (``linearnet train | head``) the command stops quietly with
exit code 141, as a program that SIGPIPE ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from .. import __version__
from ..outputs import GuardedStdout, StdoutError
from . import bench, plot, predict, presets, solve, train
from .common import Parser, UsageError, launched_rank

__all__ = ["main", "run", "build_parser"]

COMMANDS = (train, solve, predict, bench, plot, presets)
DISTRIBUTED = ("train", "solve")  # the commands that run as several processes under a launcher such as torchrun


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


def _parse(parser: Parser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments of a command; arguments that no flag takes are said by the command's parser."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extras)}")
    if args.command is None:
        raise UsageError(
            "linearnet",
            "a command is required: train, solve, predict, bench, plot or presets (see linearnet --help)",
        )
    return args


def _command_parser(parser: Parser, command: str | None) -> argparse.ArgumentParser:
    """The parser of ``command`` (``linearnet solve``'s for solve), which names it in its messages and
    knows its flags; ``parser`` itself without a command."""
    for action in parser._actions:
        if command is not None and isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    return parser


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that cleanups run (an output's temporary file
    goes) as on Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _terminate(signum, frame):
    for s in TERMINATING:  # a second signal does not cut the cleanup short
        signal.signal(s, signal.SIG_IGN)
    raise Terminated(signum)


def _on_termination(handler) -> dict:
    """Set ``handler`` for SIGTERM and SIGHUP where they would kill the program (not under nohup, which
    ignores SIGHUP); return what to put back. Signals are the main thread's to handle."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.signal(s, handler) for s in TERMINATING if signal.getsignal(s) == signal.SIG_DFL}


def _join(args, rank: int):
    """Join the other processes a launcher started; on all but rank 0, stdout and notes go nowhere."""
    if args.command not in DISTRIBUTED:
        raise UsageError(
            f"linearnet {args.command}",
            "runs in one process: start it without torchrun (train and solve run in several)",
        )
    from ..distributed import DEFAULT_TIMEOUT, group

    if args.timeout is not None and not args.timeout > 0:
        raise UsageError(f"linearnet {args.command}", f"--timeout must be a number of seconds > 0, got {args.timeout}")
    joined = group(timeout=args.timeout or DEFAULT_TIMEOUT)
    if rank:  # pragma: no cover - in launched processes (tests/test_distributed.py); rank 0 alone prints and writes
        sys.stdout = sys.stderr = open(os.devnull, "w")  # closed when main ends
        for output in ("out", "plot", "plot_predictions"):
            if getattr(args, output, None) is not None:
                setattr(args, output, None)
    return joined


def _agree(args, joined) -> None:  # pragma: no cover - in launched processes
    """Refuse, on every process, settings or data that differ between the processes, before any other exchange."""
    from ..distributed import agree
    from .common import library_error

    settings = {name: value for name, value in vars(args).items() if not callable(value)}
    try:
        agree(joined, settings, getattr(args, "data", None))
    except ValueError as exc:
        raise library_error(f"linearnet {args.command}", exc) from None


def _failed(exc, rank: int | None) -> bool:
    """Whether this process should print the failure ``exc``: in a distributed run, what every process
    raised alike is said by rank 0, and a process that stopped answering by the lowest one still answering."""
    if rank is None:
        return True
    quiet = getattr(exc, "quiet", None)
    if quiet is not None:
        return rank == min(set(range(rank + 1)) - set(quiet))
    from ..config import SameEverywhereError

    return rank == 0 or not isinstance(exc, SameEverywhereError)


class _NoPandas:
    """An import of pandas that fails, as where pandas is not installed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "pandas":
            raise ImportError("pandas is left out of pyarrow's first look", name=fullname)
        return None


def _pyarrow_without_pandas(args: argparse.Namespace, own_process: bool) -> None:
    """pyarrow imports pandas (a third of a second, as long as the rest of a small solve) the first time it
    converts anything, to recognise pandas objects, which a command never hands it: for a command that reads
    a file (``args.data``), in a process that is the command's own, let that first look find no pandas. A
    command that needs pandas (a formula) imports it itself, and pyarrow's conversions to pandas find it then."""
    if not own_process or not isinstance(getattr(args, "data", None), str) or "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.chunked_array([[0.0]]).to_numpy()  # pyarrow's Python and C++ looks, each made once
    finally:
        sys.meta_path.remove(finder)


# long: the one entry of every command, an except clause for each way a command can end
def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    """Run the command of ``argv`` (the process's arguments by default) and return its exit code.
    ``own_process``: the process is the command's alone (the ``linearnet`` program), so that what it sets
    up for speed (see :func:`_pyarrow_without_pandas`) touches no one else's state."""
    parser = build_parser()
    previous = _on_termination(_terminate)
    rank = launched_rank()
    joined = None
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = guarded = GuardedStdout(stdout)  # its failures told apart from those of files
    command = "linearnet"
    try:
        args = _parse(parser, argv)
        command = f"linearnet {args.command}"
        if rank is not None:
            joined = _join(args, rank)  # pragma: no cover - returns in launched processes only
            _agree(args, joined)  # pragma: no cover - in launched processes
        args.group = joined
        _pyarrow_without_pandas(args, own_process)
        code = args.handler(args)
        sys.stdout.flush()  # a full disk is met here, while it can still be said
        return code
    except StdoutError as exc:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no stderr either: the exit code says it
            print(f"{command}: error: standard output cannot be written ({exc.strerror})", file=stderr)
        with contextlib.suppress(OSError, ValueError, AttributeError):  # what stays buffered would fail at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return 2
    except UsageError as exc:
        if rank is None or rank == 0 or (joined is not None and joined.exchanged and not exc.everyone):
            print(exc, file=stderr)  # a process's own failure once they have exchanged something; else rank 0 says it
        return 2
    except RuntimeError as exc:  # pragma: no cover - another process of a distributed run died or stopped answering
        from ..distributed import ProcessFailed

        if not isinstance(exc, ProcessFailed):
            raise
        if _failed(exc, rank):
            print(f"linearnet {args.command}: error: {exc}", file=stderr)
        return 1
    except MemoryError as exc:  # pyarrow's and numpy's too
        from .common import out_of_memory

        print(f"{command}: error: {out_of_memory(exc)}", file=stderr)
        return 1
    except KeyboardInterrupt:
        print("linearnet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `| head` has read what it wanted: stop, with no traceback
        try:  # point stdout at devnull so that the interpreter's last flush has nowhere to fail
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is no file (captured in a test)
            pass
        return 141  # 128 + SIGPIPE, what a shell reports for a program the signal ended
    except Terminated as exc:
        with contextlib.suppress(OSError):  # a hung-up terminal
            print("linearnet: terminated", file=sys.stderr)
        return 128 + exc.signum
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if joined is not None:  # pragma: no cover - in launched processes
            joined.close()
        if sys.stdout is not guarded:  # pragma: no cover - a process of a distributed run other than rank 0
            sys.stdout.close()
        sys.stdout, sys.stderr = stdout, stderr


def run() -> None:  # pragma: no cover - the console script, run by the subprocess tests
    """The ``linearnet`` command: :func:`main`, then out of the process without the interpreter's
    teardown, once what was printed is flushed. pyarrow's native threads sometimes abort a
    process at teardown ("terminate called without an active exception", exit 134) after all
    its work is done; in a distributed run that would fail the whole run for nothing."""
    code = main(own_process=True)
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # closed before the start (>&-): nothing was kept for it
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone (| head) or a closed stream: nothing more to say
            code = code or 141
    os._exit(code)

"""Where results go: output paths checked before the work, files written atomically.

Every file linearnet writes (model files, predictions, pictures) goes through
:func:`atomic_write`, so a failed or interrupted run leaves an existing file as it was.
A symbolic link is followed to the file it names, which is replaced there (the link stays); a device
or a FIFO is written into, as there is no file to replace; ``-`` is standard output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import stat
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO

__all__ = ["check_output", "check_outputs", "atomic_write", "shown_path", "GuardedStdout", "StdoutError", "STDOUT"]

STDOUT = "-"  # the output path that means standard output
MAX_LINKS = 40  # links followed in one lookup, as the kernel does before it gives up (ELOOP)
SHOWN_PATH = 200  # the most characters of a path a message shows (a name may be as long as the system allows)


def shown_path(path) -> str:
    """``path`` as a message shows it: whole up to ``SHOWN_PATH`` characters, else its start and end."""
    path = os.fspath(path)
    if len(path) <= SHOWN_PATH:
        return path
    half = SHOWN_PATH // 2 - 2
    return f"{path[:half]}...{path[-half:]} ({len(path):,} characters)"


def check_outputs(outputs: Mapping[str, object], *, inputs=(), stdout: str | None = None) -> None:
    """Check each of a run's ``outputs`` (flag -> path or None) as :func:`check_output` does, and that no two
    name the same file (a link or another spelling included) and none goes to standard output that
    ``stdout`` (a flag, such as ``--json``) writes already: each would lose the other's work. Raises
    ``ValueError`` naming both flags, before any work."""
    given = {flag: os.fspath(path) for flag, path in outputs.items() if path is not None}  # type: ignore[call-overload]
    for path in given.values():
        check_output(path, inputs=inputs)
    seen: dict[str, str] = {} if stdout is None else {STDOUT: stdout}
    for flag, path in given.items():
        key = path if path == STDOUT else _identity(path)
        if key in seen and path == STDOUT:
            raise ValueError(
                f"{seen[key]} and {flag} - would both write to standard output, two documents in one stream; "
                f"give {flag} a file name"
            )
        if key in seen:
            raise ValueError(
                f"{seen[key]} and {flag} would both write {shown_path(path)}, one over the other; name a file of "
                f"its own for each"
            )
        seen[key] = flag


def _identity(path: str) -> str:
    """What tells two output paths apart: the file an existing one is (device, inode), else the absolute path
    its links lead to."""
    target = _target(path)
    try:
        st = os.stat(target)
    except OSError:
        return os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(target))), os.path.basename(target))
    return f"{st.st_dev}:{st.st_ino}"


def check_output(path, *, inputs=()) -> None:
    """Raise ``ValueError`` now, before any work, if a file cannot be written at ``path``, or if it is
    one of ``inputs`` (compared as files: a link or another spelling of an input is refused too). An
    error of the system in the lookup (a file where a folder should be, a name too long) is one too."""
    path = os.fspath(path)
    if path == "":
        raise ValueError("an output option was given an empty file name; name the file to write")
    if path == STDOUT:
        return
    try:
        _check_output(path, inputs)
    except OSError as exc:
        raise ValueError(f"{shown_path(path)}: cannot be written ({exc.strerror or exc})") from None


def _check_output(path: str, inputs) -> None:
    target = _target(path)
    for source in inputs:
        source = os.fspath(source)
        if source != "-" and os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise ValueError(f"{path}: is an input of this command ({source}); write the output to another file")
        if _among(target, source):
            raise ValueError(
                f"{path}: is among the files {source} names, which this command reads as its data (and would "
                f"read again next time); write the output elsewhere"
            )
    _writes_into(path, target)


def _among(target: str, source: str) -> bool:
    """Whether a table file at ``target`` would be one of the files of ``source``, a folder or a
    pattern of files read as one table."""
    if not target.lower().endswith((".csv", ".parquet", ".pq", ".tsv", ".txt", ".gz", ".bz2", ".xz", ".zst")):
        return False
    if os.path.isdir(source):
        folder = os.path.dirname(os.path.abspath(target))
        return os.path.isdir(folder) and os.path.samefile(folder, source)
    if not os.path.exists(source) and any(c in source for c in "*?["):  # a pattern (a file may have such a name)
        import fnmatch

        return fnmatch.fnmatch(os.path.abspath(target), os.path.abspath(source))
    return False


def _target(path: str) -> str:
    """The file ``path`` names once every symbolic link is followed (a dangling link names one not made yet)."""
    target = path
    for _ in range(MAX_LINKS):
        if not os.path.islink(target):
            return target
        target = os.path.join(os.path.dirname(target), os.readlink(target))  # relative to the link's folder
    raise ValueError(f"{path}: is a link that loops (or more than {MAX_LINKS} links deep); point it at a file")


def _writes_into(path: str, target: str) -> bool:
    """Whether ``target`` (what ``path`` names) is written into rather than replaced: a device or a FIFO.
    Raise ``ValueError`` if it can be neither."""
    mode: int | None
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:  # houses.csv/m.json
        raise ValueError(
            f"{shown_path(path)}: a part of the path before the file name is a file, not a folder"
        ) from None
    if mode is not None and stat.S_ISDIR(mode):
        raise ValueError(f"{path}: is a directory, expected a file name for the output")
    if mode is not None and stat.S_ISSOCK(mode):
        raise ValueError(f"{path}: is a socket, expected a file name for the output")
    if mode is not None and (not mode & 0o222 or not os.access(target, os.W_OK)):  # root passes access()
        raise ValueError(f"{path}: is read-only; make it writable (chmod u+w) or write the output to another file")
    if mode is not None and not stat.S_ISREG(mode):
        return True
    folder = os.path.dirname(os.path.abspath(target))
    where = f"{path}: is a link to {target}, whose folder {folder}" if target != path else f"{path}: folder {folder}"
    if not os.path.isdir(folder):
        raise ValueError(f"{where} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{where} is not writable")
    return False


def atomic_write(path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` for a temporary file beside the file ``path`` names (links followed), then
    rename it over that file. A failure or interruption leaves an existing file untouched and no
    temporary file.

    A device or a FIFO is not replaced but written into, and ``-`` is standard output: ``write`` fills a
    temporary file (in the temporary folder), whose bytes are then copied there.
    """
    path = os.fspath(path)
    if path == STDOUT:
        _through_a_temporary_file(write, _to_stdout)
        return
    target = _target(path)
    if _writes_into(path, target):

        def into_target(written):
            with open(target, "wb") as stream:  # a FIFO waits here for its reader
                shutil.copyfileobj(written, stream)

        _through_a_temporary_file(write, into_target)
        return
    with _temporary_file(os.path.dirname(os.path.abspath(target)), f".{os.path.basename(target)}.") as tmp:
        write(tmp)
        if os.path.exists(target):  # keep the mode of the file being replaced
            mode = os.stat(target).st_mode & 0o7777
        else:  # a new file gets what the umask allows, as open() would give it
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)


_SIGNALS = {getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)}


@contextlib.contextmanager
def _temporary_file(folder: str, prefix: str) -> Iterator[str]:
    """The name of a new empty file in ``folder`` (``<prefix>XXXXXXXX.tmp``), removed on the way out unless
    renamed away. The name is held before the file exists, so that an interruption at any point (SIGINT,
    SIGTERM, SIGHUP: raised as exceptions where the program is) leaves no file behind; the removal itself
    is not interrupted."""
    import secrets

    tmp = None
    try:
        while tmp is None:
            tmp = os.path.join(folder, f"{prefix}{secrets.token_hex(4)}.tmp")
            try:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:  # another's: not ours to remove
                tmp = None
        yield tmp
    finally:
        if tmp is not None:
            with _signals_held():
                if os.path.lexists(tmp):
                    os.unlink(tmp)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends (where the system can; in the main thread)."""
    import threading

    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _through_a_temporary_file(write: Callable[[str], None], copy: Callable[[BinaryIO], None]) -> None:
    """``write(tmp)``, then ``copy`` what it wrote where it goes: writers that seek (Parquet, PNG) cannot
    write into a pipe, and a failed one sends nothing."""
    import tempfile

    with _temporary_file(tempfile.gettempdir(), ".linearnet.") as tmp:
        write(tmp)
        with open(tmp, "rb") as written:
            copy(written)


def _to_stdout(written: BinaryIO) -> None:
    # Not by opening /dev/stdout: that would truncate the file standard output is redirected to (even
    # with >>), and fails when it is a socket.
    sys.stdout.flush()  # what was printed before comes first
    shutil.copyfileobj(written, sys.stdout.buffer)
    sys.stdout.buffer.flush()


# --- standard output ------------------------------------------------------------------------------


class StdoutError(OSError):
    """Standard output failed to take what the command printed: a full disk or ``/dev/full``, a stream closed
    before the start (``>&-``). Said in one line by the command, exit code 2."""


_CLOSED = "closed when the command started, >&-"


class _ClosedStream:
    """What standard output is when the command was started with it closed: every write fails."""

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, _CLOSED)

    def flush(self) -> None:
        raise OSError(errno.EBADF, _CLOSED)

    def isatty(self) -> bool:
        return False

    @property
    def buffer(self):
        raise OSError(errno.EBADF, _CLOSED)


class GuardedStdout:
    """Standard output whose failures (but a reader gone: BrokenPipeError, the quiet exit 141) are raised as
    :class:`StdoutError`, told apart from errors of the files a command reads and writes."""

    def __init__(self, stream):
        self.stream = _ClosedStream() if stream is None else stream

    def _guarded(self, name: str, *args):
        try:
            return getattr(self.stream, name)(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror or str(exc)) from None

    def write(self, text: str) -> int:
        return self._guarded("write", text)

    def flush(self) -> None:
        self._guarded("flush")

    @property
    def buffer(self):
        try:
            return self.stream.buffer
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def __getattr__(self, name: str):
        return getattr(self.stream, name)

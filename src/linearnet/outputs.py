"""Where results go: output paths checked before the work, files written atomically.

Every file linearnet writes (model files, predictions, pictures) goes through
:func:`atomic_write`, so a failed or interrupted run leaves an existing file as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

__all__ = ["check_output", "atomic_write"]


def check_output(path, *, inputs=()) -> None:
    """Raise ``ValueError`` now, before any work, if a file cannot be written at ``path``, or if it is
    one of ``inputs`` (compared as files: a link or another spelling of an input is refused too)."""
    path = os.fspath(path)
    if path == "":
        raise ValueError("an output option was given an empty file name; name the file to write")
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, expected a file name for the output")
    for source in inputs:
        source = os.fspath(source)
        if source != "-" and os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise ValueError(f"{path}: is an input of this command ({source}); write the output to another file")
    _check_folder(path)


def _check_folder(path: str) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{path}: folder {folder} is not writable")
    return folder


def atomic_write(path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path``, then rename it over ``path``.

    A failure or interruption leaves an existing ``path`` untouched and no temporary file.
    """
    path = os.fspath(path)
    folder = _check_folder(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        if os.path.exists(path):  # keep the mode of the file being replaced
            mode = os.stat(path).st_mode & 0o7777
        else:  # a new file gets what the umask allows, as open() would give it
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise

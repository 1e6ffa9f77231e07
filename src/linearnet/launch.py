"""The launch agreement of a distributed run: before the processes a launcher started (torchrun) exchange
anything else, each checks that every one was given the same settings and sees the same data, in one
all-gather (:func:`agree`); otherwise every process refuses, naming the process that differs and in what.

Torch-free: the group (:class:`linearnet.distributed.Group`) does the exchange.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .config import SameEverywhereError

if TYPE_CHECKING:
    from .distributed import Group

__all__ = ["agree", "data_fingerprint"]

_SAMPLE = 4096  # bytes of each end of a file its fingerprint hashes

# what may differ between the processes of one run: where rank 0 writes (the others write nothing), how
# long each waits, and how rank 0 prints
_NOT_SETTINGS = frozenset(
    {"group", "handler", "out", "plot", "plot_predictions", "plot_size", "plot_steps", "json", "timeout"}
)


def agree(group: Group, settings: dict[str, Any], data: str | None = None) -> None:
    """Refuse, on every process, a launch whose processes were given different settings or see different
    data, before they exchange anything else: one all-gather of each process's ``settings`` (a command's
    parsed flags; where rank 0 writes and how long each waits may differ) and the :func:`data_fingerprint` of
    ``data``. Processes that disagree would otherwise train one model from mixed steps, or solve one from
    rows that are not one table, and end with exit 0.

    Raises:
        SameEverywhereError: naming the first process that differs from process 0, and in what; or the
            lowest process's error in looking at its files (one missing on its machine).
    """
    mine = {name: value for name, value in settings.items() if name not in _NOT_SETTINGS}
    exchanged = group.exchanged
    found = group.everyone(lambda: (mine, None if data is None else data_fingerprint(data)))
    first_settings, first_files = found[0]
    for rank, (theirs, _) in enumerate(found[1:], start=1):
        for name in sorted(set(first_settings) | set(theirs)):
            if first_settings.get(name) != theirs.get(name):
                raise SameEverywhereError(
                    f"process {rank} was started with {_flag(name, theirs.get(name))} where process 0 has "
                    f"{_flag(name, first_settings.get(name))}: every process must be given the same settings"
                )
    for rank, (_, files) in enumerate(found[1:], start=1):
        if files != first_files:
            raise SameEverywhereError(
                f"{data}: process {rank} reads {_difference(files or [], first_files or [])}: every machine must "
                f"see the same files"
            )
    group.exchanged = exchanged  # agreed: what one process refuses next, of these settings and data, all refuse alike


def _flag(name: str, value) -> str:
    """A setting as the command line gives it: ``--lr 0.1``, ``--features a,b``, ``--stream`` (a bound length)."""
    flag = "DATA" if name == "data" else f"--{name.replace('_', '-')}"
    if value is None or value is False:
        return f"no {flag}"
    if value is True:
        return flag
    shown = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return f"{flag} {shown if len(shown) <= 80 else shown[:77] + '...'}"


def data_fingerprint(path) -> list[tuple[str, int, str, str]]:
    """What tells the data at ``path`` from other data, cheaply: for each of its files (a folder's or a
    pattern's, sorted; or the one file), its name (within the folder), its size, its columns (a CSV's first
    line, a Parquet file's schema) and a hash of its first and last 4 KiB. Standard input has none (``[]``)."""
    import hashlib

    from .tables.source import _files

    name = os.fspath(path)
    if name == "-":
        return []
    files = _files(name) or [name]
    folder = name if os.path.isdir(name) else None
    out = []
    for file in files:
        try:
            size = os.path.getsize(file)
            with open(file, "rb") as stream:
                head = stream.read(_SAMPLE)
                stream.seek(max(size - _SAMPLE, 0))
                tail = stream.read(_SAMPLE)
        except OSError as exc:
            raise ValueError(f"{file}: {exc.strerror or exc}") from None
        shown = os.path.relpath(file, folder) if folder else os.path.basename(file) if len(files) > 1 else file
        out.append((shown, size, _columns(file, head), hashlib.blake2b(head + tail, digest_size=16).hexdigest()))
    return out


def _columns(file: str, head: bytes) -> str:
    """A file's columns as its first bytes give them: a CSV's first line, a Parquet file's schema."""
    if head.startswith(b"PAR1"):
        try:
            import pyarrow.parquet as pq

            return ",".join(pq.read_schema(file).names)
        except Exception:  # the reader says what is wrong with it
            return ""
    return head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")[:200]


def _difference(files: list, first: list) -> str:
    """What one process's :func:`data_fingerprint` has that process 0's has not, in words."""
    names, first_names = [f[0] for f in files], [f[0] for f in first]
    if names != first_names:
        return f"the files {_listed(names)} where process 0 reads {_listed(first_names)}"
    for (name, size, columns, digest), (_, first_size, first_columns, first_digest) in zip(files, first, strict=True):
        of = "" if len(files) == 1 else f"{name} with "  # one file: the message names it already
        if columns != first_columns:
            return f"{of}the columns {columns} where process 0 reads {first_columns}"
        if size != first_size:
            return f"{of}{size:,} bytes where process 0 reads {first_size:,}"
        if digest != first_digest:
            return f"{of}other contents than process 0's"
    raise AssertionError("unreachable: the fingerprints differ")  # pragma: no cover


def _listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most:,} more" if len(names) > most else "") if names else "no files"

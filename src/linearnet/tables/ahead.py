"""A pass over a table read one chunk ahead: while the caller works on a chunk (a solve's products), a
thread reads the next one (pyarrow's decoding and parsing, and NumPy's copies, run without holding
Python's lock), so that on two cores reading and computing overlap instead of taking turns."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
# the values (8 bytes each) of a chunk from which a pass is read ahead of its caller: below, handing chunks
# from a thread to another costs more than it hides, and the thread's memory counts against a small budget
AHEAD_BYTES = 1 << 20
_WAIT = 0.05  # seconds between two looks at whether the caller has stopped, while the thread waits


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def read_ahead(items: Generator[T, None, None], *, depth: int = 1) -> Iterator[T]:
    """``items`` in their order, each made in a thread while the caller works on the ones before (at most
    ``depth`` waiting); what making them raises is raised here, in its place among them. When the caller
    stops early (closes this, or leaves it), the thread stops after the item it is making, and ``items``
    is closed in it. With one core, ``items`` made here, one at a time."""
    if cores() < 2:
        yield from items
        return
    made: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                made.put(entry, timeout=_WAIT)
                return True
            except queue.Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((False, None))  # the end
        except BaseException as exc:  # said in the caller's thread, where it would have been raised
            put((False, exc))
        finally:
            items.close()

    thread = threading.Thread(target=make, name="linearnet-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            done, item = made.get()
            if done:
                yield item
            elif item is None:
                return
            else:
                raise item
    finally:
        stop.set()
        while thread.is_alive():  # the item being made is finished, then the thread sees the stop
            _drain(made)
            thread.join(_WAIT)


def _drain(made: queue.Queue) -> None:
    try:
        while True:
            made.get_nowait()
    except queue.Empty:
        pass

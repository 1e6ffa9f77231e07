"""Memory: how much there is, and hints that back large arrays with 2 MB pages on Linux.

:func:`available_bytes` is what a request is checked against before it allocates, and what
the default memory budget of streaming training is a fraction of.

Minibatch SGD reads rows in a random order, so on large data almost every row costs a
TLB miss with 4 KB pages. Asking Linux for transparent huge pages (``madvise``) cuts
those misses and about doubles the fast engine's throughput on a 400 MB array
(benchmarks/README.md). The contents never change; on other systems, or where the
kernel says no, these calls do nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

__all__ = [
    "advise_huge_pages",
    "HUGE_PAGE_MIN_BYTES",
    "available_bytes",
    "human_bytes",
    "release_arrow_unused",
    "return_freed_blocks",
]

_MADV_HUGEPAGE = 14
_MADV_COLLAPSE = 25  # Linux 6.1+: turn pages already in use into huge pages now
_HUGE = 2 << 20
HUGE_PAGE_MIN_BYTES = 64 << 20  # smaller arrays stay in cache and TLB reach well enough

_madvise: Any = None  # libc madvise, False where there is none, None before the first look


def _libc_madvise():
    global _madvise
    if _madvise is None:
        try:
            fn = ctypes.CDLL(None, use_errno=True).madvise
            fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
            fn.restype = ctypes.c_int
            _madvise = fn
        except (OSError, AttributeError):
            _madvise = False
    return _madvise


def advise_huge_pages(address: int, nbytes: int, *, collapse: bool) -> bool:
    """Ask for huge pages over the 2 MB-aligned part of ``[address, address + nbytes)``.

    ``collapse=False`` suits memory not yet written (pages fault in as huge pages);
    ``collapse=True`` also converts pages already in use, which costs about 0.5 s per GB
    once. Returns whether the kernel accepted the advice.
    """
    if not sys.platform.startswith("linux") or nbytes < HUGE_PAGE_MIN_BYTES:
        return False
    madvise = _libc_madvise()
    if not madvise:
        return False
    lo = (address + _HUGE - 1) & ~(_HUGE - 1)
    hi = (address + nbytes) & ~(_HUGE - 1)
    if hi <= lo or madvise(lo, hi - lo, _MADV_HUGEPAGE) != 0:
        return False
    return not collapse or madvise(lo, hi - lo, _MADV_COLLAPSE) == 0


def _cgroup_room() -> int | None:
    """Bytes this process's cgroup (v2) may still allocate, or None where it sets no limit."""
    try:
        with open("/proc/self/cgroup", encoding="ascii") as fh:
            group = fh.read().split("::", 1)[1].strip()
        base = f"/sys/fs/cgroup{group}"
        with open(f"{base}/memory.max", encoding="ascii") as fh:
            limit = fh.read().strip()
        if limit == "max":
            return None
        with open(f"{base}/memory.current", encoding="ascii") as fh:
            return max(0, int(limit) - int(fh.read()))
    except (OSError, IndexError, ValueError):
        return None


def available_bytes() -> int:
    """Memory a new allocation can have without swapping: Linux's MemAvailable, capped by the
    cgroup's limit; elsewhere the free physical pages."""
    room = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    room = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if room is None:
        try:
            room = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            room = 1 << 62  # unknown: do not refuse on a guess
    cgroup = _cgroup_room()
    return min(room, cgroup) if cgroup is not None else room


def human_bytes(n: float) -> str:
    """``n`` bytes in binary units, as people read them: 512 B, 3.2 MiB, 26.8 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter


def return_freed_blocks(threshold: int = 1 << 20) -> bool:
    """Have glibc give blocks of ``threshold`` bytes or more straight back to the system when freed.

    glibc serves such blocks from its heap once a few have been freed (its threshold adapts up
    to 32 MB), and a heap shrinks only from the top: reading a file in chunks of a few megabytes
    then keeps every freed chunk resident, about 100 MB more on a 1 GB file. Fixing the threshold
    keeps the memory of chunked reading flat. Returns whether glibc took the setting (elsewhere False).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, threshold) == 1


_arrow_read = [0]  # bytes read since pyarrow's memory pool last handed its unused blocks back


def release_arrow_unused(nbytes: int = 0, every: int = 0) -> None:
    """Hand what pyarrow's memory pool holds unused back to the system: its allocator keeps freed blocks
    for reuse, which on chunked reading of a wide Parquet file is some 100 MB more. Given the ``nbytes`` of
    a chunk just read, only once ``every`` bytes have been read since the last time: in between, the blocks
    a chunk freed serve the next ones, without the page faults of fresh memory (a few ms a chunk)."""
    import pyarrow as pa

    _arrow_read[0] += nbytes
    if _arrow_read[0] < every:
        return
    _arrow_read[0] = 0
    pa.default_memory_pool().release_unused()

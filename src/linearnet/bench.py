"""Timing: the book's Timer and the loop-versus-vectorised addition benchmark (d2l 3.1)."""

from __future__ import annotations

import statistics
import time

__all__ = ["Timer", "vectorization_benchmark"]


class Timer:
    """Record running times (d2l's ``Timer``), on the monotonic high-resolution clock.

    Example:
        >>> timer = Timer()          # started
        >>> seconds = timer.stop()   # and stopped: returns the time since start()
    """

    def __init__(self):
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self.tik = time.perf_counter()

    def stop(self) -> float:
        """Stop the timer, record the time since :meth:`start` and return it in seconds."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        total, out = 0.0, []
        for t in self.times:
            total += t
            out.append(total)
        return out


def vectorization_benchmark(n: int = 100_000, repeat: int = 3) -> list[dict]:
    """Add two length-n vectors element by element in a Python loop, and in one vectorised call.

    For torch and NumPy; returns one row per library with the median seconds of each way and
    the speed-up (the book: about 1.7 s against 0.001 s for n = 100,000). A length whose
    vectors cannot fit in the memory available is refused with ``ValueError`` before any is made.
    """
    import numpy as np
    import torch

    from . import memory
    from .config import check_int

    n = check_int("n", n, low=1, hint="e.g. 100000")
    repeat = check_int("repeat", repeat, low=1, hint="e.g. 3")
    itemsize = max(torch.get_default_dtype().itemsize, np.dtype(np.float64).itemsize)
    need, room = n * (4 * itemsize + 1), memory.available_bytes()  # a, b, c, d and one comparison's booleans
    if need > room:
        raise ValueError(
            f"adding two vectors of {n:,} numbers needs {memory.human_bytes(need)} of memory (the four vectors "
            f"of each way at once), and {memory.human_bytes(room)} is available; give a smaller n"
        )
    rows = []
    for name, ones, zeros in (("torch", torch.ones, torch.zeros), ("numpy", np.ones, np.zeros)):
        a, b = ones(n), ones(n)
        loop, vectorised = Timer(), Timer()
        loop.times.clear()
        vectorised.times.clear()
        for _ in range(repeat):
            c = zeros(n)
            loop.start()
            for i in range(n):
                c[i] = a[i] + b[i]
            loop.stop()
            vectorised.start()
            d = a + b
            vectorised.stop()
            # both ways computed the same vector, compared element by element (as NumPy views, not
            # copies): a sum of 2s in float32 is not exact beyond n = 2**24 (nor in float16 beyond 2**11)
            assert np.array_equal(np.asarray(c), np.asarray(d)) and bool((np.asarray(d) == 2).all())
            del c, d  # the next repeat's c is made without this one's alive
        del a, b
        loop_s, vec_s = statistics.median(loop.times), statistics.median(vectorised.times)
        rows.append(
            {
                "library": name,
                "n": n,
                "loop_seconds": loop_s,
                "vectorized_seconds": vec_s,
                "speedup": loop_s / vec_s if vec_s > 0 else float("inf"),
            }
        )
    return rows

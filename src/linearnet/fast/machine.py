"""What the compiled kernels need of the machine: a prefetch, atomic int64 flags two threads meet
through, a polite spin, and how many threads numba runs.

The flags two threads share live in one int64 array, each on its own cache line, so that a write to
one does not take the line of another away from the thread that polls it.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}
_AHEAD = 8  # rows prefetched ahead of the one being used
_F32_MAX = float(np.finfo(np.float32).max)  # beyond it the loss would be inf in float32, as in torch
_YIELD_EVERY = 256  # a waiting thread gives up its CPU once every so many spins


def _intrinsic(codegen_of) -> Any:
    """numba's ``intrinsic``: compiled code calls the result without the typing context its definition takes."""
    return intrinsic(codegen_of)


@_intrinsic
def _prefetch(typingctx, address):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Hint the CPU to load the cache line at ``address`` (an integer) for reading."""
    sig = types.void(types.intp)

    def codegen(context, builder, signature, args):
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        ptr = builder.inttoptr(args[0], i8p)
        opaque = getattr(ptr.type, "is_opaque", False)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(
            builder.module, fnty, "llvm.prefetch.p0" if opaque else "llvm.prefetch.p0i8"
        )
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])  # read, keep in all cache levels, data
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, inline="always")
def _prefetch_row(address, row_bytes):  # pragma: no cover - compiled
    """Prefetch the cache lines of the row of ``row_bytes`` bytes that starts at ``address``."""
    for offset in range(0, row_bytes + 64, 64):
        _prefetch(address + offset)


# --- what two threads meet through: atomic reads and writes of int64 flags, and a polite spin ------------


def _int64_at(builder, address):  # pragma: no cover - runs when numba compiles, not from its cache
    return builder.inttoptr(address, ir.IntType(64).as_pointer())


@_intrinsic
def _load(typingctx, address):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """The int64 at ``address``, read atomically (acquire): never cached in a register across a wait."""

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_int64_at(builder, args[0]), "acquire", 8)

    return types.int64(types.intp), codegen


@_intrinsic
def _store(typingctx, address, value):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Write the int64 ``value`` at ``address`` atomically (release): what was written before is seen first."""

    def codegen(context, builder, signature, args):
        builder.store_atomic(args[1], _int64_at(builder, args[0]), "release", 8)
        return context.get_dummy_value()

    return types.void(types.intp, types.int64), codegen


@_intrinsic
def _claim(typingctx, address, expected):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Raise the int64 at ``address`` from ``expected`` to ``expected + 1`` if it still holds
    ``expected`` (compare-and-swap); True if this thread did."""

    def codegen(context, builder, signature, args):
        one = ir.Constant(ir.IntType(64), 1)
        pair = builder.cmpxchg(_int64_at(builder, args[0]), args[1], builder.add(args[1], one), "acq_rel", "acquire")
        return builder.extract_value(pair, 1)

    return types.boolean(types.intp, types.int64), codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@_intrinsic
def _pause(typingctx, yield_cpu):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Tell the CPU this thread is spin-waiting (x86 ``pause``), or, every so often (``yield_cpu``),
    give the CPU to another thread (POSIX ``sched_yield``): on a busy machine the partner thread
    may be waiting for this very CPU."""

    def codegen(context, builder, signature, args):
        yield_cpu = args[0]
        with builder.if_else(yield_cpu) as (then, otherwise):
            with then:
                if os.name == "posix":
                    fn = cgutils.get_or_insert_function(
                        builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield"
                    )
                    builder.call(fn, [])
            with otherwise:
                if _X86:
                    fn = cgutils.get_or_insert_function(
                        builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause"
                    )
                    builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(types.boolean), codegen


@_intrinsic
def _nap(typingctx, microseconds):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """Sleep for ``microseconds`` (POSIX ``usleep``; nothing elsewhere): a thread that has waited long
    leaves its CPU to others, the thread it waits for among them, rather than spinning through its slice."""

    def codegen(context, builder, signature, args):
        if os.name == "posix":
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), [ir.IntType(32)]), "usleep"
            )
            builder.call(fn, [builder.trunc(args[0], ir.IntType(32))])
        return context.get_dummy_value()

    return types.void(types.int64), codegen


@_intrinsic
def _cycles(typingctx):  # pragma: no cover - numba runs it when it compiles, not from its cache
    """The CPU's cycle counter (x86 ``rdtsc``, the same on every core of a machine with an invariant
    one), or 0 where LLVM has none: then whoever waits on it waits as long as it takes."""

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter"
        )
        return builder.call(fn, [])

    return types.int64(), codegen


_NAP_AFTER = 1 << 12  # spins after which a waiting thread sleeps between looks
_NAP_MICROSECONDS = 20


@njit(cache=True, nogil=True, inline="always")
def _wait_a_little(spins):  # pragma: no cover - compiled
    """One turn of a wait that has lasted ``spins`` turns: a ``pause``, a ``sched_yield`` every
    ``_YIELD_EVERY`` turns, and past ``_NAP_AFTER`` turns a short sleep first (on a busy machine
    a spinning thread would take the CPU its partner, or another program, needs)."""
    if spins >= _NAP_AFTER:
        _nap(_NAP_MICROSECONDS)
    _pause(spins % _YIELD_EVERY == 0)


_CLAIMED = 0  # the chunk being copied (pipeline), or batches whose second half is claimed (pair)
_USED = 8  # the chunk the stepping thread is on, every earlier slot free (pipeline); batches stepped (pair)
_STOP = 16  # set to 1 when the stepping thread is done: the other stops waiting and returns
_LIVE = 24  # set to 1 when the stepping thread starts: only then does the other wait for it
_READY = 32  # _READY + 8·slot: 1 + the chunk copied into the slot (pipeline); second halves done (pair)
_BEGUN = 33  # the cycle count at which the helping thread began the last second half it claimed (pair)
_START_SPINS = 1 << 16  # how long the helping thread waits for the stepping one to start, in spins


@njit(cache=True, nogil=True, inline="always")
def _stepper_started(sync):  # pragma: no cover - compiled
    """Wait, a bounded while, for the stepping thread to start: False if it has not. Then the two
    parts are running one after the other, as on a single thread, and the helping one leaves it all
    to the stepping one (which never waits for work nobody has claimed)."""
    flags = sync.ctypes.data
    spins = 0
    while not _load(flags + 8 * _LIVE):
        if spins == _START_SPINS:
            return False
        spins += 1
        _pause(spins % _YIELD_EVERY == 0)
    return True


def aligned(array: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``array`` that starts on a 64-byte boundary (a cache line, and the width of an
    AVX-512 load): two threads that each write their own rows of it, each row a whole number of cache lines,
    never write to the same line."""
    raw = np.empty(array.nbytes + 64, np.uint8)
    skip = -raw.ctypes.data % 64
    out = raw[skip : skip + array.nbytes].view(array.dtype).reshape(array.shape)
    out[...] = array
    return out


def two_threads() -> bool:
    """Whether an epoch may use a second thread: numba runs at least two (``NUMBA_NUM_THREADS``, by
    default the CPUs this process may run on, or ``numba.set_num_threads``)."""
    return get_num_threads() >= 2

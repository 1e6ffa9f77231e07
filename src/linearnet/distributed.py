"""Several processes, one fit: torch.distributed, as ``torchrun`` (or Slurm, or any launcher that
sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``) starts them.

Each process reads its own share of the rows (:func:`linearnet.tables.table_chunks` with
``share=``) and the processes combine what they found:

- the exact solve (:func:`linearnet.leastsq.solve_chunks` with ``group=``) gathers each pass's
  sums and triangular factors and adds or stacks them in rank order, in double-double where the
  single-process solve sums in double-double: every process gets the same numbers, and the path,
  checks and messages of one process reading every row;
- minibatch SGD (:class:`DataParallel`) is data-parallel as ``DistributedDataParallel`` does it:
  each step every process computes the summed gradient of its part of the global batch, the
  sums are all-reduced, and every process takes the same step.

Before they exchange anything else, the processes agree on their settings and on their data's files
(:func:`linearnet.launch.agree`), or all refuse. The backend is gloo (CPUs). Every wait is bounded by
the group's timeout: a process that dies or stops answering makes the others raise
:class:`ProcessFailed`, naming it.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
import torch

from .batches import BatchSource, Block, epoch_order
from .config import SameEverywhereError, SameEverywhereTypeError, check_int
from .launch import agree, data_fingerprint  # the launch agreement, torch-free

__all__ = [
    "DEFAULT_TIMEOUT",
    "Group",
    "ProcessFailed",
    "SameEverywhereError",
    "DataParallel",
    "Replicated",
    "Shared",
    "launched",
    "group",
    "agree",
    "data_fingerprint",
    "local_batch",
    "share",
]

DEFAULT_TIMEOUT = 300.0  # seconds a process waits for the others before it gives up
_BEAT = 0.5  # seconds between a process's heartbeats in the rendezvous store
_LEAVING = "linearnet/leaving"  # the count of processes that have come to leave, in the rendezvous store
_LEAVE_WAIT = 5.0  # seconds a process waits at most for the others before it leaves
_ZERO_LEAVING = "linearnet/zero-leaving"  # set once process 0 has said what it had to say and comes to leave
_T = TypeVar("_T")


class ProcessFailed(RuntimeError):
    """Another process died or stopped answering: nothing of this run should be kept. ``quiet``: the
    ranks of the processes that stopped answering, where known."""

    def __init__(self, message: str, quiet: list[int] | None = None):
        super().__init__(message)
        self.quiet = quiet  # None: this process's own failure (it could not join the others)


def launched() -> bool:
    """Whether a launcher started this process as one of several (``WORLD_SIZE`` above 1)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        return False


class Group:
    """The processes of one run, and the collectives linearnet needs of them.

    ``rank`` (0 … ``size`` − 1) says which process this is; rank 0 prints and writes. Made by
    :func:`group`; one process alone is ``Group.alone()``, whose collectives return at once.
    """

    def __init__(self, rank: int, size: int, timeout: float, store: Any = None):
        self.rank, self.size, self.timeout = rank, size, timeout
        # whether the processes have exchanged anything yet: until then each has done the same with the same
        # arguments, so what one refuses every one refuses, and rank 0 alone need say it
        self.exchanged = False
        self._store = store
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        if store is not None:  # pragma: no cover - in launched processes
            self._beat = threading.Thread(target=self._heartbeat, name="linearnet-heartbeat", daemon=True)
            self._beat.start()

    @classmethod
    def alone(cls) -> Group:
        return cls(0, 1, DEFAULT_TIMEOUT)

    # --- faults ------------------------------------------------------------------------------

    def _heartbeat(self) -> None:  # pragma: no cover - in launched processes
        key = f"linearnet/beat/{self.rank}"
        while not self._stop.wait(_BEAT):
            try:
                self._store.add(key, 1)
            except Exception:  # the store's host is gone: the collectives will say so
                return

    def _beats(self) -> list[int | None]:  # pragma: no cover - in launched processes
        out: list[int | None] = []
        for r in range(self.size):
            try:
                out.append(int(self._store.add(f"linearnet/beat/{r}", 0)))
            except Exception:
                out.append(None)
        return out

    def _failed(self, exc: BaseException) -> ProcessFailed:  # pragma: no cover - in launched processes
        """What to say when a collective failed: which processes stopped beating, by the store's word."""
        before = self._beats()
        time.sleep(3 * _BEAT)
        after = self._beats()
        if all(b is None for b in after):
            quiet, who = [0], "process 0, which holds the rendezvous store,"
        else:
            quiet = [r for r in range(self.size) if r != self.rank and (after[r] is None or after[r] == before[r])]
            if quiet:
                who = " and ".join(f"process {r}" for r in quiet) + f" (of {self.size})"
            else:
                who = f"another of the {self.size} processes"
        return ProcessFailed(
            f"{who} stopped answering (process {self.rank} waited at most {self.timeout:g} s, the --timeout); "
            f"nothing was written",
            quiet,
        )

    @contextlib.contextmanager
    def _collective(self) -> Iterator[None]:
        try:
            yield
        except RuntimeError as exc:  # pragma: no cover - gloo: a timeout, or a connection a process that died closed
            raise self._failed(exc) from None

    # --- collectives -------------------------------------------------------------------------

    def everyone(self, part: Callable[[], _T]) -> list[_T]:
        """Run ``part`` here and return every process's result, in rank order.

        When ``part`` raises ValueError or TypeError on any process (a bad value in its share of a
        file), every process raises the lowest rank's, as a :class:`SameEverywhereError` (a ValueError;
        a TypeError too where that was one): the first error in the data's order, the one a single
        process reading every row would meet first.
        """
        try:
            mine: tuple[tuple[bool, str] | None, Any] = (None, part())
        except (ValueError, TypeError) as exc:  # sent as its kind and message, whatever its class (it may not pickle)
            mine = ((isinstance(exc, TypeError), str(exc)), None)
        parts: list[Any] = [mine]
        self.exchanged = True
        if self.size > 1:  # pragma: no cover - in launched processes
            import torch.distributed as dist

            parts = [None] * self.size
            with self._collective():
                dist.all_gather_object(parts, mine)
        for rank, (error, _) in enumerate(parts):
            if error is not None:
                is_type, message = error
                if rank:  # the file may be missing on that machine alone: say whose it is
                    message = f"process {rank}: {message}"
                raise (SameEverywhereTypeError if is_type else SameEverywhereError)(message)
        return [value for _, value in parts]

    def all_sum(self, values: np.ndarray) -> np.ndarray:
        """The elementwise sum of every process's float64 ``values`` (summed in place): an SGD step's all-reduce."""
        self.exchanged = True
        if self.size > 1:  # pragma: no cover - in launched processes
            import torch.distributed as dist

            with self._collective():
                dist.all_reduce(torch.from_numpy(values))
        return values

    def close(self) -> None:
        self._stop.set()
        if self.size > 1:  # pragma: no cover - in launched processes
            import torch.distributed as dist

            self._leave_together()
            with contextlib.suppress(Exception):
                dist.destroy_process_group()

    def _leave_together(self) -> None:  # pragma: no cover - in launched processes
        """Process 0 waits, at most ``_LEAVE_WAIT`` seconds, until every other process has come to leave. A
        process that leaves as soon as its part of the last exchange is done closes its connections while
        another may still be reading that exchange's messages: the other then fails as if a process had
        stopped answering (under load, a refusal every process made was said by process 0 and ended another
        with exit 1). Process 0 leaves last, as it holds the rendezvous store the others count themselves
        in; a process that did stop answering never comes, and the wait ends at the bound. The others wait (as
        long, at most) until process 0 has come to leave, once it has printed what it had to say: torchrun stops
        every process once one has failed, and a refusal every process made was sometimes lost when process 1
        left first."""
        if self._store is None:
            return
        try:
            if self.rank != 0:  # process 0 prints (a refusal every process made): a launcher that saw this one
                self._wait_for(_ZERO_LEAVING, 1)  # leave first, failing, could stop process 0 before it said it
                self._store.add(_LEAVING, 1)  # the last word with the store, whose host then may leave
                return
            self._store.add(_ZERO_LEAVING, 1)
            self._store.add(_LEAVING, 1)
            self._wait_for(_LEAVING, self.size)
        except Exception:  # the store's host has left: there is no one to wait for
            return

    def _wait_for(self, key: str, count: int) -> None:  # pragma: no cover - in launched processes
        """Wait, at most ``_LEAVE_WAIT`` seconds, until the store's counter ``key`` reaches ``count``."""
        deadline = time.monotonic() + _LEAVE_WAIT
        while int(self._store.add(key, 0)) < count and time.monotonic() < deadline:
            time.sleep(0.02)


def group(timeout: float = DEFAULT_TIMEOUT) -> Group:
    """Join the processes a launcher started (gloo, the launcher's ``MASTER_ADDR``:``MASTER_PORT``),
    or, when none did, this process alone. Every collective waits at most ``timeout`` seconds.

    Raises:
        ProcessFailed: the others could not be reached within ``timeout``.
    """
    return _join(timeout) if launched() else Group.alone()


def _join(timeout: float) -> Group:  # pragma: no cover - in launched processes
    import torch.distributed as dist
    from torch.distributed import distributed_c10d

    if not dist.is_initialized():
        try:
            dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=timeout))
        except (RuntimeError, ValueError) as exc:  # the rendezvous timed out, or the launcher's variables are wrong
            where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ProcessFailed(
                f"could not join the other processes at {where} within {timeout:g} s ({reason})"
            ) from None
    return Group(dist.get_rank(), dist.get_world_size(), timeout, distributed_c10d._get_default_store())


# --- data-parallel SGD -----------------------------------------------------------------------


def share(rows, rank: int, size: int):
    """(first, end) of process ``rank``'s share of ``rows`` rows (an int, or a tensor of counts): the shares
    of the ``size`` processes follow one another and differ by at most one row. The one place where rows, a
    batch or a table, are cut between processes; a batch size always means the global batch."""
    return rows * rank // size, rows * (rank + 1) // size


def local_batch(batch_size: int, rank: int, size: int) -> int:
    """This process's part of a global batch of ``batch_size`` rows (its :func:`share`).

    Raises:
        ValueError: the batch is smaller than the number of processes, which would leave one without rows.
    """
    if batch_size < size:
        raise ValueError(
            f"the batch size ({batch_size}) must be at least the number of processes ({size}): each process "
            f"computes the gradient of its part of every batch"
        )
    first, end = share(batch_size, rank, size)
    return end - first


class Shared:
    """A process's own share of the rows (a :class:`BatchSource` over them), each epoch in its own
    order, ending with an empty block: there the process, done with its rows, keeps stepping
    with the others until every process is done (a share may hold fewer batches than another's).

    Process ``rank`` of ``size`` steps through its part of each global batch (:func:`local_batch`): asked
    for batches of ``batch_size`` rows, it asks its source for batches of that part."""

    def __init__(self, source: BatchSource, rank: int = 0, size: int = 1):
        self.source, self.rank, self.size = source, rank, size
        self.num_rows, self.num_features = source.num_rows, source.num_features  # this process's rows

    def blocks(
        self,
        *,
        shuffle: bool | str,
        generator: torch.Generator | None = None,
        block_rows: int | None = None,
        batch_size: int | None = None,
    ) -> Iterator[Block]:
        classes = getattr(self.source, "classes", False)  # class numbers (n,), or targets (n, 1)
        labels = torch.empty(0, dtype=torch.int64) if classes else torch.empty(0, 1)
        if batch_size is not None and shuffle == "blocks":  # the batches this process steps through
            batch_size = local_batch(batch_size, self.rank, self.size)
        yield from self.source.blocks(
            shuffle=shuffle, generator=generator, block_rows=block_rows, batch_size=batch_size
        )
        if shuffle:
            yield Block(torch.empty(0, self.num_features), labels, None)


class Replicated:
    """Every row on every process: each epoch's order (a permutation; with ``shuffle="blocks"`` the
    blocks' order, :func:`linearnet.batches.block_order`) is drawn from the same generator on all of
    them, and this process visits its part of each global batch: together they step through exactly
    the batches one process would. Asked for ``batch_size`` with ``shuffle="blocks"``, the rows of each
    global batch of ``self.batch_size`` rows are put in row order before they are shared out."""

    def __init__(self, source: Any, rank: int, size: int, batch_size: int):
        self.source, self.rank, self.size = source, rank, size
        self.batch_size = check_int("batch_size", batch_size, low=1, hint="e.g. 10")
        self.num_features, self.all_rows = source.num_features, source.num_rows
        n, B = source.num_rows, self.batch_size
        full, last = divmod(n, B)  # this process's rows: its part of each global batch
        first, end = share(last, rank, size)
        self.num_rows = full * local_batch(B, rank, size) + end - first

    def blocks(
        self,
        *,
        shuffle: bool | str,
        generator: torch.Generator | None = None,
        block_rows: int | None = None,
        batch_size: int | None = None,
    ) -> Iterator[Block]:
        if not shuffle:  # evaluation: this process's slice of the rows, so that the sums add up to all of them
            lo, hi = share(self.all_rows, self.rank, self.size)
            yield Block(self.source.features[lo:hi], self.source.labels[lo:hi], None)
            return
        n, B, r, P = self.all_rows, self.batch_size, self.rank, self.size
        order = epoch_order(  # the same on every process
            n, self.num_features, shuffle, generator, None if batch_size is None else B
        )
        assert order is not None
        starts = torch.arange(0, n, B)
        m = torch.clamp(n - starts, max=B)  # rows of each global batch
        first, end = share(m, r, P)
        lo, hi = starts + first, starts + end
        mine = torch.cat([order[a:b] for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])
        yield Block(self.source.features, self.source.labels, mine)
        yield Block(self.source.features[:0], self.source.labels[:0], None)


class DataParallel:
    """An engine stepping together with the same engine on the other processes of ``group``.

    Each step this process sums the gradient of its part of the global batch (``local_batch``
    rows of ``batch_size``; none once its rows are done), one all-reduce adds the sums, the
    losses and the row counts of every process, and every process applies the same update
    through its engine's optimizer: with the mean reduction, along the gradient's mean over the
    global batch. An epoch's source ends with an empty block, on which a process that is done
    keeps taking the steps of the others, contributing nothing, until a step finds no process
    with rows left.
    """

    def __init__(self, engine: Any, group: Group):
        self.engine, self.group = engine, group
        self.classifier = getattr(engine, "classifier", False)

    def set_lr(self, lr: float) -> None:
        self.engine.set_lr(lr)

    def parameters(self):
        return self.engine.parameters()

    def evaluate(self, block: Block) -> tuple[float, float | None]:
        return self.engine.evaluate(block)

    def accumulate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[list[np.ndarray], float]:
        return self.engine.accumulate(X, y)

    def apply(self, grads: list[np.ndarray], rows: int) -> None:
        self.engine.apply(grads, rows)

    def _step(self, X: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
        """One global step with this process's rows (X, y): (the global batch's summed loss, its rows)."""
        grads, loss = self.engine.accumulate(X, y)
        flat = np.concatenate([*(np.ravel(g) for g in grads), [loss, float(len(X))]])
        self.group.all_sum(flat)
        rows = int(flat[-1])
        if rows:
            parts, at = [], 0
            for g in grads:
                parts.append(flat[at : at + np.size(g)].reshape(np.shape(g)))
                at += np.size(g)
            self.engine.apply(parts, rows)
        return float(flat[-2]), rows

    def train_block(
        self, block: Block, batch_size: int, steps: list | None = None, running: float = 0.0
    ) -> tuple[float, int]:
        b = local_batch(batch_size, self.group.rank, self.group.size)
        batches = 0
        if not np.isfinite(running):
            return running, 0
        if block.weights is not None:  # refused rather than trained as if every weight were 1
            raise ValueError("weighted rows are trained in one process, not data-parallel")
        features, labels, order = block.features, block.labels, block.order
        n = len(features) if order is None else len(order)
        at = 0
        while True:
            if order is None:
                X, y = features[at : at + b], labels[at : at + b]
            else:
                picked = order[at : at + b]
                X, y = features.index_select(0, picked), labels.index_select(0, picked)
            if not len(X) and n:  # this block's rows are done; the epoch is not
                break
            total, rows = self._step(X, y)
            if not rows:  # no process had rows left: the epoch is over
                break
            loss = total / rows
            batches += 1
            if steps is not None:
                steps.append(loss)
            if not loss <= torch.finfo(torch.float32).max:  # NaN or inf: every process stops here
                return (loss if loss != loss else float("inf")), batches
            running += loss
            at += b
        return running, batches

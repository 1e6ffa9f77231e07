"""Rows to batches: the book's minibatch iterators and the batch source the training loop reads.

A *source* hands the training loop *blocks*: in-memory rows plus the order in which to
visit them this epoch. An in-memory source is one block with one random permutation
per epoch; a file read in chunks can later be many blocks, each shuffled on its own.
Batches are cut from a block by slicing the order and ``index_select``: never a
Python list of indices, never a per-row ``__getitem__``.

An epoch's order is one random permutation of all rows (``shuffle="rows"``, the book's), or, with
``shuffle="blocks"``, the rows cut into consecutive blocks of a few hundred kilobytes visited in a
random order, each block's rows shuffled within it (:func:`block_order`): the reads of a batch then
stay within one block, in cache, instead of landing anywhere in the features. Given the batch size, the rows
of each batch are then visited in row order: a batch's gradient is their sum, so this changes only its
rounding, and reads a block's rows as the memory lies.

A file larger than memory is a :class:`StreamSource`: each epoch reads its chunks in a
fresh random order and mixes their rows through a shuffle buffer of bounded size, as
streaming data loaders do. That order is not the in-memory source's single permutation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import NamedTuple, Protocol

import numpy as np
import torch

from .config import SHUFFLES, check_choice, check_int
from .memory import advise_huge_pages

__all__ = [
    "data_iter",
    "load_array",
    "ArrayLoader",
    "iter_batches",
    "SHUFFLE_BLOCK_BYTES",
    "shuffle_block_rows",
    "block_order",
    "epoch_order",
    "Block",
    "BatchSource",
    "TensorSource",
    "Chunks",
    "ShuffledChunks",
    "StreamSource",
    "check_xy",
]


def check_xy(features, labels, *, classes: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a (features, labels) pair where it enters; return float32 (n, d) and (n, 1),
    or, with ``classes=True``, int64 class labels (n,)."""
    for name, t in (("features", features), ("labels", labels)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}; use torch.as_tensor({name})")
    if features.ndim != 2:
        raise ValueError(
            f"features must be 2-D (n_examples, n_features), got shape "
            f"{tuple(features.shape)}; use features.reshape(-1, 1) for one feature"
        )
    if labels.ndim not in (1, 2) or (labels.ndim == 2 and labels.shape[1] != 1):
        raise ValueError(f"labels must have shape (n,) or (n, 1), got {tuple(labels.shape)}")
    if len(features) != len(labels):
        raise ValueError(
            f"features and labels must have the same number of rows, got {len(features)} and {len(labels)}"
        )
    if len(features) == 0:
        raise ValueError("features must have at least one row, got 0")
    features = features.to(torch.float32).contiguous()
    if classes:
        if labels.is_floating_point() or labels.is_complex():
            raise TypeError(f"class labels must be integers, got dtype {labels.dtype}")
        labels = labels.to(torch.int64).reshape(-1).contiguous()
        if not torch.isfinite(features).all():
            raise ValueError("features must be finite; found NaN or inf")
        return features, labels
    labels = labels.to(torch.float32).reshape(-1, 1).contiguous()
    if not (torch.isfinite(features).all() and torch.isfinite(labels).all()):
        raise ValueError("features and labels must be finite; found NaN or inf")
    return features, labels


def iter_batches(features, labels, batch_size: int, order: torch.Tensor | None = None):
    """Yield (X, y) batches in ``order`` (row numbers: a permutation, or a slice of one) or in
    row order; the last may be short."""
    n = len(features) if order is None else len(order)
    for i in range(0, n, batch_size):
        if order is None:
            yield features[i : i + batch_size], labels[i : i + batch_size]
        else:
            idx = order[i : i + batch_size]
            yield features.index_select(0, idx), labels.index_select(0, idx)


def data_iter(batch_size, features, labels, *, shuffle=True, generator: torch.Generator | None = None):
    """The book's minibatch iterator: one random permutation, batches by ``index_select``.

    Example:
        >>> for X, y in data_iter(10, features, labels):
        ...     break
    """
    batch_size = check_int("batch_size", batch_size, low=1, hint="e.g. 10")
    features, labels = check_xy(features, labels)
    order = torch.randperm(len(features), generator=generator) if shuffle else None
    yield from iter_batches(features, labels, batch_size, order)


class ArrayLoader:
    """Re-iterable minibatch loader: a new permutation each pass, ``len()`` counts batches.

    Same batches as ``DataLoader(TensorDataset(X, y), batch_size, shuffle=True)``, without
    its per-row ``__getitem__`` and collate.
    """

    def __init__(self, features, labels, batch_size, *, shuffle=True, generator=None):
        self.batch_size = check_int("batch_size", batch_size, low=1, hint="e.g. 10")
        self.features, self.labels = check_xy(features, labels)
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return -(-len(self.features) // self.batch_size)

    def __iter__(self):
        order = torch.randperm(len(self.features), generator=self.generator) if self.shuffle else None
        return iter_batches(self.features, self.labels, self.batch_size, order)


def load_array(data_arrays, batch_size, is_train=True, generator: torch.Generator | None = None):
    """The book's concise iterator (d2l 3.3): ``load_array((features, labels), batch_size)``."""
    if not isinstance(data_arrays, (tuple, list)) or len(data_arrays) != 2:
        raise TypeError("data_arrays must be a (features, labels) pair")
    features, labels = data_arrays
    return ArrayLoader(features, labels, batch_size, shuffle=is_train, generator=generator)


# A block of shuffle="blocks" holds about this many bytes of float32 features: well within a core's L2 cache
# (1-2 MB on recent x86 and ARM cores, 512 KB on older ones), so that the random reads within a block hit
# memory pages and cache lines that its first reads brought in. Measured with the fast engine's epoch on 400 MB
# of features (one thread, batch 10 and 1024): at 100 features a row, blocks of 128-2,048 rows (50-800 KB)
# ran alike, 20-21 M rows/s, about three times one permutation of all rows, 4,096 rows (1.6 MB) 16 M and
# 16,384 rows 15 M; at 20 features, 2,048 rows (160 KB) ran best, 32-37 M rows/s, 640 KB and more 26-30 M.
SHUFFLE_BLOCK_BYTES = 256 << 10


def shuffle_block_rows(num_features: int) -> int:
    """The rows of a block of ``shuffle="blocks"`` for rows of ``num_features`` float32 features: the
    largest power of two whose rows fit in ``SHUFFLE_BLOCK_BYTES`` (512 rows of 100 features, 2,048 of 20), at
    least 1."""
    rows = max(1, SHUFFLE_BLOCK_BYTES // (4 * max(1, num_features)))
    return 1 << (rows.bit_length() - 1)


_DRAW_ROWS = 1 << 15  # block_order writes this many rows (256 KB of int64) at a time, in cache


def block_order(
    num_rows: int, block_rows: int, generator: torch.Generator | None = None, batch_size: int | None = None
) -> torch.Tensor:
    """An epoch's order read in blocks: rows ``[k·block_rows, (k+1)·block_rows)`` form block k (the last
    holds what is left), the blocks come in a random order, and each block's rows in a random order
    within it. Every row once; int64, as ``torch.randperm``; drawn from ``generator`` alone.

    Given ``batch_size``, each batch's rows (each consecutive ``batch_size`` positions of the order, and the
    short last ones) are then put in row order: the same draws, so the same rows in each batch, visited in
    row order. A batch's gradient is their sum, so this changes only its rounding, and reads a block's rows
    as the memory lies (a random order within a block defeats the hardware's prefetching).

    ``block_rows`` is a power of two: each full block's rows follow one random permutation of
    ``block_rows`` drawn for the epoch, its positions XORed with a random mask of the block's own, so
    that the blocks are not shuffled alike; the last, short block by a permutation of its own. The draw
    costs a few milliseconds for a million rows, a fraction of ``torch.randperm(num_rows)``.
    """
    if block_rows < 1 or block_rows & (block_rows - 1):
        raise ValueError(f"block_rows must be a power of two, got {block_rows}")
    full, rest = divmod(num_rows, block_rows)
    sequence = torch.randperm(full + (rest > 0), generator=generator).numpy()  # the blocks' order
    within = torch.randperm(block_rows, generator=generator).numpy()
    masks = torch.randint(block_rows, (full, 1), generator=generator).numpy()
    order = np.empty(num_rows, dtype=np.int64)
    first = int(np.flatnonzero(sequence == full)[0]) if rest else full  # the full blocks before the short one
    at = first * block_rows
    if rest:
        order[at : at + rest] = torch.randperm(rest, generator=generator).numpy() + full * block_rows
    starts = sequence[sequence != full, None] * block_rows  # (full, 1): each full block's first row, in order
    offsets, step = np.arange(block_rows), max(1, _DRAW_ROWS // block_rows)  # blocks written at a time
    for out, first_block in ((order[:at], 0), (order[at + rest :], first)):
        out = out.reshape(-1, block_rows)  # a view: the blocks' rows written in place, a cache-sized part at a time
        for k in range(0, len(out), step):
            part = out[k : k + step]
            blocks = slice(first_block + k, first_block + k + len(part))
            np.bitwise_xor(offsets, masks[blocks], out=part)
            np.add(within[part], starts[blocks], out=part)
    if batch_size is not None:
        _sort_batches(order, check_int("batch_size", batch_size, low=1, hint="e.g. 10"))
    return torch.from_numpy(order)


def _sort_batches(order: np.ndarray, batch_size: int) -> None:
    """Sort each consecutive ``batch_size`` positions of ``order`` (and the short last ones) in place.

    The row numbers are sorted as int32 where they fit: numpy's vectorized sort of 32-bit numbers took about
    a third of the time of the int64 one on (977, 1,024) row numbers (2.3 against 7.5 ms, AVX-512)."""
    if batch_size < 2:
        return
    keys = order.astype(np.int32) if len(order) <= np.iinfo(np.int32).max else order
    full = len(keys) // batch_size * batch_size
    keys[:full].reshape(-1, batch_size).sort(axis=1)
    keys[full:].sort()
    if keys is not order:
        order[:] = keys


def epoch_order(
    num_rows: int,
    num_features: int,
    shuffle: bool | str,
    generator: torch.Generator | None = None,
    batch_size: int | None = None,
) -> torch.Tensor | None:
    """The order an epoch visits ``num_rows`` rows in: ``None`` (row order) when not ``shuffle``; one
    ``torch.randperm`` of all rows for ``True`` or ``"rows"`` (``batch_size`` unused); :func:`block_order` in
    blocks of :func:`shuffle_block_rows` rows for ``"blocks"``, given ``batch_size`` the rows of each batch
    visited in row order (a batch's gradient is their sum: only its rounding changes)."""
    if not shuffle:
        return None
    if shuffle is True or shuffle == "rows":
        return torch.randperm(num_rows, generator=generator)
    check_choice("shuffle", shuffle, SHUFFLES)
    return block_order(num_rows, shuffle_block_rows(num_features), generator, batch_size)


class Block(NamedTuple):
    """Rows in memory and the order to visit them (``None``: row order), and the rows' weights (``None``: 1)."""

    features: torch.Tensor  # (n, d) float32, contiguous
    labels: torch.Tensor  # (n, 1) float32
    order: torch.Tensor | None  # (m,) int64 row numbers: a permutation, or a slice of one
    weights: torch.Tensor | None = None  # (n,) float32: each row's loss is multiplied by its weight


class BatchSource(Protocol):
    """Where the training loop gets its rows."""

    num_rows: int
    num_features: int

    def blocks(
        self,
        *,
        shuffle: bool | str,
        generator: torch.Generator | None = None,
        block_rows: int | None = None,
        batch_size: int | None = None,
    ) -> Iterator[Block]:
        """The epoch's blocks, in row order (``shuffle=False``) or in a random order: ``True`` or ``"rows"``,
        or ``"blocks"`` (:func:`epoch_order`); ``block_rows`` asks for blocks of at most about that many rows
        (a source may ignore it: a streamed one comes in chunks already). ``batch_size``, the batches the
        order is cut into, lets ``"blocks"`` visit each batch's rows in row order (:func:`block_order`)."""
        ...


class TensorSource:
    """An in-memory source: one block, one ``torch.randperm`` per epoch (with ``shuffle="blocks"``, one
    :func:`block_order`).

    Asked for ``block_rows``, it cuts the epoch's permutation into slices of that many rows
    (views of the same rows, visited in the same order), so that the loop can report within
    an epoch; with a multiple of the batch size every batch stays the same.

    Large feature arrays are moved onto huge pages once, here (see :mod:`linearnet.memory`):
    random row access then misses the TLB far less often.
    """

    def __init__(self, features, labels, *, classes: bool = False, weights: torch.Tensor | None = None):
        self.features, self.labels = check_xy(features, labels, classes=classes)
        self.num_rows, self.num_features = self.features.shape
        self.weights = None if weights is None else weights.to(torch.float32).reshape(-1).contiguous()
        if self.weights is not None and len(self.weights) != self.num_rows:
            raise ValueError(
                f"weights must have shape ({self.num_rows},), one per row, got {tuple(self.weights.shape)}"
            )
        advise_huge_pages(self.features.data_ptr(), self.features.nbytes, collapse=True)

    def blocks(
        self,
        *,
        shuffle: bool | str,
        generator: torch.Generator | None = None,
        block_rows: int | None = None,
        batch_size: int | None = None,
    ) -> Iterator[Block]:
        order = epoch_order(self.num_rows, self.num_features, shuffle, generator, batch_size)
        w = self.weights
        if block_rows is None or block_rows >= self.num_rows:
            yield Block(self.features, self.labels, order, w)
            return
        block_rows = check_int("block_rows", block_rows, low=1, hint="e.g. 1000")
        for i in range(0, self.num_rows, block_rows):
            if order is None:
                rows = slice(i, i + block_rows)
                yield Block(self.features[rows], self.labels[rows], None, None if w is None else w[rows])
            else:
                yield Block(self.features, self.labels, order[i : i + block_rows], w)


class Chunks(Protocol):
    """Data read a pass at a time (a file: :class:`linearnet.tables.TableChunks`; arrays cut in pieces):
    calling it reads the ``(X, y)`` chunks in order, a new pass each call. The one protocol of such data,
    for the exact solve (:func:`linearnet.leastsq.solve_chunks`) and for training."""

    def __call__(self) -> Iterable[tuple[np.ndarray, np.ndarray]]: ...


class ShuffledChunks(Chunks, Protocol):
    """:class:`Chunks` that can also be read in an order drawn from a generator, ``shuffled(generator)``:
    what streaming SGD needs (:class:`StreamSource`, :func:`linearnet.training.fit_chunks`)."""

    def shuffled(self, generator: torch.Generator | None) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...


STREAM_BLOCKS = (
    "shuffle='blocks' orders rows held in memory; a file streamed a chunk at a time is visited in its own "
    "order (its chunks in a random order, mixed through a shuffle buffer): leave shuffle at 'rows'"
)


class StreamSource:
    """A source read from a file a chunk at a time, for data larger than memory.

    Each shuffled epoch visits the chunks in a fresh random order and passes their rows
    through a shuffle buffer of ``buffer_rows`` rows: each chunk joins the rows held back,
    a random selection of whole batches goes to the training loop, and the rest wait for
    the next chunk. Memory holds the buffer and a chunk; every row is visited once an epoch.
    That order is the stream's own: ``shuffle="blocks"`` (an order of rows in memory) is refused.

    ``transform(X)`` maps a float64 chunk to the features trained on (standardization);
    chunks become float32 (labels int64 class numbers with ``classes=True``).
    """

    def __init__(
        self,
        chunks: ShuffledChunks,
        num_rows: int,
        num_features: int,
        *,
        batch_size: int,
        buffer_rows: int,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        classes: bool = False,
    ):
        self.chunks, self.num_rows, self.num_features = chunks, num_rows, num_features
        self.batch_size = check_int("batch_size", batch_size, low=1, hint="e.g. 10")
        self.buffer_rows = check_int("buffer_rows", buffer_rows, low=1, hint="e.g. 100000")
        self.transform, self.classes = transform, classes

    def _tensors(self, X: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        if self.transform is not None:
            X = self.transform(X)
        features = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        if self.classes:
            return features, torch.from_numpy(np.asarray(y, dtype=np.int64))
        return features, torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(-1, 1))

    def blocks(
        self,
        *,
        shuffle: bool | str,
        generator: torch.Generator | None = None,
        block_rows: int | None = None,
        batch_size: int | None = None,
    ) -> Iterator[Block]:
        # block_rows and batch_size are not needed: the blocks are chunks of the file already, cut in whole batches
        if shuffle == "blocks":
            raise ValueError(STREAM_BLOCKS)
        if not shuffle:
            for X, y in self.chunks():
                yield Block(*self._tensors(X, y), None)
            return
        held: tuple[torch.Tensor, torch.Tensor] | None = None
        for X, y in self.chunks.shuffled(generator):
            features, labels = self._tensors(X, y)
            if held is not None:
                features, labels = torch.cat([held[0], features]), torch.cat([held[1], labels])
            n = len(features)
            emit = (n - self.buffer_rows) // self.batch_size * self.batch_size  # whole batches
            if emit <= 0:
                held = features, labels
                continue
            order = torch.randperm(n, generator=generator)
            out, rest = order[:emit], order[emit:]
            held = features.index_select(0, rest), labels.index_select(0, rest)
            yield Block(features.index_select(0, out), labels.index_select(0, out), None)
        if held is not None:
            order = torch.randperm(len(held[0]), generator=generator)
            yield Block(held[0].index_select(0, order), held[1].index_select(0, order), None)

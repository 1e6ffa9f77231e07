"""Minibatches (linearnet.batches): data_iter, load_array, TensorSource and the checks of features and labels."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader, TensorDataset

from linearnet.batches import StreamSource, TensorSource, check_xy, data_iter, load_array
from linearnet.synthetic import synthetic_data

from helpers import gen


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 120), batch_size=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_data_iter_visits_every_row_once_keeping_the_last_partial_batch(n, batch_size, seed):
    X = torch.arange(n, dtype=torch.float32).reshape(-1, 1)
    y = 2 * X
    batches = list(data_iter(batch_size, X, y, generator=gen(seed)))
    sizes = [len(b[0]) for b in batches]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    rows = torch.cat([b[0] for b in batches]).reshape(-1)
    assert sorted(rows.tolist()) == list(range(n))
    assert all(torch.equal(by, 2 * bx) for bx, by in batches)  # labels travel with their rows
    again = torch.cat([b[0] for b in data_iter(batch_size, X, y, generator=gen(seed))]).reshape(-1)
    assert torch.equal(rows, again)


def test_data_iter_without_shuffle_keeps_row_order():
    X = torch.arange(7.0).reshape(-1, 1)
    rows = torch.cat([b for b, _ in data_iter(3, X, X, shuffle=False)]).reshape(-1)
    assert rows.tolist() == list(range(7))


def test_load_array_matches_a_dataloader_and_reshuffles_each_pass():
    X, y = synthetic_data([1.0, 2.0], 0.5, 95, generator=gen())
    loader = load_array((X, y), 10, generator=gen(1))
    reference = DataLoader(TensorDataset(X, y), batch_size=10, shuffle=True)
    assert len(loader) == len(reference) == 10
    first = torch.cat([b for b, _ in loader])
    second = torch.cat([b for b, _ in loader])
    assert not torch.equal(first, second)
    key = lambda t: sorted(map(tuple, t.tolist()))  # noqa: E731
    assert key(first) == key(second) == key(torch.cat([b for b, _ in reference]))
    assert [len(b) for b, _ in load_array((X, y), 10, is_train=False)][-1] == 5


@pytest.mark.parametrize(
    "features, labels, message",
    [
        (
            torch.zeros(5),
            torch.zeros(5),
            "features must be 2-D (n_examples, n_features), got shape (5,); "
            "use features.reshape(-1, 1) for one feature",
        ),
        (torch.zeros(5, 2), torch.zeros(4, 1), "features and labels must have the same number of rows, got 5 and 4"),
        (torch.zeros(5, 2), torch.zeros(5, 2), "labels must have shape (n,) or (n, 1), got (5, 2)"),
        (torch.zeros(0, 2), torch.zeros(0), "features must have at least one row, got 0"),
        (torch.full((2, 1), float("nan")), torch.zeros(2), "features and labels must be finite; found NaN or inf"),
    ],
)
def test_check_xy_messages(features, labels, message):
    with pytest.raises(ValueError) as info:
        check_xy(features, labels)
    assert str(info.value) == message


def test_check_xy_wants_tensors():
    with pytest.raises(
        TypeError, match=r"^features must be a torch.Tensor, got list; use torch.as_tensor\(features\)$"
    ):
        check_xy([[1.0]], torch.zeros(1))


def test_batch_size_is_checked():
    with pytest.raises(ValueError, match=r"^batch_size must be a whole number >= 1, got 0; e.g. 10$"):
        next(data_iter(0, torch.zeros(3, 1), torch.zeros(3)))


def test_tensor_source_gives_one_block_with_a_permutation():
    X, y = synthetic_data([1.0], 0.0, 20, generator=gen())
    source = TensorSource(X, y)
    (block,) = list(source.blocks(shuffle=True, generator=gen()))
    assert sorted(block.order.tolist()) == list(range(20))
    (plain,) = list(source.blocks(shuffle=False))
    assert plain.order is None and source.num_rows == 20 and source.num_features == 1


def test_tensor_source_asked_for_block_rows_cuts_the_same_permutation_into_slices():
    X, y = synthetic_data([1.0], 0.0, 20, generator=gen())
    source = TensorSource(X, y)
    (whole,) = list(source.blocks(shuffle=True, generator=gen()))
    parts = list(source.blocks(shuffle=True, generator=gen(), block_rows=8))
    assert [len(p.order) for p in parts] == [8, 8, 4] and torch.equal(torch.cat([p.order for p in parts]), whole.order)
    assert all(p.features is source.features for p in parts)  # views of the same rows, no copies
    plain = list(source.blocks(shuffle=False, block_rows=8))
    assert [len(p.features) for p in plain] == [8, 8, 4] and all(p.order is None for p in plain)
    assert torch.equal(torch.cat([p.features for p in plain]), X)


@pytest.mark.parametrize(
    "features, labels, error, message",
    [
        (
            torch.zeros(3, 2),
            torch.tensor([0.0, 1.0, 1.0]),
            TypeError,
            "class labels must be integers, got dtype torch.float32",
        ),
        (
            torch.zeros(3, 2),
            torch.tensor([0, 1, 1], dtype=torch.complex64),
            TypeError,
            "class labels must be integers, got dtype torch.complex64",
        ),
        (
            torch.tensor([[0.0, 1.0], [float("inf"), 0.0], [1.0, 1.0]]),
            torch.tensor([0, 1, 1]),
            ValueError,
            "features must be finite; found NaN or inf",
        ),
    ],
)
def test_check_xy_messages_for_class_labels(features, labels, error, message):
    with pytest.raises(error) as info:
        check_xy(features, labels, classes=True)
    assert str(info.value) == message


def test_class_labels_come_back_as_int64_rows():
    X, y = check_xy(
        torch.zeros(3, 2, dtype=torch.float64), torch.tensor([[2], [0], [1]], dtype=torch.uint8), classes=True
    )
    assert X.dtype == torch.float32 and y.dtype == torch.int64 and y.tolist() == [2, 0, 1]


@pytest.mark.parametrize("data_arrays", [torch.zeros(4, 1), (torch.zeros(4, 1),), [torch.zeros(4, 1)] * 3])
def test_load_array_wants_a_pair(data_arrays):
    with pytest.raises(TypeError) as info:
        load_array(data_arrays, 2)
    assert str(info.value) == "data_arrays must be a (features, labels) pair"


class ListChunks:
    """Chunks from a list of (X, y) arrays: in order, or shuffled by the generator (as TableChunks does)."""

    def __init__(self, parts):
        self.parts = parts

    def __call__(self):
        return iter(self.parts)

    def shuffled(self, generator):
        return iter([self.parts[i] for i in torch.randperm(len(self.parts), generator=generator).tolist()])


def _row_chunks(n, size):
    import numpy as np

    rows = np.arange(n, dtype=np.float64)
    return ListChunks([(rows[i : i + size, None], 2 * rows[i : i + size]) for i in range(0, n, size)])


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 400),
    chunk=st.integers(1, 60),
    buffer_rows=st.integers(1, 100),
    batch_size=st.integers(1, 30),
    seed=st.integers(0, 2**31),
)
def test_a_stream_visits_every_row_once_an_epoch_in_whole_batches_through_a_bounded_buffer(
    n, chunk, buffer_rows, batch_size, seed
):
    source = StreamSource(_row_chunks(n, chunk), n, 1, batch_size=batch_size, buffer_rows=buffer_rows)
    blocks = list(source.blocks(shuffle=True, generator=gen(seed)))
    seen = torch.cat([b.features[:, 0] for b in blocks])
    assert sorted(seen.tolist()) == list(range(n))  # every row once
    assert all(torch.equal(b.labels[:, 0], 2 * b.features[:, 0]) for b in blocks)  # rows stay whole
    assert all(len(b.features) % batch_size == 0 for b in blocks[:-1])  # only the last batch may be short
    assert all(len(b.features) < buffer_rows + chunk + batch_size for b in blocks)  # the buffer, a chunk, a batch
    again = torch.cat([b.features[:, 0] for b in source.blocks(shuffle=True, generator=gen(seed))])
    assert torch.equal(seen, again)  # the same seed, the same order
    in_order = torch.cat([b.features[:, 0] for b in source.blocks(shuffle=False)])
    assert in_order.tolist() == list(range(n))


def test_a_stream_mixes_rows_across_chunks():
    n = 2000
    source = StreamSource(_row_chunks(n, 100), n, 1, batch_size=10, buffer_rows=300)
    first, second = (
        torch.cat([b.features[:, 0] for b in source.blocks(shuffle=True, generator=gen(seed))]) for seed in (0, 1)
    )
    assert not torch.equal(first, second)
    chunk_of = (first // 100).long()
    runs = (chunk_of[1:] != chunk_of[:-1]).float().mean()
    assert runs > 0.5  # consecutive rows mostly come from different chunks, not one chunk after another
    assert abs(torch.corrcoef(torch.stack([first, torch.arange(n, dtype=first.dtype)]))[0, 1]) < 0.3


def test_a_stream_of_class_labels_and_a_transform():
    import numpy as np

    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    chunks = ListChunks([(X[:3], np.array([0, 1, 2])), (X[3:], np.array([2, 1, 0]))])
    source = StreamSource(chunks, 6, 2, batch_size=2, buffer_rows=2, transform=lambda A: A - 1, classes=True)
    first, second = list(source.blocks(shuffle=False))
    assert first.labels.dtype == torch.int64 and first.labels.tolist() + second.labels.tolist() == [0, 1, 2, 2, 1, 0]
    assert first.features.dtype == torch.float32 and first.features[0].tolist() == [-1.0, 0.0]

"""shuffle="blocks": an epoch's order read in cache-sized blocks (linearnet.batches.block_order), end to end.

The order: every row once, each block's rows consecutive, the blocks and the rows within them shuffled,
drawn from the run's generator alone, and given the batch size each batch's rows in row order (the same
rows in each batch as unsorted); the default "rows" still one torch.randperm of all rows. Then the
engines, the loop's progress slices, the data-parallel sources, the streamed source (which refuses it),
the CLI flag, the scikit-learn parameter and the model records.
"""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from linearnet import TrainConfig, fit, make_engine
from linearnet.batches import (
    SHUFFLE_BLOCK_BYTES,
    StreamSource,
    TensorSource,
    block_order,
    epoch_order,
    shuffle_block_rows,
)
from linearnet.config import SHUFFLES
from linearnet.distributed import Replicated, Shared
from linearnet.linear_regression import init_params
from linearnet.modelfile import load_model
from linearnet.presets import make_experiment
from linearnet.sklearn import SGDRegressor, SoftmaxRegression

from helpers import FLOWERS, HOUSES, IMPLS, cli, gen


def _blocks_of(order: np.ndarray, block_rows: int) -> list[int]:
    """The blocks in the order they are visited, one entry per run of consecutive rows of one block."""
    ids = order // block_rows
    starts = np.flatnonzero(np.diff(ids, prepend=-1))
    return ids[starts].tolist()


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3000), log_block=st.integers(0, 9), seed=st.integers(0, 2**32))
def test_every_row_once_and_each_block_read_whole_before_the_next(n, log_block, seed):
    B = 1 << log_block
    order = block_order(n, B, gen(seed)).numpy()
    assert order.dtype == np.int64 and np.array_equal(np.sort(order), np.arange(n))
    visited = _blocks_of(order, B)
    assert sorted(visited) == list(range(-(-n // B)))  # each block one run of consecutive positions
    assert np.array_equal(block_order(n, B, gen(seed)).numpy(), order)  # same seed, same order


@pytest.mark.parametrize("n, block_rows", [(100_003, 64), (300_000, 1 << 16), (65_536 * 3 + 5, 1 << 16), (70_000, 4)])
def test_large_orders_written_in_parts_visit_every_row_once_a_block_at_a_time(n, block_rows):
    for seed in range(3):
        order = block_order(n, block_rows, gen(seed)).numpy()
        assert np.array_equal(np.sort(order), np.arange(n))
        assert sorted(_blocks_of(order, block_rows)) == list(range(-(-n // block_rows)))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 3000), batch=st.integers(1, 700), seed=st.integers(0, 2**16))
def test_the_batches_of_an_epoch_visit_every_row_once_a_block_at_a_time(n, batch, seed):
    d = 300  # 128-row blocks
    X = torch.arange(n, dtype=torch.float32).reshape(-1, 1).expand(n, d).contiguous()
    source = TensorSource(X, torch.zeros(n, 1))
    g = gen(seed)
    for _ in range(2):
        (block,) = source.blocks(shuffle="blocks", generator=g)
        rows = torch.cat([Xb[:, 0] for Xb, _ in _batches(block, batch)]).long().numpy()
        assert np.array_equal(np.sort(rows), np.arange(n))
        assert sorted(_blocks_of(rows, shuffle_block_rows(d))) == list(range(-(-n // 128)))


def _batches(block, batch):
    from linearnet.batches import iter_batches

    return iter_batches(block.features, block.labels, batch, block.order)


def test_blocks_and_the_rows_within_them_are_shuffled_differently_each_epoch():
    g = gen(0)
    first, second = (block_order(200 * 512, 512, g).numpy() for _ in range(2))
    assert not np.array_equal(first, second)
    assert _blocks_of(first, 512) != _blocks_of(second, 512)  # the blocks' order
    assert _blocks_of(first, 512) != sorted(_blocks_of(first, 512))
    # within a block the rows are shuffled, and each block its own way (a mask of its own)
    offsets = (first % 512).reshape(-1, 512)
    assert not (np.diff(offsets, axis=1) == 1).all(axis=1).any()
    assert len({tuple(row[:8]) for row in offsets}) > 100
    # the same block, two epochs: other neighbours, so other batches
    k = first[0] // 512
    a, b = first[first // 512 == k], second[second // 512 == k]
    assert not np.array_equal(a, b) and set(a[:10]) != set(b[:10])


def test_the_default_order_is_one_randperm_of_all_rows_as_before():
    X, y = torch.randn(1000, 3, generator=gen(1)), torch.randn(1000, 1, generator=gen(2))
    (block,) = TensorSource(X, y).blocks(shuffle=True, generator=gen(5))
    assert torch.equal(block.order, torch.randperm(1000, generator=gen(5)))
    assert torch.equal(epoch_order(1000, 3, "rows", gen(5)), torch.randperm(1000, generator=gen(5)))
    assert epoch_order(1000, 3, False) is None
    (block,) = TensorSource(X, y).blocks(shuffle="blocks", generator=gen(5))
    assert torch.equal(block.order, block_order(1000, shuffle_block_rows(3), gen(5)))
    assert TrainConfig().shuffle == "rows" and SHUFFLES == ("rows", "blocks")


class _Spy(TensorSource):
    def blocks(self, *, shuffle, generator=None, block_rows=None, batch_size=None):
        self.asked.append(shuffle)
        self.batch_sizes.append(batch_size)
        return super().blocks(shuffle=shuffle, generator=generator, block_rows=block_rows, batch_size=batch_size)


@pytest.mark.parametrize("shuffle, asked", [("rows", True), ("blocks", "blocks")])
def test_the_loop_asks_its_source_for_the_configured_order(shuffle, asked):
    X, y = torch.randn(200, 2, generator=gen(1)), torch.randn(200, 1, generator=gen(2))
    source = _Spy(X, y)
    source.asked, source.batch_sizes = [], []
    config = TrainConfig(epochs=2, shuffle=shuffle, batch_size=7)
    fit(make_engine(config, *init_params(2, generator=gen(0))), source, config, generator=gen(0))
    assert [a for a in source.asked if a] == [asked, asked]  # the default exactly as before: shuffle=True
    assert [b for a, b in zip(source.asked, source.batch_sizes, strict=True) if a] == [7, 7]


def _windows(order, batch):
    return [order[i : i + batch] for i in range(0, len(order), batch)]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 3000), log_block=st.integers(0, 9), batch=st.integers(1, 1200), seed=st.integers(0, 2**32))
def test_each_batchs_rows_are_visited_in_row_order_and_the_batches_hold_the_same_rows(n, log_block, batch, seed):
    B = 1 << log_block
    drawn = block_order(n, B, gen(seed)).numpy()
    g = gen(seed)
    order = block_order(n, B, g, batch_size=batch).numpy()
    assert order.dtype == np.int64 and np.array_equal(np.sort(order), np.arange(n))  # every row once
    sorted_windows, drawn_windows = _windows(order, batch), _windows(drawn, batch)
    assert len(sorted_windows) == -(-n // batch)
    for mine, theirs in zip(sorted_windows, drawn_windows, strict=True):  # the short last window too
        assert np.array_equal(mine, np.sort(theirs))  # ascending, and the same rows
    # the generator drew exactly what the unsorted order draws: the next epoch is the same
    assert torch.equal(torch.randint(1 << 30, (4,), generator=g), _after_one_order(n, B, seed))
    assert np.array_equal(block_order(n, B, gen(seed), batch_size=1).numpy(), drawn)  # batch 1: nothing changes


def _after_one_order(n, block_rows, seed):
    g = gen(seed)
    block_order(n, block_rows, g)
    return torch.randint(1 << 30, (4,), generator=g)


def test_batches_in_row_order_on_large_orders_and_through_epoch_order():
    n, d, batch = 1_000_003, 100, 1024  # 512-row blocks, the full windows whole blocks until the short one
    drawn = epoch_order(n, d, "blocks", gen(3)).numpy()
    order = epoch_order(n, d, "blocks", gen(3), batch_size=batch).numpy()
    full = n // batch * batch
    assert np.array_equal(order[:full].reshape(-1, batch), np.sort(drawn[:full].reshape(-1, batch), axis=1))
    assert np.array_equal(order[full:], np.sort(drawn[full:]))
    assert torch.equal(epoch_order(n, d, "rows", gen(3), batch_size=batch), torch.randperm(n, generator=gen(3)))
    with pytest.raises(ValueError, match="batch_size"):
        block_order(10, 2, gen(0), batch_size=0)


def test_a_tensor_source_sorts_the_batches_it_is_told_of_and_only_with_blocks():
    X, y = torch.randn(1000, 3, generator=gen(1)), torch.randn(1000, 1, generator=gen(2))
    source = TensorSource(X, y)
    (block,) = source.blocks(shuffle="blocks", generator=gen(5), batch_size=64)
    assert torch.equal(block.order, block_order(1000, shuffle_block_rows(3), gen(5), batch_size=64))
    (block,) = source.blocks(shuffle=True, generator=gen(5), batch_size=64)
    assert torch.equal(block.order, torch.randperm(1000, generator=gen(5)))  # rows: untouched
    whole = torch.cat([b.order for b in source.blocks(shuffle="blocks", generator=gen(5), batch_size=64)])
    sliced = torch.cat(
        [b.order for b in source.blocks(shuffle="blocks", generator=gen(5), batch_size=64, block_rows=128)]
    )
    assert torch.equal(whole, sliced)


def test_bad_settings_are_refused_with_one_line():
    with pytest.raises(ValueError, match=r"^shuffle must be one of rows, blocks, got 'random'$"):
        TrainConfig(shuffle="random")
    with pytest.raises(ValueError, match=r"^shuffle must be one of rows, blocks, got True$"):
        TrainConfig(shuffle=True)
    with pytest.raises(ValueError, match="shuffle must be one of rows, blocks, got 'cols'"):
        epoch_order(10, 2, "cols")
    with pytest.raises(ValueError, match="block_rows must be a power of two, got 3"):
        block_order(10, 3)


def test_a_block_holds_a_power_of_two_rows_within_the_cache_size():
    assert shuffle_block_rows(100) == 512 and shuffle_block_rows(1) == 65536 and shuffle_block_rows(10**6) == 1
    for d in (1, 3, 64, 100, 300, 5000):
        rows = shuffle_block_rows(d)
        assert rows & (rows - 1) == 0 and rows * 4 * d <= SHUFFLE_BLOCK_BYTES < 2 * rows * 4 * d


def _synthetic(impl, **kw):
    from linearnet.experiment import run_experiment

    experiment = make_experiment(
        impl=impl, num_features=300, num_examples=2000, noise=0.01, epochs=3, seed=3, shuffle="blocks", **kw
    )
    return run_experiment(experiment)


@pytest.mark.parametrize("impl", IMPLS)
def test_every_engine_converges_on_blocks(impl):
    result = _synthetic(impl)
    assert result.history.losses[-1] < 3 * 0.01**2 / 2  # near the noise floor σ²/2
    assert np.abs(np.asarray(result.w_error)).max() < 0.01


def test_the_engines_follow_one_trajectory_on_blocks_and_it_is_not_the_row_orders():
    from linearnet.experiment import run_experiment

    scratch, fast = _synthetic("scratch"), _synthetic("fast")
    np.testing.assert_allclose(fast.history.losses, scratch.history.losses, rtol=1e-4)
    rows = make_experiment(impl="fast", num_features=300, num_examples=2000, noise=0.01, epochs=3, seed=3)
    assert run_experiment(rows).history.losses != fast.history.losses


def test_the_progress_slices_cut_a_block_order_without_changing_a_step():
    X = torch.randn(3000, 300, generator=gen(1))
    y = X @ torch.ones(300, 1) / 20 + 0.1 * torch.randn(3000, 1, generator=gen(2))
    config = TrainConfig(impl="fast", epochs=2, lr=0.01, shuffle="blocks")
    results, calls = [], []
    for on_rows in (None, lambda done, total: calls.append(done)):
        engine = make_engine(config, *init_params(300, generator=gen(0)))
        history = fit(engine, TensorSource(X, y), config, generator=gen(0), on_rows=on_rows)
        results.append((history.losses, [np.asarray(p).copy() for p in engine.parameters()]))
    assert results[0][0] == results[1][0] and len(calls) > 2 and calls[-1] == 6000
    for a, b in zip(results[0][1], results[1][1], strict=True):
        assert np.array_equal(a, b)


def test_data_parallel_processes_together_step_through_one_processs_block_batches():
    n, d, batch = 1000, 300, 64
    source = TensorSource(torch.randn(n, d, generator=gen(1)), torch.randn(n, 1, generator=gen(2)))
    (one,) = source.blocks(shuffle="blocks", generator=gen(9))
    parts = []
    for rank in range(2):
        mine, end = Replicated(source, rank, 2, batch).blocks(shuffle="blocks", generator=gen(9))
        assert len(end.features) == 0
        parts.append(mine.order)
    together = []
    for i in range(-(-n // batch)):  # each global batch: rank 0's part, then rank 1's
        half = [p[i * 32 : (i + 1) * 32] if i < n // batch else p[i * 32 :] for p in parts]
        together.append(torch.cat(half))
    assert torch.equal(torch.cat(together), one.order)
    shared = list(Shared(source).blocks(shuffle="blocks", generator=gen(9)))
    assert torch.equal(shared[0].order, one.order) and len(shared[1].features) == 0


@pytest.mark.parametrize("n, batch, size", [(1000, 64, 2), (1000, 100, 3), (777, 1000, 2), (5000, 1024, 2)])
def test_data_parallel_parts_of_each_global_batch_in_row_order_make_up_one_processs_batch(n, batch, size):
    source = TensorSource(torch.randn(n, 300, generator=gen(1)), torch.randn(n, 1, generator=gen(2)))
    (one,) = source.blocks(shuffle="blocks", generator=gen(9), batch_size=batch)
    (drawn,) = source.blocks(shuffle="blocks", generator=gen(9))
    parts = []
    for rank in range(size):
        replicated = Replicated(source, rank, size, batch)
        mine, _ = replicated.blocks(shuffle="blocks", generator=gen(9), batch_size=batch)
        assert len(mine.order) == replicated.num_rows
        parts.append(mine.order.numpy())
    at = [0] * size
    for window, unsorted in zip(_windows(one.order.numpy(), batch), _windows(drawn.order.numpy(), batch), strict=True):
        together = []
        for rank in range(size):  # each process's part: a contiguous slice of the same global batch
            first, end = len(window) * rank // size, len(window) * (rank + 1) // size
            together.append(parts[rank][at[rank] : at[rank] + end - first])
            at[rank] += end - first
        together = np.concatenate(together)
        assert np.array_equal(together, window) and np.array_equal(together, np.sort(unsorted))
    assert at == [len(p) for p in parts]


def test_a_shared_source_sorts_each_process_s_own_part_of_a_batch():
    from linearnet.distributed import local_batch

    source = TensorSource(torch.randn(1000, 300, generator=gen(1)), torch.randn(1000, 1, generator=gen(2)))
    for rank in range(3):
        b = local_batch(100, rank, 3)
        first, _ = Shared(source, rank, 3).blocks(shuffle="blocks", generator=gen(9), batch_size=100)
        assert torch.equal(first.order, block_order(1000, shuffle_block_rows(300), gen(9), batch_size=b))
    first, _ = Shared(source, 1, 3).blocks(shuffle="rows", generator=gen(9), batch_size=100)
    assert torch.equal(first.order, torch.randperm(1000, generator=gen(9)))


def _chunks(X, y):
    class Chunks:
        read = 0

        def __call__(self):
            self.read += 1
            yield X, y

        def shuffled(self, generator):
            self.read += 1
            yield X, y

    return Chunks()


def test_a_streamed_source_refuses_blocks_before_reading_and_keeps_its_own_order():
    from linearnet.training import fit_chunks

    X, y = np.random.default_rng(0).normal(size=(100, 2)), np.zeros(100)
    chunks = _chunks(X, y)
    stream = StreamSource(chunks, 100, 2, batch_size=10, buffer_rows=50)
    with pytest.raises(ValueError, match=r"^shuffle='blocks' orders rows held in memory; .*leave shuffle at 'rows'$"):
        next(stream.blocks(shuffle="blocks"))
    with pytest.raises(ValueError, match="shuffle='blocks' orders rows held in memory"):
        fit_chunks(chunks, TrainConfig(shuffle="blocks"), feature_names=["a", "b"])
    assert chunks.read == 0
    assert sum(len(b.features) for b in stream.blocks(shuffle="rows", generator=gen(0))) == 100


def test_the_cli_flag_trains_in_blocks_and_records_it(tmp_path, capsys):
    code, out, err = cli(capsys, "train", "--shuffle", "blocks", "--impl", "fast", "--json")
    assert code == 0 and err == ""
    blocks = json.loads(out)["history"]
    rows = json.loads(cli(capsys, "train", "--impl", "fast", "--json")[1])["history"]
    assert blocks != rows and blocks[-1]["loss"] == pytest.approx(rows[-1]["loss"], rel=0.2)
    model = tmp_path / "m.json"
    argv = ["train", "--data", HOUSES, "--target", "price", "--epochs", "2", "--out", model]
    assert cli(capsys, *argv, "--shuffle", "blocks")[0] == 0
    assert load_model(model).training["shuffle"] == "blocks"
    assert cli(capsys, *argv)[0] == 0 and load_model(model).training["shuffle"] == "rows"
    argv = ["train", "--data", FLOWERS, "--target", "species", "--model", "softmax", "--epochs", "2", "--out", model]
    assert cli(capsys, *argv, "--shuffle", "blocks")[0] == 0
    assert load_model(model).training["shuffle"] == "blocks"


def test_the_cli_refuses_a_bad_value_and_blocks_on_a_stream_with_one_line(capsys):
    code, out, err = cli(capsys, "train", "--shuffle", "random")
    assert (code, out) == (
        2,
        "",
    ) and err == "linearnet train: error: shuffle must be one of rows, blocks, got 'random'\n"
    code, out, err = cli(capsys, "train", "--data", HOUSES, "--target", "price", "--stream", "--shuffle", "blocks")
    assert (code, out) == (2, "") and len(err.splitlines()) == 1
    assert err.startswith(f"linearnet train: error: {HOUSES}: --shuffle blocks orders rows held in memory")


def test_the_scikit_learn_parameter_round_trips_and_is_saved(tmp_path):
    from sklearn.base import clone

    model = SGDRegressor(random_state=0)
    assert model.get_params()["shuffle"] == "rows"
    model.set_params(shuffle="blocks")
    assert clone(model).get_params()["shuffle"] == "blocks"
    X = np.random.default_rng(0).normal(size=(500, 3))
    y = X @ [1.0, -2.0, 0.5] + 3
    model.set_params(max_epochs=20, tol=None).fit(X, y)
    np.testing.assert_allclose(model.coef_, [1.0, -2.0, 0.5], atol=0.01)
    model.save(tmp_path / "m.json")
    assert load_model(tmp_path / "m.json").training["shuffle"] == "blocks"
    assert SGDRegressor.load(tmp_path / "m.json").get_params()["shuffle"] == "blocks"
    with pytest.raises(ValueError, match="shuffle must be one of rows, blocks, got True"):
        SGDRegressor(shuffle=True).fit(X, y)
    classes = (X[:, 0] > 0).astype(int)
    fitted = SoftmaxRegression(shuffle="blocks", random_state=0, max_epochs=5, tol=None).fit(X, classes)
    assert fitted.get_params()["shuffle"] == "blocks" and fitted.score(X, classes) > 0.9

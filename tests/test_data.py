import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch.utils.data import DataLoader, TensorDataset

from linearnet.batches import TensorSource, check_xy, data_iter, load_array
from linearnet.synthetic import synthetic_data


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_synthetic_data_shapes_and_dtypes():
    X, y = synthetic_data([2, -3.4], 4.2, 1000, generator=gen())
    assert X.shape == (1000, 2) and y.shape == (1000, 1)
    assert X.dtype == torch.float32 and y.dtype == torch.float32


def test_synthetic_data_is_fixed_by_the_generator():
    a = synthetic_data([2, -3.4], 4.2, 50, generator=gen(3))
    b = synthetic_data([2, -3.4], 4.2, 50, generator=gen(3))
    c = synthetic_data([2, -3.4], 4.2, 50, generator=gen(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_least_squares_on_synthetic_data_recovers_w_and_b():
    X, y = synthetic_data([2, -3.4], 4.2, 20000, noise=0.01, generator=gen())
    A = torch.cat([X, torch.ones(len(X), 1)], 1).double()
    coef = torch.linalg.lstsq(A, y.double()).solution.reshape(-1)
    # standard error of each coefficient is about σ/√n = 7e-5
    torch.testing.assert_close(coef, torch.tensor([2, -3.4, 4.2], dtype=torch.float64), atol=5e-4, rtol=0)


@pytest.mark.parametrize("dist, std", [("normal", 0.5), ("laplace", 0.5 * 2**0.5)])
def test_noise_has_the_asked_scale(dist, std):
    X, y = synthetic_data([1.0], 0.0, 200_000, noise=0.5, noise_dist=dist, generator=gen())
    eps = (y - X).reshape(-1).double()
    assert abs(eps.mean()) < 0.01
    assert eps.std().item() == pytest.approx(std, rel=0.02)
    if dist == "laplace":  # Laplace(0, b): E|ε| = b
        assert eps.abs().mean().item() == pytest.approx(0.5, rel=0.02)


def test_noise_added_twice_is_twice_the_same_noise():
    X1, y1 = synthetic_data([1.0], 0.0, 1000, noise=0.1, noise_repeats=1, generator=gen())
    X2, y2 = synthetic_data([1.0], 0.0, 1000, noise=0.1, noise_repeats=2, generator=gen())
    torch.testing.assert_close(y2 - X2, 2 * (y1 - X1))


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_examples=0), "num_examples must be a whole number >= 1, got 0"),
    (dict(noise=-1), "noise must be >= 0, got -1; e.g. 0.01"),
    (dict(noise=float("nan")), "noise must be a finite number, got nan; e.g. 0.01"),
    (dict(noise_dist="cauchy"), "noise_dist must be one of normal, laplace, got 'cauchy'"),
    (dict(w=[1, float("inf")]), "true_w must be a finite number, got inf"),
    (dict(w=[]), "true_w must have at least one weight, got none; e.g. true_w=(2, -3.4)"),
])
def test_synthetic_data_rejects_bad_values(kwargs, message):
    args = dict(w=[2, -3.4], b=4.2, num_examples=10) | kwargs
    with pytest.raises(ValueError) as info:
        synthetic_data(args.pop("w"), args.pop("b"), args.pop("num_examples"), **args)
    assert str(info.value) == message


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


@pytest.mark.parametrize("features, labels, message", [
    (torch.zeros(5), torch.zeros(5),
     "features must be 2-D (n_examples, n_features), got shape (5,); use features.reshape(-1, 1) for one feature"),
    (torch.zeros(5, 2), torch.zeros(4, 1), "features and labels must have the same number of rows, got 5 and 4"),
    (torch.zeros(5, 2), torch.zeros(5, 2), "labels must have shape (n,) or (n, 1), got (5, 2)"),
    (torch.zeros(0, 2), torch.zeros(0), "features must have at least one row, got 0"),
    (torch.full((2, 1), float("nan")), torch.zeros(2), "features and labels must be finite; found NaN or inf"),
])
def test_check_xy_messages(features, labels, message):
    with pytest.raises(ValueError) as info:
        check_xy(features, labels)
    assert str(info.value) == message


def test_check_xy_wants_tensors():
    with pytest.raises(TypeError, match=r"^features must be a torch.Tensor, got list; use torch.as_tensor\(features\)$"):
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

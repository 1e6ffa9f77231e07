"""Synthetic regression data (linearnet.synthetic): y = Xw + b + noise, fixed by the generator."""

import pytest
import torch

from linearnet.synthetic import synthetic_data

from helpers import gen


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


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_examples=0), "num_examples must be a whole number >= 1, got 0"),
        (dict(noise=-1), "noise must be >= 0, got -1; e.g. 0.01"),
        (dict(noise=float("nan")), "noise must be a finite number, got nan; e.g. 0.01"),
        (dict(noise_dist="cauchy"), "noise_dist must be one of normal, laplace, got 'cauchy'"),
        (dict(w=[1, float("inf")]), "true_w must be a finite number, got inf"),
        (dict(w=[]), "true_w must have at least one weight, got none; e.g. true_w=(2, -3.4)"),
    ],
)
def test_synthetic_data_rejects_bad_values(kwargs, message):
    args = dict(w=[2, -3.4], b=4.2, num_examples=10) | kwargs
    with pytest.raises(ValueError) as info:
        synthetic_data(args.pop("w"), args.pop("b"), args.pop("num_examples"), **args)
    assert str(info.value) == message


def test_true_weights_may_be_a_tensor_of_any_shape():
    w = torch.tensor([[2.0], [-3.4]])  # a (d, 1) column, as the book's true_w often is
    X, y = synthetic_data(w, 4.2, 50, generator=gen(5))
    X_list, y_list = synthetic_data([2.0, -3.4], 4.2, 50, generator=gen(5))
    assert torch.equal(X, X_list) and torch.equal(y, y_list)
    assert w.shape == (2, 1)  # the caller's tensor is left as it was


def test_without_noise_the_labels_lie_on_the_plane():
    X, y = synthetic_data([2.0, -3.4], 4.2, 100, noise=0, generator=gen(6))
    torch.testing.assert_close(y, (X @ torch.tensor([2.0, -3.4]) + 4.2).reshape(-1, 1), rtol=0, atol=0)
    X_noisy, _ = synthetic_data([2.0, -3.4], 4.2, 100, noise=0.5, generator=gen(6))
    assert torch.equal(X, X_noisy)  # the features are drawn before the noise: the same rows either way

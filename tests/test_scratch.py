"""The from-scratch pieces against torch's own (the oracle)."""
import torch
from torch import nn

from linearnet import linear_net, linreg, sgd, squared_error, squared_loss
from linearnet.linear_regression import LinearRegressionScratch, init_params


def test_squared_loss_is_half_of_torch_mse():
    y_hat, y = torch.randn(8, 1), torch.randn(8)
    torch.testing.assert_close(squared_loss(y_hat, y), nn.MSELoss(reduction="none")(y_hat, y.reshape(-1, 1)) / 2)
    torch.testing.assert_close(squared_error(y_hat, y).mean(), nn.MSELoss()(y_hat, y.reshape(-1, 1)))


def test_linreg_matches_nn_linear():
    X = torch.randn(6, 3)
    w, b = torch.randn(3, 1), torch.randn(1)
    net = linear_net(w, b)
    torch.testing.assert_close(linreg(X, w, b), net(X).detach())
    assert linreg(X, w, b).shape == (6, 1)


def test_sgd_steps_along_the_mean_gradient_and_zeroes_it():
    w = torch.tensor([[1.0], [2.0]], requires_grad=True)
    X, y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), torch.zeros(3, 1)
    squared_loss(linreg(X, w, 0.0), y).sum().backward()
    grad = w.grad.clone()  # Σ r x = [1+3, 2+3]
    torch.testing.assert_close(grad, torch.tensor([[4.0], [5.0]]))
    sgd([w], lr=0.3, batch_size=3)
    torch.testing.assert_close(w.detach(), torch.tensor([[1.0 - 0.4], [2.0 - 0.5]]))
    assert torch.count_nonzero(w.grad) == 0


def test_gradients_accumulate_until_zeroed():
    x = torch.arange(4.0, requires_grad=True)
    (2 * x @ x).backward()
    (2 * x @ x).backward()
    torch.testing.assert_close(x.grad, 2 * 4 * x.detach())  # two calls: twice 4x


def test_init_params_draws_the_books_initial_weights():
    w, b = init_params(10_000, std=0.01, generator=torch.Generator().manual_seed(0))
    assert w.shape == (10_000, 1) and torch.equal(b, torch.zeros(1))
    assert abs(w.std().item() - 0.01) < 3e-4
    model = LinearRegressionScratch(w, b)
    assert all(p.requires_grad and p.is_leaf for p in model.parameters())

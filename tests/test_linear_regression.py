"""The from-scratch linear regression pieces and its losses against torch's own (the oracle)."""

import torch
from torch import nn

from linearnet import linear_net, linreg, squared_error, squared_loss
from linearnet.linear_regression import LinearRegressionScratch, absolute_loss, huber_loss, init_params


def test_squared_loss_is_half_of_torch_mse():
    y_hat, y = torch.randn(8, 1), torch.randn(8)
    torch.testing.assert_close(squared_loss(y_hat, y), nn.MSELoss(reduction="none")(y_hat, y.reshape(-1, 1)) / 2)
    torch.testing.assert_close(squared_error(y_hat, y).mean(), nn.MSELoss()(y_hat, y.reshape(-1, 1)))


def test_losses_match_torch():
    y_hat, y = torch.randn(50, 1) * 3, torch.randn(50)
    torch.testing.assert_close(absolute_loss(y_hat, y), nn.L1Loss(reduction="none")(y_hat, y.reshape(-1, 1)))
    torch.testing.assert_close(
        huber_loss(y_hat, y, 0.7), nn.HuberLoss(reduction="none", delta=0.7)(y_hat, y.reshape(-1, 1))
    )


def test_linreg_matches_nn_linear():
    X = torch.randn(6, 3)
    w, b = torch.randn(3, 1), torch.randn(1)
    net = linear_net(w, b)
    torch.testing.assert_close(linreg(X, w, b), net(X).detach())
    assert linreg(X, w, b).shape == (6, 1)


def test_init_params_draws_the_books_initial_weights():
    w, b = init_params(10_000, std=0.01, generator=torch.Generator().manual_seed(0))
    assert w.shape == (10_000, 1) and torch.equal(b, torch.zeros(1))
    assert abs(w.std().item() - 0.01) < 3e-4
    model = LinearRegressionScratch(w, b)
    assert all(p.requires_grad and p.is_leaf for p in model.parameters())

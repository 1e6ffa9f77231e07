"""Per-example losses, from scratch; their torch.nn twins are in :mod:`linearnet.engines`."""

from __future__ import annotations

__all__ = ["squared_loss", "squared_error"]


def squared_loss(y_hat, y):
    """½(ŷ − y)² per example (d2l 3.2); the MLE loss under Gaussian noise."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def squared_error(y_hat, y):
    """(ŷ − y)² per example: what ``nn.MSELoss`` averages and the MXNet lesson sums."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2

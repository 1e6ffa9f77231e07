"""Per-example losses, from scratch; their torch.nn twins are in :mod:`linearnet.engines`."""

from __future__ import annotations

import torch

__all__ = ["squared_loss", "squared_error", "absolute_loss", "huber_loss"]


def squared_loss(y_hat, y):
    """½(ŷ − y)² per example (d2l 3.2); the MLE loss under Gaussian noise."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def squared_error(y_hat, y):
    """(ŷ − y)² per example: what ``nn.MSELoss`` averages and the MXNet lesson sums."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2


def absolute_loss(y_hat, y):
    """|ŷ − y| per example: the MLE loss under Laplace noise (its minimiser is the conditional median)."""
    return (y_hat - y.reshape(y_hat.shape)).abs()


def huber_loss(y_hat, y, delta=1.0):
    """Huber's loss per example: ½r² for |r| ≤ δ, δ(|r| − ½δ) beyond; as ``nn.HuberLoss(delta=δ)``."""
    r = (y_hat - y.reshape(y_hat.shape)).abs()
    return torch.where(r <= delta, 0.5 * r ** 2, delta * (r - 0.5 * delta))

"""Minibatch stochastic gradient descent, from scratch."""

from __future__ import annotations

import torch

__all__ = ["sgd"]


def sgd(params, lr, batch_size):
    """Minibatch SGD (d2l 3.2): p ← p − lr · grad / batch_size, then zero the gradients.

    The gradients are those of the loss *summed* over the batch, so dividing by the batch
    size takes a step along the mean gradient; ``batch_size=1`` steps along the sum (the
    MXNet lesson). Autograd accumulates gradients until they are zeroed, hence the last line.

    Example:
        >>> l = squared_loss(linreg(X, w, b), y)
        >>> l.sum().backward()
        >>> sgd([w, b], lr=0.03, batch_size=len(X))
    """
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()

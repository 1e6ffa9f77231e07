"""Softmax regression from scratch (d2l 3.4–3.6): probabilities, cross-entropy, accuracy."""

from __future__ import annotations

import torch

__all__ = ["softmax", "cross_entropy", "accuracy", "evaluate_accuracy", "SoftmaxRegression", "l2_penalty"]


def softmax(X):
    """Row-wise softmax, made stable by subtracting each row's maximum (no overflow at ±1e4)."""
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)  # (n, q), every entry in (0, 1]
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(logits, y):
    """−log softmax(logits)[y] per example, from the logits by log-sum-exp.

    Never the log of a softmax that can underflow to 0: for logits [0, −1e4] and y = 1 the
    loss is 1e4, not inf.
    """
    return torch.logsumexp(logits, dim=1) - logits.gather(1, y.reshape(-1, 1)).reshape(-1)  # (n,)


def accuracy(y_hat, y):
    """How many predictions are right (the book returns a count; divide by len(y) for a rate)."""
    return float((y_hat.argmax(dim=1) == y.reshape(-1)).sum())


@torch.no_grad()
def evaluate_accuracy(net, data_iter) -> float:
    """Fraction of right predictions of ``net`` over the batches of ``data_iter``."""
    right, total = 0.0, 0
    for X, y in data_iter:
        right += accuracy(net(X), y)
        total += len(y)
    return right / total


def l2_penalty(w):
    """½‖w‖² (d2l weight decay)."""
    return (w**2).sum() / 2


class SoftmaxRegression:
    """W (d, q) and b (q,) as leaf tensors; calling the model gives the logits XW + b."""

    def __init__(self, W: torch.Tensor, b: torch.Tensor):
        self.W = W.detach().clone().requires_grad_(True)  # (d, q)
        self.b = b.detach().clone().reshape(-1).requires_grad_(True)  # (q,)

    def __call__(self, X):
        return X @ self.W + self.b  # (n, q) logits

    def predict(self, X):
        return self(X).argmax(dim=1)

    def parameters(self) -> list[torch.Tensor]:
        return [self.W, self.b]

"""Linear regression (d2l 3.1–3.3): the model ŷ = Xw + b, its initial parameters and its losses.

From scratch (:func:`linreg`, :class:`LinearRegressionScratch`) and as ``torch.nn``
(:func:`linear_net`). The per-example losses are ½(ŷ − y)² (the book's), (ŷ − y)² (what
``nn.MSELoss`` averages), |ŷ − y| (the MLE under Laplace noise) and Huber's; their
``torch.nn`` twins are used by the concise engine in :mod:`linearnet.engines`.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "linreg",
    "init_params",
    "LinearRegressionScratch",
    "linear_net",
    "squared_loss",
    "squared_error",
    "absolute_loss",
    "huber_loss",
]


def linreg(X, w, b):
    """The linear regression model (d2l 3.2): ŷ = Xw + b."""
    return X @ w + b  # (n, d) @ (d, 1) + (1,) -> (n, 1)


def init_params(
    num_inputs: int,
    num_outputs: int = 1,
    *,
    std: float = 0.01,
    bias_std: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial W (d, q) ~ N(0, std²) and b (q,) ~ N(0, bias_std²) (0 when a std is 0).

    q = 1 is linear regression's w (d, 1) and b (1,); softmax regression takes q classes.
    Every implementation starts from these same numbers, so with one seed they follow
    one trajectory.
    """
    shape = (num_inputs, num_outputs)
    W = torch.normal(0.0, std, shape, generator=generator) if std > 0 else torch.zeros(shape)
    b = torch.normal(0.0, bias_std, (num_outputs,), generator=generator) if bias_std > 0 else torch.zeros(num_outputs)
    return W, b


class LinearRegressionScratch:
    """w and b as leaf tensors that record gradients; calling the model applies :func:`linreg`."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor):
        self.w = w.detach().clone().reshape(-1, 1).requires_grad_(True)  # (d, 1)
        self.b = b.detach().clone().reshape(1).requires_grad_(True)  # (1,)

    def __call__(self, X):
        return linreg(X, self.w, self.b)

    def parameters(self) -> list[torch.Tensor]:
        return [self.w, self.b]


def linear_net(W: torch.Tensor, b: torch.Tensor) -> nn.Sequential:
    """``nn.Sequential(nn.Linear(d, q))`` holding the given initial W (d, q) and b (q,).

    ``nn.Linear`` keeps its weight as (q, d), so W is stored transposed; q = 1 is linear
    regression (W may then also be given as a vector of d weights).
    """
    W = W.reshape(-1, 1) if W.ndim == 1 else W
    layer = nn.Linear(W.shape[0], W.shape[1])
    with torch.no_grad():
        layer.weight.copy_(W.T)
        layer.bias.copy_(b.reshape(-1))
    return nn.Sequential(layer)


# --- losses, per example ------------------------------------------------------------------


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
    return torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))

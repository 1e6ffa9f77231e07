"""The model ŷ = Xw + b, from scratch and as ``torch.nn``."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["linreg", "init_params", "LinearRegressionScratch", "linear_net"]


def linreg(X, w, b):
    """The linear regression model (d2l 3.2): ŷ = Xw + b."""
    return X @ w + b  # (n, d) @ (d, 1) + (1,) -> (n, 1)


def init_params(num_features: int, *, std: float = 0.01, bias_std: float = 0.0,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial w (d, 1) ~ N(0, std²) and b (1,) ~ N(0, bias_std²) (0 when bias_std is 0).

    Every implementation starts from these same numbers, so with one seed they follow
    one trajectory.
    """
    w = torch.normal(0.0, std, (num_features, 1), generator=generator) if std > 0 \
        else torch.zeros(num_features, 1)
    b = torch.normal(0.0, bias_std, (1,), generator=generator) if bias_std > 0 else torch.zeros(1)
    return w, b


class LinearRegressionScratch:
    """w and b as leaf tensors that record gradients; calling the model applies :func:`linreg`."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor):
        self.w = w.detach().clone().reshape(-1, 1).requires_grad_(True)  # (d, 1)
        self.b = b.detach().clone().reshape(1).requires_grad_(True)  # (1,)

    def __call__(self, X):
        return linreg(X, self.w, self.b)

    def parameters(self) -> list[torch.Tensor]:
        return [self.w, self.b]


def linear_net(w: torch.Tensor, b: torch.Tensor) -> nn.Sequential:
    """``nn.Sequential(nn.Linear(d, 1))`` holding the given initial w (d, 1) and b (1,)."""
    net = nn.Sequential(nn.Linear(w.numel(), 1))
    with torch.no_grad():
        net[0].weight.copy_(w.reshape(1, -1))
        net[0].bias.copy_(b.reshape(1))
    return net

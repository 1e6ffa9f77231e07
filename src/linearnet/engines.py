"""The three implementations, behind one small interface the training loop drives.

- ``scratch``: tensors and autograd only (d2l 3.2): :func:`linreg`, :func:`squared_loss`, :func:`sgd`.
- ``concise``: ``nn.Linear``, ``nn.MSELoss`` and ``torch.optim.SGD`` (d2l 3.3).
- ``fast``: the compiled epoch of :mod:`linearnet.fast`.

An engine trains on one :class:`~linearnet.data.Block` at a time and can sum its loss
over a block; the epoch loop, the permutations and the history live in
:func:`linearnet.train.fit`, so all three follow one trajectory from one seed.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data import Block, iter_batches
from .losses import squared_error, squared_loss
from .models import LinearRegressionScratch, linear_net
from .optim import sgd

__all__ = ["Engine", "ScratchEngine", "ConciseEngine", "FastEngine", "make_engine"]


class Engine(Protocol):
    def train_block(self, block: Block, batch_size: int) -> tuple[float, int]:
        """Step through the block's batches; return (sum of batch mean losses, batches)."""

    def total_loss(self, block: Block) -> float:
        """Sum of the per-example loss over the block's rows, at the current parameters."""

    def parameters(self) -> tuple[list[float], float]:
        """Current (w, b) as plain numbers."""


class _AutogradEngine:
    """The batch loop shared by scratch and concise; each defines ``_step`` and ``_losses``."""

    def train_block(self, block: Block, batch_size: int) -> tuple[float, int]:
        running = torch.zeros((), dtype=torch.float64)
        batches = 0
        for X, y in iter_batches(block.features, block.labels, batch_size, block.order):
            running += self._step(X, y)
            batches += 1
        return float(running), batches

    @torch.no_grad()
    def total_loss(self, block: Block) -> float:
        return float(self._losses(block.features, block.labels).sum(dtype=torch.float64))


class ScratchEngine(_AutogradEngine):
    """d2l 3.2: leaf tensors w, b; loss summed over the batch, then :func:`sgd`."""

    def __init__(self, config: TrainConfig, w0: torch.Tensor, b0: torch.Tensor):
        self.net = LinearRegressionScratch(w0, b0)
        self.loss = squared_loss if config.loss == "half_squared" else squared_error
        self.lr = config.lr
        self.mean = config.grad_reduction == "mean"

    def _losses(self, X, y):
        return self.loss(self.net(X), y)  # (B, 1)

    def _step(self, X, y):
        l = self._losses(X, y)  # (B, 1)
        l.sum().backward()
        sgd(self.net.parameters(), self.lr, len(X) if self.mean else 1)
        return l.detach().mean()

    def parameters(self):
        return self.net.w.detach().reshape(-1).tolist(), float(self.net.b.detach())


class ConciseEngine(_AutogradEngine):
    """d2l 3.3: ``nn.Linear``, ``nn.MSELoss`` (times ½ for the half-squared loss), ``optim.SGD``."""

    def __init__(self, config: TrainConfig, w0: torch.Tensor, b0: torch.Tensor):
        self.net = linear_net(w0, b0)
        self.loss = nn.MSELoss(reduction=config.grad_reduction)
        self.factor = config.loss_factor
        self.sum = config.grad_reduction == "sum"
        self.trainer = torch.optim.SGD(self.net.parameters(), lr=config.lr)

    def _losses(self, X, y):
        return self.factor * nn.functional.mse_loss(self.net(X), y, reduction="none")

    def _step(self, X, y):
        l = self.factor * self.loss(self.net(X), y)
        self.trainer.zero_grad()
        l.backward()
        self.trainer.step()
        l = l.detach()
        return l / len(X) if self.sum else l

    def parameters(self):
        layer = self.net[0]
        return layer.weight.detach().reshape(-1).tolist(), float(layer.bias.detach())


class FastEngine:
    """The compiled epoch (:func:`linearnet.fast.sgd_epoch`) on the block's NumPy views."""

    def __init__(self, config: TrainConfig, w0: torch.Tensor, b0: torch.Tensor):
        from . import fast  # numba is imported only when this engine is used

        self._fast = fast
        self.w = w0.detach().reshape(-1).to(torch.float64).numpy().copy()  # (d,)
        self.b = float(b0)
        self.lr = config.lr
        self.c = config.loss_factor
        self.mean = config.grad_reduction == "mean"
        self._warm_up()

    def _warm_up(self) -> None:
        """Load (or, the first time, compile) the kernels now, so that training time is training."""
        X, y, order = np.zeros((1, self.w.size), np.float32), np.zeros(1, np.float32), np.zeros(1, np.int64)
        w = self.w.copy()
        self._fast.sgd_epoch(X, y, order, w, 0.0, self.lr, 1, self.c, self.mean)
        self._fast.sgd_epoch_parallel(X, y, order, w, 0.0, self.lr, 1, self.c, self.mean, 1)
        self._fast.total_loss(X, y, w, 0.0, self.c)

    @staticmethod
    def _threads() -> int:
        import numba

        return numba.get_num_threads()

    @staticmethod
    def _arrays(block: Block):
        X = block.features.numpy()  # (n, d) float32, shares memory
        y = block.labels.reshape(-1).numpy()  # (n,)
        return X, y

    def train_block(self, block: Block, batch_size: int) -> tuple[float, int]:
        X, y = self._arrays(block)
        order = np.arange(len(X)) if block.order is None else block.order.numpy()
        args = (X, y, order, self.w, self.b, self.lr, batch_size, self.c, self.mean)
        parts = min(self._threads(), -(-batch_size // 256))
        if batch_size >= self._fast.PARALLEL_BATCH and parts > 1:
            b, running, batches, _finite = self._fast.sgd_epoch_parallel(*args, parts)
        else:
            b, running, batches, _finite = self._fast.sgd_epoch(*args)
        self.b = b
        return running, batches

    def total_loss(self, block: Block) -> float:
        X, y = self._arrays(block)
        return float(self._fast.total_loss(X, y, self.w, self.b, self.c))

    def parameters(self):
        return self.w.tolist(), self.b


_ENGINES = {"scratch": ScratchEngine, "concise": ConciseEngine, "fast": FastEngine}


def make_engine(config: TrainConfig, w0: torch.Tensor, b0: torch.Tensor) -> Engine:
    """The engine ``config.impl`` names, starting from w0 (d, 1) and b0 (1,)."""
    return _ENGINES[config.impl](config, w0, b0)

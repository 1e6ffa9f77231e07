"""The three implementations, behind one small interface the training loop drives.

- ``scratch``: tensors and autograd only: :func:`linreg`, :func:`squared_loss`, :func:`sgd`
  (d2l 3.2), or :class:`SoftmaxRegression` and :func:`cross_entropy` (d2l 3.6).
- ``concise``: ``nn.Linear`` with ``nn.MSELoss`` or ``nn.CrossEntropyLoss`` and ``torch.optim.SGD``.
- ``fast``: the compiled epochs of :mod:`linearnet.fast`.

An engine trains on one :class:`~linearnet.batches.Block` at a time and evaluates a block; the
epoch loop, the permutations and the history live in :func:`linearnet.train.fit`, so all
three follow one trajectory from one seed. Weight decay λ adds λ·W to the gradient of the
weights (not the bias) at every step, as ``torch.optim.SGD(weight_decay=λ)`` does.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import nn

from .batches import Block, iter_batches
from .config import TrainConfig
from .linear_regression import (LinearRegressionScratch, absolute_loss, huber_loss, linear_net, squared_error,
                                squared_loss)
from .optim import sgd
from .softmax_regression import SoftmaxRegression, accuracy, cross_entropy, l2_penalty

__all__ = ["Engine", "ScratchEngine", "ConciseEngine", "FastEngine", "make_engine"]


class Engine(Protocol):
    def train_block(self, block: Block, batch_size: int, steps: list | None = None) -> tuple[float, int]:
        """Step through the block's batches; return (sum of batch mean losses, batches).

        Given a list ``steps``, append each batch's mean loss (before its step) to it."""

    def evaluate(self, block: Block) -> tuple[float, float | None]:
        """(sum of the per-example loss, number of right predictions or None) at the current parameters."""

    def parameters(self):
        """Current (weights, bias) as plain numbers: (list, float) for linear regression,
        (d × q nested list, list) for softmax regression."""

    def set_lr(self, lr: float) -> None:
        """Use this learning rate from the next step on (learning-rate schedules)."""


class _AutogradEngine:
    """The batch loop shared by scratch and concise: each defines ``net``, ``_per_example`` and ``_step``."""

    classifier = False

    def train_block(self, block: Block, batch_size: int, steps: list | None = None) -> tuple[float, int]:
        running = torch.zeros((), dtype=torch.float64)
        batches = 0
        losses = []
        for X, y in iter_batches(block.features, block.labels, batch_size, block.order):
            loss = self._step(X, y)
            running += loss
            if steps is not None:
                losses.append(loss)
            batches += 1
        if steps is not None:
            steps.extend(torch.stack(losses).tolist() if losses else [])
        return float(running), batches

    @torch.no_grad()
    def evaluate(self, block: Block) -> tuple[float, float | None]:
        out = self.net(block.features)
        loss = float(self._per_example(out, block.labels).sum(dtype=torch.float64))
        return loss, (accuracy(out, block.labels) if self.classifier else None)

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    def _penalty_scale(self, X) -> int:
        """Scale of λ·½‖W‖² added to the summed loss so that the step's gradient gains exactly λ·W."""
        return len(X) if self.mean else 1


class ScratchEngine(_AutogradEngine):
    """d2l 3.2: leaf tensors w, b; loss summed over the batch, then :func:`sgd`."""

    def __init__(self, config: TrainConfig, w0: torch.Tensor, b0: torch.Tensor):
        self.net = LinearRegressionScratch(w0, b0)
        delta = config.huber_delta
        self.loss = {"half_squared": squared_loss, "squared": squared_error, "l1": absolute_loss,
                     "huber": lambda y_hat, y: huber_loss(y_hat, y, delta)}[config.loss]
        self._settings(config)

    def _settings(self, config: TrainConfig) -> None:
        self.lr, self.wd = config.lr, config.weight_decay
        self.mean = config.grad_reduction == "mean"

    def _per_example(self, out, y):
        return self.loss(out, y)  # (B, 1)

    def _step(self, X, y):
        l = self._per_example(self.net(X), y)  # (B, 1) or (B,)
        total = l.sum()
        if self.wd:  # the weights come first in parameters(), the bias is not decayed
            total = total + self._penalty_scale(X) * self.wd * l2_penalty(self.net.parameters()[0])
        total.backward()
        sgd(self.net.parameters(), self.lr, len(X) if self.mean else 1)
        return l.detach().mean()

    def parameters(self):
        return self.net.w.detach().reshape(-1).tolist(), float(self.net.b.detach())


class ScratchSoftmaxEngine(ScratchEngine):
    """d2l 3.6: W (d, q), b (q,); cross-entropy from the logits, summed, then :func:`sgd`."""

    classifier = True

    def __init__(self, config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor):
        self.net = SoftmaxRegression(W0, b0)
        self._settings(config)

    def _per_example(self, out, y):
        return cross_entropy(out, y)  # (B,)

    def parameters(self):
        return self.net.W.detach().tolist(), self.net.b.detach().tolist()


class ConciseEngine(_AutogradEngine):
    """d2l 3.3 / 3.7: ``nn.Linear``, ``nn.MSELoss`` (times ½ for the half-squared loss) or
    ``nn.CrossEntropyLoss``, and ``optim.SGD`` with weight decay on the weight only."""

    def __init__(self, config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor):
        self.classifier = config.model == "softmax"
        self.net = linear_net(W0, b0)
        if self.classifier:
            make = nn.CrossEntropyLoss
        elif config.loss == "l1":
            make = nn.L1Loss
        elif config.loss == "huber":
            def make(reduction):
                return nn.HuberLoss(reduction=reduction, delta=config.huber_delta)
        else:
            make = nn.MSELoss
        self.loss = make(reduction=config.grad_reduction)  # what the steps minimise
        self.per_example = make(reduction="none")  # for the loss over all rows
        self.factor = config.loss_factor if make is nn.MSELoss else 1.0
        self.sum = config.grad_reduction == "sum"
        layer = self.net[0]
        self.trainer = torch.optim.SGD([{"params": [layer.weight], "weight_decay": config.weight_decay},
                                        {"params": [layer.bias]}], lr=config.lr)

    def _per_example(self, out, y):
        return self.factor * self.per_example(out, y)

    def set_lr(self, lr: float) -> None:
        for group in self.trainer.param_groups:
            group["lr"] = lr

    def _step(self, X, y):
        l = self.factor * self.loss(self.net(X), y)
        self.trainer.zero_grad()
        l.backward()
        self.trainer.step()
        l = l.detach()
        return l / len(X) if self.sum else l

    def parameters(self):
        layer = self.net[0]
        if self.classifier:
            return layer.weight.detach().T.tolist(), layer.bias.detach().tolist()
        return layer.weight.detach().reshape(-1).tolist(), float(layer.bias.detach())


class FastEngine:
    """The compiled epoch (:mod:`linearnet.fast`) on the block's NumPy views."""

    def __init__(self, config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor):
        from . import fast  # numba is imported only when this engine is used

        self._fast = fast
        self.classifier = config.model == "softmax"
        self.lr, self.wd = config.lr, config.weight_decay
        self.mean = config.grad_reduction == "mean"
        if self.classifier:
            self.W = W0.detach().T.contiguous().numpy().astype(np.float32)  # (q, d): rows read contiguously
            self.b = b0.detach().reshape(-1).numpy().astype(np.float32)
        else:
            self.w = W0.detach().reshape(-1).to(torch.float64).numpy().copy()  # (d,)
            self.b = float(b0)
            kinds = {"half_squared": fast.SQUARED, "squared": fast.SQUARED, "l1": fast.ABSOLUTE,
                     "huber": fast.HUBER}
            self.loss = (kinds[config.loss], config.loss_factor, config.huber_delta)  # kind, c, delta
        self._warm_up(W0.shape[0])

    def _warm_up(self, d: int) -> None:
        """Load (or, the first time, compile) the kernels now, so that training time is training.

        Each kernel runs once on a one-row block of zeros, on copies of the parameters, with
        the argument types of the real calls (so nothing is compiled again later).
        """
        f = self._fast
        X, order, out = np.zeros((1, d), np.float32), np.zeros(1, np.int64), np.empty(0)
        if self.classifier:
            y, W, b = np.zeros(1, np.int64), self.W.copy(), self.b.copy()
            f.softmax_epoch(X, y, order, W, b, self.lr, 1, self.mean, self.wd, out)
            f.softmax_epoch_parallel(X, y, order, W, b, self.lr, 1, self.mean, self.wd, out, 1)
            f.softmax_evaluate(X, y, W, b)
        else:
            y, w = np.zeros(1, np.float32), self.w.copy()
            f.sgd_epoch(X, y, order, w, 0.0, self.lr, 1, *self.loss, self.mean, self.wd, out)
            f.sgd_epoch_parallel(X, y, order, w, 0.0, self.lr, 1, *self.loss, self.mean, self.wd, out, 1)
            f.total_loss(X, y, w, 0.0, *self.loss)

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    @staticmethod
    def _threads() -> int:
        import numba

        return numba.get_num_threads()

    def _arrays(self, block: Block):
        X = block.features.numpy()  # (n, d) float32, shares memory
        y = block.labels.reshape(-1).numpy()  # (n,)
        return X, y

    def train_block(self, block: Block, batch_size: int, steps: list | None = None) -> tuple[float, int]:
        X, y = self._arrays(block)
        order = np.arange(len(X)) if block.order is None else block.order.numpy()
        out = np.empty(-(-len(X) // batch_size) if steps is not None else 0)
        running, batches = self._epoch(X, y, order, batch_size, out)
        if steps is not None:
            steps.extend(out[:batches].tolist())
        return running, batches

    def _epoch(self, X, y, order, batch_size, out) -> tuple[float, int]:
        if self.classifier:
            args = (X, y, order, self.W, self.b, self.lr, batch_size, self.mean, self.wd, out)
            parts = min(self._threads(), -(-batch_size // 32))
            if batch_size >= self._fast.SOFTMAX_PARALLEL_BATCH and parts > 1:
                running, batches, _finite = self._fast.softmax_epoch_parallel(*args, parts)
            else:
                running, batches, _finite = self._fast.softmax_epoch(*args)
            return running, batches
        args = (X, y, order, self.w, self.b, self.lr, batch_size, *self.loss, self.mean, self.wd, out)
        parts = min(self._threads(), -(-batch_size // 256))
        if batch_size >= self._fast.PARALLEL_BATCH and parts > 1:
            b, running, batches, _finite = self._fast.sgd_epoch_parallel(*args, parts)
        else:
            b, running, batches, _finite = self._fast.sgd_epoch(*args)
        self.b = b
        return running, batches

    def evaluate(self, block: Block) -> tuple[float, float | None]:
        X, y = self._arrays(block)
        if self.classifier:
            loss, right = self._fast.softmax_evaluate(X, y, self.W, self.b)
            return float(loss), float(right)
        return float(self._fast.total_loss(X, y, self.w, self.b, *self.loss)), None

    def parameters(self):
        if self.classifier:
            return self.W.T.astype(np.float64).tolist(), self.b.astype(np.float64).tolist()
        return self.w.tolist(), self.b


_ENGINES = {
    ("linear", "scratch"): ScratchEngine, ("linear", "concise"): ConciseEngine, ("linear", "fast"): FastEngine,
    ("softmax", "scratch"): ScratchSoftmaxEngine, ("softmax", "concise"): ConciseEngine,
    ("softmax", "fast"): FastEngine,
}


def make_engine(config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor) -> Engine:
    """The engine for ``config.model`` and ``config.impl``, starting from W0 (d, q) and b0 (q,)."""
    return _ENGINES[config.model, config.impl](config, W0, b0)

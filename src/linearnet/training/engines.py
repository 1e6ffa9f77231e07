"""The three implementations, behind one small interface the training loop drives.

- ``scratch``: tensors and autograd only: :func:`linreg`, :func:`squared_loss`, :func:`sgd`
  (d2l 3.2), or :class:`SoftmaxRegression` and :func:`cross_entropy` (d2l 3.6).
- ``concise``: ``nn.Linear`` with ``nn.MSELoss`` or ``nn.CrossEntropyLoss`` and ``torch.optim.SGD``.
- ``fast``: the compiled epochs of :mod:`linearnet.fast`.

An engine trains on one :class:`~linearnet.batches.Block` at a time and evaluates a block; the
epoch loop, the permutations and the history live in :func:`linearnet.training.fit`, so all
three follow one trajectory from one seed. Weight decay λ adds λ·W to the gradient of the
weights (not the bias) at every step, as ``torch.optim.SGD(weight_decay=λ)`` does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from ..batches import Block, iter_batches
from ..config import TrainConfig
from ..linear_regression import (
    LinearRegressionScratch,
    absolute_loss,
    huber_loss,
    linear_net,
    squared_error,
    squared_loss,
)
from ..optim import sgd
from ..softmax_regression import SoftmaxRegression, accuracy, cross_entropy, l2_penalty

__all__ = [
    "Engine",
    "ScratchEngine",
    "ScratchSoftmaxEngine",
    "ConciseEngine",
    "FastEngine",
    "FastSoftmaxEngine",
    "make_engine",
    "WEIGHTED_IMPLS",
]

WEIGHTED_IMPLS = {  # the engines that weight the rows' losses (Block.weights), by model
    "linear": ("scratch", "concise", "fast"),
    "softmax": ("scratch", "concise"),
}


class Engine(Protocol):
    def train_block(
        self, block: Block, batch_size: int, steps: list | None = None, running: float = 0.0
    ) -> tuple[float, int]:
        """Step through the block's batches; return (``running`` plus the sum of their mean
        losses, batches). Each batch's loss is added to ``running`` in turn, so an epoch cut
        into blocks sums its losses as the whole epoch would.

        Given a list ``steps``, append each batch's mean loss (before its step) to it."""

    def evaluate(self, block: Block) -> tuple[float, float | None]:
        """(sum of the per-example loss, number of right predictions or None) at the current parameters."""

    def parameters(self):
        """Current (weights, bias) as plain numbers: (list, float) for linear regression,
        (d × q nested list, list) for softmax regression."""

    def set_lr(self, lr: float) -> None:
        """Use this learning rate from the next step on (learning-rate schedules)."""

    def accumulate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[list[np.ndarray], float]:
        """The gradient of the loss *summed* over the rows (X, y), any number of them (none
        included), at the current parameters, as float64 arrays (weights first), and that
        summed loss; the parameters are left as they are. With :meth:`apply`, a step split
        over processes (:class:`linearnet.distributed.DataParallel`)."""

    def apply(self, grads: list[np.ndarray], rows: int) -> None:
        """Take the step :meth:`train_block` takes for a batch of ``rows`` rows whose summed
        gradient is ``grads`` (what :meth:`accumulate` returns, added over processes)."""


class _AutogradEngine:
    """The batch loop shared by scratch and concise: each defines ``net``, ``_per_example`` and ``_step``."""

    classifier = False
    net: Callable[[torch.Tensor], torch.Tensor]
    lr: float
    mean: bool  # step along the batch's mean gradient (else its sum)

    def _per_example(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _step(self, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None = None) -> torch.Tensor:
        """One SGD step on the batch (each row's loss times its weight ``w``, given); returns its mean loss
        before the step."""
        raise NotImplementedError

    def train_block(
        self, block: Block, batch_size: int, steps: list | None = None, running: float = 0.0
    ) -> tuple[float, int]:
        total = torch.tensor(running, dtype=torch.float64)
        batches = 0
        losses = []
        w = block.weights
        weights = None if w is None else iter_batches(w, w, batch_size, block.order)  # the batches' weights
        for X, y in iter_batches(block.features, block.labels, batch_size, block.order):
            loss = self._step(X, y) if weights is None else self._step(X, y, next(weights)[0])
            total += loss
            if steps is not None:
                losses.append(loss)
            batches += 1
        if steps is not None:
            steps.extend(torch.stack(losses).tolist() if losses else [])
        return float(total), batches

    @torch.no_grad()
    def evaluate(self, block: Block) -> tuple[float, float | None]:
        out = self.net(block.features)
        per_example = self._per_example(out, block.labels)
        if block.weights is not None:
            per_example = per_example * block.weights.reshape(per_example.shape)
        loss = float(per_example.sum(dtype=torch.float64))
        return loss, (accuracy(out, block.labels) if self.classifier else None)

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    def _trained(self) -> list[torch.Tensor]:
        """The parameters, weights first."""
        raise NotImplementedError

    def accumulate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[list[np.ndarray], float]:
        params = self._trained()
        for p in params:
            p.grad = None
        total = self._per_example(self.net(X), y).sum()
        total.backward()
        grads = [p.grad.detach().to(torch.float64).numpy().copy() for p in params]  # type: ignore[union-attr]
        for p in params:
            p.grad = None
        return grads, float(total.detach())

    def _penalty_scale(self, X) -> int:
        """Scale of λ·½‖W‖² added to the summed loss so that the step's gradient gains exactly λ·W."""
        return len(X) if self.mean else 1


class _ScratchStep(_AutogradEngine):
    """d2l 3.2 / 3.6: the loss summed over the batch, ``backward()``, then :func:`sgd`."""

    net: LinearRegressionScratch | SoftmaxRegression

    def __init__(self, config: TrainConfig):
        self.lr, self.wd = config.lr, config.weight_decay
        self.mean = config.grad_reduction == "mean"

    def _step(self, X, y, w=None):
        l = self._per_example(self.net(X), y)  # (B, 1) or (B,)
        if w is not None:
            l = l * w.reshape(l.shape)
        total = l.sum()
        if self.wd:  # the weights come first in parameters(), the bias is not decayed
            total = total + self._penalty_scale(X) * self.wd * l2_penalty(self.net.parameters()[0])
        total.backward()
        sgd(self.net.parameters(), self.lr, len(X) if self.mean else 1)
        return l.detach().mean()

    def _trained(self) -> list[torch.Tensor]:
        return list(self.net.parameters())

    def apply(self, grads: list[np.ndarray], rows: int) -> None:
        params = self._trained()
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.from_numpy(g).to(p.dtype)
        if self.wd:  # the gradient of the penalty _step adds to the summed loss
            with torch.no_grad():
                params[0].grad += (rows if self.mean else 1) * self.wd * params[0]  # type: ignore[operator]
        sgd(params, self.lr, rows if self.mean else 1)


class ScratchEngine(_ScratchStep):
    """d2l 3.2: leaf tensors w, b; :func:`linreg` and the chosen per-example loss."""

    net: LinearRegressionScratch

    def __init__(self, config: TrainConfig, w0: torch.Tensor, b0: torch.Tensor):
        super().__init__(config)
        self.net = LinearRegressionScratch(w0, b0)
        delta = config.huber_delta
        self.loss = {
            "half_squared": squared_loss,
            "squared": squared_error,
            "l1": absolute_loss,
            "huber": lambda y_hat, y: huber_loss(y_hat, y, delta),
        }[config.loss]

    def _per_example(self, out, y):
        return self.loss(out, y)  # (B, 1)

    def parameters(self):
        return self.net.w.detach().reshape(-1).tolist(), float(self.net.b.detach())


class ScratchSoftmaxEngine(_ScratchStep):
    """d2l 3.6: W (d, q), b (q,); cross-entropy from the logits."""

    net: SoftmaxRegression

    classifier = True

    def __init__(self, config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor):
        super().__init__(config)
        self.net = SoftmaxRegression(W0, b0)

    def _per_example(self, out, y):
        return cross_entropy(out, y)  # (B,)

    def parameters(self):
        return self.net.W.detach().tolist(), self.net.b.detach().tolist()


class ConciseEngine(_AutogradEngine):
    """d2l 3.3 / 3.7: ``nn.Linear``, ``nn.MSELoss`` (times ½ for the half-squared loss) or
    ``nn.CrossEntropyLoss``, and ``optim.SGD`` with weight decay on the weight only."""

    def __init__(self, config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor):
        self.classifier = config.model == "softmax"
        self.net = net = linear_net(W0, b0)
        make: Callable[..., nn.Module]
        if self.classifier:
            make = nn.CrossEntropyLoss
        elif config.loss == "l1":
            make = nn.L1Loss
        elif config.loss == "huber":
            make = functools.partial(nn.HuberLoss, delta=config.huber_delta)
        else:
            make = nn.MSELoss
        self.loss = make(reduction=config.grad_reduction)  # what the steps minimise
        self.per_example = make(reduction="none")  # for the loss over all rows
        self.factor = config.loss_factor if make is nn.MSELoss else 1.0
        self.sum = config.grad_reduction == "sum"
        layer = net[0]
        assert isinstance(layer, nn.Linear)
        self.layer: nn.Linear = layer
        groups: list[dict[str, Any]] = [
            {"params": [layer.weight], "weight_decay": config.weight_decay},
            {"params": [layer.bias]},
        ]
        self.trainer = torch.optim.SGD(groups, lr=config.lr)

    def _per_example(self, out, y):
        return self.factor * self.per_example(out, y)

    def set_lr(self, lr: float) -> None:
        for group in self.trainer.param_groups:
            group["lr"] = lr

    def _step(self, X, y, w=None):
        if w is None:
            l = self.factor * self.loss(self.net(X), y)
        else:
            per_example = self.per_example(self.net(X), y)
            per_example = per_example * w.reshape(per_example.shape)
            l = self.factor * (per_example.sum() if self.sum else per_example.mean())
        self.trainer.zero_grad()
        l.backward()
        self.trainer.step()
        l = l.detach()
        return l / len(X) if self.sum else l

    def _trained(self) -> list[torch.Tensor]:
        return [self.layer.weight, self.layer.bias]

    def apply(self, grads: list[np.ndarray], rows: int) -> None:
        for p, g in zip(self._trained(), grads, strict=True):  # the loss's reduction: a mean over the rows, or a sum
            p.grad = torch.from_numpy(g if self.sum else g / rows).to(p.dtype)
        self.trainer.step()  # with the weight decay of the weights' group
        self.trainer.zero_grad()

    def parameters(self):
        layer = self.layer
        if self.classifier:
            return layer.weight.detach().T.tolist(), layer.bias.detach().tolist()
        return layer.weight.detach().reshape(-1).tolist(), float(layer.bias.detach())


class _FastEngine:
    """The compiled epochs of :mod:`linearnet.fast` on the block's NumPy views.

    numba is imported only when one of these engines is made. Each loads (or, the first time,
    compiles) the kernels its settings need when made, so that training time is training; the
    pipelined linear epoch, used only on data beyond the caches, is loaded on its first use.
    """

    def __init__(self, config: TrainConfig):
        self.lr, self.wd = config.lr, config.weight_decay
        self.mean = config.grad_reduction == "mean"

    def set_lr(self, lr: float) -> None:
        self.lr = lr

    @staticmethod
    def _arrays(block: Block) -> tuple[np.ndarray, np.ndarray]:
        return block.features.numpy(), block.labels.reshape(-1).numpy()  # (n, d) float32 and (n,): shared memory

    def _epoch(self, X, y, order, batch_size: int, out, running: float, shuffled: bool) -> tuple[float, int]:
        raise NotImplementedError

    def _weighted_epoch(self, X, y, sw, order, batch_size: int, out, running: float) -> tuple[float, int]:
        """An epoch with each row's loss times its weight ``sw`` (the linear engine's; the softmax one refuses)."""
        raise ValueError("the fast softmax engine does not weight rows; 'scratch' and 'concise' do (impl=...)")

    def train_block(
        self, block: Block, batch_size: int, steps: list | None = None, running: float = 0.0
    ) -> tuple[float, int]:
        if not math.isfinite(running):  # an earlier block of the epoch stopped on a runaway loss, as the kernel does
            return running, 0
        X, y = self._arrays(block)
        order = np.arange(len(X)) if block.order is None else block.order.numpy()
        out = np.empty(-(-len(order) // batch_size) if steps is not None else 0)
        if block.weights is None:
            running, batches = self._epoch(X, y, order, batch_size, out, running, block.order is not None)
        else:
            running, batches = self._weighted_epoch(X, y, block.weights.numpy(), order, batch_size, out, running)
        if steps is not None:
            steps.extend(out[:batches].tolist())
        return running, batches


def _unweighted(block: Block) -> None:
    if block.weights is not None:
        raise ValueError("the fast softmax engine does not weight rows; 'scratch' and 'concise' do (impl=...)")


class FastEngine(_FastEngine):
    """Linear regression: w (d,) in float64, the bias a float; squared, absolute or Huber loss."""

    def __init__(self, config: TrainConfig, w0: torch.Tensor, b0: torch.Tensor):
        super().__init__(config)
        from ..fast import linear

        self._fast = linear
        self.w = w0.detach().reshape(-1).to(torch.float64).numpy().copy()  # (d,)
        self.b = float(b0)
        self.loss = (linear.LOSS_KINDS[config.loss], config.loss_factor, config.huber_delta)  # kind, c, delta
        # warm up on a one-row block of zeros, on copies, with the argument types of the real calls
        X, order, out = np.zeros((1, len(self.w)), np.float32), np.zeros(1, np.int64), np.empty(0)
        y, w = np.zeros(1, np.float32), self.w.copy()
        linear.sgd_epoch(X, y, order, w, 0.0, self.lr, 1, *self.loss, self.mean, self.wd, out, 0.0)
        if linear.uses_pair(config.batch_size):  # no rows to visit: the pair loads its kernel without meeting
            from ..fast import linear_pair

            linear_pair.linear_epoch_pair(X, y, order[:0], w, 0.0, self.lr, 1, *self.loss, self.mean, self.wd, out, 0.0)
        linear.total_loss(X, y, w, 0.0, *self.loss)

    def _epoch(self, X, y, order, batch_size, out, running, shuffled) -> tuple[float, int]:
        b, running, batches, _finite = self._fast.epoch(
            X,
            y,
            order,
            self.w,
            self.b,
            self.lr,
            batch_size,
            *self.loss,
            self.mean,
            self.wd,
            out,
            running,
            shuffled=shuffled,
        )
        self.b = b
        return running, batches

    def _weighted_epoch(self, X, y, sw, order, batch_size, out, running) -> tuple[float, int]:
        b, running, batches, _finite = self._fast.sgd_epoch_weighted(
            X, y, sw, order, self.w, self.b, self.lr, batch_size, *self.loss, self.mean, self.wd, out, running
        )
        self.b = b
        return running, batches

    def evaluate(self, block: Block) -> tuple[float, float | None]:
        X, y = self._arrays(block)
        if block.weights is not None:
            sw = block.weights.numpy()
            return float(self._fast.total_loss_weighted(X, y, sw, self.w, self.b, *self.loss)), None
        return float(self._fast.total_loss(X, y, self.w, self.b, *self.loss)), None

    def accumulate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[list[np.ndarray], float]:
        g, gb, total = self._fast.gradient(
            np.ascontiguousarray(X.numpy()), y.reshape(-1).numpy(), self.w, self.b, *self.loss
        )
        return [g, np.array([gb])], float(total)

    def apply(self, grads: list[np.ndarray], rows: int) -> None:
        g, gb = grads
        self.b = self._fast.step(self.w, g, float(gb[0]), self.b, rows, self.lr, self.mean, self.wd)

    def parameters(self):
        return self.w.tolist(), self.b


class FastSoftmaxEngine(_FastEngine):
    """Softmax regression: W kept as (q, d) float32 so each logit reads one contiguous row, b (q,)."""

    def __init__(self, config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor):
        super().__init__(config)
        from ..fast import softmax

        self._fast = softmax
        self.W = softmax.aligned(W0.detach().T.numpy().astype(np.float32))  # (q, d), rows on cache lines if d % 16 == 0
        self.b = b0.detach().reshape(-1).numpy().astype(np.float32)  # (q,)
        # warm up on a one-row block of zeros, on copies, with the argument types of the real calls
        X, order, out = np.zeros((1, self.W.shape[1]), np.float32), np.zeros(1, np.int64), np.empty(0)
        y, W, b = np.zeros(1, np.int64), self.W.copy(), self.b.copy()
        if softmax.uses_pair(config.batch_size):  # no rows to visit: the pair loads its kernel without meeting
            softmax.softmax_epoch_pair(X, y, order[:0], W, b, self.lr, 1, self.mean, self.wd, out, 0.0)
        else:
            softmax.softmax_epoch(X, y, order, W, b, self.lr, 1, self.mean, self.wd, out, 0.0)
        softmax.softmax_evaluate(X, y, W, b)

    def _epoch(self, X, y, order, batch_size, out, running, shuffled) -> tuple[float, int]:
        running, batches, _finite = self._fast.epoch(
            X, y, order, self.W, self.b, self.lr, batch_size, self.mean, self.wd, out, running
        )
        return running, batches

    def evaluate(self, block: Block) -> tuple[float, float | None]:
        _unweighted(block)
        X, y = self._arrays(block)
        loss, right = self._fast.softmax_evaluate(X, y, self.W, self.b)
        return float(loss), float(right)

    def accumulate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[list[np.ndarray], float]:
        G, gb, total = self._fast.gradient(np.ascontiguousarray(X.numpy()), y.reshape(-1).numpy(), self.W, self.b)
        return [G.astype(np.float64), gb.astype(np.float64)], float(total)

    def apply(self, grads: list[np.ndarray], rows: int) -> None:
        G, gb = (np.ascontiguousarray(g, dtype=np.float32) for g in grads)
        self._fast.step(self.W, self.b, G, gb, rows, self.lr, self.mean, self.wd)

    def parameters(self):
        return self.W.T.astype(np.float64).tolist(), self.b.astype(np.float64).tolist()


_ENGINES: dict[tuple[str, str], Callable[[TrainConfig, torch.Tensor, torch.Tensor], Engine]] = {
    ("linear", "scratch"): ScratchEngine,
    ("linear", "concise"): ConciseEngine,
    ("linear", "fast"): FastEngine,
    ("softmax", "scratch"): ScratchSoftmaxEngine,
    ("softmax", "concise"): ConciseEngine,
    ("softmax", "fast"): FastSoftmaxEngine,
}


def make_engine(config: TrainConfig, W0: torch.Tensor, b0: torch.Tensor) -> Engine:
    """The engine for ``config.model`` and ``config.impl``, starting from W0 (d, q) and b0 (q,)."""
    return _ENGINES[config.model, config.impl](config, W0, b0)

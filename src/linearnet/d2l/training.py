"""The book's models and training loop of chapter 3 (0.17 functional style): ``train_ch3`` and its parts."""

from __future__ import annotations

import torch

from ..linear_regression import linreg, squared_loss
from ..optim import sgd
from .data import get_fashion_mnist_labels
from .plotting import Animator, show_images

__all__ = [
    "linreg",
    "squared_loss",
    "sgd",
    "softmax",
    "cross_entropy",
    "Accumulator",
    "accuracy",
    "evaluate_accuracy",
    "train_epoch_ch3",
    "train_ch3",
    "predict_ch3",
]


def softmax(X):
    """Row-wise softmax as the book writes it in 3.6: exp(X) / its row sums (no max subtracted)."""
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition


def cross_entropy(y_hat, y):
    """−log ŷ[y] per example, with ŷ the *probabilities* (the book's 3.6; linearnet's takes logits)."""
    return -torch.log(y_hat[range(len(y_hat)), y])


class Accumulator:
    """Sums over n variables: ``add`` adds one value to each, ``reset`` zeroes them, ``acc[i]`` reads one."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args, strict=False)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    """The number of correct predictions, as a float (the argmax of dim 1 when ŷ has more than one column)."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    """The fraction of correct predictions over ``data_iter``; an ``nn.Module`` is put in eval mode first."""
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)  # correct predictions, predictions
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    """One epoch; returns (mean loss, training accuracy) over its examples.

    A ``torch.optim.Optimizer`` steps on the mean loss of each batch (``loss`` per example, as
    ``reduction='none'``); any other ``updater`` is called with the batch size after the summed
    loss's backward pass (the book's ``sgd``).
    """
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)  # summed loss, correct predictions, examples
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum().detach()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    """Train for ``num_epochs``, drawing train loss, train and test accuracy on an ``Animator`` per epoch.

    Ends with the book's sanity checks: train loss < 0.5, train and test accuracy in (0.7, 1].
    """
    animator = Animator(
        xlabel="epoch", xlim=[1, num_epochs], ylim=[0.3, 0.9], legend=["train loss", "train acc", "test acc"]
    )
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        animator.add(epoch + 1, (*train_metrics, test_acc))
    train_loss, train_acc = train_metrics
    assert train_loss < 0.5, train_loss
    assert train_acc <= 1 and train_acc > 0.7, train_acc
    assert test_acc <= 1 and test_acc > 0.7, test_acc


def predict_ch3(net, test_iter, n=6):
    """Draw the first ``n`` images of the first test batch, titled with true and predicted labels."""
    X, y = next(iter(test_iter))  # the first batch
    trues = get_fashion_mnist_labels(y)
    preds = get_fashion_mnist_labels(net(X).argmax(axis=1))
    titles = [true + "\n" + pred for true, pred in zip(trues, preds, strict=False)]
    show_images(X[0:n].reshape((n, 28, 28)), 1, n, titles=titles[0:n])

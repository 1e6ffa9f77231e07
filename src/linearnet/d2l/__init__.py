"""The names of "Dive into Deep Learning" chapter 3 (d2l 0.17, PyTorch), so the book's code runs as written.

Change ``from d2l import torch as d2l`` to ``from linearnet import d2l``: no torchvision, no pinned
numpy or matplotlib. The names behave as the book's, which is not always as linearnet's top-level
names of the same spelling (``load_array`` batches are lists, ``accuracy`` is a count, ``cross_entropy``
takes probabilities, ``evaluate_accuracy`` calls ``net.eval()``, Fashion-MNIST lives in ``../data``).
"""

from ..bench import Timer
from . import tensors
from .data import (
    FashionMNIST,
    fashion_mnist_stand_in,
    get_dataloader_workers,
    get_fashion_mnist_labels,
    load_array,
    load_data_fashion_mnist,
    synthetic_data,
)
from .plotting import Animator, plot, plt, set_axes, set_figsize, show_images, use_svg_display
from .tensors import *  # noqa: F403 - the aliases, listed in tensors.__all__
from .training import (
    Accumulator,
    accuracy,
    cross_entropy,
    evaluate_accuracy,
    linreg,
    predict_ch3,
    sgd,
    softmax,
    squared_loss,
    train_ch3,
    train_epoch_ch3,
)

__all__ = [
    "plt",
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "show_images",
    "Animator",
    "Timer",
    "Accumulator",
    "accuracy",
    "evaluate_accuracy",
    "synthetic_data",
    "load_array",
    "get_dataloader_workers",
    "load_data_fashion_mnist",
    "get_fashion_mnist_labels",
    "FashionMNIST",
    "fashion_mnist_stand_in",
    "linreg",
    "squared_loss",
    "sgd",
    "softmax",
    "cross_entropy",
    "train_epoch_ch3",
    "train_ch3",
    "predict_ch3",
    *tensors.__all__,
]

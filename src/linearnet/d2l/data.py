"""The book's data: ``synthetic_data``, ``load_array``, ``load_data_fashion_mnist`` and friends.

``load_data_fashion_mnist`` reads torchvision's layout, ``../data/FashionMNIST/raw``, without torchvision:
the IDX files are parsed by :func:`linearnet.datasets.read_idx` and downloaded, when absent, by
:func:`linearnet.datasets.download_fashion_mnist` (its mirrors, each file checked against its published MD5).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
from torch.utils import data

from ..datasets import (
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_FILES,
    FASHION_MNIST_MIRRORS,
    _check_part,
    _present,
    download_fashion_mnist,
    read_idx,
)

__all__ = [
    "synthetic_data",
    "load_array",
    "get_dataloader_workers",
    "load_data_fashion_mnist",
    "get_fashion_mnist_labels",
    "FashionMNIST",
    "fashion_mnist_stand_in",
]

ROOT = "../data"  # the book's root: torchvision keeps the files in ROOT/FashionMNIST/raw
MIRRORS = FASHION_MNIST_MIRRORS
CHECKSUMS = FASHION_MNIST_FILES  # checked on download; files already there are read as they are


def synthetic_data(w, b, num_examples):
    """y = Xw + b + noise: X ~ N(0, 1) of shape (n, len(w)), noise ~ N(0, 0.01²), y shaped (n, 1).

    Draws from torch's global generator, in the book's order, so ``torch.manual_seed`` fixes the data.
    """
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    """A DataLoader over the tensors: batches are lists [X, y], shuffled each epoch when ``is_train``."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def get_dataloader_workers():
    """The book's number of worker processes for reading images: 4."""
    return 4


def get_fashion_mnist_labels(labels):
    """The text labels of Fashion-MNIST class numbers."""
    return [FASHION_MNIST_CLASSES[int(i)] for i in labels]


class FashionMNIST(data.Dataset):
    """Images (1, h, w) float32 in [0, 1] and int labels, from the IDX files of one part (train or t10k).

    ``resize`` (an int or (h, w)) scales each image with bilinear interpolation and antialiasing,
    roughly what torchvision's ``Resize`` does (it resizes the 8-bit image before ``ToTensor``, so its
    values are rounded to multiples of 1/255; these are not).
    """

    def __init__(self, folder, part, resize=None):
        folder = Path(folder)
        paths = [_present(folder, f"{part}-{kind}-ubyte.gz") for kind in ("images-idx3", "labels-idx1")]
        images, labels = (read_idx(path) for path in paths)
        _check_part(folder, part, images, labels)
        self.images = torch.from_numpy(images.copy())
        self.labels = torch.from_numpy(labels.astype(np.int64))
        self.size = None if resize is None else ((resize, resize) if isinstance(resize, int) else tuple(resize))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = self.images[i].unsqueeze(0).to(torch.float32) / 255
        if self.size is not None:
            img = torch.nn.functional.interpolate(img[None], size=self.size, mode="bilinear", antialias=True)[0]
            img = img.clamp(0, 1)
        return img, int(self.labels[i])


def _fashion_mnist_folder(root) -> Path:
    """ROOT/FashionMNIST/raw with the four files, downloaded there when missing."""
    folder = Path(root) / "FashionMNIST" / "raw"
    if all(_present(folder, name) for name in CHECKSUMS):
        return folder
    try:
        download_fashion_mnist(folder, mirrors=MIRRORS, checksums=CHECKSUMS)
    except ValueError as exc:
        raise ValueError(
            f"Fashion-MNIST is not in {folder} ({folder.resolve()}) and could not be downloaded; "
            f"put the four files {', '.join(CHECKSUMS)} (gzip or decompressed) there"
        ) from exc
    return folder


def load_data_fashion_mnist(batch_size, resize=None, *, root=ROOT):
    """Fashion-MNIST's (train, test) DataLoaders of [X, y]: X (batch, 1, 28, 28) float32 in [0, 1], y int64.

    Reads ``root/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` (torchvision's layout,
    ``root="../data"`` as in the book) and downloads the files there when absent. The training loader
    shuffles. Unlike the book's, the loaders read in the main process: the images are decoded once into
    memory, and worker processes would only copy them. ``root`` is linearnet's addition.
    """
    folder = _fashion_mnist_folder(root)
    mnist_train = FashionMNIST(folder, "train", resize)
    mnist_test = FashionMNIST(folder, "t10k", resize)
    return (
        data.DataLoader(mnist_train, batch_size, shuffle=True),
        data.DataLoader(mnist_test, batch_size, shuffle=False),
    )


def _stand_in_images(n, rng, templates):
    """n images of 28 × 28 uint8: a class's template, shifted, scaled in brightness, with noise."""
    labels = rng.integers(0, len(templates), n)
    images = templates[labels] * rng.uniform(0.6, 1.0, (n, 1, 1))
    shifts = rng.integers(-1, 2, (n, 2))
    for k, (dy, dx) in enumerate(shifts):
        images[k] = np.roll(images[k], (dy, dx), axis=(0, 1))
    images += rng.normal(0, 0.35, images.shape)
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), labels.astype(np.uint8)


def fashion_mnist_stand_in(root=ROOT, n_train=12000, n_test=2000, seed=0):
    """Write a labelled stand-in for Fashion-MNIST in torchvision's layout under ``root``; return the folder.

    Not the real data (linearnet's addition, for machines without it, such as CI): each of the 10
    classes is a fixed random blocky pattern (classes 2, 4 and 6 mostly class 0's, as pullover, coat and
    shirt resemble the t-shirt), drawn shifted by up to a pixel, at random brightness and under noise, so
    that the book's softmax regression ends near its numbers on the real data (train loss about 0.43,
    test accuracy about 0.83 after 10 epochs). The files are written gzip-compressed, with the published
    names but not their contents, next to a ``STAND-IN`` note.
    """
    rng = np.random.default_rng(seed)
    blocks = rng.random((10, 7, 7)) ** 2
    for c in (2, 4, 6):
        blocks[c] = 0.9 * blocks[0] + 0.1 * blocks[c]
    templates = np.kron(blocks, np.ones((4, 4)))
    folder = Path(root) / "FashionMNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    for part, n in (("train", n_train), ("t10k", n_test)):
        images, labels = _stand_in_images(n, rng, templates)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
            (folder / f"{part}-{kind}-ubyte.gz").write_bytes(gzip.compress(header + array.tobytes(), mtime=0))
    (folder / "STAND-IN").write_text("A generated stand-in for Fashion-MNIST (linearnet.d2l.fashion_mnist_stand_in).\n")
    return folder

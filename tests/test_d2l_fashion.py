"""linearnet.d2l's Fashion-MNIST: torchvision's layout under ../data, read and downloaded without torchvision,
and the chapter's training on a generated stand-in of the same layout."""

import gzip
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from linearnet import d2l
from linearnet.d2l import data

from helpers import write_fashion

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture
def book_folder(tmp_path, monkeypatch):
    """A notebook folder whose ../data is empty: (the notebook folder, the raw folder torchvision would use)."""
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    yield tmp_path / "notebooks", tmp_path / "data" / "FashionMNIST" / "raw"
    d2l.plt.close("all")


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_reads_torchvisions_layout_under_dot_dot_data(book_folder, compress):
    _, raw = book_folder
    raw.mkdir(parents=True)
    arrays, _ = write_fashion(raw, compress=compress, n_train=40, n_test=10)
    train_iter, test_iter = d2l.load_data_fashion_mnist(16)
    X, y = next(iter(test_iter))
    assert X.shape == (10, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.equal(X[:, 0], torch.from_numpy(arrays["t10k-images-idx3-ubyte.gz"]).float() / 255)
    assert torch.equal(y, torch.from_numpy(arrays["t10k-labels-idx1-ubyte.gz"].astype(np.int64)))
    assert [len(b[0]) for b in train_iter] == [16, 16, 8]
    torch.manual_seed(0)
    labels = torch.cat([b[1] for b in train_iter])
    assert not torch.equal(labels, torch.arange(40) % 10) and sorted(labels.tolist()) == sorted(list(range(10)) * 4)


def test_resize_scales_each_image_bilinearly(book_folder):
    _, raw = book_folder
    raw.mkdir(parents=True)
    write_fashion(raw, n_train=8, n_test=4)
    train_iter, _test_iter = d2l.load_data_fashion_mnist(4, resize=64)
    X, _y = next(iter(train_iter))
    assert X.shape == (4, 1, 64, 64) and X.dtype == torch.float32 and 0 <= float(X.min()) <= float(X.max()) <= 1
    assert next(iter(d2l.load_data_fashion_mnist(4, resize=(14, 7))[1]))[0].shape == (4, 1, 14, 7)


def test_missing_files_are_downloaded_into_the_layout(book_folder, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _, checksums = write_fashion(mirror, n_train=20, n_test=10)
    monkeypatch.setattr(data, "MIRRORS", (mirror.as_uri() + "/",))
    monkeypatch.setattr(data, "CHECKSUMS", checksums)
    train_iter, _ = d2l.load_data_fashion_mnist(5)
    assert sum(len(b[1]) for b in train_iter) == 20
    assert sorted(p.name for p in book_folder[1].iterdir()) == sorted(checksums)


def test_offline_one_message_names_the_folder_and_the_four_files(book_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MIRRORS", ((tmp_path / "nowhere").as_uri() + "/",))
    with pytest.raises(ValueError) as info:
        d2l.load_data_fashion_mnist(256)
    message = str(info.value)
    assert message.startswith("Fashion-MNIST is not in ../data/FashionMNIST/raw (")
    assert str(book_folder[1]) in message and "could not be downloaded" in message
    for name in FILES:
        assert name + ".gz" in message


def test_labels_and_workers_are_the_books():
    assert d2l.get_fashion_mnist_labels(torch.tensor([0, 9, 5])) == ["t-shirt", "ankle boot", "sandal"]
    assert d2l.get_dataloader_workers() == 4


def test_the_stand_in_is_labelled_and_in_the_layout(tmp_path):
    folder = d2l.fashion_mnist_stand_in(tmp_path, n_train=100, n_test=30)
    assert folder == tmp_path / "FashionMNIST" / "raw" and (folder / "STAND-IN").is_file()
    labels = np.frombuffer(gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())[8:], np.uint8)
    assert len(labels) == 30 and labels.max() <= 9
    _train_iter, test_iter = d2l.load_data_fashion_mnist(50, root=tmp_path)
    assert sum(len(b[1]) for b in test_iter) == 30


def _softmax_from_scratch(train_iter, test_iter, num_epochs, lr=0.1):
    """The book's 3.6: softmax regression from scratch, trained by train_ch3 with the book's sgd."""
    W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)
    b = torch.zeros(10, requires_grad=True)

    def net(X):
        return d2l.softmax(d2l.matmul(X.reshape((-1, W.shape[0])), W) + b)

    def updater(batch_size):
        return d2l.sgd([W, b], lr, batch_size)

    d2l.train_ch3(net, train_iter, test_iter, d2l.cross_entropy, num_epochs, updater)
    return net


def test_train_ch3_and_predict_ch3_on_a_small_stand_in(book_folder, capsys):
    notebooks, _ = book_folder
    d2l.fashion_mnist_stand_in("../data", n_train=4000, n_test=500)
    train_iter, test_iter = d2l.load_data_fashion_mnist(64)
    torch.manual_seed(0)
    net = _softmax_from_scratch(train_iter, test_iter, 5)  # its assertions: loss < 0.5, accuracies > 0.7
    assert (notebooks / "animator.png").is_file() and "animator.png" in capsys.readouterr().err
    assert 0.7 < d2l.evaluate_accuracy(net, test_iter) <= 1
    d2l.predict_ch3(net, test_iter)
    axes = d2l.plt.gcf().axes
    assert len(axes) == 6 and all("\n" in ax.get_title() for ax in axes)
    true, predicted = zip(*(ax.get_title().split("\n") for ax in axes), strict=True)
    assert set(true) <= set(data.FASHION_MNIST_CLASSES) and sum(map(str.__eq__, true, predicted)) >= 3


def test_train_ch3_asserts_the_books_ranges(book_folder):
    d2l.fashion_mnist_stand_in("../data", n_train=500, n_test=100)
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    torch.manual_seed(0)
    with pytest.raises(AssertionError):
        _softmax_from_scratch(train_iter, test_iter, 2, lr=0.001)  # 4 small steps: far from the ranges


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_chapters_runs_reach_the_books_ranges_on_a_stand_in_of_fashion_mnists_size(book_folder):
    d2l.fashion_mnist_stand_in("../data", n_train=60000, n_test=10000)
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    torch.manual_seed(0)
    _softmax_from_scratch(train_iter, test_iter, 10)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    net.apply(lambda m: nn.init.normal_(m.weight, std=0.01) if type(m) is nn.Linear else None)
    loss = nn.CrossEntropyLoss(reduction="none")
    d2l.train_ch3(net, train_iter, test_iter, loss, 10, torch.optim.SGD(net.parameters(), lr=0.1))
    assert 0.75 < d2l.evaluate_accuracy(net, test_iter) < 0.95  # the book: about 0.83


SCRIPT = """
import torch
from torch import nn
from linearnet import d2l

d2l.fashion_mnist_stand_in("../data", n_train=4000, n_test=500)
torch.manual_seed(0)
train_iter, test_iter = d2l.load_data_fashion_mnist(64)
net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
loss = nn.CrossEntropyLoss(reduction='none')
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
d2l.train_ch3(net, train_iter, test_iter, loss, 5, trainer)
print(f'test accuracy {d2l.evaluate_accuracy(net, test_iter):.2f}')
"""


def test_a_script_in_a_terminal_without_a_display_gets_the_animators_file(book_folder):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, check=True)
    assert done.stderr == "Animator: drawing into animator.png\n"
    assert 0.7 < float(done.stdout.split()[-1]) <= 1
    assert (book_folder[0] / "animator.png").read_bytes()[:4] == b"\x89PNG"

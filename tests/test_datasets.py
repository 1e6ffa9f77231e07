"""Data sets (linearnet.datasets): Fashion-MNIST from small IDX files the tests write, checked and cached."""

import struct

import numpy as np
import pytest

from linearnet.datasets import load_fashion_mnist, read_idx

from helpers import write_fashion


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_fashion_mnist_loads_idx_files(tmp_path, compress):
    arrays, checksums = write_fashion(tmp_path, compress=compress)
    data = load_fashion_mnist(tmp_path, download=False, checksums=checksums)
    assert data.X_train.shape == (40, 784) and data.X_test.shape == (10, 784) and data.image_shape == (28, 28)
    np.testing.assert_allclose(data.X_train[3], arrays["train-images-idx3-ubyte.gz"][3].reshape(-1) / 255.0, rtol=1e-6)
    assert data.y_train.tolist() == arrays["train-labels-idx1-ubyte.gz"].tolist()
    assert data.classes[9] == "ankle boot"


def test_fashion_mnist_checksum_mismatch(tmp_path):
    _, checksums = write_fashion(tmp_path)
    wrong = dict(checksums, **{"t10k-labels-idx1-ubyte.gz": "0" * 32})
    with pytest.raises(
        ValueError,
        match=r"t10k-labels-idx1-ubyte.gz: checksum mismatch .*expected 0{32}\); "
        r"the file is damaged or not the published one",
    ):
        load_fashion_mnist(tmp_path, download=False, checksums=wrong)


def test_fashion_mnist_offline_says_where_to_put_the_files(tmp_path):
    with pytest.raises(ValueError) as info:
        load_fashion_mnist(tmp_path / "empty", download=False)
    assert str(info.value) == (
        f"Fashion-MNIST files missing from {tmp_path / 'empty'}: train-images-idx3-ubyte.gz, "
        f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; put the four files "
        f"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        f"t10k-labels-idx1-ubyte.gz (gzip or raw) there"
    )


def test_fashion_mnist_download_checks_and_caches(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _, checksums = write_fashion(mirror)
    bad_mirror = tmp_path / "bad"
    bad_mirror.mkdir()
    for name in checksums:  # a mirror serving damaged files is skipped for the next one
        (bad_mirror / name).write_bytes(b"not the file")
    cache = tmp_path / "cache"
    data = load_fashion_mnist(cache, checksums=checksums, mirrors=(bad_mirror.as_uri() + "/", mirror.as_uri() + "/"))
    assert len(data.y_train) == 40 and sorted(p.name for p in cache.iterdir()) == sorted(checksums)
    with pytest.raises(ValueError, match=r"could not be downloaded \(file:.*checksum mismatch"):
        load_fashion_mnist(tmp_path / "other", checksums=checksums, mirrors=(bad_mirror.as_uri() + "/",))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x00\x00\x09\x01\x00\x00\x00\x01\x05", "is not an IDX file of unsigned bytes"),
        (
            bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"\x01\x02",
            "IDX header promises 5 values of shape (5,), the file holds 2",
        ),
        (b"\x1f\x8bjunk", "is not a valid gzip file"),
    ],
)
def test_read_idx_refuses_broken_files(tmp_path, content, message):
    path = tmp_path / "x.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_idx(path)

"""Classification data: the 8 × 8 digits that scikit-learn ships, Fashion-MNIST, labelled tables.

Fashion-MNIST comes as four IDX files (gzip or raw). :func:`load_fashion_mnist` reads them
from a data folder (``--data-dir``; default ``$XDG_CACHE_HOME/linearnet/fashion-mnist``, i.e.
``~/.cache/linearnet/fashion-mnist``), downloading them first from the usual mirrors when
they are missing and checking each ``.gz`` file's MD5 against the published one. Offline,
it fails with one line that says where to put the files.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import check_float32

__all__ = [
    "ClassData",
    "load_digits",
    "load_fashion_mnist",
    "download_fashion_mnist",
    "read_idx",
    "split",
    "from_table",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_CLASSES",
    "default_data_dir",
]

FASHION_MNIST_FILES = {  # file: published MD5
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST_MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
FASHION_MNIST_CLASSES = [
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]


@dataclass
class ClassData:
    """A classification data set: float32 features in [0, 1], int64 labels, class names."""

    name: str
    X_train: np.ndarray  # (n, d) float32
    y_train: np.ndarray  # (n,) int64
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list[str]
    image_shape: tuple[int, int] | None = None  # (height, width) for images
    feature_names: list[str] = field(default_factory=list)  # default: pixel_0, pixel_1, ...

    def __post_init__(self):
        if not self.feature_names:
            self.feature_names = [f"pixel_{j}" for j in range(self.X_train.shape[1])]


def split(X, y, *, test_fraction: float = 0.2, seed: int = 0):
    """A fixed, seeded train/test split: (X_train, y_train, X_test, y_test)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = max(1, round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def from_table(table, *, test_fraction: float = 0.2, seed: int = 0) -> ClassData:
    """A labelled table (:func:`linearnet.tables.read_table` with ``labels=True``), split by the seed.

    Features must fit float32 training (their squares finite in float32): a value beyond is
    refused with its column and row."""
    check_float32(table.features, "features", columns=table.feature_names, where=table.path)
    X_train, y_train, X_test, y_test = split(
        table.features.astype(np.float32), table.target, test_fraction=test_fraction, seed=seed
    )
    return ClassData(
        table.path, X_train, y_train, X_test, y_test, list(table.classes), feature_names=list(table.feature_names)
    )


def load_digits(*, test_fraction: float = 0.2, seed: int = 0) -> ClassData:
    """The 1,797 8 × 8 handwritten digits bundled with scikit-learn (no download), split 80/20."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    X = (bunch.data / 16.0).astype(np.float32)  # pixel intensities 0..16 -> [0, 1]
    y = bunch.target.astype(np.int64)
    X_train, y_train, X_test, y_test = split(X, y, test_fraction=test_fraction, seed=seed)
    return ClassData("digits", X_train, y_train, X_test, y_test, [str(c) for c in range(10)], (8, 8))


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into an array, checking its header and size."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: is not a valid gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: is not an IDX file of unsigned bytes (magic 0x0000 08 nn)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim < 1 or len(raw) < header:
        raise ValueError(f"{path}: IDX header is cut short")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: IDX header promises {expected} values of shape {dims}, the file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def default_data_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "linearnet" / "fashion-mnist"


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _present(folder: Path, name: str) -> Path | None:
    """The .gz file, or its decompressed twin (name without .gz)."""
    for candidate in (folder / name, folder / name[:-3]):
        if candidate.is_file():
            return candidate
    return None


def download_fashion_mnist(
    data_dir=None, *, mirrors=FASHION_MNIST_MIRRORS, checksums=FASHION_MNIST_FILES, timeout: float = 30.0
) -> Path:
    """Fetch the missing Fashion-MNIST files into ``data_dir``, checking each MD5; return the folder."""
    import urllib.error
    import urllib.request

    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for name, md5 in checksums.items():
        if _present(folder, name):
            continue
        errors = []
        for mirror in mirrors:
            target = folder / name
            tmp = folder / f".{name}.part"
            try:
                with urllib.request.urlopen(mirror + name, timeout=timeout) as response, open(tmp, "wb") as out:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
                if _md5(tmp) != md5:
                    errors.append(f"{mirror}: checksum mismatch")
                    tmp.unlink()
                    continue
                os.replace(tmp, target)
                break
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{mirror}: {getattr(exc, 'reason', exc)}")
                if tmp.exists():
                    tmp.unlink()
        else:
            raise ValueError(
                f"Fashion-MNIST file {name} is not in {folder} and could not be downloaded "
                f"({'; '.join(errors)}); put the four files {', '.join(checksums)} "
                f"(gzip or raw) in {folder}, or pass --data-dir"
            )
    return folder


def load_fashion_mnist(
    data_dir=None, *, download: bool = True, checksums=FASHION_MNIST_FILES, mirrors=FASHION_MNIST_MIRRORS
) -> ClassData:
    """Fashion-MNIST: 60,000 training and 10,000 test images of 28 × 28, 10 classes.

    Reads the four IDX files from ``data_dir`` (downloading missing ones unless
    ``download=False``); every ``.gz`` file must match its published MD5.
    """
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    _ensure_files(folder, download=download, checksums=checksums, mirrors=mirrors)
    arrays = _read_checked(folder, checksums)
    images = {k: v for k, v in arrays.items() if "images" in k}
    labels = {k: v for k, v in arrays.items() if "labels" in k}
    X_train, X_test = (images[f"{p}-images-idx3-ubyte.gz"] for p in ("train", "t10k"))
    y_train, y_test = (labels[f"{p}-labels-idx1-ubyte.gz"] for p in ("train", "t10k"))
    for X, y, part in ((X_train, y_train, "train"), (X_test, y_test, "t10k")):
        _check_part(folder, part, X, y)
    shape = X_train.shape[1:]

    def flat(X):
        return (X.reshape(len(X), -1) / 255.0).astype(np.float32)

    return ClassData(
        "fashion-mnist",
        flat(X_train),
        y_train.astype(np.int64),
        flat(X_test),
        y_test.astype(np.int64),
        list(FASHION_MNIST_CLASSES),
        tuple(shape),
    )


def _ensure_files(folder: Path, *, download: bool, checksums, mirrors) -> None:
    """Download the files missing from ``folder``, or refuse naming them when ``download`` is False."""
    missing = [name for name in checksums if not _present(folder, name)]
    if not missing:
        return
    if not download:
        raise ValueError(
            f"Fashion-MNIST files missing from {folder}: {', '.join(missing)}; "
            f"put the four files {', '.join(checksums)} (gzip or raw) there"
        )
    download_fashion_mnist(folder, mirrors=mirrors, checksums=checksums)


def _read_checked(folder: Path, checksums) -> dict[str, np.ndarray]:
    """Each file's array, by its .gz name; a .gz file must match its MD5 (a decompressed one is taken as is)."""
    arrays = {}
    for name, md5 in checksums.items():
        path = _present(folder, name)
        assert path is not None  # every file is present after the download above
        if path.suffix == ".gz" and _md5(path) != md5:
            raise ValueError(
                f"{path}: checksum mismatch (MD5 {_md5(path)}, expected {md5}); "
                f"the file is damaged or not the published one: delete it and download again"
            )
        arrays[name] = read_idx(path)
    return arrays


def _check_part(folder: Path, part: str, X: np.ndarray, y: np.ndarray) -> None:
    """Images (n, height, width) and n labels of the 10 classes, or a ValueError naming the part."""
    if X.ndim != 3 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"{folder}: {part} images {X.shape} and labels {y.shape} do not match")
    if y.max(initial=0) >= len(FASHION_MNIST_CLASSES):
        raise ValueError(f"{folder}: {part} labels go up to {int(y.max())}, expected 0..9")

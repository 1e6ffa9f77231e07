"""What several test modules share: the command-line runner, the implementations, the example files.

Plain functions and constants, imported by name (pyproject.toml puts tests/ on the path):
``from helpers import cli, HOUSES``. Fixtures are in conftest.py.
"""

import gzip
import hashlib
import io
import struct
from pathlib import Path

import numpy as np
import pytest

from linearnet.cli import main

IMPLS = ("scratch", "concise", "fast")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HOUSES = str(EXAMPLES / "houses.csv")  # made by houses.py: price ~ area, rooms, age
FLOWERS = str(EXAMPLES / "flowers.csv")  # made by flowers.py: sepal, petal, species


def cli(capsys, *argv):
    """Run ``linearnet *argv`` in this process: (exit code, stdout, stderr). Arguments may be paths."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def gen(seed=0):
    import torch

    return torch.Generator().manual_seed(seed)


def assert_same_trajectory(results):
    """Each implementation's run follows the scratch one's: per-epoch losses within 1e-4 relative,
    parameters within 1e-5, the same test accuracies.

    ``results`` maps impl to what ``run``, ``fit_arrays`` or ``fit_classifier`` returned (w, b or W, b)."""
    ref = results["scratch"]
    for impl, other in results.items():
        if impl == "scratch":
            continue
        assert len(other.history.losses) == len(ref.history.losses), impl
        for a, b in zip(ref.history.losses, other.history.losses, strict=True):
            assert b == pytest.approx(a, rel=1e-4), impl
        if hasattr(ref, "W"):  # softmax regression: a weight matrix and a bias per class
            np.testing.assert_allclose(other.W, ref.W, atol=1e-5, err_msg=impl)
            np.testing.assert_allclose(other.b, ref.b, atol=1e-5, err_msg=impl)
        else:
            assert other.w == pytest.approx(ref.w, abs=1e-5), impl
            assert other.b == pytest.approx(ref.b, abs=1e-5), impl
        assert other.history.test_acc == ref.history.test_acc, impl


def statsmodels_houses():
    """statsmodels' OLS of price on area, rooms and age in examples/houses.csv: the reference fit."""
    import statsmodels.api as sm

    from linearnet.tables import read_table

    t = read_table(HOUSES, target="price")
    return sm.OLS(t.target, sm.add_constant(t.features)).fit()


def assert_picture(path, size=(600, 350)):
    from PIL import Image

    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == size
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005  # lines and text on white, not blank


def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_fashion(folder, *, compress=True, n_train=40, n_test=10):
    """Small Fashion-MNIST IDX files in ``folder``: (the arrays by file name, the MD5 of each .gz file)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": (np.arange(n_test) % 10).astype(np.uint8),
    }
    checksums = {}
    for name, array in arrays.items():
        raw = idx_bytes(array)
        data = gzip.compress(raw, mtime=0) if compress else raw
        (folder / (name if compress else name[:-3])).write_bytes(data)
        checksums[name] = hashlib.md5(gzip.compress(raw, mtime=0)).hexdigest()
    return arrays, checksums


class Terminal(io.StringIO):
    """A stream that says it is a terminal: progress bars draw on it."""

    def isatty(self):
        return True


def bars_at_once(monkeypatch):
    """Progress bars drawn from the first moment and at every update, as a test wants to see them."""
    from linearnet.cli import common

    monkeypatch.setattr(common, "BAR_AFTER", 0)
    monkeypatch.setattr(common, "BAR_EVERY", 0)

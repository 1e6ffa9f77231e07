"""Softmax regression: the book's functions against torch, three implementations, data, CLI."""
import gzip
import hashlib
import json
import struct

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st

from linearnet.cli import main
from linearnet.datasets import load_digits, load_fashion_mnist, read_idx
from linearnet.tables import encode_labels
from linearnet.array_fit import fit_arrays, fit_classifier
from linearnet.modelfile import load_model
from linearnet.presets import make_train_config
from linearnet.softmax_regression import accuracy, cross_entropy, evaluate_accuracy, softmax, SoftmaxRegression

IMPLS = ("scratch", "concise", "fast")


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from([1.0, 100.0, 1e4]), seed=st.integers(0, 1000))
def test_softmax_and_cross_entropy_match_torch_even_for_huge_logits(scale, seed):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(16, 5, generator=g, dtype=torch.float64) * scale
    y = torch.randint(5, (16,), generator=g)
    p = softmax(z)
    assert torch.isfinite(p).all()
    torch.testing.assert_close(p, torch.softmax(z, dim=1))
    torch.testing.assert_close(cross_entropy(z, y), F.cross_entropy(z, y, reduction="none"))


def test_cross_entropy_does_not_underflow():
    z = torch.tensor([[0.0, -1e4]])
    assert cross_entropy(z, torch.tensor([1])).item() == pytest.approx(1e4)
    assert softmax(torch.tensor([[1e4, -1e4]])).tolist() == [[1.0, 0.0]]


def test_accuracy_counts_right_predictions():
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    assert accuracy(y_hat, torch.tensor([0, 2])) == 1.0
    net = SoftmaxRegression(torch.eye(2), torch.zeros(2))
    X = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    assert evaluate_accuracy(net, [(X, torch.tensor([0, 1, 1]))]) == pytest.approx(2 / 3)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def fits(digits, **overrides):
    config = dict(epochs=3, lr=0.5, batch_size=37) | overrides
    return {impl: fit_classifier(digits.X_train[:500], digits.y_train[:500],
                                 make_train_config("digits-softmax", impl=impl, **config),
                                 X_test=digits.X_test, y_test=digits.y_test, seed=3) for impl in IMPLS}


@pytest.mark.parametrize("overrides", [dict(), dict(weight_decay=0.01), dict(grad_reduction="sum", lr=0.01),
                                       dict(batch_size=100)],
                         ids=["book", "weight-decay", "summed", "threads-split-batches"])
def test_the_three_implementations_agree(digits, overrides):
    results = fits(digits, **overrides)
    ref = results["scratch"]
    for impl in ("concise", "fast"):
        other = results[impl]
        for a, b in zip(ref.history.losses, other.history.losses):
            assert b == pytest.approx(a, rel=1e-4), impl
        np.testing.assert_allclose(other.W, ref.W, atol=1e-5)
        np.testing.assert_allclose(other.b, ref.b, atol=1e-5)
        assert other.history.test_acc == ref.history.test_acc


def test_digits_preset_reaches_its_accuracy(digits):
    result = fit_classifier(digits.X_train, digits.y_train, make_train_config("digits-softmax"),
                            X_test=digits.X_test, y_test=digits.y_test, seed=0)
    assert result.history.test_acc[-1] >= 0.95
    assert len(result.history.as_records()) == 10 and set(result.history.as_records()[0]) == {
        "epoch", "loss", "train_acc", "test_acc"}


@pytest.mark.parametrize("impl", IMPLS)
def test_weight_decay_shrinks_linear_weights_identically(impl):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 4))
    y = X @ [3.0, -2.0, 1.0, 0.5] + 1
    plain = fit_arrays(X, y, make_train_config(impl=impl, epochs=5, lr=0.05), seed=1)
    decayed = fit_arrays(X, y, make_train_config(impl=impl, epochs=5, lr=0.05, weight_decay=0.5), seed=1)
    reference = fit_arrays(X, y, make_train_config(impl="scratch", epochs=5, lr=0.05, weight_decay=0.5), seed=1)
    assert np.linalg.norm(decayed.w) < 0.8 * np.linalg.norm(plain.w)
    np.testing.assert_allclose(decayed.w, reference.w, atol=1e-5)
    assert decayed.b == pytest.approx(reference.b, abs=1e-5)


@pytest.mark.parametrize("y, message", [
    ([0, 1, 12], "y has class 12 but the model has 10 classes (0..9)"),
    ([0, -1, 2], "y has class -1; classes are numbered from 0"),
    ([0.0, 1.5, 2.0], "y must hold whole class numbers, found fractions such as 1.5"),
    ([0.0, float("nan"), 1.0], "y must hold class numbers, found NaN or inf"),
])
def test_bad_labels(y, message):
    X = np.zeros((3, 2))
    with pytest.raises(ValueError) as info:
        fit_classifier(X, np.array(y), make_train_config("digits-softmax"), num_classes=10)
    assert str(info.value) == message


def test_a_single_class_is_refused():
    with pytest.raises(ValueError, match=r"^y holds a single class \(4\); classification needs at least two$"):
        fit_classifier(np.zeros((3, 2)), np.array([4, 4, 4]), make_train_config("digits-softmax"))


@pytest.mark.parametrize("values, result", [
    (["cat", "dog", "cat"], ([0, 1, 0], ["cat", "dog"])),
    ([2, 0, 1], ([2, 0, 1], ["0", "1", "2"])),
    ([1.0, 0.0], ([1, 0], ["0", "1"])),
])
def test_encode_labels(values, result):
    codes, classes = encode_labels(values)
    assert codes.tolist() == result[0] and classes == result[1]


@pytest.mark.parametrize("values, message", [
    ([0, 1, None], "labels: row 3: missing label"),
    ([0, 1.5], "labels: row 2: class 1.5 is not a whole number"),
    ([0, -2], "labels: row 2: class -2 is negative; classes are numbered from 0"),
    (["a", "a"], "labels: every row has the same class 'a'; classification needs at least two classes"),
])
def test_encode_labels_refuses(values, message):
    with pytest.raises(ValueError) as info:
        encode_labels(values)
    assert str(info.value) == message


# --- Fashion-MNIST on small IDX files the tests write ---------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_fashion(folder, *, compress=True, n_train=40, n_test=10):
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


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_fashion_mnist_loads_idx_files(tmp_path, compress):
    arrays, checksums = write_fashion(tmp_path, compress=compress)
    data = load_fashion_mnist(tmp_path, download=False, checksums=checksums)
    assert data.X_train.shape == (40, 784) and data.X_test.shape == (10, 784) and data.image_shape == (28, 28)
    np.testing.assert_allclose(data.X_train[3], arrays["train-images-idx3-ubyte.gz"][3].reshape(-1) / 255.0,
                               rtol=1e-6)
    assert data.y_train.tolist() == arrays["train-labels-idx1-ubyte.gz"].tolist()
    assert data.classes[9] == "ankle boot"


def test_fashion_mnist_checksum_mismatch(tmp_path):
    _, checksums = write_fashion(tmp_path)
    wrong = dict(checksums, **{"t10k-labels-idx1-ubyte.gz": "0" * 32})
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz: checksum mismatch .*expected 0{32}\); "
                                         r"the file is damaged or not the published one"):
        load_fashion_mnist(tmp_path, download=False, checksums=wrong)


def test_fashion_mnist_offline_says_where_to_put_the_files(tmp_path):
    with pytest.raises(ValueError) as info:
        load_fashion_mnist(tmp_path / "empty", download=False)
    assert str(info.value) == (
        f"Fashion-MNIST files missing from {tmp_path / 'empty'}: train-images-idx3-ubyte.gz, "
        f"train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; put the four files "
        f"train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
        f"t10k-labels-idx1-ubyte.gz (gzip or raw) there")


def test_fashion_mnist_download_checks_and_caches(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _, checksums = write_fashion(mirror)
    bad_mirror = tmp_path / "bad"
    bad_mirror.mkdir()
    for name in checksums:  # a mirror serving damaged files is skipped for the next one
        (bad_mirror / name).write_bytes(b"not the file")
    cache = tmp_path / "cache"
    data = load_fashion_mnist(cache, checksums=checksums,
                              mirrors=(bad_mirror.as_uri() + "/", mirror.as_uri() + "/"))
    assert len(data.y_train) == 40 and sorted(p.name for p in cache.iterdir()) == sorted(checksums)
    with pytest.raises(ValueError, match=r"could not be downloaded \(file:.*checksum mismatch"):
        load_fashion_mnist(tmp_path / "other", checksums=checksums, mirrors=(bad_mirror.as_uri() + "/",))


@pytest.mark.parametrize("content, message", [
    (b"\x00\x00\x09\x01\x00\x00\x00\x01\x05", "is not an IDX file of unsigned bytes"),
    (bytes([0, 0, 8, 1]) + struct.pack(">I", 5) + b"\x01\x02", "IDX header promises 5 values of shape (5,), the file holds 2"),
    (b"\x1f\x8bjunk", "is not a valid gzip file"),
])
def test_read_idx_refuses_broken_files(tmp_path, content, message):
    path = tmp_path / "x.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_idx(path)


# --- the command line ------------------------------------------------------------------------

def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_softmax_on_digits_prints_the_books_lines(capsys):
    code, out, err = cli(capsys, "train", "--dataset", "digits", "--impl", "fast", "--epochs", "3")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 3
    import re
    for i, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"epoch {i}, loss \d\.\d{{6}}, train acc 0\.\d{{4}}, test acc 0\.\d{{4}}", line)


def test_fashion_mnist_from_a_data_dir(tmp_path, capsys):
    write_fashion(tmp_path, compress=False)  # raw IDX files: checked by structure (MD5s are for the .gz files)
    code, out, err = cli(capsys, "train", "--dataset", "fashion-mnist", "--data-dir", tmp_path, "--epochs", "1",
                         "--json")
    assert code == 0 and err == ""
    assert json.loads(out)["history"][0]["epoch"] == 1


def test_softmax_on_a_csv_with_text_labels_saves_and_predicts(tmp_path, capsys, digits):
    rows = ["a,b,kind"] + [f"{x:.3f},{y:.3f},{'big' if x + y > 1 else 'small'}"
                           for x, y in np.random.default_rng(0).random((200, 2))]
    data = tmp_path / "points.csv"
    data.write_text("\n".join(rows) + "\n")
    model_path = tmp_path / "kind.json"
    code, out, err = cli(capsys, "train", "--model", "softmax", "--data", data, "--target", "kind",
                         "--epochs", "30", "--lr", "1", "--batch-size", "16", "--out", model_path)
    assert code == 0 and err == "" and out.endswith(f"model written to {model_path}\n")
    model = load_model(model_path)
    assert model.classes == ["big", "small"] and model.features == ["a", "b"]
    new = tmp_path / "new.csv"
    new.write_text("a,b\n0.9,0.9\n0.05,0.1\n")
    code, out, err = cli(capsys, "predict", "--model", model_path, new)
    assert code == 0 and err == ""
    lines = [line.split(",") for line in out.splitlines()]
    assert lines[0] == ["kind_predicted", "p_big", "p_small"]
    assert [row[0] for row in lines[1:]] == ["big", "small"]
    assert all(abs(float(row[1]) + float(row[2]) - 1) < 1e-12 for row in lines[1:])


@pytest.mark.parametrize("argv, message", [
    (["--model", "softmax", "--true-w", "1,2"],
     "linearnet train: error: --true-w describes synthetic regression data; softmax regression trains on "
     "--dataset or --data"),
    (["--dataset", "cifar"], "linearnet train: error: dataset must be one of digits, fashion-mnist, got 'cifar'"),
    (["--model", "tree"], "linearnet train: error: model must be one of linear, softmax, got 'tree'"),
    (["--dataset", "digits", "--data-dir", "/tmp"], "linearnet train: error: --data-dir goes with --dataset fashion-mnist"),
    (["--weight-decay", "-1"], "linearnet train: error: weight_decay must be >= 0, got -1; e.g. 0.001"),
    (["--preset", "d2l-softmax", "--dataset", "digits", "--lr", "0"], "linearnet train: error: lr must be > 0, got 0; e.g. 0.03"),
])
def test_bad_softmax_flags(capsys, argv, message):
    code, out, err = cli(capsys, "train", *argv)
    assert code == 2 and out == "" and err == message + "\n"


def test_bad_labels_in_a_file(tmp_path, capsys):
    data = tmp_path / "one.csv"
    data.write_text("a,label\n1,7\n2,7\n")
    code, _, err = cli(capsys, "train", "--model", "softmax", "--data", data, "--target", "label")
    assert code == 2
    assert err == (f"linearnet train: error: {data}: column 'label': every row has the same class '7'; "
                   f"classification needs at least two classes\n")


def test_plot_predictions_writes_a_picture_that_is_not_blank(tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "pred.png"
    code, out, err = cli(capsys, "train", "--dataset", "digits", "--impl", "fast", "--epochs", "2",
                         "--plot-predictions", path)
    assert code == 0 and err == "" and out.endswith(f"picture written to {path}\n")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (960, 570)
        pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 20  # dark digits on white, not an empty canvas
    assert (pixels < 64).mean() > 0.05


def test_plot_predictions_needs_images(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--model", "softmax", "--data", tmp_path / "x.csv", "--target", "y",
                       "--plot-predictions", tmp_path / "p.png")
    assert code == 2 and err == "linearnet train: error: --plot-predictions draws images: use it with --dataset\n"


@pytest.mark.skipif(not all((__import__("linearnet.datasets", fromlist=["x"]).default_data_dir() / name).exists()
                            for name in __import__("linearnet.datasets", fromlist=["x"]).FASHION_MNIST_FILES),
                    reason="the Fashion-MNIST files are not in the cache folder (no download in tests)")
def test_fashion_mnist_reaches_the_books_accuracy():
    data = load_fashion_mnist(download=False)
    result = fit_classifier(data.X_train, data.y_train, make_train_config("d2l-softmax", impl="fast"),
                            X_test=data.X_test, y_test=data.y_test, seed=0)
    assert result.history.test_acc[-1] >= 0.83


def test_the_shipped_flowers_file_is_what_the_generator_makes():
    import os

    from flowers import make_flowers

    with open(os.path.join(os.path.dirname(__file__), "..", "examples", "flowers.csv")) as fh:
        assert fh.read() == make_flowers()


def test_the_readme_names_are_importable_from_the_package():
    import linearnet
    import linearnet.leastsq  # noqa: F401  (loading the modules must not shadow the functions)
    import linearnet.softmax_regression  # noqa: F401

    for name in ("softmax", "cross_entropy", "accuracy", "evaluate_accuracy", "SoftmaxRegression", "fit_classifier",
                 "load_digits", "load_fashion_mnist", "solve", "fit_arrays", "make_train_config", "synthetic_data",
                 "data_iter", "load_array", "linreg", "squared_loss", "sgd", "run", "fit", "make_engine"):
        assert callable(getattr(linearnet, name)), name

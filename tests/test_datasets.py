"""Data sets (linearnet.datasets): Fashion-MNIST from small IDX files the tests write, checked and cached."""

import gzip
import http.server
import struct
import threading

import numpy as np
import pytest

from linearnet.datasets import download_fashion_mnist, load_fashion_mnist, read_idx, split

from helpers import idx_bytes, write_fashion


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


@pytest.mark.parametrize(
    "content, message",
    [
        (bytes([0, 0, 8, 2]) + struct.pack(">I", 3), "IDX header is cut short"),
        (bytes([0, 0, 8, 0]), "IDX header is cut short"),
        (b"\x00\x00", "is not an IDX file of unsigned bytes (magic 0x0000 08 nn)"),
        (gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 3))[:-6], "is not a valid gzip file"),
    ],
    ids=["dimensions-missing", "no-dimensions", "two-bytes", "gzip-cut-short"],
)
def test_read_idx_messages(tmp_path, content, message):
    path = tmp_path / "x.idx"
    path.write_bytes(content)
    with pytest.raises(ValueError) as info:
        read_idx(path)
    assert str(info.value).startswith(f"{path}: {message}")
    if "gzip" not in message:
        assert str(info.value) == f"{path}: {message}"


def test_read_idx_of_a_file_that_cannot_be_read(tmp_path):
    with pytest.raises(ValueError) as info:
        read_idx(tmp_path / "missing.idx")
    assert str(info.value) == f"{tmp_path / 'missing.idx'}: cannot be read (No such file or directory)"
    with pytest.raises(ValueError) as info:
        read_idx(tmp_path)
    assert str(info.value) == f"{tmp_path}: cannot be read (Is a directory)"


def write_raw(folder, **arrays):
    """Uncompressed Fashion-MNIST files (no MD5 to match): the four arrays, any of them replaced."""
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(6, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(3, dtype=np.uint8),
    }
    files.update({name.replace("_", "-"): array for name, array in arrays.items()})
    for name, array in files.items():
        (folder / name).write_bytes(idx_bytes(array))


@pytest.mark.parametrize(
    "arrays, message",
    [
        (
            {"t10k_labels_idx1_ubyte": np.arange(2, dtype=np.uint8)},
            "t10k images (3, 28, 28) and labels (2,) do not match",
        ),
        (
            {"train_images_idx3_ubyte": np.zeros((6, 784), dtype=np.uint8)},
            "train images (6, 784) and labels (6,) do not match",
        ),
        (
            {"train_labels_idx1_ubyte": np.zeros((6, 1), dtype=np.uint8)},
            "train images (6, 28, 28) and labels (6, 1) do not match",
        ),
        (
            {"train_labels_idx1_ubyte": np.array([0, 1, 12, 3, 4, 5], dtype=np.uint8)},
            "train labels go up to 12, expected 0..9",
        ),
    ],
)
def test_fashion_mnist_files_that_do_not_fit_together(tmp_path, arrays, message):
    write_raw(tmp_path, **arrays)
    with pytest.raises(ValueError) as info:
        load_fashion_mnist(tmp_path, download=False)
    assert str(info.value) == f"{tmp_path}: {message}"


def test_fashion_mnist_raw_files_need_no_checksum(tmp_path):
    write_raw(tmp_path)
    data = load_fashion_mnist(tmp_path, download=False)
    assert data.X_train.shape == (6, 784) and data.y_test.tolist() == [0, 1, 2]


def test_split_wants_a_fraction_strictly_between_0_and_1():
    X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    for fraction in (0, 1, 1.5):
        with pytest.raises(ValueError) as info:
            split(X, y, test_fraction=fraction)
        assert str(info.value) == f"test_fraction must be between 0 and 1, got {fraction}"
    X_train, y_train, X_test, y_test = split(X, y, test_fraction=0.01)  # at least one test row, rows kept whole
    assert len(y_test) == 1 and sorted(y_train.tolist() + y_test.tolist()) == list(range(5))
    assert np.array_equal(np.vstack([X_train, X_test])[:, 0] // 2, np.concatenate([y_train, y_test]))


def test_download_fetches_only_the_missing_files(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _, checksums = write_fashion(mirror)
    cache = tmp_path / "cache"
    cache.mkdir()
    write_fashion(cache, compress=False)  # all four files, decompressed
    (cache / "t10k-labels-idx1-ubyte").unlink()
    for name in list(checksums)[:3]:  # the mirror has only the missing file: the others are not fetched again
        (mirror / name).unlink()
    assert download_fashion_mnist(cache, mirrors=(mirror.as_uri() + "/",), checksums=checksums) == cache
    assert sorted(p.name for p in cache.iterdir()) == [
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte.gz",
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
    ]
    assert load_fashion_mnist(cache, download=False, checksums=checksums).y_test.tolist() == list(range(10))


@pytest.fixture
def stalling_mirror():
    """A web server that promises 1000 bytes of every file, sends 10 and stalls: a download cut off midway."""
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"\x1f\x8b" + bytes(8))
            self.wfile.flush()
            release.wait(10)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    release.set()
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_download_cut_off_midway_leaves_no_partial_file(tmp_path, stalling_mirror):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _, checksums = write_fashion(mirror)
    name = "t10k-labels-idx1-ubyte.gz"
    one = {name: checksums[name]}
    cache = tmp_path / "cache"
    download_fashion_mnist(cache, mirrors=(stalling_mirror, mirror.as_uri() + "/"), checksums=one, timeout=0.2)
    assert [p.name for p in cache.iterdir()] == [name]  # from the second mirror; no .part file left behind
    assert (cache / name).read_bytes() == (mirror / name).read_bytes()

    nowhere = tmp_path / "nowhere"
    other = tmp_path / "other"
    with pytest.raises(ValueError) as info:
        download_fashion_mnist(other, mirrors=(stalling_mirror, nowhere.as_uri() + "/"), checksums=one, timeout=0.2)
    assert str(info.value) == (
        f"Fashion-MNIST file {name} is not in {other} and could not be downloaded ({stalling_mirror}: timed out; "
        f"{nowhere.as_uri()}/: [Errno 2] No such file or directory: '{nowhere / name}'); put the four files {name} "
        f"(gzip or raw) in {other}, or pass --data-dir"
    )
    assert list(other.iterdir()) == []


def test_a_feature_beyond_float32_is_refused_by_column_and_row_without_a_warning(tmp_path):
    import warnings

    from linearnet.datasets import from_table
    from linearnet.tables import read_table

    path = tmp_path / "big.csv"
    path.write_text("x,y\n1,0\n2,1\n1e300,0\n4,1\n5,0\n")
    table = read_table(path, target="y", labels=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's overflow warning would fail the test
        with pytest.raises(ValueError) as info:
            from_table(table)
    assert str(info.value) == (
        f"{path}: column 'x', row 3: 1e+300 is too large for float32 training (at most 1.84e+19); rescale the column"
    )

"""Minibatch SGD for linear regression: linearnet against what a user would otherwise run.

On the same data in one run: the book's own pipeline (Python-list shuffle, fancy
indexing, autograd), a plain TensorDataset + DataLoader + nn.Linear + optim.SGD loop,
scikit-learn's SGDRegressor (per-sample, compiled), and linearnet's scratch, concise
and fast implementations; plus two references, a full-batch gradient pass in torch and
one read of the features. Prints rows/second and ratios.

    python benchmarks/bench_sgd.py            # (a) 1000 × 2, (b) 1,000,000 × 100, batch 10 and 1024
    python benchmarks/bench_sgd.py --rows 200000   # smaller (b), for a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from torch import nn

from linearnet import TrainConfig, fit, make_engine, synthetic_data
from linearnet.batches import TensorSource
from linearnet.linear_regression import init_params

# --- the peers ---------------------------------------------------------------------------


def book_pipeline(X, y, batch_size, epochs, lr):
    """d2l 3.2 verbatim: list shuffle, tensor indexing, linreg, squared_loss, sgd."""

    def data_iter(batch_size, features, labels):
        num_examples = len(features)
        indices = list(range(num_examples))
        random.shuffle(indices)
        for i in range(0, num_examples, batch_size):
            batch_indices = torch.tensor(indices[i : min(i + batch_size, num_examples)])
            yield features[batch_indices], labels[batch_indices]

    w = torch.normal(0, 0.01, size=(X.shape[1], 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    for _ in range(epochs):
        for Xb, yb in data_iter(batch_size, X, y):
            l = ((Xb @ w + b) - yb) ** 2 / 2
            l.sum().backward()
            with torch.no_grad():
                for param in (w, b):
                    param -= lr * param.grad / batch_size
                    param.grad.zero_()


def dataloader_loop(X, y, batch_size, epochs, lr):
    """What the PyTorch tutorials teach: TensorDataset + DataLoader + nn.Linear + optim.SGD."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size, shuffle=True)
    net = nn.Linear(X.shape[1], 1)
    loss = nn.MSELoss()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(epochs):
        for Xb, yb in loader:
            l = loss(net(Xb), yb)
            opt.zero_grad()
            l.backward()
            opt.step()


def sgd_regressor(X, y, batch_size, epochs, lr):
    """scikit-learn's SGDRegressor: per-sample SGD in Cython (batch size does not apply)."""
    from sklearn.linear_model import SGDRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: we ask for a fixed number of epochs
        # per-sample steps: a tenth of the batch step keeps it stable; the speed does not depend on it
        SGDRegressor(
            max_iter=epochs,
            tol=None,
            learning_rate="constant",
            eta0=lr / 10,
            penalty=None,
            shuffle=True,
            random_state=0,
        ).fit(X.numpy(), y.numpy().reshape(-1))


def linearnet_impl(impl):
    def train(X, y, batch_size, epochs, lr):
        g = torch.Generator().manual_seed(0)
        config = TrainConfig(lr=lr, batch_size=batch_size, epochs=epochs, impl=impl)
        engine = make_engine(config, *init_params(X.shape[1], generator=g))
        return fit(engine, TensorSource(X, y), config, generator=g)

    train.__doc__ = f"linearnet --impl {impl}"
    return train


PIPELINES = {
    "book (d2l 3.2 code)": book_pipeline,
    "DataLoader + nn.Linear": dataloader_loop,
    "sklearn SGDRegressor": sgd_regressor,
    "linearnet scratch": linearnet_impl("scratch"),
    "linearnet concise": linearnet_impl("concise"),
    "linearnet fast": linearnet_impl("fast"),
}


def rows_per_second(fn, X, y, batch_size, epochs, lr, repeat):
    """Best of ``repeat`` runs; for linearnet, rows stepped through per second of stepping."""
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(X, y, batch_size, epochs, lr)
        seconds = time.perf_counter() - t0
        rate = out.rows_per_second if out is not None else len(X) * epochs / seconds
        best = max(best, rate)
    return best


def full_batch_pass(X, y, repeat=5):
    """One full-batch gradient X^T(Xw + b − y) in torch: rows/s (a throughput ceiling)."""
    w, b = torch.zeros(X.shape[1], 1), torch.zeros(1)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = X @ w + b - y
        _ = X.T @ r, r.sum()
        times.append(time.perf_counter() - t0)
    return len(X) / min(times)


def read_once(X, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        X.sum()
        times.append(time.perf_counter() - t0)
    return len(X) / min(times)


def cli_latency(repeat=7):
    """Median seconds of `linearnet --help`, a bad flag, `import torch` and `import numpy`."""
    commands = {
        "linearnet --help": [sys.executable, "-m", "linearnet", "--help"],
        "linearnet train --lr -1": [sys.executable, "-m", "linearnet", "train", "--lr", "-1"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    }
    out = {}
    for name, argv in commands.items():
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(argv, capture_output=True)
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


def fmt_rate(r):
    return f"{r / 1e6:8.3f} M"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of problem (b)")
    parser.add_argument("--features", type=int, default=100, help="features of problem (b)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure (best is kept)")
    parser.add_argument("--skip-cli", action="store_true", help="skip the CLI start-up timing")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_info

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, numpy {np.__version__}"
    )
    print(
        f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; BLAS: "
        + "; ".join(
            f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')}".strip() for i in threadpool_info()
        )
    )

    g = torch.Generator().manual_seed(0)
    # warm up: numba's compilation (or its cache), torch's first calls
    Xw, yw = synthetic_data([1.0, 2.0], 0.0, 100, generator=g)
    for fn in PIPELINES.values():
        fn(Xw, yw, 10, 1, 0.03)

    problems = [("(a) 1000 x 2, 3 epochs", synthetic_data([2, -3.4], 4.2, 1000, generator=g), [10], 3, 0.03)]
    true_w = torch.normal(0, 1, (args.features,), generator=g)
    big = synthetic_data(true_w, 0.5, args.rows, generator=g)
    problems.append((f"(b) {args.rows:,} x {args.features}, 1 epoch", big, [10, 1024], 1, 0.01))

    summary = {}
    for title, (X, y), batch_sizes, epochs, lr in problems:
        print(f"\n{title}")
        print(f"{'batch':>6}  {'pipeline':<24} {'rows/s':>10}  {'x book':>7}  {'x SGDRegressor':>14}")
        for batch_size in batch_sizes:
            rates = {}
            for name, fn in PIPELINES.items():
                if name == "sklearn SGDRegressor" and batch_size != batch_sizes[0]:
                    rates[name] = summary[(title, batch_sizes[0], name)]  # per-sample: same figure
                else:
                    rates[name] = rows_per_second(fn, X, y, batch_size, epochs, lr, args.repeat)
                summary[(title, batch_size, name)] = rates[name]
            for name, rate in rates.items():
                print(
                    f"{batch_size:>6}  {name:<24} {fmt_rate(rate):>10}  {rate / rates['book (d2l 3.2 code)']:7.2f}"
                    f"  {rate / rates['sklearn SGDRegressor']:14.2f}"
                )
        full = full_batch_pass(X, y)
        read = read_once(X)
        summary[(title, "full")] = full
        print(f"{'':>6}  {'torch full-batch grad':<24} {fmt_rate(full):>10}")
        print(f"{'':>6}  {'one read of X':<24} {fmt_rate(read):>10}")

    title = problems[-1][0]
    fast10 = summary[(title, 10, "linearnet fast")]
    fast1024 = summary[(title, 1024, "linearnet fast")]
    print("\ntargets on (b):")
    print(
        f"  fast / SGDRegressor at batch 10:   {fast10 / summary[(title, 10, 'sklearn SGDRegressor')]:.2f}x"
        f" (target >= 4), {fast10 / summary[(title, 10, 'book (d2l 3.2 code)')]:.0f}x the book"
    )
    print(f"  fast / full-batch pass at batch 1024: {fast1024 / summary[(title, 'full')]:.2f}x (target >= 0.6)")

    if not args.skip_cli:
        print("\nstart-up (median of 7, seconds):")
        lat = cli_latency()
        for name, seconds in lat.items():
            print(f"  {name:<28} {seconds:6.3f}")
        torch_import = lat["python -c 'import torch'"]
        print(f"  --help / import torch: {lat['linearnet --help'] / torch_import:.2f} (target <= 0.2)")


if __name__ == "__main__":
    main()

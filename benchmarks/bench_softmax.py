"""Softmax regression, one epoch on Fashion-MNIST-sized data: linearnet against a DataLoader loop.

60,000 × 784 float32 rows, 10 classes, batch 256 (the book's recipe), random pixels in
[0, 1] (the speed does not depend on the pictures). Compared in one run: the loop the
PyTorch tutorials teach (TensorDataset + DataLoader + nn.Linear + nn.CrossEntropyLoss +
optim.SGD) and linearnet's scratch, concise and fast implementations.

    python benchmarks/bench_softmax.py
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from linearnet.array_fit import fit_classifier
from linearnet.presets import make_train_config


def dataloader_loop(X, y, batch_size, lr):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size, shuffle=True)
    net = nn.Linear(X.shape[1], 10)
    loss = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    t0 = time.perf_counter()
    for Xb, yb in loader:
        l = loss(net(Xb), yb)
        opt.zero_grad()
        l.backward()
        opt.step()
    return len(X) / (time.perf_counter() - t0)


def linearnet_impl(impl):
    def run(X, y, batch_size, lr):
        config = make_train_config("d2l-softmax", impl=impl, epochs=1, batch_size=batch_size, lr=lr)
        return fit_classifier(X.numpy(), y.numpy(), config, num_classes=10).history.rows_per_second

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"# {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    g = torch.Generator().manual_seed(0)
    X = torch.rand(args.rows, 784, generator=g)
    y = torch.randint(10, (args.rows,), generator=g)
    pipelines = {
        "DataLoader + nn.Linear": dataloader_loop,
        "linearnet scratch": linearnet_impl("scratch"),
        "linearnet concise": linearnet_impl("concise"),
        "linearnet fast": linearnet_impl("fast"),
    }
    for fn in pipelines.values():  # warm up (numba compiles or loads its cache)
        fn(X[:512], y[:512], 256, 0.1)
    print(f"\none epoch, {args.rows:,} x 784, 10 classes, batch 256 (best of {args.repeat})")
    print(f"  {'pipeline':<24} {'rows/s':>10}  {'x DataLoader':>12}")
    rates = {name: max(fn(X, y, 256, 0.1) for _ in range(args.repeat)) for name, fn in pipelines.items()}
    base = rates["DataLoader + nn.Linear"]
    for name, rate in rates.items():
        print(f"  {name:<24} {rate / 1e6:8.3f} M  {rate / base:12.1f}")
    print(f"\ntarget: fast / DataLoader loop = {rates['linearnet fast'] / base:.1f}x (target >= 10)")


if __name__ == "__main__":
    main()

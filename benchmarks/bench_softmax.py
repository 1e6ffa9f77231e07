"""Softmax regression, one epoch on Fashion-MNIST-sized data: linearnet against a DataLoader loop.

60,000 × 784 float32 rows, 10 classes, batch 256 (the book's recipe), random pixels in
[0, 1] (the speed does not depend on the pictures). Compared in one run: the loop the
PyTorch tutorials teach (TensorDataset + DataLoader + nn.Linear + nn.CrossEntropyLoss +
optim.SGD), also timed in a child process without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE,
and linearnet's scratch, concise and fast implementations (fast also on one thread), the fast one
also beside one competing busy process (started and stopped here), on two threads and on one. Then
start-up: the first softmax run of `linearnet train --impl fast` with an empty numba cache
against a warm one.

    python benchmarks/bench_softmax.py
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from bench_robust import busy, machine
from bench_sgd import BLAS_VARIABLES, blas_header, first_run, in_child, without_blas_settings
from torch import nn

from linearnet import fast
from linearnet.presets import make_train_config
from linearnet.training import fit_classifier


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


def linearnet_impl(impl, *, one_thread=False):
    def run(X, y, batch_size, lr):
        config = make_train_config("d2l-softmax", impl=impl, epochs=1, batch_size=batch_size, lr=lr)
        two_threads = fast.softmax.two_threads  # what the softmax epochs ask (fast.two_threads is a copy of it)
        if one_thread:
            fast.softmax.two_threads = lambda: False
        try:
            return fit_classifier(X.numpy(), y.numpy(), config, num_classes=10).history.rows_per_second
        finally:
            fast.softmax.two_threads = two_threads

    return run


def data(rows):
    g = torch.Generator().manual_seed(0)
    return torch.rand(rows, 784, generator=g), torch.randint(10, (rows,), generator=g)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-cli", action="store_true", help="skip the start-up timing")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args(argv)
    X, y = data(args.rows)
    if args.child:  # in another environment: its BLAS, the DataLoader loop and linearnet fast
        pair = {"dataloader": dataloader_loop, "fast": linearnet_impl("fast")}
        for fn in pair.values():
            fn(X[:512], y[:512], 256, 0.1)
        rates = {name: 0.0 for name in pair}
        for _ in range(args.repeat):
            for name, fn in pair.items():
                rates[name] = max(rates[name], fn(X, y, 256, 0.1))
        print(json.dumps({"header": blas_header(), "rates": rates}))
        return

    print(
        f"# {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"fast engine: {'two threads' if fast.two_threads() else 'one thread'}"
    )
    print(blas_header())
    pipelines = {
        "DataLoader + nn.Linear": dataloader_loop,
        "linearnet scratch": linearnet_impl("scratch"),
        "linearnet concise": linearnet_impl("concise"),
        "linearnet fast, one thread": linearnet_impl("fast", one_thread=True),
        "linearnet fast": linearnet_impl("fast"),
    }
    for fn in pipelines.values():  # warm up (numba compiles or loads its cache)
        fn(X[:512], y[:512], 256, 0.1)
    print(f"\none epoch, {args.rows:,} x 784, 10 classes, batch 256 (best of {args.repeat})")
    print(f"  {'pipeline':<26} {'rows/s':>10}  {'x DataLoader':>12}")
    rates = {name: 0.0 for name in pipelines}
    for _ in range(args.repeat):  # in turn, so that a slow spell of a shared machine hits each alike
        for name, fn in pipelines.items():
            rates[name] = max(rates[name], fn(X, y, 256, 0.1))
    base = rates["DataLoader + nn.Linear"]
    for name, rate in rates.items():
        print(f"  {name:<26} {rate / 1e6:8.3f} M  {rate / base:12.1f}")
    print(machine())
    print("beside one busy process (started and stopped here): linearnet fast, two threads and one")
    loaded = {name: 0.0 for name in ("linearnet fast", "linearnet fast, one thread")}
    with busy(True):
        for _ in range(args.repeat):
            for name in loaded:
                loaded[name] = max(loaded[name], pipelines[name](X, y, 256, 0.1))
    for name, rate in loaded.items():
        print(f"  {name:<26} {rate / 1e6:8.3f} M")
    print(
        f"  two threads / one: busy {loaded['linearnet fast'] / loaded['linearnet fast, one thread']:.2f} "
        f"(target >= 0.9), idle {rates['linearnet fast'] / rates['linearnet fast, one thread']:.2f}"
    )
    print("\nin child processes: DataLoader + nn.Linear, linearnet fast, ratio")
    children = {
        f"without {', '.join(BLAS_VARIABLES)}": without_blas_settings(),
        "OMP_WAIT_POLICY=PASSIVE": os.environ | {"OMP_WAIT_POLICY": "PASSIVE"},  # torch's workers do not spin
    }
    ratios = []
    for name, env in children.items():
        child = in_child(__file__, "--child", "--rows", args.rows, "--repeat", args.repeat, env=env)
        r = child["rates"]
        ratio = r["fast"] / r["dataloader"]
        ratios.append(f"{ratio:.1f}x {name}")
        print(f"  {name + ':':<44} {r['dataloader'] / 1e6:6.3f} M {r['fast'] / 1e6:6.3f} M {ratio:5.1f}x")
        print(f"  {child['header']}")
    fast_rate = rates["linearnet fast"]
    print(
        f"\ntarget: fast {fast_rate / 1e6:.2f} M rows/s (target >= 3), {fast_rate / base:.1f}x the DataLoader loop "
        f"(target >= 15; in the children {', '.join(ratios)})"
    )
    if not args.skip_cli:
        argv = ["train", "--preset", "d2l-softmax", "--dataset", "digits", "--impl", "fast", "--epochs", "1"]
        cold, warm = first_run(argv)
        print("\nfirst run, numba cache empty (a fresh NUMBA_CACHE_DIR) / warm (median of 3, seconds):")
        print(f"  linearnet {' '.join(argv)}  {cold:.2f} / {warm:.2f}  (+{cold - warm:.2f}; target <= 3 s)")


if __name__ == "__main__":
    main()

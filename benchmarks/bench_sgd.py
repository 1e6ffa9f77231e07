"""Minibatch SGD for linear regression: linearnet against what a user would otherwise run.

On the same data in one run: the book's own pipeline (Python-list shuffle, fancy
indexing, autograd), a plain TensorDataset + DataLoader + nn.Linear + optim.SGD loop,
scikit-learn's SGDRegressor (per-sample, compiled), and linearnet's scratch, concise
and fast implementations; plus two references, a full-batch gradient pass in torch (also
timed in a child process without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE) and one read of
the features. Prints rows/second and ratios, then start-up: the first `linearnet train`
with an empty numba cache (a fresh NUMBA_CACHE_DIR) against a warm one.

Last, (b) idle and beside one competing busy process (started and stopped here), each in child
processes with numba's default threads and with NUMBA_NUM_THREADS=1: the fast engine at batch 10
and 1024, SGDRegressor and the torch full-batch pass, and the ratios the targets name; idle, the
fast engine with shuffle="blocks" too, against the same SGDRegressor and full pass.

    python benchmarks/bench_sgd.py            # (a) 1000 × 2, (b) 1,000,000 × 100, batch 10 and 1024
    python benchmarks/bench_sgd.py --rows 200000   # smaller (b), for a quick look
    python benchmarks/bench_sgd.py --only-busy     # the idle/busy table alone
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from bench_robust import busy, machine
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


def linearnet_impl(impl, shuffle="rows"):
    def train(X, y, batch_size, epochs, lr):
        g = torch.Generator().manual_seed(0)
        config = TrainConfig(lr=lr, batch_size=batch_size, epochs=epochs, impl=impl, shuffle=shuffle)
        engine = make_engine(config, *init_params(X.shape[1], generator=g))
        return fit(engine, TensorSource(X, y), config, generator=g)

    train.__doc__ = f"linearnet --impl {impl} --shuffle {shuffle}"
    return train


PIPELINES = {
    "book (d2l 3.2 code)": book_pipeline,
    "DataLoader + nn.Linear": dataloader_loop,
    "sklearn SGDRegressor": sgd_regressor,
    "linearnet scratch": linearnet_impl("scratch"),
    "linearnet concise": linearnet_impl("concise"),
    "linearnet fast": linearnet_impl("fast"),
}


SAMPLE_SECONDS = 2.0  # each figure: runs repeated until this long has passed (at most 30), the best kept


def rows_per_second(fn, X, y, batch_size, epochs, lr, repeat):
    """Best of at least ``repeat`` runs, and of as many more as fit in ``SAMPLE_SECONDS`` (a shared
    machine's slow spells pass); for linearnet, rows stepped through per second of stepping."""
    best, runs, start = 0.0, 0, time.perf_counter()
    while runs < repeat or (time.perf_counter() - start < SAMPLE_SECONDS and runs < 30):
        t0 = time.perf_counter()
        out = fn(X, y, batch_size, epochs, lr)
        seconds = time.perf_counter() - t0
        rate = out.rows_per_second if out is not None else len(X) * epochs / seconds
        best = max(best, rate)
        runs += 1
    return best


def best_rate(rows, step, repeat=5):
    """Rows per second of ``step()`` over ``rows`` rows, best of ``repeat`` runs and of more within
    ``SAMPLE_SECONDS``."""
    best, runs, start = 0.0, 0, time.perf_counter()
    while runs < repeat or (time.perf_counter() - start < SAMPLE_SECONDS and runs < 30):
        t0 = time.perf_counter()
        step()
        best = max(best, rows / (time.perf_counter() - t0))
        runs += 1
    return best


def full_batch_pass(X, y):
    """One full-batch gradient X^T(Xw + b − y) in torch: rows/s (a throughput ceiling)."""
    w, b = torch.zeros(X.shape[1], 1), torch.zeros(1)

    def gradient():
        r = X @ w + b - y
        return X.T @ r, r.sum()

    return best_rate(len(X), gradient)


def fast_epoch_alone(X, y, batch_size, lr, order):
    """The fast engine's epoch as ``fit`` calls it, on a permutation drawn beforehand: rows/s."""
    from linearnet import fast

    Xn, yn, order = X.numpy(), y.reshape(-1).numpy(), order.numpy()
    epoch = fast.sgd_epoch_pipelined if X.nbytes >= fast.PIPELINE_BYTES and fast.two_threads() else fast.sgd_epoch
    w, out = np.zeros(X.shape[1]), np.empty(0)
    loss = (fast.SQUARED, 0.5, 1.0)  # ½-squared, as fit's default
    return best_rate(len(X), lambda: epoch(Xn, yn, order, w, 0.0, lr, batch_size, *loss, True, 0.0, out, 0.0))


def read_in_order(X, order):
    """X[order] (torch's gather on its threads): rows/s of reading X in a random order."""
    return best_rate(len(X), lambda: X[order])


def permutations(n):
    """torch.randperm(n), what fit draws each epoch: elements/s."""
    return best_rate(n, lambda: torch.randperm(n))


def read_once(X):
    """One read of X (``X.sum()``): rows/s (the memory floor)."""
    return best_rate(len(X), X.sum)


BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def without_blas_settings():
    """This process's environment without the variables that pick OpenBLAS's kernel."""
    return {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}


def blas_header():
    """What the BLAS peers run on: the OpenBLAS settings, the kernel threadpoolctl reports (NumPy's,
    hence scikit-learn's), and torch's own BLAS and CPU capability."""
    from threadpoolctl import threadpool_info

    settings = ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in BLAS_VARIABLES)
    kernels = "; ".join(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture') or ''}".strip()
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    )
    torch_blas = "MKL" if torch.backends.mkl.is_available() else "its own"
    return (
        f"# {settings}; BLAS (threadpoolctl): {kernels or 'none loaded'}; torch: {torch_blas}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )


def in_child(script, *args, env=None):
    """Run ``script`` with ``args`` in a child process (the environment ``env``); its JSON answer."""
    argv = [sys.executable, script, *map(str, args)]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.splitlines()[-1])


def first_run(argv, repeat=3):
    """Median seconds of ``linearnet *argv`` in a fresh process with an empty numba cache (a new
    NUMBA_CACHE_DIR: every kernel it uses is compiled), and of the same run again (loaded from that cache)."""
    cold, warm = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = os.environ | {"NUMBA_CACHE_DIR": cache}
            for times in (cold, warm):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "linearnet", *argv], capture_output=True, env=env, check=True)
                times.append(time.perf_counter() - t0)
    return statistics.median(cold), statistics.median(warm)


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


ONE_THREAD = {"NUMBA_NUM_THREADS": "1"}


def busy_table(rows: int, features: int, repeat: int) -> dict:
    """(b) idle and beside one busy process, each in a child with numba's default threads and with
    NUMBA_NUM_THREADS=1 (numba's threads are fixed when it starts); prints the table and the targets'
    ratios, and returns the rates by (load, threads)."""
    print(f"\n(b) {rows:,} x {features}, 1 epoch, idle and beside one busy process, in child processes")
    heads = ("fast b10", "fast b1024", "SGDRegressor", "full pass")
    print(f"  {'load':<5} {'numba threads':<14} " + " ".join(f"{h:>12}" for h in heads))
    rates = {}
    for load in ("idle", "busy"):
        for threads, extra in (("default", {}), ("1", ONE_THREAD)):
            parts = "10,1024,sgd,full" if threads == "default" else "10,1024"
            if load == "idle" and threads == "default":
                parts += ",10b,1024b"  # the fast engine with shuffle="blocks"
            argv = ["--child", "--rows", rows, "--features", features, "--repeat", repeat, "--parts", parts]
            with busy(load == "busy"):
                r = in_child(__file__, *argv, env=os.environ | extra)["rates"]
            rates[load, threads] = r
            cells = [fmt_rate(r[k]) if k in r else "" for k in ("10", "1024", "sgd", "full")]
            print(f"  {load:<5} {threads:<14} " + " ".join(f"{c:>12}" for c in cells))
    idle, one, loaded, loaded_one = (
        rates[k] for k in (("idle", "default"), ("idle", "1"), ("busy", "default"), ("busy", "1"))
    )
    print("targets (default threads):")
    for b in ("10", "1024"):
        print(
            f"  batch {b:>4}: busy {loaded[b] / loaded_one[b]:.2f}x one thread (target >= 0.9), "
            f"{loaded[b] / loaded['sgd']:.1f}x SGDRegressor (target >= 4); "
            f"idle {idle[b] / one[b]:.2f}x one thread (target >= 1.5), {idle[b] / idle['sgd']:.1f}x SGDRegressor"
            + (" (target >= 10)" if b == "10" else "")
            + f", {idle[b] / idle['full']:.2f}x the full pass"
            + (" (target >= 1.0)" if b == "1024" else "")
        )
    print("shuffle='blocks' (an epoch read in cache-sized blocks), idle, default threads:")
    print(
        f"  batch   10: {idle['10b'] / 1e6:.1f} M rows/s, {idle['10b'] / idle['sgd']:.1f}x SGDRegressor "
        f"(target >= 10), {idle['10b'] / idle['10']:.2f}x the row order\n"
        f"  batch 1024: {idle['1024b'] / 1e6:.1f} M rows/s, {idle['1024b'] / idle['full']:.2f}x the full pass "
        f"(target >= 1.0), {idle['1024b'] / idle['1024']:.2f}x the row order"
    )
    return rates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of problem (b)")
    parser.add_argument("--features", type=int, default=100, help="features of problem (b)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per figure (best is kept)")
    parser.add_argument("--skip-cli", action="store_true", help="skip the start-up timings")
    parser.add_argument("--only-busy", action="store_true", help="only (b) idle and beside a busy process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # the child's part
    parser.add_argument("--parts", default="full,10,1024", help=argparse.SUPPRESS)  # what the child measures
    args = parser.parse_args(argv)

    if args.child:  # (b)'s shape in another environment: its BLAS, the full-batch pass, the fast engine
        X, y = synthetic_data(torch.ones(args.features), 0.5, args.rows, generator=torch.Generator().manual_seed(0))
        fast = PIPELINES["linearnet fast"]
        fast(X[:100], y[:100], 10, 1, 0.01)  # numba loads its cache
        rates = {}
        for part in args.parts.split(","):
            if part == "full":
                rates[part] = full_batch_pass(X, y)
            elif part == "sgd":
                rates[part] = rows_per_second(PIPELINES["sklearn SGDRegressor"], X, y, 10, 1, 0.01, args.repeat)
            elif part.endswith("b"):  # shuffle="blocks"
                blocks = linearnet_impl("fast", "blocks")
                rates[part] = rows_per_second(blocks, X, y, int(part[:-1]), 1, 0.01, args.repeat)
            else:
                rates[part] = rows_per_second(fast, X, y, int(part), 1, 0.01, args.repeat)
        print(json.dumps({"header": blas_header(), "rates": rates}))
        return

    if args.only_busy:
        print(machine())
        busy_table(args.rows, args.features, args.repeat)
        return

    import numba

    from linearnet import fast

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, numpy {np.__version__}, numba {numba.__version__} "
        f"(fast engine: {'two threads' if fast.two_threads() else 'one thread'})"
    )
    print(blas_header())

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
        summary[(title, "read")] = read
        print(f"{'':>6}  {'torch full-batch grad':<24} {fmt_rate(full):>10}")
        print(f"{'':>6}  {'one read of X':<24} {fmt_rate(read):>10}")
        order = torch.randperm(len(X))
        print(f"{'':>6}  {'X read in a random order':<24} {fmt_rate(read_in_order(X, order)):>10}")
        print(f"{'':>6}  {'torch.randperm':<24} {fmt_rate(permutations(len(X))):>10}")
        for batch_size in batch_sizes:
            rate = fast_epoch_alone(X, y, batch_size, lr, order)
            summary[(title, batch_size, "kernel")] = rate
            print(f"{batch_size:>6}  {'fast epoch, no randperm':<24} {fmt_rate(rate):>10}")
        # what bounds the epoch: the same kernel on the rows in order (sequential reads, no cache misses to wait for)
        in_order = fast_epoch_alone(X, y, batch_sizes[-1], lr, torch.arange(len(X)))
        summary[(title, "in order")] = in_order
        print(f"{batch_sizes[-1]:>6}  {'fast epoch, in row order':<24} {fmt_rate(in_order):>10}")

    title = problems[-1][0]
    print("\n(b) in child processes: torch full-batch grad, fast at batch 10, fast at batch 1024")
    children = {
        f"without {', '.join(BLAS_VARIABLES)}": without_blas_settings(),
        "OMP_WAIT_POLICY=PASSIVE": os.environ | {"OMP_WAIT_POLICY": "PASSIVE"},  # torch's workers do not spin
    }
    for name, env in children.items():
        child = in_child(__file__, "--child", "--rows", args.rows, "--features", args.features, env=env)
        r = child["rates"]
        print(f"  {name + ':':<44} {fmt_rate(r['full'])} {fmt_rate(r['10'])} {fmt_rate(r['1024'])}")
        print(f"  {child['header']}")
        summary[name] = r
    fast10 = summary[(title, 10, "linearnet fast")]
    fast1024 = summary[(title, 1024, "linearnet fast")]
    full = summary[(title, "full")]
    print("\ntargets on (b):")
    book10 = summary[(title, 10, "book (d2l 3.2 code)")]
    print(
        f"  fast at batch 10:   {fast10 / 1e6:.1f} M rows/s (target >= 20), "
        f"{fast10 / summary[(title, 10, 'sklearn SGDRegressor')]:.1f}x SGDRegressor (target >= 10), "
        f"{fast10 / summary[(title, 'read')]:.2f}x one read of X, {fast10 / book10:.0f}x the book"
    )
    print(
        f"  fast at batch 1024: {fast1024 / 1e6:.1f} M rows/s (target >= 25), {fast1024 / full:.2f}x the full-batch "
        f"pass (target >= 1.5); in the children: "
        + ", ".join(f"{summary[name]['1024'] / summary[name]['full']:.2f}x {name}" for name in children)
    )
    print(
        f"  the epoch alone (no permutation drawn): {summary[(title, 1024, 'kernel')] / full:.2f}x the full-batch pass;"
        f" on the rows in order (no random reads): {summary[(title, 'in order')] / full:.2f}x"
    )

    print(machine())
    busy_table(args.rows, args.features, args.repeat)

    if not args.skip_cli:
        print("\nstart-up (median of 7, seconds):")
        lat = cli_latency()
        for name, seconds in lat.items():
            print(f"  {name:<28} {seconds:6.3f}")
        torch_import = lat["python -c 'import torch'"]
        print(f"  --help / import torch: {lat['linearnet --help'] / torch_import:.2f} (target <= 0.2)")
        print("\nfirst run, numba cache empty (a fresh NUMBA_CACHE_DIR) / warm (median of 3, seconds):")
        for argv in (["train"], ["train", "--impl", "fast"]):
            cold, warm = first_run(argv)
            print(f"  linearnet {' '.join(argv):<22} {cold:6.2f} / {warm:5.2f}  (+{cold - warm:.2f})")
        print("  target: the first `linearnet train --impl fast` <= 3 s")


if __name__ == "__main__":
    main()

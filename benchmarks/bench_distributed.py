"""When distributing SGD pays: rows/second of data-parallel SGD on 1 and 2 processes of this machine.

    .venv/bin/python benchmarks/bench_distributed.py [--rows N] [--features D]

One epoch of the fast engine (after one to compile its kernels) on N × D float32 rows, batches of 10
(the book's) and 1024, in one process and in two launched on 127.0.0.1 (gloo) with the variables
torchrun sets. Each process holds the same rows and takes its part of every batch
(linearnet.distributed.Replicated), so the two runs step through the same batches; every step of the
two-process run all-reduces the gradient. Also times the all-reduce of one step alone, and
``linearnet solve`` on 5N × D Parquet rows in one process and in two (each reading its share).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import torch

from linearnet import distributed
from linearnet.batches import TensorSource
from linearnet.presets import make_train_config
from linearnet.training import fit, make_engine


def worker(rows: int, features: int, batch: int) -> None:
    group = distributed.group(timeout=120)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(rows, features, generator=g)
    y = X @ torch.arange(1.0, features + 1) + torch.randn(rows, generator=g)
    config = make_train_config(None, impl="fast", lr=0.01, batch_size=batch, epochs=1)
    engine = make_engine(config, torch.zeros(features, 1), torch.zeros(1))
    source = TensorSource(X, y.reshape(-1, 1))
    if group.size > 1:
        source = distributed.Replicated(source, group.rank, group.size, batch)
        engine = distributed.DataParallel(engine, group)
    fit(engine, source, config, generator=g, group=group if group.size > 1 else None)  # compiles what it uses
    history = fit(engine, source, config, generator=g, group=group if group.size > 1 else None)
    flat = np.zeros(features + 3)  # one step's all-reduce: the gradient, the bias, the loss and the rows
    t0 = time.perf_counter()
    for _ in range(2000):
        group.all_sum(flat)
    reduce_us = (time.perf_counter() - t0) / 2000 * 1e6
    if group.rank == 0:
        print(json.dumps({"seconds": history.train_seconds, "rows": rows, "allreduce_us": reduce_us}), flush=True)
    group.close()
    os._exit(0)  # as the linearnet command leaves: no teardown, where a native thread may abort a finished process


def launch(size: int, rows: int, features: int, batch: int) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, __file__, "--worker", str(rows), str(features), str(batch)]
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(size), "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(argv, env={**os.environ, **env, "RANK": str(r)}, stdout=subprocess.PIPE, text=True)
        for r in range(size)
    ]
    outs = [p.communicate(timeout=600)[0] for p in processes]
    return json.loads(outs[0])


def solve_seconds(size: int, path: str) -> float:
    """Wall time of ``linearnet solve`` on ``path`` in ``size`` processes (each its share), start-up included."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "linearnet", "solve", path, "--target", "y", "--json"]
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(size), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    processes = [
        subprocess.Popen(
            argv, env={**os.environ, **env, "RANK": str(r)}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for r in range(size)
    ]
    for p in processes:
        p.communicate(timeout=600)
        assert p.returncode == 0
    return time.perf_counter() - t0


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        worker(*(int(a) for a in sys.argv[2:5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=20)
    args = parser.parse_args()
    print(f"# {os.cpu_count()} cores, torch {torch.__version__}, gloo on 127.0.0.1")
    print(f"# one epoch of the fast engine on {args.rows:,} x {args.features} float32 rows\n")
    print(" batch  processes      rows/s   x 1 process   all-reduce of a step")
    for batch in (10, 1024):
        one = None
        for size in (1, 2):
            r = launch(size, args.rows, args.features, batch)
            speed = r["rows"] / r["seconds"]
            one = one or speed
            reduce = f"{r['allreduce_us']:8.1f} us" if size > 1 else ""
            print(f"{batch:6d}  {size:9d}  {speed / 1e6:8.3f} M  {speed / one:11.2f}   {reduce}")
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as folder:
        rows = 5 * args.rows
        rng = np.random.default_rng(0)
        X = rng.normal(size=(rows, args.features))
        columns = {f"x{j}": X[:, j] for j in range(args.features)}
        path = os.path.join(folder, "rows.parquet")
        pq.write_table(pa.table({**columns, "y": X.sum(axis=1) + rng.normal(size=rows)}), path, row_group_size=50_000)
        print(f"\nlinearnet solve on {rows:,} x {args.features} Parquet rows (start-up of each process included)")
        one = solve_seconds(1, path)
        print(f"  1 process    {one:6.2f} s")
        two = solve_seconds(2, path)
        print(f"  2 processes  {two:6.2f} s   x {one / two:.2f}")


if __name__ == "__main__":
    main()

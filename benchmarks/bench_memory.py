"""Memory on a file larger than the budget: solve, predict --out and train --epochs 1, against pandas + statsmodels.

Writes a 5,000,000 x 20 float CSV (about 1.3 GB) and its Parquet copy, then runs each command in a
fresh process and reports its peak resident memory (the kernel's ru_maxrss of that process alone) and
its time; the peers are what a user would otherwise run: pandas.read_csv / read_parquet with
statsmodels' OLS for solve, and the same read with a matrix product for predict. The chunked and the
in-memory solves are compared coefficient by coefficient. The target is 600 MB for each linearnet
command (the process with torch, numba and pyarrow loaded is about 310 MB of it).

    .venv/bin/python benchmarks/bench_memory.py [--rows N] [--folder DIR] [--skip-peers]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

PEER_SOLVE = """
import sys, pandas as pd, statsmodels.api as sm
path = sys.argv[1]
frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
fit = sm.OLS(frame["y"].to_numpy(), sm.add_constant(frame.drop(columns="y").to_numpy())).fit()
print(fit.params[1], fit.bse[1])
"""
PEER_PREDICT = """
import json, sys, numpy as np, pandas as pd
path, model, out = sys.argv[1:4]
m = json.load(open(model))
frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
frame = pd.DataFrame({"y_predicted": frame[m["features"]].to_numpy() @ np.array(m["coefficients"]) + m["intercept"]})
frame.to_parquet(out) if out.endswith(".parquet") else frame.to_csv(out, index=False)
"""


WRITE_DATA = """
import sys
import numpy as np, pyarrow as pa, pyarrow.csv as pcsv, pyarrow.parquet as pq
rows, csv_path, parquet_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
X = np.round(rng.standard_normal((rows, 20)), 8)
y = np.round(X @ (np.arange(1, 21) / 10) + 4.2 + 0.01 * rng.standard_normal(rows), 8)
table = pa.table({**{f"x{j}": X[:, j] for j in range(20)}, "y": y})
pcsv.write_csv(table, csv_path)
pq.write_table(table, parquet_path, row_group_size=250_000)
"""


def write_data(folder: str, rows: int) -> tuple[str, str]:
    """y = x·w + 4.2 + N(0, 0.01²) with w = 0.1, 0.2, ..., 2.0, values to 8 decimals (as a CSV from a sensor log).

    Written by a child process: a child's peak resident size starts from its parent's at fork, so the
    parent that measures must stay small."""
    csv_path, parquet_path = os.path.join(folder, "big.csv"), os.path.join(folder, "big.parquet")
    subprocess.run([sys.executable, "-c", WRITE_DATA, str(rows), csv_path, parquet_path], check=True)
    return csv_path, parquet_path


def measure(argv: list[str]) -> tuple[float, float, str]:
    """(peak resident MB, seconds, stdout) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()  # small: JSON and notes
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err}")
    return usage.ru_maxrss / 1024, seconds, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--folder", help="where to write the data (default: a temporary folder)")
    parser.add_argument("--skip-peers", action="store_true", help="measure linearnet's commands alone")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_robust import machine  # the CPU model, the cores, the BLAS kernel, OPENBLAS_CORETYPE

    print(machine())
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        csv_path, parquet_path = write_data(folder, args.rows)
        linearnet = [sys.executable, "-m", "linearnet"]
        model = os.path.join(folder, "m.json")
        for path in (csv_path, parquet_path):
            kind = "CSV" if path == csv_path else "Parquet"
            print(f"\n# {args.rows:,} rows x 20 features, {os.path.getsize(path) / 1e9:.2f} GB {kind}")
            rows = []
            mb, s, out = measure([*linearnet, "solve", path, "--target", "y", "--json", "--out", model])
            chunked = json.loads(out)
            rows.append(("linearnet solve (chunks)", mb, s))
            mb, s, out = measure([*linearnet, "solve", path, "--target", "y", "--json", "--memory-budget", "16G"])
            whole = json.loads(out)
            rows.append(("linearnet solve (whole, --memory-budget 16G)", mb, s))
            mb, s, _ = measure([*linearnet, "predict", "--model", model, path, "--out", path + ".pred.parquet"])
            rows.append(("linearnet predict --out .parquet", mb, s))
            mb, s, _ = measure([*linearnet, "predict", "--model", model, path, "--out", path + ".pred.csv"])
            rows.append(("linearnet predict --out .csv", mb, s))
            train = ["train", "--data", path, "--target", "y", "--epochs", "1", "--lr", "0.03", "--json"]
            mb, s, _ = measure([*linearnet, *train])
            rows.append(("linearnet train --epochs 1 (streamed)", mb, s))
            if not args.skip_peers:
                mb, s, _ = measure([sys.executable, "-c", PEER_SOLVE, path])
                rows.append(("pandas + statsmodels OLS", mb, s))
                mb, s, _ = measure([sys.executable, "-c", PEER_PREDICT, path, model, path + ".peer.parquet"])
                rows.append(("pandas + matrix product, to .parquet", mb, s))
            for name, mb, s in rows:
                print(f"  {name:<46} {mb:7.0f} MB  {s:6.1f} s")
            est = lambda r: np.array([r["intercept"]["estimate"]] + [c["estimate"] for c in r["coefficients"].values()])  # noqa: E731
            ses = lambda r: np.array([r["intercept"]["stderr"]] + [c["stderr"] for c in r["coefficients"].values()])  # noqa: E731
            print(
                f"  chunked vs whole solve: coefficients agree to {np.max(np.abs(est(chunked) / est(whole) - 1)):.1e}, "
                f"standard errors to {np.max(np.abs(ses(chunked) / ses(whole) - 1)):.1e} (relative)"
            )


if __name__ == "__main__":
    main()

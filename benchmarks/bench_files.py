"""Whole runs on a file: ``linearnet solve`` and ``linearnet predict`` against pyarrow's read alone and pandas.

On a 5,000,000 x 20 float CSV (about 1.2 GB, written as bench_memory.py writes it) and its Parquet copy,
each command runs in a fresh process, one after another in the same run, so that the ratios compare like
with like (absolute times move by a third from run to run on a shared machine):

- pyarrow's read alone (``pyarrow.csv.read_csv`` / ``pyarrow.parquet.read_table``): the floor of any reader;
- ``linearnet solve FILE --target y --json`` (read in chunks: a Gram pass, then a residual pass for σ);
- pandas ``read_csv`` / ``read_parquet`` + statsmodels OLS with its standard errors;
- ``linearnet predict --model M FILE --out pred.csv`` (and ``.parquet``);
- pandas read + NumPy matrix product + ``to_csv`` (and ``to_parquet``).

    .venv/bin/python benchmarks/bench_files.py [--rows N] [--folder DIR (default: the temporary folder)] [--keep]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_memory import PEER_PREDICT, PEER_SOLVE, write_data  # the memory benchmark's peers and data

ARROW_READ = """
import sys, pyarrow.csv as pcsv, pyarrow.parquet as pq
path = sys.argv[1]
table = pq.read_table(path) if path.endswith(".parquet") else pcsv.read_csv(path)
print(table.num_rows)
"""


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where to write the data")
    parser.add_argument("--keep", action="store_true", help="reuse big.csv/big.parquet in --folder if present")
    args = parser.parse_args()
    from threadpoolctl import threadpool_info

    kernels = sorted({f"{i['internal_api']} {i.get('architecture')}" for i in threadpool_info()})
    print(
        f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; BLAS: {', '.join(kernels)}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    csv_path, parquet_path = (os.path.join(args.folder, f) for f in ("big.csv", "big.parquet"))
    if not (args.keep and os.path.exists(csv_path) and os.path.exists(parquet_path)):
        write_data(args.folder, args.rows)
    py, linearnet = sys.executable, [sys.executable, "-m", "linearnet"]
    model = os.path.join(args.folder, "m.json")
    subprocess.run(
        [*linearnet, "solve", parquet_path, "--target", "y", "--out", model], check=True, capture_output=True
    )
    for path in (csv_path, parquet_path):
        kind = "CSV" if path == csv_path else "Parquet"
        print(f"\n# {args.rows:,} rows x 20 features, {os.path.getsize(path) / 1e9:.2f} GB {kind}")
        t = {
            "pyarrow read alone": seconds([py, "-c", ARROW_READ, path]),
            "linearnet solve --json": seconds([*linearnet, "solve", path, "--target", "y", "--json"]),
            "pandas + statsmodels OLS": seconds([py, "-c", PEER_SOLVE, path]),
            "linearnet predict --out .csv": seconds(
                [*linearnet, "predict", "--model", model, path, "--out", path + ".p.csv"]
            ),
            "pandas + matmul + to_csv": seconds([py, "-c", PEER_PREDICT, path, model, path + ".q.csv"]),
            "linearnet predict --out .parquet": seconds(
                [*linearnet, "predict", "--model", model, path, "--out", path + ".p.parquet"]
            ),
            "pandas + matmul + to_parquet": seconds([py, "-c", PEER_PREDICT, path, model, path + ".q.parquet"]),
        }
        for name, s in t.items():
            print(f"  {name:<34} {s:7.1f} s")
        solve, read, peer = t["linearnet solve --json"], t["pyarrow read alone"], t["pandas + statsmodels OLS"]
        print(f"  solve / pyarrow read = {solve / read:.2f} (target <= 1.3)")
        print(f"  pandas + statsmodels / solve = {peer / solve:.1f} (target >= 4)")
        for ext in ("csv", "parquet"):
            ours, theirs = t[f"linearnet predict --out .{ext}"], t[f"pandas + matmul + to_{ext}"]
            print(f"  pandas pipeline / predict to .{ext} = {theirs / ours:.2f} (target >= 2)")
        for suffix in (".p.csv", ".q.csv", ".p.parquet", ".q.parquet"):
            os.remove(path + suffix)


if __name__ == "__main__":
    main()

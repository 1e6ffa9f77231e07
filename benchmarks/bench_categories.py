"""What a category costs a solve in chunks: the first pass that finds its levels, and the wider design.

On a table of N rows x 20 float features and one text column of 50 levels (Parquet, and with ``--csv`` the
same rows as CSV), each in a fresh process, one after another in the same run so that the ratio compares
like with like (absolute times move by a third from run to run on a shared machine):

- ``linearnet solve FILE --target y --features x1,...,x20 --memory-budget 64M`` (read in chunks);
- the same with ``,region`` added: one first pass reading the column ``region`` alone for its levels, then
  the passes of the fit, 49 more columns in the design;
- the first pass alone (``linearnet.tables.category_levels``).

    .venv/bin/python benchmarks/bench_categories.py [--rows N] [--folder DIR] [--csv] [--keep]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

FIRST_PASS = """
import sys
from linearnet.tables import category_levels
found = category_levels(sys.argv[1], target="y", features=["region"])
print(len(found.coded()[0]["region"]))
"""


def write_table(folder: str, rows: int, csv: bool) -> list[str]:
    """The table as Parquet (row groups of 500,000 rows), and as CSV with ``csv``, written a block at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    regions = np.array([f"region-{k:02d}" for k in range(50)])
    effects = rng.normal(size=50)
    paths = [os.path.join(folder, "categories.parquet")] + ([os.path.join(folder, "categories.csv")] if csv else [])
    writers: list = []
    for start in range(0, rows, 500_000):
        n = min(500_000, rows - start)
        X = rng.normal(size=(n, 20))
        k = rng.integers(0, 50, n)
        y = X @ np.linspace(-1, 1, 20) + effects[k] + rng.normal(size=n)
        columns = {f"x{j + 1}": X[:, j] for j in range(20)}
        table = pa.table({**columns, "region": regions[k], "y": y})
        if not writers:
            writers = [pq.ParquetWriter(paths[0], table.schema)]
            if csv:
                writers.append(pcsv.CSVWriter(paths[1], table.schema))
        for writer in writers:
            writer.write_table(table)
    for writer in writers:
        writer.close()
    return paths


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--folder", default=tempfile.gettempdir())
    parser.add_argument("--csv", action="store_true", help="the same rows as CSV too")
    parser.add_argument("--keep", action="store_true", help="keep the files written")
    args = parser.parse_args()
    from bench_robust import machine  # the CPU model and the BLAS kernel (threadpoolctl)

    print(machine())
    paths = write_table(args.folder, args.rows, args.csv)
    features = ",".join(f"x{j + 1}" for j in range(20))
    try:
        for path in paths:
            print(
                f"# {args.rows:,} rows x 20 features + a text column of 50 levels, {os.path.getsize(path) / 1e9:.2f} GB"
            )
            solve = [sys.executable, "-m", "linearnet", "solve", path, "--target", "y", "--memory-budget", "64M"]
            plain = seconds([*solve, "--features", features])
            coded = seconds([*solve, "--features", features + ",region"])
            first = seconds([sys.executable, "-c", FIRST_PASS, path])
            print(f"solve in chunks, 20 features          {plain:7.2f} s")
            print(f"solve in chunks, + region (69 columns) {coded:7.2f} s   {coded / plain:.2f}x")
            print(f"  of which the first pass (region)    {first:7.2f} s   (a fresh process, imports included)")
    finally:
        if not args.keep:
            for path in paths:
                os.remove(path)


if __name__ == "__main__":
    main()

"""Reading a table: linearnet's reader (every value checked) against pyarrow's CSV read alone.

The reader is the speed floor of every file command. This times, on one generated CSV, pyarrow's
multithreaded read (the floor) and ``linearnet.tables.read_table`` (the same read plus the type
decisions, the checks and the float64 arrays), and prints the ratio.

    .venv/bin/python benchmarks/bench_read.py [--rows N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from linearnet.tables import read_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    columns = {f"x{j}": rng.standard_normal(args.rows) for j in range(18)}
    columns["k"] = rng.integers(0, 100, args.rows)  # an integer column: the hex-typo check reads it again
    columns["y"] = rng.standard_normal(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "table.csv")
        pcsv.write_csv(pa.table(columns), path)
        size = os.path.getsize(path) / 1e6
        floor, reader = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            pcsv.read_csv(path)
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            read_table(path, target="y")
            reader.append(time.perf_counter() - t)
    print(f"# {args.rows:,} rows x 20 columns, {size:.0f} MB CSV, best of {args.repeat}")
    print(f"  pyarrow read_csv alone     {min(floor):.2f} s")
    print(f"  linearnet read_table       {min(reader):.2f} s   {min(reader) / min(floor):.2f}x the read alone")


if __name__ == "__main__":
    main()

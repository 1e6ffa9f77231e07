"""Whole runs on a file: ``linearnet solve`` and ``linearnet predict`` against pyarrow's read alone and pandas.

On a 5,000,000 x 20 float CSV (about 1.2 GB, written as bench_memory.py writes it) and its Parquet copy,
each command runs in a fresh process, one after another in the same run, so that the ratios compare like
with like (absolute times move by a third from run to run on a shared machine):

- start-up: ``linearnet --help``, a process that imports the command line and answers;
- pyarrow's read alone (``pyarrow.csv.read_csv`` / ``pyarrow.parquet.read_table``, a fresh process with
  its imports): the floor of any reader, and with the start-up the yardstick of ``solve`` (target <= 1.3x);
- ``linearnet solve FILE --target y --json`` (read in chunks, past the memory budget);
- pandas ``read_csv`` / ``read_parquet`` + statsmodels OLS with its standard errors (target: solve >= 4x faster);
- ``linearnet predict --model M FILE --out pred.csv`` (and ``.parquet``) against pandas read + NumPy
  matrix product + ``to_csv`` (and ``to_parquet``); ``--no-predict`` leaves these out.

The start-up, the read and the solve run ``--repeat`` times, taking turns, and the best of each counts;
the peers run once. Then, unless ``--no-busy``, the read and the solve again beside one competing busy
process (a user's machine running something else), which the benchmark starts and stops.

    .venv/bin/python benchmarks/bench_files.py [--rows N] [--folder DIR (default: the temporary folder)] [--keep]
    .venv/bin/python benchmarks/bench_files.py --rows 1000000 --no-predict     # a quicker look
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
from bench_robust import busy, machine  # the machine's line, one competing busy process

ARROW_READ = """
import sys, pyarrow.csv as pcsv, pyarrow.parquet as pq
path = sys.argv[1]
table = pq.read_table(path) if path.endswith(".parquet") else pcsv.read_csv(path)
print(table.num_rows)
"""


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def best(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """The best of ``repeat`` runs of each command, the commands taking turns."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(seconds(argv))
    return {name: min(t) for name, t in times.items()}


def solve_rows(path: str, repeat: int, *, peers: bool, loaded: bool) -> dict[str, float]:
    """The start-up, pyarrow's read and the solve of ``path`` (and the peer's), in one run."""
    py, linearnet = sys.executable, [sys.executable, "-m", "linearnet"]
    commands = {
        "start-up (linearnet --help)": [*linearnet, "--help"],
        "pyarrow read alone": [py, "-c", ARROW_READ, path],
        "linearnet solve --json": [*linearnet, "solve", path, "--target", "y", "--json"],
    }
    with busy(loaded):
        t = best(commands, repeat)
        if peers:
            t["pandas + statsmodels OLS"] = seconds([py, "-c", PEER_SOLVE, path])
    return t


def report_solve(t: dict[str, float]) -> None:
    for name, s in t.items():
        print(f"  {name:<34} {s:7.2f} s")
    floor = t["start-up (linearnet --help)"] + t["pyarrow read alone"]
    solve = t["linearnet solve --json"]
    print(f"  solve / (start-up + pyarrow read) = {solve / floor:.2f} (target <= 1.3)")
    if "pandas + statsmodels OLS" in t:
        print(f"  pandas + statsmodels / solve = {t['pandas + statsmodels OLS'] / solve:.1f} (target >= 4)")


def predict_rows(path: str, model: str) -> None:
    py, linearnet = sys.executable, [sys.executable, "-m", "linearnet"]
    t = {
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
        print(f"  {name:<34} {s:7.2f} s")
    for ext in ("csv", "parquet"):
        ours, theirs = t[f"linearnet predict --out .{ext}"], t[f"pandas + matmul + to_{ext}"]
        print(f"  pandas pipeline / predict to .{ext} = {theirs / ours:.2f} (target >= 2)")
    for suffix in (".p.csv", ".q.csv", ".p.parquet", ".q.parquet"):
        os.remove(path + suffix)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--folder", default=tempfile.gettempdir(), help="where to write the data")
    parser.add_argument("--keep", action="store_true", help="reuse big.csv/big.parquet in --folder if present")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the start-up, the read and the solve")
    parser.add_argument("--no-predict", action="store_true", help="leave predict and its peers out")
    parser.add_argument("--no-busy", action="store_true", help="leave the runs beside a busy process out")
    args = parser.parse_args()
    print(machine())
    print(f"# load average {os.getloadavg()[0]:.1f} at the start")
    csv_path, parquet_path = (os.path.join(args.folder, f) for f in ("big.csv", "big.parquet"))
    if not (args.keep and os.path.exists(csv_path) and os.path.exists(parquet_path)):
        write_data(args.folder, args.rows)
    model = os.path.join(args.folder, "m.json")
    subprocess.run(
        [sys.executable, "-m", "linearnet", "solve", parquet_path, "--target", "y", "--out", model],
        check=True,
        capture_output=True,
    )
    for path in (csv_path, parquet_path):
        kind = "CSV" if path == csv_path else "Parquet"
        print(
            f"\n# {args.rows:,} rows x 20 features, {os.path.getsize(path) / 1e9:.2f} GB {kind}, best of {args.repeat}"
        )
        report_solve(solve_rows(path, args.repeat, peers=True, loaded=False))
        if not args.no_busy:
            print(f"  beside one busy process (load average {os.getloadavg()[0]:.1f} before):")
            report_solve(solve_rows(path, args.repeat, peers=False, loaded=True))
        if not args.no_predict:
            predict_rows(path, model)
    print(f"\n# load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()

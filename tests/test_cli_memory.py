"""Memory stays bounded on data larger than the budget: solve, predict and train each read a file many
times their budget in chunks, and their resident memory grows by a small part of what reading it whole takes.

The full-size figures (a 5,000,000 x 20 file against 600 MB) are benchmarks/bench_memory.py's; this is
the same check at a fiftieth of the size, with a budget to match.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

PROBE = textwrap.dedent("""
    import json, os, sys
    from linearnet.cli import main
    from linearnet.tables import plan

    plan.CHUNK_ROWS = 1000  # the 50,000 rows of a chunk, at a fiftieth as the file and the budget

    def kib(field):  # this process's own figures: ru_maxrss would start from the parent's peak at exec
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))

    small, big, model, out = sys.argv[1:5]
    commands = {
        "solve": ["solve", "{data}", "--target", "y", "--memory-budget", "20M"],
        "predict": ["predict", "--model", model, "{data}", "--out", out],
        "train": ["train", "--data", "{data}", "--target", "y", "--epochs", "1", "--impl", "fast",
                  "--memory-budget", "20M", "--json"],
    }
    grown = {}
    for name, argv in commands.items():
        for budget in ("20M", "8G"):  # in chunks, then whole
            if name != "solve" and budget == "8G":
                continue  # the whole read of solve is the yardstick; predict streams a plain file anyway
            run = [budget if a == "20M" else a for a in argv]
            warm_up = [small if a == "{data}" else "1M" if a == "20M" else a for a in run]
            assert main(warm_up) == 0  # imports, compiled code and the path's first use first
            before = kib("VmRSS")
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # the peak resident size (VmHWM) starts again from here
            assert main([a.format(data=big) for a in run]) == 0
            grown[f"{name} {budget}"] = (kib("VmHWM") - before) / 1024
    print(json.dumps(grown), file=sys.stderr, flush=True)
    os._exit(0)  # measured; seven commands' thread pools in one process sometimes abort on the way out
""")
needs_peak_reset = pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="measures the peak resident size through Linux's /proc/self"
)


def write_rows(path: Path, n: int, seed: int = 0) -> None:
    """n rows of 20 features and y = x·w + 4.2 + noise, as CSV or Parquet (by extension)."""
    rng = np.random.default_rng(seed)
    X = np.round(rng.standard_normal((n, 20)), 8)
    y = np.round(X @ (np.arange(1, 21) / 10) + 4.2 + 0.01 * rng.standard_normal(n), 8)
    table = pa.table({**{f"x{j}": X[:, j] for j in range(20)}, "y": y})
    if path.suffix == ".parquet":
        pq.write_table(table, path, row_group_size=5000)  # 250,000-row groups, at a fiftieth
    else:
        pcsv.write_csv(table, path)


@needs_peak_reset
@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_solve_predict_and_train_stay_within_a_small_part_of_a_whole_read(tmp_path, kind):
    small, big = tmp_path / f"small.{kind}", tmp_path / f"big.{kind}"
    write_rows(small, 12_000)  # more than 10,000 residual df, as the big file: the same tails' code warmed up
    write_rows(big, 100_000)  # 5,000,000 rows at a fiftieth: 24 MB of CSV, 19 MB of Parquet
    values_mb = 100_000 * 21 * 8 / 2**20  # the float64 values alone, 16 MB
    model = tmp_path / "m.json"
    from linearnet.cli import main

    assert main(["solve", str(small), "--target", "y", "--out", str(model)]) == 0
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(small), str(big), str(model), str(tmp_path / "p.csv")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    grown = json.loads(proc.stderr.splitlines()[-1])
    whole = grown["solve 8G"]
    assert whole > 3 * values_mb, grown  # a whole read takes several times the values: the yardstick holds
    for command in ("solve", "predict", "train"):
        assert grown[f"{command} 20M"] < whole / 8, grown

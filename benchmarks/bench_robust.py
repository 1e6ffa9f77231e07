"""Robust, clustered and weighted least squares: linearnet.solve against statsmodels and R's sandwich.

One run, the same arrays for every tool (1,000,000 × 20 float64 with an intercept by default), each fit
with its standard errors: heteroskedasticity-consistent HC3 (statsmodels' ``OLS(...).fit(cov_type="HC3")``,
R's ``sandwich::vcovHC(lm(...), type = "HC3")``), cluster-robust over 1,000 clusters (statsmodels'
``cov_type="cluster"``, R's ``sandwich::vcovCL``), and weighted (statsmodels' ``WLS``, R's
``lm(weights = )``). Each is timed idle and again with one competing busy process (started and stopped
here), best of ``--repeat``; the ratios are to linearnet's time in the same conditions, and the last
column is the largest relative difference of the standard errors from linearnet's. R runs when
``Rscript`` is found, timed inside R on data it has already read (``system.time`` of the fit and its
covariance alone).

    python benchmarks/bench_robust.py
    python benchmarks/bench_robust.py --rows 200000     # a quicker look
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from linearnet.leastsq import solve


def machine() -> str:
    """The CPU model, the cores and the BLAS kernel (threadpoolctl) this run measures on."""
    from threadpoolctl import threadpool_info

    model = platform.processor() or "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as fh:
        model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), model)
    kernels = sorted({f"{i['internal_api']} {i.get('architecture')}" for i in threadpool_info()})
    coretype = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    return f"# {model}, {os.cpu_count()} cores; OPENBLAS_CORETYPE={coretype}; BLAS: {', '.join(kernels)}"


@contextlib.contextmanager
def busy(on: bool):
    """One competing busy process while the block runs (none when ``on`` is false)."""
    if not on:
        yield
        return
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        yield
    finally:
        proc.kill()
        proc.wait()


def best_of(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def data(rows: int, features: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, features))
    groups = rng.integers(0, 1000, rows)
    effect = rng.standard_normal(1000)[groups]  # a shared shock per cluster
    noise = rng.standard_normal(rows) * (0.5 + np.abs(X[:, 0]))  # heteroskedastic
    y = 1.0 + X @ rng.standard_normal(features) + effect + noise
    w = rng.uniform(0.5, 2.0, rows)
    return X, y, groups, w


def peers(X, y, groups, w) -> dict[str, dict]:
    """For each case, linearnet's call and statsmodels' (each returning its standard errors)."""
    import statsmodels.api as sm

    A = sm.add_constant(X, has_constant="add")
    return {
        "HC3": {
            "linearnet": lambda: solve(X, y, cov_type="HC3").bse,
            "statsmodels": lambda: sm.OLS(y, A).fit(cov_type="HC3").bse,
        },
        "cluster (1,000)": {
            "linearnet": lambda: solve(X, y, cov_type="cluster", groups=groups).bse,
            "statsmodels": lambda: sm.OLS(y, A).fit(cov_type="cluster", cov_kwds={"groups": groups}).bse,
        },
        "weighted": {
            "linearnet": lambda: solve(X, y, weights=w).bse,
            "statsmodels": lambda: sm.WLS(y, A, weights=w).fit().bse,
        },
    }


R_SCRIPT = """
d <- read.csv(commandArgs(TRUE)[1]); suppressMessages(library(sandwich))
f <- as.formula(paste("y ~", paste(grep("^x", names(d), value = TRUE), collapse = " + ")))
best <- function(expr) min(replicate(as.integer(commandArgs(TRUE)[2]), system.time(eval(expr))[["elapsed"]]))
cat("HC3", best(quote(sqrt(diag(vcovHC(lm(f, d), type = "HC3"))))), "\\n")
cat("cluster", best(quote(sqrt(diag(vcovCL(lm(f, d), cluster = ~g, type = "HC1"))))), "\\n")
cat("weighted", best(quote(sqrt(diag(vcov(lm(f, d, weights = w)))))), "\\n")
"""


def r_times(X, y, groups, w, repeat: int, loaded: bool) -> dict[str, float]:
    """R's seconds per case, or {} without Rscript."""
    if shutil.which("Rscript") is None:
        return {}
    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "d.csv")
        frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(X.shape[1])])
        frame["y"], frame["g"], frame["w"] = y, groups, w
        frame.to_csv(path, index=False)
        with busy(loaded):
            out = subprocess.run(
                ["Rscript", "-e", R_SCRIPT, path, str(repeat)], capture_output=True, text=True, check=True
            ).stdout
    names = {"HC3": "HC3", "cluster": "cluster (1,000)", "weighted": "weighted"}
    return {names[line.split()[0]]: float(line.split()[1]) for line in out.splitlines() if line.strip()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-r", action="store_true", help="leave R out")
    args = parser.parse_args(argv)
    print(machine())
    X, y, groups, w = data(args.rows, args.features)
    cases = peers(X, y, groups, w)
    print(f"\n{args.rows:,} x {args.features} float64 with an intercept; seconds, best of {args.repeat}")
    print(f"  {'case':<17} {'load':<6} {'tool':<12} {'seconds':>8} {'x linearnet':>12} {'max rel se diff':>16}")
    for loaded in (False, True):
        r = {} if args.no_r else r_times(X, y, groups, w, args.repeat, loaded)
        with busy(loaded):
            for case, tools in cases.items():
                ours, se = best_of(tools["linearnet"], args.repeat)
                theirs, se_sm = best_of(tools["statsmodels"], args.repeat)
                load = "busy" if loaded else "idle"
                diff = float(np.max(np.abs(np.asarray(se_sm) - se) / np.abs(se)))
                print(f"  {case:<17} {load:<6} {'linearnet':<12} {ours:8.3f} {1.0:12.1f}")
                print(f"  {'':<17} {'':<6} {'statsmodels':<12} {theirs:8.3f} {theirs / ours:12.1f} {diff:16.1e}")
                if case in r:
                    print(f"  {'':<17} {'':<6} {'R':<12} {r[case]:8.3f} {r[case] / ours:12.1f}")


if __name__ == "__main__":
    main()

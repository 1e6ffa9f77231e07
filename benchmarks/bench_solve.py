"""Exact least squares: linearnet.solve against what a user would otherwise call.

Speed on 1,000,000 × 100 float64 (one run, same arrays): numpy.linalg.lstsq,
scikit-learn's LinearRegression, statsmodels' OLS (fit + its standard errors),
torch.linalg.lstsq, forming XᵀX alone (numpy's X.T @ X), and linearnet's own first
pass (its one read of X); the ratios of scikit-learn's time and of XᵀX's to
linearnet's, from the same run, and how much of linearnet's time the read takes. Then the passes a
solve in chunks makes over its data (counted), and accuracy on hard designs, as correct
significant digits against exact rational arithmetic (the worst coefficient).

    python benchmarks/bench_solve.py
    python benchmarks/bench_solve.py --rows 200000      # a quicker look
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.dirname(__file__))

from bench_robust import busy, machine

from linearnet.leastsq import solve, solve_chunks
from linearnet.leastsq.gram import read

from exact import exact_ols


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def speed(rows, features, repeat):
    import statsmodels.api as sm
    import torch
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, features))
    y = X @ rng.standard_normal(features) + 1.0 + rng.standard_normal(rows)
    A = np.column_stack([np.ones(rows), X])
    Xt, yt = torch.from_numpy(A), torch.from_numpy(y).reshape(-1, 1)
    peers = {
        "linearnet solve (+ statistics)": lambda: solve(X, y).coef,
        "numpy.linalg.lstsq": lambda: np.linalg.lstsq(A, y, rcond=None)[0][1:],
        "sklearn LinearRegression": lambda: LinearRegression().fit(X, y).coef_,
        "statsmodels OLS (+ bse)": lambda: (lambda f: (f.bse, f.params[1:])[1])(sm.OLS(y, A).fit()),
        "torch.linalg.lstsq": lambda: torch.linalg.lstsq(Xt, yt).solution.numpy().ravel()[1:],
        "forming X^T X alone": lambda: X.T @ X,
        "linearnet's one read of X": lambda: read(X, y, True),
    }
    print(f"\nspeed on {rows:,} x {features} float64 (best of {repeat}, taken in turn)")
    print(f"  {'':<32} {'seconds':>8}  {'x linearnet':>11}  {'max |coef diff|':>15}")
    solve(X[:5000], y[:5000])  # once before the clock: the imports of a first solve
    results: dict = {}
    for _ in range(repeat):  # in turn, round after round: each ratio from times taken close together
        for name, fn in peers.items():
            seconds, coef = best_of(fn, 1)
            results[name] = min(results.get(name, (seconds, coef)), (seconds, coef), key=lambda r: r[0])
    ours, ref = results["linearnet solve (+ statistics)"]
    for name, (seconds, coef) in results.items():
        diff = (
            "" if name.startswith(("forming", "linearnet's one")) else f"{np.max(np.abs(np.asarray(coef) - ref)):15.1e}"
        )
        print(f"  {name:<32} {seconds:8.3f}  {seconds / ours:11.1f}  {diff}")
    beside_busy(peers, ours, repeat)
    return results


def beside_busy(peers, idle: float, repeat: int):
    """linearnet's solve and forming XᵀX alone beside one competing busy process (started and stopped here)."""
    names = ("linearnet solve (+ statistics)", "forming X^T X alone")
    with busy(True):
        solve_s, gram_s = (best_of(peers[name], repeat)[0] for name in names)
    print(
        f"  beside one busy process: linearnet solve {solve_s:.3f} s ({solve_s / idle:.2f}x its time above), "
        f"forming XᵀX alone {gram_s:.3f} s"
    )


def passes(rows: int = 200_000, features: int = 20, chunk: int = 20_000):
    """The passes a solve in chunks makes over its data, counted: well-conditioned, and with two nearly
    dependent columns (where refinement passes run, and a note says so)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((rows, features))
    y = X @ rng.standard_normal(features) + 1.0 + rng.standard_normal(rows)
    Xill = X.copy()
    Xill[:, 1] = X[:, 0] + 1e-5 * rng.standard_normal(rows)
    print(f"\npasses over the data of a solve in chunks ({rows:,} x {features}, chunks of {chunk:,} rows)")
    for name, A in (("well-conditioned", X), ("nearly dependent columns", Xill)):
        count = [0]

        def chunks(A=A, count=count):
            count[0] += 1
            for i in range(0, rows, chunk):
                yield A[i : i + chunk], y[i : i + chunk]

        t0 = time.perf_counter()
        fit = solve_chunks(chunks, [f"x{j}" for j in range(features)])
        seconds = time.perf_counter() - t0
        print(f"  {name:<26} {count[0]} pass(es), {seconds:.3f} s, method {fit.method}; notes: {fit.notes or 'none'}")


def accuracy():
    import statsmodels.api as sm

    x = np.arange(21.0)
    longley = sm.datasets.longley.load_pandas()
    problems = {
        "Longley (NIST, cond 5e9)": (longley.exog.to_numpy(float), longley.endog.to_numpy(float)),
        "Wampler1 (deg 5 on 0..20)": (
            np.vander(x, 6, increasing=True)[:, 1:],
            1 + np.vander(x, 6, increasing=True)[:, 1:].sum(axis=1),
        ),
        "degree 5 on 0..20, cos data": (np.vander(x, 6, increasing=True)[:, 1:], 10 * np.cos(x) + x),
        "degree 10 on 0..20 (cond 1e14)": (np.vander(x, 11, increasing=True)[:, 1:], 10 * np.cos(x) + x),
    }
    print("\naccuracy: correct significant digits of the worst coefficient (exact rational reference)")
    print(f"  {'':<32} {'linearnet':>9} {'lstsq':>6} {'statsmodels':>11} {'sklearn':>8}")
    from sklearn.linear_model import LinearRegression

    for name, (X, y) in problems.items():
        exact = np.array(exact_ols(X, y)[0])
        A = np.column_stack([np.ones(len(X)), X])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = LinearRegression().fit(X, y)
            estimates = [
                solve(X, y).params,
                np.linalg.lstsq(A, y, rcond=None)[0],
                sm.OLS(y, A).fit().params,
                np.r_[sk.intercept_, sk.coef_],
            ]
        digits = [min(16.0, float(np.min(-np.log10(np.abs(e - exact) / np.abs(exact) + 1e-17)))) for e in estimates]
        print(f"  {name:<32} {digits[0]:9.1f} {digits[1]:6.1f} {digits[2]:11.1f} {digits[3]:8.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    print(machine() + f"; numpy {np.__version__}; load average {os.getloadavg()[0]:.2f}")
    results = speed(args.rows, args.features, args.repeat)
    ours = results["linearnet solve (+ statistics)"][0]
    sk = results["sklearn LinearRegression"][0]
    gram = results["forming X^T X alone"][0]
    first = results["linearnet's one read of X"][0]
    print(
        f"\nlinearnet solve {ours:.3f} s: {sk / ours:.1f}x scikit-learn's LinearRegression (target >= 20), "
        f"{ours / gram:.2f}x forming XᵀX alone (numpy's X.T @ X)"
    )
    print(
        f"  linearnet's one read of X alone (XᵀX, Xᵀ[y, r₀, 1] on {min(2, os.cpu_count() or 1)} threads, β₀ from "
        f"the first rows) {first:.3f} s = {first / ours:.2f} of the solve; the rest: the k × k factorization "
        f"and the statistics"
    )
    passes()
    accuracy()


if __name__ == "__main__":
    main()

"""The multinomial logit to its optimum: linearnet against statsmodels, scikit-learn and R's nnet.

One run, the same data for every tool: a synthetic 1,000,000 × 20 float64 set with 5 classes drawn from
a multinomial logit (seeded; the classes overlap, so the optimum is finite), written as Parquet. The
tools: linearnet's ``solve_logit`` in this process on the arrays, and the whole ``linearnet solve
DATA.parquet --target y --model softmax --json`` process (start, read, fit, statistics, print); statsmodels'
``MNLogit(...).fit(method="newton")``; scikit-learn's ``LogisticRegression`` with the lbfgs and the
newton-cholesky solvers, unpenalized (``C=np.inf``), ``tol=1e-10``; and, when ``Rscript`` is found,
``nnet::multinom`` (``maxit = 1000``), its fit and its ``summary()`` (the standard errors) timed
separately inside R on data it has already read. Each is timed idle and again with one competing busy
process (started and stopped here); linearnet's times are the best of ``--repeat``, the peers' one run.

Agreement is in correct digits against a reference: two Newton steps from linearnet's optimum whose
gradient, log-likelihood and the Hessian's weights are computed in extended precision (numpy's long
double), the Hessian's blocks summed in float64 by a plain product per block. Coefficients: the largest
difference relative to the largest coefficient; standard errors: the largest relative difference;
log-likelihood: relative. Iris (versicolor against virginica, 100 × 4) is fitted by each tool for
agreement alone.

    python benchmarks/bench_logit.py
    python benchmarks/bench_logit.py --rows 100000      # a quicker look
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_robust import best_of, busy, machine

from linearnet.logit import solve_logit


@dataclass
class Fit:
    """A tool's answer in one layout: params and bse (p, K−1), the intercept first, a column per class
    against class 0; bse or llf None where the tool gives none."""

    params: np.ndarray
    bse: np.ndarray | None
    llf: float | None


def data(rows: int, features: int, classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows from a multinomial logit with coefficients of about 0.5: the classes overlap (finite optimum)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features))
    B = rng.standard_normal((features, classes)) * 0.5
    a = rng.standard_normal(classes) * 0.5
    y = np.argmax(X @ B + a + rng.gumbel(size=(rows, classes)), axis=1)  # Gumbel-max: a draw of the softmax
    return X, y.astype(np.int64)


def write_parquet(X: np.ndarray, y: np.ndarray, path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {f"x{j + 1}": X[:, j] for j in range(X.shape[1])}
    columns["y"] = y
    pq.write_table(pa.table(columns), path)


def reference(X: np.ndarray, y: np.ndarray, B: np.ndarray, steps: int = 2) -> Fit:
    """Newton steps from B (p, K−1) with the gradient and log-likelihood in long double."""
    A = np.column_stack([np.ones(len(X)), X])
    q = B.shape[1]
    for it in range(steps + 1):
        g = np.zeros(B.shape, dtype=np.longdouble)
        H = np.zeros((A.shape[1] * q, A.shape[1] * q))
        llf = np.longdouble(0)
        for s in range(0, len(A), 100_000):
            a, codes = A[s : s + 100_000], y[s : s + 100_000]
            eta = np.concatenate([np.zeros((len(a), 1)), a.astype(np.longdouble) @ B.astype(np.longdouble)], axis=1)
            top = eta.max(axis=1, keepdims=True)
            e = np.exp(eta - top)
            total = e.sum(axis=1, keepdims=True)
            P = e / total
            llf += (eta[np.arange(len(a)), codes] - top[:, 0] - np.log(total[:, 0])).sum()
            Y = np.zeros_like(P)
            Y[np.arange(len(a)), codes] = 1
            g += a.astype(np.longdouble).T @ (Y - P)[:, 1:]
            # 1 − P_k as the sum of the other classes' probabilities: no cancellation where P_k is near 1
            others = np.stack([np.delete(e, k, axis=1).sum(axis=1) for k in range(1, q + 1)], axis=1) / total
            for k in range(q):
                for l in range(q):
                    w = (P[:, 1 + k] * (others[:, k] if k == l else -P[:, 1 + l])).astype(np.float64)
                    H[k * len(B) : (k + 1) * len(B), l * len(B) : (l + 1) * len(B)] += (a * w[:, None]).T @ a
        if it == steps:
            break
        step = np.linalg.solve(H, g.astype(np.float64).T.ravel())  # class-major, as H
        B = B + step.reshape(q, -1).T
    bse = np.sqrt(np.diag(np.linalg.inv(H))).reshape(q, -1).T
    return Fit(B, bse, float(llf))


def digits(estimate, ref, relative_to_max: bool = False) -> float:
    """Correct significant digits of ``estimate`` against ``ref`` (the worst element), at most 16."""
    estimate, ref = np.asarray(estimate, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    scale = np.abs(ref).max() if relative_to_max else np.abs(ref)
    err = float(np.max(np.abs(estimate - ref) / scale))
    return float(min(16.0, -np.log10(err + 1e-17)))


def linearnet_fit(X, y, classes: int) -> Fit:
    r = solve_logit(X, y, classes=[str(k) for k in range(classes)])
    return Fit(r.params, r.bse, r.llf)


def statsmodels_fit(X, y) -> Fit:
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = sm.MNLogit(y, sm.add_constant(X, has_constant="add")).fit(method="newton", maxiter=100, disp=0)
    return Fit(np.asarray(r.params), np.asarray(r.bse), float(r.llf))


def sklearn_fit(X, y, solver: str) -> Fit:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = LogisticRegression(C=np.inf, solver=solver, tol=1e-10, max_iter=10_000).fit(X, y)
    if m.coef_.shape[0] == 1:  # two classes: one row, the second class against the first
        params = np.r_[m.intercept_, m.coef_[0]][:, None]
    else:  # a row per class, identified up to a shift: against class 0
        params = np.column_stack([m.intercept_[1:] - m.intercept_[0], m.coef_[1:] - m.coef_[0]]).T
    return Fit(params, None, -log_loss(y, m.predict_proba(X), normalize=False))


CHILD = """
import json, sys, numpy as np, pyarrow.parquet as pq
from linearnet.logit import solve_logit
t = pq.read_table(sys.argv[1])
X = np.column_stack([t.column(c).to_numpy() for c in t.column_names if c != "y"])
y = t.column("y").to_numpy()
r = solve_logit(X, y, classes=[str(k) for k in range(int(y.max()) + 1)])
print(json.dumps({"params": r.params.tolist(), "bse": r.bse.tolist(), "llf": r.llf}))
"""


def has_softmax_solve() -> bool:
    """Whether ``linearnet solve`` takes ``--model softmax`` here."""
    out = subprocess.run([sys.executable, "-m", "linearnet", "solve", "--help"], capture_output=True, text=True)
    return "softmax" in out.stdout


def process_fit(path: str, cli: bool) -> Fit:
    """The whole process: the CLI's ``solve --model softmax --json``, or without it a fresh Python reading the
    Parquet file with pyarrow and calling solve_logit."""
    if not cli:
        out = json.loads(subprocess.run([sys.executable, "-c", CHILD, path], capture_output=True, check=True).stdout)
        return Fit(np.array(out["params"]), np.array(out["bse"]), out["llf"])
    command = [sys.executable, "-m", "linearnet", "solve", path, "--target", "y", "--model", "softmax", "--json"]
    out = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
    keys = ("estimate", "stderr")
    cols = [
        [[c["intercept"][k], *(v[k] for v in c["coefficients"].values())] for k in keys]
        for c in out["classes"].values()
    ]
    return Fit(np.array([c[0] for c in cols]).T, np.array([c[1] for c in cols]).T, out["loglik"])


R_SCRIPT = """
suppressMessages(library(nnet))
d <- read.csv(commandArgs(TRUE)[1]); d$y <- factor(d$y)
fit_s <- system.time(fit <- multinom(y ~ ., d, maxit = 1000, trace = FALSE))[["elapsed"]]
sum_s <- system.time(s <- summary(fit))[["elapsed"]]
cat("times", fit_s, sum_s, fit$convergence, "\\n")
cat("llf", sprintf("%.17g", as.numeric(logLik(fit))), "\\n")
for (v in c("coefficients", "standard.errors")) cat(v, sprintf("%.17g", t(rbind(s[[v]]))), "\\n")
"""


def r_fit(X, y, folder: str, loaded: bool) -> tuple[float, float, int, Fit] | None:
    """R's seconds for multinom's fit and for summary(), its convergence code and its answer; None without R."""
    if shutil.which("Rscript") is None:
        return None
    path = os.path.join(folder, "logit.csv")
    if not os.path.exists(path):
        header = ",".join([*(f"x{j + 1}" for j in range(X.shape[1])), "y"])
        np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.17g", header=header, comments="")
    with busy(loaded):
        out = subprocess.run(["Rscript", "-e", R_SCRIPT, path], capture_output=True, text=True, check=True).stdout
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    q = int(y.max())
    params = np.array(lines["coefficients"], dtype=float).reshape(q, -1).T
    bse = np.array(lines["standard.errors"], dtype=float).reshape(q, -1).T
    fit_s, sum_s, code = lines["times"]
    return float(fit_s), float(sum_s), int(code), Fit(params, bse, float(lines["llf"][0]))


def row(name: str, seconds: float, fit: Fit | None, ref: Fit, ours: tuple[float, float], extra: str = "") -> None:
    ratios = f"{seconds / ours[0]:9.1f} {seconds / ours[1]:9.1f}"
    if fit is None:
        print(f"  {name:<34} {seconds:8.2f} {ratios}{extra}")
        return
    coef = f"{digits(fit.params, ref.params, relative_to_max=True):6.1f}"
    se = f"{digits(fit.bse, ref.bse):6.1f}" if fit.bse is not None else f"{'-':>6}"
    ll = f"{digits(fit.llf, ref.llf):6.1f}" if fit.llf is not None else f"{'-':>6}"
    print(f"  {name:<34} {seconds:8.2f} {ratios} {coef} {se} {ll}{extra}")


# long: one table, tool after tool, in both loads
def speed(args, folder: str) -> None:
    X, y = data(args.rows, args.features, args.classes)
    path = os.path.join(folder, f"logit_{args.rows}x{args.features}.parquet")
    write_parquet(X, y, path)
    cli = has_softmax_solve()
    counts = ", ".join(map(str, np.bincount(y)))
    print(
        f"\n{args.rows:,} x {args.features} float64, {args.classes} classes ({counts} rows), "
        f"Parquet {os.path.getsize(path) / 1e6:.0f} MB"
    )
    if not cli:
        print(
            "  (linearnet solve has no --model softmax here: the process is python -c reading the Parquet file "
            "with pyarrow and calling solve_logit)"
        )
    r_missing = args.no_r or shutil.which("Rscript") is None
    if r_missing:
        print("  (R's nnet::multinom left out: " + ("--no-r)" if args.no_r else "Rscript not found)"))
    ref = None
    header = f"  {'':<34} {'seconds':>8} {'/ in-proc':>9} {'/ process':>9} {'coef':>6} {'se':>6} {'loglik':>6}"
    for loaded in (False, True):
        what = "busy: one competing busy process" if loaded else "idle"
        load = os.getloadavg()[0]
        print(f"\n{what} (load average {load:.1f} before); correct digits against the reference")
        print(header)
        r = None if r_missing else r_fit(X, y, folder, loaded)
        with busy(loaded):
            t_in, ours = best_of(lambda: linearnet_fit(X, y, args.classes), args.repeat)
            t_proc, proc = best_of(lambda: process_fit(path, cli), args.repeat)
            if ref is None:
                ref = reference(X, y, ours.params)
            times = (t_in, t_proc)
            row("linearnet solve_logit (in-process)", t_in, ours, ref, times)
            row("linearnet " + ("solve --model softmax" if cli else "process (python -c)"), t_proc, proc, ref, times)
            peers = {
                "statsmodels MNLogit newton": lambda: statsmodels_fit(X, y),
                "sklearn lbfgs": lambda: sklearn_fit(X, y, "lbfgs"),
                "sklearn newton-cholesky": lambda: sklearn_fit(X, y, "newton-cholesky"),
            }
            seconds = {}
            for name, fn in peers.items():
                seconds[name], fit = best_of(fn, 1)
                row(name, seconds[name], fit, ref, times)
        if r is not None:
            fit_s, sum_s, code, fit = r
            row("R nnet::multinom (fit)", fit_s, fit, ref, times, "" if code == 0 else f"  (convergence {code})")
            row("R summary(multinom) (the SEs)", sum_s, None, ref, times)
        sk, sm = seconds["sklearn lbfgs"], seconds["statsmodels MNLogit newton"]
        print(
            f"  targets: the linearnet process is {sk / t_proc:.1f}x sklearn lbfgs (>= 3, aim 5), "
            f"{sm / t_proc:.1f}x statsmodels (>= 8, aim 20)"
        )


def iris_agreement() -> None:
    """Iris versicolor (0) against virginica (1): each tool's digits against the reference, R's glm too."""
    from sklearn.datasets import load_iris

    iris = load_iris()
    keep = iris.target > 0
    X, y = iris.data[keep], iris.target[keep] - 1
    ours = linearnet_fit(X, y, 2)
    ref = reference(X, y, ours.params)
    fits = {
        "linearnet solve_logit": ours,
        "statsmodels MNLogit newton": statsmodels_fit(X, y),
        "sklearn lbfgs": sklearn_fit(X, y, "lbfgs"),
        "sklearn newton-cholesky": sklearn_fit(X, y, "newton-cholesky"),
    }
    fits.update(r_iris(X, y))
    print("\niris versicolor vs virginica (100 x 4): correct digits against the reference")
    print(f"  {'':<34} {'coef':>6} {'se':>6} {'loglik':>6}")
    for name, fit in fits.items():
        coef = f"{digits(fit.params, ref.params, relative_to_max=True):6.1f}"
        se = f"{digits(fit.bse, ref.bse):6.1f}" if fit.bse is not None else f"{'-':>6}"
        ll = f"{digits(fit.llf, ref.llf):6.1f}" if fit.llf is not None else f"{'-':>6}"
        print(f"  {name:<34} {coef} {se} {ll}")


R_IRIS = """
suppressMessages(library(nnet))
d <- read.csv(commandArgs(TRUE)[1])
g <- glm(y ~ ., binomial, d, control = glm.control(epsilon = 1e-14, maxit = 100))
m <- multinom(factor(y) ~ ., d, maxit = 1000, reltol = 1e-14, trace = FALSE); s <- summary(m)
out <- function(name, b, se, ll) cat(name, sprintf("%.17g", c(ll, b, se)), "\\n")
out("glm", coef(g), sqrt(diag(vcov(g))), as.numeric(logLik(g)))
out("multinom", s$coefficients, s$standard.errors, as.numeric(logLik(m)))
"""


def r_iris(X, y) -> dict[str, Fit]:
    if shutil.which("Rscript") is None:
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "iris.csv")
        np.savetxt(path, np.column_stack([X, y]), delimiter=",", fmt="%.17g", header="a,b,c,d,y", comments="")
        out = subprocess.run(["Rscript", "-e", R_IRIS, path], capture_output=True, text=True, check=True).stdout
    fits = {}
    for line in out.splitlines():
        name, *values = line.split()
        v = np.array(values, dtype=float)
        p = (len(v) - 1) // 2
        fits[f"R {name}"] = Fit(v[1 : 1 + p, None], v[1 + p :, None], float(v[0]))
    return fits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--classes", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=2, help="linearnet's runs, the best kept")
    parser.add_argument("--folder", default=None, help="where the data files go (default: a temporary folder)")
    parser.add_argument("--no-r", action="store_true", help="leave R out")
    args = parser.parse_args(argv)
    print(machine())
    iris_agreement()
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        speed(args, folder)


if __name__ == "__main__":
    main()

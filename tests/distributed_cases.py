"""What each process of tests/test_distributed.py runs: ``python distributed_cases.py CASE OUTDIR``.

The launcher (tests/test_distributed.py, or torchrun) sets RANK, WORLD_SIZE, MASTER_ADDR and
MASTER_PORT. Each process writes what it found to OUTDIR/<rank>.pkl for the test to compare
with one process's answer.
"""

import os
import pickle
import sys
import warnings

import numpy as np

from linearnet import distributed
from linearnet.leastsq import solve_chunks

# --- designs the solve cases share with the test (which solves them in one process) -------------


def design(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(X, y, fit_intercept) of a named design."""
    rng = np.random.default_rng(len(name))
    if name == "well":
        X = rng.normal(size=(3000, 6))
        return X, X @ np.arange(1.0, 7.0) + 2.0 + rng.normal(size=3000), True
    if name == "ill":  # a polynomial on 1..3: scaled condition number 4e5 (the accurate path, TSQR)
        t = rng.uniform(1, 3, size=4000)
        X = np.column_stack([t**j for j in range(1, 7)])
        return X, np.sin(t) + 0.01 * rng.normal(size=4000), True
    if name == "small":  # n·k² small: the normal equations also in double-double
        X = rng.normal(size=(40, 3))
        return X, X @ [1.0, -2.0, 0.5] + rng.normal(size=40), True
    if name == "tiny":  # squares that would underflow: solved in rescaled units
        X = rng.normal(size=(500, 3)) * 1e-170
        return X, X @ [1e170, 2e170, 3e170] + rng.normal(size=500), True
    if name == "origin":
        X = rng.normal(size=(800, 4)) + 3
        return X, X @ [1.0, 2.0, 3.0, 4.0] + rng.normal(size=800), False
    raise ValueError(name)


DESIGNS = ["well", "ill", "small", "tiny", "origin"]
ROBUST = [(name, cov_type) for name in ("well", "ill", "tiny", "origin") for cov_type in ("HC1", "HC3", "cluster")]


def clusters(n: int) -> np.ndarray:
    """23 clusters, each with rows in every process's share."""
    return np.array([f"c{i * 7919 % 23}" for i in range(n)], dtype=object)


def cuts(n: int, size: int) -> list[int]:
    """Uneven shares, rank 0's empty when there are three or more processes."""
    if size == 1:
        return [0, n]
    if size == 2:
        return [0, n // 5, n]
    inner = [0, 0] + [n // 3 + (n - n // 3) * r // (size - 1) for r in range(1, size - 1)]
    return [*inner, n]


class chunks_of:
    """Passes over rows lo:hi in chunks of ``rows`` (uneven on purpose), as a file's share is read;
    ``bad_row``: a value refused there."""

    def __init__(self, X, y, lo, hi, rows=97, bad_row=None):
        self.X, self.y, self.lo, self.hi, self.rows, self.bad_row = X, y, lo, hi, rows, bad_row

    def _chunk(self, i):
        j = min(i + self.rows, self.hi)
        if self.bad_row is not None and i <= self.bad_row < j:
            raise ValueError(f"data.csv: column x1, row {self.bad_row + 1}: 'abc' is not a number")
        return self.X[i:j], self.y[i:j]

    def __call__(self):
        for i in range(self.lo, self.hi, self.rows):
            yield self._chunk(i)

    def shuffled(self, generator):
        import torch

        starts = list(range(self.lo, self.hi, self.rows))
        for k in torch.randperm(len(starts), generator=generator).tolist():
            yield self._chunk(starts[k])


class clustered_chunks(chunks_of):
    """Passes over rows lo:hi with their clusters, as ``chunks.carrying()`` gives them (other chunk sizes)."""

    def __init__(self, X, y, g, lo, hi):
        super().__init__(X, y, lo, hi, rows=61)
        self.g = g

    def __call__(self):
        for i in range(self.lo, self.hi, self.rows):
            j = min(i + self.rows, self.hi)
            yield self.X[i:j], self.y[i:j], self.g[i:j]


def solve_cases(group) -> dict:
    out: dict = {}
    for name in DESIGNS:
        X, y, intercept = design(name)
        c = cuts(len(X), group.size)
        lo, hi = c[group.rank], c[group.rank + 1]
        names = [f"x{j}" for j in range(X.shape[1])]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = solve_chunks(chunks_of(X, y, lo, hi), names, fit_intercept=intercept, group=group)
        out[name] = fit.to_dict() | {"method": fit.method, "params": fit.params, "bse": fit.bse}
    for name, cov_type in ROBUST:  # robust errors: one more pass; a cluster's sums gathered from every process
        X, y, intercept = design(name)
        c = cuts(len(X), group.size)
        lo, hi = c[group.rank], c[group.rank + 1]
        rows = clustered_chunks(X, y, clusters(len(X)), lo, hi) if cov_type == "cluster" else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = solve_chunks(
                chunks_of(X, y, lo, hi),
                [f"x{j}" for j in range(X.shape[1])],
                fit_intercept=intercept,
                group=group,
                cov_type=cov_type,
                groups=rows,
            )
        out[f"{name} {cov_type}"] = fit.to_dict() | {"params": fit.params, "bse": fit.bse, "cov": fit.cov_params()}
    # a bad value in the second process's share, and another in the third's: the second's is reported
    X, y, _ = design("well")
    c = cuts(len(X), group.size)
    lo, hi = c[group.rank], c[group.rank + 1]
    try:
        solve_chunks(chunks_of(X, y, lo, hi, bad_row=lo + 5 if group.rank else None), ["a"] * 6, group=group)
    except ValueError as exc:
        out["error"] = str(exc)
    # dependent columns: refused alike by every process
    X2 = np.column_stack([X[:, :2], X[:, 0] + X[:, 1]])
    try:
        solve_chunks(chunks_of(X2, y, lo, hi), ["a", "b", "c"], group=group)
    except ValueError as exc:
        out["dependent"] = str(exc)
    # weighted (rows of weight 0 among them), each process its share
    X, y, w = weighted_design()
    fit = solve_chunks(weighted_chunks_of(X, y, w, lo, hi), [f"x{j}" for j in range(6)], weights="w", group=group)
    out["weighted"] = fit.to_dict() | {"params": fit.params, "bse": fit.bse, "zero": fit.zero_weights}
    out.update(logit_cases(group))
    return out


def logit_design(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, class codes) of a named multinomial-logit design: "finite" (an optimum exists), "separated"
    (class 2 apart from the others along x0: no finite optimum)."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(2500, 4))
    eta = np.column_stack([np.zeros(len(X)), X @ [0.5, -1.0, 0.2, 0.0] + 0.3, X @ [-0.4, 0.3, 0.8, 1.0] - 0.2])
    P = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    y = (rng.random(len(X))[:, None] > P.cumsum(axis=1)).sum(axis=1)
    if name == "separated":
        y = np.where(X[:, 0] > 1.0, 2, np.minimum(y, 1))
    return X, y


def logit_cases(group) -> dict:
    """The multinomial logit over each process's share (uneven chunks): its statistics, to compare with one
    process's fit in memory."""
    from linearnet.logit import solve_logit_chunks

    out = {}
    for name in ("finite", "separated"):
        X, y = logit_design(name)
        c = cuts(len(X), group.size)
        fit = solve_logit_chunks(
            chunks_of(X, y, c[group.rank], c[group.rank + 1]),
            ["x0", "x1", "x2", "x3"],
            classes=["a", "b", "c"],
            group=group,
        )
        out[f"logit {name}"] = fit.to_dict() | {"params": fit.params, "cov": fit.cov, "llf": fit.llf}
    return out


def weighted_design() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X, y, _ = design("well")
    w = np.random.default_rng(11).uniform(0.2, 4.0, size=len(y))
    w[::50] = 0.0
    return X, y, w


class weighted_chunks_of(chunks_of):
    """Passes over rows lo:hi yielding (X, y, {"w": weights}), as a table's carrying passes do."""

    def __init__(self, X, y, w, lo, hi):
        super().__init__(X, y, lo, hi)
        self.w = w

    def __call__(self):
        for i in range(self.lo, self.hi, self.rows):
            X, y = self._chunk(i)
            yield X, y, {"w": self.w[i : i + len(y)]}


def train_cases(group) -> dict:
    from linearnet.experiment import run_experiment
    from linearnet.presets import make_experiment, make_train_config
    from linearnet.training import fit_chunks, fit_classifier

    out: dict = {}
    for impl in ("scratch", "concise", "fast"):  # every process draws the same data: one trajectory
        for key, kw in TRAJECTORIES.items():
            r = run_experiment(make_experiment(None, impl=impl, **kw), group=group)
            out[f"linear-{impl}-{key}"] = (r.history.losses, r.w, r.b)
        X, y = softmax_data()
        config = make_train_config(
            None, model="softmax", loss="cross_entropy", impl=impl, lr=0.1, batch_size=16, epochs=3
        )
        r = fit_classifier(X, y, config, num_classes=3, seed=4, group=group)
        out[f"softmax-{impl}"] = (r.history.losses, r.history.train_acc, r.W, r.b)
    # each process its own share (uneven), shuffled on its own: the fit lands near the exact one
    X, y, _ = design("well")
    c = cuts(len(X), group.size)
    config = make_train_config(
        None, impl="fast", lr=0.05, batch_size=32, epochs=15, lr_schedule="inverse-time", lr_decay=1.0
    )
    fit = fit_chunks(
        chunks_of(X, y, c[group.rank], c[group.rank + 1], rows=250),
        config,
        feature_names=[f"x{j}" for j in range(6)],
        seed=3,
        standardize=True,
        buffer_rows=600,
        group=group,
    )
    out["sharded"] = (fit.history.losses, fit.w, fit.b)
    return out


TRAJECTORIES = {
    "book": dict(num_examples=200, epochs=2),
    "partial": dict(num_examples=103, num_features=7, batch_size=10, epochs=3, lr=0.05, seed=5),
    "decay": dict(loss="squared", grad_reduction="sum", lr=0.002, batch_size=16, epochs=2, seed=2, weight_decay=0.1),
}


def softmax_data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(250, 4)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def main() -> None:
    case, folder = sys.argv[1], sys.argv[2]
    group = distributed.group(timeout=30)
    try:
        out = {"solve": solve_cases, "train": train_cases}[case](group)
        with open(f"{folder}/{group.rank}.pkl", "wb") as fh:
            pickle.dump(out, fh)
    finally:
        group.close()
    # out as the linearnet command goes (linearnet.cli.run): with no interpreter teardown, where a native
    # thread still joinable (here rank 0 hosts the rendezvous store) aborts a finished process now and then
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

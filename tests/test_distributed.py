"""Several processes on localhost (gloo, 127.0.0.1) give the answer of one.

The library cases run in tests/distributed_cases.py, launched here with the variables torchrun
sets (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); the command line runs under torchrun itself.
Every wait is bounded: a process still running at its deadline is killed and the test fails.
"""

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import distributed_cases as cases
import numpy as np
import pandas as pd
import pytest

from linearnet.distributed import Group, SameEverywhereError, local_batch
from linearnet.experiment import run_experiment
from linearnet.leastsq import solve, solve_chunks
from linearnet.presets import make_experiment, make_train_config
from linearnet.training import fit_classifier

HERE = Path(__file__).parent
DEADLINE = 90  # seconds any launch may take, start-up of each process (importing torch) included


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(rank: int, size: int, port: int) -> dict:
    return {
        **os.environ,
        "RANK": str(rank),
        "LOCAL_RANK": str(rank),
        "WORLD_SIZE": str(size),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "PYTHONUNBUFFERED": "1",  # each line as it is printed: a test waits for the first epoch's
    }


def start(size: int, argv: list[str], *, cwd=None, cwds=None) -> list[subprocess.Popen]:
    port = free_port()
    return [
        subprocess.Popen(
            argv,
            env=environment(rank, size, port),
            cwd=(cwds[rank] if cwds else cwd),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in range(size)
    ]


def finish(processes, deadline=DEADLINE) -> list[tuple[int, str, str]]:
    """Each process's (exit code, stdout, stderr); any still running at the deadline is killed."""
    end = time.monotonic() + deadline
    out = []
    try:
        for p in processes:
            stdout, stderr = p.communicate(timeout=max(0.1, end - time.monotonic()))
            out.append((p.returncode, stdout, stderr))
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.communicate()
    return out


def launch_cases(case: str, size: int, folder: Path) -> list[dict]:
    done = finish(start(size, [sys.executable, str(HERE / "distributed_cases.py"), case, str(folder)], cwd=HERE))
    for code, _, stderr in done:
        assert code == 0, stderr[-3000:]
    return [pickle.loads((folder / f"{rank}.pkl").read_bytes()) for rank in range(size)]


# --- the exact solve ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=[2, 3], ids=["2-processes", "3-processes"])
def solved(request, tmp_path_factory):
    return request.param, launch_cases("solve", request.param, tmp_path_factory.mktemp("solve"))


def one_process(name):
    X, y, intercept = cases.design(name)
    names = [f"x{j}" for j in range(X.shape[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return (
            solve_chunks(cases.chunks_of(X, y, 0, len(X)), names, fit_intercept=intercept),
            solve(X, y, fit_intercept=intercept, feature_names=names),
        )


@pytest.mark.parametrize("name", cases.DESIGNS)
def test_processes_solve_as_one_does(solved, name):
    _, outs = solved
    chunked, in_memory = one_process(name)
    mine = outs[0][name]
    for other in outs[1:]:  # every process returns the same numbers
        assert np.array_equal(other[name]["params"], mine["params"])
        assert np.array_equal(other[name]["bse"], mine["bse"])
    assert mine["method"] == chunked.method  # the same path
    for ref in (chunked, in_memory):
        np.testing.assert_allclose(mine["params"], ref.params, rtol=1e-10, atol=0)
        np.testing.assert_allclose(mine["bse"], ref.bse, rtol=1e-10, atol=0)
        for stat in ("sigma", "r2", "adj_r2", "n", "rss", "loglik", "aic", "bic"):
            assert mine[stat] == pytest.approx(ref.to_dict()[stat], rel=1e-10), stat
        f = ref.f_statistic()
        approx = (
            None
            if f is None
            else {**f, "value": pytest.approx(f["value"], rel=1e-10), "p": pytest.approx(f["p"], rel=1e-8, abs=1e-300)}
        )
        assert mine["f_statistic"] == approx


@pytest.mark.parametrize("name, cov_type", cases.ROBUST, ids=[" ".join(c) for c in cases.ROBUST])
def test_processes_give_the_robust_errors_of_one(solved, name, cov_type):
    _, outs = solved
    X, y, intercept = cases.design(name)
    g = cases.clusters(len(X)) if cov_type == "cluster" else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = solve(X, y, fit_intercept=intercept, cov_type=cov_type, groups=g)
    mine = outs[0][f"{name} {cov_type}"]
    for other in outs[1:]:  # every process returns the same numbers
        assert np.array_equal(other[f"{name} {cov_type}"]["bse"], mine["bse"])
    np.testing.assert_allclose(mine["bse"], ref.bse, rtol=1e-10, atol=0)
    if name != "tiny":  # its covariance overflows in the data's units (its standard errors are 1e170)
        np.testing.assert_allclose(
            mine["cov"], ref.cov_params(), rtol=1e-10, atol=1e-10 * np.abs(ref.cov_params()).max()
        )
    f = mine["f_statistic"]
    assert f["value"] == pytest.approx(ref.fvalue, rel=1e-10) and f["p"] == pytest.approx(ref.f_pvalue, rel=1e-8)
    assert mine["se_type"] == cov_type and mine.get("clusters") == (23 if cov_type == "cluster" else None)


def test_processes_solve_a_weighted_fit_as_one_does_in_memory(solved):
    _, outs = solved
    X, y, w = cases.weighted_design()
    ref = solve(X, y, weights=w, feature_names=[f"x{j}" for j in range(6)])
    mine = outs[0]["weighted"]
    for other in outs[1:]:
        assert np.array_equal(other["weighted"]["params"], mine["params"])
    np.testing.assert_allclose(mine["params"], ref.params, rtol=1e-10, atol=0)
    np.testing.assert_allclose(mine["bse"], ref.bse, rtol=1e-10, atol=0)
    for stat in ("sigma", "r2", "adj_r2", "n", "loglik", "aic", "bic"):
        assert mine[stat] == pytest.approx(ref.to_dict()[stat], rel=1e-10), stat
    assert mine["zero"] == ref.zero_weights == 60


@pytest.mark.parametrize("name", ["finite", "separated"])
def test_processes_fit_the_multinomial_logit_as_one_does_in_memory(solved, name):
    from linearnet.logit import solve_logit

    _, outs = solved
    X, y = cases.logit_design(name)
    ref = solve_logit(X, y, classes=["a", "b", "c"], feature_names=["x0", "x1", "x2", "x3"])
    mine = outs[0][f"logit {name}"]
    for other in outs[1:]:  # every process returns the same numbers
        assert np.array_equal(other[f"logit {name}"]["params"], mine["params"])
    assert mine["converged"] == ref.converged == (name == "finite")
    assert mine["separation"] == ref.separation and (ref.separation is None) == (name == "finite")
    assert mine["iterations"] == ref.iterations
    if name == "finite":  # the same iterates; sums added in another order move the last digits only
        np.testing.assert_allclose(mine["params"], ref.params, rtol=1e-10, atol=0)
        np.testing.assert_allclose(mine["cov"], ref.cov, rtol=1e-10, atol=1e-10 * np.abs(ref.cov).max())
    assert mine["llf"] == pytest.approx(ref.llf, rel=1e-10)


def test_the_designs_take_every_path():
    methods = {name: one_process(name)[0] for name in cases.DESIGNS}
    assert methods["ill"].method == "tsqr" and methods["ill"].scaled_condition_number > 1e5
    assert methods["well"].method == "cholesky"
    assert {"x0"} <= set(methods["tiny"].feature_names)


def test_the_shares_are_uneven_and_one_is_empty():
    assert cases.cuts(3000, 3)[:2] == [0, 0]  # rank 0 holds no rows
    assert np.diff(cases.cuts(3000, 2)).tolist() == [600, 2400]


def test_the_first_bad_value_in_the_data_is_reported_by_every_process(solved):
    size, outs = solved
    X, _, _ = cases.design("well")
    lo = cases.cuts(len(X), size)[1]  # process 1's first row: the first planted (the next process has one too)
    for out in outs:
        assert out["error"] == f"process 1: data.csv: column x1, row {lo + 6}: 'abc' is not a number"
        assert out["dependent"].startswith("the columns a, b, c are linearly dependent (rank 3 of 4")


# --- training ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return launch_cases("train", 2, tmp_path_factory.mktemp("train"))


@pytest.mark.parametrize("impl", ["scratch", "concise", "fast"])
@pytest.mark.parametrize("key", list(cases.TRAJECTORIES))
def test_two_processes_on_the_same_rows_follow_one_trajectory(trained, impl, key):
    one = run_experiment(make_experiment(None, impl=impl, **cases.TRAJECTORIES[key]))
    losses, w, b = trained[0][f"linear-{impl}-{key}"]
    assert len(losses) == len(one.history.losses)
    np.testing.assert_allclose(losses, one.history.losses, rtol=1e-4)
    np.testing.assert_allclose(w, one.w, rtol=0, atol=1e-5)
    assert b == pytest.approx(one.b, abs=1e-5)
    assert trained[1][f"linear-{impl}-{key}"] == trained[0][f"linear-{impl}-{key}"]


@pytest.mark.parametrize("impl", ["scratch", "concise", "fast"])
def test_softmax_regression_in_two_processes_follows_one(trained, impl):
    X, y = cases.softmax_data()
    config = make_train_config(None, model="softmax", loss="cross_entropy", impl=impl, lr=0.1, batch_size=16, epochs=3)
    one = fit_classifier(X, y, config, num_classes=3, seed=4)
    losses, accuracy, W, b = trained[0][f"softmax-{impl}"]
    np.testing.assert_allclose(losses, one.history.losses, rtol=1e-4)
    assert accuracy == one.history.train_acc
    np.testing.assert_allclose(W, one.W, atol=1e-5)
    np.testing.assert_allclose(b, one.b, atol=1e-5)


def test_sharded_sgd_lands_within_two_standard_errors_of_the_exact_solve(trained):
    X, y, _ = cases.design("well")
    exact = solve(X, y)
    losses, w, b = trained[0]["sharded"]
    assert np.all(np.abs(np.asarray([b, *w]) - exact.params) < 2 * exact.bse)
    floor = exact.sigma**2 * exact.df_resid / exact.n / 2  # the half-squared loss at the optimum
    assert floor <= losses[-1] < floor * 1.001
    assert trained[1]["sharded"] == trained[0]["sharded"]


def test_each_process_takes_its_part_of_a_batch():
    assert [local_batch(10, r, 3) for r in range(3)] == [3, 3, 4]
    with pytest.raises(ValueError, match=r"the batch size \(1\) must be at least the number of processes \(2\)"):
        local_batch(1, 0, 2)


def test_one_process_alone_needs_no_launcher():
    alone = Group.alone()
    assert (alone.rank, alone.size) == (0, 1)
    assert alone.everyone(lambda: 7) == [7]
    assert alone.all_sum(np.ones(2)).tolist() == [1.0, 1.0]
    with pytest.raises(SameEverywhereError, match=r"^bad$"):  # a ValueError every process raises alike
        alone.everyone(lambda: (_ for _ in ()).throw(ValueError("bad")))
    with pytest.raises(TypeError, match=r"^kind$") as info:
        alone.everyone(lambda: (_ for _ in ()).throw(TypeError("kind")))
    assert isinstance(info.value, SameEverywhereError)


# --- the command line under torchrun --------------------------------------------------------------


@pytest.fixture(scope="module")
def sales(tmp_path_factory):
    """A folder of three Parquet files (row groups of 700 rows) and a CSV of the same rows."""
    folder = tmp_path_factory.mktemp("sales")
    rng = np.random.default_rng(11)
    n = 6000
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["price", "ads", "rain"])
    frame["revenue"] = frame @ [3.0, 1.5, -2.0] + 4.0 + rng.normal(size=n)
    (folder / "sales").mkdir()
    for i in range(3):
        part = frame.iloc[i * n // 3 : (i + 1) * n // 3]
        part.to_parquet(folder / "sales" / f"part-{i}.parquet", row_group_size=700, index=False)
    frame.to_csv(folder / "sales.csv", index=False)
    return folder


def torchrun(size: int, *argv, cwd) -> tuple[int, str, str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={size}"]
    p = subprocess.Popen(
        [*command, "-m", "linearnet", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return finish([p])[0]


def numbers(tree, at="") -> dict:
    """The numbers of a JSON object, by their path."""
    if isinstance(tree, dict):
        return {k: v for key, value in tree.items() for k, v in numbers(value, f"{at}/{key}").items()}
    return {at: tree} if isinstance(tree, (int, float)) else {}


def test_solve_under_torchrun_gives_the_answer_of_one_process(sales):
    code, out, err = torchrun(2, "solve", "sales", "--target", "revenue", "--out", "two.json", "--json", cwd=sales)
    assert code == 0, err
    from linearnet.cli import main

    assert main(["solve", str(sales / "sales.csv"), "--target", "revenue", "--out", str(sales / "one.json")]) == 0
    two, one = (json.loads((sales / f).read_text()) for f in ("two.json", "one.json"))
    np.testing.assert_allclose(two["coefficients"], one["coefficients"], rtol=1e-10)
    assert two["intercept"] == pytest.approx(one["intercept"], rel=1e-10)
    assert numbers(two["statistics"]) == pytest.approx(numbers(one["statistics"]), rel=1e-10, abs=1e-300)
    printed = json.loads(out)  # rank 0 alone prints: one JSON object
    assert printed["coefficients"]["price"]["estimate"] == pytest.approx(3.0, abs=0.05)
    assert "2 processes, each reading its share of the rows" in err


def test_the_multinomial_logit_under_torchrun_is_that_of_one_process(tmp_path):
    from linearnet.cli import main

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(3000, 2)), columns=["a", "b"])
    eta = np.column_stack([np.zeros(3000), frame.a - frame.b, 0.5 * frame.b - 0.2])
    p = np.exp(eta) / np.exp(eta).sum(axis=1, keepdims=True)
    frame["kind"] = np.array(["oak", "elm", "yew"])[(rng.random(3000)[:, None] > p.cumsum(axis=1)).sum(axis=1)]
    (tmp_path / "parts").mkdir()
    for i in range(3):  # each process its share of the files; elm, oak, yew: the classes of all of them
        frame.iloc[i * 1000 : (i + 1) * 1000].to_parquet(tmp_path / "parts" / f"p{i}.parquet", row_group_size=300)
    argv = ["solve", "parts", "--target", "kind", "--reference", "oak", "--json", "--out", "two.json"]
    code, out, err = torchrun(2, *argv, cwd=tmp_path)
    assert code == 0, err
    two = json.loads(out)
    assert main(["solve", str(tmp_path / "parts"), *argv[2:6], "--out", str(tmp_path / "one.json")]) == 0
    one = json.loads((tmp_path / "one.json").read_text())["statistics"]
    assert two["reference"] == "oak" and list(two["classes"]) == ["elm", "yew"] and two["converged"] is True
    assert numbers(two) == pytest.approx(numbers(one), rel=1e-10, abs=1e-300)
    assert json.loads((tmp_path / "two.json").read_text())["statistics"] == {k: two[k] for k in two if k != "notes"}
    assert two["notes"][-1] == "2 processes, each reading its share of the rows"


def test_a_weighted_solve_under_torchrun_gives_the_answer_of_one_process(tmp_path):
    rng = np.random.default_rng(12)
    frame = pd.DataFrame(rng.normal(size=(3000, 2)), columns=["a", "b"])
    frame["w"] = rng.uniform(0.1, 5, size=3000)
    frame.loc[::97, "w"] = 0.0
    frame["y"] = frame.a - 2 * frame.b + rng.normal(size=3000) / np.sqrt(frame.w + 0.1)
    frame["firm"] = [f"f{i * 7 % 23}" for i in range(3000)]  # clusters that span the shares
    (tmp_path / "parts").mkdir()
    for i in range(2):
        frame.iloc[i * 1500 : (i + 1) * 1500].to_parquet(tmp_path / "parts" / f"p{i}.parquet", row_group_size=400)
    for flags, cov in (([], {}), (["--cluster", "firm"], {"cov_type": "cluster", "groups": frame.firm})):
        argv = ["solve", "parts", "--target", "y", "--features", "a,b", "--weights", "w", "--json", *flags]
        code, out, err = torchrun(2, *argv, cwd=tmp_path)
        assert code == 0, err
        two = json.loads(out)
        one = solve(frame[["a", "b"]], frame.y, weights=frame.w, **cov).to_dict()
        assert numbers(two) == pytest.approx(numbers(one), rel=1e-10, abs=1e-300)
        assert two["n"] == 3000 - 31 and two["zero_weights"] == 31


def test_robust_errors_under_torchrun_are_those_of_one_process(sales):
    """Clusters that span the processes' shares (every Parquet file holds rows of every store)."""
    folder = sales / "stores"
    folder.mkdir()
    frame = pd.read_csv(sales / "sales.csv")
    frame["store"] = [f"s{i * 7 % 31}" for i in range(len(frame))]
    frame["revenue"] += np.abs(frame["price"]) * np.random.default_rng(2).normal(size=len(frame))
    for i in range(3):
        part = frame.iloc[i * 2000 : (i + 1) * 2000]
        part.to_parquet(folder / f"part-{i}.parquet", row_group_size=700, index=False)
    frame.to_csv(sales / "stores.csv", index=False)
    from linearnet.cli import main

    for flags in (["--cluster", "store"], ["--se", "HC3"]):
        argv = ["solve", "stores", "--target", "revenue", "--features", "price,ads,rain", *flags, "--json"]
        code, out, err = torchrun(2, *argv, cwd=sales)
        assert code == 0, err
        two = json.loads(out)
        assert main(["solve", str(sales / "stores.csv"), *argv[2:-1], "--out", str(sales / "one.json")]) == 0
        one = json.loads((sales / "one.json").read_text())["statistics"]
        assert numbers(two) == pytest.approx(numbers(one), rel=1e-10, abs=1e-300)
        assert two["se_type"] == one["se_type"] == ("cluster" if "--cluster" in flags else "HC3")
        assert two.get("clusters") == one.get("clusters") == (31 if "--cluster" in flags else None)


def test_train_under_torchrun_writes_one_model_near_the_exact_fit(sales):
    code, out, err = torchrun(
        2, "train", "--data", "sales.csv", "--target", "revenue", "--batch-size", "64", "--out", "sgd.json", cwd=sales
    )
    assert code == 0, err
    assert out.count("intercept") == 1  # rank 0 alone prints
    assert "the exact least-squares loss is" in out
    model = json.loads((sales / "sgd.json").read_text())
    assert model["features"] == ["price", "ads", "rain"]
    np.testing.assert_allclose(model["coefficients"], [3.0, 1.5, -2.0], atol=0.1)


def test_commands_that_run_in_one_process_say_so_under_a_launcher(tmp_path):
    (code, _, err), *_ = finish(start(2, [sys.executable, "-m", "linearnet", "presets"], cwd=tmp_path))
    assert code == 2
    assert err.strip() == (
        "linearnet presets: error: runs in one process: start it without torchrun (train and solve run in several)"
    )


def test_a_file_missing_on_one_machine_stops_every_process_at_the_start(sales, tmp_path):
    (tmp_path / "sales.csv").symlink_to(sales / "sales.csv")  # process 0 sees the file; process 1 does not
    other = tmp_path / "elsewhere"
    other.mkdir()
    argv = [sys.executable, "-m", "linearnet", "solve", "sales.csv", "--target", "revenue", "--timeout", "20"]
    (code0, _, err0), (code1, _, err1) = finish(start(2, argv, cwds=[tmp_path, other]))
    assert (code0, code1) == (2, 2)
    assert err0.startswith("linearnet solve: error: process 1: sales.csv:")
    assert err0.count("\n") == 1 and err1 == ""  # one line, from rank 0


@pytest.mark.parametrize("how", ["hangs", "dies"])
def test_a_process_that_hangs_or_dies_is_named_and_nothing_is_written(sales, how):
    argv = [sys.executable, "-m", "linearnet", "train", "--data", "sales.csv", "--target", "revenue"]
    argv += ["--max-epochs", "100000", "--tol", "0", "--timeout", "4", "--out", f"{how}.json"]
    processes = start(2, argv, cwd=sales)
    try:
        first = processes[0].stdout.readline()  # the first epoch's line: both are training
        assert first.startswith("epoch 1"), first
        os.kill(processes[1].pid, signal.SIGSTOP if how == "hangs" else signal.SIGKILL)
        t0 = time.monotonic()
        code, _, err = finish(processes[:1], deadline=30)[0]
        took = time.monotonic() - t0
    finally:
        processes[1].kill()
        processes[1].communicate()
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("linearnet train: error: process 1 (of 2) stopped answering")
    assert took < 4 + 10
    assert not (sales / f"{how}.json").exists()


# --- in this process: the same code paths with a group of one ---------------------------------------


@pytest.mark.parametrize("impl", ["scratch", "concise", "fast"])
def test_the_data_parallel_step_of_one_process_is_the_engine_s_own(impl):
    import torch

    from linearnet.batches import TensorSource
    from linearnet.distributed import DataParallel, Replicated
    from linearnet.training import fit, make_engine

    X, y = (torch.from_numpy(a) for a in cases.softmax_data())
    for model, labels, q in (("linear", X @ torch.tensor([1.0, 2.0, -1.0, 0.5]), 1), ("softmax", y, 3)):
        extra = {"model": "softmax", "loss": "cross_entropy"} if model == "softmax" else {"weight_decay": 0.01}
        config = make_train_config(None, impl=impl, lr=0.05, batch_size=7, epochs=2, **extra)
        runs = []
        for parallel in (False, True):
            engine = make_engine(config, torch.zeros(4, q), torch.zeros(q))
            source = TensorSource(X, labels.reshape(-1, 1) if model == "linear" else labels, classes=model == "softmax")
            if parallel:
                engine, source = DataParallel(engine, Group.alone()), Replicated(source, 0, 1, config.batch_size)
            history = fit(engine, source, config, generator=torch.Generator().manual_seed(1), record_steps=True)
            runs.append((history.step_losses, engine.parameters()))
        np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
        np.testing.assert_allclose(np.asarray(runs[1][1][0]), np.asarray(runs[0][1][0]), atol=1e-5)


def test_a_group_of_one_solves_as_no_group():
    X, y, _ = cases.design("ill")
    names = [f"x{j}" for j in range(X.shape[1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alone = solve_chunks(cases.chunks_of(X, y, 0, len(X)), names, group=Group.alone())
        plain = solve_chunks(cases.chunks_of(X, y, 0, len(X)), names)
    assert np.array_equal(alone.params, plain.params) and np.array_equal(alone.bse, plain.bse)


def test_streamed_sgd_with_a_group_of_one_lands_near_the_exact_fit():
    from linearnet.training import fit_chunks

    X, y, _ = cases.design("well")
    config = make_train_config(None, impl="fast", lr=0.05, batch_size=32, epochs=8, lr_schedule="inverse-time")
    fit = fit_chunks(
        cases.chunks_of(X, y, 0, len(X), rows=250),
        config,
        feature_names=[f"x{j}" for j in range(6)],
        standardize=True,
        buffer_rows=600,
        group=Group.alone(),
    )
    exact = solve(X, y)
    assert np.all(np.abs(np.asarray([fit.b, *fit.w]) - exact.params) < 3 * exact.bse)


def test_a_launcher_s_variables_name_the_process(monkeypatch, capsys):
    from linearnet.cli import _failed, main
    from linearnet.cli.common import launched_rank
    from linearnet.distributed import ProcessFailed

    monkeypatch.setenv("WORLD_SIZE", "1")
    assert launched_rank() is None
    monkeypatch.setenv("WORLD_SIZE", "two")
    assert launched_rank() is None
    monkeypatch.setenv("WORLD_SIZE", "3")
    monkeypatch.setenv("RANK", "2")
    assert launched_rank() == 2
    monkeypatch.setenv("RANK", "0")
    assert main(["plot", "normal", "--out", "x.png"]) == 2  # refused before joining anyone
    assert "runs in one process" in capsys.readouterr().err
    assert main(["solve", "x.csv", "--target", "y", "--timeout", "0"]) == 2
    assert capsys.readouterr().err == "linearnet solve: error: --timeout must be a number of seconds > 0, got 0.0\n"
    assert _failed(ProcessFailed("p", quiet=[0]), 1) and not _failed(ProcessFailed("p", quiet=[0]), 2)
    error = SameEverywhereError("x")  # raised alike everywhere: rank 0 says it
    assert _failed(error, 0) and not _failed(error, 1) and _failed(ValueError("y"), 1)
    assert _failed(ValueError("x"), None)


def test_rows_dropped_for_gaps_are_counted_over_every_share(tmp_path, capsys):
    from linearnet.cli import main

    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(400, 2)), columns=["a", "b"])
    frame["y"] = frame.a - frame.b + rng.normal(size=400)
    frame.loc[[3, 250, 390], "a"] = np.nan  # in the first process's share and in the second's
    frame.to_csv(tmp_path / "gaps.csv", index=False)
    argv = ["solve", "gaps.csv", "--target", "y", "--missing", "drop", "--json"]
    (code, out, err), _ = finish(start(2, [sys.executable, "-m", "linearnet", *argv], cwd=tmp_path))
    assert code == 0, err
    assert "note: dropped 3 rows with missing values over the 2 processes; process 0: dropped 1 of" in err
    assert main([*argv[:1], str(tmp_path / "gaps.csv"), *argv[2:]]) == 0
    one = json.loads(capsys.readouterr().out)
    two = json.loads(out)
    assert two["n"] == one["n"] == 397
    assert two["coefficients"]["a"]["estimate"] == pytest.approx(one["coefficients"]["a"]["estimate"], rel=1e-10)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--epochs", "2", "--json"],  # the book's synthetic run: the same rows in every process
        ["train", "--data", "flowers.csv", "--target", "species", "--max-epochs", "5", "--json"],  # softmax
    ],
    ids=["synthetic", "softmax"],
)
def test_runs_on_the_same_rows_in_two_processes_print_the_losses_of_one(tmp_path, capsys, argv):
    from linearnet.cli import main

    from flowers import make_flowers

    (tmp_path / "flowers.csv").write_text(make_flowers())
    (code, out, err), _ = finish(start(2, [sys.executable, "-m", "linearnet", *argv], cwd=tmp_path))
    assert code == 0, err
    two = json.loads(out)
    data = [str(tmp_path / a) if a.endswith(".csv") else a for a in argv]
    assert main(data) == 0
    one = json.loads(capsys.readouterr().out)
    losses = [r["loss"] for r in one["history"]]
    np.testing.assert_allclose([r["loss"] for r in two["history"]], losses, rtol=1e-4)


def test_machines_that_see_other_columns_stop_at_the_start(tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    for folder, columns in ((here, "a,b,y"), (there, "a,c,y")):
        folder.mkdir()
        (folder / "t.csv").write_text(columns + "\n" + "".join(f"{i},{i % 7},{i % 5}\n" for i in range(50)))
    argv = [sys.executable, "-m", "linearnet", "solve", "t.csv", "--target", "y", "--timeout", "20"]
    (code0, _, err0), (code1, _, err1) = finish(start(2, argv, cwds=[here, there]))
    assert (code0, code1) == (2, 2) and err1 == ""
    assert err0 == (
        "linearnet solve: error: t.csv: process 1 reads the columns a,c,y where process 0 reads a,b,y: every machine "
        "must see the same files\n"
    )


def test_a_process_whose_partners_never_come_says_so_within_the_timeout(sales):
    argv = [sys.executable, "-m", "linearnet", "solve", "sales.csv", "--target", "revenue", "--timeout", "2"]
    p = subprocess.Popen(argv, env=environment(0, 2, free_port()), cwd=sales, stderr=subprocess.PIPE, text=True)
    code, _, err = finish([p], deadline=40)[0]
    assert code == 1
    assert err.startswith("linearnet solve: error: could not join the other processes at 127.0.0.1:")
    assert "within 2 s" in err and err.count("\n") == 1


def test_the_commands_take_their_shared_path_with_a_group_of_one(sales, capsys):
    from linearnet.cli import build_parser, main

    def shared(*argv):
        args = build_parser().parse_args([str(a) for a in argv])
        args.group = Group.alone()  # what main() joins under a launcher
        assert args.handler(args) == 0
        return capsys.readouterr()

    csv = sales / "sales.csv"
    got = shared("solve", csv, "--target", "revenue", "--missing", "drop", "--json")
    assert "note: 1 processes, each reading its share of the rows" in got.err
    assert main(["solve", str(csv), "--target", "revenue", "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert json.loads(got.out)["coefficients"] == alone["coefficients"]
    got = shared("train", "--data", csv, "--target", "revenue", "--batch-size", "64", "--max-epochs", "3", "--json")
    fitted = json.loads(got.out)
    np.testing.assert_allclose(fitted["w"], [3.0, 1.5, -2.0], atol=0.1)
    assert fitted["exact_loss"] == pytest.approx(alone["sigma"] ** 2 * (alone["n"] - 4) / alone["n"] / 2, rel=1e-9)
    gaps = sales / "gaps.csv"
    frame = pd.read_csv(csv)
    frame.loc[10, "ads"] = np.nan  # a value gone from one row
    frame.to_csv(gaps, index=False)
    got = shared("solve", gaps, "--target", "revenue", "--missing", "drop")
    assert "dropped 1 rows with missing values over the 1 processes; process 0: dropped 1 of 6,000 rows" in got.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--lr", "-1"], "linearnet train: error: lr must be > 0, got -1; e.g. 0.03"),
        (
            ["train", "--data", "sales.csv", "--target", "revenue", "--batch-size", "1"],
            "linearnet train: error: the batch size (1) must be at least the number of processes (2): each process "
            "computes the gradient of its part of every batch",
        ),
    ],
    ids=["settings", "batch"],
)
def test_what_every_process_refuses_alike_is_said_once(sales, argv, message):
    done = finish(start(2, [sys.executable, "-m", "linearnet", *argv, "--timeout", "20"], cwd=sales))
    assert [code for code, _, _ in done] == [2, 2]
    assert [err.splitlines()[-1:] for _, _, err in done] == [[message], []]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["train", "--data", "sales.csv", "--formula", "revenue ~ price"],
            "linearnet train: error: --formula needs the whole table in one process: under torchrun each reads its "
            "share",
        ),
        (
            ["train", "--data", "sales.csv", "--target", "revenue", "--early-stopping"],
            "linearnet train: error: --early-stopping needs the whole table in one process: under torchrun each reads "
            "its share",
        ),
        (
            ["train", "--data", "sales.csv", "--target", "revenue", "--weights", "ads"],
            "linearnet train: error: --weights needs the whole table in one process: under torchrun each reads its "
            "share",
        ),
    ],
    ids=["train-formula", "early-stopping", "train-weights"],
)
def test_what_needs_the_whole_table_in_one_process_is_refused_under_a_launcher(sales, monkeypatch, argv, message):
    from linearnet.cli import build_parser
    from linearnet.cli.common import UsageError

    monkeypatch.chdir(sales)
    args = build_parser().parse_args(argv)
    args.group = Group.alone()  # what main() joins under a launcher
    with pytest.raises(UsageError) as refused:
        args.handler(args)
    assert str(refused.value) == message

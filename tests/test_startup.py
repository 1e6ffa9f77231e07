"""The ``linearnet`` program imports what a command needs and no more: a solve on a small file loads
neither pandas nor scipy (nor torch, numba, formulaic, matplotlib), ``--help`` not even numpy, and
what needs more (a formula, a category) still loads it and prints what it printed in a process where
pandas was there from the start."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HOUSES, HOMES = EXAMPLES / "houses.csv", EXAMPLES / "homes.csv"
HEAVY = {"pandas", "torch", "numba", "formulaic", "matplotlib", "sklearn", "statsmodels"}

# `python -m linearnet ARGS`, as the program runs (its own process, its exit without teardown), telling on
# stderr, as its last line, which modules it had loaded when it exited.
PROGRAM = """
import json, os, runpy, sys
exit = os._exit
def told(code):
    sys.stdout.flush()
    print("\\nMODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr, flush=True)
    exit(code)
os._exit = told
sys.argv = ["linearnet", *sys.argv[1:]]
try:
    runpy.run_module("linearnet", run_name="__main__", alter_sys=True)
except SystemExit as stop:  # --help
    told(stop.code or 0)
"""


def program(*argv) -> tuple[int, str, str, set[str]]:
    """Run the ``linearnet`` program: (exit code, stdout, stderr without the last line, modules loaded)."""
    done = subprocess.run([sys.executable, "-c", PROGRAM, *map(str, argv)], capture_output=True, text=True, timeout=120)
    err, _, last = done.stderr.rpartition("\nMODULES ")
    return done.returncode, done.stdout, err, set(json.loads(last))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith("scipy.stats"))


def test_a_small_solve_loads_no_pandas_and_no_scipy():
    code, out, err, modules = program("solve", HOUSES, "--target", "price")
    assert code == 0, err
    assert "R² 0.992344" in out and "p 4.792e-207" in out
    assert heavy(modules) == []
    assert [m for m in modules if m.split(".")[0] == "scipy"] == []  # triangular solves and tails of its own
    assert {"numpy", "pyarrow"} <= modules  # what it does need


@pytest.mark.parametrize("argv", [["--help"], ["solve", "--help"], ["train", "--help"], ["predict", "--help"]])
def test_help_loads_nothing_heavy(argv):
    code, out, err, modules = program(*argv)
    assert code == 0, err
    assert "usage: linearnet" in out
    assert [m for m in modules if m.split(".")[0] in HEAVY | {"numpy", "pyarrow", "scipy"}] == []


def test_help_lists_every_command_with_its_help():
    code, out, _, _ = program("--help")
    assert code == 0
    for command in ("train", "solve", "predict", "bench", "plot", "presets"):
        assert f"    {command} " in out or f"    {command}\n" in out


@pytest.mark.parametrize(
    ("argv", "needs"),
    [
        (["--formula", "price ~ area + C(city) + area:rooms", "--missing", "drop", "--json"], {"formulaic", "pandas"}),
        (["--target", "price", "--features", "area,city", "--missing", "drop", "--json"], set()),
    ],
    ids=["formula", "category"],
)
def test_a_formula_or_a_category_loads_what_it_needs_and_prints_the_same(capsys, argv, needs):
    """A formula loads formulaic and pandas on demand (after pyarrow looked for pandas), a category
    neither; both print the same numbers to the last digit as in a process that had pandas from the start."""
    code, out, err, modules = program("solve", HOMES, *argv)
    assert code == 0, err
    assert set(heavy(modules)) - {m for m in modules if m.split(".")[0] in needs} == set()
    assert needs <= modules
    import pandas  # noqa: F401 - in this process pyarrow finds pandas as it always did

    assert cli(capsys, "solve", HOMES, *argv) == (0, out, err)
    assert json.loads(out)


def test_the_library_keeps_pyarrow_as_it_was():
    """Only the program's own process is set up so: main() called from a program leaves pyarrow finding
    pandas on its first look."""
    code = (
        "import sys\n"
        "from linearnet.cli import main\n"
        f"main(['solve', {str(HOUSES)!r}, '--target', 'price'])\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("True")


def test_pyarrow_first_look_finds_no_pandas_and_leaves_imports_as_they_were(monkeypatch):
    """In the program's own process the first look pyarrow makes for pandas is made with pandas hidden; the
    import hook is gone afterwards, so a formula's ``import pandas`` still finds it."""
    import argparse
    import importlib.util

    from linearnet.cli import _pyarrow_without_pandas

    hooks = list(sys.meta_path)
    monkeypatch.delitem(sys.modules, "pandas", raising=False)
    _pyarrow_without_pandas(argparse.Namespace(data="houses.csv"), own_process=True)
    assert sys.meta_path == hooks and "pandas" not in sys.modules
    assert importlib.util.find_spec("pandas") is not None  # found as ever, by a formula's import

    _pyarrow_without_pandas(argparse.Namespace(data="houses.csv"), own_process=False)  # a library caller's
    assert sys.meta_path == hooks

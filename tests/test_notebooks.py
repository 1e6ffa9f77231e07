"""The example notebooks run clean top to bottom, and are stored with the outputs they produce.

They are stored executed, so that they read on GitHub. After changing a notebook, or linearnet
in a way that changes what a notebook prints, store fresh outputs with

    python tests/test_notebooks.py                       # every notebook
    python tests/test_notebooks.py examples/01-*.ipynb   # some of them

In a cell tagged ``nondeterministic`` (the timings of the vectorization benchmark) the numbers
are not compared, only the rest of the text; storing again keeps that cell's stored outputs.
Elsewhere numbers are compared with a tolerance (``printed.same_number``): the notebooks train in
float32, and another CPU or BLAS kernel sums in another order, so the last digits move.
"""

import os
import pathlib
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from printed import NUMBER, same_number

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.ipynb"))
NONDETERMINISTIC = "nondeterministic"
PUBLIC_MODULES = {"plot", "bench", "datasets", "d2l"}  # besides the names of linearnet itself
REGENERATE = "store fresh outputs with `python tests/test_notebooks.py`"


def execute(path: pathlib.Path) -> nbformat.NotebookNode:
    """The notebook at ``path`` run top to bottom in a fresh python3 kernel, from examples/ as cwd."""
    nb = nbformat.read(path, as_version=4)
    for cell in code_cells(nb):
        cell.outputs, cell.execution_count = [], None
    NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(EXAMPLES_DIR)}},
    ).execute()
    for cell in code_cells(nb):
        cell.metadata.pop("execution", None)  # timestamps would change the file on every run
    return nb


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def summary(cell) -> list[tuple]:
    """What a reader sees of a cell's outputs: the text, and which kinds of picture.

    Pictures are compared by kind only (their bytes depend on the matplotlib and freetype
    versions); in a cell tagged ``nondeterministic`` every number of the text is masked.
    """

    def text(t):
        if t is None or NONDETERMINISTIC not in cell.metadata.get("tags", []):
            return t
        return re.sub(r"\d+(\.\d*)?(e[-+]?\d+)?", "#", t)

    rows = []
    for out in cell.outputs:
        if out.output_type == "stream":
            rows.append(("stream", out.name, text(out.text)))
        elif out.output_type == "error":
            rows.append(("error", out.ename, text(out.evalue)))
        else:
            data = out.get("data", {})
            rows.append((out.output_type, tuple(sorted(data)), text(data.get("text/plain"))))
    return rows


def same_text(old, new) -> bool:
    """Whether two texts read the same: equal but for numbers that agree as ``printed.same_number`` says."""
    if old is None or new is None or old == new:
        return old == new
    old_numbers, new_numbers = NUMBER.findall(old), NUMBER.findall(new)
    if NUMBER.split(old) != NUMBER.split(new) or len(old_numbers) != len(new_numbers):
        return False
    return all(same_number(a, b) for a, b in zip(old_numbers, new_numbers, strict=True))


def same_outputs(old: list[tuple], new: list[tuple]) -> bool:
    """Whether two cells' summaries read the same: the same kinds of output, the same texts as same_text says."""
    return len(old) == len(new) and all(
        a[:-1] == b[:-1] and same_text(a[-1], b[-1]) for a, b in zip(old, new, strict=True)
    )


def where(i, cell) -> str:
    return f"code cell {i} ({cell.source.splitlines()[-1] if cell.source else ''!r})"


def stderr_and_errors(cell) -> list[str]:
    return [
        out.text if out.output_type == "stream" else f"{out.ename}: {out.evalue}"
        for out in cell.outputs
        if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr")
    ]


_fresh_runs: dict = {}


@pytest.fixture
def fresh(request):
    """The notebook run now; each notebook is run once per session, for all the tests that need it."""
    path = request.node.callspec.params["path"]
    if path not in _fresh_runs:
        try:
            _fresh_runs[path] = execute(path)
        except Exception as e:  # a notebook that fails fails every test that needs it, without running twice
            _fresh_runs[path] = e
    if isinstance(_fresh_runs[path], Exception):
        raise _fresh_runs[path]
    return _fresh_runs[path]


notebooks = pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])

# A notebook whose run takes a minute (two softmax regressions of 10 epochs on 12,000 images) is run only
# with the slow tests; its stored copy is checked in every run. 06 calls the book's functions, each of
# which tests/test_d2l.py, test_d2l_fashion.py and test_d2l_plotting.py check in the default run.
LONG_RUNS = {"06-the-books-chapter-3"}
run_notebooks = pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.stem in LONG_RUNS else p for p in EXAMPLES],
    ids=[p.stem for p in EXAMPLES],
)


def test_readme_lists_every_notebook():
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### Notebooks", 1)[-1].split("\n#", 1)[0]
    listed = re.findall(r"`(\d\d-[\w.-]+\.ipynb)`", section)
    assert listed, "the README's Notebooks section lists no notebook"
    assert sorted(listed) == [p.name for p in EXAMPLES]


@run_notebooks
def test_notebook_runs_without_errors_or_warnings(path, fresh):
    for i, cell in enumerate(code_cells(fresh)):
        problems = stderr_and_errors(cell)
        assert not problems, f"{where(i, cell)} wrote to stderr:\n" + "".join(problems)
        if re.search(r"\bplot_\w+\(|\bLiveLoss\(", cell.source):
            assert any("image/png" in out.get("data", {}) for out in cell.outputs), (
                f"{where(i, cell)} draws a figure but shows none"
            )


@notebooks
def test_notebook_is_stored_executed_and_clean(path):
    nb = nbformat.read(path, as_version=4)
    cells = code_cells(nb)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1)), (
        f"not stored run top to bottom in one kernel: {REGENERATE}"
    )
    home, repo = os.path.expanduser("~"), str(ROOT)
    for i, cell in enumerate(cells):
        at = where(i, cell)
        assert cell.outputs, f"{at} shows nothing: every example cell should show its result"
        assert not stderr_and_errors(cell), f"{at} is stored with an error or a warning"
        assert "execution" not in cell.metadata, f"{at} is stored with execution timestamps"
        private = set(re.findall(r"(?:from|import)\s+linearnet\.(\w+)", cell.source)) - PUBLIC_MODULES
        assert not private, f"{at} imports linearnet internals {sorted(private)}; use the public API"
        text = "".join(
            str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", "")) + str(out.get("evalue", ""))
            for out in cell.outputs
        )
        for local in (repo, home, "/tmp/"):
            assert local not in text, f"{at} is stored with a path of the machine it ran on ({local})"


@run_notebooks
def test_stored_outputs_are_what_the_notebook_prints(path, fresh):
    stored = nbformat.read(path, as_version=4)
    for i, (old, new) in enumerate(zip(code_cells(stored), code_cells(fresh), strict=True)):
        assert same_outputs(summary(old), summary(new)), (
            f"{where(i, old)} prints something else than stored: {REGENERATE}\n{summary(old)}\n{summary(new)}"
        )


@pytest.mark.parametrize(
    "old, new, same",
    [
        ("loss 0.000253", "loss 0.000253", True),
        ("[4.627669421281588e-05]", "[4.62768613902913e-05]", True),  # 3.6e-6 relative: another BLAS kernel
        ("w error: -0.0006988048553466797", "w error: -0.0006990432739257812", True),  # a float32 unit of w ≈ 3.4
        ("loss 0.000093", "loss 0.000094", True),  # a flipped last digit
        ("loss 0.000253", "loss 0.000263", False),  # a different result
        ("loss 0.039329", "loss 0.039529", False),
        ("epoch 1, loss 0.1", "epoch 2, loss 0.1", False),  # counts and labels are numbers too, and differ by 1
        ("loss 0.1", "cost 0.1", False),
        ("[0.1, 0.2]", "[0.1, 0.2, 0.3]", False),
    ],
)
def test_numbers_agree_within_what_another_machine_moves_them(old, new, same):
    assert same_text(old, new) is same


def store(paths) -> None:
    """Run each notebook and save it with its outputs (in place).

    A ``nondeterministic`` cell whose code did not change and which shows the same kinds of output
    keeps its stored outputs, so that storing again does not rewrite the timings in the file.
    """
    for path in paths:
        path = pathlib.Path(path).resolve()
        old = {cell.source: cell for cell in code_cells(nbformat.read(path, as_version=4))}
        nb = execute(path)
        for cell in code_cells(nb):
            before = old.get(cell.source)
            if (
                NONDETERMINISTIC in cell.metadata.get("tags", [])
                and before is not None
                and summary(before) == summary(cell)
                and not stderr_and_errors(before)
            ):
                cell.outputs = before.outputs
                for out in cell.outputs:
                    if "execution_count" in out:
                        out.execution_count = cell.execution_count
        nbformat.write(nb, path)
        print("stored", path.relative_to(ROOT))


if __name__ == "__main__":
    store(sys.argv[1:] or EXAMPLES)

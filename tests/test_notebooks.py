"""Every example notebook runs, top to bottom, with linearnet's public API (nbclient)."""
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.ipynb"))


def test_there_is_a_notebook_for_each_seed_topic():
    assert len(EXAMPLES) == 5


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    if "%matplotlib inline" in nb.cells[1].source:
        assert any("image/png" in o.get("data", {}) for o in outputs), "a figure should be shown"

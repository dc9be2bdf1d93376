"""Every notebook in notebooks/ executes top to bottom in quick mode (CR_ANISOTROPY_QUICK=1).

The notebooks are user documentation that must stay true: a cell that raises fails the suite.  Each runs in a
fresh kernel inside a temporary working directory so that outputs never land in the source tree.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: generous per-cell limit; the quick mode is designed for well under a minute per notebook
CELL_TIMEOUT_SECONDS = 600


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_executes_in_quick_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("CR_ANISOTROPY_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env={**os.environ, "CR_ANISOTROPY_QUICK": "1", "MPLBACKEND": "Agg"})

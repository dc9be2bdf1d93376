"""Every notebook in notebooks/ executes top to bottom in quick mode (CR_ANISOTROPY_QUICK=1).

The notebooks are user documentation that must stay true: a cell that raises fails the suite.  Their sources are
the jupytext percent-format scripts ``notebooks/NN_*.py`` (any such file is picked up); each runs in a fresh kernel
inside a temporary working directory so that outputs never land in the source tree.  The paired ``.ipynb`` (what
the docs render and what users open) must hold the same cells as its script: ``make notebooks`` re-syncs them.
"""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
jupytext = pytest.importorskip("jupytext")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
#: the notebook sources: two-digit prefix, percent-format script
SOURCES = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.py"))
#: generous per-cell limit; the quick mode is designed for well under a minute per notebook
CELL_TIMEOUT_SECONDS = 600


def _cells(notebook):
    """(type, source) of every cell: what a paired notebook and its script must share."""
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_notebook_sources_are_found():
    assert SOURCES, f"no notebooks/NN_*.py in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_paired_ipynb_holds_the_cells_of_its_script(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} missing: run `make notebooks` (jupytext --sync)"
    script = jupytext.read(source, fmt="py:percent")
    notebook = nbformat.read(paired, as_version=4)
    assert _cells(notebook) == _cells(script), f"{paired.name} is out of sync with {source.name}: `make notebooks`"


@pytest.mark.notebook
@pytest.mark.parametrize("source", SOURCES, ids=[path.stem for path in SOURCES])
def test_notebook_executes_in_quick_mode(source, tmp_path, monkeypatch):
    monkeypatch.setenv("CR_ANISOTROPY_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = jupytext.read(source, fmt="py:percent")
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute(env={**os.environ, "CR_ANISOTROPY_QUICK": "1", "MPLBACKEND": "Agg"})

"""Sphinx configuration of the cr-anisotropy documentation (``make docs``; warnings are errors).

Choices, and why:

* **Sphinx**, because the API reference must come from the numpydoc docstrings that the code already has
  (autodoc + autosummary + numpydoc read them as they are), and because Sphinx can run the same docstrings'
  ``Examples`` and cross-reference them; MkDocs would need a second docstring dialect.
* **MyST Markdown** (through myst-nb, which includes myst-parser) for the hand-written pages: the physics pages are
  mostly equations, and ``$...$`` / ``$$...$$`` with ``\\tag`` read the same in a terminal, on GitHub and in the
  rendered site; the committed validation report is already Markdown and is included as it is.
* **myst-nb with execution off** for the notebooks: the test suite already executes every notebook in quick mode,
  so the docs render the committed ``.ipynb`` (with whatever outputs were committed) instead of paying minutes of
  simulation per build.  A notebook that exists only as its jupytext script is converted on the fly.

Docstrings cite the physics pages as plain paths (``docs/physics/mixing_ode.md#rate-matrix``), which read well in
``help()``; :func:`_link_doc_paths` turns them into links here.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import types  # noqa: E402

import anisotropy  # noqa: E402  (after the path set-up)

# autosummary imports every submodule while it scans a package; ``python -m anisotropy.cli`` would parse Sphinx's
# own command line and exit, so that one module is replaced by an empty stand-in (it holds no documentation).
sys.modules.setdefault("anisotropy.cli.__main__", types.ModuleType("anisotropy.cli.__main__"))

project = "cr-anisotropy"
author = "the cr-anisotropy developers"
copyright = "2026, " + author
release = anisotropy.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

exclude_patterns = ["_build", "README.md", "**/.ipynb_checkpoints", "validation/quick/**", "validation/calibration/**",
                    "validation/emulator_loo_*.md",
                    "validation/emulator_nside32.md", "validation/pair_diagnostics_tables.md"]
templates_path = ["_templates"]
html_theme = "alabaster"
html_theme_options = {"description": "small-scale anisotropy of TeV-PeV cosmic rays", "fixed_sidebar": True}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}

# --- Markdown pages ---------------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True
nb_execution_mode = "off"
suppress_warnings = ["myst.header"]  # the committed validation report starts at heading level 2 in places

# --- API reference ----------------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_inherit_docstrings = False  # the standard library's docstrings are not ours to render
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters sections already give the types, in words
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# --- notebooks: render the committed .ipynb (or the jupytext script when no .ipynb exists) ------------------------
NOTEBOOK_SOURCES = ROOT / "notebooks"
NOTEBOOK_PAGES = DOCS / "notebooks" / "generated"


def _collect_notebooks() -> None:
    """Copy every notebooks/NN_*.ipynb into the docs tree; convert a NN_*.py that has no .ipynb yet."""
    import jupytext

    shutil.rmtree(NOTEBOOK_PAGES, ignore_errors=True)
    NOTEBOOK_PAGES.mkdir(parents=True)
    for script in sorted(NOTEBOOK_SOURCES.glob("[0-9][0-9]_*.py")):
        paired = script.with_suffix(".ipynb")
        notebook = jupytext.read(paired) if paired.exists() else jupytext.read(script, fmt="py:percent")
        # a notebook written from its script carries no kernel metadata; the code cells are Python all the same
        kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
        notebook.metadata.setdefault("kernelspec", kernel)
        notebook.metadata.setdefault("language_info", {"name": "python"})
        jupytext.write(notebook, NOTEBOOK_PAGES / paired.name, fmt="ipynb")


_collect_notebooks()

# --- docstrings: plain-path references to the docs pages become links --------------------------------------------
_DOC_PATH = re.compile(r"``?(docs/[\w/.-]+?\.md)(#[\w-]+)?``?|(?<![\w/`])(docs/[\w/.-]+?\.md)(#[\w-]+)?")


def _doc_link(match: re.Match) -> str:
    path = match.group(1) or match.group(3)
    anchor = match.group(2) or match.group(4) or ""
    target = "/" + path[len("docs/"):-len(".md")]
    if anchor:
        return f":ref:`{path}{anchor} <{anchor[1:]}>`"
    return f":doc:`{path} <{target}>`"


def _link_doc_paths(app, what, name, obj, options, lines) -> None:
    """Turn ``docs/physics/x.md#anchor`` in a docstring into a link (plain text stays readable in help())."""
    for index, line in enumerate(lines):
        if "docs/" in line:
            lines[index] = _DOC_PATH.sub(_doc_link, line)


# --- docstrings: plain-text conventions of the code that reStructuredText would misread ----------------------------
# |x| (absolute values) is a substitution reference in reST; only the opening bar needs escaping.  Text inside
# backticks (literals, :math: roles) and inside ``.. math::`` blocks is left alone.
_BACKTICKED = re.compile(r"(:\w+:)?`+[^`]*`+_?")
_ABSOLUTE_VALUE = re.compile(r"(?<![\\\w|])\|(?=[^\s|])([^|`]*?[^\s|\\])\|(?![\w|])")
_UNDERLINE = re.compile(r"^(\s*)([-=~^])\2{2,}\s*$")


def _escape_outside_backticks(line: str) -> str:
    pieces, position = [], 0
    for literal in _BACKTICKED.finditer(line):
        pieces.append(_ABSOLUTE_VALUE.sub(r"\\|\1|", line[position:literal.start()]))
        pieces.append(literal.group(0))
        position = literal.end()
    pieces.append(_ABSOLUTE_VALUE.sub(r"\\|\1|", line[position:]))
    return "".join(pieces)


def _plain_text_to_rest(app, what, name, obj, options, lines) -> None:
    """Escape |x| outside literals and math; lengthen section underlines that a longer title outgrew."""
    math_indent = None
    for index, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        if math_indent is not None and (not line.strip() or indent > math_indent):
            continue
        math_indent = None
        if line.lstrip().startswith(".. math::"):
            math_indent = indent
            continue
        underline = _UNDERLINE.match(line)
        if underline and index > 0 and lines[index - 1].strip():
            title = lines[index - 1].rstrip()
            lines[index] = underline.group(1) + underline.group(2) * max(len(title) - len(underline.group(1)), 3)
            continue
        if "|" in line:
            lines[index] = _escape_outside_backticks(line)


def setup(app):
    # after the links, so that a section title that gained a link gets an underline of its final length
    app.connect("autodoc-process-docstring", _plain_text_to_rest, priority=700)
    app.connect("autodoc-process-docstring", _link_doc_paths, priority=600)

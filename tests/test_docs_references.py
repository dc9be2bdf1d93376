"""Every docs page a docstring, comment or notebook cites exists, and so does the section it names.

Sources cite the documentation as plain paths, ``docs/physics/mixing_ode.md#rate-matrix``; the anchor is a MyST
target ``(rate-matrix)=`` on that page.  A renamed page or section would otherwise leave dangling references that
only a reader notices.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("anisotropy", "validation", "theory", "notebooks", "benchmarks", "tests")
#: a docs path, optionally with a section anchor
REFERENCE = re.compile(r"\b(docs/[\w/.-]+?\.md)(?:#([\w-]+))?")
LABEL = re.compile(r"^\((?P<label>[\w-]+)\)=\s*$", re.MULTILINE)


def _references():
    found = {}
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in {".py", ".md"} or not path.is_file() or path == Path(__file__).resolve():
                continue
            for page, anchor in REFERENCE.findall(path.read_text(encoding="utf-8")):
                found.setdefault((page, anchor), path.relative_to(ROOT).as_posix())
    return sorted(found.items())


REFERENCES = _references()


def test_sources_cite_the_docs():
    assert REFERENCES, "no docs/...md references found in the sources"


@pytest.mark.parametrize(("reference", "where"), REFERENCES, ids=[f"{p}#{a}" if a else p for (p, a), _ in REFERENCES])
def test_cited_docs_page_and_section_exist(reference, where):
    page, anchor = reference
    path = ROOT / page
    assert path.is_file(), f"{where} cites {page}, which does not exist"
    if anchor:
        labels = LABEL.findall(path.read_text(encoding="utf-8"))
        assert anchor in labels, f"{where} cites {page}#{anchor}; the page has no target ({anchor})="

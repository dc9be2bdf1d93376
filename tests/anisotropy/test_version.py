"""The version is written in one place, anisotropy/_version.py, and the distribution's metadata reads it."""

from pathlib import Path

import pytest
from packaging.version import Version

import anisotropy
from anisotropy import _version

ROOT = Path(__file__).resolve().parents[2]


def test_version_is_a_pep440_string_exported_by_the_package():
    assert str(Version(_version.__version__)) == _version.__version__
    assert anisotropy.__version__ == _version.__version__


def test_pyproject_takes_the_version_from_the_version_module():
    tomllib = pytest.importorskip("tomllib")  # standard library from Python 3.11
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "anisotropy/_version.py"

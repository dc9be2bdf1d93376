"""The κ∥ comparison over the committed slab campaigns (validation.parallel_diffusion_check).

The committed JSON is what the module computes from the committed sources, and the committed table is that JSON
rendered; a case outside a theory's domain is listed with the reason, not dropped.
"""

import json

import pytest

from anisotropy.errors import ParameterError
from validation.pair_diagnostics import DOCS
from validation.parallel_diffusion_check import SOURCES, compare, markdown_tables

#: the theories are quadratures at epsrel ≤ 1e-9; another platform may round them differently
QUADRATURE_TOLERANCE = 1e-8


@pytest.fixture(scope="module")
def committed():
    return json.loads((DOCS / "parallel_diffusion.json").read_text())


def test_committed_rows_are_recomputed_from_the_committed_campaigns(committed):
    rows = [row for source in SOURCES for row in compare(source)]
    assert len(rows) == len(committed["rows"])
    for row, stored in zip(rows, committed["rows"]):
        assert row["case"] == stored["case"] and row["kappa_simulated"] == stored["kappa_simulated"]
        for theory in ("kappa_qlt", "kappa_soqlt"):
            if stored[theory] is None:
                assert row[theory] is None and row[f"{theory}_refused"] == stored[f"{theory}_refused"]
            else:
                assert row[theory] == pytest.approx(stored[theory], rel=QUADRATURE_TOLERANCE)


def test_committed_table_is_the_committed_json(committed):
    assert (DOCS / "parallel_diffusion_tables.md").read_text() == markdown_tables(committed["rows"])


def test_cases_without_a_resonant_mode_are_listed_with_the_reason(committed):
    refused = [row for row in committed["rows"] if row["kappa_soqlt"] is None]
    assert refused and all(row["reduced_rigidity"] == 1.0 for row in refused)
    assert all("reduced_rigidity" in row["kappa_soqlt_refused"] for row in refused)
    assert "no finite κ∥" in markdown_tables(refused)


def test_an_unknown_source_is_refused_by_name():
    with pytest.raises(ParameterError, match="source"):
        compare("campaign_nside64")


def test_module_examples_run():
    import doctest
    import importlib

    module = importlib.import_module("validation.parallel_diffusion_check")
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0 and outcome.failed == 0

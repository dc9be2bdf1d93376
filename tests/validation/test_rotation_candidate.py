"""The relative-rotation candidate's evaluation (validation.rotation_candidate) and its committed results."""

import json

import numpy as np
import pytest

from validation.pair_diagnostics import DOCS
from validation.rotation_candidate import CASES, evaluate_case, markdown_tables

#: the instrument records at whole numbers of its own time step, which shifts its ages by up to 0.2 % from the
#: even grid the model uses
AGE_TOLERANCE = 2e-3
RECORDS = {record["directory"]: record for record in json.loads((DOCS / "pair_diagnostics.json").read_text())}


@pytest.fixture(scope="module")
def small_result():
    # 64 pairs per node in 4 groups: a smoke run of the whole chain on the cheapest case
    return evaluate_case(RECORDS["slab_eta0.5_rho0.3"], 64, "dupree", groups=4)


def test_small_case_has_every_field_and_its_chi2(small_result):
    record = RECORDS["slab_eta0.5_rho0.3"]
    exact = np.array(record["ratio"]["exact"][1:])
    error = np.array(record["ratio_error"]["exact"][1:])
    assert small_result["dof"] == 7 == len(small_result["ratio"]) == len(small_result["ratio_error"])
    assert small_result["chi2_exact_error"] == pytest.approx(np.sum(((small_result["ratio"] - exact) / error) ** 2))
    assert small_result["chi2_both_errors"] <= small_result["chi2_exact_error"]


def test_closure_chi2_are_the_pair_diagnostics_tables(small_result):
    # the same χ² as docs/validation/pair_diagnostics_tables.md prints for this case (one-ΔT 146.2, born 221.8)
    assert small_result["closure_chi2"]["one-ΔT"] == pytest.approx(146.2, abs=0.05)
    assert small_result["closure_chi2"]["born"] == pytest.approx(221.8, abs=0.05)


def test_model_ages_are_the_instrument_ages(small_result):
    assert np.allclose(small_result["y_ages"], RECORDS["slab_eta0.5_rho0.3"]["y_ages"], rtol=AGE_TOLERANCE)


def test_committed_tables_are_the_committed_json_rendered():
    document = json.loads((DOCS / "rotation_candidate.json").read_text(encoding="utf-8"))
    assert list(document["cases"]) == list(CASES)
    assert markdown_tables(document) == (DOCS / "rotation_candidate_tables.md").read_text(encoding="utf-8")


def test_an_interrupted_run_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    from validation import rotation_candidate

    cases = {"slab_eta0.5_rho0.3": (16, ("dupree",))}
    first = rotation_candidate.run(tmp_path / "a.json", None, cases=cases, checkpoint=tmp_path / "store")
    assert len(list((tmp_path / "store").glob("*.json"))) == 1

    def refuse(*args, **kwargs):
        raise AssertionError("a stored case was recomputed")

    monkeypatch.setattr(rotation_candidate, "evaluate_case", refuse)
    again = rotation_candidate.run(tmp_path / "b.json", None, cases=cases, checkpoint=tmp_path / "store")
    assert again["results"] == first["results"]

r"""validation.report: the quick report (`cr-anisotropy validate --quick`) end to end, and its atomic writing.

One quick report is built per test session of this module (module-scoped fixture, a few minutes of 2 cores); the
tests then check that every section, figure and number is there, and the physics that the quick report can assert
with its stated error model: the toy Monte Carlo against the exact mixing ODE (docs/physics/toy_model.md#toy-model).
Error model of that
check: ensemble scatter of the Monte Carlo (24 realisations); per multipole z = (MC − ODE)/σ follows a Student t
with 23 degrees of freedom, P(|t| > Z_LIMIT = 4) ≈ 5e-4, i.e. ≈ 1.6 % for the 30 multipoles of the report if
independent.  Seeds are fixed (the report's default), so the outcome is reproducible.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from anisotropy import cli
from validation import report

#: per-multipole acceptance of the toy comparison (module docstring)
Z_LIMIT = 4.0
#: PNG files start with these eight bytes
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("validate") / "validation-report"
    status = cli.main(["validate", "--quick", "--out", str(out)])
    assert status == 0
    return out, json.loads((out / "numbers.json").read_text())


def test_quick_report_has_every_section_and_every_linked_figure(quick_report):
    out, _ = quick_report
    text = (out / "report.md").read_text()
    for section in report.SECTIONS:
        assert re.search(rf"^## \d\. {re.escape(section)}$", text, flags=re.MULTILINE), section
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert any(link == "toy.png" for link in links) and any(link == "nside.png" for link in links)
    assert any(link.startswith("calibration/") for link in links)
    assert any(link.startswith("transport/") for link in links)
    for link in links:
        assert (out / link).read_bytes()[:8] == PNG_SIGNATURE, link
    assert (out / "calibration" / "calibration.json").exists()
    assert (out / "transport" / "transport.json").exists()
    assert not (out / "calibration" / "store").exists()  # checkpoints are not part of the report


def test_header_records_version_command_seeds_and_wall_time(quick_report):
    out, payload = quick_report
    header = payload["header"]
    from anisotropy._version import __version__

    assert header["package_version"] == __version__
    assert header["command"].startswith("cr-anisotropy validate --quick --seed 20261124")
    assert header["seed"] == report.DEFAULT_SEED
    assert header["component_seeds"] == {name: report.component_seed(report.DEFAULT_SEED, index) for index, name in
                                         enumerate(("toy", "calibration", "nside", "transport"))}
    assert header["wall_seconds"] > 0
    text = (out / "report.md").read_text()
    assert __version__ in text and header["command"] in text and str(report.DEFAULT_SEED) in text


def test_every_number_in_the_table_carries_an_error(quick_report):
    _, payload = quick_report
    rows = payload["numbers"]
    assert len(rows) > 30
    sections = {row["section"] for row in rows}
    assert {"toy", "calibration", "N_side", "transport"} <= sections
    for row in rows:
        # a number the run could not measure is reported as n/a (value None or nan); every measured one has an error
        if row["value"] is not None and np.isfinite(row["value"]):
            assert row["error"] is not None and np.isfinite(row["error"]), row


def test_toy_monte_carlo_in_the_report_agrees_with_the_exact_mixing_ode(quick_report):
    _, payload = quick_report
    z = np.asarray(payload["toy"]["z"])
    assert z.shape == (3, 10)
    assert np.all(np.abs(z) < Z_LIMIT), np.round(z, 2)
    # the ODE's truncation must be negligible against the Monte Carlo's relative errors (≥ 3 % here)
    assert payload["toy"]["ode_truncation_change"] < 0.01


def test_nside_convergence_is_paired_and_has_finite_errors(quick_report):
    _, payload = quick_report
    nside = payload["nside"]
    assert nside["nsides"] == [4, 8, 16] and nside["lmax"] == 4
    for row in nside["rows"].values():
        assert np.all(np.asarray(row["error"]) > 0) and np.all(np.isfinite(row["ratio"]))


def test_component_seeds_are_distinct_and_reproducible():
    seeds = [report.component_seed(7, index) for index in range(4)]
    assert len(set(seeds)) == 4
    assert seeds == [report.component_seed(7, index) for index in range(4)]
    assert report.component_seed(8, 0) != seeds[0]


def test_an_interrupted_build_leaves_the_previous_report_untouched(tmp_path, monkeypatch):
    out = tmp_path / "validation-report"
    out.mkdir()
    (out / "report.md").write_text("previous report")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "toy_exact_test", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.build_report(out, quick=True)
    assert (out / "report.md").read_text() == "previous report"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["validation-report"]  # no temporary directories



def test_progress_names_each_stage_on_stderr_before_running_it(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "toy_exact_test", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.build_report(tmp_path / "r", quick=True, progress=True)
    captured = capsys.readouterr()
    assert captured.err.startswith("validate [1/4] toy model") and captured.out == ""
    with pytest.raises(KeyboardInterrupt):
        report.build_report(tmp_path / "r", quick=True)  # progress off by default (the API stays quiet)
    assert capsys.readouterr().err == ""

def test_replacing_a_report_swaps_whole_directories(tmp_path):
    target = tmp_path / "report"
    target.mkdir()
    (target / "old.txt").write_text("old")
    building = tmp_path / ".building"
    building.mkdir()
    (building / "new.txt").write_text("new")
    report._replace_directory(building, target)
    assert sorted(path.name for path in target.iterdir()) == ["new.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["report"]


def test_negative_seed_is_rejected(tmp_path):
    from anisotropy.errors import ParameterError

    with pytest.raises(ParameterError, match="seed"):
        report.build_report(tmp_path / "r", seed=-1)
    assert not Path(tmp_path / "r").exists()


@pytest.mark.slow
def test_full_report_has_every_section_and_the_toy_agrees_with_the_ode(tmp_path):
    # the full sizes (docs/validation/README.md): 256 toy realisations give C_ℓ errors of 2-4 %, so the same
    # Z_LIMIT per multipole applies (t with 255 dof is Gaussian to 1e-3 at 4σ)
    out = tmp_path / "validation-report"
    payload = report.build_report(out, quick=False)
    text = (out / "report.md").read_text()
    for section in report.SECTIONS:
        assert f"{section}" in text
    assert np.all(np.abs(np.asarray(payload["toy"]["z"])) < Z_LIMIT)

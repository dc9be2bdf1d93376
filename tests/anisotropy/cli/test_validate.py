"""`cr-anisotropy validate`: options, input errors and how the command reaches validation.report.build_report.

The real quick report is built once, in tests/validation/test_report.py (through this command); here
build_report is replaced by a recorder so each option's effect is checked without rerunning the simulator.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from anisotropy import cli, predict
from anisotropy.cli import validate as cli_validate
from validation import report


@pytest.fixture
def recorded(monkeypatch):
    calls = []

    def fake_build_report(out_dir, **kwargs):
        calls.append({"out_dir": out_dir, **kwargs})
        return {"header": {"wall_seconds": 1.0}}

    monkeypatch.setattr(cli_validate, "build_report", fake_build_report)
    return calls


def test_defaults_are_full_mode_default_seed_serial_and_validation_report(recorded, capsys):
    assert cli.main(["validate"]) == 0
    (call,) = recorded
    assert call["out_dir"] == cli_validate.DEFAULT_OUT == "./validation-report"
    assert call["quick"] is False and call["seed"] == report.DEFAULT_SEED
    assert call["executor_name"] == "serial"
    assert call["progress"] is True  # the report takes minutes: the CLI names each stage
    assert call["command"] == f"cr-anisotropy validate --seed {report.DEFAULT_SEED} --executor serial " \
                              "--out ./validation-report"
    assert "report.md" in capsys.readouterr().out


def test_quick_seed_and_out_reach_the_report(recorded, tmp_path):
    out = tmp_path / "r"
    assert cli.main(["validate", "--quick", "--seed", "5", "--out", str(out)]) == 0
    (call,) = recorded
    assert call["quick"] is True and call["seed"] == 5 and call["out_dir"] == str(out)
    assert call["command"].startswith("cr-anisotropy validate --quick --seed 5 ")


def test_process_executor_with_workers_is_created_and_shut_down(recorded, monkeypatch):
    made = []

    class Recorder:
        def shutdown(self, wait=True):
            made.append("shutdown")

    def fake_make_executor(kind, workers=None):
        made.append((kind, workers))
        return Recorder()

    monkeypatch.setattr(cli_validate, "make_executor", fake_make_executor)
    assert cli.main(["validate", "--quick", "--executor", "process", "--workers", "2"]) == 0
    assert made == [("process", 2), "shutdown"]
    assert recorded[0]["workers"] == 2 and recorded[0]["executor_name"] == "process"


@pytest.mark.parametrize(("arguments", "name"), [
    (["--seed", "-3"], "seed"),
    (["--workers", "0"], "workers"),
    (["--executor", "mpi"], "executor"),
])
def test_bad_options_exit_2_with_one_line_naming_the_parameter(arguments, name, capsys, recorded):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", *arguments])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and name in message
    assert recorded == []


# ------------------------------------------------------------------------------------------------ --case
# A tiny case (6 realisations, N_side 8, T = 1 slab-QLT scattering time; a few seconds once numba is compiled):
# enough for the file contents and the chain, not for physics (the committed comparisons are in docs/validation).
TINY_CASE = ["--case", "slab:eta=0.5:rigidity=1", "--realisations", "6", "--nside", "8", "--time-factor", "1"]


@pytest.fixture(scope="module")
def tiny_case(tmp_path_factory):
    out = tmp_path_factory.mktemp("case")
    assert cli.main(["validate", *TINY_CASE, "--seed", "3", "--out", str(out)]) == 0
    return out, json.loads((out / "case.json").read_text())


def test_case_writes_json_with_chi2_dof_and_both_c1_ratios_and_a_figure(tiny_case):
    out, result = tiny_case
    assert (out / "case.png").stat().st_size > 0
    assert result["name"] == "slab_eta0.5_rho1" and result["seed"] == 3
    assert result["simulation"]["realisations"] == 6 and result["simulation"]["nside"] == 8
    # l = 2 up to the noise limit, at most N - 3 multipoles (an invertible full covariance)
    compared = result["compared_ells"]
    assert compared and compared[0] == 2 and len(compared) <= 6 - 3
    assert compared == result["usable_ells"][: len(compared)]
    assert result["dof"] == len(compared) and result["chi2"] >= 0.0
    assert 0.0 < result["hartlap"] < 1.0
    assert result["finite_time"]["dof"] == len(compared) and result["finite_time"]["chi2"] >= 0.0
    assert result["c1_ratio_sim"] > 0 and result["c1_ratio_sim_error"] > 0
    assert result["theory"]["closure"] == predict.DEFAULT_CLOSURE and result["theory"]["solver"] == "untruncated"
    # slab eta 0.5 at r_g = L_c: Omega tau_s = 3.4 < Omega DeltaT = 3.7, outside the closure's assumption
    assert result["theory"]["closure_assumption_violated"].startswith("Omega*DeltaT")
    assert result["theory"]["domain"]["validated"] is False
    assert result["package"]["version"]


def test_case_chi2_is_the_hartlap_scaled_full_covariance_chi2_of_the_written_ratios(tiny_case):
    _, result = tiny_case
    ells = result["compared_ells"]
    residual = np.array([result["ratio_sim"][ell] - result["ratio_theory"][ell] for ell in ells])
    covariance = np.array(result["covariance_compared"])
    assert covariance.shape == (len(ells), len(ells))
    np.testing.assert_allclose(np.sqrt(np.diag(covariance)), [result["ratio_sim_error"][ell] for ell in ells],
                               rtol=1e-12)
    chi2 = float(residual @ np.linalg.inv(covariance) @ residual)
    count = result["simulation"]["realisations"]
    assert result["chi2"] == pytest.approx(chi2 * (count - len(ells) - 2) / (count - 1), rel=1e-9)


def test_case_theory_c1_ratio_equals_predict_cl_through_physical_units():
    # the same default theory reached from physical inputs: L_c = r_g/0.3 of a 10 TeV proton in 3 µG
    from anisotropy import units
    from validation import case

    l_c = float(units.gyroradius(10.0, 3.0)) / 0.3
    physical = predict.predict_cl(10.0, b_rms=3.0, l_c=l_c, eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=64,
                                  lmax=20)
    derived = physical.params["derived"]
    assert derived["reduced_rigidity"] == pytest.approx(0.3, rel=1e-12)
    theory = case.theory_for_case(case.CaseSpec("slab", 0.5, 0.3), 20)
    assert theory["closure_assumption_violated"] is None
    assert theory["c1_ratio"] == pytest.approx(physical.cl[1] / derived["dipole_cl"], rel=1e-6)
    np.testing.assert_allclose(theory["ratio"][1:], physical.cl[1:] / physical.cl[1], rtol=1e-6)


@pytest.mark.parametrize(("arguments", "name"), [
    (["--case", "slab:eta=0.5"], "case"),
    (["--case", "alfven:eta=0.5:rigidity=1"], "case"),
    (["--case", "slab:eta=1:rigidity=1"], "case"),
    (["--case", "slab:eta=0.5:rigidity=0"], "case"),
    (["--case", "slab:eta=0.5:rigidity=abc"], "case"),
    (["--case", "slab:eta=0.5:eta=0.3"], "case"),
    (["--case", "slab:eta=0.5:rigidity=1", "--realisations", "2"], "realisations"),
    (["--case", "slab:eta=0.5:rigidity=1", "--nside", "0"], "nside"),
    (["--case", "slab:eta=0.5:rigidity=1", "--time-factor", "-1"], "time_factor"),
])
def test_bad_case_options_exit_2_with_one_line_naming_the_parameter(arguments, name, capsys, recorded):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", *arguments])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and name in message
    assert recorded == []


@pytest.mark.parametrize(("arguments", "name"), [
    (["--case", "slab:eta=0.5:rigidity=1", "--nside", "12"], "nside"),
    (["--case", "slab:eta=0.5:rigidity=1", "--quick"], "quick"),
    (["--realisations", "8"], "realisations"),
])
def test_case_options_refused_while_running_exit_2_with_one_line(arguments, name, capsys, recorded, tmp_path):
    assert cli.main(["validate", *arguments, "--out", str(tmp_path / "o")]) == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and message.startswith(f"cr-anisotropy validate: error: {name}:")
    assert recorded == []

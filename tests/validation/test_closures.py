"""validation.closures: the closures' evaluation on the stored simulated spectra and the C_1 excess fit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from validation.closures import STORED_REPORT, c1_excess_points, evaluate_case, fit_c1_excess

#: the committed table (docs/validation/closures.json) must be reproducible to rounding of the eigen-decompositions
REPRODUCTION_RTOL = 1e-6


def test_c1_excess_fit_recovers_a_linear_law_exactly_and_its_exponent():
    points = [{"name": str(x), "outer_over_mean_free_path": x, "excess": 0.3 * x, "error": 0.1 * x}
              for x in (0.2, 0.7, 2.0, 9.0)]
    fit = fit_c1_excess(points)
    assert fit["slope"] == pytest.approx(0.3, rel=1e-12)
    assert fit["chi2"] == pytest.approx(0.0, abs=1e-20)
    assert fit["power_law_exponent"] == pytest.approx(1.0, rel=1e-10)


def test_c1_excess_points_use_the_measured_mean_free_path_and_mean_dipole():
    case = json.loads(STORED_REPORT.read_text())["cases"][0]
    point = c1_excess_points([case])[0]
    kappa = case["kappa_parallel"]["dipole"]
    # C_1 over (4π/9)|<δ>|², |<δ>| = 3κ (v = |G| = 1)
    assert point["excess"] + 1.0 == pytest.approx(case["c1"]["simulated"] / (4.0 * math.pi * kappa**2), rel=1e-12)


@pytest.mark.slow
def test_committed_closure_table_is_reproduced_for_one_case():
    committed = json.loads((STORED_REPORT.parents[2] / "closures.json").read_text())
    stored = {case["name"]: case for case in json.loads(STORED_REPORT.read_text())["cases"]}
    entry = committed["cases"][4]
    result = evaluate_case(stored[entry["name"]], ("born", "normalised"), committed["lmax"])
    for closure in ("born", "normalised"):
        assert result["closures"][closure]["chi2"] == pytest.approx(entry["closures"][closure]["chi2"],
                                                                     rel=REPRODUCTION_RTOL)
        np.testing.assert_allclose(result["closures"][closure]["ratio"], entry["closures"][closure]["ratio"],
                                   rtol=REPRODUCTION_RTOL)


def test_other_clocks_replace_the_qlt_rate_and_soqlt_has_none_without_a_resonant_mode():
    from validation.closures import CLOCKS, _qlt_rate, _soqlt_rate

    stored = {case["name"]: case for case in json.loads(STORED_REPORT.read_text())["cases"]}
    case = stored["slab_eta0.1_rho0.1"]
    rate = CLOCKS["@SOQLT"](case)
    assert rate > _qlt_rate(case)  # the broadened resonance scatters faster (docs/validation/parallel_diffusion.md)
    result = evaluate_case(case, ("rescaled",), 32, label="@SOQLT", rate=rate)
    assert result["closures"]["rescaled@SOQLT"]["decay_rate"] == rate
    assert _soqlt_rate(stored["slab_eta0.5_rho1"]) is None

"""anisotropy.calibration: the evidence for the shipped pair-time prefactor, recomputed from the stored fits.

The shipped a = 2.46 and the full report's 2.06 come from the same procedure on independent ensembles; the issue
asked which is better.  Restricted to the cases inside the validated domain (where the closure's shape fits the
simulation), both runs are recombined here with validation.calibration.fit_prefactor, independently of the numbers
written in the module docstring.
"""

import json
import math
from pathlib import Path

import pytest

from anisotropy import calibration, domain
from validation.calibration import fit_prefactor

REPORT = Path(__file__).resolve().parents[2] / "docs" / "validation" / "report" / "calibration" / "calibration.json"
# the documented value is quoted to two decimals
QUOTED_ABS = 0.005


def _in_domain(eta, rigidity):
    # the cases whose shape the closure fitted in the report (validated nowhere since: anisotropy.domain)
    return ("slab", eta, rigidity) in domain.REPORT_PASSING_CASES


def _cases():
    tau, pair_time, sigma = [], [], []
    for (eta, rigidity), (omega_tau_s, best, (low, high), _, _) in calibration.PAIR_TIME_CALIBRATION["cases"].items():
        if _in_domain(eta, rigidity):
            tau.append(omega_tau_s)
            pair_time.append(best)
            sigma.append(0.5 * (math.log(high) - math.log(low)))
    for item in json.loads(REPORT.read_text())["cases"]:
        case = item["case"]
        if case["kind"] == "slab" and _in_domain(case["eta"], case["reduced_rigidity"]):
            fit = item["comparisons"]["finite_time"]["fit"]
            tau.append(item["omega_tau_s_model"])
            pair_time.append(fit["pair_time"])
            sigma.append(fit["sigma_log"])
    return tau, pair_time, sigma


def test_in_domain_prefactor_is_recomputed_from_both_runs_and_matches_the_documented_value():
    tau, pair_time, sigma = _cases()
    assert len(tau) == 4  # two cases per run
    fit = fit_prefactor(tau, pair_time, sigma)
    value, error = calibration.PAIR_TIME_PREFACTOR_IN_DOMAIN
    assert fit["prefactor"] == pytest.approx(value, abs=QUOTED_ABS)
    assert fit["sigma_prefactor_scaled"] == pytest.approx(error, abs=QUOTED_ABS)


def test_shipped_prefactor_is_consistent_with_the_in_domain_value_and_the_report_value_is_not():
    value, error = calibration.PAIR_TIME_PREFACTOR_IN_DOMAIN
    assert abs(calibration.PAIR_TIME_PREFACTOR - value) < error
    report = json.loads(REPORT.read_text())["fits"]["finite_time"]["slab"]["fixed_exponent"]["prefactor"]
    assert abs(report - value) > 2.5 * error

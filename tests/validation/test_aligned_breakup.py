"""The break-up clock of aligned close pairs (validation/aligned_breakup.py).

Independent references: rigid rotation in a uniform field (no pair moves, A = 1 at every age), power laws on which
log-log interpolation is exact, straight lines that weighted least squares must recover, numpy's polyfit, and the
committed JSON that the committed tables must render.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from anisotropy.cli import main
from tests.validation.test_pair_diagnostics import SLAB, UniformField
from validation.aligned_breakup import (
    AGE_STEPS_PER_OCTAVE,
    ALIGNED_RESOLUTION,
    ANGLE_RUNS,
    CLOCKS,
    DOCS,
    GROUPS,
    RUNS,
    _log_slope,
    _weighted_line,
    aligned_fraction,
    angle_case,
    angle_orders,
    breakup_case,
    clock_fits,
    crossing_age,
    figure,
    frozen_then_closure_cl,
    markdown_tables,
    scaled_ages,
)
from validation.simulator.pairs import PairConfig, pair_realisation

#: exact identities in double precision (a Legendre ratio, logs and exps of O(1) numbers)
EXACT_TOLERANCE = 1e-12


def test_pairs_in_a_uniform_field_stay_aligned_at_every_age_and_angle():
    config = PairConfig(SLAB, 0.5, nodes=16, pairs=20, times=(0.5, 1.0, 2.0), lmax_mixing=12, dt=0.01)
    result = pair_realisation(config, np.random.SeedSequence(5), field=UniformField())
    np.testing.assert_allclose(aligned_fraction(result["mixing"], result["cosines"]), 1.0, atol=EXACT_TOLERANCE)
    pairs = angle_orders(result["cosines"], 12)
    assert len(pairs) == 2
    for node, order in pairs:
        fraction = aligned_fraction(result["mixing"], result["cosines"], node, order)
        np.testing.assert_allclose(fraction, 1.0, atol=EXACT_TOLERANCE)


def test_angle_orders_keep_the_product_of_angle_and_order_near_the_reference():
    from anisotropy.legendre import gauss_legendre

    cosines = gauss_legendre(32)[0]
    pairs = angle_orders(cosines, 24)
    assert [order for _, order in pairs] == [24, 10, 7, 5]
    for node, order in pairs:
        # rounding L moves θL by at most half a unit of θ
        assert abs(math.acos(cosines[node]) * order - ALIGNED_RESOLUTION) <= 0.5 * math.acos(cosines[node])


def test_log_slope_is_exact_on_a_power_law_and_skips_missing_crossings():
    log_angles = np.log(np.array([0.05, 0.1, 0.2, 0.4]))
    crossings = 3.0 * np.exp(log_angles) ** -0.4
    assert math.isclose(_log_slope(log_angles, crossings), -0.4, rel_tol=1e-12)
    crossings[1] = np.nan
    assert math.isclose(_log_slope(log_angles, crossings), -0.4, rel_tol=1e-12)
    assert math.isnan(_log_slope(log_angles[:2], crossings[:2]))


def test_crossing_age_is_exact_on_a_power_law_and_undefined_outside_the_record():
    ages = np.array([1.0, 2.0, 4.0, 8.0])
    fraction = 0.9 * (ages / ages[0]) ** -1.5
    for level in (0.5, 0.2, 0.05):
        expected = (level / 0.9) ** (-1.0 / 1.5)
        assert math.isclose(crossing_age(ages, fraction, level), expected, rel_tol=EXACT_TOLERANCE)
    assert math.isnan(crossing_age(ages, fraction, 0.01))  # never reached
    assert math.isnan(crossing_age(ages, fraction, 0.95))  # already below at the first age


def test_crossing_age_takes_the_first_crossing_of_a_noisy_record():
    ages = np.array([1.0, 2.0, 3.0, 4.0])
    fraction = np.array([0.8, 0.4, 0.6, 0.2])
    assert 1.0 < crossing_age(ages, fraction, 0.5) < 2.0


def test_weighted_line_matches_numpy_polyfit_and_fixed_slope_mean():
    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 3.0, 7)
    sigma = rng.uniform(0.05, 0.2, x.size)
    y = 0.7 + 0.4 * x + sigma * rng.standard_normal(x.size)
    fit = _weighted_line(x, y, sigma)
    slope, intercept = np.polyfit(x, y, 1, w=1.0 / sigma)
    assert math.isclose(fit["slope"], slope, rel_tol=1e-10)
    assert math.isclose(fit["intercept"], intercept, rel_tol=1e-10)
    fixed = _weighted_line(x, y, sigma, slope=0.4)
    weights = sigma**-2
    assert math.isclose(fixed["intercept"], np.sum(weights * (y - 0.4 * x)) / weights.sum(), rel_tol=1e-12)
    assert fixed["dof"] == x.size - 1 and fit["dof"] == x.size - 2


def _synthetic_cases(exponent, guiding=0.0):
    """Crossing ages c (Ωτ_s)^β (1 - η)^γ with 5 % errors at Ωτ_s = 5-3000 and η = 0.8-0.1."""
    cases = []
    for index, (clock, eta) in enumerate(((5.0, 0.8), (30.0, 0.5), (300.0, 0.2), (3000.0, 0.1))):
        law = clock**exponent * (1.0 - eta) ** guiding
        cases.append({"directory": f"case{index}", "parameters": {"turbulence": "slab", "eta": eta},
                      "omega_tau_s": clock, "levels": [0.5, 0.1], "crossing_omega": [2.5 * law, 9.0 * law],
                      "crossing_omega_error": [0.05 * 2.5 * law, 0.05 * 9.0 * law]})
    return cases


@pytest.mark.parametrize("clock", sorted(CLOCKS))
def test_clock_fits_single_out_the_clock_the_crossings_follow(clock):
    slope, guiding = CLOCKS[clock]
    for fit in clock_fits(_synthetic_cases(slope, guiding)):
        if guiding == 0.0:
            assert math.isclose(fit["free"]["slope"], slope, abs_tol=1e-10)
            assert fit["free"]["chi2"] < 1e-18
        for name in CLOCKS:
            # the true clock fits exactly; any other misses by far more than the 5 % errors
            assert (fit["fixed"][name]["chi2"] < 1e-18) == (name == clock)


def test_clock_fits_skip_cases_without_a_crossing_and_select_geometry_and_level():
    cases = _synthetic_cases(1.0 / 3.0)
    cases[0]["crossing_omega"][1] = None
    cases[0]["crossing_omega_error"][1] = None
    cases.append({**cases[1], "directory": "iso", "parameters": {"turbulence": "isotropic", "eta": 0.5}})
    fits = clock_fits(cases)
    assert fits[0]["cases"] == ["case0", "case1", "case2", "case3"]
    assert fits[1]["cases"] == ["case1", "case2", "case3"]
    assert len(clock_fits(cases, ("slab", "isotropic"))[0]["cases"]) == 5
    assert clock_fits(cases, ("slab", "isotropic"), eta=0.5) == []  # two cases: nothing to fit
    assert set(GROUPS) >= {"slab", "slab and isotropic + B0"}


def test_scaled_ages_double_every_octave_from_a_quarter_of_the_clock():
    ages = np.array(scaled_ages(2.0, 0.1).split(","), dtype=float)
    assert math.isclose(ages[0], 0.25 * 2.0 * 0.1, rel_tol=1e-5)
    np.testing.assert_allclose(ages[AGE_STEPS_PER_OCTAVE:] / ages[:-AGE_STEPS_PER_OCTAVE], 2.0, rtol=1e-5)


def test_a_turbulent_run_gives_a_falling_aligned_fraction_with_errors(tmp_path):
    out = tmp_path / "pairs"
    argv = ["simulate", "pairs", "--turbulence", "slab", "--eta", "0.5", "--rigidity", "0.1", "--lmin-over-lmax",
            "0.02", "--modes-per-decade", "16", "--realisations", "3", "--seed", "12", "--executor", "serial",
            "--nodes", "8", "--pairs", "64", "--lmax-mixing", "12", "--times", scaled_ages(2.5, 0.1), "--quiet",
            "--out", str(out)]
    assert main(argv) == 0
    result = breakup_case(out)
    fraction = np.array(result["fraction"])
    assert fraction[0] == pytest.approx(1.0, abs=EXACT_TOLERANCE)  # age 0: nothing has moved
    assert fraction[-1] < 0.5 * fraction[1]
    assert all(np.isfinite(result["fraction_error"][1:]))
    assert result["order"] == 12 and result["crossing_omega"][0] is not None
    angles = angle_case(out)
    assert angles["orders"] == [6] and len(angles["fraction"]) == 1  # 8 nodes: only the 16° node has L ≥ 5
    np.testing.assert_allclose(angles["fraction"][0][0], 1.0, atol=EXACT_TOLERANCE)


def test_committed_tables_are_the_committed_json_rendered():
    document = json.loads((DOCS / "aligned_breakup.json").read_text(encoding="utf-8"))
    assert [case["directory"] for case in document["cases"]] == list(RUNS)
    assert [case["directory"] for case in document["angles"]] == list(ANGLE_RUNS)
    assert markdown_tables(document) == (DOCS / "aligned_breakup_tables.md").read_text(encoding="utf-8")


def test_docstring_examples_run():
    import doctest

    import validation.aligned_breakup as module

    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted >= 3 and outcome.failed == 0


def test_figure_of_the_committed_results_has_both_panels():
    document = json.loads((DOCS / "aligned_breakup.json").read_text(encoding="utf-8"))
    drawn = figure(document)
    curves, crossings, by_angle = drawn.axes
    assert len(curves.get_lines()) == len(document["cases"])
    assert len(by_angle.get_legend().get_texts()) == len(document["angles"])
    assert len(crossings.get_legend().get_texts()) == len(CLOCKS) - 1  # the η-dependent clock is not one line


#: the frozen-then-closure quadrature (FROZEN_SAMPLES trapezoid steps) against pair_correlation_cl's exact
#: piecewise integration at ΔT → 0: measured ≤ 5e-5 relative on the committed cases, bound set at 1e-3
FROZEN_QUADRATURE_RTOL = 1e-3


def test_frozen_candidate_without_a_frozen_phase_is_the_closure_on_an_age_dependent_generator():
    from anisotropy.pair_correlation import (
        age_grid,
        generator_from_increments,
        pair_correlation_cl,
        slab_pair_increments,
    )

    increments = slab_pair_increments(0.3, 0.5, age_grid(20.0), 8, lmin_over_lmax=1e-2, modes_per_decade=16)
    generators = [generator_from_increments(increments, piece, "born", increments.markov_self_rate, 8)
                  for piece in range(increments.ages.size)]
    nu = increments.markov_self_rate
    exact = pair_correlation_cl(generators, increments.ages, nu, [20.0])[0][1:] * 9 / (8 * math.pi)
    quadrature = frozen_then_closure_cl(generators, increments.ages, nu, 20.0, 0.0)
    np.testing.assert_allclose(quadrature[:5], exact[:5], rtol=FROZEN_QUADRATURE_RTOL)
    # a frozen phase moves power from l >= 2 to the dipole: the rigidly co-rotating pair carries l = 1 only
    delayed = frozen_then_closure_cl(generators, increments.ages, nu, 20.0, 5.0)
    assert np.all(delayed[1:5] / delayed[0] < quadrature[1:5] / quadrature[0])


def test_committed_frozen_candidate_reproduces_the_pair_diagnostics_closure_chi2():
    # two independent integrations of the same closure: pair_correlation_cl (pair_diagnostics.json) and the
    # trapezoid quadrature of frozen_then_closure_cl at ΔT = 0 (aligned_breakup.json)
    document = json.loads((DOCS / "aligned_breakup.json").read_text(encoding="utf-8"))
    diagnostics = {r["directory"]: r for r in json.loads((DOCS / "pair_diagnostics.json").read_text(encoding="utf-8"))}
    assert len(document["frozen_candidate"]) == 8
    for row in document["frozen_candidate"]:
        result = diagnostics[row["directory"]]
        np.testing.assert_allclose(row["closure_ratio"], result["closure_ratio"][row["closure"]],
                                   rtol=FROZEN_QUADRATURE_RTOL)


def test_aligned_resolution_is_the_reference_node_angle_times_its_order():
    from anisotropy.legendre import gauss_legendre

    reference = 12 * math.acos(gauss_legendre(16)[0].max())  # the 8.35° node of the 16-node instrument at L = 12
    assert math.isclose(ALIGNED_RESOLUTION, reference, rel_tol=1e-4)  # the constant is stored to 5 digits

"""Pair-time calibration (validation/calibration.py): fits against synthetic truth, and simulation vs theory.

Independent references: synthetic data drawn from a known power law ΩΔT = a(Ωτ_s)^p with known Gaussian errors
(the fitted errors must describe the scatter of the estimates: unit-variance pulls, 68 % coverage of Δχ² = 1
intervals); the Taylor-Green-Kubo identity δ_z(T)/3 = d_∥(T) of the simulator (exact for static homogeneous
turbulence, docs/physics/source.md#total-power and validation/calibration.py step 2); C_ℓ≥2 ∝ δB² ∝ η as η → 0
(uniform-field
backtracking gives a pure dipole, docs/physics/source.md#total-power "perfect correlation" limit); and the slab
mixing-matrix theory
at the stored calibrated prefactor (anisotropy/calibration.py).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from anisotropy.calibration import PAIR_TIME_PREFACTOR, PAIR_TIME_PREFACTOR_UNCERTAINTY
from anisotropy.errors import ParameterError
from validation import calibration
from validation.calibration import CalibrationCase

#: Monte Carlo checks pass within Z_LIMIT standard errors of the Monte Carlo estimate (p ≈ 6e-5 two-sided)
Z_LIMIT = 4.0
#: Δχ² = 1 intervals of a one-parameter Gaussian fit cover the truth with probability 0.6827
ONE_SIGMA_COVERAGE = 0.6827
#: the seeded end-to-end ensembles (validation/calibration.py QUICK_CASES at ρ = 0.1 and 1): where the full run found
#: agreement for ℓ = 2..4 (ρ = 0.1) and where it found the theory missing the power (ρ = 1)
END_TO_END_CASE = CalibrationCase("slab", 0.5, 0.1, 16, 5, 4.0)
HIGH_RIGIDITY_CASE = CalibrationCase("slab", 0.5, 1.0, 16, 5, 4.0)
#: theory-vs-simulation acceptance: every compared C_ℓ/C_1 within this many standard errors.  With 5 realisations
#: the standard error is itself uncertain (Student t with 4 dof: P(|t| > 4) = 1.6 %), hence 4 and not 3
THEORY_Z_LIMIT = 4.0
#: C_ℓ≥2/C_1 ∝ η as η → 0: relative room for the O(η) corrections between η = 1e-4 and 1e-2 (the leading term
#: is exact; 1e-2 relative corrections are expected, 0.1 leaves an order of magnitude)
ETA_SCALING_RTOL = 0.1
#: χ² acceptance of a whole simulated shape against theory (p-value of the χ² with one dof per multipole)
THEORY_P_LIMIT = 1e-3
#: the documented failure at high rigidity, with the numbers of the full run (validation/calibration.py FULL_CASES)
HIGH_RIGIDITY_FINDING = (
    "finding: at eta = 0.5, r_g/L_c = 1 (k_min r_g = 1.3) the slab theory misses the small-scale power.  Full run "
    "(run_calibration(quick=False, seed=20261124), 24 realisations, N_side 32): simulated C_l/C_1 exceed the "
    "finite-T theory at its best-fit Omega Delta T = 2.40 by x2.8-3.9 for l = 2-9, chi2 = 283 for 7 dof; at the "
    "calibrated a = 2.46, chi2 = 310 for 8 dof (z = 4.3-7.2)")
#: Kubo identity acceptance: Student t with N-1 = 4 dof, two-sided p = 1e-3 per interval
KUBO_T_LIMIT = 8.61


# ---------------------------------------------------------------------------------------------------- fits
def test_power_law_fit_recovers_a_and_p_with_unit_pulls():
    rng = np.random.default_rng(201)
    prefactor, exponent = 1.7, 1.0 / 3.0
    omega_tau = np.geomspace(3.0, 300.0, 6)
    sigma = np.array([0.15, 0.2, 0.1, 0.25, 0.2, 0.15])
    trials = 2000
    pulls = np.empty((trials, 2))
    chi2 = np.empty(trials)
    for trial in range(trials):
        log_time = math.log(prefactor) + exponent * np.log(omega_tau) + sigma * rng.standard_normal(6)
        fit = calibration.fit_power_law(omega_tau, np.exp(log_time), sigma)
        pulls[trial] = [(math.log(fit.prefactor) - math.log(prefactor)) / (fit.sigma_prefactor / fit.prefactor),
                        (fit.exponent - exponent) / fit.sigma_exponent]
        chi2[trial] = fit.chi2
    assert np.all(np.abs(pulls.mean(0)) < Z_LIMIT / math.sqrt(trials))
    assert np.all(np.abs(pulls.std(0, ddof=1) - 1.0) < Z_LIMIT / math.sqrt(2 * trials))
    assert abs(chi2.mean() - 4) < Z_LIMIT * math.sqrt(2 * 4 / trials)  # dof = 6 - 2


def test_fixed_exponent_prefactor_has_unit_pulls():
    rng = np.random.default_rng(202)
    prefactor = 0.8
    omega_tau = np.geomspace(3.0, 300.0, 5)
    sigma = np.full(5, 0.3)
    trials = 2000
    pulls = np.empty(trials)
    for trial in range(trials):
        log_time = math.log(prefactor) + np.log(omega_tau) / 3.0 + sigma * rng.standard_normal(5)
        fit = calibration.fit_prefactor(omega_tau, np.exp(log_time), sigma)
        pulls[trial] = (math.log(fit["prefactor"]) - math.log(prefactor)) / (fit["sigma_prefactor"] / fit["prefactor"])
    assert abs(pulls.mean()) < Z_LIMIT / math.sqrt(trials)
    assert abs(pulls.std(ddof=1) - 1.0) < Z_LIMIT / math.sqrt(2 * trials)


def test_exponent_pull_measures_distance_from_one_third():
    omega_tau = np.array([1.0, 10.0, 100.0])
    fit = calibration.fit_power_law(omega_tau, omega_tau**0.5, np.full(3, 0.1))
    assert fit.exponent == pytest.approx(0.5)
    assert fit.exponent_pull == pytest.approx((0.5 - 1.0 / 3.0) / fit.sigma_exponent)
    assert fit.chi2 == pytest.approx(0.0, abs=1e-20)


def _synthetic_shape(pair_time):
    """A monotone stand-in for the theory's C_ℓ/C_1: ℓ^-2 exp(-ΔT ℓ/20), ℓ = 0..10."""
    ell = np.arange(11, dtype=float)
    return ell ** -2.0 * np.exp(-pair_time * ell / 20.0) if pair_time > 0 else None


def test_pair_time_fit_intervals_cover_the_truth_68_percent():
    rng = np.random.default_rng(203)
    truth = 4.0
    ells = np.arange(2, 8)
    with np.errstate(divide="ignore"):
        exact = _synthetic_shape(truth)[ells]
    sigma = 0.1 * exact
    trials, covered = 300, 0
    for _ in range(trials):
        data = exact + sigma * rng.standard_normal(ells.size)
        with np.errstate(divide="ignore"):
            fit = calibration.fit_pair_time(ells, data, sigma, _synthetic_shape, bounds=(0.1, 100.0))
        assert fit.interior
        covered += fit.lower <= truth <= fit.upper
    binomial_error = math.sqrt(ONE_SIGMA_COVERAGE * (1 - ONE_SIGMA_COVERAGE) / trials)
    assert abs(covered / trials - ONE_SIGMA_COVERAGE) < Z_LIMIT * binomial_error


def test_pair_time_fit_flags_a_shape_the_model_cannot_reach():
    ells = np.arange(2, 6)
    with np.errstate(divide="ignore"):
        unreachable = 3.0 * _synthetic_shape(0.1)[ells]  # above the model's largest values (ΔT → 0)
        fit = calibration.fit_pair_time(ells, unreachable, 0.01 * unreachable, _synthetic_shape, bounds=(0.1, 100.0))
    assert not fit.interior
    assert fit.pair_time == pytest.approx(0.1, rel=0.05)


def test_fit_inputs_are_validated():
    with pytest.raises(ParameterError):
        calibration.fit_power_law([1.0, 1.0], [1.0, 2.0], [0.1, 0.1])
    with pytest.raises(ParameterError):
        calibration.fit_power_law([1.0, 2.0], [1.0, 2.0], [0.1, 0.0])
    with pytest.raises(ParameterError):
        calibration.fit_pair_time([2, 3], [0.1, 0.01], [0.0, 0.001], _synthetic_shape)


def test_stored_prefactor_is_positive_with_an_uncertainty():
    assert PAIR_TIME_PREFACTOR > 0
    assert 0 < PAIR_TIME_PREFACTOR_UNCERTAINTY < PAIR_TIME_PREFACTOR


# ---------------------------------------------------------------------------------------------------- simulation
def test_higher_multipoles_vanish_as_turbulence_vanishes():
    """C_ℓ≥2 ∝ η for η → 0: the uniform-field helix backtracks to a pure dipole (docs/physics/source.md#total-power,
    docs/physics/mixing_ode.md#ode-limits)."""
    from validation.simulator.config import AnisotropyConfig, TurbulenceConfig

    power = {}
    for eta in (1e-4, 1e-2):
        turbulence = TurbulenceConfig(kind="slab", eta=eta, lmin_over_lmax=calibration.LMIN_OVER_LMAX,
                                      modes_per_decade=16)
        config = AnisotropyConfig(turbulence=turbulence, reduced_rigidity=0.3, nside=8, times=(3.0,))
        result = calibration.calibration_realisation(config, np.random.SeedSequence(204))
        power[eta] = result["cl"][0, 2:9].sum() / result["cl"][0, 1]
    # same seed, so the same phases and polarisations: only the amplitude δB ∝ √η changes, and the ℓ ≥ 2 power
    # is second order in δB (measured ratio 100.8; the O(η) corrections at η = 0.01 are within ETA_SCALING_RTOL)
    assert power[1e-2] / power[1e-4] == pytest.approx(100.0, rel=ETA_SCALING_RTOL)


@pytest.fixture(scope="module")
def end_to_end(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    output = calibration.run_calibration(True, calibration.DEFAULT_SEED, out,
                                         cases=[END_TO_END_CASE, HIGH_RIGIDITY_CASE], fit_pair_times=False)
    return output, out


def test_end_to_end_writes_json_and_figures(end_to_end):
    output, out = end_to_end
    stored = json.loads((out / "calibration.json").read_text())
    assert stored["seed"] == calibration.DEFAULT_SEED
    assert stored["cases"][0]["name"] == END_TO_END_CASE.name
    for paths in output["figures"].values():
        for path in (paths.values() if isinstance(paths, dict) else [paths]):
            assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_simulated_dipole_obeys_the_kubo_identity(end_to_end):
    """δ_z(T)/3 (ensemble-mean dipole along G) equals the running d_∥ = ½ d⟨R_z²⟩/dT on every interval."""
    output, _ = end_to_end
    for case in output["cases"]:
        check = case["kubo_check"]
        assert np.all(np.abs(check["z"]) < KUBO_T_LIMIT), check


def _z_at_calibrated_prefactor(case_output, case, ells):
    """z of simulated C_ℓ/C_1 against the finite-T slab theory at the stored a (primary comparison)."""
    ratio = np.asarray(case_output["ratio"])[ells]
    error = np.asarray(case_output["ratio_error"])[ells]
    rho = case.reduced_rigidity
    pair_time = PAIR_TIME_PREFACTOR * case_output["omega_tau_s_model"] ** (1.0 / 3.0)
    theory = calibration.theory_ratio("slab", rho, case.eta, pair_time, omega_time=case_output["times"][-1] / rho,
                                      source_time=case_output["source_fit"]["tau"] / rho)[ells]
    return (ratio - theory) / error, ratio, theory


def test_slab_theory_at_the_calibrated_prefactor_matches_the_simulated_shape(end_to_end):
    """C_ℓ/C_1, ℓ = 2..4, of the slab mixing-matrix theory at the stored a against the seeded ensemble (ρ = 0.1).

    Like for like (validation/calibration.py, primary comparison): the theory evolved to the simulation's last T with
    the measured source history d_∥(T), on the same discrete modes.
    """
    output, _ = end_to_end
    z, ratio, theory = _z_at_calibrated_prefactor(output["cases"][0], END_TO_END_CASE, np.arange(2, 5))
    assert np.all(np.abs(z) < THEORY_Z_LIMIT), {"z": z.tolist(), "sim": ratio.tolist(), "theory": theory.tolist()}


@pytest.mark.xfail(strict=True, reason=HIGH_RIGIDITY_FINDING)
def test_slab_theory_at_high_rigidity_matches_the_simulated_shape(end_to_end):
    """The same comparison at ρ = 1 (k_min r_g = 1.3), ℓ = 2..8: a documented failure of the theory (the reason)."""
    output, _ = end_to_end
    case_output = output["cases"][1]
    ells = np.asarray(case_output["usable_ells"])
    z, ratio, theory = _z_at_calibrated_prefactor(case_output, HIGH_RIGIDITY_CASE, ells)
    chi2 = float(np.sum(z**2))
    assert stats.chi2.sf(chi2, ells.size) > THEORY_P_LIMIT, {"chi2": chi2, "ells": ells.tolist(), "z": z.tolist(),
                                                            "sim": ratio.tolist(), "theory": theory.tolist()}


# The stored calibration (anisotropy.calibration, code of 08:00 UTC 2026-11-24) gave p = 0.636 ± 0.094, 3.2σ above
# 1/3; at 09:00 the same run gave < 3σ (cause not isolated: the theory's Legendre series was lengthened in between);
# the full report's independent seed gives p = 0.554 ± 0.094, 2.3σ.  The exponent is marginal: a real 3σ test.
@pytest.fixture(scope="module")
def full_calibration(tmp_path_factory):
    """The full calibration (all FULL_CASES) at DEFAULT_SEED, once for the slow tests (~12 min on 2 workers)."""
    from validation.simulator.ensemble import make_executor

    executor = make_executor("process", workers=2)
    try:
        return calibration.run_calibration(False, calibration.DEFAULT_SEED, tmp_path_factory.mktemp("full"), executor)
    finally:
        executor.shutdown()


@pytest.mark.slow
def test_full_calibration_exponent_is_one_third(full_calibration):
    """Full run: the fitted exponent p of slab ΩΔT = a(Ωτ_s)^p is within 3σ of 1/3
    (docs/physics/mixing_ode.md#pair-time, eq. (4.5))."""
    power = full_calibration["fits"][calibration.PRIMARY_COMPARISON]["slab"]["power_law"]
    assert abs(power["exponent_pull_scaled"]) < 3.0, power


#: a χ² p-value below this rejects ΩΔT = a(Ωτ_s)^{1/3} as a description of the fitted per-case pair times
SCALING_LAW_P_LIMIT = 1e-3


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "finding: for isotropic turbulence with B0 the per-case best-fit ΩΔT do not follow a(Ωτ_s)^{1/3} with the "
    "slab-QLT τ_s of PairRate.isotropic.  Full report (seed 20261124): a = 1.43 ± 0.16 at p = 1/3 with χ² = 150 for "
    "4 dof; free fit p = -0.69 ± 0.12 (χ² = 76 for 3 dof), with the measured τ_s p = -0.95 ± 0.17; per-case ΩΔT = "
    "8.3, 3.2 (η = 0.5, ρ = 0.3, 1) and 0.77, 18.9, 8.0 (η = 0.2, ρ = 0.1, 0.3, 1), η = 0.5, ρ = 0.1 at the search "
    "cap 40"))
def test_full_calibration_isotropic_b0_pair_times_follow_the_one_third_law(full_calibration):
    fit = full_calibration["fits"][calibration.PRIMARY_COMPARISON]["isotropic"]["fixed_exponent"]
    assert stats.chi2.sf(fit["chi2"], fit["dof"]) > SCALING_LAW_P_LIMIT, fit


# ---------------------------------------------------------------------------------------------------- isotropic + B0
def test_isotropic_cases_are_compared_with_the_b0_model_at_their_eta():
    # the simulator's isotropic turbulence has B0 (η < 1): the theory must be PairRate.isotropic with the same η,
    # and its Ωτ_s (what the prefactor multiplies) the slab-QLT value documented in PairRate.isotropic
    from anisotropy.transport import omega_scattering_time

    rate = calibration._rate("isotropic", 0.3, 0.5, 3.0)
    assert rate.params["eta"] == 0.5
    assert rate.params["modes_per_decade"] == calibration.MODES_PER_DECADE
    expected = omega_scattering_time(0.3, 0.2, lmin_over_lmax=calibration.LMIN_OVER_LMAX)
    assert calibration.model_scattering_time("isotropic", 0.3, 0.2) == pytest.approx(expected, rel=1e-15)


def test_full_cases_cover_isotropic_b0_at_three_rigidities_and_two_turbulence_levels():
    isotropic = {(case.eta, case.reduced_rigidity) for case in calibration.FULL_CASES if case.kind == "isotropic"}
    assert {(eta, rho) for eta in (0.5, 0.2) for rho in (0.1, 0.3, 1.0)} <= isotropic


def test_pair_time_search_is_capped_for_the_isotropic_b0_model_only():
    slab = calibration.pair_time_bounds(0.1, "slab", 0.5)
    isotropic = calibration.pair_time_bounds(0.1, "isotropic", 0.5)
    assert slab == calibration.pair_time_bounds(0.1)
    assert isotropic[1] == calibration.MAX_REGULAR_FIELD_PAIR_TIME < slab[1]


@pytest.mark.slow
def test_isotropic_b0_theory_describes_the_simulated_shape_at_its_best_fit_pair_time(tmp_path):
    """Seeded isotropic+B0 ensemble (η = 0.5, ρ = 1, N_side 16, 5 realisations): the finite-T isotropic model with
    B0 at its best-fit ΩΔT must describe C_ℓ/C_1 (χ² p-value above THEORY_P_LIMIT, interior minimum).  Measured
    with 6 realisations: ΩΔT = 2.66 [1.95, 3.76], χ² = 2.97 for 2 dof (ℓ = 2..4), and at ρ = 0.1, 0.3 the minima
    at ΩΔT = 1.5 (interval reaching the search cap) and at the cap 40 (ℓ = 2, 3 only)."""
    case = CalibrationCase("isotropic", 0.5, 1.0, 16, 5, 4.0)
    output = calibration.run_calibration(True, calibration.DEFAULT_SEED, tmp_path, cases=[case], figures=False)
    entry = output["cases"][0]["comparisons"][calibration.PRIMARY_COMPARISON]
    fit = entry["fit"]
    assert fit["interior"], fit
    assert fit["dof"] >= 1 and fit["p_value"] > THEORY_P_LIMIT, entry["chi2_best"]

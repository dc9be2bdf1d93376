r"""validation.transport_checks: estimators against exact results, and seeded simulator-vs-theory transport checks.

Error model of the statistical tests: realisations (turbulence seeds) are independent, particles within one are
not, so errors are the scatter across realisations (standard error, or the delete-one jackknife for nonlinear
functions of ensemble means).  Acceptance is N_SIGMA = 4 standard errors (two-sided p ≈ 6e-5 for Gaussian
estimates; the errors of 6-realisation ensembles are themselves uncertain: P(|t_5| > 4) ≈ 1 %), plus the
stated systematic of the theory where there is one.  Seeds are fixed, so the outcomes are reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from anisotropy import transport
from anisotropy.errors import ParameterError
from validation import transport_checks as tc

#: statistical acceptance in standard errors (module docstring; Student t with 5 dof: P(|t| > 4) ≈ 1 %)
N_SIGMA = 4.0
#: linear interpolation in ln t of a smooth running coefficient sampled with Δln t ≈ 0.046: error ≲ Δ²/8 ≈ 3e-4
#: relative; 2e-3 leaves room for the ballistic continuation below the grid (relative 1e-3 at t = t_b/1000)
INTERPOLATION_RTOL = 2e-3
#: one-sided significance of α < 1 (and α > 0): 2 jackknife errors of a 24-realisation ensemble (t with 23 dof:
#: P(t > 2) ≈ 3 % if α were 1)
SUBDIFFUSION_SIGMA = 2.0
#: rounding of a few dozen floating operations
EXACT_RTOL = 1e-10


# ---------------------------------------------------------------------------------------------------- estimators
def test_jackknife_of_the_mean_equals_the_standard_error():
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(7, 4))
    value, error = tc.jackknife(samples, lambda mean: mean)
    np.testing.assert_allclose(value, samples.mean(axis=0), rtol=EXACT_RTOL)
    # for a linear statistic the delete-one jackknife is exactly s/sqrt(N)
    np.testing.assert_allclose(error, samples.std(axis=0, ddof=1) / math.sqrt(7), rtol=EXACT_RTOL)


def test_plateau_secant_has_the_stated_ornstein_uhlenbeck_bias():
    kappa, tau = 2.5, 3.0
    times = np.geomspace(0.01, 10.0 * tau, 60)
    msd = transport.telegraph_mean_squared_displacement(times, kappa, tau)
    estimate, error, start = tc.plateau_coefficient(times, np.stack([msd, msd, msd]))
    # secant of 2κ[t - τ(1 - e^{-t/τ})]: κ[1 - τ(e^{-t_k/τ} - e^{-t_N/τ})/(t_N - t_k)] (module docstring, item 2)
    expected = kappa * (1.0 - tau * (math.exp(-start / tau) - math.exp(-times[-1] / tau)) / (times[-1] - start))
    assert estimate == pytest.approx(expected, rel=EXACT_RTOL)
    assert error == 0.0
    assert abs(estimate / kappa - 1.0) < 0.012  # the docstring's "1 % at t_N = 10 τ" (t_k = t_N/4)


def test_subdiffusion_exponent_recovers_a_power_law_and_needs_points():
    times = np.geomspace(0.1, 100.0, 31)
    amplitudes = np.array([0.5, 1.0, 2.0, 3.0])[:, None]
    result = tc.subdiffusion_exponent(times, amplitudes * times**0.6, (1.0, 10.0))
    assert result["alpha"] == pytest.approx(0.6, rel=EXACT_RTOL)
    assert result["error"] < 1e-10
    np.testing.assert_allclose(result["local_slope"], 0.6, rtol=1e-9)
    with pytest.raises(ParameterError, match="window"):
        tc.subdiffusion_exponent(times, amplitudes * times, (1.0, 1.1))


def test_heuristic_from_sampled_curves_matches_the_model_with_exact_curves():
    kappa, t_break, d_fl, z_break = 3.0, 5.0, 0.03, 2.0

    def d_parallel(t):
        return transport.running_parallel_diffusion(t, kappa, t_break)

    def d_fieldline(z):
        return transport.fieldline_diffusion(z, d_fl, z_break)

    times = np.geomspace(t_break / 1000.0, t_break * 1000.0, 300)
    lengths = np.geomspace(z_break / 1000.0, z_break * 1000.0, 300)
    evaluate = np.geomspace(0.1, 1000.0, 12)
    exact = transport.heuristic_perpendicular_diffusion(evaluate, d_parallel, d_fieldline)
    sampled = tc.heuristic_from_measured(times, d_parallel(times), lengths, d_fieldline(lengths), evaluate)
    np.testing.assert_allclose(sampled, exact, rtol=INTERPOLATION_RTOL)
    with pytest.raises(ParameterError, match="times"):
        tc.heuristic_from_measured(times[::-1], d_parallel(times), lengths, d_fieldline(lengths))


def test_qlt_bracket_removes_exactly_the_resonance_gap_integral():
    rho, eta, ratio = 0.2, 0.1, 1e-2
    bracket = tc.slab_qlt_bracket(rho, eta, ratio)
    mu_gap = bracket["mu_gap"]
    # q = 5/3: κ ∝ ∫(1-μ²)|μ|^{-2/3} dμ, whose [0, 1] value is 18/7 and [0, μ_g] value 3μ_g^{1/3} - (3/7)μ_g^{7/3}
    missing = (3.0 * mu_gap ** (1.0 / 3.0) - 3.0 / 7.0 * mu_gap ** (7.0 / 3.0)) / (18.0 / 7.0)
    assert bracket["outside_gap"] / bracket["qlt"] == pytest.approx(1.0 - missing, rel=1e-8)
    assert bracket["qlt"] == pytest.approx(
        transport.parallel_diffusion(rho, eta, lmin_over_lmax=ratio, method="closed_form"), rel=1e-8)


def test_high_rigidity_limit_uses_the_two_sided_correlation_length():
    # λ = 4 r_g²/(η L_c) (two-sided L_c); with the one-sided L_c' = L_c/2 the same physics reads 2 r_g²/L_c'
    assert tc.high_rigidity_mean_free_path(10.0) == pytest.approx(400.0)
    assert tc.high_rigidity_mean_free_path(10.0, 0.5) == pytest.approx(800.0)
    one_sided = 0.5  # L_c' in units of the two-sided L_c
    assert tc.high_rigidity_mean_free_path(10.0) == pytest.approx(2.0 * 10.0**2 / one_sided)


# ---------------------------------------------------------------------------------------------------- simulator
def _case(role, rho):
    return next(case for case in tc.QUICK_CASES if case.role == role and case.reduced_rigidity == rho)


@pytest.fixture(scope="module")
def quick_runs():
    """Seeded quick ensembles (≈ 35 s of one core): slab ρ = 0.1 and 0.3, isotropic η = 0.1 with lines, η = 1."""
    cases = {"slab_0.1": _case("qlt", 0.1), "slab_0.3": _case("qlt", 0.3),
             "subdiffusion": _case("subdiffusion", 0.1), "isotropic_1": _case("rigidity", 1.0)}
    # the spawn key is the case's index in QUICK_CASES, as in run_transport_checks(seed=TRANSPORT_SEED)
    return {name: tc.analyse_case(tc.run_case(case, tc.TRANSPORT_SEED, index=tc.QUICK_CASES.index(case)))
            for name, case in cases.items()}


@pytest.mark.parametrize("name", ["slab_0.1", "slab_0.3", "subdiffusion", "isotropic_1"])
def test_ballistic_start_is_one_third_ct_squared(quick_runs, name):
    ballistic = quick_runs[name]["ballistic"]
    # exact (ct)²/3 up to deflection corrections O((ct/r_g)²) (module docstring item 1); error model: the exact
    # sampling error of <3μ²> over all particles (independent directions before any deflection)
    tolerance = N_SIGMA * ballistic["error_directions"] + ballistic["deflection_bound"]
    assert abs(ballistic["ratio_parallel"] - 1.0) < tolerance, ballistic


@pytest.mark.parametrize("name", ["slab_0.1", "slab_0.3"])
def test_slab_parallel_plateau_lies_in_the_qlt_bracket(quick_runs, name):
    # QLT systematic: the bracket [QLT without the resonance gap, QLT] (validation.transport_checks, item 3).
    # Measured (seed TRANSPORT_SEED, 6 realisations): κ/κ_QLT ≈ 0.5-0.6 at ρ = 0.1 and ≈ 0.66 at ρ = 0.3, i.e. at
    # the lower end of the bracket: scattering through μ = 0 is as fast as if the gap cost no time
    item = quick_runs[name]
    qlt = item["qlt"]
    print(f"kappa = {item['kappa_parallel']:.3f} +- {item['kappa_parallel_error']:.3f}, bracket "
          f"[{qlt['outside_gap']:.3f}, {qlt['qlt']:.3f}]")
    assert item["last_time_over_tau"] > 8.0  # the plateau estimator's bias is < 2 % beyond 8 τ
    low = qlt["outside_gap"] - N_SIGMA * item["kappa_parallel_error"]
    high = qlt["qlt"] + N_SIGMA * item["kappa_parallel_error"]
    assert low < item["kappa_parallel"] < high, (item["kappa_parallel"], item["kappa_parallel_error"], qlt)


def test_isotropic_turbulence_without_b0_diffuses_isotropically(quick_runs):
    isotropy = quick_runs["isotropic_1"]["isotropy"]
    # B0 = 0: the ensemble is rotation invariant, so <Δr⊥²> = 2<Δz²> exactly
    assert abs(isotropy["relative_difference"]) < N_SIGMA * isotropy["error"], isotropy


def test_intermediate_perpendicular_transport_is_subdiffusive(quick_runs):
    item = quick_runs["subdiffusion"]
    sub = item["subdiffusion"]
    print(f"alpha = {sub['alpha']:.3f} +- {sub['error']:.3f} over {sub['window']}")
    # strictly between confinement (0) and diffusion (1) by SUBDIFFUSION_SIGMA jackknife errors (24 realisations;
    # measured 0.766 ± 0.075 for this seed); the comparison with the talk's 0.5-0.7 is reported, not asserted
    assert 0.0 < sub["alpha"] - SUBDIFFUSION_SIGMA * sub["error"]
    assert sub["alpha"] + SUBDIFFUSION_SIGMA * sub["error"] < 1.0


def test_heuristic_model_holds_near_tau_and_falls_below_the_simulation_late(quick_runs):
    heuristic = quick_runs["subdiffusion"]["heuristic"]
    around, late = heuristic["windows"]["around_tau"], heuristic["windows"]["late"]
    print(f"model/simulation: around tau {around['ratio']:.3f} +- {around['error']:.3f}, "
          f"late {late['ratio']:.3f} +- {late['error']:.3f}")
    assert np.all(np.isfinite(heuristic["model"])) and np.all(np.asarray(heuristic["model"]) > 0)
    # near τ∥ the model with the simulated d_FL and d∥ is consistent with the simulated d⊥ in this quick setting
    # (64 modes/decade; measured 1.00 ± 0.11).  The full report (128 modes/decade, 16 × 256 particles) finds
    # 0.72 ± 0.08 there: this check is of the quick configuration only
    assert abs(around["ratio"] - 1.0) < N_SIGMA * around["error"]
    # finding (measured 0.58 ± 0.11 at t > √10 τ∥): the model keeps following the field lines (d⊥ ∝ t^-1/2) while
    # the simulated particles return towards cross-field diffusion; asserted one-sided at SUBDIFFUSION_SIGMA
    assert late["ratio"] + SUBDIFFUSION_SIGMA * late["error"] < 1.0


@pytest.mark.slow
def test_full_transport_cases_ballistic_isotropy_and_subdiffusion(tmp_path):
    output = tc.run_transport_checks(quick=False, out_dir=tmp_path)
    for item in output["cases"]:
        ballistic = item["ballistic"]
        assert abs(ballistic["ratio_parallel"] - 1.0) < N_SIGMA * ballistic["error_directions"] + \
            ballistic["deflection_bound"]
        if "isotropy" in item:
            assert abs(item["isotropy"]["relative_difference"]) < N_SIGMA * item["isotropy"]["error"]
        if "subdiffusion" in item:
            sub = item["subdiffusion"]
            assert 0.0 < sub["alpha"] - SUBDIFFUSION_SIGMA * sub["error"]
            assert sub["alpha"] + SUBDIFFUSION_SIGMA * sub["error"] < 1.0
    assert (tmp_path / "transport.json").exists()

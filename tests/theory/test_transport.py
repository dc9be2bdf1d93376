"""Transport references (theory.transport) and anisotropy.transport's QLT, dipole and field-line functions."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from anisotropy import transport, units
from anisotropy.spectrum import kolmogorov_modes
from theory import heuristic
from theory import transport as reference

#: working precision of the mpmath references
DIGITS = 30

#: closed forms evaluated in float64: a few ulps through pow/log
CLOSED_FORM_RTOL = 1e-13

#: anisotropy.transport integrates κ_∥ with scipy quad at epsrel = 1e-11 (its _QUAD_RELATIVE); quad's error estimate
#: is not a strict bound, so one more digit is allowed
QUAD_RTOL = 1e-10

#: an mpmath quadrature against its closed form at mpmath's default 15 digits (observed agreement ~1e-15; the
#: smoothed power's |u|^p kink at u = 0 sits at an end point of the quadrature)
MPMATH_AGREEMENT = 1e-12

#: (ρ, η, L_min/L_max, q) cases: resonance inside the inertial range (k_min r_g0 < 1)
SLAB_CASES = [(0.01, 0.5, 1e-3, 5.0 / 3.0), (0.1, 0.1, 1e-3, 5.0 / 3.0), (0.03, 0.9, 1e-2, 1.3),
              (0.05, 0.3, 1e-3, 1.8)]


def _k_min(lmin_over_lmax: float, spectral_index: float):
    """k_min = 2π/L_max in 1/L_c from the derived L_c(L_max) of theory.transport
    (docs/physics/conventions.md#correlation-length)."""
    length, symbols = reference.correlation_length_symbolic()
    ratio = length.subs({symbols["r"]: sp.Float(lmin_over_lmax, 40), symbols["s"]: sp.nsimplify(spectral_index)})
    per_unit_lmax = sp.N(ratio.subs(symbols["L_max"], 1), DIGITS)
    return 2 * mp.pi * mp.mpf(str(per_unit_lmax))  # L_c = 1 ⇒ L_max = 1/per_unit_lmax


def _regular_field(rho, eta):
    """docs/physics/conventions.md#units: Ω0/Ω = sqrt(1-η), r_g0 = r_g/sqrt(1-η), δB²/B0² = η/(1-η)."""
    regular = mp.sqrt(1 - mp.mpf(eta))
    return regular, mp.mpf(rho) / regular, mp.mpf(eta) / (1 - mp.mpf(eta))


# ------------------------------------------------------------------------------------------- derivation checks
def test_power_law_resonance_gives_the_quoted_pitch_angle_coefficient():
    d_mumu, s = reference.slab_dmumu_symbolic()
    quoted = (sp.pi / 4 * (s["q"] - 1) * s["Omega"] * s["eta"] * (s["k_min"] * s["r_g"]) ** (s["q"] - 1)
              * (1 - s["mu"] ** 2) * s["mu"] ** (s["q"] - 1))
    assert sp.simplify(sp.powsimp(sp.expand_power_base(d_mumu / quoted, force=True), force=True)) == 1


def test_parallel_diffusion_closed_form_for_general_q_and_27_over_7pi():
    kappa, kappa_kolmogorov, s = reference.parallel_diffusion_symbolic()
    q = s["q"]
    expected = (2 * s["Omega"] * s["r_g"] ** 2
                / (sp.pi * (q - 1) * (2 - q) * (4 - q) * s["eta"] * (s["k_min"] * s["r_g"]) ** (q - 1)))
    assert sp.simplify(sp.powsimp(sp.expand_power_base(kappa / expected, force=True), force=True)) == 1
    v = s["Omega"] * s["r_g"]
    assert sp.simplify(kappa_kolmogorov / (sp.Rational(27, 7) / sp.pi * v * s["r_g"]
                                           / (s["eta"] * (s["k_min"] * s["r_g"]) ** sp.Rational(2, 3)))) == 1


def test_v_squared_over_8_prefactor_reproduces_the_isotropic_dipole_rate():
    assert reference.isotropic_scattering_check() == 1


def test_regularised_taylor_green_kubo_integral_tends_to_the_resonance():
    # the regulator e^{-ετ} broadens the resonance to a Lorentzian; the error is linear in ε (halve ε, halve the
    # error), so the ε → 0 limit is exactly the resonance formula; at ε = 5e-6 the error is ~2e-4 here
    with mp.workdps(DIGITS):
        errors = [reference.resonance_integral_regularised(0.4, mp.mpf(5) / 3, 0.01, eps) - 1
                  for eps in (mp.mpf("1e-5"), mp.mpf("5e-6"))]
    assert abs(errors[1]) < 1e-3
    assert float(errors[0] / errors[1]) == pytest.approx(2.0, rel=1e-3)


def test_mpmath_quadrature_of_kappa_equals_the_closed_form():
    with mp.workdps(DIGITS):
        for q in (mp.mpf("1.2"), mp.mpf(5) / 3, mp.mpf("1.9")):
            ratio = reference.parallel_diffusion(q, 0.5, 0.01) / reference.parallel_diffusion_closed_form(q, 0.5, 0.01)
            assert abs(ratio - 1) < mp.mpf(10) ** (-DIGITS + 3)


def test_dipole_of_the_diffusive_solution_is_4pi_kg_squared_over_v_squared():
    c1, expected, _ = reference.dipole_power_symbolic()
    assert sp.simplify(c1 - expected) == 0


def test_projected_source_is_8pi_over_3_gkg():
    source, expected = reference.source_symbolic()
    assert sp.simplify(source - expected) == 0


def test_sphere_second_moments_are_4pi_over_3_delta():
    assert reference.sphere_moment_matrix() == 4 * sp.pi / 3 * sp.eye(3)


def test_correlation_length_formula_matches_design_convention():
    length, s = reference.correlation_length_symbolic()
    design = s["L_max"] / 2 * (s["s"] - 1) / s["s"] * (1 - s["r"] ** s["s"]) / (1 - s["r"] ** (s["s"] - 1))
    assert sp.simplify(length - design) == 0
    assert s["per_mode"] == sp.pi / sp.Symbol("k", positive=True)


def test_isotropic_fieldline_diffusion_per_mode_is_pi_over_4k():
    value, k = reference.isotropic_fieldline_per_mode()
    assert sp.simplify(value - sp.pi / (4 * k)) == 0


# ------------------------------------------------------------------------------------ anisotropy.transport QLT
@pytest.mark.parametrize(("lmin_over_lmax", "spectral_index"), [(1e-3, 5.0 / 3.0), (1e-2, 1.3), (0.1, 1.8)])
def test_minimum_wavenumber_follows_the_derived_correlation_length(lmin_over_lmax, spectral_index):
    with mp.workdps(DIGITS):
        expected = float(_k_min(lmin_over_lmax, spectral_index))
    assert transport.minimum_wavenumber(lmin_over_lmax, spectral_index) == pytest.approx(expected,
                                                                                         rel=CLOSED_FORM_RTOL)


@pytest.mark.parametrize(("rho", "eta", "lmin_over_lmax", "q"), SLAB_CASES)
def test_pitch_angle_diffusion_matches_resonance_formula(rho, eta, lmin_over_lmax, q):
    mu = np.array([-0.95, -0.3, 0.01, 0.5, 0.999])
    numeric = transport.pitch_angle_diffusion(mu, rho, eta, lmin_over_lmax=lmin_over_lmax, spectral_index=q)
    with mp.workdps(DIGITS):
        regular, r_g0, ratio = _regular_field(rho, eta)
        k_min = _k_min(lmin_over_lmax, q)
        expected = [float(reference.slab_dmumu(m, q, ratio, k_min * r_g0, omega=regular)) for m in mu]
    np.testing.assert_allclose(numeric, expected, rtol=CLOSED_FORM_RTOL)


@pytest.mark.parametrize(("rho", "eta", "lmin_over_lmax", "q"), SLAB_CASES)
def test_parallel_diffusion_integral_matches_exact_kappa(rho, eta, lmin_over_lmax, q):
    with mp.workdps(DIGITS):
        _, r_g0, ratio = _regular_field(rho, eta)
        k_min = _k_min(lmin_over_lmax, q)
        exact = reference.parallel_diffusion_closed_form(q, ratio, k_min * r_g0, v=1, r_g=r_g0)
        by_quadrature = reference.parallel_diffusion(q, ratio, k_min * r_g0, v=1, r_g=r_g0)
        assert abs(by_quadrature / exact - 1) < mp.mpf(10) ** (-DIGITS + 3)
    numeric = transport.parallel_diffusion(rho, eta, lmin_over_lmax=lmin_over_lmax, spectral_index=q)
    assert numeric == pytest.approx(float(exact), rel=QUAD_RTOL)


def test_parallel_diffusion_closed_form_is_27_over_7pi_and_scales_with_speed():
    rho, eta = 0.02, 0.4
    with mp.workdps(DIGITS):
        _, r_g0, ratio = _regular_field(rho, eta)
        k_min = _k_min(1e-3, 5.0 / 3.0)
        exact = 27 / (7 * mp.pi) * r_g0 / (ratio * (k_min * r_g0) ** (mp.mpf(2) / 3))
    assert transport.parallel_diffusion(rho, eta, method="closed_form") == pytest.approx(float(exact),
                                                                                          rel=CLOSED_FORM_RTOL)
    assert transport.parallel_diffusion(rho, eta, speed=0.5, method="closed_form") == pytest.approx(
        0.5 * float(exact), rel=CLOSED_FORM_RTOL)


def test_scattering_time_mean_free_path_and_omega_tau():
    kappa, speed = 2.5, 0.8
    with mp.workdps(DIGITS):
        tau = reference.scattering_time(kappa, speed)
    assert transport.scattering_time(kappa, speed) == pytest.approx(float(tau), rel=CLOSED_FORM_RTOL)
    # λ = 3κ/v = v τ_s
    assert transport.mean_free_path(kappa, speed) == pytest.approx(float(speed * tau), rel=CLOSED_FORM_RTOL)
    rho, eta = 0.01, 0.5
    with mp.workdps(DIGITS):
        _, r_g0, ratio = _regular_field(rho, eta)
        exact_kappa = reference.parallel_diffusion_closed_form(5 / mp.mpf(3), ratio, _k_min(1e-3, 5.0 / 3.0) * r_g0,
                                                               v=1, r_g=r_g0)
        # Ω = v/r_g with r_g = ρ L_c in B_tot: Ωτ_s = τ_s/ρ for v = c
        expected = reference.scattering_time(exact_kappa, 1) / rho
    assert transport.omega_scattering_time(rho, eta) == pytest.approx(float(expected), rel=QUAD_RTOL)


def test_diffusion_tensor_dipole_vector_and_power():
    field = [1.0, -2.0, 0.5]
    kappa_par, kappa_perp, gradient, speed = 3.0, 0.2, [0.3, 0.1, -0.7], 0.9
    tensor = transport.diffusion_tensor(kappa_par, kappa_perp, field)
    with mp.workdps(DIGITS):
        exact_tensor = reference.diffusion_tensor(kappa_par, kappa_perp, field)
        exact_power = reference.dipole_power(exact_tensor, gradient, speed)
        exact_amplitude = reference.dipole_amplitude(exact_tensor, gradient, speed)
    np.testing.assert_allclose(tensor, np.array(exact_tensor.tolist(), dtype=float), rtol=0, atol=1e-15 * kappa_par)
    assert transport.dipole_power(tensor, gradient, speed) == pytest.approx(float(exact_power), rel=CLOSED_FORM_RTOL)
    dipole = transport.dipole_vector(tensor, gradient, speed)
    assert np.linalg.norm(dipole) == pytest.approx(float(exact_amplitude), rel=CLOSED_FORM_RTOL)
    # towards higher density: δ ∥ +K·G (docs/physics/simulator.md#liouville-mapping sign check)
    assert np.dot(dipole, tensor @ np.asarray(gradient)) > 0


def test_slab_qlt_in_physical_units_matches_exact_kappa():
    energy, b_rms, l_c, eta = 10.0, 3.0, 10.0, 0.3
    result = transport.slab_qlt_physical(energy, b_rms, l_c, eta)
    reduced = units.to_reduced(energy, b_rms, l_c, eta)
    with mp.workdps(DIGITS):
        _, r_g0, ratio = _regular_field(reduced.reduced_rigidity, eta)
        kappa = reference.parallel_diffusion_closed_form(5 / mp.mpf(3), ratio, _k_min(1e-3, 5.0 / 3.0) * r_g0,
                                                         v=reduced.speed, r_g=r_g0)
        length_m = mp.mpf(l_c) * mp.mpf(units.PARSEC_M)
        c = mp.mpf(units.SPEED_OF_LIGHT_M_S)
        kappa_si = kappa * c * length_m
        tau_s = reference.scattering_time(kappa, reduced.speed) * length_m / c
    assert result["kappa_parallel_m2_s"] == pytest.approx(float(kappa_si), rel=QUAD_RTOL)
    assert result["scattering_time_s"] == pytest.approx(float(tau_s), rel=QUAD_RTOL)
    assert result["mean_free_path_pc"] == pytest.approx(float(3 * kappa / reduced.speed * l_c), rel=QUAD_RTOL)
    omega = float(units.gyrofrequency(energy, b_rms))
    assert result["omega_tau_s"] == pytest.approx(float(tau_s) * omega, rel=QUAD_RTOL)


# ----------------------------------------------------------------------------------------------- field lines
@pytest.mark.parametrize("eta", [0.1, 0.5, 0.9])
def test_isotropic_fieldline_diffusion_is_quarter_turbulence_ratio_times_lc(eta):
    value, k = reference.isotropic_fieldline_per_mode()
    per_mode = sp.lambdify(k, value, "mpmath")
    ratio = eta / (1 - eta)
    # continuum limit: Σ f_n π/k_n → L_c = 1 (theory.transport.correlation_length_symbolic)
    assert transport.qlt_fieldline_diffusion(eta) == pytest.approx(ratio / 4, rel=1e-15)
    wavenumbers, fractions = kolmogorov_modes(1e-3, 64)
    with mp.workdps(DIGITS):
        discrete = ratio * sum(mp.mpf(f) * per_mode(mp.mpf(kn)) for kn, f in zip(wavenumbers, fractions))
    assert transport.qlt_fieldline_diffusion(eta, modes_per_decade=64) == pytest.approx(float(discrete),
                                                                                        rel=CLOSED_FORM_RTOL)


def test_slab_fieldline_running_diffusion_matches_derived_mode_sums():
    eta = 0.3
    wavenumbers, fractions = kolmogorov_modes(1e-2, 8)
    z = np.array([1e-6, 0.1, 2.0, 50.0])
    running, displacement = transport.slab_fieldline_running_diffusion(z, eta, wavenumbers, fractions)
    mode = heuristic.slab_fieldline_mode()
    msd_mode = sp.lambdify((mode["z"], mode["k"]), mode["msd"], "mpmath")
    d_mode = sp.lambdify((mode["z"], mode["k"]), mode["d_fieldline"], "mpmath")
    with mp.workdps(DIGITS):
        ratio = mp.mpf(eta) / (1 - mp.mpf(eta))
        for index, value in enumerate(z):
            zz = mp.mpf(value)
            expected_msd = ratio * sum(mp.mpf(f) * msd_mode(zz, mp.mpf(k)) for k, f in zip(wavenumbers, fractions))
            expected_d = ratio * sum(mp.mpf(f) * d_mode(zz, mp.mpf(k)) for k, f in zip(wavenumbers, fractions))
            assert displacement[index] == pytest.approx(float(expected_msd), rel=1e-12)
            assert running[index] == pytest.approx(float(expected_d), rel=1e-12)


def test_tilt_of_the_local_field_gives_a_parallel_speed_variance_of_half_the_turbulence_ratio():
    mu, ratio = sp.symbols("mu ratio", real=True)
    assert sp.simplify(reference.gyrophase_tilt_variance_symbolic() - (1 - mu**2) * ratio / 2) == 0


@pytest.mark.parametrize(("x", "width"), [(0.0, 0.3), (0.7, 0.3), (2.0, 1.5)])
def test_gaussian_broadened_time_integral_has_the_closed_form(x, width):
    numeric, closed = reference.gaussian_resonance_function(x, width)
    assert abs(numeric / closed - 1) < MPMATH_AGREEMENT


@pytest.mark.parametrize(("mu", "width", "exponent"), [(0.0, 0.7, 2 / 3), (0.3, 0.2, 2 / 3), (0.9, 0.05, 0.5)])
def test_smoothed_power_without_cutoffs_is_the_gaussian_absolute_moment(mu, width, exponent):
    quadrature = reference.smoothed_power_quadrature(mu, width, exponent, 0, mp.inf)
    assert abs(quadrature / reference.smoothed_power_closed_form(mu, width, exponent) - 1) < MPMATH_AGREEMENT

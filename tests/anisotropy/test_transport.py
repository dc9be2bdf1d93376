"""Tests of anisotropy.transport against closed forms, limits and independent integrals."""

import math

import numpy as np
import pytest
from scipy import special

from anisotropy import Turbulence, transport
from anisotropy.errors import ParameterError
from anisotropy.spectrum import kolmogorov_modes
from anisotropy.units import PARSEC_M, SPEED_OF_LIGHT_M_S, correlation_length, gyrofrequency, to_reduced

#: adaptive quadrature is asked for 1e-11 relative; allow two orders for the summed pieces
QUADRATURE = 1e-9
#: pure algebra in float64
ROUNDING = 1e-12


def _general_q_parallel_diffusion(reduced_rigidity, eta, q, lmin_over_lmax, speed):
    """κ_∥ from ∫_{-1}^{1}(1-μ²)|μ|^{1-q}dμ = 2[1/(2-q) - 1/(4-q)], written out by hand
    (docs/physics/transport.md#slab-qlt)."""
    l_max = 1.0 / correlation_length(1.0, lmin_over_lmax, q)
    k_min = 2 * math.pi / l_max
    regular = math.sqrt(1 - eta)
    omega0_over_omega = regular
    rg0 = reduced_rigidity / regular
    ratio = eta / (1 - eta)
    d_prefactor = math.pi / 4 * (q - 1) * omega0_over_omega * ratio * (k_min * rg0) ** (q - 1)
    mu_integral = 2 * (1 / (2 - q) - 1 / (4 - q))
    # (v²/8)/Ω = β ρ/8 in c L_c
    return speed * reduced_rigidity / 8 * mu_integral / d_prefactor


@pytest.mark.parametrize(("reduced_rigidity", "eta"), [(0.01, 0.1), (0.1, 0.5), (0.003, 0.9)])
def test_parallel_diffusion_integral_equals_the_27_over_7pi_closed_form(reduced_rigidity, eta):
    numeric = transport.parallel_diffusion(reduced_rigidity, eta)
    closed = transport.parallel_diffusion(reduced_rigidity, eta, method="closed_form")
    assert numeric == pytest.approx(closed, rel=QUADRATURE)


@pytest.mark.parametrize("q", [1.2, 1.5, 1.9])
def test_parallel_diffusion_integral_matches_the_general_q_power_law_result(q):
    numeric = transport.parallel_diffusion(0.02, 0.3, spectral_index=q, lmin_over_lmax=1e-2, speed=0.5)
    assert numeric == pytest.approx(_general_q_parallel_diffusion(0.02, 0.3, q, 1e-2, 0.5), rel=QUADRATURE)


def test_pitch_angle_diffusion_is_the_q_five_thirds_form_of_physics_4_6c():
    # D_μμ = (π/6) Ω0 (δB²/B0²)(k_min r_g0)^{2/3}(1-μ²)|μ|^{2/3}, with Ω0 = Ω√(1-η), r_g0 = r_g/√(1-η)
    rho, eta = 0.05, 0.2
    k_min = 2 * math.pi * correlation_length(1.0)
    mu = np.linspace(-1, 1, 11)
    expected = (math.pi / 6 * math.sqrt(1 - eta) * eta / (1 - eta) * (k_min * rho / math.sqrt(1 - eta)) ** (2 / 3)
                * (1 - mu**2) * np.abs(mu) ** (2 / 3))
    assert np.allclose(transport.pitch_angle_diffusion(mu, rho, eta), expected, rtol=ROUNDING, atol=0)


def test_kolmogorov_parallel_diffusion_scales_as_rigidity_to_one_third():
    # QLT Kolmogorov: κ_∥ ∝ v r_g (k_min r_g)^{-2/3} ∝ r_g^{1/3}
    ratio = transport.parallel_diffusion(0.08, 0.2) / transport.parallel_diffusion(0.01, 0.2)
    assert ratio == pytest.approx(8 ** (1 / 3), rel=QUADRATURE)


def test_omega_scattering_time_is_three_kappa_omega_over_v_squared():
    rho, eta, speed = 0.02, 0.4, 0.7
    kappa = transport.parallel_diffusion(rho, eta, speed=speed)
    tau_s = transport.scattering_time(kappa, speed)  # in L_c/c
    omega = speed / rho  # Ω in c/L_c
    assert transport.omega_scattering_time(rho, eta) == pytest.approx(omega * tau_s, rel=ROUNDING)
    assert transport.mean_free_path(kappa, speed) == pytest.approx(speed * tau_s, rel=ROUNDING)


def test_physical_wrapper_agrees_with_reduced_units():
    result = transport.slab_qlt_physical(10.0, 3.0, 10.0, 0.5)
    reduced = to_reduced(10.0, 3.0, 10.0, 0.5)
    kappa = transport.parallel_diffusion(reduced.reduced_rigidity, 0.5, speed=reduced.speed)
    assert result["kappa_parallel_m2_s"] == pytest.approx(kappa * SPEED_OF_LIGHT_M_S * 10 * PARSEC_M, rel=ROUNDING)
    assert result["mean_free_path_pc"] == pytest.approx(3 * kappa / reduced.speed * 10, rel=ROUNDING)
    omega_tau = result["scattering_time_s"] * gyrofrequency(10.0, 3.0)
    assert result["omega_tau_s"] == pytest.approx(omega_tau, rel=ROUNDING)
    assert result["omega_tau_s"] == pytest.approx(transport.omega_scattering_time(reduced.reduced_rigidity, 0.5),
                                                  rel=1e-6)  # β = 1 - 4e-9 at 10 TeV


def test_diffusion_tensor_eigenvectors_and_dipole_power():
    b_hat = np.array([1.0, 2.0, 2.0]) / 3.0
    tensor = transport.diffusion_tensor(3.0, 0.5, 3.0 * b_hat)
    perpendicular = np.cross(b_hat, [0.0, 0.0, 1.0])
    assert np.allclose(tensor @ b_hat, 3.0 * b_hat, atol=ROUNDING)
    assert np.allclose(tensor @ perpendicular, 0.5 * perpendicular, atol=ROUNDING)
    # isotropic K = κ I: C_1 = 4π κ²|G|²/v² (docs/physics/source.md#diffusive-dipole) and δ = 3κG/v
    isotropic = transport.diffusion_tensor(2.0, 2.0, [0, 0, 1])
    gradient = np.array([0.3, -0.1, 0.2])
    assert np.allclose(transport.dipole_vector(isotropic, gradient, 0.5), 12.0 * gradient, atol=ROUNDING)
    expected = 4 * math.pi * 4.0 * gradient @ gradient / 0.25
    assert transport.dipole_power(isotropic, gradient, 0.5) == pytest.approx(expected, rel=ROUNDING)
    # slab QLT: κ_⊥ = 0, the dipole lies along B0 with amplitude 3κ_∥(b̂·G)/v
    slab = transport.diffusion_tensor(3.0, 0.0, b_hat)
    assert np.allclose(transport.dipole_vector(slab, gradient), 9.0 * (b_hat @ gradient) * b_hat, atol=ROUNDING)


def test_isotropic_fieldline_diffusion_matches_the_direction_averaged_transverse_correlation():
    # Independent route: per mode, Σ_{i=x,y} ∫_0^Z <δB_i δB_i>(zẑ) dz / B0² averaged over κ̂ ∈ S², ξ̂ ⊥ κ̂ equals
    # (δB²/B0²) f/(2k) [Si(kZ) + (sin kZ - kZ cos kZ)/(kZ)²]; let Z → ∞ (Si → π/2, corrections ≲ 1/(k_min Z)).
    eta, distance = 0.02, 1e7
    wavenumbers, fractions = kolmogorov_modes(1e-3, 64)
    phase = wavenumbers * distance
    si, _ = special.sici(phase)
    per_mode = fractions / (2 * wavenumbers) * (si + (np.sin(phase) - phase * np.cos(phase)) / phase**2)
    expected = eta / (1 - eta) * per_mode.sum()
    assert transport.qlt_fieldline_diffusion(eta, modes_per_decade=64) == pytest.approx(expected, rel=1e-6)
    # and the continuous-spectrum value is the 0.25 (δB²/B0²) L_c
    assert transport.qlt_fieldline_diffusion(eta) == pytest.approx(0.25 * eta / (1 - eta), rel=ROUNDING)


#: mpmath quadrature of the double integral against the closed form: both exact, so only quadrature error remains
WANDERING_QUADRATURE_RTOL = 1e-8


def test_fieldline_wandering_equals_the_double_integral_of_the_transverse_correlation():
    # Independent route: <Δr⊥²>(z) = 2∫_0^z (z - τ) R⊥(τ) dτ with R⊥(τ) = Σ_{i=x,y}<δB_i(0)δB_i(τẑ)>/B0²
    # = (δB²/B0²) Σ_n f_n [j0(k_n τ) - j1(k_n τ)/(k_n τ)] (direction average of (1 + μ²) cos(kμτ)/2 per mode)
    import mpmath

    eta = 0.1
    wavenumbers, fractions = kolmogorov_modes(1e-1, 4)  # 5 modes: a cheap, fully explicit sum
    mpmath.mp.dps = 20

    def transverse(tau):
        total = mpmath.mpf(0)
        for wavenumber, fraction in zip(wavenumbers, fractions):
            u = mpmath.mpf(float(wavenumber)) * tau
            if u == 0:
                total += fraction * mpmath.mpf(2) / 3
                continue
            # j_n(u) = sqrt(π/2u) J_{n+1/2}(u): mpmath's Bessel function, accurate at the tiny u quad samples
            j0, j1 = (mpmath.sqrt(mpmath.pi / (2 * u)) * mpmath.besselj(order + 0.5, u) for order in (0, 1))
            total += fraction * (j0 - j1 / u)
        return eta / (1 - eta) * total

    for distance in (0.05, 1.0, 7.0):
        nodes = [0] + [distance * m / 8 for m in range(1, 9)]
        expected = 2 * mpmath.quad(lambda tau, end=distance: (end - tau) * transverse(tau), nodes)
        value = transport.qlt_fieldline_wandering(distance, eta, wavenumbers, fractions)
        assert float(value) == pytest.approx(float(expected), rel=WANDERING_QUADRATURE_RTOL)


def test_fieldline_wandering_is_ballistic_at_small_z_and_grows_as_two_d_fl_z_at_large_z():
    eta = 0.02
    wavenumbers, fractions = kolmogorov_modes(1e-2, 64)
    strength = eta / (1 - eta)
    tiny = 1e-4 / wavenumbers[-1]
    # k_max z = 1e-4: the next term is -(k z)^4/45 relative to (2/3)(k z)^2, i.e. 1e-9
    assert transport.qlt_fieldline_wandering(tiny, eta, wavenumbers, fractions) == pytest.approx(
        2.0 / 3.0 * strength * tiny**2, rel=1e-8)
    # slope at k_min z ~ 1e7: 2 d_FL of qlt_fieldline_diffusion on the same modes (the slope's correction is
    # Si(b) - π/2 - cos(b)/b + ... ~ 2/b relative, 2e-7 here)
    far = np.array([1e7, 1e7 + 1.0]) / wavenumbers[0]
    slope = np.diff(transport.qlt_fieldline_wandering(far, eta, wavenumbers, fractions))[0] / np.diff(far)[0]
    d_fl = transport.qlt_fieldline_diffusion(eta, lmin_over_lmax=1e-2, modes_per_decade=64)
    assert slope == pytest.approx(2.0 * d_fl, rel=1e-6)
    with pytest.raises(ParameterError, match=r"^z"):
        transport.qlt_fieldline_wandering(-1.0, eta, wavenumbers, fractions)


def test_slab_fieldline_running_coefficient_is_half_the_derivative_and_ballistic_at_small_z():
    eta = 0.1
    wavenumbers, fractions = kolmogorov_modes(1e-2, 64)
    z = np.linspace(0.05, 5.0, 50)
    step = 1e-5
    running, _ = transport.slab_fieldline_running_diffusion(z, eta, wavenumbers, fractions)
    _, plus = transport.slab_fieldline_running_diffusion(z + step, eta, wavenumbers, fractions)
    _, minus = transport.slab_fieldline_running_diffusion(z - step, eta, wavenumbers, fractions)
    # central difference error ~ step² max|d³/dz³| ~ 1e-10 · k_max² · d_FL
    assert np.allclose(running, 0.25 * (plus - minus) / step, rtol=1e-6, atol=0)
    tiny = 1e-6  # k_max z ≪ 1: straight field lines, d_FL = (δB²/B0²) z
    small, _ = transport.slab_fieldline_running_diffusion(tiny, eta, wavenumbers, fractions)
    assert small == pytest.approx(eta / (1 - eta) * tiny, rel=1e-6)


def test_slab_fieldline_displacement_stays_bounded_without_power_below_k_min():
    eta = 0.1
    wavenumbers, fractions = kolmogorov_modes(1e-2, 64)
    _, displacement = transport.slab_fieldline_running_diffusion(np.geomspace(1, 1e6, 300), eta, wavenumbers,
                                                                 fractions)
    bound = 4 * eta / (1 - eta) * np.sum(fractions / wavenumbers**2)  # 1 - cos ≤ 2
    assert np.all(displacement <= bound * (1 + ROUNDING))


@pytest.mark.parametrize("sharpness", [0.5, 1.0, 3.0])
def test_smoothly_broken_power_law_has_the_two_asymptotic_slopes(sharpness):
    x = np.array([1e-24, 2e-24, 1e24, 2e24])  # corrections O(x^s) are < 1e-11 here
    values = transport.smoothly_broken_power_law(x, 2.0, 1.0, 1.5, -0.5, sharpness)
    assert math.log2(values[1] / values[0]) == pytest.approx(1.5, abs=1e-6)
    assert math.log2(values[3] / values[2]) == pytest.approx(-0.5, abs=1e-6)
    assert values[0] == pytest.approx(2.0 * 1e-24**1.5, rel=1e-6)
    # at the break the bracket is 2^{(b-a)/s}
    assert transport.smoothly_broken_power_law(3.0, 2.0, 3.0, 1.5, -0.5, sharpness) == pytest.approx(
        2.0 * 2 ** (-2.0 / sharpness), rel=ROUNDING)


def test_smoothly_broken_power_law_does_not_overflow_far_above_the_break():
    assert transport.smoothly_broken_power_law(1e300, 1.0, 1e-300, 1.0, 0.0, 4.0) == pytest.approx(1.0)


def test_mean_squared_displacement_of_the_sharpness_one_running_coefficient():
    # d = κ (t/t_b)/(1 + t/t_b)  ⇒  2∫_0^t d = 2κ[t - t_b ln(1 + t/t_b)]
    kappa, t_break = 1.7, 0.3
    times = np.array([5.0, 1e-3, 0.3, 40.0, 0.0])
    numeric = transport.mean_squared_displacement(
        lambda s: transport.running_parallel_diffusion(s, kappa, t_break), times)
    exact = 2 * kappa * (times - t_break * np.log1p(times / t_break))
    assert np.allclose(numeric, exact, rtol=QUADRATURE, atol=0)


def test_telegraph_displacement_is_the_integral_of_its_running_coefficient():
    kappa, tau = 0.8, 2.0
    times = np.geomspace(1e-5, 1e3, 30)
    numeric = transport.mean_squared_displacement(lambda s: transport.telegraph_parallel_diffusion(s, kappa, tau),
                                                  times)
    closed = transport.telegraph_mean_squared_displacement(times, kappa, tau)
    assert np.allclose(numeric, closed, rtol=QUADRATURE, atol=0)
    # ballistic start ⟨Δz²⟩ → κ t²/τ and diffusive end → 2κ(t - τ)
    assert closed[0] == pytest.approx(kappa * times[0] ** 2 / tau, rel=1e-5)
    assert closed[-1] == pytest.approx(2 * kappa * (times[-1] - tau), rel=ROUNDING)


def _local_slope(times, values):
    return np.diff(np.log(values)) / np.diff(np.log(times))


def test_heuristic_perpendicular_diffusion_is_ballistic_early_and_compound_subdiffusive_late():
    kappa, t_break, d_fl, z_break = 1.0, 1.0, 0.2, 0.5

    def d_parallel(t):
        return transport.running_parallel_diffusion(t, kappa, t_break)

    def d_fieldline(z):
        return transport.fieldline_diffusion(z, d_fl, z_break)

    early = np.array([1e-6, 2e-6])
    late = np.array([1e8, 2e8])
    # relative corrections to the asymptotes are O(t/t_b) early and O((t_b/t)^{1/2}) late
    assert _local_slope(early, transport.heuristic_perpendicular_diffusion(early, d_parallel, d_fieldline))[0] == \
        pytest.approx(1.0, abs=1e-3)
    assert _local_slope(late, transport.heuristic_perpendicular_diffusion(late, d_parallel, d_fieldline))[0] == \
        pytest.approx(-0.5, abs=1e-3)
    # late amplitude: d_⊥ → d_FL κ / sqrt(2κ t)
    value = transport.heuristic_perpendicular_diffusion(1e10, d_parallel, d_fieldline)
    assert value == pytest.approx(d_fl * kappa / math.sqrt(2 * kappa * 1e10), rel=1e-3)
    assert transport.heuristic_perpendicular_diffusion(0.0, d_parallel, d_fieldline) == 0.0


def test_bad_transport_input_raises_parameter_error():
    with pytest.raises(ParameterError, match="eta"):
        transport.parallel_diffusion(0.01, 1.0)
    with pytest.raises(ParameterError, match="spectral_index"):
        transport.parallel_diffusion(0.01, 0.5, spectral_index=1.5, method="closed_form")
    with pytest.raises(ParameterError, match="method"):
        transport.parallel_diffusion(0.01, 0.5, method="guess")
    with pytest.raises(ParameterError, match="x_break"):
        transport.smoothly_broken_power_law(1.0, 1.0, 0.0, 1.0, 0.0)
    with pytest.raises(ParameterError, match="b_hat"):
        transport.diffusion_tensor(1.0, 0.0, [0, 0, 0])
    with pytest.raises(ParameterError, match="t"):
        transport.mean_squared_displacement(lambda s: s, [-1.0])


# ----------------------------------------------------------------------------- the shared turbulence description
TURBULENCE = Turbulence(kind="slab", eta=0.4, lmin_over_lmax=1e-2, spectral_index=1.5, modes_per_decade=32)
LOOSE = {"eta": 0.4, "lmin_over_lmax": 1e-2, "spectral_index": 1.5}


def test_slab_qlt_with_a_turbulence_equals_the_loose_form():
    mu = np.linspace(-1.0, 1.0, 11)
    np.testing.assert_array_equal(transport.pitch_angle_diffusion(mu, 0.2, turbulence=TURBULENCE),
                                  transport.pitch_angle_diffusion(mu, 0.2, **LOOSE))
    assert (transport.parallel_diffusion(0.2, turbulence=TURBULENCE, speed=0.5)
            == transport.parallel_diffusion(0.2, speed=0.5, **LOOSE))
    assert transport.omega_scattering_time(0.2, turbulence=TURBULENCE) == transport.omega_scattering_time(0.2, **LOOSE)
    assert (transport.minimum_wavenumber(turbulence=TURBULENCE)
            == transport.minimum_wavenumber(LOOSE["lmin_over_lmax"], LOOSE["spectral_index"]))


def test_physical_wrapper_and_fieldline_diffusion_with_a_turbulence_equal_the_loose_form():
    kolmogorov = Turbulence(kind="slab", eta=0.4, lmin_over_lmax=1e-2, modes_per_decade=32)
    assert (transport.slab_qlt_physical(10.0, 3.0, 1.0, turbulence=kolmogorov)
            == transport.slab_qlt_physical(10.0, 3.0, 1.0, 0.4, lmin_over_lmax=1e-2))
    assert (transport.qlt_fieldline_diffusion(turbulence=kolmogorov)
            == transport.qlt_fieldline_diffusion(0.4, lmin_over_lmax=1e-2, modes_per_decade=32))


@pytest.mark.parametrize("loose", [{"eta": 0.3}, {"lmin_over_lmax": 1e-4}, {"spectral_index": 1.6}])
def test_a_spectrum_given_twice_is_refused_naming_the_loose_argument(loose):
    name = next(iter(loose))
    with pytest.raises(ParameterError, match=rf"^{name}: given both"):
        transport.omega_scattering_time(0.2, turbulence=TURBULENCE, **loose)


def test_missing_eta_is_named():
    with pytest.raises(ParameterError, match=r"^eta: required"):
        transport.parallel_diffusion(0.2)

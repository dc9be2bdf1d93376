"""validation.simulator.turbulence against independent expectations: normalisation, solenoidality, spectrum,
correlations."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from anisotropy.errors import ParameterError
from anisotropy.spectrum import isotropic_correlation, kolmogorov_modes, slab_correlation
from anisotropy.units import correlation_length
from validation.simulator.config import TurbulenceConfig
from validation.simulator.turbulence import TurbulenceField

#: statistical tests accept deviations up to this many standard errors (fixed seeds; ~6e-5 two-sided false alarm)
N_SIGMA = 4.0
#: exact identities in double precision: sums of O(1000) terms of O(1)
ROUNDING = 1e-12


@pytest.mark.parametrize("kind", ["isotropic", "slab"])
@pytest.mark.parametrize("eta", [0.05, 0.5, 1.0])
def test_mode_power_sums_to_eta_and_regular_field_is_sqrt_one_minus_eta(kind, eta):
    field = TurbulenceField(TurbulenceConfig(kind=kind, eta=eta), 3)
    # <δB²> = Σ A_n² <cos²> = Σ A_n²/2 = η in units of B_tot (docs/physics/simulator.md#plane-wave-field,
    # docs/physics/conventions.md#units)
    assert field.turbulent_power() == pytest.approx(eta, rel=ROUNDING)
    np.testing.assert_allclose(field.b0, [0.0, 0.0, math.sqrt(1.0 - eta)], atol=ROUNDING)


@pytest.mark.parametrize("kind", ["isotropic", "slab"])
def test_mean_square_turbulent_field_over_positions_and_realisations_equals_eta(kind):
    eta = 0.3
    config = TurbulenceConfig(kind=kind, eta=eta, lmin_over_lmax=1e-2, modes_per_decade=64)
    rng = np.random.default_rng(11)
    means = []
    for seed in range(8):
        field = TurbulenceField(config, seed)
        # points spread over 200 L_c >> L_max ≈ 5 L_c, so nearly independent samples
        points = rng.uniform(-100.0, 100.0, (4000, 3))
        turbulent = field(points, kernel="libm") - field.b0
        means.append(np.mean(np.sum(turbulent**2, axis=1)))
    # error model: realisation means scatter (finite samples); standard error from that scatter
    standard_error = np.std(means, ddof=1) / math.sqrt(len(means))
    assert abs(np.mean(means) - eta) < N_SIGMA * standard_error
    assert standard_error < 0.05 * eta  # the test has power: a 20% normalisation error would be caught


def test_isotropic_field_is_divergence_free_by_finite_differences():
    field = TurbulenceField(TurbulenceConfig(eta=1.0, lmin_over_lmax=1e-2, modes_per_decade=64), 5)
    points = np.random.default_rng(2).uniform(-10.0, 10.0, (200, 3))
    # central differences with h = L_min/1000: truncation (k_max h)²/6 ≈ 7e-6 of a typical derivative
    h = field.config.l_min / 1000.0
    divergence = np.zeros(len(points))
    gradient_scale = np.zeros(len(points))
    for axis in range(3):
        shift = np.zeros(3)
        shift[axis] = h
        derivative = (field(points + shift, kernel="libm") - field(points - shift, kernel="libm")) / (2.0 * h)
        divergence += derivative[:, axis]
        gradient_scale += np.sum(derivative**2, axis=1)
    typical = math.sqrt(np.mean(gradient_scale) / 9.0)
    # a non-solenoidal polarisation would make |div| comparable to `typical`
    assert np.max(np.abs(divergence)) < 1e-4 * typical


def test_polarisations_are_transverse_unit_directions():
    field = TurbulenceField(TurbulenceConfig(eta=0.7, modes_per_decade=32), 9)
    directions = field.wavevectors / field.wavenumbers[:, None]
    assert np.max(np.abs(np.sum(directions * field.polarisations, axis=1))) < ROUNDING
    slab = TurbulenceField(TurbulenceConfig(kind="slab", eta=0.7, modes_per_decade=32), 9)
    assert np.all(slab.wavevectors[:, :2] == 0.0) and np.all(slab.polarisations[:, 2] == 0.0)


def test_mode_amplitudes_follow_kolmogorov_slope():
    field = TurbulenceField(TurbulenceConfig(eta=0.5, modes_per_decade=50), 4)
    amplitude_squared = np.sum(field.polarisations**2, axis=1)
    slope, _ = np.polyfit(np.log(field.wavenumbers), np.log(amplitude_squared), 1)
    # A_n² ∝ S(k_n) Δk_n ∝ k_n^{1-q} on a log grid (docs/physics/simulator.md#plane-wave-field), q = 5/3
    assert slope == pytest.approx(1.0 - 5.0 / 3.0, abs=1e-10)


def test_slab_structure_function_has_kolmogorov_slope_in_the_inertial_range():
    eta = 1.0
    # the mode sum itself (points spread over 2000 L_c: a table would need 3.7 GiB and is refused)
    config = TurbulenceConfig(kind="slab", eta=eta, lmin_over_lmax=1e-4, modes_per_decade=32, slab_field="modes")
    rng = np.random.default_rng(3)
    lags = np.array([3e-3, 3e-2])  # L_c; L_min ≈ 5e-4, L_max ≈ 5: both well inside the inertial range
    structure = np.zeros((6, lags.size))
    for seed in range(6):
        field = TurbulenceField(config, seed)
        points = rng.uniform(-1000.0, 1000.0, (3000, 3))
        base = field(points)
        for index, lag in enumerate(lags):
            other = field(points + np.array([0.0, 0.0, lag]))
            structure[seed, index] = np.mean(np.sum((other - base) ** 2, axis=1))
    measured = structure.mean(axis=0)
    error = structure.std(axis=0, ddof=1) / math.sqrt(structure.shape[0])
    # exact expectation for these modes: D(ℓ) = 2η(1 − R(ℓ)) (anisotropy.spectrum.slab_correlation)
    wavenumbers, fractions = kolmogorov_modes(1e-4, 32)
    expected = 2.0 * eta * (1.0 - slab_correlation(lags, wavenumbers, fractions))
    assert np.all(np.abs(measured - expected) < N_SIGMA * error)
    # continuum Kolmogorov: D ∝ ℓ^{q-1} = ℓ^{2/3}; finite-range corrections here are < 0.03 in the slope
    slope = math.log(measured[1] / measured[0]) / math.log(lags[1] / lags[0])
    assert slope == pytest.approx(2.0 / 3.0, abs=0.05)


def test_measured_isotropic_correlation_matches_sinc_sum_of_the_modes():
    field = TurbulenceField(TurbulenceConfig(eta=1.0, lmin_over_lmax=1e-2, modes_per_decade=64), 21)
    rng = np.random.default_rng(8)
    samples = 20000
    points = rng.uniform(-500.0, 500.0, (samples, 3))
    directions = rng.normal(size=(samples, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    base = field(points)
    for distance in [0.1, 0.5, 1.0, 2.0]:
        products = np.sum(base * field(points + distance * directions), axis=1)
        # over random directions each mode contributes f_n sin(k r)/(k r), whatever its κ̂_n
        # (docs/physics/pair_rates.md#isotropic-pair-rate)
        expected = isotropic_correlation(distance, field.wavenumbers, np.sum(field.polarisations**2, 1) / 2.0)
        assert abs(products.mean() - expected) < N_SIGMA * products.std() / math.sqrt(samples)


@pytest.mark.parametrize("modes_per_decade", [64, 256, 1024])
def test_correlation_length_of_the_modes_tends_to_the_design_formula(modes_per_decade):
    ratio, q = 1e-3, 5.0 / 3.0
    field = TurbulenceField(TurbulenceConfig(lmin_over_lmax=ratio, modes_per_decade=modes_per_decade), 1)
    # L_c(modes) = π Σ f_n/k_n is a ratio of two sums over a grid in x = ln k with spacing Δ and both ends at full
    # weight; in the continuum it is the formula of docs/physics/conventions.md#correlation-length, i.e. 1 in units of
    # L_c.  Euler-Maclaurin for
    # Σ Δ e^{-p x} over [ln k_min, ln k_max]: ∫ (1 + (pΔ/2)(1+e)/(1-e) + (pΔ)²/12 + O(Δ⁴)), e = end/start ratio
    spacing = math.log(field.wavenumbers[1] / field.wavenumbers[0])

    def euler_maclaurin(power, end_ratio):
        return 1.0 + 0.5 * power * spacing * (1 + end_ratio) / (1 - end_ratio) + (power * spacing) ** 2 / 12.0

    # continuum two-sided integral π<1/k> over the field's own k range, by quadrature: must be L_c = 1
    # (docs/physics/conventions.md#correlation-length)
    k_min, k_max = field.wavenumbers[0], field.wavenumbers[-1]
    continuum = math.pi * quad(lambda k: k ** (-q - 1.0), k_min, k_max)[0] / quad(lambda k: k**-q, k_min, k_max)[0]
    formula = correlation_length(2.0 * math.pi / k_min, ratio)  # formula of
    # docs/physics/conventions.md#correlation-length for the field's L_max
    assert continuum == pytest.approx(formula, rel=1e-9)  # quad tolerance
    assert formula == pytest.approx(1.0, rel=1e-12)  # and lengths are indeed in units of L_c
    expected = continuum * euler_maclaurin(q, ratio**q) / euler_maclaurin(q - 1.0, ratio ** (q - 1.0))
    # next Euler-Maclaurin term is O(Δ⁴); Δ³ bounds it and is below the Δ² term this checks
    assert field.correlation_length() == pytest.approx(expected, abs=spacing**3)
    assert abs(field.correlation_length() - continuum) < spacing  # converges to the formula as Δ → 0


def test_same_seed_same_field_and_different_seeds_differ():
    config = TurbulenceConfig(eta=0.4, modes_per_decade=16)
    first = TurbulenceField(config, np.random.SeedSequence(77))
    again = TurbulenceField(config, np.random.SeedSequence(77))
    other = TurbulenceField(config, np.random.SeedSequence(78))
    for name in ["wavevectors", "polarisations", "phases"]:
        assert np.array_equal(getattr(first, name), getattr(again, name))
        assert not np.array_equal(getattr(first, name), getattr(other, name))
    assert np.array_equal(TurbulenceField(config, 77).phases, first.phases)  # int seed = SeedSequence(int)


def test_bad_seed_and_config_raise_parameter_error():
    with pytest.raises(ParameterError, match="seed"):
        TurbulenceField(TurbulenceConfig(), -1)
    with pytest.raises(ParameterError, match="config"):
        TurbulenceField({"kind": "slab"}, 1)

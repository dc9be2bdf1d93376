"""Tests of anisotropy.spectrum against the continuous power-law spectrum and exact plane-wave identities."""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from anisotropy.errors import ParameterError
from anisotropy.spectrum import isotropic_correlation, kolmogorov_modes, mode_count, slab_correlation
from anisotropy.units import correlation_length

#: sums of ~10^3 positive terms of O(1): rounding only
ROUNDING = 1e-12


def _log_spacing(wavenumbers):
    return math.log(wavenumbers[1] / wavenumbers[0])


def test_mode_count_follows_modes_per_decade_and_has_a_minimum_of_two():
    assert mode_count(1e-3, 256) == 768
    assert mode_count(1e-2, 100) == 200
    assert mode_count(0.5, 1) == 2


@pytest.mark.parametrize("ratio", [1e-3, 1e-2])
def test_wavenumbers_span_outer_to_inner_scale_in_units_of_lc(ratio):
    wavenumbers, _ = kolmogorov_modes(ratio, 64)
    # L_max in units of L_c, from the convention of docs/physics/conventions.md#correlation-length L_c =
    # correlation_length(L_max)
    l_max = 1.0 / correlation_length(1.0, ratio)
    assert wavenumbers[0] == pytest.approx(2 * math.pi / l_max, rel=ROUNDING)
    assert wavenumbers[-1] == pytest.approx(2 * math.pi / (ratio * l_max), rel=ROUNDING)
    assert np.allclose(np.diff(np.log(wavenumbers)), _log_spacing(wavenumbers), rtol=1e-9)


@pytest.mark.parametrize("index", [5.0 / 3.0, 1.5, 3.0])
def test_power_fractions_sum_to_one_with_slope_one_minus_q(index):
    wavenumbers, fractions = kolmogorov_modes(1e-3, 32, index)
    assert fractions.sum() == pytest.approx(1.0, abs=ROUNDING)
    slope = np.polyfit(np.log(wavenumbers), np.log(fractions), 1)[0]
    assert slope == pytest.approx(1.0 - index, abs=1e-10)


def test_correlations_are_one_at_zero_separation():
    wavenumbers, fractions = kolmogorov_modes(1e-3, 256)
    assert slab_correlation(0.0, wavenumbers, fractions) == pytest.approx(1.0, abs=ROUNDING)
    assert isotropic_correlation(0.0, wavenumbers, fractions) == pytest.approx(1.0, abs=ROUNDING)


def test_isotropic_correlation_integrates_to_the_design_correlation_length():
    # ∫_{-∞}^{∞} sin(kr)/(kr) dr = π/k exactly per mode, so L_c(discrete) = Σ f_n π/k_n; the continuous spectrum
    # gives L_c = 1 in these units (two-sided convention, docs/physics/conventions.md#correlation-length).  The log-k
    # rectangle rule (both ends at full
    # weight) differs from the integral by the endpoint term ≤ h q/2 < h, h = log spacing.
    wavenumbers, fractions = kolmogorov_modes(1e-3, 256)
    discrete_length = float(np.sum(fractions * np.pi / wavenumbers))
    assert discrete_length == pytest.approx(1.0, abs=_log_spacing(wavenumbers))


@pytest.mark.parametrize("separation", [0.01, 0.1, 0.5, 1.0, 3.0, 10.0])
def test_slab_correlation_matches_the_continuous_kolmogorov_integral(separation):
    index = 5.0 / 3.0
    wavenumbers, fractions = kolmogorov_modes(1e-3, 256, index)
    k_min, k_max = wavenumbers[0], wavenumbers[-1]
    # R = ∫ k^-q cos(kΔz) dk / ∫ k^-q dk, written in u = ln k
    numerator = quad(lambda u: math.exp(u * (1 - index)) * math.cos(math.exp(u) * separation),
                     math.log(k_min), math.log(k_max), limit=4000, epsabs=1e-11)[0]
    denominator = (k_min ** (1 - index) - k_max ** (1 - index)) / (index - 1)
    # endpoint error of the log-k rectangle rule, as above
    tolerance = _log_spacing(wavenumbers)
    assert slab_correlation(separation, wavenumbers, fractions) == pytest.approx(numerator / denominator,
                                                                                 abs=tolerance)


def test_isotropic_correlation_is_the_direction_average_of_a_plane_wave():
    # <cos(k κ̂·r)> over κ̂ uniform on the sphere = ½∫_{-1}^{1} cos(k r μ) dμ, by quadrature
    wavenumbers = np.array([0.7, 3.1, 20.0])
    fractions = np.array([0.5, 0.3, 0.2])
    nodes, weights = np.polynomial.legendre.leggauss(200)
    for distance in (0.05, 0.8, 2.5):
        direct = sum(f * 0.5 * np.dot(weights, np.cos(k * distance * nodes)) for k, f in zip(wavenumbers, fractions))
        assert isotropic_correlation(distance, wavenumbers, fractions) == pytest.approx(direct, abs=1e-13)


def test_correlations_keep_the_shape_of_the_separation_array():
    wavenumbers, fractions = kolmogorov_modes(1e-2, 16)
    grid = np.linspace(0.0, 2.0, 10_000).reshape(100, 100)  # larger than one evaluation block
    values = slab_correlation(grid, wavenumbers, fractions)
    assert values.shape == grid.shape
    assert values[37, 41] == pytest.approx(float(np.dot(fractions, np.cos(wavenumbers * grid[37, 41]))), abs=1e-14)


def test_bad_spectrum_parameters_raise_parameter_error():
    with pytest.raises(ParameterError, match="lmin_over_lmax"):
        kolmogorov_modes(1.5)
    with pytest.raises(ParameterError, match="modes_per_decade"):
        kolmogorov_modes(1e-3, 0)
    with pytest.raises(ParameterError, match="spectral_index"):
        kolmogorov_modes(1e-3, 16, 1.0)
    with pytest.raises(ParameterError, match="power_fraction"):
        slab_correlation(1.0, [1.0, 2.0], [1.0])

"""The isotropic pair model with B0 (anisotropy.pair_rates) against the brute-force quadrature of theory.pair_models."""

from __future__ import annotations

import numpy as np
import pytest

from anisotropy.pair_rates import PairRate, regular_field_pair_integrals
from anisotropy.spectrum import kolmogorov_modes
from theory import pair_models

#: four modes (L_min/L_max = 1e-2, 2 per decade): every integrand of the brute force is then an entire function of
#: ≲ 10 oscillations, so its Gauss rules converge exponentially (measured: the default nodes against 1.4-1.6× more
#: in every dimension agree to 3e-10 at the parameters below)
SPARSE_SPECTRUM = {"lmin_over_lmax": 1e-2, "modes_per_decade": 2}
#: the fast model interpolates P(r), Q(r) from tables of step 0.1/k_max with 4-point Lagrange: error per mode
#: ≤ (3/128)(0.1)^4 = 2.3e-6 of the mode's power, and the top mode carries f ≈ 0.07 of it here
TABLE_RTOL = 2e-7
#: sparse spectra oscillate at k_max along the orbits: the fast model's time panels are refined by this factor
SPARSE_RESOLUTION = 4.0


def _modes():
    return kolmogorov_modes(**SPARSE_SPECTRUM)


@pytest.mark.parametrize(("rho", "eta", "pair_time"), [(0.01, 0.2, 6.0)])
def test_regular_field_pair_integrals_match_the_brute_force_definition(rho, eta, pair_time):
    # Ω0ΔT = 5.4 rad (most of a gyration), k_max ρ ΔT = 7: helices, rotated tensor and separations all matter
    wavenumbers, fractions = _modes()
    cosines = [-0.4, 0.6, 1.0]
    fast, self_value = regular_field_pair_integrals(cosines, wavenumbers, fractions, rho, eta, pair_time,
                                                    polar_nodes=24, azimuth_nodes=32, resolution=SPARSE_RESOLUTION)
    reference = np.array([pair_models.isotropic_regular_field_pair_integral(x, wavenumbers, fractions, rho, eta,
                                                                            pair_time) for x in cosines])
    np.testing.assert_allclose(fast, reference, rtol=TABLE_RTOL)
    assert self_value == pytest.approx(reference[-1], rel=TABLE_RTOL)
    # the pair differences κ(x) = c̃(x) - c̃(1) themselves (2-4 % of c̃ here), to the same absolute accuracy
    np.testing.assert_allclose(fast[:2] - self_value, reference[:2] - reference[-1], rtol=0,
                               atol=2 * TABLE_RTOL * reference[-1])


#: the PairRate (interpolation in θ, Legendre projection) against the brute force, relative to max|k|: the
#: interpolation and default orientation nodes are measured at ≤ 2e-4 of max|k| (test_pair_rates)
RATE_RTOL = 1e-3


def test_isotropic_pair_rate_with_b0_matches_the_brute_force_definition():
    rho, eta, pair_time = 0.01, 0.2, 6.0
    wavenumbers, fractions = _modes()
    rate = PairRate.isotropic(rho, eta=eta, pair_time=pair_time, resolution=SPARSE_RESOLUTION, **SPARSE_SPECTRUM)
    at_one = pair_models.isotropic_regular_field_pair_integral(1.0, wavenumbers, fractions, rho, eta, pair_time)
    x = -0.4
    reference = (pair_models.isotropic_regular_field_pair_integral(x, wavenumbers, fractions, rho, eta, pair_time)
                 - at_one) / pair_time
    assert float(rate(x)) == pytest.approx(reference, rel=RATE_RTOL)
    assert rate.params["self_decorrelation"] == pytest.approx(at_one / pair_time, rel=TABLE_RTOL)


@pytest.mark.slow
@pytest.mark.parametrize(("rho", "eta", "pair_time", "x"), [(0.03, 0.5, 4.0, 0.2)])
def test_regular_field_pair_integrals_match_brute_force_at_more_oscillatory_parameters(rho, eta, pair_time, x):
    # k_max ρ ΔT = 14: more nodes for the reference (separations up to ~28 rad of the top mode)
    wavenumbers, fractions = _modes()
    fast, self_value = regular_field_pair_integrals([x], wavenumbers, fractions, rho, eta, pair_time,
                                                    polar_nodes=32, azimuth_nodes=48, resolution=2 * SPARSE_RESOLUTION)
    options = {"time_nodes": 32, "orbit_nodes": 20, "polar_nodes": 16, "azimuth_nodes": 20, "wave_polar_nodes": 32,
               "wave_azimuth_nodes": 40}
    reference = pair_models.isotropic_regular_field_pair_integral(x, wavenumbers, fractions, rho, eta, pair_time,
                                                                  **options)
    at_one = pair_models.isotropic_regular_field_pair_integral(1.0, wavenumbers, fractions, rho, eta, pair_time,
                                                               **options)
    assert fast[0] - self_value == pytest.approx(reference - at_one, rel=1e-5)

"""anisotropy.soqlt (resonance-broadened slab D_μμ) against independent references.

References: the Gaussian absolute moment in closed form and mpmath quadrature of the smoothed power
(theory.transport, eq. PA.5), the gyrophase average of the field tilt in sympy (eq. PA.3), QLT in the weak-
turbulence limit (anisotropy.transport), and the κ∥ of the Fokker-Planck operator (anisotropy.pitch_angle), which
integrates the same D_μμ by an eigen-decomposition instead of quadrature.
"""

import math

import numpy as np
import pytest

from anisotropy import soqlt, transport
from anisotropy.errors import ParameterError
from anisotropy.pitch_angle import fokker_planck_parallel_diffusion
from anisotropy.soqlt import _smoothed_power
from anisotropy.turbulence import Turbulence
from theory import transport as reference

SLAB = Turbulence("slab", 0.5, 0.01)
#: composite Gauss-Legendre (48 panels x 8 nodes over ±12 widths) against mpmath: the Gaussian is resolved to
#: rounding, the u^p kink at u = 0 only where a cut-off puts it at a panel end (observed < 1e-12)
SMOOTHED_TOLERANCE = 1e-10
#: η = 1e-6 puts the Gaussian width at ~7e-4; the smoothing changes |μ|^p by p(p-1)σ²/(2μ²) ~ 1e-6 at μ ≥ 0.2
WEAK_TURBULENCE_TOLERANCE = 1e-5
#: sympy's exact width against the float one: a few ulps through sqrt and the squares
WIDTH_RTOL = 1e-14
#: D(0) against the closed form: the cut-offs at 5e-5 and ~55 hold < 1e-9 of the Gaussian's weight
NINETY_DEGREE_RTOL = 1e-8
#: exact symmetries and identities evaluated in double precision
ROUNDING_RTOL = 1e-13
#: Ωτ_s = 3κ/ρ is one multiplication and one division on the same κ
IDENTITY_RTOL = 1e-15
#: κ of the discrete Fokker-Planck operator at 400 cells against quadrature (the operator's cell averaging of μ,
#: the tolerance of tests/anisotropy/test_pitch_angle.py)
KAPPA_TOLERANCE = 1e-4


@pytest.mark.parametrize(("mu", "width", "exponent"), [(0.0, 0.7, 2 / 3), (0.3, 0.2, 2 / 3), (-0.9, 0.05, 0.5),
                                                        (0.5, 1e-3, 2 / 3)])
def test_smoothed_power_without_cutoffs_is_the_gaussian_absolute_moment(mu, width, exponent):
    value = _smoothed_power(mu, width, exponent, 0.0, math.inf)
    expected = float(reference.smoothed_power_closed_form(abs(mu), width, exponent))
    assert abs(value / expected - 1) < SMOOTHED_TOLERANCE


@pytest.mark.parametrize(("mu", "width", "low", "high"), [(0.0, 0.7, 0.01, 30.0), (0.05, 0.1, 0.08, 5.0),
                                                         (0.4, 0.3, 1e-3, 0.6)])
def test_smoothed_power_with_cutoffs_matches_mpmath_quadrature(mu, width, low, high):
    value = _smoothed_power(mu, width, 2 / 3, low, high)
    expected = float(reference.smoothed_power_quadrature(mu, width, 2 / 3, low, high))
    assert abs(value / expected - 1) < SMOOTHED_TOLERANCE


def test_zero_width_is_the_quasilinear_power_inside_the_range():
    values = _smoothed_power(np.array([0.05, 0.5, 1.0]), 0.0, 2 / 3, 0.1, 0.9)
    assert values.tolist() == [0.0, 0.5 ** (2 / 3), 0.0]


@pytest.mark.parametrize(("mu", "eta"), [(0.0, 0.5), (0.6, 0.1), (-0.3, 0.9)])
def test_width_is_the_gyrophase_average_of_the_field_tilt(mu, eta):
    expression = reference.gyrophase_tilt_variance_symbolic()
    symbols = {symbol.name: symbol for symbol in expression.free_symbols}
    expected = float(expression.subs({symbols["mu"]: mu, symbols["ratio"]: eta / (1 - eta)}))
    assert soqlt.broadening_width(mu, eta) ** 2 == pytest.approx(expected, rel=WIDTH_RTOL)


@pytest.mark.parametrize("mu", [0.2, -0.5, 0.9])
def test_weak_turbulence_is_quasilinear_away_from_ninety_degrees(mu):
    weak = Turbulence("slab", 1e-6, 0.01)
    ratio = soqlt.pitch_angle_diffusion(mu, 0.1, weak) / transport.pitch_angle_diffusion(mu, 0.1, turbulence=weak)
    assert abs(ratio - 1) < WEAK_TURBULENCE_TOLERANCE


def test_ninety_degrees_gets_the_closed_form_of_the_smoothed_resonance():
    # a range wide enough that the cut-offs hold < 1e-9 of the Gaussian's weight: D(0) is QLT's prefactor times
    # E|σZ|^p, σ² = δB²/(2B0²)
    rho, turbulence = 0.01, Turbulence("slab", 0.5, 1e-8)
    q = turbulence.spectral_index
    regular = math.sqrt(1 - turbulence.eta)
    kmin_rg0 = transport.minimum_wavenumber(turbulence.lmin_over_lmax, q) * rho / regular
    prefactor = math.pi / 4 * (q - 1) * regular * 1.0 * kmin_rg0 ** (q - 1)
    expected = prefactor * float(reference.smoothed_power_closed_form(0, math.sqrt(0.5), q - 1))
    assert soqlt.pitch_angle_diffusion(0.0, rho, turbulence) == pytest.approx(expected, rel=NINETY_DEGREE_RTOL)


def test_coefficient_vanishes_only_at_the_poles_and_is_even():
    mu = np.linspace(-1, 1, 41)
    values = soqlt.pitch_angle_diffusion(mu, 0.1, SLAB)
    assert values[0] == values[-1] == 0.0
    assert np.all(values[1:-1] > 0.0)
    np.testing.assert_allclose(values, values[::-1], rtol=ROUNDING_RTOL)


def test_kappa_equals_the_kappa_of_the_fokker_planck_operator():
    def diffusion(mu):
        return soqlt.pitch_angle_diffusion(mu, 0.1, SLAB)

    # both in units where Ω = 1 (v = ρ): the operator's v²∫A dt with v = 1 carries 1/ρ
    operator = fokker_planck_parallel_diffusion(diffusion, 400) * 0.1
    assert abs(operator / soqlt.parallel_diffusion(0.1, SLAB) - 1) < KAPPA_TOLERANCE


def test_omega_tau_s_is_three_kappa_over_rho():
    assert soqlt.omega_scattering_time(0.3, SLAB) == pytest.approx(3 * soqlt.parallel_diffusion(0.3, SLAB) / 0.3,
                                                                   rel=IDENTITY_RTOL)


@pytest.mark.parametrize(("call", "parameter"), [
    (lambda: soqlt.pitch_angle_diffusion(0.1, 0.1, "slab"), "turbulence"),
    (lambda: soqlt.pitch_angle_diffusion(0.1, 0.1, Turbulence("isotropic", 0.5)), "turbulence"),
    (lambda: soqlt.pitch_angle_diffusion(0.1, 0.1, Turbulence("slab", 0.5, spectral_index=2.5)), "turbulence"),
    (lambda: soqlt.pitch_angle_diffusion(1.5, 0.1, SLAB), "mu"),
    (lambda: soqlt.pitch_angle_diffusion(0.1, -0.1, SLAB), "reduced_rigidity"),
    (lambda: soqlt.parallel_diffusion(0.1, SLAB, speed=2.0), "speed"),
    (lambda: soqlt.broadening_width(0.1, 1.0), "eta"),
    (lambda: soqlt.parallel_diffusion(0.01, Turbulence("slab", 1e-6, 0.01)), "turbulence"),  # gap not crossed
    (lambda: soqlt.parallel_diffusion(1.0, SLAB), "reduced_rigidity"),  # k_min r_g0 >= 1
])
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises(ParameterError) as caught:
        call()
    assert caught.value.name == parameter


def test_module_examples_run():
    import doctest

    outcome = doctest.testmod(soqlt, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0 and outcome.failed == 0

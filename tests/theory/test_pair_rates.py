"""anisotropy.pair_rates against exact references: polynomial rates, Legendre series, and
docs/physics/pair_rates.md#slab-pair-rate, eq. (4.6), docs/physics/pair_rates.md#isotropic-pair-rate, eq. (4.7)."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from anisotropy import pair_rates
from anisotropy.errors import ParameterError
from anisotropy.pair_rates import PairRate
from anisotropy.spectrum import kolmogorov_modes
from theory import angular, pair_models

X = sp.Symbol("x")

#: float64 series evaluation of O(1) coefficients (Clenshaw, ≲ 10 terms): a few ulps of Σ|c_ℓ|
SERIES_ATOL = 1e-14


def projection_bound(ell, n_nodes: int, scale: float):
    """Rounding bound of (2ℓ+1)/2 Σ_i w_i k(x_i) P_ℓ(x_i) over n nodes: (2ℓ+1)·n·eps·max|k| (Σw = 2, |P| ≤ 1)."""
    return (2 * np.asarray(ell) + 1) * n_nodes * np.finfo(float).eps * scale

#: the physical models against the direct mpmath evaluation of (4.6)/(4.7): both sides are converged to far below
#: this (series tails < 1e-24, mpmath quadrature at 20 digits); 1e-12 of max|k| allows float64 accumulation only
PHYSICAL_RATE_RTOL = 1e-12

#: a tiny mode set (2 modes, L_min/L_max = 0.1) keeps the 2D mpmath quadratures to seconds
TINY_SPECTRUM = {"lmin_over_lmax": 0.1, "modes_per_decade": 2}


def _exact_coefficients(expression, lmax: int) -> list:
    return [sp.Rational(2 * ell + 1, 2) * sp.integrate(expression * angular.legendre_sympy(ell, X), (X, -1, 1))
            for ell in range(lmax + 1)]


# ---------------------------------------------------------------------------------------------- generic rates
def test_from_function_projects_a_polynomial_onto_its_exact_legendre_coefficients():
    expression = X**5 - 3 * X**2 + 2
    function = sp.lambdify(X, expression, "numpy")
    rate = PairRate.from_function(function, smooth=True)
    # only a function is known: rate_matrix's "auto" must take the quadrature form
    assert rate.has_function and not rate.has_exact_legendre
    exact = np.array([float(c) for c in _exact_coefficients(expression, 12)])
    bound = projection_bound(np.arange(13), pair_rates.default_nodes(12, smooth=True), scale=6.0)  # max|k| = 6
    assert np.all(np.abs(rate.legendre(12) - exact) <= bound)
    x = np.linspace(-1, 1, 9)
    np.testing.assert_allclose(rate(x), [float(expression.subs(X, value)) for value in x], rtol=0, atol=SERIES_ATOL)


def test_from_function_rejects_a_rate_that_does_not_vanish_at_one():
    with pytest.raises(ParameterError):
        PairRate.from_function(lambda x: np.asarray(x, dtype=float))


def test_from_legendre_evaluates_the_exact_series_and_pads_with_zeros():
    coefficients = [sp.Rational(-1, 2), sp.Rational(1, 3), 0, sp.Rational(1, 6)]
    rate = PairRate.from_legendre([float(c) for c in coefficients])
    series = sum(c * angular.legendre_sympy(ell, X) for ell, c in enumerate(coefficients))
    x = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(rate(x), [float(series.subs(X, sp.Rational(value).limit_denominator(1000)))
                                         for value in x], rtol=0, atol=SERIES_ATOL)
    np.testing.assert_array_equal(rate.legendre(6), [float(c) for c in coefficients] + [0.0] * 3)
    with pytest.raises(ParameterError):
        PairRate.from_legendre([1.0, 0.5])


def test_default_nodes_project_the_documented_degree_exactly():
    lmax = 40
    n_nodes = pair_rates.default_nodes(lmax, smooth=True)
    # n Gauss nodes integrate degree 2n-1: the projection of k = P_d - 1 onto P_ℓ≤ℓmax is exact for d ≤ 2n-1-ℓmax
    degree = 2 * n_nodes - 1 - lmax
    rate = PairRate.from_function(lambda x: np.polynomial.legendre.legval(x, np.eye(degree + 1)[degree]) - 1.0,
                                  smooth=True)
    expected = np.zeros(lmax + 1)
    expected[0] = -1.0
    bound = projection_bound(np.arange(lmax + 1), n_nodes, scale=2.0)  # max|P_d - 1| = 2
    assert np.all(np.abs(rate.legendre(lmax) - expected) <= bound)
    # two degrees more is beyond the rule and must show up (so the check above can fail)
    beyond = PairRate.from_function(
        lambda x: np.polynomial.legendre.legval(x, np.eye(degree + 3)[degree + 2]) - 1.0, smooth=True)
    assert np.max(np.abs(beyond.legendre(lmax) - expected) / bound) > 1e3
    assert pair_rates.default_nodes(lmax, smooth=False) >= n_nodes


@pytest.mark.parametrize("bandwidth", [
    0.5, 10.0, 100.0, 1000.0, 2000.0, 3000.0,
])
def test_series_length_bounds_the_plane_wave_legendre_tail(bandwidth):
    # e^{iβμ} = Σ (2ℓ+1) i^ℓ j_ℓ(β) P_ℓ(μ); the documented cut: the first dropped coefficient is below 1e-12
    with mp.workdps(30):
        ell = pair_rates.series_length(bandwidth)
        spherical_j = mp.sqrt(mp.pi / (2 * bandwidth)) * mp.besselj(ell + mp.mpf(1) / 2, bandwidth)
        assert abs((2 * ell + 1) * spherical_j) < 1e-12


def test_legendre_series_minus_one_has_no_cancellation_near_one():
    coefficients = np.array([0.0, 0.4, -0.25, 0.125, 0.0625])
    coefficients[0] = -coefficients[1:].sum()
    with mp.workdps(40):
        for offset in (mp.mpf("1e-12"), mp.mpf("1e-6"), mp.mpf("0.3"), mp.mpf("1.7")):
            x = 1 - offset
            exact = sum(mp.mpf(c) * (mp.legendre(ell, x) - 1) for ell, c in enumerate(coefficients))
            value = pair_rates.legendre_series_minus_one(coefficients, np.array([float(x)]))[0]
            # relative accuracy even where the value is O(offset): the point of the recurrence on P_ℓ − 1
            assert value == pytest.approx(float(exact), rel=1e-13)
    assert pair_rates.legendre_series_minus_one(coefficients, np.array([1.0]))[0] == 0.0


# -------------------------------------------------------------------------------------------- physical models
def _tiny_modes():
    return kolmogorov_modes(TINY_SPECTRUM["lmin_over_lmax"], TINY_SPECTRUM["modes_per_decade"])


def test_slab_rate_vanishes_at_one_and_matches_direct_evaluation_of_eq_4_6():
    rho, eta, pair_time = 0.05, 0.5, 3.0
    rate = PairRate.slab(rho, eta, pair_time=pair_time, **TINY_SPECTRUM)
    assert rate(1.0) == 0.0
    wavenumbers, fractions = _tiny_modes()
    with mp.workdps(20):
        reference = pair_models.slab_pair_rate(-0.5, wavenumbers, fractions, rho, eta, pair_time)
    assert float(rate(-0.5)) == pytest.approx(float(reference), rel=PHYSICAL_RATE_RTOL)


def test_isotropic_rate_vanishes_at_one_and_matches_direct_evaluation_of_eq_4_7():
    rho, pair_time = 0.05, 3.0
    rate = PairRate.isotropic(rho, pair_time=pair_time, **TINY_SPECTRUM)
    assert rate(1.0) == 0.0
    wavenumbers, fractions = _tiny_modes()
    with mp.workdps(20):
        for x in (-0.5, 0.9):
            reference = pair_models.isotropic_pair_rate(x, wavenumbers, fractions, rho, pair_time)
            assert float(rate(x)) == pytest.approx(float(reference), rel=PHYSICAL_RATE_RTOL)


def test_pair_correlation_coefficients_resum_to_the_ballistic_pair_integral_of_eq_4_7():
    # gyration w = 0 is the isotropic model: the orientation average of the slab form must reproduce (4.7)
    rho, pair_time, x = 0.2, 4.0, 0.3
    wavenumbers, fractions = _tiny_modes()
    coefficients = pair_rates.pair_correlation_coefficients(wavenumbers * rho, fractions, pair_time, 0.0)
    resummed = np.polynomial.legendre.legval(x, coefficients) / 3
    with mp.workdps(20):
        reference = pair_models.isotropic_pair_integral(x, wavenumbers, fractions, rho, pair_time)
    assert resummed == pytest.approx(float(reference), rel=PHYSICAL_RATE_RTOL)


def test_self_correlation_closed_form_matches_direct_integral():
    rho, pair_time = 0.2, 4.0
    wavenumbers, fractions = _tiny_modes()
    # isotropic (w = 0): c̃(1) = (1/3) ∫∫ R(ρ|s1 − s2|), and self_correlation is c̃(1)/(1/3)
    with mp.workdps(20):
        reference = 3 * pair_models.isotropic_pair_integral(1, wavenumbers, fractions, rho, pair_time)
    value = pair_rates.self_correlation(wavenumbers * rho, fractions, pair_time, 0.0)
    assert value == pytest.approx(float(reference), rel=PHYSICAL_RATE_RTOL)


@pytest.mark.slow
@pytest.mark.parametrize(("rho", "eta", "pair_time", "x"), [(0.3, 0.2, 4.0, 0.3), (0.1, 0.9, 2.0, -0.9)])
def test_slab_rate_matches_eq_4_6_at_more_oscillatory_parameters(rho, eta, pair_time, x):
    rate = PairRate.slab(rho, eta, pair_time=pair_time, **TINY_SPECTRUM)
    wavenumbers, fractions = _tiny_modes()
    with mp.workdps(20):
        reference = pair_models.slab_pair_rate(x, wavenumbers, fractions, rho, eta, pair_time)
    assert float(rate(x)) == pytest.approx(float(reference), rel=PHYSICAL_RATE_RTOL)

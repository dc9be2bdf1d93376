"""The white-noise rotation toy (theory.toy, docs/physics/toy_model.md#toy-model) and the numerical toy rate and solver
against it."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from anisotropy import mixing, solver
from anisotropy.pair_rates import PairRate
from theory import closure, toy, transport

#: working precision of the mpmath references
DIGITS = 30

#: float64 Legendre coefficients from scipy's exponentially scaled Bessel function: a few ulps of 2D_s
COEFFICIENT_ATOL_ULPS = 16

#: float64 rate evaluated with expm1: a few ulps of 2D_s
RATE_ATOL_ULPS = 8

#: steady state from a dense float64 solve of a matrix with condition number ~ (2D_s ℓmax²)/(2D_s) = ℓmax², times eps
STEADY_STATE_RTOL = 1e-11

#: solver.evolve documents panels matched to SOURCE_RTOL relative; compare at 1e-9 relative to C_1
EVOLVE_RTOL = 1e-9


def test_rate_function_is_derived_from_the_white_noise_covariance():
    rate, symbols = toy.toy_rate_symbolic()
    expected = 2 * symbols["D_s"] * (sp.exp(-symbols["kappa_c"] * (1 - symbols["x"])) - 1)
    assert sp.simplify(rate - expected) == 0


@pytest.mark.parametrize("ell", range(6))
def test_plane_wave_expansion_gives_modified_spherical_bessel_coefficients(ell):
    assert toy.funk_hecke_residual(ell) == 0


@pytest.mark.parametrize(("D_s", "kappa_c"), [(0.5, 5), (0.25, 20), (1.0, 0.3)])
def test_closed_form_coefficients_equal_the_defining_integral(D_s, kappa_c):
    with mp.workdps(DIGITS):
        closed = toy.toy_legendre_coefficients(15, D_s, kappa_c)
        integral = toy.toy_legendre_coefficients_quadrature(15, D_s, kappa_c)
        assert max(abs(a - b) for a, b in zip(closed, integral)) < mp.mpf(10) ** (-DIGITS + 4)


def test_uncorrelated_dipole_equals_the_diffusive_dipole_formula():
    # C_1 = S/(4 D_s) must equal 4π|K·G|²/v² (docs/physics/source.md#diffusive-dipole) for K = v²/(3ν1), ν1 = 2D_s
    with mp.workdps(DIGITS):
        for D_s in (0.1, 0.5, 2):
            tensor = transport.diffusion_tensor(toy.toy_diffusion_coefficient(D_s), toy.toy_diffusion_coefficient(D_s),
                                                [0, 0, 1])
            assert toy.uncorrelated_dipole(D_s) == pytest.approx(transport.dipole_power(tensor, [0, 0, 1]), rel=1e-28)


# ---------------------------------------------------------------------------------------- anisotropy.pair_rates
@pytest.mark.parametrize(("D_s", "kappa_c"), [(0.5, 5.0), (0.25, 20.0), (1.0, 0.3), (0.5, 0.0)])
def test_toy_pair_rate_legendre_coefficients_match_exact_bessel_series(D_s, kappa_c):
    lmax = 40
    rate = PairRate.toy(D_s=D_s, kappa_c=kappa_c)
    assert rate.has_exact_legendre and rate.has_function
    numeric = rate.legendre(lmax)
    with mp.workdps(DIGITS):
        exact = np.array([float(c) for c in toy.toy_legendre_coefficients(lmax, D_s, kappa_c)])
    np.testing.assert_allclose(numeric, exact, rtol=0, atol=COEFFICIENT_ATOL_ULPS * np.finfo(float).eps * 2 * D_s)


def test_toy_pair_rate_function_matches_mpmath():
    rate = PairRate.toy(D_s=0.5, kappa_c=5.0)
    x = np.linspace(-1, 1, 41)
    with mp.workdps(DIGITS):
        exact = np.array([float(toy.toy_rate(value, 0.5, 5.0)) for value in x])
    np.testing.assert_allclose(rate(x), exact, rtol=0, atol=RATE_ATOL_ULPS * np.finfo(float).eps)
    assert rate(1.0) == 0.0


# -------------------------------------------------------------------------------------------- anisotropy.solver
def _toy_references(lmax: int, D_s: float, kappa_c: float):
    with mp.workdps(DIGITS):
        coefficients = toy.toy_legendre_coefficients(2 * lmax, D_s, kappa_c)
        return closure.rate_matrix_from_legendre(coefficients, lmax, exact=False)


def test_steady_state_of_the_toy_matches_high_precision_solve():
    lmax, D_s, kappa_c = 12, 0.5, 5.0
    exact_gamma = _toy_references(lmax, D_s, kappa_c)
    source = 8 * np.pi / 3 * float(toy.toy_diffusion_coefficient(D_s))
    with mp.workdps(DIGITS):
        exact = closure.steady_state_exact(exact_gamma, source)
    numeric = solver.steady_state(mixing.rate_matrix(PairRate.toy(D_s=D_s, kappa_c=kappa_c), lmax), source)
    assert np.isnan(numeric[0])
    np.testing.assert_allclose(numeric[1:], [float(c) for c in exact[1:]], rtol=STEADY_STATE_RTOL)


def test_steady_state_without_pair_correlation_is_the_diffusive_dipole():
    lmax, D_s = 6, 0.5
    # c̃(x<1) = 0: k_ℓ = −2D_s δ_ℓ0, Γ = −2D_s ℓ(ℓ+1) on the diagonal (docs/physics/mixing_ode.md#ode-limits)
    gamma = np.diag([-2 * D_s * ell * (ell + 1) for ell in range(lmax + 1)]).astype(float)
    with mp.workdps(DIGITS):
        source = float(8 * mp.pi / 3 * toy.toy_diffusion_coefficient(D_s))
        expected = float(toy.uncorrelated_dipole(D_s))
    result = solver.steady_state(gamma, source)
    assert result[1] == pytest.approx(expected, rel=STEADY_STATE_RTOL)
    assert np.all(result[2:] == 0.0)


def test_evolution_of_the_toy_with_the_backtracking_source_matches_high_precision_ode():
    lmax, D_s, kappa_c = 6, 0.5, 5.0
    exact_gamma = _toy_references(lmax, D_s, kappa_c)
    times = [0.5, 1.0, 2.0]
    with mp.workdps(20):
        exact = closure.evolve_exact(exact_gamma, lambda t: toy.toy_source(t, D_s), times)
    numeric = solver.evolve(mixing.rate_matrix(PairRate.toy(D_s=D_s, kappa_c=kappa_c), lmax),
                            lambda t: float(toy.toy_source(t, D_s)), times)
    for row, reference in zip(numeric, exact):
        scale = abs(float(reference[1]))
        np.testing.assert_allclose(row[1:], [float(c) for c in reference[1:]], rtol=0, atol=EVOLVE_RTOL * scale)

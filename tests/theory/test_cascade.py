"""Power-law rates, the untruncated steady state and the ℓ^{β−4} tail (theory.cascade), and the solver against them."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from anisotropy import mixing, solver
from anisotropy.pair_rates import PairRate
from theory import cascade, closure

#: working precision of the mpmath references
DIGITS = 30

#: dense float64 solve of a system with condition number ~ ℓmax² (rates 2D_s ℓ(ℓ+1) over the slowest one)
STEADY_STATE_RTOL = 1e-11

#: the truncation deficit falls like ℓmax^{β−2} (the cascade flux through ℓmax): doubling ℓmax divides it by
#: 2^{2−β}; the next-order correction at ℓ ≤ 16, ℓmax ≥ 200 changes that ratio by less than 2%
CONVERGENCE_RATIO_RTOL = 0.02

BETAS = [sp.Rational(2, 3), sp.Integer(1), sp.Rational(3, 2)]


def _exact_power_law_rate(lmax_coefficients: int, beta) -> PairRate:
    """PairRate with the exact Legendre coefficients (their partial sums need not vanish, so no k(1) check)."""
    with mp.workdps(20):
        coefficients = np.array([float(c) for c in cascade.power_law_rate_coefficients(lmax_coefficients, beta)])
    return PairRate("power_law", {"beta": float(beta)}, legendre=lambda lmax: coefficients[: lmax + 1])


# ------------------------------------------------------------------------------------------- theory checks
@pytest.mark.parametrize(("exponent", "ell"), [(sp.Rational(1, 3), 5), (sp.Rational(1, 2), 8), (sp.Rational(-1, 3), 4),
                                               (sp.Rational(3, 4), 3), (2, 1), (2, 5)])
def test_power_law_moment_equals_quadrature(exponent, ell):
    with mp.workdps(DIGITS):
        # u = (1-x)/2 = v^m smooths the endpoint: ∫ u^b P_ℓ dx = 2m ∫_0^1 v^{m(b+1)-1} P_ℓ(1-2v^m) dv
        power = 6
        numeric = 2 * power * mp.quad(lambda v: v ** (power * (exponent + 1) - 1) * mp.legendre(ell, 1 - 2 * v**power),
                                      [0, 1])
        assert abs(numeric - cascade.power_law_moment(exponent, ell)) < mp.mpf(10) ** (-DIGITS + 4)


def test_untruncated_steady_state_without_correlation_is_the_diffusive_dipole():
    # β = 0: k = −A for x < 1, i.e. no pair correlation; C_1 = S/(2A) = S/(4D_s) with A = 2D_s, C_ℓ≥2 = 0
    with mp.workdps(DIGITS):
        assert cascade.power_law_steady_state(1, 0, 1, 1) == mp.mpf(1) / 2
        assert all(cascade.power_law_steady_state(ell, 0, 1, 1) == 0 for ell in range(2, 6))


@pytest.mark.parametrize("beta", BETAS)
def test_untruncated_closed_form_equals_the_quadrature_formula(beta):
    with mp.workdps(20):
        for ell in (1, 2, 5):
            closed = cascade.power_law_steady_state(ell, beta, 1, 1)
            quadrature = cascade.steady_state_quadrature(ell, lambda u: -u ** (mp.mpf(beta) / 2), 1)
            assert abs(quadrature / closed - 1) < mp.mpf(10) ** (-20 + 4)


def test_truncated_ode_falls_short_of_the_untruncated_solution_by_a_vanishing_deficit():
    beta = sp.Integer(1)
    errors = {}
    with mp.workdps(20):
        for lmax in (12, 24):
            coefficients = cascade.power_law_rate_coefficients(2 * lmax, beta)
            gamma = closure.rate_matrix_from_legendre(coefficients, lmax, exact=False)
            truncated = closure.steady_state_exact(gamma, 1)
            errors[lmax] = [truncated[ell] / cascade.power_law_steady_state(ell, beta, 1, 1) - 1 for ell in (1, 2)]
    for coarse, fine in zip(errors[12], errors[24]):
        # the absorbing boundary removes power: the truncated C_ℓ are low, and the deficit falls like ℓmax^{β−2}
        assert coarse < fine < 0
        assert float(coarse / fine) == pytest.approx(2.0 ** (2 - float(beta)), rel=0.1)


def test_tail_exponent_is_beta_minus_four_symbolically():
    assert cascade.tail_exponent_symbolic() == sp.Symbol("beta", positive=True) - 4
    # flat-sky Kraichnan: structure function θ^{2−β}; the 2D Fourier transform of θ^s scales as ℓ^{−s−2}
    s = cascade.flat_sky_structure_exponent()
    assert sp.simplify(-s - 2 - (sp.Symbol("beta", positive=True) - 4)) == 0


@pytest.mark.parametrize("beta", BETAS)
def test_untruncated_local_slope_approaches_beta_minus_four_like_one_over_ell(beta):
    with mp.workdps(20):
        deviations = []
        for ell in (1000, 10000):
            slope = mp.log(cascade.power_law_steady_state(2 * ell, beta, 1, 1)
                           / cascade.power_law_steady_state(ell, beta, 1, 1)) / mp.log(2)
            deviations.append(abs(slope - cascade.tail_exponent(beta)))
    assert deviations[1] < deviations[0] / 5
    assert deviations[1] < 1e-3


# ------------------------------------------------------------------------------------------ anisotropy.solver
@pytest.mark.parametrize("beta", BETAS)
def test_steady_state_for_a_kinked_rate_matches_high_precision_solve(beta):
    lmax = 20
    with mp.workdps(DIGITS):
        coefficients = cascade.power_law_rate_coefficients(2 * lmax, beta)
        exact = closure.steady_state_exact(closure.rate_matrix_from_legendre(coefficients, lmax, exact=False), 1)
    numeric = solver.steady_state(mixing.rate_matrix(_exact_power_law_rate(2 * lmax, beta), lmax), 1.0)
    np.testing.assert_allclose(numeric[1:], [float(c) for c in exact[1:]], rtol=STEADY_STATE_RTOL)


@pytest.mark.parametrize("beta", BETAS)
def test_solver_converges_to_the_untruncated_solution_and_extrapolates_to_it(beta):
    ells = np.array([1, 2, 4, 8, 16])
    with mp.workdps(20):
        exact = np.array([float(cascade.power_law_steady_state(int(ell), beta, 1, 1)) for ell in ells])
    results = {lmax: solver.steady_state(mixing.rate_matrix(_exact_power_law_rate(2 * lmax, beta), lmax), 1.0)[ells]
               for lmax in (200, 400)}
    error_coarse, error_fine = results[200] / exact - 1, results[400] / exact - 1
    ratio = 2.0 ** (2 - float(beta))
    np.testing.assert_allclose(error_coarse / error_fine, ratio, rtol=CONVERGENCE_RATIO_RTOL)
    # Richardson with the known order removes the leading deficit: the residual is far below the raw one
    extrapolated = (ratio * results[400] - results[200]) / (ratio - 1)
    assert np.all(np.abs(extrapolated / exact - 1) < 0.05 * np.abs(error_fine))


@pytest.mark.slow
@pytest.mark.parametrize("beta", BETAS)
def test_solver_tail_converges_to_the_untruncated_solution_at_l_30_to_100(beta):
    # the inertial range ℓ = 30..100, where the local slope approaches β − 4 (tests above): same criteria as at
    # low ℓ, with ℓmax = 800 and 1600
    ells = np.array([30, 100])
    results = {lmax: solver.steady_state(mixing.rate_matrix(_exact_power_law_rate(2 * lmax, beta), lmax), 1.0)[ells]
               for lmax in (800, 1600)}
    with mp.workdps(20):
        exact = np.array([float(cascade.power_law_steady_state(int(ell), beta, 1, 1)) for ell in ells])
    error_coarse, error_fine = results[800] / exact - 1, results[1600] / exact - 1
    ratio = 2.0 ** (2 - float(beta))
    np.testing.assert_allclose(error_coarse / error_fine, ratio, rtol=CONVERGENCE_RATIO_RTOL)
    extrapolated = (ratio * results[1600] - results[800]) / (ratio - 1)
    assert np.all(np.abs(extrapolated / exact - 1) < 0.05 * np.abs(error_fine))
    slope = np.log(extrapolated[1] / extrapolated[0]) / np.log(100 / 30)
    assert abs(slope - float(cascade.tail_exponent(beta))) < 0.1

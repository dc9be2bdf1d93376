"""Tests of the rate matrix Γ, docs/physics/mixing_ode.md#rate-matrix, eq. (4.3), against exact limits, conservation and
the two equivalent forms."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.legendre import graded_gauss_legendre
from anisotropy.mixing import (
    _coupling_by_bands,
    _coupling_by_pairs,
    column_weights,
    coupling_by_graded_quadrature,
    coupling_by_quadrature,
    coupling_from_legendre,
    default_quadrature_nodes,
    legendre_bandwidth,
    nonsmooth_quadrature_degree,
    rate_matrix,
)
from anisotropy.pair_rates import PairRate
from anisotropy.wigner import threej_zero
from theory import cascade

#: accuracy target (docs/guide/design.md#targets) for |3j form - quadrature form|, relative to each column's largest
#: entry
FORMS_RTOL = 1e-10

#: Exact identities evaluated in double precision: a few hundred ulps of the column scale
ROUNDING_RTOL = 1e-12

D_S = 0.5  # docs/physics/toy_model.md#toy-model


def column_relative_difference(first, second):
    """Largest |first - second| relative to the largest |entry| of its column (columns carry the D weights)."""
    scale = np.max(np.abs(second), axis=0)
    scale[scale == 0.0] = 1.0
    return float(np.max(np.abs(first - second) / scale[None, :]))


def zero_sum_coefficients(count, seed):
    """Random plain Legendre coefficients with k(1) = sum k_l = 0 and k_0 < 0 (a legitimate pair rate)."""
    rng = np.random.default_rng(seed)
    coefficients = rng.normal(size=count) / (1.0 + np.arange(count))
    coefficients[0] = -np.sum(coefficients[1:])
    return coefficients


@pytest.mark.parametrize("kappa_c", [1.0, 5.0, 40.0])
def test_threej_form_equals_quadrature_form_for_the_toy(kappa_c):
    toy = PairRate.toy(D_s=D_S, kappa_c=kappa_c)
    lmax = 150
    threej = rate_matrix(toy, lmax, method="threej")
    quadrature = rate_matrix(toy, lmax, method="quadrature")
    assert column_relative_difference(threej, quadrature) <= FORMS_RTOL


@pytest.mark.parametrize("count", [7, 121])  # short: (lA, l0) row order; full length 2*lmax+1: (l, l0) row order
def test_threej_form_equals_exact_quadrature_for_polynomial_rates(count):
    # A polynomial k of degree count-1 makes the Gauss-Legendre form exact with enough nodes, so it is an
    # independent reference for both loop orders of the 3j form (docs/physics/mixing_ode.md#rate-matrix).
    lmax = 60
    coefficients = zero_sum_coefficients(count, seed=count)
    rate = PairRate.from_legendre(coefficients)
    threej = coupling_from_legendre(coefficients, lmax)
    quadrature = coupling_by_quadrature(rate, lmax, n_nodes=lmax + count + 2)
    assert column_relative_difference(threej, quadrature) <= FORMS_RTOL


def test_both_loop_orders_of_the_threej_form_agree():
    lmax, bandwidth = 80, 30
    coefficients = np.zeros(2 * lmax + 1)
    coefficients[: bandwidth + 1] = zero_sum_coefficients(bandwidth + 1, seed=11)
    by_pairs = _coupling_by_pairs(coefficients, lmax, bandwidth)
    by_bands = _coupling_by_bands(coefficients, lmax, bandwidth)
    assert column_relative_difference(by_bands, by_pairs) <= ROUNDING_RTOL


def test_truncation_at_the_bandwidth_changes_the_toy_matrix_only_at_rounding_level():
    toy = PairRate.toy(D_s=D_S, kappa_c=5.0)
    lmax = 120
    coefficients = toy.legendre(2 * lmax)
    bandwidth = legendre_bandwidth(coefficients)
    assert bandwidth < 2 * lmax  # the toy's coefficients decay super-exponentially: truncation does happen
    truncated = coupling_from_legendre(coefficients, lmax)
    full = _coupling_by_pairs(coefficients, lmax, 2 * lmax)
    assert column_relative_difference(truncated, full) <= ROUNDING_RTOL
    # the matrix is banded beyond the bandwidth
    ell = np.arange(lmax + 1)
    assert np.all(truncated[np.abs(ell[:, None] - ell[None, :]) > bandwidth] == 0.0)


def power_rate_and_scale(gamma):
    """sum_l (2l+1) Gamma_{l l0} and the rounding scale of that sum, sum_l (2l+1) |Gamma_{l l0}|."""
    multiplicity = 2 * np.arange(gamma.shape[0]) + 1
    return multiplicity @ gamma, multiplicity @ np.abs(gamma)


@pytest.mark.parametrize("method", ["threej", "quadrature"])
def test_total_power_is_conserved_where_truncation_does_not_leak(method):
    # sum_l (2l+1) Gamma_{l l0} = D_l0 sum_lA k_lA = D_l0 k(1) = 0 (docs/physics/mixing_ode.md#mixing-matrix), using
    # sum_l (2l+1)(l lA l0)^2 = 1.
    # That last sum runs over l up to lA + l0, so it is complete only for l0 <= lmax - L_A (L_A = highest k_lA).
    lmax, bandwidth = 50, 6
    rate = PairRate.from_legendre(zero_sum_coefficients(bandwidth + 1, seed=5))
    gamma = rate_matrix(rate, lmax, method=method)
    power_rate, column_scale = power_rate_and_scale(gamma)
    complete = np.arange(1, lmax - bandwidth + 1)
    assert np.all(np.abs(power_rate[complete]) <= ROUNDING_RTOL * column_scale[complete])
    # beyond, the power that would go past lmax is lost: the identity must visibly fail (the test can fail)
    leaking = np.arange(lmax - bandwidth + 1, lmax + 1)
    assert np.all(np.abs(power_rate[leaking]) > 1e-6 * column_scale[leaking])


def test_toy_conserves_total_power_below_its_bandwidth():
    toy = PairRate.toy(D_s=D_S, kappa_c=5.0)
    lmax = 100
    gamma = rate_matrix(toy, lmax)
    bandwidth = legendre_bandwidth(toy.legendre(2 * lmax))
    power_rate, column_scale = power_rate_and_scale(gamma)
    complete = np.arange(1, lmax - bandwidth + 1)
    assert np.all(np.abs(power_rate[complete]) <= ROUNDING_RTOL * column_scale[complete])


@pytest.mark.parametrize("method", ["threej", "quadrature"])
def test_rigid_rotation_limit_gives_a_vanishing_rate_matrix(method):
    # kappa_c = 0: c(x) = 1, every direction is rotated identically (docs/physics/mixing_ode.md#ode-limits), so Gamma =
    # 0
    gamma = rate_matrix(PairRate.toy(D_s=D_S, kappa_c=0.0), 30, method=method)
    assert np.all(gamma == 0.0)


def no_correlation_rates():
    """k(x) = -2 D_s for x < 1 and k(1) = 0: no pair correlation (docs/physics/mixing_ode.md#ode); k_lA = -2 D_s
    delta_lA0."""

    def function(x):
        return np.where(np.asarray(x) < 1.0, -2.0 * D_S, 0.0)

    def legendre(lmax):
        coefficients = np.zeros(lmax + 1)
        coefficients[0] = -2.0 * D_S
        return coefficients

    as_function = PairRate.from_function(function, smooth=True, name="no_correlation")
    as_series = PairRate("no_correlation", {"D_s": D_S}, function=function, legendre=legendre, smooth=True)
    return {"quadrature": as_function, "threej": as_series}


@pytest.mark.parametrize("method", ["threej", "quadrature"])
def test_no_correlation_limit_gives_the_single_particle_decay_rates(method):
    # Gamma = diag(-2 D_s l(l+1)): the C_l decay rate of isotropic diffusion on the sphere
    # (docs/physics/mixing_ode.md#mixing-matrix, docs/physics/mixing_ode.md#rate-matrix)
    lmax = 40
    gamma = rate_matrix(no_correlation_rates()[method], lmax, method=method)
    ell = np.arange(lmax + 1)
    expected = np.diag(-2.0 * D_S * ell * (ell + 1.0))
    np.testing.assert_allclose(gamma, expected, rtol=0.0, atol=ROUNDING_RTOL * 2.0 * D_S * lmax * (lmax + 1))


@pytest.mark.parametrize("method", ["threej", "quadrature"])
def test_rate_matrix_is_a_symmetric_matrix_times_column_weights(method):
    lmax = 60
    gamma = rate_matrix(PairRate.toy(D_s=D_S, kappa_c=5.0), lmax, method=method)
    weights = column_weights(lmax)
    np.testing.assert_array_equal(weights, (2 * np.arange(lmax + 1) + 1) * np.arange(lmax + 1) * np.arange(1, lmax + 2))
    assert np.all(gamma[:, 0] == 0.0)
    coupling = gamma[:, 1:] / weights[None, 1:]
    block = coupling[1:, :]
    assert np.max(np.abs(block - block.T)) <= ROUNDING_RTOL * np.max(np.abs(block))


def test_nonsmooth_rate_default_nodes_are_converged_to_documented_accuracy():
    # plain Gauss-Legendre with 16 nodes per multipole (the reference here) errs by ~1e-7 of the column scale for
    # beta = 2/3 at lmax = 100; the default (graded rule) is far more accurate, so 1e-5 bounds the reference's own
    # error.  The exact comparison is test_default_quadrature_form_of_kinked_rates_equals_exact_threej_form.
    rate = PairRate.from_function(lambda x: -2.0 * D_S * ((1.0 - x) / 2.0) ** (1.0 / 3.0))
    lmax = 100
    default = rate_matrix(rate, lmax)
    reference = rate_matrix(rate, lmax, n_nodes=16 * (lmax + 1))
    assert column_relative_difference(default, reference) <= 1e-5


def test_rate_matrix_rejects_bad_input():
    toy = PairRate.toy()
    with pytest.raises(ParameterError):
        rate_matrix(toy, 0)
    with pytest.raises(ParameterError):
        rate_matrix(toy, 2.5)
    with pytest.raises(ParameterError):
        rate_matrix(toy, 10, method="spline")
    with pytest.raises(ParameterError):
        rate_matrix(toy, 10, n_nodes=0)
    with pytest.raises(ParameterError):
        rate_matrix("toy", 10)
    with pytest.raises(ParameterError):
        coupling_from_legendre([np.nan, 1.0], 5)


@pytest.mark.parametrize("kernel", [_coupling_by_pairs, _coupling_by_bands])
def test_coupling_of_a_single_legendre_coefficient_is_the_squared_3j_symbol(kernel):
    # A_{l l0} = sum_lA k_lA (l lA l0;000)^2 with k = delta_{lA, 7}: the inlined recursions against threej_zero
    lmax, single = 40, 7
    coefficients = np.zeros(2 * lmax + 1)
    coefficients[single] = 1.0
    ell = np.arange(lmax + 1)
    expected = threej_zero(ell[:, None], single, ell[None, :]) ** 2
    np.testing.assert_allclose(kernel(coefficients, lmax, single), expected, rtol=ROUNDING_RTOL, atol=0.0)


@pytest.mark.slow
def test_threej_form_equals_quadrature_form_for_the_toy_at_lmax_1000():
    # the accuracy target (docs/guide/design.md#targets) at the largest lmax it names
    toy = PairRate.toy(D_s=D_S, kappa_c=5.0)
    threej = rate_matrix(toy, 1000, method="threej")
    quadrature = rate_matrix(toy, 1000, method="quadrature")
    assert column_relative_difference(threej, quadrature) <= FORMS_RTOL


# ---------------------------------------------------------------- rates with a kink at x = 1
# (docs/physics/pair_rates.md)

#: Accuracy of the default quadrature form for kinked rates, relative to each column's largest entry: the task's
#: ≲ 1e-12 (100x tighter than the target (docs/guide/design.md#targets) FORMS_RTOL); measured ≤ 5e-14 at ℓmax = 100 and
#: 400.  The
#: exact reference has its own rounding, (2ℓmax+2)·eps·(column scale) ≈ 2e-13 at ℓmax = 400 at worst.
KINK_RTOL = 1e-12


def kink_rate(beta):
    """k(x) = -((1-x)/2)^(β/2): -k ∝ θ^β near x = 1 (docs/physics/pair_rates.md), known only as a function."""
    return PairRate.from_function(lambda x: -((1.0 - np.asarray(x, dtype=float)) / 2.0) ** (beta / 2.0))


def exact_kink_gamma(beta, lmax):
    """Γ from the 3j form with the exact Legendre coefficients k_ℓ = -(2ℓ+1)/2 I(β/2, ℓ) of theory.cascade
    (closed form by Rodrigues' formula, checked against mpmath quadrature in tests/theory/test_cascade.py)."""
    with mp.workdps(30):
        coefficients = [float(c) for c in cascade.power_law_rate_coefficients(2 * lmax, mp.mpf(beta))]
    return coupling_from_legendre(coefficients, lmax) * column_weights(lmax)[None, :]


@pytest.mark.parametrize("lmax", [100, 400])
@pytest.mark.parametrize("beta", [2.0 / 3.0, 1.0, 5.0 / 3.0])
def test_default_quadrature_form_of_kinked_rates_equals_exact_threej_form(beta, lmax):
    exact = exact_kink_gamma(beta, lmax)
    rate = kink_rate(beta)
    assert column_relative_difference(rate_matrix(rate, lmax, method="quadrature"), exact) <= KINK_RTOL
    assert column_relative_difference(rate_matrix(rate, lmax), exact) <= KINK_RTOL  # "auto" takes quadrature
    if beta < 1.5:
        # the check can fail: the former default, plain Gauss-Legendre with 4(ℓmax+1) nodes, misses it by far
        # (at β = 5/3 the kink is mild enough for plain Gauss to come within a factor of ~10 at ℓmax = 400)
        plain = rate_matrix(rate, lmax, method="quadrature", n_nodes=4 * (lmax + 1))
        assert column_relative_difference(plain, exact) > 1e3 * KINK_RTOL


@pytest.mark.parametrize("beta", [2.0 / 3.0, 5.0 / 3.0])
def test_threej_form_of_a_kinked_function_rate_uses_accurate_legendre_coefficients(beta):
    # method="threej" on a function-only rate projects it with PairRate.legendre (graded rule for smooth=False)
    lmax = 100
    exact = exact_kink_gamma(beta, lmax)
    assert column_relative_difference(rate_matrix(kink_rate(beta), lmax, method="threej"), exact) <= KINK_RTOL


def test_graded_quadrature_form_is_exact_for_polynomial_rates_up_to_its_degree():
    # the graded rule must not lose the smooth path's exactness: k a polynomial of degree 2ℓmax + 3 (the slack of
    # nonsmooth_quadrature_degree) against the 3j form of its coefficients
    lmax = 60
    coefficients = zero_sum_coefficients(2 * lmax + 4, seed=5)
    rate = PairRate.from_legendre(coefficients)
    threej = coupling_from_legendre(coefficients, lmax)
    graded = coupling_by_graded_quadrature(rate, lmax)
    assert column_relative_difference(graded, threej) <= ROUNDING_RTOL


def test_default_node_count_of_kinked_rates_is_that_of_the_graded_rule():
    lmax = 50
    nodes, _ = graded_gauss_legendre(nonsmooth_quadrature_degree(lmax))
    assert default_quadrature_nodes(lmax, smooth=False) == nodes.size
    assert nonsmooth_quadrature_degree(lmax) == 2 * default_quadrature_nodes(lmax, smooth=True) - 1

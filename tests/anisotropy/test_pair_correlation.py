"""Tests of C_l(T) from the two-time pair correlation (docs/physics/pair_correlation.md) and its closures."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import scipy.linalg

from anisotropy.errors import ParameterError
from anisotropy.mixing import column_weights, rate_matrix
from anisotropy.pair_correlation import (
    CLOSURES,
    PairIncrements,
    age_grid,
    closure_cl,
    constant_generator_cl,
    generator_from_increments,
    pair_correlation_cl,
    slab_pair_increments,
)
from anisotropy.pair_rates import PairRate
from anisotropy.solver import evolve, steady_state

# docs/physics/toy_model.md#toy-model toy: white-noise rotations, Markov pair process, single-particle dipole rate nu_1
# = 2 D_s
D_S, KAPPA_C, SPEED = 0.5, 5.0, 1.0
NU_1 = 2.0 * D_S
TIMES = (0.5, 1.0, 2.0)

#: two exact evaluations of the same linear ODE (modal exponentials here, the solver's modal propagator there):
#: rounding of the eigen-decompositions only
ODE_RTOL = 1e-11
#: against mpmath's Taylor ODE integration at 30 digits: limited by the double-precision Γ and eigen-decomposition
MPMATH_RTOL = 1e-10
#: power conservation of a generator built from the pair integrals: rounding of the 3j sums and of the closed-form
#: self term against the series (measured ~1e-13)
CONSERVATION_RTOL = 1e-10
#: a closure's C_1 may exceed the bound by rounding only (the bound is an identity without pair correlation)
BOUND_RTOL = 1e-12


def toy_source(t):
    """S(t) = (8 pi/3) K(t) |G|^2 with the running K(t) = v^2 (1 - e^{-nu_1 t})/(3 nu_1)
    (docs/physics/toy_model.md#toy-model)."""
    return 8.0 * math.pi / 3.0 * SPEED**2 * -math.expm1(-NU_1 * t) / (3.0 * NU_1)


def dipole_bound(final, nu=NU_1, speed=SPEED):
    """(4 pi/9)|<delta>|^2 with the mean map v w(T) mu, w(T) = (1 - e^{-nu T})/nu (closure's single particles)."""
    weight = -math.expm1(-nu * final) / nu if math.isfinite(final) else 1.0 / nu
    return 4.0 * math.pi / 9.0 * (speed * weight) ** 2


def test_age_independent_generator_reproduces_the_mixing_matrix_ode_with_the_running_source():
    gamma = rate_matrix(PairRate.toy(D_S, KAPPA_C), 40)
    ode = evolve(gamma, toy_source, TIMES)
    formula = constant_generator_cl(gamma, NU_1, TIMES, speed=SPEED)
    np.testing.assert_allclose(formula[:, 1:], ode[:, 1:], rtol=ODE_RTOL)


def test_toy_cl_of_the_pair_formula_equal_an_independent_mpmath_integration():
    # theory.closure: Γ from exact 3j squares and the toy's Bessel coefficients, integrated by mpmath's Taylor method
    from theory.closure import evolve_exact, rate_matrix_from_legendre
    from theory.toy import toy_legendre_coefficients

    lmax = 5
    mp.mp.dps = 30
    reference_gamma = rate_matrix_from_legendre(toy_legendre_coefficients(2 * lmax, D_S, KAPPA_C), lmax, exact=False)
    reference = evolve_exact(reference_gamma, lambda t: 8 * mp.pi / 9 * -mp.expm1(-NU_1 * t) / NU_1, TIMES)
    formula = constant_generator_cl(rate_matrix(PairRate.toy(D_S, KAPPA_C), lmax), NU_1, TIMES)
    for row, expected in zip(formula, reference):
        np.testing.assert_allclose(row[1:], [float(value) for value in expected[1:]], rtol=MPMATH_RTOL)


def test_splitting_the_age_axis_into_pieces_with_the_same_generator_changes_nothing():
    gamma = rate_matrix(PairRate.toy(D_S, KAPPA_C), 30)
    ages = np.array([0.1, 0.3, 0.7, 1.2, 5.0])
    pieces = pair_correlation_cl([gamma] * ages.size, ages, NU_1, TIMES)
    np.testing.assert_allclose(pieces[:, 1:], constant_generator_cl(gamma, NU_1, TIMES)[:, 1:], rtol=ODE_RTOL)


def test_infinite_time_is_the_steady_state_of_the_ode():
    gamma = rate_matrix(PairRate.toy(D_S, KAPPA_C), 30)
    steady = steady_state(gamma, source=8.0 * math.pi * SPEED**2 / (9.0 * NU_1))
    formula = constant_generator_cl(gamma, NU_1, [math.inf])[0]
    np.testing.assert_allclose(formula[1:], steady[1:], rtol=ODE_RTOL)


def test_without_pair_correlation_the_spectrum_is_the_mean_dipole_exactly():
    # k(x) = -nu_1 for x < 1: C_l = (4 pi/9)|<delta>|^2 delta_l1, the bound with equality, at every T
    weights = column_weights(10)
    gamma = np.zeros((11, 11))
    # k_0 = -nu_1: Γ_{l l} = k_0 (2l+1) l(l+1) (l 0 l;000)^2 = -nu_1 l(l+1)
    gamma[np.arange(11), np.arange(11)] = -NU_1 * weights / (2 * np.arange(11) + 1)
    result = constant_generator_cl(gamma, NU_1, [0.3, 2.0, math.inf])
    for row, final in zip(result, [0.3, 2.0, math.inf]):
        assert row[1] == pytest.approx(dipole_bound(final), rel=ODE_RTOL)
        assert np.all(row[2:] == 0.0)


def test_rigid_rotation_keeps_higher_multipoles_empty_and_accumulates_the_dipole_random_walk():
    # Γ ≡ 0 (c ≡ 1): y(t) = e_1, C_1(T) = (8 pi v^2/9) ∫_0^T w(s) ds
    gamma = np.zeros((9, 9))
    final = 1.7
    row = constant_generator_cl(gamma, NU_1, [final])[0]
    integral = (final + math.expm1(-NU_1 * final) / NU_1) / NU_1
    assert row[1] == pytest.approx(8.0 * math.pi / 9.0 * integral, rel=ODE_RTOL)
    assert np.all(row[2:] == 0.0)


def _random_positive_definite_increments(generator, ages, lmax):
    """Pair integrals with c̃_ℓ(t) ≥ 0 growing in t and c̃(1) ≥ Σ c̃_ℓ: the structure of every physical model."""
    count = 2 * lmax + 1
    cross = np.cumsum(generator.exponential(size=(ages.size, count)) * np.exp(-0.3 * np.arange(count)), axis=0)
    selfs = cross.sum(axis=1) * (1.0 + generator.uniform(0.0, 2.0, size=ages.size))
    return PairIncrements(ages, cross, np.maximum.accumulate(selfs), float(generator.uniform(0.1, 2.0)))


@pytest.mark.parametrize("seed", range(6))
def test_normalised_closure_never_breaks_the_c1_bound_for_random_positive_definite_pair_integrals(seed):
    generator = np.random.default_rng(seed)
    lmax = 12
    ages = np.cumsum(generator.uniform(0.1, 2.0, size=8))
    increments = _random_positive_definite_increments(generator, ages, lmax)
    nu = float(generator.uniform(0.05, 1.0))
    finals = [float(generator.uniform(0.2, 2.0) * ages[-1]), math.inf]
    result = closure_cl(increments, "normalised", nu, finals, lmax)
    for row, final in zip(result, finals):
        assert row[1] >= dipole_bound(final, nu) * (1.0 - BOUND_RTOL)


@pytest.mark.parametrize(("reduced_rigidity", "eta"), [(0.1, 0.5), (0.3, 0.1), (1.0, 0.3)])
def test_normalised_closure_keeps_the_c1_bound_on_the_slab_pair_integrals(reduced_rigidity, eta):
    lmax = 24
    increments = slab_pair_increments(reduced_rigidity, eta, age_grid(30.0, per_decade=4), lmax,
                                      lmin_over_lmax=1e-2, modes_per_decade=16)
    nu = 0.1
    result = closure_cl(increments, "normalised", nu, [5.0, 30.0, math.inf], lmax)
    for row, final in zip(result, [5.0, 30.0, math.inf]):
        assert row[1] >= dipole_bound(final, nu) * (1.0 - BOUND_RTOL)
        # pair correlations add power: the bound is strict once the pairs have been correlated
        assert row[1] > dipole_bound(final, nu) * (1.0 + 1e-3)


def test_slab_pair_coefficients_are_non_negative_and_the_self_term_bounds_them():
    # c̃_ℓ ≥ 0 (sums of squared moduli) and c̃(1) = Σ_ℓ c̃_ℓ ≥ any partial sum: what makes 'normalised' a correlation
    increments = slab_pair_increments(0.3, 0.5, np.array([0.5, 3.0, 20.0]), 16, lmin_over_lmax=1e-2,
                                      modes_per_decade=16)
    assert np.all(increments.cross >= -1e-15 * increments.self_correlation[:, None])
    assert np.all(increments.cross.sum(axis=1) <= increments.self_correlation * (1.0 + 1e-12))


@pytest.mark.parametrize("closure", CLOSURES)
def test_every_closure_conserves_total_power_away_from_the_truncation(closure):
    # k(1) = 0: sum_l (2l+1) Γ_{l l0} = 0 (docs/physics/mixing_ode.md#mixing-matrix) for columns whose coupling band
    # stays inside ℓ ≤ ℓmax.  Here
    # k_max r_g t = 2.5 at the last age, so the pair series ends near ℓ = 35 (< 2 ℓmax: nothing is cut off) and
    # columns ℓ0 ≤ 10 couple only to ℓ ≤ 45 < ℓmax
    lmax = 48
    increments = slab_pair_increments(0.1, 0.5, np.array([0.5, 2.0]), lmax, lmin_over_lmax=1e-1,
                                      modes_per_decade=8)
    gamma = generator_from_increments(increments, 1, closure, 0.2, lmax)
    column_sums = (2 * np.arange(lmax + 1) + 1) @ gamma
    scale = np.abs(gamma).sum(axis=0)
    assert np.all(np.abs(column_sums[1:11]) <= CONSERVATION_RTOL * scale[1:11])


def test_bad_input_is_rejected_with_the_parameter_named():
    gamma = rate_matrix(PairRate.toy(D_S, KAPPA_C), 8)
    with pytest.raises(ParameterError, match="ages"):
        pair_correlation_cl([gamma], [0.0], NU_1, [1.0])
    with pytest.raises(ParameterError, match="generators"):
        pair_correlation_cl([gamma, gamma], [1.0], NU_1, [1.0])
    with pytest.raises(ParameterError, match="decay_rate"):
        pair_correlation_cl([gamma], [1.0], 0.0, [1.0])
    with pytest.raises(ParameterError, match="closure"):
        generator_from_increments(PairIncrements(np.array([1.0]), np.zeros((1, 17)), np.ones(1), 1.0), 0, "x",
                                  1.0, 8)
    with pytest.raises(ParameterError, match="generators"):
        pair_correlation_cl([np.zeros((5, 5))], [1.0], NU_1, [math.inf])


def test_docstring_examples_of_the_module_run():
    import doctest

    import anisotropy.pair_correlation as module

    assert doctest.testmod(module).failed == 0


#: Simpson's rule on 4001 nodes against the closed-form piece integrals: error ~ h^4 f''''/180 ≈ 1e-12 of C_1 here
EQUAL_AGE_QUADRATURE_RTOL = 1e-8


def test_equal_age_correlation_integrated_against_w_gives_the_closure_cl():
    # two independent routes to C_ℓ(T) of a two-piece generator: pair_correlation_cl (eigen-decomposition and the
    # closed-form φ1 piece integrals) against Simpson quadrature of (8π/9)∫ w(T - t) y_ℓ(t) dt with y from
    # equal_age_correlation (matrix exponentials), docs/physics/pair_correlation.md eq. (5)
    from scipy.integrate import simpson

    from anisotropy.pair_correlation import equal_age_correlation

    young = rate_matrix(PairRate.toy(D_s=D_S, kappa_c=KAPPA_C), 10)
    old = rate_matrix(PairRate.toy(D_s=2.0 * D_S, kappa_c=0.5 * KAPPA_C), 10)
    ages, final = [0.7, 1.5], 2.0
    expected = pair_correlation_cl([young, old], ages, NU_1, [final])[0]
    grid = np.linspace(0.0, final, 4001)
    y = equal_age_correlation([young, old], ages, grid)
    weight = -np.expm1(-NU_1 * (final - grid)) / NU_1
    integrated = 8.0 * math.pi / 9.0 * simpson(weight[:, None] * y, x=grid, axis=0)
    np.testing.assert_allclose(integrated[1:], expected[1:], rtol=EQUAL_AGE_QUADRATURE_RTOL)
    assert y[0, 1] == 1.0 and np.all(y[0, 2:] == 0.0)  # g(x; 0) = x


def test_equal_age_correlation_rejects_negative_ages():
    from anisotropy.pair_correlation import equal_age_correlation

    gamma = rate_matrix(PairRate.toy(D_s=D_S, kappa_c=KAPPA_C), 4)
    with pytest.raises(ParameterError, match="times"):
        equal_age_correlation([gamma], [1.0], [-1.0])


def test_resonant_only_equals_the_full_spectrum_when_every_mode_can_resonate():
    # k_min r_g = 1.3 r_g/L_c (docs/validation/closures.md): at r_g/L_c = 1 every mode has k r_g > 1 > w, so dropping
    # the non-resonant ones changes nothing and the guiding field keeps w = √(1 - η)
    ages = np.array([0.5, 3.0, 20.0])
    full = slab_pair_increments(1.0, 0.5, ages, 8, lmin_over_lmax=1e-1, modes_per_decade=16)
    resonant = slab_pair_increments(1.0, 0.5, ages, 8, lmin_over_lmax=1e-1, modes_per_decade=16, resonant_only=True)
    np.testing.assert_array_equal(resonant.cross, full.cross)
    np.testing.assert_array_equal(resonant.self_correlation, full.self_correlation)
    assert resonant.markov_self_rate == full.markov_self_rate


def test_resonant_only_drops_power_and_is_refused_without_a_resonant_mode():
    ages = np.array([0.5, 3.0])
    full = slab_pair_increments(0.1, 0.5, ages, 8, lmin_over_lmax=1e-2, modes_per_decade=16)
    resonant = slab_pair_increments(0.1, 0.5, ages, 8, lmin_over_lmax=1e-2, modes_per_decade=16, resonant_only=True)
    # fewer modes and a stronger guiding field: every accumulated deflection is smaller, none negative
    assert np.all(resonant.self_correlation < full.self_correlation)
    assert np.all(resonant.cross >= -1e-12 * resonant.cross.max())
    with pytest.raises(ParameterError, match="reduced_rigidity"):
        slab_pair_increments(1e-4, 0.5, ages, 8, lmin_over_lmax=1e-2, modes_per_decade=16, resonant_only=True)


def test_equal_age_correlation_of_a_higher_initial_multipole_is_that_column_of_the_propagator():
    from anisotropy.pair_correlation import equal_age_correlation

    gamma = rate_matrix(PairRate.toy(D_s=D_S, kappa_c=KAPPA_C), 10)
    y = equal_age_correlation([gamma], [1.0], [0.0, 1.5], initial=4)
    np.testing.assert_allclose(y[1, 1:], scipy.linalg.expm(1.5 * gamma[1:, 1:])[:, 3], rtol=1e-12, atol=1e-15)
    assert y[0, 4] == 1.0 and np.count_nonzero(y[0]) == 1
    with pytest.raises(ParameterError, match="initial"):
        equal_age_correlation([gamma], [1.0], [1.0], initial=11)

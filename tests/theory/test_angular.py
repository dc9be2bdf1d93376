"""Exact angular algebra (theory.angular) and anisotropy.wigner against it (docs/physics/mixing_ode.md#mixing-matrix,
docs/physics/mixing_ode.md#ode)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

from anisotropy import wigner
from anisotropy.errors import ParameterError
from theory import angular

#: target (docs/guide/design.md#targets): recursion 3j vs exact ≤ 1e-12 relative up to ℓ = 1000 (the module documents
#: ~sqrt(ℓ)·eps growth)
THREEJ_RTOL = 1e-12

#: small-ℓ range checked exhaustively in the default run
SMALL_L = 8


def _exact_float(l1, l2, l3) -> float:
    """Exact symbol rounded once to double (sign times sqrt of an exact rational, evaluated at 30 digits)."""
    return float(sp.N(angular.threej_zero(l1, l2, l3), 30))


# ------------------------------------------------------------------------------------------ theory self-checks
def test_closed_form_3j_equals_sympy_racah_formula_for_all_small_triples():
    for l1, l2, l3 in itertools.product(range(SMALL_L + 1), repeat=3):
        assert sp.simplify(angular.threej_zero(l1, l2, l3) - angular.threej_zero_sympy(l1, l2, l3)) == 0


def test_closed_form_3j_equals_sympy_at_moderate_l():
    for triple in [(20, 30, 40), (50, 50, 60), (100, 37, 91), (200, 300, 400)]:
        assert angular.threej_zero(*triple) == angular.threej_zero_sympy(*triple)


def test_legendre_gaunt_integral_is_twice_the_squared_3j():
    for l1, l2, l3 in itertools.product(range(SMALL_L + 1), repeat=3):
        assert angular.gaunt_legendre(l1, l2, l3) == 2 * angular.threej_zero_squared(l1, l2, l3)


def test_spherical_harmonic_gaunt_integral_matches_3j_square():
    for l1, l2, l3 in [(1, 1, 2), (2, 3, 5), (4, 4, 6), (3, 5, 4), (2, 2, 3)]:
        expected = sp.sqrt(sp.Integer((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1)) / (4 * sp.pi)) \
            * angular.threej_zero_squared(l1, l2, l3)
        assert sp.simplify(angular.gaunt_ylm_zero(l1, l2, l3) - expected) == 0


def test_legendre_polynomials_match_sympy():
    x = sp.Symbol("x")
    for ell in range(12):
        assert sp.expand(angular.legendre_sympy(ell, x) - sp.legendre(ell, x)) == 0


def test_product_rule_is_a_polynomial_identity_at_small_l():
    for l_a, l_0 in itertools.product(range(SMALL_L + 1), repeat=2):
        assert all(c == 0 for c in angular.product_rule_residual(l_a, l_0))


def test_sum_rule_is_exactly_one_at_small_l():
    for l_a, l_0 in itertools.product(range(SMALL_L + 1), repeat=2):
        assert angular.sum_rule(l_a, l_0) == 1


def test_sum_rule_is_exactly_one_at_large_l_sample():
    for l_a, l_0 in [(150, 40), (300, 299), (500, 2)]:
        assert angular.sum_rule(l_a, l_0) == 1


def test_pair_operator_tensor_matches_closed_form_for_generic_h():
    tensor, a, b, h = angular.pair_operator_tensor()
    difference = sp.simplify(tensor - angular.pair_tensor_formula(a, b, h))
    assert difference == sp.zeros(3, 3)


def test_total_rotation_annihilates_pair_functions():
    assert angular.total_rotation_annihilates() == sp.zeros(3, 1)


def test_contraction_is_the_legendre_operator_for_generic_h():
    contraction, a, b, h = angular.pair_operator_contraction()
    x = sp.Symbol("x")
    first = sp.diff(h(x), x).subs(x, a.dot(b))
    second = sp.diff(h(x), x, 2).subs(x, a.dot(b))
    # |A x B|² = |A|²|B|² - x², which is 1 - x² on the unit sphere
    expected = (a.dot(a) * b.dot(b) - a.dot(b) ** 2) * second - 2 * a.dot(b) * first
    assert sp.simplify(contraction - expected) == 0


def test_legendre_equation_gives_the_l0_l0_plus_1_eigenvalue_at_small_l():
    for ell in range(20):
        assert all(c == 0 for c in angular.legendre_operator_residual(ell))


def test_operator_identity_at_exact_rational_points_on_the_sphere():
    # Pythagorean quadruples: exact unit vectors, so L^A.L^B P_l0 = -l0(l0+1) P_l0 is checked in exact arithmetic
    points = [(sp.Rational(2, 3), sp.Rational(1, 3), sp.Rational(2, 3)),
              (sp.Rational(2, 7), sp.Rational(3, 7), sp.Rational(6, 7)),
              (sp.Rational(1, 9), sp.Rational(4, 9), sp.Rational(8, 9))]
    for ell in (1, 2, 5, 9):
        contraction, a, b, _ = angular.pair_operator_contraction(
            lambda argument, ell=ell: angular.legendre_sympy(ell, sp.Symbol("y")).subs(sp.Symbol("y"), argument))
        for first, second in itertools.combinations(points, 2):
            values = dict(zip(list(a) + list(b), first + second))
            x = sum(p * q for p, q in zip(first, second))
            assert sp.expand(contraction.subs(values)) == -ell * (ell + 1) * angular.legendre_sympy(ell, x)


@pytest.mark.slow
def test_operator_identity_at_exact_rational_points_for_larger_l():
    first = (sp.Rational(2, 3), sp.Rational(1, 3), sp.Rational(2, 3))
    second = (sp.Rational(1, 9), sp.Rational(4, 9), sp.Rational(8, 9))
    y = sp.Symbol("y")
    for ell in (16, 25):
        contraction, a, b, _ = angular.pair_operator_contraction(
            lambda argument, ell=ell: angular.legendre_sympy(ell, y).subs(y, argument))
        x = sum(p * q for p, q in zip(first, second))
        value = contraction.subs(dict(zip(list(a) + list(b), first + second)))
        assert sp.expand(value) == -ell * (ell + 1) * angular.legendre_sympy(ell, x)


@pytest.mark.slow
def test_product_and_legendre_identities_at_large_l_exactly():
    for l_a, l_0 in [(60, 45), (100, 100), (150, 20)]:
        assert all(c == 0 for c in angular.product_rule_residual(l_a, l_0))
    for ell in (200, 500):
        assert all(c == 0 for c in angular.legendre_operator_residual(ell))


@pytest.mark.slow
def test_gaunt_integral_equals_3j_square_at_larger_l_exactly():
    for triple in [(30, 40, 50), (60, 61, 3), (80, 80, 80)]:
        assert angular.gaunt_legendre(*triple) == 2 * angular.threej_zero_squared(*triple)


# ------------------------------------------------------------------------------------------- anisotropy.wigner
def test_threej_zero_matches_exact_for_all_small_triples():
    ells = np.arange(SMALL_L + 1)
    l1, l2, l3 = np.meshgrid(ells, ells, ells, indexing="ij")
    values = wigner.threej_zero(l1, l2, l3)
    expected = np.vectorize(_exact_float)(l1, l2, l3)
    np.testing.assert_allclose(values, expected, rtol=THREEJ_RTOL, atol=0.0)


def test_threej_zero_matches_exact_at_large_l_sample():
    rng = np.random.default_rng(20241124)
    triples = []
    while len(triples) < 40:
        l1, l2 = (int(value) for value in rng.integers(0, 1001, size=2))
        allowed = [l3 for l3 in range(abs(l1 - l2), min(l1 + l2, 1000) + 1) if (l1 + l2 + l3) % 2 == 0]
        triples.append((l1, l2, int(rng.choice(allowed))))
    triples += [(1000, 1000, 1000), (1000, 999, 1), (1000, 500, 500), (0, 1000, 1000)]
    for triple in triples:
        assert wigner.threej_zero(*triple) == pytest.approx(_exact_float(*triple), rel=THREEJ_RTOL, abs=0.0)


def test_threej_zero_vanishes_outside_selection_rules():
    for triple in [(1, 1, 1), (2, 3, 4), (1, 2, 5), (10, 3, 6)]:
        assert wigner.threej_zero(*triple) == 0.0 == _exact_float(*triple)


def test_threej_zero_broadcasts_and_rejects_bad_input():
    row = wigner.threej_zero(3, 4, np.arange(9))
    expected = [_exact_float(3, 4, l3) for l3 in range(9)]
    np.testing.assert_allclose(row, expected, rtol=THREEJ_RTOL, atol=0.0)
    with pytest.raises(ParameterError):
        wigner.threej_zero(-1, 2, 3)
    with pytest.raises(ParameterError):
        wigner.threej_zero(1.5, 2, 3)


@pytest.mark.parametrize(("l1", "l2"), [(0, 0), (3, 7), (40, 25), (400, 333), (1000, 1000)])
def test_row_kernels_match_exact_rows(l1, l2):
    squared = np.full(l1 + l2 + 3, np.nan)
    signed = np.full(l1 + l2 + 3, np.nan)
    wigner.threej_zero_squared_row(l1, l2, squared)
    wigner.threej_zero_row(l1, l2, signed)
    # sample the row (every entry for short rows) so the exact side stays cheap
    columns = range(l1 + l2 + 1) if l1 + l2 <= 100 else sorted({abs(l1 - l2), abs(l1 - l2) + 2, l1 + l2 - 2,
                                                                   l1 + l2, l1 + 1, l2})
    for l3 in columns:
        exact_square = angular.threej_zero_squared(l1, l2, l3)
        assert squared[l3] == pytest.approx(float(exact_square), rel=THREEJ_RTOL, abs=0.0)
        assert signed[l3] == pytest.approx(_exact_float(l1, l2, l3), rel=THREEJ_RTOL, abs=0.0)
    # entries past l1 + l2 are documented as untouched
    assert np.isnan(squared[l1 + l2 + 1:]).all()


def test_row_kernel_rows_obey_the_exact_sum_rule():
    for l1, l2 in [(5, 9), (120, 80)]:
        row = np.empty(l1 + l2 + 1)
        wigner.threej_zero_squared_row(l1, l2, row)
        assert float(np.sum((2 * np.arange(l1 + l2 + 1) + 1) * row)) == pytest.approx(
            float(angular.sum_rule(l1, l2)), rel=1e-14)


@pytest.mark.slow
def test_threej_zero_matches_exact_along_full_rows_up_to_l_1000():
    for l1 in (250, 500, 750, 1000):
        for l2 in (1, l1 // 3, l1):
            l3 = np.arange(abs(l1 - l2), l1 + l2 + 1)
            values = wigner.threej_zero(l1, l2, l3)
            expected = np.array([_exact_float(l1, l2, int(j)) for j in l3])
            np.testing.assert_allclose(values, expected, rtol=THREEJ_RTOL, atol=0.0)

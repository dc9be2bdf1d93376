"""Tests of anisotropy.wigner against exact sympy values and the Gaunt integral
(docs/physics/mixing_ode.md#mixing-matrix, docs/physics/mixing_ode.md#ode)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numba import njit
from sympy.physics.wigner import wigner_3j

from anisotropy.errors import ParameterError
from anisotropy.legendre import gauss_legendre, legendre_table
from anisotropy.wigner import threej_zero, threej_zero_row, threej_zero_squared_row

#: accuracy target (docs/guide/design.md#targets): 3j against exact sympy values, relative, up to l = 1000
EXACT_RTOL = 1e-12

#: Gauss-Legendre quadrature of a polynomial is exact; what remains is rounding in the Legendre recurrence and the
#: node sum, a few hundred ulps at l ~ 60
GAUNT_ATOL = 1e-13


def exact(l1, l2, l3) -> float:
    return float(wigner_3j(l1, l2, l3, 0, 0, 0).evalf(30))


def test_threej_matches_exact_sympy_for_all_small_triples():
    ells = range(9)
    triples = np.array(list(itertools.product(ells, ells, ells)))
    values = threej_zero(triples[:, 0], triples[:, 1], triples[:, 2])
    expected = np.array([exact(*triple) for triple in triples])
    np.testing.assert_allclose(values, expected, rtol=EXACT_RTOL, atol=0.0)
    # parity and triangle zeros are exact zeros, not rounding
    assert np.all((values == 0.0) == (expected == 0.0))


# Stretched, near-stretched, lopsided and mid-triangle cases near l = 1000 that sympy evaluates quickly.
NEAR_1000 = [(1000, 999, 1), (1000, 1000, 2000), (999, 1000, 1999), (500, 501, 999), (1000, 1000, 0),
             (1000, 996, 6), (1000, 1000, 1998)]


@pytest.mark.parametrize("triple", NEAR_1000)
def test_threej_matches_exact_sympy_near_l1000(triple):
    assert threej_zero(*triple) == pytest.approx(exact(*triple), rel=EXACT_RTOL, abs=0.0)


@pytest.mark.slow
def test_threej_matches_exact_sympy_for_random_triples_up_to_l1000():
    rng = np.random.default_rng(20261124)
    checked = 0
    while checked < 40:
        l1, l2 = (int(value) for value in rng.integers(0, 1001, size=2))
        low, high = abs(l1 - l2), min(l1 + l2, 1000)
        l3 = int(rng.integers(low, high + 1))
        if (l1 + l2 + l3) % 2:
            l3 = l3 + 1 if l3 < high else l3 - 1
        if not low <= l3 <= l1 + l2:
            continue
        assert threej_zero(l1, l2, l3) == pytest.approx(exact(l1, l2, l3), rel=EXACT_RTOL, abs=0.0)
        checked += 1


@pytest.mark.slow
def test_threej_matches_exact_sympy_for_central_l1000():
    for triple in [(1000, 1000, 1000), (999, 1000, 1001), (700, 800, 900), (300, 1000, 998)]:
        assert threej_zero(*triple) == pytest.approx(exact(*triple), rel=EXACT_RTOL, abs=0.0)


def test_squared_symbols_equal_the_gaunt_integral_of_three_legendre_polynomials():
    # int P_l1 P_l2 P_l3 dx = 2 (l1 l2 l3;000)^2, evaluated by exact Gauss-Legendre quadrature
    # (docs/physics/mixing_ode.md#ode)
    lmax = 60
    nodes, weights = gauss_legendre(2 * lmax)
    table = legendre_table(lmax, nodes)
    rng = np.random.default_rng(7)
    triples = rng.integers(0, lmax + 1, size=(300, 3))
    integrals = np.einsum("ij,ij,ij,j->i", table[triples[:, 0]], table[triples[:, 1]], table[triples[:, 2]], weights)
    symbols = threej_zero(triples[:, 0], triples[:, 1], triples[:, 2])
    np.testing.assert_allclose(2.0 * symbols**2, integrals, rtol=0.0, atol=GAUNT_ATOL)


def test_threej_is_symmetric_under_permutations_of_its_arguments():
    rng = np.random.default_rng(3)
    l1, l2, l3 = rng.integers(0, 200, size=(3, 500))
    reference = threej_zero(l1, l2, l3)
    for permuted in [(l2, l1, l3), (l3, l2, l1), (l1, l3, l2), (l2, l3, l1)]:
        np.testing.assert_array_equal(threej_zero(*permuted), reference)


def test_threej_broadcasts_and_returns_a_float_for_scalars():
    assert isinstance(threej_zero(1, 1, 0), float)
    assert threej_zero(1, 1, 0) == pytest.approx(-1.0 / np.sqrt(3.0), rel=EXACT_RTOL)
    grid = threej_zero(np.arange(5)[:, None], 3, np.arange(7)[None, :])
    assert grid.shape == (5, 7)
    assert threej_zero(np.zeros((0, 2), dtype=int), 1, 1).shape == (0, 2)
    # integral floats are accepted as integers
    assert threej_zero(2.0, 2.0, 2.0) == threej_zero(2, 2, 2)


@pytest.mark.parametrize("bad", [-1, 1.5, np.nan, "a", [1, -2], True])
def test_threej_rejects_negative_non_integer_or_non_numeric_input(bad):
    with pytest.raises(ParameterError):
        threej_zero(bad, 1, 1)


def test_row_kernel_fills_the_whole_triangle_and_zeros_elsewhere():
    l1, l2 = 37, 52
    row = np.full(l1 + l2 + 5, 99.0)
    threej_zero_row(l1, l2, row)
    l3 = np.arange(l1 + l2 + 1)
    # threej_zero evaluates each element on the cheapest row, so agreement is to rounding, not bitwise
    np.testing.assert_allclose(row[: l1 + l2 + 1], threej_zero(l1, l2, l3), rtol=EXACT_RTOL, atol=0.0)
    assert np.all(row[: abs(l1 - l2)] == 0.0)
    assert np.all(row[l1 + l2 + 1 :] == 99.0)  # untouched beyond l1 + l2
    squared = np.empty(l1 + l2 + 1)
    threej_zero_squared_row(l1, l2, squared)
    np.testing.assert_allclose(squared, row[: l1 + l2 + 1] ** 2, rtol=1e-14, atol=0.0)


def test_row_kernel_is_callable_from_numba_code():
    @njit
    def gaunt_row_sum(l1, l2):
        row = np.empty(l1 + l2 + 1)
        threej_zero_row(l1, l2, row)
        return row[abs(l1 - l2)]

    assert gaunt_row_sum(4, 6) == pytest.approx(exact(4, 6, 2), rel=EXACT_RTOL)

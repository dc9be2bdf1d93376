"""anisotropy.legendre: quadrature exactness, recurrences against numpy's independent Legendre implementation."""

import numpy as np
import pytest

from anisotropy.legendre import gauss_legendre, legendre_coefficients, legendre_series, legendre_table

#: double-precision round-off accumulated over a few thousand terms
ROUNDOFF = 1e-13


@pytest.mark.parametrize("n_nodes", [1, 2, 3, 7, 64, 501, 2000])
def test_gauss_legendre_integrates_monomials_up_to_degree_2n_minus_1_exactly(n_nodes):
    nodes, weights = gauss_legendre(n_nodes)
    for degree in {0, min(2, 2 * n_nodes - 2), 2 * n_nodes - 2, max(2 * n_nodes - 4, 0)}:
        assert np.sum(weights * nodes**degree) == pytest.approx(2.0 / (degree + 1), rel=ROUNDOFF, abs=ROUNDOFF)
    assert np.all(np.diff(nodes) > 0)


@pytest.mark.parametrize("n_nodes", [1, 5, 40, 150])
def test_gauss_legendre_matches_numpy_companion_matrix_rule_at_small_n(n_nodes):
    nodes, weights = gauss_legendre(n_nodes)
    reference_nodes, reference_weights = np.polynomial.legendre.leggauss(n_nodes)
    assert np.allclose(nodes, reference_nodes, atol=ROUNDOFF)
    assert np.allclose(weights, reference_weights, atol=ROUNDOFF)


def test_legendre_table_matches_numpy_legval():
    x = np.linspace(-1, 1, 37)
    table = legendre_table(60, x)
    for ell in (0, 1, 2, 17, 60):
        unit = np.zeros(ell + 1)
        unit[ell] = 1.0
        assert np.allclose(table[ell], np.polynomial.legendre.legval(x, unit), atol=ROUNDOFF)


def test_projection_recovers_a_legendre_series():
    coefficients = np.array([0.3, -1.2, 0.5, 0.0, 2.0, -0.7])
    nodes, weights = gauss_legendre(16)
    recovered = legendre_coefficients(legendre_series(coefficients, nodes), weights, nodes, 8)
    assert np.allclose(recovered[:6], coefficients, atol=ROUNDOFF)
    assert np.allclose(recovered[6:], 0.0, atol=ROUNDOFF)

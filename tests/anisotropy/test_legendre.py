"""anisotropy.legendre: quadrature exactness, recurrences against numpy's independent Legendre implementation."""

import mpmath as mp
import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.legendre import (
    gauss_legendre,
    graded_gauss_legendre,
    legendre_coefficients,
    legendre_series,
    legendre_table,
)
from theory import cascade

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


# ---------------------------------------------------------------- graded rule for endpoint singularities


#: Integrals of P_m (|P_m| ≤ 1) over ~10^3 nodes with Σ w = 2: summation round-off is a few 1e-16 (measured
#: ≤ 7e-16 for degree ≤ 803); 1e-14 leaves room for the BLAS-free accumulation order
GRADED_POLYNOMIAL_ATOL = 1e-14

#: Task target for ∫(1-x)^α P_m dx, relative to the scale ∫(1-x)^α dx = 2^(α+1)/(α+1) (measured ≤ 1e-15)
GRADED_SINGULAR_RTOL = 1e-13


def _legendre_moments(nodes, weights, values, degree):
    """Σ_i w_i f(x_i) P_m(x_i), m = 0..degree (the plain integrals, without the (2m+1)/2 of a projection)."""
    return legendre_coefficients(values, weights, nodes, degree) * 2.0 / (2.0 * np.arange(degree + 1) + 1.0)


def _exact_singular_moments(alpha, degree):
    r"""∫(1-x)^α P_m dx = 2^α I(α, m), with I(b, m) = ∫((1-x)/2)^b P_m dx in closed form (Rodrigues' formula,
    theory.cascade.power_law_moment, itself checked against mpmath quadrature in tests/theory/test_cascade.py)."""
    with mp.workdps(30):
        return np.array([float(mp.mpf(2) ** alpha * cascade.power_law_moment(alpha, m)) for m in range(degree + 1)])


@pytest.mark.parametrize("degree", [0, 7, 200, 803])
def test_graded_rule_integrates_legendre_polynomials_up_to_its_degree_to_roundoff(degree):
    nodes, weights = graded_gauss_legendre(degree)
    moments = _legendre_moments(nodes, weights, np.ones_like(nodes), degree)
    expected = np.zeros(degree + 1)
    expected[0] = 2.0  # ∫P_m dx = 2 δ_m0
    assert np.max(np.abs(moments - expected)) <= GRADED_POLYNOMIAL_ATOL


def test_graded_rule_of_low_degree_does_not_integrate_high_degree_polynomials():
    # the check above can fail: a rule built for degree 7 is not exact for P_200
    nodes, weights = graded_gauss_legendre(7)
    moments = _legendre_moments(nodes, weights, np.ones_like(nodes), 200)
    assert np.max(np.abs(moments[1:])) > 1e3 * GRADED_POLYNOMIAL_ATOL


@pytest.mark.parametrize("alpha", [1.0 / 3.0, 5.0 / 6.0, 0.5])
def test_graded_rule_integrates_endpoint_power_laws_times_polynomials(alpha):
    degree = 400
    exact = _exact_singular_moments(alpha, degree)
    scale = 2.0 ** (alpha + 1.0) / (alpha + 1.0)  # ∫(1-x)^α dx, the Beta-function value
    assert exact[0] == pytest.approx(scale, rel=1e-15)
    nodes, weights = graded_gauss_legendre(degree)
    graded = _legendre_moments(nodes, weights, (1.0 - nodes) ** alpha, degree)
    assert np.max(np.abs(graded - exact)) <= GRADED_SINGULAR_RTOL * scale
    # the singularity at x = -1 as well: (1+x)^α P_m(x) integrates to (-1)^m times the same
    mirrored = _legendre_moments(nodes, weights, (1.0 + nodes) ** alpha, degree)
    signs = (-1.0) ** np.arange(degree + 1)
    assert np.max(np.abs(mirrored - signs * exact)) <= GRADED_SINGULAR_RTOL * scale
    # plain Gauss-Legendre with as many nodes converges only like n^(-2-2α) and misses the target (by 20x at
    # α = 5/6, 1e4x at α = 1/3), so the check above can fail
    plain_nodes, plain_weights = gauss_legendre(nodes.size)
    plain = _legendre_moments(plain_nodes, plain_weights, (1.0 - plain_nodes) ** alpha, degree)
    assert np.max(np.abs(plain - exact)) > 10 * GRADED_SINGULAR_RTOL * scale


def test_graded_rule_is_symmetric_with_no_node_at_zero():
    # anisotropy.mixing's parity blocks need nodes in ±x pairs with equal weights
    nodes, weights = graded_gauss_legendre(123)
    # ascending; distinct except within a few ulps of ±1, where the panels narrower than 1e-15 round together
    assert np.all(np.diff(nodes) >= 0)
    inner = nodes[np.abs(nodes) < 1.0 - 1e-15]
    assert np.all(np.diff(inner) > 0)
    assert np.all(nodes != 0.0) and nodes.size % 2 == 0
    np.testing.assert_array_equal(nodes, -nodes[::-1])
    np.testing.assert_array_equal(weights, weights[::-1])
    assert np.all(weights > 0) and np.all(np.abs(nodes) <= 1.0)


def test_graded_rule_options_change_the_panels_but_not_the_integrals():
    alpha, degree = 1.0 / 3.0, 60
    exact = _exact_singular_moments(alpha, degree)
    for grading in (0.1, 0.25):
        nodes, weights = graded_gauss_legendre(degree, grading=grading)
        graded = _legendre_moments(nodes, weights, (1.0 - nodes) ** alpha, degree)
        assert np.max(np.abs(graded - exact)) <= GRADED_SINGULAR_RTOL * exact[0]
    # too few levels leaves an innermost panel [1 - 2σ^2, 1] the singularity spoils: the levels do matter
    nodes, weights = graded_gauss_legendre(degree, levels=2)
    coarse = _legendre_moments(nodes, weights, (1.0 - nodes) ** alpha, degree)
    assert np.max(np.abs(coarse - exact)) > 1e3 * GRADED_SINGULAR_RTOL * exact[0]


def test_graded_rule_rejects_bad_input():
    for arguments in ({"degree": -1}, {"degree": 2.5}, {"degree": 10, "grading": 0.5},
                      {"degree": 10, "grading": 0.0}, {"degree": 10, "levels": 0}, {"degree": 10, "tolerance": 0.0}):
        with pytest.raises(ParameterError):
            graded_gauss_legendre(**arguments)


#: Error model of Bonnet's forward recurrence at x = 1 - t with t → 0: rounding errors feed the second solution,
#: which near x = 1 grows like the harmonic sum, giving ~ℓ²·eps absolute (measured ℓ²·eps/10 at ℓ = 500..4000)
def recurrence_bound(ell: int) -> float:
    return ell**2 * np.finfo(float).eps


def test_legendre_recurrence_at_graded_nodes_near_one_matches_mpmath():
    lmax = 1000
    nodes, _ = graded_gauss_legendre(2 * lmax)
    near_one = nodes[nodes > 0.99][::7]  # every 7th node: all panels, from t = 1e-2 down to 1e-17
    table = legendre_table(lmax, near_one)
    with mp.workdps(40):
        for ell in (10, 300, lmax):
            exact = np.array([float(mp.legendre(ell, mp.mpf(float(x)))) for x in near_one])
            assert np.max(np.abs(table[ell] - exact)) <= recurrence_bound(ell)

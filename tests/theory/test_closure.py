"""The closure derivation (theory.closure) and anisotropy.mixing.rate_matrix against it
(docs/physics/mixing_ode.md#mixing-matrix, docs/physics/mixing_ode.md#ode)."""

from __future__ import annotations

from functools import cache

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from anisotropy import mixing
from anisotropy.pair_rates import PairRate
from theory import angular, cascade, closure, toy


#: Error model for float64 Γ against exact Γ, per column ℓ0: each entry is D_ℓ0 = (2ℓ0+1)ℓ0(ℓ0+1) times a sum of
#: at most 2ℓmax+2 terms (3j form: over ℓA; quadrature form: over nodes) each bounded by Σ_ℓA |k_ℓA|, so rounding
#: is bounded by (2ℓmax+2)·eps·D_ℓ0·Σ|k_ℓA| (standard summation bound; 3j rows are exact to a few eps)
def rounding_bound(lmax: int) -> float:
    return (2 * lmax + 2) * np.finfo(float).eps


#: working precision of the mpmath references
DIGITS = 30

X = closure.X


def _to_float(matrix) -> np.ndarray:
    if isinstance(matrix, sp.MatrixBase):
        return np.array([[float(sp.N(matrix[i, j], 25)) for j in range(matrix.cols)] for i in range(matrix.rows)])
    return np.array(matrix.tolist(), dtype=float)


def _column_error(numeric: np.ndarray, exact, coefficient_scale: float) -> float:
    """max over ℓ0 ≥ 1 of max_ℓ |numeric − exact| / (D_ℓ0 Σ|k_ℓA|), the error measure of the rounding bound."""
    lmax = numeric.shape[0] - 1
    # the weights D_ℓ0 of the derivation, independent of mixing.column_weights
    weights = np.array([(2 * ell0 + 1) * ell0 * (ell0 + 1) for ell0 in range(1, lmax + 1)], dtype=float)
    difference = np.abs(numeric - _to_float(exact))[:, 1:]
    assert np.all(numeric[:, 0] == 0.0), "the monopole column must vanish (factor ℓ0(ℓ0+1))"
    return float(np.max(difference / (weights[None, :] * coefficient_scale)))


def _legendre_of_polynomial(expression, degree: int) -> list:
    return [sp.Rational(2 * ell + 1, 2) * sp.integrate(expression * angular.legendre_sympy(ell, X), (X, -1, 1))
            for ell in range(degree + 1)]


@cache
def _exact_polynomial_gamma(name: str, lmax: int) -> sp.Matrix:
    return closure.rate_matrix_from_polynomial(POLYNOMIAL_RATES[name], lmax)


# ----------------------------------------------------------------------------------------- derivation checks
@pytest.mark.parametrize("ell0", [0, 1, 2, 3, 4, 5])
def test_second_order_action_on_legendre_is_l0_l0_plus_1_kappa(ell0):
    assert closure.pair_action_on_legendre(ell0) == 0


def test_second_order_action_on_generic_pair_function_is_minus_kappa_times_legendre_operator():
    h = sp.Function("h")
    c_self, c_cross = sp.Symbol("c_self"), sp.Function("c_cross")
    action = closure.second_order_pair_action(h, c_self, c_cross)
    legendre_operator = (1 - X**2) * sp.diff(h(X), X, 2) - 2 * X * sp.diff(h(X), X)
    assert sp.simplify(action + (c_cross(X) - c_self) * legendre_operator) == 0


def test_projected_mixing_matrix_equals_3j_form_term_by_term():
    lmax = 3
    matrix, kappas = closure.mixing_matrix_symbolic(lmax)
    for ell in range(lmax + 1):
        for ell0 in range(lmax + 1):
            expected = sp.KroneckerDelta(ell, ell0) + sum(
                kappa * angular.threej_zero_squared(ell, ell_a, ell0) * (2 * ell0 + 1) * ell0 * (ell0 + 1)
                for ell_a, kappa in enumerate(kappas))
            assert sp.expand(matrix[ell, ell0] - expected) == 0


def test_projected_mixing_matrix_conserves_total_power_when_kappa_of_one_vanishes():
    lmax = 3
    matrix, kappas = closure.mixing_matrix_symbolic(lmax, n_kappa=2)
    # κ(1) = κ0 + κ1 = 0; columns whose support ℓ ≤ ℓ0 + 1 lies inside the matrix must sum to 2ℓ0 + 1
    constrained = matrix.subs(kappas[0], -kappas[1])
    for ell0 in range(lmax):
        assert sp.expand(sum((2 * ell + 1) * constrained[ell, ell0] for ell in range(lmax + 1))) == 2 * ell0 + 1


POLYNOMIAL_RATES = {
    "linear": X - 1,
    "quadratic": X**2 - 1,
    "cubic_mixed": sp.Rational(3, 2) * (X**3 - 1) - sp.Rational(1, 3) * (X - 1),
}


@pytest.mark.parametrize("name", sorted(POLYNOMIAL_RATES))
def test_operator_route_and_3j_route_to_gamma_agree_exactly(name):
    lmax = 6
    rate = POLYNOMIAL_RATES[name]
    coefficients = [sp.Rational(2 * ell + 1, 2) * sp.integrate(rate * angular.legendre_sympy(ell, X), (X, -1, 1))
                    for ell in range(4)]
    operator_form = closure.rate_matrix_from_polynomial(rate, lmax)
    threej_form = closure.rate_matrix_from_legendre(coefficients, lmax)
    assert sp.simplify(operator_form - threej_form) == sp.zeros(lmax + 1, lmax + 1)


# ------------------------------------------------------------------------------------ anisotropy.mixing, exact
@pytest.mark.parametrize("name", sorted(POLYNOMIAL_RATES))
@pytest.mark.parametrize("method", ["threej", "quadrature"])
def test_rate_matrix_equals_exact_gamma_for_polynomial_rates(name, method):
    lmax = 8
    rate_expression = POLYNOMIAL_RATES[name]
    exact = _exact_polynomial_gamma(name, lmax)
    scale = float(sum(abs(c) for c in _legendre_of_polynomial(rate_expression, 3)))
    function = sp.lambdify(X, rate_expression, "numpy")
    rate = PairRate.from_function(lambda x: function(np.asarray(x, dtype=float)) + 0.0 * np.asarray(x), smooth=True)
    numeric = mixing.rate_matrix(rate, lmax, method=method)
    assert _column_error(numeric, exact, scale) <= rounding_bound(lmax)


def test_rate_matrix_from_exact_legendre_coefficients_equals_exact_gamma():
    lmax = 10
    coefficients = [sp.Rational(-7, 10), sp.Rational(1, 5), sp.Rational(3, 10), sp.Rational(1, 5)]
    exact = closure.rate_matrix_from_legendre(coefficients, lmax)
    numeric = mixing.rate_matrix(PairRate.from_legendre([float(c) for c in coefficients]), lmax)
    assert _column_error(numeric, exact, float(sum(abs(c) for c in coefficients))) <= rounding_bound(lmax)


@pytest.mark.parametrize(("D_s", "kappa_c"), [(0.5, 5.0), (0.25, 20.0), (1.0, 0.3)])
def test_rate_matrix_of_the_toy_equals_the_exact_bessel_series(D_s, kappa_c):
    lmax = 12
    with mp.workdps(DIGITS):
        coefficients = toy.toy_legendre_coefficients(2 * lmax, D_s, kappa_c)
        exact = closure.rate_matrix_from_legendre(coefficients, lmax, exact=False)
        scale = float(sum(abs(c) for c in coefficients))
    rate = PairRate.toy(D_s=D_s, kappa_c=kappa_c)
    for method in ("auto", "threej", "quadrature"):
        assert _column_error(mixing.rate_matrix(rate, lmax, method=method), exact, scale) <= rounding_bound(lmax)


def test_toy_gamma_3j_form_equals_mpmath_quadrature_form():
    lmax = 5
    with mp.workdps(DIGITS):
        coefficients = toy.toy_legendre_coefficients(2 * lmax, 0.5, 5)
        threej_form = closure.rate_matrix_from_legendre(coefficients, lmax, exact=False)
        quadrature_form = closure.rate_matrix_quadrature_mp(lambda x: toy.toy_rate(x, 0.5, 5), lmax)
        assert mp.mnorm(threej_form - quadrature_form, 1) < mp.mpf(10) ** (-DIGITS + 5)


def _kinked_rate() -> PairRate:
    return PairRate.from_function(lambda x: -((1.0 - np.asarray(x, dtype=float)) / 2.0) ** (1.0 / 3.0), smooth=False)


def _exact_kinked_column(lmax: int, ell0: int, coefficients) -> np.ndarray:
    """Column ℓ0 of the exact Γ for the β = 2/3 power-law rate (exact 3j squares, 20-digit coefficients)."""
    column = np.zeros(lmax + 1)
    for ell in range(lmax + 1):
        total = 0.0
        for ell_a in range(abs(ell - ell0), ell + ell0 + 1, 2):
            square = angular._threej_zero_squared_fraction(ell, ell_a, ell0)
            total += coefficients[ell_a] * (square.numerator / square.denominator)
        column[ell] = (2 * ell0 + 1) * ell0 * (ell0 + 1) * total
    return column


#: Gauss-Legendre error for an endpoint singularity (1-x)^{β/2} falls like n^{-2-β}; between n and 4n the error
#: ratio must be 4^{2+β} up to pre-asymptotic O(1/n) corrections, allowed here at 20%
CONVERGENCE_RATIO_RTOL = 0.2


def test_quadrature_gamma_of_a_kinked_rate_converges_to_exact_at_the_gauss_legendre_rate():
    lmax, beta = 24, sp.Rational(2, 3)
    with mp.workdps(20):
        coefficients = [float(c) for c in cascade.power_law_rate_coefficients(2 * lmax, beta, amplitude=1)]
    # float sums of exact 3j squares: ~1e-16 relative, far below the quadrature errors (1e-8..1e-10) compared here
    exact = np.column_stack([_exact_kinked_column(lmax, ell0, coefficients) for ell0 in range(lmax + 1)])
    errors = [np.max(np.abs(mixing.rate_matrix(_kinked_rate(), lmax, method="quadrature", n_nodes=n) - exact))
              for n in (128, 512)]
    assert errors[0] / errors[1] == pytest.approx(4.0 ** (2 + float(beta)), rel=CONVERGENCE_RATIO_RTOL)


#: mixing.py's accuracy for this kinked rate at ℓmax = 400 with its default (graded) nodes, in units of the column
#: scale D_ℓ0·max|k| (max|k| = 1 here): measured ~1e-16; 1e-12 leaves room for the 20-digit reference's rounding
#: and the double-precision accumulation over ~800 terms, and still fails for plain Gauss rules (~1e-9)
DOCUMENTED_KINK_ACCURACY = 1e-12


@pytest.mark.slow
def test_default_quadrature_gamma_of_a_kinked_rate_meets_documented_accuracy_at_lmax_400():
    lmax = 400
    with mp.workdps(20):
        coefficients = [float(c) for c in cascade.power_law_rate_coefficients(2 * lmax, sp.Rational(2, 3))]
    numeric = mixing.rate_matrix(_kinked_rate(), lmax, method="quadrature")
    for ell0 in (1, 17, 150):
        exact = _exact_kinked_column(lmax, ell0, coefficients)
        weight = (2 * ell0 + 1) * ell0 * (ell0 + 1)
        assert np.max(np.abs(numeric[:, ell0] - exact)) <= DOCUMENTED_KINK_ACCURACY * weight


def test_column_weights_are_the_coefficients_derived_in_the_closure():
    lmax = 3
    matrix, kappas = closure.mixing_matrix_symbolic(lmax)
    weights = mixing.column_weights(lmax)
    for ell0 in range(lmax + 1):
        # ∂M_{ℓℓ0}/∂κ_{ℓA} / (ℓ ℓA ℓ0;000)² at any allowed (ℓ, ℓA): here ℓ = ℓ0, ℓA = 0
        derived = sp.diff(matrix[ell0, ell0], kappas[0]) / angular.threej_zero_squared(ell0, 0, ell0)
        assert weights[ell0] == float(derived)


def test_coupling_matrices_equal_exact_gaunt_weighted_sums():
    lmax = 7
    coefficients = [sp.Rational(-1, 2), sp.Rational(1, 4), 0, sp.Rational(1, 4)]
    exact_gamma = closure.rate_matrix_from_legendre(coefficients, lmax)
    weights = [(2 * ell0 + 1) * ell0 * (ell0 + 1) for ell0 in range(lmax + 1)]
    exact_coupling = sp.Matrix(lmax + 1, lmax + 1, lambda i, j: sum(
        c * angular.threej_zero_squared(i, ell_a, j) for ell_a, c in enumerate(coefficients)))
    for ell0 in range(1, lmax + 1):
        assert exact_coupling[:, ell0] * weights[ell0] == exact_gamma[:, ell0]
    scale = float(sum(abs(c) for c in coefficients))
    bound = rounding_bound(lmax) * scale
    from_legendre = mixing.coupling_from_legendre([float(c) for c in coefficients], lmax)
    assert np.max(np.abs(from_legendre - _to_float(exact_coupling))) <= bound
    function = sp.lambdify(X, sum(c * angular.legendre_sympy(ell, X) for ell, c in enumerate(coefficients)), "numpy")
    # degree 3 + 2ℓmax ≤ 2n − 1 with n = ℓmax + 4: Gauss-Legendre is exact up to rounding
    by_quadrature = mixing.coupling_by_quadrature(function, lmax, n_nodes=lmax + 4)
    assert np.max(np.abs(by_quadrature - _to_float(exact_coupling))) <= bound


def test_default_quadrature_nodes_integrate_the_documented_degree_exactly():
    lmax = 40
    n_nodes = mixing.default_quadrature_nodes(lmax, smooth=True)
    assert n_nodes % 2 == 0
    # documented: exact for k of degree d = 2n − 1 − 2ℓmax.  Take k = P_d − 1: exact A_{ℓℓ0} = −δ_{ℓℓ0}/(2ℓ+1)
    # + (ℓ d ℓ0;000)², and the second term vanishes here, so any quadrature error in ∫P_d P_ℓ P_ℓ0 shows up
    degree = 2 * n_nodes - 1 - 2 * lmax
    coupling = mixing.coupling_by_quadrature(
        lambda x: np.polynomial.legendre.legval(x, np.eye(degree + 1)[degree]) - 1.0, lmax, n_nodes)
    exact = np.diag([-1.0 / (2 * ell + 1) for ell in range(lmax + 1)])
    for ell in range(lmax + 1):
        for ell0 in range(lmax + 1):
            exact[ell, ell0] += float(angular.threej_zero_squared(ell, degree, ell0))
    assert np.max(np.abs(coupling - exact)) <= rounding_bound(lmax) * 2.0
    # one degree more is beyond the rule: this must not be exact (the check above can fail)
    coarse = mixing.coupling_by_quadrature(
        lambda x: np.polynomial.legendre.legval(x, np.eye(degree + 3)[degree + 2]) - 1.0, lmax, n_nodes)
    assert np.max(np.abs(coarse - exact)) > 1e3 * rounding_bound(lmax)


def test_legendre_bandwidth_matches_its_definition_on_exact_toy_coefficients():
    with mp.workdps(DIGITS):
        exact = toy.toy_legendre_coefficients(80, 0.5, 5)
        magnitudes = [abs(c) for c in exact]
        total = sum(magnitudes)
        bandwidth = mixing.legendre_bandwidth([float(c) for c in exact])
        # the tail strictly above L_A is within the tolerance, the tail from L_A on is not
        assert sum(magnitudes[bandwidth + 1:]) <= mixing.TRUNCATION_RTOL * total
        assert sum(magnitudes[bandwidth:]) > mixing.TRUNCATION_RTOL * total


@pytest.mark.slow
def test_rate_matrix_of_the_toy_equals_exact_bessel_series_at_larger_lmax():
    lmax = 60
    with mp.workdps(DIGITS):
        coefficients = toy.toy_legendre_coefficients(2 * lmax, 0.5, 5)
        exact = closure.rate_matrix_from_legendre(coefficients, lmax, exact=False)
        scale = float(sum(abs(c) for c in coefficients))
    rate = PairRate.toy(D_s=0.5, kappa_c=5.0)
    for method in ("threej", "quadrature"):
        assert _column_error(mixing.rate_matrix(rate, lmax, method=method), exact, scale) <= rounding_bound(lmax)

r"""The closure, derived: second-order ⟨U^A U^B⟩ on pair functions → the mixing matrix M and the rate matrix Γ.

Equations derived here (docs/physics/mixing_ode.md#mixing-matrix, docs/physics/mixing_ode.md#rate-matrix)
---------------------------------------------------------------------------------------------------------
With :math:`\delta L = -i\,\delta\boldsymbol\Omega\cdot\hat{\mathbf L}` and :math:`U = T\exp[-\int\delta L]`, the
second-order Dyson terms averaged under the isotropic closure
:math:`\langle\delta\Omega_i^A\delta\Omega_j^B\rangle\to\frac13\delta_{ij}\langle\delta\boldsymbol\Omega^A\cdot
\delta\boldsymbol\Omega^B\rangle` give, acting on a pair function :math:`h(\hat p_A\cdot\hat p_B)`,

.. math::

    \langle U^AU^B\rangle h = h - \tfrac12\tilde c(1)\,(\hat L_A^2 + \hat L_B^2)h - \tilde c(x)\,
    \hat L^A\cdot\hat L^B h

(the time-ordered self term is half the full double integral, hence the ½).  :func:`second_order_pair_action`
evaluates the right-hand side by explicit Cartesian differentiation and reduces it to the pair variable ``x``;
for :math:`h = P_{\ell_0}` it becomes :math:`P_{\ell_0} + \ell_0(\ell_0+1)\kappa(x)P_{\ell_0}` with
:math:`\kappa = \tilde c(x) - \tilde c(1)` (eq. 4.2).  The Legendre projection of
docs/physics/mixing_ode.md#mixing-matrix,
:math:`M_{\ell\ell_0} = \frac{2\ell_0+1}{2}\int_{-1}^1 P_\ell(x)\,[\langle U^AU^B\rangle P_{\ell_0}](x)\,dx`, then gives

.. math::

    M_{\ell\ell_0} = \delta_{\ell\ell_0} + \sum_{\ell_A}\kappa_{\ell_A}(\ell\,\ell_A\,\ell_0;000)^2(2\ell_0+1)
    \ell_0(\ell_0+1)                                                                            \quad (4.1)

and, with the Markov rate :math:`k = \kappa/\Delta t`, the rate matrix (4.3)
:math:`\Gamma_{\ell\ell_0} = (2\ell_0+1)\ell_0(\ell_0+1)\sum_{\ell_A}k_{\ell_A}(\ell\,\ell_A\,\ell_0;000)^2`.

Steps checked
-------------
* :func:`second_order_pair_action` / :func:`pair_action_on_legendre`: the operator algebra (differentiation, not
  the identity of :mod:`theory.angular`) gives the factor :math:`\ell_0(\ell_0+1)\kappa(x)`.
* :func:`mixing_matrix_symbolic`: the projection with symbolic :math:`\kappa_{\ell_A}` gives (4.1) term by term.
* :func:`rate_matrix_from_polynomial` (projection of the differential-operator form, exact rationals) and
  :func:`rate_matrix_from_legendre` (3j form, exact 3j squares times the given coefficients) are two independent
  routes to Γ; the tests compare both with each other and with :func:`anisotropy.rate_matrix`.
* :func:`steady_state_exact` / :func:`evolve_exact`: high-precision solutions of (4.4) for small ℓmax (mpmath),
  references for the solver.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath as mp
import sympy as sp

from .angular import (
    _threej_zero_squared_fraction,
    angular_momentum,
    legendre_sympy,
    threej_zero_squared,
    unit_vectors,
)

__all__ = [
    "evolve_exact",
    "mixing_matrix_symbolic",
    "pair_action_on_legendre",
    "power_conservation_residual",
    "rate_matrix_from_legendre",
    "rate_matrix_from_polynomial",
    "rate_matrix_quadrature_mp",
    "second_order_pair_action",
    "steady_state_exact",
]

X = sp.Symbol("x", real=True)


def _canonical_pair(x: sp.Symbol):
    """A = ẑ and B in the x-z plane with A·B = x: a rotation-invariant expression is fixed by its value here."""
    return {"a": (0, 0, 1), "b": (sp.sqrt(1 - x**2), 0, x)}


def second_order_pair_action(h: Callable, c_self: sp.Expr, c_cross: Callable) -> sp.Expr:
    r"""Second-order :math:`(\langle U^AU^B\rangle - 1)h(\mathbf A\cdot\mathbf B)` as a function of ``x`` (module doc).

    Parameters
    ----------
    h : callable
        Pair function, ``h(sympy_expr) -> sympy_expr`` (e.g. a Legendre polynomial or an undefined Function).
    c_self : sympy expression
        :math:`\tilde c(1)`, the auto-correlation integral (a symbol is fine).
    c_cross : callable
        :math:`\tilde c(x)`, the cross-correlation integral as a function of the pair cosine.

    Notes
    -----
    The Cartesian derivatives are taken first with generic vectors; only then is the result evaluated at the
    canonical configuration :math:`A = \hat z`, :math:`B\cdot A = x` (legitimate because
    :math:`(\hat L^A+\hat L^B)` annihilates pair functions, :func:`theory.angular.total_rotation_annihilates`).
    """
    a, b = unit_vectors()
    pair_function = h(a.dot(b))
    l_a = angular_momentum(pair_function, a)
    l_b = angular_momentum(pair_function, b)
    l_a_squared = sum(angular_momentum(l_a[i], a)[i] for i in range(3))
    l_b_squared = sum(angular_momentum(l_b[i], b)[i] for i in range(3))
    l_a_dot_l_b = sum(angular_momentum(l_b[i], a)[i] for i in range(3))
    pair = _canonical_pair(X)
    substitution = dict(zip(list(a) + list(b), list(pair["a"]) + list(pair["b"])))
    self_term = -sp.Rational(1, 2) * c_self * (l_a_squared + l_b_squared)
    cross_term = -c_cross(X) * l_a_dot_l_b
    return sp.simplify((self_term + cross_term).subs(substitution).doit())


def pair_action_on_legendre(ell0: int, c_self: sp.Expr | None = None, c_cross: Callable | None = None) -> sp.Expr:
    r"""Residual :math:`(\langle U^AU^B\rangle-1)P_{\ell_0} - \ell_0(\ell_0+1)[\tilde c(x)-\tilde c(1)]P_{\ell_0}`.

    Simplifies to zero for generic :math:`\tilde c` (docs/physics/mixing_ode.md#mixing-matrix: the talk's factor
    :math:`\ell_0(\ell_0+1)`).
    """
    if c_self is None:
        c_self = sp.Symbol("c_self")
    if c_cross is None:
        c_cross = sp.Function("c_cross")
    action = second_order_pair_action(lambda argument: legendre_sympy(ell0, X).subs(X, argument), c_self, c_cross)
    expected = ell0 * (ell0 + 1) * (c_cross(X) - c_self) * legendre_sympy(ell0, X)
    return sp.simplify(sp.expand(action - expected))


def mixing_matrix_symbolic(lmax: int, n_kappa: int | None = None) -> tuple[sp.Matrix, tuple[sp.Symbol, ...]]:
    r"""M (4.1) from the projection of the operator form, with symbolic Legendre coefficients :math:`\kappa_{\ell_A}`.

    Returns ``(M, kappas)``; :math:`M_{\ell\ell_0} = \delta_{\ell\ell_0}
    + \frac{2\ell_0+1}{2}\int P_\ell\,\ell_0(\ell_0+1)\kappa(x)P_{\ell_0}dx` with
    :math:`\kappa = \sum_{\ell_A}\kappa_{\ell_A}P_{\ell_A}` is computed by sympy integration, so comparing with
    the 3j expression checks the Gaunt step of the derivation.
    """
    if n_kappa is None:
        n_kappa = 2 * lmax + 1
    kappas = sp.symbols(f"kappa0:{n_kappa}")
    kappa_of_x = sum(kappa * legendre_sympy(ell_a, X) for ell_a, kappa in enumerate(kappas))
    matrix = sp.zeros(lmax + 1, lmax + 1)
    for ell in range(lmax + 1):
        for ell0 in range(lmax + 1):
            integrand = sp.expand(legendre_sympy(ell, X) * ell0 * (ell0 + 1) * kappa_of_x * legendre_sympy(ell0, X))
            matrix[ell, ell0] = sp.Rational(2 * ell0 + 1, 2) * sp.integrate(integrand, (X, -1, 1))
            if ell == ell0:
                matrix[ell, ell0] += 1
    return matrix, kappas


def rate_matrix_from_polynomial(rate: sp.Expr, lmax: int, x: sp.Symbol = X) -> sp.Matrix:
    r"""Exact Γ for a polynomial rate :math:`k(x)` from the operator form, without 3j symbols.

    :math:`\Gamma_{\ell\ell_0} = -\frac{2\ell_0+1}{2}\int_{-1}^1P_\ell(x)\,k(x)\,\hat L^A\cdot\hat L^B P_{\ell_0}\,dx`
    with :math:`\hat L^A\cdot\hat L^B h = (1-x^2)h''-2xh'` (docs/physics/mixing_ode.md#mixing-matrix); exact rational
    arithmetic.
    """
    rate = sp.Poly(sp.sympify(rate).subs(x, X), X, domain="QQ")
    legendre = [sp.Poly(legendre_sympy(ell, X), X, domain="QQ") for ell in range(lmax + 1)]
    matrix = sp.zeros(lmax + 1, lmax + 1)
    for ell0 in range(lmax + 1):
        p0 = legendre[ell0]
        operator_on_p0 = sp.Poly(1 - X**2, X) * p0.diff(X).diff(X) - sp.Poly(2 * X, X) * p0.diff(X)
        for ell in range(lmax + 1):
            antiderivative = (-legendre[ell] * rate * operator_on_p0).integrate()
            integral = antiderivative.eval(1) - antiderivative.eval(-1)
            matrix[ell, ell0] = sp.Rational(2 * ell0 + 1, 2) * integral
    return matrix


def rate_matrix_from_legendre(coefficients: Sequence, lmax: int, *, exact: bool = True):
    r"""Γ (4.3) in the 3j form from Legendre coefficients :math:`k_{\ell_A}` (missing ones are zero).

    ``exact=True`` returns a sympy Matrix (rational coefficients stay rational); otherwise an ``mpmath.matrix`` at
    the current ``mp.dps`` (use for mpmath coefficients such as the toy model's Bessel series).  Only
    :math:`\ell_A\le\ell+\ell_0` contribute (triangle rule), so the sum is finite and exact.
    """
    size = lmax + 1
    matrix = sp.zeros(size, size) if exact else mp.matrix(size, size)
    for ell in range(size):
        for ell0 in range(1, size):
            total = 0
            for ell_a in range(abs(ell - ell0), min(ell + ell0, len(coefficients) - 1) + 1):
                if exact:
                    total += sp.sympify(coefficients[ell_a]) * threej_zero_squared(ell, ell_a, ell0)
                else:
                    square = _threej_zero_squared_fraction(ell, ell_a, ell0)
                    total += mp.mpf(coefficients[ell_a]) * mp.mpf(square.numerator) / square.denominator
            matrix[ell, ell0] = (2 * ell0 + 1) * ell0 * (ell0 + 1) * total
    return matrix


def rate_matrix_quadrature_mp(rate: Callable, lmax: int, *, singular_at_one: bool = False) -> mp.matrix:
    r"""Γ (4.3) in the integral form :math:`(2\ell_0+1)\ell_0(\ell_0+1)\frac12\int k P_\ell P_{\ell_0}dx` by
    :func:`mpmath.quad` (tanh-sinh; ``singular_at_one`` splits the interval to resolve a kink at x = 1)."""
    size = lmax + 1
    matrix = mp.matrix(size, size)
    nodes = [-1, 0, mp.mpf(1) / 2, mp.mpf(15) / 16, 1] if singular_at_one else [-1, 0, 1]
    for ell in range(size):
        for ell0 in range(1, size):
            integral = mp.quad(lambda t, ell=ell, ell0=ell0: rate(t) * mp.legendre(ell, t) * mp.legendre(ell0, t),
                               nodes)
            matrix[ell, ell0] = (2 * ell0 + 1) * ell0 * (ell0 + 1) * integral / 2
    return matrix


def power_conservation_residual(matrix) -> list:
    r""":math:`\sum_\ell(2\ell+1)\Gamma_{\ell\ell_0}` per column (zero when :math:`k(1) = 0`,
    docs/physics/mixing_ode.md#mixing-matrix).

    Only columns whose whole support :math:`\ell\le\ell_0+\deg k` lies inside the matrix can vanish: the rows cut
    off by the truncation at ℓmax carry the rest (the absorbing boundary of docs/physics/mixing_ode.md#ode).
    """
    rows, columns = matrix.rows, matrix.cols
    return [sum((2 * ell + 1) * matrix[ell, ell0] for ell in range(rows)) for ell0 in range(columns)]


def steady_state_exact(matrix, source) -> list:
    r"""Steady state of (4.4), :math:`\Gamma_{[1..L],[1..L]}C = -S e_1`, in mpmath (C[0] is ``nan``)."""
    size = matrix.rows
    block = mp.matrix(size - 1, size - 1)
    for i in range(1, size):
        for j in range(1, size):
            block[i - 1, j - 1] = mp.mpf(sp.N(matrix[i, j], mp.dps + 10)) if isinstance(matrix, sp.MatrixBase) \
                else matrix[i, j]
    rhs = mp.matrix(size - 1, 1)
    rhs[0] = -mp.mpf(source)
    solution = mp.lu_solve(block, rhs)
    return [mp.nan] + [solution[i] for i in range(size - 1)]


def evolve_exact(matrix, source: Callable, times: Sequence) -> list[list]:
    r"""⟨C_ℓ⟩(t) from C = 0 at t = 0 under (4.4), by mpmath's Taylor ODE solver (:func:`mpmath.odefun`).

    ``source`` is :math:`S(t)` (a callable of mpf); returns one list of C_1..C_L (with C_0 = nan prepended) per time.
    """
    size = matrix.rows
    block = [[mp.mpf(sp.N(matrix[i, j], mp.dps + 10)) if isinstance(matrix, sp.MatrixBase) else matrix[i, j]
              for j in range(1, size)] for i in range(1, size)]

    def derivative(t, c):
        rates = [sum(block[i][j] * c[j] for j in range(size - 1)) for i in range(size - 1)]
        rates[0] += source(t)
        return rates

    solution = mp.odefun(derivative, 0, [mp.mpf(0)] * (size - 1))
    return [[mp.nan, *solution(mp.mpf(t))] for t in times]

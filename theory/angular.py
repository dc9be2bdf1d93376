r"""Exact angular algebra behind the mixing matrix (docs/physics/mixing_ode.md#mixing-matrix,
docs/physics/mixing_ode.md#rate-matrix).

Equations derived or checked here
---------------------------------
* The 3j symbol with zero projections (docs/physics/mixing_ode.md#mixing-matrix, closed form with :math:`g =
  (\ell_1+\ell_2+\ell_3)/2`)::

      (l1 l2 l3; 0 0 0) = (-1)^g sqrt[(2g-2l1)!(2g-2l2)!(2g-2l3)!/(2g+1)!] g!/[(g-l1)!(g-l2)!(g-l3)!]

  Its square is a rational number; :func:`threej_zero_squared` returns it exactly from Python integers, and
  :func:`threej_zero` the exact algebraic number ``sign * sqrt(rational)``.  Both are checked against the
  independent implementation :func:`sympy.physics.wigner.wigner_3j` (Racah formula).
* The Legendre Gaunt integral :math:`\int_{-1}^{1}P_{\ell_1}P_{\ell_2}P_{\ell_3}\,dx = 2(\ell_1\,\ell_2\,\ell_3;000)^2`
  (the step from the quadrature form to the 3j form of Γ, docs/physics/mixing_ode.md#rate-matrix), by exact polynomial
  integration; and its
  spherical-harmonic version :func:`sympy.physics.wigner.gaunt`.
* The product rule :math:`P_{\ell_A}P_{\ell_0} = \sum_\ell (2\ell+1)(\ell_A\,\ell_0\,\ell;000)^2 P_\ell` and its value
  at :math:`x = 1`, the sum rule :math:`\sum_\ell(2\ell+1)(\ell\,\ell_A\,\ell_0;000)^2 = 1` (conservation of total
  power, docs/physics/mixing_ode.md#mixing-matrix).
* The operator identity (docs/physics/mixing_ode.md#mixing-matrix), derived for a *generic* function :math:`h` with
  :math:`\hat L = -i\,\mathbf
  r\times\nabla`::

      L_i^A L_j^B h(A.B) = h''(x) (A x B)_i (A x B)_j - h'(x) (delta_ij x - B_i A_j),     x = A.B

  and its contraction :math:`\hat L^A\cdot\hat L^B h = (1-x^2)h'' - 2xh'`, which on :math:`h = P_{\ell_0}` is
  Legendre's equation: :math:`\hat L^A\cdot\hat L^B P_{\ell_0} = -\ell_0(\ell_0+1)P_{\ell_0}`.  Also
  :math:`(\hat L^A + \hat L^B) h(A\cdot B) = 0` (rotation invariance of pair functions).

The symbolic checks (generic :math:`h`, small ℓ) are exact identities in sympy; the large-ℓ checks use exact
rational arithmetic (Python integers and :class:`fractions.Fraction`), never floating point.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

import sympy as sp

__all__ = [
    "angular_momentum",
    "gaunt_legendre",
    "gaunt_ylm_zero",
    "legendre_operator_residual",
    "legendre_polynomial_coefficients",
    "legendre_sympy",
    "pair_operator_contraction",
    "pair_operator_tensor",
    "pair_tensor_formula",
    "product_rule_coefficients",
    "product_rule_residual",
    "sum_rule",
    "threej_sign",
    "threej_zero",
    "threej_zero_squared",
    "threej_zero_sympy",
    "total_rotation_annihilates",
    "unit_vectors",
]


# --------------------------------------------------------------------------------------------------- 3j symbols
def _triangle_even(l1: int, l2: int, l3: int) -> bool:
    """Selection rules of (l1 l2 l3; 000): triangle inequality and even l1+l2+l3."""
    if min(l1, l2, l3) < 0:
        raise ValueError("angular momenta must be non-negative integers")
    return abs(l1 - l2) <= l3 <= l1 + l2 and (l1 + l2 + l3) % 2 == 0


@lru_cache(maxsize=200_000)
def _threej_zero_squared_fraction(l1: int, l2: int, l3: int) -> Fraction:
    if not _triangle_even(l1, l2, l3):
        return Fraction(0)
    g = (l1 + l2 + l3) // 2
    f = math.factorial
    radicand = Fraction(f(2 * g - 2 * l1) * f(2 * g - 2 * l2) * f(2 * g - 2 * l3), f(2 * g + 1))
    multinomial = f(g) // (f(g - l1) * f(g - l2) * f(g - l3))
    return radicand * multinomial**2


def threej_zero_squared(l1: int, l2: int, l3: int) -> sp.Rational:
    r"""Exact :math:`(\ell_1\,\ell_2\,\ell_3;0\,0\,0)^2` as a sympy ``Rational``
    (docs/physics/mixing_ode.md#mixing-matrix closed form).

    Zero unless the triangle rule holds and :math:`\ell_1+\ell_2+\ell_3` is even.  Exact big-integer arithmetic, so
    it is valid (and fast, ~ms) for ℓ in the thousands.
    """
    value = _threej_zero_squared_fraction(int(l1), int(l2), int(l3))
    return sp.Rational(value.numerator, value.denominator)


def threej_sign(l1: int, l2: int, l3: int) -> int:
    """Sign :math:`(-1)^g` of (l1 l2 l3; 000), or 0 where the symbol vanishes."""
    l1, l2, l3 = int(l1), int(l2), int(l3)
    if not _triangle_even(l1, l2, l3):
        return 0
    return -1 if ((l1 + l2 + l3) // 2) % 2 else 1


def threej_zero(l1: int, l2: int, l3: int) -> sp.Expr:
    r"""Exact :math:`(\ell_1\,\ell_2\,\ell_3;0\,0\,0) = (-1)^g\sqrt{\text{rational}}` as a sympy number."""
    return threej_sign(l1, l2, l3) * sp.sqrt(threej_zero_squared(l1, l2, l3))


def threej_zero_sympy(l1: int, l2: int, l3: int) -> sp.Expr:
    """The same symbol from sympy's own Racah-formula implementation (an independent cross-check)."""
    from sympy.physics.wigner import wigner_3j

    return wigner_3j(int(l1), int(l2), int(l3), 0, 0, 0)


# ---------------------------------------------------------------------------------------- Legendre polynomials
@lru_cache(maxsize=4096)
def legendre_polynomial_coefficients(ell: int) -> tuple[Fraction, ...]:
    r"""Exact power-series coefficients of :math:`P_\ell(x)` (index = power of x), by Bonnet's recurrence in
    rational arithmetic: :math:`(\ell+1)P_{\ell+1} = (2\ell+1)xP_\ell - \ell P_{\ell-1}`."""
    ell = int(ell)
    if ell < 0:
        raise ValueError("ell must be non-negative")
    if ell == 0:
        return (Fraction(1),)
    if ell == 1:
        return (Fraction(0), Fraction(1))
    previous = legendre_polynomial_coefficients(ell - 2)
    current = legendre_polynomial_coefficients(ell - 1)
    n = ell - 1
    result = [Fraction(0)] * (ell + 1)
    for power, coefficient in enumerate(current):
        result[power + 1] += Fraction(2 * n + 1, n + 1) * coefficient
    for power, coefficient in enumerate(previous):
        result[power] -= Fraction(n, n + 1) * coefficient
    return tuple(result)


def _poly_multiply(first, second) -> list[Fraction]:
    product = [Fraction(0)] * (len(first) + len(second) - 1)
    for i, a in enumerate(first):
        if a:
            for j, b in enumerate(second):
                product[i + j] += a * b
    return product


def _poly_integral_minus1_to_1(coefficients) -> Fraction:
    # odd powers integrate to zero on the symmetric interval
    return sum((2 * c / (power + 1) for power, c in enumerate(coefficients) if power % 2 == 0), Fraction(0))


def gaunt_legendre(l1: int, l2: int, l3: int) -> sp.Rational:
    r"""Exact :math:`\int_{-1}^{1}P_{\ell_1}P_{\ell_2}P_{\ell_3}\,dx` by rational polynomial integration.

    Independent of the 3j closed form; docs/physics/mixing_ode.md#rate-matrix uses that it equals
    :math:`2(\ell_1\,\ell_2\,\ell_3;000)^2`.
    """
    product = _poly_multiply(
        _poly_multiply(legendre_polynomial_coefficients(l1), legendre_polynomial_coefficients(l2)),
        legendre_polynomial_coefficients(l3),
    )
    value = _poly_integral_minus1_to_1(product)
    return sp.Rational(value.numerator, value.denominator)


def gaunt_ylm_zero(l1: int, l2: int, l3: int) -> sp.Expr:
    r""":math:`\int Y_{\ell_1 0}Y_{\ell_2 0}Y_{\ell_3 0}\,d\Omega` from :func:`sympy.physics.wigner.gaunt`.

    Equals :math:`\sqrt{(2\ell_1+1)(2\ell_2+1)(2\ell_3+1)/(4\pi)}\,(\ell_1\,\ell_2\,\ell_3;000)^2`.
    """
    from sympy.physics.wigner import gaunt

    return gaunt(int(l1), int(l2), int(l3), 0, 0, 0)


def product_rule_coefficients(l_a: int, l_0: int) -> dict[int, sp.Rational]:
    r"""Coefficients :math:`(2\ell+1)(\ell_A\,\ell_0\,\ell;000)^2` of
    :math:`P_{\ell_A}P_{\ell_0} = \sum_\ell c_\ell P_\ell`, for :math:`|\ell_A-\ell_0|\le\ell\le\ell_A+\ell_0`
    (the others vanish)."""
    return {
        ell: (2 * ell + 1) * threej_zero_squared(l_a, l_0, ell)
        for ell in range(abs(l_a - l_0), l_a + l_0 + 1)
    }


def product_rule_residual(l_a: int, l_0: int) -> list[Fraction]:
    r"""Exact coefficients of :math:`P_{\ell_A}P_{\ell_0} - \sum_\ell (2\ell+1)(\ell_A\,\ell_0\,\ell;000)^2P_\ell`.

    All zero iff the product rule holds as a polynomial identity (not only at sample points).
    """
    residual = _poly_multiply(legendre_polynomial_coefficients(l_a), legendre_polynomial_coefficients(l_0))
    for ell in range(abs(l_a - l_0), l_a + l_0 + 1):
        weight = (2 * ell + 1) * _threej_zero_squared_fraction(l_a, l_0, ell)
        for power, coefficient in enumerate(legendre_polynomial_coefficients(ell)):
            residual[power] -= weight * coefficient
    return residual


def sum_rule(l_a: int, l_0: int) -> sp.Rational:
    r"""Exact :math:`\sum_\ell(2\ell+1)(\ell\,\ell_A\,\ell_0;000)^2` (docs/physics/mixing_ode.md#mixing-matrix: equals
    1; it is the product rule at
    :math:`x = 1`, where every :math:`P_\ell = 1`)."""
    total = sum(
        ((2 * ell + 1) * _threej_zero_squared_fraction(ell, l_a, l_0) for ell in range(abs(l_a - l_0), l_a + l_0 + 1)),
        Fraction(0),
    )
    return sp.Rational(total.numerator, total.denominator)


# ------------------------------------------------------------------------------------ angular-momentum operators
def unit_vectors():
    """Cartesian sympy symbols ``(A, B)`` (3-component Matrices) for the two directions of a pair."""
    a = sp.Matrix(sp.symbols("a1:4", real=True))
    b = sp.Matrix(sp.symbols("b1:4", real=True))
    return a, b


def angular_momentum(expression: sp.Expr, vector: sp.Matrix) -> sp.Matrix:
    r""":math:`\hat{\mathbf L}f = -i\,\mathbf r\times\nabla f` with respect to the Cartesian ``vector``.

    :math:`\mathbf r\times\nabla` is tangential to the sphere, so acting on any extension of a function on the
    sphere and then restricting to :math:`|\mathbf r| = 1` gives the spherical operator.
    """
    gradient = sp.Matrix([sp.diff(expression, component) for component in vector])
    return -sp.I * vector.cross(gradient)


def pair_operator_tensor(h: sp.Expr | None = None) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix, sp.Function]:
    r"""Matrix :math:`T_{ij} = \hat L_i^A\hat L_j^B h(\mathbf A\cdot\mathbf B)` computed by differentiation.

    Returns ``(T, A, B, h)`` with ``h`` a generic undefined sympy function unless one is given (as a callable
    ``h(x)``).
    """
    a, b = unit_vectors()
    if h is None:
        h = sp.Function("h")
    pair_function = h(a.dot(b))
    inner = angular_momentum(pair_function, b)
    tensor = sp.zeros(3, 3)
    for j in range(3):
        outer = angular_momentum(inner[j], a)
        for i in range(3):
            tensor[i, j] = outer[i]
    return tensor, a, b, h


def pair_tensor_formula(a: sp.Matrix, b: sp.Matrix, h) -> sp.Matrix:
    r"""The closed form of docs/physics/mixing_ode.md#mixing-matrix: :math:`h''(A\times B)_i(A\times B)_j -
    h'(\delta_{ij}x - B_iA_j)`."""
    x = sp.Symbol("x")
    first = sp.diff(h(x), x).subs(x, a.dot(b))
    second = sp.diff(h(x), x, 2).subs(x, a.dot(b))
    cross = a.cross(b)
    return second * cross * cross.T - first * (a.dot(b) * sp.eye(3) - b * a.T)


def pair_operator_contraction(h=None) -> tuple[sp.Expr, sp.Matrix, sp.Matrix, sp.Function]:
    r""":math:`\hat L^A\cdot\hat L^B h(\mathbf A\cdot\mathbf B)` (the trace of :func:`pair_operator_tensor`)."""
    tensor, a, b, h = pair_operator_tensor(h)
    return tensor.trace(), a, b, h


def total_rotation_annihilates(h=None) -> sp.Matrix:
    r""":math:`(\hat{\mathbf L}^A + \hat{\mathbf L}^B)h(\mathbf A\cdot\mathbf B)`, simplified
    (docs/physics/mixing_ode.md#mixing-matrix: zero)."""
    a, b = unit_vectors()
    if h is None:
        h = sp.Function("h")
    pair_function = h(a.dot(b))
    return sp.simplify(angular_momentum(pair_function, a) + angular_momentum(pair_function, b))


def legendre_operator_residual(ell: int) -> list[Fraction]:
    r"""Exact coefficients of :math:`(1-x^2)P_\ell'' - 2xP_\ell' + \ell(\ell+1)P_\ell` (zero: Legendre's equation).

    With :func:`pair_operator_contraction` this proves :math:`\hat L^A\cdot\hat L^B P_\ell = -\ell(\ell+1)P_\ell`
    on the unit sphere at any ℓ in exact arithmetic.
    """
    p = legendre_polynomial_coefficients(ell)
    residual = [Fraction(ell * (ell + 1)) * c for c in p]
    for power, c in enumerate(p):
        if power >= 1:
            residual[power] -= 2 * power * c  # -2x P'
        if power >= 2:
            residual[power - 2] += power * (power - 1) * c  # + P''
            residual[power] -= power * (power - 1) * c  # - x^2 P''
    return residual


def legendre_sympy(ell: int, x: sp.Symbol) -> sp.Expr:
    """:math:`P_\\ell(x)` as a sympy polynomial expression (exact rational coefficients)."""
    return sum(sp.Rational(c.numerator, c.denominator) * x**power
               for power, c in enumerate(legendre_polynomial_coefficients(ell)))

r"""Power-law pair rates, the exact untruncated steady state, and the :math:`\ell^{\beta-4}` tail
(docs/physics/mixing_ode.md#ode, docs/physics/pair_rates.md).

Equations derived here
----------------------
* **Pair-function form of (4.4).**  Summing :math:`F(x) = \sum_\ell\frac{2\ell+1}{4\pi}\langle C_\ell\rangle P_\ell(x)`
  over the rate equation with :math:`\Gamma_{\ell\ell_0} = (2\ell_0+1)\ell_0(\ell_0+1)\frac12\int kP_\ell P_{\ell_0}`
  and completeness :math:`\sum_\ell\frac{2\ell+1}2P_\ell(x)P_\ell(y) = \delta(x-y)` gives the local equation

  .. math:: \partial_tF = -k(x)\,\Delta F + \frac{3S}{4\pi}x,\qquad \Delta = \frac{d}{dx}(1-x^2)\frac{d}{dx}.

  In a steady state of every ℓ ≥ 1, :math:`\partial_tF = g` is a constant (the monopole's growth), so
  :math:`\Delta F = (\frac{3S}{4\pi}x - g)/k`; regularity of :math:`(1-x^2)F'` at both ends fixes
  :math:`g = \frac{3S}{4\pi}\int x/k\,/\int 1/k`.  Projecting with :math:`P_\ell` and using
  :math:`\Delta P_\ell = -\ell(\ell+1)P_\ell` (self-adjointness) gives, **with no truncation in ℓ**,

  .. math:: \langle C_\ell\rangle = -\frac{2\pi}{\ell(\ell+1)}\int_{-1}^{1}P_\ell(x)\,\frac{\frac{3S}{4\pi}x-g}{k(x)}dx,
            \qquad \ell\ge1.

  It needs :math:`1/k` integrable at x = 1, i.e. a rate non-analytic there (β < 2); an analytic k (β = 2, the toy
  model) makes it diverge logarithmically: the Batchelor cascade whose low ℓ drift with ℓmax
  (docs/physics/mixing_ode.md#ode).
  The truncated ODE (absorbing boundary at ℓmax) approaches it from below with a deficit
  :math:`\propto\ell_\max^{\beta-2}` (checked in the tests for β = 2/3, 1, 3/2): slowly for β → 2.
  Check: :math:`k \equiv -2D_s` (no pair correlation) gives :math:`C_1 = S/(4D_s)`, :math:`C_{\ell\ge2} = 0`.
* **Power-law rates** :math:`k(x) = -A\,u^{a}`, :math:`u = (1-x)/2`, :math:`a = \beta/2`.  With
  :math:`I(b,\ell) \equiv \int_{-1}^1u^bP_\ell\,dx = 2(-1)^\ell\Gamma(b+1)^2/[\Gamma(b+\ell+2)\Gamma(b+1-\ell)]`
  (Rodrigues' formula and ℓ integrations by parts; checked against quadrature), the Legendre coefficients are
  :math:`k_\ell = -A\frac{2\ell+1}2I(a,\ell)` and the untruncated steady state is

  .. math:: \langle C_\ell\rangle = \frac{3S}{2A\,\ell(\ell+1)}\Big[\frac{2-2a}{2-a}I(-a,\ell) - 2I(1-a,\ell)\Big].

* **Tail.**  :math:`|I(-a,\ell)|\propto\Gamma(\ell+a)/\Gamma(\ell-a+2)\sim\ell^{2a-2}` dominates, so
  :math:`C_\ell\propto\ell^{2a-4} = \ell^{\beta-4}` (:func:`tail_exponent_symbolic` takes the limit in sympy).
  The flat-sky version (Kraichnan passive scalar in 2D): :math:`(\theta F')' \propto -\theta^{1-\beta}` gives a
  structure function :math:`\propto\theta^{2-\beta}` and, by the scaling :math:`\theta\to u/\ell` of the 2D Fourier
  transform, :math:`C_\ell\propto\ell^{-(2-\beta)-2}`.
"""

from __future__ import annotations

from collections.abc import Callable

import mpmath as mp
import sympy as sp

__all__ = [
    "flat_sky_structure_exponent",
    "power_law_moment",
    "power_law_rate",
    "power_law_rate_coefficients",
    "power_law_steady_state",
    "steady_state_quadrature",
    "tail_exponent",
    "tail_exponent_symbolic",
]


def power_law_moment(b, ell: int):
    r""":math:`I(b,\ell) = \int_{-1}^1((1-x)/2)^bP_\ell(x)dx
    = 2(-1)^\ell\Gamma(b+1)^2/[\Gamma(b+\ell+2)\Gamma(b+1-\ell)]`.

    Valid for b > −1; :func:`mpmath.rgamma` handles the poles of :math:`\Gamma(b+1-\ell)` (integer b ≥ 0 and
    ℓ > b give exactly 0, as for a polynomial of degree b).
    """
    b = mp.mpf(b)
    sign = -1 if ell % 2 else 1
    return 2 * sign * mp.gamma(b + 1) ** 2 * mp.rgamma(b + ell + 2) * mp.rgamma(b + 1 - ell)


def power_law_rate(x, beta, amplitude=1):
    r""":math:`k(x) = -A((1-x)/2)^{\beta/2}`, the rate with :math:`-k\propto\theta^\beta` near x = 1
    (docs/physics/pair_rates.md)."""
    return -mp.mpf(amplitude) * ((1 - mp.mpf(x)) / 2) ** (mp.mpf(beta) / 2)


def power_law_rate_coefficients(lmax: int, beta, amplitude=1) -> list:
    r"""Exact plain Legendre coefficients :math:`k_\ell = -A\frac{2\ell+1}{2}I(\beta/2,\ell)`, ℓ = 0..lmax."""
    a = mp.mpf(beta) / 2
    return [-mp.mpf(amplitude) * (2 * ell + 1) * power_law_moment(a, ell) / 2 for ell in range(lmax + 1)]


def power_law_steady_state(ell: int, beta, amplitude, source):
    r"""Untruncated steady :math:`\langle C_\ell\rangle` (ℓ ≥ 1) for :math:`k = -A((1-x)/2)^{\beta/2}` (module doc)."""
    if ell < 1:
        raise ValueError("the monopole has no steady state")
    a = mp.mpf(beta) / 2
    if not 0 <= a < 1:
        raise ValueError("beta must lie in [0, 2) for 1/k to be integrable at x = 1")
    bracket = (2 - 2 * a) / (2 - a) * power_law_moment(-a, ell) - 2 * power_law_moment(1 - a, ell)
    return 3 * mp.mpf(source) / (2 * mp.mpf(amplitude) * ell * (ell + 1)) * bracket


def steady_state_quadrature(ell: int, rate_of_separation: Callable, source, *, endpoint_power: int = 8):
    r"""Untruncated steady :math:`\langle C_\ell\rangle` for any rate with integrable 1/k, by mpmath quadrature.

    ``rate_of_separation(u)`` is :math:`k` as a function of :math:`u = (1-x)/2 = \sin^2(\theta/2)\in[0,1]`, so a
    singularity at x = 1 is evaluated without the cancellation in 1 − x.  The substitution :math:`u = v^m`
    (m = ``endpoint_power``) makes an integrand :math:`\propto u^{-a}` with :math:`a\le1-1/m` bounded, and
    tanh-sinh then keeps full working precision.
    """
    strength = 3 * mp.mpf(source) / (4 * mp.pi)
    power = endpoint_power

    def integral(function):
        # ∫_{-1}^{1} dx f(x) = ∫_0^1 2 du f(1 - 2u) = ∫_0^1 2 m v^{m-1} f(1 - 2 v^m) dv
        def substituted(v):
            u = v**power
            return function(1 - 2 * u, u) * 2 * power * v ** (power - 1)

        return mp.quad(substituted, [0, (mp.mpf(1) / 2) ** (mp.mpf(1) / power), 1])

    inverse = integral(lambda x, u: 1 / rate_of_separation(u))
    growth = strength * integral(lambda x, u: x / rate_of_separation(u)) / inverse
    projection = integral(lambda x, u: mp.legendre(ell, x) * (strength * x - growth) / rate_of_separation(u))
    return -2 * mp.pi / (ell * (ell + 1)) * projection


def tail_exponent(beta):
    r"""Predicted inertial-range exponent of :math:`\langle C_\ell\rangle\propto\ell^{\beta-4}`
    (docs/physics/pair_rates.md)."""
    return beta - 4


def tail_exponent_symbolic() -> sp.Expr:
    r""":math:`\lim_{\ell\to\infty}\ell\,d\ln C_\ell/d\ell` of the closed form, in sympy, for symbolic 0 < a < 1.

    Uses the dominant term :math:`\Gamma(\ell+a)/\Gamma(\ell-a+2)` of :math:`|I(-a,\ell)|/\ell(\ell+1)` (the
    :math:`I(1-a,\ell)` term decays two powers faster); returns the exponent as an expression in β = 2a.
    """
    ell = sp.Symbol("ell", positive=True)
    a = sp.Symbol("a", positive=True)
    beta = sp.Symbol("beta", positive=True)
    magnitude = sp.gamma(ell + a) / sp.gamma(ell - a + 2) / (ell * (ell + 1))
    log_derivative = ell * sp.diff(sp.log(magnitude), ell)
    log_derivative = log_derivative.rewrite(sp.polygamma)
    exponent = sp.limit(sp.expand_func(log_derivative), ell, sp.oo)
    return sp.simplify(exponent.subs(a, beta / 2))


def flat_sky_structure_exponent() -> sp.Expr:
    r"""Exponent s of :math:`F(0)-F(\theta)\propto\theta^s` from :math:`\frac1\theta(\theta F')' = -c\,\theta^{-\beta}`
    (flat-sky steady state with relative diffusivity :math:`\propto\theta^\beta`), solved by sympy's ``dsolve``."""
    theta, beta, c = sp.symbols("theta beta c", positive=True)
    f = sp.Function("F")
    equation = sp.Eq(sp.diff(theta * sp.diff(f(theta), theta), theta), -c * theta ** (1 - beta))
    solution = sp.dsolve(equation, f(theta)).rhs
    # the regular solution at θ = 0 drops the log term; keep the particular power
    particular = solution.subs({sp.Symbol("C1"): 0, sp.Symbol("C2"): 0})
    return sp.simplify(theta * sp.diff(particular, theta) / particular)

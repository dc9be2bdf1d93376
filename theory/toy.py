r"""The white-noise rotation toy model (docs/physics/toy_model.md#toy-model): rate function, Legendre series, source,
limits.

Equations derived or checked here
---------------------------------
* Rate function.  With :math:`\langle\delta\Omega_i(A,t)\delta\Omega_j(B,t')\rangle = 2D_s c(A\cdot B)\delta_{ij}
  \delta(t-t')`, the correlation integral of docs/physics/mixing_ode.md#mixing-matrix, eq. (4.2) is :math:`\tilde
  c(x;\Delta t) = \frac13\cdot 3\cdot
  2D_s c(x)\Delta t`, so :math:`k(x) = [\tilde c(x)-\tilde c(1)]/\Delta t = 2D_s(c(x)-1)` with
  :math:`c(x) = e^{-\kappa_c(1-x)}` (:func:`toy_rate_symbolic`).
* Legendre coefficients (Funk-Hecke / plane-wave expansion :math:`e^{\kappa x} = \sum_\ell(2\ell+1)i_\ell(\kappa)
  P_\ell(x)`)::

      k_l = 2 D_s [exp(-kappa_c) (2l+1) i_l(kappa_c) - delta_l0],   i_l(z) = sqrt(pi/(2z)) I_{l+1/2}(z)

  :func:`funk_hecke_residual` proves :math:`\frac12\int_{-1}^1 e^{\kappa x}P_\ell\,dx = i_\ell(\kappa)` symbolically
  (sympy, in closed elementary form, generic κ) for small ℓ; :func:`toy_legendre_coefficients` evaluates the Bessel
  form in mpmath and :func:`toy_legendre_coefficients_quadrature` the defining integral, independently.
* Source and limits (docs/physics/mixing_ode.md#ode, docs/physics/toy_model.md#toy-model): :math:`\nu_1 = 2D_s`,
  :math:`K = v^2/(3\nu_1)`,
  :math:`S(T) = \frac{8\pi}{3}K|G|^2(1-e^{-\nu_1T})`; without pair correlations the steady dipole is
  :math:`C_1 = S/(4D_s) = 4\pi K^2|G|^2/v^2` (:func:`uncorrelated_dipole`), checked symbolically against
  :func:`theory.transport.dipole_power_symbolic`.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

__all__ = [
    "funk_hecke_residual",
    "modified_spherical_bessel_i",
    "toy_diffusion_coefficient",
    "toy_legendre_coefficients",
    "toy_legendre_coefficients_quadrature",
    "toy_rate",
    "toy_rate_symbolic",
    "toy_source",
    "uncorrelated_dipole",
]


def toy_rate_symbolic():
    r"""Derive :math:`k(x)` from the white-noise covariance (module doc); returns ``(k_expr, symbols)``.

    ``symbols`` is a dict with ``x, D_s, kappa_c, dt``; the derivation integrates the delta-correlated covariance
    over the window :math:`[t_0, t_0+\Delta t]^2` explicitly.
    """
    x, d_s, kappa_c, dt, t1, t2 = sp.symbols("x D_s kappa_c Delta_t t_1 t_2", positive=True)
    correlation = sp.exp(-kappa_c * (1 - x))
    # trace of 2 D_s c delta_ij delta(t1 - t2) is 3 * 2 D_s c delta(t1 - t2); 1/3 from the isotropic closure
    integrand = sp.Rational(1, 3) * 3 * 2 * d_s * correlation * sp.DiracDelta(t1 - t2)
    c_tilde = sp.integrate(sp.integrate(integrand, (t2, 0, dt)), (t1, 0, dt))
    rate = sp.simplify((c_tilde - c_tilde.subs(x, 1)) / dt)
    return rate, {"x": x, "D_s": d_s, "kappa_c": kappa_c, "dt": dt}


def toy_rate(x, D_s, kappa_c):
    r""":math:`k(x) = 2D_s(e^{-\kappa_c(1-x)}-1)` in mpmath (docs/physics/toy_model.md#toy-model)."""
    return 2 * mp.mpf(D_s) * mp.expm1(-mp.mpf(kappa_c) * (1 - mp.mpf(x)))


def modified_spherical_bessel_i(ell: int, z):
    r""":math:`i_\ell(z) = \sqrt{\pi/(2z)}\,I_{\ell+1/2}(z)` (mpmath; :math:`i_\ell(0) = \delta_{\ell0}`)."""
    z = mp.mpf(z)
    if z == 0:
        return mp.mpf(1) if ell == 0 else mp.mpf(0)
    return mp.sqrt(mp.pi / (2 * z)) * mp.besseli(ell + mp.mpf(1) / 2, z)


def toy_legendre_coefficients(lmax: int, D_s, kappa_c) -> list:
    r"""Closed form :math:`k_\ell = 2D_s[e^{-\kappa_c}(2\ell+1)i_\ell(\kappa_c)-\delta_{\ell0}]`, ℓ = 0..lmax
    (mpmath)."""
    d_s, kappa = mp.mpf(D_s), mp.mpf(kappa_c)
    coefficients = [2 * d_s * mp.exp(-kappa) * (2 * ell + 1) * modified_spherical_bessel_i(ell, kappa)
                    for ell in range(lmax + 1)]
    coefficients[0] -= 2 * d_s
    return coefficients


def toy_legendre_coefficients_quadrature(lmax: int, D_s, kappa_c) -> list:
    r"""The defining integral :math:`k_\ell = \frac{2\ell+1}{2}\int_{-1}^1k(x)P_\ell(x)\,dx` by mpmath quadrature."""
    return [(2 * ell + 1) * mp.quad(lambda x, ell=ell: toy_rate(x, D_s, kappa_c) * mp.legendre(ell, x), [-1, 0, 1]) / 2
            for ell in range(lmax + 1)]


def funk_hecke_residual(ell: int) -> sp.Expr:
    r""":math:`\frac12\int_{-1}^1e^{\kappa x}P_\ell(x)dx - i_\ell(\kappa)` simplified, for symbolic κ > 0.

    :math:`i_\ell(\kappa) = i^{-\ell}j_\ell(i\kappa)` is taken from sympy's elementary closed form of the spherical
    Bessel function :math:`j_\ell` (sin/cos polynomials, independent of the integral), so a zero result proves the
    series :math:`e^{\kappa x} = \sum(2\ell+1)i_\ell(\kappa)P_\ell(x)` coefficient by coefficient.
    """
    x = sp.Symbol("x", real=True)
    kappa = sp.Symbol("kappa", positive=True)
    integral = sp.integrate(sp.exp(kappa * x) * sp.legendre(ell, x), (x, -1, 1)) / 2
    bessel = sp.I ** (-ell) * sp.expand_func(sp.jn(ell, sp.I * kappa))
    return sp.simplify(sp.expand((integral - bessel).rewrite(sp.exp)))


def toy_diffusion_coefficient(D_s, v=1):
    r"""Spatial diffusion coefficient :math:`K = v^2/(3\nu_1)`, dipole rate :math:`\nu_1 = 2D_s`
    (docs/physics/mixing_ode.md#ode)."""
    return mp.mpf(v) ** 2 / (3 * 2 * mp.mpf(D_s))


def toy_source(T, D_s, v=1, G=1):
    r""":math:`S(T) = \frac{8\pi}{3}K|G|^2(1-e^{-\nu_1T})` for backtracking from f = 0
    (docs/physics/toy_model.md#toy-model)."""
    nu_1 = 2 * mp.mpf(D_s)
    return 8 * mp.pi / 3 * toy_diffusion_coefficient(D_s, v) * mp.mpf(G) ** 2 * (-mp.expm1(-nu_1 * mp.mpf(T)))


def uncorrelated_dipole(D_s, v=1, G=1):
    r"""Steady :math:`C_1 = S/(4D_s)` without pair correlations (Γ = −2D_s ℓ(ℓ+1) on the diagonal,
    docs/physics/mixing_ode.md#rate-matrix).

    Equals :math:`4\pi K^2|G|^2/v^2` (docs/physics/source.md#diffusive-dipole).
    """
    source = 8 * mp.pi / 3 * toy_diffusion_coefficient(D_s, v) * mp.mpf(G) ** 2
    return source / (4 * mp.mpf(D_s))

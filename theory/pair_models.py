r"""Direct high-precision evaluation of the physical pair-rate integrals, ``PHYSICS.md`` eqs. (4.6) and (4.7).

Equations evaluated
-------------------
Units: time in :math:`1/\Omega`, lengths in :math:`L_c`, so :math:`v = \rho = r_g/L_c`; :math:`T = \Omega\Delta T`.

* **Slab with B0** (4.6), :math:`\delta\Omega^2 = \eta\Omega^2`, :math:`w = \Omega_0/\Omega = \sqrt{1-\eta}`,
  :math:`R(\Delta z) = \sum_nf_n\cos(k_n\Delta z)`::

      c(x) = (eta/3) ∫_0^T ∫_0^T ds1 ds2 cos[w(s1-s2)] < R(rho (mu_B s2 - mu_A s1)) >_x

  Per mode the double integral is elementary: :math:`\cos\alpha\cos\beta = \frac12[\cos(\alpha+\beta)+
  \cos(\alpha-\beta)]` and :math:`\int_0^T\!\int_0^T\cos(ps_1+qs_2) = \mathrm{Re}[E(p)E(q)]`,
  :math:`E(p) = \int_0^Te^{ips}ds`.  The orientation average at fixed x (A uniform, B on the cone,
  :math:`\mu_B = \mu_Ax + \sqrt{1-\mu_A^2}\sqrt{1-x^2}\cos\psi`) is done by 2D mpmath quadrature over
  :math:`(\mu_A,\psi)`, **not** by the addition theorem used in :mod:`anisotropy.pair_rates`, so the two are
  independent.
* **Isotropic, B0 = 0, ballistic** (4.7), :math:`\delta\Omega = \Omega`, :math:`R(r) = \sum_nf_n\sin(k_nr)/(k_nr)`::

      c(x) = (1/3) ∫_0^T ∫_0^T ds1 ds2 R(rho sqrt(s1² + s2² - 2 s1 s2 x))

  by 2D mpmath quadrature.
* In both, :math:`k(x) = [\tilde c(x)-\tilde c(1)]/T`.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath as mp

__all__ = ["isotropic_pair_integral", "isotropic_pair_rate", "slab_pair_integral", "slab_pair_rate"]


def _window_exponential(p, duration):
    """E(p) = ∫_0^T exp(i p s) ds, with the p → 0 limit T."""
    if abs(p) < mp.mpf(10) ** (-mp.mp.dps // 2):
        return mp.mpc(duration) + 1j * p * duration**2 / 2
    return (mp.expj(p * duration) - 1) / (1j * p)


def _slab_mode_double_integral(scaled_wavenumber, mu_a, mu_b, gyration, duration):
    a, w = scaled_wavenumber, gyration
    first = _window_exponential(w - a * mu_a, duration) * _window_exponential(a * mu_b - w, duration)
    second = _window_exponential(w + a * mu_a, duration) * _window_exponential(-(w + a * mu_b), duration)
    return (first + second).real / 2


def slab_pair_integral(x, wavenumbers: Sequence, power_fraction: Sequence, reduced_rigidity, eta, pair_time):
    r""":math:`\tilde c(x;\Delta T)` of eq. (4.6) in units of :math:`\Omega` (module doc), mpmath quadrature."""
    x, rho, eta, duration = mp.mpf(x), mp.mpf(reduced_rigidity), mp.mpf(eta), mp.mpf(pair_time)
    gyration = mp.sqrt(1 - eta)
    modes = [(mp.mpf(k) * rho, mp.mpf(f)) for k, f in zip(wavenumbers, power_fraction)]

    def correlation(mu_a, mu_b):
        return sum(f * _slab_mode_double_integral(a, mu_a, mu_b, gyration, duration) for a, f in modes)

    # μ_A = cos θ makes sqrt(1 − μ_A²) = sin θ smooth, so Gauss-Legendre converges exponentially in (θ, ψ)
    if x == 1:
        average = mp.quad(lambda theta: correlation(mp.cos(theta), mp.cos(theta)) * mp.sin(theta), [0, mp.pi],
                          method="gauss-legendre") / 2
    else:
        sine = mp.sqrt(1 - x**2)

        def integrand(theta, psi):
            mu_a = mp.cos(theta)
            mu_b = mu_a * x + mp.sin(theta) * sine * mp.cos(psi)
            return correlation(mu_a, mu_b) * mp.sin(theta)

        # ψ ↦ −ψ symmetry: average over [0, π]
        average = mp.quad(integrand, [0, mp.pi], [0, mp.pi], method="gauss-legendre") / (2 * mp.pi)
    return eta / 3 * average


def slab_pair_rate(x, wavenumbers, power_fraction, reduced_rigidity, eta, pair_time):
    r""":math:`k(x) = [\tilde c(x)-\tilde c(1)]/T` for eq. (4.6)."""
    arguments = (wavenumbers, power_fraction, reduced_rigidity, eta, pair_time)
    return (slab_pair_integral(x, *arguments) - slab_pair_integral(1, *arguments)) / mp.mpf(pair_time)


def isotropic_pair_integral(x, wavenumbers: Sequence, power_fraction: Sequence, reduced_rigidity, pair_time):
    r""":math:`\tilde c(x;\Delta T)` of eq. (4.7) in units of :math:`\Omega`, 2D mpmath quadrature over (s1, s2)."""
    x, rho, duration = mp.mpf(x), mp.mpf(reduced_rigidity), mp.mpf(pair_time)
    modes = [(mp.mpf(k), mp.mpf(f)) for k, f in zip(wavenumbers, power_fraction)]

    def correlation(s1, s2):
        distance = rho * mp.sqrt(max(s1**2 + s2**2 - 2 * s1 * s2 * x, 0))
        return sum(f * mp.sinc(k * distance) for k, f in modes)

    # sinc(kr) is an entire function of r² = s1² + s2² − 2 s1 s2 x, so Gauss-Legendre converges exponentially
    return mp.quad(correlation, [0, duration], [0, duration], method="gauss-legendre") / 3


def isotropic_pair_rate(x, wavenumbers, power_fraction, reduced_rigidity, pair_time):
    r""":math:`k(x) = [\tilde c(x)-\tilde c(1)]/T` for eq. (4.7)."""
    arguments = (wavenumbers, power_fraction, reduced_rigidity, pair_time)
    return (isotropic_pair_integral(x, *arguments) - isotropic_pair_integral(1, *arguments)) / mp.mpf(pair_time)

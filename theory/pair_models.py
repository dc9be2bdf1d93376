r"""Direct high-precision evaluation of the physical pair-rate integrals, docs/physics/pair_rates.md#slab-pair-rate, eq.
(4.6), docs/physics/pair_rates.md#isotropic-pair-rate, eq. (4.7).

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
* **Isotropic with B0** (:meth:`anisotropy.pair_rates.PairRate.isotropic` with ``eta < 1``),
  :func:`isotropic_regular_field_pair_integral`: plain numpy/scipy Gauss quadrature of the definition

      c(x) = (1/3) ∫_0^T ∫_0^T ds1 ds2 < δΩ_I^A(s1) · δΩ_I^B(s2) >_x

  written out with nothing precomputed in closed form: the orbits :math:`\mathbf r(s) = -\rho\int_0^s
  R_z(ws')\hat p\,ds'` integrated by Gauss quadrature with explicit rotation matrices; the correlation tensor of
  the simulator's plane waves averaged explicitly over the wave direction (Gauss in cos, trapezoid in azimuth) and
  the polarisation, :math:`\langle\delta B_i\delta B_j\rangle = \sum_n\eta f_n\langle\tfrac12(\hat e_\theta
  \hat e_\theta+\hat e_\phi\hat e_\phi)_{ij}\cos(k_n\hat\kappa\cdot\Delta\mathbf r)\rangle_{\hat\kappa}`;
  the interaction picture as the explicit matrix product :math:`\delta\boldsymbol\Omega^A\cdot
  R_z(ws_1)R_z(-ws_2)\,\delta\boldsymbol\Omega^B`; and the orientation average over :math:`\mu_A`
  (Gauss on [-1, 1]), the azimuth ψ of B around A and a fixed, arbitrary gyrophase of A (the fast model assumes
  the axial symmetry instead).  No Bessel-function tensor, no chord formula, no symmetry halving.
* In all, :math:`k(x) = [\tilde c(x)-\tilde c(1)]/T`.
"""

from __future__ import annotations

from collections.abc import Sequence

import mpmath as mp
import numpy as np
from scipy import special

__all__ = [
    "isotropic_pair_integral",
    "isotropic_pair_rate",
    "isotropic_regular_field_pair_integral",
    "slab_pair_integral",
    "slab_pair_rate",
]


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


def _rotation_z(angles):
    """Stack of 3×3 rotation matrices about z by ``angles`` (counter-clockwise)."""
    angles = np.asarray(angles, dtype=float)
    cosine, sine = np.cos(angles), np.sin(angles)
    matrices = np.zeros((*angles.shape, 3, 3))
    matrices[..., 0, 0], matrices[..., 0, 1] = cosine, -sine
    matrices[..., 1, 0], matrices[..., 1, 1] = sine, cosine
    matrices[..., 2, 2] = 1.0
    return matrices


def isotropic_regular_field_pair_integral(x, wavenumbers, power_fraction, reduced_rigidity, eta, pair_time, *,
                                          time_nodes: int = 20, orbit_nodes: int = 16, polar_nodes: int = 16,
                                          azimuth_nodes: int = 16, wave_polar_nodes: int = 20,
                                          wave_azimuth_nodes: int = 24, gyrophase: float = 0.7) -> float:
    r""":math:`\tilde c(x;\Delta T)` of isotropic plane waves plus :math:`B_0\hat z` by brute force (module doc).

    Units :math:`\Omega = 1`, lengths :math:`L_c`, :math:`v = \rho`; :math:`w = \sqrt{1-\eta}`,
    :math:`\delta\boldsymbol\Omega = \delta\mathbf B` in units of :math:`B_\mathrm{tot}`.  Exponentially
    convergent for a few modes with :math:`k_\max\rho\Delta T` up to ~10 (every integrand is then an entire function
    of few oscillations); the node counts are the arguments.
    """
    x, rho, eta, duration = float(x), float(reduced_rigidity), float(eta), float(pair_time)
    gyration = np.sqrt(1.0 - eta)
    nodes, weights = special.roots_legendre(time_nodes)
    times = 0.5 * duration * (nodes + 1.0)
    time_weights = 0.5 * duration * weights

    # orbits: r(s) = -ρ ∫_0^s R_z(w s') p̂ ds', Gauss on [0, s] for every s
    sub_nodes, sub_weights = special.roots_legendre(orbit_nodes)
    sub_times = 0.5 * times[:, None] * (sub_nodes[None, :] + 1.0)
    sub_weights = 0.5 * times[:, None] * sub_weights[None, :]
    # ∫_0^s R_z(w s') ds' as a matrix, per s
    displacement_operator = -rho * np.einsum("sk,skij->sij", sub_weights, _rotation_z(gyration * sub_times))

    # orientation average at fixed x: μ_A Gauss, A at a fixed gyrophase, ψ uniform (trapezoid, periodic)
    mu_nodes, mu_weights = special.roots_legendre(polar_nodes)
    psi = 2.0 * np.pi * np.arange(azimuth_nodes) / azimuth_nodes
    directions_a, directions_b, orientation_weights = [], [], []
    for mu, mu_weight in zip(mu_nodes, mu_weights):
        perp = np.sqrt(1.0 - mu * mu)
        a = np.array([perp * np.cos(gyrophase), perp * np.sin(gyrophase), mu])
        first = np.array([mu * np.cos(gyrophase), mu * np.sin(gyrophase), -perp])  # ∂A/∂θ
        second = np.cross(a, first)
        for angle in psi:
            b = x * a + np.sqrt(max(0.0, 1.0 - x * x)) * (np.cos(angle) * first + np.sin(angle) * second)
            directions_a.append(a)
            directions_b.append(b)
            orientation_weights.append(0.5 * mu_weight / azimuth_nodes)
    directions_a, directions_b = np.array(directions_a), np.array(directions_b)
    orientation_weights = np.array(orientation_weights)

    # positions r_A(s1) - r_B(s2): (orientation, s1, s2, 3)
    positions_a = np.einsum("sij,oj->osi", displacement_operator, directions_a)
    positions_b = np.einsum("sij,oj->osi", displacement_operator, directions_b)
    separation = positions_a[:, :, None, :] - positions_b[:, None, :, :]

    # interaction picture: δΩ_A · R_z(w s1) R_z(-w s2) δΩ_B, contracted with the tensor of each wave direction
    contraction = _rotation_z(gyration * (times[:, None] - times[None, :]))  # (s1, s2, 3, 3)

    wave_nodes, wave_weights = special.roots_legendre(wave_polar_nodes)
    wave_azimuths = 2.0 * np.pi * np.arange(wave_azimuth_nodes) / wave_azimuth_nodes
    pair_weights = time_weights[:, None] * time_weights[None, :]
    total = 0.0
    for cos_theta, wave_weight in zip(wave_nodes, wave_weights):
        sin_theta = np.sqrt(1.0 - cos_theta**2)
        for azimuth in wave_azimuths:
            direction = np.array([sin_theta * np.cos(azimuth), sin_theta * np.sin(azimuth), cos_theta])
            e_theta = np.array([cos_theta * np.cos(azimuth), cos_theta * np.sin(azimuth), -sin_theta])
            e_phi = np.array([-np.sin(azimuth), np.cos(azimuth), 0.0])
            # polarisation average of ξ_i ξ_j for ξ = cos α e_θ + sin α e_φ, α uniform
            polarisation = 0.5 * (np.outer(e_theta, e_theta) + np.outer(e_phi, e_phi))
            rotated = np.einsum("abij,ij->ab", contraction, polarisation)  # (s1, s2)
            phase = separation @ direction  # (orientation, s1, s2)
            # A_n² ⟨cos(k κ̂·r_A + β) cos(k κ̂·r_B + β)⟩_β = 2η f_n · ½ cos(k κ̂·Δr)
            modes = sum(eta * fraction * np.cos(wavenumber * phase)
                        for wavenumber, fraction in zip(wavenumbers, power_fraction))
            weight = 0.5 * wave_weight / wave_azimuth_nodes
            total += weight * float(np.einsum("o,oab,ab->", orientation_weights, modes, rotated * pair_weights))
    return total / 3.0

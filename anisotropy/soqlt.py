r"""Resonance-broadened slab pitch-angle diffusion: second-order quasi-linear theory (SOQLT).

Slab QLT lets a particle resonate with one wavenumber, :math:`k_\mathrm{res} = 1/(r_{g,0}|\mu|)`, because it moves
along :math:`\mathbf B_0` at the fixed speed :math:`v\mu`.  Its :math:`D_{\mu\mu}\propto|\mu|^{q-1}` therefore
vanishes at 90° (the "resonance gap").  In the turbulent field the particle gyrates about the local field, tilted
from :math:`\mathbf B_0` by :math:`\delta\mathbf B_\perp/B_0`, so its speed along :math:`\mathbf B_0` carries a
random part :math:`\delta v_\parallel = v\sqrt{1-\mu^2}\,\hat e(\phi)\cdot\delta\mathbf B_\perp/B_0` of variance
(docs/physics/pitch_angle.md, eq. PA.3)

.. math:: \sigma_\mu^2 \equiv \frac{\langle\delta v_\parallel^2\rangle}{v^2}
          = \frac{1-\mu^2}{2}\,\frac{\delta B^2}{B_0^2}.

Treating it as a Gaussian offset that stays fixed over a resonance time (the model of second-order quasi-linear
theory, Shalchi 2005, Phys. Plasmas 12, 052905), the resonance function :math:`\pi\delta(kv\mu\pm\Omega_0)` becomes
a Gaussian of width :math:`|k|v\sigma_\mu` (eq. PA.4) and, with :math:`u = 1/(k r_{g,0})`, the slab coefficient
becomes QLT's with :math:`|\mu|^{q-1}` smoothed over :math:`\mu\to\mu+\sigma_\mu Z`, :math:`Z\sim N(0,1)`
(eq. PA.5):

.. math:: D_{\mu\mu} = \frac{\pi}{4}(q-1)\,\Omega_0\frac{\delta B^2}{B_0^2}(k_\min r_{g,0})^{q-1}(1-\mu^2)\;
          \int_{u_\min}^{u_\max}u^{q-1}\,\frac{\varphi\big(\tfrac{u-\mu}{\sigma_\mu}\big)
          + \varphi\big(\tfrac{u+\mu}{\sigma_\mu}\big)}{\sigma_\mu}\,du,

:math:`\varphi` the standard normal density and :math:`[u_\min, u_\max] = [1/(k_\max r_{g,0}), 1/(k_\min r_{g,0})]`
the turbulence's wavenumber range.  As :math:`\delta B/B_0\to0` it is QLT
(:func:`anisotropy.transport.pitch_angle_diffusion`) for :math:`u_\min < |\mu| < u_\max`; at 90° it is finite.
Nothing is fitted: the width follows from :math:`\eta` alone.

:func:`pitch_angle_diffusion` gives :math:`D_{\mu\mu}/\Omega`; :func:`parallel_diffusion` the
:math:`\kappa_\parallel = \frac{v^2}{8}\int(1-\mu^2)^2/D_{\mu\mu}\,d\mu` of the same pitch-angle picture
(Hasselmann & Wibberenz 1968; Earl 1974); :func:`omega_scattering_time` :math:`\Omega\tau_s = 3\kappa_\parallel
\Omega/v^2`.  The simulator's measurement against both theories is docs/validation/pitch_angle.md.

Examples
--------
>>> from anisotropy import Turbulence, soqlt, transport
>>> turbulence = Turbulence("slab", 1e-6, 0.01)       # weak turbulence: SOQLT -> QLT away from 90 deg
>>> broadened = soqlt.pitch_angle_diffusion(0.5, 0.1, turbulence)
>>> quasilinear = transport.pitch_angle_diffusion(0.5, 0.1, turbulence=turbulence)
>>> bool(abs(broadened / quasilinear - 1) < 1e-5)
True
>>> float(soqlt.pitch_angle_diffusion(0.0, 0.1, turbulence))   # 90 deg lies below u_min: no resonant mode
0.0
>>> bool(soqlt.pitch_angle_diffusion(0.0, 0.1, Turbulence("slab", 0.1, 0.01)) > 0)  # broadened into the gap
True
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import integrate, special

from .errors import ParameterError, require_range
from .transport import minimum_wavenumber
from .turbulence import Turbulence

__all__ = ["broadening_width", "omega_scattering_time", "parallel_diffusion", "pitch_angle_diffusion"]

#: the Gaussian offsets beyond this many widths are dropped: their weight, erfc(12/√2) ≈ 4e-33, is below rounding
_GAUSSIAN_REACH = 12.0
#: quadrature panels across the Gaussians' reach and nodes per panel (panels of at most half a width): the smoothed
#: power matches the hypergeometric closed form and mpmath to < 1e-10 relative (tests/anisotropy/test_soqlt.py)
_PANELS = 48
_NODES_PER_PANEL = 8
#: relative accuracy of the κ∥ quadrature
_QUAD_RELATIVE = 1e-9


def _check(reduced_rigidity, turbulence) -> tuple[float, Turbulence]:
    if not isinstance(turbulence, Turbulence):
        raise ParameterError("turbulence", f"expected a Turbulence, got {type(turbulence).__name__}")
    if turbulence.kind != "slab":
        raise ParameterError("turbulence", f"SOQLT here is the slab theory; got kind {turbulence.kind!r}")
    if not 1.0 < turbulence.spectral_index < 2.0:
        raise ParameterError("turbulence", f"spectral_index must lie in (1, 2), got {turbulence.spectral_index:g}")
    reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    return reduced_rigidity, turbulence


def broadening_width(mu, eta: float):
    r""":math:`\sigma_\mu = \sqrt{(1-\mu^2)\,\delta B^2/(2B_0^2)}` (eq. PA.3), :math:`\delta B^2/B_0^2 = \eta/(1-\eta)`.

    Examples
    --------
    >>> float(broadening_width(0.0, 0.5))  # δB = B0: sqrt(1/2)
    0.7071067811865476
    """
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
    mu = np.asarray(mu, dtype=float)
    return np.sqrt(np.clip(1.0 - mu**2, 0.0, None) * eta / (2.0 * (1.0 - eta)))


_LEGENDRE_NODES, _LEGENDRE_WEIGHTS = special.roots_legendre(_NODES_PER_PANEL)


def _gaussian_pair(u, centre: float, sigma: float) -> np.ndarray:
    # [φ((u-μ)/σ) + φ((u+μ)/σ)]/σ: even in u, so u^p times it has only the |u|^p kink at u = 0
    return (np.exp(-0.5 * ((u - centre) / sigma) ** 2)
            + np.exp(-0.5 * ((u + centre) / sigma) ** 2)) / (sigma * math.sqrt(2.0 * math.pi))


def _weighted_pair(exponent: float, centre: float, sigma: float):
    return lambda u: u**exponent * _gaussian_pair(u, centre, sigma)


def _legendre_panels(start: float, stop: float, panels: int, integrand) -> float:
    edges = np.linspace(start, stop, panels + 1)
    half = 0.5 * np.diff(edges)
    points = (0.5 * (edges[1:] + edges[:-1]))[:, None] + half[:, None] * _LEGENDRE_NODES[None, :]
    return float(np.sum(half[:, None] * _LEGENDRE_WEIGHTS[None, :] * integrand(points)))


@lru_cache(maxsize=8)
def _jacobi_rule(exponent: float) -> tuple[np.ndarray, np.ndarray]:
    # Gauss-Jacobi nodes for the weight (1 + t)^p on [-1, 1]: computed once per spectral index, not per μ
    return special.roots_jacobi(_NODES_PER_PANEL, 0.0, exponent)


def _from_zero(stop: float, panel: float, exponent: float, centre: float, sigma: float) -> float:
    # ∫_0^stop u^p g(u) du: Gauss-Jacobi (weight u^p, exact for the kink) on the first panel, Legendre beyond
    first = min(stop, panel)
    jacobi_nodes, jacobi_weights = _jacobi_rule(exponent)
    nodes = 0.5 * first * (1.0 + jacobi_nodes)
    total = (0.5 * first) ** (exponent + 1.0) * float(np.sum(jacobi_weights * _gaussian_pair(nodes, centre, sigma)))
    if stop > first:
        panels = max(1, math.ceil((stop - first) / panel))
        total += _legendre_panels(first, stop, panels, _weighted_pair(exponent, centre, sigma))
    return total


def _smoothed_power(mu, width, exponent: float, low: float, high: float) -> np.ndarray:
    r""":math:`\int_{low}^{high}u^{p}[\varphi((u-\mu)/\sigma) + \varphi((u+\mu)/\sigma)]/\sigma\,du` (eq. PA.5).

    Composite Gauss-Legendre on panels of at most half a width over the Gaussians' reach (±_GAUSSIAN_REACH widths)
    clipped to [low, high]; where that range comes within a panel of u = 0 the integral is taken from 0 (minus the
    part below ``low``) with a Gauss-Jacobi rule for the :math:`u^p` kink on the first panel.  ``width`` 0 gives the
    limit :math:`|\mu|^p` on [low, high].
    """
    mu, width = np.broadcast_arrays(np.asarray(mu, dtype=float), np.asarray(width, dtype=float))
    result = np.empty(mu.shape)
    flat_result = result.ravel()
    for index, (centre, sigma) in enumerate(zip(np.abs(mu.ravel()), width.ravel())):
        if sigma == 0.0:
            flat_result[index] = centre**exponent if low <= centre <= high else 0.0
            continue
        bottom = max(low, centre - _GAUSSIAN_REACH * sigma, 0.0)
        top = min(high, centre + _GAUSSIAN_REACH * sigma)
        if top <= bottom:
            flat_result[index] = 0.0
            continue
        panel = (top - bottom) / _PANELS
        if bottom < panel:
            value = _from_zero(top, panel, exponent, centre, sigma)
            if bottom > 0.0:
                value -= _from_zero(bottom, panel, exponent, centre, sigma)
        else:
            value = _legendre_panels(bottom, top, _PANELS, _weighted_pair(exponent, centre, sigma))
        flat_result[index] = value
    return result


def pitch_angle_diffusion(mu, reduced_rigidity: float, turbulence: Turbulence):
    r"""SOQLT slab pitch-angle diffusion coefficient :math:`D_{\mu\mu}/\Omega` (eq. PA.5).

    Parameters
    ----------
    mu : array_like
        Pitch-angle cosine relative to :math:`\mathbf B_0`, in [-1, 1].
    reduced_rigidity : float
        :math:`\rho = r_g/L_c` with :math:`r_g` in the total field.
    turbulence : Turbulence
        Slab; its η sets both the power and the broadening, its :math:`L_\min/L_\max` the wavenumber range
        :math:`[k_\min, k_\max]` (QLT's :func:`anisotropy.transport.pitch_angle_diffusion` has no :math:`k_\max`),
        its spectral index :math:`q\in(1, 2)`.

    Returns
    -------
    ndarray
        :math:`D_{\mu\mu}/\Omega`, :math:`\Omega = v/r_g` in :math:`B_\mathrm{tot}`.

    Examples
    --------
    >>> from anisotropy import Turbulence
    >>> values = pitch_angle_diffusion([-1.0, 0.0, 0.3], 0.1, Turbulence("slab", 0.5, 0.01))
    >>> bool(values[0] == 0.0 and values[1] > 0.0)
    True
    """
    reduced_rigidity, turbulence = _check(reduced_rigidity, turbulence)
    mu = np.asarray(mu, dtype=float)
    if np.any(~np.isfinite(mu)) or np.any(np.abs(mu) > 1.0):
        raise ParameterError("mu", "pitch-angle cosines must lie in [-1, 1]")
    eta, q = turbulence.eta, turbulence.spectral_index
    regular = math.sqrt(1.0 - eta)
    k_min = minimum_wavenumber(turbulence.lmin_over_lmax, q)
    gyroradius_regular = reduced_rigidity / regular
    low = turbulence.lmin_over_lmax / (k_min * gyroradius_regular)  # 1/(k_max r_g0), k_max = k_min L_max/L_min
    high = 1.0 / (k_min * gyroradius_regular)
    prefactor = 0.25 * math.pi * (q - 1.0) * regular * (eta / (1.0 - eta)) * (k_min * gyroradius_regular) ** (q - 1.0)
    smoothed = _smoothed_power(mu, broadening_width(mu, eta), q - 1.0, low, high)
    return prefactor * (1.0 - mu**2) * smoothed


def parallel_diffusion(reduced_rigidity: float, turbulence: Turbulence, speed: float = 1.0) -> float:
    r""":math:`\kappa_\parallel/(cL_c) = \frac{v^2}{8}\int_{-1}^{1}\frac{(1-\mu^2)^2}{D_{\mu\mu}}d\mu` with the SOQLT
    coefficient (:func:`pitch_angle_diffusion`; Hasselmann & Wibberenz 1968, Earl 1974).

    Examples
    --------
    >>> from anisotropy import Turbulence, transport
    >>> turbulence = Turbulence("slab", 0.1, 0.01)
    >>> ratio = parallel_diffusion(0.1, turbulence) / transport.parallel_diffusion(0.1, turbulence=turbulence)
    >>> bool(0.5 < ratio < 0.7)  # the filled 90 deg gap lowers kappa (docs/validation/pitch_angle.md)
    True
    """
    reduced_rigidity, turbulence = _check(reduced_rigidity, turbulence)
    speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
    # field-aligned particles (|μ| → 1, where the width vanishes) resonate with k = 1/(r_g0|μ|) ≥ k_min only if
    # k_min r_g0 < 1; otherwise they are never scattered back and κ∥ diverges
    limit = math.sqrt(1.0 - turbulence.eta) / minimum_wavenumber(turbulence.lmin_over_lmax, turbulence.spectral_index)
    if reduced_rigidity >= limit:
        raise ParameterError("reduced_rigidity", f"κ∥ is infinite unless r_g/L_c < sqrt(1-η)/(k_min L_c) = "
                                                 f"{limit:.4g} (no resonant mode for field-aligned particles); "
                                                 f"got {reduced_rigidity:g}")

    def integrand(mu):
        coefficient = float(pitch_angle_diffusion(mu, reduced_rigidity, turbulence))
        if coefficient == 0.0:
            # inside the gap |μ| < 1/(k_max r_g0) further than the reach of the broadening: no crossing of 90°
            raise ParameterError("turbulence", f"η = {turbulence.eta:g} broadens the resonance too little to cross "
                                               f"the gap of L_min/L_max = {turbulence.lmin_over_lmax:g} at "
                                               f"r_g/L_c = {reduced_rigidity:g} (D_mumu = 0 at mu = {mu:.3g}): "
                                               "κ∥ is infinite")
        return (1.0 - mu**2) ** 2 / coefficient

    # even in μ; D/Ω in units of Ω = v/r_g, so (v²/8)∫dμ/(D/Ω)/Ω = β ρ (…)/8 in c L_c
    half, _ = integrate.quad(integrand, 0.0, 1.0, epsabs=0.0, epsrel=_QUAD_RELATIVE, limit=200)
    return speed * reduced_rigidity * 2.0 * half / 8.0


def omega_scattering_time(reduced_rigidity: float, turbulence: Turbulence) -> float:
    r""":math:`\Omega\tau_s = 3\kappa_\parallel/(\beta\rho)` of SOQLT (independent of the speed β).

    Examples
    --------
    >>> from anisotropy import Turbulence, transport
    >>> turbulence = Turbulence("slab", 0.1, 0.01)
    >>> bool(omega_scattering_time(0.1, turbulence) < transport.omega_scattering_time(0.1, turbulence=turbulence))
    True
    """
    return 3.0 * parallel_diffusion(reduced_rigidity, turbulence) / reduced_rigidity

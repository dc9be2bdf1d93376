r"""Closed-form steady state of the two-zone (disk + halo) diffusion model for one species at one energy.

The equation (symmetric in z, so only :math:`0 \le z \le H` is needed)

.. math:: -\frac{d}{dz}\Big(\kappa(z)\,\frac{dN}{dz}\Big) + \Gamma(z)\,N = q(z),\qquad N(\pm H) = 0,

with :math:`\kappa = \alpha\kappa_\mathrm{halo}`, :math:`\Gamma = \lambda + L`, :math:`q = q_d` in the disk
:math:`|z| < h` and :math:`\kappa = \kappa_\mathrm{halo}`, :math:`\Gamma = \lambda`, :math:`q = 0` in the halo,
:math:`N` and :math:`\kappa N'` continuous at :math:`|z| = h`.  This is the model of Jacobs, Mertsch & Phan,
arXiv:2305.10337 (suppressed diffusion in the disk, :math:`\alpha < 1`), reduced to one species; the derivation is
in ``docs/physics/suppressed_diffusion.md``.  With :math:`k_d^2 = (\lambda+L)/(\alpha\kappa_\mathrm{halo})`,
:math:`k_h^2 = \lambda/\kappa_\mathrm{halo}` and the halo "conductance"
:math:`g = \kappa_\mathrm{halo} k_h \coth[k_h (H-h)]` (:math:`\kappa_\mathrm{halo}/(H-h)` without decay):

.. math::
    N(h) = \frac{q_d\,T}{\Gamma_d T + g},\quad T = \frac{\tanh k_d h}{k_d},\qquad
    N(z<h) = \frac{q_d}{\Gamma_d}\Big(1 - \frac{\cosh k_d z}{\cosh k_d h}\Big) + N(h)\frac{\cosh k_d z}{\cosh k_d h},
    \qquad N(z>h) = N(h)\,\frac{\sinh k_h (H-z)}{\sinh k_h (H-h)}.

Every factor is evaluated in a form that neither overflows for large :math:`k h` nor cancels for small :math:`k h`
(the :math:`\Gamma \to 0` limits are the polynomial solutions).
"""

from __future__ import annotations

import numpy as np

from anisotropy.errors import ParameterError, require_range

__all__ = ["thin_disk_density", "two_zone_density", "two_zone_flux"]

#: below this |k x| the series forms are used (error of the truncated series ~ (k x)^8 / 10^4 < 1e-16)
_SERIES_ARGUMENT = 1e-2


def _value(name, value, unit):
    """Float (or array) in ``unit``; astropy Quantities are converted, plain numbers are taken to be in ``unit``."""
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        try:
            return value.to_value(unit)
        except Exception as error:  # astropy raises UnitConversionError (a ValueError subclass) or TypeError
            raise ParameterError(name, f"cannot convert {value!r} to {unit}: {error}") from None
    return value


def _positive(name, value, unit, *, allow_zero=False):
    return require_range(name, _value(name, value, unit), 0.0, None, low_open=not allow_zero)


def _tanh_over_k(k, length):
    """:math:`\\tanh(k L)/k`, equal to L at k = 0."""
    x = k * length
    if x < _SERIES_ARGUMENT:
        return length * (1.0 - x**2 / 3.0 + 2.0 * x**4 / 15.0)
    return np.tanh(x) / k


def _cosh_ratio(k, z, h):
    """:math:`\\cosh(k z)/\\cosh(k h)` for 0 <= z <= h without overflow."""
    return np.exp(k * (z - h)) * (1.0 + np.exp(-2.0 * k * z)) / (1.0 + np.exp(-2.0 * k * h))


def _one_minus_cosh_ratio_over_k2(k, z, h):
    r""":math:`[1 - \cosh(kz)/\cosh(kh)]/k^2`, equal to :math:`(h^2 - z^2)/2` at k = 0 (no cancellation)."""
    if k * h < 1.0:
        # 1 - cosh(kz)/cosh(kh) = 2 sinh(k(h+z)/2) sinh(k(h-z)/2) / cosh(kh)
        a, b = 0.5 * (h + z), 0.5 * (h - z)
        sinhc_a = np.where(k * a > 0, np.sinh(k * a) / np.where(k * a > 0, k * a, 1.0), 1.0)
        sinhc_b = np.where(k * b > 0, np.sinh(k * b) / np.where(k * b > 0, k * b, 1.0), 1.0)
        return 2.0 * a * b * sinhc_a * sinhc_b / np.cosh(k * h)
    return (1.0 - _cosh_ratio(k, z, h)) / k**2


def _sinh_ratio(k, distance, total):
    """:math:`\\sinh(k d)/\\sinh(k D)` for 0 <= d <= D (d/D at k = 0), without overflow."""
    if k * total < _SERIES_ARGUMENT:
        return distance / total * (1.0 + k**2 * (distance**2 - total**2) / 6.0)
    return np.exp(k * (distance - total)) * np.expm1(-2.0 * k * distance) / np.expm1(-2.0 * k * total)


def _check(h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source):
    h = _positive("h", h, "kpc")
    H = _positive("H", H, "kpc")
    if h >= H:
        raise ParameterError("h", f"the disk half-height must be smaller than the halo half-height H = {H:g} kpc, "
                                  f"got {h:g}")
    kappa_halo = _positive("kappa_halo", kappa_halo, "kpc2 / Myr")
    alpha = _positive("alpha", alpha, "")
    decay_rate = _positive("decay_rate", decay_rate, "1 / Myr", allow_zero=True)
    disk_loss_rate = _positive("disk_loss_rate", disk_loss_rate, "1 / Myr", allow_zero=True)
    disk_source = require_range("disk_source", _value("disk_source", disk_source, "1 / Myr"))
    return h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source


def _disk_edge(h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source):
    """N(h) and the constants of both zones."""
    kappa_disk = alpha * kappa_halo
    rate_disk = decay_rate + disk_loss_rate
    k_disk = np.sqrt(rate_disk / kappa_disk)
    k_halo = np.sqrt(decay_rate / kappa_halo)
    conductance = kappa_halo / _tanh_over_k(k_halo, H - h)  # escape flux per unit N(h)
    transfer = _tanh_over_k(k_disk, h)
    edge = disk_source * transfer / (rate_disk * transfer + conductance)
    return edge, kappa_disk, k_disk, k_halo, conductance


def two_zone_density(z, *, h, H, kappa_halo, alpha, decay_rate=0.0, disk_loss_rate=0.0, disk_source=1.0):
    r"""Steady-state density N(z) of the two-zone model (closed form).

    Solves :math:`-(\kappa N')' + \Gamma N = q` on :math:`-H < z < H` with :math:`N(\pm H)=0`, where in the disk
    :math:`|z|<h`: :math:`\kappa = \alpha\,\kappa_\mathrm{halo}`, :math:`\Gamma` = ``decay_rate + disk_loss_rate``,
    :math:`q` = ``disk_source``; in the halo: :math:`\kappa = \kappa_\mathrm{halo}`, :math:`\Gamma` = ``decay_rate``,
    :math:`q = 0`; N and :math:`\kappa N'` continuous at :math:`|z|=h`.  Equations in the module docstring and in
    ``docs/physics/suppressed_diffusion.md`` (model of Jacobs, Mertsch & Phan, arXiv:2305.10337).

    Parameters
    ----------
    z : float or array
        Height in kpc, ``|z| <= H`` (values outside are returned as 0).
    h, H : float
        Disk and halo half-heights in kpc, ``0 < h < H``.
    kappa_halo : float
        Halo diffusion coefficient in kpc²/Myr, > 0.
    alpha : float
        :math:`\kappa_\mathrm{disk}/\kappa_\mathrm{halo}`, > 0.
    decay_rate, disk_loss_rate : float
        Rates in 1/Myr, >= 0 (decay everywhere, e.g. :math:`1/(\gamma\tau)`; losses, e.g. spallation, in the disk).
    disk_source : float
        Source density in the disk (N units per Myr); N comes out in the units of ``disk_source`` times Myr.

    All of ``h, H, kappa_halo, decay_rate, disk_loss_rate, disk_source`` may be astropy Quantities instead.

    Returns
    -------
    float or numpy.ndarray
        N(z), same shape as ``z``.

    Examples
    --------
    >>> from anisotropy.galaxy import two_zone_density
    >>> n0 = two_zone_density(0.0, h=0.1, H=4.0, kappa_halo=0.1, alpha=1.0)
    >>> round(float(n0), 6)  # pure diffusion: q h (H - h)/kappa + q h^2/(2 kappa)
    3.95
    """
    h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source = _check(
        h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source)
    z = np.abs(np.asarray(_value("z", z, "kpc"), dtype=float))
    edge, kappa_disk, k_disk, k_halo, _ = _disk_edge(h, H, kappa_halo, alpha, decay_rate, disk_loss_rate,
                                                     disk_source)
    inside = np.minimum(z, h)
    disk = (disk_source / kappa_disk * _one_minus_cosh_ratio_over_k2(k_disk, inside, h)
            + edge * _cosh_ratio(k_disk, inside, h))
    outside = np.clip(z, h, H)
    halo = edge * _sinh_ratio(k_halo, H - outside, H - h)
    density = np.where(z <= h, disk, np.where(z <= H, halo, 0.0))
    return float(density) if density.ndim == 0 else density


def two_zone_flux(*, h, H, kappa_halo, alpha, decay_rate=0.0, disk_loss_rate=0.0, disk_source=1.0):
    r"""Escape flux :math:`-\kappa_\mathrm{halo} N'(H)` through one halo boundary (per unit area, per Myr).

    From the halo solution :math:`N = N(h)\sinh k_h(H-z)/\sinh k_h(H-h)`:
    :math:`-\kappa N'(H) = N(h)\,\kappa_\mathrm{halo} k_h/\sinh k_h(H-h)` (:math:`N(h)\kappa_\mathrm{halo}/(H-h)`
    without decay).

    Examples
    --------
    >>> from anisotropy.galaxy import two_zone_flux
    >>> round(two_zone_flux(h=0.1, H=4.0, kappa_halo=0.1, alpha=0.2), 12)  # no losses: all of q h escapes
    0.1
    """
    h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source = _check(
        h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source)
    edge, _, _, k_halo, _ = _disk_edge(h, H, kappa_halo, alpha, decay_rate, disk_loss_rate, disk_source)
    x = k_halo * (H - h)
    factor = 1.0 / (H - h) if x < _SERIES_ARGUMENT else k_halo / np.sinh(x) if x < 700 else 0.0
    if x < _SERIES_ARGUMENT:
        factor *= 1.0 - x**2 / 6.0
    return float(edge * kappa_halo * factor)


def thin_disk_density(z, *, H, kappa_halo, surface_source, surface_loss_rate=0.0, decay_rate=0.0):
    r"""Thin-disk (δ-function disk) solution, the :math:`h \to 0` limit at fixed surface source and surface loss.

    :math:`-\kappa N'' + \lambda N = 2\delta(z)\,[\sigma - \ell N(0)]`, :math:`N(\pm H)=0`:
    :math:`N(0) = \sigma/(g_H + \ell)` with :math:`g_H = \kappa k\coth kH`, :math:`k^2=\lambda/\kappa`, and
    :math:`N(z) = N(0)\sinh k(H-|z|)/\sinh kH`.  ``surface_source`` :math:`\sigma = q_d h` and
    ``surface_loss_rate`` :math:`\ell = L h` (kpc/Myr) are per half-disk.  The disk diffusion coefficient does not
    appear: this is why a δ-function disk cannot constrain :math:`\alpha`.

    Examples
    --------
    >>> from anisotropy.galaxy import thin_disk_density
    >>> thin_disk_density(0.0, H=4.0, kappa_halo=0.1, surface_source=0.1)
    4.0
    """
    H = _positive("H", H, "kpc")
    kappa_halo = _positive("kappa_halo", kappa_halo, "kpc2 / Myr")
    decay_rate = _positive("decay_rate", decay_rate, "1 / Myr", allow_zero=True)
    surface_loss_rate = _positive("surface_loss_rate", surface_loss_rate, "kpc / Myr", allow_zero=True)
    z = np.abs(np.asarray(_value("z", z, "kpc"), dtype=float))
    k = np.sqrt(decay_rate / kappa_halo)
    centre = surface_source / (kappa_halo / _tanh_over_k(k, H) + surface_loss_rate)
    density = np.where(z <= H, centre * _sinh_ratio(k, H - np.minimum(z, H), H), 0.0)
    return float(density) if density.ndim == 0 else density

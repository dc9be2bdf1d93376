r"""Cosmic-ray transport: slab quasi-linear theory, field-line diffusion and the heuristic perpendicular model.

Three groups of pure functions.

1. **Slab QLT** (docs/physics/transport.md#slab-qlt): :func:`pitch_angle_diffusion`, :func:`parallel_diffusion`,
   :func:`scattering_time`, :func:`omega_scattering_time`, :func:`mean_free_path`, :func:`diffusion_tensor`,
   :func:`dipole_vector`, :func:`dipole_power` (3.2c) and the physical-unit wrapper :func:`slab_qlt_physical`.
2. **Field-line random walk** in QLT: :func:`qlt_fieldline_diffusion` and, at finite distance,
   :func:`qlt_fieldline_wandering` (isotropic turbulence plus :math:`B_0`), and
   :func:`slab_fieldline_running_diffusion` (slab; bounded for a spectrum with no power below :math:`k_\min`).
3. **Heuristic perpendicular transport** (the talk; Kuhlen, Mertsch & Phan arXiv:2211.05881/2211.05882):
   :func:`smoothly_broken_power_law`, :func:`running_parallel_diffusion`, :func:`fieldline_diffusion`,
   :func:`telegraph_parallel_diffusion`, :func:`mean_squared_displacement`,
   :func:`heuristic_perpendicular_diffusion`.

Units and conventions (docs/physics/conventions.md#units)
---------------------------------------------------------
* The package's reduced rigidity is :math:`\rho = r_g/L_c` with :math:`r_g = v/\Omega` in the **total** field
  :math:`B_\mathrm{tot}`.  docs/physics/transport.md#slab-qlt writes :math:`\Omega_0` and :math:`r_{g}` for the
  **regular** field
  :math:`B_0`; with :math:`\eta = \delta B^2/B_\mathrm{tot}^2` the conversions used here are
  :math:`\Omega_0 = \Omega\sqrt{1-\eta}`, :math:`r_{g,0} = r_g/\sqrt{1-\eta}` and
  :math:`\delta B^2/B_0^2 = \eta/(1-\eta)`.
* Lengths in :math:`L_c` (:math:`\approx L_\max/5`), diffusion coefficients in :math:`c\,L_c`, times in
  :math:`L_c/c` unless a name says ``omega_`` (then in :math:`1/\Omega`, :math:`\Omega` in :math:`B_\mathrm{tot}`).
* Running coefficients: :math:`d_\parallel = \tfrac12 d\langle\Delta z^2\rangle/dt`,
  :math:`d_\perp = \tfrac12 d\langle\Delta r_\perp^2\rangle/dt` (twice the per-component value),
  :math:`d_\mathrm{FL}(z) = \tfrac12 d\langle\Delta r_\perp^2\rangle/dz`; :math:`\lambda = 3\kappa/v`.

The slab-QLT and field-line functions take the spectrum either loose (``eta``, ``lmin_over_lmax``,
``spectral_index``) or as one :class:`~anisotropy.Turbulence` (``turbulence=``, the description the pair-rate
models and the simulator share); both forms give identical numbers.

Examples
--------
>>> from anisotropy import Turbulence, transport
>>> kappa = transport.parallel_diffusion(0.1, 0.5)                         # quadrature of the mu integral
>>> closed = transport.parallel_diffusion(0.1, 0.5, method="closed_form")  # 27/(7 pi) form, q = 5/3
>>> abs(kappa / closed - 1) < 1e-6
True
>>> turbulence = Turbulence(kind="slab", eta=0.5)
>>> transport.parallel_diffusion(0.1, turbulence=turbulence) == kappa
True
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import integrate, special

from .errors import ParameterError, require_range
from .spectrum import kolmogorov_modes
from .turbulence import DEFAULT_LMIN_OVER_LMAX, DEFAULT_SPECTRAL_INDEX, KOLMOGOROV_INDEX, Turbulence, turbulence_fields
from .units import PARSEC_M, SPEED_OF_LIGHT_M_S, gyrofrequency, outer_scale, to_reduced

__all__ = [
    "diffusion_tensor",
    "dipole_power",
    "dipole_vector",
    "fieldline_diffusion",
    "heuristic_perpendicular_diffusion",
    "mean_free_path",
    "mean_squared_displacement",
    "minimum_wavenumber",
    "omega_scattering_time",
    "parallel_diffusion",
    "pitch_angle_diffusion",
    "qlt_fieldline_diffusion",
    "qlt_fieldline_wandering",
    "running_parallel_diffusion",
    "scattering_time",
    "slab_fieldline_running_diffusion",
    "slab_qlt_physical",
    "smoothly_broken_power_law",
    "telegraph_mean_squared_displacement",
    "telegraph_parallel_diffusion",
]

#: relative accuracy requested from scipy.integrate.quad in the numerical transport integrals
_QUAD_RELATIVE = 1e-11


# --------------------------------------------------------------------------------------------- slab QLT
def _spectrum(turbulence, eta, lmin_over_lmax, spectral_index):
    """(η, L_min/L_max, q) from ``turbulence`` or loose (:func:`anisotropy.turbulence.turbulence_fields`)."""
    eta, lmin_over_lmax, spectral_index = turbulence_fields(turbulence, eta=eta, lmin_over_lmax=lmin_over_lmax,
                                                            spectral_index=spectral_index)
    if eta is None:
        raise ParameterError("eta", "required: pass eta or turbulence=")
    return eta, lmin_over_lmax, spectral_index


def _check_slab(reduced_rigidity, eta, lmin_over_lmax, spectral_index):
    reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    # slab QLT needs a regular field: eta = 1 (B0 = 0) has no gyration to resonate with
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
    spectral_index = require_range("spectral_index", spectral_index, 1.0, 2.0, low_open=True, high_open=True)
    require_range("lmin_over_lmax", lmin_over_lmax, 0.0, 1.0, low_open=True, high_open=True)
    return reduced_rigidity, eta, spectral_index


def minimum_wavenumber(lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX, spectral_index: float = DEFAULT_SPECTRAL_INDEX,
                       *, turbulence: Turbulence | None = None) -> float:
    r""":math:`k_\min = 2\pi/L_\max` in :math:`1/L_c`, the first mode of :func:`.spectrum.kolmogorov_modes`."""
    lmin_over_lmax, spectral_index = turbulence_fields(turbulence, lmin_over_lmax=lmin_over_lmax,
                                                       spectral_index=spectral_index)
    return 2.0 * math.pi / outer_scale(1.0, lmin_over_lmax, spectral_index)


def pitch_angle_diffusion(
    mu,
    reduced_rigidity: float,
    eta: float | None = None,
    *,
    lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
    spectral_index: float = DEFAULT_SPECTRAL_INDEX,
    turbulence: Turbulence | None = None,
):
    r"""Slab QLT pitch-angle diffusion coefficient :math:`D_{\mu\mu}/\Omega` (docs/physics/transport.md#slab-qlt).

    .. math:: D_{\mu\mu} = \frac{\pi}{4}(q-1)\,\Omega_0\,\frac{\delta B^2}{B_0^2}\,(k_\min r_{g,0})^{q-1}
              (1-\mu^2)\,|\mu|^{q-1},

    the resonance :math:`k_\mathrm{res} = 1/(r_{g,0}|\mu|)` with the one-sided spectrum
    :math:`S(k) = (q-1)k_\min^{q-1}k^{-q}` for :math:`k > k_\min` (no inner cut-off; valid when
    :math:`k_\min r_{g,0} < 1 \ll k_\max r_{g,0}`, and for :math:`|\mu| > 1/(k_\max r_{g,0})`).

    Parameters
    ----------
    mu : array_like
        Pitch-angle cosine relative to :math:`B_0`.
    reduced_rigidity : float
        :math:`r_g/L_c` in the total field.
    eta : float
        :math:`\delta B^2/B_\mathrm{tot}^2` in (0, 1).
    lmin_over_lmax, spectral_index : float
        Fix :math:`k_\min` in :math:`1/L_c` (:func:`minimum_wavenumber`) and :math:`q \in (1, 2)`.
    turbulence : Turbulence, optional
        ``eta``, ``lmin_over_lmax`` and ``spectral_index`` in one (then leave those out); its kind and modes per
        decade do not enter slab QLT (a continuous spectrum).

    Returns
    -------
    ndarray
        :math:`D_{\mu\mu}/\Omega` with :math:`\Omega = v/r_g` in :math:`B_\mathrm{tot}`; uses
        :math:`\Omega_0 = \Omega\sqrt{1-\eta}` and :math:`k_\min r_{g,0} = k_\min\rho/\sqrt{1-\eta}`.
    """
    eta, lmin_over_lmax, spectral_index = _spectrum(turbulence, eta, lmin_over_lmax, spectral_index)
    reduced_rigidity, eta, q = _check_slab(reduced_rigidity, eta, lmin_over_lmax, spectral_index)
    mu = np.asarray(mu, dtype=float)
    regular = math.sqrt(1.0 - eta)
    kmin_rg0 = minimum_wavenumber(lmin_over_lmax, q) * reduced_rigidity / regular
    prefactor = 0.25 * math.pi * (q - 1.0) * regular * (eta / (1.0 - eta)) * kmin_rg0 ** (q - 1.0)
    return prefactor * (1.0 - mu**2) * np.abs(mu) ** (q - 1.0)


def parallel_diffusion(
    reduced_rigidity: float,
    eta: float | None = None,
    *,
    lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
    spectral_index: float = DEFAULT_SPECTRAL_INDEX,
    turbulence: Turbulence | None = None,
    speed: float = 1.0,
    method: str = "integral",
) -> float:
    r"""Slab QLT parallel diffusion coefficient :math:`\kappa_\parallel/(c L_c)` (docs/physics/transport.md#slab-qlt).

    .. math:: \kappa_\parallel = \frac{v^2}{8}\int_{-1}^{1}\frac{(1-\mu^2)^2}{D_{\mu\mu}}\,d\mu
              \;\overset{q=5/3}{=}\;\frac{27}{7\pi}\,
              \frac{v\,r_{g,0}}{(\delta B^2/B_0^2)\,(k_\min r_{g,0})^{2/3}}

    with :math:`r_{g,0} = r_g/\sqrt{1-\eta}` the gyroradius in :math:`B_0`.

    Parameters
    ----------
    reduced_rigidity, eta, lmin_over_lmax, spectral_index, turbulence
        As in :func:`pitch_angle_diffusion`.
    speed : float
        :math:`v/c`.
    method : {"integral", "closed_form"}
        ``"integral"``: adaptive quadrature of the :math:`\mu` integral with :func:`pitch_angle_diffusion`, any
        :math:`q\in(1,2)`; ``"closed_form"``: the :math:`27/(7\pi)` expression, :math:`q = 5/3` only.

    Returns
    -------
    float
        :math:`\kappa_\parallel` in units of :math:`c L_c`.
    """
    eta, lmin_over_lmax, spectral_index = _spectrum(turbulence, eta, lmin_over_lmax, spectral_index)
    reduced_rigidity, eta, q = _check_slab(reduced_rigidity, eta, lmin_over_lmax, spectral_index)
    speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
    regular = math.sqrt(1.0 - eta)
    if method == "closed_form":
        if abs(q - KOLMOGOROV_INDEX) > 1e-12:
            raise ParameterError("spectral_index", f"the closed form holds for q = 5/3 only, got {q:g}")
        kmin_rg0 = minimum_wavenumber(lmin_over_lmax, q) * reduced_rigidity / regular
        return 27.0 / (7.0 * math.pi) * speed * reduced_rigidity / regular / (
            (eta / (1.0 - eta)) * kmin_rg0 ** (2.0 / 3.0))
    if method != "integral":
        raise ParameterError("method", f"expected 'integral' or 'closed_form', got {method!r}")

    def integrand(mu):
        return (1.0 - mu**2) ** 2 / pitch_angle_diffusion(mu, reduced_rigidity, eta,
                                                           lmin_over_lmax=lmin_over_lmax, spectral_index=q)

    # even in mu; the integrable |mu|^(1-q) singularity sits at the endpoint 0 of [0, 1], which quad handles
    half, _ = integrate.quad(integrand, 0.0, 1.0, epsabs=0.0, epsrel=_QUAD_RELATIVE, limit=200)
    # (v^2/8)∫ dμ/(D_μμ/Ω) / Ω = (β²c²/8)·(…)·r_g/(βc) = β ρ (…)/8 in c L_c
    return speed * reduced_rigidity * 2.0 * half / 8.0


def scattering_time(kappa_parallel, speed: float = 1.0):
    r"""Scattering time :math:`\tau_s = 3\kappa_\parallel/v^2` (docs/physics/transport.md#slab-qlt) in :math:`L_c/c` for
    κ in :math:`cL_c`."""
    speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
    return 3.0 * np.asarray(kappa_parallel, dtype=float) / speed**2


def mean_free_path(kappa, speed: float = 1.0):
    r"""Mean free path :math:`\lambda = 3\kappa/v` (docs/physics/conventions.md#running-diffusion) in :math:`L_c` for κ
    in :math:`cL_c`."""
    speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
    return 3.0 * np.asarray(kappa, dtype=float) / speed


def omega_scattering_time(
    reduced_rigidity: float,
    eta: float | None = None,
    *,
    lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
    spectral_index: float = DEFAULT_SPECTRAL_INDEX,
    turbulence: Turbulence | None = None,
    method: str = "integral",
) -> float:
    r""":math:`\Omega\tau_s` of slab QLT, with :math:`\Omega = v/r_g` in :math:`B_\mathrm{tot}`
    (docs/physics/mixing_ode.md#pair-time, docs/physics/transport.md#slab-qlt).

    :math:`\Omega\tau_s = 3\kappa_\parallel\Omega/v^2 = 3\,(\kappa_\parallel/cL_c)/(\beta\rho)`; independent of
    the speed :math:`\beta` because :math:`\kappa_\parallel\propto v`.  The spectrum loose or as ``turbulence``
    (:func:`pitch_angle_diffusion`); ``method`` as :func:`parallel_diffusion`.
    """
    eta, lmin_over_lmax, spectral_index = _spectrum(turbulence, eta, lmin_over_lmax, spectral_index)
    kappa = parallel_diffusion(reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax, spectral_index=spectral_index,
                               speed=1.0, method=method)
    return 3.0 * kappa / reduced_rigidity


def diffusion_tensor(kappa_parallel: float, kappa_perpendicular: float, b_hat) -> np.ndarray:
    r"""Diffusion tensor :math:`K = \kappa_\parallel\hat b\hat b + \kappa_\perp(I - \hat b\hat b)`
    (docs/physics/simulator.md#liouville-mapping).

    ``kappa_perpendicular`` is the per-component coefficient (:math:`\langle\Delta x^2\rangle = 2\kappa_\perp t`),
    i.e. **half** the running :math:`d_\perp` of the convention of docs/physics/conventions.md#running-diffusion.
    ``b_hat`` is normalised here.
    """
    kappa_parallel = require_range("kappa_parallel", kappa_parallel, 0.0, None)
    kappa_perpendicular = require_range("kappa_perpendicular", kappa_perpendicular, 0.0, None)
    b_hat = np.asarray(b_hat, dtype=float).reshape(3)
    norm = float(np.linalg.norm(b_hat))
    if not math.isfinite(norm) or norm == 0.0:
        raise ParameterError("b_hat", "expected a finite non-zero 3-vector")
    b_hat = b_hat / norm
    projector = np.outer(b_hat, b_hat)
    return kappa_parallel * projector + kappa_perpendicular * (np.eye(3) - projector)


def dipole_vector(tensor, gradient, speed: float = 1.0) -> np.ndarray:
    r"""Dipole of the arrival-direction intensity :math:`\boldsymbol\delta = 3K\cdot\mathbf G/v`
    (docs/physics/simulator.md#liouville-mapping, docs/physics/source.md#diffusive-dipole).

    Points towards higher density (the excess is in the arrival direction :math:`\hat n = -\hat p`).
    """
    speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
    return 3.0 * np.asarray(tensor, dtype=float) @ np.asarray(gradient, dtype=float) / speed


def dipole_power(tensor, gradient, speed: float = 1.0) -> float:
    r""":math:`C_1 = (4\pi/9)|\boldsymbol\delta|^2 = 4\pi|K\cdot\mathbf G|^2/v^2`
    (docs/physics/conventions.md#angular-power-spectrum, docs/physics/source.md#diffusive-dipole)."""
    dipole = dipole_vector(tensor, gradient, speed)
    return float(4.0 * math.pi / 9.0 * np.dot(dipole, dipole))


def slab_qlt_physical(energy, b_rms, l_c, eta: float | None = None, *, charge: int = 1, mass_number: int = 1,
                      lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX, turbulence: Turbulence | None = None) -> dict:
    r"""Slab QLT in physical units: energy (TeV), total field (µG), :math:`L_c` (pc), :math:`\eta`.

    Converts with :func:`anisotropy.units.to_reduced` and returns a dict with ``kappa_parallel_m2_s``,
    ``mean_free_path_pc``, ``scattering_time_s``, ``omega_tau_s`` and the ``reduced`` parameters.  ``eta`` and
    ``lmin_over_lmax`` loose or as ``turbulence`` (:func:`pitch_angle_diffusion`).
    """
    eta, lmin_over_lmax, spectral_index = _spectrum(turbulence, eta, lmin_over_lmax, DEFAULT_SPECTRAL_INDEX)
    reduced = to_reduced(energy, b_rms, l_c, eta, charge, mass_number, lmin_over_lmax)
    kappa = parallel_diffusion(reduced.reduced_rigidity, reduced.eta, lmin_over_lmax=lmin_over_lmax,
                               spectral_index=spectral_index, speed=reduced.speed)
    l_c_m = l_c * PARSEC_M
    return {
        "kappa_parallel_m2_s": kappa * SPEED_OF_LIGHT_M_S * l_c_m,
        "mean_free_path_pc": float(mean_free_path(kappa, reduced.speed)) * l_c,
        "scattering_time_s": float(scattering_time(kappa, reduced.speed)) * l_c_m / SPEED_OF_LIGHT_M_S,
        "omega_tau_s": float(scattering_time(kappa, reduced.speed)) * l_c_m / SPEED_OF_LIGHT_M_S
        * float(gyrofrequency(energy, b_rms, charge, mass_number)),
        "reduced": reduced.as_dict(),
    }


# --------------------------------------------------------------------------------------------- field lines
def qlt_fieldline_diffusion(eta: float | None = None, *, lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
                            modes_per_decade: int | None = None, turbulence: Turbulence | None = None) -> float:
    r"""Field-line diffusion of **isotropic** turbulence plus :math:`B_0` in QLT, :math:`d_\mathrm{FL}/L_c`.

    :math:`d_\mathrm{FL} = \tfrac12 d\langle\Delta r_\perp^2\rangle/dz = \sum_{i=x,y}\int_0^\infty
    \langle\delta B_i(0)\delta B_i(z\hat z)\rangle/B_0^2\,dz`.  For isotropic solenoidal turbulence the transverse
    integral scale is half the longitudinal one and the trace correlation integrates to
    :math:`\int_0^\infty R = L_c/2` (two-sided convention, docs/physics/conventions.md#correlation-length), so each
    transverse component gives
    :math:`\delta B^2 L_c/8` and

    .. math:: d_\mathrm{FL} = \frac{1}{4}\,\frac{\delta B^2}{B_0^2}\,L_c = \frac{\eta}{4(1-\eta)}\,L_c.

    With discrete plane waves the same calculation per mode gives :math:`L_c \to \sum_n f_n\pi/k_n`; pass
    ``modes_per_decade`` to use that value (it differs from 1 by the discretisation, < 1% at 256 per decade).
    ``turbulence`` gives η, the range and the modes per decade (so the discrete value) in one.

    Slab turbulence is different: see :func:`slab_fieldline_running_diffusion` (no asymptotic diffusion when the
    spectrum has no power below :math:`k_\min`).
    """
    eta, lmin_over_lmax, modes_per_decade, spectral_index = turbulence_fields(
        turbulence, eta=eta, lmin_over_lmax=lmin_over_lmax, modes_per_decade=modes_per_decade,
        spectral_index=None)
    if eta is None:
        raise ParameterError("eta", "required: pass eta or turbulence=")
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
    integral_scale = 1.0
    if modes_per_decade is not None:
        wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade,
                                                  DEFAULT_SPECTRAL_INDEX if spectral_index is None else spectral_index)
        integral_scale = float(np.sum(fractions * np.pi / wavenumbers))
    return 0.25 * eta / (1.0 - eta) * integral_scale


def qlt_fieldline_wandering(z, eta: float, wavenumbers, power_fraction) -> np.ndarray:
    r"""Mean squared field-line wandering :math:`\langle\Delta r_\perp^2\rangle(z)` of isotropic plane-wave
    turbulence plus :math:`B_0`, to first order in :math:`\delta B^2/B_0^2` (lines integrated along :math:`\hat z`).

    For the simulator's field :math:`\delta\mathbf B = \sum_nA_n\hat\xi_n\cos(k_n\hat\kappa_n\cdot\mathbf r+\beta_n)`
    (:math:`A_n^2 = 2f_n\delta B^2`, :math:`\hat\kappa_n` uniform, :math:`\hat\xi_n\perp\hat\kappa_n` at a uniform
    angle, so :math:`\langle\xi_x^2+\xi_y^2\rangle = (1+\mu^2)/2` with :math:`\mu = \hat\kappa\cdot\hat z`),
    :math:`\Delta\mathbf r_\perp = \int_0^z\delta\mathbf B_\perp(z'\hat z)/B_0\,dz'` averaged over phases,
    polarisations and directions gives

    .. math:: \langle\Delta r_\perp^2\rangle(z) = \frac{\delta B^2}{B_0^2}\sum_n\frac{f_n}{k_n^2}
              \Bigl[b_n\,\mathrm{Si}(b_n) + \cos b_n - \frac{\sin b_n}{b_n}\Bigr],\qquad b_n = k_nz,

    from :math:`\int_0^1(1+\mu^2)\frac{1-\cos b\mu}{\mu^2}d\mu = b\,\mathrm{Si}(b) + \cos b - \frac{\sin b}{b}`.
    Limits: :math:`\tfrac23(\delta B^2/B_0^2)z^2` for :math:`k_\max z\ll1` (ballistic, :math:`\langle\delta
    B_\perp^2\rangle = \tfrac23\delta B^2`) and :math:`2d_\mathrm{FL}z` of :func:`qlt_fieldline_diffusion` plus a
    constant for :math:`k_\min z\gg1`.  Per realisation the few modes with :math:`|\mu|\lesssim1/(k_nz)` dominate
    at large z, so a finite z also has a smaller realisation scatter than the asymptote.

    Parameters
    ----------
    z : array_like
        Distances along :math:`B_0` in :math:`L_c` (≥ 0).
    eta : float
        :math:`\delta B^2/B_\mathrm{tot}^2` in (0, 1).
    wavenumbers, power_fraction : array_like
        :math:`k_n` in :math:`1/L_c` and :math:`f_n` (:func:`anisotropy.spectrum.kolmogorov_modes`).

    Returns
    -------
    ndarray
        :math:`\langle\Delta r_\perp^2\rangle` in :math:`L_c^2`, the shape of ``z``.
    """

    eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
    distance = np.asarray(z, dtype=float)
    if np.any(distance < 0) or not np.all(np.isfinite(distance)):
        raise ParameterError("z", "must be finite and >= 0")
    wavenumbers = np.asarray(wavenumbers, dtype=float)
    fractions = np.asarray(power_fraction, dtype=float)
    phase = np.multiply.outer(distance, wavenumbers)
    sine_integral, _ = special.sici(phase)
    safe = np.where(phase > 0, phase, 1.0)
    bracket = np.where(phase > 1e-3, phase * sine_integral + np.cos(phase) - np.sin(phase) / safe,
                       2.0 / 3.0 * phase**2 - phase**4 / 45.0)  # series: cancellation below b ~ 1e-3
    return eta / (1.0 - eta) * (bracket * (fractions / wavenumbers**2)).sum(axis=-1)


def slab_fieldline_running_diffusion(z, eta: float, wavenumbers, power_fraction):
    r"""Slab turbulence: running field-line coefficient :math:`d_\mathrm{FL}(z)` and mean squared wandering.

    From :math:`d\mathbf r_\perp/dz = \delta\mathbf B_\perp/B_0` and
    :math:`\langle\delta B_i\delta B_j\rangle = (\delta B^2/2)\delta_{ij}R(\Delta z)`:

    .. math:: \langle\Delta r_\perp^2\rangle(z) = 2\frac{\delta B^2}{B_0^2}\sum_n f_n\frac{1-\cos k_nz}{k_n^2},
              \qquad d_\mathrm{FL}(z) = \frac{\delta B^2}{B_0^2}\sum_n f_n\frac{\sin k_nz}{k_n}.

    :math:`d_\mathrm{FL}\simeq(\delta B^2/B_0^2)z` for :math:`z \ll 1/k_\max`, and it does not tend to a
    constant: with no power below :math:`k_\min` the field lines stay within
    :math:`\langle\Delta r_\perp^2\rangle \le 4(\delta B^2/B_0^2)\sum f_n/k_n^2`, i.e. slab QLT has
    :math:`d_\mathrm{FL}(\infty) = \pi(\delta B^2/B_0^2)S(0) = 0`.  For the default modes
    (:math:`L_\min/L_\max = 10^{-3}`, 256 per decade) the running coefficient peaks at
    :math:`\approx0.23\,(\delta B^2/B_0^2)L_c` near :math:`z\approx0.6L_c` and then oscillates about zero; the
    :math:`\tfrac14(\delta B^2/B_0^2)L_c` of :func:`qlt_fieldline_diffusion` is the isotropic-turbulence value.

    Returns
    -------
    (d_fieldline, mean_squared_displacement) : tuple of ndarray
        In :math:`L_c` and :math:`L_c^2`, shaped like ``z``.
    """
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
    z = np.asarray(z, dtype=float)
    wavenumbers = np.asarray(wavenumbers, dtype=float).ravel()
    power_fraction = np.asarray(power_fraction, dtype=float).ravel()
    ratio = eta / (1.0 - eta)
    phase = np.multiply.outer(z, wavenumbers)
    running = ratio * (np.sin(phase) / wavenumbers) @ power_fraction
    # 1 - cos = 2 sin²(phase/2), no cancellation at small z
    displacement = 4.0 * ratio * (np.sin(0.5 * phase) ** 2 / wavenumbers**2) @ power_fraction
    return running, displacement


# --------------------------------------------------------------------------------------------- heuristic model
def smoothly_broken_power_law(x, amplitude, x_break, index_low, index_high, sharpness=1.0):
    r"""Smoothly broken power law (the talk's running-coefficient shapes).

    .. math:: f(x) = A\,(x/x_b)^{a}\,\bigl[1 + (x/x_b)^{s}\bigr]^{(b-a)/s}

    :math:`f \simeq A(x/x_b)^a` for :math:`x \ll x_b` and :math:`A(x/x_b)^b` for :math:`x \gg x_b`; larger
    ``sharpness`` :math:`s` makes the break sharper.  Evaluated as :math:`\exp[\ldots\log(1+e^{s\ln u})]` so that
    large :math:`x/x_b` does not overflow.

    Parameters
    ----------
    x : array_like
        Argument, ≥ 0.
    amplitude, x_break, index_low, index_high, sharpness : float
        :math:`A`, :math:`x_b > 0`, :math:`a`, :math:`b`, :math:`s > 0`.
    """
    x_break = require_range("x_break", x_break, 0.0, None, low_open=True)
    sharpness = require_range("sharpness", sharpness, 0.0, None, low_open=True)
    amplitude = require_range("amplitude", amplitude)
    index_low = require_range("index_low", index_low)
    index_high = require_range("index_high", index_high)
    x = np.asarray(x, dtype=float)
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ParameterError("x", "must be finite and ≥ 0")
    with np.errstate(divide="ignore"):
        log_ratio = np.log(x) - math.log(x_break)
    log_bracket = np.logaddexp(0.0, sharpness * log_ratio)
    with np.errstate(invalid="ignore"):
        log_value = index_low * log_ratio + (index_high - index_low) / sharpness * log_bracket
    value = amplitude * np.exp(log_value)
    # x = 0: the low-x power law decides (0 for a > 0, A for a = 0, inf for a < 0)
    at_zero = x == 0
    if np.any(at_zero):
        value = np.where(at_zero, amplitude * (0.0 if index_low > 0 else (1.0 if index_low == 0 else np.inf)), value)
    return value


def running_parallel_diffusion(t, kappa_parallel, t_break, sharpness=1.0):
    r"""Running :math:`d_\parallel(t) = \mathrm{SBPL}(t;\kappa_\parallel, t_b, 1, 0, s)`: ballistic → diffusive.

    :math:`d_\parallel \simeq \kappa_\parallel t/t_b` for :math:`t\ll t_b` (ballistic,
    :math:`\langle\Delta z^2\rangle\propto t^2`) and :math:`\to\kappa_\parallel` for :math:`t \gg t_b`.
    Any consistent units (e.g. :math:`t` in :math:`L_c/c`, κ in :math:`cL_c`).
    """
    return smoothly_broken_power_law(t, kappa_parallel, t_break, 1.0, 0.0, sharpness)


def fieldline_diffusion(z, d_fl, z_break, sharpness=1.0):
    r"""Running field-line coefficient :math:`d_\mathrm{FL}(z) = \mathrm{SBPL}(z; d_\mathrm{FL}, z_b, 1, 0, s)`.

    :math:`d_\mathrm{FL}(z) = \tfrac12 d\langle\Delta r_\perp^2\rangle/dz`: ballistic
    (:math:`\propto z`) below :math:`z_b`, diffusive (:math:`\to d_\mathrm{FL}`) above.
    """
    return smoothly_broken_power_law(z, d_fl, z_break, 1.0, 0.0, sharpness)


def telegraph_parallel_diffusion(t, kappa_parallel, tau):
    r"""Ornstein-Uhlenbeck (telegraph) running coefficient :math:`d_\parallel(t) = \kappa(1-e^{-t/\tau})`.

    The derivative of :func:`telegraph_mean_squared_displacement`; an alternative to
    :func:`running_parallel_diffusion` with the exact velocity-autocorrelation shape :math:`e^{-t/\tau}`.
    """
    tau = require_range("tau", tau, 0.0, None, low_open=True)
    return -kappa_parallel * np.expm1(-np.asarray(t, dtype=float) / tau)


def telegraph_mean_squared_displacement(t, kappa_parallel, tau):
    r""":math:`\langle\Delta z^2\rangle = 2\kappa[t - \tau(1-e^{-t/\tau})]` (Ornstein-Uhlenbeck velocity).

    Written with a series for :math:`t \ll \tau` where the bracket cancels (:math:`\to t^2/(2\tau)`).
    """
    tau = require_range("tau", tau, 0.0, None, low_open=True)
    t = np.asarray(t, dtype=float)
    u = t / tau
    small = np.abs(u) < 1e-3
    series = tau * u**2 * (0.5 - u / 6.0 + u**2 / 24.0 - u**3 / 120.0)
    return 2.0 * kappa_parallel * np.where(small, series, t + tau * np.expm1(-u))


def mean_squared_displacement(d_of_t: Callable, t):
    r""":math:`\langle\Delta z^2\rangle(t) = 2\int_0^t d(t')\,dt'` by adaptive quadrature between sorted times.

    Parameters
    ----------
    d_of_t : callable
        Vectorised running coefficient :math:`d(t)`, e.g. :func:`running_parallel_diffusion` with its
        parameters bound.  Integrable singularities at 0 are fine.
    t : array_like
        Times ≥ 0 (any order, any shape).

    Returns
    -------
    ndarray
        Same shape as ``t``; relative accuracy ~1e-10 for smooth :math:`d`.
    """
    if not callable(d_of_t):
        raise ParameterError("d_of_t", "expected a callable d(t)")
    t = np.asarray(t, dtype=float)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ParameterError("t", "times must be finite and ≥ 0")
    grid, inverse = np.unique(t.ravel(), return_inverse=True)
    edges = np.concatenate(([0.0], grid))
    pieces = np.empty(grid.size)
    for index in range(grid.size):
        low, high = edges[index], edges[index + 1]
        if high == low:
            pieces[index] = 0.0
            continue
        pieces[index] = integrate.quad(lambda s: float(d_of_t(s)), low, high, epsabs=0.0,
                                       epsrel=_QUAD_RELATIVE, limit=200)[0]
    return (2.0 * np.cumsum(pieces))[inverse].reshape(t.shape)


def heuristic_perpendicular_diffusion(t, d_parallel: Callable, d_fieldline: Callable):
    r"""Heuristic running perpendicular coefficient (the talk; Kuhlen, Mertsch & Phan arXiv:2211.05881).

    .. math:: d_\perp(t) = \frac{d_\mathrm{FL}\bigl(\sqrt{\langle\Delta z^2\rangle}\bigr)}
              {\sqrt{\langle\Delta z^2\rangle}}\; d_\parallel(t),
              \qquad \langle\Delta z^2\rangle = 2\int_0^t d_\parallel\,dt'

    Particles follow field lines that wander by :math:`d_\mathrm{FL}` per unit length; the field-line length
    explored grows with the parallel displacement.  Asymptotics (for ballistic → diffusive shapes of both inputs):
    :math:`d_\perp\propto t` while both are ballistic, and :math:`d_\perp\propto t^{-1/2}` (compound
    subdiffusion, :math:`\langle\Delta r_\perp^2\rangle\propto t^{1/2}`) once both are diffusive.

    Parameters
    ----------
    t : array_like
        Times ≥ 0, in the units of ``d_parallel``'s argument.
    d_parallel, d_fieldline : callable
        :math:`d_\parallel(t)` and :math:`d_\mathrm{FL}(z)` (e.g. :func:`running_parallel_diffusion`,
        :func:`fieldline_diffusion`), vectorised.

    Returns
    -------
    ndarray
        :math:`d_\perp(t)` (docs/physics/conventions.md#running-diffusion: twice the per-component coefficient); 0 at t
        = 0.
    """
    if not callable(d_parallel) or not callable(d_fieldline):
        raise ParameterError("d_parallel", "d_parallel and d_fieldline must be callables")
    t = np.asarray(t, dtype=float)
    root_displacement = np.sqrt(mean_squared_displacement(d_parallel, t))
    positive = root_displacement > 0
    ratio = np.zeros_like(root_displacement)
    ratio[positive] = np.asarray(d_fieldline(root_displacement[positive]), dtype=float) / root_displacement[positive]
    return ratio * np.asarray(d_parallel(t), dtype=float)

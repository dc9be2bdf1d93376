r"""Physical units to the reduced units of the theory and the simulator: the one place for conventions.

Conventions (docs/physics/conventions.md#units)
-----------------------------------------------
* ``energy`` is the **kinetic energy of the whole nucleus** in TeV; the momentum follows from
  :math:`pc = \sqrt{E_k (E_k + 2 m c^2)}` with the rest energy of ``mass_number`` nucleons (the proton mass for
  ``mass_number == 1``, atomic mass units otherwise).  At TeV energies :math:`pc \simeq E_k` to 1e-4.
* The gyroradius uses the **total** field :math:`B_\mathrm{tot} = \sqrt{B_0^2 + \delta B^2}` (the convention of
  the Kuhlen-Mertsch-Phan papers): :math:`r_g = pc / (|Z| e B_\mathrm{tot})`, and
  :math:`\Omega = v / r_g`.  ``b_rms`` below always means :math:`B_\mathrm{tot}`.
* The turbulence level is :math:`\eta = \delta B^2 / (B_0^2 + \delta B^2)`, so
  :math:`B_0 = B_\mathrm{tot}\sqrt{1-\eta}`, :math:`\delta B = B_\mathrm{tot}\sqrt{\eta}`.
* :math:`L_c` is the correlation length of a Kolmogorov plane-wave spectrum between :math:`L_\min` and
  :math:`L_\max` in the two-sided convention that gives :math:`L_c \approx L_\max/5`:

  .. math:: L_c = \frac{L_\max}{2}\,\frac{s-1}{s}\,\frac{1-r^s}{1-r^{s-1}},\qquad s = 5/3,\ r = L_\min/L_\max.

  Codes or papers with the one-sided convention (:math:`\approx L_\max/10`) must be converted explicitly.
* Reduced units: lengths in :math:`L_c`; times either in :math:`L_c/c` (``ct/L_c``) or in :math:`1/\Omega`
  (``Ωt``); the reduced rigidity is :math:`r_g/L_c`.

A handy number: :math:`r_g \approx 1.081\times10^{-3}\,\mathrm{pc}\,(E/\mathrm{TeV})(|Z| B/\mu\mathrm{G})^{-1}`
and :math:`1/\Omega \approx 1.11\times10^5` s for 1 TeV in 1 µG.

Examples
--------
>>> from anisotropy import units
>>> f"{units.gyroradius(1.0, 1.0):.3g}"              # pc: a 1 TeV proton in a total field of 1 muG
'0.00108'
>>> round(units.correlation_length(5.0, 1e-3), 3)   # two-sided L_c of L_max = 5: about L_max / 5
1.01
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .errors import require_integer, require_range
from .turbulence import DEFAULT_LMIN_OVER_LMAX, KOLMOGOROV_INDEX

__all__ = [
    "ATOMIC_MASS_UNIT_TEV",
    "ELEMENTARY_CHARGE_C",
    "KOLMOGOROV_INDEX",
    "MICROGAUSS_T",
    "PARSEC_M",
    "PROTON_REST_ENERGY_TEV",
    "SPEED_OF_LIGHT_M_S",
    "ReducedParameters",
    "as_unit",
    "correlation_length",
    "energy_from_gyroradius",
    "field_components",
    "gyrofrequency",
    "gyroradius",
    "momentum",
    "outer_scale",
    "reduced_time",
    "rigidity",
    "seconds_from_reduced_time",
    "speed",
    "to_reduced",
    "turbulence_level",
]

SPEED_OF_LIGHT_M_S = 299_792_458.0  # exact (SI)
ELEMENTARY_CHARGE_C = 1.602_176_634e-19  # exact (SI)
PARSEC_M = 3.085_677_581_491_367_3e16  # IAU 2015 B2
MICROGAUSS_T = 1e-10  # 1 G = 1e-4 T
PROTON_REST_ENERGY_TEV = 0.938_272_088_16e-3  # CODATA 2018
ATOMIC_MASS_UNIT_TEV = 0.931_494_102_42e-3  # CODATA 2018


def _rest_energy_tev(mass_number: int) -> float:
    return PROTON_REST_ENERGY_TEV if mass_number == 1 else mass_number * ATOMIC_MASS_UNIT_TEV


def _check_species(charge, mass_number) -> tuple[int, int]:
    charge = require_integer("charge", charge)
    if charge == 0:
        require_range("charge", charge, 1, None)  # neutral particles do not gyrate
    mass_number = require_integer("mass_number", mass_number, 1, 300)
    return charge, mass_number


def momentum(energy, mass_number: int = 1):
    """Momentum :math:`pc` in TeV for kinetic energy ``energy`` (TeV) of a nucleus of ``mass_number`` nucleons."""
    energy = np.asarray(energy, dtype=float)
    rest = _rest_energy_tev(mass_number)
    return np.sqrt(energy * (energy + 2.0 * rest))


def speed(energy, mass_number: int = 1):
    """Speed in units of c, :math:`\\beta = pc / E_\\mathrm{tot}`."""
    energy = np.asarray(energy, dtype=float)
    return momentum(energy, mass_number) / (energy + _rest_energy_tev(mass_number))


def rigidity(energy, charge: int = 1, mass_number: int = 1):
    """Rigidity :math:`R = pc/(|Z|e)` in TV."""
    charge, mass_number = _check_species(charge, mass_number)
    return momentum(energy, mass_number) / abs(charge)


def gyroradius(energy, b_rms, charge: int = 1, mass_number: int = 1):
    r"""Gyroradius :math:`r_g = pc/(|Z| e B_\mathrm{tot})` in pc.

    Parameters
    ----------
    energy : float or array
        Kinetic energy of the nucleus in TeV (> 0).
    b_rms : float or array
        Total field :math:`B_\mathrm{tot}=\sqrt{B_0^2+\delta B^2}` in µG (> 0).
    charge, mass_number : int
        Charge number Z and mass number A.
    """
    energy = _positive_array("energy", energy)
    b_rms = _positive_array("b_rms", b_rms)
    volts = rigidity(energy, charge, mass_number) * 1e12
    metres = volts / (SPEED_OF_LIGHT_M_S * b_rms * MICROGAUSS_T)
    return _scalar(metres / PARSEC_M)


def energy_from_gyroradius(r_g, b_rms, charge: int = 1, mass_number: int = 1):
    """Inverse of :func:`gyroradius`: kinetic energy (TeV) whose gyroradius in ``b_rms`` (µG) is ``r_g`` (pc)."""
    r_g = _positive_array("r_g", r_g)
    b_rms = _positive_array("b_rms", b_rms)
    charge, mass_number = _check_species(charge, mass_number)
    momentum_tev = r_g * PARSEC_M * SPEED_OF_LIGHT_M_S * b_rms * MICROGAUSS_T * abs(charge) / 1e12
    rest = _rest_energy_tev(mass_number)
    # E_k = sqrt(p^2 + m^2) - m, written to avoid cancellation when p << m
    return _scalar(momentum_tev**2 / (np.sqrt(momentum_tev**2 + rest**2) + rest))


def gyrofrequency(energy, b_rms, charge: int = 1, mass_number: int = 1):
    r"""Gyrofrequency :math:`\Omega = v/r_g` in rad/s, in the total field ``b_rms`` (µG)."""
    r_g_m = np.asarray(gyroradius(energy, b_rms, charge, mass_number)) * PARSEC_M
    return _scalar(speed(energy, mass_number) * SPEED_OF_LIGHT_M_S / r_g_m)


def field_components(b_rms, eta):
    r"""Split the total field into regular and turbulent parts: :math:`(B_0, \delta B)` in the units of ``b_rms``.

    :math:`B_0 = B_\mathrm{tot}\sqrt{1-\eta}`, :math:`\delta B = B_\mathrm{tot}\sqrt{\eta}`
    (docs/physics/conventions.md#units).
    """
    b_rms = require_range("b_rms", b_rms, 0.0, None, low_open=True)
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True)
    return b_rms * math.sqrt(1.0 - eta), b_rms * math.sqrt(eta)


def turbulence_level(b_regular, b_turbulent):
    r"""Turbulence level :math:`\eta = \delta B^2/(B_0^2+\delta B^2)` from the regular and rms turbulent field."""
    b_regular = require_range("b_regular", b_regular, 0.0, None)
    b_turbulent = require_range("b_turbulent", b_turbulent, 0.0, None, low_open=True)
    return b_turbulent**2 / (b_regular**2 + b_turbulent**2)


def _lc_over_lmax(lmin_over_lmax: float, spectral_index: float) -> float:
    s, r = spectral_index, lmin_over_lmax
    return 0.5 * (s - 1.0) / s * (1.0 - r**s) / (1.0 - r ** (s - 1.0))


def correlation_length(l_max, lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
                       spectral_index: float = KOLMOGOROV_INDEX):
    r"""Correlation length :math:`L_c` of a power-law spectrum between ``l_max * lmin_over_lmax`` and ``l_max``.

    Two-sided convention of docs/physics/conventions.md#correlation-length: :math:`L_c =
    (L_\max/2)\,(s-1)/s\,(1-r^s)/(1-r^{s-1})`, which tends
    to :math:`L_\max/5` for :math:`s=5/3,\ r\to0`.  Output in the units of ``l_max``.
    """
    l_max = require_range("l_max", l_max, 0.0, None, low_open=True)
    ratio = require_range("lmin_over_lmax", lmin_over_lmax, 0.0, 1.0, low_open=True, high_open=True)
    index = require_range("spectral_index", spectral_index, 1.0, None, low_open=True)
    return l_max * _lc_over_lmax(ratio, index)


def outer_scale(l_c, lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX, spectral_index: float = KOLMOGOROV_INDEX):
    """Inverse of :func:`correlation_length`: the outer scale :math:`L_\\max` that gives correlation length ``l_c``."""
    l_c = require_range("l_c", l_c, 0.0, None, low_open=True)
    return l_c / correlation_length(1.0, lmin_over_lmax, spectral_index)


def reduced_time(seconds, l_c):
    """Time in seconds to :math:`ct/L_c` for a correlation length ``l_c`` in pc."""
    l_c = require_range("l_c", l_c, 0.0, None, low_open=True)
    return np.asarray(seconds, dtype=float) * SPEED_OF_LIGHT_M_S / (l_c * PARSEC_M)


def seconds_from_reduced_time(ct_over_lc, l_c):
    """Inverse of :func:`reduced_time`."""
    l_c = require_range("l_c", l_c, 0.0, None, low_open=True)
    return np.asarray(ct_over_lc, dtype=float) * l_c * PARSEC_M / SPEED_OF_LIGHT_M_S


@dataclass(frozen=True)
class ReducedParameters:
    r"""The dimensionless parameters the theory and the simulator work with.

    Attributes
    ----------
    reduced_rigidity : float
        :math:`r_g/L_c`, with :math:`r_g` in the total field.
    eta : float
        Turbulence level :math:`\delta B^2/(B_0^2+\delta B^2)`.
    lmin_over_lmax : float
        Ratio of the smallest to the largest turbulence scale.
    speed : float
        Particle speed in units of c (1 to 1e-7 at TeV).
    """

    reduced_rigidity: float
    eta: float
    lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX
    speed: float = 1.0

    def __post_init__(self):
        require_range("reduced_rigidity", self.reduced_rigidity, 0.0, None, low_open=True)
        require_range("eta", self.eta, 0.0, 1.0, low_open=True)
        require_range("lmin_over_lmax", self.lmin_over_lmax, 0.0, 1.0, low_open=True, high_open=True)
        require_range("speed", self.speed, 0.0, 1.0, low_open=True)

    def omega_time(self, ct_over_lc):
        r""":math:`\Omega t` from :math:`ct/L_c`: :math:`\Omega t = \beta\,(ct/L_c)/(r_g/L_c)`."""
        return np.asarray(ct_over_lc, dtype=float) * self.speed / self.reduced_rigidity

    def light_time(self, omega_t):
        r""":math:`ct/L_c` from :math:`\Omega t` (inverse of :meth:`omega_time`)."""
        return np.asarray(omega_t, dtype=float) * self.reduced_rigidity / self.speed

    def energy(self, b_rms, l_c, charge: int = 1, mass_number: int = 1):
        """Kinetic energy (TeV) these reduced parameters correspond to in field ``b_rms`` (µG) and ``l_c`` (pc)."""
        return energy_from_gyroradius(self.reduced_rigidity * l_c, b_rms, charge, mass_number)

    def as_dict(self) -> dict:
        return asdict(self)


def to_reduced(energy, b_rms, l_c, eta, charge: int = 1, mass_number: int = 1,
               lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX):
    """Physical parameters (TeV, µG, pc) to :class:`ReducedParameters`.

    Parameters
    ----------
    energy : float
        Kinetic energy of the nucleus in TeV.
    b_rms : float
        Total field :math:`\\sqrt{B_0^2+\\delta B^2}` in µG.
    l_c : float
        Correlation length in pc (docs/physics/conventions.md#correlation-length, :math:`\\approx L_\\max/5`).
    eta : float
        Turbulence level in (0, 1].
    """
    energy = require_range("energy", energy, 0.0, None, low_open=True)
    l_c = require_range("l_c", l_c, 0.0, None, low_open=True)
    r_g = gyroradius(energy, b_rms, charge, mass_number)
    return ReducedParameters(
        reduced_rigidity=float(r_g) / l_c,
        eta=require_range("eta", eta, 0.0, 1.0, low_open=True),
        lmin_over_lmax=lmin_over_lmax,
        speed=float(speed(energy, mass_number)),
    )


def _positive_array(name, value):
    array = np.asarray(value, dtype=float) if not isinstance(value, str) else None
    if array is None or array.size == 0:
        require_range(name, value, 0.0, None, low_open=True)
    if array.ndim == 0:
        return require_range(name, float(array), 0.0, None, low_open=True)
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        require_range(name, array[~(np.isfinite(array) & (array > 0))].flat[0], 0.0, None, low_open=True)
    return array


def _scalar(array):
    array = np.asarray(array)
    return float(array) if array.ndim == 0 else array


def as_unit(name: str, value, unit: str):
    """``value`` as a plain number (or array) in ``unit``: the one conversion at the API edge.

    Accepts a float (or array) already in ``unit`` -- the documented units stay the default --, an
    ``astropy.units.Quantity`` of any compatible unit (``10 * u.TeV``, ``1e4 * u.GeV``, ``3.086e16 * u.m``), or a
    string with a number and a unit (``"10 TeV"``, ``"3 uG"``, ``"1 pc"``; parsed by astropy).  Strings that are
    plain numbers are returned unchanged for the range checks.  An incompatible or unparseable unit raises
    :class:`~anisotropy.errors.ParameterError` naming ``name``.

    Parameters
    ----------
    name : str
        The argument's name, for the error message.
    value : float, array, Quantity or str
    unit : str
        The documented unit, as astropy spells it: ``"TeV"``, ``"uG"``, ``"pc"``, ``"1/pc"``.

    Examples
    --------
    >>> as_unit("energy", 10.0, "TeV")
    10.0
    >>> import astropy.units as u
    >>> round(as_unit("energy", 1e4 * u.GeV, "TeV"), 12)
    10.0
    >>> round(as_unit("b_rms", "300 nG", "uG"), 12)
    0.3
    """
    from .errors import ParameterError

    if isinstance(value, str):
        text = value.strip()
        try:
            float(text)
            return text  # a plain number: left to the range check, which names the parameter
        except ValueError:
            pass
        if len(text) > 100:
            raise ParameterError(name, f"expected a number in {unit} or a quantity such as '10 {unit}'")
        try:
            from astropy.units import Quantity
        except ImportError:
            raise ParameterError(name, f"a quantity with a unit needs astropy (pip install astropy); or give a "
                                 f"plain number in {unit}") from None
        try:
            value = Quantity(text)
        except Exception:
            raise ParameterError(name, f"expected a number in {unit} or a quantity such as '10 {unit}', got "
                                 f"{text[:40]!r}") from None
    if hasattr(value, "unit") and hasattr(value, "to_value"):
        try:
            converted = value.to_value(unit)
        except Exception:
            raise ParameterError(name, f"expected a quantity in units of {unit}, got unit {value.unit}") from None
        return float(converted) if np.ndim(converted) == 0 else np.asarray(converted, dtype=float)
    return value

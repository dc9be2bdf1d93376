r"""Transport coefficients of the Galactic model: kinematics, diffusion, decay, ionisation and Coulomb losses.

Conventions: kinetic energy per nucleon ``T`` in GeV/n, rigidity in GV, lengths kpc, times Myr, gas densities cm⁻³.
The nucleon rest energy is the atomic mass unit (so that :math:`\gamma = 1 + T/m_u c^2` for every isotope; the
binding-energy correction is below 1 % for the light nuclei used here).  Physical constants are CODATA values from
:mod:`scipy.constants`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.constants as const

from anisotropy.errors import ParameterError, require_range
from anisotropy.units import PARSEC_M, SPEED_OF_LIGHT_M_S

__all__ = [
    "BE10_HALF_LIFE_MYR",
    "MYR_S",
    "NUCLEON_REST_ENERGY_GEV",
    "SPEED_OF_LIGHT_KPC_MYR",
    "Medium",
    "coulomb_loss_rate",
    "decay_rate",
    "diffusion_coefficient",
    "energy_loss_rate",
    "ionisation_loss_rate",
    "kinetic_energy_per_nucleon",
    "lorentz_factor",
    "momentum_per_nucleon",
    "rigidity",
    "speed",
]

MYR_S = 1e6 * const.Julian_year  # Julian year, s
SPEED_OF_LIGHT_KPC_MYR = SPEED_OF_LIGHT_M_S * MYR_S / (1e3 * PARSEC_M)  # ~306.6 kpc/Myr (one light-Myr)
NUCLEON_REST_ENERGY_GEV = const.physical_constants["atomic mass constant energy equivalent in MeV"][0] * 1e-3
#: 10Be half-life: Korschinek et al., "A new value for the half-life of 10Be by Heavy-Ion Elastic Recoil Detection
#: and liquid scintillation counting", Nucl. Instrum. Methods B 268 (2010) (1.387 +- 0.012 Myr, with Chmeleff et al.
#: in the same volume)
BE10_HALF_LIFE_MYR = 1.387

_ELECTRON_RADIUS_CM = const.physical_constants["classical electron radius"][0] * 1e2
_ELECTRON_REST_GEV = const.physical_constants["electron mass energy equivalent in MeV"][0] * 1e-3
_HBAR_C_GEV_CM = const.physical_constants["reduced Planck constant times c in MeV fm"][0] * 1e-3 * 1e-13
_BOLTZMANN_GEV_K = const.physical_constants["Boltzmann constant in eV/K"][0] * 1e-9
_C_CM_S = SPEED_OF_LIGHT_M_S * 1e2
#: mean excitation energies of H and He (Mannheim & Schlickeiser 1994, as quoted by Strong & Moskalenko 1998, C1)
_EXCITATION_GEV = {"H": 19e-9, "He": 44e-9}
#: below this speed the Bethe formula does not apply (Strong & Moskalenko 1998, after eq. C3: beta_0 = 0.01)
_BETA_MIN_IONISATION = 0.01


def _positive_array(name, value):
    array = np.asarray(value, dtype=float)
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        bad = array[~(np.isfinite(array) & (array > 0))] if array.size else value
        require_range(name, np.asarray(bad).flat[0] if np.size(bad) else "empty", 0.0, None, low_open=True)
    return array


def lorentz_factor(T):
    """:math:`\\gamma = 1 + T/(m_u c^2)` for kinetic energy per nucleon ``T`` (GeV/n)."""
    return 1.0 + _positive_array("energy", T) / NUCLEON_REST_ENERGY_GEV


def momentum_per_nucleon(T):
    """:math:`p c` per nucleon in GeV: :math:`\\sqrt{T(T + 2 m_u c^2)}`."""
    T = _positive_array("energy", T)
    return np.sqrt(T * (T + 2.0 * NUCLEON_REST_ENERGY_GEV))


def speed(T):
    """:math:`\\beta = v/c` at kinetic energy per nucleon ``T`` (GeV/n)."""
    return momentum_per_nucleon(T) / (np.asarray(T, dtype=float) + NUCLEON_REST_ENERGY_GEV)


def rigidity(T, charge: int, mass_number: int):
    """Rigidity :math:`R = (A/|Z|)\\,p_n c/e` in GV."""
    return mass_number / abs(charge) * momentum_per_nucleon(T)


def kinetic_energy_per_nucleon(R, charge: int, mass_number: int):
    r"""Inverse of :func:`rigidity`: :math:`T = \sqrt{(|Z| R/A)^2 + m_u^2} - m_u` in GeV/n for rigidity ``R`` (GV).

    Examples
    --------
    >>> from anisotropy.galaxy.transport import kinetic_energy_per_nucleon, rigidity
    >>> round(float(rigidity(kinetic_energy_per_nucleon(10.0, 4, 9), 4, 9)), 12)
    10.0
    """
    momentum = abs(charge) / mass_number * _positive_array("rigidity", R)
    # written as p^2 / (sqrt(p^2 + m^2) + m) to keep full precision when p << m
    return momentum**2 / (np.sqrt(momentum**2 + NUCLEON_REST_ENERGY_GEV**2) + NUCLEON_REST_ENERGY_GEV)


def diffusion_coefficient(T, charge: int, mass_number: int, *, kappa0, delta, reference_rigidity=1.0):
    r""":math:`\kappa(R) = \kappa_0\,\beta\,(R/R_0)^\delta` in kpc²/Myr (the halo value; the disk has
    :math:`\alpha\kappa`).

    Examples
    --------
    >>> from anisotropy.galaxy.transport import diffusion_coefficient
    >>> k = diffusion_coefficient(1e3, 6, 12, kappa0=0.1, delta=0.5)   # beta ~ 1, R ~ 2 TV
    >>> round(float(k / (0.1 * (2 * 1000.93) ** 0.5)), 3)
    1.0
    """
    kappa0 = require_range("kappa0", kappa0, 0.0, None, low_open=True)
    delta = require_range("delta", delta, 0.0, 1.5)
    reference_rigidity = require_range("reference_rigidity", reference_rigidity, 0.0, None, low_open=True)
    return kappa0 * speed(T) * (rigidity(T, charge, mass_number) / reference_rigidity) ** delta


def decay_rate(T, half_life_myr=BE10_HALF_LIFE_MYR):
    r"""Decay rate in the Galaxy frame :math:`1/(\gamma\tau)`, :math:`\tau = t_{1/2}/\ln 2`, in 1/Myr."""
    half_life_myr = require_range("half_life", half_life_myr, 0.0, None, low_open=True)
    return math.log(2.0) / (half_life_myr * lorentz_factor(T))


class Medium:
    """Gas of the disk: neutral H and He, free electrons at temperature ``electron_temperature`` (K).

    Defaults are round, assumed values for the local disk (not fitted; change them per run).
    """

    def __init__(self, n_hydrogen=1.0, n_helium=0.1, n_electron=0.03, electron_temperature=1e4):
        self.n_hydrogen = require_range("n_hydrogen", n_hydrogen, 0.0, None)
        self.n_helium = require_range("n_helium", n_helium, 0.0, None)
        self.n_electron = require_range("n_electron", n_electron, 0.0, None)
        self.electron_temperature = require_range("electron_temperature", electron_temperature, 0.0, None,
                                                  low_open=True)

    def to_dict(self):
        return {"n_hydrogen": self.n_hydrogen, "n_helium": self.n_helium, "n_electron": self.n_electron,
                "electron_temperature": self.electron_temperature}


def ionisation_loss_rate(T, charge: int, mass_number: int, medium: Medium):
    r"""Ionisation loss :math:`-dT/dt` per nucleon (GeV/n per Myr) in neutral H and He.

    Strong & Moskalenko 1998 (ApJ 509, 212), eqs. (C3)-(C5), after Mannheim & Schlickeiser 1994 (A&A 286, 983):
    :math:`-dE/dt = 2\pi r_e^2 c\, m_e c^2 Z^2 \beta^{-1} \sum_s n_s Z_s B_s`,
    :math:`B_s = \ln(2 m_e c^2 \beta^2\gamma^2 Q_\max/\tilde I_s^2) - 2\beta^2`,
    :math:`Q_\max = 2 m_e c^2\beta^2\gamma^2/(1 + 2\gamma m_e/M)`; shell, density and Barkas terms neglected.
    Helium counts its two electrons (:math:`Z_s = 2`); zero below :math:`\beta_0 = 0.01`.
    """
    gamma = lorentz_factor(T)
    beta = speed(T)
    projectile_mass = mass_number * NUCLEON_REST_ENERGY_GEV
    q_max = 2 * _ELECTRON_REST_GEV * beta**2 * gamma**2 / (1 + 2 * gamma * _ELECTRON_REST_GEV / projectile_mass)
    total = 0.0
    for species, density, electrons in (("H", medium.n_hydrogen, 1), ("He", medium.n_helium, 2)):
        stopping = np.log(2 * _ELECTRON_REST_GEV * beta**2 * gamma**2 * q_max / _EXCITATION_GEV[species] ** 2)
        total = total + density * electrons * (stopping - 2 * beta**2)
    rate = 2 * math.pi * _ELECTRON_RADIUS_CM**2 * _C_CM_S * _ELECTRON_REST_GEV * charge**2 * total / beta
    rate = np.where(beta >= _BETA_MIN_IONISATION, rate, 0.0)
    return rate * MYR_S / mass_number


def coulomb_loss_rate(T, charge: int, mass_number: int, medium: Medium):
    r"""Coulomb loss :math:`-dT/dt` per nucleon (GeV/n per Myr) on thermal electrons of the ionised gas.

    Strong & Moskalenko 1998, eqs. (C1)-(C2) (after Mannheim & Schlickeiser 1994, their 4.16 and 4.22):
    :math:`-dE/dt = 4\pi r_e^2 c\, m_e c^2 Z^2 n_e \ln\Lambda\,\beta^2/(x_m^3+\beta^3)`,
    :math:`x_m = (3\sqrt\pi/4)^{1/3}(2kT_e/m_ec^2)^{1/2}`,
    :math:`\ln\Lambda = \tfrac12\ln\big[m_e^2c^4 M\gamma^2\beta^4/(\pi r_e \hbar^2c^2 n_e (M+2\gamma m_e))\big]`.
    """
    if medium.n_electron == 0:
        return np.zeros_like(np.asarray(T, dtype=float))
    gamma = lorentz_factor(T)
    beta = speed(T)
    projectile_mass = mass_number * NUCLEON_REST_ENERGY_GEV
    x_m = (3 * math.sqrt(math.pi) / 4) ** (1 / 3) * math.sqrt(2 * _BOLTZMANN_GEV_K * medium.electron_temperature
                                                             / _ELECTRON_REST_GEV)
    log_lambda = 0.5 * np.log(_ELECTRON_REST_GEV**2 * projectile_mass * gamma**2 * beta**4
                              / (math.pi * _ELECTRON_RADIUS_CM * _HBAR_C_GEV_CM**2 * medium.n_electron
                                 * (projectile_mass + 2 * gamma * _ELECTRON_REST_GEV)))
    rate = (4 * math.pi * _ELECTRON_RADIUS_CM**2 * _C_CM_S * _ELECTRON_REST_GEV * charge**2 * medium.n_electron
            * log_lambda * beta**2 / (x_m**3 + beta**3))
    return np.maximum(rate, 0.0) * MYR_S / mass_number


def energy_loss_rate(T, charge: int, mass_number: int, medium: Medium):
    """Total continuous loss :math:`-dT/dt` (GeV/n per Myr, >= 0) in the disk: ionisation + Coulomb.

    Examples
    --------
    >>> from anisotropy.galaxy.transport import Medium, energy_loss_rate
    >>> rate = energy_loss_rate([0.1, 1.0, 10.0], 6, 12, Medium())
    >>> bool(rate[0] > rate[1] > 0)
    True
    """
    if abs(int(charge)) < 1:
        raise ParameterError("charge", f"must be >= 1 for a nucleus, got {charge}")
    return ionisation_loss_rate(T, charge, mass_number, medium) + coulomb_loss_rate(T, charge, mass_number, medium)

r"""Nuclear cross sections on interstellar hydrogen: total inelastic and isotopic production, with loaders.

* Total inelastic: the parametrisation of Letaw, Silberberg & Tsao 1983 (ApJS 51, 271),
  :math:`\sigma = 45\,A^{0.7}[1 + 0.016\sin(5.3 - 2.63\ln A)]` mb, times
  :math:`1 - 0.62\,e^{-T/0.2}\sin(1.58\,T^{-0.28})` below 5 GeV/n and, for Be, :math:`1 + 0.75\,e^{-T/0.075}`
  (T in GeV/n), in the form implemented in XS4GCR (C. Evoli, MIT licence).
* Production: the fits of Evoli, Aloisio & Blasi 2019 (PRD 99, 103023, arXiv:1904.10220), whose parameter table
  ships as ``data/evoli2019_fragmentation_fitparams.txt`` (provenance and licence in its header):
  :math:`\sigma(T) = \sigma_1 (1 - E_\mathrm{th}/T)^\xi [1 + \Delta/(1 + (T_h/T)^2)]
  + \sigma_0\Gamma^2 (T - E_\mathrm{th})^2/[(T^2 - M^2)^2 + \Gamma^2 M^2]` for :math:`T > E_\mathrm{th}`,
  :math:`T_h` = 2 GeV/n.  The table covers ¹²C and ¹⁶O to ⁶Li, ⁷Li, ⁷Be, ⁹Be, ¹⁰Be, ¹⁰B, ¹¹B (+ ¹¹C) and ¹⁴N to
  ⁷Be, ¹⁰Be, ¹¹C only; the other ¹⁴N channels are absent (zero) unless a user table provides them.

User tables (:func:`load_cross_section_table`): CSV with columns ``parent, child, energy, sigma_mb`` (energy in
GeV/n, isotopes written like ``12C``), interpolated linearly in ln T, zero outside the tabulated range.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from anisotropy.errors import ParameterError

__all__ = [
    "DEFAULT_TABLE",
    "ELEMENT_SYMBOLS",
    "CrossSections",
    "FitChannel",
    "inelastic_cross_section",
    "isotope",
    "isotope_name",
    "load_cross_section_table",
    "load_fragmentation_fits",
]

DEFAULT_TABLE = "evoli2019_fragmentation_fitparams.txt"
ELEMENT_SYMBOLS = {1: "H", 2: "He", 3: "Li", 4: "Be", 5: "B", 6: "C", 7: "N", 8: "O"}
_SYMBOL_CHARGE = {symbol.lower(): charge for charge, symbol in ELEMENT_SYMBOLS.items()}
#: short-lived fragments counted as their daughter (11C -> 11B: beta+ decay within minutes; 10C -> 10B)
GHOSTS = {(6, 11): (5, 11), (6, 10): (5, 10)}
_HIGH_ENERGY_SCALE_MEV = 2000.0  # T_h of the Evoli et al. 2019 fitting function


def isotope(name) -> tuple[int, int]:
    """``"10Be"`` (or ``"Be10"``, any case) -> ``(4, 10)``; unknown names raise :class:`ParameterError`."""
    text = str(name).strip()
    match = re.fullmatch(r"(\d+)([A-Za-z]+)|([A-Za-z]+)-?(\d+)", text)
    if match is None:
        raise ParameterError("isotope", f"expected a name such as '10Be', got {name!r}")
    mass, symbol = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
    charge = _SYMBOL_CHARGE.get(symbol.lower())
    if charge is None or int(mass) < charge:
        raise ParameterError("isotope", f"unknown isotope {name!r} (elements H..O)")
    return charge, int(mass)


def isotope_name(charge: int, mass_number: int) -> str:
    """``(4, 10)`` -> ``"10Be"``."""
    return f"{mass_number}{ELEMENT_SYMBOLS[charge]}"


def inelastic_cross_section(T, charge: int, mass_number: int):
    """Total inelastic cross section on hydrogen in mb (Letaw, Silberberg & Tsao 1983; see module docstring).

    Examples
    --------
    >>> from anisotropy.galaxy.cross_sections import inelastic_cross_section
    >>> round(float(inelastic_cross_section(100.0, 6, 12)), 1)  # 12C at high energy
    252.4
    """
    T = np.asarray(T, dtype=float)
    A = float(mass_number)
    sigma = 45.0 * A**0.7 * (1.0 + 0.016 * math.sin(5.3 - 2.63 * math.log(A))) * np.ones_like(T)
    low = T < 5.0
    safe = np.where(T > 0, T, 1.0)
    sigma = np.where(low, sigma * (1.0 - 0.62 * np.exp(-safe / 0.2) * np.sin(1.58 / safe**0.28)), sigma)
    if charge == 4:
        sigma = sigma * (1.0 + 0.75 * np.exp(-T / 0.075))
    return sigma


@dataclass(frozen=True)
class FitChannel:
    """One channel of the Evoli et al. 2019 fit (energies in MeV/n, cross sections in mb)."""

    threshold: float
    sigma0: float
    mass: float
    width: float
    sigma1: float
    xi: float
    delta: float

    def __call__(self, T):
        """Cross section in mb at kinetic energy per nucleon ``T`` in GeV/n."""
        t = np.asarray(T, dtype=float) * 1e3
        above = t > self.threshold
        safe = np.where(above, t, 2.0 * self.threshold + 1.0)
        high = self.sigma1 * (1.0 - self.threshold / safe) ** self.xi
        high = high * (1.0 + self.delta / (1.0 + (_HIGH_ENERGY_SCALE_MEV / safe) ** 2))
        if self.sigma0 > 0:
            high = high + (self.sigma0 * self.width**2 * (safe - self.threshold) ** 2
                           / ((safe**2 - self.mass**2) ** 2 + self.width**2 * self.mass**2))
        return np.maximum(np.where(above, high, 0.0), 0.0)


class CrossSections:
    """Production cross sections ``sigma(parent, child, T)`` in mb, from fits and/or tables, summed over ghosts."""

    def __init__(self, channels: dict):
        self.channels = dict(channels)  # ((Z, A) parent, (Z, A) child) -> callable T[GeV/n] -> mb

    def production(self, parent, child, T):
        """Summed cross section for ``parent -> child`` (child's short-lived ghosts included), in mb."""
        parent = isotope(parent) if isinstance(parent, str) else tuple(parent)
        child = isotope(child) if isinstance(child, str) else tuple(child)
        total = np.zeros_like(np.asarray(T, dtype=float))
        for (source, fragment), function in self.channels.items():
            if source == parent and GHOSTS.get(fragment, fragment) == child:
                total = total + function(T)
        return total

    def parents_of(self, child):
        child = isotope(child) if isinstance(child, str) else tuple(child)
        return sorted({source for (source, fragment) in self.channels if GHOSTS.get(fragment, fragment) == child})

    def merged(self, other: CrossSections) -> CrossSections:
        """Channels of ``other`` replace those of ``self`` (user tables override the shipped fits)."""
        return CrossSections({**self.channels, **other.channels})


def load_fragmentation_fits(path=None) -> CrossSections:
    """Read a table in the format of ``data/evoli2019_fragmentation_fitparams.txt`` (the shipped one by default)."""
    if path is None:
        text = resources.files("anisotropy.galaxy").joinpath("data", DEFAULT_TABLE).read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ParameterError("cross_sections", f"cannot read {str(path)!r}: {error.strerror}") from None
    channels = {}
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) < 11:
            raise ParameterError("cross_sections", f"line {number}: expected 11 columns "
                                                   "(Zp Ap Zc Ac E_th sigma0 M Gamma sigma1 xi Delta)")
        zp, ap, zc, ac = (int(value) for value in fields[:4])
        threshold, sigma0, mass, width, sigma1, xi, delta = (float(value) for value in fields[4:11])
        channels[((zp, ap), (zc, ac))] = FitChannel(threshold, sigma0, mass, width, sigma1, xi, delta)
    return CrossSections(channels)


REQUIRED_COLUMNS = ("parent", "child", "energy", "sigma_mb")


def load_cross_section_table(path) -> CrossSections:
    """Read a user CSV (columns ``parent, child, energy, sigma_mb``; energy in GeV/n) into :class:`CrossSections`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from anisotropy.galaxy.cross_sections import load_cross_section_table
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "xs.csv"
    >>> _ = path.write_text("parent,child,energy,sigma_mb\\n12C,11B,0.1,30\\n12C,11B,10,40\\n")
    >>> round(float(load_cross_section_table(path).production("12C", "11B", 1.0)), 6)
    35.0
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(line for line in handle if not line.lstrip().startswith("#")))
    except OSError as error:
        raise ParameterError("cross_sections", f"cannot read {str(path)!r}: {error.strerror}") from None
    header = set(rows[0]) if rows else set()
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ParameterError("cross_sections", f"{path.name} lacks the column(s) {', '.join(missing)} "
                                               f"(required: {', '.join(REQUIRED_COLUMNS)})")
    grouped: dict = {}
    for row in rows:
        key = (isotope(row["parent"]), isotope(row["child"]))
        try:
            energy, sigma = float(row["energy"]), float(row["sigma_mb"])
        except ValueError:
            raise ParameterError("cross_sections", f"non-numeric energy or sigma_mb in {path.name}: {row}") from None
        if energy <= 0 or sigma < 0:
            raise ParameterError("cross_sections", f"energies must be > 0 and sigma_mb >= 0 in {path.name}")
        grouped.setdefault(key, []).append((energy, sigma))
    channels = {}
    for key, points in grouped.items():
        points.sort()
        log_energy = np.log([energy for energy, _ in points])
        sigma = np.array([value for _, value in points])
        channels[key] = _Tabulated(log_energy, sigma)
    return CrossSections(channels)


class _Tabulated:
    def __init__(self, log_energy, sigma):
        self.log_energy, self.sigma = log_energy, sigma

    def __call__(self, T):
        return np.interp(np.log(np.asarray(T, dtype=float)), self.log_energy, self.sigma, left=0.0, right=0.0)

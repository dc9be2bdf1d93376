r"""Published ratio tables: the shipped AMS-02 B/C, Be/B and preliminary ¹⁰Be/⁹Be, and their loaders.

The shipped table (``data/ams02_bc_ekn_prl117_231102.txt``) is the AMS-02 boron-to-carbon ratio against kinetic
energy per nucleon of Aguilar et al. (AMS Collaboration), *Phys. Rev. Lett.* 117, 231102 (2016),
doi:10.1103/PhysRevLett.117.231102, copied from the MIT-licensed converter repository
github.com/carmeloevoli/KISS-CosmicRayDataBase (which takes it from CRDB, https://lpsc.in2p3.fr/crdb); provenance,
licence, checksums and caveats are in ``anisotropy/galaxy/data/README.md`` and in the file's header.  From the same
repository and commit, ``data/ams02_be_b_rigidity_prl120_021101.txt`` is the AMS-02 Be/B of Aguilar et al.,
*Phys. Rev. Lett.* 120, 021101 (2018), doi:10.1103/PhysRevLett.120.021101, **against rigidity** (GV), as published;
the fit compares it with the model's Be/B at equal rigidity (no isotopic mix is assumed for the data).

The second shipped table (``data/ams02_be10_be9_preliminary_tevpa2024.txt``) is **preliminary**: AMS-02 ¹⁰Be/⁹Be
points shown at a conference (TeVPA 2024) and digitised by C. Evoli in the MIT-licensed repository
github.com/carmeloevoli/NLBM; no AMS-02 ¹⁰Be/⁹Be table is published.  It is read by :func:`load_band_table`: ``##
ratio:``, ``## columns: energy value low high`` and ``## source:`` header lines, then rows of four numbers; the
error is half the band, :math:`\sigma = (\mathrm{high} - \mathrm{low})/2`, taken as a total 1σ error.

Format read by :func:`load_published_ratio` (the output format of KISS): ``#Key: value`` header lines, of which
``Ref``, ``Experiment``, ``Y Quantity`` and ``X Quantity`` are required, then rows of six numbers ``x, y,
stat_lo, stat_up, sys_lo, sys_up``.  ``X Quantity`` is ``kineticEnergyPerNucleon`` (x in GeV/n) or ``rigidity``
(x in GV; the returned :class:`~anisotropy.galaxy.fit.RatioData` has ``axis="rigidity"``): a ratio against
rigidity is never converted to kinetic energy per nucleon, since that would need an isotopic composition.  The
total error per point is
:math:`\sigma = \sqrt{\bar\sigma_\mathrm{stat}^2 + \bar\sigma_\mathrm{sys}^2}` with each part the mean of its lower
and upper value; the likelihood of :mod:`anisotropy.galaxy.fit` treats the points as independent (the
systematic errors of AMS-02 are correlated in energy; see ``docs/physics/suppressed_diffusion.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anisotropy.errors import ParameterError

from .fit import RatioData

__all__ = ["AMS02_BERYLLIUM_RATIO_PRELIMINARY", "AMS02_BERYLLIUM_TO_BORON", "AMS02_BORON_TO_CARBON",
           "ams02_beryllium_ratio_preliminary", "ams02_beryllium_to_boron", "ams02_boron_to_carbon",
           "load_band_table", "load_published_ratio"]

#: the shipped AMS-02 B/C table (PRL 117, 231102 (2016); against kinetic energy per nucleon)
AMS02_BORON_TO_CARBON = Path(__file__).parent / "data" / "ams02_bc_ekn_prl117_231102.txt"
#: the shipped AMS-02 Be/B table (PRL 120, 021101 (2018); against rigidity in GV)
AMS02_BERYLLIUM_TO_BORON = Path(__file__).parent / "data" / "ams02_be_b_rigidity_prl120_021101.txt"
#: the shipped PRELIMINARY AMS-02 ¹⁰Be/⁹Be (digitised conference points, TeVPA 2024)
AMS02_BERYLLIUM_RATIO_PRELIMINARY = Path(__file__).parent / "data" / "ams02_be10_be9_preliminary_tevpa2024.txt"
BAND_COLUMNS = "energy value low high"
#: KISS/CRDB names of the ratios the fit knows
_Y_QUANTITIES = {"B_C": "B/C", "Be_B": "Be/B", "Be_C": "Be/C", "Li_C": "Li/C"}
_REQUIRED_KEYS = ("Ref", "Experiment", "Y Quantity", "X Quantity")
#: KISS/CRDB names of the x axes accepted -> the ``axis`` of :class:`~anisotropy.galaxy.fit.RatioData`
_X_QUANTITIES = {"kineticEnergyPerNucleon": "kinetic_energy_per_nucleon", "rigidity": "rigidity"}
_COLUMNS = 6  # x, y, stat_lo, stat_up, sys_lo, sys_up


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ParameterError("data", f"cannot read {str(path)!r}: {error.strerror}") from None


def _read_header_and_rows(path: Path):
    lines = _read_lines(path)
    header, rows = {}, []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("##"):  # blank, or a provenance line added by this package
            continue
        if text.startswith("#"):
            key, colon, value = text[1:].partition(":")
            if colon:
                header[key.strip()] = value.strip()
            continue
        try:
            row = [float(field) for field in text.split()]
        except ValueError:
            raise ParameterError("data", f"non-numeric row at {path.name}:{number}: {text!r}") from None
        if len(row) != _COLUMNS:
            raise ParameterError("data", f"{path.name}:{number} has {len(row)} columns, expected {_COLUMNS} "
                                         "(x, y, stat_lo, stat_up, sys_lo, sys_up)")
        rows.append(row)
    return header, np.array(rows, dtype=float).reshape(-1, _COLUMNS)


def _check_header(header: dict, path: Path) -> tuple:
    missing = [key for key in _REQUIRED_KEYS if not header.get(key)]
    if missing:
        lines = ", ".join(f"#{key}:" for key in missing)
        raise ParameterError("data", f"{path.name} lacks the header line(s) {lines}")
    if header["X Quantity"] not in _X_QUANTITIES:
        raise ParameterError("data", f"{path.name} is against {header['X Quantity']!r}; accepted: "
                                     f"{', '.join(_X_QUANTITIES)}")
    if header["Y Quantity"] not in _Y_QUANTITIES:
        raise ParameterError("data", f"{path.name}: unknown Y Quantity {header['Y Quantity']!r}; "
                                     f"known: {', '.join(_Y_QUANTITIES)}")
    return _Y_QUANTITIES[header["Y Quantity"]], _X_QUANTITIES[header["X Quantity"]]


def load_published_ratio(path, *, energy_min=0.0, energy_max=np.inf) -> RatioData:
    """Read one ratio table in the KISS/CRDB text format into :class:`RatioData`.

    Parameters
    ----------
    path : path-like
        The table: ``#Key: value`` header (``Ref``, ``Experiment``, ``Y Quantity``, ``X Quantity`` required; ``##``
        lines are ignored) and rows ``x, y, stat_lo, stat_up, sys_lo, sys_up``; x in GeV/n (``X Quantity:
        kineticEnergyPerNucleon``) or GV (``X Quantity: rigidity``).
    energy_min, energy_max : float
        Keep the points with ``energy_min <= x <= energy_max`` (in the unit of x).

    Returns
    -------
    RatioData
        ``error`` is statistical and systematic errors in quadrature; ``source`` names the experiment and the
        reference of the header; ``axis`` is ``"kinetic_energy_per_nucleon"`` or ``"rigidity"``.

    Examples
    --------
    >>> from anisotropy.galaxy.datasets import AMS02_BORON_TO_CARBON, load_published_ratio
    >>> data = load_published_ratio(AMS02_BORON_TO_CARBON, energy_max=100.0)
    >>> data.ratio, bool(data.energy.min() > 0.4), bool(data.energy.max() <= 100.0)
    ('B/C', True, True)
    """
    path = Path(path)
    header, rows = _read_header_and_rows(path)
    name, axis = _check_header(header, path)
    if energy_min > energy_max:
        raise ParameterError("energy_min", f"must not exceed energy_max = {energy_max:g}, got {energy_min:g}")
    if rows.size == 0:
        raise ParameterError("data", f"{path.name} has no data rows")
    energy, value = rows[:, 0], rows[:, 1]
    statistical, systematic = rows[:, 2:4].mean(axis=1), rows[:, 4:6].mean(axis=1)
    error = np.hypot(statistical, systematic)
    if not (np.all(np.isfinite(rows)) and np.all(energy > 0) and np.all(error > 0)):
        raise ParameterError("data", f"energies and errors must be finite and > 0 in {path.name}")
    keep = (energy >= energy_min) & (energy <= energy_max)
    if not keep.any():
        raise ParameterError("energy_min", f"no point of {path.name} lies in [{energy_min:g}, {energy_max:g}]")
    source = f"{header['Experiment']} {name}, {header['Ref']}"
    return RatioData(name, energy[keep], value[keep], error[keep], source=source, axis=axis)


def ams02_boron_to_carbon(*, energy_min=0.0, energy_max=np.inf) -> RatioData:
    """The shipped AMS-02 B/C against kinetic energy per nucleon (PRL 117, 231102 (2016)), 67 points, 0.45-918 GeV/n.

    Examples
    --------
    >>> from anisotropy.galaxy.datasets import ams02_boron_to_carbon
    >>> data = ams02_boron_to_carbon()
    >>> data.ratio, data.energy.size, data.source
    ('B/C', 67, 'AMS-02 B/C, 10.1103/PhysRevLett.117.231102 (2016PhRvL.117w1102A)')
    """
    return load_published_ratio(AMS02_BORON_TO_CARBON, energy_min=energy_min, energy_max=energy_max)


def ams02_beryllium_to_boron(*, rigidity_min=0.0, rigidity_max=np.inf) -> RatioData:
    """The shipped AMS-02 Be/B **against rigidity** (PRL 120, 021101 (2018)), 66 points, 2.27-2071 GV.

    The points are bin centres in rigidity (GV); the returned set has ``axis="rigidity"``, so the fit compares
    them with the model's Be and B fluxes per unit rigidity at equal rigidity.

    Examples
    --------
    >>> from anisotropy.galaxy.datasets import ams02_beryllium_to_boron
    >>> data = ams02_beryllium_to_boron()
    >>> data.ratio, data.axis, data.energy.size, data.source
    ('Be/B', 'rigidity', 66, 'AMS-02 Be/B, 10.1103/PhysRevLett.120.021101 (2018PhRvL.120b1101A)')
    """
    if rigidity_min > rigidity_max:
        raise ParameterError("rigidity_min", f"must not exceed rigidity_max = {rigidity_max:g}, got {rigidity_min:g}")
    return load_published_ratio(AMS02_BERYLLIUM_TO_BORON, energy_min=rigidity_min, energy_max=rigidity_max)


def _band_header_and_rows(path: Path):
    lines = _read_lines(path)
    header, rows = {}, []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if text.startswith("##"):
            key, colon, value = text[2:].partition(":")
            if colon:
                header.setdefault(key.strip(), value.strip())
            continue
        if not text or text.startswith("#"):
            continue
        try:
            row = [float(field) for field in text.split()]
        except ValueError:
            raise ParameterError("data", f"non-numeric row at {path.name}:{number}: {text!r}") from None
        if len(row) != 4:
            raise ParameterError("data", f"{path.name}:{number} has {len(row)} columns, expected 4 ({BAND_COLUMNS})")
        rows.append(row)
    return header, np.array(rows, dtype=float).reshape(-1, 4)


def load_band_table(path) -> RatioData:
    """Read a table of points with an error band (``## ratio:``, ``## columns: energy value low high`` and
    ``## source:`` header lines; rows ``energy value low high``, energy in GeV/n) into :class:`RatioData`.

    The error is half the band, ``(high - low) / 2``, used as a total 1σ error.

    Examples
    --------
    >>> from anisotropy.galaxy.datasets import AMS02_BERYLLIUM_RATIO_PRELIMINARY, load_band_table
    >>> data = load_band_table(AMS02_BERYLLIUM_RATIO_PRELIMINARY)
    >>> data.ratio, data.energy.size, data.source.startswith("preliminary")
    ('10Be/9Be', 14, True)
    """
    from .observables import RATIOS

    path = Path(path)
    header, rows = _band_header_and_rows(path)
    missing = [key for key in ("ratio", "columns", "source") if not header.get(key)]
    if missing:
        raise ParameterError("data", f"{path.name} lacks the header line(s) {', '.join(f'## {k}:' for k in missing)}")
    if header["columns"] != BAND_COLUMNS:
        raise ParameterError("data", f"{path.name}: columns must be {BAND_COLUMNS!r}, got {header['columns']!r}")
    if header["ratio"] not in RATIOS:
        raise ParameterError("data", f"unknown ratio {header['ratio']!r} in {path.name}; known: {', '.join(RATIOS)}")
    if rows.size == 0:
        raise ParameterError("data", f"{path.name} has no data rows")
    energy, value, low, high = rows.T
    if not (np.all(np.isfinite(rows)) and np.all(energy > 0) and np.all(low <= value) and np.all(value <= high)
            and np.all(high > low)):
        raise ParameterError("data", f"need finite energies > 0 and low <= value <= high, low < high in {path.name}")
    return RatioData(header["ratio"], energy, value, (high - low) / 2.0, source=header["source"])


def ams02_beryllium_ratio_preliminary() -> RatioData:
    """The shipped **preliminary** AMS-02 ¹⁰Be/⁹Be (digitised TeVPA 2024 points), 14 points, 0.49-11.2 GeV/n.

    Examples
    --------
    >>> from anisotropy.galaxy.datasets import ams02_beryllium_ratio_preliminary
    >>> data = ams02_beryllium_ratio_preliminary()
    >>> data.ratio, round(float(data.energy.min()), 2), round(float(data.energy.max()), 2)
    ('10Be/9Be', 0.49, 11.15)
    """
    return load_band_table(AMS02_BERYLLIUM_RATIO_PRELIMINARY)

"""The shipped AMS-02 B/C, Be/B and preliminary ¹⁰Be/⁹Be tables: checksums against the data README, provenance,
units; the loaders' checks."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.galaxy.datasets import (
    AMS02_BERYLLIUM_RATIO_PRELIMINARY,
    AMS02_BERYLLIUM_TO_BORON,
    AMS02_BORON_TO_CARBON,
    ams02_beryllium_ratio_preliminary,
    ams02_beryllium_to_boron,
    ams02_boron_to_carbon,
    load_band_table,
    load_published_ratio,
)
from anisotropy.galaxy.fit import load_ratio_data, select_energies

README = AMS02_BORON_TO_CARBON.parent / "README.md"
# the table as published by PRL 117, 231102 spans 1.9 GV to 2.6 TV, i.e. about 0.45 to 920 GeV/n for boron
ENERGY_RANGE_GEV_PER_NUCLEON = (0.4, 1000.0)
POINTS = 67
# the shipped table's 66 bin centres (geometric means of the bin edges) run from 2.27 GV to 2.07 TV
BE_B_RIGIDITY_RANGE_GV = (2.0, 2100.0)
BE_B_POINTS = 66


def _readme_checksum(table: Path, label: str) -> str:
    """The sha256 recorded as ``<label> `<hex>``` in the README section that names ``table``."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(f"### `{table.name}`"):]
    match = re.search(rf"{label}[^`]*`([0-9a-f]{{64}})`", section)
    assert match, f"no {label} sha256 for {table.name} in {README}"
    return match.group(1)


@pytest.mark.parametrize("table", [AMS02_BORON_TO_CARBON, AMS02_BERYLLIUM_TO_BORON, AMS02_BERYLLIUM_RATIO_PRELIMINARY],
                         ids=lambda p: p.name)
def test_shipped_table_matches_the_checksums_recorded_in_the_readme(table):
    raw = table.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == _readme_checksum(table, "shipped file")
    # without this package's "##" provenance block the file is byte-identical to the upstream copy
    upstream = b"".join(line for line in raw.splitlines(keepends=True) if not line.startswith(b"## "))
    assert hashlib.sha256(upstream).hexdigest() == _readme_checksum(table, "upstream file")


def test_shipped_table_names_its_source_licence_and_units():
    header = "".join(line for line in AMS02_BORON_TO_CARBON.read_text(encoding="utf-8").splitlines(keepends=True)
                     if line.startswith("#"))
    for needle in ("10.1103/PhysRevLett.117.231102", "github.com/carmeloevoli/KISS-CosmicRayDataBase",
                   "c582d77e5ba25ad3cd51e862a7c3f1c4566f3aad", "MIT License", "Copyright (c) 2020 Carmelo Evoli",
                   "GeV/n", "lpsc.in2p3.fr/crdb", "#X Quantity: kineticEnergyPerNucleon"):
        assert needle in header, needle
    readme = README.read_text(encoding="utf-8")
    assert AMS02_BORON_TO_CARBON.name in readme and "MIT" in readme


def test_shipped_table_loads_with_units_and_total_errors():
    data = ams02_boron_to_carbon()
    assert data.ratio == "B/C" and data.energy.size == POINTS
    assert ENERGY_RANGE_GEV_PER_NUCLEON[0] < data.energy.min() < data.energy.max() < ENERGY_RANGE_GEV_PER_NUCLEON[1]
    assert np.all(np.diff(data.energy) > 0)
    assert np.all((data.value > 0) & (data.value < 1))  # B/C is a fraction of order 0.05-0.3 here
    rows = np.loadtxt(AMS02_BORON_TO_CARBON, comments="#")
    expected = np.hypot(rows[:, 2:4].mean(axis=1), rows[:, 4:6].mean(axis=1))
    np.testing.assert_array_equal(data.error, expected)
    assert "PhysRevLett.117.231102" in data.source
    # the fit's generic loader recognises the format
    (via_fit,) = load_ratio_data(AMS02_BORON_TO_CARBON)
    np.testing.assert_array_equal(via_fit.value, data.value)


def test_shipped_beryllium_to_boron_names_its_source_licence_and_rigidity_axis():
    header = "".join(line for line in AMS02_BERYLLIUM_TO_BORON.read_text(encoding="utf-8").splitlines(keepends=True)
                     if line.startswith("#"))
    for needle in ("10.1103/PhysRevLett.120.021101", "github.com/carmeloevoli/KISS-CosmicRayDataBase",
                   "c582d77e5ba25ad3cd51e862a7c3f1c4566f3aad", "MIT License", "Copyright (c) 2020 Carmelo Evoli",
                   "rigidity in GV", "lpsc.in2p3.fr/crdb", "#X Quantity: rigidity", "#Y Quantity: Be_B"):
        assert needle in header, needle
    assert AMS02_BERYLLIUM_TO_BORON.name in README.read_text(encoding="utf-8")


def test_shipped_beryllium_to_boron_loads_against_rigidity_with_total_errors():
    data = ams02_beryllium_to_boron()
    assert (data.ratio, data.axis, data.energy.size) == ("Be/B", "rigidity", BE_B_POINTS)
    assert BE_B_RIGIDITY_RANGE_GV[0] < data.energy.min() < data.energy.max() < BE_B_RIGIDITY_RANGE_GV[1]
    assert np.all(np.diff(data.energy) > 0)
    assert np.all((data.value > 0.2) & (data.value < 0.5))  # Be/B is about 0.3-0.4 at these rigidities
    rows = np.loadtxt(AMS02_BERYLLIUM_TO_BORON, comments="#")
    np.testing.assert_array_equal(data.error, np.hypot(rows[:, 2:4].mean(axis=1), rows[:, 4:6].mean(axis=1)))
    assert "PhysRevLett.120.021101" in data.source
    (via_fit,) = load_ratio_data(AMS02_BERYLLIUM_TO_BORON)
    assert via_fit.axis == "rigidity"
    np.testing.assert_array_equal(via_fit.value, data.value)
    selected = ams02_beryllium_to_boron(rigidity_min=10.0, rigidity_max=100.0)
    assert selected.energy.min() >= 10.0 and selected.energy.max() <= 100.0
    with pytest.raises(ParameterError, match="rigidity_min"):
        ams02_beryllium_to_boron(rigidity_min=100.0, rigidity_max=10.0)


def test_energy_selection():
    data = ams02_boron_to_carbon(energy_min=1.0, energy_max=100.0)
    assert data.energy.min() >= 1.0 and data.energy.max() <= 100.0
    (selected,) = select_energies([ams02_boron_to_carbon()], 1.0, 100.0)
    np.testing.assert_array_equal(selected.energy, data.energy)
    with pytest.raises(ParameterError, match="energy_range"):
        select_energies([data], 2000.0, 3000.0)
    with pytest.raises(ParameterError, match="energy_min"):
        ams02_boron_to_carbon(energy_min=10.0, energy_max=1.0)


def _table(tmp_path: Path, header: str, rows: str = "1.0 0.3 0.01 0.01 0.02 0.02\n") -> Path:
    path = tmp_path / "table.txt"
    path.write_text(header + rows, encoding="utf-8")
    return path


GOOD_HEADER = "#Ref: 10.0/x\n#Experiment: X\n#Y Quantity: B_C\n#X Quantity: kineticEnergyPerNucleon\n"


@pytest.mark.parametrize(("header", "rows", "message"), [
    ("#Experiment: X\n#Y Quantity: B_C\n#X Quantity: kineticEnergyPerNucleon\n", None, "#Ref:"),
    (GOOD_HEADER.replace("kineticEnergyPerNucleon", "totalEnergy"), None, "totalEnergy"),
    (GOOD_HEADER.replace("B_C", "Fe_O"), None, "unknown Y Quantity"),
    (GOOD_HEADER, "1.0 0.3 0.01 0.01 0.02\n", "5 columns"),
    (GOOD_HEADER, "1.0 0.3 a 0.01 0.02 0.02\n", "non-numeric"),
    (GOOD_HEADER, "-1.0 0.3 0.01 0.01 0.02 0.02\n", "> 0"),
    (GOOD_HEADER, "", "no data rows"),
])
def test_loader_rejects_bad_tables_with_one_line(tmp_path, header, rows, message):
    path = _table(tmp_path, header, *(() if rows is None else (rows,)))
    with pytest.raises(ParameterError, match=message) as raised:
        load_published_ratio(path)
    assert "\n" not in str(raised.value)


def test_loader_reads_a_minimal_table(tmp_path):
    data = load_published_ratio(_table(tmp_path, GOOD_HEADER))
    assert data.ratio == "B/C" and data.error[0] == pytest.approx(np.hypot(0.01, 0.02))
    with pytest.raises(ParameterError, match="cannot read"):
        load_published_ratio(tmp_path / "absent.txt")


def test_preliminary_beryllium_ratio_is_labelled_preliminary_with_source_and_licence():
    text = AMS02_BERYLLIUM_RATIO_PRELIMINARY.read_text(encoding="utf-8")
    for needle in ("PRELIMINARY", "github.com/carmeloevoli/NLBM", "cd2dce94e56d28ac51ec8d3cab3318d21acc7dc7",
                   "MIT License", "Copyright (c) 2023 Carmelo Evoli", "TeVPA", "GeV/n"):
        assert needle in text, needle
    data = ams02_beryllium_ratio_preliminary()
    assert data.ratio == "10Be/9Be" and data.energy.size == 14
    assert data.source.startswith("preliminary AMS-02")
    rows = np.loadtxt(AMS02_BERYLLIUM_RATIO_PRELIMINARY, comments="#")
    np.testing.assert_array_equal(data.error, (rows[:, 3] - rows[:, 2]) / 2)
    (via_fit,) = load_ratio_data(AMS02_BERYLLIUM_RATIO_PRELIMINARY)
    np.testing.assert_array_equal(via_fit.value, data.value)


BAND_HEADER = "## ratio: 10Be/9Be\n## columns: energy value low high\n## source: test\n"


@pytest.mark.parametrize(("header", "rows", "message"), [
    ("## ratio: 10Be/9Be\n## columns: energy value low high\n", "1 0.2 0.1 0.3\n", "## source:"),
    (BAND_HEADER.replace("10Be/9Be", "X/Y"), "1 0.2 0.1 0.3\n", "unknown ratio"),
    (BAND_HEADER.replace("low high", "error"), "1 0.2 0.1 0.3\n", "columns must be"),
    (BAND_HEADER, "1 0.2 0.1\n", "3 columns"),
    (BAND_HEADER, "1 0.4 0.1 0.3\n", "low <= value <= high"),
    (BAND_HEADER, "", "no data rows"),
])
def test_band_loader_rejects_bad_tables_with_one_line(tmp_path, header, rows, message):
    path = tmp_path / "band.txt"
    path.write_text(header + rows, encoding="utf-8")
    with pytest.raises(ParameterError, match=message) as raised:
        load_band_table(path)
    assert "\n" not in str(raised.value)


def test_module_examples_run():
    import doctest

    import anisotropy.galaxy.datasets as module

    assert doctest.testmod(module).failed == 0

"""Cross sections: the published formulas' limits by hand, the shipped table's provenance, and the loaders."""

import math

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.galaxy.cross_sections import (
    FitChannel,
    inelastic_cross_section,
    isotope,
    load_cross_section_table,
    load_fragmentation_fits,
)

EXACT_RTOL = 1e-12


def test_letaw_inelastic_cross_section_at_high_energy_by_hand():
    # above 5 GeV/n only the geometric factor remains: 45 A^0.7 [1 + 0.016 sin(5.3 - 2.63 ln A)] mb
    for mass in (12, 14, 16):
        expected = 45 * mass**0.7 * (1 + 0.016 * math.sin(5.3 - 2.63 * math.log(mass)))
        assert inelastic_cross_section(50.0, 6, mass) == pytest.approx(expected, rel=EXACT_RTOL)
    # Be: the extra factor 1 + 0.75 exp(-T/0.075) is 1 at high energy and 1.75 at T -> 0 (before the energy factor)
    assert inelastic_cross_section(50.0, 4, 10) == pytest.approx(45 * 10**0.7 * (1 + 0.016 * math.sin(
        5.3 - 2.63 * math.log(10))), rel=1e-12)


def test_evoli_fit_function_limits():
    channel = FitChannel(threshold=30.0, sigma0=0.0, mass=0.0, width=0.0, sigma1=4.0, xi=0.5, delta=0.2)
    assert channel(0.029) == 0.0  # below threshold (30 MeV/n = 0.03 GeV/n)
    # T >> T_h = 2 GeV/n and >> E_th: sigma -> sigma1 (1 + Delta)
    assert channel(1e6) == pytest.approx(4.0 * 1.2, rel=1e-6)
    # at T = T_h: sigma1 (1 - E_th/T)^xi (1 + Delta/2)
    assert channel(2.0) == pytest.approx(4.0 * (1 - 30 / 2000) ** 0.5 * 1.1, rel=EXACT_RTOL)


def test_shipped_table_has_the_channels_and_counts_11c_as_11b():
    fits = load_fragmentation_fits()
    for child in ("6Li", "7Li", "7Be", "9Be", "10Be", "10B", "11B"):
        assert fits.production("12C", child, 10.0) > 0
        assert fits.production("16O", child, 10.0) > 0
    direct_11b = fits.channels[((6, 12), (5, 11))](10.0)
    via_11c = fits.channels[((6, 12), (6, 11))](10.0)
    assert fits.production("12C", "11B", 10.0) == pytest.approx(direct_11b + via_11c, rel=EXACT_RTOL)
    assert fits.production("14N", "10B", 10.0) == 0.0  # absent from the published table: documented


def test_user_table_overrides_channels_and_requires_its_columns(tmp_path):
    table = tmp_path / "xs.csv"
    table.write_text("# user table\nparent,child,energy,sigma_mb\n12C,10Be,0.1,1.0\n12C,10Be,10,3.0\n")
    merged = load_fragmentation_fits().merged(load_cross_section_table(table))
    # linear in ln T between the two points: at sqrt(0.1 * 10) = 1 GeV/n the mean
    assert merged.production("12C", "10Be", 1.0) == pytest.approx(2.0, rel=EXACT_RTOL)
    assert merged.production("12C", "10Be", 100.0) == 0.0
    bad = tmp_path / "bad.csv"
    bad.write_text("parent,child,sigma_mb\n12C,10Be,1\n")
    with pytest.raises(ParameterError, match="energy"):
        load_cross_section_table(bad)


@pytest.mark.parametrize("name,expected", [("10Be", (4, 10)), ("Be10", (4, 10)), ("11b", (5, 11)), ("16O", (8, 16))])
def test_isotope_names_parse(name, expected):
    assert isotope(name) == expected


@pytest.mark.parametrize("name", ["10Xx", "Be", "3C", ""])
def test_unknown_isotopes_raise_parameter_error(name):
    with pytest.raises(ParameterError) as error:
        isotope(name)
    assert error.value.name == "isotope"


def test_production_is_never_negative():
    fits = load_fragmentation_fits()
    T = np.geomspace(0.01, 1000, 50)
    for (parent, child) in fits.channels:
        assert np.all(fits.production(parent, child, T) >= 0)

"""anisotropy.units against independent numbers: SI definitions, textbook gyroradii, exact round trips."""

import math

import numpy as np
import pytest

from anisotropy import units
from anisotropy.errors import ParameterError

# r_g = E/(e c B) for an ultra-relativistic proton, computed here from the SI definitions alone
TEV_IN_VOLTS = 1e12


def test_gyroradius_of_a_1_tev_proton_in_1_microgauss_matches_si_definition():
    expected_m = TEV_IN_VOLTS / (299_792_458.0 * 1e-10)
    expected_pc = expected_m / 3.0856775814913673e16
    # kinetic 1 TeV: pc differs from E_k by m_p c^2 ~ 1e-3 relative
    momentum_tev = math.sqrt(1.0 * (1.0 + 2 * 0.93827208816e-3))
    assert units.gyroradius(1.0, 1.0) == pytest.approx(expected_pc * momentum_tev, rel=1e-12)
    assert units.gyroradius(1.0, 1.0) == pytest.approx(1.08e-3, rel=2e-3)  # docs/physics/conventions.md#units handy
    # number


def test_gyrotime_of_1_tev_in_1_microgauss_is_about_1p1e5_seconds():
    assert 1.0 / units.gyrofrequency(1.0, 1.0) == pytest.approx(1.11e5, rel=5e-3)  # docs/physics/conventions.md#units


def test_gyroradius_scales_as_energy_over_charge_times_field_at_high_energy():
    reference = units.gyroradius(100.0, 1.0)
    assert units.gyroradius(100.0, 4.0) == pytest.approx(reference / 4, rel=1e-12)
    assert units.gyroradius(2600.0, 1.0, charge=26, mass_number=56) == pytest.approx(reference, rel=1e-3)


@pytest.mark.parametrize("energy", [1e-3, 1.0, 1e3, 1e5])
@pytest.mark.parametrize("species", [(1, 1), (2, 4), (26, 56)])
def test_energy_gyroradius_round_trip(energy, species):
    charge, mass_number = species
    r_g = units.gyroradius(energy, 3.0, charge, mass_number)
    assert units.energy_from_gyroradius(r_g, 3.0, charge, mass_number) == pytest.approx(energy, rel=1e-12)


def test_reduced_parameters_round_trip_and_time_conversions():
    reduced = units.to_reduced(energy=10.0, b_rms=3.0, l_c=1.0, eta=0.3)
    assert reduced.energy(b_rms=3.0, l_c=1.0) == pytest.approx(10.0, rel=1e-12)
    omega_t = reduced.omega_time(5.0)
    assert reduced.light_time(omega_t) == pytest.approx(5.0, rel=1e-14)
    # Omega t = v t / r_g: with ct = 5 L_c and v ~ c this is 5 / (r_g/L_c)
    assert omega_t == pytest.approx(5.0 / reduced.reduced_rigidity, rel=1e-8)
    seconds = units.seconds_from_reduced_time(2.5, l_c=0.7)
    assert units.reduced_time(seconds, l_c=0.7) == pytest.approx(2.5, rel=1e-14)


def test_field_components_recover_eta_and_total_field():
    b0, db = units.field_components(3.0, 0.25)
    assert math.hypot(b0, db) == pytest.approx(3.0, rel=1e-14)
    assert units.turbulence_level(b0, db) == pytest.approx(0.25, rel=1e-14)


def test_correlation_length_tends_to_one_fifth_of_outer_scale_for_wide_kolmogorov_range():
    # docs/physics/conventions.md#correlation-length: L_c -> L_max/5 for s = 5/3 and L_min/L_max -> 0
    assert units.correlation_length(1.0, lmin_over_lmax=1e-9) == pytest.approx(0.2, rel=1e-5)
    # and the closed form at a finite range, written out independently
    s, r = 5 / 3, 0.01
    assert units.correlation_length(10.0, r) == pytest.approx(5 * (s - 1) / s * (1 - r**s) / (1 - r ** (s - 1)))
    assert units.outer_scale(units.correlation_length(7.0, 0.01), 0.01) == pytest.approx(7.0, rel=1e-14)


def test_vectorised_gyroradius():
    energies = np.array([1.0, 10.0, 100.0])
    assert np.allclose(units.gyroradius(energies, 3.0), [units.gyroradius(e, 3.0) for e in energies])


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: units.gyroradius(-1.0, 1.0), "energy"),
        (lambda: units.gyroradius(1.0, 0.0), "b_rms"),
        (lambda: units.to_reduced(10.0, 3.0, 1.0, eta=1.5), "eta"),
        (lambda: units.to_reduced(10.0, 3.0, 1.0, eta=0.0), "eta"),
        (lambda: units.to_reduced("ten", 3.0, 1.0, eta=0.5), "energy"),
        (lambda: units.gyroradius(1.0, 1.0, charge=0), "charge"),
        (lambda: units.correlation_length(1.0, lmin_over_lmax=1.0), "lmin_over_lmax"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ParameterError) as info:
        call()
    assert info.value.name == name
    assert str(info.value).startswith(name)

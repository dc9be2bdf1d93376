"""Force-field modulation: identity at phi = 0, invariance of J/p^2, composition, and the observable ratios (at
equal kinetic energy per nucleon and at equal rigidity)."""

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.galaxy.modulation import force_field
from anisotropy.galaxy.observables import modulated_flux, ratio
from anisotropy.galaxy.solver import GalaxyModel, solve
from anisotropy.galaxy.transport import NUCLEON_REST_ENERGY_GEV, kinetic_energy_per_nucleon

T = np.geomspace(0.05, 50.0, 13)
EXACT_RTOL = 1e-13  # closed-form identities evaluated in double precision
# central differences with relative step 1e-5: truncation ~1e-10, round-off ~1e-16/1e-5 = 1e-11
DERIVATIVE_RTOL = 1e-8
RIGIDITIES = np.geomspace(2.0, 500.0, 9)


def power_law(t):
    return 3.0 * t**-2.7


def test_zero_potential_is_the_identity():
    np.testing.assert_array_equal(force_field(T, power_law, phi=0.0, charge=4, mass_number=10), power_law(T))


def test_a_flux_proportional_to_p_squared_is_unchanged():
    # J/p^2 is conserved along the force-field characteristics: J = c p^2 is a fixed point (Gleeson & Axford 1968)
    def p_squared(t):
        return t * (t + 2 * NUCLEON_REST_ENERGY_GEV)

    np.testing.assert_allclose(force_field(T, p_squared, phi=0.8, charge=5, mass_number=11), p_squared(T),
                               rtol=EXACT_RTOL)


def test_two_potentials_compose_to_their_sum():
    once = force_field(T, power_law, phi=0.9, charge=6, mass_number=12)
    first = force_field(T, lambda t: force_field(t, power_law, phi=0.4, charge=6, mass_number=12), phi=0.5,
                        charge=6, mass_number=12)
    np.testing.assert_allclose(first, once, rtol=EXACT_RTOL)


def test_modulation_shift_scales_with_charge_over_mass():
    # 10Be (Z/A = 0.4) is shifted less than 9Be (0.444): by hand, J_TOA(T)/J_IS(T + Z phi/A) = T(T+2m)/(T'(T'+2m))
    for charge, mass in ((4, 10), (4, 9)):
        shift = charge * 0.6 / mass
        expected = power_law(T + shift) * T * (T + 2 * NUCLEON_REST_ENERGY_GEV) / (
            (T + shift) * (T + shift + 2 * NUCLEON_REST_ENERGY_GEV))
        np.testing.assert_allclose(force_field(T, power_law, phi=0.6, charge=charge, mass_number=mass), expected,
                                   rtol=EXACT_RTOL)


def test_bad_potential_and_energies_are_rejected():
    with pytest.raises(ParameterError, match="phi"):
        force_field(T, power_law, phi=-0.1, charge=6, mass_number=12)
    with pytest.raises(ParameterError, match="energy"):
        force_field([0.0, 1.0], power_law, phi=0.1, charge=6, mass_number=12)


def test_unmodulated_ratio_equals_the_local_interstellar_ratio_on_the_grid():
    solution = solve(GalaxyModel(energies_per_decade=6, disk_intervals=2, halo_intervals=12))
    grid = solution.energy[3:-3]
    boron = solution.element(5)[3:-3]
    carbon = solution.element(6)[3:-3]
    np.testing.assert_allclose(ratio(solution, "B/C", grid, phi=0.0), boron / carbon, rtol=1e-12)
    be = ratio(solution, "10Be/9Be", grid, phi=0.0)
    np.testing.assert_allclose(be, solution.local("10Be")[3:-3] / solution.local("9Be")[3:-3], rtol=1e-12)
    with pytest.raises(ParameterError):
        ratio(solution, "B/Xx", grid)


@pytest.fixture(scope="module")
def coarse_solution():
    return solve(GalaxyModel(energies_per_decade=6, disk_intervals=2, halo_intervals=12))


def test_ratio_at_equal_rigidity_of_nuclei_with_equal_mass_to_charge_is_the_ratio_at_equal_energy(coarse_solution):
    # 10B and 12C both have A/Z = 2: equal rigidity is equal T/n and the Jacobians dT/dR cancel
    energies = kinetic_energy_per_nucleon(RIGIDITIES, 6, 12)
    np.testing.assert_allclose(ratio(coarse_solution, "10B/12C", RIGIDITIES, phi=0.6, axis="rigidity"),
                               ratio(coarse_solution, "10B/12C", energies, phi=0.6), rtol=1e-12)


@pytest.mark.parametrize("label", ["Be", "11B", "7Be"])
def test_flux_per_rigidity_is_the_flux_per_energy_times_dT_dR(coarse_solution, label):
    # one isotope at a time (an element sums them): J_R = J_T dT/dR with dT/dR by central differences
    from anisotropy.galaxy.cross_sections import isotope

    names = [item.name for item in coarse_solution.model.network.species if item.charge == 4] if label == "Be" \
        else [label]
    expected = 0.0
    for name in names:
        charge, mass = isotope(name)
        step = 1e-5 * RIGIDITIES
        slope = (kinetic_energy_per_nucleon(RIGIDITIES + step, charge, mass)
                 - kinetic_energy_per_nucleon(RIGIDITIES - step, charge, mass)) / (2 * step)
        expected = expected + slope * modulated_flux(coarse_solution, name,
                                                     kinetic_energy_per_nucleon(RIGIDITIES, charge, mass), 0.5)
    np.testing.assert_allclose(modulated_flux(coarse_solution, label, RIGIDITIES, 0.5, axis="rigidity"), expected,
                               rtol=DERIVATIVE_RTOL)


def test_unknown_axis_is_rejected_naming_it(coarse_solution):
    with pytest.raises(ParameterError, match="axis"):
        ratio(coarse_solution, "Be/B", RIGIDITIES, axis="momentum")

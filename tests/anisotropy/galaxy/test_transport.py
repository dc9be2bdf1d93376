"""Transport coefficients: units and kinematics by hand, Bethe ionisation against the PDG form, exact scalings."""

import math

import numpy as np
import pytest

from anisotropy.galaxy.transport import (
    SPEED_OF_LIGHT_KPC_MYR,
    Medium,
    coulomb_loss_rate,
    decay_rate,
    diffusion_coefficient,
    ionisation_loss_rate,
    kinetic_energy_per_nucleon,
    lorentz_factor,
    rigidity,
)

EXACT_RTOL = 1e-12
# the PDG constant K and Avogadro's number are quoted to 6-7 digits below
PDG_RTOL = 1e-5


def test_speed_of_light_is_one_light_megayear_per_megayear():
    # 1 pc = 648000/pi au, 1 au = 149597870700 m (IAU 2012), 1 ly = c * 365.25 d
    light_year_m = 299_792_458.0 * 365.25 * 86400
    parsec_m = 648000 / math.pi * 149_597_870_700
    assert SPEED_OF_LIGHT_KPC_MYR == pytest.approx(1e6 * light_year_m / parsec_m / 1e3, rel=1e-9)


def test_kinematics_by_hand():
    m = 0.93149410372  # GeV, CODATA 2018 atomic mass unit
    assert lorentz_factor(m) == pytest.approx(2.0, rel=EXACT_RTOL)
    # T = m: p_n = sqrt(3) m; 12C: R = 2 sqrt(3) m GV
    assert rigidity(m, 6, 12) == pytest.approx(2 * math.sqrt(3) * m, rel=EXACT_RTOL)
    # kappa = kappa0 beta (R/R0)^delta with beta = sqrt(3)/2 at gamma = 2
    assert diffusion_coefficient(m, 6, 12, kappa0=0.1, delta=0.5) == pytest.approx(
        0.1 * math.sqrt(3) / 2 * math.sqrt(2 * math.sqrt(3) * m), rel=EXACT_RTOL)


def test_decay_rate_is_slowed_by_the_lorentz_factor():
    tau = 1.387 / math.log(2)
    assert decay_rate(1e-9) == pytest.approx(1 / tau, rel=1e-8)
    assert decay_rate(0.93149410372) == pytest.approx(1 / (2 * tau), rel=EXACT_RTOL)


def test_ionisation_in_hydrogen_equals_the_pdg_bethe_formula():
    # PDG (Review of Particle Physics, "Passage of particles through matter"): -dE/dx = K z^2 (Z/A) / beta^2
    # [1/2 ln(2 m_e c^2 beta^2 gamma^2 W_max / I^2) - beta^2], K = 4 pi N_A r_e^2 m_e c^2 = 0.307075 MeV cm^2/mol;
    # for atomic hydrogen Z/A = 1/1.008 mol/g, so n_e = rho N_A Z/A and -dE/dt = beta c rho (-dE/dx)
    medium = Medium(n_hydrogen=1.0, n_helium=0.0, n_electron=0.0)
    T = np.array([0.1, 1.0, 10.0])
    gamma = 1 + T / 0.93149410372
    beta = np.sqrt(1 - 1 / gamma**2)
    me = 0.51099895e-3
    mass = 12 * 0.93149410372
    w_max = 2 * me * beta**2 * gamma**2 / (1 + 2 * gamma * me / mass)
    bracket = 0.5 * np.log(2 * me * beta**2 * gamma**2 * w_max / (19e-9) ** 2) - beta**2
    avogadro = 6.02214076e23
    per_electron_cm2 = 0.307075e-3 / avogadro  # GeV cm^2 per electron
    de_dt = beta * 2.99792458e10 * 1.0 * per_electron_cm2 * 36 / beta**2 * bracket  # GeV/s, n_e = 1 cm^-3
    expected = de_dt * 1e6 * 365.25 * 86400 / 12  # GeV/n per Myr
    np.testing.assert_allclose(ionisation_loss_rate(T, 6, 12, medium), expected, rtol=PDG_RTOL)


def test_coulomb_losses_scale_with_charge_squared_and_electron_density():
    T = np.geomspace(0.01, 10, 5)
    low = Medium(n_electron=0.01)
    # same A: the Coulomb logarithm is identical, the rate goes as Z^2
    np.testing.assert_allclose(coulomb_loss_rate(T, 5, 10, low) / coulomb_loss_rate(T, 4, 10, low), 25 / 16,
                               rtol=EXACT_RTOL)
    # rate = C n_e ln Lambda with ln Lambda = L0 - ln(n_e)/2 (Strong & Moskalenko 1998, C2): with a = ln(2)/2,
    # rates at n, 2n fix C n = (r(n) - r(2n)/2)/a, and then r(4n) = 4 r(n) - 8 a C n exactly
    rates = [coulomb_loss_rate(T, 6, 12, Medium(n_electron=value)) for value in (0.01, 0.02, 0.04)]
    a = math.log(2) / 2
    c_n = (rates[0] - rates[1] / 2) / a
    np.testing.assert_allclose(rates[2], 4 * rates[0] - 8 * a * c_n, rtol=1e-10)
    assert np.all(c_n > 0)


def test_kinetic_energy_per_nucleon_inverts_the_rigidity():
    m = 0.93149410372  # GeV, CODATA 2018 atomic mass unit
    # by hand: 12C at R = 2 sqrt(3) m GV has p_n = sqrt(3) m, so T = 2m - m = m
    assert kinetic_energy_per_nucleon(2 * math.sqrt(3) * m, 6, 12) == pytest.approx(m, rel=EXACT_RTOL)
    # non-relativistic limit T = p^2/2m - p^4/8m^3 + ..., p = Z R/A (no cancellation: p = 1e-4 m)
    p = 1e-4 * m
    assert kinetic_energy_per_nucleon(p * 10 / 4, 4, 10) == pytest.approx(p**2 / (2 * m) - p**4 / (8 * m**3),
                                                                          rel=EXACT_RTOL)
    R = np.geomspace(0.1, 1e4, 9)
    for charge, mass in ((4, 7), (4, 10), (5, 11)):
        np.testing.assert_allclose(rigidity(kinetic_energy_per_nucleon(R, charge, mass), charge, mass), R,
                                   rtol=EXACT_RTOL)

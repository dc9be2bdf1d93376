"""Backtracking maps, C_l(T) and the pair estimator (validation/simulator/backtrack.py;
docs/physics/simulator.md#liouville-mapping, docs/physics/simulator.md#pair-estimator, docs/physics/simulator.md).

Independent references: the exact helix in a uniform field (docs/physics/simulator.md#liouville-mapping with known
trajectories), the dipole
formula C_1 = (4π/9)|δ|² (docs/physics/conventions.md#angular-power-spectrum), Gauss-Legendre exactness for polynomial
structure functions, the white-noise
floor of uncorrelated pixels (docs/physics/conventions.md#angular-power-spectrum,
docs/physics/simulator.md#white-noise-floor), and the map-vs-pair agreement of
docs/physics/simulator.md#liouville-mapping in turbulence.
"""

from __future__ import annotations

import math

import healpy as hp
import numpy as np
import pytest

from anisotropy.errors import ParameterError
from validation.simulator.backtrack import (
    anisotropy_realisation,
    arrival_directions,
    backtracking_schedule,
    gauss_legendre_separations,
    pair_angular_power,
    pair_directions,
    white_noise_floor,
)
from validation.simulator.config import AnisotropyConfig, TurbulenceConfig
from validation.simulator.ensemble import realisation_seed

#: float32 storage of the maps: relative rounding 2**-24 of values up to ~10 (|G| = 1, T <= 5, 3κ <= 2)
MAP_STORAGE_TOLERANCE = 10 * 2.0**-23
#: healpy.anafast (iter=3) reproduces a pure dipole's C_1 to ~1e-5 at nside 4-8 (ring quadrature is not exact);
#: 1e-4 leaves an order of magnitude
ANAFAST_DIPOLE_TOLERANCE = 1e-4
#: leakage of a pure dipole into l >= 2 through the same quadrature, relative to C_1 (measured ~1e-9 at nside 4)
ANAFAST_LEAKAGE_TOLERANCE = 1e-7
#: structure functions that are polynomials of degree <= 1 in x are integrated exactly by Gauss-Legendre
QUADRATURE_TOLERANCE = 1e-12
#: statistical tests: |estimate - expectation| < Z_LIMIT standard errors (two-sided 4σ, p ≈ 6e-5 each for Gaussian)
Z_LIMIT = 4.0


class UniformField:
    """b = ẑ everywhere (no turbulence): one mode of zero amplitude, in the pusher's (7, N) layout."""

    def kernel_arrays(self):
        return np.zeros((7, 1)), np.array([0.0, 0.0, 1.0])


def helix_delta_f(arrival, time, rigidity, gradient, kappa_parallel, kappa_perpendicular):
    """Eq. (3.1) on the exact backtracked helix in b = ẑ (reversed positive charge gyrates counter-clockwise).

    Reversed particle (docs/physics/simulator.md#liouville-mapping): starts at the origin with direction n̂, rotates
    about +ẑ at Ω = 1/ρ.
    """
    omega = 1.0 / rigidity
    phase = omega * time
    nx, ny, nz = arrival[:, 0], arrival[:, 1], arrival[:, 2]
    sine, cosine = math.sin(phase), math.cos(phase)
    position = np.column_stack(
        [
            (sine * nx - (1.0 - cosine) * ny) / omega,
            ((1.0 - cosine) * nx + sine * ny) / omega,
            nz * time,
        ]
    )
    direction = np.column_stack([cosine * nx - sine * ny, sine * nx + cosine * ny, nz])
    tensor_gradient = np.array([kappa_perpendicular, kappa_perpendicular, kappa_parallel]) * gradient
    return position @ gradient + 3.0 * direction @ tensor_gradient


def helix_dipole(time, rigidity, angle_deg, kappa_parallel, kappa_perpendicular):
    """Closed-form dipole vector δ of the uniform-field map, δf(n̂) = δ·n̂ (derived in the module docstring)."""
    omega = 1.0 / rigidity
    phase = omega * time
    a = math.sin(phase) / omega + 3.0 * kappa_perpendicular * math.cos(phase)
    b = (1.0 - math.cos(phase)) / omega + 3.0 * kappa_perpendicular * math.sin(phase)
    alpha = math.radians(angle_deg)
    return np.array([a * math.sin(alpha), -b * math.sin(alpha), (time + 3.0 * kappa_parallel) * math.cos(alpha)])


def _uniform_config(**overrides):
    values = {
        "turbulence": TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=0.01, modes_per_decade=4),
        "reduced_rigidity": 0.5,
        "nside": 4,
        "times": (0.5, 2.0, 5.0),
        "gradient_angle": 60.0,
        "dt": 0.5 / 50,
        "diffusion_tensor": (0.7, 0.2),
    }
    values.update(overrides)
    return AnisotropyConfig(**values)


def _boris_tolerance(config, time):
    """Leading-order bound of the Boris error on δf in a uniform field (pusher docstring).

    First-order start: positions are sums of half-step-late directions, an offset of at most one step, dt.
    Phase lag ΩT(Ωdt)²/12 of the exact rotation 2·arctan(Ωdt/2) per step moves the gyration by ρ·lag and rotates
    the direction in the K term by lag.  Twice the bound, plus the float32 storage of the maps.
    """
    omega_dt = config.timestep / config.reduced_rigidity
    lag = time / config.reduced_rigidity * omega_dt**2 / 12.0
    kappa_perpendicular = 0.0 if config.diffusion_tensor is None else config.diffusion_tensor[1]
    return 2.0 * (config.timestep + (config.reduced_rigidity + 3.0 * kappa_perpendicular) * lag)


@pytest.mark.parametrize("subpixel", [1, 2])
def test_uniform_field_map_is_the_exact_helix_map(subpixel):
    config = _uniform_config(subpixel=subpixel)
    result = anisotropy_realisation(config, np.random.SeedSequence(0), field=UniformField())
    fine = arrival_directions(config.nside, subpixel)
    gradient = np.asarray(config.gradient)
    for k, time in enumerate(result["times"]):
        exact_fine = helix_delta_f(fine, time, config.reduced_rigidity, gradient, *config.diffusion_tensor)
        exact = hp.reorder(exact_fine.reshape(-1, subpixel**2).mean(axis=1), n2r=True)
        tolerance = _boris_tolerance(config, time) + MAP_STORAGE_TOLERANCE
        np.testing.assert_allclose(result["maps"][k], exact, rtol=0, atol=tolerance, err_msg=f"T = {time}")


def test_uniform_field_map_is_a_pure_dipole_with_the_closed_form_amplitude():
    config = _uniform_config(nside=8)
    result = anisotropy_realisation(config, np.random.SeedSequence(0), field=UniformField())
    for k, time in enumerate(result["times"]):
        dipole = helix_dipole(time, config.reduced_rigidity, config.gradient_angle, *config.diffusion_tensor)
        tolerance = _boris_tolerance(config, time) + MAP_STORAGE_TOLERANCE
        np.testing.assert_allclose(result["dipole"][k], dipole, rtol=0, atol=tolerance)
        c1_formula = 4.0 * math.pi / 9.0 * float(result["dipole"][k] @ result["dipole"][k])
        # docs/physics/conventions.md#angular-power-spectrum
        assert result["cl"][k, 1] == pytest.approx(c1_formula, rel=ANAFAST_DIPOLE_TOLERANCE)
        assert np.all(result["cl"][k, 2:] < ANAFAST_LEAKAGE_TOLERANCE * result["cl"][k, 1])


def test_gradient_along_b0_gives_c1_from_parallel_streaming_only():
    # G ∥ B0: δf = (T + 3κ_∥) n_z exactly (the gyration is invisible), C_1 = (4π/9)(T + 3κ_∥)²
    config = _uniform_config(gradient_angle=0.0, nside=8)
    result = anisotropy_realisation(config, np.random.SeedSequence(0), field=UniformField())
    expected = 4.0 * math.pi / 9.0 * (result["times"] + 3.0 * config.diffusion_tensor[0]) ** 2
    np.testing.assert_allclose(result["cl"][:, 1], expected, rtol=ANAFAST_DIPOLE_TOLERANCE)


def test_pair_quadrature_of_a_dipole_structure_function_gives_c1_and_nothing_else():
    # a dipole map δ·n̂ has <(δf_A - δf_B)²>_x = |δ|²(2 - 2x)/3 (isotropy of the pair average)
    separations = gauss_legendre_separations(8)
    cosines = np.cos(np.radians(separations))
    dipole_squared = 2.5
    structure = dipole_squared * (2.0 - 2.0 * cosines) / 3.0
    power = pair_angular_power(structure, separations, lmax=6)
    assert np.isnan(power[0])
    assert power[1] == pytest.approx(4.0 * math.pi / 9.0 * dipole_squared, rel=QUADRATURE_TOLERANCE)
    np.testing.assert_allclose(power[2:], 0.0, atol=QUADRATURE_TOLERANCE)


def test_pair_estimator_in_a_uniform_field_averages_to_the_dipole_c1():
    # Error model: each seed draws independent pair directions; the scatter of cl_pair across seeds is the
    # sampling error of the pair estimator, the exact value is (4π/9)|δ|² for l = 1 and 0 for l >= 2.  Some
    # estimates are exact (e.g. polynomial parts of the structure function): the rounding allowance covers them.
    config = _uniform_config(
        times=(2.0,), pairs=60, pair_separations=gauss_legendre_separations(12), diffusion_tensor=None, dt=0.002
    )
    estimates = np.array(
        [
            anisotropy_realisation(config, realisation_seed(99, index), field=UniformField())["cl_pair"][0]
            for index in range(12)
        ]
    )
    dipole = helix_dipole(2.0, config.reduced_rigidity, config.gradient_angle, 0.0, 0.0)
    expected = np.zeros(estimates.shape[1])
    expected[1] = 4.0 * math.pi / 9.0 * float(dipole @ dipole)
    mean = estimates[:, 1:].mean(axis=0)
    error = estimates[:, 1:].std(axis=0, ddof=1) / math.sqrt(len(estimates))
    allowed = Z_LIMIT * error + QUADRATURE_TOLERANCE * expected[1]
    assert np.all(np.abs(mean - expected[1:]) < allowed), (mean - expected[1:]) / error
    # the Boris bias of C_1, (8π/9)|δ| times the δf error bound, is well below the statistical error, so the test
    # is purely statistical
    assert 8.0 * math.pi / 9.0 * np.linalg.norm(dipole) * _boris_tolerance(config, 2.0) < error[0] / 4


def test_pair_directions_have_the_requested_separations():
    separations = gauss_legendre_separations(5)
    first, second = pair_directions(np.random.default_rng(1), 200, separations)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(second, axis=2), 1.0, rtol=1e-14)
    cosines = np.einsum("pi,spi->sp", first, second)
    np.testing.assert_allclose(cosines, np.cos(np.radians(separations))[:, None] * np.ones((1, 200)), atol=1e-13)


def test_pair_estimator_requires_gauss_legendre_separations():
    with pytest.raises(ParameterError, match="pair_separations"):
        pair_angular_power(np.ones(3), (30.0, 60.0, 90.0), lmax=4)


def test_white_noise_floor_is_the_flat_spectrum_of_uncorrelated_pixels():
    # E[C_l] = 4πσ²/N_pix for independent pixels (docs/physics/conventions.md#angular-power-spectrum); the
    # (2l+1)-weighted mean over l = 1..64 has
    # relative Gaussian error sqrt(2 / Σ(2l+1)) ≈ 2.2 %
    nside = 32
    sky = np.random.default_rng(5).normal(0.0, 3.0, hp.nside2npix(nside))
    power = hp.anafast(sky, lmax=2 * nside)[1:]
    weights = 2 * np.arange(1, 2 * nside + 1) + 1
    relative_error = math.sqrt(2.0 / weights.sum())
    assert np.average(power, weights=weights) == pytest.approx(white_noise_floor(sky), rel=Z_LIMIT * relative_error)


def test_schedule_hits_the_last_time_and_rejects_times_closer_than_a_step():
    dt, steps = backtracking_schedule((0.3, 1.0, 10.0), 0.07)
    assert steps[-1] * dt == pytest.approx(10.0, rel=1e-15)
    assert dt <= 0.07
    np.testing.assert_allclose(steps * dt, (0.3, 1.0, 10.0), atol=dt / 2)
    with pytest.raises(ParameterError, match="times"):
        backtracking_schedule((1.0, 1.01), 0.1)


# -- in turbulence -----------------------------------------------------------------------------------------------

#: family-wise false-alarm probability of the map-vs-pair comparison (Bonferroni over all T and l compared)
FAMILY_FALSE_ALARM = 1e-3
#: realisations of the map-vs-pair comparison (fixed seed); enough for the t-distribution limit to stay moderate
PAIR_TEST_REALISATIONS = 16


def _turbulent_config(**overrides):
    values = {
        "turbulence": TurbulenceConfig(kind="isotropic", eta=0.5, lmin_over_lmax=0.02, modes_per_decade=16),
        "reduced_rigidity": 0.3,
        "nside": 8,
        "times": (0.5, 1.5),
        "gradient_angle": 60.0,
        "diffusion_tensor": (0.1, 0.05),
        "pairs": 300,
        "pair_separations": gauss_legendre_separations(16),
    }
    values.update(overrides)
    return AnisotropyConfig(**values)


def test_realisation_is_a_pure_function_of_config_and_seed():
    config = _turbulent_config(nside=4, pairs=20, pair_separations=gauss_legendre_separations(10))
    seed = realisation_seed(2024, 3)
    first = anisotropy_realisation(config, seed)
    again = anisotropy_realisation(config, seed)  # the same SeedSequence object, reused: must not be consumed
    other = anisotropy_realisation(config, realisation_seed(2024, 4))
    assert sorted(first) == sorted(again)
    for name in first:
        np.testing.assert_array_equal(first[name], again[name], err_msg=name)
    assert not np.array_equal(first["maps"], other["maps"])


def test_map_and_pair_estimators_agree_within_ensemble_errors():
    """docs/physics/simulator.md#liouville-mapping: the pair estimator and anafast estimate the same per-realisation C_l
    (l >= 1).

    Error model: both estimators are computed on the same turbulence realisations, so the comparison uses the
    paired difference map - pair per realisation; its mean over realisations is tested against its empirical
    standard error (scatter across realisations / sqrt(N), which contains the pair-sampling noise, the map's
    pixelisation error and what remains of the realisation ("cosmic") variance 2C_l²/(2l+1) after pairing).  The
    limit is the two-sided Student-t quantile for N-1 degrees of freedom at a family-wise false-alarm probability
    FAMILY_FALSE_ALARM (Bonferroni over every T and l).  l is restricted to l <= nside, well inside both
    estimators' resolution (the map resolves l <= 2 nside, the 16-node quadrature is exact to degree 31).
    """
    from scipy import stats

    config = _turbulent_config()
    results = [anisotropy_realisation(config, realisation_seed(7, index)) for index in range(PAIR_TEST_REALISATIONS)]
    ells = slice(1, config.nside + 1)
    map_cl = np.array([result["cl"][:, ells] for result in results])
    pair_cl = np.array([result["cl_pair"][:, ells] for result in results])
    difference = map_cl - pair_cl
    mean = difference.mean(axis=0)
    error = difference.std(axis=0, ddof=1) / math.sqrt(PAIR_TEST_REALISATIONS)
    limit = stats.t.ppf(1.0 - FAMILY_FALSE_ALARM / (2 * mean.size), PAIR_TEST_REALISATIONS - 1)
    assert np.all(np.abs(mean) < limit * error), mean / error
    # the test has power: a 20 % normalisation error of either estimator at l = 1 would exceed the limit (at
    # higher l the pair-sampling noise of 300 pairs per separation dominates and the check is weaker)
    assert np.all(limit * error[:, 0] < 0.2 * map_cl.mean(axis=0)[:, 0])

"""Pair instrument (validation/simulator/pairs.py).

Independent references: the exact rigid rotation of every pair in a uniform field (x' = x, closed-form two-time
correlation), the Boris position update as the exact step sum of the directions, the numpy twins of the kernels,
and the map C_ℓ of validation.simulator.backtrack (healpy.anafast) in the same turbulence realisations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from anisotropy.errors import ParameterError
from anisotropy.legendre import legendre_table
from validation.simulator.backtrack import anisotropy_realisation
from validation.simulator.config import AnisotropyConfig, TurbulenceConfig
from validation.simulator.ensemble import realisation_seed
from validation.simulator.pairs import PairConfig, mixing_matrix, pair_realisation

#: the kernels and their numpy twins differ only in summation order (sums of ≤ 10^4 terms of size ≤ 10)
TWIN_TOLERANCE = 1e-11
#: exact identities evaluated in double precision (rigid rotation, step sums over ≤ 300 steps)
EXACT_TOLERANCE = 1e-10
#: Hoeffding: a mean of P independent terms in [-b, b] deviates from its expectation by more than
#: HOEFFDING_FACTOR·b/√P with probability ≤ 2 exp(-HOEFFDING_FACTOR²/2) ≈ 7e-6
HOEFFDING_FACTOR = 5.0
#: identity test: per-entry two-sided p-value below which the map-pair difference counts as significant (Student t
#: with R - 1 degrees of freedom on the per-realisation differences)
IDENTITY_P_VALUE = 1e-4
#: identity test power: the standard error of the difference must stay below this fraction of C_1 and C_2 (measured
#: 1-2 % and 4-11 %), so a relative error of order one in either would be detected
IDENTITY_RELATIVE_PRECISION = 0.25

SLAB = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=0.01, modes_per_decade=32)


class UniformField:
    """b = ẑ everywhere (no turbulence), in the pusher's (7, N) layout."""

    def kernel_arrays(self):
        return np.zeros((7, 1)), np.array([0.0, 0.0, 1.0])


def test_numba_kernels_agree_with_their_numpy_twins():
    config = PairConfig(SLAB, 0.3, nodes=6, pairs=50, times=(0.3, 1.0), lmax_mixing=5)
    fast = pair_realisation(config, np.random.SeedSequence(3))
    slow = pair_realisation(config, np.random.SeedSequence(3), kernel="numpy")
    assert fast.keys() == slow.keys()
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=0, atol=TWIN_TOLERANCE, err_msg=name)


def test_uniform_field_rotates_pairs_rigidly():
    # a uniform field rotates both directions about ẑ by the same angle: x' = x, so <P_l0(x')> = P_l0(x), M = 1
    config = PairConfig(SLAB, 0.5, nodes=8, pairs=40, times=(0.5, 2.0), lmax_mixing=6, dt=0.01)
    result = pair_realisation(config, np.random.SeedSequence(0), field=UniformField())
    expected = legendre_table(6, result["cosines"]).T
    for age in range(result["ages"].size):
        np.testing.assert_allclose(result["mixing"][age], expected, atol=EXACT_TOLERANCE)
        np.testing.assert_allclose(result["drift"][age], 0.0, atol=EXACT_TOLERANCE)
        np.testing.assert_allclose(result["second_moment"][age], 0.0, atol=EXACT_TOLERANCE)
        matrix = mixing_matrix(result["mixing"][age], result["cosines"], result["weights"], 6)
        np.testing.assert_allclose(matrix, np.eye(7), atol=EXACT_TOLERANCE)
    # along B0, g = n_z is conserved and I = n_z T: <I_A I_B> = T² <g_A g_B>
    along = 0
    for age, time in enumerate(result["ages"]):
        np.testing.assert_allclose(result["integral_correlation"][along, age],
                                   time**2 * result["equal_time_correlation"][along, age], atol=EXACT_TOLERANCE)


def test_uniform_field_two_time_correlation_across_b0_is_the_rotated_cosine():
    # g_x(t) = n_x cos Ωt - n_y sin Ωt for the reversed particle (rotation about +ẑ at Ω = 1/ρ); for pairs with
    # random orientation <n_Ai n_Bj> = x δ_ij / 3, so <g_A(t1) g_B(t2)> = (x/3) cos Ω(t1 - t2)
    pairs = 4000
    config = PairConfig(SLAB, 0.5, nodes=4, pairs=pairs, times=(0.4, 1.1, 2.5), dt=0.005)
    result = pair_realisation(config, np.random.SeedSequence(1), field=UniformField())
    omega = 1.0 / config.reduced_rigidity
    ages = result["ages"]
    phase = omega * (ages[:, None] - ages[None, :])
    expected = result["cosines"][None, None, :] / 3.0 * np.cos(phase)[:, :, None]
    # Boris phase lag (Ωdt)²/12 per radian on top of the sampling bound (terms in [-1, 1])
    lag = omega * ages[-1] * (omega * config.timestep) ** 2 / 12.0
    bound = HOEFFDING_FACTOR / math.sqrt(pairs) + 2.0 * lag
    across = 1
    assert np.max(np.abs(result["direction_correlation"][across] - expected)) < bound


def test_recorded_two_time_correlation_integrates_to_the_pair_correlation_of_the_map():
    # with an output at every Boris step, I(t_k) = dt Σ_{n ≤ k} g(t_n) (the position update r += dt d_n), so
    # v² Σ Σ dt² <g_A(t_i) g_B(t_j)> = <I_A I_B> = C(x; T) exactly: the double time integral of the recorded
    # two-time correlations is the map's pair correlation
    dt = 0.01
    steps = 40
    config = PairConfig(SLAB, 0.3, nodes=5, pairs=30, times=tuple(dt * np.arange(1, steps + 1)), dt=dt)
    result = pair_realisation(config, np.random.SeedSequence(5))
    for last in (10, steps):
        integrated = dt**2 * result["direction_correlation"][:, 1 : last + 1, 1 : last + 1].sum(axis=(1, 2))
        np.testing.assert_allclose(integrated, result["integral_correlation"][:, last], rtol=0,
                                   atol=EXACT_TOLERANCE)


def _identity_differences(realisations, times, seed):
    pair_config = PairConfig(SLAB, 0.3, nodes=16, pairs=1000, times=times)
    differences, map_cl = [], []
    for index in range(realisations):
        realisation = realisation_seed(seed, index)
        pairs = pair_realisation(pair_config, realisation)
        rows, maps = [], []
        for gradient, angle in enumerate((0.0, 90.0)):
            map_config = AnisotropyConfig(turbulence=SLAB, reduced_rigidity=0.3, nside=16, times=times,
                                          gradient_angle=angle)
            sky = anisotropy_realisation(map_config, realisation)
            rows.append(pairs["cl"][gradient, 1:, 1:6] - sky["cl"][:, 1:6])
            maps.append(sky["cl"][:, 1:6])
        differences.append(rows)
        map_cl.append(maps)
    return np.array(differences), np.array(map_cl)


def test_legendre_projection_of_pair_correlations_equals_the_map_cl():
    # docs/physics/index.md of the module docstring: C_ℓ(T) = 2π ∫ C(x; T) P_ℓ(x) dx with C = v²∫∫<g_A g_B>, same
    # realisations
    # and fixed G (along and across B0).  Error model: the per-realisation difference pair - map is independent
    # across realisations (pair sampling and pixelisation noise); its mean is tested with Student t
    realisations = 12
    differences, map_cl = _identity_differences(realisations, (1.0, 3.0), seed=7)
    mean = differences.mean(axis=0)
    error = differences.std(axis=0, ddof=1) / math.sqrt(realisations)
    t_limit = stats.t.isf(IDENTITY_P_VALUE / 2.0, realisations - 1)
    assert np.all(np.abs(mean / error) < t_limit), mean / error
    # power: the comparison resolves C_1 and C_2 to better than IDENTITY_RELATIVE_PRECISION
    assert np.all(error[..., :2] < IDENTITY_RELATIVE_PRECISION * map_cl.mean(axis=0)[..., :2])


@pytest.mark.parametrize(
    ("overrides", "name"),
    [({"nodes": 1}, "nodes"), ({"pairs": 0}, "pairs"), ({"times": (2.0, 1.0)}, "times"),
     ({"times": ()}, "times"), ({"lmax_mixing": -1}, "lmax_mixing"), ({"reduced_rigidity": 0.0}, "reduced_rigidity"),
     ({"dt": -1.0}, "dt")],
)
def test_config_rejects_out_of_range_values_naming_the_field(overrides, name):
    with pytest.raises(ParameterError) as caught:
        PairConfig(SLAB, **{"reduced_rigidity": 0.3, **overrides})
    assert caught.value.name == name


def test_unknown_kernel_is_refused():
    with pytest.raises(ParameterError, match="kernel"):
        pair_realisation(PairConfig(SLAB, 0.3, nodes=2, pairs=1, times=(0.1,)), np.random.SeedSequence(0),
                         kernel="fortran")

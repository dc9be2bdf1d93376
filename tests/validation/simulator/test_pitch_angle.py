"""Pitch-angle transition record (validation/simulator/pitch_angle.py).

Independent references: a uniform field along B0 conserves μ in both frames; a uniform field tilted by θ from ẑ
conserves the local-field μ and rotates the mean-field one, ⟨μ(0)μ(t)⟩ = (cos²θ + sin²θ cos Ωt)/3 for an isotropic
population (rotation about the field at Ω = c/r_g); chunking changes only the order of the sums.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from validation.simulator.config import PitchAngleConfig, TurbulenceConfig
from validation.simulator.pitch_angle import FRAMES, bin_index, pitch_angle_realisation

SLAB = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=0.01, modes_per_decade=16)
#: exact identities in double precision (a conserved μ after ≤ 1000 Boris rotations, sums of ≤ 10^4 terms)
EXACT_TOLERANCE = 1e-10
#: Hoeffding: a mean of P independent terms in [-1, 1] deviates from its expectation by more than
#: HOEFFDING_FACTOR/√P with probability ≤ 2 exp(-HOEFFDING_FACTOR²/2) ≈ 7e-6
HOEFFDING_FACTOR = 5.0
#: Boris phase error of the gyration, (Ω dt)²/12 per radian, over Ω t ≤ 10 at Ω dt = 0.02
PHASE_TOLERANCE = 1e-3


class UniformField:
    """b = b0 everywhere (no turbulence), in the pusher's (7, N) layout."""

    def __init__(self, b0=(0.0, 0.0, 1.0)):
        self.b0 = np.asarray(b0, dtype=float)

    def kernel_arrays(self):
        return np.zeros((7, 1)), self.b0


def test_uniform_field_along_b0_conserves_mu_in_both_frames():
    config = PitchAngleConfig(SLAB, 0.5, particles=500, times=(0.3, 2.0), bins=8, dt=0.01)
    record = pitch_angle_realisation(config, np.random.SeedSequence(4), field=UniformField())
    initial = record["joint"][:, 0]
    assert np.allclose(initial, np.diag(np.diag(initial[0])), atol=0)  # age 0: diagonal
    for age in range(record["ages"].size):
        np.testing.assert_allclose(record["joint"][:, age], initial, atol=EXACT_TOLERANCE)
        np.testing.assert_allclose(record["autocorrelation"][:, age], record["second_moment"][:, 0],
                                   atol=EXACT_TOLERANCE)
    np.testing.assert_allclose(record["joint"][0], record["joint"][1], atol=EXACT_TOLERANCE)


def test_tilted_uniform_field_rotates_the_mean_field_mu_and_conserves_the_local_one():
    tilt = math.radians(40.0)
    rho, particles = 0.5, 4000
    config = PitchAngleConfig(SLAB, rho, particles=particles, times=(0.7, 1.9, 5.0), bins=10, dt=0.01)
    field = UniformField((math.sin(tilt), 0.0, math.cos(tilt)))
    record = pitch_angle_realisation(config, np.random.SeedSequence(5), field=field)
    mean_field, local_field = FRAMES.index("mean_field"), FRAMES.index("local_field")
    phase = record["ages"] / rho
    expected = (math.cos(tilt) ** 2 + math.sin(tilt) ** 2 * np.cos(phase)) / 3.0
    # the estimator's own ⟨μ0²⟩ replaces 1/3, so only the rotation is tested against the sampling bound
    sampled = expected * 3.0 * record["second_moment"][mean_field, 0]
    bound = HOEFFDING_FACTOR / math.sqrt(particles)
    assert np.max(np.abs(record["autocorrelation"][mean_field] - sampled)) < bound
    assert np.max(np.abs(record["autocorrelation"][mean_field] - expected)) < 2 * bound
    np.testing.assert_allclose(record["autocorrelation"][local_field], record["second_moment"][local_field, 0],
                               atol=PHASE_TOLERANCE)
    np.testing.assert_allclose(record["joint"][local_field], record["joint"][local_field][:1].repeat(4, axis=0),
                               atol=EXACT_TOLERANCE)


def test_chunking_changes_only_the_order_of_the_sums():
    config = PitchAngleConfig(SLAB, 0.3, particles=90, times=(0.2, 0.6), bins=6)
    whole = pitch_angle_realisation(config, np.random.SeedSequence(2))
    chunked = pitch_angle_realisation(config, np.random.SeedSequence(2), chunk_particles=7)
    for name in whole:
        np.testing.assert_allclose(chunked[name], whole[name], atol=EXACT_TOLERANCE, err_msg=name)


def test_joint_probabilities_are_normalised_and_start_isotropic():
    config = PitchAngleConfig(SLAB, 0.3, particles=4000, times=(0.5,), bins=4)
    record = pitch_angle_realisation(config, np.random.SeedSequence(3))
    np.testing.assert_allclose(record["joint"].sum(axis=(2, 3)), 1.0, atol=EXACT_TOLERANCE)
    start = record["joint"][0, 0].sum(axis=1)  # mean-field bins of μ0 (uniform in [-1, 1])
    assert np.max(np.abs(start - 0.25)) < HOEFFDING_FACTOR / math.sqrt(4000)


def test_bin_index_puts_the_edges_in_range():
    assert bin_index([-1.0, -0.5, 0.0, 0.5, 1.0], 4).tolist() == [0, 1, 2, 3, 3]


@pytest.mark.parametrize(("changes", "name"), [
    ({"bins": 1}, "bins"), ({"particles": 0}, "particles"), ({"times": ()}, "times"),
    ({"reduced_rigidity": -1.0}, "reduced_rigidity"), ({"turbulence": "slab"}, "turbulence"),
])
def test_config_refuses_bad_values_naming_the_field(changes, name):
    with pytest.raises(ParameterError, match=name):
        PitchAngleConfig(**{"turbulence": SLAB, **changes})


def test_realisation_refuses_another_config():
    with pytest.raises(ParameterError, match="config"):
        pitch_angle_realisation(object(), np.random.SeedSequence(0))


def test_module_examples_run():
    import doctest
    import importlib

    module = importlib.import_module("validation.simulator.pitch_angle")
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0 and outcome.failed == 0

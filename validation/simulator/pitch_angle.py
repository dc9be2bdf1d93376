r"""Pitch-angle transition record: how the simulator's particles move in pitch-angle cosine.

Particles start at the origin with isotropic directions and are backtracked (the convention of
:mod:`validation.simulator.backtrack`: the reversed particle, charge sign −1) in one turbulence realisation.  Two
pitch-angle cosines are recorded (:data:`FRAMES`): relative to the mean field, :math:`\mu = \hat d\cdot\hat z`
(QLT's variable), and relative to the local field, :math:`\mu_\mathrm{loc} = \hat d\cdot\mathbf B(\mathbf R)/
|\mathbf B(\mathbf R)|` (the one a particle's gyration conserves when :math:`\delta B` is not small).  For each, at
every output age :math:`t_k` (age 0 included) the record holds the joint probability

.. math:: J_{ab}(t_k) = \Pr\{\mu(0)\in\text{bin } a,\ \mu(t_k)\in\text{bin } b\}

on equal-width bins of :math:`[-1, 1]`, the autocorrelation :math:`\langle\mu(0)\,\mu(t_k)\rangle` and
:math:`\langle\mu(t_k)^2\rangle`.  Joint probabilities (not conditional ones) are stored because they average
linearly over realisations; the conditional transition probability :math:`J_{ab}/\sum_b J_{ab}` is formed from the
ensemble (:mod:`validation.pitch_angle_check`).  The slab QLT prediction of the same quantity is
:func:`anisotropy.pitch_angle.qlt_slab_transitions` (docs/physics/pitch_angle.md).

Seeds: child 0 of the realisation seed builds the turbulence (the same field as
:func:`validation.simulator.pairs.pair_realisation` and
:func:`validation.simulator.backtrack.anisotropy_realisation` with the same seed), child 3 the directions.
The binning is a vectorised histogram per output age; the time is spent in the pusher's kernels.
"""

from __future__ import annotations

import numpy as np

from anisotropy.errors import ParameterError, require_integer

from .backtrack import CHUNK_PARTICLES, _advance, _build_field, backtracking_schedule
from .config import PitchAngleConfig
from .diffusion import isotropic_directions
from .ensemble import realisation_seed
from .pusher import evaluate_field

__all__ = ["FRAMES", "PitchAngleConfig", "bin_index", "pitch_angle_realisation"]

#: the two pitch-angle cosines recorded (axis 0 of the outputs): relative to B0 = B0 ẑ and to the local field
FRAMES = ("mean_field", "local_field")

#: child of the realisation seed for the directions (0 turbulence, 1 backtrack's pairs, 2 the pair instrument)
_DIRECTION_STREAM = 3


def bin_index(mu, bins: int) -> np.ndarray:
    r"""Index of the equal-width bin of :math:`[-1, 1]` holding each :math:`\mu` (:math:`\mu = 1` in the last bin).

    Examples
    --------
    >>> bin_index([-1.0, -0.05, 0.0, 0.99, 1.0], 20).tolist()
    [0, 9, 10, 19, 19]
    """
    mu = np.asarray(mu, dtype=float)
    return np.clip(np.floor((mu + 1.0) * (0.5 * bins)).astype(np.int64), 0, bins - 1)


def pitch_angle_realisation(config: PitchAngleConfig, seed: np.random.SeedSequence, *, field=None,
                            advance=_advance, chunk_particles: int = CHUNK_PARTICLES) -> dict:
    r"""One realisation of the pitch-angle transition record (module docstring); a pure function of the inputs.

    Parameters
    ----------
    config : PitchAngleConfig
    seed : numpy.random.SeedSequence
        Child 0 builds the turbulence, child 3 the isotropic initial directions.
    field : object, optional
        A ready field (``kernel_arrays()``), e.g. a uniform one for the exact limit.
    advance : callable, optional
        As in :func:`validation.simulator.backtrack.anisotropy_realisation`.
    chunk_particles : int
        Particles pushed together; changes only the order of the sums.

    Returns
    -------
    dict
        ``ages`` (A,) :math:`ct/L_c` with ``ages[0] = 0``; ``edges`` (bins + 1,); ``joint`` (2, A, bins, bins)
        :math:`J_{ab}(t)`; ``autocorrelation`` (2, A) :math:`\langle\mu(0)\mu(t)\rangle`; ``second_moment``
        (2, A) :math:`\langle\mu(t)^2\rangle`; ``particle_steps``; ``dt``.  Axis 0 is :data:`FRAMES`.

    Examples
    --------
    >>> from validation.simulator.config import TurbulenceConfig
    >>> config = PitchAngleConfig(TurbulenceConfig("slab", 0.5, 0.1, 8), 0.5, particles=64, times=(0.5,), bins=4)
    >>> record = pitch_angle_realisation(config, np.random.SeedSequence(1))
    >>> record["joint"].shape  # (frames, ages incl. 0, bins, bins)
    (2, 2, 4, 4)
    >>> bool(np.allclose(record["joint"].sum(axis=(2, 3)), 1.0))  # every particle is in some bin
    True
    """
    if not isinstance(config, PitchAngleConfig):
        raise ParameterError("config", f"expected a PitchAngleConfig, got {type(config).__name__}")
    chunk_particles = require_integer("chunk_particles", chunk_particles, 1)
    dt, steps = backtracking_schedule(config.times, config.timestep)
    if field is None:
        field = _build_field(config, realisation_seed(seed, 0))
    bins, ages = config.bins, len(steps) + 1
    generator = np.random.default_rng(realisation_seed(seed, _DIRECTION_STREAM))
    frames = len(FRAMES)
    joint = np.zeros((frames, ages, bins * bins))
    autocorrelation = np.zeros((frames, ages))
    second_moment = np.zeros((frames, ages))
    # drawn together (as the pair instrument's directions), so the chunk size changes only the order of the sums
    all_directions = isotropic_directions(config.particles, generator)
    for start in range(0, config.particles, chunk_particles):
        directions = np.ascontiguousarray(all_directions[start : start + chunk_particles])
        positions = np.zeros_like(directions)
        initial_mu = None
        done = 0
        for age in range(ages):
            if age > 0:
                advance(field, positions, directions, config.reduced_rigidity, dt, int(steps[age - 1]) - done)
                done = int(steps[age - 1])
            local = evaluate_field(field, positions)
            mu = np.stack([directions[:, 2],
                           np.einsum("pc,pc->p", directions, local) / np.linalg.norm(local, axis=1)])
            if initial_mu is None:
                initial_mu = mu.copy()
                initial_bin = bin_index(initial_mu, bins) * bins
            for frame in range(frames):
                joint[frame, age] += np.bincount(initial_bin[frame] + bin_index(mu[frame], bins),
                                                 minlength=bins * bins)
                autocorrelation[frame, age] += initial_mu[frame] @ mu[frame]
                second_moment[frame, age] += mu[frame] @ mu[frame]
    per_particle = 1.0 / config.particles
    return {
        "ages": np.concatenate([[0.0], steps * dt]),
        "edges": np.linspace(-1.0, 1.0, bins + 1),
        "joint": joint.reshape(frames, ages, bins, bins) * per_particle,
        "autocorrelation": autocorrelation * per_particle,
        "second_moment": second_moment * per_particle,
        "particle_steps": np.int64(config.particles * int(steps[-1])),
        "dt": np.float64(dt),
    }

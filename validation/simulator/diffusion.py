r"""Running diffusion coefficients of test particles and field-line wandering (docs/physics/conventions.md).

Definitions (reduced units: lengths in :math:`L_c`, time as :math:`ct/L_c`, :math:`v = c`):

.. math:: d_\parallel(t) = \tfrac12\,\frac{d\langle\Delta z^2\rangle}{dt},\qquad
          d_\perp(t) = \tfrac12\,\frac{d\langle\Delta r_\perp^2\rangle}{dt},\qquad
          \Delta r_\perp^2 = \Delta x^2 + \Delta y^2,

so :math:`d_\perp` is twice the usual per-component coefficient, and for :math:`t\to\infty`
:math:`d_\parallel\to\kappa_\parallel`, :math:`d_\perp\to 2\kappa_\perp`; mean free paths :math:`\lambda = 3\kappa/c`
(docs/guide/design.md).  Field lines: :math:`d_\mathrm{FL}(z) = \tfrac12\,d\langle\Delta r_\perp^2\rangle/dz`.

**Derivative on the log grid.** Outputs sit on log-spaced times :math:`t_i`.  With :math:`y = \langle\Delta^2\rangle`,

.. math:: \frac{dy}{dt}\Big|_{t_i} = \frac{y_i}{t_i}\,\frac{d\ln y}{d\ln t}\Big|_i ,

where the logarithmic slope is taken by :func:`numpy.gradient` on :math:`(\ln t_i, \ln y_i)` (second-order centred
differences on the non-uniform grid, first-order one-sided at both ends).  It is exact for a pure power law
(ballistic :math:`y\propto t^2`, diffusive :math:`y\propto t`) whatever the grid spacing, which a derivative in
:math:`t` on a log grid is not.

All outputs also carry the raw mean squared displacements, so other conventions can be recomputed.
"""

from __future__ import annotations

import math

import numpy as np

from anisotropy.errors import ParameterError

from .config import DiffusionConfig
from .ensemble import realisation_seed
from .pusher import advance, trace_fieldlines
from .slab_table import slab_table_record
from .turbulence import TurbulenceField

__all__ = [
    "PARTICLE_CHUNK",
    "diffusion_realisation",
    "isotropic_directions",
    "mean_free_path",
    "running_coefficient",
]

#: particles integrated together: bounds memory (a few arrays of this many 3-vectors) whatever config.particles is
PARTICLE_CHUNK = 65_536

# child streams of a realisation's SeedSequence (validation.simulator.ensemble.realisation_seed convention)
_TURBULENCE_STREAM = 0
_DIRECTION_STREAM = 1
_FIELDLINE_STREAM = 2


def running_coefficient(abscissa, mean_squared) -> np.ndarray:
    r"""Running coefficient :math:`\tfrac12\,dy/dx` of :math:`y = \langle\Delta^2\rangle(x)` on a log grid.

    Uses :math:`dy/dx = (y/x)\,d\ln y/d\ln x` with :func:`numpy.gradient` in the logarithms (module docstring).

    Parameters
    ----------
    abscissa : array_like (n,)
        Strictly increasing positive times :math:`ct/L_c` (or lengths :math:`z/L_c`), n ≥ 2.
    mean_squared : array_like (..., n)
        Positive mean squared displacements on that grid (last axis).

    Returns
    -------
    ndarray (..., n)
        :math:`\tfrac12\,dy/dx` in :math:`L_c` (i.e. :math:`\kappa/(cL_c)` for times in :math:`L_c/c`).
    """
    abscissa = np.asarray(abscissa, dtype=float)
    mean_squared = np.asarray(mean_squared, dtype=float)
    if abscissa.ndim != 1 or abscissa.size < 2 or np.any(abscissa <= 0) or np.any(np.diff(abscissa) <= 0):
        raise ParameterError("abscissa", "needs >= 2 strictly increasing positive values")
    if mean_squared.shape[-1] != abscissa.size:
        raise ParameterError("mean_squared", f"last axis must have {abscissa.size} entries")
    if np.any(mean_squared <= 0):
        raise ParameterError("mean_squared", "must be positive for the logarithmic derivative")
    slope = np.gradient(np.log(mean_squared), np.log(abscissa), axis=-1)
    return 0.5 * mean_squared / abscissa * slope


def _running_or_nan(abscissa, mean_squared):
    # a schedule shorter than two whole steps has a single output: no derivative
    if abscissa.size < 2:
        return np.full(abscissa.size, np.nan)
    return running_coefficient(abscissa, mean_squared)


def mean_free_path(kappa):
    r"""Mean free path :math:`\lambda = 3\kappa/c` in :math:`L_c` for :math:`\kappa` in :math:`cL_c`
    (docs/physics/conventions.md#running-diffusion)."""
    return 3.0 * np.asarray(kappa, dtype=float)


def isotropic_directions(count: int, rng: np.random.Generator) -> np.ndarray:
    r"""``count`` unit vectors uniform on the sphere (:math:`\mu` uniform in [-1, 1], :math:`\phi` in [0, 2π))."""
    mu = rng.uniform(-1.0, 1.0, count)
    azimuth = rng.uniform(0.0, 2.0 * math.pi, count)
    sine = np.sqrt(1.0 - mu**2)
    return np.ascontiguousarray(np.stack([sine * np.cos(azimuth), sine * np.sin(azimuth), mu], axis=1))


def _particle_moments(config, field, rng, dt, steps, kernel):
    sums = np.zeros((3, steps.size))  # Σ Δz², Σ Δr⊥², Σ Δz
    for start in range(0, config.particles, PARTICLE_CHUNK):
        count = min(PARTICLE_CHUNK, config.particles - start)
        directions = isotropic_directions(count, rng)
        positions = np.zeros_like(directions)
        done = 0
        for index, target in enumerate(steps):
            advance(field, positions, directions, config.reduced_rigidity, 1, dt, int(target - done), kernel=kernel)
            done = target
            sums[0, index] += np.sum(positions[:, 2] ** 2)
            sums[1, index] += np.sum(positions[:, 0] ** 2 + positions[:, 1] ** 2)
            sums[2, index] += np.sum(positions[:, 2])
    return sums / config.particles


def _fieldline_moments(config, field, rng, ds, steps, kernel):
    # start points uniform in a box of one outer scale: the realisation is statistically homogeneous, so the
    # spread only decorrelates the lines from one another
    box = config.turbulence.l_max
    start = np.ascontiguousarray(rng.uniform(0.0, box, (config.fieldlines, 3)))
    positions = start.copy()
    moments = np.empty((3, steps.size))  # <Δz>, <Δz²>, <Δr⊥²>
    done = 0
    for index, target in enumerate(steps):
        trace_fieldlines(field, positions, ds, int(target - done), kernel=kernel)
        done = target
        shift = positions - start
        moments[0, index] = np.mean(shift[:, 2])
        moments[1, index] = np.mean(shift[:, 2] ** 2)
        moments[2, index] = np.mean(shift[:, 0] ** 2 + shift[:, 1] ** 2)
    return moments


def realisation_record(config: DiffusionConfig, field, seed, times, moments, dt, steps, kernel) -> dict:
    """The result of one diffusion realisation from its particle moments (shared by the CPU and GPU paths): running
    coefficients and, with ``config.fieldlines``, the field-line statistics traced on the CPU with ``kernel``."""
    result = {
        "times": times,
        "msd_parallel": moments[0],
        "msd_perp": moments[1],
        "mean_dz": moments[2],
        "d_parallel": _running_or_nan(times, moments[0]),
        "d_perp": _running_or_nan(times, moments[1]),
        "dt": np.float64(dt),
        "particle_steps": np.int64(config.particles) * np.int64(steps[-1]),
    }
    if config.fieldlines > 0:
        ds, line_steps = config.fieldline_steps()
        lengths = line_steps * ds
        line = _fieldline_moments(
            config, field, np.random.default_rng(realisation_seed(seed, _FIELDLINE_STREAM)), ds, line_steps, kernel
        )
        mean_dz = line[0]
        increasing = bool(np.all(mean_dz > 0) and np.all(np.diff(mean_dz) > 0) and np.all(line[2] > 0))
        result.update(
            {
                "fieldline_length": lengths,
                "fieldline_mean_dz": mean_dz,
                "fieldline_msd_parallel": line[1],
                "fieldline_msd_perp": line[2],
                "d_fieldline": _running_or_nan(mean_dz, line[2]) if increasing else np.full(lengths.size, np.nan),
                "fieldline_step": np.float64(ds),
            }
        )
    return result


def diffusion_realisation(config: DiffusionConfig, seed: np.random.SeedSequence, *, kernel: str = "auto") -> dict:
    r"""One turbulence realisation: mean squared displacements and running diffusion coefficients.

    A pure function of ``(config, seed)``: turbulence from child 0 of ``seed``, particle directions from child 1,
    field-line start points from child 2 (:func:`validation.simulator.ensemble.realisation_seed`).  Particles start
    at the
    origin with isotropic directions and charge sign +1 (forward in time; diffusion is symmetric under the
    reversal).  Memory is bounded by :data:`PARTICLE_CHUNK` particles; only moments are kept.

    Parameters
    ----------
    config : DiffusionConfig
    seed : numpy.random.SeedSequence
    kernel : {"auto", "simd", "portable", "libm"}
        Field evaluation (:func:`validation.simulator.pusher.kernel_selector`); ``"libm"`` is the slow reference twin.

    Returns
    -------
    dict of ndarray
        ``times`` (n,) :math:`ct/L_c` of the outputs (whole Boris steps, :meth:`DiffusionConfig.output_steps`);
        ``msd_parallel`` :math:`\langle\Delta z^2\rangle`, ``msd_perp`` :math:`\langle\Delta r_\perp^2\rangle`,
        ``mean_dz`` :math:`\langle\Delta z\rangle` (n,) in :math:`L_c^2`, :math:`L_c`;
        ``d_parallel``, ``d_perp`` (n,) running coefficients in :math:`cL_c` (:func:`running_coefficient`; NaN
        if the schedule has a single output);
        ``dt`` the Boris step; ``particle_steps`` total particle steps; ``slab_table_bytes`` and
        ``slab_table_spacing`` (0 without a table, :func:`validation.simulator.slab_table.slab_table_record`).
        With ``config.fieldlines > 0`` also
        ``fieldline_length`` (m,) arc lengths :math:`s/L_c`, ``fieldline_mean_dz`` :math:`\langle\Delta z\rangle(s)`,
        ``fieldline_msd_parallel`` :math:`\langle\Delta z^2\rangle(s)`, ``fieldline_msd_perp``
        :math:`\langle\Delta r_\perp^2\rangle(s)`, and ``d_fieldline`` :math:`\tfrac12 d\langle\Delta
        r_\perp^2\rangle/dz` evaluated against :math:`z = \langle\Delta z\rangle(s)` (needs :math:`B_0 > 0` so that
        it increases; NaN otherwise), ``fieldline_step``.

    Examples
    --------
    >>> import numpy as np
    >>> from validation import DiffusionConfig, TurbulenceConfig, diffusion_realisation
    >>> turbulence = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    >>> config = DiffusionConfig(turbulence=turbulence, reduced_rigidity=0.3, particles=16, time=2.0, n_times=4)
    >>> out = diffusion_realisation(config, np.random.SeedSequence(1))
    >>> out["msd_parallel"].shape, bool(np.all(out["msd_parallel"] > 0))
    ((4,), True)
    """
    if not isinstance(config, DiffusionConfig):
        raise ParameterError("config", f"expected a DiffusionConfig, got {type(config).__name__}")
    if not isinstance(seed, np.random.SeedSequence):
        raise ParameterError("seed", f"expected a numpy SeedSequence, got {type(seed).__name__}")
    field = TurbulenceField(config.turbulence, realisation_seed(seed, _TURBULENCE_STREAM))
    dt, steps = config.output_steps()
    times = steps * dt
    moments = _particle_moments(
        config, field, np.random.default_rng(realisation_seed(seed, _DIRECTION_STREAM)), dt, steps, kernel
    )
    result = realisation_record(config, field, seed, times, moments, dt, steps, kernel)
    result.update(slab_table_record(field))
    return result

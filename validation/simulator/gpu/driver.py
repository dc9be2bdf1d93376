r"""GPU realisations: the CUDA kernels of :mod:`validation.simulator.gpu.kernels` behind the CPU entry points.

* :func:`evaluate_field`, :func:`advance`: the GPU twins of :func:`validation.simulator.pusher.evaluate_field` and
  :func:`validation.simulator.pusher.advance` (same arguments, same results up to rounding).
* :func:`diffusion_realisation`: :func:`validation.simulator.diffusion.diffusion_realisation` on the device.  The
  turbulence comes from child 0 of the realisation's seed and the particle directions from child 1, drawn chunk by
  chunk exactly as the CPU draws them, so both paths integrate the same particles in the same field; the moments
  :math:`\langle\Delta z^2\rangle`, :math:`\langle\Delta r_\perp^2\rangle`, :math:`\langle\Delta z\rangle` are reduced
  on the device (one partial sum per block and output, summed here in a fixed order).  Field lines, when asked
  for, are traced by the CPU tracer (same stream, child 2).
* :func:`anisotropy_realisation`: :func:`validation.simulator.backtrack.anisotropy_realisation` with the backtracking
  (Boris push, charge reversed) on the device; the maps and :math:`C_\ell` are made on the host from the backtracked
  positions and directions.
* :func:`pair_realisation`: :func:`validation.simulator.pairs.pair_realisation` (the pair instrument) with the
  backtracking on the device: the pairs' positions and directions come back at every output age and the pair
  observables are accumulated on the host by the instrument's own kernels, from chunks of :data:`PAIR_CHUNK`
  particles (the CPU's chunk is too small to fill a GPU).
* :class:`DeviceExecutor`: a serial executor that runs those realisation functions on the GPU, for commands that
  take an executor (``cr-anisotropy validate --device gpu``, ``validate --campaign --device gpu``).

Slab turbulence evaluated from its table (``slab_field="table"``, the default for slab) uses the table on the
device (:mod:`validation.simulator.gpu.slab_table`), the plane-wave sum otherwise: the GPU follows the field's
:attr:`~validation.simulator.turbulence.TurbulenceField.field_evaluation`, as the CPU does.

Device memory: particles go to the device in batches of ``batch`` (default :data:`DEFAULT_BATCH`, 0.1 GB); when
an allocation fails the batch is halved (down to :data:`validation.simulator.diffusion.PARTICLE_CHUNK`), and below
that a :class:`~anisotropy.errors.ParameterError` says how to free memory.

Examples
--------
>>> import numpy as np
>>> from validation.simulator.config import DiffusionConfig, TurbulenceConfig
>>> from validation.simulator.gpu import gpu_problem
>>> from validation.simulator.gpu.driver import diffusion_realisation
>>> config = DiffusionConfig(TurbulenceConfig(modes_per_decade=4), reduced_rigidity=0.1, particles=4, time=0.1)
>>> if gpu_problem(allow_simulator=True) is None:  # a GPU, or numba's CUDA simulator
...     result = diffusion_realisation(config, np.random.SeedSequence(1))
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from anisotropy.errors import ParameterError, require_integer, require_range

from ..config import DiffusionConfig
from ..diffusion import (
    _DIRECTION_STREAM,
    _TURBULENCE_STREAM,
    PARTICLE_CHUNK,
    isotropic_directions,
    realisation_record,
)
from ..ensemble import SerialExecutor, realisation_seed
from ..slab_table import slab_table_record
from ..turbulence import TurbulenceField
from . import kernels
from .slab_table import advance_table, evaluate_table_field, summarise_positions

__all__ = [
    "DEFAULT_BATCH",
    "PAIR_CHUNK",
    "DeviceExecutor",
    "advance",
    "anisotropy_realisation",
    "diffusion_realisation",
    "evaluate_field",
    "pair_realisation",
]

#: particles on the device at once: 64 PARTICLE_CHUNKs (4.2e6): 0.1 GB of directions, 2.1e6 threads fill an H200
DEFAULT_BATCH = 64 * PARTICLE_CHUNK
#: threads per block (a power of two: the moments are reduced by a shared-memory tree)
THREADS_PER_BLOCK = 128
#: particles per thread in the Boris kernels (1 or 2): on an H200 2 reached 41 % of the FP64 peak, 1 reached 27 %
#: (``benchmarks/results/gpu_h200.json``)
PARTICLES_PER_THREAD = 2

#: particles per host chunk of the pair instrument on the GPU: 2**20 (8 particles per CUDA core of an H200; the
#: CPU's 65 536 would leave most of the device idle); the host arrays of a chunk take 48 MB plus 16 MB per age
PAIR_CHUNK = 1 << 20

_MODE_ROWS = 7


def _cpu_function(module, name: str):
    """The CPU function ``module.name``: while :class:`DeviceExecutor` runs a function it points ``module.name`` at
    the GPU twin and keeps the original in ``module.__cpu_functions__`` (the modules are imported by the callers:
    healpy is needed only for maps)."""
    return getattr(module, "__cpu_functions__", {}).get(name, getattr(module, name))


def _device_modes(field):
    """The field's modes without the CPU's SIMD padding (zero-amplitude columns add nothing), and b0."""
    modes, b0 = field.kernel_arrays()
    if modes.shape[0] != _MODE_ROWS:
        raise ParameterError("field", "kernel_arrays() must give a (7, N) mode array")
    count = getattr(field, "n_modes", modes.shape[1])
    return np.ascontiguousarray(modes[:, :count], dtype=np.float64), np.ascontiguousarray(b0, dtype=np.float64)


def _blocks(threads: int, block: int) -> int:
    return max(1, -(-threads // block))


def _fit_block(threads: int, block: int) -> int:
    """``block``, or the smallest power of two holding all ``threads`` when fewer (tiny launches)."""
    return min(block, 1 << max(0, (threads - 1).bit_length()))


def _is_out_of_memory(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}".upper()
    return "OUT_OF_MEMORY" in text or "OUT OF MEMORY" in text


def evaluate_field(field, positions, *, block: int = THREADS_PER_BLOCK) -> np.ndarray:
    """Field :math:`\\mathbf b = \\mathbf B/B_\\mathrm{tot}` at ``positions`` (M, 3) on the GPU (one thread each);
    a field with a slab table is evaluated from the table."""
    points = np.ascontiguousarray(positions, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or not np.all(np.isfinite(points)):
        raise ParameterError("positions", f"expected a finite (M, 3) array, got shape {points.shape}")
    if getattr(field, "table", None) is not None:  # slab field from its table, as on the CPU
        return evaluate_table_field(field.table, points, block=block)
    modes, b0 = _device_modes(field)
    out = cuda.device_array(points.shape, dtype=np.float64)
    block = _fit_block(points.shape[0], block)
    kernels.field_kernel[_blocks(points.shape[0], block), block](
        cuda.to_device(modes), cuda.to_device(b0), cuda.to_device(points), out
    )
    return out.copy_to_host()


def advance(field, positions, directions, reduced_rigidity, charge_sign, step, n_steps, *,
            per_thread: int = PARTICLES_PER_THREAD, block: int = THREADS_PER_BLOCK):
    r"""Advance particles in place by ``n_steps`` Boris steps on the GPU; arguments as
    :func:`validation.simulator.pusher.advance` (``charge_sign`` −1 backtracks).  A field with a slab table is
    pushed through the table (one particle per thread; ``per_thread`` applies to the mode sum)."""
    rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    if charge_sign not in (1, -1):
        raise ParameterError("charge_sign", f"must be +1 or -1, got {charge_sign!r}")
    step = require_range("step", step, 0.0, None, low_open=True)
    n_steps = require_integer("n_steps", n_steps, 0)
    per_thread = require_integer("per_thread", per_thread, 1, 2)
    for name, array in (("positions", positions), ("directions", directions)):
        if not (isinstance(array, np.ndarray) and array.dtype == np.float64 and array.flags.c_contiguous
                and array.ndim == 2 and array.shape[1] == 3):
            raise ParameterError(name, "must be a C-contiguous float64 (M, 3) ndarray (it is updated in place)")
    if positions.shape != directions.shape:
        raise ParameterError("directions", f"shape {directions.shape} differs from positions {positions.shape}")
    if n_steps == 0 or positions.shape[0] == 0:
        return
    device_positions = cuda.to_device(positions)
    device_directions = cuda.to_device(directions)
    if getattr(field, "table", None) is not None:  # slab field from its table, extended burst by burst
        advance_table(field.table, device_positions, device_directions, charge_sign * step / (2.0 * rigidity), step,
                      n_steps, (float(positions[:, 2].min()), float(positions[:, 2].max())), block=block)
        device_positions.copy_to_host(positions)
        device_directions.copy_to_host(directions)
        return
    modes, b0 = _device_modes(field)
    threads = -(-positions.shape[0] // per_thread)
    block = _fit_block(threads, block)
    kernels.advance_kernel(per_thread)[_blocks(threads, block), block](
        cuda.to_device(modes), cuda.to_device(b0), device_positions, device_directions,
        charge_sign * step / (2.0 * rigidity), step, n_steps,
    )
    device_positions.copy_to_host(positions)
    device_directions.copy_to_host(directions)


def _batch_moments(device_modes, device_b0, directions, half_angle_scale, step, device_steps, n_outputs,
                   per_thread, block):
    threads = -(-directions.shape[0] // per_thread)
    block = _fit_block(threads, block)
    blocks = _blocks(threads, block)
    partial = cuda.device_array((n_outputs, blocks, 3), dtype=np.float64)
    kernels.moments_kernel(per_thread, block)[blocks, block](
        device_modes, device_b0, cuda.to_device(directions), half_angle_scale, step, device_steps, partial
    )
    return partial.copy_to_host().sum(axis=1)  # (n_outputs, 3), blocks summed in index order


def _table_batch_moments(table, directions, half_angle_scale, step, steps, block):
    """Moments of one batch pushed through the slab table: state on the device between outputs, the sums and the
    z range reduced there (:func:`validation.simulator.gpu.slab_table.summarise_positions`)."""
    device_directions = cuda.to_device(directions)
    device_positions = cuda.to_device(np.zeros_like(directions))
    sums = np.empty((steps.size, 3))
    z_range = (0.0, 0.0)
    done = 0
    for output, target in enumerate(steps):
        advance_table(table, device_positions, device_directions, half_angle_scale, step, int(target) - done,
                      z_range, block=block)
        done = int(target)
        sums[output], low, high = summarise_positions(device_positions, block)
        z_range = (low, high)
    return sums


def _moments_function(field, half_angle_scale, dt, steps, per_thread, block):
    """``directions -> (n_outputs, 3)`` sums of one batch: the slab table when the field has one, else the modes."""
    table = getattr(field, "table", None)
    if table is not None:
        return lambda directions: _table_batch_moments(table, directions, half_angle_scale, dt, steps, block)
    modes, b0 = _device_modes(field)
    device_modes, device_b0 = cuda.to_device(modes), cuda.to_device(b0)
    device_steps = cuda.to_device(np.ascontiguousarray(steps, dtype=np.int64))
    return lambda directions: _batch_moments(device_modes, device_b0, directions, half_angle_scale, dt, device_steps,
                                             steps.size, per_thread, block)


def _particle_moments(config, field, rng, dt, steps, batch, per_thread, block):
    # charge sign +1, as on the CPU
    moments_of = _moments_function(field, dt / (2.0 * config.reduced_rigidity), dt, steps, per_thread, block)
    sums = np.zeros((steps.size, 3))
    start = 0
    while start < config.particles:
        count = min(batch, config.particles - start)
        # the CPU draws the directions PARTICLE_CHUNK at a time (mu, then azimuth): same draws, same particles
        directions = np.concatenate([
            isotropic_directions(min(PARTICLE_CHUNK, count - offset), rng)
            for offset in range(0, count, PARTICLE_CHUNK)
        ])
        try:
            sums += moments_of(directions)
        except Exception as error:
            if not _is_out_of_memory(error):
                raise
            if batch <= PARTICLE_CHUNK:
                raise ParameterError("batch", f"the GPU ran out of memory at {count} particles per batch; free "
                                              "device memory (other processes) or run with --device cpu") from None
            raise _Shrink(batch // 2) from None
        start += count
    return (sums / config.particles).T  # rows: <Δz²>, <Δr⊥²>, <Δz>


class _Shrink(Exception):
    """Internal: retry the realisation with a smaller batch (device out of memory)."""

    def __init__(self, batch: int):
        super().__init__(batch)
        self.batch = max(PARTICLE_CHUNK, batch // PARTICLE_CHUNK * PARTICLE_CHUNK)


def diffusion_realisation(config: DiffusionConfig, seed: np.random.SeedSequence, *, batch: int = DEFAULT_BATCH,
                          per_thread: int = PARTICLES_PER_THREAD, block: int = THREADS_PER_BLOCK) -> dict:
    r"""One turbulence realisation of :func:`validation.simulator.diffusion.diffusion_realisation` on the GPU.

    Same arguments and the same result dictionary (plus ``device`` = ``"gpu"``); the particles are integrated on
    the device in batches of ``batch`` particles (halved on a device out-of-memory error, module docstring), and
    only the moments come back.

    Parameters
    ----------
    config : DiffusionConfig
    seed : numpy.random.SeedSequence
    batch : int
        Particles on the device at once, a multiple of :data:`validation.simulator.diffusion.PARTICLE_CHUNK`.
    per_thread : {1, 2}
        Particles per GPU thread.
    block : int
        Threads per block, a power of two.
    """
    if not isinstance(config, DiffusionConfig):
        raise ParameterError("config", f"expected a DiffusionConfig, got {type(config).__name__}")
    if not isinstance(seed, np.random.SeedSequence):
        raise ParameterError("seed", f"expected a numpy SeedSequence, got {type(seed).__name__}")
    batch = require_integer("batch", batch, PARTICLE_CHUNK)
    if batch % PARTICLE_CHUNK:
        raise ParameterError("batch", f"must be a multiple of {PARTICLE_CHUNK} (the CPU's direction chunk)")
    per_thread = require_integer("per_thread", per_thread, 1, 2)
    block = require_integer("block", block, 1, 1024)
    if block & (block - 1):
        raise ParameterError("block", f"must be a power of two, got {block}")
    field = TurbulenceField(config.turbulence, realisation_seed(seed, _TURBULENCE_STREAM))
    dt, steps = config.output_steps()
    times = steps * dt
    while True:
        rng = np.random.default_rng(realisation_seed(seed, _DIRECTION_STREAM))
        try:
            moments = _particle_moments(config, field, rng, dt, steps, batch, per_thread, block)
            break
        except _Shrink as shrink:  # directions are drawn per PARTICLE_CHUNK whatever the batch: a fresh generator
            # gives the same particles, fewer at once
            batch = shrink.batch
    result = realisation_record(config, field, seed, times, moments, dt, steps, "auto")
    result.update(slab_table_record(field))
    return result


def _backtrack_advance(field, positions, directions, reduced_rigidity, dt, n_steps):
    # backtracking = forward integration of the reversed particle, charge sign -1
    # (docs/physics/simulator.md#liouville-mapping)
    advance(field, positions, directions, reduced_rigidity, -1, dt, int(n_steps))


def anisotropy_realisation(config, seed: np.random.SeedSequence, *, field=None) -> dict:
    r""":func:`validation.simulator.backtrack.anisotropy_realisation` with the backtracking on the GPU.

    The same turbulence (child 0 of ``seed``), arrival directions and pair directions as on the CPU; the reversed
    particles are pushed on the device (:func:`advance` with charge sign −1) and their positions and directions at
    each backtracking time come back for the maps.
    """
    from .. import backtrack

    return _cpu_function(backtrack, "anisotropy_realisation")(config, seed, field=field, advance=_backtrack_advance)


def pair_realisation(config, seed: np.random.SeedSequence, *, field=None, chunk_particles: int = PAIR_CHUNK) -> dict:
    r""":func:`validation.simulator.pairs.pair_realisation` (the pair instrument) with the backtracking on the GPU.

    The same turbulence (child 0 of ``seed``) and pair directions (child 2) as on the CPU.  The reversed particles
    are pushed on the device (:func:`advance`, charge sign −1; the slab table when the field has one); their
    positions and directions come back at every output age and the observables (mixing functions, drift, two-time
    correlations, :math:`C_\ell`) are accumulated on the host by the instrument's numba kernels, ``chunk_particles``
    particles at a time.  Equal to the CPU result up to rounding (the chunking changes only the order of the sums).
    """
    from .. import pairs

    chunk_particles = require_integer("chunk_particles", chunk_particles, 1)
    return _cpu_function(pairs, "pair_realisation")(config, seed, field=field, advance=_backtrack_advance,
                                                   chunk_particles=chunk_particles)


def _routes():
    """``(module, name, GPU twin)`` of every realisation function that has one."""
    from .. import backtrack, diffusion, pairs

    return ((diffusion, "diffusion_realisation", diffusion_realisation),
            (backtrack, "anisotropy_realisation", anisotropy_realisation),
            (pairs, "pair_realisation", pair_realisation))


class DeviceExecutor(SerialExecutor):
    """A serial executor that runs the simulator's realisation functions on the GPU.

    :func:`validation.simulator.diffusion.diffusion_realisation`,
    :func:`validation.simulator.backtrack.anisotropy_realisation` and
    :func:`validation.simulator.pairs.pair_realisation` are replaced by their GPU twins
    (:func:`diffusion_realisation`, :func:`anisotropy_realisation`, :func:`pair_realisation`); any other function
    (e.g. a calibration or campaign realisation that looks those up itself) runs with the module attributes
    pointing at the GPU twins for the duration of the call.  Realisations run one after another: one device.

    Examples
    --------
    >>> from validation.simulator.gpu.driver import DeviceExecutor
    >>> executor = DeviceExecutor()
    >>> executor.device
    'gpu'
    """

    #: where the realisations run (read by callers that account CPU time, e.g. the validation campaign)
    device = "gpu"

    def submit(self, fn, /, *args, **kwargs):
        routes = _routes()
        twins = {_cpu_function(module, name): twin for module, name, twin in routes}
        if fn in twins:
            return super().submit(twins[fn], *args, **kwargs)
        for module, name, twin in routes:
            module.__cpu_functions__ = {name: _cpu_function(module, name)}
            setattr(module, name, twin)
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            for module, name, _ in routes:
                setattr(module, name, module.__cpu_functions__[name])
                del module.__cpu_functions__

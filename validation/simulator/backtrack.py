r"""Observer backtracking to arrival-direction maps :math:`\delta f(\hat n)` and their :math:`C_\ell(T)`.

docs/physics/simulator.md#liouville-mapping, docs/physics/simulator.md (protocol items 3-8).  Units: lengths in
:math:`L_c`, times :math:`cT/L_c`,
:math:`v = c = 1`, :math:`|\mathbf G| = 1/L_c` (every :math:`C_\ell` scales as :math:`|G|^2`).

Backtracking convention (docs/physics/simulator.md#liouville-mapping, docs/physics/conventions.md)
--------------------------------------------------------------------------------------------------
A cosmic ray arriving from direction :math:`\hat n` has physical momentum :math:`\hat p = -\hat n`.  Its past
trajectory :math:`\mathbf r(-s)` is integrated forward in :math:`s` as the *reversed* particle: charge
:math:`-q`, initial direction :math:`\hat d(0) = +\hat n`, position :math:`\mathbf R(s) = \mathbf r(-s)` and
direction :math:`\hat d(s) = -\hat p(-s)` (valid for magnetostatic fields).  Eq. (3.1),

.. math:: \delta f(\hat n) = \mathbf G\cdot(\mathbf r(-T) - \mathbf r_\oplus)
          - \frac{3}{v}\,\hat p(-T)\cdot K\cdot\mathbf G
          = \mathbf G\cdot\mathbf R(T) + 3\,\hat d(T)\cdot K\cdot\mathbf G ,

with :math:`K = \mathrm{diag}(\kappa_\perp, \kappa_\perp, \kappa_\parallel)` for :math:`\mathbf B_0 = B_0\hat z`
(:func:`anisotropy.transport.diffusion_tensor`)
(``AnisotropyConfig.diffusion_tensor = (kappa_parallel, kappa_perp)``; :math:`\kappa_\perp` is the tensor element
:math:`K_{xx}`, defined by :math:`\langle\Delta x^2\rangle\to 2K_{xx}t`, i.e. *half* the running :math:`d_\perp` of
docs/guide/design.md).  Without a tensor the second term is dropped (valid for :math:`T\gg\tau_s`).  The observer is at
the
origin.

Map estimator
-------------
See docs/physics/conventions.md#angular-power-spectrum, docs/physics/simulator.md#delta-f-map,
docs/physics/simulator.md#white-noise-floor.

One particle per HEALPix pixel centre, or the mean over the ``subpixel**2`` centres of the finer
:math:`N_\mathrm{side}\cdot` ``subpixel`` pixels nested inside each pixel.  :math:`C_\ell` by
``healpy.anafast`` (RING map, no pixel weights, no pixel window: nothing is downloaded) for
:math:`\ell\le 2N_\mathrm{side}`.  Next to it the white-noise floor :math:`4\pi\sigma^2/N_\mathrm{pix}` of a
fully decorrelated map with the same pixel variance :math:`\sigma^2`
(docs/physics/conventions.md#angular-power-spectrum, docs/physics/simulator.md#white-noise-floor): only multipoles well
above that floor are resolved.

Pair estimator (docs/physics/simulator.md#pair-estimator, generalised to fixed :math:`\mathbf G` and the full eq. 3.1)
----------------------------------------------------------------------------------------------------------------------
For :math:`\ell\ge1`, :math:`2\delta f_A\delta f_B = \delta f_A^2 + \delta f_B^2 - (\delta f_A-\delta f_B)^2`
and the squares project onto :math:`\ell = 0` only, so for any single realisation

.. math:: C_\ell(T) = -\frac{1}{8\pi}\int d\Omega_A\,d\Omega_B\,P_\ell(\hat n_A\cdot\hat n_B)
          (\delta f_A - \delta f_B)^2
          = -\pi\int_{-1}^{1}dx\,P_\ell(x)\,\langle(\delta f_A-\delta f_B)^2\rangle_x ,

where :math:`\langle\cdot\rangle_x` averages over :math:`\hat n_A` uniform on the sphere and :math:`\hat n_B` uniform
on the cone of opening :math:`\arccos x` around it.  Without the :math:`K` term,
:math:`\delta f_A-\delta f_B = \mathbf G\cdot\Delta\mathbf R` and this is exactly eq. (3.2) in its **fixed-G form**
(the isotropic :math:`|\Delta R|^2/3` form would be wrong for :math:`\mathbf B_0\ne0`).  The :math:`x` integral is
Gauss-Legendre: ``pair_separations`` must be the node angles of :func:`gauss_legendre_separations` (otherwise only
the structure function is returned).  Each node uses the same ``pairs`` directions :math:`\hat n_A` and azimuths,
so the :math:`\delta f_A^2` part cancels exactly in the quadrature (:math:`\sum_j w_j P_\ell(x_j) = 0`) and only
the :math:`\hat n_B` sampling noise remains.  Both estimators are unbiased for the same per-realisation
:math:`C_\ell`; they differ by the pair-sampling noise and by the map's pixelisation (aliasing) error.

Memory is bounded: particles are processed in chunks and only the maps (one per time) are kept, never
trajectories.
"""

from __future__ import annotations

import math

import healpy as hp
import numpy as np

from anisotropy.errors import ParameterError
from anisotropy.legendre import gauss_legendre, legendre_table

from .config import AnisotropyConfig
from .ensemble import realisation_seed
from .slab_table import slab_table_record

__all__ = [
    "angular_power",
    "anisotropy_realisation",
    "arrival_directions",
    "backtracking_schedule",
    "delta_f",
    "gauss_legendre_separations",
    "pair_angular_power",
    "pair_directions",
    "white_noise_floor",
]

#: particles integrated together; a multiple of every subpixel**2 (powers of 4 up to 4**6), ~10 MB of state
CHUNK_PARTICLES = 1 << 16
#: |cos(separation) - Gauss-Legendre node| below this means the separations are the quadrature nodes (the
#: degrees -> radians -> cos round trip loses ~1e-15)
_NODE_MATCH_TOLERANCE = 1e-9
#: child indices of the realisation's SeedSequence: the turbulence and the pair directions draw independently
_TURBULENCE_STREAM, _PAIR_STREAM = 0, 1


def arrival_directions(nside: int, subpixel: int = 1) -> np.ndarray:
    """Unit arrival directions of the particles: pixel centres of the ``nside * subpixel`` grid, NESTED order.

    In NESTED order the ``subpixel**2`` fine pixels inside coarse pixel ``p`` are the consecutive indices
    ``p * subpixel**2 ...``, so :func:`_coarse_ring_map` can average them into the ``nside`` map.

    Returns
    -------
    ndarray, shape (12 * (nside * subpixel)**2, 3)
    """
    fine = nside * subpixel
    return np.ascontiguousarray(np.column_stack(hp.pix2vec(fine, np.arange(hp.nside2npix(fine)), nest=True)))


def delta_f(positions, directions, gradient, tensor=None) -> np.ndarray:
    r"""Eq. (3.1) for reversed-particle states: :math:`\mathbf G\cdot\mathbf R + 3\,\hat d\cdot K\cdot\mathbf G`.

    Parameters
    ----------
    positions : array (..., 3)
        :math:`\mathbf R(T) = \mathbf r(-T)` relative to the observer, in :math:`L_c`.
    directions : array (..., 3)
        Reversed-particle direction :math:`\hat d(T) = -\hat p(-T)`.
    gradient : array (3,)
        :math:`\mathbf G` in :math:`1/L_c`.
    tensor : array (3, 3) or None
        :math:`K` in :math:`cL_c` (:func:`anisotropy.transport.diffusion_tensor`); ``None`` drops the second term.
    """
    gradient = np.asarray(gradient, dtype=float)
    values = np.asarray(positions) @ gradient
    if tensor is not None:
        values = values + 3.0 * (np.asarray(directions) @ (np.asarray(tensor, dtype=float) @ gradient))
    return values


def angular_power(sky_map: np.ndarray, lmax: int) -> np.ndarray:
    r""":math:`C_\ell`, :math:`\ell = 0..` ``lmax``, of a RING map by ``healpy.anafast``
    (docs/physics/conventions.md#angular-power-spectrum normalisation)."""
    return np.asarray(hp.anafast(np.asarray(sky_map, dtype=np.float64), lmax=lmax, pol=False), dtype=np.float64)


def white_noise_floor(sky_map: np.ndarray) -> float:
    r"""Flat :math:`\hat C_\ell` of uncorrelated pixels with the map's variance: :math:`4\pi\sigma^2/N_\mathrm{pix}`.

    docs/physics/conventions.md#angular-power-spectrum ("A map whose pixels are uncorrelated ...") and
    docs/physics/simulator.md#white-noise-floor; :math:`\sigma^2` is the pixel variance about
    the map mean.
    """
    sky_map = np.asarray(sky_map, dtype=np.float64)
    return 4.0 * math.pi * float(np.var(sky_map)) / sky_map.size


def gauss_legendre_separations(n_nodes: int) -> tuple[float, ...]:
    r"""Pair opening angles (degrees, increasing) at the ``n_nodes`` Gauss-Legendre nodes :math:`x_j = \cos\theta_j`.

    Use as ``AnisotropyConfig.pair_separations`` to enable the pair :math:`C_\ell` estimator.  The quadrature is
    exact for :math:`P_\ell(x)\,h(x)` with polynomial :math:`h` of degree :math:`\le 2n-1-\ell`, so take
    ``n_nodes`` comfortably above the largest :math:`\ell` compared.
    """
    nodes, _ = gauss_legendre(int(n_nodes))
    return tuple(float(angle) for angle in np.degrees(np.arccos(nodes[::-1])))


def _quadrature_weights(separations_deg) -> np.ndarray | None:
    cosines = np.cos(np.radians(np.asarray(separations_deg, dtype=float)))
    nodes, weights = gauss_legendre(cosines.size)
    if np.max(np.abs(cosines - nodes[::-1])) > _NODE_MATCH_TOLERANCE:
        return None
    return weights[::-1].copy()


def pair_directions(generator: np.random.Generator, pairs: int, separations_deg) -> tuple[np.ndarray, np.ndarray]:
    r"""Pair arrival directions: :math:`\hat n_A` uniform, :math:`\hat n_B` at each separation around it.

    The same :math:`\hat n_A` and azimuth :math:`\psi` serve every separation (common random numbers, see the
    module notes), :math:`\hat n_B = \cos\theta\,\hat n_A + \sin\theta(\cos\psi\,\hat e_1 + \sin\psi\,\hat e_2)`.

    Returns
    -------
    first : ndarray (pairs, 3)
    second : ndarray (len(separations_deg), pairs, 3)
    """
    first = generator.standard_normal((pairs, 3))
    first /= np.linalg.norm(first, axis=1, keepdims=True)
    azimuth = generator.uniform(0.0, 2.0 * math.pi, pairs)
    # an orthonormal frame around each n_A: e1 from the coordinate axis least aligned with it
    helper = np.zeros_like(first)
    helper[np.arange(pairs), np.argmin(np.abs(first), axis=1)] = 1.0
    e1 = np.cross(first, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(first, e1)
    transverse = np.cos(azimuth)[:, None] * e1 + np.sin(azimuth)[:, None] * e2
    angles = np.radians(np.asarray(separations_deg, dtype=float))
    second = np.cos(angles)[:, None, None] * first[None] + np.sin(angles)[:, None, None] * transverse[None]
    return first, second


def pair_angular_power(structure: np.ndarray, separations_deg, lmax: int) -> np.ndarray:
    r"""Pair estimator :math:`C_\ell = -\pi\sum_j w_j P_\ell(x_j)\langle(\delta f_A-\delta f_B)^2\rangle_{x_j}`.

    docs/physics/simulator.md#pair-estimator, eq. (3.2), fixed-G form generalised to the full eq. (3.1) (module notes).

    Parameters
    ----------
    structure : array (..., n_separations)
        :math:`\langle(\delta f_A-\delta f_B)^2\rangle` at each separation.
    separations_deg : sequence
        The Gauss-Legendre node angles (:func:`gauss_legendre_separations`).
    lmax : int

    Returns
    -------
    ndarray (..., lmax + 1)
        :math:`C_\ell`; :math:`C_0` is NaN (the difference form carries no monopole).

    Raises
    ------
    ParameterError
        If the separations are not Gauss-Legendre nodes.
    """
    weights = _quadrature_weights(separations_deg)
    if weights is None:
        raise ParameterError("pair_separations", "must be the Gauss-Legendre node angles (gauss_legendre_separations)")
    cosines = np.cos(np.radians(np.asarray(separations_deg, dtype=float)))
    legendre = legendre_table(lmax, cosines)  # (lmax + 1, n)
    power = -math.pi * np.tensordot(np.asarray(structure, dtype=float), (legendre * weights).T, axes=1)
    power[..., 0] = np.nan
    return power


def backtracking_schedule(times, timestep: float) -> tuple[float, np.ndarray]:
    """Whole Boris steps reaching the requested times: ``(dt, steps)``, ``times ≈ steps * dt``.

    The step is shrunk to ``max(times) / ceil(max(times) / timestep)`` so the last time is hit exactly; earlier
    times are rounded to the nearest whole step.

    Raises
    ------
    ParameterError
        If two times round to the same step (closer than one step).
    """
    times = np.asarray(times, dtype=float)
    n_last = max(1, math.ceil(times[-1] / timestep * (1.0 - 1e-12)))
    dt = float(times[-1] / n_last)
    steps = np.maximum(1, np.rint(times / dt).astype(np.int64))
    if np.any(np.diff(steps) <= 0):
        raise ParameterError("times", f"backtracking times must be at least one step (dt = {dt:g}) apart")
    return dt, steps


def _build_field(config: AnisotropyConfig, seed: np.random.SeedSequence):
    from .turbulence import TurbulenceField

    return TurbulenceField(config.turbulence, seed)


def _advance(field, positions, directions, reduced_rigidity, dt, n_steps):
    from .pusher import advance

    # backtracking = forward integration of the reversed particle, charge sign -1
    # (docs/physics/simulator.md#liouville-mapping)
    advance(field, positions, directions, reduced_rigidity, -1, dt, int(n_steps))


def backtrack_states(field, directions, reduced_rigidity, dt, steps, on_output, advance=_advance):
    """Backtrack ``directions`` (arrival directions) from the origin, calling ``on_output(k, slice, R, d)``.

    Particles are integrated in chunks of :data:`CHUNK_PARTICLES`; at cumulative step ``steps[k]`` the callback
    receives the chunk's slice and its reversed-particle positions and directions
    (docs/physics/simulator.md#liouville-mapping convention).
    """
    total = directions.shape[0]
    for start in range(0, total, CHUNK_PARTICLES):
        chunk = slice(start, min(start + CHUNK_PARTICLES, total))
        velocities = np.array(directions[chunk], dtype=np.float64, order="C")
        positions = np.zeros_like(velocities)
        done = 0
        for k, target in enumerate(steps):
            advance(field, positions, velocities, reduced_rigidity, dt, target - done)
            done = target
            on_output(k, chunk, positions, velocities)


def anisotropy_realisation(
    config: AnisotropyConfig, seed: np.random.SeedSequence, *, field=None, advance=_advance
) -> dict:
    r"""One turbulence realisation: maps :math:`\delta f(\hat n, T)`, :math:`C_\ell(T)`, floors, pair :math:`C_\ell`.

    A pure function of ``(config, seed)``: the turbulence uses child 0 of ``seed`` and the pair directions
    child 1 (built from the spawn key, so ``seed`` itself is not modified).

    Parameters
    ----------
    config : AnisotropyConfig
    seed : numpy.random.SeedSequence
    field : object, optional
        A ready field (anything with ``kernel_arrays()``, e.g. a uniform field for the exact limit) instead of the
        realisation's turbulence ``TurbulenceField(config.turbulence, child 0 of seed)``.
    advance : callable, optional
        ``advance(field, positions, directions, reduced_rigidity, dt, n_steps)``, in place; defaults to the numba
        Boris pusher (:func:`validation.simulator.pusher.advance`) with reversed charge.

    Returns
    -------
    dict
        ``times`` (n_T,) actual backtracking times :math:`cT/L_c` (whole steps);
        ``maps`` (n_T, 12 nside²) float32, :math:`\delta f` in RING order for :math:`|G| = 1/L_c`;
        ``cl`` (n_T, 2 nside + 1) anafast :math:`C_\ell`, ``ell`` (2 nside + 1,);
        ``noise_floor`` (n_T,) :math:`4\pi\sigma^2/N_\mathrm{pix}`;
        ``map_variance`` (n_T,); ``dipole`` (n_T, 3) the map's dipole vector :math:`\delta`
        (docs/physics/conventions.md#angular-power-spectrum);
        ``cl_pair`` (n_T, 2 nside + 1) and ``pair_structure`` (n_T, n_sep) if ``config.pairs > 0``;
        ``particle_steps`` total Boris steps of this realisation; ``dt`` the step used; ``slab_table_bytes`` and
        ``slab_table_spacing`` (0 without a table, :func:`validation.simulator.slab_table.slab_table_record`).

    Examples
    --------
    >>> import numpy as np
    >>> from validation import AnisotropyConfig, TurbulenceConfig, anisotropy_realisation
    >>> turbulence = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    >>> config = AnisotropyConfig(turbulence=turbulence, reduced_rigidity=0.3, nside=2, times=(0.5, 1.0))
    >>> out = anisotropy_realisation(config, np.random.SeedSequence(1))
    >>> out["cl"].shape   # one C_l (l = 0..2 nside) per backtracking time
    (2, 5)
    >>> bool(np.all(out["cl"] >= 0))
    True
    """
    if not isinstance(config, AnisotropyConfig):
        raise ParameterError("config", f"expected an AnisotropyConfig, got {type(config).__name__}")
    dt, steps = backtracking_schedule(config.times, config.timestep)
    if field is None:
        field = _build_field(config, realisation_seed(seed, _TURBULENCE_STREAM))
    gradient = np.asarray(config.gradient)
    tensor = None
    if config.diffusion_tensor is not None:
        # imported here: anisotropy.transport loads scipy.integrate (~0.5 s of CPU), a fixed cost that runs
        # without the K term need not pay (benchmarks/whole_run.py)
        from anisotropy.transport import diffusion_tensor

        tensor = diffusion_tensor(*config.diffusion_tensor, b_hat=(0.0, 0.0, 1.0))  # B0 along z
    lmax = 2 * config.nside
    n_times = len(steps)

    directions = arrival_directions(config.nside, config.subpixel)
    per_pixel = config.subpixel**2
    nested_maps = np.empty((n_times, hp.nside2npix(config.nside)))

    def record_map(k, chunk, positions, velocities):
        # chunks hold whole coarse pixels (CHUNK_PARTICLES is a multiple of subpixel**2): average them at once
        values = delta_f(positions, velocities, gradient, tensor)
        nested_maps[k, chunk.start // per_pixel : chunk.stop // per_pixel] = values.reshape(-1, per_pixel).mean(1)

    backtrack_states(field, directions, config.reduced_rigidity, dt, steps, record_map, advance)
    particle_steps = directions.shape[0] * int(steps[-1])

    maps = np.empty((n_times, hp.nside2npix(config.nside)), dtype=np.float32)
    cl = np.empty((n_times, lmax + 1))
    floor = np.empty(n_times)
    variance = np.empty(n_times)
    dipole = np.empty((n_times, 3))
    for k in range(n_times):
        sky = hp.reorder(nested_maps[k], n2r=True)
        maps[k] = sky
        cl[k] = angular_power(sky, lmax)
        floor[k] = white_noise_floor(sky)
        variance[k] = np.var(sky)
        dipole[k] = hp.fit_dipole(sky)[1]

    result = {
        "times": steps * dt,
        "ell": np.arange(lmax + 1),
        "maps": maps,
        "cl": cl,
        "noise_floor": floor,
        "map_variance": variance,
        "dipole": dipole,
        "dt": np.float64(dt),
    }

    if config.pairs > 0:
        generator = np.random.default_rng(realisation_seed(seed, _PAIR_STREAM))
        first, second = pair_directions(generator, config.pairs, config.pair_separations)
        n_sep = len(config.pair_separations)
        pair_set = np.concatenate([first, second.reshape(-1, 3)])
        values = np.empty((n_times, pair_set.shape[0]))

        def record_pairs(k, chunk, positions, velocities):
            values[k, chunk] = delta_f(positions, velocities, gradient, tensor)

        backtrack_states(field, pair_set, config.reduced_rigidity, dt, steps, record_pairs, advance)
        particle_steps += pair_set.shape[0] * int(steps[-1])
        value_first = values[:, : config.pairs]
        value_second = values[:, config.pairs :].reshape(n_times, n_sep, config.pairs)
        structure = np.mean((value_first[:, None, :] - value_second) ** 2, axis=2)
        result["pair_separations"] = np.asarray(config.pair_separations)
        result["pair_structure"] = structure
        if _quadrature_weights(config.pair_separations) is not None:
            result["cl_pair"] = pair_angular_power(structure, config.pair_separations, lmax)
    result["particle_steps"] = np.int64(particle_steps)
    result.update(slab_table_record(field))
    return result

r"""Pair instrument: two-particle statistics of backtracked arrival directions in one turbulence realisation.

For pairs of arrival directions :math:`(\hat n_A, \hat n_B)` with cosine :math:`x = \hat n_A\cdot\hat n_B` at the
Gauss-Legendre nodes :math:`x_j`, both particles are backtracked in the **same** field (reversed particles, the
convention of :mod:`validation.simulator.backtrack`: direction :math:`\hat d(t)`, position :math:`\mathbf R(t)`,
:math:`\hat d(0) = \hat n`, :math:`v = c = 1`).  At every output age :math:`t_k` (the backtracking time since the
pair left the observer; age 0 is recorded too) the instrument accumulates, per node, averages over the pairs:

* the finite-age mixing functions :math:`m_{\ell_0}(x; t) = \langle P_{\ell_0}(x'(t))\rangle_x`,
  :math:`x'(t) = \hat d_A(t)\cdot\hat d_B(t)`, for :math:`\ell_0 \le L` (``lmax_mixing``).  Their Legendre
  projection is the mixing matrix of the angular power spectrum over the age :math:`t`,
  :math:`M_{\ell\ell_0}(t) = \frac{2\ell_0+1}{2}\int_{-1}^{1}P_\ell(x)\,m_{\ell_0}(x;t)\,dx` (:func:`mixing_matrix`;
  it follows from :math:`F(x) = \sum_\ell\frac{2\ell+1}{4\pi}C_\ell P_\ell(x)` transported as
  :math:`F(x) = \langle F_0(x')\rangle_x`);
* the drift :math:`\langle x'-x\rangle_x` and the second moment :math:`\langle (x'-x)^2\rangle_x` (the spread is
  its excess over the squared drift);
* for the gradient directions :math:`\hat G_\parallel = \hat z` (along :math:`\mathbf B_0`) and
  :math:`\hat G_\perp = \hat x` (across), with :math:`g(t) = \hat G\cdot\hat d(t)`: the two-time pair correlation
  :math:`\langle g_A(t_i)\,g_B(t_j)\rangle_x` on the output grid (its diagonal is the equal-time one), the
  single-particle autocorrelation :math:`\langle g_A(t_i)\,g_A(t_j)\rangle`, and the exact time integrals
  :math:`I(t) = v\int_0^t g\,dt'` accumulated step by step along each orbit, as
  :math:`\langle I_A I_B\rangle_x`, :math:`\langle I_A^2\rangle` and :math:`\langle I_B^2\rangle_x`.

The exact identity (Ahlers & Mertsch 2015, relative diffusion; ``docs/physics/pair-statistics.md``): for
:math:`\delta f = \mathbf G\cdot\mathbf R(T)` (eq. 3.1 of the backtracking module without the :math:`K` term),

.. math:: C(x;T) = \langle\delta f_A\,\delta f_B\rangle_x
          = v^2\int_0^T\!\!\int_0^T\langle g_A(t_1)\,g_B(t_2)\rangle_x\,dt_1\,dt_2 = \langle I_A(T)\,I_B(T)\rangle_x,
          \qquad C_\ell(T) = 2\pi\int_{-1}^{1}C(x;T)\,P_\ell(x)\,dx .

:math:`I(t)` is the Boris position update :math:`\mathbf R \mathrel{+}= \Delta\,\hat d_{n+1/2}` projected on
:math:`\hat G`, i.e. the step sum that *is* the time integral of the discrete orbit, so memory stays
O(nodes × ages) (plus O(particles per chunk × ages) for the two-time products).  :func:`pair_angular_power` uses
the control variate :math:`C(x) - \tfrac12\langle I_A^2\rangle - \tfrac12\langle I_B^2\rangle_x`: both squares have
an :math:`x`-independent expectation (:math:`\hat n_A` and :math:`\hat n_B` are each uniform on the sphere), so for
:math:`\ell\ge1` they change nothing but the sampling noise, as in the structure-function estimator of
:mod:`validation.simulator.backtrack`.

Sampling: each pair has its own random orientation, :math:`\hat n_A` uniform on the sphere and the azimuth of
:math:`\hat n_B` about it uniform (:func:`validation.simulator.backtrack.pair_directions`); the same
:math:`(\hat n_A, \psi)` serve every node (common random numbers), so ``pairs * (nodes + 1)`` particles give
``pairs`` pairs per node.  The field is child 0 of the realisation's seed, the same turbulence as
:func:`validation.simulator.backtrack.anisotropy_realisation` with the same seed; the directions use child 2.

Kernels: :func:`_equal_time_kernel` and :func:`_two_time_kernel` (numba) with the numpy twins
:func:`_equal_time_reference` and :func:`_two_time_reference` they are tested against.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from anisotropy.errors import ParameterError, require_integer
from anisotropy.legendre import gauss_legendre, legendre_table

from .backtrack import CHUNK_PARTICLES, _advance, _build_field, backtracking_schedule, pair_directions
from .config import MAX_AGES, MAX_LMAX_MIXING, PairConfig
from .ensemble import realisation_seed

__all__ = [
    "GRADIENT_NAMES",
    "MAX_AGES",
    "MAX_LMAX_MIXING",
    "PairConfig",
    "mixing_matrix",
    "pair_angular_power",
    "pair_realisation",
]

#: the two fixed unit gradients: along B0 = B0 ẑ and across it (x̂)
GRADIENT_NAMES = ("along", "across")
_GRADIENTS = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
#: child of the realisation seed for the pair directions (0 = turbulence, 1 = backtrack's pair estimator)
_INSTRUMENT_STREAM = 2
KERNEL_NAMES = ("numba", "numpy")


# ---------------------------------------------------------------------------------------------------- kernels
@numba.njit(cache=True)
def _equal_time_kernel(directions, positions, pairs, nodes, gradients, cosines, lmax,
                       mixing, drift, second, products, integral_products, integral_square_b,
                       integral_square_a, histories, age):  # pragma: no cover - compiled
    """Add one age's equal-time sums of a chunk (layout: A particles, then node-major B particles)."""
    n_gradients = gradients.shape[0]
    for p in range(pairs):
        ax, ay, az = directions[p, 0], directions[p, 1], directions[p, 2]
        for g in range(n_gradients):
            g_a = gradients[g, 0] * ax + gradients[g, 1] * ay + gradients[g, 2] * az
            i_a = (gradients[g, 0] * positions[p, 0] + gradients[g, 1] * positions[p, 1]
                   + gradients[g, 2] * positions[p, 2])
            histories[g, age, p] = g_a
            integral_square_a[g] += i_a * i_a
        for j in range(nodes):
            b = pairs + j * pairs + p
            bx, by, bz = directions[b, 0], directions[b, 1], directions[b, 2]
            # |d| = 1 up to rounding; the cosine is clipped so the Legendre values stay bounded
            cosine = min(1.0, max(-1.0, ax * bx + ay * by + az * bz))
            change = cosine - cosines[j]
            drift[j] += change
            second[j] += change * change
            previous = 1.0
            current = cosine
            mixing[j, 0] += 1.0
            if lmax >= 1:
                mixing[j, 1] += cosine
            for ell in range(1, lmax):
                following = ((2 * ell + 1) * cosine * current - ell * previous) / (ell + 1)
                mixing[j, ell + 1] += following
                previous = current
                current = following
            for g in range(n_gradients):
                g_a = histories[g, age, p]
                g_b = gradients[g, 0] * bx + gradients[g, 1] * by + gradients[g, 2] * bz
                histories[g, age, b] = g_b
                i_a = (gradients[g, 0] * positions[p, 0] + gradients[g, 1] * positions[p, 1]
                       + gradients[g, 2] * positions[p, 2])
                i_b = (gradients[g, 0] * positions[b, 0] + gradients[g, 1] * positions[b, 1]
                       + gradients[g, 2] * positions[b, 2])
                products[g, j] += g_a * g_b
                integral_products[g, j] += i_a * i_b
                integral_square_b[g, j] += i_b * i_b


@numba.njit(cache=True)
def _two_time_kernel(histories, pairs, nodes, cross, auto):  # pragma: no cover - compiled
    """Add the chunk's two-time sums Σ_p g_A(t_i) g_B(t_j) per node and Σ_p g_A(t_i) g_A(t_j)."""
    n_gradients, ages = histories.shape[0], histories.shape[1]
    for g in range(n_gradients):
        for i in range(ages):
            for k in range(ages):
                total = 0.0
                for p in range(pairs):
                    total += histories[g, i, p] * histories[g, k, p]
                auto[g, i, k] += total
            for j in range(nodes):
                start = pairs + j * pairs
                for k in range(ages):
                    total = 0.0
                    for p in range(pairs):
                        total += histories[g, i, p] * histories[g, k, start + p]
                    cross[g, i, k, j] += total


def _equal_time_reference(directions, positions, pairs, nodes, gradients, cosines, lmax,
                          mixing, drift, second, products, integral_products, integral_square_b,
                          integral_square_a, histories, age):
    """numpy twin of :func:`_equal_time_kernel` (same sums, vectorised over pairs)."""
    first, second_set = directions[:pairs], directions[pairs:].reshape(nodes, pairs, 3)
    cosine = np.clip(np.einsum("pc,jpc->jp", first, second_set), -1.0, 1.0)
    change = cosine - cosines[:, None]
    drift += change.sum(axis=1)
    second += (change**2).sum(axis=1)
    mixing += legendre_table(lmax, cosine.ravel()).reshape(lmax + 1, nodes, pairs).sum(axis=2).T
    g_all = directions @ gradients.T  # (particles, G)
    i_all = positions @ gradients.T
    histories[:, age, : pairs * (nodes + 1)] = g_all.T
    g_a, i_a = g_all[:pairs].T, i_all[:pairs].T  # (G, P)
    g_b = g_all[pairs:].T.reshape(-1, nodes, pairs)
    i_b = i_all[pairs:].T.reshape(-1, nodes, pairs)
    products += (g_a[:, None, :] * g_b).sum(axis=2)
    integral_products += (i_a[:, None, :] * i_b).sum(axis=2)
    integral_square_b += (i_b**2).sum(axis=2)
    integral_square_a += (i_a**2).sum(axis=1)


def _two_time_reference(histories, pairs, nodes, cross, auto):
    """numpy twin of :func:`_two_time_kernel`."""
    g_a = histories[:, :, :pairs]
    g_b = histories[:, :, pairs : pairs * (nodes + 1)].reshape(histories.shape[0], histories.shape[1], nodes, pairs)
    auto += np.einsum("gip,gkp->gik", g_a, g_a)
    cross += np.einsum("gip,gkjp->gikj", g_a, g_b)


_KERNELS = {"numba": (_equal_time_kernel, _two_time_kernel), "numpy": (_equal_time_reference, _two_time_reference)}


# ---------------------------------------------------------------------------------------------------- realisation
def pair_realisation(config: PairConfig, seed: np.random.SeedSequence, *, field=None, advance=_advance,
                     kernel: str = "numba", chunk_particles: int = CHUNK_PARTICLES) -> dict:
    r"""One realisation of the pair instrument (module docstring); a pure function of ``(config, seed)``.

    Parameters
    ----------
    config : PairConfig
    seed : numpy.random.SeedSequence
        Child 0 builds the turbulence (as in :func:`validation.simulator.backtrack.anisotropy_realisation`),
        child 2 the pair directions.
    field : object, optional
        A ready field (``kernel_arrays()``), e.g. a uniform one for exact limits.
    advance : callable, optional
        As in :func:`validation.simulator.backtrack.anisotropy_realisation`.
    kernel : {"numba", "numpy"}
        The accumulation kernels or their numpy twins.
    chunk_particles : int
        Particles backtracked together (whole pairs: ``chunk_particles // (nodes + 1)`` pairs, at least one); the
        GPU twin :func:`validation.simulator.gpu.driver.pair_realisation` passes a larger chunk.  It changes only
        the order of the sums.

    Returns
    -------
    dict
        ``ages`` (A,) :math:`cT/L_c` with ``ages[0] = 0``; ``cosines``, ``weights`` (n,) nodes and weights;
        ``mixing`` (A, n, L+1) :math:`\langle P_{\ell_0}(x')\rangle`; ``drift`` (A, n) :math:`\langle x'-x\rangle`;
        ``second_moment`` (A, n) :math:`\langle(x'-x)^2\rangle`; ``direction_correlation`` (2, A, A, n)
        :math:`\langle g_A(t_i)g_B(t_j)\rangle`; ``equal_time_correlation`` (2, A, n) its diagonal;
        ``autocorrelation`` (2, A, A) :math:`\langle g_A(t_i)g_A(t_j)\rangle`; ``integral_correlation`` (2, A, n)
        :math:`\langle I_AI_B\rangle = C(x;T)`; ``integral_square_a`` (2, A); ``integral_square_b`` (2, A, n);
        ``cl`` (2, A, n) :func:`pair_angular_power` for ℓ = 0..n-1; ``particle_steps``; ``dt``.
        Gradient axis 0 is :data:`GRADIENT_NAMES`.

    Examples
    --------
    >>> from validation.simulator.config import TurbulenceConfig
    >>> config = PairConfig(TurbulenceConfig("slab", 0.5, 0.1, 8), 0.5, nodes=4, pairs=8, times=(0.5,))
    >>> result = pair_realisation(config, np.random.SeedSequence(1))
    >>> result["mixing"].shape  # (ages incl. 0, nodes, lmax_mixing + 1)
    (2, 4, 9)
    >>> bool(np.allclose(result["mixing"][0, :, 1], result["cosines"]))  # at age 0, <x'> = x
    True
    """
    if not isinstance(config, PairConfig):
        raise ParameterError("config", f"expected a PairConfig, got {type(config).__name__}")
    if kernel not in _KERNELS:
        raise ParameterError("kernel", f"must be one of {KERNEL_NAMES}, got {kernel!r}")
    equal_time, two_time = _KERNELS[kernel]
    chunk_particles = require_integer("chunk_particles", chunk_particles, 1)
    dt, steps = backtracking_schedule(config.times, config.timestep)
    if field is None:
        field = _build_field(config, realisation_seed(seed, 0))
    nodes, lmax = config.nodes, config.lmax_mixing
    node_cosines, node_weights = gauss_legendre(nodes)
    separations = np.degrees(np.arccos(node_cosines))  # any order: the kernels index nodes by j
    generator = np.random.default_rng(realisation_seed(seed, _INSTRUMENT_STREAM))
    first, second_set = pair_directions(generator, config.pairs, separations)
    cosines = np.asarray(node_cosines, dtype=np.float64)
    gradients = np.ascontiguousarray(_GRADIENTS)
    n_g, ages = gradients.shape[0], len(steps) + 1

    mixing = np.zeros((ages, nodes, lmax + 1))
    drift = np.zeros((ages, nodes))
    second = np.zeros((ages, nodes))
    products = np.zeros((ages, n_g, nodes))
    integral_products = np.zeros((ages, n_g, nodes))
    integral_square_b = np.zeros((ages, n_g, nodes))
    integral_square_a = np.zeros((ages, n_g))
    cross = np.zeros((n_g, ages, ages, nodes))
    auto = np.zeros((n_g, ages, ages))

    chunk_pairs = max(1, chunk_particles // (nodes + 1))
    histories = np.zeros((n_g, ages, chunk_pairs * (nodes + 1)))
    for start in range(0, config.pairs, chunk_pairs):
        stop = min(start + chunk_pairs, config.pairs)
        count = stop - start
        velocities = np.ascontiguousarray(
            np.concatenate([first[start:stop], second_set[:, start:stop].reshape(-1, 3)]), dtype=np.float64
        )
        positions = np.zeros_like(velocities)
        done = 0
        for age in range(ages):
            if age > 0:
                advance(field, positions, velocities, config.reduced_rigidity, dt, int(steps[age - 1]) - done)
                done = int(steps[age - 1])
            equal_time(velocities, positions, count, nodes, gradients, cosines, lmax, mixing[age], drift[age],
                       second[age], products[age], integral_products[age], integral_square_b[age],
                       integral_square_a[age], histories, age)
        two_time(histories[:, :, : count * (nodes + 1)], count, nodes, cross, auto)

    per_pair = 1.0 / config.pairs
    integral_correlation = np.moveaxis(integral_products, 1, 0) * per_pair
    square_a = integral_square_a.T * per_pair
    square_b = np.moveaxis(integral_square_b, 1, 0) * per_pair
    cross *= per_pair
    auto *= per_pair
    result = {
        "ages": np.concatenate([[0.0], steps * dt]),
        "cosines": cosines,
        "weights": np.asarray(node_weights, dtype=np.float64),
        "mixing": mixing * per_pair,
        "drift": drift * per_pair,
        "second_moment": second * per_pair,
        "direction_correlation": cross,
        "equal_time_correlation": np.moveaxis(np.diagonal(cross, axis1=1, axis2=2), -1, 1).copy(),
        "autocorrelation": auto,
        "integral_correlation": integral_correlation,
        "integral_square_a": square_a,
        "integral_square_b": square_b,
        "cl": pair_angular_power(integral_correlation, square_a, square_b, cosines, node_weights, nodes - 1),
        "particle_steps": np.int64(config.n_particles * int(steps[-1])),
        "dt": np.float64(dt),
    }
    return result


def pair_angular_power(correlation, square_a, square_b, cosines, weights, lmax: int) -> np.ndarray:
    r"""Pair :math:`C_\ell = 2\pi\sum_j w_j P_\ell(x_j)\,[C(x_j) - \tfrac12\langle I_A^2\rangle
    - \tfrac12\langle I_B^2\rangle_{x_j}]`.

    The exact projection :math:`C_\ell = 2\pi\int C(x)P_\ell(x)\,dx` with the control variate of the module notes
    for :math:`\ell\ge1`; :math:`C_0` is the plain projection of :math:`C(x)`.

    Parameters
    ----------
    correlation : array (..., n)
        :math:`C(x_j) = \langle I_AI_B\rangle_{x_j}`.
    square_a : array (...)
        :math:`\langle I_A^2\rangle`.
    square_b : array (..., n)
        :math:`\langle I_B^2\rangle_{x_j}`.
    cosines, weights : array (n,)
        Gauss-Legendre nodes and weights.
    lmax : int

    Returns
    -------
    ndarray (..., lmax + 1)

    Examples
    --------
    >>> x, w = gauss_legendre(8)
    >>> power = pair_angular_power(x / 3.0, 1 / 3.0, np.full(8, 1 / 3.0), x, w, 3)  # C(x) of a unit dipole
    >>> bool(np.allclose(power, [0.0, 4 * np.pi / 9, 0.0, 0.0]))
    True
    """
    lmax = require_integer("lmax", lmax, 0)
    table = legendre_table(lmax, cosines) * np.asarray(weights)  # (lmax + 1, n)
    correlation = np.asarray(correlation, dtype=float)
    reduced = correlation - 0.5 * np.asarray(square_a, dtype=float)[..., None] - 0.5 * np.asarray(square_b)
    power = 2.0 * math.pi * reduced @ table.T
    power[..., 0] = 2.0 * math.pi * (correlation @ table[0])
    return power


def mixing_matrix(mixing, cosines, weights, lmax: int) -> np.ndarray:
    r""":math:`M_{\ell\ell_0}(t) = \frac{2\ell_0+1}{2}\sum_j w_j P_\ell(x_j)\,\langle P_{\ell_0}(x')\rangle_{x_j}`.

    Parameters
    ----------
    mixing : array (..., n, L + 1)
        :math:`\langle P_{\ell_0}(x'(t))\rangle` at the nodes (``pair_realisation(...)["mixing"]``).
    cosines, weights : array (n,)
    lmax : int
        Rows ℓ = 0..lmax (keep ``lmax + L`` below ~2n for an accurate quadrature).

    Returns
    -------
    ndarray (..., lmax + 1, L + 1)
        With no deflection (:math:`x' = x`) it is the identity; :math:`\sum_\ell(2\ell+1)M_{\ell\ell_0} =
        (2\ell_0+1)\,m_{\ell_0}(1)` (power conservation).

    Examples
    --------
    >>> x, w = gauss_legendre(8)
    >>> undeflected = legendre_table(3, x).T  # <P_l0(x')> = P_l0(x)
    >>> bool(np.allclose(mixing_matrix(undeflected, x, w, 3), np.eye(4)))
    True
    """
    lmax = require_integer("lmax", lmax, 0)
    mixing = np.asarray(mixing, dtype=float)
    table = legendre_table(lmax, cosines) * np.asarray(weights)  # (lmax + 1, n)
    factor = 0.5 * (2.0 * np.arange(mixing.shape[-1]) + 1.0)
    return np.einsum("ln,...nk->...lk", table, mixing) * factor

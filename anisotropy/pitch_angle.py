r"""Pitch-angle Fokker-Planck propagator: where a particle's :math:`\mu` goes under a given :math:`D_{\mu\mu}`.

The gyrotropic pitch-angle density :math:`f(\mu, t)` of quasi-linear theory obeys (Jokipii 1966, ApJ 146, 480;
docs/physics/pitch_angle.md, eq. PA.1)

.. math:: \partial_t f = \partial_\mu\big(D_{\mu\mu}(\mu)\,\partial_\mu f\big),\qquad
          D_{\mu\mu}\,\partial_\mu f = 0 \text{ at } \mu = \pm1 .

It is discretised by finite volumes on :math:`n` equal cells.  The flux between neighbouring cell centres
:math:`c_i < c_{i+1}` is :math:`-G_{i+1/2}(f_{i+1} - f_i)` with the conductance

.. math:: G_{i+1/2} = \Big[\int_{c_i}^{c_{i+1}}\frac{d\mu}{D_{\mu\mu}(\mu)}\Big]^{-1}

(eq. PA.2), exact for a steady flux, so QLT's vanishing :math:`D_{\mu\mu}\propto|\mu|^{q-1}` at 90° neither blocks
the crossing (as :math:`D_{\mu\mu}` evaluated at a face at :math:`\mu = 0` would) nor opens it too wide.  The
generator is symmetric up to the cell width, so the propagator :math:`e^{Lt}` comes from one symmetric
tridiagonal eigen-decomposition for all ages.  Probability is conserved exactly and the isotropic density is
stationary.

:func:`fokker_planck_transitions` gives the transition probability between coarse equal-width bins for a start
uniform over a bin; :func:`qlt_slab_transitions` does it with the slab QLT coefficient
:func:`anisotropy.transport.pitch_angle_diffusion`; :func:`fokker_planck_autocorrelation` the autocorrelation
:math:`\langle\mu(0)\mu(t)\rangle` of an isotropic population, and :func:`fokker_planck_parallel_diffusion` its
:math:`\kappa_\parallel = \int_0^\infty\langle v\mu(0)\,v\mu(t)\rangle dt` of the discrete operator, which must
approach :math:`\frac{v^2}{8}\int(1-\mu^2)^2/D_{\mu\mu}\,d\mu` (Hasselmann & Wibberenz 1968, Z. Geophys. 34, 353;
Earl 1974, ApJ 193, 231).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import integrate, linalg

from .errors import ParameterError, require_integer, require_range
from .transport import pitch_angle_diffusion
from .turbulence import Turbulence

__all__ = [
    "PitchAngleGenerator",
    "fokker_planck_autocorrelation",
    "fokker_planck_parallel_diffusion",
    "fokker_planck_transitions",
    "qlt_slab_transitions",
]

#: fine cells per coarse bin of fokker_planck_transitions: the QLT transitions of 20 bins move by < 1e-3 between
#: 20 and 40 per bin (tests/anisotropy/test_pitch_angle.py)
DEFAULT_CELLS_PER_BIN = 20
#: relative accuracy of each conductance integral (scipy quad)
_CONDUCTANCE_ACCURACY = 1e-10


@dataclass(frozen=True)
class PitchAngleGenerator:
    r"""The discretised Fokker-Planck operator of eq. PA.2 in its eigen-decomposition.

    Attributes
    ----------
    edges : ndarray (n + 1,)
        Cell edges on [-1, 1].
    eigenvalues : ndarray (n,)
        Decay rates :math:`\lambda \le 0` of :math:`dp/dt = Lp` for the cell probabilities :math:`p`.
    eigenvectors : ndarray (n, n)
        Orthonormal eigenvectors of the symmetric :math:`\Delta\,L` (columns).
    """

    edges: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @classmethod
    def build(cls, diffusion: Callable, cells: int) -> PitchAngleGenerator:
        r"""Discretise :math:`\partial_\mu(D\,\partial_\mu f)` on ``cells`` equal cells of [-1, 1].

        Parameters
        ----------
        diffusion : callable
            :math:`D_{\mu\mu}(\mu)` (rate units of the ages used later), non-negative, vectorised or scalar.
        cells : int
            Number of cells (>= 2).
        """
        cells = require_integer("cells", cells, 2)
        edges = np.linspace(-1.0, 1.0, cells + 1)
        width = 2.0 / cells
        centres = 0.5 * (edges[1:] + edges[:-1])
        at_centres = np.array([float(diffusion(mu)) for mu in centres])
        if not np.all(np.isfinite(at_centres)) or np.any(at_centres < 0.0):
            raise ParameterError("diffusion", "D_mumu must be finite and >= 0 inside (-1, 1)")

        def resistivity(mu):
            value = float(diffusion(mu))
            return 1.0 / value if value > 0.0 else math.inf

        conductance = np.empty(cells - 1)
        for face in range(cells - 1):
            low, high = centres[face], centres[face + 1]
            points = [0.0] if low < 0.0 < high else None
            resistance, _ = integrate.quad(resistivity, low, high, points=points,
                                           epsabs=0.0, epsrel=_CONDUCTANCE_ACCURACY, limit=200)
            if not np.isfinite(resistance) or resistance <= 0.0:
                raise ParameterError("diffusion", f"1/D_mumu is not integrable between mu = {low:g} and {high:g}")
            conductance[face] = 1.0 / resistance
        # dp_i/dt = [G_{i+1/2}(p_{i+1} - p_i) - G_{i-1/2}(p_i - p_{i-1})]/Δ: symmetric after multiplying by Δ
        diagonal = np.zeros(cells)
        diagonal[:-1] -= conductance
        diagonal[1:] -= conductance
        eigenvalues, eigenvectors = linalg.eigh_tridiagonal(diagonal / width, conductance / width)
        return cls(edges, np.minimum(eigenvalues, 0.0), eigenvectors)

    def propagate(self, start, ages) -> np.ndarray:
        r"""Cell probabilities :math:`p(t) = e^{Lt}p(0)` at each age: array (ages, cells) or (ages, ..., cells)."""
        start = np.asarray(start, dtype=float)
        ages = np.atleast_1d(np.asarray(ages, dtype=float))
        projected = start @ self.eigenvectors  # (..., modes)
        decay = np.exp(np.multiply.outer(ages, self.eigenvalues))  # (ages, modes)
        return np.einsum("am,...m,cm->a...c", decay, projected, self.eigenvectors)


def _check_ages(ages) -> np.ndarray:
    # the propagator grows without bound backwards in time, so only ages >= 0 are meaningful
    ages = np.atleast_1d(np.asarray(ages, dtype=float))
    if ages.ndim != 1 or np.any(~np.isfinite(ages)) or np.any(ages < 0.0):
        raise ParameterError("ages", "must be a 1-D array of finite times >= 0")
    return ages


def _coarse_grouping(bins: int, cells_per_bin: int) -> np.ndarray:
    # (bins, cells) indicator of the fine cells in each coarse bin
    return np.kron(np.eye(bins), np.ones(cells_per_bin))


def fokker_planck_transitions(diffusion: Callable, bins: int, ages, *,
                              cells_per_bin: int = DEFAULT_CELLS_PER_BIN) -> np.ndarray:
    r"""Transition probabilities :math:`P_{ab}(t) = \Pr\{\mu(t)\in b \mid \mu(0)\in a\}` between equal-width bins.

    The start is uniform in :math:`\mu` over bin :math:`a` (as for an isotropic population), and the propagator is
    the finite-volume operator of eq. PA.2 on ``bins * cells_per_bin`` cells.

    Parameters
    ----------
    diffusion : callable
        :math:`D_{\mu\mu}(\mu)` in inverse units of ``ages``.
    bins : int
        Equal-width bins of [-1, 1] (>= 2).
    ages : array_like
        Times (>= 0).
    cells_per_bin : int
        Fine cells per bin (>= 1).

    Returns
    -------
    ndarray (ages, bins, bins)
        Rows sum to 1.

    Examples
    --------
    >>> transitions = fokker_planck_transitions(lambda mu: 0.5 * (1 - mu**2), 4, [0.0, 100.0])
    >>> bool(np.allclose(transitions[0], np.eye(4)))
    True
    >>> bool(np.allclose(transitions[1], 0.25))  # isotropic at late times
    True
    """
    bins = require_integer("bins", bins, 2)
    cells_per_bin = require_integer("cells_per_bin", cells_per_bin, 1)
    ages = _check_ages(ages)
    generator = PitchAngleGenerator.build(diffusion, bins * cells_per_bin)
    grouping = _coarse_grouping(bins, cells_per_bin)
    start = grouping / cells_per_bin  # (bins, cells): uniform over each bin
    return generator.propagate(start, ages) @ grouping.T


def _isotropic_projections(generator: PitchAngleGenerator) -> tuple[np.ndarray, np.ndarray]:
    # modal amplitudes of the start μ̄∘p0 (isotropic population weighted by its μ) and of the observable μ̄
    edges = generator.edges
    mean_mu = 0.5 * (edges[1:] + edges[:-1])  # exact cell mean of μ for a uniform density
    start = mean_mu * (0.5 * np.diff(edges))
    return start @ generator.eigenvectors, mean_mu @ generator.eigenvectors


def fokker_planck_autocorrelation(diffusion: Callable, ages, cells: int) -> np.ndarray:
    r""":math:`A(t) = \langle\mu(0)\mu(t)\rangle` of an isotropic population under eq. PA.1.

    :math:`A(t) = \bar\mu^T e^{Lt}(\bar\mu\circ p_0)` with :math:`\bar\mu` the cell means and :math:`p_0` the
    isotropic cell probabilities; :math:`A(0) = 1/3` up to the cell averaging, :math:`O(1/n^2)`.

    Examples
    --------
    >>> ages = [0.0, 1.0]
    >>> values = fokker_planck_autocorrelation(lambda mu: 0.5 * (1 - mu**2), ages, 400)
    >>> bool(np.allclose(values, np.exp(-np.array(ages)) / 3, rtol=1e-4))  # P_1 decays at ℓ(ℓ+1)D0 = 1
    True
    """
    cells = require_integer("cells", cells, 2)
    ages = _check_ages(ages)
    generator = PitchAngleGenerator.build(diffusion, cells)
    projected_start, projected_mu = _isotropic_projections(generator)
    return np.exp(np.multiply.outer(ages, generator.eigenvalues)) @ (projected_start * projected_mu)


def fokker_planck_parallel_diffusion(diffusion: Callable, cells: int, speed: float = 1.0) -> float:
    r""":math:`\kappa_\parallel = v^2\int_0^\infty\langle\mu(0)\mu(t)\rangle dt` of the discrete operator.

    The time integral of :func:`fokker_planck_autocorrelation` is :math:`\sum_{\lambda<0}(\ldots)/|\lambda|`
    (the stationary mode carries :math:`\langle\mu\rangle = 0`).  As the cells shrink it approaches QLT's
    :math:`\frac{v^2}{8}\int_{-1}^{1}(1-\mu^2)^2/D_{\mu\mu}\,d\mu`, which is how the discretisation is tested.

    Examples
    --------
    >>> kappa = fokker_planck_parallel_diffusion(lambda mu: 0.5 * (1 - mu**2), 400)
    >>> round(kappa, 4)  # (1/8) ∫ 2 (1 - μ²) dμ = 1/3
    0.3333
    """
    cells = require_integer("cells", cells, 2)
    speed = require_range("speed", speed, 0.0, None, low_open=True)
    generator = PitchAngleGenerator.build(diffusion, cells)
    projected_start, projected_mu = _isotropic_projections(generator)
    decaying = generator.eigenvalues < 0.0
    return float(speed**2 * np.sum(projected_start[decaying] * projected_mu[decaying]
                                   / -generator.eigenvalues[decaying]))


def qlt_slab_transitions(reduced_rigidity: float, turbulence: Turbulence, bins: int, ages, *,
                         cells_per_bin: int = DEFAULT_CELLS_PER_BIN) -> np.ndarray:
    r"""Slab QLT transition probabilities between pitch-angle bins, in the simulator's reduced units.

    :func:`fokker_planck_transitions` with :math:`D_{\mu\mu} = (D_{\mu\mu}/\Omega)\,\Omega`,
    :math:`\Omega = c/r_g = 1/\rho` in :math:`c/L_c` (:func:`anisotropy.transport.pitch_angle_diffusion`).

    Parameters
    ----------
    reduced_rigidity : float
        :math:`\rho = r_g/L_c` in the total field.
    turbulence : Turbulence
        Its η, :math:`L_\min/L_\max` and spectral index set :math:`D_{\mu\mu}`.
    bins : int
    ages : array_like
        Times :math:`ct/L_c`.
    cells_per_bin : int

    Returns
    -------
    ndarray (ages, bins, bins)

    Examples
    --------
    >>> turbulence = Turbulence("slab", 0.5, 0.01)
    >>> transitions = qlt_slab_transitions(0.1, turbulence, 10, [0.0, 2.0])
    >>> bool(np.allclose(transitions.sum(axis=2), 1.0))
    True
    """
    if not isinstance(turbulence, Turbulence):
        raise ParameterError("turbulence", f"expected a Turbulence, got {type(turbulence).__name__}")
    reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    omega = 1.0 / reduced_rigidity

    def diffusion(mu):
        return omega * pitch_angle_diffusion(mu, reduced_rigidity, turbulence=turbulence)

    return fokker_planck_transitions(diffusion, bins, ages, cells_per_bin=cells_per_bin)

r"""Monte Carlo of the white-noise rotation toy model: an exact end-to-end test of the mixing-matrix ODE.

Physics: ``PHYSICS.md`` sect. 8 (model, theory, how the Monte Carlo is built), sect. 2 (C_ℓ in healpy's
normalisation), sect. 3.2 (exact consequences) and sect. 6.6-6.7 (aliasing, white-noise floor, ensemble errors).

The model.  A density on the sphere is carried by a random rotation field that is white in time and correlated in
angle, :math:`\langle\delta\Omega_i(A,t)\,\delta\Omega_j(B,t')\rangle = 2D_s\,c(A\cdot B)\,\delta_{ij}\,\delta(t-t')`
with :math:`c(x) = e^{-\kappa_c(1-x)}`.  Its pair generator is exactly
:math:`-D_s[\hat L_A^2 + \hat L_B^2 + 2c\,\hat L^A\cdot\hat L^B]`, so the mixing-matrix ODE (PHYSICS 4.3) with
:math:`k(x) = 2D_s(c(x)-1)` (:meth:`anisotropy.PairRate.toy`) and the source
:math:`S(T) = (8\pi/3)K|G|^2(1-e^{-\nu_1T})`, :math:`\nu_1 = 2D_s`, :math:`K = v^2/(3\nu_1)`, is exact for
:math:`\langle C_\ell(T)\rangle` started from :math:`\delta f = 0`.

The Monte Carlo.  Directions :math:`X` start on a Gauss-Legendre (in :math:`\cos\theta`) × uniform-φ grid of
"observed" directions and are moved backwards in time by rotations :math:`X \leftarrow R(\omega(X))X` (exact
Rodrigues formula, :math:`|X| = 1` to round-off), with

.. math:: \omega_i(X) = \sqrt{2D_s\,dt}\,\sqrt{2/N_f}\sum_{n=1}^{N_f}\cos(q_{i,n}\cdot X + \varphi_{i,n}),
          \qquad q_{i,n}\sim N(0,\kappa_c I_3),\ \varphi_{i,n}\sim U[0,2\pi),

drawn afresh every step and shared by all directions.  Then
:math:`\langle\omega_i(A)\omega_j(B)\rangle = 2D_s\,dt\,\delta_{ij}\,e^{-\kappa_c|A-B|^2/2}
= 2D_s\,dt\,\delta_{ij}\,c(A\cdot B)` exactly for any :math:`N_f`.  Along each path the map accumulates the source
(trapezoidal rule) :math:`\delta f(X_0) \mathrel{+}= -v\,G\cdot X\,dt`.  :math:`C_\ell` of the map is the exact
quadrature of :math:`a_{\ell m}` on the grid (spherical-harmonic transform below, healpy's normalisation).

Itô/Stratonovich.  The rotation's second-order term :math:`\tfrac12\omega\times(\omega\times X)` gives the drift
:math:`-2D_s X\,dt` of Brownian motion on the sphere (the Stratonovich reading of :math:`dX = \circ d\Omega\times X`).
Evaluating :math:`\omega` at the start point of a step adds no further drift, because the spatial correlation
:math:`e^{-\kappa_c|A-B|^2/2}` has zero gradient at :math:`A = B`.  The remaining step error is :math:`O(dt)`
(e.g. the dipole decay rate of one step is :math:`2D_s[1 - D_s dt/6 + O(dt^2)]`); ``tests/validation/test_toy.py``
checks convergence in :math:`dt` and in :math:`N_f`.  Because the pair statistics of the increments are exact for
any :math:`N_f`, the number of features only enters through higher cumulants of one step, i.e. at :math:`O(dt)`.

Aliasing.  The quadrature of :math:`\delta f\,Y^*_{\ell m}` is exact when :math:`\delta f` has no power above
:math:`\ell' = 2n_\theta - 1 - \ell`; the cascade of the smooth toy pushes power to ever higher :math:`\ell'`
(PHYSICS 4.3, 6.6), which leaks back into low :math:`\ell`.  :func:`default_resolution` picks :math:`n_\theta`
from the longest time requested (see its docstring for the measurement behind it), and
:attr:`ToyResult.unresolved_power` reports the map power the grid cannot resolve, for every run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numba
import numpy as np

from anisotropy.errors import ParameterError, require_integer, require_range
from anisotropy.legendre import gauss_legendre

__all__ = [
    "GaussLegendreGrid",
    "ToyResult",
    "default_resolution",
    "exact_rigid_dipole",
    "exact_total_power",
    "run",
    "simulate",
    "toy_source",
]

#: default time step; the one-step dipole-rate error is D_s dt / 6 relative (module docstring), 8e-4 at D_s = 0.5
DEFAULT_DT = 0.01
#: default number of random Fourier features per rotation component and step; the mean C_ℓ depends on N_f only at
#: O(dt) (module docstring), so this is a cost/scatter compromise, checked against N_f = 16 and 256 in the tests
DEFAULT_N_FEATURES = 64
#: default largest multipole returned (the range PHYSICS 8 compares with the ODE)
DEFAULT_LMAX = 10
#: steps drawn per chunk of random numbers: bounds memory at CHUNK_STEPS * 12 * N_f doubles per realisation
CHUNK_STEPS = 256
#: the white-noise-floor proxy for aliasing must stay below this fraction of the smallest C_ℓ (ℓ ≤ lmax) that
#: default_resolution is asked to protect; it enters only the choice of the default grid
DEFAULT_ALIAS_FRACTION = 0.01


# ---------------------------------------------------------------------------------------------------------------
# numba kernels (no input checks here: the Python wrappers below validate everything)
# ---------------------------------------------------------------------------------------------------------------
_TWO_PI = 2.0 * math.pi
_INV_TWO_PI = 1.0 / _TWO_PI
# Taylor coefficients (-1)^k / (2k)! of cos on [-π, π]; the first omitted term is π^32/32! ≈ 3e-19
_COS_COEFFICIENTS = tuple((-1.0) ** k / math.factorial(2 * k) for k in range(16))
(_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13, _C14, _C15) = _COS_COEFFICIENTS


@numba.njit(cache=True, fastmath=True, inline="always")
def _cos_reduced(phase):
    """cos(phase) by reduction to [-π, π] and a degree-30 even Taylor polynomial (|error| < 1e-14 for |phase| < 1e3).

    libm's cos is a scalar call that blocks SIMD; this polynomial vectorises across the features of a step.
    """
    reduced = phase - _TWO_PI * np.floor(phase * _INV_TWO_PI + 0.5)
    r2 = reduced * reduced
    poly = _C15
    poly = poly * r2 + _C14
    poly = poly * r2 + _C13
    poly = poly * r2 + _C12
    poly = poly * r2 + _C11
    poly = poly * r2 + _C10
    poly = poly * r2 + _C9
    poly = poly * r2 + _C8
    poly = poly * r2 + _C7
    poly = poly * r2 + _C6
    poly = poly * r2 + _C5
    poly = poly * r2 + _C4
    poly = poly * r2 + _C3
    poly = poly * r2 + _C2
    poly = poly * r2 + _C1
    return poly * r2 + _C0


@numba.njit(cache=True, fastmath=True)
def _cos_array(phases):
    """:func:`_cos_reduced` over a 1-d array (for the accuracy test against libm)."""
    out = np.empty_like(phases)
    for index in range(phases.shape[0]):
        out[index] = _cos_reduced(phases[index])
    return out


@numba.njit(cache=True, fastmath=True)
def _feature_sum(wavevectors, phases, step, component, x, y, z):
    """Σ_n cos(q_{i,n}·X + φ_{i,n}) for one rotation component i (PHYSICS 8); contiguous over n for SIMD."""
    qx = wavevectors[step, component, 0]
    qy = wavevectors[step, component, 1]
    qz = wavevectors[step, component, 2]
    ph = phases[step, component]
    total = 0.0
    for n in range(ph.shape[0]):
        total += _cos_reduced(qx[n] * x + qy[n] * y + qz[n] * z + ph[n])
    return total


@numba.njit(cache=True)
def _rotate(x, y, z, wx, wy, wz):
    """Rodrigues rotation of (x, y, z) by the rotation vector ω: exact, so |X| is kept to round-off."""
    angle2 = wx * wx + wy * wy + wz * wz
    if angle2 < 1e-12:
        # series to O(|ω|^4): cos θ = 1 - θ²/2, sin θ / θ = 1 - θ²/6, (1 - cos θ)/θ² = 1/2 - θ²/24
        cos_part = 1.0 - 0.5 * angle2
        sinc = 1.0 - angle2 / 6.0
        versine = 0.5 - angle2 / 24.0
    else:
        angle = math.sqrt(angle2)
        cos_part = math.cos(angle)
        sinc = math.sin(angle) / angle
        versine = (1.0 - cos_part) / angle2
    cx = wy * z - wz * y
    cy = wz * x - wx * z
    cz = wx * y - wy * x
    along = (wx * x + wy * y + wz * z) * versine
    return (
        x * cos_part + cx * sinc + wx * along,
        y * cos_part + cy * sinc + wy * along,
        z * cos_part + cz * sinc + wz * along,
    )


@numba.njit(cache=True, parallel=True)
def _advance(directions, delta_f, wavevectors, phases, step_sizes, diffusion, speed, gradient):
    """Move every direction through ``len(step_sizes)`` white-noise rotation steps and accumulate the source.

    Parameters
    ----------
    directions : (N, 3) float64, updated in place (the backtracked X of every grid node)
    delta_f : (N,) float64, updated in place: δf(X_0) += -v G·X dt, trapezoidal in each step (PHYSICS 8)
    wavevectors : (n_steps, 3, 3, N_f) float64, [step, rotation component i, Cartesian axis, feature n] of q_{i,n}
    phases : (n_steps, 3, N_f) float64, φ_{i,n}
    step_sizes : (n_steps,) float64
    diffusion, speed : D_s and v
    gradient : (3,) float64, G
    """
    n_points = directions.shape[0]
    n_features = phases.shape[2]
    feature_norm = math.sqrt(2.0 / n_features)
    gx, gy, gz = gradient[0], gradient[1], gradient[2]
    for step in range(step_sizes.shape[0]):
        dt = step_sizes[step]
        amplitude = math.sqrt(2.0 * diffusion * dt) * feature_norm
        for point in numba.prange(n_points):
            x = directions[point, 0]
            y = directions[point, 1]
            z = directions[point, 2]
            wx = amplitude * _feature_sum(wavevectors, phases, step, 0, x, y, z)
            wy = amplitude * _feature_sum(wavevectors, phases, step, 1, x, y, z)
            wz = amplitude * _feature_sum(wavevectors, phases, step, 2, x, y, z)
            nx, ny, nz = _rotate(x, y, z, wx, wy, wz)
            delta_f[point] -= speed * dt * 0.5 * (gx * (x + nx) + gy * (y + ny) + gz * (z + nz))
            directions[point, 0] = nx
            directions[point, 1] = ny
            directions[point, 2] = nz


# ---------------------------------------------------------------------------------------------------------------
# Gauss-Legendre × uniform-φ grid and its spherical-harmonic transform
# ---------------------------------------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _normalised_legendre(lmax: int, n_theta: int) -> np.ndarray:
    r"""Table λ_ℓm(cos θ_j) with Y_ℓm = λ_ℓm e^{imφ}, shape (lmax+1 [ℓ], lmax+1 [m], n_theta); zero for m > ℓ.

    Standard stable recursion in ℓ at fixed m (e.g. Press et al., Numerical Recipes 3rd ed., sect. 6.7):
    λ_mm = -sqrt((2m+1)/(2m)) sin θ λ_{m-1,m-1}, λ_{m+1,m} = sqrt(2m+3) cos θ λ_mm,
    λ_ℓm = a_ℓm (cos θ λ_{ℓ-1,m} - λ_{ℓ-2,m}/a_{ℓ-1,m}), a_ℓm = sqrt((4ℓ²-1)/(ℓ²-m²)).
    """
    cos_theta, _ = gauss_legendre(n_theta)
    sin_theta = np.sqrt((1.0 - cos_theta) * (1.0 + cos_theta))
    table = np.zeros((lmax + 1, lmax + 1, n_theta))
    diagonal = np.full(n_theta, 1.0 / math.sqrt(4.0 * math.pi))
    for m in range(lmax + 1):
        if m > 0:
            diagonal = -math.sqrt((2 * m + 1) / (2.0 * m)) * sin_theta * diagonal
        table[m, m] = diagonal
        if m + 1 <= lmax:
            table[m + 1, m] = math.sqrt(2 * m + 3) * cos_theta * diagonal
        for ell in range(m + 2, lmax + 1):
            a_this = math.sqrt((4.0 * ell * ell - 1.0) / (ell * ell - m * m))
            a_previous = math.sqrt((4.0 * (ell - 1) ** 2 - 1.0) / ((ell - 1) ** 2 - m * m))
            table[ell, m] = a_this * (cos_theta * table[ell - 1, m] - table[ell - 2, m] / a_previous)
    table.setflags(write=False)
    return table


@dataclass(frozen=True)
class GaussLegendreGrid:
    r"""Observation grid: ``n_theta`` Gauss-Legendre nodes in cos θ × ``n_phi`` uniform φ (PHYSICS 8).

    The quadrature :math:`\int d\Omega\, g \approx \sum_j w_j\,(2\pi/n_\phi)\sum_k g(\theta_j,\phi_k)` is exact for
    band-limited :math:`g` of degree :math:`\le 2n_\theta - 1` in cos θ and :math:`< n_\phi` in φ, so
    :math:`a_{\ell m}` is exact for maps without power above :math:`2n_\theta - 1 - \ell`
    (with the default :math:`n_\phi = 2n_\theta`).
    """

    n_theta: int
    n_phi: int = 0

    def __post_init__(self):
        n_theta = require_integer("resolution", self.n_theta, 2)
        n_phi = 2 * n_theta if self.n_phi == 0 else require_integer("n_phi", self.n_phi, 3)
        object.__setattr__(self, "n_theta", n_theta)
        object.__setattr__(self, "n_phi", n_phi)

    @property
    def size(self) -> int:
        return self.n_theta * self.n_phi

    @property
    def exact_lmax(self) -> int:
        """Largest ℓ whose a_ℓm are exact for a map band-limited to the same ℓ (the grid's own resolution)."""
        return min(self.n_theta - 1, (self.n_phi - 1) // 2)

    def directions(self) -> np.ndarray:
        """Unit vectors of the nodes, shape (n_theta * n_phi, 3), θ-major (row j·n_phi + k is node (θ_j, φ_k))."""
        cos_theta, _ = gauss_legendre(self.n_theta)
        sin_theta = np.sqrt((1.0 - cos_theta) * (1.0 + cos_theta))
        phi = _TWO_PI * np.arange(self.n_phi) / self.n_phi
        return np.stack(
            [
                np.outer(sin_theta, np.cos(phi)).ravel(),
                np.outer(sin_theta, np.sin(phi)).ravel(),
                np.repeat(cos_theta, self.n_phi),
            ],
            axis=1,
        )

    def weights(self) -> np.ndarray:
        """Quadrature weights of the nodes (sum 4π), same order as :meth:`directions`."""
        _, theta_weights = gauss_legendre(self.n_theta)
        return np.repeat(theta_weights * (_TWO_PI / self.n_phi), self.n_phi)

    def alm(self, maps, lmax: int) -> np.ndarray:
        r""":math:`a_{\ell m} = \int d\Omega\,\delta f\,Y^*_{\ell m}` by quadrature for m ≥ 0 (PHYSICS 2).

        ``maps`` has shape (..., n_theta * n_phi); the result (..., lmax+1 [ℓ], lmax+1 [m]), zero for m > ℓ.
        """
        maps = np.asarray(maps, dtype=float)
        if lmax >= self.n_phi // 2 + 1:
            raise ParameterError("lmax", f"must be < n_phi/2 + 1 = {self.n_phi // 2 + 1} for this grid, got {lmax}")
        grid_maps = maps.reshape(*maps.shape[:-1], self.n_theta, self.n_phi)
        # Σ_k g(φ_k) e^{-imφ_k} for m = 0..lmax
        fourier = np.fft.rfft(grid_maps, axis=-1)[..., : lmax + 1] * (_TWO_PI / self.n_phi)
        _, theta_weights = gauss_legendre(self.n_theta)
        legendre = _normalised_legendre(lmax, self.n_theta)
        return np.einsum("lmj,...jm->...lm", legendre * theta_weights, fourier)

    def power_spectrum(self, maps, lmax: int) -> np.ndarray:
        r""":math:`\hat C_\ell = \frac{1}{2\ell+1}\sum_m |a_{\ell m}|^2`, ℓ = 0..lmax (healpy's normalisation)."""
        alm = self.alm(maps, lmax)
        power = np.abs(alm) ** 2
        power[..., 1:] *= 2.0  # a_{ℓ,-m} = (-1)^m a*_{ℓm} for a real map
        return power.sum(axis=-1) / (2 * np.arange(lmax + 1) + 1)

    def total_power(self, maps) -> np.ndarray:
        r"""Quadrature of :math:`\int d\Omega\,\delta f^2`, which is :math:`\sum_\ell(2\ell+1)C_\ell` (PHYSICS 2)."""
        return np.asarray(maps, dtype=float) ** 2 @ self.weights()


# ---------------------------------------------------------------------------------------------------------------
# exact references (PHYSICS 8 and 3.2)
# ---------------------------------------------------------------------------------------------------------------
def toy_source(D_s: float, v: float = 1.0, gradient_norm: float = 1.0):
    r"""The ODE's ℓ = 1 source for the toy started from δf = 0 (PHYSICS 8).

    :math:`S(T) = (8\pi/3)K|G|^2(1 - e^{-\nu_1 T})` with :math:`\nu_1 = 2D_s`, :math:`K = v^2/(3\nu_1)`.
    Returns a vectorised callable of T.
    """
    D_s = require_range("D_s", D_s, 0.0, None, low_open=True)
    v = require_range("v", v, 0.0, None, low_open=True)
    gradient_norm = require_range("gradient_norm", gradient_norm, 0.0, None)
    dipole_rate = 2.0 * D_s
    diffusion_coefficient = v * v / (3.0 * dipole_rate)
    amplitude = 8.0 * math.pi / 3.0 * diffusion_coefficient * gradient_norm**2

    def source(time):
        return amplitude * -np.expm1(-dipole_rate * np.asarray(time, dtype=float))

    return source


def _integrated_correlation(rate: float, time) -> np.ndarray:
    r""":math:`\int_0^T\int_0^T e^{-\nu|t-t'|}dt\,dt' = 2[T/\nu - (1 - e^{-\nu T})/\nu^2]`."""
    time = np.asarray(time, dtype=float)
    return 2.0 * (time / rate + np.expm1(-rate * time) / rate**2)


def exact_total_power(D_s: float, times, v: float = 1.0, gradient_norm: float = 1.0) -> np.ndarray:
    r"""Exact :math:`\langle\int d\Omega\,\delta f^2\rangle = \langle\sum_\ell(2\ell+1)C_\ell\rangle` (PHYSICS 3.2b).

    A single path has :math:`\langle X(t)\cdot G\,X(t')\cdot G\rangle = (|G|^2/3)e^{-2D_s|t-t'|}` (the ℓ = 1
    amplitude decays at :math:`D_s\ell(\ell+1)`), so
    :math:`4\pi\langle\delta f^2\rangle = 4\pi (v^2|G|^2/3)\cdot2[T/\nu_1 - (1-e^{-\nu_1T})/\nu_1^2]`, whose slope
    at large T is :math:`8\pi K|G|^2`.  Independent of κ_c and of the grid (quadrature weights sum to 4π).
    """
    D_s = require_range("D_s", D_s, 0.0, None, low_open=True)
    return 4.0 * math.pi * v * v * gradient_norm**2 / 3.0 * _integrated_correlation(2.0 * D_s, times)


def exact_rigid_dipole(D_s: float, times, v: float = 1.0, gradient_norm: float = 1.0) -> np.ndarray:
    r"""Exact :math:`\langle C_1(T)\rangle` for a rigid rotation (κ_c = 0, Γ ≡ 0, PHYSICS 4.3 limits).

    δf is the pure dipole :math:`-v(\int_0^T R(t)^{\mathsf T}dt\,G)\cdot X_0`, so
    :math:`C_1 = (4\pi/9)|d|^2` with :math:`\langle|d|^2\rangle = v^2|G|^2\cdot2[T/\nu_1 - (1-e^{-\nu_1T})/\nu_1^2]`;
    equal to :math:`\int_0^T S(t)dt` of :func:`toy_source`.
    """
    D_s = require_range("D_s", D_s, 0.0, None, low_open=True)
    return 4.0 * math.pi / 9.0 * v * v * gradient_norm**2 * _integrated_correlation(2.0 * D_s, times)


# ---------------------------------------------------------------------------------------------------------------
# the Monte Carlo
# ---------------------------------------------------------------------------------------------------------------
def default_resolution(t_max: float, lmax: int = DEFAULT_LMAX) -> int:
    r"""Default ``n_theta`` for the κ_c ≲ 5 toy up to time ``t_max``, fine enough that aliasing into ℓ ≤ lmax is
    below the statistical error of typical runs.

    The quadrature is exact for power at :math:`\ell' \le 2n_\theta - 1 - \ell`.  Power above that aliases into ℓ
    roughly like a white-noise floor :math:`P_{>}/N_{\rm nodes}` (PHYSICS 6.6), with :math:`P_>` the map power
    above :math:`\ell'`.  The rule below is the grid that keeps this proxy below ``DEFAULT_ALIAS_FRACTION`` of
    :math:`C_{\ell_{\max}}`, measured from the ODE spectrum of the κ_c = 5, D_s = 0.5 toy (see
    ``benchmarks/toy.py``), and never coarser than ``lmax + 6`` nodes.  The refinement test in
    ``tests/validation/test_toy.py`` checks it directly.
    """
    t_max = require_range("t_max", t_max, 0.0, None, low_open=True)
    lmax = require_integer("lmax", lmax, 1)
    for time_limit, n_theta in _DEFAULT_GRID_TABLE:
        if t_max <= time_limit:
            return max(n_theta, lmax + 6)
    return max(_DEFAULT_GRID_TABLE[-1][1], lmax + 6)


#: (largest T, n_theta) for the default grid; filled from the aliasing measurement in benchmarks/toy.py
_DEFAULT_GRID_TABLE = ((0.5, 16), (1.0, 24), (2.0, 40), (3.0, 56), (4.0, 72))


@dataclass
class ToyResult:
    r"""Everything one toy Monte Carlo produced.

    Attributes
    ----------
    times : (n_T,) backtracking times T
    mean, stderr : (n_T, lmax+1) ensemble mean of Ĉ_ℓ(T) and its standard error from the empirical scatter
    cosmic_variance_stderr : (n_T, lmax+1) the Gaussian expectation sqrt(2 C_ℓ²/((2ℓ+1) N_r)) for comparison
        (PHYSICS 6.7; the a_ℓm are not exactly Gaussian, so ``stderr`` is the one to use)
    cl : (N_r, n_T, lmax+1) per-realisation Ĉ_ℓ
    total_power : (N_r, n_T) quadrature of ∫dΩ δf² (PHYSICS 3.2b; compare :func:`exact_total_power`)
    unresolved_power : (N_r, n_T) ∫dΩ δf² minus Σ_{ℓ ≤ grid.exact_lmax}(2ℓ+1)Ĉ_ℓ: the power the grid cannot
        resolve.  Divided by ``grid.size`` it is the white-noise-floor proxy of what can alias into low ℓ
    alias_floor : (n_T,) ensemble mean of unresolved_power / grid.size (compare with ``stderr``)
    dipole_correlation : (N_r, n_T) grid-weighted mean of X(T)·X(0) (single-path check: e^{-2 D_s T})
    grid, dt, n_features, seed_entropy, parameters : what produced the run (seeds recorded)
    """

    times: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    cosmic_variance_stderr: np.ndarray
    cl: np.ndarray
    total_power: np.ndarray
    unresolved_power: np.ndarray
    alias_floor: np.ndarray
    dipole_correlation: np.ndarray
    grid: GaussLegendreGrid
    dt: float
    n_features: int
    seed_entropy: int
    parameters: dict = field(default_factory=dict)

    @property
    def ell(self) -> np.ndarray:
        return np.arange(self.mean.shape[1])

    @property
    def realisations(self) -> int:
        return self.cl.shape[0]


def _step_schedule(times: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Step sizes ≤ dt landing exactly on every requested time; returns (step_sizes, index of the step ending at T)."""
    sizes = []
    ends = []
    previous = 0.0
    for time in times:
        interval = time - previous
        count = max(1, math.ceil(interval / dt - 1e-9))
        sizes.extend([interval / count] * count)
        ends.append(len(sizes))
        previous = time
    return np.asarray(sizes), np.asarray(ends)


def _one_realisation(seed_sequence, grid, schedule, D_s, kappa_c, v, gradient, n_features, lmax):
    step_sizes, ends = schedule
    generator = np.random.Generator(np.random.PCG64(seed_sequence))
    directions = grid.directions()
    start = directions.copy()
    delta_f = np.zeros(grid.size)
    weights = grid.weights()
    maps = np.empty((ends.size, grid.size))
    correlation = np.empty(ends.size)
    wavevector_scale = math.sqrt(kappa_c)
    done = 0
    for index, end in enumerate(ends):
        while done < end:
            count = min(CHUNK_STEPS, end - done)
            wavevectors = wavevector_scale * generator.standard_normal((count, 3, 3, n_features))
            phases = generator.uniform(0.0, _TWO_PI, (count, 3, n_features))
            _advance(directions, delta_f, wavevectors, phases, step_sizes[done : done + count], D_s, v, gradient)
            done += count
        maps[index] = delta_f
        correlation[index] = np.sum(start * directions, axis=1) @ weights / (4.0 * math.pi)
    resolved_lmax = grid.exact_lmax
    spectrum = grid.power_spectrum(maps, max(lmax, resolved_lmax))
    total = grid.total_power(maps)
    resolved = spectrum[:, : resolved_lmax + 1] @ (2 * np.arange(resolved_lmax + 1) + 1)
    return spectrum[:, : lmax + 1], total, total - resolved, correlation


def simulate(
    D_s: float,
    kappa_c: float,
    times,
    realisations: int,
    resolution: int | None = None,
    seed: int = 0,
    *,
    lmax: int = DEFAULT_LMAX,
    v: float = 1.0,
    gradient=(0.0, 0.0, 1.0),
    dt: float = DEFAULT_DT,
    n_features: int = DEFAULT_N_FEATURES,
) -> ToyResult:
    r"""Run the toy Monte Carlo of PHYSICS 8 and return the full :class:`ToyResult`.

    Parameters
    ----------
    D_s : float > 0
        Single-direction angular diffusion coefficient (C_ℓ of uncorrelated directions decays at 2D_sℓ(ℓ+1)).
    kappa_c : float ≥ 0
        Angular correlation parameter, c(x) = exp(-κ_c(1-x)); 0 is a rigid rotation of the whole sky.
    times : sequence of float > 0
        Backtracking times T (any order; duplicates allowed); C_ℓ(T) is recorded at each.
    realisations : int ≥ 2
        Independent realisations of the rotation field (one SeedSequence child each).
    resolution : int or None
        Number of Gauss-Legendre nodes n_θ (n_φ = 2n_θ); ``None`` takes :func:`default_resolution` for max(times).
    seed : int ≥ 0
        Entropy of the root SeedSequence; realisation r uses child r, so the first realisations do not depend on
        how many are run.
    lmax : int, keyword
        Largest ℓ returned (≤ n_θ - 1).
    v, gradient : keyword
        Particle speed and the density gradient G (3-vector) of the source -v X·G.
    dt : float, keyword
        Largest time step (steps are shortened to land exactly on each T).
    n_features : int, keyword
        Random Fourier features N_f per rotation component and step.
    """
    D_s = require_range("D_s", D_s, 0.0, None, low_open=True)
    kappa_c = require_range("kappa_c", kappa_c, 0.0, None)
    try:
        time_values = np.array([float(t) for t in np.atleast_1d(np.asarray(times, dtype=object))], dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("times", f"expected a sequence of positive numbers, got {times!r}") from None
    if time_values.size == 0:
        raise ParameterError("times", "expected at least one time")
    for time in time_values:
        require_range("times", time, 0.0, None, low_open=True)
    realisations = require_integer("realisations", realisations, 2)
    lmax = require_integer("lmax", lmax, 1)
    if resolution is None:
        resolution = default_resolution(float(time_values.max()), lmax)
    grid = GaussLegendreGrid(resolution)
    if lmax > grid.exact_lmax:
        raise ParameterError("lmax", f"must be ≤ resolution - 1 = {grid.exact_lmax} for exact quadrature, got {lmax}")
    seed = require_integer("seed", seed, 0)
    v = require_range("v", v, 0.0, None, low_open=True)
    gradient = np.asarray(gradient, dtype=float)
    if gradient.shape != (3,) or not np.all(np.isfinite(gradient)):
        raise ParameterError("gradient", f"expected a finite 3-vector, got {gradient!r}")
    dt = require_range("dt", dt, 0.0, None, low_open=True)
    n_features = require_integer("n_features", n_features, 1)

    order = np.argsort(time_values, kind="stable")
    sorted_times = time_values[order]
    schedule = _step_schedule(sorted_times, dt)
    root = np.random.SeedSequence(seed)
    cl = np.empty((realisations, time_values.size, lmax + 1))
    total = np.empty((realisations, time_values.size))
    unresolved = np.empty_like(total)
    correlation = np.empty_like(total)
    for index, child in enumerate(root.spawn(realisations)):
        spectrum, power, missing, dipole = _one_realisation(
            child, grid, schedule, D_s, kappa_c, v, gradient, n_features, lmax
        )
        # back to the caller's order of times
        cl[index, order] = spectrum
        total[index, order] = power
        unresolved[index, order] = missing
        correlation[index, order] = dipole

    mean = cl.mean(axis=0)
    stderr = cl.std(axis=0, ddof=1) / math.sqrt(realisations)
    ell = np.arange(lmax + 1)
    cosmic = mean * np.sqrt(2.0 / ((2 * ell + 1) * realisations))
    return ToyResult(
        times=time_values,
        mean=mean,
        stderr=stderr,
        cosmic_variance_stderr=cosmic,
        cl=cl,
        total_power=total,
        unresolved_power=unresolved,
        alias_floor=unresolved.mean(axis=0) / grid.size,
        dipole_correlation=correlation,
        grid=grid,
        dt=dt,
        n_features=n_features,
        seed_entropy=seed,
        parameters={"D_s": D_s, "kappa_c": kappa_c, "v": v, "gradient": gradient.tolist()},
    )


def run(D_s, kappa_c, times, realisations, resolution=None, seed=0, **options) -> tuple[np.ndarray, np.ndarray]:
    r"""Ensemble mean and standard error of :math:`\hat C_\ell(T)`, each of shape (len(times), lmax+1).

    The contract of issue 5 item 1; see :func:`simulate` for the parameters and the full diagnostics
    (cosmic-variance errors, aliasing floor, seeds).  Index 0 is the measured monopole C_0 (the ODE leaves it nan).
    """
    result = simulate(D_s, kappa_c, times, realisations, resolution, seed, **options)
    return result.mean, result.stderr

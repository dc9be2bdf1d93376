"""Isotropic turbulence with a regular field B0: the 4D quadrature behind :meth:`PairRate.isotropic` (eta < 1).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numba import njit, prange

from ..errors import require_integer, require_range
from ..legendre import gauss_legendre

#: step of the radial tables of the isotropic model with B0, in units of 1/k_max: the 4-point Lagrange interpolation
#: error of one mode is ≤ (3/128)(k h)^4 ≈ 2.3e-6 of its (small, f ∝ k^{-2/3}) power at k = k_max, far less below
_TABLE_STEP = 0.1
#: below this k r the tabulated j-combinations use their power series (the closed forms cancel catastrophically)
_SERIES_ARGUMENT = 0.5
#: default orientation nodes: Gauss-Legendre in the polar angle of A on [0, π/2] (z-mirror symmetry) and the
#: trapezoid rule (spectral for the periodic integrand) in the azimuth ψ of B around A on [0, 2π)
DEFAULT_POLAR_NODES = 12
DEFAULT_AZIMUTH_NODES = 16
#: Gauss nodes per full panel of the time rules, and per geometrically graded panel
_PANEL_NODES = 8
_GRADED_PANEL_NODES = 6
#: ratio of successive graded panels of the time rules (toward the diagonal s1 = s2 and toward s2 = 0)
_TIME_GRADING = 0.2
#: the graded time panels reach down to these fractions of ΔT (diagonal) and of the s2 range (start of the orbit)
_DIAGONAL_DEPTH = 1e-6
_START_DEPTH = 1e-4
#: longest time panel in units of the fastest time scale among 1/Ω0, 1/(v k_min) and ΔT (measured: 1e-5 relative
#: for 64 modes per decade; sparse spectra need ``resolution`` > 1, see tests)
_PANEL_LENGTH = 1.5
#: κ(x) is evaluated directly at Chebyshev nodes: _ANGLE_NODES in ln θ on [θ_min, θ_split] and _FAR_NODES in x on
#: [-1, cos θ_split]; measured against direct evaluations between the nodes: ≤ 2e-4 relative (test_pair_rates)
_ANGLE_NODES = 20
_FAR_NODES = 20
_SMALLEST_ANGLE = 1e-3
_SPLIT_ANGLE = 0.3
#: Legendre series length of the isotropic model with B0 (the rate matrix asks for 2 ℓmax coefficients)
REGULAR_FIELD_SERIES_LENGTH = 2048


@njit(cache=True)
def _radial_kernel(radii, wavenumbers, fractions, longitudinal, transverse):  # pragma: no cover - compiled
    # P(r) = Σ f (j0 - j1/u) and Q(r) = Σ f k² j2(u)/u², u = k r; both even and entire in r
    for index in range(radii.size):
        radius = radii[index]
        p_value = 0.0
        q_value = 0.0
        for mode in range(wavenumbers.size):
            k = wavenumbers[mode]
            u = k * radius
            if u < _SERIES_ARGUMENT:
                # j_n(u)/u^n = Σ_m (-u²/2)^m / (m! (2n+2m+1)!!)
                step = -0.5 * u * u
                term = 1.0
                double_factorial = 1.0
                p_series = 0.0
                q_series = 0.0
                for m in range(10):
                    next_factorial = double_factorial * (2 * m + 3)
                    p_series += term * (1.0 / double_factorial - 1.0 / next_factorial)
                    q_series += term / (next_factorial * (2 * m + 5))
                    term *= step / (m + 1)
                    double_factorial = next_factorial
                p_value += fractions[mode] * p_series
                q_value += fractions[mode] * k * k * q_series
            else:
                sine = math.sin(u)
                cosine = math.cos(u)
                squared = u * u
                j0 = sine / u
                j1_over_u = (sine / u - cosine) / squared
                j2 = (3.0 / squared - 1.0) * sine / u - 3.0 * cosine / squared
                p_value += fractions[mode] * (j0 - j1_over_u)
                q_value += fractions[mode] * k * k * j2 / squared
        longitudinal[index] = p_value
        transverse[index] = q_value


@njit(cache=True, inline="always")
def _lookup(table, inverse_step, radius):  # pragma: no cover - compiled
    # 4-point Lagrange interpolation on a uniform grid; the tabulated functions are even in r (mirror at r = 0)
    position = radius * inverse_step
    index = int(position)
    t = position - index
    before = table[index - 1] if index >= 1 else table[1]
    return (-t * (t - 1.0) * (t - 2.0) * before / 6.0 + (t + 1.0) * (t - 1.0) * (t - 2.0) * table[index] / 2.0
            - (t + 1.0) * t * (t - 2.0) * table[index + 1] / 2.0 + (t + 1.0) * t * (t - 1.0) * table[index + 2] / 6.0)


@njit(cache=True, inline="always")
def _tensor_contraction(longitudinal, transverse, inverse_step, dz2, perp2, gyration_cosine):  # pragma: no cover
    # T_zz + cos Ω0(s1-s2) (T_xx + T_yy) per unit η/2: P (1 + 2C) + Q (Δz² + C Δr⊥²)
    radius = math.sqrt(dz2 + perp2)
    return (_lookup(longitudinal, inverse_step, radius) * (1.0 + 2.0 * gyration_cosine)
            + _lookup(transverse, inverse_step, radius) * (dz2 + gyration_cosine * perp2))


@njit(cache=True, parallel=True)
def _cross_kernel(cosines, polar, polar_weights, azimuth, azimuth_weights, lags, lag_cosines, lag_half_cos,
                  lag_half_sin, first_times, second_times, first_chords, second_chords, weights, speed,
                  longitudinal, transverse, inverse_step):  # pragma: no cover - compiled
    out = np.zeros(cosines.size)
    for index in prange(cosines.size):
        x = cosines[index]
        sine_x = math.sqrt(max(0.0, 1.0 - x * x))
        total = 0.0
        for a in range(polar.size):
            mu_a = math.cos(polar[a])
            perp_a = math.sin(polar[a])
            for p in range(azimuth.size):
                # B on the cone around A = (sin θ_A, 0, cos θ_A): B = x A + sqrt(1-x²)(cos ψ e_θ + sin ψ e_φ)
                cos_psi = math.cos(azimuth[p])
                b_x = x * perp_a + sine_x * cos_psi * mu_a
                b_y = sine_x * math.sin(azimuth[p])
                mu_b = x * mu_a - sine_x * cos_psi * perp_a
                perp_b2 = b_x * b_x + b_y * b_y
                partial = 0.0
                for j in range(lags.size):
                    # p_⊥B cos(Δφ - Ω0 τ/2) without dividing by p_⊥B
                    projected = b_x * lag_half_cos[j] + b_y * lag_half_sin[j]
                    for i in range(first_times.shape[1]):
                        chord_a = first_chords[j, i]
                        chord_b = second_chords[j, i]
                        dz = speed * (mu_a * first_times[j, i] - mu_b * second_times[j, i])
                        perp2 = speed * speed * (perp_a * perp_a * chord_a * chord_a + perp_b2 * chord_b * chord_b
                                                 - 2.0 * perp_a * chord_a * chord_b * projected)
                        partial += weights[j, i] * _tensor_contraction(longitudinal, transverse, inverse_step,
                                                                       dz * dz, max(perp2, 0.0), lag_cosines[j])
                total += polar_weights[a] * azimuth_weights[p] * partial
        out[index] = total
    return out


@njit(cache=True)
def _self_kernel(polar, polar_weights, lags, lag_weights, lag_cosines, lag_chords, speed, longitudinal, transverse,
                 inverse_step):  # pragma: no cover - compiled
    total = 0.0
    for a in range(polar.size):
        mu = math.cos(polar[a])
        perp = math.sin(polar[a])
        partial = 0.0
        for j in range(lags.size):
            dz = speed * mu * lags[j]
            perp2 = (speed * perp * lag_chords[j]) ** 2
            partial += lag_weights[j] * _tensor_contraction(longitudinal, transverse, inverse_step, dz * dz, perp2,
                                                            lag_cosines[j])
        total += polar_weights[a] * partial
    return total


def _chords(gyration: float, times) -> np.ndarray:
    r"""Chord length :math:`2\sin(\Omega_0 s/2)/\Omega_0` of a unit-speed gyration over time s (→ s as Ω0 → 0)."""
    times = np.asarray(times, dtype=float)
    return times * np.sinc(0.5 * gyration * times / np.pi)


def _graded_time_rule(length: float, max_panel: float, smallest: float) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss rule on [0, length]: panels graded by :data:`_TIME_GRADING` toward 0 down to ``smallest``,
    then every panel longer than ``max_panel`` split evenly (:data:`_PANEL_NODES` nodes per full panel)."""
    edges = [length]
    while edges[-1] * _TIME_GRADING > smallest:
        edges.append(edges[-1] * _TIME_GRADING)
    edges.append(0.0)
    edges.reverse()
    full_nodes, full_weights = gauss_legendre(_PANEL_NODES)
    graded_nodes, graded_weights = gauss_legendre(_GRADED_PANEL_NODES)
    nodes, weights = [], []
    for low, high in itertools.pairwise(edges):
        pieces = max(1, math.ceil((high - low) / max_panel))
        # the outermost panel and split panels carry the oscillations: full panels; the inner graded ones fewer
        rule = (full_nodes, full_weights) if pieces > 1 or high == length else (graded_nodes, graded_weights)
        bounds = np.linspace(low, high, pieces + 1)
        for start, stop in itertools.pairwise(bounds):
            nodes.append(0.5 * (stop - start) * (rule[0] + 1.0) + start)
            weights.append(0.5 * (stop - start) * rule[1])
    return np.concatenate(nodes), np.concatenate(weights)


def _radial_tables(wavenumbers, power_fraction, max_radius: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Tables of P(r) and Q(r) (:meth:`PairRate.isotropic`, step 3) on a uniform grid up to ``max_radius``."""
    step = _TABLE_STEP / float(np.max(wavenumbers))
    count = math.ceil(max_radius / step) + 4
    radii = step * np.arange(count)
    longitudinal, transverse = np.empty(count), np.empty(count)
    _radial_kernel(radii, np.ascontiguousarray(wavenumbers, dtype=float),
                   np.ascontiguousarray(power_fraction, dtype=float), longitudinal, transverse)
    return 1.0 / step, longitudinal, transverse


def _orientation_rule(polar_nodes: int, azimuth_nodes: int):
    nodes, weights = gauss_legendre(polar_nodes)
    polar = 0.25 * math.pi * (nodes + 1.0)
    # density of θ_A on [0, π/2] after the z-mirror: sin θ_A
    polar_weights = 0.25 * math.pi * weights * np.sin(polar)
    azimuth = 2.0 * math.pi * np.arange(azimuth_nodes) / azimuth_nodes
    return polar, polar_weights, azimuth, np.full(azimuth_nodes, 1.0 / azimuth_nodes)


def regular_field_pair_integrals(cosines, wavenumbers, power_fraction, reduced_rigidity: float, eta: float,
                                 pair_time: float, *, polar_nodes: int = DEFAULT_POLAR_NODES,
                                 azimuth_nodes: int = DEFAULT_AZIMUTH_NODES, resolution: float = 1.0):
    r""":math:`\tilde c(x;\Delta T)` at ``cosines`` and :math:`\tilde c(1;\Delta T)` of isotropic turbulence with B0.

    The integrals of :meth:`PairRate.isotropic` (``eta < 1``; its docstring has the derivation) in units of
    :math:`\Omega` (time :math:`1/\Omega`, lengths :math:`L_c`, :math:`v = \rho`), by the quadrature of step 4
    there.  Both use the same polar and lag nodes, so their quadrature errors cancel in
    :math:`\kappa = \tilde c(x) - \tilde c(1)` as :math:`x\to1`.

    Parameters
    ----------
    cosines : array_like
        :math:`x = \hat p_A\cdot\hat p_B` in [-1, 1].
    wavenumbers, power_fraction : array_like
        The modes (:func:`anisotropy.spectrum.kolmogorov_modes`), wavenumbers in :math:`1/L_c`.
    reduced_rigidity, eta, pair_time : float
        :math:`\rho = r_g/L_c`, :math:`\eta\in(0, 1]`, :math:`T = \Omega\Delta T`.
    polar_nodes, azimuth_nodes : int
        Orientation nodes (:data:`DEFAULT_POLAR_NODES`, :data:`DEFAULT_AZIMUTH_NODES`).
    resolution : float
        Divides the longest time panel (default resolves dense spectra, ≥ 32 modes per decade, to ~1e-5;
        sparse test spectra whose correlation oscillates at :math:`k_\max` need :math:`\gtrsim v k_\max/(v k_\min)`).

    Returns
    -------
    cross : ndarray
        :math:`\tilde c(x)` at ``cosines``.
    self_correlation : float
        :math:`\tilde c(1)`.
    """
    cosines = np.ascontiguousarray(cosines, dtype=float).ravel()
    wavenumbers = np.asarray(wavenumbers, dtype=float).ravel()
    power_fraction = np.asarray(power_fraction, dtype=float).ravel()
    speed = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True)
    pair_time = require_range("pair_time", pair_time, 0.0, None, low_open=True)
    resolution = require_range("resolution", resolution, 0.0, None, low_open=True)
    gyration = math.sqrt(1.0 - eta)
    # the slowest variation along the orbits: gyration, crossing the outer scale, or the whole window
    max_panel = _PANEL_LENGTH / (resolution * max(gyration, speed * float(np.min(wavenumbers)), 1.0 / pair_time))
    polar, polar_weights, azimuth, azimuth_weights = _orientation_rule(
        require_integer("polar_nodes", polar_nodes, 1), require_integer("azimuth_nodes", azimuth_nodes, 1))
    lags, lag_weights = _graded_time_rule(pair_time, max_panel, _DIAGONAL_DEPTH * pair_time)
    fractions, fraction_weights = _graded_time_rule(1.0, max_panel / pair_time, _START_DEPTH)
    # |r_A(s1) - r_B(s2)| ≤ v (s1 + s2) ≤ 2 v T
    inverse_step, longitudinal, transverse = _radial_tables(wavenumbers, power_fraction, 2.0 * speed * pair_time)
    remaining = pair_time - lags
    second_times = remaining[:, None] * fractions[None, :]
    first_times = second_times + lags[:, None]
    weights = (lag_weights * remaining)[:, None] * fraction_weights[None, :]
    cross = _cross_kernel(cosines, polar, polar_weights, azimuth, azimuth_weights, lags, np.cos(gyration * lags),
                          np.cos(0.5 * gyration * lags), np.sin(0.5 * gyration * lags), first_times, second_times,
                          _chords(gyration, first_times), _chords(gyration, second_times), weights, speed,
                          longitudinal, transverse, inverse_step)
    self_value = _self_kernel(polar, polar_weights, lags, lag_weights * remaining, np.cos(gyration * lags),
                              _chords(gyration, lags), speed, longitudinal, transverse, inverse_step)
    # (1/3) (η/2) × 2 (the s1 < s2 half equals the s1 > s2 half after the exchange A ↔ B)
    return eta / 3.0 * cross, eta / 3.0 * self_value


class _RegularFieldInterpolant:
    r""":math:`\kappa(x;\Delta T) = \tilde c(x) - \tilde c(1)` of the isotropic model with B0 from its values at
    Chebyshev nodes (:meth:`PairRate.isotropic`, numerics): near x = 1 as :math:`\theta^2h(\ln\theta)` on
    :math:`[\theta_\min, \theta_\mathrm{split}]` (power laws in θ are smooth in ln θ), elsewhere as a polynomial in
    x on :math:`[-1, \cos\theta_\mathrm{split}]` (κ is analytic there), and below :math:`\theta_\min` the power law
    with the local exponent at :math:`\theta_\min` (at most the analytic 2)."""

    def __init__(self, near, far, exponent_below, self_correlation):
        self.near, self.far = near, far
        self.exponent_below = exponent_below
        self.value_at_min = float(near(math.log(_SMALLEST_ANGLE)))
        self.self_correlation = float(self_correlation)

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        # θ from 1 - x without the cancellation of arccos near x = 1
        theta = 2.0 * np.arcsin(np.sqrt(np.clip(0.5 * (1.0 - x), 0.0, 1.0)))
        clipped = np.clip(theta, _SMALLEST_ANGLE, _SPLIT_ANGLE)
        near = theta**2 * self.near(np.log(clipped))
        ratio = np.maximum(theta, np.finfo(float).tiny) / _SMALLEST_ANGLE
        below = theta**2 * self.value_at_min * ratio ** (self.exponent_below - 2.0)
        far = self.far(x)
        return np.where(theta < _SMALLEST_ANGLE, below, np.where(theta <= _SPLIT_ANGLE, near, far))


def _chebyshev_points(low: float, high: float, count: int) -> np.ndarray:
    order = np.arange(count)
    return 0.5 * (low + high) + 0.5 * (high - low) * np.cos(np.pi * (order + 0.5) / count)


def _regular_field_interpolant(wavenumbers, fractions, reduced_rigidity, eta, pair_time, resolution):
    """κ at the Chebyshev nodes of both pieces in one quadrature pass; see :class:`_RegularFieldInterpolant`."""
    low, split = math.log(_SMALLEST_ANGLE), math.log(_SPLIT_ANGLE)
    log_angles = _chebyshev_points(low, split, _ANGLE_NODES)
    far_cosines = _chebyshev_points(-1.0, math.cos(_SPLIT_ANGLE), _FAR_NODES)
    cosines = np.concatenate([np.cos(np.exp(log_angles)), far_cosines])
    cross, self_value = regular_field_pair_integrals(cosines, wavenumbers, fractions, reduced_rigidity, eta,
                                                     pair_time, resolution=resolution)
    kappa = cross - self_value
    near_values = kappa[:_ANGLE_NODES] / np.exp(2.0 * log_angles)
    near = np.polynomial.Chebyshev.fit(log_angles, near_values, _ANGLE_NODES - 1, domain=[low, split])
    far = np.polynomial.Chebyshev.fit(far_cosines, kappa[_ANGLE_NODES:], _FAR_NODES - 1,
                                      domain=[-1.0, math.cos(_SPLIT_ANGLE)])
    # local exponent β = 2 + d ln h/d ln θ at θ_min
    exponent = min(2.0, 2.0 + float(near.deriv()(low) / near(low)))
    return _RegularFieldInterpolant(near, far, exponent, self_value)

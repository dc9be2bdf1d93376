r"""Relative-rotation pair model: a stochastic closure of the equal-age pair correlation for slab turbulence.

The closures of :mod:`anisotropy.pair_correlation` give the equal-age pair correlation
:math:`g(x; t) = \langle\hat d_A(t)\cdot\hat d_B(t)\rangle_x` a generator that is Markov in the pair's cosine alone.
This module keeps the relative position of the two particles along :math:`\mathbf B_0` as a second state variable
(docs/physics/pair_rotation.md).  Each member's direction is rotated by a Gaussian white-noise vector
:math:`\boldsymbol\xi` perpendicular to :math:`\mathbf B_0` whose variance is the slab QLT pitch-angle diffusion
(plus the drift :math:`D'(\mu)(1-\mu^2)` that makes the process QLT's :math:`\partial_\mu(D_{\mu\mu}\partial_\mu f)`,
eq. R.2′ of the physics page), and the two rotations are correlated with the complex coefficient

.. math:: \rho_{AB} = \frac{2\sqrt{w_A w_B}}{w_A + w_B - i(k_B - k_A)}\,
          e^{i\bar k\,\Delta z - \bar w|\Delta z|},\qquad k_i = -\frac{1}{r_{g,0}\mu_i},

the overlap of the two members' resonances (Lorentzians of half-width :math:`w_i` around :math:`k_i`) in a
spectrum flat across them, at relative position :math:`\Delta z = z_A - z_B` with
:math:`\mathrm d\Delta z/\mathrm dt = v(\mu_A - \mu_B)`.  Identical members are rotated identically, so their
angle is conserved (the exact pair identity :math:`\mathrm d(\hat d_A\cdot\hat d_B)/\mathrm dt =
(\boldsymbol\omega_A-\boldsymbol\omega_B)\cdot(\hat d_A\times\hat d_B)`); independent members
(:math:`\rho = 0`) leave :math:`g` linear in :math:`x`.  The width :math:`w_i` is the one physical choice:

* ``"dupree"`` (default): resonance broadening by the pitch-angle diffusion,
  :math:`w_i = (k_i^2 v^2 D_{\mu\mu}/3)^{1/3}/(|\mu_i| v)` (Dupree 1966, Phys. Fluids 9, 1773), whose clock is the
  :math:`(\Omega\tau_s)^{1/3}` pair time;
* ``"scattering"``: the scattering rate, :math:`w_i = D_{\mu\mu}/((1-\mu_i^2)|\mu_i| v)`.

Nothing is fitted.  Units: lengths in :math:`L_c`, times in :math:`L_c/c`, :math:`v = c`.  The hot loop is
:func:`_pairs_kernel` (numba, parallel over pairs); :func:`_pairs_python` is its slower twin, which draws the same
random numbers and is tested against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from .errors import ParameterError, require_integer, require_range
from .legendre import gauss_legendre, legendre_table
from .transport import pitch_angle_diffusion
from .turbulence import DEFAULT_LMIN_OVER_LMAX, DEFAULT_SPECTRAL_INDEX, Turbulence, turbulence_fields

__all__ = ["BROADENINGS", "RotationPairCorrelation", "factorised_cl", "rotation_pair_correlation"]

BROADENINGS = ("dupree", "scattering")
#: smallest |μ| used in the rates: QLT's D_μμ ∝ |μ|^{q-1} vanishes at 90°, where k_res diverges
MU_FLOOR = 1e-6
#: the per-pair stream is seeded with seed * SEED_STRIDE + pair index (independent, reproducible streams)
SEED_STRIDE = 1_000_003


@numba.njit(cache=True)
def _rotate(d0, d1, d2, xi0, xi1):
    """Rotate the unit vector d by the angle |ξ| about the axis ξ = (ξ0, ξ1, 0) (Rodrigues), renormalised."""
    angle = math.hypot(xi0, xi1)
    if angle == 0.0:
        return d0, d1, d2
    k0 = xi0 / angle
    k1 = xi1 / angle
    cosine = math.cos(angle)
    sine = math.sin(angle)
    along = (k0 * d0 + k1 * d1) * (1.0 - cosine)
    r0 = d0 * cosine + k1 * d2 * sine + k0 * along
    r1 = d1 * cosine - k0 * d2 * sine + k1 * along
    r2 = d2 * cosine + (k0 * d1 - k1 * d0) * sine
    norm = math.sqrt(r0 * r0 + r1 * r1 + r2 * r2)
    return r0 / norm, r1 / norm, r2 / norm


@numba.njit(cache=True)
def _drift(mu, prefactor, exponent, omega):
    """dD/dμ of D = D_μμ/(1-μ²) = prefactor |μ|^{q-1} Ω (0 below the floor, where D is held constant)."""
    size = abs(mu)
    if size < MU_FLOOR:
        return 0.0
    return math.copysign(prefactor * exponent * size ** (exponent - 1.0) * omega, mu)


@numba.njit(cache=True)
def _rates(mu, prefactor, exponent, gyroradius, omega, dupree):
    """Rotation-noise rate D = D_μμ/(1-μ²), resonant wavenumber k and half-width w of one member (module doc)."""
    size = max(abs(mu), MU_FLOOR)
    rate = prefactor * size ** exponent * omega
    wavenumber = -1.0 / (gyroradius * math.copysign(size, mu))
    if dupree:
        width = (wavenumber * wavenumber * rate * (1.0 - mu * mu) / 3.0) ** (1.0 / 3.0) / size
    else:
        width = rate / size
    return rate, wavenumber, width


@numba.njit(cache=True)
def _correlation(mu_a, mu_b, separation, prefactor, exponent, gyroradius, omega, dupree, correlated):
    """Rates of both members and the complex kick correlation ρ_AB (module doc)."""
    rate_a, k_a, w_a = _rates(mu_a, prefactor, exponent, gyroradius, omega, dupree)
    rate_b, k_b, w_b = _rates(mu_b, prefactor, exponent, gyroradius, omega, dupree)
    if not correlated:
        return rate_a, rate_b, 0.0, 0.0
    amplitude = 2.0 * math.sqrt(w_a * w_b) * math.exp(-0.5 * (w_a + w_b) * abs(separation))
    phase = 0.5 * (k_a + k_b) * separation
    numerator_re = amplitude * math.cos(phase)
    numerator_im = amplitude * math.sin(phase)
    denominator_re = w_a + w_b
    denominator_im = k_a - k_b
    norm = denominator_re * denominator_re + denominator_im * denominator_im
    real = (numerator_re * denominator_re + numerator_im * denominator_im) / norm
    imaginary = (numerator_im * denominator_re - numerator_re * denominator_im) / norm
    return rate_a, rate_b, real, imaginary


@numba.njit(cache=True)
def _initial_pair(cosine, uniform_1, uniform_2, uniform_3):
    """An isotropic first member and a second one at the given cosine, at a uniform azimuth around the first."""
    z = 2.0 * uniform_1 - 1.0
    azimuth = 2.0 * math.pi * uniform_2
    sine = math.sqrt(1.0 - z * z)
    a0, a1, a2 = sine * math.cos(azimuth), sine * math.sin(azimuth), z
    h0, h1, h2 = (0.0, 0.0, 1.0) if abs(a2) < 0.9 else (1.0, 0.0, 0.0)
    e0, e1, e2 = a1 * h2 - a2 * h1, a2 * h0 - a0 * h2, a0 * h1 - a1 * h0
    norm = math.sqrt(e0 * e0 + e1 * e1 + e2 * e2)
    e0, e1, e2 = e0 / norm, e1 / norm, e2 / norm
    f0, f1, f2 = a1 * e2 - a2 * e1, a2 * e0 - a0 * e2, a0 * e1 - a1 * e0
    turn = 2.0 * math.pi * uniform_3
    opening = math.sqrt(max(0.0, 1.0 - cosine * cosine))
    c, s = math.cos(turn), math.sin(turn)
    b0 = cosine * a0 + opening * (c * e0 + s * f0)
    b1 = cosine * a1 + opening * (c * e1 + s * f1)
    b2 = cosine * a2 + opening * (c * e2 + s * f2)
    return a0, a1, a2, b0, b1, b2


@numba.njit(cache=True)
def _step(state, noise, prefactor, exponent, gyroradius, omega, dt, dupree, correlated):
    """One Euler step of the pair (state: a0, a1, a2, b0, b1, b2, Δz); noise: four standard normals."""
    a0, a1, a2, b0, b1, b2, separation = state
    rate_a, rate_b, real, imaginary = _correlation(a2, b2, separation, prefactor, exponent, gyroradius, omega,
                                                   dupree, correlated)
    rest = math.sqrt(max(0.0, 1.0 - real * real - imaginary * imaginary))
    scale_a = math.sqrt(2.0 * rate_a * dt)
    scale_b = math.sqrt(2.0 * rate_b * dt)
    n0, n1, m0, m1 = noise
    # B's kick: ρ applied to A's (the imaginary part turns it by 90° about B0), plus an independent remainder
    kick_b0 = scale_b * (real * n0 - imaginary * n1 + rest * m0)
    kick_b1 = scale_b * (real * n1 + imaginary * n0 + rest * m1)
    # The kicks alone give dμ a drift -2Dμ: with D depending on μ that is not QLT's ∂_μ(D_μμ ∂_μ f), whose
    # stationary state is isotropic (without it the members pile up where D is small, near 90°).  The missing
    # drift D'(μ)(1-μ²) is a rotation by -D' dt (ẑ × d̂) about a horizontal axis.
    drift_a = _drift(a2, prefactor, exponent, omega) * dt
    drift_b = _drift(b2, prefactor, exponent, omega) * dt
    separation += (a2 - b2) * dt
    a0, a1, a2 = _rotate(a0, a1, a2, scale_a * n0 + drift_a * a1, scale_a * n1 - drift_a * a0)
    b0, b1, b2 = _rotate(b0, b1, b2, kick_b0 + drift_b * b1, kick_b1 - drift_b * b0)
    return a0, a1, a2, b0, b1, b2, separation


@numba.njit(parallel=True, cache=True)
def _pairs_kernel(cosines, seed, prefactor, exponent, gyroradius, omega, dt, record_steps, dupree, correlated):
    """d̂_A·d̂_B of every pair at the recorded steps (numba twin of :func:`_pairs_python`)."""
    out = np.zeros((cosines.size, record_steps.size))
    last = record_steps[-1]
    for pair in numba.prange(cosines.size):
        np.random.seed(seed * SEED_STRIDE + pair)
        u1 = np.random.random()
        u2 = np.random.random()
        u3 = np.random.random()
        a0, a1, a2, b0, b1, b2 = _initial_pair(cosines[pair], u1, u2, u3)
        state = (a0, a1, a2, b0, b1, b2, 0.0)
        slot = 0
        for step in range(1, last + 1):
            noise = (np.random.standard_normal(), np.random.standard_normal(),
                     np.random.standard_normal(), np.random.standard_normal())
            state = _step(state, noise, prefactor, exponent, gyroradius, omega, dt, dupree, correlated)
            if step == record_steps[slot]:
                out[pair, slot] = state[0] * state[3] + state[1] * state[4] + state[2] * state[5]
                slot += 1
    return out


def _pairs_python(cosines, seed, prefactor, exponent, gyroradius, omega, dt, record_steps, dupree, correlated):
    """Slow twin of :func:`_pairs_kernel`: the same model and random streams (numpy's legacy MT19937), in Python."""
    step_function = _step.py_func
    out = np.zeros((len(cosines), len(record_steps)))
    for pair, cosine in enumerate(cosines):
        stream = np.random.RandomState(seed * SEED_STRIDE + pair)
        uniforms = [stream.random_sample() for _ in range(3)]
        state = (*_initial_pair.py_func(cosine, *uniforms), 0.0)
        slot = 0
        for step in range(1, record_steps[-1] + 1):
            noise = tuple(stream.standard_normal() for _ in range(4))
            state = step_function(state, noise, prefactor, exponent, gyroradius, omega, dt, dupree, correlated)
            if step == record_steps[slot]:
                out[pair, slot] = state[0] * state[3] + state[1] * state[4] + state[2] * state[5]
                slot += 1
    return out


@dataclass(frozen=True)
class RotationPairCorrelation:
    """The model's equal-age pair correlation at the recorded ages (all times in :math:`L_c/c`).

    ``y[i, ell]`` = :math:`y_\\ell(t_i)` (column 0 is 0, :math:`y_1(0) = 1`) with its Monte Carlo standard error
    ``y_error`` (independent pairs); ``pair_function[i, node]`` = :math:`g(x_\\mathrm{node}; t_i)`.
    """

    ages: np.ndarray
    cosines: np.ndarray
    weights: np.ndarray
    pair_function: np.ndarray
    y: np.ndarray
    y_error: np.ndarray
    parameters: dict


def rotation_pair_correlation(reduced_rigidity: float, ages, *, eta: float | None = None,
                              lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
                              spectral_index: float = DEFAULT_SPECTRAL_INDEX, turbulence: Turbulence | None = None,
                              nodes: int = 16, pairs: int = 4096, lmax: int = 8, seed: int = 0, step: float = 0.1,
                              broadening: str = "dupree", correlated: bool = True,
                              python: bool = False) -> RotationPairCorrelation:
    r""":math:`y_\ell(t)` of the relative-rotation pair model for slab turbulence (module doc).

    Parameters
    ----------
    reduced_rigidity : float
        :math:`r_g/L_c` in the total field.
    ages : array_like
        Increasing ages :math:`t > 0` in :math:`L_c/c` at which the pairs are recorded (rounded to the step).
    eta, lmin_over_lmax, spectral_index, turbulence
        The slab spectrum, loose or as one :class:`~anisotropy.Turbulence`
        (as :func:`anisotropy.transport.pitch_angle_diffusion`).
    nodes, pairs : int
        Gauss–Legendre nodes in the initial cosine x and pairs per node.
    lmax : int
        Highest :math:`\ell` of :math:`y_\ell` (≤ nodes − 1).
    seed : int
        Seed of the per-pair random streams.
    step : float
        Time step in :math:`1/\Omega` (:math:`\Omega = c/r_g`).
    broadening : {"dupree", "scattering"}
        The resonance half-width (module doc).
    correlated : bool
        False draws the two members' kicks independently (a test limit).
    python : bool
        Run the slow Python twin instead of the numba kernel.

    Returns
    -------
    RotationPairCorrelation

    Examples
    --------
    Without turbulence power the pairs are not rotated, and :math:`g(x; t) = x`:

    >>> result = rotation_pair_correlation(0.1, [1.0], eta=1e-12, pairs=8, lmax=3)
    >>> bool(np.allclose(result.y[0], [0.0, 1.0, 0.0, 0.0], atol=1e-5))
    True
    """
    eta, lmin_over_lmax, spectral_index = turbulence_fields(turbulence, eta=eta, lmin_over_lmax=lmin_over_lmax,
                                                            spectral_index=spectral_index)
    reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    nodes = require_integer("nodes", nodes, 2)
    pairs = require_integer("pairs", pairs, 2)
    lmax = require_integer("lmax", lmax, 1, nodes - 1)
    seed = require_integer("seed", seed, 0)
    step = require_range("step", step, 0.0, 1.0, low_open=True)
    if broadening not in BROADENINGS:
        raise ParameterError("broadening", f"must be one of {', '.join(BROADENINGS)}, got {broadening!r}")
    ages = np.atleast_1d(np.asarray(ages, dtype=float))
    omega = 1.0 / reduced_rigidity
    dt = step / omega
    record_steps = np.rint(ages / dt).astype(np.int64)
    if ages.ndim != 1 or np.any(record_steps < 1) or np.any(np.diff(record_steps) <= 0):
        raise ParameterError("ages", f"must increase and each be at least one step ({dt:.3g} L_c/c) apart")
    exponent = spectral_index - 1.0
    # D_μμ/(1-μ²) = prefactor |μ|^{q-1} Ω: read off the QLT coefficient at one μ
    prefactor = float(pitch_angle_diffusion(0.5, reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax,
                                            spectral_index=spectral_index)) / (0.75 * 0.5**exponent)
    gyroradius = reduced_rigidity / math.sqrt(1.0 - eta)
    cosines, weights = gauss_legendre(nodes)
    per_pair = np.repeat(cosines, pairs)
    engine = _pairs_python if python else _pairs_kernel
    dots = engine(per_pair, seed, prefactor, exponent, gyroradius, omega, dt, record_steps,
                  broadening == "dupree", bool(correlated)).reshape(nodes, pairs, ages.size)
    pair_function = dots.mean(axis=1).T
    pair_error = dots.std(axis=1, ddof=1).T / math.sqrt(pairs)
    # y_ℓ = (2ℓ+1)/2 ∫ P_ℓ(x) g(x) dx, so that y_1 = 1 for g = x
    projection = (2.0 * np.arange(lmax + 1) + 1.0)[:, None] / 2.0 * legendre_table(lmax, cosines) * weights
    projection[0] = 0.0
    y = pair_function @ projection.T
    y_error = np.sqrt(pair_error**2 @ (projection**2).T)
    parameters = {"reduced_rigidity": reduced_rigidity, "eta": eta, "lmin_over_lmax": lmin_over_lmax,
                  "spectral_index": spectral_index, "nodes": nodes, "pairs": pairs, "seed": seed, "step": step,
                  "broadening": broadening, "correlated": bool(correlated)}
    return RotationPairCorrelation(ages * 1.0, cosines, weights, pair_function, y, y_error, parameters)


def factorised_cl(y, ages, decay_rate: float, final_age: float) -> np.ndarray:
    r"""⟨C_ℓ⟩ (up to :math:`8\pi v^2G^2/9`) of the factorised closure for a tabulated :math:`y_\ell(t)`.

    .. math:: C_\ell(T) \propto \int_0^T w(T-t)\,y_\ell(t)\,\mathrm dt,\qquad w(s) = \frac{1-e^{-\nu_1 s}}{\nu_1}

    (docs/physics/pair_correlation.md, approximation (b)), by the trapezoid rule over ``[0, *ages]`` with
    :math:`y(0) = e_1` prepended.

    Parameters
    ----------
    y : array_like, shape (len(ages), lmax+1)
        :math:`y_\ell` at the ages.
    ages : array_like
        Increasing ages > 0, ending at ``final_age``.
    decay_rate : float
        :math:`\nu_1 > 0` in the units of 1/age.
    final_age : float
        :math:`T`.

    Returns
    -------
    ndarray, shape (lmax+1,)

    Examples
    --------
    A pure dipole decaying at ν gives :math:`C_1 \propto w` integrated against :math:`e^{-\nu t}`:

    >>> ages = np.linspace(0.001, 2.0, 2000)
    >>> y = np.zeros((ages.size, 2)); y[:, 1] = np.exp(-ages)
    >>> exact = (1 - np.exp(-2.0)) - 2.0 * np.exp(-2.0)
    >>> bool(abs(factorised_cl(y, ages, 1.0, 2.0)[1] - exact) < 1e-5)
    True
    """
    ages = np.asarray(ages, dtype=float)
    y = np.asarray(y, dtype=float)
    decay_rate = require_range("decay_rate", decay_rate, 0.0, None, low_open=True)
    if not math.isclose(ages[-1], final_age, rel_tol=1e-9):
        raise ParameterError("final_age", f"must be the last age {ages[-1]:.6g}, got {final_age!r}")
    start = np.zeros((1, y.shape[1]))
    start[0, 1] = 1.0
    times = np.concatenate([[0.0], ages])
    weight = -np.expm1(-decay_rate * (final_age - times)) / decay_rate
    return np.trapezoid(weight[:, None] * np.vstack([start, y]), times, axis=0)

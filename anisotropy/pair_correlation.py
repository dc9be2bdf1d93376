r"""C_ℓ(T) from the two-time direction correlation of pairs, and closures with an age-dependent pair generator.

The exact starting point (``docs/physics/pair_correlation.md``).  For a static field and the map
:math:`\delta f(\hat n) = \mathbf G\cdot\mathbf R(T)`, :math:`\mathbf R(T) = v\int_0^T\hat d(t)\,dt` the backtracked
displacement of the particle that left the observer along :math:`\hat d(0)`,

.. math::

    C(x;T) = v^2\int_0^T\!\!\int_0^T dt_1dt_2\,\langle(\mathbf G\cdot\hat d_A(t_1))(\mathbf G\cdot\hat d_B(t_2))
    \rangle_x,\qquad C_\ell(T) = 2\pi\int_{-1}^1 C(x;T)P_\ell(x)\,dx

(orientation average of the pair at fixed :math:`x = \hat d_A(0)\cdot\hat d_B(0)`; exact for the full-sky mean
:math:`\langle C_\ell\rangle`).  A closure models the two-time correlation.  The one implemented here:

* **isotropic pair statistics**, :math:`\langle G_iG_j\hat d_{A,i}\hat d_{B,j}\rangle\to\frac{|G|^2}{3}
  \langle\hat d_A\cdot\hat d_B\rangle` (exact for rotation-invariant dynamics; the isotropisation of the
  mixing-matrix theory otherwise);
* **factorised unequal ages**: for :math:`t_1\ge t_2`, :math:`\langle\hat d_A(t_1)\cdot\hat d_B(t_2)\rangle =
  e^{-\nu_1(t_1-t_2)}g(x;t_2)` with :math:`g(x;t) = \langle\hat d_A(t)\cdot\hat d_B(t)\rangle_x` the equal-age
  pair correlation and :math:`\nu_1` the single-particle dipole decay rate (exact for any Markov pair process whose
  single-particle marginal is isotropic diffusion on the sphere);
* **age-dependent pair generator**: :math:`g(\cdot;t) = \Phi(t)P_1` with :math:`\Phi(t) = \mathcal T\exp\int_0^t
  \mathcal G(s)ds` ordered with the youngest age leftmost (the Dyson order of the propagator from the observer
  backwards), and :math:`\mathcal G(s)` the pair generator at age s, piecewise constant on an age grid.

Then, with :math:`w(s) = (1-e^{-\nu_1s})/\nu_1` and :math:`y(t) = \Phi_\Gamma(t)e_1` in the Γ representation of
docs/physics/mixing_ode.md#rate-matrix, eq. (4.3) (:func:`anisotropy.rate_matrix`),

.. math:: C_\ell(T) = \frac{8\pi v^2|G|^2}{9}\int_0^T w(T-t)\,y_\ell(t)\,dt .

For an age-independent Γ this **is** the mixing-matrix ODE :math:`\dot C = \Gamma C + S(T)e_1` with the source of a
backtracking started at T = 0, :math:`S(T) = \frac{8\pi}{3}G\cdot K(T)\cdot G`, :math:`K(T) = v^2(1-e^{-\nu_1T})/
(3\nu_1)` (tested against :func:`anisotropy.evolve` with the toy model, where every step is exact).

On each age piece the integral is done exactly in the eigenbasis of :math:`H = D^{1/2}AD^{1/2}` (Γ = A D,
A symmetric): :math:`\int_0^\Delta w(u-s)e^{\lambda s}ds = [\Delta\varphi_1(\lambda\Delta) -
e^{-\nu_1u}\Delta\varphi_1((\lambda+\nu_1)\Delta)]/\nu_1`.

The pair generators (:func:`slab_pair_increments`, :func:`generator_from_increments`): the second-order pair
integrals :math:`\tilde c(x;t)` of docs/physics/pair_rates.md#slab-pair-rate, eq. (4.6) along unperturbed orbits
(:mod:`anisotropy.pair_rates`) give,
per age piece :math:`[t_i, t_{i+1}]`, the increments :math:`\Delta\tilde c_\ell` and :math:`\Delta\tilde c(1)`;
three closures (:data:`CLOSURES`) turn them into a rate :math:`k(x)` on the piece.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from .errors import ParameterError, require_integer, require_range
from .mixing import column_weights, coupling_from_legendre

__all__ = [
    "CLOSURES",
    "PairIncrements",
    "age_dependent_steady_state",
    "age_grid",
    "closure_cl",
    "constant_generator_cl",
    "equal_age_correlation",
    "extend_increments",
    "generator_from_increments",
    "isotropic_pair_increments",
    "pair_correlation_cl",
    "slab_pair_increments",
]

#: the closures of the age-dependent generator (docs/physics/pair_correlation.md, sect. 4):
#: ``"born"``: k = ∂_t κ(x; t) of the unperturbed-orbit pair integrals, single-particle decay from its own Markov
#: self rate; ``"normalised"``: k = ν1 [c(x; t) − 1] with c = c̃(x; t)/c̃(1; t) the normalised correlation of the
#: accumulated deflections (positive definite, |c| ≤ 1) and ν1 = 1/τ_s the transport (QLT) dipole rate;
#: ``"rescaled"``: k = (ν1/ν_self) ∂_t κ(x; t), the Born rate with its Markov self rate ν_self replaced by ν1;
#: ``"secant"``: k = κ(x; t)/t, the one-ΔT Markov rate of the mixing-matrix theory at ΔT = the pair's age t
CLOSURES = ("born", "normalised", "rescaled", "secant")

#: first age node in units of 1/Ω: the pair generator grows ∝ t³ from 0, so the piece [0, t_1] carries nothing
#: measurable below this
FIRST_AGE = 0.05
#: age nodes per decade of the log grid
AGES_PER_DECADE = 8


def _phi1(z: np.ndarray) -> np.ndarray:
    """φ1(z) = (e^z − 1)/z, accurate for small |z| (expm1)."""
    z = np.asarray(z, dtype=float)
    out = np.ones_like(z)
    nonzero = z != 0.0
    out[nonzero] = np.expm1(z[nonzero]) / z[nonzero]
    return out


def age_grid(final_age: float, first: float = FIRST_AGE, per_decade: int = AGES_PER_DECADE) -> np.ndarray:
    r"""Age nodes :math:`0 < t_1 < \dots < t_N = T`: log-spaced from ``first`` (``per_decade`` per decade)."""
    final_age = require_range("final_age", final_age, 0.0, None, low_open=True)
    if final_age <= first:
        return np.array([final_age])
    count = max(2, math.ceil(per_decade * math.log10(final_age / first)) + 1)
    return np.geomspace(first, final_age, count)


def _symmetric_decomposition(matrix, weights):
    """Eigen-decomposition of Γ = A·diag(D) (ℓ ≥ 1) in the symmetric form D^{1/2} A D^{1/2}."""
    root = np.sqrt(weights)
    coupling = np.asarray(matrix, dtype=float)[1:, 1:] / weights[None, :]
    symmetric = root[:, None] * (0.5 * (coupling + coupling.T)) * root[None, :]
    return scipy.linalg.eigh(symmetric, check_finite=False)


def _check_pieces(generators: Sequence, ages) -> np.ndarray:
    """The piece ends as a float array, after checking them and the one-generator-per-piece rule."""
    ages = np.asarray(ages, dtype=float).ravel()
    if ages.size == 0 or ages[0] <= 0.0 or np.any(np.diff(ages) <= 0.0):
        raise ParameterError("ages", "expected increasing piece ends > 0")
    if len(generators) != ages.size:
        raise ParameterError("generators", f"expected one generator per age piece ({ages.size}), got {len(generators)}")
    return ages


def pair_correlation_cl(generators: Sequence, ages, decay_rate: float, times, *, speed: float = 1.0,
                        gradient: float = 1.0) -> np.ndarray:
    r"""⟨C_ℓ⟩(T) of the factorised two-time closure with a piecewise-constant age-dependent generator (module doc).

    Parameters
    ----------
    generators : sequence of ndarray, shape (lmax+1, lmax+1)
        Γ on each age piece ``[ages[i-1], ages[i]]`` (``ages[-1]`` = 0 implied before the first node), built by
        :func:`anisotropy.rate_matrix` or :func:`generator_from_increments` (column 0 zero, Γ = A·diag(D)).
        The last generator also holds beyond ``ages[-1]``.
    ages : array_like
        Increasing piece ends :math:`t_1 < t_2 < \dots`, > 0.
    decay_rate : float
        :math:`\nu_1 > 0`, the single-particle dipole decay rate (the unequal-age factor :math:`e^{-\nu_1|t_1-t_2|}`).
    times : array_like
        Backtracking times T ≥ 0 (any order); ``inf`` gives the steady state (the last generator continued to
        infinite age, :math:`w = 1/\nu_1`).
    speed, gradient : float
        :math:`v` and :math:`|\mathbf G|`; :math:`C_\ell\propto v^2|G|^2`.

    Returns
    -------
    ndarray, shape (len(times), lmax+1)
        ``C[i, ell]``; column 0 is nan (the monopole is not needed: it is exact, :math:`C(1;T) = \langle
        (\mathbf G\cdot\mathbf R)^2\rangle`, but the Γ representation drops it).

    Examples
    --------
    The white-noise toy (docs/physics/toy_model.md#toy-model) has an age-independent generator; its C_ℓ(T) are those of
    the mixing-matrix ODE:

    >>> import anisotropy as an
    >>> gamma = an.rate_matrix(an.PairRate.toy(D_s=0.5, kappa_c=5.0), 20)
    >>> cl = pair_correlation_cl([gamma], [1.0], 1.0, [2.0])[0]
    >>> ode = an.evolve(gamma, lambda t: 8 * math.pi / 9 * -math.expm1(-t), [2.0])[0]
    >>> bool(np.allclose(cl[1:], ode[1:], rtol=1e-10))
    True
    """
    ages = _check_pieces(generators, ages)
    nu = require_range("decay_rate", decay_rate, 0.0, None, low_open=True)
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if np.any(times < 0.0) or np.any(np.isnan(times)):
        raise ParameterError("times", "backtracking times must be >= 0 (inf: the steady state)")
    lmax = np.asarray(generators[0]).shape[0] - 1
    weights = column_weights(lmax)[1:]
    root = np.sqrt(weights)
    decompositions = [_symmetric_decomposition(matrix, weights) for matrix in generators]
    out = np.full((times.size, lmax + 1), np.nan)
    first_unit = np.zeros(lmax)
    first_unit[0] = 1.0
    for index, final in enumerate(times):
        # pieces clipped at T; the last generator continues beyond the grid
        edges = np.concatenate([[0.0], ages[ages < final], [final]]) if final > 0 else np.array([0.0])
        propagator = np.eye(lmax)
        total = np.zeros(lmax)
        for piece in range(edges.size - 1):
            start, width = edges[piece], edges[piece + 1] - edges[piece]
            if width <= 0.0:
                continue
            eigenvalues, vectors = decompositions[min(piece, ages.size - 1)]
            if math.isinf(width):
                # steady state: w = 1/ν1 and ∫_0^∞ e^{λs} ds = -1/λ (needs a decaying last generator)
                if np.any(eigenvalues >= 0.0):
                    raise ParameterError("generators", "the last generator does not decay: no steady state (T = inf)")
                integral = -1.0 / (eigenvalues * nu)
            else:
                decay = 0.0 if math.isinf(final) else math.exp(-nu * (final - start))
                integral = (width * _phi1(eigenvalues * width) - decay * width * _phi1((eigenvalues + nu) * width)) / nu
            # e^{Γs} = D^{-1/2} Q e^{Λs} Q^T D^{1/2}, acting on e_1
            projected = vectors.T @ (root * first_unit)
            total += propagator @ ((vectors @ (integral * projected)) / root)
            if math.isinf(width):
                break
            step = (vectors * np.exp(eigenvalues * width)[None, :]) @ vectors.T
            propagator = propagator @ (step / root[:, None] * root[None, :])
        out[index, 1:] = 8.0 * math.pi * speed**2 * gradient**2 / 9.0 * total
    return out


def equal_age_correlation(generators: Sequence, ages, times, initial: int = 1) -> np.ndarray:
    r"""Legendre coefficients :math:`y(t) = \Phi_\Gamma(t)\,e_1` of the equal-age pair correlation (module doc, (c)).

    :math:`y_\ell(t)` is the ℓ-th coefficient of :math:`g(x; t) = \langle\hat d_A(t)\cdot\hat d_B(t)\rangle_x` in the
    Γ normalisation, :math:`g(x; t) = \sum_\ell \frac{2\ell+1}{3} y_\ell(t) P_\ell(x)`, which is the column
    :math:`\ell_0 = 1` of the mixing matrix over the age :math:`t`, :math:`M_{\ell 1}(t)`: the quantity the pair
    instrument measures (:func:`validation.pair_diagnostics.equal_age_coefficients`).  This is the function the
    closures differ in; :func:`pair_correlation_cl` integrates it against :math:`w(T - t)`.

    Parameters
    ----------
    generators, ages
        As in :func:`pair_correlation_cl` (piecewise-constant Γ; the last one continues beyond ``ages[-1]``).
    times : array_like
        Ages :math:`t \ge 0` (finite), any order.
    initial : int
        :math:`\ell_0` (1..lmax): the column :math:`M_{\ell\ell_0}(t) = (\Phi_\Gamma(t) e_{\ell_0})_\ell` of the
        mixing matrix, i.e. the pair function :math:`\langle P_{\ell_0}(x')\rangle_x = \sum_\ell
        \frac{2\ell+1}{2\ell_0+1}M_{\ell\ell_0}P_\ell(x)`; 1 (default) gives :math:`y`.

    Returns
    -------
    ndarray, shape (len(times), lmax+1)
        ``y[i, ell]``; column 0 is 0 (the monopole of :math:`g` is not carried by Γ), :math:`y_{\ell_0}(0) = 1`.

    Examples
    --------
    One constant generator gives :math:`e^{\Gamma t} e_1`:

    >>> import anisotropy as an
    >>> gamma = an.rate_matrix(an.PairRate.toy(D_s=0.5, kappa_c=5.0), 12)
    >>> y = equal_age_correlation([gamma], [1.0], [0.0, 2.0])
    >>> bool(np.allclose(y[1, 1:], scipy.linalg.expm(2.0 * gamma[1:, 1:])[:, 0]))
    True
    """
    ages = _check_pieces(generators, ages)
    times = np.atleast_1d(np.asarray(times, dtype=float))
    if np.any(~np.isfinite(times)) or np.any(times < 0.0):
        raise ParameterError("times", "ages must be finite and >= 0")
    lmax = np.asarray(generators[0]).shape[0] - 1
    initial = require_integer("initial", initial, 1, lmax)
    out = np.zeros((times.size, lmax + 1))
    for index, final in enumerate(times):
        edges = np.concatenate([[0.0], ages[ages < final], [final]])
        state = np.zeros(lmax)
        state[initial - 1] = 1.0
        # Dyson order, the youngest piece leftmost (module doc, (c)): y(t) = e^{Γ_0 δ_0} ... e^{Γ_n δ_n} e_1,
        # so the oldest piece is applied to e_1 first
        for piece in range(edges.size - 2, -1, -1):
            width = edges[piece + 1] - edges[piece]
            if width > 0.0:
                matrix = np.asarray(generators[min(piece, ages.size - 1)])[1:, 1:]
                state = scipy.linalg.expm(matrix * width) @ state
        out[index, 1:] = state
    return out


@dataclass(frozen=True)
class PairIncrements:
    r"""Second-order pair integrals on an age grid: :math:`\tilde c_\ell(t_i)` (ℓ ≤ 2ℓmax) and :math:`\tilde c(1;t_i)`.

    Attributes
    ----------
    ages : ndarray (N,)
        :math:`t_i` in units of :math:`1/\Omega`.
    cross : ndarray (N, 2 lmax + 1)
        Legendre coefficients of :math:`\tilde c(x;t_i)` (docs/physics/pair_rates.md), plain normalisation.
    self_correlation : ndarray (N,)
        :math:`\tilde c(1;t_i)`.
    markov_self_rate : float
        :math:`\nu_\mathrm{self} = \lim_{t\to\infty}\tilde c(1;t)/t` of the same model (the single-particle
        dipole rate of the isotropised second-order theory).
    """

    ages: np.ndarray
    cross: np.ndarray
    self_correlation: np.ndarray
    markov_self_rate: float


#: Gauss nodes in the angle θ of ω = ν tan θ for the Lorentzian average of the broadened pair integrals
BROADENING_NODES = 24


def _lorentzian_rule(width: float):
    """Nodes ω and weights of ∫ (ν/π)/(ν² + ω²) f(ω) dω = (1/π)∫_{-π/2}^{π/2} f(ν tan θ) dθ (Gauss in θ)."""
    from .legendre import gauss_legendre

    nodes, weights = gauss_legendre(BROADENING_NODES)
    return width * np.tan(0.5 * math.pi * nodes), 0.5 * weights


def slab_pair_increments(reduced_rigidity: float, eta: float, ages, lmax: int, *, lmin_over_lmax: float,
                         modes_per_decade: int, broadening: float = 0.0,
                         resonant_only: bool = False) -> PairIncrements:
    r"""Slab pair integrals :math:`\tilde c(x;t)` of docs/physics/pair_rates.md#slab-pair-rate, eq. (4.6) at the ages
    ``ages`` (units :math:`1/\Omega`).

    The same discrete modes as :meth:`anisotropy.pair_rates.PairRate.slab`; coefficients ℓ ≤ 2ℓmax only (the rate
    matrix needs no more), with enough Gauss nodes for the band limit :math:`k_\max r_g t` of the orbit integrals.
    :math:`\tilde c(1;t)` in closed form (:func:`anisotropy.pair_rates.self_correlation`), or from the full series
    when the closed form cancels (:math:`k_\min r_g t < 1`).

    ``broadening`` ν > 0 multiplies the two-time kick correlation by :math:`e^{-\nu|s_1-s_2|}` (orbits that
    scatter lose phase coherence with the waves: resonance broadening).  Since :math:`\cos(w\tau)e^{-\nu|\tau|}
    = \int L_\nu(\omega)\cos((w+\omega)\tau)d\omega` with the Lorentzian :math:`L_\nu`, the broadened integral
    is the Lorentzian average over the gyration frequency of the unbroadened one (:data:`BROADENING_NODES`).

    ``resonant_only`` keeps as turbulence only the modes that can resonate with some pitch angle and counts the
    power of the others in the guiding field: the large scales as a local mean field (a candidate closure of
    docs/validation/pair_diagnostics.md).  The resonance of eq. (4.6) is :math:`a_n|\mu| = w` (:math:`a_n = k_n
    r_g`, :math:`r_g` in the total field, :math:`w = \Omega_0/\Omega`), so a mode can resonate when
    :math:`k_n r_g \ge w`; the guiding field is :math:`w = \sqrt{1 - \eta F_\mathrm{res}(w)}` with
    :math:`F_\mathrm{res}` the power fraction of those modes, solved by fixed-point iteration from
    :math:`\sqrt{1-\eta}` (the map is increasing in w, so the iterates rise monotonically to the fixed point).
    """
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
    if not resonant_only:
        return _plane_wave_increments(reduced_rigidity, eta, math.sqrt(1.0 - eta), ages, lmax, lmin_over_lmax,
                                      modes_per_decade, broadening)
    from .spectrum import kolmogorov_modes

    reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade)
    scaled = wavenumbers * reduced_rigidity
    gyration = math.sqrt(1.0 - eta)
    for _ in range(wavenumbers.size + 1):  # each step drops at least one mode until the mask is fixed
        mask = scaled >= gyration
        updated = math.sqrt(1.0 - eta * float(fractions[mask].sum()))
        if np.array_equal(scaled >= updated, mask):
            gyration = updated
            break
        gyration = updated
    return _plane_wave_increments(reduced_rigidity, eta, gyration, ages, lmax, lmin_over_lmax, modes_per_decade,
                                  broadening, mask)


def _plane_wave_increments(reduced_rigidity, strength, gyration, ages, lmax, lmin_over_lmax, modes_per_decade,
                           broadening, mask=None) -> PairIncrements:
    """Slab (strength η, gyration √(1-η)) or isotropic B0 = 0 (strength 1, gyration 0) pair integrals; ``mask``
    keeps a subset of the modes (their power fractions unchanged, the others dropped)."""
    from .pair_rates import pair_correlation_coefficients, self_correlation, series_length
    from .spectrum import kolmogorov_modes

    lmax = require_integer("lmax", lmax, 1)
    eta = strength
    wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade)
    if mask is not None:
        if not np.any(mask):
            raise ParameterError("reduced_rigidity", "no mode of the spectrum can resonate (k r_g below Ω0/Ω)")
        wavenumbers, fractions = wavenumbers[mask], fractions[mask]
    scaled = wavenumbers * require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    ages = np.asarray(ages, dtype=float)
    cross = np.empty((ages.size, 2 * lmax + 1))
    selfs = np.empty(ages.size)
    if broadening > 0.0:
        shifts, shift_weights = _lorentzian_rule(broadening)
        frequencies = np.abs(gyration + shifts)
    else:
        frequencies, shift_weights = np.array([gyration]), np.array([1.0])
    for index, age in enumerate(ages):
        band = series_length(float(scaled.max()) * age)
        nodes = 64 * math.ceil((band + 2 * lmax + 64) / 64)
        cross[index] = 0.0
        selfs[index] = 0.0
        for frequency, weight in zip(frequencies, shift_weights):
            cross[index] += weight * eta / 3.0 * pair_correlation_coefficients(
                scaled, fractions, age, frequency, lmax=2 * lmax, n_nodes=nodes)
            if float(scaled.min()) * age > 1.0:
                selfs[index] += weight * eta / 3.0 * self_correlation(scaled, fractions, age, frequency)
            else:
                selfs[index] += weight * float(np.sum(eta / 3.0 * pair_correlation_coefficients(
                    scaled, fractions, age, frequency)))
    # Markov limit of c̃(1; t)/t: per mode (f_n/a_n)[G(u+) - G(u-)] -> π f_n/a_n for resonant modes (a_n > w),
    # 0 otherwise (G(±∞) = ±π/2, self_correlation's closed form); broadened: the Lorentzian weight of |w + ω| < a_n
    if broadening > 0.0:
        resonant_weight = (np.arctan((scaled - gyration) / broadening)
                           + np.arctan((scaled + gyration) / broadening)) / math.pi
    else:
        resonant_weight = (scaled > gyration).astype(float)
    markov = eta / 3.0 * float(np.sum(math.pi * fractions * resonant_weight / scaled))
    return PairIncrements(ages, cross, selfs, float(markov))


def generator_from_increments(increments: PairIncrements, piece: int, closure: str, decay_rate: float,
                              lmax: int) -> np.ndarray:
    r"""Γ on age piece ``piece`` (:math:`[t_{i-1}, t_i]`, :math:`t_{-1} = 0`) for a closure of :data:`CLOSURES`.

    With :math:`\Delta` the increment over the piece and :math:`\delta t` its length:

    * ``"born"``: :math:`k_\ell = \Delta\tilde c_\ell/\delta t` (ℓ ≥ 1), :math:`k_0 = (\Delta\tilde c_0 -
      \Delta\tilde c(1))/\delta t`, i.e. :math:`k = \partial_t\kappa(x;t)` averaged over the piece;
    * ``"rescaled"``: the same times :math:`\nu_1/\nu_\mathrm{self}`;
    * ``"normalised"``: :math:`k = \nu_1[c(x) - 1]`, :math:`c = \bar c(x)/\bar c(1)` with :math:`\bar c` the sum
      of :math:`\tilde c` at the two ends of the piece: positive definite (every :math:`\tilde c_\ell\ge0`) with
      :math:`c(1) = 1`, so the pair generator is that of a multi-particle diffusion driven by one random rotation
      field, which makes :math:`\langle C_1\rangle\ge(4\pi/9)|\langle\delta\rangle|^2` hold exactly.

    * ``"secant"``: :math:`k = \kappa(x;\bar t)/\bar t` with κ averaged over the piece's ends and :math:`\bar t`
      its midpoint (the one-ΔT rate of docs/physics/mixing_ode.md#pair-time at ΔT = the age).

    Every form has :math:`k(1) = 0` for the untruncated series (power conservation,
    docs/physics/mixing_ode.md#mixing-matrix).
    """
    if closure not in CLOSURES:
        raise ParameterError("closure", f"must be one of {CLOSURES}, got {closure!r}")
    nu = require_range("decay_rate", decay_rate, 0.0, None, low_open=True)
    ages = increments.ages
    before_cross = increments.cross[piece - 1] if piece > 0 else np.zeros_like(increments.cross[0])
    before_self = increments.self_correlation[piece - 1] if piece > 0 else 0.0
    start = ages[piece - 1] if piece > 0 else 0.0
    width = ages[piece] - start
    delta_cross = (increments.cross[piece] - before_cross)[: 2 * lmax + 1]
    delta_self = float(increments.self_correlation[piece] - before_self)
    coefficients = np.array(delta_cross, dtype=float)
    if closure == "secant":
        middle = 0.5 * (start + ages[piece])
        average_cross = 0.5 * (increments.cross[piece] + before_cross)[: 2 * lmax + 1]
        coefficients = average_cross / middle
        coefficients[0] -= 0.5 * (increments.self_correlation[piece] + before_self) / middle
        return coupling_from_legendre(coefficients, lmax) * column_weights(lmax)[None, :]
    if closure == "normalised":
        # c(x) = [c̃(x; t_{i-1}) + c̃(x; t_i)] / [c̃(1; t_{i-1}) + c̃(1; t_i)]: a sum of positive-definite kernels
        # (c̃_ℓ ≥ 0) normalised to c(1) = 1, so |c| ≤ 1 and the pair process exists (C_1 bound, module doc)
        coefficients = nu * (increments.cross[piece] + before_cross)[: 2 * lmax + 1] / (
            increments.self_correlation[piece] + before_self)
        coefficients[0] -= nu
    else:
        coefficients[0] -= delta_self
        coefficients /= width
        if closure == "rescaled":
            coefficients *= nu / increments.markov_self_rate
    return coupling_from_legendre(coefficients, lmax) * column_weights(lmax)[None, :]


def closure_cl(increments: PairIncrements, closure: str, decay_rate: float | None, times, lmax: int,
               *, speed: float = 1.0, gradient: float = 1.0) -> np.ndarray:
    r"""⟨C_ℓ⟩(T) of a closure on precomputed pair integrals (:func:`pair_correlation_cl`).

    ``decay_rate`` is :math:`\nu_1` (``None`` for ``"born"``: its own Markov self rate).

    Examples
    --------
    >>> increments = slab_pair_increments(0.3, 0.5, age_grid(20.0), 16, lmin_over_lmax=1e-2, modes_per_decade=16)
    >>> cl = closure_cl(increments, "normalised", 0.13, [20.0], 16)[0]
    >>> mean_dipole = 4 * math.pi / 9 * (-math.expm1(-0.13 * 20.0) / 0.13) ** 2
    >>> bool(cl[1] >= mean_dipole and 0 < cl[2] < cl[1])
    True
    """
    nu = increments.markov_self_rate if decay_rate is None else decay_rate
    generators = [generator_from_increments(increments, piece, closure, nu, lmax)
                  for piece in range(increments.ages.size)]
    return pair_correlation_cl(generators, increments.ages, nu, times, speed=speed, gradient=gradient)


def constant_generator_cl(gamma, decay_rate: float, times, **kwargs) -> np.ndarray:
    """:func:`pair_correlation_cl` with one age-independent Γ (the mixing-matrix ODE, module doc)."""
    return pair_correlation_cl([np.asarray(gamma, dtype=float)], [1.0], decay_rate, times, **kwargs)


def isotropic_pair_increments(reduced_rigidity: float, eta: float, ages, lmax: int, *, lmin_over_lmax: float,
                              modes_per_decade: int, resolution: float = 0.5) -> PairIncrements:
    r"""Pair integrals of isotropic turbulence with :math:`B_0` (η < 1) at ``ages``, as :func:`slab_pair_increments`.

    Uses the 4D quadrature of :meth:`anisotropy.pair_rates.PairRate.isotropic` (helical orbits, isotropic tensor in
    the interaction picture) at each age, projected on ℓ ≤ 2ℓmax with the graded rule.  Its Markov self rate
    diverges logarithmically (the model's docstring), so ``markov_self_rate`` is the slope over the last piece.
    """
    from .legendre import graded_gauss_legendre, legendre_coefficients
    from .pair_rates.regular_field import _regular_field_interpolant
    from .spectrum import kolmogorov_modes

    lmax = require_integer("lmax", lmax, 1)
    wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade)
    ages = np.asarray(ages, dtype=float)
    nodes, weights = graded_gauss_legendre(4 * lmax + 3)
    cross = np.empty((ages.size, 2 * lmax + 1))
    selfs = np.empty(ages.size)
    for index, age in enumerate(ages):
        kappa = _regular_field_interpolant(wavenumbers, fractions, reduced_rigidity, eta, float(age), resolution)
        cross[index] = legendre_coefficients(kappa(nodes), weights, nodes, 2 * lmax)
        cross[index, 0] += kappa.self_correlation
        selfs[index] = kappa.self_correlation
    slope = (selfs[-1] - selfs[-2]) / (ages[-1] - ages[-2]) if ages.size > 1 else selfs[-1] / ages[-1]
    return PairIncrements(ages, cross, selfs, float(slope))


#: the steady state continues the pair integrals to this age, in units of 1/ν1 (there c(x) ≲ a few % for x < 1)
STEADY_STATE_AGE = 30.0
#: largest k_max r_g t for which the pair integrals are computed (cost ∝ this); beyond, the cross coefficients
#: ℓ ≤ 2ℓmax are held at their last value (saturated) and c̃(1) grows at the model's Markov self rate
MAX_PAIR_PHASE = 2000.0
#: the isotropic model with B0 is a 4D quadrature whose cost grows like the age²: computed up to this age (1/Ω)
MAX_REGULAR_FIELD_AGE = 40.0


def extend_increments(increments: PairIncrements, final_age: float, per_decade: int = AGES_PER_DECADE):
    """Pair integrals continued beyond their last age: cross coefficients saturated, c̃(1) growing at the Markov
    self rate (the asymptotics of unperturbed orbits for the multipoles ℓ ≤ 2ℓmax kept)."""
    last = float(increments.ages[-1])
    if final_age <= last:
        return increments
    count = max(2, math.ceil(per_decade * math.log10(final_age / last)) + 1)
    extra = np.geomspace(last, final_age, count)[1:]
    cross = np.vstack([increments.cross, np.repeat(increments.cross[-1:], extra.size, axis=0)])
    selfs = np.concatenate([increments.self_correlation,
                            increments.self_correlation[-1] + increments.markov_self_rate * (extra - last)])
    return PairIncrements(np.concatenate([increments.ages, extra]), cross, selfs, increments.markov_self_rate)


def age_dependent_steady_state(model: str, reduced_rigidity: float, eta: float, lmax: int, *, decay_rate: float,
                               lmin_over_lmax: float, modes_per_decade: int, closure: str = "normalised"):
    r"""Steady-state ⟨C_ℓ⟩ per unit :math:`v^2|G|^2` (time unit 1/Ω) of an age-dependent closure.

    ``model`` ``"slab"`` (η < 1), ``"isotropic"`` (η = 1: B0 = 0 ballistic orbits; η < 1: helical orbits);
    ``decay_rate`` is :math:`\nu_1 = v^2/(3\kappa_\parallel)` of the transport model, the same rate that sets the
    source, so :math:`\langle C_1\rangle\ge(4\pi/9)|\langle\delta\rangle|^2` with
    :math:`|\langle\delta\rangle| = v|G|/\nu_1` (for ``"normalised"``, by construction).  The pair integrals are
    computed up to :data:`MAX_PAIR_PHASE` (and :data:`MAX_REGULAR_FIELD_AGE`) and continued by
    :func:`extend_increments` to :data:`STEADY_STATE_AGE`/ν1.

    Returns
    -------
    cl : ndarray (lmax+1,)
        ``cl[0]`` nan.
    info : dict
        ``computed_age``, ``final_age`` (1/Ω) and ``closure``.

    Examples
    --------
    >>> cl, info = age_dependent_steady_state("slab", 0.3, 0.5, 16, decay_rate=0.13, lmin_over_lmax=1e-2,
    ...                                       modes_per_decade=16)
    >>> bool(cl[1] > 4 * math.pi / 9 / 0.13**2)   # the C_1 bound, v = |G| = 1
    True
    """
    from .spectrum import kolmogorov_modes

    nu = require_range("decay_rate", decay_rate, 0.0, None, low_open=True)
    wavenumbers, _ = kolmogorov_modes(lmin_over_lmax, modes_per_decade)
    final_age = STEADY_STATE_AGE / nu
    computed = min(final_age, MAX_PAIR_PHASE / (float(wavenumbers.max()) * reduced_rigidity))
    if model == "slab" or (model == "isotropic" and eta >= 1.0):
        strength, gyration = (eta, math.sqrt(1.0 - eta)) if model == "slab" else (1.0, 0.0)
        increments = _plane_wave_increments(reduced_rigidity, strength, gyration, age_grid(computed), lmax,
                                            lmin_over_lmax, modes_per_decade, 0.0)
    elif model == "isotropic":
        computed = min(computed, MAX_REGULAR_FIELD_AGE)
        increments = isotropic_pair_increments(reduced_rigidity, eta, age_grid(computed, first=0.1, per_decade=4),
                                               lmax, lmin_over_lmax=lmin_over_lmax,
                                               modes_per_decade=modes_per_decade)
    else:
        raise ParameterError("model", f"must be 'slab' or 'isotropic', got {model!r}")
    increments = extend_increments(increments, final_age)
    cl = closure_cl(increments, closure, nu, [math.inf], lmax)[0]
    return cl, {"closure": closure, "computed_age": float(computed), "final_age": float(final_age)}

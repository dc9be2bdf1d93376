r"""The steady state of the mixing-matrix ODE with no truncation in ℓ, by one quadrature in the pair angle.

The truncated solve (:func:`anisotropy.solver.steady_state` of :func:`anisotropy.rate_matrix` at ℓmax) puts an
absorbing boundary at ℓmax.  For the physical rates, :math:`-k\propto\theta^\beta` near x = 1 with β ≈ 1.1-1.7, the
cascade is non-local in ℓ and the low multipoles approach their limit only like :math:`\ell_\max^{\beta-2}`:
at the defaults of :func:`anisotropy.predict_cl`, :math:`C_{20}/C_1` rises by 11, 8, 6, 5 % per doubling of
ℓmax from 200 to 3200 and never settles (``docs/physics/untruncated-steady-state.md``).

Summing the rate equation over ℓ with the pair function :math:`F(x) = \sum_\ell\frac{2\ell+1}{4\pi}C_\ell P_\ell(x)`
gives the local equation :math:`\partial_tF = -k(x)\,\Delta F + \frac{3S}{4\pi}x` with
:math:`\Delta = \frac{d}{dx}(1-x^2)\frac{d}{dx}` (derived in :mod:`theory.cascade`).  In the steady state of every
ℓ ≥ 1 the monopole grows at a constant rate g, so :math:`\Delta F = (\frac{3S}{4\pi}x-g)/k` and, projecting on
:math:`P_\ell` (:math:`\Delta P_\ell = -\ell(\ell+1)P_\ell`),

.. math:: C_\ell = \frac{1}{2\ell(\ell+1)}\int_{-1}^{1}P_\ell(x)\,\frac{c-3Sx}{k(x)}\,dx,\qquad
          c = 3S\,\frac{\int x/k\,dx}{\int 1/k\,dx},\qquad \ell\ge1,

the ℓmax → ∞ limit of the truncated solve whenever :math:`1/k` is integrable at x = 1 (β < 2).

**Inner scale.**  On the discrete spectrum of the simulator (wavenumbers up to :math:`k_\max`) the rate becomes
analytic, :math:`-k\propto\theta^2`, below the angle :math:`\theta_\mathrm{in} = 1/(k_\max r_g\Omega\Delta T)` at
which the pair's separation after the pair time falls below :math:`1/k_\max`; there :math:`\int dx/k` diverges
logarithmically, which is the drift of the truncated solve.  The interstellar inner scale is many decades below
:math:`r_g`, so the physical rate keeps its inertial-range form down to :math:`\theta\to0`: below the continuation
angle :math:`\theta_c` (:data:`CONTINUATION_FACTOR` × :math:`\theta_\mathrm{in}` in :func:`anisotropy.predict_cl`)
the rate is continued as :math:`k(\theta_c)(\theta/\theta_c)^{\beta_c}`.  The exponent of an unbounded
Kolmogorov range lies between the local one resolved at θ_c and :data:`CONTINUATION_EXPONENT` = 5/3, that of frozen
Kolmogorov turbulence crossed ballistically (:mod:`anisotropy.pair_rates`; the local exponent of the default slab
rate climbs from 1.45 at 60 θ_in to 1.6-1.67 at 6-15 θ_in before rolling over to 2).
:func:`bracketed_steady_state` solves with both and returns their mean and half-difference.

**Numerics.**  θ ∈ [θ_c, π]: composite Gauss-Legendre (:data:`PANEL_NODES` nodes per panel) on panels graded
geometrically from θ_c and no wider than :data:`PANEL_OSCILLATIONS` periods of :math:`P_{\ell_\max}`; θ ∈ [0, θ_c]:
Gauss-Jacobi with weight :math:`\theta^{1-\beta_c}` (the integrand there is that power times a smooth function), so
both parts are accurate to near round-off.  Cost: one evaluation of :math:`k` at ~10³ nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .errors import ParameterError, require_integer, require_range
from .legendre import gauss_legendre, legendre_coefficients

__all__ = [
    "CONTINUATION_EXPONENT",
    "CONTINUATION_FACTOR",
    "bracketed_steady_state",
    "inner_angle",
    "untruncated_steady_state",
]

#: β of the continuation -k ∝ θ^β below θ_c: 2/3 (Kolmogorov structure function) + 1 (ballistic crossing)
CONTINUATION_EXPONENT = 5.0 / 3.0
#: θ_c / θ_in.  The local exponent of the default slab rate is 1.59-1.66 at 6-16 θ_in and rolls over to the
#: analytic 2 below ~3 θ_in (measured at 1 and 10 TeV); 10 keeps the continuation inside the resolved range
CONTINUATION_FACTOR = 10.0
#: Gauss-Legendre nodes per θ panel (a panel spans at most PANEL_OSCILLATIONS periods of P_lmax).  With 16 nodes,
#: 2 periods, grading 2 and 16 Gauss-Jacobi nodes the default C_ℓ agree with 48 nodes, 1/2 period, grading 1.3 and
#: 48 Gauss-Jacobi nodes to 4e-9 (measured; the test suite checks the doubled rule)
PANEL_NODES = 16
PANEL_OSCILLATIONS = 2.0
#: ratio of consecutive panel edges in the geometric part near θ_c
PANEL_GRADING = 2.0
#: Gauss-Jacobi nodes on [0, θ_c]
CONTINUATION_NODES = 16
#: largest measured exponent used for the continuation (1/k must stay integrable: β < 2)
CONTINUATION_EXPONENT_LIMIT = 1.95
#: default θ_c when the caller gives none (generic rates): small, and cos θ_c - 1 still exact to ~1e-8 relative
DEFAULT_CONTINUATION_ANGLE = 1e-4


def inner_angle(k_max_r_g: float, omega_pair_time: float) -> float:
    r""":math:`\theta_\mathrm{in} = 1/(k_\max r_g\,\Omega\Delta T)`: below it the pair separation after the pair time
    is below the smallest scale of the discrete spectrum, and the discrete rate is analytic (module docstring).

    Examples
    --------
    >>> round(inner_angle(300.0, 13.1), 6)
    0.000254
    """
    k_max_r_g = require_range("k_max_r_g", k_max_r_g, 0.0, None, low_open=True)
    omega_pair_time = require_range("omega_pair_time", omega_pair_time, 0.0, None, low_open=True)
    return 1.0 / (k_max_r_g * omega_pair_time)


def _panel_rule(theta_c: float, lmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights on [θ_c, π] (module docstring, numerics)."""
    width = PANEL_OSCILLATIONS * 2.0 * math.pi / (lmax + 0.5)
    edges = [theta_c]
    while edges[-1] < math.pi:
        edges.append(min(math.pi, edges[-1] + min(width, (PANEL_GRADING - 1.0) * edges[-1])))
    edges = np.asarray(edges)
    nodes, weights = gauss_legendre(PANEL_NODES)
    half = 0.5 * np.diff(edges)
    middle = 0.5 * (edges[1:] + edges[:-1])
    theta = (middle[:, None] + half[:, None] * nodes[None, :]).ravel()
    theta_weights = (half[:, None] * weights[None, :]).ravel()
    return theta, theta_weights


def untruncated_steady_state(rate, source: float, lmax: int, *,
                             continuation_angle: float = DEFAULT_CONTINUATION_ANGLE,
                             continuation_exponent: float | None = None) -> np.ndarray:
    r"""Steady-state :math:`C_\ell`, ℓ = 0..lmax, of the mixing-matrix ODE without truncation (module docstring).

    Parameters
    ----------
    rate : callable
        :math:`k(x)` on [-1, 1] (an :class:`anisotropy.PairRate`), negative on [-1, 1), with :math:`1/k`
        integrable at x = 1 (or continued below ``continuation_angle``).
    source : float
        The ℓ = 1 source :math:`S`.
    lmax : int
        Last multipole returned (≥ 1); the result does not depend on it.
    continuation_angle : float
        θ_c in radians, in (0, π/2): below it k is replaced by :math:`k(\theta_c)(\theta/\theta_c)^{\beta_c}`.
        Default :data:`DEFAULT_CONTINUATION_ANGLE`.
    continuation_exponent : float, optional
        :math:`\beta_c` in [0, 2).  Default: the local exponent :math:`d\ln|k|/d\ln\theta` of the rate between
        θ_c and 2θ_c.

    Returns
    -------
    ndarray, shape (lmax+1,)
        ``C[ell]``; ``C[0]`` is nan (the monopole grows without bound).

    Raises
    ------
    ParameterError
        Bad arguments, or a rate that is not negative on (-1, 1) (no steady state: some separation never
        decorrelates).

    Examples
    --------
    With no pair correlation, :math:`k\equiv-2D_s`, the dipole decays at :math:`4D_s` and no power reaches ℓ ≥ 2:

    >>> import numpy as np
    >>> cl = untruncated_steady_state(lambda x: np.full_like(x, -1.0), source=2.0, lmax=3)
    >>> (np.round(cl[1:], 12) + 0.0).tolist()
    [1.0, 0.0, 0.0]
    """
    lmax = require_integer("lmax", lmax, 1)
    source = require_range("source", source)
    theta_c = require_range("continuation_angle", continuation_angle, 0.0, math.pi / 2, low_open=True,
                            high_open=True)
    panels = _panels(rate, theta_c, lmax)
    if continuation_exponent is None:
        continuation_exponent = panels.local_exponent
    beta_c = require_range("continuation_exponent", continuation_exponent, 0.0, 2.0, high_open=True)
    return _project(panels, _tail(panels, beta_c), source, lmax)


def bracketed_steady_state(rate, source: float, lmax: int, continuation_angle: float) -> dict:
    r"""The untruncated steady state for the two continuations that bracket the inertial-range rate below θ_c.

    Below θ_c the rate of an unbounded Kolmogorov range has a local exponent between the one resolved at θ_c
    (:math:`\beta(\theta_c)` ≈ 1.5-1.6 at the defaults, lower because the spectrum's outer part still matters)
    and the asymptotic :data:`CONTINUATION_EXPONENT` = 5/3 reached as θ → 0.  Returns ``{"cl": mean of the two,
    "spread": half their difference (per ℓ, a systematic error estimate), "exponents": (β(θ_c), 5/3)}``; the
    panels (the costly part) are shared.

    Measured at the defaults of :func:`anisotropy.predict_cl` (10 TeV): the mean at k_max r_g = 200 is within
    0.3 %, 0.9 % and 1.3 % of the k_max r_g = 1000 mean at ℓ = 2, 10, 20, while the two continuations differ by
    up to ±3.8 % (so ``spread`` is conservative; ``tests/anisotropy/test_predict.py``, slow).

    Examples
    --------
    >>> import numpy as np
    >>> rate = lambda x: -((1.0 - x) / 2.0) ** 0.75        # -k ∝ θ^1.5 exactly
    >>> out = bracketed_steady_state(rate, 1.0, 4, continuation_angle=1e-3)
    >>> bool(out["exponents"][0] > 1.49 and out["exponents"][0] < 1.51)
    True
    """
    lmax = require_integer("lmax", lmax, 1)
    source = require_range("source", source)
    theta_c = require_range("continuation_angle", continuation_angle, 0.0, math.pi / 2, low_open=True,
                            high_open=True)
    panels = _panels(rate, theta_c, lmax)
    exponents = (panels.local_exponent, CONTINUATION_EXPONENT)
    resolved, asymptotic = (_project(panels, _tail(panels, beta), source, lmax) for beta in exponents)
    return {"cl": 0.5 * (resolved + asymptotic), "spread": 0.5 * np.abs(asymptotic - resolved),
            "exponents": exponents}


@dataclass(frozen=True)
class _Panels:
    """The integration measure dx/k on [θ_c, π] and the rate at θ_c, 2θ_c."""

    x: np.ndarray
    measure: np.ndarray
    theta_c: float
    k_c: float
    local_exponent: float


def _panels(rate, theta_c: float, lmax: int) -> _Panels:
    theta, weights = _panel_rule(theta_c, lmax)
    x = np.cos(np.concatenate([theta, [theta_c, 2.0 * theta_c]]))
    k = np.asarray(rate(x), dtype=float)
    if not np.all(np.isfinite(k)) or np.any(k >= 0.0):
        raise ParameterError("rate", "k(x) must be finite and negative on (-1, 1) for a steady state to exist")
    k, (k_c, k_2c) = k[:-2], k[-2:]
    exponent = min(max(math.log(k_2c / k_c) / math.log(2.0), 0.0), CONTINUATION_EXPONENT_LIMIT)
    # dx = sin θ dθ
    return _Panels(x[:-2], weights * np.sin(theta) / k, theta_c, float(k_c), exponent)


def _tail(panels: _Panels, beta_c: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x and measure dx/k on [0, θc] for k = k_c (θ/θc)^βc."""
    # the integrand is θ^{1-βc} × (sinθ/θ) f(cosθ) θc^βc/k_c with a smooth second factor: Gauss-Jacobi with
    # weight (1+y)^{1-βc} on θ = θc (1+y)/2
    theta_c = panels.theta_c
    jacobi_nodes, jacobi_weights = special.roots_jacobi(CONTINUATION_NODES, 0.0, 1.0 - beta_c)
    tail_theta = 0.5 * theta_c * (1.0 + jacobi_nodes)
    scale = (0.5 * theta_c) ** (2.0 - beta_c) * theta_c**beta_c / panels.k_c
    return np.cos(tail_theta), scale * jacobi_weights * np.sinc(tail_theta / math.pi)


def _project(panels: _Panels, tail, source: float, lmax: int) -> np.ndarray:
    """C_ℓ = ∫ P_ℓ (c - 3Sx)/k dx / (2ℓ(ℓ+1)) with c = 3S ∫x/k / ∫1/k (module docstring)."""
    x = np.concatenate([panels.x, tail[0]])
    measure = np.concatenate([panels.measure, tail[1]])
    growth = 3.0 * source * float(np.sum(measure * x)) / float(np.sum(measure))
    # Σ_i w_i P_ℓ(x_i) by the recurrence (memory O(nodes), not a (lmax, nodes) table)
    projections = legendre_coefficients(measure * (growth - 3.0 * source * x), 1.0, x, lmax)
    projections *= 2.0 / (2.0 * np.arange(lmax + 1) + 1.0)
    ell = np.arange(1, lmax + 1)
    cl = np.full(lmax + 1, np.nan)
    cl[1:] = projections[1:] / (2.0 * ell * (ell + 1))
    return cl

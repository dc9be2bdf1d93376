r"""Gauss-Legendre quadrature and Legendre projections on :math:`x = \hat p_A\cdot\hat p_B \in [-1, 1]`.

The pair-rate function :math:`k(x)` and the mixing integrals of docs/physics/mixing_ode.md#mixing-matrix, eq. (4.2),
docs/physics/mixing_ode.md#rate-matrix, eq. (4.3) live on this interval.
Plain Legendre coefficients are :math:`k_\ell = \frac{2\ell+1}{2}\int_{-1}^{1} k(x) P_\ell(x)\,dx` (no extra
factors, docs/physics/mixing_ode.md#mixing-matrix).  Polynomials are built by the three-term recurrence (Bonnet), never
from dense tables.

Physical pair rates are not analytic at :math:`x = 1` (:math:`-k\propto(1-x)^{\beta/2}`, docs/physics/pair_rates.md),
where plain
Gauss-Legendre converges only algebraically; :func:`graded_gauss_legendre` is a composite rule graded geometrically
toward both endpoints that integrates such integrands times polynomials of a given degree to round-off.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

from .errors import require_integer, require_range

__all__ = ["gauss_legendre", "graded_gauss_legendre", "legendre_coefficients", "legendre_series", "legendre_table"]


@lru_cache(maxsize=32)
def gauss_legendre(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Gauss-Legendre rule by Newton's method on :math:`P_n` from Tricomi's first guesses (numba, :math:`O(n^2)`).

    Returns read-only, cached ``(nodes, weights)`` on [-1, 1], nodes ascending.  numpy's ``leggauss``
    diagonalises the :math:`n\times n` companion matrix, :math:`O(n^3)` (3 s at n = 2000), and its weights drift by
    ~1e-8 relative at n = 2000; this rule integrates :math:`x^{2n-2}` to 1e-16 in ~0.1 s at n = 2000.
    """
    n_nodes = int(n_nodes)
    if n_nodes < 1:
        raise ValueError("gauss_legendre needs at least one node")
    nodes = np.empty(n_nodes)
    weights = np.empty(n_nodes)
    _gauss_legendre_kernel(n_nodes, nodes, weights)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


#: Newton steps from Tricomi's guesses: the first guess is good to O(n^-4) and convergence is quadratic
_NEWTON_STEPS = 6


@njit(cache=True)
def _legendre_with_derivative(n_nodes, x, value, derivative):  # pragma: no cover - compiled
    # Bonnet's recurrence with the node index innermost (independent chains, vectorised), no divisions
    previous = np.ones_like(x)
    current = x.copy()
    for ell in range(1, n_nodes):
        a = (2 * ell + 1) / (ell + 1)
        b = ell / (ell + 1)
        for i in range(x.size):
            following = a * x[i] * current[i] - b * previous[i]
            previous[i] = current[i]
            current[i] = following
    for i in range(x.size):
        value[i] = current[i]
        derivative[i] = n_nodes * (x[i] * current[i] - previous[i]) / (x[i] * x[i] - 1.0)


@njit(cache=True)
def _gauss_legendre_kernel(n_nodes, nodes, weights):  # pragma: no cover - compiled
    half = (n_nodes + 1) // 2
    x = np.empty(half)
    for index in range(half):
        x[index] = math.cos(math.pi * (index + 0.75) / (n_nodes + 0.5))
    value = np.empty(half)
    derivative = np.empty(half)
    for _ in range(_NEWTON_STEPS):
        _legendre_with_derivative(n_nodes, x, value, derivative)
        for index in range(half):
            x[index] -= value[index] / derivative[index]
    _legendre_with_derivative(n_nodes, x, value, derivative)
    for index in range(half):
        weight = 2.0 / ((1.0 - x[index] ** 2) * derivative[index] ** 2)
        # Tricomi's guesses run from x ≈ 1 downwards; store ascending and mirror (odd n: x = 0 written twice)
        nodes[n_nodes - 1 - index] = x[index]
        nodes[index] = -x[index]
        weights[n_nodes - 1 - index] = weight
        weights[index] = weight


#: Geometric ratio σ of the graded panels: panel j covers distances 1 - |x| in [2σ^(j+1), 2σ^j].  Smaller σ means
#: fewer panels but more nodes per panel (the endpoint singularity sits closer to each panel, relative to its
#: width); measured total node counts vary by 15% over σ = 0.1..0.3 and are smallest for 0.1..0.15.
GRADED_RATIO = 0.15

#: Width of the innermost panel [1 - w, 1]: below 1e-16 its whole contribution is below rounding of the total
#: for any integrand bounded near the endpoint (``x = 1 - w`` is not even representable apart from 1).
GRADED_INNERMOST_WIDTH = 1e-16

#: Target absolute error per panel relative to the integrand's scale: each panel's node count makes the Gauss
#: error bound (panel half-width) × R^(-2n) × (growth of a degree-d polynomial on the panel's Bernstein ellipse
#: E_R) below this.  Measured: the rule then integrates ((1-x)/2)^a P_m(x), m ≤ d, to 1e-15 absolute
#: (a = 0.01..5/6, d = 200..800); a tolerance of 1e-10 gives 1e-12, so the bound tracks the actual error.
GRADED_TOLERANCE = 1e-16

#: Nodes of the innermost panel and least nodes of any graded panel (an integrand bounded by 1 there contributes
#: at most the panel width, ~1e-16, so a few nodes suffice).
_GRADED_MIN_NODES = 4

#: Sampling of the Bernstein-ellipse parameter R in (1, R_singular) and of the ellipse's half-circumference when
#: choosing a panel's node count (the optimum is flat in R; 80 x 64 samples resolve it to a node or two).
_ELLIPSE_RADII = 80
_ELLIPSE_ANGLES = 64


def _panel_node_count(near: float, far: float, degree: int, tolerance: float) -> int:
    r"""Gauss nodes for the panel of distances :math:`t = 1 - x \in [\text{near}, \text{far}]`, :math:`0 < \text{near}`.

    Gauss with n nodes errs by :math:`\lesssim h\,M_R\,R^{-2n}` for an integrand bounded by :math:`M_R` on the
    panel's Bernstein ellipse :math:`E_R` (h: half-width).  A polynomial of degree d bounded by 1 on [-1, 1] is
    bounded by :math:`\rho(z)^d` at z, :math:`\rho = |z + \sqrt{z^2-1}|` (Bernstein), and the endpoint singularity of
    the rate at t = 0 (and at x = -1) caps R.  Returns the smallest n over R for which the bound is below
    ``tolerance``.  Coordinates in t keep panels of width 1e-16 resolved.
    """
    center, half_width = 0.5 * (near + far), 0.5 * (far - near)
    # the singular endpoints t = 0 and t = 2 in the panel's coordinate s = (t - center) / half_width
    singular = min(center, 2.0 - center) / half_width
    radius_singular = singular + math.sqrt(singular * singular - 1.0)
    radii = 1.0 + (radius_singular - 1.0) * np.linspace(0.0, 1.0, _ELLIPSE_RADII + 1)[1:-1] ** 2
    angles = np.linspace(0.0, math.pi, _ELLIPSE_ANGLES)
    on_ellipse = radii[:, None] * np.exp(1j * angles)[None, :]
    distance = center + half_width * 0.5 * (on_ellipse + 1.0 / on_ellipse)  # complex t = 1 - z
    joukowski = np.abs(1.0 - distance + np.sqrt(-distance) * np.sqrt(2.0 - distance))
    log_growth = np.max(np.abs(np.log(joukowski)), axis=1)  # ln max ρ(z) over E_R, ρ ≥ 1
    counts = (degree * log_growth + math.log(half_width / tolerance)) / (2.0 * np.log(radii))
    return max(math.ceil(float(np.min(counts))), 1)


@lru_cache(maxsize=16)
def graded_gauss_legendre(degree: int, grading: float = GRADED_RATIO, levels: int | None = None,
                          tolerance: float = GRADED_TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    r"""Composite Gauss-Legendre rule on [-1, 1] graded geometrically toward both endpoints (hp-quadrature).

    For integrands :math:`f(x)\,p(x)` with p a polynomial of degree ≤ ``degree`` and f analytic in (-1, 1) but
    possibly singular at :math:`x = \pm1` like :math:`(1\mp x)^{\alpha}`, α > -1: the pair rates of
    docs/physics/pair_rates.md,
    :math:`-k\propto((1-x)/2)^{\beta/2}`, in the integrals of (4.2)-(4.3).  Plain Gauss-Legendre converges only
    like :math:`n^{-2-2\alpha}` there; this rule reaches round-off with about 640, 1130, 2070, 3630 nodes for
    degree 200, 800, 2000, 4003 (plain Gauss-Legendre: degree/2 + 1).

    Panels: the bulk :math:`[-(1-2\sigma), 1-2\sigma]`, and on each side the panels of distances
    :math:`1-|x| \in [2\sigma^{j+1}, 2\sigma^j]`, j = 1..levels-1, then :math:`[0, 2\sigma^{\text{levels}}]`.
    Each panel gets the fewest Gauss nodes for which the Bernstein-ellipse error bound of a degree-``degree``
    polynomial times a function singular at ±1 is below ``tolerance`` × the panel half-width
    (:func:`_panel_node_count`); the innermost panels get a few.  The rule is symmetric (nodes pair up as ±x, the
    bulk has an even count), so parity tricks apply, and it integrates polynomials of degree ≤ ``degree`` to
    round-off (not exactly: the small panels use fewer than degree/2 nodes where the polynomial is nearly flat).

    Parameters
    ----------
    degree : int
        Polynomial degree to integrate to round-off, ≥ 0.
    grading : float
        Ratio σ of successive panel widths, in (0, 0.5); default :data:`GRADED_RATIO`.
    levels : int, optional
        Number of graded panels per side including the innermost; default: the fewest with
        :math:`2\sigma^{\text{levels}} \le` :data:`GRADED_INNERMOST_WIDTH`.
    tolerance : float
        Per-panel error target relative to the integrand's scale; default :data:`GRADED_TOLERANCE`.

    Returns
    -------
    nodes, weights : ndarray
        Read-only, cached; nodes ascending, exactly symmetric (``nodes == -nodes[::-1]``, equal weights).  Nodes
        near ±1 are formed as ±(1 - t) from the distances t, so their rounding is ≤ 1.1e-16 absolute: those of
        the panels narrower than ~1e-15 coincide or equal ±1 (their weights total < 1e-15; an integrand bounded
        there loses < 1e-16 by it).

    Notes
    -----
    The Legendre recurrence of :func:`legendre_table` stays accurate at these nodes: against mpmath at the same
    doubles, the error of :math:`P_{4000}(1-t)` is 4e-10 at t = 1e-16, 6e-12 at 1e-9, 2e-14 at 1e-4, 1e-16 at
    1e-2; weighted by the panel widths (≈ t) it contributes below 1e-17 to any integral.
    """
    degree = require_integer("degree", degree, 0)
    grading = require_range("grading", grading, 0.0, 0.5, low_open=True, high_open=True)
    tolerance = require_range("tolerance", tolerance, 0.0, 1.0, low_open=True)
    if levels is None:
        levels = max(1, math.ceil(math.log(GRADED_INNERMOST_WIDTH / 2.0) / math.log(grading)))
    levels = require_integer("levels", levels, 1)
    bulk_half_width = 1.0 - 2.0 * grading
    bulk_count = _panel_node_count(2.0 * grading, 2.0 - 2.0 * grading, degree, tolerance)
    bulk_count += bulk_count % 2  # no node at x = 0, so every node has its mirror image
    bulk_nodes, bulk_weights = gauss_legendre(bulk_count)
    distances = [np.empty(0)]
    distance_weights = [np.empty(0)]
    edges = 2.0 * grading ** np.arange(levels + 1, dtype=float)
    for level in range(1, levels + 1):
        far = edges[level]
        near = edges[level + 1] if level < levels else 0.0
        count = _GRADED_MIN_NODES
        if level < levels:
            count = max(_panel_node_count(near, far, degree, tolerance), _GRADED_MIN_NODES)
        unit_nodes, unit_weights = gauss_legendre(count)
        distances.append(0.5 * (far + near) + 0.5 * (far - near) * unit_nodes)
        distance_weights.append(0.5 * (far - near) * unit_weights)
    distance = np.concatenate(distances)
    distance_weight = np.concatenate(distance_weights)
    # the positive half, then its mirror image, so that nodes and weights are exactly symmetric even where nodes
    # within an ulp of 1 round together
    upper = bulk_nodes > 0.0
    positive = np.concatenate([bulk_half_width * bulk_nodes[upper], 1.0 - distance])
    positive_weights = np.concatenate([bulk_half_width * bulk_weights[upper], distance_weight])
    order = np.argsort(positive, kind="stable")
    positive, positive_weights = positive[order], positive_weights[order]
    nodes = np.concatenate([-positive[::-1], positive])
    weights = np.concatenate([positive_weights[::-1], positive_weights])
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def legendre_table(lmax: int, x) -> np.ndarray:
    r"""Table :math:`P_\ell(x_i)` of shape ``(lmax + 1, len(x))`` by Bonnet's recurrence.

    :math:`(\ell+1)P_{\ell+1} = (2\ell+1)xP_\ell - \ell P_{\ell-1}`; stable for :math:`|x|\le1`.
    """
    x = np.asarray(x, dtype=float)
    table = np.empty((lmax + 1, x.size))
    table[0] = 1.0
    if lmax >= 1:
        table[1] = x
    for ell in range(1, lmax):
        table[ell + 1] = ((2 * ell + 1) * x * table[ell] - ell * table[ell - 1]) / (ell + 1)
    return table


def legendre_coefficients(values, weights, nodes, lmax: int) -> np.ndarray:
    r"""Plain Legendre coefficients :math:`c_\ell = \frac{2\ell+1}{2}\sum_i w_i f(x_i) P_\ell(x_i)`, ℓ = 0..lmax.

    Runs the recurrence on vectors so memory stays O(len(nodes)) even for lmax in the thousands.
    """
    nodes = np.asarray(nodes, dtype=float)
    weighted = np.asarray(weights, dtype=float) * np.asarray(values, dtype=float)
    coefficients = np.empty(lmax + 1)
    previous, current = np.zeros_like(nodes), np.ones_like(nodes)
    for ell in range(lmax + 1):
        coefficients[ell] = 0.5 * (2 * ell + 1) * np.dot(weighted, current)
        previous, current = current, ((2 * ell + 1) * nodes * current - ell * previous) / (ell + 1)
    return coefficients


def legendre_series(coefficients, x) -> np.ndarray:
    r""":math:`\sum_\ell c_\ell P_\ell(x)` (Clenshaw summation through numpy)."""
    return np.polynomial.legendre.legval(np.asarray(x, dtype=float), np.asarray(coefficients, dtype=float))

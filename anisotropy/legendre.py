r"""Gauss-Legendre quadrature and Legendre projections on :math:`x = \hat p_A\cdot\hat p_B \in [-1, 1]`.

The pair-rate function :math:`k(x)` and the mixing integrals of ``PHYSICS.md`` (4.2)-(4.3) live on this interval.
Plain Legendre coefficients are :math:`k_\ell = \frac{2\ell+1}{2}\int_{-1}^{1} k(x) P_\ell(x)\,dx` (no extra
factors, PHYSICS 4.2).  Polynomials are built by the three-term recurrence (Bonnet), never from dense tables.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["gauss_legendre", "legendre_coefficients", "legendre_series", "legendre_table"]


@lru_cache(maxsize=32)
def _gauss_legendre_cached(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.legendre.leggauss(n_nodes)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


def gauss_legendre(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the ``n_nodes``-point Gauss-Legendre rule on [-1, 1] (cached, read-only)."""
    return _gauss_legendre_cached(int(n_nodes))


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

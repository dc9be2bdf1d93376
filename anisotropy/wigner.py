r"""Wigner 3j symbols with zero projections, :math:`\begin{pmatrix}\ell_1&\ell_2&\ell_3\\0&0&0\end{pmatrix}`.

They carry the angular structure of the rate matrix, docs/physics/mixing_ode.md#mixing-matrix, eq. (4.1),
docs/physics/mixing_ode.md#rate-matrix, eq. (4.3):
:math:`\int_{-1}^{1} P_{\ell_1}P_{\ell_2}P_{\ell_3}\,dx = 2\,(\ell_1\,\ell_2\,\ell_3;0\,0\,0)^2`.

Method
------
For fixed :math:`(\ell_1, \ell_2)` the Schulten-Gordon three-term recursion in :math:`J = \ell_3`
(Schulten & Gordon, J. Math. Phys. 16, 1961 (1975), eq. 4) loses its middle term when all projections vanish, leaving
the two-term ratio

.. math::

    \frac{f(J+1)^2}{f(J-1)^2} = \frac{(J^2 - d^2)\,(s^2 - J^2)}{((J+1)^2 - d^2)\,(s^2 - (J+1)^2)},
    \qquad d = \ell_1 - \ell_2,\quad s = \ell_1 + \ell_2 + 1,

started at :math:`J = |\ell_1-\ell_2|` (where the :math:`f(J-1)` term drops out).  Every factor is a ratio of
integers, so the recursion has no cancellation; it runs on the squares, so no square root enters before the end.
The unnormalised row is scaled by the sum rule :math:`\sum_{J}(2J+1)\,f(J)^2 = 1` (Edmonds 3.7.8) and the sign is
:math:`(-1)^{(\ell_1+\ell_2+\ell_3)/2}`.  No factorial is ever formed (no overflow), and the closed form quoted in
docs/physics/mixing_ode.md#mixing-matrix, which loses about four digits through lgamma cancellation at large ℓ, is not
used.  The symbol vanishes
when :math:`\ell_1+\ell_2+\ell_3` is odd or the triangle rule fails.

Accuracy: each row value collects one rounding per recursion step, so the relative error grows like
:math:`\sqrt{\ell}\,\epsilon`; it stays below 1e-13 up to ℓ = 1000 (tested against exact sympy values).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .errors import ParameterError

__all__ = ["threej_zero", "threej_zero_row", "threej_zero_squared_row"]


@njit(cache=True, nogil=True)
def threej_zero_squared_row(l1, l2, out):
    r"""Fill ``out[l3]`` with :math:`(\ell_1\,\ell_2\,\ell_3;0\,0\,0)^2` for every ``l3`` in ``0..l1+l2``.

    Numba-callable kernel (also callable from Python).  Entries outside the triangle :math:`|\ell_1-\ell_2| \le
    \ell_3 \le \ell_1+\ell_2` and entries with odd :math:`\ell_1+\ell_2+\ell_3` are set to zero; ``out`` beyond
    ``l1 + l2`` is left untouched.  The row is normalised by the sum rule (module docstring).

    Parameters
    ----------
    l1, l2 : int
        Non-negative angular momenta (not validated: this is the inner kernel).
    out : ndarray of float64
        Length at least ``l1 + l2 + 1``.

    Returns
    -------
    float
        The normalisation factor that was applied, :math:`1/\sum_J (2J+1) f_\mathrm{unnormalised}(J)^2`.
    """
    lowest = abs(l1 - l2)
    highest = l1 + l2
    for index in range(lowest):
        out[index] = 0.0
    difference = float(l1 - l2)
    outer = float(l1 + l2 + 1)
    out[lowest] = 1.0
    # Neumaier-compensated sum rule: the row can hold ~1000 terms of similar size.
    norm = float(2 * lowest + 1)
    compensation = 0.0
    previous = 1.0
    for middle in range(lowest + 1, highest, 2):
        j = float(middle)
        following = j + 1.0
        numerator = (j - difference) * (j + difference) * (outer - j) * (outer + j)
        denominator = (following - difference) * (following + difference) * (outer - following) * (outer + following)
        previous = previous * (numerator / denominator)
        out[middle] = 0.0
        out[middle + 1] = previous
        term = (2.0 * following + 1.0) * previous
        total = norm + term
        if abs(norm) >= abs(term):
            compensation += (norm - total) + term
        else:
            compensation += (term - total) + norm
        norm = total
    scale = 1.0 / (norm + compensation)
    for index in range(lowest, highest + 1, 2):
        out[index] *= scale
    return scale


@njit(cache=True, nogil=True)
def threej_zero_row(l1, l2, out):
    r"""Fill ``out[l3]`` with :math:`(\ell_1\,\ell_2\,\ell_3;0\,0\,0)` for every ``l3`` in ``0..l1+l2``.

    Numba-callable kernel used to build matrices: same conventions as :func:`threej_zero_squared_row`, with the
    sign :math:`(-1)^{(\ell_1+\ell_2+\ell_3)/2}`.

    Parameters
    ----------
    l1, l2 : int
        Non-negative angular momenta (not validated).
    out : ndarray of float64
        Length at least ``l1 + l2 + 1``; zero outside the triangle and for odd :math:`\ell_1+\ell_2+\ell_3`.
    """
    threej_zero_squared_row(l1, l2, out)
    lowest = abs(l1 - l2)
    # sign (-1)^g with g = (l1 + l2 + l3)/2; at l3 = |l1 - l2|, g = max(l1, l2), and it alternates every step of 2
    sign = 1.0 if max(l1, l2) % 2 == 0 else -1.0
    for index in range(lowest, l1 + l2 + 1, 2):
        out[index] = sign * np.sqrt(out[index])
        sign = -sign


@njit(cache=True, nogil=True)
def _threej_zero_many(l1, l2, l3, order, out):
    """Element-wise symbols for flat integer arrays, visited in ``order`` so that elements sharing a row reuse it."""
    largest = 0
    for index in range(l1.size):
        largest = max(largest, l1[index] + l2[index] + l3[index])
    row = np.empty(largest + 1)
    cached_low, cached_high = -1, -1
    for index in order:
        a, b, c = l1[index], l2[index], l3[index]
        if (a + b + c) % 2 == 1 or c > a + b or c < abs(a - b):
            out[index] = 0.0
            continue
        # the symbol is symmetric; a row over the pair (smallest, largest) costs only O(smallest) steps
        smallest = min(a, min(b, c))
        biggest = max(a, max(b, c))
        middle = a + b + c - smallest - biggest
        if smallest != cached_low or biggest != cached_high:
            threej_zero_row(smallest, biggest, row)
            cached_low, cached_high = smallest, biggest
        out[index] = row[middle]


def _angular_momentum_array(name: str, value) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind in "iu":
        integers = array.astype(np.int64)
    elif array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise ParameterError(name, "expected non-negative integers (angular momenta)")
        integers = array.astype(np.int64)
    else:
        raise ParameterError(name, f"expected non-negative integers (angular momenta), got dtype {array.dtype}")
    if np.any(integers < 0):
        raise ParameterError(name, f"angular momenta must be >= 0, got minimum {integers.min()}")
    return integers


def threej_zero(l1, l2, l3):
    r"""Wigner 3j symbol :math:`(\ell_1\,\ell_2\,\ell_3;0\,0\,0)`, broadcasting over integer arrays.

    Implements the recursion normalised by the sum rule described in the module docstring (the symbol that enters
    docs/physics/mixing_ode.md#mixing-matrix, eq. (4.1), docs/physics/mixing_ode.md#rate-matrix, eq. (4.3)).

    Parameters
    ----------
    l1, l2, l3 : int or array_like of int
        Non-negative angular momenta; integral floats are accepted.  They broadcast against each other.

    Returns
    -------
    float or ndarray of float64
        The symbols, zero where :math:`\ell_1+\ell_2+\ell_3` is odd or the triangle rule fails.  A scalar for
        scalar input.

    Raises
    ------
    ParameterError
        If an argument is negative, not an integer, or not numeric.

    Examples
    --------
    >>> round(float(threej_zero(1, 1, 0)), 12)   # -1/sqrt(3)
    -0.57735026919
    """
    arrays = [_angular_momentum_array(name, value) for name, value in (("l1", l1), ("l2", l2), ("l3", l3))]
    broadcast = np.broadcast_arrays(*arrays)
    shape = broadcast[0].shape
    flat = [np.ascontiguousarray(array).ravel() for array in broadcast]
    out = np.empty(flat[0].size)
    if out.size:
        stacked = np.stack(flat)
        order = np.lexsort((stacked.max(axis=0), stacked.min(axis=0)))  # group elements by their row
        _threej_zero_many(flat[0], flat[1], flat[2], order, out)
    result = out.reshape(shape)
    return float(result) if result.ndim == 0 else result

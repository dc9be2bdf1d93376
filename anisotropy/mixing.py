r"""The rate matrix :math:`\Gamma_{\ell\ell_0}` of the mixing-matrix ODE, docs/physics/mixing_ode.md#rate-matrix, eq.
(4.3).

.. math::

    \Gamma_{\ell\ell_0} = (2\ell_0+1)\,\ell_0(\ell_0+1)\sum_{\ell_A} k_{\ell_A}
        \begin{pmatrix}\ell&\ell_A&\ell_0\\0&0&0\end{pmatrix}^2
    = (2\ell_0+1)\,\ell_0(\ell_0+1)\;\tfrac12\int_{-1}^{1} k(x)\,P_\ell(x)\,P_{\ell_0}(x)\,dx .

Both forms factor as :math:`\Gamma = A\,D` with the **symmetric** coupling matrix
:math:`A_{\ell\ell_0} = \frac12\int k P_\ell P_{\ell_0}\,dx` and the diagonal column weights
:math:`D_{\ell_0} = (2\ell_0+1)\ell_0(\ell_0+1)` (:func:`column_weights`).  Only :math:`A` is computed (one triangle
where possible), then scaled by columns.  The solver uses the same factorisation (Cholesky solve, symmetric
eigen-decomposition).

The 3j form (``method="threej"``)
    needs :math:`k_{\ell_A}` for :math:`\ell_A \le 2\ell_\max` (the product :math:`P_\ell P_{\ell_0}` has degree
    :math:`\le 2\ell_\max`, so higher coefficients never contribute and the sum is exact).  Coefficients of smooth
    rates decay fast (for the toy, super-exponentially), so the sum is truncated at the bandwidth :math:`L_A`, the
    smallest :math:`\ell_A` beyond which :math:`\sum |k_{\ell_A}|` is below :data:`TRUNCATION_RTOL` of the total:
    the dropped terms are below double-precision rounding of the retained ones.  :math:`\Gamma` is then banded,
    :math:`\Gamma_{\ell\ell_0} = 0` for :math:`|\ell-\ell_0| > L_A`.  Two loop orders are available and the cheaper is
    chosen: rows of 3j symbols over :math:`\ell_A` for each pair :math:`\ell\le\ell_0` (cost
    :math:`\approx\ell_\max^2 L_A/2`, or :math:`\ell_\max^3/6` untruncated), or rows over :math:`\ell` for each pair
    :math:`(\ell_A, \ell_0)` (cost :math:`\approx\ell_\max L_A^2/2`).  Both kernels inline the two-term recursion
    of :func:`anisotropy.wigner.threej_zero_squared_row`, normalised by the 3j sum rule, fused with the weighted sum
    and with reciprocals of the integer factors taken from a table (the division would otherwise bound the speed);
    they are tested against :func:`anisotropy.wigner.threej_zero`.
The quadrature form (``method="quadrature"``)
    evaluates :math:`k` at quadrature nodes and forms :math:`A = P\,\mathrm{diag}(w k/2)\,P^T` with BLAS (the
    rate-independent Legendre table is cached for repeated calls, e.g. in a fit; very large ones are built node
    chunk by node chunk so memory stays :math:`O(\ell_\max\times\text{chunk})`), using the parity
    :math:`P_\ell(-x) = (-1)^\ell P_\ell(x)` to work on half the nodes and on parity blocks (3/8 of the plain
    cost).  Smooth rates use plain Gauss-Legendre: with :math:`n` nodes it is exact when :math:`k` is a polynomial
    of degree :math:`\le 2n-1-2\ell_\max`.  Rates with a kink at :math:`x = 1` (``PairRate.smooth`` false, the
    physical case :math:`-k\propto(1-x)^{\beta/2}`, docs/physics/pair_rates.md) use by default the composite rule
    :func:`anisotropy.legendre.graded_gauss_legendre`, graded geometrically toward :math:`x=\pm1` and symmetric, so
    the parity blocks still apply; plain Gauss would converge only like :math:`n^{-2-\beta}` there.  An explicit
    ``n_nodes`` always means plain Gauss-Legendre with that many nodes.

The two forms agree to 1e-10 relative to each column's largest entry (the target (docs/guide/design.md#targets), tested
with the toy, which
has both); measured 3e-14 at ℓmax = 150 and 2e-13 at ℓmax = 1000.  For kinked power-law rates
:math:`k=-((1-x)/2)^{\beta/2}`, β ∈ {2/3, 1, 5/3}, the default quadrature form agrees with the 3j form of the exact
coefficients to 1.2e-14, 4.3e-14 and 2e-13 of each column's largest entry at ℓmax = 100, 400 and 1000, the
rounding level of the double-precision 3j reference (plain Gauss with 4(ℓmax+1) nodes, the former default: 3.6e-6,
3.6e-7, 8e-8 for β = 2/3 and 5e-9, 1e-10, 1e-11 for β = 5/3), at the same cost (``benchmarks/solver.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from .errors import ParameterError, require_integer
from .legendre import gauss_legendre, graded_gauss_legendre, legendre_table

__all__ = [
    "MEMORY_LIMIT_BYTES",
    "TRUNCATION_RTOL",
    "column_weights",
    "coupling_by_graded_quadrature",
    "coupling_by_quadrature",
    "coupling_from_legendre",
    "default_quadrature_nodes",
    "legendre_bandwidth",
    "nonsmooth_quadrature_degree",
    "rate_matrix",
]

#: Largest working memory rate_matrix may ask for; larger requests are refused before any allocation (a request
#: such as lmax = 10**5 would otherwise try to allocate ~500 GB and die in the allocator or the OOM killer)
MEMORY_LIMIT_BYTES = 4 * 2**30
#: float64 arrays of the size of Γ (or of a Legendre table (lmax+1) x nodes) alive at once while Γ is built
_WORKING_COPIES = 6


def estimated_bytes(lmax: int, n_nodes: int | None = None) -> int:
    """Working memory of :func:`rate_matrix` in bytes: a few (lmax+1)² matrices and (lmax+1) x nodes tables.

    Examples
    --------
    >>> estimated_bytes(200) < MEMORY_LIMIT_BYTES < estimated_bytes(10**5)
    True
    """
    nodes = max(int(n_nodes or 0), nonsmooth_quadrature_degree(lmax) // 2 + 1)
    return _WORKING_COPIES * 8 * (lmax + 1) * max(lmax + 1, nodes)


#: Relative size of the discarded tail :math:`\sum_{\ell_A > L_A}|k_{\ell_A}|` against :math:`\sum|k_{\ell_A}|`:
#: below half the double-precision epsilon, so truncating changes Γ by less than rounding the kept terms does.
TRUNCATION_RTOL = 1e-17

def nonsmooth_quadrature_degree(lmax: int) -> int:
    r"""Polynomial degree of the default graded rule for rates with a kink at x = 1: :math:`4\ell_\max + 3`.

    The exactness of the smooth path's :math:`2\ell_\max + 2` Gauss nodes, so :math:`k` = (kink) × (polynomial of
    degree up to :math:`2\ell_\max + 3`) is integrated against :math:`P_\ell P_{\ell_0}` to round-off
    (docs/physics/mixing_ode.md#ode).  Measured cost at ℓmax = 1000: 3632 nodes, against 4004 for the former default,
    plain
    Gauss-Legendre with 4(ℓmax+1) nodes, which reached only ~1e-7 of the column scale for β = 2/3.
    """
    return 4 * require_integer("lmax", lmax, 0) + 3


#: Node chunk for the quadrature form: bounds the Legendre table at (ℓmax+1) × chunk doubles.
_NODE_CHUNK = 2048

_METHODS = ("auto", "threej", "quadrature")


def column_weights(lmax: int) -> np.ndarray:
    r"""Column weights :math:`D_{\ell_0} = (2\ell_0+1)\,\ell_0(\ell_0+1)`, ℓ0 = 0..lmax; Γ = A·diag(D),
    docs/physics/mixing_ode.md#rate-matrix.

    :math:`D_0 = 0`: the monopole column vanishes, so :math:`C_0` never feeds back.
    """
    lmax = require_integer("lmax", lmax, 0)
    ell = np.arange(lmax + 1, dtype=float)
    return (2.0 * ell + 1.0) * ell * (ell + 1.0)


def default_quadrature_nodes(lmax: int, smooth: bool) -> int:
    r"""Default node count of the quadrature form of Γ at ``lmax``.

    Smooth rates: :math:`2\ell_\max + 2` Gauss-Legendre nodes (at least 64), exact for :math:`k` of effective
    polynomial degree up to :math:`2\ell_\max + 3`.  Rates with a kink at :math:`x = 1`: the number of nodes of
    the graded rule :func:`anisotropy.legendre.graded_gauss_legendre` of degree
    :func:`nonsmooth_quadrature_degree`, which the quadrature form then uses.  Both are even so the nodes pair up
    as :math:`\pm x`.
    """
    lmax = require_integer("lmax", lmax, 0)
    if not smooth:
        return int(graded_gauss_legendre(nonsmooth_quadrature_degree(lmax))[0].size)
    count = max(2 * lmax + 2, 64)
    return count + (count % 2)


def legendre_bandwidth(coefficients, rtol: float = TRUNCATION_RTOL) -> int:
    r"""Largest :math:`\ell_A` kept: the tail :math:`\sum_{\ell_A > L_A}|k_{\ell_A}|` is at most ``rtol`` of the sum.

    Returns 0 for an all-zero sequence.
    """
    magnitudes = np.abs(np.asarray(coefficients, dtype=float))
    total = magnitudes.sum()
    if total == 0.0:
        return 0
    # tail_after[i] = sum of |k| strictly above index i
    tail_after = np.concatenate([np.cumsum(magnitudes[::-1])[::-1][1:], [0.0]])
    return int(np.argmax(tail_after <= rtol * total))


@njit(cache=True)
def _coupling_by_pairs(coefficients, lmax, bandwidth):
    """A[l, l0] = sum_lA k_lA (l lA l0;000)^2, one 3j row over lA per pair l <= l0 with l0 - l <= bandwidth.

    The row recursion of :func:`anisotropy.wigner.threej_zero_squared_row` is inlined and fused with the sum: one
    pass accumulates both the sum rule and the weighted sum, and the entry is their ratio.
    """
    coupling = np.zeros((lmax + 1, lmax + 1))
    # reciprocals of the integer factors replace the division, which would otherwise bound the loop's speed
    reciprocal = np.zeros(4 * lmax + 4)
    for index in range(1, reciprocal.size):
        reciprocal[index] = 1.0 / index
    for l0 in range(lmax + 1):
        for ell in range(max(0, l0 - bandwidth), l0 + 1):
            lowest = l0 - ell
            outer = ell + l0 + 1
            square = 1.0
            norm = 2.0 * lowest + 1.0
            weighted = coefficients[lowest]
            for middle in range(lowest + 1, l0 + ell, 2):
                # J = middle; the factors (J -+ d), (s -+ J) over the same factors at J + 1, with d = l0 - ell
                square *= (float((middle - lowest) * (middle + lowest)) * float((outer - middle) * (outer + middle))
                           * (reciprocal[middle + 1 - lowest] * reciprocal[middle + 1 + lowest])
                           * (reciprocal[outer - middle - 1] * reciprocal[outer + middle + 1]))
                norm += (2.0 * middle + 3.0) * square
                if middle + 1 <= bandwidth:
                    weighted += coefficients[middle + 1] * square
            coupling[ell, l0] = weighted / norm
            coupling[l0, ell] = weighted / norm
    return coupling


@njit(cache=True)
def _coupling_by_bands(coefficients, lmax, bandwidth):
    """Same matrix from one 3j row over l per pair (lA, l0) with lA <= bandwidth: cheap when bandwidth << lmax.

    The row (lA l0 l;000)^2, l = |lA - l0|..lA + l0, comes from the recursion of
    :func:`anisotropy.wigner.threej_zero_squared_row`, inlined with the reciprocal table of :func:`_coupling_by_pairs`.
    """
    coupling = np.zeros((lmax + 1, lmax + 1))
    reciprocal = np.zeros(2 * (lmax + bandwidth) + 4)
    for index in range(1, reciprocal.size):
        reciprocal[index] = 1.0 / index
    squares = np.empty(bandwidth + 1)
    for l_a in range(bandwidth + 1):
        weight = coefficients[l_a]
        if weight == 0.0:
            continue
        for l0 in range(lmax + 1):
            lowest = abs(l_a - l0)
            outer = l_a + l0 + 1
            count = min(l_a, l0) + 1  # non-zero entries lowest, lowest + 2, ..., l_a + l0
            square = 1.0
            squares[0] = 1.0
            norm = 2.0 * lowest + 1.0
            for step in range(1, count):
                middle = lowest + 2 * step - 1
                square *= (float((middle - lowest) * (middle + lowest)) * float((outer - middle) * (outer + middle))
                           * (reciprocal[middle + 1 - lowest] * reciprocal[middle + 1 + lowest])
                           * (reciprocal[outer - middle - 1] * reciprocal[outer + middle + 1]))
                squares[step] = square
                norm += (2.0 * middle + 3.0) * square
            scale = weight / norm
            for step in range(count):
                ell = lowest + 2 * step
                if ell > lmax:
                    break
                coupling[ell, l0] += scale * squares[step]
    return coupling


def _work_by_pairs(lmax: int, bandwidth: int) -> float:
    l0 = np.arange(lmax + 1)
    low = np.maximum(0, l0 - bandwidth)
    # sum over ell = low..l0 of (ell + 1)
    return float(np.sum((l0 + 1) * (l0 + 2) / 2 - low * (low + 1) / 2))


def _work_by_bands(lmax: int, bandwidth: int) -> float:
    l_a = np.arange(bandwidth + 1)[:, None]
    l0 = np.arange(lmax + 1)[None, :]
    return float(np.sum(np.minimum(l_a, l0) + 1))


def coupling_from_legendre(coefficients, lmax: int) -> np.ndarray:
    r"""Symmetric coupling :math:`A_{\ell\ell_0} = \sum_{\ell_A} k_{\ell_A}(\ell\,\ell_A\,\ell_0;000)^2`
    (docs/physics/mixing_ode.md#rate-matrix).

    Parameters
    ----------
    coefficients : array_like
        Plain Legendre coefficients :math:`k_{\ell_A}`; entries beyond :math:`2\ell_\max` cannot contribute and
        missing ones count as zero.
    lmax : int
        Largest multipole.

    Returns
    -------
    ndarray, shape (lmax+1, lmax+1)
    """
    lmax = require_integer("lmax", lmax, 0)
    padded = np.zeros(2 * lmax + 1)
    values = np.asarray(coefficients, dtype=float).ravel()[: 2 * lmax + 1]
    if not np.all(np.isfinite(values)):
        raise ParameterError("coefficients", "Legendre coefficients must be finite")
    padded[: values.size] = values
    bandwidth = legendre_bandwidth(padded)
    if _work_by_bands(lmax, bandwidth) < _work_by_pairs(lmax, bandwidth):
        return _coupling_by_bands(padded, lmax, bandwidth)
    return _coupling_by_pairs(padded, lmax, bandwidth)


#: Largest Legendre table (doubles) kept between calls: ℓmax = 1000 with 4004 nodes needs 2.0e6 (16 MB).
_CACHED_TABLE_LIMIT = 4_000_000


def _quadrature_rule(rule) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``rule``: an int n is plain Gauss-Legendre with n nodes, ("graded", d) the graded rule."""
    if isinstance(rule, tuple):
        return graded_gauss_legendre(rule[1])
    return gauss_legendre(rule)


@lru_cache(maxsize=4)
def _parity_tables(lmax: int, rule) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positive nodes of a symmetric rule, their weights, and P_ell there for even and for odd ell (read-only).

    Independent of the rate, so a fit loop that changes only the rate parameters reuses them.  ``rule`` as in
    :func:`_quadrature_rule`.
    """
    nodes, weights = _quadrature_rule(rule)
    positive = nodes > 0.0
    half_nodes, half_weights = nodes[positive], weights[positive]
    table = legendre_table(lmax, half_nodes)
    even_rows, odd_rows = np.ascontiguousarray(table[0::2]), np.ascontiguousarray(table[1::2])
    for array in (even_rows, odd_rows):
        array.setflags(write=False)
    return half_nodes, half_weights, even_rows, odd_rows


def _coupling_on_rule(function, lmax: int, rule) -> np.ndarray:
    r"""Symmetric coupling :math:`A = \frac12\sum_i w_i k(x_i) P_\ell(x_i) P_{\ell_0}(x_i)` on a symmetric rule.

    The nodes pair up as :math:`\pm x` with equal weights and none at 0, so with :math:`k_\pm(x) = k(x) \pm k(-x)`
    on the positive half: entries with :math:`\ell+\ell_0` even take :math:`k_+` and only even-even or odd-odd
    products, entries with :math:`\ell+\ell_0` odd take :math:`k_-`.
    """
    nodes, weights = _quadrature_rule(rule)
    half_count = int(np.count_nonzero(nodes > 0.0))
    cached = (lmax + 1) * half_count <= _CACHED_TABLE_LIMIT
    if cached:
        half_nodes, half_weights, even_table, odd_table = _parity_tables(lmax, rule)
    else:
        positive = nodes > 0.0
        half_nodes, half_weights = nodes[positive], weights[positive]
    values_plus = np.asarray(function(half_nodes), dtype=float)
    values_minus = np.asarray(function(-half_nodes), dtype=float)
    if values_plus.shape != half_nodes.shape or not (np.all(np.isfinite(values_plus))
                                                    and np.all(np.isfinite(values_minus))):
        raise ParameterError("rate", "k(x) must return finite values of the shape of x")
    even_weight = 0.5 * half_weights * (values_plus + values_minus)
    odd_weight = 0.5 * half_weights * (values_plus - values_minus)
    even_ell = np.arange(0, lmax + 1, 2)
    odd_ell = np.arange(1, lmax + 1, 2)
    even_even = np.zeros((even_ell.size, even_ell.size))
    odd_odd = np.zeros((odd_ell.size, odd_ell.size))
    even_odd = np.zeros((even_ell.size, odd_ell.size))
    chunk_size = half_nodes.size if cached else _NODE_CHUNK
    for start in range(0, half_nodes.size, chunk_size):
        chunk = slice(start, start + chunk_size)
        if cached:
            even_rows, odd_rows = even_table, odd_table
        else:
            table = legendre_table(lmax, half_nodes[chunk])
            even_rows, odd_rows = table[0::2], table[1::2]
        even_even += (even_rows * even_weight[chunk]) @ even_rows.T
        odd_odd += (odd_rows * even_weight[chunk]) @ odd_rows.T
        even_odd += (even_rows * odd_weight[chunk]) @ odd_rows.T
    coupling = np.empty((lmax + 1, lmax + 1))
    coupling[np.ix_(even_ell, even_ell)] = even_even
    coupling[np.ix_(odd_ell, odd_ell)] = odd_odd
    coupling[np.ix_(even_ell, odd_ell)] = even_odd
    coupling[np.ix_(odd_ell, even_ell)] = even_odd.T
    return coupling


def coupling_by_quadrature(function, lmax: int, n_nodes: int) -> np.ndarray:
    r"""Symmetric coupling :math:`A_{\ell\ell_0} = \frac12\sum_i w_i k(x_i) P_\ell(x_i) P_{\ell_0}(x_i)`
    (docs/physics/mixing_ode.md#rate-matrix).

    Plain Gauss-Legendre with ``n_nodes`` (rounded up to even) nodes, on parity blocks (:func:`_coupling_on_rule`).
    Legendre tables up to :data:`_CACHED_TABLE_LIMIT` doubles are cached between calls; larger ones are built node
    chunk by node chunk so memory stays :math:`O(\ell_\max\times\text{chunk})`.
    """
    lmax = require_integer("lmax", lmax, 0)
    n_nodes = require_integer("n_nodes", n_nodes, 2)
    return _coupling_on_rule(function, lmax, n_nodes + n_nodes % 2)


def coupling_by_graded_quadrature(function, lmax: int, degree: int | None = None) -> np.ndarray:
    r"""The coupling of :func:`coupling_by_quadrature` on the graded rule, for rates with a kink at :math:`x=\pm1`.

    Uses :func:`anisotropy.legendre.graded_gauss_legendre` of ``degree`` (default
    :func:`nonsmooth_quadrature_degree`), accurate to round-off for :math:`k = (1-x)^{\beta/2}\times` a polynomial
    of degree up to ``degree`` :math:`- 2\ell_\max` (docs/physics/mixing_ode.md#ode, docs/physics/pair_rates.md).
    """
    lmax = require_integer("lmax", lmax, 0)
    degree = nonsmooth_quadrature_degree(lmax) if degree is None else require_integer("degree", degree, 2 * lmax)
    return _coupling_on_rule(function, lmax, ("graded", degree))


def _check_memory(lmax: int, n_nodes: int | None) -> None:
    """Refuse, naming ``lmax`` or ``n_nodes``, a rate matrix whose working memory exceeds the documented limit."""
    if lmax > 10**7 or (n_nodes or 0) > 10**9:  # far beyond the memory limit; keeps the estimate a small float
        raise ParameterError("lmax" if lmax > 10**7 else "n_nodes", "far beyond the working-memory limit "
                             f"({MEMORY_LIMIT_BYTES / 2**30:g} GiB, anisotropy.mixing.MEMORY_LIMIT_BYTES)")
    needed = estimated_bytes(lmax, n_nodes)
    if needed > MEMORY_LIMIT_BYTES:
        raise ParameterError("n_nodes" if n_nodes and n_nodes > 4 * lmax + 3 else "lmax",
                             f"lmax = {lmax} needs about {needed / 2**30:.3g} GiB of working memory "
                             f"(limit {MEMORY_LIMIT_BYTES / 2**30:g} GiB, anisotropy.mixing.MEMORY_LIMIT_BYTES)")


def rate_matrix(rate, lmax: int, method: str = "auto", n_nodes: int | None = None) -> np.ndarray:
    r"""Rate matrix :math:`\Gamma_{\ell\ell_0}` of docs/physics/mixing_ode.md#rate-matrix, eq. (4.3), shape ``(lmax+1,
    lmax+1)``.

    Parameters
    ----------
    rate : anisotropy.PairRate
        The pair-rate function :math:`k(x)` (docs/physics/mixing_ode.md#mixing-matrix).
    lmax : int
        Largest multipole, at least 1.
    method : {"auto", "threej", "quadrature"}
        ``"auto"`` takes the 3j form when the rate knows its Legendre coefficients exactly
        (``rate.has_exact_legendre``) and the Gauss-Legendre form otherwise.  ``"threej"`` with a rate known only
        as a function projects it with ``n_nodes`` nodes (default: :meth:`PairRate.legendre`'s).
    n_nodes : int, optional
        Plain Gauss-Legendre nodes.  Default: :func:`default_quadrature_nodes` for smooth rates, and the graded
        rule of degree :func:`nonsmooth_quadrature_degree` for rates with a kink at x = 1 (``rate.smooth`` false).

    Returns
    -------
    ndarray, shape (lmax+1, lmax+1)
        :math:`\Gamma = A\,\mathrm{diag}(D)` with symmetric :math:`A`; column 0 is zero.

    Raises
    ------
    ParameterError
        For an unknown method, ``lmax < 1``, a bad ``n_nodes``, or an estimated working memory
        (:func:`estimated_bytes`) above :data:`MEMORY_LIMIT_BYTES`.

    Examples
    --------
    >>> import numpy as np
    >>> import anisotropy as an
    >>> gamma = an.rate_matrix(an.PairRate.toy(D_s=0.5, kappa_c=5.0), lmax=40)
    >>> gamma.shape
    (41, 41)
    >>> ell = np.arange(41)
    >>> bool(np.allclose((2 * ell + 1) @ gamma[:, :10], 0.0, atol=1e-10))   # the mixing conserves total power
    True
    """
    lmax = require_integer("lmax", lmax, 1)
    if method not in _METHODS:
        raise ParameterError("method", f"must be one of {_METHODS}, got {method!r}")
    if not (callable(rate) and hasattr(rate, "legendre")):
        raise ParameterError("rate", f"expected an anisotropy.PairRate, got {type(rate).__name__}")
    if n_nodes is not None:
        n_nodes = require_integer("n_nodes", n_nodes, 2)
    _check_memory(lmax, n_nodes)
    if method == "auto":
        method = "threej" if rate.has_exact_legendre else "quadrature"
    if method == "threej":
        if rate.has_exact_legendre or n_nodes is None:
            coefficients = rate.legendre(2 * lmax)
        else:
            coefficients = rate.legendre(2 * lmax, n_nodes=n_nodes)
        coupling = coupling_from_legendre(coefficients, lmax)
    else:
        if n_nodes is not None:
            coupling = coupling_by_quadrature(rate, lmax, n_nodes)
        elif bool(getattr(rate, "smooth", False)):
            coupling = coupling_by_quadrature(rate, lmax, default_quadrature_nodes(lmax, smooth=True))
        else:
            coupling = coupling_by_graded_quadrature(rate, lmax)
    return coupling * column_weights(lmax)[None, :]

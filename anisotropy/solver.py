r"""Steady state and time evolution of :math:`\langle C_\ell\rangle`, docs/physics/mixing_ode.md#ode, eq. (4.4), and
ℓmax control.

.. math::

    \frac{d\langle C_\ell\rangle}{dt} = \sum_{\ell_0}\Gamma_{\ell\ell_0}\langle C_{\ell_0}\rangle + S\,\delta_{\ell 1},
    \qquad S = \tfrac{8\pi}{3}\,G\cdot K\cdot G .

Structure used throughout (docs/physics/mixing_ode.md#rate-matrix): column 0 of :math:`\Gamma` vanishes, so the monopole
never feeds back and
the multipoles ℓ = 1..ℓmax form a closed system :math:`\Gamma' = \Gamma_{[1..L],[1..L]}`.  A matrix built by
:func:`anisotropy.rate_matrix` factors as :math:`\Gamma' = A' D'` with :math:`A'` symmetric and
:math:`D' = \mathrm{diag}((2\ell+1)\ell(\ell+1))` positive.  Hence

* the steady state solves :math:`A' y = -S e_1`, :math:`C = D'^{-1} y`; for a physical rate (:math:`k\le0`,
  docs/physics/mixing_ode.md#mixing-matrix) :math:`-A'` is positive definite and a Cholesky solve is used (LU
  otherwise), banded when
  :math:`\Gamma` is (smooth rates, :data:`BANDED_FRACTION`);
* :math:`\Gamma'` is similar to the symmetric :math:`H = D'^{1/2}A'D'^{1/2}`, so it has real eigenvalues and an
  orthonormal eigenbasis, in which the ODE decouples into scalar equations
  :math:`\dot a_j = \lambda_j a_j + b_j S(t)`.  :func:`evolve` integrates these exactly for a polynomial source
  (exponential time differencing with :math:`\varphi`-functions) and interpolates a callable source by
  piecewise polynomials to :data:`SOURCE_RTOL`.  A general :math:`\Gamma` without this structure falls back to a
  (complex) eigen-decomposition, checked for conditioning.

The truncation :math:`C_\ell = 0` for :math:`\ell > \ell_\max` is an absorbing boundary: always check
convergence in ℓmax (:func:`converge_lmax`, docs/physics/mixing_ode.md#ode).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from .errors import ParameterError, require_integer, require_range
from .legendre import gauss_legendre
from .mixing import column_weights, rate_matrix

#: progress of long solves (one INFO record per ℓmax of converge_lmax); the CLI shows it on standard error
_log = logging.getLogger(__name__)

__all__ = [
    "SOURCE_RTOL",
    "ConvergenceResult",
    "ConvergenceStep",
    "LmaxConvergenceWarning",
    "converge_lmax",
    "evolve",
    "steady_state",
]

#: Relative size of Γ's monopole column tolerated as rounding (it is exactly zero in
#: docs/physics/mixing_ode.md#rate-matrix, eq. (4.3)).
MONOPOLE_COLUMN_RTOL = 1e-12

#: Relative asymmetry of A' = Γ'/D' still treated as rounding, so the symmetric (Cholesky, eigh) path is used.
SYMMETRY_RTOL = 1e-10

#: Target accuracy of the piecewise-polynomial interpolation of a callable source, relative to max|S| sampled.
SOURCE_RTOL = 1e-12

#: Degree of the polynomial that represents a callable source on each time panel.
SOURCE_DEGREE = 7

#: Panels are halved at most this many times (a panel then spans 2**-40 of an output interval).
_MAX_PANEL_HALVINGS = 40

#: Negative steady-state C_l down to this fraction of max |C_l| are rounding of the solve (multipoles that the rate
#: does not feed come out as +-1e-17 of C_1), not instability; below it the result is refused
NEGATIVE_ROUNDOFF_RTOL = 1e-10

#: Largest condition number of the eigenvector matrix accepted on the general (non-symmetric) evolution path.
EIGENVECTOR_CONDITION_LIMIT = 1e8

# Gauss-Legendre rule on [0, 1] for the integral representation of the phi-functions at small |z|
_PHI_NODES = 0.5 * (gauss_legendre(32)[0] + 1.0)
_PHI_WEIGHTS = 0.5 * gauss_legendre(32)[1]


# ---------------------------------------------------------------------------------------------------- validation
def _validated_gamma(Gamma) -> np.ndarray:
    try:
        raw = np.asarray(Gamma)
    except (TypeError, ValueError):
        raise ParameterError("Gamma", "expected a real square matrix (lmax+1, lmax+1)") from None
    if np.iscomplexobj(raw):
        if np.any(raw.imag != 0):
            raise ParameterError("Gamma", "has complex entries; the rate matrix of a real k(x) is real")
        raw = raw.real
    try:
        matrix = np.array(raw, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("Gamma", "expected a real square matrix (lmax+1, lmax+1)") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ParameterError("Gamma", f"expected a square matrix (lmax+1, lmax+1), got shape {matrix.shape}")
    if matrix.shape[0] < 3:
        raise ParameterError("Gamma", f"lmax = shape[0] - 1 must be >= 2, got {matrix.shape[0] - 1}")
    if not np.all(np.isfinite(matrix)):
        raise ParameterError("Gamma", "all entries must be finite")
    scale = np.max(np.abs(matrix))
    if np.max(np.abs(matrix[:, 0])) > MONOPOLE_COLUMN_RTOL * scale:
        raise ParameterError("Gamma", "column 0 must vanish (factor l0(l0+1) in docs/physics/mixing_ode.md#rate-matrix, eq. (4.3)): the monopole decouples")  # noqa: E501
    return matrix


@dataclass(frozen=True)
class _Structure:
    """Γ' = Γ[1:, 1:], its column weights D' and, if A' = Γ'/D' is symmetric, the symmetrised A'."""

    block: np.ndarray
    weights: np.ndarray
    coupling: np.ndarray | None


def _structure(matrix: np.ndarray) -> _Structure:
    lmax = matrix.shape[0] - 1
    block = matrix[1:, 1:]
    weights = column_weights(lmax)[1:]
    coupling = block / weights[None, :]
    scale = np.max(np.abs(coupling))
    if scale == 0.0 or np.max(np.abs(coupling - coupling.T)) <= SYMMETRY_RTOL * scale:
        return _Structure(block, weights, 0.5 * (coupling + coupling.T))
    return _Structure(block, weights, None)


# ---------------------------------------------------------------------------------------------------- steady state
#: A matrix whose bandwidth is below this fraction of its size is solved as banded (O(n b^2) instead of O(n^3))
BANDED_FRACTION = 0.25


def _bandwidth(matrix: np.ndarray) -> int:
    """Largest |i - j| with a non-zero entry (smooth rates give banded Γ, docs/physics/mixing_ode.md#rate-matrix)."""
    nonzero = matrix != 0.0
    size = matrix.shape[0]
    occupied = nonzero.any(axis=1)
    if not occupied.any():
        return 0
    last = size - 1 - np.argmax(nonzero[:, ::-1], axis=1)  # last non-zero column of each row
    # the matrix is symmetric here, so the upper band equals the lower band
    return int(np.max((last - np.arange(size))[occupied]))


def _solve_positive_definite(matrix: np.ndarray, right_hand_side: np.ndarray) -> np.ndarray:
    """Cholesky solve, banded when the matrix is; raises LinAlgError if the matrix is not positive definite."""
    size = matrix.shape[0]
    bandwidth = _bandwidth(matrix)
    if bandwidth < BANDED_FRACTION * size:
        lower_bands = np.zeros((bandwidth + 1, size))
        for offset in range(bandwidth + 1):
            lower_bands[offset, : size - offset] = np.diagonal(matrix, -offset)
        return scipy.linalg.solveh_banded(lower_bands, right_hand_side, lower=True, check_finite=False)
    factor = scipy.linalg.cho_factor(matrix, lower=True, check_finite=False)
    return scipy.linalg.cho_solve(factor, right_hand_side, check_finite=False)


def steady_state(Gamma, source) -> np.ndarray:
    r"""Steady-state :math:`\langle C_\ell\rangle` of docs/physics/mixing_ode.md#ode, eq. (4.4):
    :math:`\Gamma_{[1..L],[1..L]}\,C = -S e_1`.

    Parameters
    ----------
    Gamma : array_like, shape (lmax+1, lmax+1)
        Rate matrix (:func:`anisotropy.rate_matrix`), lmax >= 2, finite, with a vanishing monopole column.
    source : float
        The ℓ = 1 source :math:`S = \frac{8\pi}{3}G\cdot K\cdot G` (docs/physics/mixing_ode.md#ode).

    Returns
    -------
    ndarray, shape (lmax+1,)
        ``C[ell]``; ``C[0]`` is nan because the monopole decouples and grows without bound (at rate 3S).

    Raises
    ------
    ParameterError
        For a malformed ``Gamma`` or ``source``, or a singular :math:`\Gamma'` (no steady state, e.g. the rigid
        rotation limit :math:`\Gamma\equiv0`).

    Examples
    --------
    >>> import numpy as np
    >>> import anisotropy as an
    >>> no_correlation = an.PairRate.from_function(lambda x: np.where(x < 1.0, -1.0, 0.0))   # k = -2 D_s, D_s = 0.5
    >>> cl = an.steady_state(an.rate_matrix(no_correlation, lmax=8), source=1.0)
    >>> bool(np.isnan(cl[0]))                              # the monopole decouples
    True
    >>> round(float(cl[1]), 10), round(float(cl[2]), 10)   # a pure dipole, C_1 = S / (4 D_s)
    (0.5, 0.0)
    """
    matrix = _validated_gamma(Gamma)
    source = _validated_source(source)
    structure = _structure(matrix)
    right_hand_side = np.zeros(matrix.shape[0] - 1)
    right_hand_side[0] = -source
    result = np.full(matrix.shape[0], np.nan)
    try:
        if structure.coupling is not None:
            try:
                scaled = -_solve_positive_definite(-structure.coupling, right_hand_side)
            except np.linalg.LinAlgError:
                # A' not negative definite: Γ' = A' D' (D' > 0) has the same inertia, so an eigenvalue >= 0
                _refuse_unstable(structure.coupling)
            result[1:] = scaled / structure.weights
        else:
            with warnings.catch_warnings():  # an ill-conditioned Γ' gives a meaningless solution: refuse it
                warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
                try:
                    result[1:] = scipy.linalg.solve(structure.block, right_hand_side, check_finite=False)
                except scipy.linalg.LinAlgWarning as warning:
                    raise ParameterError("Gamma", f"Γ[1:, 1:] is numerically singular ({warning})") from None
    except np.linalg.LinAlgError:
        raise ParameterError("Gamma", "Γ[1:, 1:] is singular: no steady state (e.g. rigid rotation, Γ ≡ 0)") from None
    _check_solution(result[1:])
    return result


def _validated_source(source) -> float:
    # S = (8π/3) G·K·G >= 0 for a positive semi-definite diffusion tensor K (docs/physics/mixing_ode.md#rate-matrix)
    return require_range("source", source, 0.0, None)


def _refuse_unstable(coupling: np.ndarray):
    largest = float(np.linalg.eigvalsh(coupling)[-1])
    scale = float(np.max(np.abs(coupling)))
    if largest <= SYMMETRY_RTOL * scale:
        raise np.linalg.LinAlgError("singular")
    raise ParameterError(
        "Gamma",
        f"is unstable: Γ[1:, 1:] has an eigenvalue of sign +, {largest:.3g} (k(x) > 0 somewhere), so C_l grow "
        "without bound and there is no steady state; use evolve() for finite times",
    )


def _check_solution(cl: np.ndarray) -> None:
    """A steady state of a stable Γ with S >= 0 is finite and non-negative; anything else is refused."""
    if not np.all(np.isfinite(cl)):
        raise ParameterError("Gamma", "the steady state overflows (entries of Γ or the source too large or small)")
    negative = cl < -NEGATIVE_ROUNDOFF_RTOL * np.max(np.abs(cl), initial=0.0)
    if np.any(negative):
        ell = int(np.argmax(negative)) + 1
        raise ParameterError(
            "Gamma", f"has no physical steady state: C_{ell} = {cl[ell - 1]:.3g} < 0 (Γ[1:, 1:] is not a stable rate "
            "matrix)")


# ---------------------------------------------------------------------------------------------------- evolution
def _phi_functions(order: int, z: np.ndarray) -> np.ndarray:
    r""":math:`\varphi_0..\varphi_{order}(z)`, :math:`\varphi_0 = e^z`, :math:`\varphi_k = \sum_j z^j/(j+k)!`.

    For :math:`|z| >` order + 2 the recursion :math:`\varphi_{k+1} = (\varphi_k - 1/k!)/z` is stable (each step
    divides the error by :math:`|z|/(k+1) > 1`).  Below, the cancellation in that recursion is avoided with the
    integral form :math:`\varphi_k(z) = \frac{1}{(k-1)!}\int_0^1 e^{(1-\theta)z}\theta^{k-1}d\theta` on 32 Gauss
    nodes (exact to rounding for :math:`|z| \lesssim 20`).
    """
    z = np.asarray(z)
    values = np.empty((order + 1, *z.shape), dtype=np.result_type(z, float))
    values[0] = np.exp(z)
    large = np.abs(z) > order + 2
    if np.any(large):
        z_large = z[large]
        current = values[0][large]
        for k in range(order):
            current = (current - 1.0 / math.factorial(k)) / z_large
            values[k + 1][large] = current
    small = ~large
    if np.any(small):
        z_small = z[small]
        exponential = np.exp(np.multiply.outer(z_small, 1.0 - _PHI_NODES))
        for k in range(1, order + 1):
            values[k][small] = exponential @ (_PHI_WEIGHTS * _PHI_NODES ** (k - 1)) / math.factorial(k - 1)
    return values


class _ConstantSource:
    def __init__(self, value: float):
        self.value = value


def _validated_times(times) -> np.ndarray:
    try:
        array = np.array(times, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError("times", "expected a 1-d sequence of non-negative, non-decreasing numbers") from None
    if array.ndim == 0:
        array = array[None]
    if array.ndim != 1 or array.size == 0:
        raise ParameterError("times", f"expected a non-empty 1-d sequence, got shape {array.shape}")
    if not np.all(np.isfinite(array)) or np.any(array < 0.0):
        raise ParameterError("times", "all times must be finite and >= 0")
    if np.any(np.diff(array) < 0.0):
        raise ParameterError("times", "times must be sorted (non-decreasing)")
    return array


class _SourcePanels:
    r"""Piecewise polynomial representation of a callable S(t) on panels, refined until it meets SOURCE_RTOL.

    On a panel the source is interpolated at Chebyshev points of the first kind and checked half-way between
    them, both in the Chebyshev basis (condition number ~1, so the check is not limited by rounding); only then are
    the coefficients converted to the monomials :math:`u^k`, :math:`u\in[0,1]`, that the propagator needs.
    """

    def __init__(self, function: Callable):
        self.function = function
        degree = SOURCE_DEGREE
        angles = np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1)
        fit_nodes = np.sort(-np.cos(angles))  # on [-1, 1]
        check_nodes = 0.5 * (fit_nodes[1:] + fit_nodes[:-1])
        self.fit_points = 0.5 * (fit_nodes + 1.0)
        self.check_points = 0.5 * (check_nodes + 1.0)
        chebyshev = np.polynomial.chebyshev
        self.values_to_chebyshev = np.linalg.inv(chebyshev.chebvander(fit_nodes, degree))
        self.check_chebyshev = chebyshev.chebvander(check_nodes, degree)
        # T_k(2u - 1) expanded in powers of u
        to_monomials = np.zeros((degree + 1, degree + 1))
        for order in range(degree + 1):
            series = np.polynomial.Chebyshev.basis(order, domain=[0.0, 1.0]).convert(kind=np.polynomial.Polynomial)
            to_monomials[: series.coef.size, order] = series.coef
        self.chebyshev_to_monomials = to_monomials
        self.scale = 0.0

    def _evaluate(self, times: np.ndarray) -> np.ndarray:
        values = np.array([self.function(float(time)) for time in times], dtype=float)
        if values.shape != times.shape or not np.all(np.isfinite(values)):
            raise ParameterError("source", "S(t) must return one finite number per time")
        return values

    def coefficients(self, start: float, width: float) -> np.ndarray | None:
        """Monomial coefficients of S(start + width*u), u in [0, 1], or None if the fit misses SOURCE_RTOL."""
        fit_values = self._evaluate(start + width * self.fit_points)
        check_values = self._evaluate(start + width * self.check_points)
        self.scale = max(self.scale, np.max(np.abs(fit_values)), np.max(np.abs(check_values)))
        chebyshev_coefficients = self.values_to_chebyshev @ fit_values
        miss = np.max(np.abs(self.check_chebyshev @ chebyshev_coefficients - check_values))
        if miss > SOURCE_RTOL * self.scale:
            return None
        return self.chebyshev_to_monomials @ chebyshev_coefficients


class _ModalPropagator:
    r"""Exact propagation of :math:`\dot a = \lambda a + b S(t)` and :math:`\dot q = a` over one panel.

    With :math:`S(t_0 + h u) = \sum_k c_k u^k`: :math:`a \leftarrow e^{z}a + b h\sum_k c_k k!\varphi_{k+1}(z)` and
    :math:`q \leftarrow q + h\varphi_1(z)a + b h^2\sum_k c_k k!\varphi_{k+2}(z)`, :math:`z = \lambda h`.
    """

    def __init__(self, eigenvalues: np.ndarray, projected_source: np.ndarray):
        self.eigenvalues = eigenvalues
        self.projected_source = projected_source
        self.amplitude = np.zeros_like(projected_source)
        self.integral = np.zeros_like(projected_source)

    def advance(self, width: float, coefficients: np.ndarray) -> None:
        if width == 0.0:
            return
        degree = coefficients.size - 1
        phi = _phi_functions(degree + 2, self.eigenvalues * width)
        scaled = coefficients * np.array([math.factorial(k) for k in range(degree + 1)])
        forcing_amplitude = width * (scaled @ phi[1 : degree + 2])
        forcing_integral = width * width * (scaled @ phi[2 : degree + 3])
        self.integral = self.integral + width * phi[1] * self.amplitude + self.projected_source * forcing_integral
        self.amplitude = phi[0] * self.amplitude + self.projected_source * forcing_amplitude


def _advance(propagator: _ModalPropagator, source, start: float, stop: float) -> None:
    """Advance from ``start`` to ``stop`` with a constant source or adaptively refined source panels."""
    if stop <= start:
        return
    if isinstance(source, _ConstantSource):
        propagator.advance(stop - start, np.array([source.value]))
        return
    pending = [(start, stop - start, 0)]
    while pending:
        panel_start, width, halvings = pending.pop()
        coefficients = source.coefficients(panel_start, width)
        if coefficients is None:
            if halvings >= _MAX_PANEL_HALVINGS:
                raise ParameterError("source", f"S(t) cannot be resolved near t = {panel_start:g} (not smooth?)")
            half = 0.5 * width
            # the later half is pushed first so the earlier half is integrated first
            pending.append((panel_start + half, half, halvings + 1))
            pending.append((panel_start, half, halvings + 1))
            continue
        propagator.advance(width, coefficients)


def evolve(Gamma, source, times) -> np.ndarray:
    r"""Time evolution of :math:`\langle C_\ell\rangle(t)` under docs/physics/mixing_ode.md#ode, eq. (4.4), from
    :math:`C = 0` at t = 0.

    Parameters
    ----------
    Gamma : array_like, shape (lmax+1, lmax+1)
        Rate matrix (:func:`anisotropy.rate_matrix`), lmax >= 2, with a vanishing monopole column.
    source : float or callable
        The ℓ = 1 source, a constant :math:`S` or a function :math:`S(t)` of one float (e.g. the finite-backtracking
        source :math:`S_0(1-e^{-\nu_1 t})` of docs/physics/mixing_ode.md#ode, docs/physics/toy_model.md#toy-model).  A
        callable is represented by piecewise
        polynomials of degree :data:`SOURCE_DEGREE`, refined until they match it to :data:`SOURCE_RTOL` relative;
        it must be smooth between the output times (put a kink at an output time).
    times : array_like of float
        Output times, >= 0, non-decreasing.  The time unit is that of Γ (1/Γ's rates).

    Returns
    -------
    ndarray, shape (len(times), lmax+1)
        ``C[i, ell]`` at ``times[i]``.  Column 0 is the monopole of the truncated model,
        :math:`C_0(t) = \sum_{\ell_0}\Gamma_{0\ell_0}\int_0^t C_{\ell_0}`: finite at finite t and growing like
        :math:`3\int S\,dt` at late times, because :math:`\sum_\ell(2\ell+1)\Gamma_{\ell\ell_0} = 0` moves power
        between multipoles without loss (docs/physics/source.md#total-power).  Power that the truncation absorbs past
        ℓmax is missing from
        it, so it equals the total-power bookkeeping only when the cascade has not reached ℓmax.

    Notes
    -----
    Each mode of the eigen-decomposition of :math:`\Gamma'` (module docstring) is advanced exactly over each time
    panel for a polynomial source, so stiffness (rates up to :math:`\sim 2D_s\ell_\max^2`) costs nothing and a
    constant source is exact up to rounding.

    Raises
    ------
    ParameterError
        For malformed input, or a non-symmetric Γ whose eigenvectors are too ill-conditioned
        (:data:`EIGENVECTOR_CONDITION_LIMIT`).

    Examples
    --------
    >>> import math
    >>> import numpy as np
    >>> import anisotropy as an
    >>> no_correlation = an.PairRate.from_function(lambda x: np.where(x < 1.0, -1.0, 0.0))   # k = -2 D_s, D_s = 0.5
    >>> cl_t = an.evolve(an.rate_matrix(no_correlation, lmax=8), source=1.0, times=[0.5, 1.0])
    >>> cl_t.shape
    (2, 9)
    >>> math.isclose(cl_t[1, 1], 0.5 * (1 - math.exp(-2.0)))   # C_1(t) = S (1 - exp(-4 D_s t)) / (4 D_s)
    True
    """
    matrix = _validated_gamma(Gamma)
    times = _validated_times(times)
    if callable(source):
        source_model = _SourcePanels(source)
    else:
        source_model = _ConstantSource(_validated_source(source))
    structure = _structure(matrix)
    if structure.coupling is not None:
        root_weights = np.sqrt(structure.weights)
        symmetric = root_weights[:, None] * structure.coupling * root_weights[None, :]
        eigenvalues, eigenvectors = scipy.linalg.eigh(symmetric, check_finite=False)
        projected_source = root_weights[0] * eigenvectors[0, :]
        to_multipoles = eigenvectors / root_weights[:, None]
    else:
        eigenvalues, eigenvectors = scipy.linalg.eig(structure.block, check_finite=False)
        condition = np.linalg.cond(eigenvectors)
        if not np.isfinite(condition) or condition > EIGENVECTOR_CONDITION_LIMIT:
            raise ParameterError("Gamma", f"eigenvectors too ill-conditioned for evolution (cond = {condition:.2g})")
        projected_source = np.linalg.solve(eigenvectors, np.eye(len(eigenvalues))[:, 0])
        to_multipoles = eigenvectors
    propagator = _ModalPropagator(eigenvalues, projected_source.astype(eigenvalues.dtype))
    monopole_row = matrix[0, 1:]
    result = np.empty((times.size, matrix.shape[0]))
    current_time = 0.0
    for index, time in enumerate(times):
        _advance(propagator, source_model, current_time, time)
        current_time = time
        multipoles = to_multipoles @ propagator.amplitude
        monopole = monopole_row @ (to_multipoles @ propagator.integral)
        result[index, 1:] = np.real(multipoles)
        result[index, 0] = np.real(monopole)
    return result


# ---------------------------------------------------------------------------------------------------- convergence
class LmaxConvergenceWarning(RuntimeWarning):
    """The requested multipoles did not converge in ℓmax within the allowed limit."""


@dataclass(frozen=True)
class ConvergenceStep:
    """One doubling of ℓmax: the relative change of each requested multipole against the previous ℓmax.

    Attributes
    ----------
    lmax : int
        The new ℓmax.
    changes : ndarray
        :math:`|C_\\ell(\\ell_\\max) - C_\\ell(\\ell_\\max/2)| / |C_\\ell(\\ell_\\max)|` for each requested ℓ.
    max_change : float
        The largest of ``changes``.
    remaining_estimate : float
        Geometric estimate of the change still to come, :math:`\\delta_n r/(1-r)` with
        :math:`r = \\delta_n/\\delta_{n-1}` (inf if the changes do not shrink, nan on the first step).
    """

    lmax: int
    changes: np.ndarray
    max_change: float
    remaining_estimate: float


@dataclass(frozen=True)
class ConvergenceResult:
    """Outcome of :func:`converge_lmax`.

    Attributes
    ----------
    cl : ndarray
        Steady-state C_ℓ at the final ℓmax (``cl[0]`` nan).
    lmax : int
        The final ℓmax.
    converged : bool
        True only if the last change and the estimated remaining change are both within ``rtol``.
    history : tuple of ConvergenceStep
        One entry per doubling.
    ells : ndarray
        The multipoles that were monitored.
    rtol : float
        The requested relative tolerance.
    lmax_values : tuple of int
        Every ℓmax that was solved.
    """

    cl: np.ndarray
    lmax: int
    converged: bool
    history: tuple[ConvergenceStep, ...]
    ells: np.ndarray
    rtol: float
    lmax_values: tuple[int, ...] = field(default=())


def _relative_changes(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    difference = np.abs(new - old)
    magnitude = np.abs(new)
    with np.errstate(divide="ignore", invalid="ignore"):
        changes = np.where(difference == 0.0, 0.0, difference / magnitude)
    return changes


def converge_lmax(
    rate,
    source: float,
    ells: Sequence[int] = tuple(range(1, 11)),
    rtol: float = 0.01,
    lmax_start: int = 64,
    lmax_limit: int = 1024,
    method: str = "auto",
) -> ConvergenceResult:
    r"""Steady state with ℓmax doubled until the requested multipoles stop changing (docs/physics/mixing_ode.md#ode,
    "Truncation").

    The truncation at ℓmax absorbs the power that cascades past it.  For a rate that is non-analytic at x = 1 the
    low multipoles converge quickly; for an analytic (smooth) rate they drift up logarithmically and may never
    converge (docs/physics/mixing_ode.md#ode), which this function reports instead of hiding.

    Parameters
    ----------
    rate : anisotropy.PairRate
        The pair-rate model.
    source : float
        The ℓ = 1 source S.
    ells : sequence of int
        Multipoles to monitor, each in 1..lmax_start.
    rtol : float
        Relative tolerance, in (0, 1).
    lmax_start, lmax_limit : int
        First ℓmax (>= 2) and the largest ℓmax allowed (>= lmax_start).
    method : str
        Passed to :func:`anisotropy.rate_matrix`.

    Returns
    -------
    ConvergenceResult
        Converged only if the last doubling changed every monitored :math:`C_\ell` by at most ``rtol`` **and** the
        geometric extrapolation of the changes (``remaining_estimate``) is also within ``rtol``; this needs at
        least two doublings.  Otherwise ``converged`` is False and an :class:`LmaxConvergenceWarning` is issued.

    Examples
    --------
    >>> import numpy as np
    >>> import anisotropy as an
    >>> kinked = an.PairRate.from_function(lambda x: -np.sqrt((1 - x) / 2))   # -k ~ theta near x = 1: converges
    >>> outcome = an.converge_lmax(kinked, source=1.0, ells=(1, 2, 3), rtol=0.02)
    >>> outcome.converged, outcome.lmax > 64
    (True, True)
    """
    lmax_start = require_integer("lmax_start", lmax_start, 2)
    lmax_limit = require_integer("lmax_limit", lmax_limit, lmax_start)
    rtol = require_range("rtol", rtol, 0.0, 1.0, low_open=True, high_open=True)
    source = require_range("source", source)
    ell_list = [require_integer("ells", ell, 1, lmax_start) for ell in np.atleast_1d(np.asarray(ells))]
    if not ell_list:
        raise ParameterError("ells", "expected at least one multipole")
    ell_array = np.array(sorted(set(ell_list)))

    history: list[ConvergenceStep] = []
    lmax_values: list[int] = []
    lmax = lmax_start
    previous = None
    converged = False
    while True:
        _log.info("steady state at lmax = %d (doubling until C_l, l in %s, change by <= %g)", lmax,
                  ell_array.tolist(), rtol)
        cl = steady_state(rate_matrix(rate, lmax, method=method), source)
        lmax_values.append(lmax)
        if previous is not None:
            changes = _relative_changes(cl[ell_array], previous[ell_array])
            max_change = float(np.max(changes))
            if history:
                last = history[-1].max_change
                if max_change == 0.0:
                    remaining = 0.0
                elif last > 0.0 and max_change < last:
                    ratio = max_change / last
                    remaining = max_change * ratio / (1.0 - ratio)
                else:
                    remaining = math.inf
            else:
                remaining = math.nan
            history.append(ConvergenceStep(lmax, changes, max_change, remaining))
            converged = max_change <= rtol and remaining <= rtol
        if converged or 2 * lmax > lmax_limit:
            break
        previous = cl
        lmax *= 2
    if not converged:
        last_change = history[-1].max_change if history else math.nan
        warnings.warn(
            f"C_l for l in {ell_array.tolist()} not converged to rtol = {rtol:g} by lmax = {lmax} "
            f"(last relative change {last_change:.3g}); a rate analytic at x = 1 drifts logarithmically (docs/physics/mixing_ode.md#ode)",  # noqa: E501
            LmaxConvergenceWarning,
            stacklevel=2,
        )
    return ConvergenceResult(cl, lmax, converged, tuple(history), ell_array, rtol, tuple(lmax_values))

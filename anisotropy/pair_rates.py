r"""Pair-rate models :math:`k(x)`: the Markov rate of the relative angular random walk of two directions.

``PHYSICS.md`` sect. 4.2: :math:`\kappa(x;\Delta t) = \tilde c(x;\Delta t) - \tilde c(1;\Delta t)` and
:math:`k(x) = \kappa(x;\Delta t)/\Delta t`.  The rate matrix (4.3) needs either :math:`k(x)` as a function (for the
Gauss-Legendre form) or its plain Legendre coefficients :math:`k_{\ell_A}` (for the 3j form).  A model provides
whichever it knows exactly; :func:`anisotropy.rate_matrix` chooses the form from that.

Every physical model satisfies :math:`k(1) = 0` (a direction paired with itself sees identical kicks), which is
what makes the mixing conserve total power, :math:`\sum_\ell (2\ell+1)\Gamma_{\ell\ell_0} = 0`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from .errors import ParameterError, require_integer, require_range
from .legendre import gauss_legendre, legendre_coefficients, legendre_series

__all__ = ["PairRate"]

#: relative size of |k(1)| against max|k| above which a user-supplied rate is rejected (k(1) = 0 is exact physics)
K_AT_ONE_TOLERANCE = 1e-8


class PairRate:
    r"""A pair-rate function :math:`k(x)` on :math:`x\in[-1,1]` (PHYSICS 4.2).

    Build one with the constructors :meth:`toy`, :meth:`from_function`, :meth:`from_legendre` (or the physical
    models).  Instances are immutable descriptions; evaluation is cheap.

    Attributes
    ----------
    name : str
        Model name, recorded in results.
    params : dict
        The model's parameters, recorded in results.
    smooth : bool
        Whether :math:`k` is analytic at :math:`x = 1`.  Smooth rates give a Batchelor-like cascade whose low
        multipoles drift with ℓmax (PHYSICS 4.3); non-smooth ones need more quadrature nodes.
    """

    def __init__(
        self,
        name: str,
        params: dict,
        *,
        function: Callable | None = None,
        legendre: Callable[[int], np.ndarray] | None = None,
        smooth: bool = False,
    ):
        if function is None and legendre is None:
            raise ValueError("a PairRate needs a function k(x), Legendre coefficients, or both")
        self.name = name
        self.params = dict(params)
        self.smooth = bool(smooth)
        self._function = function
        self._legendre = legendre

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"PairRate.{self.name}({arguments})"

    @property
    def has_exact_legendre(self) -> bool:
        """True if the Legendre coefficients are known in closed form (the 3j form of Γ is then preferred)."""
        return self._legendre is not None

    @property
    def has_function(self) -> bool:
        return self._function is not None

    def __call__(self, x) -> np.ndarray:
        """Evaluate :math:`k(x)`; from the Legendre series if only coefficients are known."""
        x = np.asarray(x, dtype=float)
        if self._function is not None:
            return np.asarray(self._function(x), dtype=float)
        coefficients = self._legendre(_series_length_for_evaluation())
        return legendre_series(coefficients, x)

    def legendre(self, lmax: int, n_nodes: int | None = None) -> np.ndarray:
        r"""Plain Legendre coefficients :math:`k_{\ell_A} = \frac{2\ell_A+1}{2}\int k P_{\ell_A}\,dx`, ℓA = 0..lmax.

        Exact for models that know them; otherwise Gauss-Legendre quadrature with ``n_nodes`` nodes (default:
        enough for degree 2·lmax, and 8x more for rates that are not analytic at x = 1).
        """
        lmax = require_integer("lmax", lmax, 0)
        if self._legendre is not None:
            return np.asarray(self._legendre(lmax), dtype=float)[: lmax + 1].copy()
        if n_nodes is None:
            n_nodes = default_nodes(lmax, self.smooth)
        nodes, weights = gauss_legendre(n_nodes)
        return legendre_coefficients(self._function(nodes), weights, nodes, lmax)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def toy(cls, D_s: float = 0.5, kappa_c: float = 5.0) -> PairRate:
        r"""White-noise rotation field of PHYSICS sect. 8: :math:`k(x) = 2D_s(e^{-\kappa_c(1-x)} - 1)`.

        Closed-form coefficients :math:`k_\ell = 2D_s[e^{-\kappa_c}(2\ell+1)\,i_\ell(\kappa_c) - \delta_{\ell0}]`
        with :math:`i_\ell` the modified spherical Bessel function, evaluated as
        :math:`e^{-\kappa}i_\ell(\kappa) = \sqrt{\pi/(2\kappa)}\,I^{(e)}_{\ell+1/2}(\kappa)` (exponentially scaled,
        no overflow).  ``kappa_c = 0`` is the rigid-rotation limit :math:`k\equiv0`.
        """
        D_s = require_range("D_s", D_s, 0.0, None, low_open=True)
        kappa_c = require_range("kappa_c", kappa_c, 0.0, None)

        def function(x):
            return 2.0 * D_s * np.expm1(-kappa_c * (1.0 - np.asarray(x, dtype=float)))

        def legendre(lmax):
            ell = np.arange(lmax + 1)
            if kappa_c == 0.0:
                scaled = (ell == 0).astype(float)
            else:
                scaled = (2 * ell + 1) * np.sqrt(np.pi / (2.0 * kappa_c)) * special.ive(ell + 0.5, kappa_c)
            coefficients = 2.0 * D_s * scaled
            coefficients[0] -= 2.0 * D_s
            return coefficients

        return cls("toy", {"D_s": D_s, "kappa_c": kappa_c}, function=function, legendre=legendre, smooth=True)

    @classmethod
    def from_function(cls, function: Callable, *, smooth: bool = False, name: str = "from_function") -> PairRate:
        r"""Wrap a vectorised callable :math:`k(x)`.

        ``smooth`` says whether :math:`k` is analytic at x = 1 (more quadrature nodes are used if not).  Raises
        :class:`ParameterError` if :math:`k(1) \ne 0`, which would break conservation of total power.
        """
        if not callable(function):
            raise ParameterError("function", "expected a callable k(x) on [-1, 1]")
        probe = np.asarray(function(np.linspace(-1.0, 1.0, 201)), dtype=float)
        if probe.shape != (201,) or not np.all(np.isfinite(probe)):
            raise ParameterError("function", "k(x) must return finite values of the shape of x on [-1, 1]")
        scale = max(float(np.max(np.abs(probe))), np.finfo(float).tiny)
        if abs(probe[-1]) > K_AT_ONE_TOLERANCE * scale:
            raise ParameterError("function", f"k(1) must vanish (pair = itself), got k(1) = {probe[-1]:g}")
        return cls(name, {"function": getattr(function, "__name__", repr(function))}, function=function,
                   smooth=smooth)

    @classmethod
    def from_legendre(cls, coefficients, *, name: str = "from_legendre") -> PairRate:
        r"""Rate given by its plain Legendre coefficients :math:`k_{\ell_A}`; higher ones are zero.

        Raises :class:`ParameterError` if :math:`\sum_\ell k_\ell = k(1) \ne 0`.
        """
        coefficients = np.array(coefficients, dtype=float).ravel()
        if coefficients.size == 0 or not np.all(np.isfinite(coefficients)):
            raise ParameterError("coefficients", "expected a non-empty sequence of finite numbers")
        scale = max(float(np.sum(np.abs(coefficients))), np.finfo(float).tiny)
        if abs(coefficients.sum()) > K_AT_ONE_TOLERANCE * scale:
            raise ParameterError("coefficients", f"k(1) = sum of coefficients must vanish, got {coefficients.sum():g}")
        coefficients.setflags(write=False)

        def legendre(lmax):
            padded = np.zeros(lmax + 1)
            count = min(lmax + 1, coefficients.size)
            padded[:count] = coefficients[:count]
            return padded

        def function(x):
            return legendre_series(coefficients, x)

        return cls(name, {"coefficients": coefficients.tolist()}, function=function, legendre=legendre,
                   smooth=True)


def default_nodes(lmax: int, smooth: bool) -> int:
    """Gauss-Legendre nodes for projecting k onto degree ≤ lmax: exact-degree count, ×8 if k has a kink at x=1."""
    base = max(2 * lmax + 2, 64)
    return base if smooth else 8 * base


def _series_length_for_evaluation() -> int:
    return 512

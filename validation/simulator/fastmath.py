r"""Branch-free polynomial cosine in double precision for the plane-wave field (docs/guide/design.md#targets).

The plane-wave sum of docs/physics/simulator.md#plane-wave-field spends almost all its time in
:math:`\cos(k_n\hat\kappa_n\cdot\mathbf r+\beta_n)`.
numba's ``math.cos`` calls libm (no SVML here: an order of magnitude slower per call), which also blocks
vectorisation across modes.
Here the phase is carried in **turns**, :math:`t = \phi/2\pi`, computed in double precision by the caller, and

.. math:: u = t - \mathrm{rint}(t) \in [-\tfrac12, \tfrac12],\qquad
          \cos(2\pi t) = \cos(2\pi u) \approx P(u^2) = \sum_{j=0}^{6} c_j\,u^{2j}.

* The reduction :math:`t-\mathrm{rint}(t)` is **exact** in floating point (both numbers share the exponent range
  of :math:`t`), so no Cody-Waite constants are needed and the only phase error is the one already in :math:`t`
  (relative 1e-16, i.e. absolute :math:`\sim 10^{-16}|t|`: below 1e-9 rad for :math:`|t| < 10^6` turns).
* :math:`P` interpolates :math:`\cos(2\pi\sqrt{s})` at the 7 Chebyshev nodes of :math:`s = u^2\in[0, 1/4]`
  (coefficients solved in 40-digit mpmath, rounded to double).  Max abs error over the full period:
  :data:`MAX_ABS_ERROR` = 1.11e-8, inside the 1e-7 budget of docs/guide/design.md (tested against libm in
  ``tests/validation/simulator/test_pusher.py``); degree 5 would give 8e-7, hence degree 6.
* Cost: ``rint`` + one subtraction + one multiplication + 6 FMAs, no branch and no table, so LLVM vectorises a loop
  over modes (AVX-512: 8 modes per instruction).

The functions are numba ``njit`` with ``inline="always"`` so they disappear into the caller's loop.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["COS_TURNS_COEFFICIENTS", "MAX_ABS_ERROR", "cos_turns", "cos_turns_array", "sin_turns"]

#: c_j of cos(2π u) ≈ Σ c_j u^{2j} for u in [-1/2, 1/2] (Chebyshev interpolation in s = u², see module docstring)
COS_TURNS_COEFFICIENTS = (
    0.9999999889445764,
    -19.73920446657614,
    64.93911592834654,
    -85.45011342750612,
    60.16742979196077,
    -25.966884612677383,
    6.527705963151927,
)
#: max |P(u²) − cos(2πu)| over u in [-1/2, 1/2], measured on a 2e6-point grid against libm
MAX_ABS_ERROR = 1.11e-8

_C0, _C1, _C2, _C3, _C4, _C5, _C6 = COS_TURNS_COEFFICIENTS


@numba.njit(inline="always", fastmath=True, cache=True)
def cos_turns(turns):
    r""":math:`\cos(2\pi t)` for a phase :math:`t` in turns, abs error ≤ :data:`MAX_ABS_ERROR` (module docstring)."""
    # exact range reduction: u in [-1/2, 1/2]; rint is an LLVM intrinsic, so fastmath cannot fold t - rint(t)
    reduced = turns - np.rint(turns)
    square = reduced * reduced
    return _C0 + square * (_C1 + square * (_C2 + square * (_C3 + square * (_C4 + square * (_C5 + square * _C6)))))


@numba.njit(inline="always", fastmath=True, cache=True)
def sin_turns(turns):
    r""":math:`\sin(2\pi t) = \cos(2\pi(t - 1/4))`: the error bound of :func:`cos_turns` plus the rounding of
    :math:`t - 1/4` (:math:`\lesssim 10^{-16}|t|` turns)."""
    return cos_turns(turns - 0.25)


@numba.njit(fastmath=True, cache=True)
def _cos_turns_loop(turns, out):
    for index in range(turns.size):
        out[index] = cos_turns(turns[index])


def cos_turns_array(turns) -> np.ndarray:
    r""":math:`\cos(2\pi t)` elementwise for an array of phases in turns (for tests and benchmarks)."""
    turns = np.ascontiguousarray(turns, dtype=np.float64)
    out = np.empty_like(turns)
    _cos_turns_loop(turns.reshape(-1), out.reshape(-1))
    return out


TWO_PI = 2.0 * math.pi

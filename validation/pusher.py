r"""numba kernels of the test-particle simulator: plane-wave field, Boris pusher, RK4 field-line tracer.

Reduced units (``DESIGN.md``, "Conventions"): positions in :math:`L_c`, time as :math:`ct/L_c`, the particle speed
is :math:`c` (so :math:`|\hat p| = 1` is the state), and fields in units of :math:`B_\mathrm{tot}`.  The equation of
motion of a particle of reduced rigidity :math:`\rho = r_g/L_c` (gyroradius in :math:`B_\mathrm{tot}`) is

.. math:: \frac{d\hat p}{d(ct)} = \frac{\sigma}{\rho}\,\hat p\times\mathbf b(\mathbf r),
          \qquad \frac{d\mathbf r}{d(ct)} = \hat p,                                                    (P1)

with :math:`\sigma = \pm1` the sign of the charge and :math:`\mathbf b = \mathbf B/B_\mathrm{tot}`.  In a uniform
field :math:`|\mathbf b| = 1` the gyration frequency is :math:`\Omega = c/r_g`, i.e. :math:`1/\rho` per unit
:math:`ct/L_c`.

**Backtracking** (PHYSICS 3.1, last item; ``DESIGN.md``).  For a magnetostatic field, let
:math:`\mathbf R(\tau) = \mathbf r(-\tau)` and :math:`\hat W(\tau) = -\hat p(-\tau)` be the physical trajectory run
backwards.  Then :math:`d\mathbf R/d\tau = \hat W` and :math:`d\hat W/d\tau = (-\sigma/\rho)\,\hat W\times\mathbf b`:
(P1) with the charge reversed.  So a particle arriving with physical momentum :math:`\hat p(0)`, i.e. from the
arrival direction :math:`\hat n = -\hat p(0)`, is backtracked by integrating (P1) **forward** with
``charge_sign = -σ`` from :math:`\hat W(0) = \hat n`; after time :math:`T` the position is :math:`\mathbf r(-T)` and
the physical momentum is :math:`\hat p(-T) = -\hat W(T)` (PHYSICS 6 item 3).

Field (PHYSICS 6.1): :math:`\mathbf b(\mathbf r) = \mathbf b_0 + \sum_n \mathbf a_n\cos(2\pi t_n)`, with the phase
in turns :math:`t_n = \boldsymbol\nu_n\cdot\mathbf r + \theta_n`, :math:`\boldsymbol\nu_n = k_n\hat\kappa_n/2\pi`,
:math:`\theta_n = \beta_n/2\pi`, :math:`\mathbf a_n = A_n\hat\xi_n`.  The modes are passed as one C-contiguous
``(7, N)`` array (rows :math:`\nu_x,\nu_y,\nu_z,\theta,a_x,a_y,a_z`: contiguous structure of arrays, so the loop
over modes vectorises) built by :meth:`validation.turbulence.TurbulenceField.kernel_arrays`.  ``use_libm`` selects
the reference twin that evaluates :math:`\cos(2\pi t_n)` with libm instead of
:func:`validation.fastmath.cos_turns` (identical phases; the two agree to :data:`validation.fastmath.MAX_ABS_ERROR`
per mode).

Integrators (``DESIGN.md``, "Integrator"):

* **Boris** (Boris 1970; Birdsall & Langdon 1991, sect. 4-4): with :math:`\mathbf t = (\sigma\Delta/2\rho)\,
  \mathbf b(\mathbf r_n)` and :math:`\mathbf s = 2\mathbf t/(1+t^2)`,
  :math:`\hat p' = \hat p + \hat p\times\mathbf t`, :math:`\hat p_{+} = \hat p + \hat p'\times\mathbf s`,
  :math:`\mathbf r_{n+1} = \mathbf r_n + \Delta\,\hat p_{+}` (:math:`\Delta = c\,\Delta t/L_c`).  The update is an
  exact rotation by :math:`2\arctan(\Delta|\mathbf b|/2\rho)`, so :math:`|\hat p|` is conserved up to rounding and the
  gyro-phase lags by :math:`\approx(\Omega\Delta t)^2/12` relative.  The direction is staggered half a step behind
  the position (leapfrog); starting both at the same time is a first-order start, an :math:`O(\Delta)` offset in the
  initial phase that is negligible for :math:`\Delta\le r_g/30`.
* **Field lines**: :math:`d\mathbf r/ds = \mathbf b/|\mathbf b|`, classical RK4 in arc length :math:`s`.

**Vector width.** The loop over modes is FP-port bound (26 FLOPs per mode; ``benchmarks/simulator.py``).  On
Intel server cores LLVM prefers 256-bit vectors even when AVX-512 is present; numba exposes no per-function switch,
so 512-bit code is opt-in for the whole process: before numba is imported, set ``NUMBA_CPU_FEATURES`` to
``llvmlite.binding.get_host_cpu_features().flatten() + ",-prefer-256-bit"`` (measured on this 2.3 GHz AVX-512
machine: 0.47 instead of 0.73 ns per mode per particle-step).

All kernels update their inputs in place (no histories), so callers loop over output times with bounded memory.
They do no validation; :func:`advance` and :func:`trace_fieldlines` are the thin checked Python entry points.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from anisotropy.errors import ParameterError, require_integer, require_range

from .fastmath import TWO_PI, cos_turns

__all__ = [
    "advance",
    "advance_kernel",
    "evaluate_field",
    "field_kernel",
    "fieldline_kernel",
    "trace_fieldlines",
]

_MODE_ROWS = 7


@numba.njit(fastmath=True, cache=True)
def _field_fast(modes, b0, x, y, z):
    nu_x, nu_y, nu_z, theta = modes[0], modes[1], modes[2], modes[3]
    amp_x, amp_y, amp_z = modes[4], modes[5], modes[6]
    sum_x = 0.0
    sum_y = 0.0
    sum_z = 0.0
    for n in range(nu_x.size):
        wave = cos_turns(nu_x[n] * x + nu_y[n] * y + nu_z[n] * z + theta[n])
        sum_x += amp_x[n] * wave
        sum_y += amp_y[n] * wave
        sum_z += amp_z[n] * wave
    return b0[0] + sum_x, b0[1] + sum_y, b0[2] + sum_z


@numba.njit(fastmath=True, cache=True)
def _field_libm(modes, b0, x, y, z):
    nu_x, nu_y, nu_z, theta = modes[0], modes[1], modes[2], modes[3]
    amp_x, amp_y, amp_z = modes[4], modes[5], modes[6]
    sum_x = 0.0
    sum_y = 0.0
    sum_z = 0.0
    for n in range(nu_x.size):
        wave = math.cos(TWO_PI * (nu_x[n] * x + nu_y[n] * y + nu_z[n] * z + theta[n]))
        sum_x += amp_x[n] * wave
        sum_y += amp_y[n] * wave
        sum_z += amp_z[n] * wave
    return b0[0] + sum_x, b0[1] + sum_y, b0[2] + sum_z


@numba.njit(cache=True)
def _field(modes, b0, x, y, z, use_libm):
    if use_libm:
        return _field_libm(modes, b0, x, y, z)
    return _field_fast(modes, b0, x, y, z)


@numba.njit(parallel=True, cache=True)
def field_kernel(modes, b0, positions, out, use_libm):
    """Field :math:`\\mathbf b` at ``positions`` (M, 3) into ``out`` (M, 3); parallel over points."""
    for index in prange(positions.shape[0]):
        bx, by, bz = _field(modes, b0, positions[index, 0], positions[index, 1], positions[index, 2], use_libm)
        out[index, 0] = bx
        out[index, 1] = by
        out[index, 2] = bz


@numba.njit(fastmath=True, cache=True)
def _field_pair_fast(modes, b0, x1, y1, z1, x2, y2, z2):
    # two particles per pass over the modes: the mode data are loaded once and the two independent dependency
    # chains overlap (12% faster at 768 modes, 2.5x at a few modes; benchmarks/simulator.py)
    nu_x, nu_y, nu_z, theta = modes[0], modes[1], modes[2], modes[3]
    amp_x, amp_y, amp_z = modes[4], modes[5], modes[6]
    sum1_x = 0.0
    sum1_y = 0.0
    sum1_z = 0.0
    sum2_x = 0.0
    sum2_y = 0.0
    sum2_z = 0.0
    for n in range(nu_x.size):
        wave1 = cos_turns(nu_x[n] * x1 + nu_y[n] * y1 + nu_z[n] * z1 + theta[n])
        wave2 = cos_turns(nu_x[n] * x2 + nu_y[n] * y2 + nu_z[n] * z2 + theta[n])
        sum1_x += amp_x[n] * wave1
        sum1_y += amp_y[n] * wave1
        sum1_z += amp_z[n] * wave1
        sum2_x += amp_x[n] * wave2
        sum2_y += amp_y[n] * wave2
        sum2_z += amp_z[n] * wave2
    return (b0[0] + sum1_x, b0[1] + sum1_y, b0[2] + sum1_z, b0[0] + sum2_x, b0[1] + sum2_y, b0[2] + sum2_z)


@numba.njit(cache=True)
def _field_pair(modes, b0, x1, y1, z1, x2, y2, z2, use_libm):
    if use_libm:
        b1x, b1y, b1z = _field_libm(modes, b0, x1, y1, z1)
        b2x, b2y, b2z = _field_libm(modes, b0, x2, y2, z2)
        return b1x, b1y, b1z, b2x, b2y, b2z
    return _field_pair_fast(modes, b0, x1, y1, z1, x2, y2, z2)


@numba.njit(cache=True)
def _boris_rotate(px, py, pz, bx, by, bz, half_angle_scale):
    # t = (σΔ/2ρ) b;  p' = p + p × t;  s = 2t/(1 + t²);  p+ = p + p' × s   (module docstring)
    tx = half_angle_scale * bx
    ty = half_angle_scale * by
    tz = half_angle_scale * bz
    qx = px + (py * tz - pz * ty)
    qy = py + (pz * tx - px * tz)
    qz = pz + (px * ty - py * tx)
    factor = 2.0 / (1.0 + tx * tx + ty * ty + tz * tz)
    sx = factor * tx
    sy = factor * ty
    sz = factor * tz
    return px + (qy * sz - qz * sy), py + (qz * sx - qx * sz), pz + (qx * sy - qy * sx)


@numba.njit(parallel=True, cache=True)
def advance_kernel(modes, b0, positions, directions, half_angle_scale, step, n_steps, use_libm):
    r"""Advance every particle ``n_steps`` Boris steps of length ``step`` in place (prange over particle pairs).

    ``half_angle_scale`` is :math:`\sigma\Delta/(2\rho)` of (P1); ``positions`` and ``directions`` are (M, 3)
    float64 arrays (directions unit vectors).  Particles go in pairs through one pass over the modes; with odd M
    the last particle is paired with itself (computed twice, identical result).
    """
    count = positions.shape[0]
    for pair in prange((count + 1) // 2):
        first = 2 * pair
        second = min(first + 1, count - 1)
        x1 = positions[first, 0]
        y1 = positions[first, 1]
        z1 = positions[first, 2]
        p1x = directions[first, 0]
        p1y = directions[first, 1]
        p1z = directions[first, 2]
        x2 = positions[second, 0]
        y2 = positions[second, 1]
        z2 = positions[second, 2]
        p2x = directions[second, 0]
        p2y = directions[second, 1]
        p2z = directions[second, 2]
        for _ in range(n_steps):
            b1x, b1y, b1z, b2x, b2y, b2z = _field_pair(modes, b0, x1, y1, z1, x2, y2, z2, use_libm)
            p1x, p1y, p1z = _boris_rotate(p1x, p1y, p1z, b1x, b1y, b1z, half_angle_scale)
            p2x, p2y, p2z = _boris_rotate(p2x, p2y, p2z, b2x, b2y, b2z, half_angle_scale)
            x1 += step * p1x
            y1 += step * p1y
            z1 += step * p1z
            x2 += step * p2x
            y2 += step * p2y
            z2 += step * p2z
        positions[first, 0] = x1
        positions[first, 1] = y1
        positions[first, 2] = z1
        directions[first, 0] = p1x
        directions[first, 1] = p1y
        directions[first, 2] = p1z
        positions[second, 0] = x2
        positions[second, 1] = y2
        positions[second, 2] = z2
        directions[second, 0] = p2x
        directions[second, 1] = p2y
        directions[second, 2] = p2z


@numba.njit(cache=True)
def _unit_field(modes, b0, x, y, z, use_libm):
    bx, by, bz = _field(modes, b0, x, y, z, use_libm)
    inverse = 1.0 / math.sqrt(bx * bx + by * by + bz * bz)
    return bx * inverse, by * inverse, bz * inverse


@numba.njit(parallel=True, cache=True)
def fieldline_kernel(modes, b0, positions, step, n_steps, use_libm):
    r"""Move every point ``n_steps`` classical RK4 steps of arc length ``step`` along :math:`\mathbf b/|\mathbf b|`."""
    half = 0.5 * step
    sixth = step / 6.0
    for index in prange(positions.shape[0]):
        x = positions[index, 0]
        y = positions[index, 1]
        z = positions[index, 2]
        for _ in range(n_steps):
            k1x, k1y, k1z = _unit_field(modes, b0, x, y, z, use_libm)
            k2x, k2y, k2z = _unit_field(modes, b0, x + half * k1x, y + half * k1y, z + half * k1z, use_libm)
            k3x, k3y, k3z = _unit_field(modes, b0, x + half * k2x, y + half * k2y, z + half * k2z, use_libm)
            k4x, k4y, k4z = _unit_field(modes, b0, x + step * k3x, y + step * k3y, z + step * k3z, use_libm)
            x += sixth * (k1x + 2.0 * (k2x + k3x) + k4x)
            y += sixth * (k1y + 2.0 * (k2y + k3y) + k4y)
            z += sixth * (k1z + 2.0 * (k2z + k3z) + k4z)
        positions[index, 0] = x
        positions[index, 1] = y
        positions[index, 2] = z


# ----------------------------------------------------------------------------------------------------------------
# thin Python entry points: check and prepare inputs, then call the kernels


def _state_array(name, values):
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 3:
        raise ParameterError(name, f"expected an (M, 3) array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ParameterError(name, "must be finite")
    return array


def _kernel_inputs(field):
    modes, b0 = field.kernel_arrays()
    if modes.shape[0] != _MODE_ROWS or not modes.flags.c_contiguous:
        raise ParameterError("field", "kernel_arrays() must give a C-contiguous (7, N) mode array")
    return modes, b0


def evaluate_field(field, positions, libm: bool = False) -> np.ndarray:
    """Field :math:`\\mathbf b = \\mathbf B/B_\\mathrm{tot}` of ``field`` at ``positions`` (M, 3) in :math:`L_c`."""
    modes, b0 = _kernel_inputs(field)
    points = np.ascontiguousarray(_state_array("positions", positions))
    out = np.empty_like(points)
    field_kernel(modes, b0, points, out, bool(libm))
    return out


def advance(field, positions, directions, reduced_rigidity, charge_sign, step, n_steps, libm: bool = False):
    r"""Advance particles in place by ``n_steps`` Boris steps of (P1).

    Parameters
    ----------
    field : TurbulenceField
        Anything with ``kernel_arrays() -> (modes (7, N), b0 (3,))``.
    positions, directions : ndarray, shape (M, 3), float64, C-contiguous
        Updated in place; ``directions`` are unit vectors :math:`\hat p` (the speed is c).
    reduced_rigidity : float
        :math:`r_g/L_c` (> 0).
    charge_sign : {+1, -1}
        :math:`\sigma`; −1 backtracks a positive particle (module docstring).
    step : float
        :math:`c\,\Delta t/L_c` (> 0).
    n_steps : int
        Number of steps (≥ 0).
    libm : bool
        Use the libm reference twin of the field evaluation.
    """
    rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    if charge_sign not in (1, -1):
        raise ParameterError("charge_sign", f"must be +1 or -1, got {charge_sign!r}")
    step = require_range("step", step, 0.0, None, low_open=True)
    n_steps = require_integer("n_steps", n_steps, 0)
    for name, array in (("positions", positions), ("directions", directions)):
        if not (isinstance(array, np.ndarray) and array.dtype == np.float64 and array.flags.c_contiguous):
            raise ParameterError(name, "must be a C-contiguous float64 ndarray (it is updated in place)")
        _state_array(name, array)
    if positions.shape != directions.shape:
        raise ParameterError("directions", f"shape {directions.shape} differs from positions {positions.shape}")
    modes, b0 = _kernel_inputs(field)
    advance_kernel(modes, b0, positions, directions, charge_sign * step / (2.0 * rigidity), step, n_steps, bool(libm))


def trace_fieldlines(field, positions, step, n_steps, libm: bool = False):
    """Move ``positions`` (M, 3), in place, ``n_steps`` RK4 steps of arc length ``step`` along the field lines."""
    step = require_range("step", step, 0.0, None, low_open=True)
    n_steps = require_integer("n_steps", n_steps, 0)
    if not (isinstance(positions, np.ndarray) and positions.dtype == np.float64 and positions.flags.c_contiguous):
        raise ParameterError("positions", "must be a C-contiguous float64 ndarray (it is updated in place)")
    _state_array("positions", positions)
    modes, b0 = _kernel_inputs(field)
    fieldline_kernel(modes, b0, positions, step, n_steps, bool(libm))

r"""numba kernels of the test-particle simulator: plane-wave field, Boris pusher, RK4 field-line tracer.

Reduced units (docs/physics/conventions.md#correlation-length): positions in :math:`L_c`, time as :math:`ct/L_c`, the
particle speed
is :math:`c` (so :math:`|\hat p| = 1` is the state), and fields in units of :math:`B_\mathrm{tot}`.  The equation of
motion of a particle of reduced rigidity :math:`\rho = r_g/L_c` (gyroradius in :math:`B_\mathrm{tot}`) is

.. math:: \frac{d\hat p}{d(ct)} = \frac{\sigma}{\rho}\,\hat p\times\mathbf b(\mathbf r),
          \qquad \frac{d\mathbf r}{d(ct)} = \hat p,                                                    (P1)

with :math:`\sigma = \pm1` the sign of the charge and :math:`\mathbf b = \mathbf B/B_\mathrm{tot}`.  In a uniform
field :math:`|\mathbf b| = 1` the gyration frequency is :math:`\Omega = c/r_g`, i.e. :math:`1/\rho` per unit
:math:`ct/L_c`.

**Backtracking** (docs/physics/simulator.md#liouville-mapping, last item; docs/guide/design.md).  For a magnetostatic
field, let
:math:`\mathbf R(\tau) = \mathbf r(-\tau)` and :math:`\hat W(\tau) = -\hat p(-\tau)` be the physical trajectory run
backwards.  Then :math:`d\mathbf R/d\tau = \hat W` and :math:`d\hat W/d\tau = (-\sigma/\rho)\,\hat W\times\mathbf b`:
(P1) with the charge reversed.  So a particle arriving with physical momentum :math:`\hat p(0)`, i.e. from the
arrival direction :math:`\hat n = -\hat p(0)`, is backtracked by integrating (P1) **forward** with
``charge_sign = -σ`` from :math:`\hat W(0) = \hat n`; after time :math:`T` the position is :math:`\mathbf r(-T)` and
the physical momentum is :math:`\hat p(-T) = -\hat W(T)` (docs/physics/simulator.md item 3).

Field (docs/physics/simulator.md#plane-wave-field): :math:`\mathbf b(\mathbf r) = \mathbf b_0 + \sum_n \mathbf
a_n\cos(2\pi t_n)`, with the phase
in turns :math:`t_n = \boldsymbol\nu_n\cdot\mathbf r + \theta_n`, :math:`\boldsymbol\nu_n = k_n\hat\kappa_n/2\pi`,
:math:`\theta_n = \beta_n/2\pi`, :math:`\mathbf a_n = A_n\hat\xi_n`.  The modes are passed as one C-contiguous
``(7, N)`` array (rows :math:`\nu_x,\nu_y,\nu_z,\theta,a_x,a_y,a_z`: contiguous structure of arrays, so the loop
over modes vectorises) built by :meth:`validation.simulator.turbulence.TurbulenceField.kernel_arrays`, padded with
zero-amplitude modes to whole 8-lane vectors.

Integrators (docs/physics/simulator.md#integrator):

* **Boris** (Boris 1970; Birdsall & Langdon 1991, sect. 4-4): with :math:`\mathbf t = (\sigma\Delta/2\rho)\,
  \mathbf b(\mathbf r_n)` and :math:`\mathbf s = 2\mathbf t/(1+t^2)`,
  :math:`\hat p' = \hat p + \hat p\times\mathbf t`, :math:`\hat p_{+} = \hat p + \hat p'\times\mathbf s`,
  :math:`\mathbf r_{n+1} = \mathbf r_n + \Delta\,\hat p_{+}` (:math:`\Delta = c\,\Delta t/L_c`).  The update is an
  exact rotation by :math:`2\arctan(\Delta|\mathbf b|/2\rho)`, so :math:`|\hat p|` is conserved up to rounding and the
  gyro-phase lags by :math:`\approx(\Omega\Delta t)^2/12` relative.  The direction is staggered half a step behind
  the position (leapfrog); starting both at the same time is a first-order start, an :math:`O(\Delta)` offset in the
  initial phase that is negligible for :math:`\Delta\le r_g/30`.
* **Field lines**: :math:`d\mathbf r/ds = \mathbf b/|\mathbf b|`, classical RK4 in arc length :math:`s`.

**Field kernels** (``kernel=`` of the entry points, :func:`kernel_selector`).  The loop over modes is FP-port
bound: per mode and particle 3 FMAs for the phase, the range reduction, 1 multiplication + 6 FMAs for the
polynomial, 3 FMAs for the sum (26 FLOPs; ``benchmarks/simulator.py``).

* ``"simd"`` (the default where numba's target has AVX-512F/DQ): :mod:`validation.simulator.simd`, the loop written as
  explicit 512-bit IR with the one-micro-op ``vreducepd`` range reduction; 4 particles per pass.
* ``"portable"``: the same arithmetic as a numba loop that LLVM vectorises (256-bit on Intel server cores, where
  LLVM prefers 256-bit vectors; ``vrndscalepd`` + subtraction for the reduction): the fallback on every other CPU
  and the twin the ``"simd"`` kernel is tested against (they agree to summation order).
* ``"libm"``: libm's cosine, the reference for both (agreement to
  :data:`validation.simulator.fastmath.MAX_ABS_ERROR` per mode).

**Slab table.** A field whose ``table`` attribute is a :class:`validation.simulator.slab_table.SlabTable`
(slab turbulence with ``slab_field="table"``, the default for slab) is evaluated from that table by the kernels of
:mod:`validation.simulator.slab_table` in :func:`advance`, :func:`evaluate_field` and :func:`trace_fieldlines`,
whatever ``kernel`` says (it selects among the mode sums).

All kernels update their inputs in place (no histories), so callers loop over output times with bounded memory.
They do no validation; :func:`advance` and :func:`trace_fieldlines` are the thin checked Python entry points.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from anisotropy.errors import ParameterError, require_integer, require_range

from . import simd
from .fastmath import TWO_PI, cos_turns
from .slab_table import advance_table, trace_table_fieldlines

__all__ = [
    "DEFAULT_KERNEL",
    "KERNELS",
    "advance",
    "advance_kernel",
    "evaluate_field",
    "field_kernel",
    "fieldline_kernel",
    "kernel_selector",
    "trace_fieldlines",
]

_MODE_ROWS = 7


#: kernel selectors passed to the numba kernels (the Python entry points take the names, :data:`KERNELS`)
SIMD, PORTABLE, LIBM = 0, 1, 2
#: name -> selector; "auto" resolves to "simd" where :data:`validation.simulator.simd.AVAILABLE`, else "portable"
KERNELS = {"simd": SIMD, "portable": PORTABLE, "libm": LIBM}
#: the kernel "auto" resolves to on this machine (recorded in run metadata: the two differ by rounding, which
#: chaotic orbits amplify, so bit-for-bit reproduction needs the same kernel)
DEFAULT_KERNEL = "simd" if simd.AVAILABLE else "portable"
#: particles that share one pass over the modes in :func:`advance_kernel`
GROUP = 4


@numba.njit(fastmath=True, cache=True)
def _sum_one_portable(modes, coordinates):
    x, y, z = coordinates
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
    return sum_x, sum_y, sum_z


@numba.njit(fastmath=True, cache=True)
def _sum_one_libm(modes, coordinates):
    x, y, z = coordinates
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
    return sum_x, sum_y, sum_z


@numba.njit(fastmath=True, cache=True)
def _sum_group_portable(modes, coordinates):
    # GROUP particles per pass over the modes: the mode data are loaded once and the independent dependency chains
    # overlap (benchmarks/simulator.py)
    x1, y1, z1, x2, y2, z2, x3, y3, z3, x4, y4, z4 = coordinates
    nu_x, nu_y, nu_z, theta = modes[0], modes[1], modes[2], modes[3]
    amp_x, amp_y, amp_z = modes[4], modes[5], modes[6]
    s1x = s1y = s1z = s2x = s2y = s2z = s3x = s3y = s3z = s4x = s4y = s4z = 0.0
    for n in range(nu_x.size):
        wave1 = cos_turns(nu_x[n] * x1 + nu_y[n] * y1 + nu_z[n] * z1 + theta[n])
        wave2 = cos_turns(nu_x[n] * x2 + nu_y[n] * y2 + nu_z[n] * z2 + theta[n])
        wave3 = cos_turns(nu_x[n] * x3 + nu_y[n] * y3 + nu_z[n] * z3 + theta[n])
        wave4 = cos_turns(nu_x[n] * x4 + nu_y[n] * y4 + nu_z[n] * z4 + theta[n])
        s1x += amp_x[n] * wave1
        s1y += amp_y[n] * wave1
        s1z += amp_z[n] * wave1
        s2x += amp_x[n] * wave2
        s2y += amp_y[n] * wave2
        s2z += amp_z[n] * wave2
        s3x += amp_x[n] * wave3
        s3y += amp_y[n] * wave3
        s3z += amp_z[n] * wave3
        s4x += amp_x[n] * wave4
        s4y += amp_y[n] * wave4
        s4z += amp_z[n] * wave4
    return s1x, s1y, s1z, s2x, s2y, s2z, s3x, s3y, s3z, s4x, s4y, s4z


@numba.njit(cache=True)
def _sum_group_libm(modes, coordinates):
    s1x, s1y, s1z = _sum_one_libm(modes, (coordinates[0], coordinates[1], coordinates[2]))
    s2x, s2y, s2z = _sum_one_libm(modes, (coordinates[3], coordinates[4], coordinates[5]))
    s3x, s3y, s3z = _sum_one_libm(modes, (coordinates[6], coordinates[7], coordinates[8]))
    s4x, s4y, s4z = _sum_one_libm(modes, (coordinates[9], coordinates[10], coordinates[11]))
    return s1x, s1y, s1z, s2x, s2y, s2z, s3x, s3y, s3z, s4x, s4y, s4z


if simd.AVAILABLE:
    _sum_one_simd = simd.plane_wave_sum_1
    _sum_group_simd = simd.plane_wave_sum_4
else:  # the explicit kernels cannot be compiled for this target: the selector SIMD falls back to PORTABLE
    _sum_one_simd = _sum_one_portable
    _sum_group_simd = _sum_group_portable


@numba.njit(cache=True)
def _sum_one(modes, coordinates, kernel):
    if kernel == SIMD:
        return _sum_one_simd(modes, coordinates)
    if kernel == PORTABLE:
        return _sum_one_portable(modes, coordinates)
    return _sum_one_libm(modes, coordinates)


@numba.njit(cache=True)
def _sum_group(modes, coordinates, kernel):
    if kernel == SIMD:
        return _sum_group_simd(modes, coordinates)
    if kernel == PORTABLE:
        return _sum_group_portable(modes, coordinates)
    return _sum_group_libm(modes, coordinates)


@numba.njit(parallel=True, cache=True)
def field_kernel(modes, b0, positions, out, kernel):
    """Field :math:`\\mathbf b` at ``positions`` (M, 3) into ``out`` (M, 3); parallel over points."""
    for index in prange(positions.shape[0]):
        sum_x, sum_y, sum_z = _sum_one(modes, (positions[index, 0], positions[index, 1], positions[index, 2]), kernel)
        out[index, 0] = b0[0] + sum_x
        out[index, 1] = b0[1] + sum_y
        out[index, 2] = b0[2] + sum_z


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
def advance_kernel(modes, b0, positions, directions, half_angle_scale, step, n_steps, kernel):
    r"""Advance every particle ``n_steps`` Boris steps of length ``step`` in place (prange over particle groups).

    ``half_angle_scale`` is :math:`\sigma\Delta/(2\rho)` of (P1); ``positions`` and ``directions`` are (M, 3)
    float64 arrays (directions unit vectors); ``kernel`` is a selector of :data:`KERNELS`.  Particles go in groups
    of :data:`GROUP` through one pass over the modes; the last group is filled up with copies of the last particle
    (computed again, identical result).
    """
    count = positions.shape[0]
    for group in prange((count + GROUP - 1) // GROUP):
        members = np.empty(GROUP, np.int64)
        state = np.empty((GROUP, 6))  # x, y, z, p_x, p_y, p_z of each member
        for member in range(GROUP):
            index = min(GROUP * group + member, count - 1)
            members[member] = index
            for axis in range(3):
                state[member, axis] = positions[index, axis]
                state[member, 3 + axis] = directions[index, axis]
        for _ in range(n_steps):
            sums = _sum_group(modes, (state[0, 0], state[0, 1], state[0, 2], state[1, 0], state[1, 1], state[1, 2],
                                      state[2, 0], state[2, 1], state[2, 2], state[3, 0], state[3, 1], state[3, 2]),
                              kernel)
            for member in range(GROUP):
                px, py, pz = _boris_rotate(state[member, 3], state[member, 4], state[member, 5],
                                           b0[0] + sums[3 * member], b0[1] + sums[3 * member + 1],
                                           b0[2] + sums[3 * member + 2], half_angle_scale)
                state[member, 0] += step * px
                state[member, 1] += step * py
                state[member, 2] += step * pz
                state[member, 3] = px
                state[member, 4] = py
                state[member, 5] = pz
        for member in range(GROUP):
            for axis in range(3):
                positions[members[member], axis] = state[member, axis]
                directions[members[member], axis] = state[member, 3 + axis]


@numba.njit(cache=True)
def _unit_field(modes, b0, x, y, z, kernel):
    sum_x, sum_y, sum_z = _sum_one(modes, (x, y, z), kernel)
    bx, by, bz = b0[0] + sum_x, b0[1] + sum_y, b0[2] + sum_z
    inverse = 1.0 / math.sqrt(bx * bx + by * by + bz * bz)
    return bx * inverse, by * inverse, bz * inverse


@numba.njit(parallel=True, cache=True)
def fieldline_kernel(modes, b0, positions, step, n_steps, kernel):
    r"""Move every point ``n_steps`` classical RK4 steps of arc length ``step`` along :math:`\mathbf b/|\mathbf b|`."""
    half = 0.5 * step
    sixth = step / 6.0
    for index in prange(positions.shape[0]):
        x = positions[index, 0]
        y = positions[index, 1]
        z = positions[index, 2]
        for _ in range(n_steps):
            k1x, k1y, k1z = _unit_field(modes, b0, x, y, z, kernel)
            k2x, k2y, k2z = _unit_field(modes, b0, x + half * k1x, y + half * k1y, z + half * k1z, kernel)
            k3x, k3y, k3z = _unit_field(modes, b0, x + half * k2x, y + half * k2y, z + half * k2z, kernel)
            k4x, k4y, k4z = _unit_field(modes, b0, x + step * k3x, y + step * k3y, z + step * k3z, kernel)
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
    if modes.shape[1] % simd.LANES:  # the explicit kernels take whole vectors; zero-amplitude modes add exactly 0
        modes = simd.pad_modes(modes)
    return modes, b0


def kernel_selector(kernel: str) -> int:
    """The numba selector of a field-evaluation kernel name (``"auto"``, ``"simd"``, ``"portable"``, ``"libm"``).

    ``"auto"`` is the explicit AVX-512 kernel (:mod:`validation.simulator.simd`) where numba's target has
    AVX-512F/DQ, else
    the portable vectorised loop; ``"libm"`` is the reference twin with libm's cosine.
    """
    if kernel == "auto":
        return KERNELS[DEFAULT_KERNEL]
    if kernel not in KERNELS:
        raise ParameterError("kernel", f"must be one of 'auto', {', '.join(map(repr, KERNELS))}; got {kernel!r}")
    if kernel == "simd" and not simd.AVAILABLE:
        raise ParameterError("kernel", "'simd' needs AVX-512F and AVX-512DQ in numba's target; use 'auto'")
    return KERNELS[kernel]


def evaluate_field(field, positions, kernel: str = "auto") -> np.ndarray:
    """Field :math:`\\mathbf b = \\mathbf B/B_\\mathrm{tot}` of ``field`` at ``positions`` (M, 3) in :math:`L_c`.

    ``kernel`` as in :func:`kernel_selector`.
    """
    selector = kernel_selector(kernel)
    points = np.ascontiguousarray(_state_array("positions", positions))
    table = getattr(field, "table", None)
    if table is not None:
        return table(points)
    modes, b0 = _kernel_inputs(field)
    out = np.empty_like(points)
    field_kernel(modes, b0, points, out, selector)
    return out


def advance(field, positions, directions, reduced_rigidity, charge_sign, step, n_steps, kernel: str = "auto"):
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
    kernel : {"auto", "simd", "portable", "libm"}
        Field evaluation (:func:`kernel_selector`); ``"libm"`` is the slow reference twin.

    Examples
    --------
    >>> import numpy as np
    >>> from validation import TurbulenceConfig, TurbulenceField, advance
    >>> field = TurbulenceField(TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8), seed=1)
    >>> positions, directions = np.zeros((2, 3)), np.array([[1.0, 0.0, 0.0], [0.0, 0.6, 0.8]])
    >>> advance(field, positions, directions, reduced_rigidity=0.3, charge_sign=1, step=0.01, n_steps=100)
    >>> bool(np.allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=0, atol=1e-12))   # Boris keeps |v|
    True
    """
    selector = kernel_selector(kernel)
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
    half_angle_scale = charge_sign * step / (2.0 * rigidity)
    table = getattr(field, "table", None)
    if table is not None:
        advance_table(table, positions, directions, half_angle_scale, step, n_steps)
        return
    modes, b0 = _kernel_inputs(field)
    advance_kernel(modes, b0, positions, directions, half_angle_scale, step, n_steps, selector)


def trace_fieldlines(field, positions, step, n_steps, kernel: str = "auto"):
    """Move ``positions`` (M, 3), in place, ``n_steps`` RK4 steps of arc length ``step`` along the field lines.

    ``kernel`` as in :func:`kernel_selector`.
    """
    selector = kernel_selector(kernel)
    step = require_range("step", step, 0.0, None, low_open=True)
    n_steps = require_integer("n_steps", n_steps, 0)
    if not (isinstance(positions, np.ndarray) and positions.dtype == np.float64 and positions.flags.c_contiguous):
        raise ParameterError("positions", "must be a C-contiguous float64 ndarray (it is updated in place)")
    _state_array("positions", positions)
    table = getattr(field, "table", None)
    if table is not None:
        trace_table_fieldlines(table, positions, step, n_steps)
        return
    modes, b0 = _kernel_inputs(field)
    fieldline_kernel(modes, b0, positions, step, n_steps, selector)

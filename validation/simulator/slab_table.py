r"""Tabulated slab field: the plane-wave sum of slab turbulence on a 1-D cubic Hermite table in :math:`z`.

Slab turbulence (:mod:`validation.simulator.turbulence`) has every wave vector along :math:`\hat z` and every
polarisation in the x-y plane, so

.. math:: \mathbf b(z) = \mathbf b_0 + \sum_{n=1}^{N} \mathbf a_n\cos(2\pi t_n(z)),\qquad
          t_n = \nu_n z + \theta_n,\qquad a_{n,z} = 0,

depends on :math:`z` alone.  Summing it at every Boris step costs :math:`N` cosines per particle-step; here it is
summed once per realisation on a uniform grid of nodes :math:`z_j = j h` and interpolated.

**Interpolant.** On cell :math:`[z_j, z_{j+1}]`, with :math:`s = (z - z_j)/h`, the cubic Hermite polynomial through
the exact values :math:`y_j = b(z_j)` and exact scaled slopes :math:`m_j = h\,b'(z_j)`
(:math:`b' = -\sum_n 2\pi\nu_n\mathbf a_n\sin 2\pi t_n`, the same modes)

.. math:: p(s) = y_j + s\,\bigl(m_j + s\,(c_2 + s\,c_3)\bigr),\quad c_2 = 3(y_{j+1}-y_j) - 2m_j - m_{j+1},\quad
          c_3 = 2(y_j - y_{j+1}) + m_j + m_{j+1}

(de Boor, *A Practical Guide to Splines*, ch. IV).  The Hermite remainder is :math:`f^{(4)}(\xi)\,s^2(1-s)^2h^4/4!`,
at most :math:`|f^{(4)}|\,h^4/384`; for the mode sum, by the triangle inequality,

.. math:: \max_z |p - b| \le \frac{h^4}{384}\sum_n |A_n|\,k_n^4 ,

a rigorous bound (rounding aside, ~1e-13) that is carried by the smallest scales.  The spacing is the largest
:math:`h` that keeps it below ``error_budget`` :math:`\times\,\delta B_\mathrm{rms}`
(:data:`FIELD_ERROR_BUDGET` = 3e-7, :func:`hermite_spacing`): :math:`h\approx L_\min/40` to :math:`L_\min/57` for
Kolmogorov spectra of 8 to 4000 modes.  Measured maxima over 2e4 points
(``tests/validation/simulator/test_slab_table.py``): 2.3e-7 (8 modes), 1.3e-7 (250), 5.6e-8 (1000), 4.6e-8 (4000)
:math:`\delta B_\mathrm{rms}`, i.e. the bound is 1.3 to 6.5 times the measured maximum.  Node values are summed
with the **exact** trigonometric functions (libm at the start of each block of :data:`BUILD_BLOCK` nodes, then the
rotation :math:`e^{2\pi i\nu_n h}` per node, whose rounding grows by :math:`\sim10^{-16}` per node), not with the
polynomial cosine of the mode kernels.

**Memory.** 4 doubles per node (:math:`y_x, y_y, m_x, m_y`): :data:`BYTES_PER_NODE` = 32 bytes, i.e.
:math:`32 L_\min/h \approx 1.5` kB per :math:`L_\min` of :math:`z` span (~0.3 MB per :math:`L_c` at the default
:math:`L_\min/L_\max = 10^{-3}`, :math:`L_\min = 5.4\times10^{-3}L_c`). The slab modes are not periodic (log-spaced,
incommensurate wavenumbers), so the table is **extended on demand**: it covers only the :math:`z` the particles can
reach in the next burst of steps (:func:`advance_table`: a burst's path is the particles' current spread in z, at
least 1 L_c, so for particles that start together the table stays within a factor of ~2 of the z range actually
visited, plus 1 L_c, and never beyond :math:`|z - z_0|\le cT`). Nodes are built in whole blocks aligned on multiples
of :data:`BUILD_BLOCK`, so a node's value depends only on its index, and the kernels locate a point by its global
node coordinate :math:`z/h`: a table grown in any order is bit-identical to one built at once, and trajectories do
not depend on the growth history or on how the steps are split into calls (tested). A table that would exceed
``max_bytes`` (:data:`MAX_TABLE_BYTES`, 1 GiB) is refused with a :class:`~anisotropy.errors.ParameterError` that
says how to shrink it.

Kernels (numba): :func:`table_field_kernel` (field at points), :func:`table_advance_kernel` (Boris, the same
rotation as :func:`validation.simulator.pusher.advance_kernel`), :func:`table_fieldline_kernel` (RK4 along
:math:`\mathbf b/|\mathbf b|`).  A point outside the table gets a NaN field (memory safety; the entry points size
the table so that this does not happen).  Their slower twin is :meth:`SlabTable.reference`, the same interpolant
by :class:`scipy.interpolate.CubicHermiteSpline`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from anisotropy.errors import ParameterError, require_integer, require_range

__all__ = [
    "BUILD_BLOCK",
    "BYTES_PER_NODE",
    "FIELD_ERROR_BUDGET",
    "HERMITE_REMAINDER",
    "MAX_TABLE_BYTES",
    "SLAB_FIELDS",
    "SlabTable",
    "advance_table",
    "check_slab_field",
    "hermite_spacing",
    "is_slab",
    "slab_table_record",
    "table_advance_kernel",
    "table_field_kernel",
    "table_fieldline_kernel",
    "trace_table_fieldlines",
]

#: field evaluations of slab turbulence: the 1-D table or the plane-wave sum
SLAB_FIELDS = ("table", "modes")
#: 4! × 2^4: the cubic Hermite remainder f(ξ) s²(1-s)² h^4/4! is at most |f| h^4/384
HERMITE_REMAINDER = 384.0
#: error budget of the table against the exact mode sum, in units of δB_rms = sqrt(η) (issue 11)
FIELD_ERROR_BUDGET = 3e-7
#: y_x, y_y, h b_x', h b_y' per node, float64
NODE_COLUMNS = 4
BYTES_PER_NODE = 8 * NODE_COLUMNS
#: default cap of one table's memory (one per realisation in each worker)
MAX_TABLE_BYTES = 1 << 30
#: nodes per exact restart of the phasor recurrence (its rounding grows ~1e-16 per node: < 3e-14 per block)
BUILD_BLOCK = 256
#: cells of margin beyond the reach of a burst (rounding of |p| = 1 and of z/h)
_MARGIN_CELLS = 4
#: shortest burst of steps between two table checks, in L_c of path (keeps the Python overhead per burst small)
_MIN_BURST_LENGTH = 1.0


def is_slab(wavevectors: np.ndarray, polarisations: np.ndarray) -> bool:
    """True when every wave vector is along z and every polarisation in the x-y plane (a field of z alone)."""
    return bool(np.all(wavevectors[:, :2] == 0.0) and np.all(polarisations[:, 2] == 0.0))


# ----------------------------------------------------------------------------------------------------------------
# build


@numba.njit(parallel=True, fastmath=True, cache=True)
def _build_blocks(nu, theta, amp_x, amp_y, spacing, first_block, n_blocks, out):
    r"""Nodes ``j = first_block*B ... (first_block + n_blocks)*B - 1`` into ``out`` (n_blocks*B, 4), B = BUILD_BLOCK."""
    count = nu.size
    rotation_cos = np.empty(count)
    rotation_sin = np.empty(count)
    slope_x = np.empty(count)
    slope_y = np.empty(count)
    for n in range(count):
        angle = 2.0 * math.pi * nu[n] * spacing
        rotation_cos[n] = math.cos(angle)
        rotation_sin[n] = math.sin(angle)
        # h db/dz = -Σ a_n 2πν_n h sin(2π t_n)
        slope_x[n] = -amp_x[n] * angle
        slope_y[n] = -amp_y[n] * angle
    for block in prange(n_blocks):
        wave_cos = np.empty(count)
        wave_sin = np.empty(count)
        start = (first_block + block) * BUILD_BLOCK
        z_start = start * spacing
        for n in range(count):
            turns = nu[n] * z_start + theta[n]
            reduced = turns - np.rint(turns)  # exact: |reduced| <= 1/2 keeps libm's argument small
            wave_cos[n] = math.cos(2.0 * math.pi * reduced)
            wave_sin[n] = math.sin(2.0 * math.pi * reduced)
        for node in range(BUILD_BLOCK):
            value_x = 0.0
            value_y = 0.0
            derivative_x = 0.0
            derivative_y = 0.0
            for n in range(count):
                c = wave_cos[n]
                s = wave_sin[n]
                value_x += amp_x[n] * c
                value_y += amp_y[n] * c
                derivative_x += slope_x[n] * s
                derivative_y += slope_y[n] * s
                wave_cos[n] = c * rotation_cos[n] - s * rotation_sin[n]
                wave_sin[n] = s * rotation_cos[n] + c * rotation_sin[n]
            row = block * BUILD_BLOCK + node
            out[row, 0] = value_x
            out[row, 1] = value_y
            out[row, 2] = derivative_x
            out[row, 3] = derivative_y


# ----------------------------------------------------------------------------------------------------------------
# evaluation kernels

#: LLVM fast-math flags without ``nnan``/``ninf``: the out-of-table test of the kernels must see NaN and infinities
_FAST_BUT_NAN_SAFE = {"nsz", "arcp", "contract", "afn", "reassoc"}


@numba.njit(inline="always", fastmath=_FAST_BUT_NAN_SAFE, cache=True)
def _interpolate(table, first_node, inverse_spacing, z):
    # cell and fraction from the global node coordinate z/h (exact subtraction of its floor), so they do not depend
    # on where the table starts: a trajectory is the same whatever the table's growth history; NaN outside the
    # table (the entry points size it so that this does not happen)
    position = z * inverse_spacing
    global_cell = math.floor(position)
    s = position - global_cell
    # the range test in floating point (it also catches NaN), the index in integers (off the FP latency chain)
    if not (global_cell >= first_node and global_cell < first_node + (table.shape[0] - 1)):
        return np.nan, np.nan
    cell = int(global_cell) - int(first_node)
    y0x = table[cell, 0]
    y0y = table[cell, 1]
    m0x = table[cell, 2]
    m0y = table[cell, 3]
    y1x = table[cell + 1, 0]
    y1y = table[cell + 1, 1]
    m1x = table[cell + 1, 2]
    m1y = table[cell + 1, 3]
    c2x = 3.0 * (y1x - y0x) - 2.0 * m0x - m1x
    c3x = 2.0 * (y0x - y1x) + m0x + m1x
    c2y = 3.0 * (y1y - y0y) - 2.0 * m0y - m1y
    c3y = 2.0 * (y0y - y1y) + m0y + m1y
    return y0x + s * (m0x + s * (c2x + s * c3x)), y0y + s * (m0y + s * (c2y + s * c3y))


@numba.njit(parallel=True, cache=True)
def table_field_kernel(table, first_node, inverse_spacing, b0, positions, out):
    """Field :math:`\\mathbf b` at ``positions`` (M, 3) into ``out`` (M, 3) from the table; parallel over points."""
    for index in prange(positions.shape[0]):
        bx, by = _interpolate(table, first_node, inverse_spacing, positions[index, 2])
        out[index, 0] = b0[0] + bx
        out[index, 1] = b0[1] + by
        out[index, 2] = b0[2]


#: particles advanced together in one pass of the step loop: independent dependency chains that the core overlaps
#: (measured, 999 modes, ns per particle-step: 1 → 26.6, 4 → 9.9, 8 → 9.9, 16 → 10.0)
TABLE_GROUP = 8


@numba.njit(parallel=True, fastmath=_FAST_BUT_NAN_SAFE, cache=True)
def table_advance_kernel(table, first_node, inverse_spacing, b0, positions, directions, half_angle_scale, step,
                         n_steps):
    r"""Boris steps with the tabulated field, in place; the rotation of :func:`validation.simulator.pusher`.

    :math:`\mathbf t = (\sigma\Delta/2\rho)\mathbf b`, :math:`\hat p' = \hat p + \hat p\times\mathbf t`,
    :math:`\hat p_+ = \hat p + \hat p'\times 2\mathbf t/(1+t^2)`, :math:`\mathbf r_{n+1} = \mathbf r_n +
    \Delta\hat p_+`.  Particles go in groups of :data:`TABLE_GROUP` (the last group is filled with copies of the
    last particle, computed again with an identical result), so the long per-step dependency chain of one particle
    (table read, rotation, position) overlaps with those of its companions.
    """
    count = positions.shape[0]
    for group in prange((count + TABLE_GROUP - 1) // TABLE_GROUP):
        state = np.empty((6, TABLE_GROUP))
        members = np.empty(TABLE_GROUP, np.int64)
        for member in range(TABLE_GROUP):
            index = min(TABLE_GROUP * group + member, count - 1)
            members[member] = index
            for axis in range(3):
                state[axis, member] = positions[index, axis]
                state[3 + axis, member] = directions[index, axis]
        tz = half_angle_scale * b0[2]
        for _ in range(n_steps):
            for member in range(TABLE_GROUP):
                bx, by = _interpolate(table, first_node, inverse_spacing, state[2, member])
                tx = half_angle_scale * (b0[0] + bx)
                ty = half_angle_scale * (b0[1] + by)
                px = state[3, member]
                py = state[4, member]
                pz = state[5, member]
                qx = px + (py * tz - pz * ty)
                qy = py + (pz * tx - px * tz)
                qz = pz + (px * ty - py * tx)
                factor = 2.0 / (1.0 + tx * tx + ty * ty + tz * tz)
                sx = factor * tx
                sy = factor * ty
                sz = factor * tz
                px = px + (qy * sz - qz * sy)
                py = py + (qz * sx - qx * sz)
                pz = pz + (qx * sy - qy * sx)
                state[0, member] += step * px
                state[1, member] += step * py
                state[2, member] += step * pz
                state[3, member] = px
                state[4, member] = py
                state[5, member] = pz
        for member in range(TABLE_GROUP):
            for axis in range(3):
                positions[members[member], axis] = state[axis, member]
                directions[members[member], axis] = state[3 + axis, member]


@numba.njit(inline="always", fastmath=_FAST_BUT_NAN_SAFE, cache=True)
def _unit_table_field(table, first_node, inverse_spacing, b0, z):
    bx, by = _interpolate(table, first_node, inverse_spacing, z)
    bx += b0[0]
    by += b0[1]
    bz = b0[2]
    inverse = 1.0 / math.sqrt(bx * bx + by * by + bz * bz)
    return bx * inverse, by * inverse, bz * inverse


@numba.njit(parallel=True, fastmath=_FAST_BUT_NAN_SAFE, cache=True)
def table_fieldline_kernel(table, first_node, inverse_spacing, b0, positions, step, n_steps):
    r"""Move every point ``n_steps`` classical RK4 steps of arc length ``step`` along :math:`\mathbf b/|\mathbf b|`."""
    half = 0.5 * step
    sixth = step / 6.0
    for index in prange(positions.shape[0]):
        x = positions[index, 0]
        y = positions[index, 1]
        z = positions[index, 2]
        for _ in range(n_steps):
            k1x, k1y, k1z = _unit_table_field(table, first_node, inverse_spacing, b0, z)
            k2x, k2y, k2z = _unit_table_field(table, first_node, inverse_spacing, b0, z + half * k1z)
            k3x, k3y, k3z = _unit_table_field(table, first_node, inverse_spacing, b0, z + half * k2z)
            k4x, k4y, k4z = _unit_table_field(table, first_node, inverse_spacing, b0, z + step * k3z)
            x += sixth * (k1x + 2.0 * (k2x + k3x) + k4x)
            y += sixth * (k1y + 2.0 * (k2y + k3y) + k4y)
            z += sixth * (k1z + 2.0 * (k2z + k3z) + k4z)
        positions[index, 0] = x
        positions[index, 1] = y
        positions[index, 2] = z


# ----------------------------------------------------------------------------------------------------------------
# the table


class SlabTable:
    r"""Cubic Hermite table of a slab field's :math:`b_x(z), b_y(z)`, extended on demand (module docstring).

    Parameters
    ----------
    wavevectors, polarisations : ndarray (N, 3)
        The slab modes (:math:`k_n\hat z` in :math:`1/L_c`; :math:`A_n\hat\xi_n` with zero z component).
    phases : ndarray (N,)
        :math:`\beta_n` in radians.
    b0 : ndarray (3,)
        Regular field.
    error_budget : float
        Bound on the table's error in units of :math:`\delta B_\mathrm{rms}` (:data:`FIELD_ERROR_BUDGET`), in
        [1e-12, 1e-2]; sets the spacing (:func:`hermite_spacing`).
    max_bytes : int or None
        Largest table allowed, ≥ 1 MiB; ``None``: :data:`MAX_TABLE_BYTES` at construction time.

    Examples
    --------
    >>> import numpy as np
    >>> table = SlabTable(np.array([[0.0, 0.0, 2 * np.pi]]), np.array([[0.1, 0.0, 0.0]]), np.zeros(1),
    ...                   np.array([0.0, 0.0, 1.0]))
    >>> field = table(np.array([[0.0, 0.0, 0.25]]))      # b_x = 0.1 cos(2π · 0.25) = 0
    >>> bool(abs(field[0, 0]) < 1e-9), float(field[0, 2])
    (True, 1.0)
    """

    def __init__(self, wavevectors, polarisations, phases, b0, *, error_budget=FIELD_ERROR_BUDGET, max_bytes=None):
        wavevectors = np.asarray(wavevectors, dtype=np.float64).reshape(-1, 3)
        polarisations = np.asarray(polarisations, dtype=np.float64).reshape(-1, 3)
        if not is_slab(wavevectors, polarisations):
            raise ParameterError("slab_field", "a table needs slab modes (wave vectors along z, polarisations in the "
                                               "x-y plane); use slab_field='modes'")
        self.error_budget = require_range("error_budget", error_budget, 1e-12, 1e-2)
        self.max_bytes = require_integer("max_bytes", MAX_TABLE_BYTES if max_bytes is None else max_bytes, 1 << 20)
        self.b0 = np.ascontiguousarray(np.asarray(b0, dtype=np.float64).reshape(3))
        self._nu = np.ascontiguousarray(wavevectors[:, 2] / (2.0 * math.pi))
        self._theta = np.ascontiguousarray(np.asarray(phases, dtype=np.float64).reshape(-1) / (2.0 * math.pi))
        self._amp_x = np.ascontiguousarray(polarisations[:, 0])
        self._amp_y = np.ascontiguousarray(polarisations[:, 1])
        wavenumbers = np.abs(wavevectors[:, 2])
        k_max = float(np.max(wavenumbers)) if wavenumbers.size else 0.0
        #: smallest wavelength 2π/k_max in L_c (1 for a uniform field)
        self.smallest_scale = 2.0 * math.pi / k_max if k_max > 0 else 1.0
        #: δB_rms = sqrt(Σ A_n²/2), the unit of the error budget
        self.rms_field = math.sqrt(0.5 * float(np.sum(self._amp_x**2 + self._amp_y**2)))
        amplitudes = np.hypot(self._amp_x, self._amp_y)
        self._fourth_moment = float(np.sum(amplitudes * wavenumbers**4))
        #: node spacing h in L_c: the largest with error_bound(h) <= error_budget (:func:`hermite_spacing`)
        self.spacing = hermite_spacing(self._fourth_moment, self.rms_field, self.error_budget, self.smallest_scale)
        self._inverse_spacing = 1.0 / self.spacing
        self._first_block = 0
        self._nodes = np.zeros((0, NODE_COLUMNS))

    @property
    def error_bound(self) -> float:
        r"""Rigorous bound of :math:`|\mathbf b_\mathrm{table} - \mathbf b_\mathrm{modes}|` per component in units of
        :math:`\delta B_\mathrm{rms}`: :math:`h^4\sum_n|A_n|k_n^4/(384\,\delta B_\mathrm{rms})` (module docstring;
        rounding, ~1e-13, not included)."""
        if self.rms_field == 0.0:
            return 0.0
        return self.spacing**4 * self._fourth_moment / (HERMITE_REMAINDER * self.rms_field)

    @property
    def cells_per_smallest_scale(self) -> float:
        r""":math:`L_\min/h`."""
        return self.smallest_scale / self.spacing

    @classmethod
    def of_field(cls, field, **options) -> SlabTable:
        """The table of a :class:`validation.simulator.turbulence.TurbulenceField` (its modes and regular field)."""
        return cls(field.wavevectors, field.polarisations, field.phases, field.b0, **options)

    # -- extent --------------------------------------------------------------------------------------------------
    @property
    def nbytes(self) -> int:
        """Memory of the node array in bytes."""
        return int(self._nodes.nbytes)

    @property
    def z_range(self) -> tuple[float, float]:
        """``(z_low, z_high)`` covered, in :math:`L_c` (empty: ``(0, 0)``)."""
        if self._nodes.shape[0] == 0:
            return (0.0, 0.0)
        first = self._first_block * BUILD_BLOCK
        return (first * self.spacing, (first + self._nodes.shape[0] - 1) * self.spacing)

    def bytes_for(self, z_low: float, z_high: float) -> int:
        """Memory a table covering ``[z_low, z_high]`` needs (whole blocks)."""
        first, last = self._blocks(z_low, z_high)
        return (last - first) * BUILD_BLOCK * BYTES_PER_NODE

    def _blocks(self, z_low, z_high):
        # the cell of z is floor(z/h); it and the next node must exist, plus a margin for rounding
        low = math.floor(z_low * self._inverse_spacing) - _MARGIN_CELLS
        high = math.floor(z_high * self._inverse_spacing) + 1 + _MARGIN_CELLS
        return low // BUILD_BLOCK, high // BUILD_BLOCK + 1

    def ensure(self, z_low: float, z_high: float) -> None:
        """Extend the table (if needed) to cover ``[z_low, z_high]``.

        Raises
        ------
        ParameterError
            If the table would exceed ``max_bytes``; the message says how to shrink it.
        """
        if not (math.isfinite(z_low) and math.isfinite(z_high)):
            raise ParameterError("positions", "must be finite")
        first, last = self._blocks(min(z_low, z_high), max(z_low, z_high))
        current_first = self._first_block
        current_last = current_first + self._nodes.shape[0] // BUILD_BLOCK
        if self._nodes.shape[0]:
            first, last = min(first, current_first), max(last, current_last)
            if first == current_first and last == current_last:
                return
        needed = (last - first) * BUILD_BLOCK * BYTES_PER_NODE
        if needed > self.max_bytes:
            span = (last - first) * BUILD_BLOCK * self.spacing
            raise ParameterError(
                "slab_field",
                f"the slab table for z in [{first * BUILD_BLOCK * self.spacing:.4g}, "
                f"{last * BUILD_BLOCK * self.spacing:.4g}] L_c ({span:.4g} L_c at h = {self.spacing:.3g} L_c) needs "
                f"{needed / 2**20:.0f} MiB > {self.max_bytes / 2**20:.0f} MiB: shorten the run (|z| <= c T: "
                f"--time, --fieldline-length), raise --lmin-over-lmax, or use --slab-field modes",
            )
        nodes = np.empty(((last - first) * BUILD_BLOCK, NODE_COLUMNS))
        if self._nodes.shape[0]:
            offset = (current_first - first) * BUILD_BLOCK
            nodes[offset: offset + self._nodes.shape[0]] = self._nodes
            if current_first > first:
                _build_blocks(self._nu, self._theta, self._amp_x, self._amp_y, self.spacing, first,
                              current_first - first, nodes[:offset])
            if last > current_last:
                tail = offset + self._nodes.shape[0]
                _build_blocks(self._nu, self._theta, self._amp_x, self._amp_y, self.spacing, current_last,
                              last - current_last, nodes[tail:])
        else:
            _build_blocks(self._nu, self._theta, self._amp_x, self._amp_y, self.spacing, first, last - first, nodes)
        self._nodes = nodes
        self._first_block = first

    def kernel_arrays(self) -> tuple[np.ndarray, float, float, np.ndarray]:
        """``(nodes (n, 4), first_node, 1/h, b0)`` for the kernels of this module."""
        return self._nodes, float(self._first_block * BUILD_BLOCK), self._inverse_spacing, self.b0

    # -- evaluation ----------------------------------------------------------------------------------------------
    def __call__(self, positions) -> np.ndarray:
        """:math:`\\mathbf b` at ``positions`` (M, 3) in :math:`L_c` from the table (numba kernel), extending it."""
        points = _points(positions)
        if points.shape[0]:
            self.ensure(float(points[:, 2].min()), float(points[:, 2].max()))
        out = np.empty_like(points)
        nodes, first, inverse, b0 = self.kernel_arrays()
        table_field_kernel(nodes, first, inverse, b0, points, out)
        return out

    def reference(self, positions) -> np.ndarray:
        """The slower twin of :meth:`__call__`: the same interpolant by :class:`scipy.interpolate.CubicHermiteSpline`
        on the stored nodes (``positions`` must lie inside :attr:`z_range`)."""
        from scipy.interpolate import CubicHermiteSpline

        points = _points(positions)
        first = self._first_block * BUILD_BLOCK
        z_nodes = (first + np.arange(self._nodes.shape[0])) * self.spacing
        out = np.empty_like(points)
        for axis in range(2):
            spline = CubicHermiteSpline(z_nodes, self._nodes[:, axis], self._nodes[:, 2 + axis] / self.spacing,
                                        extrapolate=False)
            out[:, axis] = self.b0[axis] + spline(points[:, 2])
        out[:, 2] = self.b0[2]
        return out


def _points(positions) -> np.ndarray:
    points = np.ascontiguousarray(np.asarray(positions, dtype=np.float64))
    if points.ndim != 2 or points.shape[1] != 3:
        raise ParameterError("positions", f"expected an (M, 3) array, got shape {points.shape}")
    if not np.all(np.isfinite(points)):
        raise ParameterError("positions", "must be finite")
    return points


def _burst_steps(table, z_values, step, remaining):
    # path per burst: the particles' current z spread (so a table grown for particles that started together
    # follows them within a factor ~2), at least _MIN_BURST_LENGTH, or all that the existing table already covers
    if z_values.size == 0:
        return remaining
    low, high = float(z_values.min()), float(z_values.max())
    table_low, table_high = table.z_range
    headroom = min(low - table_low, table_high - high) - (_MARGIN_CELLS + 1) * table.spacing
    reach = max(high - low, _MIN_BURST_LENGTH, headroom)
    return min(remaining, max(1, math.ceil(reach / step)))


def advance_table(table: SlabTable, positions, directions, half_angle_scale: float, step: float, n_steps: int):
    """Boris steps with the tabulated field (in place), extending the table burst by burst.

    Inputs are those of :func:`validation.simulator.pusher.advance_kernel` (already checked by
    :func:`validation.simulator.pusher.advance`).  Each burst of ``n`` steps moves a particle by at most ``n·step``
    in z (:math:`|\\hat p| = 1`), so the table is first extended to ``[min z − n·step, max z + n·step]``.  The
    result does not depend on how the steps are split into bursts (the kernel carries no state between calls and
    the nodes do not depend on the table's extent).
    """
    done = 0
    while done < n_steps:
        z_values = positions[:, 2]
        burst = _burst_steps(table, z_values, step, n_steps - done)
        if z_values.size:
            reach = burst * step
            table.ensure(float(z_values.min()) - reach, float(z_values.max()) + reach)
        nodes, first, inverse, b0 = table.kernel_arrays()
        table_advance_kernel(nodes, first, inverse, b0, positions, directions, half_angle_scale, step, burst)
        done += burst


def trace_table_fieldlines(table: SlabTable, positions, step: float, n_steps: int):
    """RK4 field-line steps with the tabulated field (in place), extending the table burst by burst."""
    done = 0
    while done < n_steps:
        z_values = positions[:, 2]
        burst = _burst_steps(table, z_values, step, n_steps - done)
        if z_values.size:
            reach = (burst + 1) * step  # RK4 probes up to one step ahead of the current point
            table.ensure(float(z_values.min()) - reach, float(z_values.max()) + reach)
        nodes, first, inverse, b0 = table.kernel_arrays()
        table_fieldline_kernel(nodes, first, inverse, b0, positions, step, burst)
        done += burst


def slab_table_record(field) -> dict:
    """``{"slab_table_bytes", "slab_table_spacing"}`` of a field's table (zeros without one), for run outputs."""
    table = getattr(field, "table", None)
    if table is None:
        return {"slab_table_bytes": np.int64(0), "slab_table_spacing": np.float64(0.0)}
    return {"slab_table_bytes": np.int64(table.nbytes), "slab_table_spacing": np.float64(table.spacing)}


def check_slab_field(value) -> str:
    """``value`` if it is one of :data:`SLAB_FIELDS`, else a :class:`ParameterError`."""
    if value not in SLAB_FIELDS:
        raise ParameterError("slab_field", f"must be one of {SLAB_FIELDS}, got {value!r}")
    return value


def hermite_spacing(fourth_moment: float, rms_field: float, error_budget: float, smallest_scale: float) -> float:
    r"""Largest node spacing with the rigorous cubic Hermite bound below the budget (module docstring).

    .. math:: \max_z|b_\mathrm{table} - b| \le \sum_n |A_n|\,\frac{(k_n h)^4}{384}
              \le \epsilon\,\delta B_\mathrm{rms}
              \quad\Longrightarrow\quad h = \Bigl(\frac{384\,\epsilon\,\delta B_\mathrm{rms}}
              {\sum_n |A_n| k_n^4}\Bigr)^{1/4},

    capped at :math:`L_\min/4` (and :math:`h = L_\min/4` for a field without modes).
    """
    coarsest = smallest_scale / 4.0
    if fourth_moment <= 0.0 or rms_field <= 0.0:
        return coarsest
    return min(coarsest, (HERMITE_REMAINDER * error_budget * rms_field / fourth_moment) ** 0.25)

r"""The tabulated slab field on the GPU: the cubic Hermite table of :mod:`validation.simulator.slab_table`.

Slab turbulence depends on :math:`z` alone, and its CPU default (``--slab-field table``) evaluates
:math:`b_x(z), b_y(z)` from a 1-D cubic Hermite table instead of summing the plane waves at every step
(:class:`validation.simulator.slab_table.SlabTable`, error :math:`\le 3\times10^{-7}\,\delta B_\mathrm{rms}`).  Here
the **same node array**, built on the host by :meth:`~validation.simulator.slab_table.SlabTable.ensure`, is copied
to the device and interpolated there with the same formula:

.. math:: p(s) = y_j + s\,\bigl(m_j + s\,(c_2 + s\,c_3)\bigr),\quad c_2 = 3(y_{j+1}-y_j) - 2m_j - m_{j+1},\quad
          c_3 = 2(y_j - y_{j+1}) + m_j + m_{j+1},

with the cell :math:`j = \lfloor z/h\rfloor` and :math:`s = z/h - j` from the global node coordinate (de Boor, *A
Practical Guide to Splines*, ch. IV; docs/physics/gpu-simulator.md#the-slab-table).  The Boris rotation is
:func:`validation.simulator.gpu.kernels.boris_rotate`, the arithmetic of the CPU's
:func:`validation.simulator.slab_table.table_advance_kernel`; a point outside the table gets a NaN field, as on the
CPU.

**Growth.** The table is extended on demand exactly as on the CPU
(:func:`validation.simulator.slab_table.advance_table`): before each burst of steps it must cover the particles'
current :math:`z` range widened by the burst's path (:math:`|\hat p| = 1`).  The range comes from a reduction on the
device (:func:`summary_kernel`, which also gives the diffusion moments), the host extends the table when needed and
uploads the node array again only when it has grown (:class:`DeviceTable`).  Nodes depend only on their index, so
trajectories do not depend on how the table grew or on how the steps are split into bursts, on either device.

Kernels: :func:`table_field_kernel` (field at points), :func:`table_advance_kernel` (Boris steps in place, one
particle per thread: each step reads the 64 contiguous bytes of two nodes, from a table that stays in the
cache), :func:`summary_kernel` (per-block :math:`\sum\Delta z^2`, :math:`\sum\Delta r_\perp^2`,
:math:`\sum\Delta z`, min and max :math:`z`, a fixed shared-memory tree: deterministic sums).

Examples
--------
>>> import numpy as np
>>> from validation.simulator.config import TurbulenceConfig
>>> from validation.simulator.gpu import gpu_problem
>>> from validation.simulator.turbulence import TurbulenceField
>>> field = TurbulenceField(TurbulenceConfig(kind="slab", modes_per_decade=2), 1)   # slab: the table by default
>>> field.field_evaluation
'table'
>>> if gpu_problem(allow_simulator=True) is None:  # a GPU, or numba's CUDA simulator
...     from validation.simulator.gpu.slab_table import evaluate_table_field
...     b = evaluate_table_field(field.table, np.zeros((2, 3)))
"""

from __future__ import annotations

import functools
import math
import weakref

import numpy as np
from numba import cuda, float64

from ..slab_table import _burst_steps
from .kernels import boris_rotate

__all__ = [
    "SUMMARY_COLUMNS",
    "DeviceTable",
    "advance_table",
    "device_table",
    "evaluate_table_field",
    "summarise_positions",
    "summary_kernel",
    "table_advance_kernel",
    "table_field_kernel",
]

#: per-block columns of :func:`summary_kernel`: Σ Δz², Σ Δr⊥², Σ Δz, min z, max z
SUMMARY_COLUMNS = 5


@cuda.jit(device=True)
def interpolate(table, first_node, inverse_spacing, z):
    r"""Cubic Hermite :math:`(b_x, b_y)` at ``z`` from the nodes (module docstring); NaN outside the table.

    The range test is made on :math:`z/h` itself (equivalent to the CPU's test on its floor, the table's ends being
    whole node numbers), so NaN fails it before any float-to-integer conversion.
    """
    position = z * inverse_spacing
    if not (position >= first_node and position < first_node + (table.shape[0] - 1)):
        return math.nan, math.nan
    global_cell = math.floor(position)
    s = position - global_cell
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


@cuda.jit
def table_field_kernel(table, first_node, inverse_spacing, b0, positions, out):
    """Field :math:`\\mathbf b` at ``positions`` (M, 3) into ``out`` (M, 3) from the table; one thread per point."""
    index = cuda.grid(1)
    if index < positions.shape[0]:
        bx, by = interpolate(table, first_node, inverse_spacing, positions[index, 2])
        out[index, 0] = b0[0] + bx
        out[index, 1] = b0[1] + by
        out[index, 2] = b0[2]


@cuda.jit
def table_advance_kernel(table, first_node, inverse_spacing, b0, positions, directions, half_angle_scale, step,
                         n_steps):
    r"""``n_steps`` Boris steps with the tabulated field, in place; one particle per thread.

    ``half_angle_scale`` :math:`=\sigma\Delta/2\rho` carries the charge sign (−1 backtracks).
    """
    index = cuda.grid(1)
    if index >= positions.shape[0]:
        return
    x = positions[index, 0]
    y = positions[index, 1]
    z = positions[index, 2]
    px = directions[index, 0]
    py = directions[index, 1]
    pz = directions[index, 2]
    for _ in range(n_steps):
        bx, by = interpolate(table, first_node, inverse_spacing, z)
        px, py, pz = boris_rotate(px, py, pz, b0[0] + bx, b0[1] + by, b0[2], half_angle_scale)
        x += step * px
        y += step * py
        z += step * pz
    positions[index, 0] = x
    positions[index, 1] = y
    positions[index, 2] = z
    directions[index, 0] = px
    directions[index, 1] = py
    directions[index, 2] = pz


@cuda.jit(device=True)
def _combine(shared, thread, other):
    for column in range(3):
        shared[thread, column] += shared[other, column]
    shared[thread, 3] = min(shared[thread, 3], shared[other, 3])
    shared[thread, 4] = max(shared[thread, 4], shared[other, 4])


@functools.cache
def summary_kernel(block: int):
    r"""Kernel ``(positions, partial)``: per block, :math:`\sum z^2`, :math:`\sum(x^2+y^2)`, :math:`\sum z`, min and
    max :math:`z` of ``positions`` (M, 3) into ``partial[block, 0:5]``.

    Displacements for particles that started at the origin (the diffusion moments).  ``block`` (a power of two) is
    the launch's threads per block; a fixed shared-memory tree, so the sums do not depend on scheduling.
    """
    if block < 1 or block & (block - 1):
        raise ValueError(f"block must be a power of two, got {block}")

    @cuda.jit
    def kernel(positions, partial):
        thread = cuda.threadIdx.x
        index = cuda.grid(1)
        shared = cuda.shared.array((block, SUMMARY_COLUMNS), float64)
        if index < positions.shape[0]:
            x = positions[index, 0]
            y = positions[index, 1]
            z = positions[index, 2]
            shared[thread, 0] = z * z
            shared[thread, 1] = x * x + y * y
            shared[thread, 2] = z
            shared[thread, 3] = z
            shared[thread, 4] = z
        else:
            for column in range(3):
                shared[thread, column] = 0.0
            shared[thread, 3] = math.inf
            shared[thread, 4] = -math.inf
        cuda.syncthreads()
        width = block // 2
        while width > 0:
            if thread < width:
                _combine(shared, thread, thread + width)
            cuda.syncthreads()
            width //= 2
        if thread == 0:
            for column in range(SUMMARY_COLUMNS):
                partial[cuda.blockIdx.x, column] = shared[0, column]

    return kernel


def _launch(count: int, block: int) -> tuple[int, int]:
    """``(blocks, threads per block)`` for one thread per item: ``block``, or a smaller power of two for tiny
    launches."""
    block = min(block, 1 << max(0, (count - 1).bit_length()))
    return max(1, -(-count // block)), block


def summarise_positions(device_positions, block: int) -> tuple[np.ndarray, float, float]:
    r"""``(sums, z_low, z_high)`` of device ``positions`` (M ≥ 1, 3): ``sums`` = :math:`(\sum z^2, \sum(x^2+y^2),
    \sum z)` (block sums added in index order on the host) and the range of :math:`z`."""
    blocks, block = _launch(device_positions.shape[0], block)
    partial = cuda.device_array((blocks, SUMMARY_COLUMNS), dtype=np.float64)
    summary_kernel(block)[blocks, block](device_positions, partial)
    host = partial.copy_to_host()
    return host[:, :3].sum(axis=0), float(host[:, 3].min()), float(host[:, 4].max())


class DeviceTable:
    """The node array of a :class:`validation.simulator.slab_table.SlabTable` on the device, uploaded again only
    when the host table has grown (its nodes never change, so ``(first node, node count)`` identifies a copy)."""

    def __init__(self, table):
        self.table = table
        self._key = None
        self._arrays = None
        self.uploads = 0

    def arrays(self):
        """``(device nodes, first_node, 1/h, device b0)`` of the table as it is now."""
        nodes, first, inverse, b0 = self.table.kernel_arrays()
        key = (first, nodes.shape[0])
        if key != self._key:
            self._arrays = (cuda.to_device(np.ascontiguousarray(nodes)), first, inverse, cuda.to_device(b0))
            self._key = key
            self.uploads += 1
        return self._arrays


_DEVICE_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def device_table(table) -> DeviceTable:
    """The :class:`DeviceTable` of ``table`` (one per host table, kept while the table lives)."""
    copy = _DEVICE_TABLES.get(table)
    if copy is None:
        copy = _DEVICE_TABLES[table] = DeviceTable(table)
    return copy


def evaluate_table_field(table, positions, *, block: int = 128) -> np.ndarray:
    """Field :math:`\\mathbf b` at host ``positions`` (M, 3) from ``table`` on the GPU, extending it first (as
    :meth:`validation.simulator.slab_table.SlabTable.__call__` does)."""
    points = np.ascontiguousarray(positions, dtype=np.float64)
    out = np.empty_like(points)
    if points.shape[0] == 0:
        return out
    table.ensure(float(points[:, 2].min()), float(points[:, 2].max()))
    nodes, first, inverse, b0 = device_table(table).arrays()
    device_out = cuda.device_array(points.shape, dtype=np.float64)
    blocks, block = _launch(points.shape[0], block)
    table_field_kernel[blocks, block](nodes, first, inverse, b0, cuda.to_device(points), device_out)
    return device_out.copy_to_host(out)


def advance_table(table, device_positions, device_directions, half_angle_scale: float, step: float, n_steps: int,
                  z_range: tuple[float, float], *, block: int = 128) -> None:
    """Boris steps with the tabulated field on device arrays (in place), extending the table burst by burst.

    ``z_range`` is the particles' current ``(min z, max z)``.  Bursts as in
    :func:`validation.simulator.slab_table.advance_table`: a burst of ``n`` steps moves a particle by at most
    ``n·step`` in z, so the table first covers ``[min z − n·step, max z + n·step]``; the range for the next burst is
    reduced on the device (:func:`summarise_positions`).
    """
    copy = device_table(table)
    blocks, block = _launch(device_positions.shape[0], block)
    z_low, z_high = z_range
    done = 0
    while done < n_steps:
        burst = _burst_steps(table, np.array([z_low, z_high]), step, n_steps - done)
        reach = burst * step
        table.ensure(z_low - reach, z_high + reach)
        nodes, first, inverse, b0 = copy.arrays()
        table_advance_kernel[blocks, block](nodes, first, inverse, b0, device_positions, device_directions,
                                            half_angle_scale, step, burst)
        done += burst
        if done < n_steps:
            _, z_low, z_high = summarise_positions(device_positions, block)

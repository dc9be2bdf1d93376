r"""Explicit AVX-512 plane-wave sum: the simulator's hot loop written in LLVM vector IR (docs/guide/design.md#targets).

The field of docs/physics/simulator.md#plane-wave-field, :math:`\mathbf b(\mathbf r) = \mathbf b_0 + \sum_n \mathbf
a_n\cos(2\pi t_n)` with the
phase in turns :math:`t_n = \boldsymbol\nu_n\cdot\mathbf r + \theta_n` (:mod:`validation.simulator.pusher`), costs
per mode
and particle 3 FMAs for the phase, the range reduction, the polynomial of
:func:`validation.simulator.fastmath.cos_turns`
(1 multiplication + 6 FMAs) and 3 FMAs for the sum.  With numba's loop vectoriser the reduction
:math:`u = t - \mathrm{rint}(t)` compiles to ``vrndscalepd`` (2 micro-ops) plus a subtraction: 3 of the 16
micro-ops.  AVX-512DQ has one instruction for exactly this, ``vreducepd`` with ``imm8 = 8``
(:math:`u = t - \mathrm{round}_\mathrm{even}(t)`, exact for :math:`|t| < 2^{52}`, precision exception
suppressed), which costs what one FMA costs (``benchmarks/simulator.py`` times 8 independent chains of
(reduction; add) both ways; the figures measured on this project's machines are in docs/guide/design.md#targets).  LLVM
does not form it from ``t - rint(t)`` and numba cannot call a target intrinsic inside a vectorised loop, so this
module writes the loop over modes itself, as a numba ``@intrinsic`` emitting ``<8 x double>`` IR:

* 8 modes per iteration, for ``P`` particles at once (the mode data are loaded once for all of them and the
  ``P`` independent dependency chains overlap): per mode and particle 14 vector operations, 2 fewer than the
  vectorised loop, and all at 512 bits, at the same arithmetic (same phase, same polynomial coefficients, so the
  two paths agree to summation order, ~1e-15).  Its speed against the portable loop is measured by
  ``benchmarks/simulator.py`` and ``benchmarks/whole_run.py`` (figures in docs/guide/design.md#targets).
* The mode array must be C-contiguous ``(7, N)`` with ``N`` a multiple of :data:`LANES`; callers pad with
  zero-amplitude modes (:func:`pad_modes`), which add exactly zero.
* Used only when numba's code-generation target has AVX-512F and AVX-512DQ (:data:`AVAILABLE`, decided the way
  numba decides its own target: ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` or the host).  Elsewhere the
  portable numba loop of :mod:`validation.simulator.pusher` is used, and on AVX-512 machines it stays available as the
  twin the tests compare against.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils, config
from numba.core.codegen import get_host_cpu_features
from numba.extending import intrinsic

from .fastmath import COS_TURNS_COEFFICIENTS

__all__ = ["AVAILABLE", "LANES", "MODE_ROWS", "pad_modes", "plane_wave_sum_1", "plane_wave_sum_4", "target_features"]

LANES = 8
MODE_ROWS = 7
#: VREDUCEPD imm8: bits 7:4 M = 0 (keep no fraction bits: u = t - round(t)), bit 3 suppresses the precision
#: exception, bit 2 = 0 takes the rounding mode from bits 1:0 = 00, round to nearest even
_REDUCE_IMM8 = 0b0000_1000
_ROUND_CURRENT_DIRECTION = 4


def target_features() -> str:
    """The CPU feature string numba compiles for (``NUMBA_CPU_FEATURES`` if set, else the host's)."""
    if config.CPU_FEATURES is not None:
        return config.CPU_FEATURES
    if config.CPU_NAME is not None and config.CPU_NAME != "host":
        return ""  # a named target without an explicit feature list: assume nothing
    return get_host_cpu_features()


def _has_avx512(features: str) -> bool:
    enabled = {item[1:] for item in features.split(",") if item.startswith("+")}
    return {"avx512f", "avx512dq"} <= enabled


#: True when the explicit AVX-512 kernels can be compiled for numba's target
AVAILABLE = _has_avx512(target_features())


def pad_modes(modes: np.ndarray) -> np.ndarray:
    """``modes`` (7, N) padded with zero columns to a multiple of :data:`LANES` columns (C-contiguous copy)."""
    count = modes.shape[1]
    padded = np.zeros((modes.shape[0], -(-count // LANES) * LANES))
    padded[:, :count] = modes
    return padded


def _plane_wave_sum(particles: int):
    """numba intrinsic ``sum(modes, (x1, y1, z1, ..., xP, yP, zP)) -> (Σ a_x cos, Σ a_y cos, Σ a_z cos) × P``."""
    vector = ir.VectorType(ir.DoubleType(), LANES)
    coefficients = COS_TURNS_COEFFICIENTS

    def splat(value):
        return ir.Constant(vector, [float(value)] * LANES)

    @intrinsic
    def plane_wave_sum(typingctx, modes, coordinates):
        if not (isinstance(modes, types.Array) and modes.ndim == 2 and modes.dtype == types.float64
                and modes.layout == "C" and isinstance(coordinates, types.UniTuple)
                and coordinates.dtype == types.float64 and coordinates.count == 3 * particles):
            return None
        signature = types.UniTuple(types.float64, 3 * particles)(modes, coordinates)

        def codegen(context, builder, sig, args):
            module = builder.module
            fma = cgutils.get_or_insert_function(module, ir.FunctionType(vector, [vector] * 3), "llvm.fma.v8f64")
            reduce_type = ir.FunctionType(vector, [vector, ir.IntType(32), vector, ir.IntType(8), ir.IntType(32)])
            reduce = cgutils.get_or_insert_function(module, reduce_type, "llvm.x86.avx512.mask.reduce.pd.512")
            array = context.make_array(sig.args[0])(context, builder, args[0])
            columns = builder.extract_value(array.shape, 1)
            data = array.data
            rows = [builder.gep(data, [builder.mul(columns, ir.Constant(columns.type, row))])
                    for row in range(MODE_ROWS)]
            positions = []
            for item in range(3 * particles):
                value = builder.extract_value(args[1], item)
                lane = builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
                positions.append(builder.shuffle_vector(lane, ir.Constant(vector, ir.Undefined),
                                                        ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)))
            accumulators = [cgutils.alloca_once_value(builder, splat(0.0)) for _ in range(3 * particles)]
            polynomial = [splat(value) for value in coefficients]
            keep_all = ir.Constant(ir.IntType(8), -1)

            with cgutils.for_range_slice(builder, ir.Constant(columns.type, 0), columns,
                                         ir.Constant(columns.type, LANES)) as (index, _):
                loaded = []
                for row in rows:
                    pointer = builder.bitcast(builder.gep(row, [index]), vector.as_pointer())
                    loaded.append(builder.load(pointer, align=8))
                nu_x, nu_y, nu_z, theta, amp_x, amp_y, amp_z = loaded
                for particle in range(particles):
                    x, y, z = positions[3 * particle: 3 * particle + 3]
                    turns = builder.call(fma, [nu_x, x, theta])
                    turns = builder.call(fma, [nu_y, y, turns])
                    turns = builder.call(fma, [nu_z, z, turns])
                    reduced = builder.call(reduce, [turns, ir.Constant(ir.IntType(32), _REDUCE_IMM8), splat(0.0),
                                                    keep_all, ir.Constant(ir.IntType(32), _ROUND_CURRENT_DIRECTION)])
                    square = builder.fmul(reduced, reduced)
                    wave = polynomial[-1]
                    for coefficient in reversed(polynomial[:-1]):
                        wave = builder.call(fma, [wave, square, coefficient])
                    for component, amplitude in enumerate((amp_x, amp_y, amp_z)):
                        slot = accumulators[3 * particle + component]
                        builder.store(builder.call(fma, [amplitude, wave, builder.load(slot)]), slot)

            totals = []
            for slot in accumulators:
                value = builder.load(slot)
                width = LANES
                while width > 1:  # pairwise tree: log2(8) shuffles and additions
                    width //= 2
                    upper = builder.shuffle_vector(value, ir.Constant(vector, ir.Undefined), ir.Constant(
                        ir.VectorType(ir.IntType(32), LANES), [(lane + width) % LANES for lane in range(LANES)]))
                    value = builder.fadd(value, upper)
                totals.append(builder.extract_element(value, ir.Constant(ir.IntType(32), 0)))
            return context.make_tuple(builder, sig.return_type, totals)

        return signature, codegen

    return plane_wave_sum


plane_wave_sum_1 = _plane_wave_sum(1)
plane_wave_sum_4 = _plane_wave_sum(4)

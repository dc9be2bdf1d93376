r"""CUDA kernels (numba, FP64) of the test-particle simulator: plane-wave field, Boris push, diffusion moments.

The same equations and the same arithmetic as the CPU kernels of :mod:`validation.simulator.pusher`:

* Field: :math:`\mathbf b(\mathbf r) = \mathbf b_0 + \sum_n \mathbf a_n\cos(2\pi t_n)` with the phase in turns
  :math:`t_n = \boldsymbol\nu_n\cdot\mathbf r + \theta_n` (Giacalone & Jokipii 1999), modes as the C-contiguous
  ``(7, N)`` array of :meth:`validation.simulator.turbulence.TurbulenceField.kernel_arrays`.
* Cosine: the degree-6 polynomial in :math:`u^2` of :func:`validation.simulator.fastmath.cos_turns` (same
  coefficients, same Horner order of fused multiply-adds as the AVX-512 kernel of
  :mod:`validation.simulator.simd`), max abs error :data:`validation.simulator.fastmath.MAX_ABS_ERROR`.  The exact
  range reduction :math:`u = t - \mathrm{rint}(t)` is written :math:`u = t - ((t + 1.5\cdot2^{52}) - 1.5\cdot2^{52})`:
  for :math:`|t| < 2^{51}` the addition rounds :math:`t` to the nearest integer (ties to even, the rounding of
  ``rint``), so the result is bit-identical to ``rint``, in two FP64 additions that run at the full FMA rate (the
  FP64 rounding instruction runs at a fraction of it).  Compiled without fast-math, so nothing re-associates them.
* Boris push (Boris 1970; Birdsall & Langdon 1991, sect. 4-4), :math:`\mathbf t = (\sigma\Delta/2\rho)\mathbf b`,
  :math:`\mathbf s = 2\mathbf t/(1+t^2)`, :math:`\hat p' = \hat p + \hat p\times\mathbf t`,
  :math:`\hat p_+ = \hat p + \hat p'\times\mathbf s`, :math:`\mathbf r_{n+1} = \mathbf r_n + \Delta\hat p_+`;
  ``half_angle_scale`` :math:`=\sigma\Delta/2\rho` carries the charge sign (−1 backtracks,
  docs/physics/simulator.md#liouville-mapping).

Per mode and particle: 3 FMAs (phase), 2 additions + 1 subtraction (reduction), 1 multiplication + 6 FMAs
(polynomial), 3 FMAs (sum): 16 FP64 instructions, 26 FLOPs in the CPU's accounting (``benchmarks/gpu.py``).

Layout: one thread advances ``per_thread`` particles (1 or 2); the mode data read once per mode serve all of them
(every thread of a warp reads the same address: one broadcast load).  The state lives in registers for the whole
launch; :func:`moments_kernel` reduces :math:`\sum\Delta z^2`, :math:`\sum\Delta r_\perp^2`, :math:`\sum\Delta z` over
each block in shared memory at every output step and writes one partial sum per block and output (no atomics,
so the sums are deterministic).

Differences from the CPU kernels, all rounding: the mode sum is sequential (the AVX-512 kernel sums 8 lanes, then a
tree), and NVVM contracts the Boris arithmetic into FMAs where the CPU rounds products separately.  Under numba's
CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) ``cuda.fma`` does not exist and a product and a sum stand in for it.
"""

from __future__ import annotations

import functools

from numba import cuda, float64

from ..fastmath import COS_TURNS_COEFFICIENTS

__all__ = ["ROUNDING_SHIFT", "advance_kernel", "field_kernel", "moments_kernel"]

#: 1.5 * 2**52: adding and subtracting it rounds |t| < 2**51 to the nearest integer, ties to even (module docstring)
ROUNDING_SHIFT = 6755399441055744.0

_C0, _C1, _C2, _C3, _C4, _C5, _C6 = COS_TURNS_COEFFICIENTS

if not hasattr(cuda, "fma"):  # numba's CUDA simulator: a product and a sum (one extra rounding, ~1e-16 relative)
    cuda.fma = lambda a, b, c: a * b + c


@cuda.jit(device=True)
def cos_turns(turns):
    r""":math:`\cos(2\pi t)` for a phase in turns: :func:`validation.simulator.fastmath.cos_turns` on the device."""
    reduced = turns - ((turns + ROUNDING_SHIFT) - ROUNDING_SHIFT)
    square = reduced * reduced
    wave = cuda.fma(_C6, square, _C5)
    wave = cuda.fma(wave, square, _C4)
    wave = cuda.fma(wave, square, _C3)
    wave = cuda.fma(wave, square, _C2)
    wave = cuda.fma(wave, square, _C1)
    return cuda.fma(wave, square, _C0)


@cuda.jit(device=True)
def plane_wave_sum(modes, x, y, z):
    r""":math:`\sum_n \mathbf a_n\cos(2\pi(\boldsymbol\nu_n\cdot\mathbf r + \theta_n))` at one point."""
    sum_x = 0.0
    sum_y = 0.0
    sum_z = 0.0
    for n in range(modes.shape[1]):
        wave = cos_turns(cuda.fma(modes[2, n], z, cuda.fma(modes[1, n], y, cuda.fma(modes[0, n], x, modes[3, n]))))
        sum_x = cuda.fma(modes[4, n], wave, sum_x)
        sum_y = cuda.fma(modes[5, n], wave, sum_y)
        sum_z = cuda.fma(modes[6, n], wave, sum_z)
    return sum_x, sum_y, sum_z


@cuda.jit
def field_kernel(modes, b0, positions, out):
    """Field :math:`\\mathbf b` at ``positions`` (M, 3) into ``out`` (M, 3); one thread per point."""
    index = cuda.grid(1)
    if index < positions.shape[0]:
        sum_x, sum_y, sum_z = plane_wave_sum(modes, positions[index, 0], positions[index, 1], positions[index, 2])
        out[index, 0] = b0[0] + sum_x
        out[index, 1] = b0[1] + sum_y
        out[index, 2] = b0[2] + sum_z


@cuda.jit(device=True)
def boris_rotate(px, py, pz, bx, by, bz, half_angle_scale):
    """Boris rotation of the direction (module docstring); :func:`validation.simulator.pusher._boris_rotate`."""
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


@functools.cache
def _step_function(per_thread: int):
    """Device function: ``per_thread`` particles (state rows x, y, z, p_x, p_y, p_z) one Boris step, in place."""

    @cuda.jit(device=True)
    def boris_step(modes, b0, state, sums, half_angle_scale, step):
        for member in range(per_thread):
            sums[member, 0] = 0.0
            sums[member, 1] = 0.0
            sums[member, 2] = 0.0
        for n in range(modes.shape[1]):
            nu_x = modes[0, n]
            nu_y = modes[1, n]
            nu_z = modes[2, n]
            theta = modes[3, n]
            amp_x = modes[4, n]
            amp_y = modes[5, n]
            amp_z = modes[6, n]
            for member in range(per_thread):
                turns = cuda.fma(nu_x, state[member, 0], theta)
                turns = cuda.fma(nu_y, state[member, 1], turns)
                turns = cuda.fma(nu_z, state[member, 2], turns)
                wave = cos_turns(turns)
                sums[member, 0] = cuda.fma(amp_x, wave, sums[member, 0])
                sums[member, 1] = cuda.fma(amp_y, wave, sums[member, 1])
                sums[member, 2] = cuda.fma(amp_z, wave, sums[member, 2])
        for member in range(per_thread):
            px, py, pz = boris_rotate(state[member, 3], state[member, 4], state[member, 5], b0[0] + sums[member, 0],
                                      b0[1] + sums[member, 1], b0[2] + sums[member, 2], half_angle_scale)
            state[member, 0] += step * px
            state[member, 1] += step * py
            state[member, 2] += step * pz
            state[member, 3] = px
            state[member, 4] = py
            state[member, 5] = pz

    return boris_step


@functools.cache
def advance_kernel(per_thread: int):
    """Kernel ``(modes, b0, positions, directions, half_angle_scale, step, n_steps)``: Boris steps in place.

    Thread ``g`` advances particles ``per_thread * g ...``; a last thread past the end repeats the last particle
    (computed again, not written).  Launch with ``ceil(M / per_thread)`` threads.
    """
    boris_step = _step_function(per_thread)

    @cuda.jit
    def kernel(modes, b0, positions, directions, half_angle_scale, step, n_steps):
        first = cuda.grid(1) * per_thread
        count = positions.shape[0]
        if first >= count:
            return
        state = cuda.local.array((per_thread, 6), float64)
        sums = cuda.local.array((per_thread, 3), float64)
        for member in range(per_thread):
            index = min(first + member, count - 1)
            for axis in range(3):
                state[member, axis] = positions[index, axis]
                state[member, 3 + axis] = directions[index, axis]
        for _ in range(n_steps):
            boris_step(modes, b0, state, sums, half_angle_scale, step)
        for member in range(per_thread):
            index = first + member
            if index < count:
                for axis in range(3):
                    positions[index, axis] = state[member, axis]
                    directions[index, axis] = state[member, 3 + axis]

    return kernel


@functools.cache
def moments_kernel(per_thread: int, block: int):
    r"""Kernel ``(modes, b0, directions, half_angle_scale, step, steps, partial)``: diffusion moments on the device.

    Particles start at the origin with ``directions`` (M, 3); at each cumulative step count ``steps[k]`` the block
    sums of :math:`\Delta z^2`, :math:`\Delta x^2+\Delta y^2` and :math:`\Delta z` go to ``partial[k, block, 0:3]``
    (a fixed shared-memory tree, so the result does not depend on scheduling).  ``block`` (a power of two) must be
    the launch's threads per block; launch ``ceil(ceil(M / per_thread) / block)`` blocks.
    """
    if block < 1 or block & (block - 1):
        raise ValueError(f"block must be a power of two, got {block}")
    boris_step = _step_function(per_thread)

    @cuda.jit
    def kernel(modes, b0, directions, half_angle_scale, step, steps, partial):
        thread = cuda.threadIdx.x
        first = cuda.grid(1) * per_thread
        count = directions.shape[0]
        active = first < count
        state = cuda.local.array((per_thread, 6), float64)
        sums = cuda.local.array((per_thread, 3), float64)
        shared = cuda.shared.array((block, 3), float64)
        for member in range(per_thread):
            index = min(first + member, count - 1)
            for axis in range(3):
                state[member, axis] = 0.0
                state[member, 3 + axis] = directions[index, axis] if active else 0.0
        done = 0
        for output in range(steps.shape[0]):
            if active:
                for _ in range(steps[output] - done):
                    boris_step(modes, b0, state, sums, half_angle_scale, step)
            done = steps[output]
            parallel = 0.0
            perpendicular = 0.0
            shift = 0.0
            for member in range(per_thread):
                if first + member < count:
                    parallel += state[member, 2] * state[member, 2]
                    perpendicular += state[member, 0] * state[member, 0] + state[member, 1] * state[member, 1]
                    shift += state[member, 2]
            shared[thread, 0] = parallel
            shared[thread, 1] = perpendicular
            shared[thread, 2] = shift
            cuda.syncthreads()
            width = block // 2
            while width > 0:
                if thread < width:
                    for column in range(3):
                        shared[thread, column] += shared[thread + width, column]
                cuda.syncthreads()
                width //= 2
            if thread == 0:
                for column in range(3):
                    partial[output, cuda.blockIdx.x, column] = shared[0, column]
            cuda.syncthreads()  # shared is overwritten at the next output

    return kernel

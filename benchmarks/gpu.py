"""Device check of the GPU simulator (:mod:`validation.simulator.gpu`): parity, throughput, one diffusion run.

One script, sized to finish in a few minutes on one H200 (at most 8).  Nothing is asserted; the results go to
``$OUT/gpu.json`` (or ``--out``) and, last, one JSON line on stdout.  Steps:

1. **Parity** on a small case: the GPU field against the CPU kernel (``"auto"``, the same polynomial cosine) and
   the libm twin, relative to :math:`|\\mathbf b|`; a few Boris steps of trajectories (both charge signs, 1 and 2
   particles per thread) against :func:`validation.simulator.pusher.advance`; the diffusion moments of a tiny
   realisation against :func:`validation.simulator.diffusion.diffusion_realisation`.
2. **Throughput** at 256, 1024 and 4096 isotropic modes with 2**20 particles (Boris kernel, state resident on the
   device, one launch of many steps, timed after a warm-up launch): particle-steps/s, mode-steps/s, FP64 FLOP/s at
   26 FLOPs per mode (the CPU's accounting: phase 3 FMA, reduction 1, polynomial 1 mul + 6 FMA, sum 3 FMA; an FMA
   counts 2) and the fraction of the FP64 vector peak, :data:`FP64_PEAK` = 34 TFLOP/s (H100/H200 SXM datasheet).
   The same figures for one CPU core (``NUMBA_NUM_THREADS=1``, set before numba loads) of the machine the script
   runs on.
3. **Slab table** (:mod:`validation.simulator.gpu.slab_table`): Boris steps through the tabulated slab field
   (default slab turbulence, 768 modes, :math:`r_g/L_c = 0.1` at its default step), :data:`TABLE_PARTICLES`
   particles resident on the device, the table built on the host beforehand for the whole reach (its build time
   on one core reported apart), timed after a warm-up: particle-steps/s against one CPU core running the CPU
   table kernel on :data:`TABLE_CPU_PARTICLES` particles in the same table.
4. **End to end**: one realisation of ``cr-anisotropy simulate diffusion --device gpu`` (default turbulence, 768
   modes, r_g/L_c = 0.1, 2**20 particles, the length sized from step 2 to take ~40 s), its whole-run
   particle-steps/s against one CPU core running the same realisation with :data:`CPU_PARTICLES` particles
   (same seed: the CPU's particles are the first ones of the GPU run); the diffusion coefficients of both at the
   last output, and of the GPU with the same :data:`CPU_PARTICLES` particles (same particles, same field: they
   differ by rounding amplified by chaos), with the particle-scatter standard error of the CPU mean
   (:math:`\\mathrm{std}(\\Delta z^2)/\\sqrt N`, from the GPU's final positions of those particles; correlations
   between particles of one realisation are ignored).
5. **Pair statistics end to end**: one realisation of ``cr-anisotropy simulate pairs --device gpu`` (default
   turbulence, r_g/L_c = 0.1, :data:`PAIR_NODES` nodes × :data:`PAIR_PAIRS` pairs, five ages, the length sized from
   step 2 to take ~:data:`PAIR_SECONDS` s; the pairs are backtracked on the device and the observables accumulated
   on the host): its whole-run particle-steps/s against one CPU core running the pair instrument on fewer pairs
   (same seed, same ages), and for those pairs the GPU's and the CPU's C_1, C_2 (G along B0) and mixing function
   <P_1(x')> at the last age (same pairs, same field: they differ by rounding amplified by chaos) with the
   largest difference over all the instrument's arrays.

Step 1 also compares the slab table on the device with the CPU table (field, a few steps of trajectories) and
with the exact mode sum (in units of δB_rms; the table's stated error is 3e-7), and the pair statistics of a small
case with the CPU's.

Usage: ``python benchmarks/gpu.py [--out DIR] [--quick]`` (``--quick``: tiny sizes, e.g. under
``NUMBA_ENABLE_CUDASIM=1`` to check the script itself on a CPU, a few minutes there).  Without a usable GPU (and
without the simulator) it prints one line and exits 0.
"""

from __future__ import annotations

import os

os.environ["NUMBA_NUM_THREADS"] = "1"  # the CPU figures are per core; must precede the numba import

import argparse
import datetime
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

import validation.simulator.gpu  # noqa: F401  (its numpy shim for numba-cuda must precede numba.cuda)

FLOPS_PER_MODE = 26
#: FP64 vector peak of an H100/H200 SXM, FLOP/s (NVIDIA H200 datasheet: 34 TFLOPS FP64, 67 FP64 Tensor Core)
FP64_PEAK = 34e12
MODE_COUNTS = (256, 1024, 4096)
GPU_PARTICLES = 1 << 20
#: most particles of the one-core CPU run of the end-to-end realisation (fewer if it would exceed CPU_E2E_SECONDS)
CPU_PARTICLES = 4096
CPU_E2E_SECONDS = 30.0
#: FLOPs per timed GPU launch (~1-2 s at 10-30 TFLOP/s: far above launch overhead)
GPU_WORK = 2e13
#: seconds per timed GPU launch at most (sized from a 4-step probe)
GPU_SECONDS = 2.0
#: seconds per timed CPU measurement
CPU_SECONDS = 1.5
E2E_SECONDS = 40.0
#: particles of the slab-table throughput (one per thread: the table kernel does a few tens of FLOPs per step)
TABLE_PARTICLES = 1 << 22
#: CPU particles of the one-core slab-table rate (a multiple of the CPU kernel's group of 8)
TABLE_CPU_PARTICLES = 4096
#: seconds of the timed slab-table launch (sized from a probe)
TABLE_SECONDS = 2.0
#: pair statistics end to end: Gauss-Legendre nodes, pairs per node (61 680 * 17 = 1 048 560 particles: one chunk of
#: the GPU pair driver, validation.simulator.gpu.driver.PAIR_CHUNK = 2**20), GPU seconds
PAIR_NODES = 16
PAIR_PAIRS = (1 << 20) // (PAIR_NODES + 1)
PAIR_SECONDS = 30.0
#: most pairs per node of the one-core CPU run of the pair instrument (fewer if it would exceed CPU_E2E_SECONDS)
CPU_PAIRS = 64
#: particles of the GPU throughput and end-to-end runs in --quick mode (the CUDA simulator runs a thread as Python)
QUICK_PARTICLES = 256


def _random_field(count: int, seed: int):
    from validation.simulator.turbulence import TurbulenceField

    rng = np.random.default_rng(seed)
    direction = rng.standard_normal((count, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    wavenumbers = np.geomspace(1.0, 1000.0, count) * 2.0 * math.pi / 5.0
    helper = np.cross(direction, rng.standard_normal((count, 3)))
    helper /= np.linalg.norm(helper, axis=1, keepdims=True)
    amplitudes = np.sqrt(2.0 / count)
    return TurbulenceField.from_modes(wavenumbers[:, None] * direction, amplitudes * helper,
                                      rng.uniform(0, 2 * math.pi, count), (0.0, 0.0, 0.5))


def _unit(rng, count):
    vectors = rng.standard_normal((count, 3))
    return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def parity(quick: bool) -> dict:
    from validation.simulator import pusher
    from validation.simulator.config import DiffusionConfig, TurbulenceConfig
    from validation.simulator.diffusion import diffusion_realisation as cpu_diffusion
    from validation.simulator.gpu import driver
    from validation.simulator.turbulence import TurbulenceField

    rng = np.random.default_rng(5)
    out = {}
    for kind in ("isotropic", "slab"):
        field = TurbulenceField(TurbulenceConfig(kind=kind, modes_per_decade=4 if quick else 64), 11)
        points = rng.uniform(-20.0, 20.0, (16 if quick else 4096, 3))
        gpu = driver.evaluate_field(field, points)
        scale = np.linalg.norm(pusher.evaluate_field(field, points, kernel="libm"), axis=1)
        for kernel in ("auto", "libm"):
            cpu = pusher.evaluate_field(field, points, kernel=kernel)
            out[f"field_{kind}_vs_cpu_{kernel}_max_rel"] = float(np.max(np.linalg.norm(gpu - cpu, axis=1) / scale))
    field = TurbulenceField(TurbulenceConfig(modes_per_decade=4 if quick else 64), 12)
    count, steps = (6, 3) if quick else (1023, 50)
    for charge in (1, -1):
        for per_thread in (1, 2):
            start = _unit(rng, count)
            cpu_r, cpu_p = np.zeros((count, 3)), start.copy()
            gpu_r, gpu_p = np.zeros((count, 3)), start.copy()
            pusher.advance(field, cpu_r, cpu_p, 0.2, charge, 0.005, steps)
            driver.advance(field, gpu_r, gpu_p, 0.2, charge, 0.005, steps, per_thread=per_thread)
            out[f"trajectory_{steps}_steps_charge{charge:+d}_per_thread{per_thread}_max_abs"] = float(
                max(np.max(np.abs(cpu_r - gpu_r)), np.max(np.abs(cpu_p - gpu_p))))
    config = DiffusionConfig(TurbulenceConfig(modes_per_decade=4 if quick else 64), reduced_rigidity=0.2,
                             particles=8 if quick else 4096, time=0.2 if quick else 2.0, n_times=5)
    seed = np.random.SeedSequence(21)
    gpu = driver.diffusion_realisation(config, seed)
    cpu = cpu_diffusion(config, seed)
    for key in ("msd_parallel", "msd_perp"):
        out[f"diffusion_{key}_max_rel"] = float(np.max(np.abs(gpu[key] / cpu[key] - 1.0)))
    out.update(_table_parity(quick, rng))
    out.update(_pair_parity(quick))
    return out


def _table_parity(quick: bool, rng) -> dict:
    """The slab table on the device against the CPU table (same nodes) and the exact mode sum."""
    from validation.simulator import pusher
    from validation.simulator.config import TurbulenceConfig
    from validation.simulator.gpu import driver
    from validation.simulator.turbulence import TurbulenceField

    turbulence = TurbulenceConfig(kind="slab", modes_per_decade=4 if quick else 64)
    field = TurbulenceField(turbulence, 13)
    modes = TurbulenceField(turbulence, 13, slab_field="modes")
    points = rng.uniform(-20.0, 20.0, (16 if quick else 4096, 3))
    gpu = driver.evaluate_field(field, points)
    cpu = pusher.evaluate_field(field, points)
    exact = pusher.evaluate_field(modes, points, kernel="libm")
    out = {"table_field_vs_cpu_table_max_rel": float(np.max(np.linalg.norm(gpu - cpu, axis=1)
                                                            / np.linalg.norm(cpu, axis=1))),
           "table_field_vs_modes_libm_over_rms": float(np.max(np.abs(gpu - exact)) / field.table.rms_field),
           "table_error_bound_over_rms": float(field.table.error_bound)}
    count, steps = (6, 3) if quick else (1023, 50)
    for charge in (1, -1):
        start = _unit(rng, count)
        cpu_r, cpu_p = np.zeros((count, 3)), start.copy()
        gpu_r, gpu_p = np.zeros((count, 3)), start.copy()
        pusher.advance(field, cpu_r, cpu_p, 0.2, charge, 0.005, steps)
        driver.advance(field, gpu_r, gpu_p, 0.2, charge, 0.005, steps)
        out[f"table_trajectory_{steps}_steps_charge{charge:+d}_max_abs"] = float(
            max(np.max(np.abs(cpu_r - gpu_r)), np.max(np.abs(cpu_p - gpu_p))))
    return out


def _largest_pair_difference(gpu: dict, cpu: dict) -> float:
    """max over the pair instrument's arrays of |GPU - CPU| / max|CPU| (each array on its own scale)."""
    worst = 0.0
    for key, reference in cpu.items():
        reference = np.asarray(reference, dtype=float)
        scale = float(np.max(np.abs(reference))) or 1.0
        worst = max(worst, float(np.max(np.abs(np.asarray(gpu[key], dtype=float) - reference))) / scale)
    return worst


def _pair_parity(quick: bool) -> dict:
    from validation.simulator.config import PairConfig, TurbulenceConfig
    from validation.simulator.gpu import driver
    from validation.simulator.pairs import pair_realisation as cpu_pairs

    out = {}
    for kind in ("isotropic", "slab"):
        config = PairConfig(TurbulenceConfig(kind=kind, modes_per_decade=4 if quick else 64), 0.2, nodes=4,
                            pairs=4 if quick else 64, times=(0.02, 0.05) if quick else (0.05, 0.25), lmax_mixing=4)
        seed = np.random.SeedSequence(22)
        out[f"pairs_{kind}_max_scale_rel"] = _largest_pair_difference(driver.pair_realisation(config, seed),
                                                                      cpu_pairs(config, seed))
    return out


def _gpu_rate(field, particles, per_thread, quick):
    from numba import cuda

    from validation.simulator.gpu import driver, kernels

    modes, b0 = driver._device_modes(field)
    count = modes.shape[1]
    rng = np.random.default_rng(1)
    positions = cuda.to_device(np.zeros((particles, 3)))
    directions = cuda.to_device(_unit(rng, particles))
    device_modes, device_b0 = cuda.to_device(modes), cuda.to_device(b0)
    threads = -(-particles // per_thread)
    block = driver.THREADS_PER_BLOCK
    kernel = kernels.advance_kernel(per_thread)[-(-threads // block), block]
    kernel(device_modes, device_b0, positions, directions, 0.05, 0.01, 1)  # compile + warm up
    cuda.synchronize()
    probe_steps = 2 if quick else 4
    start = time.perf_counter()
    kernel(device_modes, device_b0, positions, directions, 0.05, 0.01, probe_steps)
    cuda.synchronize()
    per_step = (time.perf_counter() - start) / probe_steps
    steps = 2 if quick else int(min(max(2, GPU_SECONDS / per_step), GPU_WORK / (particles * count * FLOPS_PER_MODE)))
    start = time.perf_counter()
    kernel(device_modes, device_b0, positions, directions, 0.05, 0.01, steps)
    cuda.synchronize()
    seconds = time.perf_counter() - start
    return particles * steps / seconds, seconds, steps


def _cpu_rate(field, quick):
    from validation.simulator import pusher

    rng = np.random.default_rng(2)
    particles = 64 if quick else 512
    positions, directions = np.zeros((particles, 3)), _unit(rng, particles)
    pusher.advance(field, positions, directions, 0.05, 1, 0.01, 1)  # compile
    steps = 1
    while True:
        start = time.process_time()
        pusher.advance(field, positions, directions, 0.05, 1, 0.01, steps)
        seconds = time.process_time() - start
        if quick or seconds > CPU_SECONDS / 4:
            break
        steps *= 4
    return particles * steps / seconds, seconds, steps


def throughput(quick: bool) -> dict:
    rows = []
    particles = QUICK_PARTICLES if quick else GPU_PARTICLES
    for count in ((8,) if quick else MODE_COUNTS):
        field = _random_field(count, count)
        row = {"modes": count, "particles": particles}
        for per_thread in (1, 2):
            try:
                rate, seconds, steps = _gpu_rate(field, particles, per_thread, quick)
            except Exception as error:
                row[f"gpu_per_thread{per_thread}"] = {"error": f"{type(error).__name__}: {error}",
                                                      "particle_steps_per_s": 0.0, "mode_steps_per_s": 0.0}
                continue
            flops = rate * count * FLOPS_PER_MODE
            row[f"gpu_per_thread{per_thread}"] = {
                "particle_steps_per_s": rate, "mode_steps_per_s": rate * count, "fp64_flops": flops,
                "fraction_of_fp64_peak": flops / FP64_PEAK, "seconds": seconds, "steps": steps}
        try:
            rate, seconds, steps = _cpu_rate(field, quick)
        except Exception as error:  # keep the GPU figures if the CPU kernels fail on this machine
            row["cpu_one_core"] = {"error": f"{type(error).__name__}: {error}"}
        else:
            row["cpu_one_core"] = {"particle_steps_per_s": rate, "mode_steps_per_s": rate * count,
                                   "ns_per_mode_step": 1e9 / (rate * count), "seconds": seconds, "steps": steps}
            best = max(row["gpu_per_thread1"]["particle_steps_per_s"], row["gpu_per_thread2"]["particle_steps_per_s"])
            row["gpu_over_one_core"] = best / rate
        rows.append(row)
        print(json.dumps(row), flush=True)
    return {"rows": rows}


def _mode_rate(rates: list, n_modes: int, device: str = "gpu") -> float:
    """Mode-steps/s at ``n_modes``, interpolated from the throughput rows (best thread layout on the GPU)."""
    counts = np.array([row["modes"] for row in rates], dtype=float)
    if device == "gpu":
        speed = np.array([max(row["gpu_per_thread1"]["mode_steps_per_s"], row["gpu_per_thread2"]["mode_steps_per_s"])
                          for row in rates])
    else:
        speed = np.array([row["cpu_one_core"].get("mode_steps_per_s", np.nan) for row in rates])
    return float(np.interp(n_modes, counts, speed)) if counts.size > 1 else float(speed[0])


def _read_csv(path: Path):
    """A CSV written by the CLI as a structured array (its '#' comment line skipped: the header is the next line)."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return np.genfromtxt(lines, delimiter=",", names=True)


def table_throughput(quick: bool) -> dict:
    """Boris steps through the slab table on the device and on one CPU core (module docstring, step 3)."""
    from numba import cuda

    from validation.simulator.config import DiffusionConfig, TurbulenceConfig
    from validation.simulator.gpu.slab_table import advance_table
    from validation.simulator.turbulence import TurbulenceField

    turbulence = TurbulenceConfig(kind="slab", modes_per_decade=4) if quick else TurbulenceConfig(kind="slab")
    field = TurbulenceField(turbulence, 7)
    dt = DiffusionConfig(turbulence, reduced_rigidity=0.1).timestep
    scale = dt / (2.0 * 0.1)
    particles = QUICK_PARTICLES if quick else TABLE_PARTICLES
    rng = np.random.default_rng(3)
    positions = cuda.to_device(np.zeros((particles, 3)))
    directions = cuda.to_device(_unit(rng, particles))

    def run(steps):
        start = time.perf_counter()
        advance_table(field.table, positions, directions, scale, dt, steps, (-1.0, 1.0))
        cuda.synchronize()
        return time.perf_counter() - start

    field.table.ensure(-1.0 - 64 * dt, 1.0 + 64 * dt)
    run(16)  # compile + warm up (the particles stay within |z| <= 16 dt: no growth)
    probe = 4 if quick else 64
    per_step = run(probe) / probe
    steps = 4 if quick else int(max(16, TABLE_SECONDS / per_step))
    reach = 1.0 + (16 + probe + steps) * dt
    start = time.perf_counter()
    field.table.ensure(-reach, reach)  # built for the whole run first: the timed launch is the device's work
    build_seconds = time.perf_counter() - start
    seconds = run(steps)
    rate = particles * steps / seconds
    result = {"n_modes": turbulence.n_modes, "particles": particles, "dt": dt, "steps": steps, "seconds": seconds,
              "particle_steps_per_s": rate, "table_mib": field.table.nbytes / 2**20,
              "table_spacing": field.table.spacing, "table_build_seconds_one_core": build_seconds}
    try:
        cpu_rate, cpu_seconds, cpu_steps, cpu_particles = _cpu_table_rate(field, scale, dt, int(reach / dt) - 1,
                                                                          quick)
    except Exception as error:
        result["cpu_one_core"] = {"error": f"{type(error).__name__}: {error}"}
    else:
        result["cpu_one_core"] = {"particle_steps_per_s": cpu_rate, "seconds": cpu_seconds, "steps": cpu_steps,
                                  "particles": cpu_particles}
        result["gpu_over_one_core"] = rate / cpu_rate
    print(json.dumps(result), flush=True)
    return result


def _cpu_table_rate(field, scale, dt, most_steps, quick):
    """One core's particle-steps/s of the CPU table kernel, inside the table already built (no growth timed)."""
    from validation.simulator.slab_table import table_advance_kernel

    rng = np.random.default_rng(4)
    particles = 64 if quick else TABLE_CPU_PARTICLES
    nodes, first, inverse, b0 = field.table.kernel_arrays()
    positions, directions = np.zeros((particles, 3)), _unit(rng, particles)
    table_advance_kernel(nodes, first, inverse, b0, positions, directions, scale, dt, 1)  # compile
    steps = 4
    while True:
        positions[:] = 0.0
        start = time.process_time()
        table_advance_kernel(nodes, first, inverse, b0, positions, directions, scale, dt, steps)
        seconds = time.process_time() - start
        if quick or seconds > CPU_SECONDS / 4 or 4 * steps > most_steps:
            break
        steps *= 4
    return particles * steps / seconds, seconds, steps, particles


def end_to_end(quick: bool, rates: list, workdir: Path) -> dict:
    from anisotropy.cli import main
    from validation.simulator.config import DiffusionConfig, TurbulenceConfig

    rigidity, seed = 0.1, 0
    turbulence = TurbulenceConfig(modes_per_decade=4) if quick else TurbulenceConfig()
    particles = QUICK_PARTICLES if quick else GPU_PARTICLES
    probe = DiffusionConfig(turbulence, reduced_rigidity=rigidity, particles=particles)
    dt = probe.timestep
    mode_rate = _mode_rate(rates, turbulence.n_modes)
    steps = 20 if quick else int(E2E_SECONDS * mode_rate / turbulence.n_modes / particles)
    total_time = float(f"{max(steps, 10) * dt:.2g}")
    out_dir = workdir / "e2e"
    argv = ["simulate", "diffusion", "--device", "gpu", "--executor", "serial", "--quiet", "--realisations", "1",
            "--seed", str(seed), "--particles", str(particles), "--rigidity", str(rigidity),
            "--time", str(total_time), "--modes-per-decade", str(turbulence.modes_per_decade), "--out", str(out_dir)]
    start = time.perf_counter()
    status = main(argv)
    wall = time.perf_counter() - start
    record = json.loads((out_dir / "run.json").read_text())
    table = _read_csv(out_dir / "diffusion.csv")
    gpu_rate = record["particle_steps_per_realisation"] / record["wall_seconds"]

    result = {
        "command": "cr-anisotropy " + " ".join(argv[:-2]),
        "exit_status": status,
        "n_modes": turbulence.n_modes,
        "particles": particles,
        "steps": record["steps_per_particle"],
        "dt": record["dt"],
        "time": total_time,
        "gpu_wall_seconds_realisation": record["wall_seconds"],
        "gpu_wall_seconds_command": wall,
        "gpu_particle_steps_per_s_whole_run": gpu_rate,
        "fraction_of_fp64_peak_whole_run": gpu_rate * turbulence.n_modes * FLOPS_PER_MODE / FP64_PEAK,
        "gpu_last": {key: float(table[key][-1]) for key in ("t", "msd_par", "msd_perp", "d_par", "d_perp")},
    }
    print(json.dumps(result), flush=True)
    try:
        cpu_rate = _mode_rate(rates, turbulence.n_modes, "cpu") / turbulence.n_modes
        # CPU particles for ~CPU_E2E_SECONDS on one core, a multiple of 256 in [256, CPU_PARTICLES]
        cpu_particles = CPU_PARTICLES
        if math.isfinite(cpu_rate) and cpu_rate > 0:
            cpu_particles = int(min(CPU_PARTICLES, max(256, CPU_E2E_SECONDS * cpu_rate / record["steps_per_particle"]
                                                       // 256 * 256)))
        result.update(_cpu_comparison(quick, turbulence, rigidity, seed, total_time, gpu_rate, table,
                                      16 if quick else cpu_particles))
    except Exception as error:
        result["cpu_comparison_error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(result), flush=True)
    return result


def _cpu_comparison(quick, turbulence, rigidity, seed, total_time, gpu_rate, table, cpu_particles) -> dict:
    from validation.simulator.config import DiffusionConfig
    from validation.simulator.diffusion import _DIRECTION_STREAM, isotropic_directions
    from validation.simulator.diffusion import diffusion_realisation as cpu_diffusion
    from validation.simulator.ensemble import realisation_seed
    from validation.simulator.gpu import driver
    from validation.simulator.turbulence import TurbulenceField

    config = DiffusionConfig(turbulence, reduced_rigidity=rigidity, particles=cpu_particles, time=total_time)
    realisation = realisation_seed(seed, 0)
    start = time.process_time()
    cpu = cpu_diffusion(config, realisation)
    cpu_seconds = time.process_time() - start
    cpu_rate = int(cpu["particle_steps"]) / cpu_seconds
    gpu_small = driver.diffusion_realisation(config, realisation)
    # particle scatter of the CPU means: final states of the same particles, from the GPU
    directions = isotropic_directions(config.particles, np.random.default_rng(realisation_seed(realisation,
                                                                                                _DIRECTION_STREAM)))
    positions = np.zeros_like(directions)
    dt_used, out_steps = config.output_steps()
    field = TurbulenceField(turbulence, realisation_seed(realisation, 0))
    driver.advance(field, positions, directions, rigidity, 1, dt_used, int(out_steps[-1]))
    last_time = float(cpu["times"][-1])
    dz2 = positions[:, 2] ** 2
    dr2 = positions[:, 0] ** 2 + positions[:, 1] ** 2
    return {
        "cpu_one_core_particle_steps_per_s_whole_run": cpu_rate,
        "cpu_particles": config.particles,
        "cpu_seconds": cpu_seconds,
        "speedup_vs_one_core": gpu_rate / cpu_rate,
        "last_time": last_time,
        "msd_parallel": {"gpu_all": float(table["msd_par"][-1]), "gpu_same_particles": float(gpu_small[
            "msd_parallel"][-1]), "cpu": float(cpu["msd_parallel"][-1]),
            "cpu_standard_error": float(np.std(dz2, ddof=1) / math.sqrt(dz2.size))},
        "msd_perp": {"gpu_all": float(table["msd_perp"][-1]), "gpu_same_particles": float(gpu_small[
            "msd_perp"][-1]), "cpu": float(cpu["msd_perp"][-1]),
            "cpu_standard_error": float(np.std(dr2, ddof=1) / math.sqrt(dr2.size))},
        "d_parallel_last": {"gpu_all": float(table["d_par"][-1]), "gpu_same_particles": float(gpu_small[
            "d_parallel"][-1]), "cpu": float(cpu["d_parallel"][-1])},
        "d_perp_last": {"gpu_all": float(table["d_perp"][-1]), "gpu_same_particles": float(gpu_small[
            "d_perp"][-1]), "cpu": float(cpu["d_perp"][-1])},
    }


def pairs_end_to_end(quick: bool, rates: list, workdir: Path) -> dict:
    """One ``simulate pairs --device gpu`` realisation and the pair instrument on one CPU core (step 5)."""
    from anisotropy.cli import main
    from validation.simulator.config import PairConfig, TurbulenceConfig

    rigidity, seed = 0.1, 0
    turbulence = TurbulenceConfig(modes_per_decade=4) if quick else TurbulenceConfig()
    nodes, pairs = (4, 4) if quick else (PAIR_NODES, PAIR_PAIRS)
    particles = pairs * (nodes + 1)
    dt = PairConfig(turbulence, rigidity, nodes=nodes, pairs=pairs, times=(1.0,)).timestep
    # at least 50 steps: the five log-spaced ages from T/100 to T must lie at least one step apart
    steps = 50 if quick else int(PAIR_SECONDS * _mode_rate(rates, turbulence.n_modes) / turbulence.n_modes
                                 / particles)
    total_time = float(f"{max(steps, 50) * dt:.2g}")
    out_dir = workdir / "pairs"
    argv = ["simulate", "pairs", "--device", "gpu", "--executor", "serial", "--quiet", "--realisations", "1",
            "--seed", str(seed), "--nodes", str(nodes), "--pairs", str(pairs), "--rigidity", str(rigidity),
            "--time", str(total_time), "--n-times", "5", "--modes-per-decade", str(turbulence.modes_per_decade),
            "--out", str(out_dir)]
    start = time.perf_counter()
    status = main(argv)
    wall = time.perf_counter() - start
    record = json.loads((out_dir / "run.json").read_text())
    with np.load(out_dir / "pairs.npz") as arrays:
        gpu_all = {"cl_along": arrays["mean/cl"][0, -1, 1:3].tolist(),
                   "mixing_p1_mean_over_nodes": float(np.mean(arrays["mean/mixing"][-1, :, 1]))}
    gpu_rate = record["particle_steps_per_realisation"] / record["wall_seconds"]
    result = {"command": "cr-anisotropy " + " ".join(argv[:-2]), "exit_status": status,
              "n_modes": turbulence.n_modes, "particles": particles, "steps": record["steps_per_particle"],
              "ages": record["ages"], "gpu_wall_seconds_realisation": record["wall_seconds"],
              "gpu_wall_seconds_command": wall, "gpu_particle_steps_per_s_whole_run": gpu_rate,
              "fraction_of_fp64_peak_whole_run": gpu_rate * turbulence.n_modes * FLOPS_PER_MODE / FP64_PEAK,
              "gpu_all": gpu_all}
    print(json.dumps(result), flush=True)
    try:
        cpu_rate = _mode_rate(rates, turbulence.n_modes, "cpu") / turbulence.n_modes
        cpu_pairs = CPU_PAIRS
        if math.isfinite(cpu_rate) and cpu_rate > 0:
            cpu_pairs = int(min(CPU_PAIRS, max(4, CPU_E2E_SECONDS * cpu_rate / record["steps_per_particle"]
                                                / (nodes + 1))))
        config = PairConfig(turbulence, rigidity, nodes=nodes, pairs=2 if quick else cpu_pairs,
                            times=tuple(record["ages"][1:]))
        result.update(_cpu_pairs_comparison(config, seed, gpu_rate))
    except Exception as error:
        result["cpu_comparison_error"] = f"{type(error).__name__}: {error}"
    print(json.dumps(result), flush=True)
    return result


def _cpu_pairs_comparison(config, seed, gpu_rate) -> dict:
    from validation.simulator.ensemble import realisation_seed
    from validation.simulator.gpu import driver
    from validation.simulator.pairs import pair_realisation as cpu_pairs

    realisation = realisation_seed(seed, 0)
    start = time.process_time()
    cpu = cpu_pairs(config, realisation)
    cpu_seconds = time.process_time() - start
    gpu = driver.pair_realisation(config, realisation)
    cpu_rate = int(cpu["particle_steps"]) / cpu_seconds

    def summary(result):
        return {"cl_along": result["cl"][0, -1, 1:3].tolist(),
                "mixing_p1_mean_over_nodes": float(np.mean(result["mixing"][-1, :, 1]))}

    return {"cpu_pairs": config.pairs, "cpu_seconds": cpu_seconds,
            "cpu_one_core_particle_steps_per_s_whole_run": cpu_rate, "speedup_vs_one_core": gpu_rate / cpu_rate,
            "gpu_same_pairs": summary(gpu), "cpu": summary(cpu),
            "same_pairs_largest_scale_rel_difference": _largest_pair_difference(gpu, cpu)}


def _device() -> dict:
    info = {"numba": numba.__version__, "python": platform.python_version(), "cpu": platform.processor()}
    try:
        from numba import cuda
    except ImportError as error:  # numba without its CUDA target and no numba-cuda
        info["device_error"] = f"numba.cuda is not importable ({error})"
        return info
    try:
        import numba_cuda

        info["numba_cuda"] = getattr(numba_cuda, "__version__", "?")
    except ImportError:
        info["numba_cuda"] = None
    try:
        device = cuda.get_current_device()
        info.update(name=str(device.name), compute_capability=list(device.compute_capability),
                    multiprocessors=int(device.MULTIPROCESSOR_COUNT))
    except Exception as error:  # the simulator has few attributes
        info["device_error"] = str(error)
    try:
        info["nvidia_smi"] = subprocess.run(["nvidia-smi", "--query-gpu=name,clocks.sm,clocks.max.sm,power.draw",
                                             "--format=csv,noheader"], capture_output=True, text=True,
                                            timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        info["nvidia_smi"] = None
    return info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    parser.add_argument("--quick", action="store_true", help="tiny sizes (e.g. under NUMBA_ENABLE_CUDASIM=1)")
    args = parser.parse_args()
    started = time.perf_counter()
    results = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "device": _device(), "fp64_peak": FP64_PEAK, "flops_per_mode": FLOPS_PER_MODE}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    results["commit"] = os.environ.get("GPU_BENCH_COMMIT", commit)
    if results["device"].get("device_error") and not os.environ.get("NUMBA_ENABLE_CUDASIM"):
        # `make bench` on a machine without a GPU: one line, nothing to measure (and no gpu.json to mistake for a
        # result)
        reason = " ".join(results["device"]["device_error"].replace(":", " ").split())
        print(f"benchmarks/gpu.py: skipped, no usable CUDA GPU ({reason})")
        return 0
    print(json.dumps(results["device"]), flush=True)

    def save():
        results["wall_seconds"] = time.perf_counter() - started
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu.json").write_text(json.dumps(results, indent=2))

    for name, step in (("parity", lambda: parity(args.quick)), ("throughput", lambda: throughput(args.quick)),
                       ("slab_table", lambda: table_throughput(args.quick))):
        t0 = time.perf_counter()
        try:
            results[name] = step()
        except Exception as error:  # keep going: each step's numbers are worth having alone
            results[name] = {"error": f"{type(error).__name__}: {error}"}
        results[name + "_seconds"] = time.perf_counter() - t0
        print(name, json.dumps(results[name]), flush=True)
        save()
    if "rows" in results["throughput"]:
        with tempfile.TemporaryDirectory() as workdir:
            for name, run in (("end_to_end", end_to_end), ("pairs_end_to_end", pairs_end_to_end)):
                t0 = time.perf_counter()
                try:
                    results[name] = run(args.quick, results["throughput"]["rows"], Path(workdir))
                except Exception as error:
                    results[name] = {"error": f"{type(error).__name__}: {error}"}
                results[name + "_seconds"] = time.perf_counter() - t0
                save()
    save()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

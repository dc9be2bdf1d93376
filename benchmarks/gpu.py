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
3. **End to end**: one realisation of ``cr-anisotropy simulate diffusion --device gpu`` (default turbulence, 768
   modes, r_g/L_c = 0.1, 2**20 particles, the length sized from step 2 to take ~40 s), its whole-run
   particle-steps/s against one CPU core running the same realisation with :data:`CPU_PARTICLES` particles
   (same seed: the CPU's particles are the first ones of the GPU run); the diffusion coefficients of both at the
   last output, and of the GPU with the same :data:`CPU_PARTICLES` particles (same particles, same field: they
   differ by rounding amplified by chaos), with the particle-scatter standard error of the CPU mean
   (:math:`\\mathrm{std}(\\Delta z^2)/\\sqrt N`, from the GPU's final positions of those particles; correlations
   between particles of one realisation are ignored).

Usage: ``python benchmarks/gpu.py [--out DIR] [--quick]`` (``--quick``: tiny sizes, e.g. under
``NUMBA_ENABLE_CUDASIM=1`` to check the script itself on a CPU).
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
    particles = 4096 if quick else GPU_PARTICLES
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


def end_to_end(quick: bool, rates: list, workdir: Path) -> dict:
    from anisotropy.cli import main
    from validation.simulator.config import DiffusionConfig, TurbulenceConfig

    rigidity, seed = 0.1, 0
    turbulence = TurbulenceConfig(modes_per_decade=4) if quick else TurbulenceConfig()
    particles = 4096 if quick else GPU_PARTICLES
    probe = DiffusionConfig(turbulence, reduced_rigidity=rigidity, particles=particles)
    dt = probe.timestep
    # particle-steps/s at this mode count, interpolated in 1/modes from the throughput rows
    counts = np.array([row["modes"] for row in rates], dtype=float)
    speed = np.array([max(row["gpu_per_thread1"]["mode_steps_per_s"], row["gpu_per_thread2"]["mode_steps_per_s"])
                      for row in rates])
    mode_rate = float(np.interp(turbulence.n_modes, counts, speed)) if counts.size > 1 else float(speed[0])
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
    table = np.genfromtxt(out_dir / "diffusion.csv", delimiter=",", names=True)
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
        cpu_speed = np.array([row["cpu_one_core"].get("mode_steps_per_s", np.nan) for row in rates])
        cpu_rate = float(np.interp(turbulence.n_modes, counts, cpu_speed)) / turbulence.n_modes
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


def _device() -> dict:
    from numba import cuda

    info = {"numba": numba.__version__, "python": platform.python_version(), "cpu": platform.processor()}
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
    print(json.dumps(results["device"]), flush=True)
    if results["device"].get("device_error") and not os.environ.get("NUMBA_ENABLE_CUDASIM"):
        # `make bench` on a machine without a GPU: nothing to measure (and no gpu.json to mistake for a result)
        print("benchmarks/gpu.py: skipped, no usable CUDA GPU")
        return 0

    def save():
        results["wall_seconds"] = time.perf_counter() - started
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu.json").write_text(json.dumps(results, indent=2))

    for name, step in (("parity", lambda: parity(args.quick)), ("throughput", lambda: throughput(args.quick))):
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
            try:
                results["end_to_end"] = end_to_end(args.quick, results["throughput"]["rows"], Path(workdir))
            except Exception as error:
                results["end_to_end"] = {"error": f"{type(error).__name__}: {error}"}
    save()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

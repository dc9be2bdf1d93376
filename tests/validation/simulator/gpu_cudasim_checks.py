"""GPU kernels against the CPU kernels under numba's CUDA simulator; run by test_gpu.py in a subprocess.

``NUMBA_ENABLE_CUDASIM=1`` must be set before ``numba.cuda`` is first imported, so these checks run in a fresh
interpreter: ``python gpu_cudasim_checks.py`` prints one JSON object of measured differences (or ``{"skip": why}``
when no ``numba.cuda`` is importable).  Tiny cases: the simulator runs every CUDA thread as a Python thread.
"""

from __future__ import annotations

import json
import math
import os
import sys

os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np


def _unit(rng, count):
    vectors = rng.standard_normal((count, 3))
    return np.ascontiguousarray(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def checks() -> dict:
    from validation.simulator import pusher
    from validation.simulator.config import AnisotropyConfig, DiffusionConfig, TurbulenceConfig
    from validation.simulator.diffusion import diffusion_realisation as cpu_diffusion
    from validation.simulator.fastmath import cos_turns_array
    from validation.simulator.gpu import driver
    from validation.simulator.turbulence import TurbulenceField

    out = {}
    rng = np.random.default_rng(2026)
    # fields: positions within a few L_c, so the phases are O(100) turns (the simulator's unfused FMA rounds
    # the phase once more, an absolute error ~1e-16 |t|)
    for kind in ("isotropic", "slab"):
        # like with like: the GPU sums the plane waves, so the CPU side must not use the slab table
        evaluation = "modes" if kind == "slab" else None
        field = TurbulenceField(TurbulenceConfig(kind=kind, eta=0.7, modes_per_decade=3, slab_field=evaluation), 31)
        points = rng.uniform(-2.0, 2.0, (6, 3))
        gpu = driver.evaluate_field(field, points, block=8)
        for kernel in ("auto", "portable"):
            cpu = pusher.evaluate_field(field, points, kernel=kernel)
            out[f"field_{kind}_{kernel}"] = float(np.max(np.linalg.norm(gpu - cpu, axis=1) /
                                                         np.linalg.norm(cpu, axis=1)))
    # the cosine alone: one mode with zero wavevector, phase theta = t turns, amplitude along x
    turns = np.array([0.0, 0.25, 0.5, -0.5, 1.5, -2.5, 0.123456789, 37.75, 1e6 + 0.5, -123456.3])
    single = TurbulenceField.from_modes(np.zeros((1, 3)), [[1.0, 0.0, 0.0]], [0.0], (0.0, 0.0, 0.0))
    cosines = np.empty(turns.size)
    for index, value in enumerate(turns):
        single._set_modes(np.zeros((1, 3)), [[1.0, 0.0, 0.0]], [2.0 * math.pi * value], (0.0, 0.0, 0.0))
        cosines[index] = driver.evaluate_field(single, np.zeros((1, 3)), block=1)[0, 0]
    phases_in_turns = np.array([2.0 * math.pi * value for value in turns]) / (2.0 * math.pi)
    out["cos_vs_cpu_polynomial"] = float(np.max(np.abs(cosines - cos_turns_array(phases_in_turns))))
    out["cos_vs_libm"] = float(np.max(np.abs(cosines - np.cos(2.0 * math.pi * phases_in_turns))))
    # trajectories: an odd particle count exercises the last thread of per_thread = 2
    field = TurbulenceField(TurbulenceConfig(eta=0.5, modes_per_decade=3), 32)
    for charge in (1, -1):
        for per_thread in (1, 2):
            start = _unit(rng, 5)
            cpu_r, cpu_p = np.zeros((5, 3)), start.copy()
            gpu_r, gpu_p = np.zeros((5, 3)), start.copy()
            pusher.advance(field, cpu_r, cpu_p, 0.3, charge, 0.02, 4)
            driver.advance(field, gpu_r, gpu_p, 0.3, charge, 0.02, 4, per_thread=per_thread, block=2)
            key = f"trajectory_charge{charge:+d}_per_thread{per_thread}"
            out[key] = float(max(np.max(np.abs(cpu_r - gpu_r)), np.max(np.abs(cpu_p - gpu_p))))
            out[key + "_norm"] = float(np.max(np.abs(np.linalg.norm(gpu_p, axis=1) - 1.0)))
    # diffusion moments reduced on the device, 3 outputs, against the CPU realisation with the same seed
    config = DiffusionConfig(TurbulenceConfig(modes_per_decade=3), reduced_rigidity=0.3, particles=7, time=0.05,
                             n_times=3)
    seed = np.random.SeedSequence(33)
    for per_thread in (1, 2):
        gpu = driver.diffusion_realisation(config, seed, per_thread=per_thread, block=4)
        cpu = cpu_diffusion(config, seed)
        out[f"diffusion_per_thread{per_thread}"] = float(max(
            np.max(np.abs(gpu[key] / cpu[key] - 1.0)) for key in ("msd_parallel", "msd_perp", "mean_dz")))
    # the device batch shrinks on out-of-memory: same particles, same moments as the small batch
    out.update(_shrink_check(driver, config, seed))
    # backtracked maps: nside 1, two times
    anisotropy = AnisotropyConfig(TurbulenceConfig(modes_per_decade=3), reduced_rigidity=0.3, nside=1,
                                  times=(0.02, 0.04))
    from validation.simulator.backtrack import anisotropy_realisation as cpu_anisotropy

    gpu_maps = driver.anisotropy_realisation(anisotropy, np.random.SeedSequence(34))["maps"]
    cpu_maps = cpu_anisotropy(anisotropy, np.random.SeedSequence(34))["maps"]
    out["maps"] = float(np.max(np.abs(gpu_maps - cpu_maps)) / np.max(np.abs(cpu_maps)))
    out.update(_executor_check(driver, config, anisotropy))
    out.update(_cli_check())
    return out


def _cli_check() -> dict:
    import tempfile
    from pathlib import Path

    from anisotropy.cli import main

    with tempfile.TemporaryDirectory() as folder:
        status = main(["simulate", "diffusion", "--device", "gpu", "--executor", "serial", "--quiet",
                       "--particles", "3", "--time", "0.01", "--n-times", "2", "--modes-per-decade", "2",
                       "--out", folder])
        record = json.loads((Path(folder) / "run.json").read_text())
    return {"cli_status": status, "cli_device": record.get("device"), "cli_field_kernel": record.get("field_kernel")}


def _shrink_check(driver, config, seed) -> dict:
    from anisotropy.errors import ParameterError

    real = driver._batch_moments
    chunk = driver.PARTICLE_CHUNK
    driver.PARTICLE_CHUNK = 2  # small chunks so that 7 particles span several batches

    def out_of_memory_above(limit):
        def batch_moments(modes, b0, directions, *args):
            if directions.shape[0] > limit:
                raise RuntimeError("CUDA_ERROR_OUT_OF_MEMORY (simulated)")
            return real(modes, b0, directions, *args)

        return batch_moments

    try:
        reference = driver.diffusion_realisation(config, seed, batch=2, block=4)
        driver._batch_moments = out_of_memory_above(2)
        shrunk = driver.diffusion_realisation(config, seed, batch=8, block=4)
        driver._batch_moments = out_of_memory_above(0)
        try:
            driver.diffusion_realisation(config, seed, batch=2, block=4)
            message = ""
        except ParameterError as error:
            message = f"{error.name}|{error}"
    finally:
        driver._batch_moments = real
        driver.PARTICLE_CHUNK = chunk
    return {"shrink_difference": float(np.max(np.abs(shrunk["msd_perp"] - reference["msd_perp"]))),
            "out_of_memory_message": message}


def _executor_check(driver, config, anisotropy) -> dict:
    from validation.simulator import backtrack
    from validation.simulator.diffusion import diffusion_realisation as cpu_diffusion

    executor = driver.DeviceExecutor()
    seed = np.random.SeedSequence(35)
    routed = executor.submit(cpu_diffusion, config, seed).result()
    direct = driver.diffusion_realisation(config, seed)
    original = backtrack.anisotropy_realisation

    def calibration_like(config, seed):
        # looks the realisation up at call time, as validation.calibration does
        from validation.simulator.backtrack import anisotropy_realisation

        return anisotropy_realisation(config, seed)

    through = executor.submit(calibration_like, anisotropy, np.random.SeedSequence(36)).result()
    gpu = driver.anisotropy_realisation(anisotropy, np.random.SeedSequence(36))
    return {"executor_diffusion_identical": bool(np.array_equal(routed["msd_perp"], direct["msd_perp"])),
            "executor_lookup_identical": bool(np.array_equal(through["maps"], gpu["maps"])),
            "executor_restored": backtrack.anisotropy_realisation is original}


def main() -> int:
    try:
        from numba import cuda  # noqa: F401
    except ImportError as error:
        print(json.dumps({"skip": f"numba.cuda is not importable: {error}"}))
        return 0
    print(json.dumps(checks()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
    out.update(_table_checks(driver, rng))
    out.update(_pair_checks(driver))
    out.update(_campaign_check())
    return out


def _table_checks(driver, rng) -> dict:
    """The slab table on the device against the CPU table (same nodes) and against the exact mode sum."""
    from validation.simulator import pusher
    from validation.simulator.config import DiffusionConfig, TurbulenceConfig
    from validation.simulator.diffusion import diffusion_realisation as cpu_diffusion
    from validation.simulator.gpu.slab_table import device_table
    from validation.simulator.turbulence import TurbulenceField

    out = {}
    turbulence = TurbulenceConfig(kind="slab", eta=0.7, modes_per_decade=3)
    table_field = TurbulenceField(turbulence, 41)  # slab: the table by default
    modes_field = TurbulenceField(turbulence, 41, slab_field="modes")  # the same modes, summed
    points = rng.uniform(-3.0, 3.0, (256, 3))
    gpu = driver.evaluate_field(table_field, points, block=32)
    cpu = pusher.evaluate_field(table_field, points)
    exact = pusher.evaluate_field(modes_field, points, kernel="libm")
    out["table_field_evaluation"] = table_field.field_evaluation
    out["table_field_vs_cpu_table"] = float(np.max(np.linalg.norm(gpu - cpu, axis=1) / np.linalg.norm(cpu, axis=1)))
    out["table_field_vs_modes_over_rms"] = float(np.max(np.abs(gpu - exact)) / table_field.table.rms_field)
    out["table_error_bound"] = float(table_field.table.error_bound)
    for charge in (1, -1):
        start = _unit(rng, 5)
        cpu_r, cpu_p = np.zeros((5, 3)), start.copy()
        gpu_r, gpu_p = np.zeros((5, 3)), start.copy()
        pusher.advance(table_field, cpu_r, cpu_p, 0.3, charge, 0.02, 4)
        driver.advance(table_field, gpu_r, gpu_p, 0.3, charge, 0.02, 4, block=2)
        out[f"table_trajectory_charge{charge:+d}"] = float(max(np.max(np.abs(cpu_r - gpu_r)),
                                                               np.max(np.abs(cpu_p - gpu_p))))
    # growth over many steps: a smooth slab (L_min/L_max = 0.1, L_min ~ 0.4 L_c) so that 300 steps of 0.02 L_c
    # resolve it and rounding is not amplified by under-resolved kicks
    smooth = TurbulenceConfig(kind="slab", eta=0.7, lmin_over_lmax=0.1, modes_per_decade=3)
    out.update(_table_growth_check(driver, smooth, rng, device_table))
    config = DiffusionConfig(turbulence, reduced_rigidity=0.3, particles=7, time=0.05, n_times=3)
    seed = np.random.SeedSequence(43)
    gpu = driver.diffusion_realisation(config, seed, block=4)
    cpu = cpu_diffusion(config, seed)
    out["table_diffusion"] = float(max(np.max(np.abs(gpu[key] / cpu[key] - 1.0))
                                       for key in ("msd_parallel", "msd_perp", "mean_dz")))
    out["table_diffusion_bytes"] = [int(gpu["slab_table_bytes"]), int(cpu["slab_table_bytes"])]
    # backtracked maps through the table: nside 1, two times
    from validation.simulator.backtrack import anisotropy_realisation as cpu_anisotropy
    from validation.simulator.config import AnisotropyConfig

    anisotropy = AnisotropyConfig(turbulence, reduced_rigidity=0.3, nside=1, times=(0.02, 0.04))
    gpu_maps = driver.anisotropy_realisation(anisotropy, np.random.SeedSequence(46))["maps"]
    cpu_maps = cpu_anisotropy(anisotropy, np.random.SeedSequence(46))["maps"]
    out["table_maps"] = float(np.max(np.abs(gpu_maps - cpu_maps)) / np.max(np.abs(cpu_maps)))
    return out


def _table_growth_check(driver, turbulence, rng, device_table) -> dict:
    """Many bursts (the table grows as the particles move): against the CPU, and one call against ten calls."""
    from validation.simulator import pusher
    from validation.simulator.turbulence import TurbulenceField

    start = _unit(rng, 3)
    start[:, 2] = np.sign(start[:, 2]) * np.maximum(np.abs(start[:, 2]), 0.9)  # mostly along z: the table must grow
    start /= np.linalg.norm(start, axis=1, keepdims=True)
    states = {}
    for name in ("cpu", "gpu_once", "gpu_split"):
        field = TurbulenceField(turbulence, 42)
        positions, directions = np.zeros((3, 3)), start.copy()
        if name == "cpu":
            pusher.advance(field, positions, directions, 0.3, 1, 0.02, 300)
        elif name == "gpu_once":
            driver.advance(field, positions, directions, 0.3, 1, 0.02, 300, block=2)
            uploads = device_table(field.table).uploads
        else:
            for _ in range(10):
                driver.advance(field, positions, directions, 0.3, 1, 0.02, 30, block=2)
        states[name] = np.concatenate([positions, directions])
    return {"table_growth_vs_cpu": float(np.max(np.abs(states["gpu_once"] - states["cpu"]))),
            "table_growth_split_difference": float(np.max(np.abs(states["gpu_once"] - states["gpu_split"]))),
            "table_growth_uploads": uploads,
            "table_growth_z_reached": float(np.max(np.abs(states["cpu"][:3, 2])))}


def _pair_scale_difference(gpu: dict, cpu: dict) -> tuple[float, list]:
    """Largest |GPU - CPU| over every array of the pair instrument, relative to the array's largest |CPU| value."""
    worst, keys = 0.0, sorted(cpu)
    for key in keys:
        reference = np.asarray(cpu[key], dtype=float)
        scale = float(np.max(np.abs(reference))) or 1.0
        worst = max(worst, float(np.max(np.abs(np.asarray(gpu[key], dtype=float) - reference))) / scale)
    return worst, [key for key in keys if key not in gpu]


def _pair_checks(driver) -> dict:
    from validation.simulator.config import PairConfig, TurbulenceConfig
    from validation.simulator.pairs import pair_realisation as cpu_pairs

    out = {}
    for kind in ("isotropic", "slab"):  # slab: the table on both devices
        config = PairConfig(TurbulenceConfig(kind=kind, eta=0.5, modes_per_decade=3), 0.3, nodes=3, pairs=4,
                            times=(0.02, 0.04), lmax_mixing=4)
        seed = np.random.SeedSequence(44)
        cpu = cpu_pairs(config, seed)
        for chunk in (driver.PAIR_CHUNK, 8):  # 8 particles: two pairs per chunk, two chunks
            gpu = driver.pair_realisation(config, seed, chunk_particles=chunk)
            worst, missing = _pair_scale_difference(gpu, cpu)
            out[f"pairs_{kind}_chunk{'_small' if chunk == 8 else ''}"] = worst
            out[f"pairs_{kind}_missing_keys"] = missing
    out.update(_pair_executor_and_cli(driver, config))
    return out


def _pair_executor_and_cli(driver, config) -> dict:
    import tempfile
    from pathlib import Path

    from anisotropy.cli import main
    from validation.simulator import pairs
    from validation.simulator.pairs import pair_realisation as cpu_pairs

    executor = driver.DeviceExecutor()
    seed = np.random.SeedSequence(45)
    direct = driver.pair_realisation(config, seed)
    routed = executor.submit(cpu_pairs, config, seed).result()

    def campaign_like(config, seed):
        # looks the instrument up at call time, as validation.campaign.campaign_realisation does
        from validation.simulator.pairs import pair_realisation

        return pair_realisation(config, seed)

    through = executor.submit(campaign_like, config, seed).result()
    out = {"pairs_executor_identical": bool(np.array_equal(routed["mixing"], direct["mixing"])),
           "pairs_executor_lookup_identical": bool(np.array_equal(through["mixing"], direct["mixing"])),
           "pairs_executor_restored": pairs.pair_realisation is cpu_pairs and not hasattr(pairs, "__cpu_functions__")}
    records = {}
    for name, extra in (("pairs", ["pairs", "--nodes", "2", "--pairs", "2", "--times", "0.02,0.04"]),
                        ("slab", ["diffusion", "--turbulence", "slab", "--particles", "3", "--time", "0.01",
                                  "--n-times", "2"]),
                        ("slab_modes", ["diffusion", "--turbulence", "slab", "--slab-field", "modes", "--particles",
                                        "3", "--time", "0.01", "--n-times", "2"])):
        with tempfile.TemporaryDirectory() as folder:
            status = main(["simulate", *extra, "--device", "gpu", "--executor", "serial", "--quiet",
                           "--realisations", "2", "--modes-per-decade", "2", "--out", folder])
            record = json.loads((Path(folder) / "run.json").read_text())
        records[name] = {"status": status, "device": record.get("device"), "slab_field": record.get("slab_field"),
                         "slab_table_mib": record.get("slab_table_mib_mean")}
    out["cli_records"] = records
    return out


def _campaign_check() -> dict:
    """``validate --campaign --device gpu`` hands the campaign a DeviceExecutor; a tiny campaign records the GPU."""
    import tempfile
    from pathlib import Path

    from anisotropy.cli import main
    from validation import campaign
    from validation.simulator.gpu.driver import DeviceExecutor

    seen = {}
    real = campaign.run_campaign

    def capture(out, grid, *, executor=None, **options):
        seen["executor"] = type(executor).__name__
        return {"cases": [], "wall_seconds": 0.0}

    campaign.run_campaign = capture
    try:
        with tempfile.TemporaryDirectory() as folder:
            status = main(["validate", "--campaign", "--quick", "--device", "gpu", "--out", folder + "/c"])
    finally:
        campaign.run_campaign = real
    case = campaign.CampaignCase("slab", 0.5, 1.0, realisations=2, t_over_tau_s=0.02, nside=2, n_times=2,
                                 pair_nodes=2, pairs=2, lmax_mixing=2)
    with tempfile.TemporaryDirectory() as folder:
        payload = campaign.run_campaign(Path(folder), [case], executor=DeviceExecutor(), theory=False,
                                        figures=False)
    return {"campaign_cli_status": status, "campaign_cli_executor": seen.get("executor"),
            "campaign_device": payload.get("device"),
            "campaign_cpu_seconds": payload["cases"][0].get("simulation_cpu_seconds")}


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

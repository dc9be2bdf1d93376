"""validation.simulator.gpu: the CUDA kernels against the CPU kernels (through numba's CUDA simulator), device
selection and its errors.

The kernels run on the CPU under ``NUMBA_ENABLE_CUDASIM=1``, which must be set before ``numba.cuda`` is first
imported: ``gpu_cudasim_checks.py`` runs in a subprocess and reports the measured differences, which these tests
hold to named tolerances.  The GPU kernels use the CPU's polynomial cosine (same coefficients, same Horner order,
an exact range reduction equal to ``rint``), so they are compared with the CPU's fast kernels ("auto", "portable")
at rounding level, and with libm at the polynomial's documented error.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anisotropy.errors import ParameterError
from validation.simulator.fastmath import MAX_ABS_ERROR
from validation.simulator.gpu import DEVICES, gpu_problem, resolve_device
from validation.simulator.slab_table import FIELD_ERROR_BUDGET

ROOT = Path(__file__).resolve().parents[3]
CHECKS = Path(__file__).with_name("gpu_cudasim_checks.py")

#: issue 15: fields to 1e-12 relative (observed ~2e-14: summation order and the simulator's unfused FMA)
FIELD_TOLERANCE = 1e-12
#: issue 15: a few Boris steps of trajectories to 1e-10 (observed ~1e-16: chaos has no time to amplify rounding)
TRAJECTORY_TOLERANCE = 1e-10
#: the same cosine as the CPU: one rounding of the phase and one of the polynomial apart (a few ulp of 1)
COSINE_TOLERANCE = 1e-15
#: |p| after four Boris rotations: a rotation conserves it up to a few roundings per step
NORM_TOLERANCE = 1e-14
#: moments of the same particles after a few steps: rounding, relative (the tolerance of the trajectories)
MOMENT_TOLERANCE = 1e-10
#: maps are stored as float32 (backtrack.anisotropy_realisation): agreement to float32 resolution of the largest
MAP_TOLERANCE = 1e-6
#: the slab table against the exact mode sum, in δB_rms: the table's stated error (slab_table.FIELD_ERROR_BUDGET, a
#: rigorous Hermite bound; the GPU interpolates the CPU's nodes with the CPU's formula)
TABLE_ERROR_TOLERANCE = FIELD_ERROR_BUDGET
#: pair observables of the same pairs after a few steps, relative to each array's largest value: the trajectories'
#: tolerance (observed ~4e-14: the sums of products of rounding-level differences)
PAIR_TOLERANCE = 1e-10


@pytest.fixture(scope="module")
def cudasim():
    environment = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    completed = subprocess.run([sys.executable, str(CHECKS)], capture_output=True, text=True, env=environment,
                               cwd=ROOT, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    if "skip" in results:
        pytest.skip(results["skip"])
    return results


def test_gpu_field_matches_cpu_fast_kernels_to_1e12_relative(cudasim):
    for kind in ("isotropic", "slab"):
        for kernel in ("auto", "portable"):
            assert cudasim[f"field_{kind}_{kernel}"] <= FIELD_TOLERANCE, (kind, kernel)


def test_gpu_cosine_is_the_cpu_polynomial_with_exact_range_reduction(cudasim):
    # phases include ties (0.5, -2.5, 1e6 + 0.5), where rint rounds to even: the shift trick must agree
    assert cudasim["cos_vs_cpu_polynomial"] <= COSINE_TOLERANCE
    assert cudasim["cos_vs_libm"] <= MAX_ABS_ERROR


def test_gpu_boris_trajectories_match_cpu_for_both_charges_and_thread_layouts(cudasim):
    for charge in ("+1", "-1"):
        for per_thread in (1, 2):
            key = f"trajectory_charge{charge}_per_thread{per_thread}"
            assert cudasim[key] <= TRAJECTORY_TOLERANCE, key
            assert cudasim[key + "_norm"] <= NORM_TOLERANCE, key


def test_gpu_diffusion_moments_reduced_on_device_match_cpu_realisation(cudasim):
    assert cudasim["diffusion_per_thread1"] <= MOMENT_TOLERANCE
    assert cudasim["diffusion_per_thread2"] <= MOMENT_TOLERANCE


def test_out_of_memory_shrinks_the_batch_without_changing_the_particles(cudasim):
    assert cudasim["shrink_difference"] == 0.0
    name, message = cudasim["out_of_memory_message"].split("|", 1)
    assert name == "batch" and "out of memory" in message and "\n" not in message


def test_gpu_backtracked_maps_match_cpu(cudasim):
    assert cudasim["maps"] <= MAP_TOLERANCE


def test_device_executor_routes_realisations_to_the_gpu_and_restores_the_module(cudasim):
    assert cudasim["executor_diffusion_identical"]
    assert cudasim["executor_lookup_identical"]
    assert cudasim["executor_restored"]


def test_simulate_diffusion_on_gpu_records_the_device_in_run_json(cudasim):
    assert cudasim["cli_status"] == 0
    assert cudasim["cli_device"] == "gpu" and cudasim["cli_field_kernel"] == "gpu"


def test_gpu_slab_table_field_is_the_cpu_table_and_within_its_error_of_the_mode_sum(cudasim):
    assert cudasim["table_field_evaluation"] == "table"
    assert cudasim["table_field_vs_cpu_table"] <= FIELD_TOLERANCE
    assert cudasim["table_error_bound"] <= TABLE_ERROR_TOLERANCE
    assert cudasim["table_field_vs_modes_over_rms"] <= TABLE_ERROR_TOLERANCE


def test_gpu_slab_table_trajectories_match_the_cpu_table_for_both_charges(cudasim):
    for charge in ("+1", "-1"):
        assert cudasim[f"table_trajectory_charge{charge}"] <= TRAJECTORY_TOLERANCE, charge


def test_gpu_slab_table_grows_on_demand_and_trajectories_do_not_depend_on_the_bursts(cudasim):
    # 300 steps over 2 L_c: the table is extended (and uploaded) again as the particles move
    assert cudasim["table_growth_uploads"] >= 2 and cudasim["table_growth_z_reached"] > 1.0
    assert cudasim["table_growth_vs_cpu"] <= TRAJECTORY_TOLERANCE
    # nodes depend only on their index: one call or ten give the same trajectories bit for bit
    assert cudasim["table_growth_split_difference"] == 0.0


def test_gpu_slab_table_diffusion_moments_match_cpu_realisation(cudasim):
    assert cudasim["table_diffusion"] <= MOMENT_TOLERANCE
    gpu_bytes, cpu_bytes = cudasim["table_diffusion_bytes"]
    assert gpu_bytes == cpu_bytes > 0


def test_gpu_backtracked_maps_through_the_slab_table_match_cpu(cudasim):
    assert cudasim["table_maps"] <= MAP_TOLERANCE


def test_gpu_pair_statistics_match_cpu_for_modes_and_slab_table_and_any_chunking(cudasim):
    for kind in ("isotropic", "slab"):
        assert cudasim[f"pairs_{kind}_missing_keys"] == []
        assert cudasim[f"pairs_{kind}_chunk"] <= PAIR_TOLERANCE, kind
        assert cudasim[f"pairs_{kind}_chunk_small"] <= PAIR_TOLERANCE, kind


def test_device_executor_routes_the_pair_instrument_and_restores_the_module(cudasim):
    assert cudasim["pairs_executor_identical"]
    assert cudasim["pairs_executor_lookup_identical"]
    assert cudasim["pairs_executor_restored"]


def test_simulate_on_gpu_honours_slab_field_and_runs_pairs(cudasim):
    records = cudasim["cli_records"]
    assert all(record["status"] == 0 and record["device"] == "gpu" for record in records.values())
    assert records["slab"]["slab_field"] == "table" and records["slab"]["slab_table_mib"] > 0
    assert records["slab_modes"]["slab_field"] == "modes" and records["slab_modes"]["slab_table_mib"] == 0


def test_validate_campaign_on_gpu_uses_the_device_and_records_it(cudasim):
    assert cudasim["campaign_cli_status"] == 0 and cudasim["campaign_cli_executor"] == "DeviceExecutor"
    assert cudasim["campaign_device"] == "gpu"
    assert cudasim["campaign_cpu_seconds"] is None  # this process's CPU time does not measure GPU work


def test_cpu_device_needs_nothing_and_auto_falls_back_without_a_gpu():
    assert resolve_device("cpu") == "cpu"
    if gpu_problem() is not None:
        assert resolve_device("auto") == "cpu"


def test_unknown_device_is_a_parameter_error():
    with pytest.raises(ParameterError, match="device"):
        resolve_device("tpu")
    assert DEVICES == ("cpu", "gpu", "auto")


def test_gpu_device_without_a_gpu_fails_with_one_line_naming_what_is_missing(tmp_path, capsys):
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0") or gpu_problem() is None:
        pytest.skip("a GPU (or the CUDA simulator) is usable here")
    from anisotropy.cli import main

    status = main(["simulate", "diffusion", "--device", "gpu", "--executor", "serial", "--quiet",
                   "--particles", "2", "--time", "0.01", "--out", str(tmp_path)])
    error = capsys.readouterr().err.strip()
    assert status == 2
    assert len(error.splitlines()) == 1
    assert "device" in error and ("CUDA" in error or "numba.cuda" in error)


def test_validate_on_gpu_without_a_gpu_fails_with_one_line(tmp_path, capsys):
    if os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0") or gpu_problem() is None:
        pytest.skip("a GPU (or the CUDA simulator) is usable here")
    from anisotropy.cli import main

    status = main(["validate", "--quick", "--device", "gpu", "--out", str(tmp_path / "report")])
    error = capsys.readouterr().err.strip()
    assert status == 2 and len(error.splitlines()) == 1 and "device" in error
    assert not (tmp_path / "report").exists()


def _run_device_check(tmp_path, simulator: bool):
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get(
        "PYTHONPATH")])]), MPLBACKEND="Agg")
    environment.pop("NUMBA_ENABLE_CUDASIM", None)
    if simulator:
        environment["NUMBA_ENABLE_CUDASIM"] = "1"
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--out", str(tmp_path)]
                          + (["--quick"] if simulator else []), capture_output=True, text=True, env=environment,
                          cwd=ROOT, timeout=900)


def test_device_check_without_a_gpu_prints_one_line_and_exits_0(tmp_path):
    if gpu_problem() is None:
        pytest.skip("a GPU is usable here")
    completed = _run_device_check(tmp_path, simulator=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert len(completed.stdout.strip().splitlines()) == 1 and "skipped" in completed.stdout
    assert not (tmp_path / "gpu.json").exists()


@pytest.mark.slow
def test_device_check_runs_every_step_under_the_cuda_simulator_in_quick_mode(tmp_path):
    completed = _run_device_check(tmp_path, simulator=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads((tmp_path / "gpu.json").read_text())
    for step in ("parity", "throughput", "slab_table", "end_to_end", "pairs_end_to_end"):
        assert "error" not in results[step], (step, results[step])
    parity = results["parity"]
    assert parity["table_field_vs_cpu_table_max_rel"] <= FIELD_TOLERANCE
    assert parity["table_field_vs_modes_libm_over_rms"] <= TABLE_ERROR_TOLERANCE
    assert max(parity["pairs_isotropic_max_scale_rel"], parity["pairs_slab_max_scale_rel"]) <= PAIR_TOLERANCE
    assert results["slab_table"]["particle_steps_per_s"] > 0
    assert results["pairs_end_to_end"]["exit_status"] == 0
    assert results["pairs_end_to_end"]["same_pairs_largest_scale_rel_difference"] <= PAIR_TOLERANCE

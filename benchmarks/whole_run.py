"""Whole ``cr-anisotropy simulate`` runs against their kernels and against a plain C loop of the same arithmetic.

1. **Split.**  Each case is one CLI run (``python -m anisotropy.cli simulate ...``, serial executor, 1 thread) in
   a fresh process whose kernels (:mod:`validation.simulator.pusher` ``advance_kernel``/``fieldline_kernel`` and
   :mod:`validation.simulator.slab_table` ``table_advance_kernel``/``table_fieldline_kernel``/``_build_blocks``)
   are wrapped by timers.  The first call of each kernel is preceded by an explicit ``compile`` for its argument
   types, timed as *numba load* (overhead).  Reported: the fraction of the process's CPU time (user + system, from
   its start, imports included) spent inside the kernels, the same for wall time, and the rest split into
   imports, numba load and everything else (output, aggregation, HDF5, anafast).  CPU time is the robust figure on
   a shared machine (time slices lost to other users do not count); on an idle core the two agree.
2. **C floor.**  :data:`C_SOURCE`: the Boris pusher with the plane-wave sum written as a plain C loop (double-
   precision phases in turns, every mode at every step, the degree-6 polynomial cosine of
   :mod:`validation.simulator.fastmath` with max error 1.1e-8), compiled here with ``gcc -O3 -march=native`` and
   with ``-ffast-math`` added (which lets gcc vectorise the sum over modes); the faster of the two is the floor.
   Same modes (768), particles and step as the isotropic diffusion case.  Reported: whole run (CPU time of the
   process per mode per particle-step) / C loop.
3. **Kernel choice.**  The mode kernel that ``"auto"`` resolves to on this CPU
   (:data:`validation.simulator.pusher.DEFAULT_KERNEL`), its particles per pass, and its speed relative to the
   portable twin (same run of the C floor's problem through :func:`validation.simulator.pusher.advance`).

Measured (2026-12-04, Intel Xeon with AVX-512 (Sapphire Rapids class, KVM guest, 2 cores shared with other jobs,
load average 5-7); two invocations, each the median of 3; runs of 8-10 s of CPU):

============================================  ============  ====================================================
case                                           kernels       fixed rest (CPU s): imports + numba load + other
============================================  ============  ====================================================
diffusion, isotropic, 768 modes               93.5, 92.7 %  0.30-0.33 + 0.24-0.29 + ≤ 0.07
anisotropy, isotropic, 768 modes              86.6, 86.4 %  0.91-0.95 + 0.28-0.29 + ≤ 0.05 (healpy: matplotlib, astropy)
diffusion, slab table, r_g/L_c = 1e-3         91.1, 91.3 %  0.32-0.33 + 0.27 + ≤ 0.08 (table build 0.21-0.25 s, kernel)
anisotropy, slab table, r_g/L_c = 1e-3        84.0, 86.6 %  0.82-0.95 + 0.25-0.29 + ≤ 0.11 (table build 0.32-0.35 s)
============================================  ============  ====================================================

The rest is a fixed start-up cost (F ≈ 0.6 s diffusion, 1.2-1.3 s anisotropy); the per-output work is ≤ 0.1 s.  So
the share is K/(K + F) for K seconds of kernels: ≥ 85 % once K ≥ 5.7 F, i.e. runs longer than ~4 s (diffusion) or
~7 s (anisotropy) of kernel time.  Before this benchmark, every ``simulate`` run also imported the ``fit`` job
(scipy.stats, ~1-2 s) and ``anisotropy.transport`` (scipy.integrate, ~0.5 s); both are now imported only when used.
C floor: plain loop 1.38-1.47 ns, with -ffast-math 0.59-0.62 ns per mode per particle-step; whole isotropic diffusion
run 0.35-0.37 ns = **0.57-0.63 × the faster C loop** (the kernel alone 0.55-0.58 ×).  The reason is the explicit
512-bit IR with ``vreducepd`` and 4 particles per pass, against gcc's one particle per pass at its default 256-bit
preference.  Kernel chosen: ``simd``, 4 particles per pass; the portable twin is 1.59-1.65 × slower.

The cosine was left as it is.  A half-turn polynomial (cos πr, |r| ≤ 1/2, degree 4 in r², max error 4.7e-8 by
Chebyshev interpolation) needs 2 FMAs fewer than the degree-6 full-turn one.  But it also needs the parity of the
half-turn count for the sign, and that costs more than 2 operations: a second reduction, or a conversion to
integer, a shift and a sign flip.  Per mode and particle the explicit kernel does 3 FMA + ``vreducepd`` + 1 mul +
6 FMA + 3 FMA = 14 vector operations; the half-turn form would need at least 16.

Every figure is the median of ``--repeats`` runs (default 3).  Usage:
``python benchmarks/whole_run.py [--quick] [--repeats N]``; prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent

#: (name, CLI arguments after ``simulate``): full size; --quick divides the time by QUICK_FACTOR
CASES = {
    "diffusion isotropic (768 modes)": ["diffusion", "--particles", "1024", "--time", "32", "--rigidity", "0.1"],
    "anisotropy isotropic (768 modes)": ["anisotropy", "--nside", "8", "--time", "40", "--rigidity", "0.1"],
    "diffusion slab table, r_g = 1e-3": ["diffusion", "--turbulence", "slab", "--eta", "0.5", "--particles", "1024",
                                         "--time", "24", "--rigidity", "0.001"],
    "anisotropy slab table, r_g = 1e-3": ["anisotropy", "--turbulence", "slab", "--eta", "0.5", "--nside", "8",
                                          "--time", "32", "--rigidity", "0.001"],
}
QUICK_FACTOR = 4

#: run inside the child process: wrap the kernels, run the CLI, print one JSON line of timings
_CHILD = r"""
import json, resource, sys, time
started_wall = time.perf_counter()
from validation.simulator import pusher, slab_table
import anisotropy.cli, anisotropy.cli.simulate
if sys.argv[2] == "anisotropy":  # the modules the job imports (healpy only for maps)
    import validation.simulator.backtrack
else:
    import validation.simulator.diffusion
imports_done, imports_cpu = time.perf_counter(), time.process_time()
timers = {"kernel_wall": 0.0, "kernel_cpu": 0.0, "build_wall": 0.0, "load_wall": 0.0, "load_cpu": 0.0}
def wrap(module, name, key):
    kernel = getattr(module, name)
    loaded = set()
    def timed(*args):
        signature = tuple(kernel.typeof_pyval(value) for value in args)
        if signature not in loaded:
            wall, cpu = time.perf_counter(), time.process_time()
            kernel.compile(signature)
            timers["load_wall"] += time.perf_counter() - wall
            timers["load_cpu"] += time.process_time() - cpu
            loaded.add(signature)
        wall, cpu = time.perf_counter(), time.process_time()
        result = kernel(*args)
        timers["kernel_wall"] += time.perf_counter() - wall
        timers["kernel_cpu"] += time.process_time() - cpu
        if key == "build":
            timers["build_wall"] += time.perf_counter() - wall
        return result
    setattr(module, name, timed)
for name in ("advance_kernel", "fieldline_kernel"):
    wrap(pusher, name, "push")
for name in ("table_advance_kernel", "table_fieldline_kernel"):
    wrap(slab_table, name, "push")
wrap(slab_table, "_build_blocks", "build")
status = anisotropy.cli.main(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_SELF)
run = json.load(open(sys.argv[sys.argv.index("--out") + 1] + "/run.json"))
print(json.dumps({"status": status, "wall": time.perf_counter() - started_wall,
                  "imports_wall": imports_done - started_wall, "imports_cpu": imports_cpu,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "particle_steps": run["particle_steps_per_realisation"], "n_modes": run["n_modes"],
                  "slab_field": run["slab_field"], **timers}))
"""

C_SOURCE = r"""
#include <math.h>
#include <stddef.h>
/* cos(2 pi t), |error| <= 1.11e-8: the coefficients of validation.simulator.fastmath.COS_TURNS_COEFFICIENTS */
static inline double cos_turns(double t, const double *c) {
    double u = t - rint(t), s = u * u;
    return c[0] + s * (c[1] + s * (c[2] + s * (c[3] + s * (c[4] + s * (c[5] + s * c[6])))));
}
/* modes: 7 rows of n (nu_x, nu_y, nu_z, theta, a_x, a_y, a_z); state: m particles (x, y, z, px, py, pz) */
void push(const double *modes, size_t n, const double *b0, double *state, size_t m, double scale, double step,
          long steps, const double *c) {
    const double *nx = modes, *ny = modes + n, *nz = modes + 2 * n, *th = modes + 3 * n;
    const double *ax = modes + 4 * n, *ay = modes + 5 * n, *az = modes + 6 * n;
    for (size_t i = 0; i < m; i++) {
        double *p = state + 6 * i;
        for (long k = 0; k < steps; k++) {
            double bx = 0.0, by = 0.0, bz = 0.0;
            for (size_t j = 0; j < n; j++) {
                double w = cos_turns(nx[j] * p[0] + ny[j] * p[1] + nz[j] * p[2] + th[j], c);
                bx += ax[j] * w; by += ay[j] * w; bz += az[j] * w;
            }
            double tx = scale * (b0[0] + bx), ty = scale * (b0[1] + by), tz = scale * (b0[2] + bz);
            double qx = p[3] + (p[4] * tz - p[5] * ty), qy = p[4] + (p[5] * tx - p[3] * tz);
            double qz = p[5] + (p[3] * ty - p[4] * tx);
            double f = 2.0 / (1.0 + tx * tx + ty * ty + tz * tz);
            double sx = f * tx, sy = f * ty, sz = f * tz;
            double px = p[3] + (qy * sz - qz * sy), py = p[4] + (qz * sx - qx * sz), pz = p[5] + (qx * sy - qy * sx);
            p[0] += step * px; p[1] += step * py; p[2] += step * pz; p[3] = px; p[4] = py; p[5] = pz;
        }
    }
}
"""


def _cli_run(arguments, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    argv = [sys.executable, "-c", _CHILD, "simulate", *arguments, "--executor", "serial", "--quiet",
            "--realisations", "1", "--out", str(out)]
    start = time.perf_counter()
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=True, cwd=REPO)
    outside = time.perf_counter() - start
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["process_wall"] = outside
    return result


def _split(arguments, repeats) -> dict:
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as directory:
            runs.append(_cli_run(arguments, Path(directory) / "run"))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "slab_field"}
    median["slab_field"] = runs[0]["slab_field"]
    median["kernel_share_cpu"] = statistics.median(run["kernel_cpu"] / run["cpu"] for run in runs)
    median["kernel_share_wall"] = statistics.median(run["kernel_wall"] / run["process_wall"] for run in runs)
    median["ns_per_mode_step_cpu"] = median["cpu"] / (median["particle_steps"] * median["n_modes"]) * 1e9
    median["ns_per_particle_step_cpu"] = median["cpu"] / median["particle_steps"] * 1e9
    return median


def _compile_c(directory: Path, fast_math: bool):
    if shutil.which("gcc") is None:
        return None
    source = directory / "push.c"
    source.write_text(C_SOURCE)
    library = directory / ("push_fast.so" if fast_math else "push.so")
    flags = ["-O3", "-march=native", "-shared", "-fPIC"] + (["-ffast-math"] if fast_math else [])
    subprocess.run(["gcc", *flags, str(source), "-o", str(library), "-lm"], check=True)
    function = ctypes.CDLL(str(library)).push
    pointer = ctypes.POINTER(ctypes.c_double)
    function.argtypes = [pointer, ctypes.c_size_t, pointer, pointer, ctypes.c_size_t, ctypes.c_double,
                         ctypes.c_double, ctypes.c_long, pointer]
    return function


def _c_floor(particles: int, steps: int, repeats: int) -> dict:
    from validation.simulator.config import TurbulenceConfig
    from validation.simulator.diffusion import isotropic_directions
    from validation.simulator.fastmath import COS_TURNS_COEFFICIENTS
    from validation.simulator.turbulence import TurbulenceField

    field = TurbulenceField(TurbulenceConfig(), 1)  # the CLI default: isotropic, 768 modes
    modes = np.ascontiguousarray(field.kernel_arrays()[0][:, : field.n_modes])
    coefficients = np.array(COS_TURNS_COEFFICIENTS)
    b0 = np.ascontiguousarray(field.b0)

    def as_pointer(array):
        return array.ctypes.data_as(ctypes.POINTER(ctypes.c_double))

    results = {}
    with tempfile.TemporaryDirectory() as directory:
        for fast_math in (False, True):
            function = _compile_c(Path(directory), fast_math)
            if function is None:
                return {}
            samples = []
            for _ in range(repeats):
                directions = isotropic_directions(particles, np.random.default_rng(0))
                state = np.ascontiguousarray(np.hstack([np.zeros_like(directions), directions]))
                start = time.process_time()
                function(as_pointer(modes), field.n_modes, as_pointer(b0), as_pointer(state), particles,
                         0.5 * 3.0e-3 / 0.1, 3.0e-3, steps, as_pointer(coefficients))
                samples.append(time.process_time() - start)
            key = "c_fast_math" if fast_math else "c_plain"
            results[key] = statistics.median(samples) / (particles * steps * field.n_modes) * 1e9
    return results


def _kernel_choice(particles: int, steps: int, repeats: int) -> dict:
    import numba

    from validation.simulator import pusher
    from validation.simulator.config import TurbulenceConfig
    from validation.simulator.diffusion import isotropic_directions
    from validation.simulator.turbulence import TurbulenceField

    numba.set_num_threads(1)
    field = TurbulenceField(TurbulenceConfig(), 1)
    timings = {}
    for kernel in ("auto", "portable"):
        samples = []
        for _ in range(repeats + 1):
            directions = isotropic_directions(particles, np.random.default_rng(0))
            positions = np.zeros_like(directions)
            start = time.process_time()
            pusher.advance(field, positions, directions, 0.1, 1, 3.0e-3, steps, kernel=kernel)
            samples.append(time.process_time() - start)
        timings[kernel] = statistics.median(samples[1:]) / (particles * steps * field.n_modes) * 1e9  # 1st: load
    width = "512-bit LLVM IR with vreducepd" if pusher.DEFAULT_KERNEL == "simd" else "LLVM auto-vectorised loop"
    return {"default_kernel": pusher.DEFAULT_KERNEL, "vector_path": width, "particles_per_pass": pusher.GROUP,
            "ns_auto": timings["auto"], "ns_portable": timings["portable"],
            "portable_over_auto": timings["portable"] / timings["auto"]}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"runs {QUICK_FACTOR}x shorter")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; the median is reported")
    parser.add_argument("--cases", default="all", help="comma-separated case indices (0-3) or 'all'")
    args = parser.parse_args(argv)
    selected = list(CASES.items())
    if args.cases != "all":
        selected = [selected[int(index)] for index in args.cases.split(",")]
    summary = {"benchmark": "whole_run", "repeats": args.repeats, "cases": {}}
    lines = []
    for name, arguments in selected:
        if args.quick:
            index = arguments.index("--time") + 1
            arguments = [*arguments[:index], str(float(arguments[index]) / QUICK_FACTOR), *arguments[index + 1:]]
        split = _split(arguments, args.repeats)
        summary["cases"][name] = split
        rest = split["cpu"] - split["kernel_cpu"]
        lines.append(
            f"{name:<36} kernels {split['kernel_share_cpu']:6.1%} of CPU ({split['kernel_share_wall']:6.1%} of wall)"
            f"  process CPU {split['cpu']:6.2f} s: kernels {split['kernel_cpu']:.2f} (table build "
            f"{split['build_wall']:.2f}), imports {split['imports_cpu']:.2f}, numba load {split['load_cpu']:.2f}, "
            f"rest {rest - split['imports_cpu'] - split['load_cpu']:.2f}; "
            f"{split['ns_per_particle_step_cpu']:.1f} ns per particle-step"
        )
    particles, steps = (64, 200) if args.quick else (256, 400)
    floor = _c_floor(particles, steps, args.repeats)
    choice = _kernel_choice(particles, steps, args.repeats)
    summary["c_floor"] = floor
    summary["kernel_choice"] = choice
    reference_case = next((case for case in summary["cases"].values() if case["slab_field"] == "modes"), None)
    if floor:
        best = min(floor.values())
        lines.append(f"C loop (gcc -O3 -march=native): {floor['c_plain']:.3f} ns per mode per particle-step; with "
                     f"-ffast-math {floor['c_fast_math']:.3f} ns")
        if reference_case is not None:
            ratio = reference_case["ns_per_mode_step_cpu"] / best
            summary["whole_run_over_c"] = ratio
            lines.append(f"whole isotropic diffusion run {reference_case['ns_per_mode_step_cpu']:.3f} ns per mode per "
                         f"particle-step = {ratio:.2f} x the faster C loop")
        kernel_ratio = choice["ns_auto"] / best
        summary["kernel_over_c"] = kernel_ratio
        lines.append(f"kernel alone ({choice['default_kernel']}) = {kernel_ratio:.2f} x the faster C loop")
    lines.append(f"kernel chosen on this CPU: {choice['default_kernel']} ({choice['vector_path']}), "
                 f"{choice['particles_per_pass']} particles per "
                 f"pass, {choice['ns_auto']:.3f} ns per mode per particle-step; portable twin "
                 f"{choice['ns_portable']:.3f} ns ({choice['portable_over_auto']:.2f} x)")
    summary["load_average"] = os.getloadavg()[0]
    print(f"median of {args.repeats}; load average {summary['load_average']:.1f}")
    print("\n".join(lines))
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

"""Throughput of the test-particle simulator: ns per mode per particle-step per core, and parallel scaling.

Prints a table and, last, one JSON line.  Nothing is asserted (docs/guide/design.md#targets: "≤ 0.4 ns per mode per
particle-step per core"; libm cos ~20 ns).  Measurements:

1. Boris + plane-wave field, 1 numba thread, for each field kernel of :mod:`validation.simulator.pusher`: the default
   (``"auto"``: explicit AVX-512 :mod:`validation.simulator.simd` where available), the ``"portable"`` vectorised
   loop and the
   ``"libm"`` reference twin.  CPU time of the process (``time.process_time``) is used for the per-core figure, so
   time slices lost to other users of a shared machine do not count; wall time is printed next to it.  Best of
   ``REPEATS``.
2. The portable loop compiled for 512-bit vectors (LLVM's ``prefer-256-bit`` tuning switched off through
   ``NUMBA_CPU_FEATURES``, in a subprocess with its own numba cache): what the autovectoriser reaches at full width.
3. The range reduction alone: ``vreducepd`` (one instruction, used by :mod:`validation.simulator.simd`) against
   ``vrndscalepd`` + ``vsubpd`` (what LLVM emits for ``t - rint(t)``), 8 independent 512-bit chains in LLVM IR
   compiled by llvmlite, against an FMA + add reference loop of the same shape.
4. Fraction of the floating-point peak: peak = GHz × FLOPs/cycle per core (2 FMA units × vector lanes × 2).  The
   clock is **measured** (a dependent scalar FMA chain, 4 cycles per FMA on Intel cores since Skylake and on AMD
   Zen), because a KVM guest's /proc/cpuinfo shows the nominal TSC rate, not the turbo clock the kernel runs at;
   the nominal value is printed next to it.  The kernel does 26 FLOPs per mode (phase: 3 FMA; reduction: 1;
   polynomial: 1 mul + 6 FMA; accumulation: 3 FMA; an FMA counts 2).
5. Speed-up from 1 to 2 numba threads (wall time, same work), and with 2 Dask workers running realisations
   (``validation.simulator.ensemble``) against the serial executor.

Usage: ``python benchmarks/simulator.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from validation.simulator import simd

REPEATS = 3
FLOPS_PER_MODE = 26
#: latency of a dependent scalar FMA in cycles (Intel since Skylake, AMD Zen): the clock measurement's yardstick
FMA_LATENCY_CYCLES = 4


def _cpu_info() -> dict:
    text = open("/proc/cpuinfo").read()
    flags = set(re.search(r"^flags\s*:\s*(.*)$", text, re.M).group(1).split())
    mhz_match = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
    bogomips = re.search(r"^bogomips\s*:\s*([\d.]+)", text, re.M)
    if mhz_match:
        ghz, clock_source = float(mhz_match.group(1)) / 1000.0, "/proc/cpuinfo cpu MHz"
    else:
        ghz, clock_source = float(bogomips.group(1)) / 2000.0, "BogoMIPS/2"
    if "avx512f" in flags:
        lanes, isa = 8, "AVX-512"
    elif "avx2" in flags and "fma" in flags:
        lanes, isa = 4, "AVX2+FMA"
    else:
        lanes, isa = 2, "SSE2"
    flops_per_cycle = 2 * lanes * 2  # two FMA pipes (Intel server cores since Skylake-SP), FMA = 2 FLOPs
    cores = os.cpu_count() or 1
    return {
        "isa": isa,
        "ghz": ghz,
        "clock_source": clock_source,
        "cores": cores,
        "flops_per_cycle": flops_per_cycle,
        "peak_gflops_per_core": ghz * flops_per_cycle,
        "peak_gflops_machine": ghz * flops_per_cycle * cores,
    }


def _measured_ghz() -> float:
    """Core clock from the latency of a dependent chain of scalar FMAs (:data:`FMA_LATENCY_CYCLES` each)."""

    @numba.njit(fastmath=True)
    def chain(count, factor, offset):
        value = 0.5
        for _ in range(count):
            value = value * factor + offset  # contracted to one FMA; each depends on the previous one
        return value

    count = 50_000_000
    chain(10, 0.999, 1e-3)
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        chain(count, 0.999, 1e-3)
        best = min(best, time.perf_counter() - start)
    return FMA_LATENCY_CYCLES * count / best / 1e9


def _reduction_timing() -> dict | None:
    """ns per iteration of 8 independent 512-bit chains of (reduction; add), in LLVM IR (module docstring, 3)."""
    import ctypes

    import llvmlite.binding as llvm

    if "+avx512dq" not in llvm.get_host_cpu_features().flatten():
        return None
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    vector = "<8 x double>"
    constant = "<" + ", ".join(["double 0.3"] * 8) + ">"
    bodies = {
        "fma": "%r{j} = call {v} @llvm.fma.v8f64({v} %v{j}, {v} %c, {v} %c)",
        "vreducepd": "%r{j} = call {v} @llvm.x86.avx512.mask.reduce.pd.512({v} %v{j}, i32 8, {v} zeroinitializer, "
        "i8 -1, i32 4)",
        "vrndscalepd+sub": "%n{j} = call {v} @llvm.x86.avx512.mask.rndscale.pd.512({v} %v{j}, i32 8, "
        "{v} zeroinitializer, i8 -1, i32 4)\n  %r{j} = fsub {v} %v{j}, %n{j}",
    }
    functions = []
    for index, body in enumerate(bodies.values()):
        phis = "\n  ".join(f"%v{j} = phi {vector} [{constant}, %entry], [%w{j}, %loop]" for j in range(8))
        ops = "\n  ".join(body.format(j=j, v=vector) + f"\n  %w{j} = fadd {vector} %r{j}, {constant}" for j in range(8))
        functions.append(f"""
define double @kernel{index}(i64 %count) {{
entry:
  %c = fadd {vector} {constant}, zeroinitializer
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%next, %loop]
  {phis}
  {ops}
  %next = add i64 %i, 1
  %more = icmp slt i64 %next, %count
  br i1 %more, label %loop, label %exit
exit:
  %first = extractelement {vector} %w0, i32 0
  %last = extractelement {vector} %w7, i32 7
  %result = fadd double %first, %last
  ret double %result
}}""")
    declarations = f"""
declare {vector} @llvm.fma.v8f64({vector}, {vector}, {vector})
declare {vector} @llvm.x86.avx512.mask.reduce.pd.512({vector}, i32, {vector}, i8, i32)
declare {vector} @llvm.x86.avx512.mask.rndscale.pd.512({vector}, i32, {vector}, i8, i32)
"""
    module = llvm.parse_assembly(declarations + "\n".join(functions))
    module.verify()
    machine = llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=2
    )
    engine = llvm.create_mcjit_compiler(module, machine)
    engine.finalize_object()
    count = 5_000_000
    timings = {}
    for index, name in enumerate(bodies):
        function = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int64)(engine.get_function_address(f"kernel{index}"))
        function(1000)
        best = np.inf
        for _ in range(REPEATS):
            start = time.perf_counter()
            function(count)
            best = min(best, time.perf_counter() - start)
        timings[name] = best / count * 1e9
    return timings


def _kernel_timing(particles: int, steps: int, kernel: str, threads: int = 1) -> dict:
    from validation.simulator.config import TurbulenceConfig
    from validation.simulator.pusher import advance
    from validation.simulator.turbulence import TurbulenceField

    numba.set_num_threads(threads)
    field = TurbulenceField(TurbulenceConfig(eta=1.0), 1)  # 768 modes (256 per decade, L_min/L_max = 1e-3)
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(particles, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    positions = np.zeros_like(directions)
    advance(field, positions, directions, 0.1, -1, 1e-3, 1, kernel=kernel)  # compile / load from cache
    best_cpu, best_wall = np.inf, np.inf
    for _ in range(REPEATS):
        cpu, wall = time.process_time(), time.perf_counter()
        advance(field, positions, directions, 0.1, -1, 1e-3, steps, kernel=kernel)
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    work = particles * steps * field.n_modes
    return {"ns_cpu": best_cpu / work * 1e9, "ns_wall": best_wall / work * 1e9, "modes": field.n_modes}


def _cos_timing(repeats: int) -> float:
    from validation.simulator.fastmath import _cos_turns_loop

    # 4096 phases stay in L1: this times the arithmetic, not memory traffic or page faults
    turns = np.random.default_rng(1).uniform(-1e3, 1e3, 4096)
    out = np.empty_like(turns)
    _cos_turns_loop(turns, out)
    best = np.inf
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(repeats):
            _cos_turns_loop(turns, out)
        best = min(best, time.process_time() - start)
    return best / (repeats * turns.size) * 1e9


def _wide_vector_subprocess(particles: int, steps: int) -> dict | None:
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features().flatten()
    if "+avx512f" not in features:
        return None
    env = dict(os.environ, NUMBA_CPU_FEATURES=features + ",-prefer-256-bit", NUMBA_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as cache:
        env["NUMBA_CACHE_DIR"] = cache
        code = (
            "import json, sys; sys.path.insert(0, 'benchmarks'); import simulator; "
            f"print(json.dumps(simulator._kernel_timing({particles}, {steps}, 'portable')))"
        )
        output = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=_repo_root()
        )
    return json.loads(output.stdout.strip().splitlines()[-1])


def _repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _thread_scaling(particles: int, steps: int) -> dict:
    one = _kernel_timing(particles, steps, "auto", threads=1)
    two = _kernel_timing(particles, steps, "auto", threads=min(2, numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(1)
    # on a machine shared with other jobs the wall-time speed-up measures the load; CPU time summed over threads
    # does not: efficiency = CPU(1 thread)/CPU(2 threads) is the speed-up per core an idle machine would give
    return {
        "wall_1": one["ns_wall"],
        "wall_2": two["ns_wall"],
        "speedup": one["ns_wall"] / two["ns_wall"],
        "cpu_efficiency": one["ns_cpu"] / two["ns_cpu"],
    }


def _dask_scaling(realisations: int, particles: int, time_span: float) -> dict:
    try:
        from validation.simulator.config import DiffusionConfig, TurbulenceConfig
        from validation.simulator.diffusion import diffusion_realisation
        from validation.simulator.ensemble import make_executor, run
    except ImportError as error:  # the ensemble runner is optional for this benchmark
        return {"error": f"missing: {error}"}
    config = DiffusionConfig(
        turbulence=TurbulenceConfig(eta=1.0), reduced_rigidity=0.1, particles=particles, time=time_span, n_times=4
    )
    numba.set_num_threads(1)
    start = time.perf_counter()
    run(diffusion_realisation, config, 7, realisations, progress=False)
    serial = time.perf_counter() - start
    executor = make_executor("dask", workers=2)
    try:
        run(diffusion_realisation, config, 8, 2, executor=executor, progress=False)  # warm-up: workers load kernels
        start = time.perf_counter()
        run(diffusion_realisation, config, 7, realisations, executor=executor, progress=False)
        parallel = time.perf_counter() - start
    finally:
        executor.shutdown()
    return {"serial_s": serial, "dask2_s": parallel, "speedup": serial / parallel}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problem sizes")
    args = parser.parse_args(argv)
    particles, steps = (64, 50) if args.quick else (256, 200)
    cpu = _cpu_info()
    ghz = _measured_ghz()
    cpu["nominal_ghz"], cpu["ghz"] = cpu["ghz"], ghz
    cpu["peak_gflops_per_core"] = ghz * cpu["flops_per_cycle"]
    fast = _kernel_timing(particles, steps, "auto")
    portable = _kernel_timing(particles, steps, "portable")
    libm = _kernel_timing(particles, max(5, steps // 10), "libm")
    cos_ns = _cos_timing(200 if args.quick else 2000)
    wide = _wide_vector_subprocess(particles, steps)
    reduction = _reduction_timing()
    threads = _thread_scaling(particles * 4, steps)
    # enough work per realisation (~2.5 s serial) that the scheduler overhead of Dask does not dominate
    dask = _dask_scaling(4, 200 if args.quick else 4000, 0.5 if args.quick else 2.0)

    def fraction(ns):
        return FLOPS_PER_MODE / ns / cpu["peak_gflops_per_core"]

    default_name = "simd (AVX-512 IR)" if simd.AVAILABLE else "portable (no AVX-512F/DQ)"
    rows = [
        ("modes per realisation", f"{fast['modes']}"),
        (f"default kernel = {default_name}, 1 thread",
         f"{fast['ns_cpu']:.3f} ns/mode/step (wall {fast['ns_wall']:.3f})"),
        ("  cycles per mode-step", f"{fast['ns_cpu'] * ghz:.2f}"),
        ("  fraction of FP peak", f"{fraction(fast['ns_cpu']):.1%} of {cpu['peak_gflops_per_core']:.1f} GFLOP/s"),
        ("  vs target (docs/guide/design.md#targets) 0.4 ns", f"{fast['ns_cpu'] / 0.4:.2f} x target"),
        ("portable loop (numba default width)", f"{portable['ns_cpu']:.3f} ns/mode/step "
                                                f"({portable['ns_cpu'] / fast['ns_cpu']:.2f} x default)"),
        ("libm twin, 1 thread", f"{libm['ns_cpu']:.3f} ns/mode/step ({libm['ns_cpu'] / fast['ns_cpu']:.1f} x slower)"),
        ("polynomial cos alone (portable)", f"{cos_ns:.3f} ns per cosine"),
    ]
    if wide is not None:
        rows += [
            ("portable at 512 bits (-prefer-256-bit)", f"{wide['ns_cpu']:.3f} ns/mode/step "
                                                       f"({wide['ns_cpu'] / fast['ns_cpu']:.2f} x default)"),
            ("  fraction of FP peak", f"{fraction(wide['ns_cpu']):.1%}"),
        ]
    if reduction is not None:
        reference = reduction["fma"]
        rows += [(f"8 chains of ({name}; add), per iteration",
                  f"{value:.3f} ns = {value * ghz:.1f} cycles ({value / reference:.2f} x fma)")
                 for name, value in reduction.items()]
    rows += [
        (
            "numba threads 1 -> 2 (wall)",
            f"{threads['wall_1']:.3f} -> {threads['wall_2']:.3f} ns, x{threads['speedup']:.2f}",
        ),
        (
            "  parallel efficiency (CPU time)",
            f"{threads['cpu_efficiency']:.2f} (idle-machine 2-thread speed-up ~ {2 * threads['cpu_efficiency']:.2f})",
        ),
    ]
    if "error" in dask:
        rows.append(("Dask 2 workers", dask["error"]))
    else:
        rows.append(
            (
                "Dask 2 workers vs serial (wall)",
                f"{dask['serial_s']:.1f} s -> {dask['dask2_s']:.1f} s, x{dask['speedup']:.2f}",
            )
        )
    load = os.getloadavg()[0]
    print(
        f"CPU: {cpu['cores']} cores, {cpu['isa']}, {cpu['ghz']:.2f} GHz measured ({cpu['nominal_ghz']:.2f} nominal, "
        f"{cpu['clock_source']}), "
        f"{cpu['flops_per_cycle']} DP FLOPs/cycle/core assumed; load average {load:.1f}"
    )
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    summary = {
        "benchmark": "simulator",
        "modes": fast["modes"],
        "ns_per_mode_step_1thread": fast["ns_cpu"],
        "ns_per_mode_step_1thread_wall": fast["ns_wall"],
        "default_kernel": "simd" if simd.AVAILABLE else "portable",
        "ns_per_mode_step_portable": portable["ns_cpu"],
        "ns_per_mode_step_portable_512bit": None if wide is None else wide["ns_cpu"],
        "reduction_ns_per_iteration": reduction,
        "measured_ghz": ghz,
        "cycles_per_mode_step": fast["ns_cpu"] * ghz,
        "ns_per_mode_step_libm": libm["ns_cpu"],
        "ns_per_cos": cos_ns,
        "fraction_of_peak": fraction(fast["ns_cpu"]),
        "peak_gflops_per_core": cpu["peak_gflops_per_core"],
        "target_ns": 0.4,
        "ratio_to_target": fast["ns_cpu"] / 0.4,
        "thread_speedup_1_to_2": threads["speedup"],
        "thread_cpu_efficiency_2": threads["cpu_efficiency"],
        "dask_speedup_2_workers": dask.get("speedup"),
        "load_average": load,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

"""Benchmark of the rate matrix and the steady-state solver (docs/guide/design.md#targets).

Measures, on one core:

* the reference cost: one dense 1000 x 1000 ``numpy.linalg.solve``;
* steady-state <C_l> at lmax = 1000 *including* the rate matrix, for the toy (3j path,
  docs/physics/toy_model.md#toy-model) and for a
  rate non-analytic at x = 1 given as a function (Gauss-Legendre path), as a ratio to the reference (target < 20).
  The kinked rate uses the graded rule ``anisotropy.legendre.graded_gauss_legendre``; its nodes and the Legendre
  table are cached after the first call; both the cold and the warm cost are reported (the cold cost includes
  building the rule);
* the accuracy of that kinked Γ against the 3j form with the exact Legendre coefficients (theory.cascade), largest
  error relative to its column's largest entry (target (docs/guide/design.md#targets) 1e-10);
* fit-loop throughput at lmax = 200: new rate parameters -> Γ -> steady state, per second (target >= 100/s);
* a warm default :func:`anisotropy.predict_cl` (untruncated solver, all defaults) at 1, 10 and 100 TeV, and for
  comparison the former default (``solver="truncated"``, lmax = 200, k_max r_g = 300, 256 modes per decade, float64
  projections) at the same energies (issue 12 target: <= 0.5 s on one core);
* for information: :func:`anisotropy.evolve` at lmax = 1000 (one eigen-decomposition), and the build time of the
  physical pair-rate models on the default discrete spectrum (docs/physics/pair_rates.md: slab, isotropic with B0 = 0,
  isotropic
  with B0, the last a 4D quadrature), each with the default pair-time prefactor: what one new parameter point costs
  before ``rate_matrix``.

Run: ``python benchmarks/solver.py``.  Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import mpmath as mp  # noqa: E402
import numpy as np  # noqa: E402

import anisotropy.legendre  # noqa: E402
from anisotropy.mixing import _parity_tables, column_weights, coupling_from_legendre, rate_matrix  # noqa: E402
from anisotropy.pair_rates import PairRate  # noqa: E402
from anisotropy.solver import evolve, steady_state  # noqa: E402
from theory.cascade import power_law_rate_coefficients  # noqa: E402

D_S = 0.5
SOURCE = (8.0 * math.pi / 3.0) * (1.0 / (3.0 * 2.0 * D_S))  # docs/physics/toy_model.md#toy-model: S = (8 pi/3) K |G|^2,
# K = v^2/(6 D_s)
LMAX = 1000
FIT_LMAX = 200


def _clear_node_cache() -> None:
    """Forget cached Gauss-Legendre rules (whichever cached function anisotropy.legendre uses)."""
    for name in ("gauss_legendre", "_gauss_legendre_cached", "graded_gauss_legendre"):
        cache_clear = getattr(getattr(anisotropy.legendre, name, None), "cache_clear", None)
        if cache_clear is not None:
            cache_clear()


def median_time(function, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


def kink_rate(beta: float) -> PairRate:
    return PairRate.from_function(lambda x: -2.0 * D_S * ((1.0 - x) / 2.0) ** (beta / 2.0), name="kink")


def kink_accuracy(beta: float, lmax: int) -> float:
    """Largest |quadrature Γ − exact 3j Γ| over each column's largest |entry| for :func:`kink_rate`."""
    with mp.workdps(30):
        coefficients = [float(c) for c in power_law_rate_coefficients(2 * lmax, mp.mpf(beta), 2.0 * D_S)]
    exact = coupling_from_legendre(coefficients, lmax) * column_weights(lmax)[None, :]
    numeric = rate_matrix(kink_rate(beta), lmax)
    scale = np.max(np.abs(exact[:, 1:]), axis=0)
    return float(np.max(np.abs(numeric[:, 1:] - exact[:, 1:]) / scale[None, :]))


PREDICT_ENERGIES_TEV = (1.0, 10.0, 100.0)


def _predict_timings() -> tuple[dict, dict]:
    """Median warm wall time of predict_cl at its defaults, and of the former default, per energy."""
    import anisotropy.pair_rates.base as pair_rate_base
    from anisotropy import predict

    current = {}
    for energy in PREDICT_ENERGIES_TEV:
        predict.predict_cl(energy)
        current[energy] = median_time(lambda energy=energy: predict.predict_cl(energy), 5)
    projections = pair_rate_base.pair_correlation_coefficients
    target = predict.K_MAX_GYRORADIUS_TARGET
    former = {}
    try:
        # the former default: float64 projections, k_max r_g = 300, 256 modes per decade, dense solve at lmax 200
        pair_rate_base.pair_correlation_coefficients = (
            lambda *args, single_precision=False, **kwargs: projections(*args, **kwargs))
        predict.K_MAX_GYRORADIUS_TARGET = 300.0
        for energy in PREDICT_ENERGIES_TEV:
            def run(energy=energy):
                return predict.predict_cl(energy, solver="truncated", modes_per_decade=256)

            run()
            former[energy] = median_time(run, 3)
    finally:
        pair_rate_base.pair_correlation_coefficients = projections
        predict.K_MAX_GYRORADIUS_TARGET = target
    return current, former


def main() -> None:
    rng = np.random.default_rng(12345)
    matrix = rng.normal(size=(LMAX, LMAX)) + LMAX * np.eye(LMAX)
    right_hand_side = rng.normal(size=LMAX)
    np.linalg.solve(matrix, right_hand_side)
    dense_solve = median_time(lambda: np.linalg.solve(matrix, right_hand_side), 15)

    # warm-up: compile (or load cached) numba kernels and scipy paths on small problems
    toy = PairRate.toy(D_s=D_S, kappa_c=5.0)
    steady_state(rate_matrix(toy, 20), SOURCE)
    steady_state(rate_matrix(PairRate.from_legendre([-1.0, 0.5, 0.5]), 20), SOURCE)
    evolve(rate_matrix(toy, 20), SOURCE, [1.0])

    toy_total = median_time(lambda: steady_state(rate_matrix(toy, LMAX), SOURCE), 9)
    toy_matrix = median_time(lambda: rate_matrix(toy, LMAX), 9)

    kink = kink_rate(2.0 / 3.0)
    _clear_node_cache()
    _parity_tables.cache_clear()
    start = time.perf_counter()
    steady_state(rate_matrix(kink, LMAX), SOURCE)
    kink_cold = time.perf_counter() - start
    kink_total = median_time(lambda: steady_state(rate_matrix(kink, LMAX), SOURCE), 5)
    kink_matrix = median_time(lambda: rate_matrix(kink, LMAX), 5)

    kink_error = kink_accuracy(2.0 / 3.0, LMAX)

    gamma_toy = rate_matrix(toy, LMAX)
    solve_only = median_time(lambda: steady_state(gamma_toy, SOURCE), 9)
    evolve_time = median_time(lambda: evolve(gamma_toy, SOURCE, [0.5, 1.0, 2.0]), 3)

    # fit loop: every prediction has new parameters, so nothing but the quadrature nodes can be reused
    kappas = rng.uniform(1.0, 20.0, size=400)
    start = time.perf_counter()
    for kappa in kappas:
        steady_state(rate_matrix(PairRate.toy(D_s=D_S, kappa_c=float(kappa)), FIT_LMAX), SOURCE)
    toy_fit_rate = kappas.size / (time.perf_counter() - start)
    betas = rng.uniform(0.4, 1.6, size=100)
    steady_state(rate_matrix(kink_rate(1.0), FIT_LMAX), SOURCE)  # nodes for FIT_LMAX cached
    start = time.perf_counter()
    for beta in betas:
        steady_state(rate_matrix(kink_rate(float(beta)), FIT_LMAX), SOURCE)
    kink_fit_rate = betas.size / (time.perf_counter() - start)

    physical_models = {
        "slab, r_g/L_c = 0.01, eta = 0.5": lambda: PairRate.slab(0.01, 0.5),
        "isotropic B0 = 0, r_g/L_c = 1": lambda: PairRate.isotropic(1.0),
        "isotropic + B0, r_g/L_c = 0.1, eta = 0.5": lambda: PairRate.isotropic(0.1, eta=0.5),
    }
    physical_times = {}
    for name, build in physical_models.items():
        build()  # compile (or load cached) kernels
        physical_times[name] = median_time(build, 3)

    predict_times, former_times = _predict_timings()

    rows = [
        ("dense 1000x1000 numpy.linalg.solve", dense_solve, 1.0),
        ("toy lmax=1000: rate_matrix (3j) + steady_state", toy_total, toy_total / dense_solve),
        ("  of which rate_matrix", toy_matrix, toy_matrix / dense_solve),
        ("  of which steady_state", solve_only, solve_only / dense_solve),
        ("kink lmax=1000: rate_matrix (quadrature) + steady_state, warm", kink_total, kink_total / dense_solve),
        ("  of which rate_matrix", kink_matrix, kink_matrix / dense_solve),
        ("kink lmax=1000: first call incl. Gauss-Legendre nodes (cold)", kink_cold, kink_cold / dense_solve),
        ("toy lmax=1000: evolve, 3 output times", evolve_time, evolve_time / dense_solve),
        *((f"pair-rate build: {name}", seconds, seconds / dense_solve) for name, seconds in physical_times.items()),
        *((f"predict_cl default, warm, {energy:g} TeV", seconds, seconds / dense_solve)
          for energy, seconds in predict_times.items()),
        *((f"  former default (truncated lmax 200, k_max r_g 300, 256/decade, f64), {energy:g} TeV", seconds,
           seconds / dense_solve) for energy, seconds in former_times.items()),
    ]
    print(f"{'case':66s} {'seconds':>10s} {'/ dense solve':>14s}")
    for name, seconds, ratio in rows:
        print(f"{name:66s} {seconds:10.4f} {ratio:14.2f}")
    print(f"{'fit loop lmax=200, toy (3j): predictions per second':66s} {toy_fit_rate:10.1f}")
    print(f"{'fit loop lmax=200, kink (quadrature): predictions per second':66s} {kink_fit_rate:10.1f}")
    print(f"{'kink lmax=1000 beta=2/3: |quadrature - exact 3j| / column max':66s} {kink_error:10.1e}")
    summary = {
        "benchmark": "solver",
        "machine": platform.machine(),
        "threads": 1,
        "dense_solve_1000_s": dense_solve,
        "toy_lmax1000_ratio": toy_total / dense_solve,
        "kink_lmax1000_warm_ratio": kink_total / dense_solve,
        "kink_lmax1000_cold_ratio": kink_cold / dense_solve,
        "evolve_lmax1000_ratio": evolve_time / dense_solve,
        "fit_toy_lmax200_per_s": toy_fit_rate,
        "fit_kink_lmax200_per_s": kink_fit_rate,
        "kink_lmax1000_gamma_rel_error": kink_error,
        "pair_rate_build_s": physical_times,
        "predict_default_warm_s": {str(energy): seconds for energy, seconds in predict_times.items()},
        "predict_former_default_warm_s": {str(energy): seconds for energy, seconds in former_times.items()},
        "targets": {"lmax1000_ratio_max": 20, "fit_per_s_min": 100, "gamma_rel_error_max": 1e-10,
                    "predict_default_s_max": 0.5},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

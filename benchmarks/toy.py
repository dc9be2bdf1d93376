"""Toy Monte Carlo (validation/toy.py, docs/physics/toy_model.md#toy-model): kernel throughput and the aliasing
measurement behind the default
grid.

Throughput: nanoseconds per cosine (random feature × direction × step) and per direction-step, for one realisation
at the default N_f, wall clock and CPU time (the machine is shared, so CPU time is the steadier number).

Aliasing: the same realisations (same seed, so the same rotation fields: the random draws do not depend on the grid)
are observed on Gauss-Legendre grids of increasing n_theta.  The change of the ensemble-mean C_l (l <= 10) against
the finest grid is the aliasing of the coarser grid; it is printed relative to C_l and in units of the statistical
error of a 64-realisation run (the error the comparison with the ODE works at), together with the white-noise-floor
proxy ToyResult.alias_floor and the bias predicted from the grid's exact coupling W_ll' and the ODE spectrum
(GaussLegendreGrid.coupling; ODE lmax = 400).  The aliasing runs use dt = 0.01: the grid observes whatever map the
paths produce, so the time step does not matter for this paired comparison.

Usage: NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/toy.py [--quick]
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

import anisotropy as an
from validation import toy

D_S, KAPPA_C = 0.5, 5.0
#: realisations of the reference statistical error quoted in the aliasing table
REFERENCE_REALISATIONS = 64
#: time step of the aliasing runs (the paired grid comparison does not depend on it)
ALIASING_DT = 0.01


def throughput(n_theta: int = 40, t_max: float = 0.5) -> dict:
    toy.simulate(D_S, KAPPA_C, [0.05], 2, n_theta, seed=0)  # compile
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    result = toy.simulate(D_S, KAPPA_C, [t_max], 2, n_theta, seed=0)
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    point_steps = 2 * result.grid.size * round(t_max / result.dt)
    cosines = point_steps * 3 * result.n_features
    return {
        "n_features": result.n_features,
        "dt": result.dt,
        "ns_per_cosine_wall": 1e9 * wall / cosines,
        "ns_per_cosine_cpu": 1e9 * cpu / cosines,
        "ns_per_point_step_cpu": 1e9 * cpu / point_steps,
    }


def predicted_bias(time_value: float, n_theta: int, ell: int = 10, lmax_model: int = 400) -> float:
    """Expected relative aliasing bias of C_ell: (W - δ)·C_ODE / C_ODE[ell] (GaussLegendreGrid.coupling)."""
    gamma = an.rate_matrix(an.PairRate.toy(D_S, KAPPA_C), lmax_model)
    spectrum = an.evolve(gamma, source=toy.toy_source(D_S), times=[time_value])[0]
    coupling = toy.GaussLegendreGrid(n_theta).coupling(ell, lmax_model)
    coupling[ell] -= 1.0
    return float(coupling[1:] @ spectrum[1:] / spectrum[ell])


def aliasing(time_value: float, grids, realisations: int) -> list[dict]:
    results = {
        n: toy.simulate(D_S, KAPPA_C, [time_value], realisations, n, seed=11, dt=ALIASING_DT) for n in grids
    }
    reference = results[grids[-1]]
    rows = []
    for n_theta in grids:
        result = results[n_theta]
        change = (result.mean[0, 1:] - reference.mean[0, 1:]) / reference.mean[0, 1:]
        # relative error of a REFERENCE_REALISATIONS run: per-realisation relative scatter / sqrt(N)
        relative_error = result.stderr[0, 1:] * math.sqrt(realisations / REFERENCE_REALISATIONS) / result.mean[0, 1:]
        rows.append(
            {
                "T": time_value,
                "n_theta": n_theta,
                "change_l10": float(change[-1]),
                "max_abs_change": float(np.max(np.abs(change))),
                "max_change_over_error": float(np.max(np.abs(change) / relative_error)),
                "alias_floor_over_C10": float(result.alias_floor[0] / reference.mean[0, 10]),
                "predicted_bias_l10": predicted_bias(time_value, n_theta),
            }
        )
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    threads = int(os.environ.get("NUMBA_NUM_THREADS", "0") or 0)
    speed = throughput()
    print(
        f"toy kernel (N_f = {speed['n_features']}, dt = {speed['dt']}): "
        f"{speed['ns_per_cosine_wall']:.2f} ns per cosine wall, {speed['ns_per_cosine_cpu']:.2f} CPU; "
        f"{speed['ns_per_point_step_cpu']:.0f} ns CPU per direction-step; "
        f"NUMBA_NUM_THREADS={threads}"
    )
    plan = {0.5: (12, 16, 24, 32), 1.0: (16, 24, 32, 48), 2.0: (24, 32, 40, 56, 80)}
    if not quick:
        plan.update({3.0: (40, 56, 72, 96, 128), 4.0: (56, 72, 96, 128, 160)})
    realisations = 4 if quick else 8
    table = []
    header = ("T", "n_theta", "dC10/C10", "max|dC/C|", "max|dC|/err64", "floor/C10", "W-pred")
    print(" ".join(f"{name:>{width}}" for name, width in zip(header, (4, 7, 9, 9, 13, 9, 7))))
    for time_value, grids in plan.items():
        for row in aliasing(time_value, grids, realisations):
            table.append(row)
            print(
                f"{row['T']:4.1f} {row['n_theta']:7d} {row['change_l10']:9.4f} {row['max_abs_change']:9.4f} "
                f"{row['max_change_over_error']:13.3f} {row['alias_floor_over_C10']:9.4f} "
                f"{row['predicted_bias_l10']:7.4f}"
            )
    print(json.dumps({"benchmark": "toy", **speed, "threads": threads, "aliasing": table}))


if __name__ == "__main__":
    main()

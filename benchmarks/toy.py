"""Toy Monte Carlo (validation/toy.py, PHYSICS 8): kernel throughput and the aliasing measurement behind the default
grid.

Throughput: nanoseconds per (random feature × direction × step), i.e. per cosine, for one realisation.

Aliasing: the same realisations (same seed, so the same rotation fields: the random draws do not depend on the grid)
are observed on Gauss-Legendre grids of increasing n_theta.  The change of the ensemble-mean C_l (l <= 10) against
the finest grid is the aliasing of the coarser grid; it is printed relative to C_l and in units of the statistical
error of a 64-realisation run (the error the comparison with the ODE works at), together with the white-noise-floor
proxy ToyResult.alias_floor.

Usage: NUMBA_NUM_THREADS=1 .venv/bin/python benchmarks/toy.py [--quick]
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

import numpy as np

from validation import toy

D_S, KAPPA_C = 0.5, 5.0
#: realisations of the reference statistical error quoted in the aliasing table
REFERENCE_REALISATIONS = 64


def throughput(n_theta: int = 24, t_max: float = 1.0) -> float:
    toy.simulate(D_S, KAPPA_C, [0.05], 2, n_theta, seed=0)  # compile
    start = time.perf_counter()
    result = toy.simulate(D_S, KAPPA_C, [t_max], 2, n_theta, seed=0)
    elapsed = time.perf_counter() - start
    cosines = 2 * result.grid.size * round(t_max / result.dt) * 3 * result.n_features
    return 1e9 * elapsed / cosines


def aliasing(time_value: float, grids, realisations: int) -> list[dict]:
    results = {n: toy.simulate(D_S, KAPPA_C, [time_value], realisations, n, seed=11) for n in grids}
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
            }
        )
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    threads = int(os.environ.get("NUMBA_NUM_THREADS", "0") or 0)
    ns_per_cos = throughput()
    print(f"toy kernel: {ns_per_cos:.2f} ns per cosine (feature x direction x step), NUMBA_NUM_THREADS={threads}")
    plan = {0.5: (12, 16, 24, 32), 1.0: (16, 24, 32, 48), 2.0: (24, 32, 40, 56, 80)}
    if not quick:
        plan.update({3.0: (40, 56, 72, 96, 128), 4.0: (56, 72, 96, 128, 160)})
    realisations = 4 if quick else 8
    table = []
    print(f"{'T':>4} {'n_theta':>7} {'dC10/C10':>9} {'max|dC/C|':>9} {'max|dC|/err64':>13} {'floor/C10':>9}")
    for time_value, grids in plan.items():
        for row in aliasing(time_value, grids, realisations):
            table.append(row)
            print(
                f"{row['T']:4.1f} {row['n_theta']:7d} {row['change_l10']:9.4f} {row['max_abs_change']:9.4f} "
                f"{row['max_change_over_error']:13.3f} {row['alias_floor_over_C10']:9.4f}"
            )
    print(json.dumps({"benchmark": "toy", "ns_per_cosine": ns_per_cos, "threads": threads, "aliasing": table}))


if __name__ == "__main__":
    main()

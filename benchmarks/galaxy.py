"""Benchmark of the two-zone Galactic solver (``anisotropy.galaxy``): time per full solution, convergence order,
and the resolution at which the ratios are stable to 0.1 %.

Measures, on one core, for the default network (C, N, O -> Li, Be, B; 10 species) with energy losses:

* the wall time of one full (z, T) solution at the default resolution (32 cells per decade from 0.01 to 1000 GeV/n,
  8 disk + 48 halo intervals), for alpha = 1 and 0.2 (target <= 1 s, so that 1e5 MCMC steps fit in a working day);
* the observed convergence order in z and in ln T of B/C and 10Be/9Be (interstellar, at the cell covering
  ~1 GeV/n, compared on nested grids: each refinement halves every cell);
* the coarsest of those grids whose B/C and 10Be/9Be at 0.3-30 GeV/n agree with the finest one to 0.1 %.

Run: ``python benchmarks/galaxy.py``.  Prints a table and, last, one JSON line.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from anisotropy.galaxy.solver import GalaxyModel, solve  # noqa: E402

CHECK_ENERGIES = (0.3, 1.0, 3.0, 10.0, 30.0)


def timing(alpha, repeats=5):
    model = GalaxyModel(alpha=alpha)
    solve(model)  # warm caches
    start = time.perf_counter()
    for _ in range(repeats):
        solve(model)
    return (time.perf_counter() - start) / repeats


def cell_ratios(solution, per_decade_factor):
    """B/C and 10Be/9Be averaged (in M = T N) over the sub-cells of the base grid's cells covering CHECK_ENERGIES."""
    values = []
    energy = solution.energy
    M = {key: solution.density[key][0] * energy for key in solution.density}
    boron = M["11B"] + M["10B"]
    carbon = M["12C"]
    for target in CHECK_ENERGIES:
        base_index = int(np.argmin(abs(np.log(energy[::per_decade_factor] * 1.0) - np.log(target))))
        cells = slice(base_index * per_decade_factor, (base_index + 1) * per_decade_factor)
        values.append((boron[cells].mean() / carbon[cells].mean(), M["10Be"][cells].mean() / M["9Be"][cells].mean()))
    return np.array(values)


def orders(sequence):
    sequence = np.asarray(sequence)
    differences = np.abs(np.diff(sequence, axis=0))
    return np.log2(differences[:-1] / differences[1:])


def main():
    results = {"time_default_alpha1_s": timing(1.0), "time_default_alpha02_s": timing(0.2)}
    print(f"one full (z, T) solution, default resolution: {results['time_default_alpha1_s']:.3f} s (alpha = 1), "
          f"{results['time_default_alpha02_s']:.3f} s (alpha = 0.2)")

    # refinement in ln T at a fine z grid, and in z at a fine T grid; energy grids nested (same energy_min)
    energy_levels = [4, 8, 16, 32, 64, 128]
    z_levels = [(1, 6), (2, 12), (4, 24), (8, 48), (16, 96), (32, 192)]
    energy_values = [cell_ratios(solve(GalaxyModel(alpha=0.2, energies_per_decade=n, disk_intervals=16,
                                                   halo_intervals=96)), n // energy_levels[0])
                     for n in energy_levels]
    z_values = [cell_ratios(solve(GalaxyModel(alpha=0.2, energies_per_decade=16, disk_intervals=d,
                                              halo_intervals=hh)), 1) for d, hh in z_levels]
    energy_orders, z_orders = orders(energy_values), orders(z_values)
    print("\nconvergence (alpha = 0.2), observed order between successive refinements at", CHECK_ENERGIES, "GeV/n")
    print("  ln T (cells/decade", energy_levels, "):")
    for label, column in (("B/C", 0), ("10Be/9Be", 1)):
        print(f"    {label:9s}", np.array2string(energy_orders[:, :, column].T, precision=2))
    print("  z (disk+halo intervals", z_levels, "):")
    for label, column in (("B/C", 0), ("10Be/9Be", 1)):
        print(f"    {label:9s}", np.array2string(z_orders[:, :, column].T, precision=2))

    # stability: relative difference to the finest grid of each sequence
    energy_error = [np.max(np.abs(values / energy_values[-1] - 1)) for values in energy_values[:-1]]
    z_error = [np.max(np.abs(values / z_values[-1] - 1)) for values in z_values[:-1]]
    print("\nlargest relative difference of B/C, 10Be/9Be (0.3-30 GeV/n) to the finest grid")
    for level, error in zip(energy_levels, energy_error):
        print(f"  {level:4d} cells/decade: {error:.2e}")
    for level, error in zip(z_levels, z_error):
        print(f"  {level[0]:3d}+{level[1]:3d} z intervals: {error:.2e}")
    stable_energy = next((level for level, error in zip(energy_levels, energy_error) if error < 1e-3), None)
    stable_z = next((level for level, error in zip(z_levels, z_error) if error < 1e-3), None)
    print(f"stable to 0.1 %: >= {stable_energy} cells/decade in ln T, >= {stable_z} intervals in z")
    results.update({"order_lnT_last": energy_orders[-1].mean(axis=0).tolist(),
                    "order_z_last": z_orders[-1].mean(axis=0).tolist(),
                    "stable_0p1pct_cells_per_decade": stable_energy, "stable_0p1pct_z_intervals": stable_z,
                    "lnT_errors": energy_error, "z_errors": z_error})
    print(json.dumps(results))


if __name__ == "__main__":
    main()

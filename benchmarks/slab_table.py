"""Tabulated slab field against the plane-wave sum: ns per particle-step, table build time and memory.

For slab turbulence at 250, 1000 and 4000 modes (L_min/L_max = 1e-3, 83, 333 and 1333 modes per decade) the Boris
pusher of :mod:`validation.simulator.pusher` is timed with the field from the mode sum (``slab_field="modes"``,
the default ``"auto"`` kernel) and from the table (:mod:`validation.simulator.slab_table`), 1 numba thread, CPU
time of the process (``time.process_time``: time slices lost to other users of a shared machine do not count).
Particles start spread over |z| ≤ :data:`SPREAD` L_c so that they read different parts of the table (a table of
~1 MB at 1e-3, larger than L2 on most cores), with isotropic directions, r_g/L_c = 0.01.  Each figure is the
median of :data:`REPEATS` runs.  Nothing is asserted; the ratio table/modes is what carries over between CPUs.

Measured (2026-12-04, Intel Xeon with AVX-512, shared, load average ~4; 3 runs of the median of 5; 512 particles):

=====  ==================  =============  ==============  ============================  =====================
modes  mode sum (ns/step)  table (ns)     speed-up        table memory, spacing         build (ns/mode/node)
=====  ==================  =============  ==============  ============================  =====================
249    97-108              10.5           9.3-10.3 ×      0.25 MiB per L_c, L_min/40.5  0.5
999    334-369             10.7           31-35 ×         0.29 MiB per L_c, L_min/47.8  0.6
3999   1273-1387           11.0           115-125 ×       0.35 MiB per L_c, L_min/56.7  0.6
=====  ==================  =============  ==============  ============================  =====================

The table costs the same whatever the mode count; the mode sum ~0.33 ns per mode.  The build (once per realisation
and per L_c of reach) equals ~2 (250 modes) to ~0.5 (4000 modes) particle-steps of the mode sum per node.

Usage: ``python benchmarks/slab_table.py [--quick]``; prints a table and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numba
import numpy as np

REPEATS = 5
#: particles start with z uniform in [-SPREAD, SPREAD] L_c
SPREAD = 2.0
#: modes per decade at L_min/L_max = 1e-3 giving 250, 1000 and 4000 modes (anisotropy.spectrum.mode_count)
MODE_CASES = {250: 83, 1000: 333, 4000: 1333}
RIGIDITY = 0.01


def _field(modes_per_decade: int, slab_field: str):
    from validation.simulator.config import TurbulenceConfig
    from validation.simulator.turbulence import TurbulenceField

    config = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-3, modes_per_decade=modes_per_decade,
                              slab_field=slab_field)
    return TurbulenceField(config, 1)


def _start(particles: int):
    from validation.simulator.diffusion import isotropic_directions

    rng = np.random.default_rng(0)
    directions = isotropic_directions(particles, rng)
    positions = np.zeros_like(directions)
    positions[:, 2] = rng.uniform(-SPREAD, SPREAD, particles)
    return positions, directions


def _ns_per_particle_step(field, particles: int, steps: int) -> float:
    from validation.simulator.pusher import advance

    positions, directions = _start(particles)
    dt = RIGIDITY / 30.0
    advance(field, positions, directions, RIGIDITY, -1, dt, 1)  # compile / load, build the first table blocks
    if field.table is not None:  # the table is built before timing (its cost is reported separately)
        reach = (REPEATS + 1) * steps * dt + SPREAD
        field.table.ensure(-reach, reach)
    samples = []
    for _ in range(REPEATS):
        start = time.process_time()
        advance(field, positions, directions, RIGIDITY, -1, dt, steps)
        samples.append(time.process_time() - start)
    return statistics.median(samples) / (particles * steps) * 1e9


def _build(modes_per_decade: int) -> dict:
    field = _field(modes_per_decade, "table")
    field.table.ensure(-0.01, 0.01)  # compile
    field = _field(modes_per_decade, "table")
    start = time.process_time()
    field.table.ensure(-SPREAD, SPREAD)
    seconds = time.process_time() - start
    nodes = field.table.kernel_arrays()[0].shape[0]
    return {
        "build_ns_per_mode_node": seconds / (nodes * field.n_modes) * 1e9,
        "mib_per_lc": field.table.nbytes / 2**20 / (field.table.z_range[1] - field.table.z_range[0]),
        "spacing_over_lmin": 1.0 / field.table.cells_per_smallest_scale,
        "error_bound": field.table.error_bound,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problem sizes")
    args = parser.parse_args(argv)
    numba.set_num_threads(1)
    particles = 128 if args.quick else 512
    rows, summary = [], {"benchmark": "slab_table", "particles": particles, "repeats": REPEATS, "cases": []}
    for modes, per_decade in MODE_CASES.items():
        mode_field = _field(per_decade, "modes")
        table_field = _field(per_decade, "table")
        mode_steps = max(4, (20 if args.quick else 80) * 1000 // modes)
        ns_modes = _ns_per_particle_step(mode_field, particles, mode_steps)
        ns_table = _ns_per_particle_step(table_field, particles, 40 * mode_steps)
        build = _build(per_decade)
        case = {"modes": mode_field.n_modes, "ns_modes": ns_modes, "ns_table": ns_table,
                "speedup": ns_modes / ns_table, **build}
        summary["cases"].append(case)
        rows.append(f"{case['modes']:>5} modes  sum {ns_modes:8.1f} ns  table {ns_table:6.1f} ns  "
                    f"x{case['speedup']:6.1f}   table {case['mib_per_lc']:.2f} MiB/L_c at h = L_min/"
                    f"{1 / case['spacing_over_lmin']:.1f} (bound {case['error_bound']:.1e} dB_rms), build "
                    f"{case['build_ns_per_mode_node']:.2f} ns per mode-node")
    print(f"ns per particle-step, 1 thread, CPU time, median of {REPEATS}; load average {os.getloadavg()[0]:.1f}")
    print("\n".join(rows))
    summary["load_average"] = os.getloadavg()[0]
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()

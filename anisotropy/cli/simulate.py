"""``cr-anisotropy simulate anisotropy|diffusion|pairs``: ensembles of the test-particle simulator from the shell.

Both sub-commands run ``--realisations`` turbulence realisations (realisation ``i`` uses child ``i`` of
``SeedSequence(--seed)``) on the chosen executor (default: a Dask ``LocalCluster``, docs/guide/design.md; ``serial``
when
Dask is not installed), checkpoint each one to ``OUT/ensemble.h5`` (+
``OUT/ensemble_realisations/``) and resume when the same command is rerun.  All outputs are written atomically
(temporary file, then rename).  Units: lengths in L_c, times in L_c/c, rigidity r_g/L_c with r_g in
B_tot = sqrt(B0^2 + dB^2) (docs/physics/conventions.md#units).

``simulate anisotropy`` (docs/physics/simulator.md#liouville-mapping, docs/physics/simulator.md) writes

* ``cl.csv`` -- columns ``T,ell,cl,cl_err``: ensemble mean of the anafast C_l of the backtracked map
  δf(n̂) = G·Δr + 3 d̂·K·G for |G| = 1/L_c, and its standard error (scatter across realisations / sqrt(N));
  ℓ = 0..2 nside for every backtracking time T (cT/L_c);
* ``cl_details.csv`` -- the same rows plus the white-noise floor 4πσ²/N_pix of each map
  (docs/physics/simulator.md#white-noise-floor) and, with
  ``--pairs``, the pair-estimator C_l (docs/physics/simulator.md#pair-estimator, fixed-G form) with their standard
  errors;
* ``map_T00.fits``, ``map_T01.fits``, ... -- the δf map of **realisation 0** at each T (RING, nside; a typical
  single sky -- the ensemble mean of δf is only the mean dipole, docs/physics/mixing_ode.md#caveats), FITS header
  ``BACKTIME`` = cT/L_c;
* ``run.json`` -- every parameter used, the derived ones (n_modes, dt, steps per particle, particles per
  realisation) and ``wall_seconds``.

``simulate diffusion`` (docs/physics/conventions.md#running-diffusion) writes ``diffusion.csv`` with columns
``t,msd_par,msd_perp,d_par,
d_perp`` (t in L_c/c, msd in L_c², d in c·L_c): ensemble mean squared displacements and the running coefficients
d = ½ d⟨Δ²⟩/dt of those means (d_perp is twice the per-component value), ``fieldlines.csv`` with ``--fieldlines``,
and ``run.json``.

``simulate pairs`` (the pair instrument, :mod:`validation.simulator.pairs`) writes ``pairs.npz`` with the ensemble
mean and standard error of every recorded array (``mean/<name>``, ``stderr/<name>``: mixing functions
⟨P_l0(x')⟩, drift and second moment of x' − x, two-time and equal-time direction correlations for G along and
across B0, the exact pair correlations C(x; T) and their Legendre projection C_l), ``pair_cl.csv`` (columns
``gradient,T,ell,cl,cl_err``) and ``run.json``.

Bad input exits with status 2 and one line naming the parameter (the dispatcher :mod:`anisotropy.cli`).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from anisotropy._version import __version__
from anisotropy.cli import integer, number
from anisotropy.errors import ParameterError, require_range
from anisotropy.io import atomic_output, output_lock, write_json
from validation.simulator import ensemble
from validation.simulator.config import (
    MAX_AGES,
    MAX_DIFFUSION_COEFFICIENT,
    MAX_LMAX_MIXING,
    TURBULENCE_KINDS,
    AnisotropyConfig,
    DiffusionConfig,
    PairConfig,
    TurbulenceConfig,
)
from validation.simulator.gpu import DEVICES, resolve_device
from validation.simulator.pusher import DEFAULT_KERNEL
from validation.simulator.slab_table import SLAB_FIELDS

__all__ = ["add_arguments", "run"]

DEFAULT_OUT = "./cr-anisotropy-simulation/"
STORE_NAME = "ensemble.h5"
#: first backtracking time of the default log-spaced grid, as a fraction of --time (two decades)
FIRST_TIME_FRACTION = 1e-2


def _time_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"times: expected comma-separated numbers > 0, got {text!r}") from None
    if not values or not all(math.isfinite(value) and value > 0 for value in values):
        raise argparse.ArgumentTypeError(f"times: expected comma-separated numbers > 0, got {text!r}")
    return values


def _default_executor() -> str:
    # docs/guide/design.md#engineering-conventions: Dask is the default executor; it is an optional extra, so fall back
    # to serial without it
    import importlib.util

    return "dask" if importlib.util.find_spec("distributed") is not None else "serial"


def _common_arguments(parser: argparse.ArgumentParser, defaults) -> None:
    turbulence = parser.add_argument_group("turbulence and particles (lengths in L_c, times in L_c/c)")
    turbulence.add_argument("--turbulence", choices=TURBULENCE_KINDS, default="isotropic",
                            help="plane-wave turbulence geometry (default %(default)s)")
    turbulence.add_argument("--eta", type=number("eta", 0.0, 1.0, low_open=True), default=TurbulenceConfig.eta,
                            help="turbulence level dB^2/(B0^2 + dB^2) in (0, 1] (default %(default)g)")
    turbulence.add_argument("--rigidity", type=number("rigidity", 0.0, None, low_open=True),
                            default=defaults.reduced_rigidity,
                            help="reduced rigidity r_g/L_c (r_g in B_tot), > 0 (default %(default)g)")
    turbulence.add_argument("--lmin-over-lmax", type=number("lmin_over_lmax", 0.0, 1.0, low_open=True, high_open=True),
                            default=TurbulenceConfig.lmin_over_lmax,
                            help="L_min/L_max in (0, 1) (default %(default)g)")
    turbulence.add_argument("--modes-per-decade", type=integer("modes_per_decade", 1, 100_000),
                            default=TurbulenceConfig.modes_per_decade,
                            help="log-spaced modes per decade of wavenumber, 1..100000 (default %(default)d)")
    turbulence.add_argument("--slab-field", choices=SLAB_FIELDS, default=None,
                            help="slab field from a 1-D table in z (error <= 3e-7 dB_rms, 10-100x faster) or the "
                                 "plane-wave sum at every step (default: table for slab; isotropic needs modes)")
    turbulence.add_argument("--dt", type=number("dt", 0.0, None, low_open=True), default=None,
                            help="Boris step c dt/L_c, > 0 (default: min(r_g/30, L_min/5))")
    ensemble_group = parser.add_argument_group("ensemble and execution")
    ensemble_group.add_argument("--realisations", type=integer("realisations", 1, 1_000_000), default=4,
                                help="turbulence realisations, >= 1 (default %(default)d)")
    ensemble_group.add_argument("--seed", type=integer("seed", 0, None), default=0,
                                help="root seed (non-negative integer; realisation i uses child i) "
                                     "(default %(default)d)")
    ensemble_group.add_argument("--executor", choices=ensemble.EXECUTORS, default=_default_executor(),
                                help="serial, process (spawn pool) or dask (LocalCluster, or --scheduler) "
                                     "(default %(default)s: dask when installed, else serial)")
    ensemble_group.add_argument("--workers", type=integer("workers", 1, 4096), default=None,
                                help="worker processes for process/dask, >= 1 (default: CPU count)")
    ensemble_group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                                help="address of a running Dask scheduler (e.g. one started with dask-jobqueue on "
                                     "SLURM/PBS); needs --executor dask")
    ensemble_group.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                                help="output directory; rerunning into it resumes (default %(default)s)")
    ensemble_group.add_argument("--quiet", action="store_true", help="no progress bar")
    ensemble_group.add_argument("--device", choices=DEVICES, default="auto",
                                help="where particles are pushed: cpu, gpu (numba-cuda, FP64; realisations run one "
                                     "after another in this process) or auto = gpu when one is usable "
                                     "(default %(default)s)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the nested sub-commands ``anisotropy`` and ``diffusion`` with their range-checked options."""
    simulations = parser.add_subparsers(dest="simulation", metavar="SIMULATION")
    simulations.required = True

    anisotropy = simulations.add_parser(
        "anisotropy", help="backtracked arrival maps and C_l(T)", description="backtracked arrival maps and C_l(T)"
    )
    _common_arguments(anisotropy, AnisotropyConfig)
    sky = anisotropy.add_argument_group("maps and C_l")
    sky.add_argument("--nside", type=integer("nside", 1, 8192), default=8,
                     help="HEALPix nside of the maps, a power of two; C_l for l <= 2 nside (default %(default)d)")
    sky.add_argument("--particles", type=integer("particles", 1, 4096), default=1,
                     help="particles per map pixel, a power of four (sub-pixel centres) (default %(default)d)")
    sky.add_argument("--time", type=number("time", 0.0, None, low_open=True), default=None,
                     help="longest backtracking time cT/L_c, > 0 (default 10)")
    sky.add_argument("--n-times", type=integer("n_times", 1, 1000), default=None,
                     help="log-spaced backtracking times from time/100 to time, 1..1000 (default 5)")
    sky.add_argument("--times", type=_time_list, default=None, metavar="T1,T2,...",
                     help="explicit increasing backtracking times (instead of --time/--n-times)")
    sky.add_argument("--gradient-angle", type=number("gradient_angle", 0.0, 180.0), default=0.0,
                     help="angle between the density gradient and B0 in degrees, [0, 180] (default %(default)g)")
    sky.add_argument("--kappa", nargs="+", default=None, metavar="K",
                     help="diffusion tensor for the -(3/v) p.K.G term of eq. 3.1: KAPPA_PAR KAPPA_PERP in c L_c "
                          "(KAPPA_PERP per component), or 'qlt' for slab QLT kappa_par with kappa_perp = 0 "
                          "(default: term omitted, valid for T >> tau_s)")
    sky.add_argument("--pairs", type=integer("pairs", 0, 10_000_000), default=0,
                     help="pairs per separation for the pair-estimator C_l cross-check, 0 = off (default %(default)d)")
    sky.add_argument("--pair-nodes", type=integer("pair_nodes", 2, 10_000), default=None,
                     help="Gauss-Legendre separations of the pair estimator (default 4 nside)")
    anisotropy.set_defaults(_simulate=_run_anisotropy)

    diffusion = simulations.add_parser(
        "diffusion", help="running diffusion coefficients", description="running diffusion coefficients"
    )
    _common_arguments(diffusion, DiffusionConfig)
    particles = diffusion.add_argument_group("particles and output times")
    particles.add_argument("--particles", type=integer("particles", 1, None), default=DiffusionConfig.particles,
                           help="particles per realisation, >= 1 (default %(default)d)")
    particles.add_argument("--time", type=number("time", 0.0, None, low_open=True), default=DiffusionConfig.time,
                           help="total time ct/L_c, > 0 (default %(default)g)")
    particles.add_argument("--n-times", type=integer("n_times", 2, 100_000), default=DiffusionConfig.n_times,
                           help="log-spaced output times over three decades, >= 2 (default %(default)d)")
    particles.add_argument("--fieldlines", type=integer("fieldlines", 0, None), default=0,
                           help="field lines traced per realisation, 0 = none (default %(default)d)")
    particles.add_argument("--fieldline-length", type=number("fieldline_length", 0.0, None, low_open=True),
                           default=DiffusionConfig.fieldline_length,
                           help="arc length traced along each field line in L_c, > 0 (default %(default)g)")
    diffusion.set_defaults(_simulate=_run_diffusion)

    pairs = simulations.add_parser(
        "pairs", help="pair statistics of backtracked directions (mixing, drift, two-time correlations)",
        description="pair statistics of backtracked directions (mixing, drift, two-time correlations)",
    )
    _common_arguments(pairs, PairConfig)
    instrument = pairs.add_argument_group("pairs and output ages")
    instrument.add_argument("--nodes", type=integer("nodes", 2, 4096), default=PairConfig.nodes,
                            help="Gauss-Legendre nodes in x = cos(separation), 2..4096 (default %(default)d)")
    instrument.add_argument("--pairs", type=integer("pairs", 1, 10_000_000), default=PairConfig.pairs,
                            help="pairs per node, 1..10^7 (default %(default)d)")
    instrument.add_argument("--lmax-mixing", type=integer("lmax_mixing", 0, MAX_LMAX_MIXING),
                            default=PairConfig.lmax_mixing,
                            help=f"largest l0 of the mixing functions <P_l0(x')>, 0..{MAX_LMAX_MIXING} "
                                 "(default %(default)d)")
    instrument.add_argument("--time", type=number("time", 0.0, None, low_open=True), default=None,
                            help="longest age cT/L_c, > 0 (default 10)")
    instrument.add_argument("--n-times", type=integer("n_times", 1, MAX_AGES - 1), default=None,
                            help=f"log-spaced ages from time/100 to time, 1..{MAX_AGES - 1} (default 5)")
    instrument.add_argument("--times", type=_time_list, default=None, metavar="T1,T2,...",
                            help="explicit increasing ages (instead of --time/--n-times)")
    pairs.set_defaults(_simulate=_run_pairs)


def run(args: argparse.Namespace) -> int:
    """Run the chosen simulation; return the exit status (input errors raise ParameterError: status 2)."""
    with output_lock(args.out):  # a second writer on the same directory stops here with one line
        return args._simulate(args)


# -- shared pieces -------------------------------------------------------------------------------------------------


def _turbulence(args) -> TurbulenceConfig:
    return TurbulenceConfig(
        kind=args.turbulence,
        eta=args.eta,
        lmin_over_lmax=args.lmin_over_lmax,
        modes_per_decade=args.modes_per_decade,
        slab_field=args.slab_field,
    )


def _workers(args) -> int:
    if args.workers is not None:
        return args.workers
    return 1 if args.executor == "serial" else (os.cpu_count() or 1)


def _on_device(args, function):
    """The realisation function for ``--device`` (its GPU twin on a GPU), and the executor settings that go with it."""
    args.device_used = resolve_device(args.device)
    if args.device_used == "cpu":
        return function
    from validation.simulator.gpu import driver

    if args.executor != "serial":  # one device: realisations run one after another in this process
        print(f"--device gpu: realisations run in this process (--executor {args.executor} not used)",
              file=sys.stderr)
        args.executor, args.workers, args.scheduler = "serial", 1, None
    return {"diffusion_realisation": driver.diffusion_realisation,
            "anisotropy_realisation": driver.anisotropy_realisation,
            "pair_realisation": driver.pair_realisation}[function.__name__]


def _run_ensemble(args, function, config, particle_steps):
    function = _on_device(args, function)
    workers = _workers(args)
    if args.scheduler and args.executor != "dask":
        raise ParameterError("scheduler", "a scheduler address needs --executor dask")
    args.out.mkdir(parents=True, exist_ok=True)
    executor = ensemble.make_executor(args.executor, workers, args.scheduler)
    workers = getattr(executor, "workers", workers)  # an existing Dask cluster reports its own size
    try:
        result = ensemble.run(
            function,
            config,
            args.seed,
            args.realisations,
            executor,
            args.out / STORE_NAME,
            progress=not args.quiet,
            particle_steps_per_realisation=particle_steps,
            run_attributes={"executor": args.executor, "workers": workers, "device": args.device_used,
                            "command": " ".join(sys.argv[1:])},
        )
    except BaseException:
        # Ctrl-C or a failed realisation: do not wait for running tasks; finished ones are checkpointed
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)
    return result, workers


def _write_csv(path: Path, header, rows, comment: str | None = None) -> None:
    with atomic_output(path) as temporary:
        with open(temporary, "w", newline="") as handle:
            if comment is not None:  # one '#' line before the header (pandas: comment="#"; numpy: the default)
                handle.write(f"# {comment}\n")
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)


def _write_json(path: Path, content: dict) -> None:
    write_json(path, content, indent=2)


def _run_record(args, command, config, result, workers, derived) -> dict:
    turbulence = config.turbulence
    return {
        "command": command,
        "package_version": __version__,
        "field_kernel": DEFAULT_KERNEL if args.device_used == "cpu" else "gpu",
        "device": args.device_used,
        # both devices evaluate slab turbulence from its table unless --slab-field modes
        "slab_field": turbulence.field_evaluation,
        "slab_table_mib_mean": float(np.max(result.mean.get("slab_table_bytes", 0.0))) / 2**20,
        "n_modes": turbulence.n_modes,
        "modes_per_decade": turbulence.modes_per_decade,
        "lmin_over_lmax": turbulence.lmin_over_lmax,
        "turbulence": turbulence.kind,
        "eta": turbulence.eta,
        "reduced_rigidity": config.reduced_rigidity,
        **derived,
        "realisations": args.realisations,
        "seed": args.seed,
        "executor": args.executor,
        "workers": workers,
        "scheduler": args.scheduler,
        "out": str(args.out),
        "store": str(args.out / STORE_NAME),
        "realisations_computed": len(result.computed),
        "realisations_resumed": args.realisations - len(result.computed),
        "wall_seconds": result.wall_seconds,
        "config": config.to_dict(),
    }


# -- anisotropy ----------------------------------------------------------------------------------------------------


def _anisotropy_times(args) -> tuple[float, ...]:
    if args.times is not None:
        if args.time is not None or args.n_times is not None:
            raise ParameterError("times", "give either --times or --time/--n-times, not both")
        return args.times
    longest = 10.0 if args.time is None else args.time
    count = 5 if args.n_times is None else args.n_times
    if count == 1:
        return (longest,)
    return tuple(float(value) for value in np.geomspace(longest * FIRST_TIME_FRACTION, longest, count))


def _subpixel(particles: int) -> int:
    side = math.isqrt(particles)
    if side * side != particles or side & (side - 1):
        raise ParameterError("particles", f"per pixel: must be a power of four (1, 4, 16, ...), got {particles}")
    return side


def _kappa(args, turbulence: TurbulenceConfig):
    if args.kappa is None:
        return None
    if len(args.kappa) == 1 and args.kappa[0].lower() == "qlt":
        if turbulence.kind != "slab" or turbulence.eta >= 1.0:
            raise ParameterError("kappa", "'qlt' needs --turbulence slab with --eta < 1")
        from anisotropy.transport import parallel_diffusion

        kappa_parallel = parallel_diffusion(args.rigidity, turbulence=turbulence.as_turbulence())
        return (kappa_parallel, 0.0)  # slab QLT: no perpendicular transport (docs/physics/transport.md#slab-qlt)
    if len(args.kappa) != 2:
        raise ParameterError("kappa", f"expected KAPPA_PAR KAPPA_PERP (>= 0) or 'qlt', got {' '.join(args.kappa)}")
    return tuple(require_range("kappa", value, 0.0, MAX_DIFFUSION_COEFFICIENT) for value in args.kappa)


def _run_anisotropy(args) -> int:
    from validation.simulator.backtrack import anisotropy_realisation, backtracking_schedule, gauss_legendre_separations

    turbulence = _turbulence(args)
    pair_nodes = args.pair_nodes if args.pair_nodes is not None else 4 * args.nside
    config = AnisotropyConfig(
        turbulence=turbulence,
        reduced_rigidity=args.rigidity,
        nside=args.nside,
        subpixel=_subpixel(args.particles),
        times=_anisotropy_times(args),
        gradient_angle=args.gradient_angle,
        dt=args.dt,
        pairs=args.pairs,
        pair_separations=gauss_legendre_separations(pair_nodes) if args.pairs > 0 else (),
        diffusion_tensor=_kappa(args, turbulence),
    )
    dt, steps = backtracking_schedule(config.times, config.timestep)
    pair_particles = args.pairs * (pair_nodes + 1) if args.pairs > 0 else 0
    particles = config.n_particles + pair_particles
    result, workers = _run_ensemble(args, anisotropy_realisation, config, particles * int(steps[-1]))

    mean, error = result.mean, result.standard_error
    times = mean["times"]
    ells = mean["ell"].astype(int)
    rows = [(times[k], ell, mean["cl"][k, ell], error["cl"][k, ell]) for k in range(times.size) for ell in ells]
    _write_csv(args.out / "cl.csv", ("T", "ell", "cl", "cl_err"), rows)

    detail_header = ["T", "ell", "cl", "cl_err", "noise_floor", "noise_floor_err"]
    if "cl_pair" in mean:
        detail_header += ["cl_pair", "cl_pair_err"]
    detail_rows = []
    for k in range(times.size):
        for ell in ells:
            row = [times[k], ell, mean["cl"][k, ell], error["cl"][k, ell], mean["noise_floor"][k],
                   error["noise_floor"][k]]
            if "cl_pair" in mean:
                row += [mean["cl_pair"][k, ell], error["cl_pair"][k, ell]]
            detail_rows.append(row)
    _write_csv(args.out / "cl_details.csv", detail_header, detail_rows)

    map_files = _write_maps(args.out, result.first["maps"], times, config, result.mean["maps"], result.count)
    picture_files = _write_mollweide(args.out, result.first["maps"], times)
    plot_file = _plot_cl(args.out / "cl.png", times, ells, mean["cl"], error["cl"], mean["noise_floor"], config,
                         result.count)

    derived = {
        "nside": config.nside,
        "lmax": int(ells[-1]),
        "particles_per_pixel": config.subpixel**2,
        "times": times,
        "gradient_angle": config.gradient_angle,
        "diffusion_tensor": config.diffusion_tensor,
        "pairs": config.pairs,
        "pair_nodes": pair_nodes if config.pairs > 0 else 0,
        "dt": dt,
        "steps_per_particle": int(steps[-1]),
        "particles_per_realisation": particles,
        "particle_steps_per_realisation": particles * int(steps[-1]),
    }
    record = _run_record(args, "simulate anisotropy", config, result, workers, derived)
    record["outputs"] = ["cl.csv", "cl_details.csv", *map_files, *picture_files, plot_file, STORE_NAME]
    _write_json(args.out / "run.json", record)

    print(f"{result.count} realisations, nside {config.nside}, {particles} particles x {int(steps[-1])} steps each "
          f"({len(result.computed)} computed, {args.realisations - len(result.computed)} resumed), "
          f"{result.wall_seconds:.1f} s")
    for k, time in enumerate(times):
        quoted = "  ".join(
            f"C_{ell} = {mean['cl'][k, ell]:.3g} ± {error['cl'][k, ell]:.2g}" for ell in ells[1:4]
        )
        print(f"T = {time:.4g}: {quoted}  (white-noise floor {mean['noise_floor'][k]:.2g})")
    print(f"wrote {args.out}/cl.csv, cl_details.csv, {plot_file}, {len(map_files)} FITS maps, "
          f"{len(picture_files)} Mollweide PNGs, run.json, {STORE_NAME}")
    return 0


def _run_pairs(args) -> int:
    from validation.simulator.backtrack import backtracking_schedule
    from validation.simulator.pairs import GRADIENT_NAMES, pair_realisation

    config = PairConfig(
        turbulence=_turbulence(args),
        reduced_rigidity=args.rigidity,
        nodes=args.nodes,
        pairs=args.pairs,
        times=_anisotropy_times(args),
        lmax_mixing=args.lmax_mixing,
        dt=args.dt,
    )
    dt, steps = backtracking_schedule(config.times, config.timestep)
    particle_steps = config.n_particles * int(steps[-1])
    result, workers = _run_ensemble(args, pair_realisation, config, particle_steps)
    mean, error = result.mean, result.standard_error
    arrays = {f"mean/{name}": np.asarray(value) for name, value in mean.items()}
    arrays.update({f"stderr/{name}": np.asarray(value) for name, value in error.items()})
    with atomic_output(args.out / "pairs.npz") as temporary:
        with open(temporary, "wb") as handle:
            np.savez(handle, **arrays)
    ages = mean["ages"]
    rows = [(GRADIENT_NAMES[g], ages[k], ell, mean["cl"][g, k, ell], error["cl"][g, k, ell])
            for g in range(len(GRADIENT_NAMES)) for k in range(1, ages.size) for ell in range(mean["cl"].shape[-1])]
    _write_csv(args.out / "pair_cl.csv", ("gradient", "T", "ell", "cl", "cl_err"), rows)
    derived = {
        "nodes": config.nodes,
        "pairs": config.pairs,
        "lmax_mixing": config.lmax_mixing,
        "ages": ages,
        "gradients": {"along": [0.0, 0.0, 1.0], "across": [1.0, 0.0, 0.0]},
        "dt": dt,
        "steps_per_particle": int(steps[-1]),
        "particles_per_realisation": config.n_particles,
        "particle_steps_per_realisation": particle_steps,
    }
    record = _run_record(args, "simulate pairs", config, result, workers, derived)
    record["outputs"] = ["pairs.npz", "pair_cl.csv", STORE_NAME]
    _write_json(args.out / "run.json", record)
    print(f"{result.count} realisations x {config.pairs} pairs x {config.nodes} nodes, {int(steps[-1])} steps each, "
          f"{result.wall_seconds:.1f} s")
    for g, name in enumerate(GRADIENT_NAMES):
        print(f"G {name} B0, T = {ages[-1]:.4g}: " + "  ".join(
            f"C_{ell} = {mean['cl'][g, -1, ell]:.3g} ± {error['cl'][g, -1, ell]:.2g}" for ell in range(1, 4)
            if ell < mean["cl"].shape[-1]))
    print(f"wrote {args.out}/pairs.npz, pair_cl.csv, run.json, {STORE_NAME}")
    return 0


def _write_maps(out: Path, maps, times, config: AnisotropyConfig, mean_maps=None, count: int = 1) -> list[str]:
    """FITS maps of realisation 0 (``map_TKK.fits``) and of the ensemble mean (``map_mean_TKK.fits``)."""
    import healpy as hp

    names = []
    sets = [("map", maps, 0)] + ([("map_mean", mean_maps, -1)] if mean_maps is not None else [])
    for prefix, sky_maps, realisation in sets:
        for k, time in enumerate(times):
            name = f"{prefix}_T{k:02d}.fits"
            with atomic_output(out / name) as temporary:
                hp.write_map(
                    str(temporary),
                    np.asarray(sky_maps[k], dtype=np.float32),
                    overwrite=True,
                    dtype=np.float32,
                    column_names=["DELTA_F"],
                    column_units=["relative intensity"],
                    extra_header=[
                        ("COORDSYS", "B0", "z along B0, G in x-z plane; not celestial"),
                        ("BACKTIME", float(time), "backtracking time cT/L_c"),
                        ("REALISN", realisation, "realisation index (-1: ensemble mean)"),
                        ("NREALIS", int(count) if realisation < 0 else 1, "realisations averaged"),
                        ("GRADANG", float(config.gradient_angle), "angle(G, B0) in deg; |G| = 1/L_c"),
                        ("RIGIDITY", float(config.reduced_rigidity), "r_g/L_c"),
                        ("ETA", float(config.turbulence.eta), "dB^2/(B0^2 + dB^2)"),
                        ("TURBKIND", config.turbulence.kind, "plane-wave turbulence geometry"),
                        ("LMINLMAX", float(config.turbulence.lmin_over_lmax), "L_min/L_max"),
                        ("CREATOR", f"cr-anisotropy {__version__}", "package and version"),
                    ],
                )
            names.append(name)
    return names


def _write_mollweide(out: Path, maps, times) -> list[str]:
    """One Mollweide PNG of realisation 0's δf map per backtracking time (``map_TKK.png``)."""
    import healpy as hp
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = []
    for k, time in enumerate(times):
        name = f"map_T{k:02d}.png"
        with warnings.catch_warnings():  # healpy's use of matplotlib colormap API: deprecation noise, not ours
            warnings.simplefilter("ignore")
            hp.mollview(np.asarray(maps[k], dtype=float), unit="δf (|G| L_c = 1)",
                        title=f"realisation 0, cT/L_c = {time:.4g} (z along B0)", cmap="RdBu_r")
        figure = plt.gcf()
        try:
            with atomic_output(out / name) as temporary:
                figure.savefig(temporary, dpi=100)
        finally:
            plt.close(figure)
        names.append(name)
    return names


def _plot_cl(path: Path, times, ells, cl, cl_err, noise_floor, config, count) -> str:
    """C_l(T) with standard errors and the white-noise floor, one curve per backtracking time."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 5))
    try:
        colours = plt.cm.viridis(np.linspace(0.0, 0.9, len(times)))
        for k, time in enumerate(times):
            axes.errorbar(ells[1:], cl[k, 1:], yerr=cl_err[k, 1:], marker="o", markersize=3, capsize=2,
                          color=colours[k], label=f"cT/L_c = {time:.3g}")
            axes.axhline(noise_floor[k], color=colours[k], linestyle=":", linewidth=0.8)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("ℓ")
        axes.set_ylabel("C_ℓ of δf (|G| L_c = 1)")
        axes.set_title(f"{config.turbulence.kind}, η = {config.turbulence.eta:g}, r_g/L_c = "
                       f"{config.reduced_rigidity:g}, {count} realisations (dotted: white-noise floor)",
                       fontsize=9)
        axes.legend(fontsize=8)
        with atomic_output(path) as temporary:
            figure.savefig(temporary, dpi=120)
    finally:
        plt.close(figure)
    return path.name


def _plot_diffusion(path: Path, times, d_parallel, d_perp, d_parallel_err, d_perp_err, config, count) -> str:
    """Running diffusion coefficients d_par(t), d_perp(t) with their standard-error bands."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 5))
    try:
        for label, value, error in (("d_par", d_parallel, d_parallel_err), ("d_perp", d_perp, d_perp_err)):
            axes.plot(times, value, label=label)
            axes.fill_between(times, value - error, value + error, alpha=0.3)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("ct/L_c")
        axes.set_ylabel("running coefficient d(t) = ½ d⟨Δ²⟩/dt  [c L_c]")
        axes.set_title(f"{config.turbulence.kind}, η = {config.turbulence.eta:g}, r_g/L_c = "
                       f"{config.reduced_rigidity:g}, {count} realisations", fontsize=9)
        axes.legend()
        with atomic_output(path) as temporary:
            figure.savefig(temporary, dpi=120)
    finally:
        plt.close(figure)
    return path.name


# -- diffusion -----------------------------------------------------------------------------------------------------


def _run_diffusion(args) -> int:
    from validation.simulator.diffusion import diffusion_realisation, running_coefficient

    config = DiffusionConfig(
        turbulence=_turbulence(args),
        reduced_rigidity=args.rigidity,
        particles=args.particles,
        time=args.time,
        n_times=args.n_times,
        dt=args.dt,
        fieldlines=args.fieldlines,
        fieldline_length=args.fieldline_length,
    )
    dt, steps = config.output_steps()
    result, workers = _run_ensemble(args, diffusion_realisation, config, config.particles * int(steps[-1]))
    mean = result.mean
    times = mean["times"]
    # definitions of docs/physics/conventions.md#running-diffusion applied to the ensemble means: d = ½ d<Δ²>/dt
    d_parallel = running_coefficient(times, mean["msd_parallel"])
    d_perpendicular = running_coefficient(times, mean["msd_perp"])
    error = result.standard_error  # scatter across realisations / sqrt(N); d is linear in the msd
    d_parallel_err, d_perpendicular_err = error["d_parallel"], error["d_perp"]
    rows = zip(times, mean["msd_parallel"], error["msd_parallel"], mean["msd_perp"], error["msd_perp"], d_parallel,
               d_parallel_err, d_perpendicular, d_perpendicular_err)
    _write_csv(args.out / "diffusion.csv", ("t", "msd_par", "msd_par_err", "msd_perp", "msd_perp_err", "d_par",
                                            "d_par_err", "d_perp", "d_perp_err"), rows,
               comment=f"units: t in L_c/c; msd in L_c^2; d in c L_c; *_err = standard error over {result.count} "
                       f"realisations; cr-anisotropy {__version__}")
    plot_file = _plot_diffusion(args.out / "diffusion.png", times, d_parallel, d_perpendicular, d_parallel_err,
                                d_perpendicular_err, config, result.count)
    outputs = ["diffusion.csv", plot_file]
    if config.fieldlines > 0 and "fieldline_msd_perp" in mean:
        mean_dz = mean["fieldline_mean_dz"]
        increasing = bool(np.all(np.diff(mean_dz) > 0) and np.all(mean_dz > 0))
        d_fieldline = (running_coefficient(mean_dz, mean["fieldline_msd_perp"]) if increasing
                       else np.full(mean_dz.size, np.nan))
        rows = zip(mean["fieldline_length"], mean_dz, mean["fieldline_msd_perp"], d_fieldline)
        _write_csv(args.out / "fieldlines.csv", ("s", "mean_dz", "msd_perp", "d_fl"), rows)
        outputs.append("fieldlines.csv")

    derived = {
        "particles": config.particles,
        "time": config.time,
        "n_times": int(times.size),
        "fieldlines": config.fieldlines,
        "dt": dt,
        "steps_per_particle": int(steps[-1]),
        "particles_per_realisation": config.particles,
        "particle_steps_per_realisation": config.particles * int(steps[-1]),
    }
    record = _run_record(args, "simulate diffusion", config, result, workers, derived)
    record["outputs"] = [*outputs, STORE_NAME]
    _write_json(args.out / "run.json", record)

    last = -1
    print(f"{result.count} realisations x {config.particles} particles, {int(steps[-1])} steps each, "
          f"{result.wall_seconds:.1f} s")
    print(f"t = {times[last]:.4g}: d_par = {d_parallel[last]:.4g}, d_perp = {d_perpendicular[last]:.4g} (c L_c); "
          f"lambda_par = {3 * d_parallel[last]:.4g} L_c")
    print(f"wrote {args.out}/{', '.join(outputs)}, run.json, {STORE_NAME}")
    return 0

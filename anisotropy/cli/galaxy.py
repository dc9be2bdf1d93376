"""``cr-anisotropy galaxy``: the two-zone Galactic transport model (suppressed diffusion in the disk).

``galaxy predict`` writes B/C, Be/B, ¹⁰Be/⁹Be, ... at Earth for given parameters (ratios.csv, params.json,
ratios.png); ``galaxy fit DATA.csv`` fits κ0, δ, α (and H) with φ as nuisance (fit.json, fit.png, and with
``--mcmc-steps`` posterior.png and chain.npy).  Physics: ``docs/physics/suppressed_diffusion.md``.  Bad values exit
with status 2 and one line naming the option.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from anisotropy.cli import integer, number
from anisotropy.errors import ParameterError

DEFAULT_OUT = "./cr-anisotropy-out/"
DEFAULT_RATIOS = ("B/C", "Be/B", "10Be/9Be")
DEFAULT_ENERGIES = tuple(np.round(np.geomspace(0.2, 100.0, 19), 4))


def _positive(name):
    return number(name, 0.0, None, low_open=True)


def _add_model_options(parser):
    model = parser.add_argument_group("model (lengths kpc, kappa kpc^2/Myr at 1 GV, energies GeV/n)")
    model.add_argument("--h", type=_positive("h"), default=0.1, help="disk half-height h in kpc, 0 < h < H "
                       "(default %(default)g)")
    model.add_argument("--H", type=_positive("H"), default=4.0, help="halo half-height H in kpc, > h "
                       "(default %(default)g)")
    model.add_argument("--kappa0", type=_positive("kappa0"), default=0.03,
                       help="halo diffusion coefficient at 1 GV in kpc^2/Myr, > 0 (default %(default)g)")
    model.add_argument("--delta", type=number("delta", 0.0, 1.5), default=0.5,
                       help="kappa ~ beta R^delta, in [0, 1.5] (default %(default)g)")
    model.add_argument("--n-hydrogen", type=number("n_hydrogen", 0.0, None), default=1.0,
                       help="disk hydrogen density in cm^-3, >= 0 (default %(default)g)")
    model.add_argument("--primaries", default="12C=1,14N=0.25,16O=1",
                       help="primary isotopes and relative source abundances (default %(default)s)")
    model.add_argument("--secondaries", default="11B,10B,10Be,9Be,7Be,7Li,6Li",
                       help="secondary isotopes (default %(default)s)")
    model.add_argument("--cross-sections", type=Path, default=None,
                       help="CSV of production cross sections (columns parent, child, energy, sigma_mb) that "
                       "replace the shipped Evoli et al. 2019 fits channel by channel")
    grid = parser.add_argument_group("resolution")
    grid.add_argument("--energies-per-decade", type=integer("energies_per_decade", 2, 1000), default=32,
                      help="energy cells per decade, 2..1000 (default %(default)d)")
    grid.add_argument("--disk-intervals", type=integer("disk_intervals", 1, 10000), default=8,
                      help="z intervals in the disk, >= 1 (default %(default)d)")
    grid.add_argument("--energy-max", type=_positive("energy_max"), default=1000.0,
                      help="largest kinetic energy per nucleon of the grid in GeV/n (default %(default)g; a table "
                      "against rigidity up to R needs about 0.57 R for 7Be)")
    grid.add_argument("--halo-intervals", type=integer("halo_intervals", 1, 100000), default=48,
                      help="z intervals in the halo, >= 1 (default %(default)d)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help="output directory (default %(default)s)")
    output.add_argument("--no-plot", action="store_true", help="do not write PNG plots")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``galaxy predict`` and ``galaxy fit``."""
    from anisotropy.galaxy.observables import RATIOS

    jobs = parser.add_subparsers(dest="galaxy_command", metavar="JOB", parser_class=type(parser))
    predict = jobs.add_parser("predict", help="ratios at Earth for given parameters",
                              description="B/C, Be/B, 10Be/9Be, ... at Earth for given parameters")
    predict.add_argument("--alpha", type=_positive("alpha"), default=1.0,
                         help="kappa_disk/kappa_halo, > 0 (default %(default)g)")
    predict.add_argument("--phi", type=number("phi", 0.0, None), default=0.5,
                         help="force-field potential in GV, >= 0 (default %(default)g)")
    predict.add_argument("--energies", type=_positive("energies"), nargs="+", default=list(DEFAULT_ENERGIES),
                         help="kinetic energies per nucleon in GeV/n at Earth, > 0 (default 0.2..100, 19 values)")
    predict.add_argument("--ratios", nargs="+", choices=list(RATIOS), default=list(DEFAULT_RATIOS),
                         help="ratios to predict (default %(default)s)")
    _add_model_options(predict)
    predict.set_defaults(_galaxy=run_predict)

    fit = jobs.add_parser("fit", help="fit kappa0, delta, alpha (and H) to ratio data",
                          description="fit kappa0, delta, alpha (and H) to ratio data (columns ratio, energy, value, "
                          "error); phi is a nuisance parameter")
    fit.add_argument("data", type=Path, nargs="+", help="one or more tables: CSV with columns ratio, energy, value, "
                     "error, or a shipped table (anisotropy/galaxy/data/README.md), e.g. synthetic_mock_ratios.csv")
    fit.add_argument("--energy-range", type=_positive("energy_range"), nargs=2, metavar=("MIN", "MAX"),
                     default=None, help="fit only the points with MIN <= x <= MAX, x = T/n in GeV/n (or the "
                     "rigidity in GV for tables against rigidity; default: all)")
    fit.add_argument("--free-H", action="store_true", help="also fit the halo height H")
    fit.add_argument("--phi-prior", type=_positive("phi_prior"), nargs=2, metavar=("MEAN", "WIDTH"), default=None,
                     help="Gaussian prior on phi in GV (default: flat in [0, 1.5])")
    fit.add_argument("--mcmc-steps", type=integer("mcmc_steps", 0, None), default=0,
                     help="emcee steps after the maximum-likelihood fit, >= 0 (default 0: off)")
    fit.add_argument("--walkers", type=integer("walkers", 2, None), default=16,
                     help="emcee walkers, >= 2 x parameters (default %(default)d)")
    fit.add_argument("--seed", type=integer("seed", 0, None), default=0, help="MCMC seed (default %(default)d)")
    _add_model_options(fit)
    fit.set_defaults(_galaxy=run_fit)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "_galaxy", None) is None:
        raise ParameterError("galaxy", "expected a job: predict or fit")
    return args._galaxy(args)


def _network(args):
    from anisotropy.galaxy.cross_sections import load_cross_section_table, load_fragmentation_fits
    from anisotropy.galaxy.network import build_network

    primaries = {}
    for entry in filter(None, (item.strip() for item in args.primaries.split(","))):
        name, _, abundance = entry.partition("=")
        try:
            primaries[name.strip()] = float(abundance) if abundance else 1.0
        except ValueError:
            raise ParameterError("primaries", f"expected NAME=ABUNDANCE, got {entry!r}") from None
    secondaries = [item.strip() for item in args.secondaries.split(",") if item.strip()]
    cross_sections = load_fragmentation_fits()
    if args.cross_sections is not None:
        cross_sections = cross_sections.merged(load_cross_section_table(args.cross_sections))
    for option, names in (("primaries", list(primaries)), ("secondaries", secondaries)):
        try:
            build_network(primaries={name: 1.0 for name in names} if option == "primaries" else {"12C": 1.0},
                          secondaries=secondaries if option == "secondaries" else (),
                          cross_sections=cross_sections)
        except ParameterError as error:
            if error.name != "isotope":
                raise
            raise ParameterError(option, str(error).split(": ", 1)[1]) from None
    return build_network(primaries=primaries, secondaries=secondaries, cross_sections=cross_sections)


def _model(args, alpha=1.0):
    from anisotropy.galaxy.solver import GalaxyModel
    from anisotropy.galaxy.transport import Medium

    return GalaxyModel(h=args.h, H=args.H, kappa0=args.kappa0, delta=args.delta, alpha=alpha,
                       medium=Medium(n_hydrogen=args.n_hydrogen), network=_network(args),
                       energy_max=args.energy_max, energies_per_decade=args.energies_per_decade,
                       disk_intervals=args.disk_intervals,
                       halo_intervals=args.halo_intervals)


def _check_writable(out: Path) -> None:
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError("out", f"{str(existing)!r} is not a writable directory")


def _provenance():
    from anisotropy._version import __version__

    return {"version": __version__, "physics": "two-zone disk+halo (Jacobs, Mertsch & Phan, arXiv:2305.10337)",
            "cross_sections": "inelastic: Letaw, Silberberg & Tsao 1983; production: Evoli, Aloisio & Blasi 2019 "
            "(PRD 99, 103023) unless --cross-sections", "modulation": "force field (Gleeson & Axford 1968)"}


def run_predict(args) -> int:
    from anisotropy.galaxy.observables import ratio
    from anisotropy.galaxy.solver import solve
    from anisotropy.io import atomic_output, write_json

    _check_writable(args.out)
    model = _model(args, alpha=args.alpha)
    energies = np.asarray(args.energies, dtype=float)
    # the interstellar energies T + phi Z/A must lie between the first and last cell centres of the grid
    centres = model.energies()[0]
    largest_shift = args.phi * max(item.charge / item.mass_number for item in model.network.species)
    low, high = centres[0], centres[-1] - largest_shift
    if energies.max() > high or energies.min() < low:
        raise ParameterError("energies", f"must lie in [{low:.4g}, {high:.4g}] GeV/n for phi = {args.phi:g} GV")
    solution = solve(model)
    table = {name: ratio(solution, name, energies, phi=args.phi) for name in args.ratios}
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_output(args.out / "ratios.csv") as path:
        lines = ["# cr-anisotropy galaxy predict; parameters in params.json", "energy_gev_per_nucleon,"
                 + ",".join(args.ratios)]
        lines += [f"{energy:.6g}," + ",".join(f"{table[name][i]:.8g}" for name in args.ratios)
                  for i, energy in enumerate(energies)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parameters = {"alpha": args.alpha, "phi": args.phi, "model": model.to_dict(),
                  "cross_sections_file": None if args.cross_sections is None else str(args.cross_sections),
                  **_provenance()}
    write_json(args.out / "params.json", parameters)
    written = [args.out / "ratios.csv", args.out / "params.json"]
    if not args.no_plot:
        panels = [(name, "kinetic_energy_per_nucleon", energies, values) for name, values in table.items()]
        written.append(_plot_ratios(args.out / "ratios.png", panels, f"alpha = {args.alpha:g}, "
                                    f"phi = {args.phi:g} GV, H = {args.H:g} kpc"))
    low = int(np.argmin(energies))
    print(f"two-zone model: alpha = {args.alpha:g}, H = {args.H:g} kpc, kappa0 = {args.kappa0:g} kpc^2/Myr, "
          f"delta = {args.delta:g}, phi = {args.phi:g} GV")
    print("  ".join(f"{name} = {table[name][low]:.4g}" for name in args.ratios) + f" at {energies[low]:g} GeV/n")
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


_AXIS_LABELS = {"kinetic_energy_per_nucleon": "kinetic energy per nucleon [GeV/n]", "rigidity": "rigidity [GV]"}


def _plot_ratios(path, panels, title, data=None):
    """One panel per ``(ratio, axis, x, model values)``, with the points of ``data`` of that ratio and axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from anisotropy.io import atomic_output

    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for axis, (name, variable, energies, values) in zip(axes[0], panels):
        axis.plot(energies, values, color="C0")
        for item in data or []:
            if item.ratio == name and item.axis == variable:
                axis.errorbar(item.energy, item.value, item.error, fmt="o", ms=3, color="k", label=item.source)
        axis.set_xscale("log")
        axis.set_xlabel(_AXIS_LABELS[variable])
        axis.set_ylabel(name)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)
    return path


def run_fit(args) -> int:
    from anisotropy.galaxy.fit import Likelihood, chi2_by_dataset, fit, load_ratio_data, sample, select_energies
    from anisotropy.io import write_json

    _check_writable(args.out)
    data = [item for path in args.data for item in load_ratio_data(path)]
    if args.energy_range is not None:
        data = select_energies(data, *args.energy_range)
    base = _model(args)
    stage1, stage2 = fit(data, H=args.H, free_H=args.free_H, base=base, phi_prior=args.phi_prior)
    final = stage2 or stage1
    result = {"data": [str(path) for path in args.data], "sources": sorted({item.source for item in data}),
              "energy_range": args.energy_range, "points": int(sum(item.value.size for item in data)),
              "stage1_secondary_over_primary": stage1.to_dict(),
              "stage2_all": stage2.to_dict() if stage2 else None, "H": args.H, "free_H": args.free_H,
              "chi2_by_dataset_at_best": chi2_by_dataset(base, {"log10_alpha": 0.0, "H": args.H}
                                                         | dict(zip(final.names, final.best)), data),
              "phi_prior": args.phi_prior, "model": base.to_dict(),
              "cross_sections_file": None if args.cross_sections is None else str(args.cross_sections),
              **_provenance()}
    args.out.mkdir(parents=True, exist_ok=True)
    written = []
    if args.mcmc_steps:
        likelihood = Likelihood(data, base=base, free=final.names, fixed={"H": args.H, "log10_alpha": 0.0},
                                phi_prior=args.phi_prior)
        chain = sample(likelihood, final.best, steps=args.mcmc_steps, walkers=args.walkers, seed=args.seed)
        burned = chain[chain.shape[0] // 3:].reshape(-1, chain.shape[2])
        result["mcmc"] = {"steps": args.mcmc_steps, "walkers": args.walkers, "seed": args.seed,
                          "median": dict(zip(final.names, np.median(burned, axis=0).tolist())),
                          "interval_68": {name: np.percentile(burned[:, i], [16, 84]).tolist()
                                          for i, name in enumerate(final.names)}}
        from anisotropy.io import atomic_output

        with atomic_output(args.out / "chain.npy") as path:
            np.save(path, chain)
        written.append(args.out / "chain.npy")
        if not args.no_plot:
            written.append(_plot_posterior(args.out / "posterior.png", burned, final.names))
    write_json(args.out / "fit.json", result)
    written.insert(0, args.out / "fit.json")
    best = dict(zip(final.names, final.best))
    if not args.no_plot:
        parameters = {"log10_kappa0": -1.5, "delta": 0.5, "log10_alpha": 0.0, "H": args.H, "phi": 0.5} | best
        written.append(_plot_fit(args.out / "fit.png", base, parameters, data))
    synthetic = any("synthetic" in item.source.lower() for item in data)
    preliminary = any("preliminary" in item.source.lower() for item in data)
    print(("SYNTHETIC data. " if synthetic else "") + ("PRELIMINARY data included. " if preliminary else "")
          + f"fit of {sum(item.value.size for item in data)} points, "
          f"chi2/dof = {final.chi2:.2f}/{final.dof}")
    print("  ".join(f"{name} = {value:.4g} +- {error:.2g}" for name, value, error in
                    zip(final.names, final.best, final.errors)))
    if "log10_alpha" in best:
        print(f"kappa_disk/kappa_halo = {10 ** best['log10_alpha']:.3g}")
    print("wrote " + ", ".join(str(path) for path in written))
    return 0


def _plot_fit(path, base, parameters, data):
    """The model at ``parameters`` over the span of each (ratio, axis) of ``data``, with the points."""
    from anisotropy.galaxy.fit import RatioData, predict

    keys = list(dict.fromkeys((item.ratio, item.axis) for item in data))
    grids = []
    for name, variable in keys:
        matching = [item for item in data if (item.ratio, item.axis) == (name, variable)]
        low, high = min(item.energy.min() for item in matching), max(item.energy.max() for item in matching)
        grids.append(RatioData(name, np.geomspace(low, high, 40), None, None, axis=variable))
    curves = predict(base, parameters, grids)
    panels = [(grid.ratio, grid.axis, grid.energy, curve) for grid, curve in zip(grids, curves)]
    return _plot_ratios(path, panels, "best fit", data)


def _plot_posterior(path, samples, names):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from anisotropy.io import atomic_output

    figure, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.0))
    for axis, values, name in zip(np.atleast_1d(axes), samples.T, names):
        axis.hist(values, bins=40, color="C0", histtype="stepfilled", alpha=0.7)
        axis.set_xlabel(name)
    figure.tight_layout()
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    plt.close(figure)
    return path

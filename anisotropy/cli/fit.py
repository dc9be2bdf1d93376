"""``cr-anisotropy fit SPECTRUM.csv --experiment NAME``: fit a pseudo-angular power spectrum for turbulence parameters.

The spectrum (schema: ``anisotropy/data/README.md``; a bundled file name such as
``synthetic_hawc_icecube_10TeV_slab.csv`` also works) is compared with a theory passed through the experiment's
estimator (:mod:`anisotropy.observatory`).  Prints the best fit, 68 % profile-likelihood intervals and χ²/dof, and
writes ``fit.json``, ``fit.png`` and ``profiles.png`` into ``--out``.  Slow models are tabulated on a grid once
(cached in ``--cache``) and interpolated.  Bad values exit with status 2 and one line naming the option.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from anisotropy import fit as fitting
from anisotropy._version import __version__
from anisotropy.cli import integer, number
from anisotropy.errors import ParameterError
from anisotropy.io import jsonable, output_lock, prepare_output_directory, write_json

DEFAULT_OUT = "./cr-anisotropy-fit/"  # its own directory: predict writes ./cr-anisotropy-out/
MODELS = ("turbulence", "toy", "powerlaw")
#: highest multipole of the forward model at its largest nside (3 nside - 1 with nside = 8192)
MAX_MULTIPOLE = 3 * 8192 - 1
#: cell centres at which the interpolated model is compared with the exact one (each costs one exact evaluation)
INTERPOLATION_CHECKS = 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the spectrum, experiment, model, normalisation and output options."""
    parser.add_argument("spectrum", help="spectrum CSV (anisotropy/data/README.md schema) or a bundled spectrum name")
    parser.add_argument("--experiment", default=None,
                        help="experiment preset (icecube-12yr, icecube-6yr, hawc, hawc+icecube, hawc+icecube-full); "
                        "default: the spectrum's experiment column")
    parser.add_argument("--nside", type=integer("nside", 1, 8192), default=None,
                        help="override the preset's HEALPix nside (power of 2; lower is faster)")
    theory = parser.add_argument_group("theory")
    theory.add_argument("--model", choices=MODELS, default="turbulence",
                        help="turbulence: predict_cl with free r_g/L_c (and eta for slab); toy: docs/physics/toy_model.md#toy-model "  # noqa: E501
                        "with free kappa_c; powerlaw: C_l/C_1 = l^-slope (default %(default)s)")
    theory.add_argument("--energy", type=number("energy", 0.0, None, low_open=True, unit="TeV"), default=None,
                        help="energy in TeV for the turbulence model, > 0 (default: the spectrum's energy_tev)")
    theory.add_argument("--b-rms", type=number("b_rms", 0.0, None, low_open=True, unit="uG"), default=None,
                        help="total field in microgauss for the turbulence model, > 0 (default: that of "
                        "cr-anisotropy predict)")
    theory.add_argument("--turbulence", choices=("slab", "isotropic"), default="slab",
                        help="pair-rate model of the turbulence model (default %(default)s)")
    theory.add_argument("--free-prefactor", action="store_true",
                        help="also fit the pair-time prefactor a (turbulence model)")
    theory.add_argument("--grid-points", type=integer("grid_points", 2, 64), default=7,
                        help="grid nodes per parameter for the interpolated slow models, 2..64 (default %(default)d)")
    theory.add_argument("--cache", type=Path, default=None,
                        help="directory for model grids (default: OUT/cache)")
    likelihood = parser.add_argument_group("likelihood")
    likelihood.add_argument("--normalisation", choices=("free", "dipole"), default="free",
                            help="free all-sky C_1, or fixed to the measured dipole (default %(default)s)")
    likelihood.add_argument("--c1", type=number("c1", 0.0, None, low_open=True), default=None,
                            help="all-sky C_1 for --normalisation dipole, > 0 (default: anchor C1_fullsky_with_deltaN)")
    likelihood.add_argument("--lmin", type=integer("lmin", 1, MAX_MULTIPOLE), default=None,
                            help=f"lowest multipole fitted, 1..{MAX_MULTIPOLE} (default: l_cut + 1)")
    likelihood.add_argument("--lmax", type=integer("lmax", 1, MAX_MULTIPOLE), default=None,
                            help=f"highest multipole fitted, 1..{MAX_MULTIPOLE} (default: the spectrum's)")
    likelihood.add_argument("--covariance", choices=("fixed", "model"), default="fixed",
                            help="covariance at the best fit (iterated) or varying with the parameters "
                            "(default %(default)s)")
    likelihood.add_argument("--add-data-errors", action="store_true",
                            help="add the spectrum's cl_err (and cl_err_sys) in quadrature to the model covariance")
    likelihood.add_argument("--mcmc-steps", type=integer("mcmc_steps", 0, 10**6), default=0,
                            help="also run emcee for this many steps, 0..1000000 (default 0: off)")
    likelihood.add_argument("--seed", type=integer("seed", 0, None), default=0,
                            help="seed of the MCMC, >= 0 (default %(default)d)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                        help="output directory for fit.json, fit.png, profiles.png (default %(default)s)")
    output.add_argument("--no-plot", action="store_true", help="do not write the PNG plots")
    output.add_argument("--quiet", action="store_true", help="no progress bar while the model grid is built")


def _experiment(args, spectrum):
    from anisotropy.observatory import PRESETS, get_experiment

    name = args.experiment if args.experiment is not None else spectrum.experiment
    if args.experiment is None and name.strip().lower() not in PRESETS:
        raise ParameterError("experiment", f"the spectrum names {name!r}, not a preset; pass --experiment, one of "
                             f"{sorted(PRESETS)}")
    experiment = get_experiment(name)
    if args.nside is not None:
        experiment = experiment.with_(nside=args.nside, lmax=min(experiment.lmax, 3 * args.nside - 1))
    return experiment


def _model(args, spectrum, lmax: int, cache_dir: Path):
    if args.model == "powerlaw":
        return fitting.PowerLawModel(lmax=lmax), None
    if args.model == "toy":
        exact = fitting.ToyModel(lmax=lmax)
        key = f"toy_lmax{lmax}"
    else:
        energy = args.energy if args.energy is not None else spectrum.energy_tev
        free = ("reduced_rigidity",) + (("eta",) if args.turbulence == "slab" else ())
        free += ("pair_time_prefactor",) if args.free_prefactor else ()
        exact = fitting.TurbulenceModel(lmax=lmax, energy=energy, b_rms=args.b_rms, model=args.turbulence,
                                        free=free)
        key = f"turbulence_{args.turbulence}_E{exact.energy:g}_B{exact.b_rms:g}_{'-'.join(free)}_lmax{lmax}"
    cache = cache_dir / f"{key}_n{args.grid_points}.npz"
    model = fitting.InterpolatedModel(exact, points=args.grid_points, cache=cache, progress=not args.quiet)
    return model, model.interpolation_error(max_points=INTERPOLATION_CHECKS)


def run(args: argparse.Namespace) -> int:
    """Load, fit, print and write; return the exit status."""
    from anisotropy.data import load_spectrum

    spectrum = load_spectrum(args.spectrum)
    experiment = _experiment(args, spectrum)
    if args.lmax is not None and args.lmin is not None and args.lmax < args.lmin:
        raise ParameterError("lmax", f"must be >= lmin ({args.lmin}), got {args.lmax}")
    out = prepare_output_directory(args.out, "out", create=False)
    if args.cache is not None:
        prepare_output_directory(args.cache, "cache", create=False)
    with output_lock(out):  # a second fit into the same directory stops here with one line
        return _fit_and_write(args, spectrum, experiment, out)


def _fit_and_write(args, spectrum, experiment, out: Path) -> int:
    from anisotropy.observatory import ForwardModel

    cache_dir = args.cache if args.cache is not None else out / "cache"
    forward_lmax = 3 * experiment.nside - 1
    model, interpolation_error = _model(args, spectrum, forward_lmax, Path(cache_dir))
    data_lmax = int(spectrum.ell.max()) if args.lmax is None else args.lmax
    if experiment.lmax < min(data_lmax, forward_lmax):
        experiment = experiment.with_(lmax=min(data_lmax, forward_lmax))
    likelihood = fitting.likelihood_from_spectrum(
        spectrum, model, experiment, normalisation=args.normalisation, c1=args.c1, lmin=args.lmin, lmax=args.lmax,
        covariance=args.covariance, add_data_errors=args.add_data_errors, forward=ForwardModel(experiment))
    result = fitting.fit(likelihood)
    # the combination of the turbulence parameters the data constrain, with its profile interval
    result.constrained = fitting.constrained_combination(likelihood, result.best)
    if args.mcmc_steps:
        samples = fitting.sample_posterior(likelihood, result, n_steps=args.mcmc_steps, seed=args.seed)
        result.derived = {**result.derived, **{f"mcmc_median_{name}": float(value) for name, value in
                                               zip(likelihood.names, _median(samples))}}
    label = ("SYNTHETIC " if spectrum.synthetic else "") + Path(spectrum.path or args.spectrum).name
    print(f"spectrum {label}: {len(likelihood.ell)} multipoles, l = {likelihood.ell.min()}..{likelihood.ell.max()}")
    if interpolation_error is not None:
        print(f"model grid: {args.grid_points} points per parameter, max relative interpolation error "
              f"{interpolation_error:.2g} at {INTERPOLATION_CHECKS} cell centres")
    print(result.summary())
    record = {**jsonable(result.to_dict()), "package_version": __version__,
              "input": _input_record(args.spectrum, spectrum), "command": "cr-anisotropy " + " ".join(sys.argv[1:])}
    paths = [write_json(out / "fit.json", record, nonfinite_as_null=True)]
    if not args.no_plot:
        paths.append(fitting.plot_fit(result, out / "fit.png", spectrum_label=label) and out / "fit.png")
        paths.append(fitting.plot_profiles(result, out / "profiles.png") and out / "profiles.png")
    print("wrote " + ", ".join(str(path) for path in paths))
    return 0


def _input_record(argument, spectrum) -> dict:
    """The spectrum the fit read: its path as given and resolved, and the SHA-256 of its bytes."""
    import hashlib

    from anisotropy.data import _resolve

    resolved = _resolve(argument)
    return {"spectrum": str(argument), "path": str(resolved.resolve()),
            "sha256": hashlib.sha256(resolved.read_bytes()).hexdigest(), "synthetic": bool(spectrum.synthetic)}


def _median(samples):
    import numpy as np

    return np.median(samples, axis=0)

"""``cr-anisotropy predict``: steady-state <C_l> for physical parameters, written as cl.csv, cl.png, params.json.

With no options it runs the embedded default (a 10 TeV proton in the local ISM, see
:func:`anisotropy.predict.predict_cl`); every physical parameter has an option.  Bad values exit with status 2 and
one line naming the option and its allowed range (the dispatcher in :mod:`anisotropy.cli` handles both the
argparse types below and :class:`~anisotropy.errors.ParameterError` raised while running).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from anisotropy import predict
from anisotropy.cli import integer, number, os_error_line
from anisotropy.errors import ParameterError
from anisotropy.io import output_lock, prepare_output_directory

#: multipoles quoted in the printed summary (those above lmax are skipped)
SUMMARY_MULTIPOLES = (1, 2, 3, 5, 10, 20, 50, 100)
DEFAULT_OUT = "./cr-anisotropy-out/"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare one option per parameter of :func:`anisotropy.predict.predict_cl`, with its allowed range."""
    physics = parser.add_argument_group("particle and turbulence")
    physics.add_argument("--energy", type=number("energy", 0.0, None, low_open=True, unit="TeV"),
                         default=predict.DEFAULT_ENERGY,
                         help="kinetic energy of the nucleus in TeV (or a quantity: '1e4 GeV'), > 0 "
                         "(default %(default)g)")
    physics.add_argument("--charge", type=integer("charge", 1, predict.MAX_CHARGE), default=1,
                         help=f"charge number |Z|, 1..{predict.MAX_CHARGE} (default %(default)d)")
    physics.add_argument("--mass-number", type=integer("mass_number", 1, 300), default=1,
                         help="mass number A, Z..300 (default %(default)d)")
    physics.add_argument("--b-rms", type=number("b_rms", 0.0, None, low_open=True, unit="uG"),
                         default=predict.DEFAULT_B_RMS,
                         help="total field sqrt(B0^2 + dB^2) in microgauss, > 0 (default %(default)g)")
    physics.add_argument("--l-c", type=number("l_c", 0.0, None, low_open=True, unit="pc"),
                         default=predict.DEFAULT_L_C,
                         help="correlation length L_c ~ L_max/5 in pc, > 0 (default %(default)g)")
    physics.add_argument("--eta", type=number("eta", 0.0, 1.0, low_open=True), default=predict.DEFAULT_ETA,
                         help="turbulence level dB^2/(B0^2 + dB^2) in (0, 1], < 1 for slab (default %(default)g)")
    physics.add_argument("--lmin-over-lmax", type=number("lmin_over_lmax", 0.0, 1.0, low_open=True, high_open=True),
                         default=None, help="L_min/L_max in (0, 1) (default: chosen so that k_max r_g = 200)")
    physics.add_argument("--model", choices=predict.MODELS, default="slab",
                         help="pair-rate model (default %(default)s)")
    physics.add_argument("--modes-per-decade", type=integer("modes_per_decade", 1, None),
                         default=predict.MODES_PER_DECADE,
                         help="turbulence modes per decade of wavenumber, >= 1 (default %(default)d)")
    normalisation = parser.add_argument_group("normalisation (C_l scale as dipole^2 or gradient^2)")
    exclusive = normalisation.add_mutually_exclusive_group()
    exclusive.add_argument("--dipole", type=number("dipole", 0.0, 1.0, low_open=True), default=None,
                           help=f"diffusive dipole amplitude 3|K.G|/v in (0, 1] (default {predict.DEFAULT_DIPOLE:g})")
    exclusive.add_argument("--gradient", type=number("gradient", 0.0, None, low_open=True, unit="1/pc"), default=None,
                           help="density gradient |grad n|/n in 1/pc, > 0 (instead of --dipole)")
    normalisation.add_argument("--gradient-angle", type=number("gradient_angle", 0.0, 180.0), default=0.0,
                               help="angle between gradient and B0 in degrees, [0, 180] (default %(default)g)")
    solver = parser.add_argument_group("solver and output")
    solver.add_argument("--pair-time-prefactor", type=number("pair_time_prefactor", 0.0, None, low_open=True),
                        default=None, help="a in Omega dT = a (Omega tau_s)^(1/3), > 0 (default: package default)")
    solver.add_argument("--lmax", type=integer("lmax", 2, predict.MAX_LMAX), default=predict.DEFAULT_LMAX,
                        help=f"highest multipole, 2..{predict.MAX_LMAX} (default %(default)d)")
    solver.add_argument("--closure", choices=predict.CLOSURES, default=predict.DEFAULT_CLOSURE,
                        help="closure of the pair dynamics (default %(default)s; age-dependent: the pair correlation "
                             "of docs/physics/pair_correlation.md)")
    solver.add_argument("--solver", choices=predict.SOLVERS, default=predict.DEFAULT_SOLVER,
                        help="untruncated: the lmax -> infinity steady state (default); truncated: dense solve at lmax")
    solver.add_argument("--converge", action="store_true",
                        help=f"with --solver truncated: double lmax (up to {predict.CONVERGE_LMAX_LIMIT}) until "
                             "C_1..C_10 change by <= 1%%")
    solver.add_argument("--out", type=Path, default=Path(DEFAULT_OUT),
                        help="output directory for cl.csv, cl.png, params.json (default %(default)s)")
    solver.add_argument("--no-plot", action="store_true", help="do not write cl.png")


def run(args: argparse.Namespace) -> int:
    """Predict, write the files into ``args.out`` and print a short summary; return the exit status."""
    _check_writable(args.out)
    with _solver_progress(enabled=args.converge):  # the lmax doublings take seconds each: say which one runs
        result = _predict(args)
    try:
        with output_lock(args.out):
            paths = result.save(args.out, plot=not args.no_plot)
    except OSError as error:
        raise ParameterError("out", f"cannot write into {str(args.out)!r}: {os_error_line(error)}") from None
    print(summary(result, paths))
    return 0


@contextlib.contextmanager
def _solver_progress(enabled: bool):
    """Show :mod:`anisotropy.solver`'s INFO records (one per ℓmax) on standard error while the block runs."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("anisotropy.solver")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("predict: %(message)s"))
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _predict(args: argparse.Namespace):
    return predict.predict_cl(
        args.energy,
        charge=args.charge,
        mass_number=args.mass_number,
        b_rms=args.b_rms,
        l_c=args.l_c,
        eta=args.eta,
        lmin_over_lmax=args.lmin_over_lmax,
        model=args.model,
        dipole=args.dipole,
        gradient=args.gradient,
        gradient_angle=args.gradient_angle,
        pair_time_prefactor=args.pair_time_prefactor,
        lmax=args.lmax,
        converge=args.converge,
        modes_per_decade=args.modes_per_decade,
        closure=args.closure,
        solver=args.solver,
    )


def _check_writable(out: Path) -> None:
    """Fail before the computation if ``out`` cannot become a writable directory (nothing is created here)."""
    prepare_output_directory(out, "out", create=False)


def summary(result: predict.ClResult, paths: dict) -> str:
    """A few lines: the parameters, selected C_l, and where the files went."""
    derived = result.params["derived"]
    lines = [result.title().replace("\n", "; ")]
    lines.append(f"C_1 = {result.cl[1]:.4g}  (no-mixing dipole value (4 pi/9) delta^2 = {derived['dipole_cl']:.4g})")
    quoted = [ell for ell in SUMMARY_MULTIPOLES[1:] if ell <= result.lmax]
    lines.append("  ".join(f"C_{ell} = {result.cl[ell]:.3g}" for ell in quoted))
    flags = derived.get("domain", {})
    if flags and not flags.get("validated", True):
        lines.append("outside the validated domain of the theory: " + "; ".join(flags["outside"]))
    if flags.get("c1_below_liouville_bound"):
        lines.append(f"C_1 is {flags['c1_over_dipole_cl']:.3g} x (4 pi/9) delta^2, below the exact lower bound 1")
    lines.append("wrote " + ", ".join(str(path) for path in paths.values()))
    return "\n".join(lines)

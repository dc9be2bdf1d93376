"""``cr-anisotropy validate [--quick]``: theory vs simulation report written to ``validation-report/``.

Runs :func:`validation.report.build_report`: the toy exact test (PHYSICS 8), the slab/isotropic C_ℓ comparison and
ΔT calibration (:mod:`validation.calibration`), convergence in T and N_side, and the transport checks
(:mod:`validation.transport_checks`), and writes ``report.md``, ``numbers.json`` and PNG figures into ``--out``
(replaced atomically at the end).  ``--quick`` runs in minutes on 2 cores; the full report (sizes in
``docs/validation/README.md``) takes much longer and is best run with ``--executor process --workers N``.

Units and seeds: everything in the reduced units of ``DESIGN.md``; ``--seed`` is the root seed, from which each
component's seed is derived (:func:`validation.report.component_seed`) and recorded in the report header.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from anisotropy.cli import integer, number
from validation.report import DEFAULT_SEED, build_report
from validation.simulator.ensemble import EXECUTORS, make_executor

__all__ = ["DEFAULT_OUT", "add_arguments", "run"]

DEFAULT_OUT = "./validation-report"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cr-anisotropy validate``."""
    parser.add_argument("--quick", action="store_true",
                        help="small ensembles: minutes on 2 cores (the version run by the test suite)")
    parser.add_argument("--out", default=DEFAULT_OUT, help="output directory (default %(default)s; replaced)")
    parser.add_argument("--seed", type=integer("seed", 0, 2**63 - 1), default=DEFAULT_SEED,
                        help="root seed of every ensemble (default %(default)s)")
    parser.add_argument("--executor", choices=EXECUTORS, default="serial",
                        help="where simulator realisations run (default %(default)s)")
    parser.add_argument("--workers", type=integer("workers", 1, 4096), default=None,
                        help="worker processes for --executor process/dask (default: all CPUs)")
    parser.add_argument("--checkpoint-dir", default=None,
                        help="keep the calibration ensembles' checkpoints here, so an interrupted run resumes")
    _add_case_arguments(parser)


def _add_case_arguments(parser: argparse.ArgumentParser) -> None:
    """``--case`` and its options (validation.case): one case against the default theory instead of the report."""
    from validation import case

    group = parser.add_argument_group("one case (--case) instead of the report")
    group.add_argument("--case", type=_case_type, default=None, metavar="KIND:eta=E:rigidity=R",
                       help="simulate this case (KIND slab or isotropic, eta in (0, 1), rigidity = r_g/L_c) and "
                            "compare it with the default theory; writes OUT/case.json and OUT/case.png")
    group.add_argument("--realisations", type=integer("realisations", case.MIN_REALISATIONS, 100000), default=None,
                       help=f"with --case: turbulence realisations (default {case.REALISATIONS})")
    group.add_argument("--nside", type=integer("nside", 4, 256), default=None,
                       help=f"with --case: HEALPix N_side, a power of two (default {case.NSIDE})")
    group.add_argument("--time-factor", type=number("time_factor", 0.0, 100.0, low_open=True), default=None,
                       help=f"with --case: last backtracking time in slab-QLT scattering times (default "
                            f"{case.TIME_FACTOR:g}, {case.WEAK_TIME_FACTOR:g} for eta < {case.WEAK_ETA:g})")


def _case_type(text):
    from anisotropy.errors import ParameterError
    from validation.case import parse_case

    try:
        return parse_case(text)
    except ParameterError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    """Build the report (or, with ``--case``, run one case); prints its path and wall time.  Returns 0."""
    if getattr(args, "case", None) is not None:
        return _run_case(args)
    _refuse_case_options(args)
    command = "cr-anisotropy validate " + " ".join(shlex.quote(item) for item in _command_arguments(args))
    executor = make_executor(args.executor, args.workers)
    workers = args.workers or 1
    try:
        payload = build_report(args.out, quick=args.quick, seed=args.seed, executor=executor, command=command,
                               executor_name=args.executor, workers=workers, checkpoint_dir=args.checkpoint_dir)
    finally:
        executor.shutdown()
    header = payload["header"]
    print(f"validation report written to {args.out}/report.md ({header['wall_seconds']:.0f} s)", file=sys.stdout)
    return 0


def _refuse_case_options(args) -> None:
    from anisotropy.errors import ParameterError

    for name in ("realisations", "nside", "time_factor"):
        if getattr(args, name, None) is not None:
            raise ParameterError(name, "applies only with --case")


def _run_case(args: argparse.Namespace) -> int:
    """``--case``: simulate, compare with the default theory, write OUT/case.json and OUT/case.png."""
    from validation import case

    if args.quick:
        from anisotropy.errors import ParameterError

        raise ParameterError("quick", "applies to the report, not to --case (size a case with --realisations, "
                                      "--nside, --time-factor)")
    out = args.out if args.out != DEFAULT_OUT else "./validation-case"
    seed = args.seed if args.seed != DEFAULT_SEED else case.DEFAULT_SEED
    options = {"realisations": args.realisations or case.REALISATIONS, "nside": args.nside or case.NSIDE,
               "time_factor": args.time_factor}
    spec = args.case
    command = (f"cr-anisotropy validate --case {spec.kind}:eta={spec.eta:g}:rigidity={spec.reduced_rigidity:g} "
               f"--realisations {options['realisations']} --nside {options['nside']} --seed {seed}"
               + ("" if args.time_factor is None else f" --time-factor {args.time_factor:g}")
               + f" --out {shlex.quote(str(out))}")
    executor = make_executor(args.executor, args.workers)
    try:
        result = case.run_case(spec, out, seed=seed, executor=executor, command=command, **options)
    finally:
        executor.shutdown()
    chi2 = "n/a" if result["chi2"] is None else f"{result['chi2']:.3g} for {result['dof']} dof"
    if result.get("finite_time"):
        chi2 += f" (same closure at the simulated T on its spectrum: {result['finite_time']['chi2']:.3g})"
    print(f"{spec.name}: chi2 = {chi2} (C_l/C_1, l = {result['compared_ells']}); C_1/((4 pi/9) delta^2) = "
          f"{result['c1_ratio_sim']:.3g} +- {result['c1_ratio_sim_error']:.2g} simulated, "
          f"{result['c1_ratio_theory']:.3g} theory; wrote {out}/case.json ({result['wall_seconds']:.0f} s)")
    return 0


def _command_arguments(args) -> list[str]:
    items = []
    if args.quick:
        items.append("--quick")
    items += ["--seed", str(args.seed), "--executor", args.executor]
    if args.workers:
        items += ["--workers", str(args.workers)]
    items += ["--out", str(args.out)]
    return items

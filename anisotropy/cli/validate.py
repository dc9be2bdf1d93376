"""``cr-anisotropy validate [--quick]``: theory vs simulation report written to ``validation-report/``.

Runs :func:`validation.report.build_report`: the toy exact test (docs/physics/toy_model.md#toy-model), the
slab/isotropic C_ℓ comparison and ΔT calibration (:mod:`validation.calibration`), convergence in T and N_side, and
the transport checks (:mod:`validation.transport_checks`), and writes ``report.md``, ``numbers.json`` and PNG
figures into ``--out`` (replaced atomically at the end). ``--quick`` runs in minutes on 2 cores; the full report
(sizes in ``docs/validation/README.md``) takes much longer and is best run with ``--executor process --workers N``.

``--campaign`` runs the simulator campaign instead (:func:`validation.campaign.run_campaign`): every case of
``--grid`` (``full``, ``reduced``; ``--quick`` = the tiny test grid), map C_ℓ and pair statistics per realisation,
checkpointed per case and realisation under ``--checkpoint-dir`` (default ``OUT/checkpoints``) so that rerunning the
same command after a kill resumes with identical results; writes ``campaign.json``, ``cases.csv``, ``cost.csv``,
``README.md`` and figures into ``--out`` (default ``docs/validation/campaign``).

``--device gpu`` (or ``auto`` with a usable GPU) pushes the simulator's particles on the GPU, realisations one
after another (:class:`validation.simulator.gpu.driver.DeviceExecutor`), for the report, ``--campaign`` (maps and
pair statistics; ``campaign.json`` records the device) and ``--case``.

Units and seeds: everything in the reduced units of docs/physics/conventions.md#units; ``--seed`` is the root seed,
from which each component's seed is derived (:func:`validation.report.component_seed`) and recorded in the report
header.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from anisotropy.cli import integer, number
from anisotropy.errors import ParameterError
from anisotropy.io import output_lock, prepare_output_directory, replaced_directory_lock
from validation.campaign import DEFAULT_SEED as CAMPAIGN_SEED
from validation.report import DEFAULT_SEED, build_report
from validation.simulator.ensemble import EXECUTORS, make_executor
from validation.simulator.gpu import DEVICES, resolve_device

__all__ = ["DEFAULT_OUT", "add_arguments", "run"]

DEFAULT_OUT = "./validation-report"
DEFAULT_CAMPAIGN_OUT = "docs/validation/campaign"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cr-anisotropy validate``."""
    parser.add_argument("--quick", action="store_true",
                        help="small ensembles: minutes on 2 cores (the version run by the test suite)")
    parser.add_argument("--out", default=None,
                        help=f"output directory (default {DEFAULT_OUT}, replaced; with --campaign "
                             f"{DEFAULT_CAMPAIGN_OUT})")
    parser.add_argument("--seed", type=integer("seed", 0, 2**63 - 1), default=None,
                        help=f"root seed of every ensemble (default {DEFAULT_SEED}; campaign {CAMPAIGN_SEED})")
    campaign = parser.add_argument_group("campaign (issue 11)")
    campaign.add_argument("--campaign", action="store_true",
                          help="run the simulator campaign (map C_l + pair statistics per case), resumable")
    campaign.add_argument("--grid", choices=("full", "reduced", "nside32"), default=None,
                          help="campaign grid (default reduced; nside32: the full-grid cases without a resolved "
                               "multipole at N_side 16, at N_side 32; --quick selects the tiny test grid)")
    campaign.add_argument("--cases", default=None, metavar="NAME,...",
                          help="only these campaign cases (names as in campaign.json, e.g. slab_eta0.5_rho0.1)")
    campaign.add_argument("--no-theory", action="store_true", help="campaign without the theory chi2")
    parser.add_argument("--executor", choices=EXECUTORS, default="serial",
                        help="where simulator realisations run (default %(default)s)")
    parser.add_argument("--workers", type=integer("workers", 1, 4096), default=None,
                        help="worker processes for --executor process/dask (default: all CPUs)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where particles are pushed: cpu, gpu (serial on one device) or auto = gpu when "
                             "one is usable (default %(default)s)")
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
    """Build the report (or run the campaign with ``--campaign``, or one case with ``--case``); prints its path
    and wall time.  Returns the exit status (0)."""
    if getattr(args, "case", None) is not None:
        if args.campaign:
            raise ParameterError("case", "give either --case or --campaign, not both")
        return _run_case(args)
    _refuse_case_options(args)
    if args.campaign:
        return _run_campaign(args)
    for name in ("grid", "cases"):
        if getattr(args, name) is not None:
            raise ParameterError(name, "only with --campaign")
    if args.no_theory:
        raise ParameterError("no_theory", "only with --campaign")
    args.out = args.out or DEFAULT_OUT
    prepare_output_directory(args.out, "out", create=False)  # a file, read-only parent or over-long name: one line
    args.seed = DEFAULT_SEED if args.seed is None else args.seed
    command = "cr-anisotropy validate " + " ".join(shlex.quote(item) for item in _command_arguments(args))
    executor = _executor(args)
    workers = args.workers or 1
    try:
        with replaced_directory_lock(args.out):  # a second writer of the same report stops with one line
            payload = build_report(args.out, quick=args.quick, seed=args.seed, executor=executor, command=command,
                                   executor_name=args.executor, workers=workers, checkpoint_dir=args.checkpoint_dir,
                                   progress=True)
    finally:
        executor.shutdown()
    header = payload["header"]
    print(f"validation report written to {args.out}/report.md ({header['wall_seconds']:.0f} s)", file=sys.stdout)
    return 0


def _executor(args):
    """The executor for ``--device``: on a GPU the simulator realisations run there, one after another
    (:class:`validation.simulator.gpu.driver.DeviceExecutor`; ``args.executor`` becomes ``gpu-serial``)."""
    if resolve_device(args.device) == "gpu":
        from validation.simulator.gpu.driver import DeviceExecutor

        args.executor, args.workers = "gpu-serial", 1
        return DeviceExecutor()
    return make_executor(args.executor, args.workers)


def _run_campaign(args) -> int:
    from validation.campaign import run_campaign

    if args.quick and args.grid is not None:
        raise ParameterError("grid", "give either --quick (the test grid) or --grid, not both")
    grid = "quick" if args.quick else (args.grid or "reduced")
    cases = [name.strip() for name in args.cases.split(",") if name.strip()] if args.cases else None
    out = args.out or DEFAULT_CAMPAIGN_OUT
    prepare_output_directory(out, "out", create=False)
    executor = _executor(args)
    try:
        with output_lock(out):  # a second writer on the same directory stops with one line
            payload = run_campaign(out, grid, executor=executor,
                                   seed=CAMPAIGN_SEED if args.seed is None else args.seed,
                                   checkpoint_dir=args.checkpoint_dir, cases=cases, theory=not args.no_theory)
    finally:
        executor.shutdown()
    print(f"campaign ({grid}, {len(payload['cases'])} cases) written to {out}/campaign.json "
          f"({payload['wall_seconds']:.0f} s)", file=sys.stdout)
    return 0


def _refuse_case_options(args) -> None:
    for name in ("realisations", "nside", "time_factor"):
        if getattr(args, name, None) is not None:
            raise ParameterError(name, "applies only with --case")


def _run_case(args: argparse.Namespace) -> int:
    """``--case``: simulate, compare with the default theory, write OUT/case.json and OUT/case.png."""
    from validation import case

    if args.quick:
        raise ParameterError("quick", "applies to the report, not to --case (size a case with --realisations, "
                                      "--nside, --time-factor)")
    out = args.out or "./validation-case"
    prepare_output_directory(out, "out", create=False)
    seed = case.DEFAULT_SEED if args.seed is None else args.seed
    options = {"realisations": args.realisations or case.REALISATIONS, "nside": args.nside or case.NSIDE,
               "time_factor": args.time_factor}
    spec = args.case
    command = (f"cr-anisotropy validate --case {spec.kind}:eta={spec.eta:g}:rigidity={spec.reduced_rigidity:g} "
               f"--realisations {options['realisations']} --nside {options['nside']} --seed {seed}"
               + ("" if args.time_factor is None else f" --time-factor {args.time_factor:g}")
               + ("" if args.device == "auto" else f" --device {args.device}")
               + f" --out {shlex.quote(str(out))}")
    executor = _executor(args)
    try:
        with output_lock(out):
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
    if args.device != "auto":
        items += ["--device", args.device]
    if args.workers:
        items += ["--workers", str(args.workers)]
    items += ["--out", str(args.out)]
    return items

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

Units and seeds: everything in the reduced units of docs/physics/conventions.md#units; ``--seed`` is the root seed,
from which each component's seed is derived (:func:`validation.report.component_seed`) and recorded in the report
header.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from anisotropy.cli import integer
from anisotropy.errors import ParameterError
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
    campaign.add_argument("--grid", choices=("full", "reduced"), default=None,
                          help="campaign grid (default reduced; --quick selects the tiny test grid)")
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


def run(args: argparse.Namespace) -> int:
    """Build the report; prints its path and wall time.  Returns the exit status (0)."""
    if args.campaign:
        return _run_campaign(args)
    for name in ("grid", "cases"):
        if getattr(args, name) is not None:
            raise ParameterError(name, "only with --campaign")
    if args.no_theory:
        raise ParameterError("no_theory", "only with --campaign")
    args.out = args.out or DEFAULT_OUT
    args.seed = DEFAULT_SEED if args.seed is None else args.seed
    command = "cr-anisotropy validate " + " ".join(shlex.quote(item) for item in _command_arguments(args))
    device = resolve_device(args.device)
    if device == "gpu":  # simulator realisations on the GPU, one after another (validation.simulator.gpu.driver)
        from validation.simulator.gpu.driver import DeviceExecutor

        executor, args.executor, args.workers = DeviceExecutor(), "gpu-serial", 1
    else:
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


def _run_campaign(args) -> int:
    from validation.campaign import run_campaign

    if args.quick and args.grid is not None:
        raise ParameterError("grid", "give either --quick (the test grid) or --grid, not both")
    grid = "quick" if args.quick else (args.grid or "reduced")
    cases = [name.strip() for name in args.cases.split(",") if name.strip()] if args.cases else None
    out = args.out or DEFAULT_CAMPAIGN_OUT
    executor = make_executor(args.executor, args.workers)
    try:
        payload = run_campaign(out, grid, executor=executor, seed=CAMPAIGN_SEED if args.seed is None else args.seed,
                               checkpoint_dir=args.checkpoint_dir, cases=cases, theory=not args.no_theory)
    finally:
        executor.shutdown()
    print(f"campaign ({grid}, {len(payload['cases'])} cases) written to {out}/campaign.json "
          f"({payload['wall_seconds']:.0f} s)", file=sys.stdout)
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

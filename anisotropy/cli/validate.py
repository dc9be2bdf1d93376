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

from anisotropy.cli import integer
from anisotropy.io import prepare_output_directory
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


def run(args: argparse.Namespace) -> int:
    """Build the report; prints its path and wall time.  Returns the exit status (0)."""
    prepare_output_directory(args.out, "out", create=False)  # a file, read-only parent or over-long name: one line
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


def _command_arguments(args) -> list[str]:
    items = []
    if args.quick:
        items.append("--quick")
    items += ["--seed", str(args.seed), "--executor", args.executor]
    if args.workers:
        items += ["--workers", str(args.workers)]
    items += ["--out", str(args.out)]
    return items

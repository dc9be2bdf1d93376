"""``cr-anisotropy``: one command, five jobs (``predict``, ``simulate``, ``validate``, ``fit``, ``galaxy``).

Each sub-command lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``; this file
only dispatches.  Every input error -- a bad option value or a :class:`~anisotropy.errors.ParameterError` raised
while running -- ends with exit status 2 and a single line naming the parameter and its allowed range.  A fault of
the file system (disk full, read-only or missing directory, over-long name, a file where a directory is expected)
ends the same way, naming the file; warnings print as one line each.  The promises and the fault list are in
``docs/guide/faults.md``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import sys
import warnings

from anisotropy._version import __version__
from anisotropy.errors import ParameterError, require_integer, require_range

#: sub-command -> (module, one-line help). Modules that are not installed are left out of the parser.
SUBCOMMANDS = {
    "predict": ("anisotropy.cli.predict", "steady-state <C_l> for physical parameters (defaults embedded)"),
    "simulate": ("anisotropy.cli.simulate", "test-particle simulation: anisotropy maps or diffusion"),
    "validate": ("anisotropy.cli.validate", "theory vs simulation report (validation-report/)"),
    "fit": ("anisotropy.cli.fit", "fit a measured angular power spectrum"),
    "galaxy": ("anisotropy.cli.galaxy", "two-zone Galactic transport: B/C and 10Be/9Be with suppressed disk diffusion"),
}


class _OneLineParser(argparse.ArgumentParser):
    """argparse that reports errors as one line and exit status 2 (no usage block, no traceback)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def number(name: str, low=None, high=None, *, low_open=False, high_open=False, unit: str | None = None):
    """An argparse ``type`` that accepts a float in the given interval, with the range in the error message.

    With ``unit`` (astropy spelling, e.g. ``"TeV"``) the option also accepts a quantity such as ``"10 TeV"`` or
    ``"1e4 GeV"``, converted to ``unit`` (:func:`anisotropy.units.as_unit`); a bare number is in ``unit``.
    """

    def convert(text):
        try:
            if unit is not None:
                from anisotropy.units import as_unit

                text = as_unit(name, text, unit)
            return require_range(name, text, low, high, low_open=low_open, high_open=high_open)
        except ParameterError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name
    return convert


def integer(name: str, low=None, high=None):
    """An argparse ``type`` for an integer in ``[low, high]``."""

    def convert(text):
        try:
            return require_integer(name, text, low, high)
        except ParameterError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = name
    return convert


def build_parser(commands=None) -> argparse.ArgumentParser:
    """The ``cr-anisotropy`` parser; ``commands`` (names) limits which sub-command modules are imported.

    The others are still listed (``--help``) but not loaded: importing every job costs ~1-2 s of CPU (the ``fit``
    job alone pulls in scipy.stats), a fixed cost that a short ``simulate`` run would otherwise pay
    (``benchmarks/whole_run.py``).
    """
    parser = _OneLineParser(prog="cr-anisotropy", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"cr-anisotropy {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_OneLineParser)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        if commands is not None and name not in commands:
            subparsers.add_parser(name, help=help_text, description=help_text)
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue  # that part of the package is not built yet
            raise
        subparser = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(subparser)
        subparser.set_defaults(_run=module.run)
    return parser


def _first_line(text) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def os_error_line(error: OSError) -> str:
    """One line for a file-system fault: the file, then the system's reason (``No space left on device``, ...)."""
    reason = error.strerror or _first_line(error) or type(error).__name__
    if error.errno == errno.ENOSPC:
        reason += " (free space or choose another --out)"
    elif error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        reason += " (choose a writable --out)"
    names = [str(name) for name in (error.filename, error.filename2) if name]
    return f"{' -> '.join(names)}: {reason}" if names else reason


def _one_line_warnings(command: str):
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"cr-anisotropy {command}: warning: {_first_line(message)}", file=file or sys.stderr)

    return show


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else [str(item) for item in argv]
    # only the job named first is imported; anything else (--help, --version, a typo) builds the full parser
    parser = build_parser({argv[0]} if argv and argv[0] in SUBCOMMANDS else None)
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    saved_showwarning = warnings.showwarning
    warnings.showwarning = _one_line_warnings(args.command)
    try:
        return int(args._run(args) or 0)
    except ParameterError as error:
        print(f"cr-anisotropy {args.command}: error: {_first_line(error)}", file=sys.stderr)
        return 2
    except OSError as error:  # disk full, read-only or missing directory, name too long, file in the way, ...
        if isinstance(error, BrokenPipeError):
            sys.stderr.close()
            return 0
        print(f"cr-anisotropy {args.command}: error: {os_error_line(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cr-anisotropy {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = saved_showwarning


if __name__ == "__main__":
    sys.exit(main())

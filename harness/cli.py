"""`python -m harness <command>`: one subcommand per module in harness/commands/.

Each command module defines NAME, HELP, add_arguments(parser) and run(args) -> int.
A HarnessError becomes a one-paragraph message on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from harness import commands
from harness.errors import HarnessError


def command_modules(argv: Sequence[str]) -> list[str]:
    """The command modules to import: only the invoked one when argv names one (a job pays for its
    own command's imports, not for torch in a table-only command), else all of them (--help)."""
    names = sorted(info.name for info in pkgutil.iter_modules(commands.__path__))
    invoked = argv[0].replace("-", "_") if argv else ""
    return [invoked] if invoked in names else names


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in command_modules(argv):
        module = importlib.import_module(f"{commands.__name__}.{name}")
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

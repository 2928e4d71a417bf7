"""`python -m harness <command>`: one subcommand per command module in harness/commands/.

The commands are harness.commands.COMMANDS: the modules of harness/commands/ and any installed
package's command modules under the entry-point group bnnas_harness.commands.

Each command module defines NAME, HELP, add_arguments(parser) and run(args) -> int.
A HarnessError becomes a one-paragraph message on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from harness.commands import COMMANDS
from harness.errors import HarnessError


def command_modules(argv: Sequence[str]) -> list[ModuleType]:
    """The command modules to import: only the invoked one when argv names one (a job pays for its
    own command's imports, not for torch in a table-only command), else all of them (--help)."""
    invoked = argv[0] if argv else ""
    if invoked and not invoked.startswith("-") and invoked in COMMANDS:
        return [COMMANDS.get(invoked)]
    return [module for _, module in COMMANDS.items()]


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules(argv):
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

"""CLI commands, one module each (see harness/cli.py): COMMANDS finds every module of this package
that defines NAME, HELP, add_arguments(parser) and run(args) -> int, and an installed package's
command module under the entry-point group `bnnas_harness.commands` (harness.registry)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from harness.errors import HarnessError
from harness.registry import Registry

COMMAND_PARTS = ("NAME", "HELP", "add_arguments", "run")


def _command(module: Any, name: str) -> list[tuple[str, ModuleType]]:
    missing = [part for part in COMMAND_PARTS if not hasattr(module, part)]
    if not isinstance(module, ModuleType) or missing:
        raise HarnessError(f"command {name!r} ({getattr(module, '__name__', module)}) is not a command module: "
                           f"it lacks {', '.join(missing) or 'being a module'} (see harness/cli.py)")
    return [(module.NAME, module)]


COMMANDS: Registry[ModuleType] = Registry(
    "command", group="bnnas_harness.commands", package=__name__, collect=_command,
    how_to_add="Add a module to harness/commands/ (NAME, HELP, add_arguments, run), or an installed package's "
               "entry point in group bnnas_harness.commands.",
)

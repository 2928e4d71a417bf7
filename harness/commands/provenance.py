"""`provenance`: where and with what a run ran (report/provenance.json), once per run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import paths
from harness.io import write_json

NAME = "provenance"
HELP = "Record the run's code version, machine, library versions and numerical settings (provenance.json)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, type=Path, help="results directory of the run")
    parser.add_argument("--output", type=Path, default=None, help=f"default: RESULTS/{paths.REPORT_PROVENANCE}")


def run(args: argparse.Namespace) -> int:
    from harness import environment
    from harness.results.files import elapsed_seconds, optional_json

    config = optional_json(args.results / paths.RUN_CONFIG)
    elapsed = elapsed_seconds(args.results, since=paths.RUN_CONFIG)
    version = environment.code_version()
    code = {"commit": str(version["commit"])[:12], "dirty": str(version["dirty"]),
            "provenance command": " ".join(["python -m harness", *sys.argv[1:]]), "results": str(args.results)}
    if elapsed is not None:
        code["wall time: run_config.json to the last result (s)"] = f"{elapsed:,.0f}"
    record = {"code": code, "hardware": environment.hardware(), "determinism": environment.determinism(config),
              "libraries": environment.library_versions()}
    output = args.output if args.output is not None else args.results / paths.REPORT_PROVENANCE
    write_json(record, output)
    print(f"wrote {output}")
    return 0

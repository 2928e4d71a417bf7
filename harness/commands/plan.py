"""plan: the jobs a config plans, each with its resolved spec and content hash (harness/workflow/plan.py)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.workflow import plan
from harness.workflow.config import load_config
from harness.errors import HarnessError
from harness.io import write_json

NAME = "plan"
HELP = "Print (or write) the plan of a config: every job's spec and hash, one job's spec, or the report manifest."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="config YAML or run_config.json")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--job", help="only this job's spec (an id such as 'score:method=spos,seed=0,space=nats-tss')")
    choice.add_argument("--manifest", action="store_true", help="the report's manifest instead of the specs")
    parser.add_argument("--output", type=Path, help="write JSON here instead of stdout")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if args.manifest:
        value = plan.build_manifest(config)
    else:
        specs = plan.build_plan(config)
        if args.job is not None and args.job not in specs:
            raise HarnessError(f"job {args.job!r} is not in the plan; `python -m harness plan --config "
                               f"{args.config}` lists the {len(specs)} planned jobs")
        value = specs[args.job] if args.job is not None else specs
    if args.output is not None:
        write_json(value, args.output)
    else:
        json.dump(value, sys.stdout, indent=1, sort_keys=True)
        print()
    return 0

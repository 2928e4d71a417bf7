"""`report`: build the results report (index.html, the merged CSVs, tables/ and figures/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import paths
from harness.errors import HarnessError
from harness.io import read_json
from harness.workflow.plan import MANIFEST

NAME = "report"
HELP = "Build the self-contained HTML report and the merged correlations and costs tables."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, type=Path, help="results directory to read")
    parser.add_argument(
        "--output", type=Path, default=None,
        help=f"folder to write into (default: RESULTS/{Path(paths.REPORT_HTML).parent})",
    )  # fmt: skip
    parser.add_argument("--manifest", type=Path, default=None,
                        help="the plan's manifest of the runs to report (default: RESULTS/manifest.json, "
                             "written by the workflow's plan rule; `python -m harness plan --manifest` makes one)")


def run(args: argparse.Namespace) -> int:
    # Imported here so other commands do not pay for matplotlib and seaborn at start-up.
    from harness.report.page import build_report

    if not args.results.is_dir():
        raise HarnessError(f"{args.results}: results directory not found")
    output = args.output if args.output is not None else args.results / Path(paths.REPORT_HTML).parent
    manifest_path = args.manifest if args.manifest is not None else args.results / MANIFEST
    if not manifest_path.is_file():
        raise HarnessError(f"{manifest_path}: no manifest of the runs to report; run the workflow, or write one "
                           "with `python -m harness plan --config CONFIG --manifest --output FILE`")
    build_report(args.results, output, read_json(manifest_path), ["python", "-m", "harness", *sys.argv[1:]])
    print(f"wrote the report to {output / Path(paths.REPORT_HTML).name}")
    return 0

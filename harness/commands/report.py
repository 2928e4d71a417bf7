"""`report`: build the results report (index.html, the merged CSVs, tables/ and figures/)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import paths
from harness.errors import HarnessError

NAME = "report"
HELP = "Build the self-contained HTML report and the merged correlations and costs tables."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, type=Path, help="results directory to read")
    parser.add_argument(
        "--output", type=Path, default=None,
        help=f"folder to write into (default: RESULTS/{Path(paths.REPORT_HTML).parent})",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    # Imported here so other commands do not pay for matplotlib and seaborn at start-up.
    from harness.report import build_report

    if not args.results.is_dir():
        raise HarnessError(f"{args.results}: results directory not found")
    output = args.output if args.output is not None else args.results / Path(paths.REPORT_HTML).parent
    build_report(args.results, output, ["python", "-m", "harness", *sys.argv[1:]])
    print(f"wrote the report to {output / Path(paths.REPORT_HTML).name}")
    return 0

"""`report`: render report/index.html from the analysis files (analyse) and provenance.json."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import paths
from harness.errors import HarnessError

NAME = "report"
HELP = "Render the self-contained HTML report from the analysis files (run `analyse` first)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, type=Path, help="results directory")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"the analysis folder, where index.html goes (default: RESULTS/{Path(paths.REPORT_HTML).parent})")


def run(args: argparse.Namespace) -> int:
    from harness.report.outline import OUTLINE
    from harness.report.render import render_report
    from harness.results.model import report_dir

    if not args.results.is_dir():
        raise HarnessError(f"{args.results}: results directory not found")
    output = args.output if args.output is not None else report_dir(args.results)
    if not (output / OUTLINE).is_file():
        raise HarnessError(f"{output / OUTLINE} is missing: run `python -m harness analyse --results {args.results}` "
                           "first (the workflow's analyse rule does)")
    print(f"wrote the report to {render_report(args.results, output)}")
    return 0

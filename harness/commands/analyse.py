"""`analyse`: a run's analysis as files (the report's CSVs, tables, figures and outline)."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness import paths
from harness.errors import HarnessError

NAME = "analyse"
HELP = ("Analyse a run: costs, comparison, verdicts, correlations and every table and figure of the report, "
        "as files under RESULTS/report/.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, type=Path, help="results directory to read")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"folder to write into (default: RESULTS/{Path(paths.REPORT_HTML).parent})")
    parser.add_argument("--manifest", type=Path, default=None,
                        help="the plan's manifest of the runs to analyse (default: RESULTS/manifest.json, "
                             "written by the workflow's plan rule; `python -m harness plan --manifest` makes one)")


def run(args: argparse.Namespace) -> int:
    # Imported here so other commands do not pay for matplotlib and seaborn at start-up.
    from harness.analysis.costs import in_report_order
    from harness.report.outline import write_analysis
    from harness import paths
    from harness.results.model import load_results, read_manifest, report_dir

    if not args.results.is_dir():
        raise HarnessError(f"{args.results}: results directory not found")
    manifest = read_manifest(args.manifest if args.manifest is not None else args.results / paths.MANIFEST)
    output = args.output if args.output is not None else report_dir(args.results)
    written = write_analysis(in_report_order(load_results(args.results, manifest)), output)
    print(f"wrote the analysis to {output} ({', '.join(p.name for p in written.values())}, tables/, figures/)")
    return 0

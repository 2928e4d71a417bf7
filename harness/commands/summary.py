"""`summary`: where a finished run's report is and its headline verdicts, one line per claim."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from harness import paths
from harness.errors import HarnessError

NAME = "summary"
HELP = "Print where a run's report is and its headline verdicts (one line per claim)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", required=True, type=Path, help="results directory of a finished run")
    parser.add_argument("--snakemake-args", default="",
                        help="the arguments the run was started with (e.g. --configfile ...), repeated in the "
                             "command that builds Snakemake's own report")


def headline_lines(verdicts_csv: Path, width: int = 100) -> list[str]:
    from harness.analysis.verdicts import headlines
    from harness.report.verdict_tables import estimate_text
    from harness.results.files import read_table

    lines = []
    for _, row in headlines(read_table(verdicts_csv, ["claim", "headline", "verdict"], "verdicts table")).iterrows():
        lines.append(f"  {row['verdict'].upper():<13} {row['claim']}: {estimate_text(row)}")
        decide = row.get("would_decide")
        if isinstance(decide, str) and decide:
            lines += textwrap.wrap(f"would decide it: {decide}", width, initial_indent=" " * 16,
                                   subsequent_indent=" " * 18)
    return lines


def run(args: argparse.Namespace) -> int:
    html = args.results / paths.REPORT_HTML
    verdicts = args.results / paths.REPORT_VERDICTS
    if not verdicts.is_file():
        raise HarnessError(f"{verdicts} is missing: the run has not finished its analysis; run snakemake again")
    print(f"The report: {html}  (open it in a browser)")
    print(f"Verdicts, one per claim (all rows: {verdicts}):")
    print("\n".join(headline_lines(verdicts)))
    extra = f" {args.snakemake_args.strip()}" if args.snakemake_args.strip() else ""
    print(f"Snakemake's own report (workflow, runtimes, the same figures): snakemake --report report.html{extra}")
    return 0

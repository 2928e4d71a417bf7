"""merge-csv: several tables of the same kind (retraining shards, per-ground-truth correlations)
as one."""

from __future__ import annotations

import argparse

import pandas as pd

from harness.errors import HarnessError
from harness.io import write_csv
from harness.results.files import read_table

NAME = "merge-csv"
HELP = "Concatenate CSV tables (e.g. retraining shards) into one, optionally sorted."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", nargs="+", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--sort", nargs="*", default=[], metavar="COLUMN", help="columns to sort rows by")


def run(args: argparse.Namespace) -> int:
    frames = [read_table(path) for path in args.inputs]
    merged = pd.concat([f for f in frames if len(f)], ignore_index=True)
    missing = set(args.sort) - set(merged.columns)
    if missing:
        raise HarnessError(f"--sort column(s) {sorted(missing)} are not in the inputs (columns: {list(merged.columns)})")
    write_csv(merged.sort_values(args.sort, kind="stable") if args.sort else merged, args.output)
    return 0

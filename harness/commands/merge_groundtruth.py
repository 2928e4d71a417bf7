"""merge-groundtruth: the retraining shards as one table."""

from __future__ import annotations

import argparse

import pandas as pd

from harness.errors import HarnessError
from harness.io import write_csv

NAME = "merge-groundtruth"
HELP = "Merge retraining shards into one ground-truth table."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inputs", nargs="+", required=True)
    parser.add_argument("--output", required=True)


def run(args: argparse.Namespace) -> int:
    frames = []
    for path in args.inputs:
        try:
            frames.append(pd.read_csv(path))
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise HarnessError(f"cannot read retraining shard {path} ({exc}); delete it and rerun its retrain job") from exc
    merged = pd.concat([f for f in frames if len(f)], ignore_index=True)
    write_csv(merged.sort_values(["arch_id", "repetition"]), args.output)
    return 0

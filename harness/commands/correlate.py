"""python -m harness correlate: rank correlations of method scores against a ground truth
(the table's rows: harness.analysis.correlation)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from harness import paths
from harness.analysis.correlation import write_correlations
from harness.io import write_json

NAME = "correlate"
HELP = "Rank correlations (with bootstrap CIs) of method scores against a ground truth."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", required=True, help="search space name")
    parser.add_argument(
        "--scores", nargs="+", required=True, type=Path,
        help=f"scores files, laid out as {paths.SCORES} (method and seed are read from the path)",
    )  # fmt: skip
    parser.add_argument(
        "--groundtruth", required=True, type=Path, help="ground-truth csv (arch_id, seed, test_acc, ...)"
    )
    parser.add_argument("--output", required=True, type=Path, help="correlations csv to write")
    parser.add_argument(
        "--ground-truth-name", default="retrain", help="label of the ground truth in the output"
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples per CI")
    parser.add_argument("--confidence", type=float, default=0.95, help="CI confidence level")
    parser.add_argument("--topk", type=int, default=5, help="k of the top-k precision metric")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    parser.add_argument("--spec", help="the workflow's job spec (JSON text or file), checked against its hash and kept "
                                       "in the job's record of what it ran with (harness.environment); it names the "
                                       "space's knobs the conv-op counts come from (without it: the space's defaults); "
                                       "the statistics' settings are the options above")
    parser.add_argument("--record", type=Path, help="timing record to write (JSON): the seconds the statistics took, "
                                                    "which `python -m benchmarks pipeline` counts as analysis, not overhead")


def run(args: argparse.Namespace) -> int:
    args.space_config = None
    if args.spec:
        from harness.workflow.job import job_spec

        args.space_config = job_spec(args, "correlate")["config"]  # the run's space knobs and dataset
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    # one BLAS thread: the statistics are single-threaded numpy, and a BLAS pool in each of the
    # parallel correlate jobs oversubscribes the cores (measured: 2x the CPU seconds on 2 cores)
    with threadpool_limits(limits=1):
        status = write_correlations(args)
    if args.record is not None:
        write_json({"analysis_time_s": time.perf_counter() - started, "scores_files": len(args.scores),
                    "bootstrap": args.bootstrap, "ground_truth": args.ground_truth_name}, args.record)
    return status

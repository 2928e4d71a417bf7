"""score: every architecture of the sample scored by a method at every curve checkpoint."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from harness.data import DataSplits, load_splits
from harness.io import write_csv, write_json
from harness.method import ScoreContext
from harness.paths import CHECKPOINT_NAME
from harness.errors import HarnessError
from harness.runtime import Job, add_run_arguments, arch_matrix, job_spec, read_archs, setup_job
from harness.supernet_training import load_checkpoint, trained_checkpoints

NAME = "score"
HELP = "Score the architecture sample with a method at each supernet checkpoint."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--archs", required=True)
    parser.add_argument("--supernet-dir", help="the run's supernet/ directory (methods that train one)")
    parser.add_argument("--output", required=True, nargs="+",
                        help="scores.csv (one per run of a score_free spec, in its order)")
    parser.add_argument("--record", required=True, nargs="+", help="scoring.json (likewise)")
    parser.add_argument("--final-only", action="store_true", help="score only the final checkpoint")


def run(args: argparse.Namespace) -> int:
    """One run's scores, or (a score_free spec) every supernet-free run of a space in turn, each
    with its own files and timing record."""
    spec = job_spec(args, "score_all_archs" if args.final_only else "score", "score_free")
    specs = spec["runs"] if spec["stage"] == "score_free" else [spec]
    if not len(args.output) == len(args.record) == len(specs):
        raise HarnessError(f"the spec has {len(specs)} run(s): pass as many --output and --record files "
                           f"(got {len(args.output)} and {len(args.record)})")
    data = load_splits(args.data)
    device = None
    for one, output, record in zip(specs, args.output, args.record):
        job = setup_job(one, args.threads, device)
        device = job.device
        score_run(job, data, args, output, record)
    return 0


def score_run(job: Job, data: DataSplits, args: argparse.Namespace, output: str, record: str) -> None:
    config, device, method, space = job.config, job.device, job.method, job.space
    archs = read_archs(space, args.archs)
    matrix = arch_matrix(space, archs)
    options = {**config["scoring"], **method.options}
    seed = job.derive_seed("score", job.space_name, job.method_name, job.spec["seed"])

    if method.trains_supernet:
        checkpoints = trained_checkpoints(method, args.supernet_dir)
        checkpoints = checkpoints[-1:] if args.final_only else checkpoints
        supernet_dir = Path(args.supernet_dir)
        supernet = space.build_supernet().to(device)
    else:
        checkpoints, supernet = [{"checkpoint": 0, "epoch": 0.0}], None

    frames, seconds, total = [], 0.0, 0.0
    for point in checkpoints:
        if supernet is not None:
            load_checkpoint(supernet, supernet_dir / CHECKPOINT_NAME.format(checkpoint=point["checkpoint"]))
        context = ScoreContext(space=space, supernet=supernet, data=data, options=options, seed=seed, device=device)
        started = time.perf_counter()
        scores = method.scorer(context, matrix)
        seconds = time.perf_counter() - started
        total += seconds
        frames.append(pd.DataFrame({"checkpoint": point["checkpoint"], "epoch": point["epoch"],
                                    "arch_id": archs["arch_id"], "arch_str": archs["arch_str"], "score": scores}))
    write_csv(pd.concat(frames, ignore_index=True), output)
    write_json({"method": method.describe(), "n_archs": len(archs), "checkpoint": checkpoints[-1]["checkpoint"],
                "score_time_s": seconds, "time_per_arch_s": seconds / len(archs),
                "all_checkpoints_score_time_s": total, "device": str(device),
                "threads": config["threads"] if args.threads is None else args.threads}, record)

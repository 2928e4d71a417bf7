"""score: every architecture of the sample scored by a method at every curve checkpoint."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from harness.config import load_config
from harness.data import load_splits
from harness.io import write_csv, write_json
from harness.method import ScoreContext
from harness.paths import CHECKPOINT_NAME
from harness.runtime import add_run_arguments, arch_matrix, configured_method, configured_space, read_archs, setup_torch
from harness.seeding import derive_seed
from harness.supernet_training import load_checkpoint, trained_checkpoints

NAME = "score"
HELP = "Score the architecture sample with a method at each supernet checkpoint."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--archs", required=True)
    parser.add_argument("--supernet-dir", help="the run's supernet/ directory (methods that train one)")
    parser.add_argument("--output", required=True, help="scores.csv")
    parser.add_argument("--record", required=True, help="scoring.json")
    parser.add_argument("--final-only", action="store_true", help="score only the final checkpoint")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    device = setup_torch(config["device"], args.threads or config["threads"])
    method = configured_method(config, args.method)
    space = configured_space(config, args.space, method.knobs_for(args.space))
    data = load_splits(args.data)
    archs = read_archs(space, args.archs)
    matrix = arch_matrix(space, archs)
    options = {**config["scoring"], **method.options}
    seed = derive_seed(config["seed"], "score", args.space, args.method, args.seed)

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
    write_csv(pd.concat(frames, ignore_index=True), args.output)
    write_json({"method": method.describe(), "n_archs": len(archs), "checkpoint": checkpoints[-1]["checkpoint"],
                "score_time_s": seconds, "time_per_arch_s": seconds / len(archs),
                "all_checkpoints_score_time_s": total, "device": str(device),
                "threads": config["threads"] if args.threads is None else args.threads}, args.record)
    return 0

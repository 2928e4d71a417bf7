"""train-supernet: one (space, method, seed) supernet, resumable, with curve checkpoints."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.config import load_config
from harness.data import load_splits
from harness.runtime import add_run_arguments, configured_method, configured_space, setup_torch
from harness.seeding import derive_seed
from harness.supernet_training import SupernetRecipe, train_supernet

NAME = "train-supernet"
HELP = "Train one supernet with a method's sampler and trainable rule (resumes if interrupted)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--outdir", required=True, help="the run's supernet/ directory")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    device = setup_torch(config["device"], args.threads or config["threads"])
    method = configured_method(config, args.method)
    space = configured_space(config, args.space, method.knobs_for(args.space))
    data = load_splits(args.data)
    seed = derive_seed(config["seed"], "supernet", args.space, args.method, args.seed)
    record = train_supernet(space, method, data, SupernetRecipe.for_space(config["supernet"], args.space), seed=seed,
                            out_dir=Path(args.outdir), device=device, progress=not args.no_progress)
    print(f"trained {args.space}/{args.method}/seed{args.seed}: {record['steps']} steps "
          f"({record['skipped_steps']} skipped) in {record['train_time_s']:.1f} s")
    return 0

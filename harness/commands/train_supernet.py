"""train-supernet: one (space, method, seed) supernet, resumable, with curve checkpoints."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.data.store import load_splits
from harness.workflow.job import add_run_arguments, open_job
from harness.training.supernet import SupernetRecipe, train_supernet

NAME = "train-supernet"
HELP = "Train one supernet with a method's sampler and trainable rule (resumes if interrupted)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--outdir", required=True, help="the run's supernet/ directory")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    job = open_job(args, "train_supernet")
    data = load_splits(args.data)
    seed = job.derive_seed("supernet", job.space_name, job.method_name, job.spec["seed"])
    recipe = SupernetRecipe.for_space(job.config["supernet"], job.space_name)
    record = train_supernet(job.space, job.method, data, recipe, seed=seed,
                            out_dir=Path(args.outdir), device=job.device, progress=not args.no_progress,
                            compute=job.compute)
    print(f"trained {job.space_name}/{job.method_name}/seed{job.spec['seed']}: {record['steps']} steps "
          f"({record['skipped_steps']} skipped) in {record['train_time_s']:.1f} s")
    return 0

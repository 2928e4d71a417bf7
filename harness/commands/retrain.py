"""retrain: one shard of the ground-truth retraining (architectures trained from scratch)."""

from __future__ import annotations

import argparse

import pandas as pd
from tqdm import tqdm

from harness.data.datasets import on_device
from harness.data.store import load_splits
from harness.errors import HarnessError
from harness.io import write_csv
from harness.training.retrain import RetrainRecipe, retrain
from harness.workflow.job import add_spec_arguments, open_job, read_archs

NAME = "retrain"
HELP = "Retrain one shard of the sampled architectures from scratch (ground truth)."


def shard_tasks(n_archs: int, repeat_archs: int, shards: int, shard: int) -> list[tuple[int, int]]:
    """(arch row, repetition) pairs of one shard: every arch once, the first `repeat_archs` twice
    (the retraining reliability), dealt round-robin so shards take about equal time."""
    tasks = [(row, 0) for row in range(n_archs)] + [(row, 1) for row in range(repeat_archs)]
    return tasks[shard::shards]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser, "space", "shard")
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--threads", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    job = open_job(args, "retrain_shard")
    section, shard, space_name = job.config["groundtruth"], job.spec["shard"], job.space_name
    if not 0 <= shard < section["shards"]:
        raise HarnessError(f"--shard {shard} is out of range: groundtruth.shards is {section['shards']}")
    space, device = job.space, job.device
    data = on_device(load_splits(args.data), device)  # once for the shard's architectures
    archs = read_archs(space, args.archs)
    # groundtruth.space_epochs overrides the epochs of one space (as supernet.space_epochs does)
    recipe = RetrainRecipe.from_dict({**section, "epochs": section["space_epochs"].get(args.space, section["epochs"])})
    records = []
    for row, repetition in tqdm(shard_tasks(len(archs), section["repeat_archs"], section["shards"], shard),
                                desc=f"retrain {space_name} shard {shard}"):
        arch_str = archs["arch_str"][row]
        seed = job.derive_seed("retrain", space_name, arch_str, repetition)
        record = retrain(space, archs["arch"][row], data, recipe, seed=seed, device=device, compute=job.compute)
        records.append({"arch_id": int(archs["arch_id"][row]), "repetition": repetition, **record})
    columns = ["arch_id", "arch_str", "repetition", "seed", "test_acc", "val_acc"]
    frame = pd.DataFrame(records, columns=None if records else columns)
    write_csv(frame, args.output)
    return 0

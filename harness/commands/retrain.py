"""retrain: one shard of the ground-truth retraining (architectures trained from scratch)."""

from __future__ import annotations

import argparse

import pandas as pd
from tqdm import tqdm

from harness.config import load_config
from harness.data import load_splits
from harness.errors import HarnessError
from harness.io import write_csv
from harness.retrain import RetrainRecipe, retrain
from harness.runtime import configured_space, read_archs, setup_torch
from harness.seeding import derive_seed

NAME = "retrain"
HELP = "Retrain one shard of the sampled architectures from scratch (ground truth)."


def shard_tasks(n_archs: int, repeat_archs: int, shards: int, shard: int) -> list[tuple[int, int]]:
    """(arch row, repetition) pairs of one shard: every arch once, the first `repeat_archs` twice
    (the retraining reliability), dealt round-robin so shards take about equal time."""
    tasks = [(row, 0) for row in range(n_archs)] + [(row, 1) for row in range(repeat_archs)]
    return tasks[shard::shards]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True)
    parser.add_argument("--space", required=True)
    parser.add_argument("--shard", type=int, required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--archs", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--threads", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    section = config["groundtruth"]
    if not 0 <= args.shard < section["shards"]:
        raise HarnessError(f"--shard {args.shard} is out of range: groundtruth.shards is {section['shards']}")
    device = setup_torch(config["device"], args.threads or config["threads"])
    space = configured_space(config, args.space)
    data = load_splits(args.data)
    archs = read_archs(space, args.archs)
    # groundtruth.space_epochs overrides the epochs of one space (as supernet.space_epochs does)
    recipe = RetrainRecipe.from_dict({**section, "epochs": section["space_epochs"].get(args.space, section["epochs"])})
    records = []
    for row, repetition in tqdm(shard_tasks(len(archs), section["repeat_archs"], section["shards"], args.shard),
                                desc=f"retrain {args.space} shard {args.shard}"):
        arch_str = archs["arch_str"][row]
        seed = derive_seed(config["seed"], "retrain", args.space, arch_str, repetition)
        record = retrain(space, archs["arch"][row], data, recipe, seed=seed, device=device)
        records.append({"arch_id": int(archs["arch_id"][row]), "repetition": repetition, **record})
    columns = ["arch_id", "arch_str", "repetition", "seed", "test_acc", "val_acc"]
    frame = pd.DataFrame(records, columns=None if records else columns)
    write_csv(frame, args.output)
    return 0

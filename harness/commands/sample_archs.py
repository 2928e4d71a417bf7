"""sample-archs: the fixed sample of architectures that every method and ground truth share."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.io import write_csv
from harness.workflow.job import add_spec_arguments, open_job
from harness.seeding import derive_seed
from harness.spaces.base import Arch, SearchSpace

NAME = "sample-archs"
HELP = "Sample the fixed set of distinct architectures of a space (archs.csv)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser, "space")
    parser.add_argument("--output", required=True)
    parser.add_argument("--all", action="store_true",
                        help="every architecture of an enumerable space (arch_id = enumeration index), rows in a "
                             "seeded random order so that the first n rows are a uniform sample of n")


def sample_distinct(space: SearchSpace, count: int, run_seed: int) -> list[Arch]:
    """`count` distinct architectures drawn uniformly, in draw order (seeded by the run seed)."""
    if count > space.size():
        raise HarnessError(f"config key archs.count = {count} but space {space.name} has only {space.size()} "
                           "architectures; lower archs.count")
    rng = np.random.default_rng(derive_seed(run_seed, "archs", space.name))
    archs: dict[Arch, None] = {}
    while len(archs) < count:
        archs.setdefault(space.sample(rng), None)
    return list(archs)


def run(args: argparse.Namespace) -> int:
    job = open_job(args, "sample_all_archs" if args.all else "sample_archs")
    space, config = job.space, job.config
    if args.all:
        archs = list(space.enumerate())
        order = np.random.default_rng(derive_seed(config["seed"], "all-archs", space.name)).permutation(len(archs))
        ids, archs = order.tolist(), [archs[i] for i in order]
    else:
        archs = sample_distinct(space, config["archs"]["count"], config["seed"])
        ids = list(range(len(archs)))
    matrix = space.to_matrix(archs)
    table = space.cost_table()
    frame = pd.DataFrame({
        "arch_id": ids,
        "arch_str": [space.encode(a) for a in archs],
        "flops_M": table.flops(matrix),
        "params_M": table.params(matrix),
    })
    write_csv(frame, args.output)
    return 0

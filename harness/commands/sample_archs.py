"""sample-archs: the fixed sample of architectures that every method and ground truth share."""

from __future__ import annotations

import argparse

import pandas as pd

from harness.config import load_config
from harness.errors import HarnessError
from harness.io import write_csv
from harness.runtime import configured_space
from harness.seeding import derive_seed

NAME = "sample-archs"
HELP = "Sample the fixed set of distinct architectures of a space (archs.csv)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="run_config.json of the run")
    parser.add_argument("--space", required=True)
    parser.add_argument("--output", required=True)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    config = load_config(args.config)
    space = configured_space(config, args.space)
    count = config["archs"]["count"]
    if count > space.size():
        raise HarnessError(f"config key archs.count = {count} but space {space.name} has only {space.size()} architectures; lower archs.count")
    rng = np.random.default_rng(derive_seed(config["seed"], "archs", space.name))
    archs: dict = {}
    while len(archs) < count:
        arch = space.sample(rng)
        archs.setdefault(arch, None)
    matrix = space.to_matrix(list(archs))
    table = space.cost_table()
    frame = pd.DataFrame({
        "arch_id": range(count),
        "arch_str": [space.encode(a) for a in archs],
        "flops_M": table.flops(matrix),
        "params_M": table.params(matrix),
    })
    write_csv(frame, args.output)
    return 0

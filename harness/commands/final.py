"""final: the architectures a search found, retrained from scratch (their accuracy on the test
split: the number a NAS paper reports)."""

from __future__ import annotations

import argparse

import pandas as pd

from harness.data.store import load_splits
from harness.io import write_csv
from harness.results.records import read_search_record
from harness.training.retrain import RetrainRecipe, retrain
from harness.workflow.job import add_run_arguments, open_job

NAME = "final"
HELP = "Retrain the top-k architectures of a search from scratch (final test accuracy)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--search", required=True, help="search.json of the run")
    parser.add_argument("--output", required=True, help="final.csv")


def run(args: argparse.Namespace) -> int:
    job = open_job(args, "final")
    space, device = job.space, job.device
    data = load_splits(args.data)
    found = read_search_record(args.search).top
    recipe = RetrainRecipe.from_dict(job.config["final"])
    rows = []
    for rank, candidate in enumerate(found):
        arch = space.decode(candidate["arch_str"])
        seed = job.derive_seed("final", job.space_name, job.method_name, job.spec["seed"], candidate["arch_str"])
        record = retrain(space, arch, data, recipe, seed=seed, device=device, compute=job.compute)
        rows.append({"method": job.method_name, "run_seed": job.spec["seed"], "rank": rank, "search_score": candidate["score"],
                     "flops_M": candidate["flops_M"], "params_M": candidate["params_M"], **record})
    write_csv(pd.DataFrame(rows), args.output)
    return 0

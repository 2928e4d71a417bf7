"""search: SPOS's evolutionary search (and random search at the same budget) with a method's
scorer as fitness, at the method's final supernet checkpoint, under a hard FLOPs limit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from harness.data.store import load_splits
from harness.io import write_json
from harness.method import ScoreContext
from harness.paths import CHECKPOINT_NAME
from harness.workflow.job import Job, add_run_arguments, open_job
from harness.search.evolution import EvolutionConfig, evolution_search, random_search
from harness.training.supernet import load_checkpoint, trained_checkpoints

NAME = "search"
HELP = ("Evolutionary search (SPOS: 20 generations x 50) and random search at the same budget, with a "
        "method's scorer as fitness and a hard FLOPs limit; writes search.json.")

# Keys of the config's `search` section that are evolution settings (the rest: flops_budget, topk).
EVOLUTION_KEYS = ("generations", "population", "parents", "mutations", "crossovers", "mutation_prob")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--supernet-dir", help="the run's supernet/ directory (methods that train one)")
    parser.add_argument("--flops-budget", type=float, metavar="MFLOPS",
                        help="hard FLOPs limit in millions (default: config search.flops_budget[space]; "
                             "none there = unconstrained)")
    parser.add_argument("--topk", type=int,
                        help="architectures reported per search (default: config search.topk or 2)")
    parser.add_argument("--output", required=True, help="search.json")


def run(args: argparse.Namespace) -> int:
    job = open_job(args, "search")
    config, device, method, space = job.config, job.device, job.method, job.space
    space_name, seed_of_run = job.space_name, job.spec["seed"]
    section: dict[str, Any] = config.get("search", {})
    evolution = EvolutionConfig.from_dict({k: section[k] for k in EVOLUTION_KEYS if k in section})
    budget = args.flops_budget
    if budget is None:
        budget = (section.get("flops_budget") or {}).get(space_name)
    if budget is None:
        print(f"search: no FLOPs budget for {space_name}; searching unconstrained", file=sys.stderr)
    topk = args.topk or section.get("topk", 2)
    seed = job.derive_seed("search", space_name, job.method_name, seed_of_run)

    context, checkpoint = _score_context(job, args, seed)

    def fitness(archs: np.ndarray) -> np.ndarray:
        return np.asarray(method.scorer(context, archs), dtype=float)

    evolved = evolution_search(space, fitness, budget, evolution, seed=seed, topk=topk)
    reference = random_search(space, fitness, budget, evolution, seed=seed, topk=topk, evaluations=evolved.evaluated)
    write_json({
        "space": space_name, "method": method.describe(), "seed": seed_of_run, "search_seed": seed,
        "checkpoint": checkpoint, "flops_budget_M": budget, "device": str(device),
        "threads": config["threads"] if args.threads is None else args.threads,
        "evolution": evolved.to_record(space), "random": reference.to_record(space),
    }, args.output)
    best = evolved.top[0]
    print(f"search {space_name}/{job.method_name}/seed{seed_of_run}: best {space.encode(best.arch)} score {best.score:.6g} "
          f"({best.flops:.2f}M FLOPs) after {evolved.evaluated} candidates in {evolved.wall_time_s:.2f} s")
    return 0


def _score_context(job: Job, args: argparse.Namespace, seed: int) -> tuple[ScoreContext, dict[str, Any]]:
    """The scorer's context at the final supernet checkpoint (as `score` builds it)."""
    space, method, device = job.space, job.method, job.device
    options = {**job.config["scoring"], **method.options}
    data = load_splits(args.data)
    if not method.trains_supernet:
        return ScoreContext(space, None, data, options, seed, device), {"checkpoint": 0, "epoch": 0.0}
    final = trained_checkpoints(method, args.supernet_dir)[-1]
    supernet_dir = Path(args.supernet_dir)
    supernet = space.build_supernet().to(device)
    load_checkpoint(supernet, supernet_dir / CHECKPOINT_NAME.format(checkpoint=final["checkpoint"]))
    return ScoreContext(space, supernet, data, options, seed, device), final

"""Search: FLOPs/params lookup of all 15,625 nats-tss architectures (goal < 1 s, after the cost
table is built once; its build time is reported separately), and the BN-indicator evolutionary
search of about 1,000 candidates (goal < 1 s) when harness.search.evolution exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from benchmarks.core import Figure, Goal, fmt_seconds, measure
from benchmarks.fixtures import PAPER_SHAPE, default_config
from benchmarks.subnet_eval import network_tag
from harness.method import ScoreContext
from harness.workflow.runs import configured_method
from harness.spaces import build_space
from harness.spaces.base import SearchSpace

NAME = "search"
DESCRIPTION = "search: FLOPs lookup of the whole nats-tss space, BN-indicator evolutionary search"


@dataclass(frozen=True)
class Sizes:
    C: int
    N: int
    lookup_repeats: int
    search_repeats: int
    generations: int
    population: int
    flops_budget: float | None  # MFLOPs; None = unconstrained


# The official search's size (20 x 50 = 1,000 candidates) under a limit that excludes about half
# of the NATS-Bench CIFAR-10 space (its FLOPs range 7.8-220.1M, median 47.1M).
FULL = Sizes(C=16, N=5, lookup_repeats=10, search_repeats=3, generations=20, population=50, flops_budget=47.0)
TINY = Sizes(C=4, N=1, lookup_repeats=1, search_repeats=1, generations=2, population=10, flops_budget=None)


def lookup_all(space: SearchSpace) -> np.ndarray:
    """FLOPs and params of every architecture: enumerate, encode as a matrix, two gathers."""
    table = space.cost_table()
    matrix = space.to_matrix(list(space.enumerate()))
    return np.stack([table.flops(matrix), table.params(matrix)], axis=1)


def run(sizes: Sizes) -> list[Figure]:
    space = build_space("nats-tss", PAPER_SHAPE, C=sizes.C, N=sizes.N)
    tag = network_tag(space)
    start = time.perf_counter()
    space.cost_table()
    build_s = time.perf_counter() - start
    timing = measure(lambda: lookup_all(space), repeats=sizes.lookup_repeats, warmup=1)
    count = len(lookup_all(space))
    return [
        Figure(f"cost table build (once per space) {tag}", build_s, "s", None,
               "one build, the first in this process (counts 31 real subnets with torch's FLOP counter; the "
               "first count_cost call also imports torch._dynamo)"),
        Figure(f"FLOPs + params lookup of all {count} archs {tag}", timing.median_s, "s", Goal("<", 1.0),
               f"enumerate + to_matrix + two gathers, {timing.describe()}"),
        search_figure(space, sizes),
    ]


def search_figure(space: SearchSpace, sizes: Sizes) -> Figure:
    """harness.search.evolution's evolutionary search with the BN-NAS scorer as fitness, as the `search`
    command runs it (fitness = method.scorer(context, archs), the score table rebuilt per call)."""
    name = (f"BN-indicator evolutionary search, {sizes.generations} x {sizes.population} candidates "
            f"{network_tag(space)}")
    goal = Goal("<", 1.0)
    try:
        from harness.search.evolution import EvolutionConfig, evolution_search
    except ImportError as exc:
        return Figure(name, float("nan"), "s", goal,
                      f"not available yet: harness.search.evolution cannot be imported ({exc}); rerun "
                      "`python -m benchmarks search` once harness/search/evolution.py lands")
    method = configured_method(default_config(), "bnnas")
    context = ScoreContext(space=space, supernet=space.build_supernet(), data=None,  # type: ignore[arg-type]
                           options=dict(method.options), seed=0, device=torch.device("cpu"))

    def fitness(archs: np.ndarray) -> np.ndarray:
        return np.asarray(method.scorer(context, archs), dtype=float)

    # The official proportions: top 10 parents, half the population mutated, half crossed over.
    config = EvolutionConfig(generations=sizes.generations, population=sizes.population,
                             parents=min(10, sizes.population), mutations=sizes.population // 2,
                             crossovers=sizes.population // 2)
    results = []
    try:
        timing = measure(lambda: results.append(evolution_search(space, fitness, sizes.flops_budget, config, seed=0)),
                         repeats=sizes.search_repeats, warmup=1)
    except Exception as exc:  # an API change in a module still being written: report, do not crash
        return Figure(name, float("nan"), "s", goal,
                      f"harness.search.evolution.evolution_search failed ({type(exc).__name__}: {exc}); adapt search_figure")
    last = results[-1]
    budget = "no FLOPs limit" if sizes.flops_budget is None else f"FLOPs limit {sizes.flops_budget:g}M"
    return Figure(name, timing.median_s, "s", goal,
                  f"harness.search.evolution.evolution_search, {config.generations} generations x {config.population}, "
                  f"{budget}, {last.evaluated} candidates scored, of which {fmt_seconds(last.score_time_s)} in the "
                  f"fitness (bn_indicator, table rebuilt per generation); {timing.describe()}")

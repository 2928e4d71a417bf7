"""Subnet search under a hard FLOPs limit: SPOS's evolutionary search and a random-search reference.

Evolution (SPOS; the BN-NAS and ABS code, BNNAS/search/ea.py, with its defaults):
    generation 0: `population` random legal architectures;
    then, per generation: parents = the top `parents` of everything evaluated so far;
    `mutations` children of a uniformly drawn parent, each layer redrawn with `mutation_prob`;
    `crossovers` children of two uniformly drawn parents, each layer from either; random
    architectures refill the generation to `population`.
A candidate is legal if it was never proposed before and its FLOPs (the space's lookup table)
are within the limit; mutation and crossover give up after 10 tries per wanted child, as the
official code does. Every architecture is scored once (a cache); a generation's new candidates
are scored in one batch call. The official loop scores a 21st population that it never ranks;
here `generations` populations are scored and all of them ranked (20 x 50 = 1,000 candidates).

Random search draws the same number of legal, distinct architectures under the same limit, in
batches of `population`, so both trajectories are comparable generation by generation.

Fitness is any batch scorer archs (n, num_layers) int64 -> n scores, higher = better; NaN ranks last.
Layers with a single candidate (e.g. the identity-forced layers of spos-mobilenet) stay fixed:
sampling and mutation draw from each layer's own candidates.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.spaces.base import Arch, CostTable, SearchSpace

Fitness = Callable[[np.ndarray], np.ndarray]

CHUNK = 4096  # architectures drawn and FLOPs-checked per vectorised step
# Non-additive cost tables: how many architectures the feasibility check may enumerate or sample.
ENUMERATION_LIMIT = 100_000
FEASIBILITY_SAMPLES = 10_000


@dataclass(frozen=True)
class EvolutionConfig:
    """The SPOS evolutionary search (defaults: the official code's)."""

    generations: int = 20
    population: int = 50
    parents: int = 10
    mutations: int = 25
    crossovers: int = 25
    mutation_prob: float = 0.1
    tries_per_child: int = 10  # official: max_iters = 10 * mutation_num (and crossover_num)
    tries_per_random: int = 1000  # official: unbounded; bounded here so a tiny feasible set ends

    def __post_init__(self) -> None:
        for name in ("generations", "population", "parents", "tries_per_child", "tries_per_random"):
            if getattr(self, name) < 1:
                raise HarnessError(f"evolution {name} must be >= 1, got {getattr(self, name)}")
        if self.mutations < 0 or self.crossovers < 0 or self.mutations + self.crossovers > self.population:
            raise HarnessError(f"evolution mutations ({self.mutations}) + crossovers ({self.crossovers}) must be "
                               f">= 0 and at most the population ({self.population})")
        if not 0.0 <= self.mutation_prob <= 1.0:
            raise HarnessError(f"evolution mutation_prob must be in [0, 1], got {self.mutation_prob}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "EvolutionConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise HarnessError(f"unknown evolution setting(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)


@dataclass(frozen=True)
class Candidate:
    arch: Arch
    score: float
    flops: float
    params: float


@dataclass(frozen=True)
class GenerationStats:
    """After `generation` (0-based): candidates scored so far, best score so far, mean score of
    the current top `parents`, and seconds since the search started."""

    generation: int
    evaluated: int
    best: float
    top_mean: float
    time_s: float


@dataclass
class SearchResult:
    algorithm: str
    top: list[Candidate]  # best first
    evaluated: int  # distinct architectures scored
    trajectory: list[GenerationStats]
    wall_time_s: float
    score_time_s: float  # inside the fitness function
    flops_budget: float | None
    min_flops: float  # smallest FLOPs any architecture has (or a sampled bound, see feasibility)
    feasibility: str  # how min_flops was found: "additive", "enumerated" or "sampled"
    seed: int
    config: EvolutionConfig
    underfilled_generations: list[int] = field(default_factory=list)

    def to_record(self, space: SearchSpace) -> dict[str, Any]:
        """JSON-serialisable, with arch strings."""
        return {
            "algorithm": self.algorithm,
            "top": [{"arch_str": space.encode(c.arch), "arch": list(c.arch), "score": c.score,
                     "flops_M": c.flops, "params_M": c.params} for c in self.top],
            "evaluated": self.evaluated,
            "trajectory": [dataclasses.asdict(g) for g in self.trajectory],
            "wall_time_s": self.wall_time_s,
            "score_time_s": self.score_time_s,
            "flops_budget_M": self.flops_budget,
            "min_flops_M": self.min_flops,
            "feasibility": self.feasibility,
            "seed": self.seed,
            "config": dataclasses.asdict(self.config),
            "underfilled_generations": self.underfilled_generations,
        }


# --- feasibility -------------------------------------------------------------------------------

def min_flops(space: SearchSpace, table: CostTable, rng: np.random.Generator) -> tuple[float, str]:
    """The smallest FLOPs of any architecture and how it was found: exact for an additive table
    (per layer the cheapest candidate), exact by enumeration for a small enumerable space, else
    the minimum over FEASIBILITY_SAMPLES random architectures (an upper bound)."""
    if type(table) is CostTable:
        per_layer = [np.min(table.flops_per_op[layer, : len(c)]) for layer, c in enumerate(space.choices)]
        return float(table.flops_base + np.sum(per_layer)), "additive"
    if space.size() <= ENUMERATION_LIMIT:
        try:
            return float(table.flops(space.to_matrix(list(space.enumerate()))).min()), "enumerated"
        except NotImplementedError:
            pass
    return float(table.flops(_Operators(space, rng, 0.0).random(FEASIBILITY_SAMPLES)).min()), "sampled"


def check_budget(space: SearchSpace, table: CostTable, flops_budget: float | None,
                 rng: np.random.Generator) -> tuple[float, str]:
    minimum, how = min_flops(space, table, rng)
    if flops_budget is not None and minimum > flops_budget:
        detail = {
            "additive": "the cheapest architecture",
            "enumerated": "the cheapest architecture (all enumerated)",
            "sampled": f"the cheapest of {FEASIBILITY_SAMPLES} random architectures (the table is not "
                       "additive, so this is a sampled bound)",
        }[how]
        raise HarnessError(f"FLOPs budget {flops_budget:g}M cannot be met in space {space.name}: "
                           f"{detail} needs {minimum:.4f}M; raise the budget")
    return minimum, how


# --- the evaluation pool -----------------------------------------------------------------------

class _Pool:
    """Every architecture proposed so far with its FLOPs, params and score: legality checks,
    deduplication and batch scoring."""

    def __init__(self, space: SearchSpace, table: CostTable, fitness: Fitness, flops_budget: float | None) -> None:
        self.space = space
        self.table = table
        self.fitness = fitness
        self.flops_budget = flops_budget
        self.seen: set[Arch] = set()  # every architecture proposed (hence scored)
        self.scored: dict[Arch, Candidate] = {}
        self.score_time = 0.0

    def propose(self, make: Callable[[int], np.ndarray], count: int, tries: int) -> list[Arch]:
        """Up to `count` new legal architectures, in order, from at most `tries` rows drawn by
        `make(n)` (an (n, num_layers) matrix) in chunks of at most CHUNK rows."""
        found: list[Arch] = []
        while len(found) < count and tries > 0:
            rows = make(min(tries, CHUNK))
            tries -= len(rows)
            legal = rows if self.flops_budget is None else rows[self.table.flops(rows) <= self.flops_budget]
            for row in legal:
                arch = _arch(row)
                if arch not in self.seen:
                    self.seen.add(arch)
                    found.append(arch)
                    if len(found) == count:
                        break
        return found

    def score(self, archs: list[Arch]) -> None:
        if not archs:
            return
        matrix = self.space.to_matrix(archs)
        started = time.perf_counter()
        scores = np.asarray(self.fitness(matrix), dtype=float).reshape(-1)
        self.score_time += time.perf_counter() - started
        if scores.shape != (len(archs),):
            raise HarnessError(f"the fitness returned {scores.shape[0]} scores for {len(archs)} architectures")
        flops, params = self.table.flops(matrix), self.table.params(matrix)
        for i, arch in enumerate(archs):
            self.scored[arch] = Candidate(arch, float(scores[i]), float(flops[i]), float(params[i]))

    def top(self, k: int) -> list[Candidate]:
        """Best first; NaN last; ties keep the order of evaluation."""
        ranked = sorted(self.scored.values(), key=lambda c: -c.score if np.isfinite(c.score) else np.inf)
        return ranked[:k]


def _stats(pool: _Pool, generation: int, k: int, started: float) -> GenerationStats:
    top = pool.top(k)
    return GenerationStats(generation, len(pool.scored), top[0].score if top else float("nan"),
                           float(np.mean([c.score for c in top])) if top else float("nan"),
                           time.perf_counter() - started)


def _check_found(pool: _Pool, flops_budget: float | None, minimum: float, config: EvolutionConfig) -> None:
    if not pool.scored and flops_budget is not None:
        raise HarnessError(
            f"no architecture within the FLOPs budget {flops_budget:g}M was found in "
            f"{config.tries_per_random * config.population} random draws per generation (the cheapest "
            f"architecture needs {minimum:.4f}M): too few architectures meet it for sampling; raise the budget")


# --- variation operators ------------------------------------------------------------------------

def _arch(row: np.ndarray) -> Arch:
    return tuple(int(a) for a in row)


def _overrides(space: SearchSpace, method: str) -> bool:
    return getattr(type(space), method) is not getattr(SearchSpace, method)


class _Operators:
    """Batches of random, mutated and crossed-over architectures as (n, num_layers) matrices:
    SearchSpace.sample / mutate / crossover vectorised (same distributions: each layer drawn
    uniformly from its own candidates, so single-candidate layers never change). A space that
    overrides one of them has its own method called per architecture instead."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, mutation_prob: float) -> None:
        self.space = space
        self.rng = rng
        self.mutation_prob = mutation_prob
        self.sizes = np.array([len(c) for c in space.choices], dtype=np.int64)

    def _uniform(self, n: int) -> np.ndarray:
        return self.rng.integers(0, self.sizes, size=(n, len(self.sizes)))

    def random(self, n: int) -> np.ndarray:
        if _overrides(self.space, "sample"):
            return self.space.to_matrix([self.space.sample(self.rng) for _ in range(n)])
        return self._uniform(n)

    def mutate(self, parents: np.ndarray, n: int) -> np.ndarray:
        picked = parents[self.rng.integers(len(parents), size=n)]
        if _overrides(self.space, "mutate"):
            return self.space.to_matrix([self.space.mutate(_arch(row), self.rng, self.mutation_prob)
                                         for row in picked])
        redraw = self.rng.random(picked.shape) < self.mutation_prob
        return np.where(redraw, self._uniform(n), picked)

    def crossover(self, parents: np.ndarray, n: int) -> np.ndarray:
        first = parents[self.rng.integers(len(parents), size=n)]
        second = parents[self.rng.integers(len(parents), size=n)]
        if _overrides(self.space, "crossover"):
            return self.space.to_matrix([self.space.crossover(_arch(a), _arch(b), self.rng)
                                         for a, b in zip(first, second)])
        return np.where(self.rng.random(first.shape) < 0.5, first, second)


# --- the searches ------------------------------------------------------------------------------

def evolution_search(space: SearchSpace, fitness: Fitness, flops_budget: float | None,
                     config: EvolutionConfig = EvolutionConfig(), seed: int = 0, topk: int = 2) -> SearchResult:
    """SPOS's evolutionary search (module docstring); deterministic for a seed."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    table = space.cost_table()
    minimum, how = check_budget(space, table, flops_budget, rng)
    pool = _Pool(space, table, fitness, flops_budget)
    draw = _Operators(space, rng, config.mutation_prob)
    trajectory, underfilled = [], []
    for generation in range(config.generations):
        new: list[Arch] = []
        if generation > 0 and pool.scored:
            parents = space.to_matrix([c.arch for c in pool.top(config.parents)])
            new += pool.propose(lambda n: draw.mutate(parents, n), config.mutations,
                                config.tries_per_child * config.mutations)
            new += pool.propose(lambda n: draw.crossover(parents, n), config.crossovers,
                                config.tries_per_child * config.crossovers)
        wanted = config.population - len(new)
        new += pool.propose(draw.random, wanted, config.tries_per_random * wanted)
        if len(new) < config.population:
            underfilled.append(generation)
        pool.score(new)
        trajectory.append(_stats(pool, generation, config.parents, started))
    _check_found(pool, flops_budget, minimum, config)
    return SearchResult("evolution", pool.top(topk), len(pool.scored), trajectory, time.perf_counter() - started,
                        pool.score_time, flops_budget, minimum, how, seed, config, underfilled)


def random_search(space: SearchSpace, fitness: Fitness, flops_budget: float | None,
                  config: EvolutionConfig = EvolutionConfig(), seed: int = 0, topk: int = 2,
                  evaluations: int | None = None) -> SearchResult:
    """`evaluations` (default generations x population) distinct random architectures within the
    limit, scored in batches of `population`: the reference at the evolution's budget."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    table = space.cost_table()
    minimum, how = check_budget(space, table, flops_budget, rng)
    pool = _Pool(space, table, fitness, flops_budget)
    total = config.generations * config.population if evaluations is None else evaluations
    draw = _Operators(space, rng, config.mutation_prob)
    trajectory, underfilled = [], []
    generation = 0
    while len(pool.scored) < total:
        wanted = min(config.population, total - len(pool.scored))
        new = pool.propose(draw.random, wanted, config.tries_per_random * wanted)
        pool.score(new)
        trajectory.append(_stats(pool, generation, config.parents, started))
        if len(new) < wanted:
            underfilled.append(generation)
            break  # the sampler found nothing new within its tries: the feasible set is spent
        generation += 1
    _check_found(pool, flops_budget, minimum, config)
    return SearchResult("random", pool.top(topk), len(pool.scored), trajectory, time.perf_counter() - started,
                        pool.score_time, flops_budget, minimum, how, seed, config, underfilled)

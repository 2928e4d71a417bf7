"""Evolutionary and random search: FLOPs limit, infeasible budgets, ranking, determinism, the
evaluation cache, evolution against random search, the SPOS budget, timing, and the command."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.cli import main
from harness.data.store import save_splits
from harness.errors import HarnessError
from harness.io import write_json
from harness.search.evolution import EvolutionConfig, SearchResult, evolution_search, random_search
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.data.shapes import InputShape
from harness.spaces.base import CostTable, SearchSpace

SMALL = InputShape(channels=3, resolution=32, classes=10)


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def nats() -> SearchSpace:
    return build_space("nats-tss", InputShape(channels=3, resolution=16, classes=10), C=4, N=1)


@pytest.fixture(scope="module")
def mobilenet() -> SearchSpace:
    return build_space("spos-mobilenet", SMALL, width_mult=0.25)


@pytest.fixture(params=["nats", "mobilenet"])
def space(request: pytest.FixtureRequest) -> SearchSpace:
    return request.getfixturevalue(request.param)


def quantile_budget(space: SearchSpace, q: float) -> float:
    """The q-quantile of random architectures' FLOPs: a budget that leaves room to search."""
    rng = np.random.default_rng(0)
    return float(np.quantile(space.cost_table().flops(space.to_matrix([space.sample(rng) for _ in range(2000)])), q))


class Recorder:
    """A BN-indicator-like fitness (a random per-candidate table, summed over layers) that
    records every architecture it is asked to score."""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.table = rng.random((space.num_layers, max(len(c) for c in space.choices)))
        self.calls: list[np.ndarray] = []

    def __call__(self, archs: np.ndarray) -> np.ndarray:
        self.calls.append(archs.copy())
        return self.table[np.arange(self.table.shape[0])[None, :], archs].sum(axis=1)

    def scored(self) -> np.ndarray:
        return np.concatenate(self.calls)


@pytest.mark.parametrize("search", [evolution_search, random_search])
def test_every_candidate_is_within_the_budget_and_scored_once(space: SearchSpace, search) -> None:
    budget = quantile_budget(space, 0.3)
    fitness = Recorder(space)
    result = search(space, fitness, budget, seed=1)
    scored = fitness.scored()
    assert len(scored) == result.evaluated == len({tuple(row) for row in scored})
    assert (space.cost_table().flops(scored) <= budget + 1e-9).all()
    assert all(c.flops <= budget + 1e-9 for c in result.top)


def test_the_spos_budget_is_spent_in_full(mobilenet: SearchSpace) -> None:
    budget = quantile_budget(mobilenet, 0.3)
    evolved = evolution_search(mobilenet, Recorder(mobilenet), budget, seed=0)
    assert evolved.evaluated == 20 * 50 and not evolved.underfilled_generations
    assert [g.evaluated for g in evolved.trajectory] == [50 * (i + 1) for i in range(20)]
    reference = random_search(mobilenet, Recorder(mobilenet), budget, seed=0, evaluations=evolved.evaluated)
    assert reference.evaluated == evolved.evaluated and len(reference.trajectory) == 20


def test_forced_identity_layers_never_change(mobilenet: SearchSpace) -> None:
    fitness = Recorder(mobilenet)
    evolution_search(mobilenet, fitness, None, seed=0)
    strings = [mobilenet.encode(tuple(row)) for row in fitness.scored()]
    assert all([s.strip("[]").split(",")[i] for i in (1, 5, 6, 9)] == ["-1"] * 4 for s in strings)


def test_top_k_is_sorted_and_consistent_with_the_tables(space: SearchSpace) -> None:
    fitness = Recorder(space)
    result = evolution_search(space, fitness, quantile_budget(space, 0.5), seed=2, topk=5)
    scores = [c.score for c in result.top]
    assert len(result.top) == 5 and scores == sorted(scores, reverse=True)
    matrix = space.to_matrix([c.arch for c in result.top])
    np.testing.assert_allclose(scores, fitness(matrix))
    np.testing.assert_allclose([c.flops for c in result.top], space.cost_table().flops(matrix))
    np.testing.assert_allclose([c.params for c in result.top], space.cost_table().params(matrix))
    scored = fitness.scored()
    assert result.top[0].score == pytest.approx(fitness(scored).max())
    best = [g.best for g in result.trajectory]
    assert best == sorted(best) and best[-1] == result.top[0].score


def test_deterministic_for_a_seed(space: SearchSpace) -> None:
    budget = quantile_budget(space, 0.5)

    def run(seed: int) -> tuple:
        result = evolution_search(space, Recorder(space), budget, seed=seed)
        return [c.arch for c in result.top], [(g.evaluated, g.best, g.top_mean) for g in result.trajectory]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_evolution_beats_random_search_on_a_distance_fitness(mobilenet: SearchSpace) -> None:
    budget = quantile_budget(mobilenet, 0.3)
    rng = np.random.default_rng(7)
    table = mobilenet.cost_table()
    target = next(a for a in iter(lambda: mobilenet.sample(rng), None)
                  if table.flops(mobilenet.to_matrix([a]))[0] <= budget)

    def fitness(archs: np.ndarray) -> np.ndarray:
        return -(archs != np.asarray(target)).sum(axis=1).astype(float)

    for seed in range(3):
        evolved = evolution_search(mobilenet, fitness, budget, seed=seed)
        reference = random_search(mobilenet, fitness, budget, seed=seed, evaluations=evolved.evaluated)
        assert evolved.top[0].score >= reference.top[0].score
        assert evolved.top[0].score >= -2  # 17 free layers: random search typically stays near -9
    assert reference.top[0].score <= -5


def test_nan_scores_rank_last(nats: SearchSpace) -> None:
    def fitness(archs: np.ndarray) -> np.ndarray:
        scores = archs.sum(axis=1).astype(float)
        scores[archs[:, 0] == 0] = np.nan
        return scores

    result = evolution_search(nats, fitness, None, EvolutionConfig(generations=3), seed=0, topk=3)
    assert all(np.isfinite(c.score) for c in result.top)


def test_an_impossible_budget_names_itself_and_the_minimum(space: SearchSpace) -> None:
    table = space.cost_table()
    minimum = table.flops_base + sum(np.min(table.flops_per_op[l, : len(c)]) for l, c in enumerate(space.choices))
    with pytest.raises(HarnessError) as info:
        evolution_search(space, Recorder(space), minimum * 0.99, seed=0)
    message = str(info.value)
    assert f"{minimum * 0.99:g}M" in message and f"{minimum:.4f}M" in message and "cheapest architecture" in message
    # nats-tss has many archs at the minimum (zero-FLOPs ops); spos-mobilenet one, which sampling misses
    if space.name == "nats-tss":
        result = random_search(space, Recorder(space), minimum + 1e-9, EvolutionConfig(generations=2), seed=0)
        assert result.min_flops == pytest.approx(minimum) and result.feasibility == "additive"
        assert result.top and all(c.flops <= minimum + 1e-9 for c in result.top)
    else:
        with pytest.raises(HarnessError, match="no architecture within the FLOPs budget"):
            random_search(space, Recorder(space), minimum + 1e-9, EvolutionConfig(generations=2), seed=0)


@dataclasses.dataclass(frozen=True)
class ShiftedTable(CostTable):
    """A non-additive table (a subclass): the search cannot take per-layer minima."""

    def flops(self, archs: np.ndarray) -> np.ndarray:
        return super().flops(archs) + 1000.0 * (np.atleast_2d(archs)[:, 0] == np.atleast_2d(archs)[:, 1])


@pytest.mark.parametrize("fixture, how", [("nats", "enumerated"), ("mobilenet", "sampled")])
def test_non_additive_tables_are_checked_by_enumeration_or_sampling(fixture: str, how: str, request,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    space = request.getfixturevalue(fixture)
    base = space.cost_table()
    shifted = ShiftedTable(base.flops_base, base.flops_per_op, base.params_base, base.params_per_op)
    monkeypatch.setattr(space, "cost_table", lambda: shifted)
    with pytest.raises(HarnessError, match=how if how == "sampled" else "all enumerated") as info:
        evolution_search(space, Recorder(space), base.flops_base / 2, seed=0)
    assert "not additive" in str(info.value) or how == "enumerated"
    result = evolution_search(space, Recorder(space), None, EvolutionConfig(generations=2), seed=0)
    assert result.feasibility == how


def test_evolution_config_is_validated() -> None:
    with pytest.raises(HarnessError, match="at most the population"):
        EvolutionConfig(population=40)
    with pytest.raises(HarnessError, match="unknown evolution setting"):
        EvolutionConfig.from_dict({"generation": 3})
    assert EvolutionConfig.from_dict({"generations": 3}).generations == 3
    assert dataclasses.astuple(EvolutionConfig())[:6] == (20, 50, 10, 25, 25, 0.1)


def test_paper_scale_search_with_a_lookup_fitness_stays_under_the_budget() -> None:
    """Its time is a benchmark's goal (`python -m benchmarks`: < 1 s), printed here, not asserted."""
    space = build_space("spos-mobilenet", dataset_shape("imagenet"))
    space.cost_table()  # counted once per process (seconds), not part of the search
    result = evolution_search(space, Recorder(space), 475.0, seed=0)
    print(f"paper-scale evolution: {result.evaluated} candidates in {result.wall_time_s:.3f} s "
          f"(fitness {result.score_time_s * 1e3:.2f} ms)")
    assert result.evaluated == 1000 and result.top[0].flops <= 475.0


# --- the command -------------------------------------------------------------------------------

SMOKE_CONFIG = {
    "dataset": {"name": "fashion-mnist", "resolution": 8, "train_images": 512, "val_images": 128,
                "test_images": 128},
    "spaces": {"nats-tss": {"C": 4, "N": 1}},
}


def test_search_command_writes_both_searches(tmp_path: Path, tiny_data, tiny_space: SearchSpace) -> None:
    config, data, supernet_dir = tmp_path / "run_config.json", tmp_path / "dataset.pt", tmp_path / "supernet"
    write_json(SMOKE_CONFIG, config)
    save_splits(tiny_data, data)
    supernet_dir.mkdir()
    torch.save(tiny_space.build_supernet().state_dict(), supernet_dir / "ckpt1.pt")
    write_json({"checkpoints": [{"checkpoint": 1, "epoch": 1.0, "step": 8, "time_s": 1.0}]},
               supernet_dir / "train.json")
    budget = quantile_budget(tiny_space, 0.5)
    out = tmp_path / "search.json"
    args = ["search", "--config", str(config), "--space", "nats-tss", "--method", "bnnas", "--seed", "0",
            "--data", str(data), "--supernet-dir", str(supernet_dir), "--flops-budget", str(budget),
            "--output", str(out)]
    assert main(args) == 0
    record = json.loads(out.read_text())
    assert record["checkpoint"]["checkpoint"] == 1 and record["flops_budget_M"] == budget
    for algorithm in ("evolution", "random"):
        result = record[algorithm]
        assert result["algorithm"] == algorithm and len(result["top"]) == 2
        assert result["evaluated"] == record["evolution"]["evaluated"] <= 1000
        for entry in result["top"]:
            assert tiny_space.encode(tiny_space.decode(entry["arch_str"])) == entry["arch_str"]
            assert entry["flops_M"] <= budget
    assert main(args[:-6] + ["--output", str(out)]) == 2  # no --supernet-dir for a supernet method


def test_search_result_record_is_json_serialisable(nats: SearchSpace) -> None:
    result: SearchResult = random_search(nats, Recorder(nats), None, EvolutionConfig(generations=2), seed=0)
    record = json.loads(json.dumps(result.to_record(nats)))
    assert record["evaluated"] == 100 and record["config"]["population"] == 50
    assert nats.decode(record["top"][0]["arch_str"]) == tuple(record["top"][0]["arch"])

"""Speed-up CIs from the measurement (harness.analysis.speedup): synthetic step and call times
where the answer is known, both ways, and the records they are read from."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from harness.analysis.power import CostModel, deciding_run
from harness.analysis.speedup import (SeedTimes, cpu_measurable, evaluation_speedup, evaluation_times, log_boundary,
                                      speedup, training_speedup, training_times)
from harness.errors import HarnessError

SPOS_STEPS, BNNAS_STEPS = 780, 78  # BN-NAS trains 10% of SPOS's steps


def seed_blocks(rng: np.random.Generator, steps: int, per_step: float, loaded: float, block: int) -> SeedTimes:
    """Blocks of `block` steps at `per_step` seconds each (5% noise per block); a `loaded` fraction of
    the blocks (a contiguous stretch: another job shared the cores then) ran 1.5x slower."""
    counts = np.full(math.ceil(steps / block), block)
    counts[-1] = steps - block * (counts.size - 1)
    seconds = counts * per_step * rng.lognormal(0, 0.05, counts.size)
    start = int(rng.integers(0, counts.size))
    slow = (np.arange(counts.size) - start) % counts.size < round(loaded * counts.size)
    return SeedTimes(counts, np.where(slow, 1.5 * seconds, seconds), steps)


def runs(true_speedup: float, seed: int = 0) -> tuple[list[SeedTimes], list[SeedTimes]]:
    """Two SPOS and two BN-NAS seeds whose per-seed totals are scattered by load (the second SPOS
    seed and the first BN-NAS seed shared the cores for 30% / 20% of their steps)."""
    rng = np.random.default_rng(seed)
    spos_step = 0.2
    bnnas_step = spos_step * SPOS_STEPS / BNNAS_STEPS / true_speedup
    spos = [seed_blocks(rng, SPOS_STEPS, spos_step, 0.0, 8), seed_blocks(rng, SPOS_STEPS, spos_step, 0.3, 8)]
    bnnas = [seed_blocks(rng, BNNAS_STEPS, bnnas_step, 0.2, 1), seed_blocks(rng, BNNAS_STEPS, bnnas_step, 0.0, 1)]
    return spos, bnnas


def two_seed_t_interval(spos: list[SeedTimes], bnnas: list[SeedTimes]) -> tuple[float, float]:
    """The rule this replaces: a t-interval on the log of the per-seed ratios (1 degree of freedom)."""
    logs = np.log([s.time / b.time for s, b in zip(spos, bnnas)])
    low, high = stats.t.interval(0.95, logs.size - 1, loc=logs.mean(), scale=stats.sem(logs))
    return math.exp(low), math.exp(high)


def test_a_15x_speedup_scattered_by_load_is_clearly_above_10():
    spos, bnnas = runs(15.0)
    ratios = [s.time / b.time for s, b in zip(spos, bnnas)]
    assert max(ratios) / min(ratios) > 1.2  # the seeds' totals disagree
    result = speedup(spos, bnnas, measure="wall")
    assert result.ci_low > 11 and result.ci_low < result.value < result.ci_high
    assert two_seed_t_interval(spos, bnnas)[0] < 10  # where two totals left it undecided


def test_a_true_8x_speedup_is_clearly_below_10():
    spos, bnnas = runs(8.0, seed=1)
    result = speedup(spos, bnnas, measure="wall")
    assert result.ci_high < 9.5 and result.ci_low < result.value < result.ci_high
    assert two_seed_t_interval(spos, bnnas)[1] > 10


def test_steady_timings_give_a_narrow_ci_around_the_true_ratio():
    """Without load the CI is a few per cent wide and holds the true ratio."""
    rng = np.random.default_rng(2)
    spos = [seed_blocks(rng, SPOS_STEPS, 0.2, 0.0, 8) for _ in range(3)]
    bnnas = [seed_blocks(rng, BNNAS_STEPS, 0.2 / 1.2, 0.0, 1) for _ in range(3)]
    result = speedup(spos, bnnas, measure="cpu", n_boot=1000)
    assert result.ci_low < 12.0 < result.ci_high and result.ci_high / result.ci_low < 1.05
    assert speedup(spos, bnnas, measure="cpu", n_boot=1000) == result  # deterministic


def test_seed_only_components_project_what_more_seeds_would_decide():
    spos, bnnas = runs(15.0)
    result = speedup(spos, bnnas, measure="wall")
    c = result.components
    assert (c.seeds, c.seeds_other, c.n) == (2, 2, 1) and c.variance() == pytest.approx(result.log_variance)
    assert c.variance(1, 8, 8) == pytest.approx(result.log_variance / 4)
    run = deciding_run(math.log(result.value), c, log_boundary(10), CostModel("CPU-s", per_seed=10, per_seed_other=160),
                       max_archs=1)
    assert run.decided and (run.seeds, run.seeds_other) == (2, 2)  # it is decided already
    assert result.as_dict()["var_seed"] == pytest.approx(c.var_seed)


def test_bad_input_is_a_clear_error():
    with pytest.raises(HarnessError, match="measure"):
        speedup(*runs(15.0), measure="gpu")
    with pytest.raises(HarnessError, match="non-empty"):
        SeedTimes(np.array([]), np.array([]), 1.0)


# ------------------------------------------------------------------------------- records


def train_record(steps: int, per_step: float, cpu: bool = True, device: str = "cpu") -> dict:
    blocks = [4] * (steps // 4)
    return {"steps": steps, "device": device, "train_time_s": steps * per_step * 1.1,
            "train_cpu_time_s": steps * per_step if cpu else None,
            "step_blocks": {"steps": blocks, "wall_s": [b * per_step * 1.1 for b in blocks],
                            "cpu_s": [b * per_step if cpu else None for b in blocks]}}


def test_training_times_from_step_blocks_and_without_them():
    record = train_record(40, 0.5)
    assert training_times(record, "wall").time == pytest.approx(22.0)
    assert training_times(record, "cpu").time == pytest.approx(20.0)
    old = {"steps": 40, "train_time_s": 30.0, "train_cpu_time_s": 25.0}  # written before blocks were kept
    assert training_times(old, "wall").time == 30.0 and training_times(old, "cpu").units.size == 1
    assert cpu_measurable([record, old]) and not cpu_measurable([record, train_record(40, 0.5, cpu=False)])
    assert not cpu_measurable([train_record(40, 0.5, device="cuda")])
    with pytest.raises(HarnessError, match="wall"):
        training_times(train_record(40, 0.5, cpu=False), "cpu")
    result = training_speedup([train_record(400, 0.5)] * 2, [train_record(40, 0.1)] * 2, measure="cpu", n_boot=200)
    assert result.value == pytest.approx(50.0) and result.ci_low == pytest.approx(50.0)


def test_evaluation_times_use_the_steady_calls():
    calls = [{"checkpoint": 0, "n_archs": 24, "seconds": 48.0, "cpu_seconds": 40.0, "steady": False},
             {"checkpoint": 1, "n_archs": 24, "seconds": 24.0, "cpu_seconds": 20.0, "steady": True},
             {"checkpoint": 2, "n_archs": 24, "seconds": 26.4, "cpu_seconds": 22.0, "steady": True}]
    record = {"n_archs": 24, "score_time_s": 26.4, "timed_calls": calls}
    assert evaluation_times(record, "wall").time == pytest.approx(1.05)
    assert evaluation_times(record, "cpu").time == pytest.approx(42 / 48)
    assert evaluation_times({"n_archs": 10, "score_time_s": 2.0}, "wall").time == pytest.approx(0.2)
    cheap = {"n_archs": 24, "timed_calls": [{"checkpoint": 0, "n_archs": 24, "seconds": 0.024,
                                             "cpu_seconds": 0.02, "steady": True}]}
    result = evaluation_speedup([record] * 2, [cheap] * 3, measure="wall", n_boot=200)
    assert result.value == pytest.approx(1050.0) and (result.seeds, result.seeds_baseline) == (3, 2)

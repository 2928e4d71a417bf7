"""Speed-ups (baseline time / method time) with CIs from what the runs measured.

A run's training time is the sum of thousands of step times, and its scoring time the sum of a
few timed calls over many architectures: a CI from the spread of two or three per-seed totals
(a t-interval with one or two degrees of freedom) says more about the t distribution than about
the measurement. Here each seed's time is resampled from its own pieces as well:

- training: the blocks of consecutive steps in train.json `step_blocks` (harness.training.step_timing);
  a seed's training time = its total steps x (seconds / steps over its blocks);
- evaluation: the steady timed calls in scoring.json `timed_calls` (harness.commands.score); a
  seed's per-architecture time = seconds / architectures over its calls.

The speed-up is the ratio of the two methods' seed means of those times, and its CI the
percentile interval of a hierarchical bootstrap: each replicate resamples each method's seeds
with replacement and, for every seed drawn, that seed's pieces with replacement (the two methods
independently). Properties worth knowing when reading it: with k seeds the seed level of the
bootstrap holds (k - 1)/k of the seeds' spread (half at two seeds), while the piece level adds the
within-seed noise a second time (it is already in the seeds' spread); where the seeds' times
differ by more than their pieces' noise (load on a shared host moving wall times), the CI is
about the range of the seeds' values, not the t-interval's 12.7 standard errors at two seeds.

Which seconds: CPU seconds measure the work on a CPU device and do not grow when other jobs share
the cores; use them when every compared run has them and ran on a CPU (`cpu_measurable`), wall
seconds otherwise. The caller says which (`measure`).

For "what run would decide it" (harness.analysis.power) each result carries the variance of its
log speed-up from each method's seeds, as seed-only components: V(k) = V0 k0 / k per method.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.analysis.metrics import percentile_ci
from harness.analysis.power import VarianceComponents, seed_only_components
from harness.errors import HarnessError

MEASURES = ("cpu", "wall")
N_BOOT = 2000


@dataclass(frozen=True)
class SeedTimes:
    """One seed's timed pieces: units (steps per block, or architectures per call) and seconds per
    piece; the seed's time is total_units x seconds / units (its total steps for a training time,
    1 for a per-architecture time)."""

    units: np.ndarray
    seconds: np.ndarray
    total_units: float

    def __post_init__(self) -> None:
        units, seconds = np.asarray(self.units, dtype=float), np.asarray(self.seconds, dtype=float)
        if units.ndim != 1 or units.shape != seconds.shape or units.size == 0:
            raise HarnessError(f"timed pieces need equal, non-empty units and seconds, got {units.shape} and "
                               f"{seconds.shape}")
        if not (np.isfinite(seconds).all() and (units > 0).all()):
            raise HarnessError("timed pieces need finite seconds and positive units")
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "seconds", seconds)

    @property
    def time(self) -> float:
        return float(self.total_units * self.seconds.sum() / self.units.sum())


@dataclass(frozen=True)
class SpeedUp:
    """baseline / method of the seed-mean times, its percentile CI (hierarchical bootstrap) and
    the seed-only variance components of its log (power.seed_only_components: `seeds` is the
    method's seed count, `seeds_other` the baseline's) for the projection."""

    value: float
    ci_low: float
    ci_high: float
    log_variance: float
    components: VarianceComponents
    seeds: int
    seeds_baseline: int
    measure: str

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci_low": self.ci_low, "ci_high": self.ci_high, "log_variance": self.log_variance,
                "seeds": self.seeds, "seeds_baseline": self.seeds_baseline, "measure": self.measure,
                **self.components.columns()}


def seed_mean_replicates(seeds: Sequence[SeedTimes], n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """n_boot replicates of the mean over seeds of the seeds' times: seeds drawn with replacement,
    then each drawn seed's pieces drawn with replacement (independently for every draw)."""
    k = len(seeds)
    if k == 0:
        raise HarnessError("no timed seed to bootstrap")
    # within[s][b, j]: seed s's time on its own piece resample for replicate b, position j
    within = []
    for times in seeds:
        pieces = rng.integers(0, times.units.size, size=(n_boot, k, times.units.size))
        within.append(times.total_units * times.seconds[pieces].sum(axis=2) / times.units[pieces].sum(axis=2))
    picks = rng.integers(0, k, size=(n_boot, k))
    stacked = np.stack(within)  # seeds x n_boot x k
    return stacked[picks, np.arange(n_boot)[:, None], np.arange(k)[None, :]].mean(axis=1)


def speedup(baseline: Sequence[SeedTimes], method: Sequence[SeedTimes], *, measure: str, n_boot: int = N_BOOT,
            confidence: float = 0.95, seed: int = 0) -> SpeedUp:
    """The speed-up of `method` over `baseline` (mean baseline time / mean method time, each over
    its seeds) with a hierarchical-bootstrap CI (module docstring); deterministic given `seed`."""
    if measure not in MEASURES:
        raise HarnessError(f"measure must be one of {MEASURES}, got {measure!r}")
    value = float(np.mean([t.time for t in baseline]) / np.mean([t.time for t in method]))
    base = seed_mean_replicates(baseline, n_boot, np.random.default_rng([seed, zlib.crc32(b"baseline")]))
    mine = seed_mean_replicates(method, n_boot, np.random.default_rng([seed, zlib.crc32(b"method")]))
    low, high = percentile_ci(base / mine, confidence)
    var_base, var_mine = float(np.var(np.log(base), ddof=1)), float(np.var(np.log(mine), ddof=1))
    components = seed_only_components(var_mine, len(method), var_base, len(baseline))
    return SpeedUp(value, low, high, var_base + var_mine, components, len(method), len(baseline), measure)


# ------------------------------------------------------------------------------- the records


def cpu_measurable(train_records: Sequence[Mapping[str, Any]]) -> bool:
    """Whether CPU seconds can be compared across these training records: every one trained on a
    CPU device and has CPU seconds for each of its blocks (or, without blocks, in total)."""
    def has_cpu(record: Mapping[str, Any]) -> bool:
        blocks = record.get("step_blocks")
        if blocks:
            return all(value is not None for value in blocks.get("cpu_s", [None]))
        return record.get("train_cpu_time_s") is not None

    return bool(train_records) and all(r.get("device", "cpu") == "cpu" and has_cpu(r) for r in train_records)


def training_times(record: Mapping[str, Any], measure: str) -> SeedTimes:
    """A train.json's blocks as SeedTimes (scaled to its total steps). A record without blocks
    (written before they were kept) is one piece: its whole training time."""
    blocks = record.get("step_blocks")
    key = "cpu_s" if measure == "cpu" else "wall_s"
    if blocks and blocks.get("steps"):
        seconds = blocks[key]
        if any(value is None for value in seconds):
            raise HarnessError(f"a training record has no CPU seconds for some blocks (device {record.get('device')}); "
                               "compare wall seconds (measure 'wall')")
        return SeedTimes(np.asarray(blocks["steps"], dtype=float), np.asarray(seconds, dtype=float), float(record["steps"]))
    total = record.get("train_cpu_time_s" if measure == "cpu" else "train_time_s")
    if total is None:
        raise HarnessError(f"a training record has no {'CPU' if measure == 'cpu' else 'wall'} time")
    return SeedTimes(np.array([float(record["steps"])]), np.array([float(total)]), float(record["steps"]))


def evaluation_times(record: Mapping[str, Any], measure: str) -> SeedTimes:
    """A scoring.json's steady timed calls as SeedTimes of seconds per architecture (all its calls
    when none is steady; a record without timed calls is one piece: its timed call)."""
    calls = record.get("timed_calls") or []
    steady = [call for call in calls if call.get("steady")] or calls
    key = "cpu_seconds" if measure == "cpu" else "seconds"
    if steady:
        return SeedTimes(np.array([float(c["n_archs"]) for c in steady]), np.array([float(c[key]) for c in steady]), 1.0)
    if measure == "cpu":
        raise HarnessError("a scoring record has no timed calls with CPU seconds; compare wall seconds (measure 'wall')")
    return SeedTimes(np.array([float(record["n_archs"])]), np.array([float(record["score_time_s"])]), 1.0)


def training_speedup(baseline: Sequence[Mapping[str, Any]], method: Sequence[Mapping[str, Any]], *, measure: str,
                     n_boot: int = N_BOOT, confidence: float = 0.95, seed: int = 0) -> SpeedUp:
    """The training speed-up from the two methods' train.json records (one per seed)."""
    return speedup([training_times(r, measure) for r in baseline], [training_times(r, measure) for r in method],
                   measure=measure, n_boot=n_boot, confidence=confidence, seed=seed)


def evaluation_speedup(baseline: Sequence[Mapping[str, Any]], method: Sequence[Mapping[str, Any]], *, measure: str,
                       n_boot: int = N_BOOT, confidence: float = 0.95, seed: int = 0) -> SpeedUp:
    """The per-architecture evaluation speed-up from the two methods' scoring.json records."""
    return speedup([evaluation_times(r, measure) for r in baseline], [evaluation_times(r, measure) for r in method],
                   measure=measure, n_boot=n_boot, confidence=confidence, seed=seed)


def log_boundary(threshold: float) -> float:
    """A speed-up threshold on the scale the components are on (the log)."""
    return math.log(threshold)

"""What one more architecture or one more seed costs, measured by this run: the prices of the
runs harness.analysis.deciding proposes. Seconds of job time on the run's device (CPU-s on a
CPU, GPU-s on a GPU: a job's wall time there)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.results.model import Results, Run


@dataclass(frozen=True)
class UnitCosts:
    unit: str
    cores: int
    retrain_per_arch: float | None  # adding one architecture to the retrained truth (with the run's repeats)
    train_per_seed: dict[str, float] = field(default_factory=dict)  # one supernet of a method
    score_per_arch: dict[str, float] = field(default_factory=dict)  # one arch at every checkpoint, one seed
    search_per_seed: dict[str, float] = field(default_factory=dict)  # one search + final retraining

    def seed_cost(self, method: str, archs: int) -> float | None:
        """One more seed of `method`: its supernet and its scores of `archs` architectures."""
        if method not in self.train_per_seed and method not in self.score_per_arch:
            return None
        return self.train_per_seed.get(method, 0.0) + archs * self.score_per_arch.get(method, 0.0)

    @property
    def search_seed_cost(self) -> float | None:
        if not self.search_per_seed:
            return None
        return sum(self.train_per_seed.get(m, 0.0) + s for m, s in self.search_per_seed.items())

    def describe(self, seconds: float | None) -> str:
        """` (about 3.2 CPU-h, 1.6 h on 2 cores)` for a cost in seconds; "" when unknown."""
        if seconds is None or not np.isfinite(seconds):
            return ""
        hours = seconds / 3600
        kind = self.unit.split("-")[0]
        if seconds < 60:
            return f" (about {seconds:,.0f} {self.unit})"
        if hours < 1:
            return f" (about {seconds / 60:,.0f} {kind}-min, {seconds / 60 / self.cores:,.0f} min on {self.cores} {self.slots})"
        return f" (about {hours:,.1f} {kind}-h, {hours / self.cores:,.1f} h on {self.cores} {self.slots})"

    @property
    def slots(self) -> str:
        return "GPUs" if self.unit.startswith("GPU") else "cores"


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(known)) if known else None


def _train_seconds(run: Run) -> float | None:
    if run.train is None:
        return None
    return run.train.train_cpu_time_s if run.train.train_cpu_time_s is not None else run.train.train_time_s


def _score_seconds_per_arch(run: Run) -> float | None:
    if run.scoring is None or not run.scoring.n_archs:
        return None
    total = run.scoring.raw.get("all_checkpoints_score_time_s", run.scoring.score_time_s)
    return None if total is None else float(total) / run.scoring.n_archs


def machine_slots(results: Results, unit: str) -> int:
    """How many jobs the run's machine runs at once: its CPU cores (the provenance job's record),
    or its GPUs; 1 when unknown."""
    hardware = (results.provenance or {}).get("hardware") or {}
    if unit.startswith("GPU"):
        return 1
    try:
        return max(1, int(hardware.get("CPU cores", 1)))
    except (TypeError, ValueError):
        return 1


def unit_costs(results: Results, space_name: str, *methods: str) -> UnitCosts:
    """Unit costs of `methods` on a space, from their runs' records and the retrained truth."""
    space = results.space(space_name)
    device = str((results.config or {}).get("device", "cpu"))
    unit = "GPU-s" if device.startswith("cuda") else "CPU-s"
    cores = machine_slots(results, unit)
    retrain = None
    if space is not None and space.retrain is not None and "train_time_s" in space.retrain.columns:
        archs = space.retrain["arch_id"].nunique()
        retrain = float(space.retrain["train_time_s"].sum()) / max(archs, 1)
    train, score, search = {}, {}, {}
    for method in methods:
        runs = space.runs_of(method) if space is not None and method else []
        if not runs:
            continue
        if (value := _mean([_train_seconds(r) for r in runs])) is not None:
            train[method] = value
        if (value := _mean([_score_seconds_per_arch(r) for r in runs])) is not None:
            score[method] = value
        searched = [r.search.wall_time_s + (float(r.final["train_time_s"].sum()) if r.final is not None
                                            and "train_time_s" in r.final.columns else 0.0)
                    for r in runs if r.search is not None]
        if searched:
            search[method] = float(np.mean(searched))
    return UnitCosts(unit=unit, cores=cores, retrain_per_arch=retrain, train_per_seed=train,
                     score_per_arch=score, search_per_seed=search)

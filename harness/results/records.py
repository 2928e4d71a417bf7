"""Typed records of what the jobs wrote: the method a run used (as recorded), its supernet
training, its scoring and its search. Each keeps the raw dict it was read from (`raw`) for the
provenance tables; analysis reads the typed fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.results.files import read_json_file

BN_NAS_FAMILY = "bn-nas"  # Method.family of BN-NAS and every variant of it


@dataclass(frozen=True)
class MethodParts:
    """A method as its job recorded it (harness.method.Method.describe()): the parts, not the
    registered object, so a config variant is judged as what it was."""

    name: str
    family: str | None = None
    kind: str | None = None
    baseline: str | None = None
    sampler: str | None = None
    trainable: str | None = None
    epoch_fraction: float = 1.0
    recipe: str | None = None
    scorer: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    space_knobs: dict[str, Any] = field(default_factory=dict)
    population_relative: bool = False
    stochastic: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, described: dict[str, Any] | None, name: str = "") -> "MethodParts":
        described = dict(described or {})
        return cls(
            name=str(described.get("name") or name), family=described.get("family"), kind=described.get("kind"),
            baseline=described.get("baseline"), sampler=described.get("sampler"),
            trainable=described.get("trainable"), epoch_fraction=float(described.get("epoch_fraction", 1.0)),
            recipe=described.get("recipe"), scorer=described.get("scorer"),
            options=dict(described.get("options") or {}), space_knobs=dict(described.get("space_knobs") or {}),
            population_relative=bool(described.get("population_relative", False)),
            stochastic=bool(described.get("stochastic", False)), raw=described,
        )

    @property
    def is_bn_nas(self) -> bool:
        """BN-NAS or a variant of it: the one test of "is this BN-NAS" (Method.family)."""
        return self.family == BN_NAS_FAMILY


@dataclass(frozen=True)
class TrainingRecord:
    """supernet/train.json: one supernet's training."""

    method: MethodParts
    steps: int | None
    epochs: float | None
    train_time_s: float | None
    train_cpu_time_s: float | None  # CPU seconds, only for a supernet trained on a CPU device
    device: str
    checkpoints: list[dict[str, Any]]
    trainable_params: int | None
    total_params: int | None
    step_blocks: dict[str, list[Any]] | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, raw: dict[str, Any], name: str = "") -> "TrainingRecord":
        device = str(raw.get("device", "cpu"))
        return cls(
            method=MethodParts.of(raw.get("method"), name), steps=raw.get("steps"), epochs=raw.get("epochs"),
            train_time_s=raw.get("train_time_s"),
            # on a GPU the process's CPU time is not the work: unknown there
            train_cpu_time_s=raw.get("train_cpu_time_s") if device.startswith("cpu") else None,
            device=device, checkpoints=list(raw.get("checkpoints") or []),
            trainable_params=raw.get("trainable_params"), total_params=raw.get("total_params"),
            step_blocks=raw.get("step_blocks"), raw=raw,
        )

    @property
    def final_checkpoint(self) -> dict[str, Any]:
        return self.checkpoints[-1] if self.checkpoints else {}

    @property
    def conv_count_determined(self) -> bool | None:
        """Whether the final scores order every pair of different conv counts as conv count does
        (gamma diagnostics of BN-indicator runs; None where not recorded)."""
        return self.final_checkpoint.get("conv_count_determined")


@dataclass(frozen=True)
class ScoringRecord:
    """scoring.json / all_scoring.json: how long scoring took."""

    method: MethodParts
    n_archs: int | None
    time_per_arch_s: float | None
    score_time_s: float | None
    timed_calls: list[dict[str, Any]]
    device: str
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, raw: dict[str, Any], name: str = "") -> "ScoringRecord":
        return cls(method=MethodParts.of(raw.get("method"), name), n_archs=raw.get("n_archs"),
                   time_per_arch_s=raw.get("time_per_arch_s"), score_time_s=raw.get("score_time_s"),
                   timed_calls=list(raw.get("timed_calls") or []), device=str(raw.get("device", "cpu")), raw=raw)


@dataclass(frozen=True)
class SearchRecord:
    """search.json: the evolutionary search of one run."""

    method: MethodParts
    top: list[dict[str, Any]]
    evaluated: int
    wall_time_s: float
    score_time_s: float
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def of(cls, raw: dict[str, Any], name: str = "") -> "SearchRecord":
        evolution = raw.get("evolution") or {}
        return cls(method=MethodParts.of(raw.get("method"), name), top=list(evolution.get("top") or []),
                   evaluated=int(evolution.get("evaluated", 0)), wall_time_s=float(evolution.get("wall_time_s", 0.0)),
                   score_time_s=float(evolution.get("score_time_s", 0.0)), raw=raw)


def read_train_record(path: str | Path, name: str = "") -> TrainingRecord:
    return TrainingRecord.of(read_json_file(path, "training record"), name)


def read_scoring_record(path: str | Path, name: str = "") -> ScoringRecord:
    return ScoringRecord.of(read_json_file(path, "scoring record"), name)


def read_search_record(path: str | Path, name: str = "") -> SearchRecord:
    raw = read_json_file(path, "search record")
    if not isinstance(raw, dict) or "top" not in (raw.get("evolution") or {}):
        raise HarnessError(f"{path} is not a readable search record (no evolution.top); rerun the search step")
    return SearchRecord.of(raw, name)


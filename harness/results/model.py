"""The results of one run, loaded through its manifest (harness.workflow.plan.build_manifest):
exactly the files of the runs the config plans, never whatever else lies in the results folder.
Every optional file that is missing is None, so analysis can say what is missing instead of
failing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness import paths
from harness.errors import HarnessError
from harness.results.files import optional_json, optional_table, read_json_file
from harness.results.records import (MethodParts, ScoringRecord, SearchRecord, TrainingRecord, read_scoring_record,
                                     read_search_record, read_train_record)


@dataclass
class Run:
    """One (method, seed) of a space; any of its files may be missing."""

    method: str
    seed: int
    train: TrainingRecord | None = None
    scoring: ScoringRecord | None = None
    scores: pd.DataFrame | None = None
    all_scoring: ScoringRecord | None = None  # scoring (a sample of) every architecture, final checkpoint
    search: SearchRecord | None = None
    final: pd.DataFrame | None = None

    @property
    def parts(self) -> MethodParts:
        """The method's parts as its training, scoring or search job recorded them."""
        for record in (self.train, self.scoring, self.search):
            if record is not None and record.method.raw:
                return record.method
        return MethodParts(name=self.method)

    @property
    def baseline(self) -> str:
        """The method its costs and ranking compare with: the recorded Method.baseline, or itself."""
        return self.parts.baseline or self.method

    def searched_top1_pct(self) -> float | None:
        """Retrained test top-1 (%) of the search's best architecture (final.csv rank 0)."""
        if self.final is None or self.final.empty:
            return None
        best = self.final[self.final["rank"] == 0]
        return 100 * float(best["test_acc"].iloc[0]) if len(best) else None


@dataclass
class SpaceResults:
    name: str
    archs: pd.DataFrame | None
    runs: list[Run]
    retrain: pd.DataFrame | None
    correlations: pd.DataFrame | None
    nats_records: list[dict[str, Any]] = field(default_factory=list)

    def runs_of(self, method: str) -> list[Run]:
        return [run for run in self.runs if run.method == method]

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(run.method for run in self.runs))


@dataclass
class Results:
    """Everything one run's manifest names."""

    root: Path
    manifest: dict[str, Any]
    config: dict[str, Any] | None
    dataset: dict[str, Any] | None
    spaces: list[SpaceResults]
    provenance: dict[str, Any] | None = None  # report/provenance.json: where the run ran

    @property
    def dataset_name(self) -> str | None:
        """The dataset the supernets were trained and scored on (the run's task)."""
        if self.dataset and self.dataset.get("dataset"):
            return str(self.dataset["dataset"])
        return ((self.config or {}).get("dataset") or {}).get("name")

    def space(self, name: str) -> SpaceResults | None:
        return next((space for space in self.spaces if space.name == name), None)


def _optional(root: Path, relative: str | None, reader: Any, *args: Any) -> Any:
    if not relative or not (root / relative).is_file():
        return None
    return reader(root / relative, *args)


def load_run(root: Path, entry: dict[str, Any]) -> Run:
    files = entry["files"]
    method = entry["method"]
    return Run(
        method=method,
        seed=int(entry["seed"]),
        train=_optional(root, files.get("train"), read_train_record, method),
        scoring=_optional(root, files.get("scoring"), read_scoring_record, method),
        scores=_optional(root, files.get("scores"), optional_table),
        all_scoring=_optional(root, files.get("all_scoring"), read_scoring_record, method),
        search=_optional(root, files.get("search"), read_search_record, method),
        final=_optional(root, files.get("final"), optional_table),
    )


def load_space(root: Path, entry: dict[str, Any]) -> SpaceResults:
    return SpaceResults(
        name=entry["name"],
        archs=_optional(root, entry.get("archs"), optional_table),
        runs=[load_run(root, run) for run in entry["runs"]],
        retrain=_optional(root, entry.get("retrain"), optional_table),
        correlations=_optional(root, entry.get("correlations"), optional_table),
        nats_records=[record for relative in entry.get("nats_records", [])
                      if (record := optional_json(root / relative)) is not None],
    )


def load_results(root: str | Path, manifest: dict[str, Any] | None = None) -> Results:
    """The run under `root` as its manifest (default: root/manifest.json) names it."""
    root = Path(root)
    if manifest is None:
        manifest = read_manifest(root / paths.MANIFEST)
    return Results(
        root=root,
        manifest=manifest,
        config=optional_json(root / manifest["run_config"]),
        dataset=optional_json(root / manifest["dataset_meta"]),
        spaces=[load_space(root, entry) for entry in manifest["spaces"]],
        provenance=optional_json(root / paths.REPORT_PROVENANCE),
    )


def read_manifest(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise_missing_manifest(path)
    manifest = read_json_file(path, "manifest")
    if not isinstance(manifest, dict) or "spaces" not in manifest:
        raise HarnessError(f"{path} is not a manifest (no 'spaces'); write one with "
                           "`python -m harness plan --config CONFIG --manifest --output FILE`")
    return manifest


def raise_missing_manifest(path: Path) -> None:
    raise HarnessError(f"{path}: no manifest of the runs to report; run the workflow, or write one with "
                       "`python -m harness plan --config CONFIG --manifest --output FILE`")


def report_dir(root: str | Path) -> Path:
    """Where the analysis and the rendered report live under a results folder."""
    return Path(root) / Path(paths.REPORT_HTML).parent

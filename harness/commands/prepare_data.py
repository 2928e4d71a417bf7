"""prepare-data: read the dataset's official files, split and resize them, save them with provenance."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness.data.datasets import DataConfig, load_dataset
from harness.data.store import save_splits
from harness.errors import HarnessError
from harness.io import read_json, write_json

NAME = "prepare-data"
HELP = "Read the dataset's official files, split and resize them, and save the splits with provenance."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--spec", help="the job's spec (JSON text or file; `python -m harness plan` prints it)")
    parser.add_argument("--config", type=Path, help="run config JSON; its key 'dataset' holds the data config "
                                                    "(instead of --spec)")
    parser.add_argument("--output", required=True, type=Path, help="where to write the splits (e.g. results/data/dataset.pt)")
    parser.add_argument("--meta", required=True, type=Path, help="where to write the provenance (e.g. results/data/dataset.json)")


def _dataset_section(path: Path) -> dict[str, Any]:
    try:
        config = read_json(path)
    except FileNotFoundError as exc:
        raise HarnessError(f"run config {path} does not exist; pass the run config with --config") from exc
    except json.JSONDecodeError as exc:
        raise HarnessError(f"run config {path} is not valid JSON ({exc}); fix or regenerate it") from exc
    if not isinstance(config, dict) or "dataset" not in config:
        raise HarnessError(f"run config {path} has no key 'dataset'; add the dataset section (name, train_images, ...)")
    return config["dataset"]


def run(args: argparse.Namespace) -> int:
    if args.spec:
        from harness.workflow.job import job_spec

        section = job_spec(args, "prepare_data")["config"]["dataset"]
    elif args.config is None:
        raise HarnessError("pass --spec (or --config, the run config)")
    else:
        section = _dataset_section(args.config)
    if isinstance(section, dict) and section.get("name") == "imagenet":
        # ImageNet stays on disk: the output is a manifest of its files that load_splits reads.
        from harness.data.imagenet import prepare

        return prepare(section, args.output, args.meta)
    cfg = DataConfig.from_dict(section)
    start = time.perf_counter()
    splits = load_dataset(cfg)
    seconds = time.perf_counter() - start
    meta: dict[str, Any] = {"config": asdict(cfg), "load_seconds": round(seconds, 3), **splits.describe()}
    save_splits(splits, args.output)  # the record is whole before either output is written
    write_json(meta, args.meta)
    sizes = splits.provenance["sizes"]
    print(
        f"{cfg.name}: train {sizes['train']}, val {sizes['val']}, test {sizes['test']} images at "
        f"{splits.input_shape.resolution}px from {splits.provenance['root']} in {seconds:.1f} s -> {args.output}"
    )
    return 0

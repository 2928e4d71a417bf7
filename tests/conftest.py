"""Shared fixtures: a tiny real dataset (Fashion-MNIST from Debian's package) and a tiny space."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.data import DataConfig, DataSplits, load_dataset
from harness.shapes import dataset_shape
from harness.spaces import build_space
from harness.spaces.base import SearchSpace

TINY_DATA = {"name": "fashion-mnist", "root": None, "resolution": 8, "train_images": 512,
             "val_images": 128, "test_images": 128, "split_seed": 0, "augment": True}


@pytest.fixture(scope="session")
def tiny_data() -> DataSplits:
    return load_dataset(DataConfig.from_dict(TINY_DATA))


@pytest.fixture(scope="session")
def tiny_space() -> SearchSpace:
    return build_space("nats-tss", dataset_shape("fashion-mnist", 8), C=4, N=1)


@pytest.fixture(scope="session")
def shared_nats_dir() -> Path:
    """The shared NATS-Bench tables ($NATS_BENCH_SHARED, default ../shared/data/nats-bench next
    to the repo). Missing data is a failure, never a skip: these tests guard real values."""
    repo_root = Path(__file__).resolve().parents[1]
    path = Path(os.environ.get("NATS_BENCH_SHARED", repo_root.parent / "shared" / "data" / "nats-bench"))
    if not path.is_dir():
        pytest.fail(f"NATS-Bench shared data not found: looked in {path} "
                    "(set NATS_BENCH_SHARED to the folder holding nb201_tss_wide.csv)")
    return path


SMOKE_CONFIG = Path(__file__).resolve().parents[1] / "config" / "smoke.yaml"


def smoke_overrides(shared_nats_dir: Path) -> dict:
    """The --config of the smoke run: the shared NATS-Bench table as a second ground truth."""
    return {"nats_bench": {"csv": {"nats-tss": str(shared_nats_dir / "nb201_tss_wide.csv")},
                           "all_archs_methods": ["bnnas", "params"]}}


def smoke_command(workdir: Path, overrides: dict, *options: str) -> list[str]:
    """`snakemake OPTIONS --configfile config/smoke.yaml OVERRIDES.yaml`: the overrides go in a YAML
    file (Snakemake reads nested --config values as strings), written to `workdir`."""
    root = Path(__file__).resolve().parents[1]
    override_file = workdir / f"overrides-{abs(hash(json.dumps(overrides, sort_keys=True)))}.yaml"
    override_file.write_text(yaml.safe_dump(overrides))
    return ["snakemake", "--snakefile", str(root / "Snakefile"), *options, "--configfile", str(SMOKE_CONFIG),
            str(override_file)]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, shared_nats_dir) -> Path:
    """The smoke workflow, with the shared NATS-Bench table configured as a second ground truth
    (tests/test_workflow.py reads its results; tests/test_plan.py dry-runs config changes on it)."""
    workdir = tmp_path_factory.mktemp("smoke")
    done = subprocess.run(smoke_command(workdir, smoke_overrides(shared_nats_dir), "--cores", "2"),
                          cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir / "results" / "smoke"

"""Shared fixtures: a tiny real dataset (Fashion-MNIST from Debian's package), a tiny space, and
the smoke workflow's run (once per session, for the workflow, report and browser tests)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.data import DataConfig, DataSplits, load_dataset
from harness.nats_bench_bundled import FULL_TABLE, HP12_TABLE, bundled_path
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
def nats_wide_csv() -> Path:
    """The bundled NATS-Bench nats-tss table (200 epochs; xz-compressed package data)."""
    return bundled_path(FULL_TABLE)


@pytest.fixture(scope="session")
def nats_hp12_csv() -> Path:
    """The bundled NATS-Bench nats-tss 12-epoch table."""
    return bundled_path(HP12_TABLE)


def shared_nats_dir() -> Path:
    """Where the shared NATS-Bench tables may lie beside the clone ($NATS_BENCH_SHARED, default
    ../shared/data/nats-bench); only the test comparing the bundled copy with them reads it."""
    repo_root = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("NATS_BENCH_SHARED", repo_root.parent / "shared" / "data" / "nats-bench"))


ROOT = Path(__file__).resolve().parents[1]
SMOKE_CONFIG = ROOT / "config" / "smoke.yaml"


def run_snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["snakemake", "--snakefile", str(ROOT / "Snakefile"), *args],
                          cwd=cwd, capture_output=True, text=True)


SMOKE_EXTRA = {"nats_bench": {"all_archs_methods": ["bnnas", "params", "spos"], "sample": {"supernet": 20}},
               "seeds_by_kind": {"bn_indicator": 2}, "search": {"seeds": 2}}


def smoke_args(workdir: Path) -> list[str]:
    """The smoke run's config arguments: config/smoke.yaml plus SMOKE_EXTRA, written to a file in
    `workdir` (`--config` would pass nested numbers as strings)."""
    extra = workdir / "smoke-extra.yaml"
    extra.write_text(json.dumps(SMOKE_EXTRA))
    return ["--configfile", str(SMOKE_CONFIG), str(extra)]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """The smoke workflow judged against the bundled NATS-Bench table (no source configured), with
    BN-NAS, params and SPOS also scored over the benchmark (SPOS on a 20-arch sample) and BN-NAS
    trained with two seeds (seeds_by_kind); shared by the workflow, report and browser tests."""
    workdir = tmp_path_factory.mktemp("smoke")
    done = run_snakemake("--cores", "2", *smoke_args(workdir), cwd=workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir / "results" / "smoke"

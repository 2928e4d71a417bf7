"""Shared fixtures: a tiny real dataset (Fashion-MNIST from Debian's package) and a tiny space."""

from __future__ import annotations

import os
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

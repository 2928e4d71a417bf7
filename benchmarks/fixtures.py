"""What several benchmarks build the same way: the default config's network and data, the
NATS-Bench-size network, and random data of a given shape (for timing only)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
import yaml

from harness.workflow.config import validate_config
from harness.data.datasets import DataConfig, DataSplits, load_dataset
from harness.workflow.runs import configured_space
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.data.shapes import InputShape
from harness.spaces.base import SearchSpace

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG_PATH = REPO_ROOT / "config" / "config.yaml"
# NATS-Bench's network: C=16, N=5 on 32 px CIFAR-10 images.
PAPER_SHAPE: InputShape = dataset_shape("cifar10")
PAPER_KNOBS: dict[str, int] = {"C": 16, "N": 5}


@functools.lru_cache(maxsize=1)
def default_config() -> dict[str, Any]:
    """config/config.yaml, validated and defaulted exactly as a run sees it."""
    return validate_config(yaml.safe_load(DEFAULT_CONFIG_PATH.read_text()))


def default_space() -> SearchSpace:
    return configured_space(default_config(), "nats-tss")


@functools.lru_cache(maxsize=1)
def default_data() -> DataSplits:
    """The default config's real dataset (Fashion-MNIST at 16 px), loaded once per process."""
    return load_dataset(DataConfig.from_dict(default_config()["dataset"]))


def paper_space() -> SearchSpace:
    """nats-tss at NATS-Bench size (C=16, N=5, 32 px, 3 channels, 10 classes)."""
    return build_space("nats-tss", PAPER_SHAPE, **PAPER_KNOBS)


def random_splits(shape: InputShape, *, train: int, val: int, seed: int = 0) -> DataSplits:
    """Random uint8 images of `shape` with random labels: right shape and dtype for timing, no
    signal. Used where no dataset of that shape is installed (CIFAR-10 is not, here)."""
    generator = torch.Generator().manual_seed(seed)

    def images(n: int) -> torch.Tensor:
        return torch.randint(0, 256, (n, shape.channels, shape.resolution, shape.resolution),
                             dtype=torch.uint8, generator=generator)

    def labels(n: int) -> torch.Tensor:
        return torch.randint(0, shape.classes, (n,), generator=generator)

    return DataSplits(
        dataset="random", train_x=images(train), val_x=images(val), test_x=images(1),
        train_y=labels(train), val_y=labels(val), test_y=labels(1),
        mean=(0.5,) * shape.channels, std=(0.25,) * shape.channels, input_shape=shape,
        augment=False, provenance={"dataset": "random uint8 images (timing only)"},
    )


def random_batch(shape: InputShape, batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, shape.channels, shape.resolution, shape.resolution, generator=generator)
    y = torch.randint(0, shape.classes, (batch,), generator=generator)
    return x, y

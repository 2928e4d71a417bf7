"""GPU: supernet training throughput at paper size with bf16 autocast and channels_last.

The network is BN-NAS's ImageNet space (spos-mobilenet, 224 px, batch 512 as the BN-NAS code)
when harness.spaces has it, else nats-tss at NATS-Bench size (C=16, N=5, 32 px, batch 256).
Each step is the real `_train_step` (uniform single path) inside torch.autocast(bfloat16), on
random images already on the device (data loading excluded). Both trainable rules are timed:
"all" (SPOS) and "bn" (BN-NAS).

Goal (BN-only): the paper's 0.8 GPU-days for BN-NAS on ImageNet, if all spent on its 10 supernet
epochs (12.8M images), is 12.8e6 / (0.8 x 86,400 s) = 185 images/s; a modern GPU should beat it.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from benchmarks.core import Figure, Goal
from benchmarks.fixtures import PAPER_KNOBS, PAPER_SHAPE
from harness.devices import synchronize
from harness.training.optim import make_sgd, select_trainable
from harness.data.shapes import dataset_shape
from harness.spaces import build_space, space_names
from harness.spaces.base import SearchSpace
from harness.training.supernet import SupernetRecipe, _train_step

NAME = "gpu"
DESCRIPTION = "GPU: supernet training throughput at paper size (bf16 autocast, channels_last)"

PAPER_IMAGES_PER_S = 12.8e6 / (0.8 * 86_400)
RECIPE = SupernetRecipe(epochs=1, batch_size=512, lr=0.25, lr_schedule="linear", min_lr=5e-4, momentum=0.9,
                        nesterov=False, weight_decay=0.0, label_smoothing=0.1, grad_clip=5.0, curve_points=1)


@dataclass(frozen=True)
class Sizes:
    steps: int
    warmup: int


FULL = Sizes(steps=20, warmup=5)
TINY = Sizes(steps=1, warmup=1)


def paper_network() -> tuple[SearchSpace, int]:
    """(space, batch size): BN-NAS's ImageNet space if registered, else NATS-Bench's network."""
    if "spos-mobilenet" in space_names():
        return build_space("spos-mobilenet", dataset_shape("imagenet")), 512
    return build_space("nats-tss", PAPER_SHAPE, **PAPER_KNOBS), 256


def throughput(space: SearchSpace, device: torch.device, batch: int, rule: str, sizes: Sizes,
               bf16: bool = True, channels_last: bool = True) -> float:
    """Images per second of supernet training steps (uniform paths) on `device`."""
    supernet = space.build_supernet().to(device)
    if channels_last:
        supernet = supernet.to(memory_format=torch.channels_last)
    trainable = select_trainable(supernet, rule)
    optimizer = make_sgd(supernet, trainable, lr=RECIPE.lr, momentum=RECIPE.momentum, nesterov=RECIPE.nesterov,
                         weight_decay=RECIPE.weight_decay)
    shape = space.input_shape  # type: ignore[attr-defined]  (every registered space has one)
    images = torch.randn(batch, shape.channels, shape.resolution, shape.resolution, device=device)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    labels = torch.randint(0, shape.classes, (batch,), device=device)
    criterion = nn.CrossEntropyLoss(label_smoothing=RECIPE.label_smoothing)
    recipe = dataclasses.replace(RECIPE, batch_size=batch)
    rng = np.random.default_rng(0)

    def step() -> None:
        batches = iter([(images, labels)])
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            _train_step(supernet, space, [space.sample(rng)], batches, criterion, optimizer, trainable, recipe, device,
                        what="gpu benchmark", epoch=0, step=0)

    supernet.train()
    for _ in range(sizes.warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(sizes.steps):
        step()
    synchronize(device)
    return batch * sizes.steps / (time.perf_counter() - start)


def run(sizes: Sizes) -> list[Figure]:
    goal = Goal(">=", round(PAPER_IMAGES_PER_S))
    names = ("GPU supernet training throughput, BN-only (BN-NAS)", "GPU supernet training throughput, all weights (SPOS)")
    if not torch.cuda.is_available():
        note = ("no GPU here (torch.cuda.is_available() is False): not measured. On a GPU this times "
                "spos-mobilenet (224 px, batch 512) or nats-tss C=16 N=5 with bf16 autocast and channels_last; "
                f"goal: the paper's 0.8 GPU-days for 10 ImageNet epochs = {PAPER_IMAGES_PER_S:.0f} images/s")
        return [Figure(names[0], float("nan"), "images/s", goal, note),
                Figure(names[1], float("nan"), "images/s", None, note)]
    device = torch.device("cuda")
    space, batch = paper_network()
    how = (f"{space.name} at {space.input_shape.resolution} px (random images on the GPU), batch {batch}, real "
           f"_train_step with uniform paths under bf16 autocast, channels_last, {sizes.warmup} warm-up + "
           f"{sizes.steps} timed steps on {torch.cuda.get_device_name(device)}")
    bn = throughput(space, device, batch, "bn", sizes)
    full = throughput(space, device, batch, "all", sizes)
    return [Figure(names[0], bn, "images/s", goal if space.name == "spos-mobilenet" else None,
                   f"{how}; goal = the paper's 0.8 GPU-days for 10 ImageNet epochs"),
            Figure(names[1], full, "images/s", None, how)]

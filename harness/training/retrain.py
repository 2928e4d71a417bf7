"""Ground truth by retraining: an architecture trained from scratch with a scaled NATS-Bench
recipe (SGD Nesterov, cosine lr to 0, weight decay, crop+flip), then top-1 on the test split."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from harness.data.datasets import DataSplits
from harness.training.optim import check_finite, lr_factor, make_sgd
from harness.seeding import derive_seed, seed_everything
from harness.spaces.base import Arch, SearchSpace


@dataclass(frozen=True)
class RetrainRecipe:
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    grad_clip: float | None

    @classmethod
    def from_dict(cls, section: dict[str, Any]) -> "RetrainRecipe":
        return cls(**{f.name: section[f.name] for f in fields(cls)})


@torch.no_grad()
def accuracy(model: nn.Module, data: DataSplits, split: str, device: torch.device, batch_size: int = 500) -> float:
    model.eval()
    correct = total = 0
    for images, labels in data.batches(split, batch_size):
        correct += int((model(images.to(device)).argmax(1) == labels.to(device)).sum())
        total += len(labels)
    return correct / total


def retrain(space: SearchSpace, arch: Arch, data: DataSplits, recipe: RetrainRecipe, *, seed: int,
            device: torch.device) -> dict[str, Any]:
    """Train `arch` from scratch and return its record (what was trained, how, and the result)."""
    seed_everything(seed)
    model = space.build_subnet(arch).to(device)
    optimizer = make_sgd(model, model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=True,
                         weight_decay=recipe.weight_decay)
    criterion = nn.CrossEntropyLoss()
    steps_per_epoch = len(data.train_y) // recipe.batch_size
    total = recipe.epochs * steps_per_epoch
    started = time.perf_counter()
    step = 0
    for epoch in range(recipe.epochs):
        model.train()
        generator = torch.Generator().manual_seed(derive_seed(seed, "epoch", epoch))
        for images, labels in data.batches("train", recipe.batch_size, generator=generator, drop_last=True):
            loss = criterion(model(images.to(device)), labels.to(device))
            check_finite(loss, what=f"{space.name} arch {space.encode(arch)}", epoch=epoch, step=step)
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr * lr_factor(step, total, "cosine", recipe.lr, 0.0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            step += 1
    train_time = time.perf_counter() - started
    test_acc, val_acc = accuracy(model, data, "test", device), accuracy(model, data, "val", device)
    return {
        "arch_str": space.encode(arch),
        "seed": seed,
        "test_acc": test_acc,
        "val_acc": val_acc,
        **asdict(recipe),
        "train_images": len(data.train_y),
        "test_images": len(data.test_y),
        "train_time_s": train_time,
        "eval_time_s": time.perf_counter() - started - train_time,
        "threads": torch.get_num_threads(),
        "device": str(device),
    }

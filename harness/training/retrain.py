"""Ground truth by retraining: an architecture trained from scratch with a scaled NATS-Bench
recipe (SGD Nesterov, cosine lr to 0, weight decay, crop+flip), then top-1 on the test split."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import nn

from harness.data.datasets import DataSplits, on_device
from harness.devices import Compute, synchronize
from harness.training.optim import lr_factor, make_sgd
from harness.training.supernet import FiniteCheck
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
def accuracy(model: nn.Module, data: DataSplits, split: str, device: torch.device, batch_size: int = 500,
             compute: Compute = Compute()) -> float:
    """Top-1 on a split; the count of correct images stays on the device until the end (one sync)."""
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    total = 0
    for images, labels in data.batches(split, batch_size):
        with compute.autocast(device):
            logits = model(compute.batch(images.to(device)))
        correct += (logits.argmax(1) == labels.to(device)).sum()
        total += len(labels)
    return int(correct) / total


def retrain(space: SearchSpace, arch: Arch, data: DataSplits, recipe: RetrainRecipe, *, seed: int,
            device: torch.device, compute: Compute = Compute()) -> dict[str, Any]:
    """Train `arch` from scratch and return its record (what was trained, how, and the result).
    As in supernet training, on a GPU the batches are made there and the loss is checked for
    finiteness without a sync per step (harness.training.supernet.FiniteCheck)."""
    seed_everything(seed)
    data = on_device(data, device)  # a no-op when the caller moved it already
    model = compute.model(space.build_subnet(arch).to(device))
    optimizer = make_sgd(model, model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=True,
                         weight_decay=recipe.weight_decay)
    criterion = nn.CrossEntropyLoss()
    steps_per_epoch = len(data.train_y) // recipe.batch_size
    total = recipe.epochs * steps_per_epoch
    started = time.perf_counter()
    step = 0
    finite = FiniteCheck(device)
    for epoch in range(recipe.epochs):
        model.train()
        generator = torch.Generator().manual_seed(derive_seed(seed, "epoch", epoch))
        for images, labels in data.batches("train", recipe.batch_size, generator=generator, drop_last=True):
            with compute.autocast(device):
                loss = criterion(model(compute.batch(images.to(device))), labels.to(device))
            finite.add(loss, what=f"{space.name} arch {space.encode(arch)}", epoch=epoch, step=step)
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr * lr_factor(step, total, "cosine", recipe.lr, 0.0)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
            optimizer.step()
            step += 1
    finite.flush()
    synchronize(device)
    train_time = time.perf_counter() - started
    test_acc, val_acc = (accuracy(model, data, split, device, compute=compute) for split in ("test", "val"))
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
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "compute": compute.name(),
    }

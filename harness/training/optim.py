"""Optimiser, learning-rate schedule and parameter selection shared by supernet training and
retraining (one place for each of these facts)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn

from harness.errors import HarnessError
from harness.registry import Registry
from harness.spaces.base import Supernet

BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d)
# A registry (harness.registry): a new file adds a trainable rule with `@register_trainable("name")`
# on a function supernet -> the parameters it trains (e.g. in the methods/ file whose method uses
# it), or an installed package under the entry-point group bnnas_harness.trainable.
TrainableRule = Callable[[Supernet], Iterable[nn.Parameter]]
TRAINABLE_RULES: Registry[TrainableRule] = Registry(
    "trainable rule", group="bnnas_harness.trainable",
    how_to_add="Register one with @register_trainable(\"name\") (harness.training.optim) in a methods/ file, "
               "or in an installed package's entry point in group bnnas_harness.trainable.",
)
register_trainable = TRAINABLE_RULES.register
"""Decorator: `@register_trainable("name")` registers a trainable rule (a method's `trainable` part)."""


@register_trainable("all")
def all_parameters(supernet: Supernet) -> Iterable[nn.Parameter]:
    """Every parameter (SPOS, FairNAS)."""
    return supernet.parameters()


@register_trainable("bn")
def bn_parameters(supernet: Supernet) -> Iterable[nn.Parameter]:
    """Every BatchNorm's gamma and beta (BN-NAS paper: "only train BN parameters")."""
    return [p for m in supernet.modules() if isinstance(m, BN_TYPES) for p in m.parameters()]


@register_trainable("last_bn")
def last_bn_parameters(supernet: Supernet) -> Iterable[nn.Parameter]:
    """Only the last BN of each candidate op (BN-NAS official code)."""
    bns = (last_bn(op) for per_layer in supernet.candidate_ops() for instances in per_layer for op in instances)
    return [p for bn in bns if bn is not None for p in bn.parameters()]


def last_bn(module: nn.Module) -> nn.BatchNorm2d | None:
    """The last BatchNorm of a candidate op (in registration order, which is forward order)."""
    found = [m for m in module.modules() if isinstance(m, BN_TYPES)]
    return found[-1] if found else None


def select_trainable(supernet: Supernet, rule: str) -> list[nn.Parameter]:
    """Freeze everything the rule (TRAINABLE_RULES) does not train (requires_grad=False, so
    autograd skips those weight gradients) and return the trainable parameters."""
    trained = {id(p) for p in TRAINABLE_RULES.get(rule)(supernet)}
    for p in supernet.parameters():
        p.requires_grad_(id(p) in trained)
    return [p for p in supernet.parameters() if p.requires_grad]


def make_sgd(model: nn.Module, params: Iterable[nn.Parameter], *, lr: float, momentum: float,
             nesterov: bool, weight_decay: float) -> torch.optim.SGD:
    """SGD with weight decay on conv/linear weights only (never on BN parameters or biases)."""
    params = list(params)
    if not params:
        raise HarnessError("nothing to train: the trainable rule selected no parameters")
    decayed = {id(p) for name, p in model.named_parameters() if p.ndim > 1}
    groups = [
        {"params": [p for p in params if id(p) in decayed], "weight_decay": weight_decay},
        {"params": [p for p in params if id(p) not in decayed], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)


def lr_factor(step: int, total_steps: int, schedule: str, lr: float, min_lr: float) -> float:
    """Multiplier of the initial lr at `step` (0-based) of `total_steps`: cosine or linear to min_lr."""
    progress = min(step / max(total_steps, 1), 1.0)
    if schedule == "cosine":
        value = min_lr + (lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))
    elif schedule == "linear":
        value = lr - (lr - min_lr) * progress
    else:
        raise HarnessError(f"unknown lr schedule {schedule!r}; use cosine or linear")
    return value / lr


def check_finite(loss: torch.Tensor, *, what: str, epoch: int, step: int) -> None:
    if not torch.isfinite(loss):
        raise HarnessError(
            f"loss became {loss.item()} while training {what} at epoch {epoch}, step {step}; "
            "lower the learning rate or enable gradient clipping, then rerun"
        )

"""Scorers: (context, archs) -> one score per architecture, higher = better.

validation_accuracy  SPOS protocol: reset BN statistics, recalibrate them in train mode on
                     training batches, then top-1 accuracy on validation images (BN in eval mode).
bn_indicator         BN-NAS: score[layer, choice] = sum over the candidate's instances of the
                     mean over channels of |gamma| of its last BN; an architecture's score is the
                     plain sum over layers of its choices' scores - one vectorised gather.
                     Options (BN_INDICATOR_OPTIONS, their defaults declared once, in
                     methods/bnnas.py's Method.options): statistic (abs_gamma, gamma, beta,
                     abs_beta), no_bn_score (the score of a candidate without a scored BN) and
                     zero_op: "parameter_free" scores an op whose BN only ever sees zeros (NATS
                     `none` + BN in the BN-after-every-op ablation: its gamma cannot train and
                     stays 1.0) as a parameter-free op (no_bn_score); "bn" scores that BN's gamma
                     like any other.

validation_accuracy's options (recalibration_batches, recalibration_batch_size, batch_size,
validation_images) are config's `scoring` section (config/schema.yaml declares their defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.errors import HarnessError
from harness.method import METHOD_REGISTRY, ScoreContext
from harness.training.optim import BN_TYPES, last_bn
from harness.spaces.base import Supernet, sees_only_zeros

BN_STATISTICS = {
    "abs_gamma": lambda bn: bn.weight.detach().abs().mean(),
    "gamma": lambda bn: bn.weight.detach().mean(),
    "beta": lambda bn: bn.bias.detach().mean(),
    "abs_beta": lambda bn: bn.bias.detach().abs().mean(),
}


ZERO_OP_RULES = ("parameter_free", "bn")
BN_INDICATOR_OPTIONS = ("statistic", "no_bn_score", "zero_op")


def indicator_options(options: Mapping[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    """The BN indicator's options (BN_INDICATOR_OPTIONS) from a method's options and overrides;
    any they lack are BN-NAS's, declared once in methods/bnnas.py (a scoring context always
    carries a BN-NAS method's own; a supernet of another family, e.g. SPOS's, has its gammas
    diagnosed as BN-NAS would score them)."""
    given = {**(options or {}), **overrides}
    declared = METHOD_REGISTRY.get("bnnas").options
    return {name: given[name] if name in given else declared[name] for name in BN_INDICATOR_OPTIONS}


def scored_bns(supernet: Supernet, zero_op: str | None = None) -> list[list[list[nn.BatchNorm2d]]]:
    """scored_bns(...)[layer][choice]: the BNs whose gammas score that candidate (the last
    affine BN of each instance); empty for a parameter-free candidate and, with
    zero_op="parameter_free", for one whose BN only ever sees zeros (never trained).
    zero_op None: BN-NAS's (indicator_options)."""
    zero_op = indicator_options()["zero_op"] if zero_op is None else zero_op
    if zero_op not in ZERO_OP_RULES:
        raise HarnessError(f"bn_indicator option zero_op={zero_op!r}; use one of {', '.join(ZERO_OP_RULES)}")
    return [[[bn for bn in (last_bn(op) for op in instances
                            if zero_op == "bn" or not sees_only_zeros(op)) if bn is not None and bn.affine]
             for instances in per_choice]
            for per_choice in supernet.candidate_ops()]


def bn_score_table(supernet: Supernet, options: Mapping[str, Any] | None = None, **overrides: Any) -> np.ndarray:
    """table[layer, choice]: the BN-NAS op score of every candidate (no_bn_score where the op
    has no scored BN, e.g. zero, skip, pooling in NATS-Bench), under the BN indicator options in
    `options` and `overrides` (the rest BN-NAS's: indicator_options)."""
    chosen = indicator_options(options, **overrides)
    statistic, no_bn_score = chosen["statistic"], float(chosen["no_bn_score"])
    if statistic not in BN_STATISTICS:
        raise HarnessError(f"bn_indicator option statistic={statistic!r}; use one of {', '.join(BN_STATISTICS)}")
    stat = BN_STATISTICS[statistic]
    bns = scored_bns(supernet, chosen["zero_op"])
    table = np.full((len(bns), max(len(c) for c in bns)), np.nan)
    for layer, per_choice in enumerate(bns):
        for choice, found in enumerate(per_choice):
            table[layer, choice] = float(sum(stat(bn) for bn in found)) if found else no_bn_score
    return table


def score_table_for(supernet: Supernet, options: Mapping[str, Any]) -> np.ndarray:
    """bn_score_table under a method's options (see indicator_options)."""
    return bn_score_table(supernet, options)


def bn_indicator(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    if ctx.supernet is None:
        raise HarnessError("bn_indicator needs a trained supernet")
    table = score_table_for(ctx.supernet, ctx.options)
    return table[np.arange(table.shape[0])[None, :], archs].sum(axis=1)


def validation_accuracy(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """SPOS evaluation of every arch with inherited weights. The same recalibration and validation
    batches are used for every architecture (materialised once)."""
    if ctx.supernet is None:
        raise HarnessError("validation_accuracy needs a trained supernet")
    opts = ctx.options
    generator = torch.Generator().manual_seed(ctx.seed)
    size, count = int(opts["recalibration_batch_size"]), int(opts["recalibration_batches"])
    recal = list(ctx.data.batches("train", size, generator=generator, augment=False, drop_last=True,
                                  limit=size * count))
    val = list(ctx.data.batches("val", int(opts["batch_size"]), limit=int(opts["validation_images"])))
    recal = [(x.to(ctx.device), y) for x, y in recal]
    val = [(x.to(ctx.device), y.to(ctx.device)) for x, y in val]
    return np.array([_accuracy_after_recalibration(ctx.supernet, tuple(int(a) for a in arch), recal, val)
                     for arch in archs])


@torch.no_grad()
def _accuracy_after_recalibration(supernet: Supernet, arch: tuple[int, ...], recal: list, val: list) -> float:
    bns = [m for m in supernet.modules() if isinstance(m, BN_TYPES)]
    if recal:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the recalibration batches
        supernet.train()
        for images, _ in recal:
            supernet(images, arch)
    supernet.eval()
    correct = total = 0
    for images, labels in val:
        correct += int((supernet(images, arch).argmax(1) == labels).sum())
        total += len(labels)
    return correct / total


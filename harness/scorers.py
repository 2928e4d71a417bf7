"""Scorers: (context, archs) -> one score per architecture, higher = better.

validation_accuracy  SPOS protocol: reset BN statistics, recalibrate them in train mode on
                     training batches, then top-1 accuracy on validation images (BN in eval mode).
bn_indicator         BN-NAS: score[layer, choice] = sum over the candidate's instances of the
                     mean over channels of |gamma| of its last BN; an architecture's score is the
                     plain sum over layers of its choices' scores - one vectorised gather.
"""

from __future__ import annotations

import numpy as np
import torch

from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.optim import BN_TYPES, last_bn
from harness.spaces.base import Supernet

BN_STATISTICS = {
    "abs_gamma": lambda bn: bn.weight.detach().abs().mean(),
    "gamma": lambda bn: bn.weight.detach().mean(),
    "beta": lambda bn: bn.bias.detach().mean(),
    "abs_beta": lambda bn: bn.bias.detach().abs().mean(),
}


def bn_score_table(supernet: Supernet, statistic: str = "abs_gamma", no_bn_score: float = 0.0) -> np.ndarray:
    """table[layer, choice]: the BN-NAS op score of every candidate (no_bn_score where the op
    has no BN, e.g. zero, skip, pooling in NATS-Bench)."""
    if statistic not in BN_STATISTICS:
        raise HarnessError(f"bn_indicator option statistic={statistic!r}; use one of {', '.join(BN_STATISTICS)}")
    stat = BN_STATISTICS[statistic]
    ops = supernet.candidate_ops()
    table = np.full((len(ops), max(len(c) for c in ops)), np.nan)
    for layer, per_choice in enumerate(ops):
        for choice, instances in enumerate(per_choice):
            bns = [bn for bn in (last_bn(op) for op in instances) if bn is not None and bn.affine]
            table[layer, choice] = float(sum(stat(bn) for bn in bns)) if bns else no_bn_score
    return table


def bn_indicator(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    if ctx.supernet is None:
        raise HarnessError("bn_indicator needs a trained supernet")
    table = bn_score_table(ctx.supernet, ctx.options.get("statistic", "abs_gamma"),
                           float(ctx.options.get("no_bn_score", 0.0)))
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


"""plain (NASLib zerocost): sum over conv/linear weights of dL/dw * w (signed), one seeded
training batch, at initialisation (train-mode BN). Sign: higher = better (as NASLib ranks it)."""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, one_batch, weight_layers


def plain_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """plain (NASLib zerocost): sum over conv/linear weights of dL/dw * w (signed; snip is its
    absolute value), L the cross-entropy of one batch (train mode)."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x.clone()), y).backward()
    with torch.no_grad():
        return float(sum((layer.weight.grad * layer.weight).sum()
                         for layer in weight_layers(model) if layer.weight.grad is not None))


@zero_cost_proxy(name="plain", stochastic=True)
def plain_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = sum g * w over conv/linear weights on one batch (sign: higher = better)"""
    x, y = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(plain_score, x=x, y=y))

"""grad_norm (Abdelfattah et al. 2021): sum over conv and linear layers of the L2 norm of the
cross-entropy gradient of their weight, on one seeded training batch, at initialisation
(train-mode BN). Sign: higher = better (the raw sum of norms)."""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, one_batch, weight_layers


def grad_norm_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """sum over conv/linear layers of ||dL/dw||_2, L the cross-entropy of one batch (train mode)."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x.clone()), y).backward()
    with torch.no_grad():
        return float(sum(layer.weight.grad.norm() for layer in weight_layers(model)
                         if layer.weight.grad is not None))


@zero_cost_proxy(name="grad_norm", stochastic=True)
def grad_norm_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = sum of per-layer gradient L2 norms on one batch (sign: higher = better)"""
    x, y = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(grad_norm_score, x=x, y=y))

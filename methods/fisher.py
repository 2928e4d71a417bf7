"""fisher (Turner et al. 2020, NASLib zerocost): sum over conv/linear layers and channels of
0.5 * mean over images of (sum over pixels of activation * its gradient)^2, one seeded training
batch, at initialisation (train-mode BN). Sign: higher = better (as NASLib ranks it)."""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, one_batch, weight_layers


def fisher_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """fisher (Turner et al. 2020, NASLib zerocost): for every conv/linear layer with output a
    and cross-entropy gradient dL/da, per channel k: 0.5 * mean over images of (sum over pixels
    of a * dL/da)^2; the score sums over channels and layers. Train mode."""
    outputs: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for layer in weight_layers(model)]
    model.train()
    model.zero_grad(set_to_none=True)
    try:
        loss = F.cross_entropy(model(x.clone()), y)
    finally:
        for hook in hooks:
            hook.remove()
    outputs = [a for a in outputs if a.requires_grad]
    grads = torch.autograd.grad(loss, outputs, allow_unused=True) if outputs else []
    total = 0.0
    for a, g in zip(outputs, grads):
        if g is None:
            continue
        g_nk = (a.detach() * g).sum(dim=tuple(range(2, a.dim()))) if a.dim() > 2 else a.detach() * g
        total += float(0.5 * g_nk.double().pow(2).mean(dim=0).sum())
    return total


@zero_cost_proxy(name="fisher", stochastic=True)
def fisher_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = sum over channels of 0.5 E[(sum a dL/da)^2] on one batch (sign: higher = better)"""
    x, y = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(fisher_score, x=x, y=y))

"""grasp (Wang et al. 2020, NASLib zerocost): -sum over conv/linear weights of w * (H g), g the
cross-entropy gradient and H the Hessian of one seeded training batch, at initialisation
(train-mode BN). Sign: higher = better (as NASLib ranks it)."""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, one_batch, weight_layers


def grasp_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """GraSP (Wang et al. 2020, NASLib zerocost): -sum over conv/linear weights of w * (H g), g
    the cross-entropy gradient of one batch and H the Hessian (Hg by double backpropagation of
    g_const . g(w)). Train mode."""
    model.train()
    model.zero_grad(set_to_none=True)
    weights = [layer.weight for layer in weight_layers(model)]
    g = torch.autograd.grad(F.cross_entropy(model(x.clone()), y), weights, allow_unused=True)
    g_graph = torch.autograd.grad(F.cross_entropy(model(x.clone()), y), weights, create_graph=True, allow_unused=True)
    terms = [(a.detach() * b).sum() for a, b in zip(g, g_graph) if a is not None and b is not None]
    z = torch.stack(terms).sum() if terms else None
    if z is None or not z.requires_grad:
        return 0.0
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    with torch.no_grad():
        return float(-sum((w * h).sum() for w, h in zip(weights, hg) if h is not None))


@zero_cost_proxy(name="grasp", stochastic=True)
def grasp_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = -sum w * Hg on one batch (sign: higher = better)"""
    x, y = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(grasp_score, x=x, y=y))

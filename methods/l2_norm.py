"""l2_norm (NASLib zerocost): sum over conv/linear layers of the L2 norm of the weight at
initialisation (each subnet built after seeding torch). No data. Sign: higher = better."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import each_arch, weight_layers


def l2_norm_score(model: nn.Module) -> float:
    """l2_norm (NASLib zerocost): sum over conv/linear layers of the L2 (Frobenius) norm of the
    weight at initialisation. No data."""
    with torch.no_grad():
        return float(sum(layer.weight.norm() for layer in weight_layers(model)))


@zero_cost_proxy(name="l2_norm", stochastic=True)
def l2_norm_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """no supernet; score = sum of per-layer weight L2 norms at initialisation (sign: higher = better)"""
    return each_arch(ctx, archs, l2_norm_score)

"""jacob_cov (Mellor et al. 2021 v1): -sum(log(v + k) + 1/(v + k)), k = 1e-5, v the eigenvalues
of the correlation matrix of the input jacobians of one seeded training batch, at
initialisation (train-mode BN). Sign: higher = better (as in the paper: less correlated
jacobians score higher)."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, input_jacobians, one_batch

JACOB_COV_K = 1e-5


def jacob_cov_score(model: nn.Module, x: torch.Tensor, k: float = JACOB_COV_K) -> float:
    """Mellor et al. 2021 (v1): J = d(sum of logits)/d(input) per image (train mode), C = the
    correlation matrix of the rows of J, v its eigenvalues; score = -sum(log(v + k) + 1/(v + k)).
    Undefined correlations (an image whose jacobian is constant, e.g. a network whose output does
    not depend on its input) count as 0, which gives the lowest scores; eigenvalues are clipped
    at 0 (C is positive semi-definite; rounding can make the smallest slightly negative)."""
    jacobian = input_jacobians(model, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.nan_to_num(np.corrcoef(jacobian), nan=0.0)
    v = np.clip(np.linalg.eigvalsh(corr), 0.0, None)
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


@zero_cost_proxy(name="jacob_cov", stochastic=True)
def jacob_cov_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = jacobian-covariance score on one batch (sign: higher = better)"""
    x, _ = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(jacob_cov_score, x=x))

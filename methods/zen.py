"""Zen-NAS score (Lin et al., ICCV 2021, as NASLib's zerocost computes it): Gaussian
re-initialisation, one seeded Gaussian batch x and noise e; log of the mean over images of
sum |f(x) - f(x + 0.01 e)| (f = features before the global pool) plus sum over BN layers of
log sqrt(mean running variance). No data. Sign: higher = better."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, gaussian_batch, gaussian_init


def pre_pool_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input of the network's global average pool (the first nn.AdaptiveAvgPool2d)."""
    pool = next((m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)), None)
    if pool is None:
        raise HarnessError(f"zen needs the features before the global average pool; {type(model).__name__} "
                           "has no nn.AdaptiveAvgPool2d")
    captured: list[torch.Tensor] = []
    hook = pool.register_forward_pre_hook(lambda _m, inputs: captured.append(inputs[0]))
    try:
        model(x)
    finally:
        hook.remove()
    return captured[0]


def zen_score(model: nn.Module, x: torch.Tensor, noise: torch.Tensor, mixup_gamma: float) -> float:
    """Zen-NAS (Lin et al. 2021) as NASLib's zerocost computes it: Gaussian re-initialisation,
    train mode; f = the pre-pool features; score = log(mean over images of sum |f(x) -
    f(x + gamma * noise)|) + sum over BatchNorm2d layers of log sqrt(mean running_var), the
    running variances as the two forward passes left them (fresh BN, momentum as built)."""
    gaussian_init(model).train()
    with torch.no_grad():
        diff = (pre_pool_features(model, x) - pre_pool_features(model, x + mixup_gamma * noise)).abs()
        # A network whose features ignore the input (e.g. cells that output zeros) has no
        # difference: log 0 is floored at log(smallest positive double) (-708), below any real score.
        score = float(np.log(max(float(diff.flatten(1).sum(dim=1).double().mean()), np.finfo(np.float64).tiny)))
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d) and module.running_var is not None:
                score += float(torch.log(torch.sqrt(module.running_var.mean())))
    return score


@zero_cost_proxy(name="zen", stochastic=True)
def zen_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE,
               mixup_gamma: float = 0.01) -> np.ndarray:
    """no supernet; score = Zen-NAS log expressivity of pre-pool features under Gaussian perturbation plus
    BN scaling (sign: higher = better)"""
    x = gaussian_batch(ctx, batch_size)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(ctx.seed + 1)).to(x.device)
    return each_arch(ctx, archs, functools.partial(zen_score, x=x, noise=noise, mixup_gamma=float(mixup_gamma)))

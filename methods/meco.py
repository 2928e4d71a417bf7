"""MeCo (Jiang et al., NeurIPS 2023): sum over modules of the smallest eigenvalue of the
channel correlation matrix of the module's feature map for one seeded training image, at
initialisation (train-mode BN). Sign: higher = better."""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import each_arch, one_batch


def meco_score(model: nn.Module, x: torch.Tensor) -> float:
    """MeCo (Jiang et al. 2023): for every module whose output is a tensor of 2+ dimensions, the
    first sample's output reshaped to (channels, -1), its channel-by-channel Pearson correlation
    matrix (NaN/inf entries set to 0, as in the official code) and that matrix's smallest
    eigenvalue; the score is the sum over modules (the network itself included). Train mode."""
    values: list[float] = []

    def record(_module: nn.Module, _inputs: tuple, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.dim() >= 2:
            feature = out[0].detach().double()
            feature = feature.reshape(feature.shape[0], -1)
            with warnings.catch_warnings():  # a one-column feature: corrcoef warns, then NaN -> 0
                warnings.simplefilter("ignore", UserWarning)
                corr = torch.nan_to_num(torch.corrcoef(feature), nan=0.0, posinf=0.0, neginf=0.0)
            values.append(float(torch.linalg.eigvalsh(corr.reshape(len(feature), len(feature)))[0]))

    hooks = [module.register_forward_hook(record) for module in model.modules()]
    model.train()
    try:
        with torch.no_grad():
            model(x.clone())
    except ValueError as error:  # train-mode BN on one value per channel
        raise HarnessError(f"meco: the network cannot run on a batch of {len(x)} in train mode ({error}); "
                           "raise meco's batch_size option") from error
    finally:
        for hook in hooks:
            hook.remove()
    return float(np.nansum(values))


@zero_cost_proxy(name="meco", stochastic=True)
def meco_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = 1) -> np.ndarray:
    """no supernet; score = sum over modules of the minimum eigenvalue of the channel correlation of one
    image's feature map (sign: higher = better)"""
    x, _ = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(meco_score, x=x))

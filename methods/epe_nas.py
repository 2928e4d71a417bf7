"""epe_nas (Lopes et al. 2021, NASLib zerocost): per class c of one seeded training batch, the
sum s_c of log(|corr| + 1e-5) over the correlation matrix of that class's input jacobians, at
initialisation (train-mode BN); score = sum over classes of |s_c|. Sign: higher = better (as
NASLib ranks it)."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, input_jacobians, input_shape, one_batch

EPE_NAS_K = 1e-5


def epe_nas_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int, k: float = EPE_NAS_K) -> float:
    """EPE-NAS (Lopes et al. 2021, NASLib zerocost): J the input jacobians of one batch (as
    jacob_cov), per class c present in the batch s_c = sum over entries of log(|corr(J_c)| + k)
    (corr over that class's images); score = sum_c |s_c| for up to 100 classes, else the mean
    over present classes of sum_c' |s_c - s_c'| with each s_c divided by its matrix size.
    Undefined correlations (a constant jacobian: the network does not tell the images apart)
    count as 1, which scores lowest (NASLib's score would be NaN)."""
    jacobian = input_jacobians(model, x)
    labels = y.cpu().numpy()
    per_class = []
    for c in np.unique(labels):
        rows = jacobian[labels == c]
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.nan_to_num(np.atleast_2d(np.corrcoef(rows)), nan=1.0)
        s = float(np.sum(np.log(np.abs(corr) + k)))
        per_class.append(s / len(corr) if num_classes > 100 else s)
    s = np.asarray(per_class)
    if num_classes <= 100:
        return float(np.abs(s).sum())
    return float(np.abs(s[:, None] - s[None, :]).sum() / len(s))


@zero_cost_proxy(name="epe_nas", stochastic=True)
def epe_nas_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = per-class jacobian-correlation score on one batch (sign: higher = better)"""
    x, y = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(epe_nas_score, x=x, y=y, num_classes=input_shape(ctx).classes))

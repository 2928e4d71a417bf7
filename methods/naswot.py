"""naswot (Mellor et al. 2021, "NAS without training" v2): log|det K| of the kernel of binary
ReLU codes of one seeded training batch, at initialisation (train-mode BN). A singular kernel
(e.g. cells that output zeros whatever the input) scores -1, below every non-singular one
(log det >= 0 for an integer kernel). Sign: higher = better (as in the paper)."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, one_batch

# naswot of a singular kernel (two images with the same codes everywhere, e.g. a network whose
# cells output zeros whatever the input): log det would be -inf; this finite value ranks it below
# every non-singular kernel, whose entries are integers, so |det| >= 1 and log det >= 0.
NASWOT_SINGULAR = -1.0


def naswot_score(model: nn.Module, x: torch.Tensor) -> float:
    """Mellor et al. 2021 (v2): K[i, j] = number of ReLU units on which images i and j have the
    same binary code (input > 0), over every nn.ReLU of the network; score = log|det K|.
    A singular K (two images with identical codes everywhere) scores NASWOT_SINGULAR (-1)."""
    n = len(x)
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def count(_module: nn.Module, inputs: tuple) -> None:
        codes = (inputs[0].detach().reshape(n, -1) > 0).double()
        kernel.add_(codes @ codes.T).add_((1 - codes) @ (1 - codes).T)

    # A pre-hook sees the input before an in-place ReLU overwrites it.
    hooks = [m.register_forward_pre_hook(count) for m in model.modules() if isinstance(m, nn.ReLU)]
    model.train()
    try:
        with torch.no_grad():
            model(x.clone())  # a copy: an in-place op must not overwrite the shared batch
    finally:
        for hook in hooks:
            hook.remove()
    sign, logdet = np.linalg.slogdet(kernel.cpu().numpy())
    return float(logdet) if sign > 0 and np.isfinite(logdet) else NASWOT_SINGULAR


@zero_cost_proxy(name="naswot", stochastic=True)
def naswot_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = log|det K| of ReLU binary codes on one batch (sign: higher = better)"""
    x, _ = one_batch(ctx, batch_size)
    return each_arch(ctx, archs, functools.partial(naswot_score, x=x))

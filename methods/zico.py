"""ZiCo (Li et al., ICLR 2023): sum over conv/linear layers of log(sum over weights of
mean|g| / std), over two seeded training batches at initialisation (train-mode BN).

Option `form`: "paper" (the paper's equation: std of |g|, gradients zeroed per batch, the
default) or "official" (SLDGroup/ZiCo's code: std of the signed g, gradients accumulated over
the batches). Sign: higher = better."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import each_arch, seeded_batches, weight_layers

ZICO_FORMS = ("paper", "official")


def zico_score(model: nn.Module, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], form: str) -> float:
    """ZiCo (Li et al. 2023): sum over conv/linear layers of log( sum over the layer's weights of
    mean|g| / std(g) ), mean and (population) std over the batches, g the cross-entropy gradient
    of the weight (train mode); weights with std 0 are left out and a layer whose sum is 0 adds
    nothing, as in the official code.

    form="paper": the paper's equation, std of |g|, gradients zeroed before each batch.
    form="official": SLDGroup/ZiCo's code, std of the signed g, gradients NOT zeroed between
    batches (batch k's "gradient" is the running sum of batches 1..k)."""
    if form not in ZICO_FORMS:
        raise HarnessError(f"zico: unknown form {form!r}; use one of {ZICO_FORMS}")
    model.train()
    model.zero_grad(set_to_none=True)
    layers = weight_layers(model)
    grads: list[list[torch.Tensor]] = [[] for _ in layers]
    for x, y in batches:
        if form == "paper":
            model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x.clone()), y).backward()
        for per_layer, layer in zip(grads, layers):
            if layer.weight.grad is not None:
                per_layer.append(layer.weight.grad.detach().flatten().double().clone())
    total = 0.0
    for per_layer in grads:
        if len(per_layer) != len(batches):  # a layer the loss does not reach
            continue
        g = torch.stack(per_layer)
        std = (g.abs() if form == "paper" else g).std(dim=0, unbiased=False)
        kept = std != 0
        ratio = float((g.abs().mean(dim=0)[kept] / std[kept]).sum())
        if ratio != 0:
            total += float(np.log(ratio))
    return total


@zero_cost_proxy(name="zico", stochastic=True)
def zico_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = 128, batches: int = 2,
                form: str = "paper") -> np.ndarray:
    """no supernet; score = ZiCo, sum of log inverse coefficients of variation of gradients over 2 batches
    (sign: higher = better)"""
    data = seeded_batches(ctx, int(batches), batch_size)
    return each_arch(ctx, archs, functools.partial(zico_score, batches=data, form=str(form)))

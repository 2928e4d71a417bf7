"""synflow (Tanaka et al. 2020) under the zero-cost protocol of Abdelfattah et al. 2021: each
subnet built after seeding torch with the run's seed, BN layers removed, float64, |weights|, an
all-ones input of the dataset's shape; score = sum over conv/linear weights of |w * dR/dw|,
R = sum of the output. No data. Sign: higher = better (the raw synflow value)."""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Hashable, Sequence

import numpy as np
import torch
from torch import nn

from harness.data.shapes import InputShape
from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import input_shape, per_arch, scoring_workers, single_thread, weight_layers
from harness.spaces.base import SearchSpace


def strip_batchnorm(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm (any dimension) by nn.Identity, in place; returns the model."""
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(model, name, nn.Identity())
        else:
            strip_batchnorm(child)
    return model


def synflow_score(model: nn.Module, input_shape: InputShape, *, inplace: bool = False) -> float:
    """SynFlow as in Abdelfattah et al. 2021 (zero-cost NAS): the network without BN layers, in
    float64, every parameter replaced by its absolute value, one all-ones input of the dataset's
    shape (batch 1); R = sum of the output; score = sum over conv and linear weights (not biases)
    of |w * dR/dw|. Needs no data. The model is copied first unless inplace=True (then it is
    left BN-free, float64 and with |weights|). Runs on the model's device with one CPU thread."""
    if not inplace:
        model = copy.deepcopy(model)
    strip_batchnorm(model).eval()  # eval: no BN left, but dropout (if any) must not sample
    with torch.no_grad():  # float64 and |w| in one pass (cheaper than .double() then abs_())
        for tensor in itertools.chain(model.parameters(), model.buffers()):
            if tensor.is_floating_point():
                tensor.data = tensor.data.to(torch.float64).abs_()
            tensor.grad = None
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    x = torch.ones(1, input_shape.channels, input_shape.resolution, input_shape.resolution,
                   dtype=torch.float64, device=device)
    with single_thread():
        model(x).sum().backward()
        weights = [layer.weight for layer in weight_layers(model) if layer.weight.grad is not None]
        if not weights:
            return 0.0
        with torch.no_grad():  # sum over layers of ||w * dR/dw||_1, two batched calls
            products = torch._foreach_mul([w.detach() for w in weights], [w.grad for w in weights])
            return float(torch.stack(torch._foreach_norm(products, 1)).sum())


def synflow_over_space(space: SearchSpace, input_shape: InputShape,
                       archs: Sequence[Sequence[int]] | np.ndarray | None = None, *, seed: int = 0,
                       groups: Sequence[Hashable] | None = None,
                       device: torch.device | str = "cpu", workers: int = 1) -> np.ndarray:
    """synflow of `archs` (default: every architecture of the space, in space.enumerate() order),
    each subnet built after torch.manual_seed(seed), on one CPU thread (`workers` processes).

    `groups` (one key per arch) lets architectures known to compute the same function (isomorphic
    cells, e.g. NAS-Bench-201's `unique_str`) share one computation: the others of a group take
    the value of its first member, which differs from computing them afresh only by the random
    init (a different module layout draws different weights). The space does not say which
    architectures are isomorphic, so without `groups` every architecture is computed."""
    archs = list(space.enumerate()) if archs is None else archs
    with single_thread():
        return per_arch(space, archs, seed, functools.partial(synflow_score, input_shape=input_shape, inplace=True),
                        device, groups, workers)


@zero_cost_proxy(name="synflow")
def synflow_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """no supernet; score = synflow at init (no BN, float64, all-ones input) (sign: higher = better)"""
    return synflow_over_space(ctx.space, input_shape(ctx), archs, seed=ctx.seed, device=ctx.device,
                              workers=scoring_workers(ctx))

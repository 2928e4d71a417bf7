"""AZ-NAS (Lee & Ham, CVPR 2024; official code cvlab-yonsei/AZ-NAS, NB201 notebook protocol):
expressivity, progressivity and trainability of the network re-initialised (kaiming normal,
fan in) on one batch of Gaussian noise (train-mode BN), plus complexity (FLOPs); the score is
the sum over the four of log(rank / m), ranks within the m architectures scored together.

Population-relative: an architecture's score depends on which others are scored with it, so
scores compare only within one scoring job. Sign: higher = better."""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, each_arch, gaussian_batch, kaiming_fan_in_init

AZ_NAS_EPS = 1e-8        # the official code's log(p + 1e-8) in the eigenvalue entropy
AZ_NAS_SIGMA_EPS = 1e-6  # and its 1 / (sigma + 1e-6) in the trainability term


def feature_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks whose outputs AZ-NAS compares, in forward order: the stem and every cell or
    reduction block of a NATS-Bench network (stem + cells); the stem, the first MBConv and every
    chosen non-identity op of a MobileNet subnet (an identity layer is no block)."""
    stem = getattr(model, "stem", None)
    if stem is not None and hasattr(model, "cells"):
        return [stem, *model.cells]
    if stem is not None and hasattr(model, "layers") and hasattr(model, "first"):
        chosen = [op for layer in model.layers for op in layer.values() if not isinstance(op, nn.Identity)]
        return [stem, model.first, *chosen]
    raise HarnessError(f"AZ-NAS needs a network made of a stem and blocks (stem + cells, or stem + first + "
                       f"layers); {type(model).__name__} is neither")


def block_features(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every feature block (in forward order) for input x, graph kept."""
    features: list[torch.Tensor] = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: features.append(out)) for block in feature_blocks(model)]
    try:
        model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return features


def eigen_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance of a (b, c, h, w) feature
    (pixels as samples): AZ-NAS's expressivity of one block. NaN for an all-constant feature."""
    channels = feature.shape[1]
    flat = feature.detach().movedim(1, -1).reshape(-1, channels)
    flat = flat - flat.mean(dim=0, keepdim=True)
    sigma = flat.T @ flat / len(flat)
    eigenvalues = torch.linalg.eigvalsh(sigma)
    p = eigenvalues / eigenvalues.sum()
    return float((-p * torch.log(p + AZ_NAS_EPS)).sum())


def block_trainability(f_in: torch.Tensor, f_out: torch.Tensor) -> float:
    """AZ-NAS's trainability of one block: g_out a random +-1 tensor, g_in = J^T g_out (J the
    block's jacobian, pixel-unshuffled to f_out's resolution when the block downsamples), M the
    (c_in x c_out) mean of g_in g_out^T over pixels, s its largest singular value; the term is
    -s - 1/(s + 1e-6) + 2 (0 at s = 1, negative elsewhere). A block that passes the gradient
    through unchanged (an identity) scores -inf, as in the official code."""
    g_out = (torch.bernoulli(torch.full_like(f_out, 0.5)) - 0.5) * 2
    if f_out is f_in:
        return float("-inf")
    g_in = None
    if f_out.requires_grad and f_in.requires_grad:
        (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)
    if g_in is None:  # f_out does not depend on f_in (e.g. a cell that outputs zeros)
        g_in = torch.zeros_like(f_in)
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return float("-inf")
    if g_in.shape[2:] != g_out.shape[2:]:
        stride = g_in.shape[2] // g_out.shape[2]
        g_in = F.pixel_unshuffle(g_in[..., :g_out.shape[2] * stride, :g_out.shape[3] * stride], stride)
    g_in = g_in.movedim(1, -1).reshape(-1, g_in.shape[1])
    g_out = g_out.movedim(1, -1).reshape(-1, g_out.shape[1])
    s = float(torch.linalg.matrix_norm(g_in.T @ g_out / len(g_out), ord=2))
    return -s - 1.0 / (s + AZ_NAS_SIGMA_EPS) + 2.0


def az_nas_components(model: nn.Module, x: torch.Tensor) -> tuple[float, float, float]:
    """(expressivity, progressivity, trainability) of AZ-NAS (Lee & Ham 2024) as its official
    NB201 code computes them: the model re-initialised (kaiming normal, fan in), train-mode BN
    (batch statistics), input x (Gaussian noise in the official protocol).

    expressivity   sum over blocks (stem and every cell/block output) of eigen_entropy
    progressivity  the smallest increase of eigen_entropy from one block to the next
    trainability   mean over consecutive block pairs of block_trainability
    A NaN component (e.g. a network whose cells output zeros) is -inf, as in the official code."""
    kaiming_fan_in_init(model).train()
    features = block_features(model, x)
    if len(features) < 2:
        raise HarnessError(f"AZ-NAS needs at least two feature blocks; the network has {len(features)}")
    entropies = np.array([eigen_entropy(f) for f in features])
    expressivity = float(np.sum(entropies))
    progressivity = float(np.min(np.diff(entropies)))
    trainability = float(np.mean([block_trainability(f_in, f_out)
                                  for f_in, f_out in reversed(list(zip(features[:-1], features[1:])))]))
    return tuple(float("-inf") if np.isnan(v) else v for v in (expressivity, progressivity, trainability))  # type: ignore[return-value]


def log_rank_sum(components: np.ndarray) -> np.ndarray:
    """AZ-NAS's aggregation: for an (m, k) array of component values (higher = better), the
    sum over columns of log(rank / m), ranks within the m rows (1 = worst, ties averaged, -inf
    lowest). Population-relative: a row's value depends on the other rows."""
    from scipy.stats import rankdata  # here: importing scipy.stats takes ~1 s, which every job that
    # loads the method registry (training, search, retraining) would pay for nothing

    components = np.asarray(components, dtype=np.float64)
    if components.ndim != 2 or np.isnan(components).any():
        raise HarnessError(f"log_rank_sum needs an (m, k) array without NaN, got shape {components.shape}")
    return np.log(rankdata(components, axis=0) / len(components)).sum(axis=1)


@zero_cost_proxy(name="az_nas", stochastic=True, population_relative=True)
def az_nas_scorer(ctx: ScoreContext, archs: np.ndarray, *, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """no supernet; score = sum of log-ranks of expressivity, progressivity, trainability and FLOPs
    within the scored population, Gaussian input (sign: higher = better)"""
    # The three network components of every arch (one shared Gaussian batch, each subnet built and
    # re-initialised after seeding) and the complexity (FLOPs from the cost table), aggregated.
    x = gaussian_batch(ctx, batch_size)
    parts = each_arch(ctx, archs, functools.partial(az_nas_components, x=x))
    flops = np.asarray(ctx.space.cost_table().flops(archs), dtype=np.float64)
    return log_rank_sum(np.column_stack([parts.reshape(len(flops), 3), flops]))

"""Zero-cost baselines: score an architecture without training any supernet.

Every score here is "higher = better" (the harness's convention), with the sign each paper uses
for its own ranking:

    params      parameter count (M), by the space's cost table
    flops       FLOPs (M multiply-adds), by the space's cost table
    conv_count  number of searchable layers whose chosen candidate contains a convolution
    synflow     Tanaka et al. 2020 under the zero-cost protocol of Abdelfattah et al. 2021
                (no data: BN removed, float64, |weights|, all-ones input)
    naswot      Mellor et al. 2021 (v2): log|det K| of the Hamming-similarity kernel of the
                binary ReLU codes of one batch
    jacob_cov   Mellor et al. 2021 (v1): -sum(log(v + k) + 1/(v + k)), v the eigenvalues of the
                correlation matrix of the per-image input jacobians, k = 1e-5
    snip        Lee et al. 2019: sum over conv/linear weights of |dL/dw * w| (cross-entropy loss)
    grad_norm   sum over conv/linear layers of the L2 norm of dL/dw

Per-architecture proxies build every subnet with `space.build_subnet(arch)` right after
`torch.manual_seed(seed)`, so an architecture's weights, and hence its score, depend only on
(arch, seed); the caller's RNG state is restored afterwards. The data-dependent proxies use ONE
batch of the training split drawn with a generator seeded by `seed` (no augmentation) and run the
network in train mode (BN on batch statistics), as the reference implementations do.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Callable, Hashable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.spaces.base import InputShape, SearchSpace

WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)
JACOB_COV_K = 1e-5
# naswot of a singular kernel (two images with the same codes everywhere, e.g. a network whose
# cells output zeros whatever the input): log det would be -inf; this finite value ranks it below
# every non-singular kernel, whose entries are integers, so |det| >= 1 and log det >= 0.
NASWOT_SINGULAR = -1.0
DEFAULT_BATCH_SIZE = 64


# --------------------------------------------------------------------------- shared machinery


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """One intra-op thread for batch-of-one networks: they are bound by per-op dispatch, and on
    shared CPUs extra threads thrash (synflow at C=16, N=5 measured 15-40x slower with 2
    threads on a busy 2-core machine). Restores the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The conv and linear layers: the weights every gradient proxy sums over."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]


def per_arch(space: SearchSpace, archs: Sequence[Sequence[int]] | np.ndarray, seed: int,
             proxy: Callable[[nn.Module], float], device: torch.device | str = "cpu",
             groups: Sequence[Hashable] | None = None) -> np.ndarray:
    """proxy(subnet) for every arch, each subnet built just after torch.manual_seed(seed).

    `groups` (optional, one key per arch) marks architectures known to compute the same function
    (e.g. isomorphic cells): only the first of each group is built and scored, the others take
    its score. Without it every architecture is scored."""
    archs = [tuple(int(a) for a in arch) for arch in archs]
    if groups is not None and len(groups) != len(archs):
        raise HarnessError(f"groups has {len(groups)} keys for {len(archs)} architectures")
    scores = np.empty(len(archs), dtype=np.float64)
    done: dict[Hashable, float] = {}
    with torch.random.fork_rng(devices=[]):
        for i, arch in enumerate(archs):
            key = groups[i] if groups is not None else i
            if key not in done:
                torch.manual_seed(seed)
                model = space.build_subnet(arch)
                if torch.device(device).type != "cpu":  # .to() walks every module even when a no-op
                    model = model.to(device)
                done[key] = float(proxy(model))
            scores[i] = done[key]
    return scores


def one_batch(ctx: ScoreContext) -> tuple[torch.Tensor, torch.Tensor]:
    """The first batch of a seeded shuffled pass over the training split (no augmentation)."""
    if ctx.data is None:
        raise HarnessError("this zero-cost proxy needs data (one training batch); the context has none")
    batch_size = int(ctx.options.get("batch_size", DEFAULT_BATCH_SIZE))
    generator = torch.Generator().manual_seed(ctx.seed)
    x, y = next(iter(ctx.data.batches("train", batch_size, generator=generator, augment=False)))
    return x.to(ctx.device), y.to(ctx.device)


def _input_shape(ctx: ScoreContext) -> InputShape:
    shape = getattr(ctx.space, "input_shape", None)
    if shape is None and ctx.data is not None:
        shape = ctx.data.input_shape
    if shape is None:
        raise HarnessError(f"synflow needs the input shape: space {ctx.space.name!r} has no input_shape and there is no data")
    return shape


# --------------------------------------------------------------------------- the proxies


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
                       device: torch.device | str = "cpu") -> np.ndarray:
    """synflow of `archs` (default: every architecture of the space, in space.enumerate() order),
    each subnet built after torch.manual_seed(seed), on one CPU thread.

    `groups` (one key per arch) lets architectures known to compute the same function (isomorphic
    cells, e.g. NAS-Bench-201's `unique_str`) share one computation: the others of a group take
    the value of its first member, which differs from computing them afresh only by the random
    init (a different module layout draws different weights). The space does not say which
    architectures are isomorphic, so without `groups` every architecture is computed."""
    archs = list(space.enumerate()) if archs is None else archs
    with single_thread():
        return per_arch(space, archs, seed, lambda model: synflow_score(model, input_shape, inplace=True),
                        device, groups)


def snip_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """sum over conv/linear weights of |dL/dw * w|, L the cross-entropy of one batch (train mode)."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x.clone()), y).backward()  # a copy: the batch is shared by every arch
    with torch.no_grad():
        return float(sum((layer.weight.grad * layer.weight).abs().sum()
                         for layer in weight_layers(model) if layer.weight.grad is not None))


def grad_norm_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """sum over conv/linear layers of ||dL/dw||_2, L the cross-entropy of one batch (train mode)."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x.clone()), y).backward()
    with torch.no_grad():
        return float(sum(layer.weight.grad.norm() for layer in weight_layers(model)
                         if layer.weight.grad is not None))


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


def jacob_cov_score(model: nn.Module, x: torch.Tensor, k: float = JACOB_COV_K) -> float:
    """Mellor et al. 2021 (v1): J = d(sum of logits)/d(input) per image (train mode), C = the
    correlation matrix of the rows of J, v its eigenvalues; score = -sum(log(v + k) + 1/(v + k)).
    Undefined correlations (an image whose jacobian is constant, e.g. a network whose output does
    not depend on its input) count as 0, which gives the lowest scores; eigenvalues are clipped
    at 0 (C is positive semi-definite; rounding can make the smallest slightly negative)."""
    model.train()
    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    grad = None
    if out.requires_grad:
        (grad,) = torch.autograd.grad(out, x, torch.ones_like(out), allow_unused=True)
    if grad is None:  # the output does not depend on the input at all
        grad = torch.zeros_like(x)
    jacobian = grad.detach().reshape(len(x), -1).double().cpu().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.nan_to_num(np.corrcoef(jacobian), nan=0.0)
    v = np.clip(np.linalg.eigvalsh(corr), 0.0, None)
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))


# --------------------------------------------------------------------------- scorers (methods/)


def params_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """The cost table's parameter count (rounded there, so equal counts tie)."""
    return np.asarray(ctx.space.cost_table().params(archs), dtype=np.float64)


def flops_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    return np.asarray(ctx.space.cost_table().flops(archs), dtype=np.float64)


def conv_table(space: SearchSpace) -> np.ndarray:
    """table[layer, choice] = 1 if that candidate contains a convolution (any _ConvNd), read off
    the space's supernet candidates; 0 for parameter-free candidates."""
    ops = space.build_supernet().candidate_ops()
    table = np.zeros((len(ops), max(len(c) for c in ops)))
    for layer, per_choice in enumerate(ops):
        for choice, instances in enumerate(per_choice):
            table[layer, choice] = float(any(isinstance(m, nn.modules.conv._ConvNd)
                                             for op in instances for m in op.modules()))
    return table


def conv_count_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    table = conv_table(ctx.space)
    archs = np.atleast_2d(archs)
    return table[np.arange(table.shape[0])[None, :], archs].sum(axis=1)


def synflow_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    return synflow_over_space(ctx.space, _input_shape(ctx), archs, seed=ctx.seed, device=ctx.device)


def _batch_scorer(proxy: Callable[..., float], needs_labels: bool) -> Callable[[ScoreContext, np.ndarray], np.ndarray]:
    def scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
        x, y = one_batch(ctx)
        inputs = (x, y) if needs_labels else (x,)
        return per_arch(ctx.space, archs, ctx.seed, lambda model: proxy(model, *inputs), ctx.device)

    scorer.__name__ = scorer.__qualname__ = proxy.__name__.replace("_score", "_scorer")
    return scorer


naswot_scorer = _batch_scorer(naswot_score, needs_labels=False)
jacob_cov_scorer = _batch_scorer(jacob_cov_score, needs_labels=False)
snip_scorer = _batch_scorer(snip_score, needs_labels=True)
grad_norm_scorer = _batch_scorer(grad_norm_score, needs_labels=True)

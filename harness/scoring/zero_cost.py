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
    az_nas      Lee & Ham 2024: log-rank sum of expressivity, progressivity, trainability, FLOPs
                within the scored population (population-relative; Gaussian input, no data)
    zico        Li et al. 2023: sum of log inverse coefficients of variation of gradients (2 batches)
    meco        Jiang et al. 2023: sum over modules of the smallest eigenvalue of the channel
                correlation of one image's feature map
    fisher, grasp, l2_norm, plain, zen, epe_nas   NAS-Bench-Suite-Zero's (NASLib zerocost)

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
import warnings
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.data.shapes import InputShape
from harness.spaces.base import SearchSpace

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
             proxy: Callable[[nn.Module], Any], device: torch.device | str = "cpu",
             groups: Sequence[Hashable] | None = None, workers: int = 1) -> np.ndarray:
    """proxy(subnet) for every arch, each subnet built just after torch.manual_seed(seed): shape
    (n,) for a proxy that returns a float, (n, k) for one that returns k values (e.g. AZ-NAS's
    components).

    `groups` (optional, one key per arch) marks architectures known to compute the same function
    (e.g. isomorphic cells): only the first of each group is built and scored, the others take
    its score. Without it every architecture is scored.

    `workers` > 1 scores contiguous shards of the archs in that many processes (spawned, one
    intra-op thread each; space and proxy must pickle, e.g. functools.partial of a module-level
    function). Because every subnet is seeded on its own, the scores equal the serial ones."""
    archs = [tuple(int(a) for a in arch) for arch in archs]
    if groups is not None and len(groups) != len(archs):
        raise HarnessError(f"groups has {len(groups)} keys for {len(archs)} architectures")
    if workers > 1 and len(archs) > 1:
        return _per_arch_in_processes(space, archs, seed, proxy, device, groups, workers)
    scores: list[Any] = []
    done: dict[Hashable, Any] = {}
    with torch.random.fork_rng(devices=[]):
        for i, arch in enumerate(archs):
            key = groups[i] if groups is not None else i
            if key not in done:
                torch.manual_seed(seed)
                model = space.build_subnet(arch)
                if torch.device(device).type != "cpu":  # .to() walks every module even when a no-op
                    model = model.to(device)
                done[key] = proxy(model)
            scores.append(done[key])
    return np.asarray(scores, dtype=np.float64).reshape(len(archs), *np.shape(scores)[1:])


def _one_thread() -> None:
    torch.set_num_threads(1)


def _per_arch_in_processes(space: SearchSpace, archs: list[tuple[int, ...]], seed: int,
                           proxy: Callable[[nn.Module], Any], device: torch.device | str,
                           groups: Sequence[Hashable] | None, workers: int) -> np.ndarray:
    """per_arch's parallel path: the first arch of every group (each arch without groups) scored
    in `workers` spawned processes, then every arch given its group's score, as in the serial path."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    keys = list(groups) if groups is not None else list(range(len(archs)))
    first_of: dict[Hashable, int] = {}
    for i, key in enumerate(keys):
        first_of.setdefault(key, i)
    first = list(first_of.values())  # ascending
    scored = [archs[i] for i in first]
    bounds = np.linspace(0, len(scored), min(workers, len(scored)) + 1).astype(int)
    with ProcessPoolExecutor(len(bounds) - 1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_one_thread) as pool:
        futures = [pool.submit(per_arch, space, scored[lo:hi], seed, proxy, device)
                   for lo, hi in itertools.pairwise(bounds.tolist())]
        values = np.concatenate([future.result() for future in futures])
    by_key = {keys[i]: value for i, value in zip(first, values)}
    return np.stack([by_key[key] for key in keys])


def seeded_batches(ctx: ScoreContext, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The first `count` batches of a seeded shuffled pass over the training split (no
    augmentation), batch size the option `batch_size`."""
    if ctx.data is None:
        raise HarnessError("this zero-cost proxy needs data (training batches); the context has none")
    batch_size = int(ctx.options.get("batch_size", DEFAULT_BATCH_SIZE))
    generator = torch.Generator().manual_seed(ctx.seed)
    batches = list(itertools.islice(ctx.data.batches("train", batch_size, generator=generator, augment=False), count))
    if len(batches) < count:
        raise HarnessError(f"this zero-cost proxy needs {count} training batches of {batch_size} images; "
                           f"the training split has only {len(batches)}: lower the method's batch_size option")
    return [(x.to(ctx.device), y.to(ctx.device)) for x, y in batches]


def one_batch(ctx: ScoreContext) -> tuple[torch.Tensor, torch.Tensor]:
    """The first batch of a seeded shuffled pass over the training split (no augmentation)."""
    return seeded_batches(ctx, 1)[0]


def _input_shape(ctx: ScoreContext) -> InputShape:
    shape = getattr(ctx.space, "input_shape", None)
    if shape is None and ctx.data is not None:
        shape = ctx.data.input_shape
    if shape is None:
        raise HarnessError(f"this data-free proxy needs the input shape: space {ctx.space.name!r} has no "
                           "input_shape and there is no data")
    return shape


def gaussian_batch(ctx: ScoreContext) -> torch.Tensor:
    """A batch of standard-normal "images" of the input shape (batch size the option
    `batch_size`), drawn from a generator seeded by the run's seed: every architecture of a job
    sees the same batch."""
    shape = _input_shape(ctx)
    batch_size = int(ctx.options.get("batch_size", DEFAULT_BATCH_SIZE))
    generator = torch.Generator().manual_seed(ctx.seed)
    x = torch.randn(batch_size, shape.channels, shape.resolution, shape.resolution, generator=generator)
    return x.to(ctx.device)


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


def input_jacobians(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """(n, d) float64: row i = d(sum of image i's logits)/d(image i), train mode. Zeros when the
    output does not depend on the input at all."""
    model.train()
    model.zero_grad(set_to_none=True)
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    grad = None
    if out.requires_grad:
        (grad,) = torch.autograd.grad(out, x, torch.ones_like(out), allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(x)
    return grad.detach().reshape(len(x), -1).double().cpu().numpy()


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


# --------------------------------------------------------------------------- AZ-NAS


AZ_NAS_EPS = 1e-8        # the official code's log(p + 1e-8) in the eigenvalue entropy
AZ_NAS_SIGMA_EPS = 1e-6  # and its 1 / (sigma + 1e-6) in the trainability term


def _reinitialise(model: nn.Module, init_weight: Callable[[torch.Tensor], Any]) -> nn.Module:
    """Conv and linear weights by `init_weight`, their biases 0, affine norm weights 1 and biases 0. In place."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                init_weight(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)) and module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
    return model


def kaiming_fan_in_init(model: nn.Module) -> nn.Module:
    """AZ-NAS's re-initialisation (official `kaiming_norm_fanin`): conv and linear weights
    kaiming-normal (fan in, ReLU gain), biases 0, affine norm weights 1 and biases 0. In place."""
    return _reinitialise(model, lambda weight: nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu"))


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


def az_nas_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """AZ-NAS over the scored population: the three network components of every arch (one
    shared Gaussian batch, each subnet built and re-initialised after seeding) and the complexity
    (FLOPs from the space's cost table), aggregated by log_rank_sum."""
    x = gaussian_batch(ctx)
    parts = per_arch(ctx.space, archs, ctx.seed, lambda model: az_nas_components(model, x), ctx.device)
    flops = np.asarray(ctx.space.cost_table().flops(archs), dtype=np.float64)
    return log_rank_sum(np.column_stack([parts.reshape(len(flops), 3), flops]))


# --------------------------------------------------------------------------- ZiCo, MeCo, NAS-Bench-Suite-Zero


ZICO_FORMS = ("paper", "official")


def zico_score(model: nn.Module, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], form: str = "paper") -> float:
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


def fisher_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """fisher (Turner et al. 2020, NASLib zerocost): for every conv/linear layer with output a
    and cross-entropy gradient dL/da, per channel k: 0.5 * mean over images of (sum over pixels
    of a * dL/da)^2; the score sums over channels and layers. Train mode."""
    outputs: list[torch.Tensor] = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: outputs.append(out)) for layer in weight_layers(model)]
    model.train()
    model.zero_grad(set_to_none=True)
    try:
        loss = F.cross_entropy(model(x.clone()), y)
    finally:
        for hook in hooks:
            hook.remove()
    outputs = [a for a in outputs if a.requires_grad]
    grads = torch.autograd.grad(loss, outputs, allow_unused=True) if outputs else []
    total = 0.0
    for a, g in zip(outputs, grads):
        if g is None:
            continue
        g_nk = (a.detach() * g).sum(dim=tuple(range(2, a.dim()))) if a.dim() > 2 else a.detach() * g
        total += float(0.5 * g_nk.double().pow(2).mean(dim=0).sum())
    return total


def grasp_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """GraSP (Wang et al. 2020, NASLib zerocost): -sum over conv/linear weights of w * (H g), g
    the cross-entropy gradient of one batch and H the Hessian (Hg by double backpropagation of
    g_const . g(w)). Train mode."""
    model.train()
    model.zero_grad(set_to_none=True)
    weights = [layer.weight for layer in weight_layers(model)]
    g = torch.autograd.grad(F.cross_entropy(model(x.clone()), y), weights, allow_unused=True)
    g_graph = torch.autograd.grad(F.cross_entropy(model(x.clone()), y), weights, create_graph=True, allow_unused=True)
    terms = [(a.detach() * b).sum() for a, b in zip(g, g_graph) if a is not None and b is not None]
    z = torch.stack(terms).sum() if terms else None
    if z is None or not z.requires_grad:
        return 0.0
    hg = torch.autograd.grad(z, weights, allow_unused=True)
    with torch.no_grad():
        return float(-sum((w * h).sum() for w, h in zip(weights, hg) if h is not None))


def l2_norm_score(model: nn.Module) -> float:
    """l2_norm (NASLib zerocost): sum over conv/linear layers of the L2 (Frobenius) norm of the
    weight at initialisation. No data."""
    with torch.no_grad():
        return float(sum(layer.weight.norm() for layer in weight_layers(model)))


def plain_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """plain (NASLib zerocost): sum over conv/linear weights of dL/dw * w (signed; snip is its
    absolute value), L the cross-entropy of one batch (train mode)."""
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x.clone()), y).backward()
    with torch.no_grad():
        return float(sum((layer.weight.grad * layer.weight).sum()
                         for layer in weight_layers(model) if layer.weight.grad is not None))


def gaussian_init(model: nn.Module) -> nn.Module:
    """Zen-NAS's re-initialisation: conv and linear weights N(0, 1), biases 0, affine norm
    weights 1 and biases 0. In place."""
    return _reinitialise(model, nn.init.normal_)


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


def zen_score(model: nn.Module, x: torch.Tensor, noise: torch.Tensor, mixup_gamma: float = 1e-2) -> float:
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


def zico_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    batches = seeded_batches(ctx, int(ctx.options.get("batches", 2)))
    form = str(ctx.options.get("form", "paper"))
    return per_arch(ctx.space, archs, ctx.seed, lambda model: zico_score(model, batches, form), ctx.device)


def zen_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    x = gaussian_batch(ctx)
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(ctx.seed + 1)).to(x.device)
    gamma = float(ctx.options.get("mixup_gamma", 1e-2))
    return per_arch(ctx.space, archs, ctx.seed, lambda model: zen_score(model, x, noise, gamma), ctx.device)


def epe_nas_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    x, y = one_batch(ctx)
    classes = _input_shape(ctx).classes
    return per_arch(ctx.space, archs, ctx.seed, lambda model: epe_nas_score(model, x, y, classes), ctx.device)


def l2_norm_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    return per_arch(ctx.space, archs, ctx.seed, l2_norm_score, ctx.device)


meco_scorer = _batch_scorer(meco_score, needs_labels=False)
fisher_scorer = _batch_scorer(fisher_score, needs_labels=True)
grasp_scorer = _batch_scorer(grasp_score, needs_labels=True)
plain_scorer = _batch_scorer(plain_score, needs_labels=True)

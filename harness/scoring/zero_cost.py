"""What the zero-cost proxies share: seeded inputs, re-initialisation, network helpers, and the
per-architecture loop with its process sharding.

Each proxy is one file in methods/ (its network computation and its scorer, declared with
`@zero_cost_proxy`, harness.scoring.proxy); every score there is "higher = better", with the sign
each paper uses for its own ranking. Only helpers that several proxies use live here:

    per_arch / each_arch     proxy(subnet) for every architecture, each subnet built right after
                             torch.manual_seed(seed), so an architecture's weights, and hence its
                             score, depend only on (arch, seed); the caller's RNG state is restored.
                             `workers` > 1 shards the architectures over processes (same scores)
    seeded_batches/one_batch the first batch(es) of a seeded shuffled pass over the training split
                             (no augmentation): every architecture of a job sees the same data
    gaussian_batch           a seeded batch of standard-normal "images" (data-free proxies)
    input_jacobians          per-image input gradients (jacob_cov, epe_nas)
    reinitialise, kaiming_fan_in_init, gaussian_init   re-initialisations (AZ-NAS, Zen-NAS)
    weight_layers            the conv and linear layers every gradient proxy sums over
    single_thread            one intra-op thread for batch-of-one networks

The data-dependent proxies run the network in train mode (BN on batch statistics), as the
reference implementations do.
"""

from __future__ import annotations

import contextlib
import itertools
import pickle
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.data.shapes import InputShape
from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.spaces.base import SearchSpace

WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)
DEFAULT_BATCH_SIZE = 64  # NAS-Bench-Suite-Zero's batch: the batch_size option of most data proxies


# --------------------------------------------------------------------------- networks


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


def reinitialise(model: nn.Module, init_weight: Callable[[torch.Tensor], Any]) -> nn.Module:
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
    return reinitialise(model, lambda weight: nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu"))


def gaussian_init(model: nn.Module) -> nn.Module:
    """Zen-NAS's re-initialisation: conv and linear weights N(0, 1), biases 0, affine norm
    weights 1 and biases 0. In place."""
    return reinitialise(model, nn.init.normal_)


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


# --------------------------------------------------------------------------- every architecture


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


def scoring_workers(ctx: ScoreContext) -> int:
    """How many processes a scorer shards its architectures over: config `scoring.workers` (the
    score command puts the config's scoring section into the context's options), 1 where the
    context does not say."""
    workers = ctx.options.get("workers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise HarnessError(f"scoring option workers must be an integer >= 1, got {workers!r}")
    return workers


def each_arch(ctx: ScoreContext, archs: Sequence[Sequence[int]] | np.ndarray, proxy: Callable[[nn.Module], Any],
              groups: Sequence[Hashable] | None = None) -> np.ndarray:
    """per_arch with the context's space, seed and device, sharded over scoring_workers(ctx)
    processes (then `proxy` must pickle: functools.partial of a module-level function)."""
    return per_arch(ctx.space, archs, ctx.seed, proxy, ctx.device, groups, scoring_workers(ctx))


def _one_thread() -> None:
    torch.set_num_threads(1)


def _per_arch_in_processes(space: SearchSpace, archs: list[tuple[int, ...]], seed: int,
                           proxy: Callable[[nn.Module], Any], device: torch.device | str,
                           groups: Sequence[Hashable] | None, workers: int) -> np.ndarray:
    """per_arch's parallel path: the first arch of every group (each arch without groups) scored
    in `workers` spawned processes, then every arch given its group's score, as in the serial path."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        pickle.dumps((space, proxy))
    except Exception as error:  # say so before spawning processes that would fail one by one
        raise HarnessError(f"scoring in {workers} processes needs a proxy and space that pickle ({error}); "
                           "pass functools.partial of a module-level function, not a lambda or closure") from error
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


# --------------------------------------------------------------------------- seeded inputs


def _batch_size(ctx: ScoreContext, batch_size: int | None) -> int:
    if batch_size is not None:
        return int(batch_size)
    if "batch_size" not in ctx.options:
        raise HarnessError("no batch size: pass batch_size, or put the method's batch_size option in the context")
    return int(ctx.options["batch_size"])


def seeded_batches(ctx: ScoreContext, count: int, batch_size: int | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The first `count` batches of a seeded shuffled pass over the training split (no
    augmentation), the generator seeded by the run's seed; batch size `batch_size`, else the
    context's option `batch_size`."""
    if ctx.data is None:
        raise HarnessError("this zero-cost proxy needs data (training batches); the context has none")
    batch_size = _batch_size(ctx, batch_size)
    generator = torch.Generator().manual_seed(ctx.seed)
    batches = list(itertools.islice(ctx.data.batches("train", batch_size, generator=generator, augment=False), count))
    if len(batches) < count:
        raise HarnessError(f"this zero-cost proxy needs {count} training batches of {batch_size} images; "
                           f"the training split has only {len(batches)}: lower the method's batch_size option")
    return [(x.to(ctx.device), y.to(ctx.device)) for x, y in batches]


def one_batch(ctx: ScoreContext, batch_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first batch of a seeded shuffled pass over the training split (no augmentation)."""
    return seeded_batches(ctx, 1, batch_size)[0]


def input_shape(ctx: ScoreContext) -> InputShape:
    """The networks' input shape: the space's, else the data's."""
    shape = getattr(ctx.space, "input_shape", None)
    if shape is None and ctx.data is not None:
        shape = ctx.data.input_shape
    if shape is None:
        raise HarnessError(f"this data-free proxy needs the input shape: space {ctx.space.name!r} has no "
                           "input_shape and there is no data")
    return shape


def gaussian_batch(ctx: ScoreContext, batch_size: int | None = None) -> torch.Tensor:
    """A batch of standard-normal "images" of the input shape (batch size `batch_size`, else the
    context's option `batch_size`), drawn from a generator seeded by the run's seed: every
    architecture of a job sees the same batch."""
    shape = input_shape(ctx)
    batch_size = _batch_size(ctx, batch_size)
    generator = torch.Generator().manual_seed(ctx.seed)
    x = torch.randn(batch_size, shape.channels, shape.resolution, shape.resolution, generator=generator)
    return x.to(ctx.device)

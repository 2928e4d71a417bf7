"""Network speed: a training step of our standalone nats-tss network vs xautodl's TinyNetwork
(NATS-Bench's own model code) on the same architecture, a single-path supernet step vs the
standalone subnet's step, and our avg_pool_3x3 op vs torch's pooling layer.

All three models train on the same random batch with the same SGD settings, in one process at
the same thread count, their steps interleaved round-robin (order alternating), so load from
other processes hits all of them alike. A ratio is the median of per-round ratios of process CPU
time (one intra-op thread: the work done, without the time other processes hold the cores); the
wall-clock ratio is given beside it.

xautodl is optional: `pip install --no-deps xautodl` (its pinned dependencies do not install on
current Python; the model code needs only torch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from benchmarks.core import Figure, Goal, Timing, fmt_seconds, measure_interleaved, paired_ratio
from benchmarks.fixtures import PAPER_KNOBS, random_batch
from harness.training.optim import make_sgd
from harness.spaces import build_space
from harness.data.shapes import InputShape
from harness.spaces.nats_tss import AvgPool3x3

NAME = "network"
DESCRIPTION = "network speed: our nats-tss network vs xautodl's TinyNetwork; supernet path vs subnet"

# A representative architecture with every op kind except `none` (our cells skip a `none` edge,
# xautodl multiplies by zero: an arch with `none` edges would flatter ours).
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
INSTALL_HINT = "pip install --no-deps xautodl"


@dataclass(frozen=True)
class Sizes:
    C: int
    N: int
    resolution: int
    batch: int
    repeats: int


FULL = Sizes(C=PAPER_KNOBS["C"], N=PAPER_KNOBS["N"], resolution=32, batch=256, repeats=5)
TINY = Sizes(C=4, N=1, resolution=8, batch=4, repeats=1)

StepFn = Callable[[], None]


def training_step(model: nn.Module, forward: Callable[[torch.Tensor], torch.Tensor],
                  batch: tuple[torch.Tensor, torch.Tensor]) -> StepFn:
    """A closure running one SGD step (NATS-Bench's settings) of `model` on `batch`."""
    optimizer = make_sgd(model, model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    images, labels = batch

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        criterion(forward(images), labels).backward()
        optimizer.step()

    return step


def xautodl_network(arch: str, C: int, N: int, classes: int) -> nn.Module | None:
    """xautodl's TinyNetwork (returns (features, logits)), or None when xautodl is not installed."""
    try:
        from xautodl.models.cell_infers.tiny_network import TinyNetwork
        from xautodl.models.cell_searchs.genotypes import Structure
    except ImportError:
        return None
    return TinyNetwork(C, N, Structure.str2structure(arch), classes)


def run(sizes: Sizes) -> list[Figure]:
    shape = InputShape(channels=3, resolution=sizes.resolution, classes=10)
    space = build_space("nats-tss", shape, C=sizes.C, N=sizes.N)
    arch = space.decode(ARCH)
    batch = random_batch(shape, sizes.batch)
    ours, supernet = space.build_subnet(arch), space.build_supernet()
    steps = {"ours": training_step(ours, ours, batch),
             "supernet": training_step(supernet, lambda x: supernet(x, arch), batch)}
    theirs = xautodl_network(ARCH, sizes.C, sizes.N, shape.classes)
    if theirs is not None:
        steps["xautodl"] = training_step(theirs, lambda x: theirs(x)[1], batch)
    timings = measure_interleaved(steps, repeats=sizes.repeats, warmup=1)
    tag = f"[nats-tss C={sizes.C} N={sizes.N} {sizes.resolution}px, batch {sizes.batch}]"
    how = (f"SGD step on random images, arch {ARCH}, {torch.get_num_threads()} thread(s), 1 warm-up round + "
           f"{sizes.repeats} interleaved rounds; median step wall (CPU): "
           + ", ".join(f"{name} {fmt_seconds(t.median_s)} ({fmt_seconds(t.median_cpu_s)})" for name, t in timings.items()))
    figures = [_ratio_figure(f"supernet single-path step / standalone subnet step {tag}", timings["supernet"],
                             timings["ours"], Goal("<=", 1.15), how)]
    name = f"our network step / xautodl TinyNetwork step {tag}"
    if theirs is None:
        figures.insert(0, Figure(name, float("nan"), "x", Goal("<=", 1.0),
                                 f"xautodl is not installed here ({INSTALL_HINT}); not measured"))
    else:
        figures.insert(0, _ratio_figure(name, timings["ours"], timings["xautodl"], Goal("<=", 1.0), how))
    return figures + [_pool_figure(sizes)]


def _pool_figure(sizes: Sizes) -> Figure:
    """Forward + backward of the avg_pool_3x3 op at the first stage's activation size: ours (a box
    sum with a closed-form backward) against torch's AvgPool2d(count_include_pad=False)."""
    x = torch.randn(sizes.batch, sizes.C, sizes.resolution, sizes.resolution, requires_grad=True)
    upstream = torch.randn_like(x)

    def fwd_bwd(pool: nn.Module) -> StepFn:
        return lambda: torch.autograd.grad(pool(x), x, upstream)

    timings = measure_interleaved({"ours": fwd_bwd(AvgPool3x3()),
                                   "torch": fwd_bwd(nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False))},
                                  repeats=5 * sizes.repeats, warmup=1)
    return _ratio_figure(f"avg_pool_3x3 forward + backward, ours / nn.AvgPool2d [{tuple(x.shape)}]",
                         timings["ours"], timings["torch"], None,
                         f"median step wall (CPU): ours {fmt_seconds(timings['ours'].median_s)} "
                         f"({fmt_seconds(timings['ours'].median_cpu_s)}), torch "
                         f"{fmt_seconds(timings['torch'].median_s)} ({fmt_seconds(timings['torch'].median_cpu_s)})")


def _ratio_figure(name: str, numerator: Timing, denominator: Timing, goal: Goal | None, how: str) -> Figure:
    return Figure(name, paired_ratio(numerator, denominator, cpu=True), "x", goal,
                  f"median of per-round ratios of process CPU time (wall-clock: "
                  f"{paired_ratio(numerator, denominator):.3f}, inflated by other processes' load); {how}")

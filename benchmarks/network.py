"""Network speed: a training step of our standalone nats-tss network vs xautodl's TinyNetwork
(NATS-Bench's own model code) on the same architecture, and a single-path supernet step vs the
standalone subnet's step.

All three models train on the same random batch with the same SGD settings, in one process at
the same thread count, their steps interleaved round-robin (order alternating), so load from
other processes hits all of them alike. A ratio is the median of per-round ratios.

xautodl is optional: `pip install --no-deps xautodl` (its pinned dependencies do not install on
current Python; the model code needs only torch).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from benchmarks.core import Figure, Goal, fmt_seconds
from benchmarks.fixtures import PAPER_KNOBS, random_batch
from harness.optim import make_sgd
from harness.spaces import build_space
from harness.spaces.base import InputShape

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


FULL = Sizes(C=PAPER_KNOBS["C"], N=PAPER_KNOBS["N"], resolution=32, batch=256, repeats=3)
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


def paired_rounds(steps: dict[str, StepFn], repeats: int) -> dict[str, list[float]]:
    """Seconds of each step in each round; one warm-up round; order alternates every round."""
    for step in steps.values():
        step()
    names = list(steps)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            start = time.perf_counter()
            steps[name]()
            seconds[name].append(time.perf_counter() - start)
    return seconds


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
    seconds = paired_rounds(steps, sizes.repeats)
    tag = f"[nats-tss C={sizes.C} N={sizes.N} {sizes.resolution}px, batch {sizes.batch}]"
    how = (f"SGD step on random images, arch {ARCH}, {torch.get_num_threads()} thread(s), 1 warm-up round + "
           f"{sizes.repeats} interleaved rounds; median step: "
           + ", ".join(f"{name} {fmt_seconds(statistics.median(s))}" for name, s in seconds.items()))
    ratio = _median_ratio(seconds["supernet"], seconds["ours"])
    figures = [Figure(f"supernet single-path step / standalone subnet step {tag}", ratio, "x",
                      Goal("<=", 1.15), "median of per-round ratios; " + how)]
    if theirs is None:
        figures.insert(0, Figure(f"our network step / xautodl TinyNetwork step {tag}", float("nan"), "x",
                                 Goal("<=", 1.0), f"xautodl is not installed here ({INSTALL_HINT}); not measured"))
    else:
        figures.insert(0, Figure(f"our network step / xautodl TinyNetwork step {tag}",
                                 _median_ratio(seconds["ours"], seconds["xautodl"]), "x", Goal("<=", 1.0),
                                 "median of per-round ratios; " + how))
    return figures


def _median_ratio(numerator: list[float], denominator: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(numerator, denominator))

"""Supernet training: BN-NAS's budget vs SPOS's (paper claim: more than 10x faster), and the
per-step cost of BN-only training vs full training on the same paths.

Wall time uses the real `train_supernet` at the default config's budget (its network, data and
epochs: SPOS 10 epochs, BN-NAS 10% of it, same sampler and seed, so BN-NAS's paths are SPOS's
first ones); --tiny trains a fraction of an epoch. Per-step time uses the real `_train_step` on
paired steps: for each sampled path, one BN-only step and one full step back to back (order
alternating), and the figure is the median of the per-path ratios of process CPU time, which
cancels the paths' different costs and leaves out the time other processes hold the cores (the
wall-clock ratio is given beside it).

Frozen convolutions have requires_grad=False, so autograd should skip their weight gradients.
`count_weight_grad_convs` checks it where it happens: it intercepts every
aten.convolution_backward call and reads its output_mask (input, weight, bias).
"""

from __future__ import annotations

import dataclasses
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.core import Figure, Goal, fmt_seconds, measure, timed
from benchmarks.fixtures import default_config, default_data, default_space, paper_space, random_batch
from benchmarks.subnet_eval import network_tag
from harness.data.datasets import DataSplits
from harness.io import save_torch
from harness.method import Method
from harness.training.optim import make_sgd, select_trainable
from harness.training.step_timing import StepBlocks
from harness.workflow.runs import configured_method
from harness.paths import CHECKPOINT_NAME, RESUME_NAME
from harness.seeding import seed_everything
from harness.spaces.base import Arch, SearchSpace, Supernet
from harness.training.supernet import SupernetRecipe, _save_resume, _train_step, plan_schedule, train_supernet

NAME = "train"
DESCRIPTION = "supernet training: BN-NAS budget vs SPOS budget, BN-only step vs full step"
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Sizes:
    spos_epochs: float | None  # SPOS budget compared (None: the default config's); BN-NAS trains its fraction
    wall_repeats: int         # train_supernet runs per method (median)
    step_paths: int           # paired steps on the default network
    paper_step_paths: int     # paired steps on the NATS-Bench-size network (0 = skip)
    paper_batch: int
    profile_steps: int        # steps (paths) per mode timed op by op when the per-step goal is missed


FULL = Sizes(spos_epochs=None, wall_repeats=2, step_paths=24, paper_step_paths=3, paper_batch=64, profile_steps=6)
TINY = Sizes(spos_epochs=0.05, wall_repeats=1, step_paths=2, paper_step_paths=1, paper_batch=2, profile_steps=1)

STEP_GOAL = Goal("<=", 0.7)


# --------------------------------------------------------------------------- wall time of a budget

def budget_wall_times(space: SearchSpace, data: DataSplits, recipe: SupernetRecipe, methods: list[Method],
                      repeats: int) -> dict[str, dict[str, float]]:
    """Median over `repeats` (runs interleaved across methods) of each method's train_supernet:
    wall and process CPU time of the whole call, and the loop time it records (train.json's
    train_time_s, wall clock)."""
    runs: dict[str, list[dict[str, Any]]] = {m.name: [] for m in methods}
    # The first torch.optim optimizer of a process imports torch._dynamo (seconds): pay it here,
    # not inside whichever run comes first.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    for round_ in range(repeats):
        for method in methods if round_ % 2 == 0 else reversed(methods):
            with tempfile.TemporaryDirectory(prefix=f"bench-{method.name}-") as out:
                start, cpu_start = time.perf_counter(), time.process_time()
                record = train_supernet(space, method, data, recipe, seed=0, out_dir=Path(out), device=CPU,
                                        progress=False)
                record["_wall_s"], record["_cpu_s"] = time.perf_counter() - start, time.process_time() - cpu_start
                runs[method.name].append(record)
    return {
        name: {"wall_s": statistics.median(r["_wall_s"] for r in records),
               "cpu_s": statistics.median(r["_cpu_s"] for r in records),
               "loop_s": statistics.median(r["train_time_s"] for r in records),
               "steps": records[0]["steps"], "checkpoints": len(records[0]["checkpoints"])}
        for name, records in runs.items()
    }


def checkpoint_write_time(trainer: "Trainer", repeats: int = 3) -> float:
    """Median seconds of what train_supernet writes at one curve point: ckpt{i}.pt (the state
    dict) and resume.pt (model, optimiser, RNG), through the same harness functions."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="bench-ckpt-") as out:
        def write() -> None:
            save_torch(trainer.supernet.state_dict(), Path(out) / CHECKPOINT_NAME.format(checkpoint=0))
            _save_resume(Path(out) / RESUME_NAME, trainer.supernet, trainer.optimizer, rng, 0, 0, 0.0, 0.0, [], "benchmark",
                         StepBlocks(total_steps=1).state())
        return measure(write, repeats=repeats, warmup=1).median_s


# --------------------------------------------------------------------------- per-step cost

@dataclass
class Trainer:
    """A supernet with one trainable rule, its optimiser, and a step on a fixed batch."""

    supernet: Supernet
    space: SearchSpace
    trainable: list[nn.Parameter]
    optimizer: torch.optim.Optimizer
    recipe: SupernetRecipe
    batch: tuple[torch.Tensor, torch.Tensor]

    def step(self, arch: Arch) -> bool:
        """One real `_train_step` on `arch` (the same code path train_supernet runs)."""
        return _train_step(self.supernet, self.space, [arch], _repeat(self.batch), nn.CrossEntropyLoss(), self.optimizer,
                           self.trainable, self.recipe, CPU, what="benchmark", epoch=0, step=0)


def _repeat(batch: tuple[torch.Tensor, torch.Tensor]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    while True:
        yield batch


def make_trainer(space: SearchSpace, rule: str, recipe: SupernetRecipe, batch: tuple[torch.Tensor, torch.Tensor],
                 steps: int = 0) -> Trainer:
    """A fresh supernet trained by `rule`, after `steps` steps on random paths (momentum buffers
    exist after one, as in a checkpoint written mid-training)."""
    seed_everything(0)
    supernet = space.build_supernet().train()
    trainable = select_trainable(supernet, rule)
    optimizer = make_sgd(supernet, trainable, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                         weight_decay=recipe.weight_decay)
    trainer = Trainer(supernet, space, trainable, optimizer, recipe, batch)
    for arch in _sample_paths(space, steps):
        trainer.step(arch)
    return trainer


@dataclass(frozen=True)
class PairedSteps:
    """Per path: seconds of the BN-only and the full step, wall clock and process CPU time."""

    bn_wall: tuple[float, ...]
    full_wall: tuple[float, ...]
    bn_cpu: tuple[float, ...]
    full_cpu: tuple[float, ...]

    def ratio(self, cpu: bool) -> float:
        """Median over paths of BN-only / full."""
        bn, full = (self.bn_cpu, self.full_cpu) if cpu else (self.bn_wall, self.full_wall)
        return statistics.median(b / f for b, f in zip(bn, full))


def paired_step_times(bn: Trainer, full: Trainer, paths: list[Arch]) -> PairedSteps:
    """The two steps on each path back to back, order alternating, after one warm-up pair."""
    bn.step(paths[0]), full.step(paths[0])
    wall: dict[int, list[float]] = {id(bn): [], id(full): []}
    cpu: dict[int, list[float]] = {id(bn): [], id(full): []}
    for i, arch in enumerate(paths):
        for trainer in (bn, full) if i % 2 == 0 else (full, bn):
            wall_s, cpu_s = timed(lambda: trainer.step(arch))  # noqa: B023 (called at once)
            wall[id(trainer)].append(wall_s)
            cpu[id(trainer)].append(cpu_s)
    return PairedSteps(tuple(wall[id(bn)]), tuple(wall[id(full)]), tuple(cpu[id(bn)]), tuple(cpu[id(full)]))


class ConvBackwardSpy(TorchDispatchMode):
    """Records the output_mask (grad input, grad weight, grad bias) of every conv backward."""

    def __init__(self) -> None:
        super().__init__()
        self.masks: list[tuple[bool, ...]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func is torch.ops.aten.convolution_backward.default:
            self.masks.append(tuple(bool(m) for m in args[-1]))
        return func(*args, **(kwargs or {}))


def count_weight_grad_convs(trainer: Trainer, arch: Arch) -> tuple[int, int]:
    """(conv backward calls that compute a weight gradient, all conv backward calls) in one step."""
    spy = ConvBackwardSpy()
    with spy:
        trainer.step(arch)
    return sum(mask[1] for mask in spy.masks), len(spy.masks)


BREAKDOWN_KINDS = ("conv backward", "conv forward", "batch norm fwd+bwd", "elementwise + pooling",
                   "optimizer + clipping", "python, autograd engine, dispatch")


def _op_kind(name: str) -> str:
    if "convolution_backward" in name:
        return "conv backward"
    if "convolution" in name:
        return "conv forward"
    if "batch_norm" in name:
        return "batch norm fwd+bwd"
    if "_foreach" in name or "norm" in name:
        return "optimizer + clipping"
    return "elementwise + pooling"


class OpCpuTimer(TorchDispatchMode):
    """Process CPU time of every aten op, by kind: unlike the profiler's per-op wall clock it
    does not count the time other processes hold the core (one intra-op thread; CPU backward
    runs on the calling thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = dict.fromkeys(BREAKDOWN_KINDS, 0.0)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        start = time.process_time()
        out = func(*args, **(kwargs or {}))
        self.seconds[_op_kind(str(func))] += time.process_time() - start
        return out


def step_breakdown(trainer: Trainer, paths: list[Arch]) -> dict[str, float]:
    """CPU milliseconds per step by kind of op, one step per path; what no aten op accounts for
    (Python, the autograd engine, dispatch, and this timer's own overhead) is the last kind."""
    timer = OpCpuTimer()
    total = 0.0
    for arch in paths:
        start = time.process_time()
        with timer:
            trainer.step(arch)
        total += time.process_time() - start
    ms = {kind: 1e3 * seconds / len(paths) for kind, seconds in timer.seconds.items()}
    ms["python, autograd engine, dispatch"] = 1e3 * total / len(paths) - sum(ms.values())
    return ms


def _sample_paths(space: SearchSpace, count: int) -> list[Arch]:
    rng = np.random.default_rng(1)
    return [space.sample(rng) for _ in range(count)]


# --------------------------------------------------------------------------- figures

def run(sizes: Sizes) -> list[Figure]:
    config = default_config()
    space, data = default_space(), default_data()
    recipe = SupernetRecipe.from_dict(config["supernet"])
    if sizes.spos_epochs is not None:
        recipe = dataclasses.replace(recipe, epochs=sizes.spos_epochs)
    figures = _budget_figures(space, data, recipe, sizes)
    figures += _step_figures(space, recipe, recipe.batch_size, sizes.step_paths, sizes)
    if sizes.paper_step_paths:
        figures += _step_figures(paper_space(), recipe, sizes.paper_batch, sizes.paper_step_paths, sizes,
                                 goal=False)
    return figures


def _budget_figures(space: SearchSpace, data: DataSplits, recipe: SupernetRecipe, sizes: Sizes) -> list[Figure]:
    config = default_config()
    spos, bnnas = configured_method(config, "spos"), configured_method(config, "bnnas")
    times = budget_wall_times(space, data, recipe, [spos, bnnas], sizes.wall_repeats)
    s, b = times[spos.name], times[bnnas.name]
    how = (f"real train_supernet, {network_tag(space)} on {data.dataset} ({len(data.train_y)} train images, batch "
           f"{recipe.batch_size}, {recipe.curve_points} curve points); SPOS {recipe.epochs:g} epoch(s) = {s['steps']} "
           f"steps, BN-NAS x{bnnas.epoch_fraction:g} = {b['steps']} steps, same sampler and seed; median of "
           f"{sizes.wall_repeats} run(s) each, interleaved")
    # The curve-point writes are a fixed cost per run, the same for both budgets.
    batch = random_batch(space.input_shape, recipe.batch_size)
    write_s = {rule: checkpoint_write_time(make_trainer(space, rule, recipe, batch, steps=1)) for rule in ("all", "bn")}
    rule = {spos.name: "all", bnnas.name: "bn"}
    fixed_s = {name: t["checkpoints"] * write_s[rule[name]] for name, t in times.items()}
    step_s = {name: max(t["loop_s"] - fixed_s[name], 0.0) / t["steps"] for name, t in times.items()}
    default = SupernetRecipe.from_dict(config["supernet"])
    default_plans = {m.name: plan_schedule(default, m, len(data.train_y), 1) for m in (spos, bnnas)}
    default_steps = {name: plan.total_steps for name, plan in default_plans.items()}
    projected = {name: step_s[name] * default_steps[name] + len(default_plans[name].checkpoint_steps) * write_s[rule[name]]
                 for name in step_s}
    fixed_note = (f"{s['checkpoints']} / {b['checkpoints']} curve points x {fmt_seconds(write_s['all'])} (SPOS) / "
                  f"{fmt_seconds(write_s['bn'])} (BN-NAS) of checkpoint + resume writes")
    net = {name: t["loop_s"] - fixed_s[name] for name, t in times.items()}
    without = f"{net[spos.name] / net[bnnas.name]:.1f}x" if min(net.values()) > 0 else "n/a (writes exceed the loop)"
    figures = [
        Figure("supernet training time SPOS/BN-NAS, training loop (train.json train_time_s)",
               s["loop_s"] / b["loop_s"], "x", Goal(">=", 10.0),
               f"SPOS {fmt_seconds(s['loop_s'])} vs BN-NAS {fmt_seconds(b['loop_s'])}, each including {fixed_note}, "
               f"a fixed cost that weighs 10x more in BN-NAS's short run; without it {without}; {how}"),
        Figure("supernet training time SPOS/BN-NAS, whole train_supernet call",
               s["wall_s"] / b["wall_s"], "x", None,
               f"SPOS {fmt_seconds(s['wall_s'])} vs BN-NAS {fmt_seconds(b['wall_s'])} (process CPU time: "
               f"{fmt_seconds(s['cpu_s'])} vs {fmt_seconds(b['cpu_s'])} = {s['cpu_s'] / b['cpu_s']:.1f}x) incl. "
               f"supernet build, optimiser and the final resume write (the process's one-off torch._dynamo import paid beforehand); {how}"),
    ]
    if default_steps[spos.name] == s["steps"]:
        return figures  # measured at the default budget itself: nothing to project
    return figures + [
        Figure(f"supernet training time SPOS/BN-NAS projected to the default config's budget "
               f"({default_steps[spos.name]} vs {default_steps[bnnas.name]} steps)",
               projected[spos.name] / projected[bnnas.name], "x", None,
               f"measured per-step loop time (checkpoint writes taken out: SPOS {fmt_seconds(step_s[spos.name])}, "
               f"BN-NAS {fmt_seconds(step_s[bnnas.name])}) x the default budget's steps + "
               f"{len(default_plans[spos.name].checkpoint_steps)} curve points x the measured checkpoint + resume "
               f"write time; an estimate, not a run"),
    ]


def _step_figures(space: SearchSpace, recipe: SupernetRecipe, batch_size: int, n_paths: int, sizes: Sizes,
                  goal: bool = True) -> list[Figure]:
    batch = random_batch(space.input_shape, batch_size)
    bn, full = make_trainer(space, "bn", recipe, batch), make_trainer(space, "all", recipe, batch)
    paths = _sample_paths(space, n_paths)
    pairs = paired_step_times(bn, full, paths)
    ratio = pairs.ratio(cpu=True)
    weight_grads_bn, convs_bn = count_weight_grad_convs(bn, paths[0])
    weight_grads_full, convs_full = count_weight_grad_convs(full, paths[0])
    tag = network_tag(space)
    how = (f"real _train_step (rule bn vs all), batch {batch_size} random images, {len(paths)} sampled paths, "
           f"one paired step each after a warm-up; median of per-path ratios of process CPU time (wall-clock: "
           f"{pairs.ratio(cpu=False):.3f}, inflated by other processes' load); median step CPU (wall): BN-only "
           f"{fmt_seconds(statistics.median(pairs.bn_cpu))} ({fmt_seconds(statistics.median(pairs.bn_wall))}), full "
           f"{fmt_seconds(statistics.median(pairs.full_cpu))} ({fmt_seconds(statistics.median(pairs.full_wall))})")
    figures = [Figure(f"BN-only/full training step time {tag}", ratio, "x", STEP_GOAL if goal else None, how)]
    if goal and not STEP_GOAL.met_by(ratio):
        figures[0] = dataclasses.replace(figures[0], note=how + "; " + _explain(bn, full, paths[: sizes.profile_steps]))
    figures.append(Figure(
        f"conv weight gradients computed in a BN-only step {tag}", weight_grads_bn, "convs", Goal("<=", 0.0),
        f"aten.convolution_backward calls with the weight-gradient mask set, intercepted in one step on "
        f"{space.encode(paths[0])}: BN-only {weight_grads_bn} of {convs_bn} calls, full step "
        f"{weight_grads_full} of {convs_full}"))
    return figures


def _explain(bn: Trainer, full: Trainer, paths: list[Arch]) -> str:
    """Why the BN-only step is not cheaper still: both steps timed op by op (CPU time), path by
    path, alternating."""
    bn_ms, full_ms = dict.fromkeys(BREAKDOWN_KINDS, 0.0), dict.fromkeys(BREAKDOWN_KINDS, 0.0)
    for arch in paths:
        for trainer, total in ((bn, bn_ms), (full, full_ms)):
            for kind, ms in step_breakdown(trainer, [arch]).items():
                total[kind] += ms / len(paths)
    parts = ", ".join(f"{kind} {full_ms[kind]:.1f} -> {bn_ms[kind]:.1f}" for kind in BREAKDOWN_KINDS)
    full_total, bn_total = sum(full_ms.values()), sum(bn_ms.values())
    saved = full_ms["conv backward"] - bn_ms["conv backward"]
    return (f"CPU ms per step by op kind (full -> BN-only, mean over {len(paths)} paths, timed op by op): {parts}; "
            f"total {full_total:.1f} -> {bn_total:.1f}. Skipping conv weight gradients saves {saved:.1f} ms of conv "
            f"backward ({100 * saved / full_total:.0f}% of the full step), so the ratio's floor is near "
            f"{(full_total - saved) / full_total:.2f}: BN-only training must still back-propagate input gradients "
            f"through every conv to reach the BNs below it, and conv forward, BN, ReLU, pooling, adds and per-op "
            f"overhead cost the same in both modes. 2/3 is reachable only when convs (forward, input grad, weight "
            f"grad) are nearly the whole step, which on CPU takes far wider layers than nats-tss's")

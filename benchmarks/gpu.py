"""GPU: supernet training steps at paper size, BN-only (BN-NAS) against all weights (SPOS), with
a profile of where each step's time goes.

The network is BN-NAS's ImageNet space (spos-mobilenet, 224 px, batch 512 as the BN-NAS code),
random images already on the device (data loading excluded), each step the real `_train_step`
(uniform single path) with the loss checked as the training loop checks it on a GPU (deferred,
no sync per step). Two settings: bf16 autocast + channels_last (what the issue measured) and
plain fp32.

BN-only vs all weights is measured paired: the same paths in both modes, every path first run
once in both (so neither mode pays a path's first-use costs: lazily loaded kernels, cuDNN
heuristics, allocator growth), then each path's two steps back to back, order alternating,
synchronised around each step; the figure is the median of the per-path time ratios. (The
issue's 1,312 vs 1,398 images/s came from two unpaired runs, BN-only first with 5 warm-up
steps: BN-only then met most paths' kernels for the first time.)

Why a BN-only step is not 2/3 of a full one: it skips only the conv weight-gradient kernels
(`count_weight_grad_convs` checks they are not launched); the forward pass, the input
gradients through every conv (needed to reach the BNs below), BN, activations and per-op
overhead cost the same. The profile (torch.profiler) splits each mode's step into op kinds
with their CPU and device time, plus the device's busy share of the step and the top kernels,
so a GPU session can tell a structural floor (conv input gradients and elementwise work) from
a fixable one (idle device, casts, copies).

Without a GPU the same figures are measured on the CPU at a smaller size ("CPU stand-in"),
without goals: the code path and the CPU's own profile.

Goal (BN-only): the paper's 0.8 GPU-days for BN-NAS on ImageNet, if all spent on its 10 supernet
epochs (12.8M images), is 12.8e6 / (0.8 x 86,400 s) = 185 images/s; a modern GPU should beat it.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from benchmarks.core import Figure, Goal, fmt_seconds
from benchmarks.fixtures import PAPER_KNOBS, PAPER_SHAPE
from benchmarks.supernet_train import count_weight_grad_convs
from harness.data.shapes import dataset_shape
from harness.devices import Compute, synchronize
from harness.spaces import build_space, space_names
from harness.spaces.base import Arch, SearchSpace, Supernet
from harness.training.optim import make_sgd, select_trainable
from harness.training.supernet import FiniteCheck, SupernetRecipe, _train_step

NAME = "gpu"
DESCRIPTION = "GPU: supernet training steps at paper size, BN-only vs all weights, with a per-kernel profile"

PAPER_IMAGES_PER_S = 12.8e6 / (0.8 * 86_400)
RATIO_GOAL = Goal("<=", 0.8)
RECIPE = SupernetRecipe(epochs=1, batch_size=512, lr=0.25, lr_schedule="linear", min_lr=5e-4, momentum=0.9,
                        nesterov=False, weight_decay=0.0, label_smoothing=0.1, grad_clip=5.0, curve_points=1)
SETTINGS = {"bf16 + channels_last": Compute(bf16=True, channels_last=True), "fp32": Compute()}


@dataclass(frozen=True)
class Sizes:
    paths: int          # paired steps (distinct paths) per setting
    profile_paths: int  # steps per mode under the profiler
    cpu_width: float    # the CPU stand-in: spos-mobilenet width, resolution and batch
    cpu_resolution: int
    cpu_batch: int


FULL = Sizes(paths=12, profile_paths=3, cpu_width=0.5, cpu_resolution=64, cpu_batch=16)
TINY = Sizes(paths=1, profile_paths=1, cpu_width=0.25, cpu_resolution=16, cpu_batch=2)


def paper_network() -> tuple[SearchSpace, int]:
    """(space, batch size): BN-NAS's ImageNet space if registered, else NATS-Bench's network."""
    if "spos-mobilenet" in space_names():
        return build_space("spos-mobilenet", dataset_shape("imagenet")), 512
    return build_space("nats-tss", PAPER_SHAPE, **PAPER_KNOBS), 256


@dataclass
class Stepper:
    """A supernet trained by one rule on one fixed random batch already on the device."""

    space: SearchSpace
    supernet: Supernet
    trainable: list[nn.Parameter]
    optimizer: torch.optim.Optimizer
    recipe: SupernetRecipe
    batch: tuple[torch.Tensor, torch.Tensor]
    device: torch.device
    compute: Compute
    check: FiniteCheck

    def step(self, arch: Arch) -> bool:
        batches = iter([self.batch])
        return _train_step(self.supernet, self.space, [arch], batches, self.criterion, self.optimizer, self.trainable,
                           self.recipe, self.device, what="gpu benchmark", epoch=0, step=0, check=self.check,
                           compute=self.compute)

    def __post_init__(self) -> None:
        self.criterion = nn.CrossEntropyLoss(label_smoothing=self.recipe.label_smoothing)


def make_stepper(space: SearchSpace, device: torch.device, batch: int, rule: str, compute: Compute) -> Stepper:
    torch.manual_seed(0)
    supernet = compute.model(space.build_supernet().to(device)).train()
    trainable = select_trainable(supernet, rule)
    optimizer = make_sgd(supernet, trainable, lr=RECIPE.lr, momentum=RECIPE.momentum, nesterov=RECIPE.nesterov,
                         weight_decay=RECIPE.weight_decay)
    shape = space.input_shape  # type: ignore[attr-defined]  (every registered space has one)
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch, shape.channels, shape.resolution, shape.resolution, generator=generator)
    labels = torch.randint(0, shape.classes, (batch,), generator=generator)
    recipe = dataclasses.replace(RECIPE, batch_size=batch)
    return Stepper(space, supernet, trainable, optimizer, recipe, (images.to(device), labels.to(device)), device,
                   compute, FiniteCheck(device, deferred=True))


def sample_paths(space: SearchSpace, count: int) -> list[Arch]:
    rng = np.random.default_rng(0)
    return [space.sample(rng) for _ in range(count)]


def timed_step(stepper: Stepper, arch: Arch) -> float:
    synchronize(stepper.device)
    start = time.perf_counter()
    stepper.step(arch)
    synchronize(stepper.device)
    return time.perf_counter() - start


@dataclass(frozen=True)
class Paired:
    bn_s: tuple[float, ...]
    full_s: tuple[float, ...]

    @property
    def ratio(self) -> float:
        return statistics.median(b / f for b, f in zip(self.bn_s, self.full_s))


def paired_steps(bn: Stepper, full: Stepper, paths: list[Arch]) -> Paired:
    """Every path once in both modes (warm-up), then each path's two steps back to back, order
    alternating."""
    for arch in paths:
        bn.step(arch)
        full.step(arch)
    bn.check.flush(), full.check.flush()
    times: dict[int, list[float]] = {id(bn): [], id(full): []}
    for i, arch in enumerate(paths):
        for stepper in (bn, full) if i % 2 == 0 else (full, bn):
            times[id(stepper)].append(timed_step(stepper, arch))
    bn.check.flush(), full.check.flush()
    return Paired(tuple(times[id(bn)]), tuple(times[id(full)]))


# --------------------------------------------------------------------------- the profile

KINDS = ("conv forward", "conv backward", "batch norm", "elementwise, pooling, loss", "copies + casts",
         "optimizer + clipping", "autograd engine")


def op_kind(name: str) -> str:
    """The kind of an aten op (or autograd wrapper) by its profiler name."""
    if name.startswith("autograd::engine"):
        return "autograd engine"
    if "convolution_backward" in name:
        return "conv backward"
    if "conv" in name:
        return "conv forward"
    if "batch_norm" in name:
        return "batch norm"
    if "_foreach" in name or "clamp" in name or "norm" in name or "sgd" in name:
        return "optimizer + clipping"
    if "copy" in name or name in ("aten::to", "aten::_to_copy", "aten::contiguous"):
        return "copies + casts"
    return "elementwise, pooling, loss"


def kernel_kind(name: str) -> str | None:
    """cuDNN / native conv kernels named by what they compute (None: not recognisable by name)."""
    lowered = name.lower()
    if "wgrad" in lowered or "grad_weight" in lowered:
        return "conv weight grad"
    if "dgrad" in lowered or "depthwise2d_backward" in lowered:
        return "conv input grad"
    return None


@dataclass(frozen=True)
class Profile:
    """Per step: milliseconds by op kind (self CPU time, and the device time of the kernels each
    op launched), the wall time, the device's busy share and the top kernels."""

    cpu_ms: dict[str, float]
    device_ms: dict[str, float]
    wall_ms: float
    busy: float | None
    named_kernels_ms: dict[str, float]
    top_kernels: list[tuple[str, float]]


def _device_time(event: Any) -> float:
    return float(getattr(event, "self_device_time_total", getattr(event, "self_cuda_time_total", 0.0)) or 0.0)


def profile_steps(stepper: Stepper, paths: list[Arch]) -> Profile:
    """torch.profiler over one step per path (already warm), CPU and, on a GPU, CUDA activity."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if stepper.device.type == "cuda" else [])
    synchronize(stepper.device)
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        for arch in paths:
            stepper.step(arch)
        stepper.check.flush()
        synchronize(stepper.device)
    wall_ms = 1e3 * (time.perf_counter() - start) / len(paths)
    cpu_ms, device_ms = dict.fromkeys(KINDS, 0.0), dict.fromkeys(KINDS, 0.0)
    named: dict[str, float] = defaultdict(float)
    kernels: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        is_kernel = str(getattr(event, "device_type", "")).endswith(("CUDA", "PrivateUse1")) \
            and not event.key.startswith(("aten::", "autograd::"))
        if is_kernel:
            kernels[event.key] += _device_time(event) / 1e3 / len(paths)
            kind = kernel_kind(event.key)
            if kind:
                named[kind] += _device_time(event) / 1e3 / len(paths)
            continue
        if not event.key.startswith(("aten::", "autograd::")):
            continue
        kind = op_kind(event.key)
        cpu_ms[kind] += event.self_cpu_time_total / 1e3 / len(paths)
        device_ms[kind] += _device_time(event) / 1e3 / len(paths)
    total_device = sum(kernels.values())
    busy = total_device / wall_ms if stepper.device.type == "cuda" and wall_ms > 0 else None
    top = sorted(kernels.items(), key=lambda kv: -kv[1])[:6]
    return Profile(cpu_ms, device_ms, wall_ms, busy, dict(named), top)


def describe_profiles(bn: Profile, full: Profile, on_gpu: bool) -> str:
    """One paragraph: per op kind, all weights -> BN-only (device ms on a GPU, CPU ms on the CPU)."""
    view = "device" if on_gpu else "CPU"
    a, b = (full.device_ms, bn.device_ms) if on_gpu else (full.cpu_ms, bn.cpu_ms)
    parts = ", ".join(f"{kind} {a[kind]:.1f} -> {b[kind]:.1f}" for kind in KINDS if a[kind] or b[kind])
    text = (f"{view} ms per step by op kind (all weights -> BN-only; torch.profiler self time of the ops and of "
            f"the kernels each launched): {parts}; total {sum(a.values()):.1f} -> {sum(b.values()):.1f}; wall "
            f"{full.wall_ms:.1f} -> {bn.wall_ms:.1f} ms")
    if on_gpu:
        text += (f"; device busy {100 * (full.busy or 0):.0f}% -> {100 * (bn.busy or 0):.0f}% of the step"
                 f"; conv kernels named by role: all weights {_named(full)}, BN-only {_named(bn)}"
                 f"; CPU time of the ops {sum(full.cpu_ms.values()):.1f} -> {sum(bn.cpu_ms.values()):.1f} ms"
                 f"; top kernels (all weights): " + "; ".join(f"{name[:60]} {ms:.2f} ms" for name, ms in full.top_kernels))
    saved = a["conv backward"] - b["conv backward"]
    total = sum(a.values())
    if total > 0:
        text += (f". Skipping conv weight gradients saves {saved:.1f} ms of conv backward ({100 * saved / total:.0f}% of "
                 f"the all-weights {view} time): the floor of the ratio by this profile is about "
                 f"{(total - saved) / total:.2f}")
    return text


def _named(profile: Profile) -> str:
    if not profile.named_kernels_ms:
        return "none recognisable"
    return ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in sorted(profile.named_kernels_ms.items()))


# --------------------------------------------------------------------------- launch-bound networks

class OpCounter(TorchDispatchMode):
    """Counts aten ops: on a GPU, each is (at least) one kernel launch."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        self.count += 1
        return func(*args, **(kwargs or {}))


def gpu_yaml_networks() -> list[tuple[str, SearchSpace]]:
    """config/gpu.yaml's two ranking networks (Fashion-MNIST at 16 px)."""
    shape = dataset_shape("fashion-mnist", 16)
    return [("nats-tss C=8 N=1", build_space("nats-tss", shape, C=8, N=1)),
            ("spos-mobilenet width 0.25", build_space("spos-mobilenet", shape, width_mult=0.25))]


def ops_per_step(space: SearchSpace, rule: str, paths: int = 4) -> float:
    """Mean aten ops of one training step (forward, backward, clipping, optimiser) over `paths`
    sampled paths, counted on the CPU (the count does not depend on the device or the batch)."""
    stepper = make_stepper(space, torch.device("cpu"), 2, rule, Compute())
    counts = []
    for arch in sample_paths(space, paths):
        stepper.step(arch)  # the first step of a path creates momentum buffers
        counter = OpCounter()
        with counter:
            stepper.step(arch)
        counts.append(counter.count)
    return float(np.mean(counts))


def op_count_figures() -> list[Figure]:
    """How many kernels a step of config/gpu.yaml's networks launches: on a GPU their steps are
    bound by launches (~10-25 us each), not arithmetic, which is what config/gpu.yaml is sized by."""
    figures = []
    for name, space in gpu_yaml_networks():
        full, bn = ops_per_step(space, "all"), ops_per_step(space, "bn")
        figures.append(Figure(f"aten ops per training step, {name} (config/gpu.yaml), all weights", full, "ops", None,
                              f"BN-only: {bn:.0f} ops ({bn / full:.2f}x); counted with a TorchDispatchMode over real "
                              "_train_step calls, mean of 4 paths; each op is at least one kernel launch on a GPU"))
    return figures


# --------------------------------------------------------------------------- figures

def throughput(space: SearchSpace, device: torch.device, batch: int, rule: str, sizes: Sizes,
               bf16: bool = True, channels_last: bool = True) -> float:
    """Images per second of `sizes.paths` timed training steps (uniform paths, warm) on `device`."""
    stepper = make_stepper(space, device, batch, rule, Compute(bf16=bf16, channels_last=channels_last))
    paths = sample_paths(space, sizes.paths)
    for arch in paths:
        stepper.step(arch)
    synchronize(device)
    start = time.perf_counter()
    for arch in paths:
        stepper.step(arch)
    stepper.check.flush()
    synchronize(device)
    return batch * len(paths) / (time.perf_counter() - start)


def setting_figures(space: SearchSpace, device: torch.device, batch: int, setting: str, sizes: Sizes,
                    where: str) -> list[Figure]:
    compute = SETTINGS[setting]
    bn, full = (make_stepper(space, device, batch, rule, compute) for rule in ("bn", "all"))
    paths = sample_paths(space, sizes.paths)
    pairs = paired_steps(bn, full, paths)
    profiles = [profile_steps(stepper, paths[: sizes.profile_paths]) for stepper in (bn, full)]
    weight_bn, calls_bn = count_weight_grad_convs(bn, paths[0])  # type: ignore[arg-type]  (has .step)
    on_gpu = device.type == "cuda"
    tag = f"{space.name} {space.input_shape.resolution} px, batch {batch}, {setting}"  # type: ignore[attr-defined]
    how = (f"{where}; real _train_step, {len(paths)} uniform paths, each warmed in both modes, then paired steps "
           f"(order alternating, synchronised): median step BN-only {fmt_seconds(statistics.median(pairs.bn_s))}, "
           f"all weights {fmt_seconds(statistics.median(pairs.full_s))}; BN-only launches {weight_bn} conv "
           f"weight-gradient computations of {calls_bn} conv backward calls")
    bn_rate = batch / statistics.median(pairs.bn_s)
    full_rate = batch / statistics.median(pairs.full_s)
    prefix = "GPU" if on_gpu else "CPU stand-in"
    paper = on_gpu and space.name == "spos-mobilenet"
    return [
        Figure(f"{prefix} BN-only / all-weights step time ({tag})", pairs.ratio, "x",
               RATIO_GOAL if paper else None, how + ". " + describe_profiles(profiles[0], profiles[1], on_gpu)),
        Figure(f"{prefix} supernet training throughput, BN-only (BN-NAS) ({tag})", bn_rate, "images/s",
               Goal(">=", round(PAPER_IMAGES_PER_S)) if paper else None,
               how + ("; goal = the paper's 0.8 GPU-days for 10 ImageNet epochs" if paper else "")),
        Figure(f"{prefix} supernet training throughput, all weights (SPOS) ({tag})", full_rate, "images/s", None, how),
    ]


def run(sizes: Sizes, *, cpu: bool = False) -> list[Figure]:
    """The GPU's figures where one is (cpu=True: the CPU stand-in even then)."""
    if torch.cuda.is_available() and not cpu:
        device = torch.device("cuda")
        space, batch = paper_network()
        where = f"on {torch.cuda.get_device_name(device)}, random images on the GPU"
        figures = []
        for setting in SETTINGS:
            figures += setting_figures(space, device, batch, setting, sizes, where)
        return figures + op_count_figures()
    space = build_space("spos-mobilenet", dataset_shape("imagenet", sizes.cpu_resolution), width_mult=sizes.cpu_width)
    where = (f"no GPU here: measured on the CPU ({torch.get_num_threads()} thread(s)) at width {sizes.cpu_width:g}; "
             "on a GPU this measures spos-mobilenet at 224 px, batch 512, both settings, with CUDA kernel times")
    return setting_figures(space, torch.device("cpu"), sizes.cpu_batch, "fp32", sizes, where) + op_count_figures()

#!/usr/bin/env python3
"""GPU check: device pinning, batches on the device, supernet training end to end and bare
steps (fp32, deterministic or not, bf16 autocast, channels_last), one scoring pass and a
determinism check on the GPU, each figure beside its goal; it ends with which of bf16 and
channels_last to use (config keys `bf16`, `channels_last`) on each network measured.

    python scripts/gpu_check.py --bf16 --channels-last # on a machine with a GPU (make gpu-check runs this)
    python scripts/gpu_check.py --device cpu --small   # the same checks on the CPU (tests the script)

Without a usable GPU (and without --device cpu) it says so and exits 0. Exit status 1 when a check
fails. Synthetic data (no dataset files needed). Like every job, it applies the determinism
settings (harness.seeding.apply_determinism) before any CUDA work; --nondeterministic measures
torch's defaults instead. Runs in about a minute on one GPU.

What it checks:
  pinning      harness.devices: two claims on fake GPUs get distinct slots; with >= 2 GPUs, two
               concurrent processes pin different GPUs
  data         batches made from splits on the device (indexing, crop + flip, normalisation
               there) equal the CPU's bit for bit
  train        harness.training.supernet.train_supernet, the real loop (data on the device, loss
               checked without a sync per step): images/s of its loop, warm, at NATS-Bench size
  step         the bare step (batches already on the device, no loss check): images/s for fp32
               under the run's determinism setting, fp32 the other way (the cost of determinism),
               and if asked bf16 / channels_last, on NATS-Bench's network and on config/gpu.yaml's
               two networks; end to end / bare (goal >= 0.80)
  score        bn_indicator and validation_accuracy on the trained supernet: archs/s, and the
               same scores computed on the CPU from the same weights (BN indicator must match;
               accuracies may differ by a few near-tied images, e.g. through TF32 convolutions)
  determinism  the same training twice: bitwise equal checkpoints (a failure when deterministic)
  use          per network: bf16 / channels_last only where measured >= 1.05x fp32's images/s
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np
import torch
from torch import nn

from harness import devices
from harness.data.datasets import DataSplits
from harness.data.shapes import dataset_shape
from harness.devices import synchronize
from harness.method import ScoreContext
from harness.scoring.scorers import bn_indicator, validation_accuracy
from harness.seeding import CUBLAS_WORKSPACE_ENV, DETERMINISTIC_CUBLAS, apply_determinism, seed_everything
from harness.spaces import build_space
from harness.spaces.base import SearchSpace
from harness.training.optim import make_sgd, select_trainable
from harness.training.samplers import make_sampler
from harness.training.supernet import SupernetRecipe, load_checkpoint, train_supernet
from harness.workflow.job import setup_torch
from methods import resolve

RESULTS: list[tuple[str, bool, str]] = []
END_TO_END_GOAL = 0.80   # train_supernet's loop images/s over the bare step's (issue 23)
FASTER = 1.05            # bf16 / channels_last count as faster at >= this x fp32's images/s


def report(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok, detail))
    print(f"[{'ok' if ok else 'FAIL'}] {name}: {detail}", flush=True)


def synthetic_data(dataset: str, resolution: int, train: int, val: int, seed: int = 0) -> DataSplits:
    """Random uint8 images of a dataset's shape with labels (throughput and plumbing, not accuracy)."""
    shape = dataset_shape(dataset, resolution)
    g = torch.Generator().manual_seed(seed)

    def images(n: int) -> torch.Tensor:
        return torch.randint(0, 256, (n, shape.channels, resolution, resolution), generator=g, dtype=torch.uint8)

    def labels(n: int) -> torch.Tensor:
        return torch.randint(0, shape.classes, (n,), generator=g)

    return DataSplits(dataset="synthetic", train_x=images(train), val_x=images(val), test_x=images(val),
                      train_y=labels(train), val_y=labels(val), test_y=labels(val),
                      mean=(0.5,) * shape.channels, std=(0.25,) * shape.channels, input_shape=shape,
                      augment=True, provenance={"source": "scripts/gpu_check.py synthetic"})


PIN_PROBE = ("import torch; from harness.devices import pin_device; d = pin_device('cuda'); "
             "print(d.index, flush=True); import sys; sys.stdin.read()")


def check_pinning(device: torch.device) -> None:
    with tempfile.TemporaryDirectory() as locks:
        a = devices.claim_gpu(["fake0", "fake1"], lock_dir=locks, per_gpu=1)
        b = devices.claim_gpu(["fake0", "fake1"], lock_dir=locks, per_gpu=1)
        c = devices.claim_gpu(["fake0", "fake1"], lock_dir=locks, per_gpu=1)
        devices.release_all()
        ok = (a.index, b.index) == (0, 1) and not a.shared and not b.shared and c.shared
        report("pinning slots", ok, f"claims on 2 fake GPUs -> {a.index}, {b.index}, then shared={c.shared}")
    if device.type != "cuda":
        return
    count = torch.cuda.device_count()
    if count < 2 or devices.single_visible():
        report("pinning GPUs", True, f"{count} GPU(s) visible (CUDA_VISIBLE_DEVICES="
               f"{os.environ.get('CUDA_VISIBLE_DEVICES')}): nothing to pin, jobs use {device}")
        return
    with tempfile.TemporaryDirectory() as locks:
        env = {**os.environ, devices.LOCK_DIR_ENV: locks, "PYTHONPATH": str(ROOT)}
        procs = [subprocess.Popen([sys.executable, "-c", PIN_PROBE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=env, cwd=ROOT) for _ in range(2)]
        chosen = [int(p.stdout.readline()) for p in procs]
        for p in procs:
            p.communicate("")
    report("pinning GPUs", len(set(chosen)) == 2, f"2 concurrent jobs on {count} GPUs pinned cuda:{chosen[0]} "
           f"and cuda:{chosen[1]}")


def check_data(data: DataSplits, device: torch.device, batch_size: int) -> None:
    """Batches made on the device equal the CPU's (same generator seed, augmentation on)."""
    on_device = data.to(device)
    cpu = list(data.batches("train", batch_size, generator=torch.Generator().manual_seed(5), drop_last=True))
    dev = list(on_device.batches("train", batch_size, generator=torch.Generator().manual_seed(5), drop_last=True))
    same = len(cpu) == len(dev) and all(torch.equal(x.cpu(), xd.cpu()) and torch.equal(y.cpu(), yd.cpu())
                                        for (x, y), (xd, yd) in zip(cpu, dev))
    where = {str(xd.device) for xd, _ in dev}
    report("data", same, f"{len(dev)} augmented batches made on {', '.join(sorted(where))} "
           f"{'equal' if same else 'DIFFER FROM'} the CPU's bit for bit (goal: equal)")


def recipe(epochs: float, batch_size: int, curve_points: int = 2) -> SupernetRecipe:
    return SupernetRecipe(epochs=epochs, batch_size=batch_size, lr=0.1, lr_schedule="cosine", min_lr=0.0,
                          momentum=0.9, nesterov=True, weight_decay=5e-4, label_smoothing=0.0, grad_clip=5.0,
                          curve_points=curve_points)


def check_train(space, data: DataSplits, device: torch.device, args, out_dir: Path) -> tuple[dict, float]:
    """The real training loop, warm: a first short run pays CUDA's start-up, a second one is timed
    (train.json's train_time_s: the loop, its checkpoint writes included). Returns (record of the
    first run, loop images/s of the second)."""
    started = time.perf_counter()
    record = train_supernet(space, resolve("spos"), data, recipe(args.epochs, args.batch_size), seed=0,
                            out_dir=out_dir, device=device, progress=False)
    synchronize(device)
    cold = time.perf_counter() - started
    warm = train_supernet(space, resolve("spos"), data, recipe(args.epochs, args.batch_size), seed=1,
                          out_dir=out_dir.parent / "warm", device=device, progress=False)
    images = warm["steps"] * warm["paths_per_step"] * args.batch_size
    rate = images / warm["train_time_s"]
    ok = record["steps"] > 0 and (out_dir / "ckpt1.pt").exists() and record["device"] == str(device)
    report("train", ok, f"{warm['steps']} steps of spos on {warm['device']} (data on the device): {rate:,.0f} images/s "
           f"in the loop, warm (the first run, CUDA start-up included, took {cold:.1f} s), "
           f"{record['skipped_steps']} skipped")
    return record, rate


def bare_steps(space, data: DataSplits, device: torch.device, args, *, bf16: bool, channels_last: bool,
               batch_size: int | None = None):
    """images/s and losses of `args.steps` timed training steps, batches already on the device."""
    batch_size = batch_size or args.batch_size
    seed_everything(0)
    supernet = space.build_supernet().to(device)
    if channels_last:
        supernet = supernet.to(memory_format=torch.channels_last)
    trainable = select_trainable(supernet, "all")
    optimizer = make_sgd(supernet, trainable, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sampler, rng, criterion = make_sampler("uniform", space), np.random.default_rng(0), nn.CrossEntropyLoss()
    batches = []
    generator = torch.Generator().manual_seed(0)
    for x, y in data.to(device).batches("train", batch_size, generator=generator, drop_last=True):
        batches.append((x.contiguous(memory_format=torch.channels_last) if channels_last else x, y))
        if len(batches) == 4:
            break
    losses = []

    def step(k: int) -> None:
        images, labels = batches[k % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = criterion(supernet(images, sampler(rng)[0]), labels)
        loss.backward()
        nn.utils.clip_grad_norm_(trainable, 5.0)
        optimizer.step()
        losses.append(loss.detach())

    for k in range(3):  # warm-up: kernels, autotuning
        step(k)
    synchronize(device)
    started = time.perf_counter()
    for k in range(args.steps):
        step(k)
    synchronize(device)
    seconds = time.perf_counter() - started
    values = torch.stack(losses).float().cpu()
    return args.steps * batch_size / seconds, values


def step_variants(args) -> list[tuple[str, bool, bool]]:
    variants = [("fp32", False, False)]
    if args.bf16:
        variants.append(("bf16 autocast", True, False))
    if args.channels_last:
        variants.append(("channels_last", False, True))
    if args.bf16 and args.channels_last:
        variants.append(("bf16 + channels_last", True, True))
    return variants


def check_steps(name: str, space, data, device, args, batch_size: int, deterministic: bool) -> dict[str, float]:
    """The bare step's variants on one network; returns images/s by variant ("fp32 other" = fp32 with
    the determinism setting flipped)."""
    speeds: dict[str, float] = {}
    baseline = None
    for variant, bf16, cl in step_variants(args):
        try:
            speed, losses = bare_steps(space, data, device, args, bf16=bf16, channels_last=cl, batch_size=batch_size)
        except RuntimeError as exc:  # e.g. bf16 unsupported on this device
            report(f"step {name} {variant}", False, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
            continue
        finite = bool(torch.isfinite(losses).all())
        if finite or variant == "fp32":  # a variant whose loss blows up is no option, however fast
            speeds[variant] = speed
        detail = f"{speed:,.0f} images/s (batch {batch_size}, data on device), last loss {losses[-1]:.4f}"
        if not finite and variant != "fp32":
            detail += "; the loss went NON-FINITE: not an option on this network"
        if baseline is None:
            baseline = (speed, losses)
            detail += f" ({'deterministic' if deterministic else 'nondeterministic'} algorithms)"
        else:
            detail += (f"; {speed / baseline[0]:.2f}x fp32's speed (counts as faster at >= {FASTER:.2f}x), max |loss - "
                       f"fp32 loss| over the steps {(losses - baseline[1]).abs().max():.3g}")
        report(f"step {name} {variant}", finite or variant != "fp32", detail)
    torch.use_deterministic_algorithms(not deterministic)  # the cost of determinism, same network
    try:
        other, _ = bare_steps(space, data, device, args, bf16=False, channels_last=False, batch_size=batch_size)
    finally:
        torch.use_deterministic_algorithms(deterministic)
    speeds["fp32 other"] = other
    if "fp32" in speeds:
        det, nondet = (speeds["fp32"], other) if deterministic else (other, speeds["fp32"])
        report(f"step {name} determinism cost", True, f"fp32 deterministic {det:,.0f} vs nondeterministic "
               f"{nondet:,.0f} images/s: deterministic runs at {det / nondet:.2f}x (config `deterministic: false` is "
               "the speed option)")
    return speeds


def recommend(name: str, speeds: dict[str, float], measured: tuple[str, ...] = ()) -> str:
    """`bf16: true/false, channels_last: true/false` for a network: on only where measured faster
    (`measured`: the variants timed, also those left out of `speeds` for a non-finite loss)."""
    base = speeds.get("fp32")
    if not base:
        return f"{name}: fp32 not measured"
    choices = []
    for key, variant in (("bf16", "bf16 autocast"), ("channels_last", "channels_last")):
        if variant in speeds:
            ratio = speeds[variant] / base
            choices.append(f"{key}: {'true' if ratio >= FASTER else 'false'} ({ratio:.2f}x)")
        elif variant in measured:
            choices.append(f"{key}: false (its loss went non-finite)")
        else:
            choices.append(f"{key}: not measured (pass --{key.replace('_', '-')})")
    both = speeds.get("bf16 + channels_last")
    if both:
        choices.append(f"both together {both / base:.2f}x")
    return f"{name}: " + ", ".join(choices)


def score_pass(space, data, device, args, checkpoint: Path, archs: np.ndarray, bf16: bool = False):
    supernet = space.build_supernet().to(device)
    load_checkpoint(supernet, checkpoint)
    options = {"recalibration_batches": args.recal_batches, "recalibration_batch_size": args.batch_size,
               "validation_images": args.val_images, "batch_size": 500, "statistic": "abs_gamma", "no_bn_score": 0.0}
    context = ScoreContext(space=space, supernet=supernet, data=data, options=options, seed=0, device=device)
    synchronize(device)
    started = time.perf_counter()
    gamma = bn_indicator(context, archs)
    bn_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
        accuracy = validation_accuracy(context, archs)
    synchronize(device)
    return gamma, accuracy, bn_seconds, time.perf_counter() - started


def check_score(space, data, device, args, checkpoint: Path) -> None:
    archs = space.to_matrix([space.sample(np.random.default_rng(k)) for k in range(args.archs)])
    gamma, accuracy, bn_s, acc_s = score_pass(space, data, device, args, checkpoint, archs)
    images = (args.recal_batches * args.batch_size + args.val_images) * len(archs)
    sane = np.isfinite(gamma).all() and ((accuracy >= 0) & (accuracy <= 1)).all()
    report("score", bool(sane), f"{len(archs)} archs: BN indicator {len(archs) / max(bn_s, 1e-9):,.0f} archs/s; "
           f"validation accuracy {len(archs) / acc_s:,.1f} archs/s ({images / acc_s:,.0f} images/s incl. "
           "recalibration)")
    if device.type != "cpu":  # the CPU is slow at full size: compare the first 4 archs
        few = archs[:4]
        cpu_gamma, cpu_accuracy, _, _ = score_pass(space, data, torch.device("cpu"), args, checkpoint, few)
        same_gamma = np.allclose(gamma[: len(few)], cpu_gamma, rtol=1e-5, atol=1e-7)
        diff = np.abs(accuracy[: len(few)] - cpu_accuracy)
        report("score vs cpu", same_gamma and diff.max() <= 0.05,
               f"BN indicator {'equal' if same_gamma else 'DIFFERENT'}; validation accuracy equal for "
               f"{(diff == 0).mean():.0%} of {len(few)} archs, max difference {diff.max():.4f}")
    if args.bf16:
        _, bf16_accuracy, _, bf16_s = score_pass(space, data, device, args, checkpoint, archs, bf16=True)
        diff = np.abs(bf16_accuracy - accuracy)
        report("score bf16", diff.max() <= 0.05, f"{len(archs) / bf16_s:,.1f} archs/s; accuracy differs from fp32 "
               f"by at most {diff.max():.4f} (mean {diff.mean():.4f})")


def check_determinism(space, data, device, args, first: Path, work: Path, deterministic: bool) -> None:
    again = work / "again"
    train_supernet(space, resolve("spos"), data, recipe(args.epochs, args.batch_size), seed=0, out_dir=again,
                   device=device, progress=False)
    a = torch.load(first / "ckpt1.pt", weights_only=True)
    b = torch.load(again / "ckpt1.pt", weights_only=True)
    diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())
    same = all(torch.equal(a[k], b[k]) for k in a)
    if same:
        detail = "two trainings give bitwise equal checkpoints (goal: equal)"
    else:
        detail = (f"two trainings differ (max |difference| {diff:.3g}; goal: equal): "
                  + ("the determinism settings did not make them reproducible" if deterministic else
                     "expected with --nondeterministic (torch's nondeterministic kernels)"))
    report("determinism", same or not deterministic, detail)


def gpu_yaml_networks(small: bool) -> list[tuple[str, SearchSpace, str, int]]:
    """(name, space, dataset, batch) of config/gpu.yaml's two ranking networks (tiny with --small)."""
    if small:
        return [("gpu.yaml nats-tss", build_space("nats-tss", dataset_shape("fashion-mnist", 8), C=4, N=1),
                 "fashion-mnist", 32),
                ("gpu.yaml spos-mobilenet", build_space("spos-mobilenet", dataset_shape("fashion-mnist", 8),
                                                        width_mult=0.25), "fashion-mnist", 16)]
    return [("gpu.yaml nats-tss", build_space("nats-tss", dataset_shape("fashion-mnist", 16), C=8, N=1),
             "fashion-mnist", 256),
            ("gpu.yaml spos-mobilenet", build_space("spos-mobilenet", dataset_shape("fashion-mnist", 16),
                                                    width_mult=0.25), "fashion-mnist", 256)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda (default when available) or cpu")
    parser.add_argument("--bf16", action="store_true", help="also time/compare bf16 autocast")
    parser.add_argument("--channels-last", action="store_true", help="also time channels_last memory format")
    parser.add_argument("--nondeterministic", action="store_true",
                        help="run with torch's defaults (config deterministic: false) instead of the jobs' default")
    parser.add_argument("--small", action="store_true", help="tiny sizes (C=4, N=1, 8 px): a quick CPU run")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None, help="timed bare training steps per variant")
    parser.add_argument("--archs", type=int, default=None, help="architectures scored")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    deterministic = not args.nondeterministic
    settings = apply_determinism(deterministic)  # as every job does, before any CUDA work
    # the determinism-cost timing switches deterministic algorithms on even under --nondeterministic,
    # and cuBLAS reads its workspace setting once, at its first handle: set it now in both modes (the
    # nondeterministic timing then runs with the small workspace, a slight understatement of its speed)
    os.environ.setdefault(CUBLAS_WORKSPACE_ENV, DETERMINISTIC_CUBLAS[0])
    if args.device is None:
        if not torch.cuda.is_available():
            print(f"no GPU: torch {torch.__version__} (CUDA build {torch.version.cuda}) sees no usable CUDA device; "
                  "nothing to check. Run with --device cpu to exercise the checks on the CPU.")
            return 0
        args.device = "cuda"
    small = args.small
    C, N, resolution = (4, 1, 8) if small else (16, 5, 32)
    args.batch_size = args.batch_size or (32 if small else 256)
    args.steps = args.steps or (3 if small else 30)
    args.archs = args.archs or (4 if small else 50)
    args.recal_batches, args.val_images = (1, 64) if small else (10, 2000)
    train_images = args.batch_size * (8 if small else 60)
    args.epochs = 1.0

    device = setup_torch(args.device, args.threads)  # pins this process's GPU (harness.devices)
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)}, {torch.cuda.device_count()} visible)" if device.type == "cuda" else "")
          + f"; nats-tss C={C} N={N} at {resolution} px; determinism {settings}", flush=True)
    space = build_space("nats-tss", dataset_shape("cifar10", resolution), C=C, N=N)
    data = synthetic_data("cifar10", resolution, train_images, max(args.val_images, args.batch_size))

    check_pinning(device)
    check_data(data, device, args.batch_size)
    recommendations = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _, loop_rate = check_train(space, data, device, args, work / "supernet")
        speeds = check_steps("NATS-Bench", space, data, device, args, args.batch_size, deterministic)
        bare = speeds.get("fp32", float("nan"))
        ratio = loop_rate / bare
        report("end to end vs bare", ratio >= END_TO_END_GOAL or device.type == "cpu",
               f"train_supernet's loop {loop_rate:,.0f} images/s = {ratio:.2f}x the bare step's {bare:,.0f} "
               f"(goal >= {END_TO_END_GOAL:.2f}" + (" on a GPU; not judged on the CPU)" if device.type == "cpu" else ")"))
        measured = tuple(variant for variant, _, _ in step_variants(args))
        recommendations.append(recommend("NATS-Bench network (C=16 N=5, 32 px)", speeds, measured))
        for name, net, dataset, batch in gpu_yaml_networks(small):
            net_data = synthetic_data(dataset, net.input_shape.resolution, batch * 6, batch)
            speeds = check_steps(name, net, net_data, device, args, batch, deterministic)
            recommendations.append(recommend(f"{name}, batch {batch}", speeds, measured))
        check_score(space, data, device, args, work / "supernet" / "ckpt1.pt")
        check_determinism(space, data, device, args, work / "supernet", work, deterministic)

    print("\nuse (config keys; on only where measured >= %.2fx fp32):" % FASTER)
    for line in recommendations:
        print(f"  {line}")
    failed = [name for name, ok, _ in RESULTS if not ok]
    print(f"\n{len(RESULTS) - len(failed)} of {len(RESULTS)} checks passed" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

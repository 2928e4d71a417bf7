"""Supernet training: the method's sampler picks path(s) per step, the method's trainable rule
decides what learns, and `curve_points` checkpoints are kept for the early-bird curve.

Resumable: at every epoch end the full state (model, optimiser, step, sampler RNG, elapsed time,
checkpoints so far) is written atomically to resume.pt; a rerun continues from it and ends with
the same result as an uninterrupted run, because each epoch's data order and augmentation come
from a generator seeded by (seed, epoch), so a resumed epoch replays exactly. resume.pt also
records what run wrote it (network, method, recipe, data, seed): a rerun with anything changed
(Snakemake reruns the job when the config changes, but resume.pt is not one of its outputs)
moves it aside to resume.stale.pt and trains from scratch instead of continuing a different run.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from harness.data.datasets import DataSplits, on_device
from harness.devices import Compute
from harness.errors import HarnessError
from harness.io import save_torch, write_csv, write_json
from harness.results.files import read_torch_file
from harness.results.records import read_train_record
from harness.method import Method
from harness.paths import CHECKPOINT_NAME, RESUME_NAME, STALE_RESUME_NAME, TRAIN_RECORD_NAME
from harness.scoring.bn_diagnostics import DIAGNOSTICS_NAME, GammaBaseline, diagnostics_frame
from harness.training.optim import check_finite, lr_factor, make_sgd, select_trainable
from harness.training.recipes import SupernetRecipe, recipe_for
from harness.training.samplers import make_sampler
from harness.seeding import derive_seed, determinism_settings, seed_everything
from harness.training.step_timing import StepBlocks
from harness.spaces.base import SearchSpace, Supernet


@dataclass(frozen=True)
class Schedule:
    """Step counts of one method's run: the baseline epochs scaled by its epoch_fraction."""

    steps_per_epoch: int
    total_steps: int
    checkpoint_steps: tuple[int, ...]

    def epoch_at(self, step: int) -> float:
        return step / self.steps_per_epoch


def plan_schedule(recipe: SupernetRecipe, method: Method, train_images: int, paths_per_step: int) -> Schedule:
    batches = train_images // recipe.batch_size
    steps_per_epoch = batches // paths_per_step
    if steps_per_epoch < 1:
        raise HarnessError(
            f"supernet.batch_size {recipe.batch_size} x {paths_per_step} path(s) per step exceeds the "
            f"{train_images} training images; lower supernet.batch_size or raise dataset.train_images"
        )
    total = max(1, round(recipe.epochs * method.epoch_fraction * steps_per_epoch))
    points = min(recipe.curve_points, total)
    checkpoints = tuple(sorted({max(1, round(total * (i + 1) / points)) for i in range(points)}))
    return Schedule(steps_per_epoch, total, checkpoints)


def train_supernet(space: SearchSpace, method: Method, data: DataSplits, recipe: SupernetRecipe, *,
                   seed: int, out_dir: Path, device: torch.device, progress: bool = True,
                   compute: Compute = Compute()) -> dict[str, Any]:
    """Train (or resume) one supernet; write ckpt{i}.pt at each curve point, train.json and the
    gamma diagnostics (gamma_diagnostics.csv). `recipe` is the config's shared recipe; a method
    whose recipe is "official" trains with BN-NAS's own (harness.training.recipes).

    On a GPU the data moves there once (batches are made, augmented and normalised on the
    device, equal to the CPU's) and the loss is checked for finiteness every FiniteCheck.EVERY
    steps instead of at every step, so the GPU never waits for the CPU between steps.
    `compute` (config bf16, channels_last) sets autocast and the memory format."""
    if not method.trains_supernet:
        raise HarnessError(f"method {method.name!r} has no supernet to train (sampler None)")
    recipe, recipe_record = recipe_for(method.recipe, recipe)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = seed_everything(seed)
    data = on_device(data, device)
    supernet = compute.model(space.build_supernet().to(device))
    gamma0 = GammaBaseline.of(space, supernet, method.options)
    trainable = select_trainable(supernet, method.trainable)
    optimizer = make_sgd(supernet, trainable, lr=recipe.lr, momentum=recipe.momentum,
                         nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)
    sampler = make_sampler(method.sampler, space)
    paths_per_step = len(sampler(np.random.default_rng(0)))
    schedule = plan_schedule(recipe, method, len(data.train_y), paths_per_step)
    criterion = make_criterion(recipe)

    run_key = _run_key(supernet, method, data, recipe, seed, device, compute)
    state = _load_resume(out_dir / RESUME_NAME, supernet, optimizer, rng, run_key)
    step, skipped, elapsed, checkpoints = state["step"], state["skipped"], state["elapsed"], state["checkpoints"]
    bar = tqdm(total=schedule.total_steps, initial=step, desc=f"{space.name}/{method.name}", disable=not progress)
    started = time.perf_counter() - elapsed
    cpu_started = time.process_time() - state["cpu_elapsed"]
    blocks = StepBlocks(schedule.total_steps, state["step_blocks"])
    supernet.train()
    finite = FiniteCheck(device)
    while step < schedule.total_steps:
        epoch, offset = divmod(step, schedule.steps_per_epoch)
        batches = _epoch_batches(data, recipe.batch_size, derive_seed(seed, "epoch", epoch))
        for _ in range(offset * paths_per_step):
            next(batches)
        while offset < schedule.steps_per_epoch and step < schedule.total_steps:
            for group in optimizer.param_groups:
                group["lr"] = recipe.lr * lr_factor(step, schedule.total_steps, recipe.lr_schedule, recipe.lr, recipe.min_lr)
            trained = _train_step(supernet, space, sampler(rng), batches, criterion, optimizer, trainable, recipe,
                                  device, what=f"{space.name}/{method.name}", epoch=epoch, step=step,
                                  check=finite, compute=compute)
            skipped += 0 if trained else 1
            step, offset = step + 1, offset + 1
            bar.update(1)
            if step in schedule.checkpoint_steps:
                finite.flush()  # never write weights of a run whose loss went non-finite
                index = schedule.checkpoint_steps.index(step)
                save_torch(supernet.state_dict(), out_dir / CHECKPOINT_NAME.format(checkpoint=index))
                checkpoints.append({"checkpoint": index, "epoch": schedule.epoch_at(step), "step": step,
                                    "time_s": time.perf_counter() - started,
                                    "cpu_time_s": _known(time.process_time() - cpu_started), **gamma0.diagnose(supernet)})
            blocks.step_done(step)
            if offset == schedule.steps_per_epoch and step < schedule.total_steps:
                finite.flush()
                _save_resume(out_dir / RESUME_NAME, supernet, optimizer, rng, step, skipped,
                             time.perf_counter() - started, time.process_time() - cpu_started, checkpoints, run_key,
                             blocks.state())
    finite.flush()
    bar.close()
    record = {
        "method": method.describe(),
        "space": space.name,
        "seed": seed,
        "epochs": schedule.epoch_at(schedule.total_steps),
        "steps": schedule.total_steps,
        "paths_per_step": paths_per_step,
        "skipped_steps": skipped,
        "train_time_s": checkpoints[-1]["time_s"],
        # CPU seconds of this process (all its threads) until the final checkpoint was written: on
        # a CPU device the work done, which unlike wall time does not grow when other jobs share the cores
        "train_cpu_time_s": checkpoints[-1]["cpu_time_s"],
        # per block of consecutive steps (harness.training.step_timing): what the speed-up CI resamples
        "step_blocks": blocks.record(),
        "trainable_params": sum(p.numel() for p in trainable),
        "total_params": sum(p.numel() for p in supernet.parameters()),
        "recipe": asdict(recipe),
        "recipe_source": recipe_record,
        "checkpoints": checkpoints,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "compute": compute.describe(),
        "determinism": determinism_settings(),
    }
    write_csv(diagnostics_frame(checkpoints), out_dir / DIAGNOSTICS_NAME)
    write_json(record, out_dir / TRAIN_RECORD_NAME)
    return record


def _epoch_batches(data: DataSplits, batch_size: int, epoch_seed: int):
    generator = torch.Generator().manual_seed(epoch_seed)
    return data.batches("train", batch_size, generator=generator, drop_last=True)


def _train_step(supernet: Supernet, space: SearchSpace, paths: list, batches, criterion: nn.Module, optimizer: torch.optim.Optimizer,
                trainable: list[nn.Parameter], recipe: SupernetRecipe, device: torch.device, *,
                what: str, epoch: int, step: int, check: FiniteCheck | None = None,
                compute: Compute = Compute()) -> bool:
    """One optimiser update over the step's paths (one batch each, gradients accumulated).
    Returns False when no path had a trainable parameter (e.g. an all-skip/pool path under BN-only
    training): there is nothing to update and the step is counted as skipped. Each loss is
    checked for finiteness at once, or by `check` (FiniteCheck: later, without a device sync)."""
    optimizer.zero_grad(set_to_none=True)
    any_grad = False
    for arch in paths:
        images, labels = next(batches)
        with compute.autocast(device):
            loss = criterion(supernet(compute.batch(images.to(device)), arch), labels.to(device))
        where = f"{what} path {space.encode(arch)}"
        if check is None:
            check_finite(loss, what=where, epoch=epoch, step=step)
        else:
            check.add(loss, what=where, epoch=epoch, step=step)
        if loss.requires_grad:
            loss.backward()
            any_grad = True
    if not any_grad:
        return False
    clip_gradients(trainable, recipe)
    optimizer.step()
    return True


class FiniteCheck:
    """The training loss is finite, checked without stopping the GPU at every step.

    check_finite reads the loss on the host: on a GPU that waits for the step's forward pass
    before the backward pass can be queued. Here a GPU step only queues isfinite(loss); the flags
    are read every EVERY steps and whenever flush() is called (before any checkpoint or resume
    file is written, and at the end), and the first non-finite loss raises check_finite's error
    with its own path, epoch and step. On the CPU (no queue to keep full) every loss is checked
    at once, as before."""

    EVERY = 50

    def __init__(self, device: torch.device, deferred: bool | None = None) -> None:
        self.immediate = device.type == "cpu" if deferred is None else not deferred
        self.pending: list[tuple[torch.Tensor, str, int, int]] = []

    def add(self, loss: torch.Tensor, *, what: str, epoch: int, step: int) -> None:
        if self.immediate:
            check_finite(loss, what=what, epoch=epoch, step=step)
            return
        self.pending.append((loss.detach(), what, epoch, step))
        if len(self.pending) >= self.EVERY:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        finite = torch.isfinite(torch.stack([loss.float() for loss, *_ in pending]))
        if not bool(finite.all()):  # one device sync per EVERY steps
            loss, what, epoch, step = pending[int((~finite).nonzero()[0])]
            check_finite(loss, what=what, epoch=epoch, step=step)


def make_criterion(recipe: SupernetRecipe) -> nn.Module:
    """Cross-entropy with the recipe's label smoothing (official BN-NAS: 0.1)."""
    return nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)


def clip_gradients(params: list[nn.Parameter], recipe: SupernetRecipe) -> None:
    """Clip by global norm (the SPOS recipe) or every element to [-grad_clip, grad_clip] (the
    BN-NAS code's clip_grad_value_)."""
    if recipe.grad_clip is None:
        return
    if recipe.grad_clip_mode == "value":
        nn.utils.clip_grad_value_(params, recipe.grad_clip)
    else:
        nn.utils.clip_grad_norm_(params, recipe.grad_clip)


def _run_key(supernet: Supernet, method: Method, data: DataSplits, recipe: SupernetRecipe, seed: int,
             device: torch.device, compute: Compute) -> str:
    """What a resume.pt must have been written by to be continued: the network (its module tree),
    the method, the recipe, the data, the seed, the kind of device, the numerics (bf16,
    channels_last) and whether deterministic algorithms were on, as canonical JSON. A run with
    any of them changed trains from scratch instead of continuing another's state."""
    network = hashlib.sha256(repr(supernet).encode()).hexdigest()
    return json.dumps({"network": network, "method": method.describe(), "recipe": asdict(recipe),
                       "data": _data_key(data), "train_images": len(data.train_y), "seed": seed,
                       "device": device.type, "compute": compute.describe(),
                       "deterministic": torch.are_deterministic_algorithms_enabled()},
                      sort_keys=True, default=str)


def _data_key(data: DataSplits) -> dict[str, Any]:
    """The data's description without where its files lie (a cluster node may mount them
    elsewhere): the files' checksums, split and preprocessing identify it."""
    described = data.describe()
    provenance = {k: v for k, v in (described.get("provenance") or {}).items() if k not in ("root", "requested_root")}
    provenance["files"] = [{k: v for k, v in f.items() if k != "path"} for f in provenance.get("files", [])]
    return {**described, "provenance": provenance}


def _known(seconds: float) -> float | None:
    """None for a CPU time that is not known (NaN: resumed from a file that did not keep it)."""
    return None if math.isnan(seconds) else seconds


def _save_resume(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, rng: np.random.Generator,
                 step: int, skipped: int, elapsed: float, cpu_elapsed: float, checkpoints: list[dict[str, Any]],
                 run_key: str, step_blocks: dict[str, Any]) -> None:
    save_torch({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "skipped": skipped, "elapsed": elapsed, "cpu_elapsed": cpu_elapsed, "checkpoints": checkpoints,
                "step_blocks": step_blocks, "rng": _rng_state_to_tensor(rng), "run": run_key}, path)


def _load_resume(path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                 rng: np.random.Generator, run_key: str) -> dict[str, Any]:
    fresh = {"step": 0, "skipped": 0, "elapsed": 0.0, "cpu_elapsed": 0.0, "checkpoints": [], "step_blocks": None}
    if not path.exists():
        return fresh
    try:
        state = read_torch_file(path, next(model.parameters()).device, what="resume file")
    except HarnessError as exc:  # truncated or foreign file
        raise HarnessError(f"cannot resume from {path}: {exc.__cause__}. Delete it to restart this training from "
                           "scratch.") from exc
    saved_key = state.get("run") if isinstance(state, dict) else None
    if saved_key != run_key:
        stale = path.with_name(STALE_RESUME_NAME)
        path.replace(stale)
        print(f"{path} was written by a different run ({_why_different(saved_key, run_key)}): moved to {stale}, "
              "training from scratch", file=sys.stderr)
        return fresh
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except Exception as exc:
        raise HarnessError(f"cannot resume from {path}: {exc}. Delete it to restart this training from scratch.") from exc
    rng.bit_generator.state = _rng_state_from_tensor(state["rng"])
    # a resume file from before CPU time was kept: the CPU time so far is unknown (NaN), not 0
    # (and from before step blocks were kept: the blocks start at the resumed step)
    return {**{k: state[k] for k in fresh if k not in ("cpu_elapsed", "step_blocks")},
            "cpu_elapsed": state.get("cpu_elapsed", float("nan")), "step_blocks": state.get("step_blocks")}


def _why_different(saved: object, current: str) -> str:
    """The top-level keys in which two run keys differ, for the message."""
    if not isinstance(saved, str):
        return "it has no run record: written by an older harness"
    old, new = json.loads(saved), json.loads(current)
    return "differs in: " + ", ".join(sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k)))


def _rng_state_to_tensor(rng: np.random.Generator) -> dict[str, Any]:
    """numpy's PCG64 state as plain ints (weights_only loading accepts no numpy objects)."""
    inner = rng.bit_generator.state
    return {"state": str(inner["state"]["state"]), "inc": str(inner["state"]["inc"]),
            "has_uint32": int(inner["has_uint32"]), "uinteger": int(inner["uinteger"])}


def _rng_state_from_tensor(saved: dict[str, Any]) -> dict[str, Any]:
    return {"bit_generator": "PCG64", "state": {"state": int(saved["state"]), "inc": int(saved["inc"])},
            "has_uint32": saved["has_uint32"], "uinteger": saved["uinteger"]}


def trained_checkpoints(method: Method, supernet_dir: str | Path | None) -> list[dict[str, Any]]:
    """The curve checkpoints a finished training recorded (train.json); a clear error when the
    supernet directory is not given or its training has not finished."""
    if supernet_dir is None:
        raise HarnessError(f"method {method.name!r} scores with a trained supernet: pass --supernet-dir")
    record = Path(supernet_dir) / TRAIN_RECORD_NAME
    if not record.is_file():
        raise HarnessError(f"{record} is missing: the supernet of method {method.name!r} was not trained (or its "
                           "training did not finish); run train-supernet for it first")
    return read_train_record(record, method.name).checkpoints


def load_checkpoint(supernet: Supernet, path: Path) -> None:
    """Load supernet weights safely (weights_only); a missing or truncated file is a clear error."""
    if not path.exists():
        raise HarnessError(f"checkpoint {path} is missing; rerun the train-supernet step for this run")
    state = read_torch_file(path, next(supernet.parameters()).device, what="checkpoint",
                            fix="delete it and rerun train-supernet")
    try:
        supernet.load_state_dict(state)
    except Exception as exc:
        raise HarnessError(f"checkpoint {path} is unreadable ({exc}); delete it and rerun train-supernet") from exc

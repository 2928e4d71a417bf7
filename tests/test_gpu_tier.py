"""The GPU tier's code paths on the CPU: determinism settings (applied before any CUDA work in a
real job, recorded), batches made on the device (equal to the CPU's; the augmentation's
semantics and distribution), the deferred loss check, bf16 / channels_last training."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from harness.data import datasets
from harness.data.datasets import DataSplits, crop_flip, draw_crop_flip, on_device
from harness.data.store import save_splits
from harness.devices import Compute
from harness.errors import HarnessError
from harness.seeding import CUBLAS_WORKSPACE_ENV, apply_determinism, determinism_settings
from harness.training.retrain import RetrainRecipe, retrain
from harness.training.supernet import FiniteCheck, SupernetRecipe, train_supernet
from harness.workflow import plan
from harness.workflow.config import validate_config
from methods import resolve

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def restore_determinism():
    """Tests that switch the process-wide settings put them back."""
    saved = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
             os.environ.get(CUBLAS_WORKSPACE_ENV))
    yield
    torch.use_deterministic_algorithms(saved[0])
    torch.backends.cudnn.benchmark = saved[1]
    if saved[2] is None:
        os.environ.pop(CUBLAS_WORKSPACE_ENV, None)
    else:
        os.environ[CUBLAS_WORKSPACE_ENV] = saved[2]


# --------------------------------------------------------------------------- determinism settings

def test_apply_determinism_sets_and_reports_the_three_settings(restore_determinism, monkeypatch):
    monkeypatch.delenv(CUBLAS_WORKSPACE_ENV, raising=False)
    torch.backends.cudnn.benchmark = True
    on = apply_determinism(True)
    assert on == determinism_settings()
    assert on["deterministic_algorithms"] is True and on["cudnn_benchmark"] is False
    assert on["cublas_workspace_config"] == ":4096:8" == os.environ[CUBLAS_WORKSPACE_ENV]
    monkeypatch.setenv(CUBLAS_WORKSPACE_ENV, ":16:8")  # already deterministic: kept
    assert apply_determinism(True)["cublas_workspace_config"] == ":16:8"
    monkeypatch.setenv(CUBLAS_WORKSPACE_ENV, ":0:0")  # not a deterministic workspace: replaced
    assert apply_determinism(True)["cublas_workspace_config"] == ":4096:8"
    monkeypatch.delenv(CUBLAS_WORKSPACE_ENV)
    off = apply_determinism(False)
    assert off["deterministic_algorithms"] is False and off["cublas_workspace_config"] is None
    assert json.loads(json.dumps(off)) == off  # a plain record


def tiny_config(**top) -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    smoke = yaml.safe_load((ROOT / "config" / "smoke.yaml").read_text())
    config.update({k: v for k, v in smoke.items() if k not in ("dataset",)})
    config["dataset"].update({"resolution": 8, "train_images": 512, "val_images": 128, "test_images": 128,
                              "augment": True})
    config["supernet"].update({"epochs": 1, "curve_points": 1})
    config.update(top)
    return validate_config(config)


# Runs a real command with torch.cuda's entry points watched: each call records whether the
# determinism settings were already in force at that moment.
PROBE = """
import json, os, sys
import torch
calls = []
def watch(name, real):
    def wrapped(*args, **kwargs):
        calls.append({"call": name, "cublas": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
                      "deterministic": torch.are_deterministic_algorithms_enabled()})
        return real(*args, **kwargs)
    return wrapped
for name in ("is_available", "device_count", "init", "_lazy_init", "is_initialized", "current_device",
             "set_device", "get_device_name", "synchronize"):
    setattr(torch.cuda, name, watch(name, getattr(torch.cuda, name)))
from harness.cli import main
status = main(sys.argv[2:])
json.dump({"status": status, "calls": calls}, open(sys.argv[1], "w"))
"""


@pytest.mark.parametrize("deterministic", [True, False])
def test_a_job_applies_the_settings_before_it_touches_cuda_and_records_them(tmp_path, tiny_data, deterministic):
    """The real train-supernet command with device `auto` (it asks torch.cuda whether a GPU is
    there): at every torch.cuda call the job makes, the settings are already in force."""
    config = tiny_config(device="auto", deterministic=deterministic)
    spec = plan.stage_spec(config, "train_supernet", space="nats-tss", method="bnnas", seed=0)
    save_splits(tiny_data, tmp_path / "dataset.pt")
    out = tmp_path / "supernet"
    env = {k: v for k, v in os.environ.items() if k != CUBLAS_WORKSPACE_ENV}
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "probe.json"), "train-supernet",
                           "--spec", json.dumps(spec), "--data", str(tmp_path / "dataset.pt"), "--outdir", str(out),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**env, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads((tmp_path / "probe.json").read_text())
    assert probe["status"] == 0
    assert "is_available" in [c["call"] for c in probe["calls"]]  # device auto asked torch.cuda
    expected_cublas = ":4096:8" if deterministic else None
    assert all(c["deterministic"] is deterministic and c["cublas"] == expected_cublas for c in probe["calls"]), probe
    record = json.loads((out / "train.json").read_text())
    assert record["determinism"]["deterministic_algorithms"] is deterministic
    assert record["determinism"]["cublas_workspace_config"] == expected_cublas
    assert record["determinism"]["cudnn_benchmark"] is False
    assert record["compute"] == {"bf16": False, "channels_last": False}


def test_determinism_changes_no_cpu_result(tmp_path, tiny_data, tiny_space, restore_determinism):
    recipe = SupernetRecipe(epochs=1, batch_size=64, lr=0.1, lr_schedule="cosine", min_lr=0.0, momentum=0.9,
                            nesterov=True, weight_decay=5e-4, label_smoothing=0.0, grad_clip=5.0, curve_points=1)
    states = {}
    for deterministic in (True, False):
        apply_determinism(deterministic)
        out = tmp_path / str(deterministic)
        record = train_supernet(tiny_space, resolve("spos"), tiny_data, recipe, seed=3, out_dir=out,
                                device=torch.device("cpu"), progress=False)
        assert record["determinism"]["deterministic_algorithms"] is deterministic
        states[deterministic] = torch.load(out / "ckpt0.pt", weights_only=True)
    assert states[True].keys() == states[False].keys()
    assert all(torch.equal(states[True][k], states[False][k]) for k in states[True])


# --------------------------------------------------------------------------- batches on the device

def _old_batches(data: DataSplits, batch_size: int, generator: torch.Generator, drop_last: bool):
    """The CPU batches as the harness made them before the GPU tier (per batch: gather, then
    crop offsets and flip drawn from the generator, then normalise): the reference the new code
    must reproduce bit for bit, so that the CPU default's results do not change."""
    images, labels = data.train_x, data.train_y
    order = torch.randperm(len(labels), generator=generator)
    scale, shift = datasets.normalisation(data.mean, data.std)
    padding = data.input_shape.resolution // 8
    for start in range(0, len(labels), batch_size):
        stop = min(start + batch_size, len(labels))
        if drop_last and stop - start < batch_size:
            break
        x, y = images[order[start:stop]], labels[order[start:stop]]
        b, c, h, w = x.shape
        padded = F.pad(x, (padding,) * 4).view(b, c, -1)
        dy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
        flip = torch.rand(b, generator=generator) < 0.5
        columns = torch.arange(w)
        rows = dy[:, None] + torch.arange(h)
        cols = dx[:, None] + torch.where(flip[:, None], columns.flip(0), columns)
        index = (rows[:, :, None] * (w + 2 * padding) + cols[:, None, :]).view(b, 1, h * w)
        x = padded.gather(2, index.expand(b, c, h * w)).view(b, c, h, w)
        yield x.float().mul_(scale).add_(shift), y


@pytest.mark.parametrize(("batch_size", "drop_last"), [(64, True), (100, False)])
def test_batches_are_those_of_the_cpu_path_before_the_gpu_tier(tiny_data, batch_size, drop_last):
    new = list(tiny_data.batches("train", batch_size, generator=torch.Generator().manual_seed(7), drop_last=drop_last))
    old = list(_old_batches(tiny_data, batch_size, torch.Generator().manual_seed(7), drop_last))
    assert len(new) == len(old) > 1
    for (x, y), (x0, y0) in zip(new, old):
        assert torch.equal(x, x0) and torch.equal(y, y0)


def test_crop_flip_is_pad_crop_then_flip_image_by_image():
    """The batched index arithmetic against the plain definition, one image at a time."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8, generator=g)
    padding = 2
    draws = draw_crop_flip(len(images), padding, g)
    out = crop_flip(images, padding, draws)
    for i in range(len(images)):
        padded = F.pad(images[i], (padding,) * 4)
        dy, dx, flip = (int(v) for v in draws[:, i])
        expected = padded[:, dy:dy + 8, dx:dx + 8]
        assert torch.equal(out[i], expected.flip(-1) if flip else expected)


def test_crop_offsets_and_flips_are_uniform():
    """Offsets uniform on 0..2p (each value about 1/(2p+1) of the draws), flips about half."""
    padding, n = 2, 20_000
    draws = draw_crop_flip(n, padding, torch.Generator().manual_seed(1))
    for row in (0, 1):
        counts = torch.bincount(draws[row], minlength=2 * padding + 1).double() / n
        assert counts.shape == (5,) and (counts - 0.2).abs().max() < 0.015
    assert abs(draws[2].double().mean() - 0.5) < 0.015
    assert not torch.equal(draws[0], draws[1])  # dy and dx are separate draws


def test_on_device_moves_splits_and_leaves_the_cpu_alone(tiny_data):
    assert on_device(tiny_data, torch.device("cpu")) is tiny_data
    moved = tiny_data.to("cpu")
    assert moved is not tiny_data and torch.equal(moved.train_x, tiny_data.train_x)
    assert moved.describe() == tiny_data.describe()


# --------------------------------------------------------------------------- the deferred loss check

def test_the_deferred_loss_check_names_the_first_non_finite_step():
    check = FiniteCheck(torch.device("cpu"), deferred=True)
    for step, value in enumerate([1.0, 2.0, float("nan"), float("inf"), 3.0]):
        check.add(torch.tensor(value), what="nats-tss/spos path x", epoch=0, step=step)  # nothing raised yet
    with pytest.raises(HarnessError, match="step 2"):
        check.flush()
    check.flush()  # the pending losses were consumed
    fine = FiniteCheck(torch.device("cpu"), deferred=True)
    for step in range(FiniteCheck.EVERY + 3):
        fine.add(torch.tensor(float(step)), what="w", epoch=0, step=step)
    assert len(fine.pending) == 3  # flushed itself after EVERY losses
    fine.flush()
    immediate = FiniteCheck(torch.device("cpu"))  # the CPU checks every loss at once
    with pytest.raises(HarnessError, match="step 9"):
        immediate.add(torch.tensor(float("nan")), what="w", epoch=1, step=9)


# --------------------------------------------------------------------------- bf16, channels_last

def test_bf16_and_channels_last_train_and_retrain_on_the_cpu(tmp_path, tiny_data, tiny_space):
    compute = Compute(bf16=True, channels_last=True)
    recipe = SupernetRecipe(epochs=0.5, batch_size=64, lr=0.1, lr_schedule="cosine", min_lr=0.0, momentum=0.9,
                            nesterov=True, weight_decay=5e-4, label_smoothing=0.0, grad_clip=5.0, curve_points=1)
    record = train_supernet(tiny_space, resolve("spos"), tiny_data, recipe, seed=0, out_dir=tmp_path,
                            device=torch.device("cpu"), progress=False, compute=compute)
    assert record["compute"] == {"bf16": True, "channels_last": True} and record["steps"] > 0
    arch = tiny_space.sample(np.random.default_rng(0))
    result = retrain(tiny_space, arch, tiny_data, RetrainRecipe(epochs=1, batch_size=64, lr=0.1, momentum=0.9,
                                                                weight_decay=5e-4, grad_clip=5.0),
                     seed=0, device=torch.device("cpu"), compute=compute)
    assert result["compute"] == "bf16+channels_last" and 0.0 <= result["test_acc"] <= 1.0
    assert result["deterministic"] == torch.are_deterministic_algorithms_enabled()
    assert Compute().name() == "fp32"


# --------------------------------------------------------------------------- config/gpu.yaml, the profile

def _merged(*names: str) -> dict:
    from conftest import SMOKE_CONFIG  # noqa: F401 - conftest is importable (tests/ on the path)

    def merge(base: dict, override: dict) -> dict:
        out = dict(base)
        for key, value in override.items():
            out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        return out

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for name in names:
        config = merge(config, yaml.safe_load((ROOT / "config" / name).read_text()))
    return validate_config(config)


def test_gpu_yaml_plans_the_decisive_run():
    """What config/gpu.yaml's sizing comments promise is what it plans."""
    config = _merged("gpu.yaml")
    assert config["device"] == "cuda" and config["deterministic"] and config["jobs_per_gpu"] == 8
    assert not config["bf16"] and not config["channels_last"]  # off until gpu_check measures them faster
    specs = plan.build_plan(config)
    stages: dict[str, int] = {}
    for spec in specs.values():
        stages[plan.rule_name(spec)] = stages.get(plan.rule_name(spec), 0) + 1
    assert stages["train_supernet"] == 28 and stages["retrain_shard"] == 16 and stages["score"] == 12
    assert {"score_bn_spos_mobilenet", "score_free_spos_mobilenet"} <= set(stages)  # the paper's space is ranked
    trained = [s for s in specs.values() if s["stage"] == "train_supernet"]
    on_mobilenet = {s["method"]["name"] for s in trained if s["space"]["name"] == "spos-mobilenet"}
    assert on_mobilenet == {"spos", "bnnas"}  # FairNAS's 6 paths per step stay on nats-tss
    assert max(s["seed"] for s in trained if s["method"]["name"] == "spos") == 3  # 4 supernet seeds
    assert config["archs"]["count"] == 128 and config["groundtruth"]["repeat_archs"] == 32
    assert all(s["config"]["threads"] == 1 and s["config"]["device"] == "cuda" for s in trained)


def test_the_gpu_profile_sets_the_concurrency_and_leaves_threads_to_the_config():
    profile = yaml.safe_load((ROOT / "profiles" / "gpu" / "config.yaml").read_text())
    config = _merged("gpu.yaml")
    assert profile["resources"]["gpu"] == config["jobs_per_gpu"]  # slots on one GPU
    assert profile["cores"] >= config["jobs_per_gpu"] * config["threads"]  # the GPU jobs leave cores to CPU jobs
    assert set(profile["config"]) == {"device"}  # threads / jobs_per_gpu: config/gpu.yaml, not here


def test_the_gpu_run_and_its_tiny_twin_plan_with_the_profile(tmp_path):
    """`snakemake -n --profile profiles/gpu` over config/gpu.yaml (the GPU run) and with
    config/gpu-tiny.yaml on the CPU: both DAGs build; the tiny one has the same rules."""
    jobs = {}
    for files, extra in ((["gpu.yaml"], []), (["gpu.yaml", "gpu-tiny.yaml"], ["--config", "device=cpu"])):
        done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"),
                               "--profile", str(ROOT / "profiles" / "gpu"), "--scheduler", "greedy", "--configfile",
                               *[str(ROOT / "config" / f) for f in files], *extra],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr[-3000:]
        table = done.stdout.split("Job stats:")[1].split("Reasons:")[0]
        jobs[len(files)] = {line.split()[0] for line in table.splitlines()[3:] if line.strip()} - {"total"}
    assert jobs[1] == jobs[2] and {"train_supernet", "retrain_shard", "search", "report"} <= jobs[1]


def test_the_snakefile_exports_jobs_per_gpu(monkeypatch):
    from harness import devices

    monkeypatch.delenv(devices.JOBS_PER_GPU_ENV, raising=False)
    devices.export_jobs_per_gpu(None)
    assert devices.JOBS_PER_GPU_ENV not in os.environ and devices.jobs_per_gpu() == 1
    devices.export_jobs_per_gpu(8)
    assert os.environ[devices.JOBS_PER_GPU_ENV] == "8" and devices.jobs_per_gpu() == 8
    with pytest.raises(HarnessError, match="jobs_per_gpu"):
        devices.export_jobs_per_gpu(0)
    assert "export_jobs_per_gpu(config[\"jobs_per_gpu\"])" in (ROOT / "Snakefile").read_text()


# --------------------------------------------------------------------------- make gpu-check on the CPU

def _wheel(directory: Path) -> Path:
    """A minimal pure-Python wheel (one module): what the carried wheels are, without a network."""
    import zipfile

    name, version = "gpucarryprobe", "0.1"
    path = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    files = {f"{name}.py": "VALUE = 42\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{f},,\n" for f in files) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as archive:
        for name_, text in {**files, f"{info}/RECORD": record}.items():
            archive.writestr(name_, text)
    return path


def test_make_gpu_check_runs_every_step_on_the_cpu_through_the_session_script(tmp_path):
    """scripts/gpu_session.sh with DEVICE=cpu: installs the carried wheels with --target, runs
    `make gpu-check` (gpu_check, the benchmark, config/gpu.yaml + gpu-tiny.yaml through
    profiles/gpu with the greedy scheduler, the determinism re-run, the verdicts), copies the
    records to $OUT."""
    carry, site, out, work = tmp_path / "carry", tmp_path / "site", tmp_path / "out", tmp_path / "work"
    (carry / "whl").mkdir(parents=True)
    _wheel(carry / "whl")
    work.mkdir()
    env = {**os.environ, "CARRY": str(carry), "GPU_SITE": str(site), "OUT": str(out), "DEVICE": "cpu",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GPU_CHECK_ARGS": f"--results {work / 'results'} --workdir {work}", "RESULTS_DIRS": str(work / "results")}
    done = subprocess.run(["bash", "scripts/gpu_session.sh"], cwd=ROOT, capture_output=True, text=True,
                          timeout=3000, env=env)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert (site / "gpucarryprobe.py").is_file()  # the wheel went to --target
    summary = json.loads((work / "results" / "gpu-check" / "summary.json").read_text())
    assert summary["device"] == "cpu" and summary["errors"] == []
    names = [line["name"] for line in summary["lines"]]
    for expected in ("gpu_check checks", "config/gpu.yaml run wall time", "mean GPU utilisation over the run",
                     "job-seconds by rule", "unit costs (medians)",
                     "determinism: the run's nats-tss/spos/seed0 supernet retrained in a new process",
                     "headline claims decided", "make gpu-check total"):
        assert expected in names, names
    assert any(name.startswith("CPU stand-in BN-only / all-weights") for name in names)
    assert any(name.startswith("verdict: ") for name in names)
    line = {entry["name"]: entry for entry in summary["lines"]}
    assert line["determinism: the run's nats-tss/spos/seed0 supernet retrained in a new process"]["passed"] is True
    assert "not sampled" in line["mean GPU utilisation over the run"]["value"]  # no nvidia-smi on the CPU
    assert summary["run"]["status"] == 0
    copied = out / "results" / "results"
    assert (copied / "gpu-check" / "summary.json").is_file() and (copied / "report" / "verdicts.csv").is_file()
    assert not list(copied.rglob("*.pt"))  # records and tables, not checkpoints
    assert "--scheduler greedy" in " ".join(summary["run"]["command"])
    assert "use" in names  # gpu_check's bf16 / channels_last advice reached the summary

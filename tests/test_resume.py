"""Kill and resume for real: `python -m harness train-supernet` SIGKILLed mid-training and rerun
ends with the same checkpoints as an uninterrupted run (it resumes from resume.pt, it does not
restart); `python -m harness retrain` SIGKILLed mid-shard leaves no output behind, and its rerun
writes the same shard CSV (apart from wall time) as an uninterrupted run.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness.cli import main
from harness.workflow.config import validate_config
from harness.io import write_json
from harness.paths import CHECKPOINT_NAME, RESUME_NAME, TRAIN_RECORD_NAME

ROOT = Path(__file__).resolve().parents[1]
SPACE = "nats-tss"
# about 30 steps per epoch, 6 epochs: resume.pt is written at every epoch end and curve point
TINY = {
    "dataset": {"resolution": 8, "train_images": 1024, "val_images": 128, "test_images": 128},
    "spaces": {SPACE: {"C": 4, "N": 1}},
    "methods": ["spos"],
    "archs": {"count": 4},
    "supernet": {"epochs": 6, "batch_size": 32, "curve_points": 3},
    "scoring": {"recalibration_batches": 1, "recalibration_batch_size": 32, "validation_images": 128},
    "groundtruth": {"epochs": 2, "batch_size": 32, "repeat_archs": 0, "shards": 1},
}
TIMEOUT = 300
# wall-time columns of the retrain CSV (train_time_s, eval_time_s, ...): all else must match
TIMING = re.compile(r"(^|_)(time|seconds|wall|elapsed|duration)(_|$)|_s$")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """run_config.json, data/dataset.pt and archs.csv of a tiny run."""
    root = tmp_path_factory.mktemp("resume")
    write_json(validate_config({"results_dir": str(root), **TINY}), root / "run_config.json")
    assert main(["prepare-data", "--config", str(root / "run_config.json"), "--output", str(root / "dataset.pt"),
                 "--meta", str(root / "dataset.json")]) == 0
    assert main(["sample-archs", "--config", str(root / "run_config.json"), "--space", SPACE,
                 "--output", str(root / "archs.csv")]) == 0
    return root


def harness(*args: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=stderr, text=True)


def finish(proc: subprocess.Popen) -> None:
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{out}\n{err}"


def train_command(run: Path, outdir: Path) -> list[str]:
    return ["train-supernet", "--config", str(run / "run_config.json"), "--space", SPACE, "--method", "spos",
            "--seed", "0", "--data", str(run / "dataset.pt"), "--outdir", str(outdir), "--no-progress"]


def resume_step(path: Path) -> int:
    try:
        return int(torch.load(path, weights_only=True)["step"])
    except (FileNotFoundError, RuntimeError, EOFError, KeyError):
        return 0


def kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    """SIGKILL `proc` as soon as ready() holds; fail if it ends first."""
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"{what} ended (exit {proc.returncode}) before it could be killed mid-run; "
                        f"make the tiny run longer\n{out}\n{err}")
        assert time.monotonic() < deadline, f"{what}: timed out waiting to kill it"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL


def without_time(checkpoints: list[dict]) -> list[dict]:
    return [{k: v for k, v in c.items() if not TIMING.search(k)} for c in checkpoints]


def test_train_supernet_killed_mid_training_resumes_to_the_same_result(run, tmp_path):
    killed_dir, reference_dir = tmp_path / "killed", tmp_path / "reference"
    reference = harness(*train_command(run, reference_dir))  # uninterrupted, alongside
    victim = harness(*train_command(run, killed_dir))
    kill_when(victim, lambda: resume_step(killed_dir / RESUME_NAME) > 0, "train-supernet")
    killed_at = resume_step(killed_dir / RESUME_NAME)
    assert not (killed_dir / TRAIN_RECORD_NAME).exists(), "training had finished when it was killed"
    written = {p.name: p.stat().st_mtime_ns for p in killed_dir.glob("ckpt*.pt")}

    finish(harness(*train_command(run, killed_dir)))  # the same command again
    finish(reference)

    # it resumed: checkpoints written before the kill were not rewritten
    assert {name: (killed_dir / name).stat().st_mtime_ns for name in written} == written
    resumed, uninterrupted = (json.loads((d / TRAIN_RECORD_NAME).read_text()) for d in (killed_dir, reference_dir))
    assert resumed["steps"] == uninterrupted["steps"] > killed_at > 0
    assert resumed["skipped_steps"] == uninterrupted["skipped_steps"]
    assert without_time(resumed["checkpoints"]) == without_time(uninterrupted["checkpoints"])
    assert len(resumed["checkpoints"]) == 3
    for point in uninterrupted["checkpoints"]:
        name = CHECKPOINT_NAME.format(checkpoint=point["checkpoint"])
        a = torch.load(killed_dir / name, weights_only=True)
        b = torch.load(reference_dir / name, weights_only=True)
        assert a.keys() == b.keys()
        unequal = [k for k in a if not torch.equal(a[k], b[k])]
        assert not unequal, f"{name}: {len(unequal)} tensors differ after resume, e.g. {unequal[:3]}"
    a, b = (torch.load(d / RESUME_NAME, weights_only=True) for d in (killed_dir, reference_dir))
    assert a["step"] == b["step"] and a["skipped"] == b["skipped"] and a["rng"] == b["rng"]
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in b["model"])


def retrain_command(run: Path, output: Path) -> list[str]:
    return ["retrain", "--config", str(run / "run_config.json"), "--space", SPACE, "--shard", "0",
            "--data", str(run / "dataset.pt"), "--archs", str(run / "archs.csv"), "--output", str(output)]


def test_retrain_killed_mid_shard_reruns_to_the_same_csv(run, tmp_path):
    killed, reference = tmp_path / "killed" / "shard0.csv", tmp_path / "reference" / "shard0.csv"
    progress = tmp_path / "progress.txt"
    uninterrupted = harness(*retrain_command(run, reference))
    with progress.open("w") as stderr:
        victim = harness(*retrain_command(run, killed), stderr=stderr)
        # tqdm reports "k/4" on stderr: kill once one or more archs are done, before the last
        kill_when(victim, lambda: re.search(r"\b[1-3]/4\b", progress.read_text()), "retrain")
    # nothing half-written: the shard CSV only appears, whole, at the end
    leftovers = list(killed.parent.iterdir()) if killed.parent.exists() else []
    assert leftovers == [], leftovers

    finish(harness(*retrain_command(run, killed)))  # the rerun retrains the whole shard
    finish(uninterrupted)
    a, b = pd.read_csv(killed), pd.read_csv(reference)
    timing = [c for c in a.columns if TIMING.search(c)]
    assert len(a) == 4 and "train_time_s" in timing
    pd.testing.assert_frame_equal(a.drop(columns=timing), b.drop(columns=timing))

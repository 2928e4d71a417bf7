"""Determinism: the smoke workflow run twice gives the same files, byte for byte, apart from the
columns that hold wall time; and the GPU a job claims (harness/devices.py) is the lowest free
one, never one another running job holds.

The first smoke run is kept for the session (reference_smoke_run) so that tests/test_slurm.py
compares its SLURM run against the same local run instead of paying for another one.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness import devices, paths

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "config" / "smoke.yaml"
SPACE = "nats-tss"
METHODS = ("spos", "bnnas")
SHARDS = 2

# Columns and keys that hold wall time (or depend on it): everything else must match exactly.
TIMING_COLUMNS = {"train_time_s"}                                 # retrain shards / retrain.csv
TIMING_KEYS = {"train_time_s", "time_s", "score_time_s", "time_per_arch_s", "load_seconds"}

_REFERENCE: dict[str, Path] = {}


def run_smoke(workdir: Path, *extra: str, env: dict[str, str] | None = None,
              timeout: float = 900) -> subprocess.CompletedProcess:
    """`snakemake --cores 2 --configfile config/smoke.yaml` in `workdir` (results in
    workdir/results/smoke), as tests/test_workflow.py runs it."""
    return subprocess.run(["snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
                           "--configfile", str(SMOKE), *extra],
                          cwd=workdir, capture_output=True, text=True, env=env, timeout=timeout)


def reference_smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One local smoke run per test session (shared with tests/test_slurm.py)."""
    if "run" not in _REFERENCE:
        workdir = tmp_path_factory.mktemp("smoke_reference")
        done = run_smoke(workdir)
        assert done.returncode == 0, done.stderr[-4000:]
        _REFERENCE["run"] = workdir / "results" / "smoke"
    return _REFERENCE["run"]


def result_files(results: Path) -> dict[str, Path]:
    """The compared files of a smoke run: name relative to results -> path."""
    names = [paths.ARCHS.format(space=SPACE), paths.GT_RETRAIN.format(space=SPACE),
             paths.CORRELATIONS.format(space=SPACE), paths.REPORT_CORRELATIONS]
    names += [paths.GT_SHARD.format(space=SPACE, shard=k) for k in range(SHARDS)]
    for method in METHODS:
        names += [paths.SCORES.format(space=SPACE, method=method, seed=0),
                  paths.TRAIN_RECORD.format(space=SPACE, method=method, seed=0),
                  paths.SCORING_RECORD.format(space=SPACE, method=method, seed=0)]
    return {name: results / name for name in names}


def _strip_timing(obj):
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def _csv_without_timing(path: Path) -> bytes:
    """The file's bytes, or with timing columns removed (then re-serialised from the exact text)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    timing = [c for c in frame.columns if c in TIMING_COLUMNS]
    if not timing:
        return path.read_bytes()
    return frame.drop(columns=timing).to_csv(index=False).encode()


def assert_same_results(expected: Path, actual: Path) -> None:
    """Every compared file identical: CSVs byte for byte (timing columns removed), JSON records
    equal without timing keys, supernet checkpoints tensor for tensor."""
    differing = []
    for name, path in result_files(expected).items():
        other = actual / name
        assert path.is_file(), f"reference lacks {name}"
        assert other.is_file(), f"{actual} lacks {name}"
        if name.endswith(".csv"):
            same = _csv_without_timing(path) == _csv_without_timing(other)
        else:
            same = _strip_timing(json.loads(path.read_text())) == _strip_timing(json.loads(other.read_text()))
        if not same:
            differing.append(name)
    for method in METHODS:
        supernet = paths.SUPERNET_DIR.format(space=SPACE, method=method, seed=0)
        for ckpt in sorted((expected / supernet).glob("ckpt*.pt")):
            a = torch.load(ckpt, weights_only=True)
            b = torch.load(actual / supernet / ckpt.name, weights_only=True)
            if a.keys() != b.keys() or not all(torch.equal(a[k], b[k]) for k in a):
                differing.append(f"{supernet}/{ckpt.name}")
    assert not differing, f"{actual} differs from {expected} in: {', '.join(differing)}"


def test_timing_columns_are_the_only_wall_time_columns(tmp_path_factory):
    """Guard for the exclusions above: the only retrain.csv column that differs between runs of
    the same job is train_time_s, and scores/correlations have no timing column at all."""
    results = reference_smoke_run(tmp_path_factory)
    retrain = pd.read_csv(results / paths.GT_RETRAIN.format(space=SPACE))
    assert TIMING_COLUMNS <= set(retrain.columns)
    for name in (paths.SCORES.format(space=SPACE, method="spos", seed=0), paths.CORRELATIONS.format(space=SPACE)):
        columns = set(pd.read_csv(results / name).columns)
        assert not {c for c in columns if "time" in c or c.endswith("_s")}, (name, columns)


def test_smoke_workflow_twice_gives_identical_results(tmp_path_factory):
    first = reference_smoke_run(tmp_path_factory)
    workdir = tmp_path_factory.mktemp("smoke_again")
    done = run_smoke(workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    assert_same_results(first, workdir / "results" / "smoke")


# --- GPU pinning: the slot scheme of harness/devices.py, without a GPU ----------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from harness.devices import claim_gpu
    claim = claim_gpu(sys.argv[2].split(","), lock_dir=sys.argv[1], per_gpu=int(sys.argv[3]))
    print(claim.index, claim.slot, int(claim.shared), flush=True)
    stop = Path(sys.argv[4])
    while not stop.exists():
        time.sleep(0.05)
""")


def _holder(lock_dir: Path, ids: str, per_gpu: int, stop: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(lock_dir), ids, str(per_gpu), str(stop)],
                            stdout=subprocess.PIPE, text=True, cwd=ROOT)


def _claimed(proc: subprocess.Popen) -> tuple[int, int, bool]:
    index, slot, shared = proc.stdout.readline().split()
    return int(index), int(slot), bool(int(shared))


def test_concurrent_jobs_claim_distinct_gpus_and_a_freed_one_is_reused(tmp_path):
    locks = tmp_path / "locks"
    stops = [tmp_path / f"stop{k}" for k in range(4)]
    procs = [_holder(locks, "0,1,2", 1, stops[k]) for k in range(3)]  # started together
    try:
        claims = [_claimed(p) for p in procs]
        assert sorted(c[0] for c in claims) == [0, 1, 2] and not any(c[2] for c in claims)
        # free whichever process holds GPU 1: the next job gets exactly that GPU
        holder_of_1 = next(k for k, c in enumerate(claims) if c[0] == 1)
        stops[holder_of_1].touch()
        procs[holder_of_1].wait(timeout=30)
        late = _holder(locks, "0,1,2", 1, stops[3])
        procs.append(late)
        assert _claimed(late) == (1, 0, False)
    finally:
        for stop in stops:
            stop.touch()
        for p in procs:
            p.wait(timeout=30)


def test_second_slot_per_gpu_then_sharing(tmp_path):
    locks, stop = tmp_path / "locks", tmp_path / "stop"
    procs = []
    try:
        for expected in [(0, 0, False), (1, 0, False), (0, 1, False), (1, 1, False)]:
            procs.append(_holder(locks, "GPU-aa,GPU-bb", 2, stop))
            assert _claimed(procs[-1]) == expected  # one at a time: the lowest free slot
        procs.append(_holder(locks, "GPU-aa,GPU-bb", 2, stop))
        index, slot, shared = _claimed(procs[-1])
        assert shared and index in (0, 1)
    finally:
        stop.touch()
        for p in procs:
            p.wait(timeout=30)


def test_a_killed_job_frees_its_gpu(tmp_path):
    locks, stop = tmp_path / "locks", tmp_path / "stop"
    first = _holder(locks, "0,1", 1, stop)
    try:
        assert _claimed(first)[0] == 0
        first.kill()  # SIGKILL: the kernel drops the flock with the process
        first.wait(timeout=30)
        second = _holder(locks, "0,1", 1, stop)
        assert _claimed(second) == (0, 0, False)
    finally:
        stop.touch()
        first.wait(timeout=30)
        second.wait(timeout=30)


def test_pin_device_leaves_cpu_single_gpu_and_explicit_indices_alone(monkeypatch, tmp_path):
    monkeypatch.setenv(devices.LOCK_DIR_ENV, str(tmp_path))
    assert devices.pin_device("cpu") == torch.device("cpu")
    assert devices.pin_device("cuda:1") == torch.device("cuda", 1)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    assert devices.pin_device("cuda") == torch.device("cuda")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert devices.pin_device("cuda") == torch.device("cuda")
    assert not list(tmp_path.iterdir())  # nothing claimed


def test_pin_device_claims_a_gpu_when_several_are_visible(monkeypatch, tmp_path):
    monkeypatch.setenv(devices.LOCK_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    chosen = []
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    devices.release_all()
    other_job = open(tmp_path / "gpu4.lock", "a+b")  # another job holds physical GPU 4
    fcntl.flock(other_job.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        assert devices.pin_device("cuda") == torch.device("cuda", 1)
        assert devices.pin_device("cuda") == torch.device("cuda", 1)  # idempotent
        assert chosen == [1, 1]
        assert (tmp_path / "gpu6.lock").read_text().strip() == str(os.getpid())
        assert os.environ[devices.CHOSEN_ENV] == "1"
    finally:
        other_job.close()
        devices.release_all()
        monkeypatch.delenv(devices.CHOSEN_ENV, raising=False)

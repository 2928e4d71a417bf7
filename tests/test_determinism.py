"""Determinism: the smoke workflow run twice gives the same files, byte for byte, apart from the
columns that hold wall time; and the GPU a job claims (harness/devices.py) is the lowest free
one, never one another running job holds.

The first smoke run is kept for the session (reference_smoke_run) so that tests/test_slurm.py
compares its SLURM run against the same local run instead of paying for another one.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch

from harness import devices
from harness.analysis.claims import EVAL, TRAIN
from harness.results.compare import TIMING_NAME
from harness.report.tables import KEY_COLUMN

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "config" / "smoke.yaml"
SPACE = "nats-tss"

# TIMING_NAME: the names that hold wall time or what derives from it (harness.results.compare, as verify
# uses them); everything else must match exactly.
SKIPPED_DIRS = {"logs", "benchmarks"}
SKIPPED_FILES = {"resume.pt"}  # holds the elapsed time; its weights equal the last ckpt's

_REFERENCE: dict[str, Path] = {}


def run_smoke(workdir: Path, *extra: str, env: dict[str, str] | None = None,
              timeout: float = 1500) -> subprocess.CompletedProcess:
    """`snakemake --cores 2 --configfile config/smoke.yaml` in `workdir` (results in
    workdir/results/smoke), as tests/test_workflow.py runs it."""
    return subprocess.run(["snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
                           "--configfile", str(SMOKE), *extra],
                          cwd=workdir, capture_output=True, text=True, env=env, timeout=timeout, check=False)


def reference_smoke_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One local smoke run per test session (shared with tests/test_slurm.py)."""
    if "run" not in _REFERENCE:
        workdir = tmp_path_factory.mktemp("smoke_reference")
        done = run_smoke(workdir)
        assert done.returncode == 0, done.stderr[-4000:]
        _REFERENCE["run"] = workdir / "results" / "smoke"
    return _REFERENCE["run"]


def result_files(results: Path) -> dict[str, Path]:
    """Every table, record and tensor file of a run (name relative to results -> path), without
    logs, benchmarks and the HTML report."""
    found = {}
    for path in sorted(results.rglob("*")):
        name = path.relative_to(results).as_posix()
        if (path.is_file() and path.suffix in {".csv", ".json", ".pt"} and not path.name.startswith(".")
                and name.split("/")[0] not in SKIPPED_DIRS and path.name not in SKIPPED_FILES):
            found[name] = path
    return found


def timing_names(names) -> list[str]:
    return [n for n in names if TIMING_NAME.search(str(n))]


def _strip_timing(obj):
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if not TIMING_NAME.search(k)}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    return obj


def _comparable(path: Path, root: Path):
    """The file's content, with timing columns/keys removed and the run's own absolute path
    replaced (two runs live in different directories)."""
    if path.suffix == ".pt":
        return torch.load(path, weights_only=True)
    text = path.read_text().replace(str(root.resolve()), "<RUN>")
    if path.suffix == ".json":
        return _strip_timing(json.loads(text))
    frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    if frame.columns[0] == KEY_COLUMN:  # a key-value table (provenance-time.csv): rows are named
        frame = frame[[not TIMING_NAME.search(key) for key in frame.iloc[:, 0]]]
        text = frame.to_csv(index=False)
    if "claim" in frame.columns:  # verdicts.csv: the speed-up claims' rows are measured wall time
        frame = frame[~frame["claim"].isin([TRAIN.text, EVAL.text])]
        text = frame.to_csv(index=False)
    timing = timing_names(frame.columns)
    return frame.drop(columns=timing).to_csv(index=False) if timing else text


def _equal(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    return a == b


def assert_same_results(expected: Path, actual: Path, *, part: bool = False) -> None:
    """The same files, each identical: CSVs byte for byte (timing columns removed), JSON records
    equal without timing keys, tensors (checkpoints, dataset) equal. part: `actual` is a run of
    some targets only; compare the files it has."""
    want, got = result_files(expected), result_files(actual)
    if part:
        want = {name: path for name, path in want.items() if name in got}
    assert want.keys() == got.keys(), (f"different files: only in {expected}: {sorted(want.keys() - got.keys())}; "
                                       f"only in {actual}: {sorted(got.keys() - want.keys())}")
    differing = [name for name in want
                 if not _equal(_comparable(want[name], expected.parents[1]), _comparable(got[name], actual.parents[1]))]
    assert not differing, f"{actual} differs from {expected} in: {', '.join(differing)}"


def test_wall_time_columns_are_recognised(tmp_path_factory):
    """Guard for the exclusions: retrain.csv's wall time is train_time_s (and recognised as such);
    scores and correlations have no timing column; the run's tables and records are found."""
    results = reference_smoke_run(tmp_path_factory)
    files = result_files(results)
    for name in (f"{SPACE}/groundtruth/retrain.csv", f"{SPACE}/spos/seed0/scores.csv", f"{SPACE}/correlations.csv",
                 f"{SPACE}/spos/seed0/supernet/train.json", f"{SPACE}/spos/seed0/supernet/ckpt0.pt"):
        assert name in files, sorted(files)
    retrain_timing = timing_names(pd.read_csv(files[f"{SPACE}/groundtruth/retrain.csv"]).columns)
    assert "train_time_s" in retrain_timing and all(c.endswith("_time_s") for c in retrain_timing), retrain_timing
    for name in (f"{SPACE}/spos/seed0/scores.csv", f"{SPACE}/correlations.csv"):
        assert timing_names(pd.read_csv(files[name]).columns) == [], name
    assert not TIMING_NAME.search("test_acc") and not TIMING_NAME.search("threads")


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
        index, _slot, shared = _claimed(procs[-1])
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
    other_job = open(tmp_path / "gpu4.lock", "a+b")  # noqa: SIM115 - another job holds physical GPU 4
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

"""A real SLURM cluster: the smoke workflow (its ranking part: supernets, scores, retraining,
correlations) submitted job by job through snakemake-executor-plugin-slurm to a single-node
cluster started for this module (scripts/slurm_cluster.sh), with one training job cancelled
mid-run (scancel) and resubmitted thanks to --retries 1; its files must equal a local run's.
Plus dry runs of profiles/slurm and profiles/gpu.

Needs Debian's slurmctld slurmd slurm-client munge and pip's snakemake-executor-plugin-slurm
(installed by .ci/run). Missing pieces make the tests FAIL, never skip. The cluster's daemons are
stopped by the fixture's finalizer whatever happens. About 3-4 minutes on 2 idle cores, plus a
local smoke run unless tests/test_determinism.py already made it in the same session.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_determinism import ROOT, SMOKE, assert_same_results, reference_smoke_run

SCRIPT = ROOT / "scripts" / "slurm_cluster.sh"
PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
TOOLS = ("munged", "slurmctld", "slurmd", "srun", "sbatch", "squeue", "scancel", "sinfo", "scontrol")
# The ranking part of the smoke workflow (data, archs, supernets, scores, retraining, correlations);
# the search, final retraining and report add time, not SLURM coverage.
TARGET = "results/smoke/nats-tss/correlations.csv"
CHECKED = ["nats-tss/spos/seed0/scores.csv", "nats-tss/bnnas/seed0/scores.csv", "nats-tss/groundtruth/shard0.csv",
           "nats-tss/groundtruth/shard1.csv", "nats-tss/groundtruth/retrain.csv", "nats-tss/correlations.csv",
           "nats-tss/spos/seed0/supernet/ckpt1.pt", "nats-tss/spos/seed0/supernet/train.json"]
INSTALL = ("apt-get install slurmctld slurmd slurm-client munge; "
           "pip install snakemake-executor-plugin-slurm")


@dataclass(frozen=True)
class Cluster:
    directory: Path
    env: dict[str, str]

    def run(self, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=60, check=False)

    def logs(self) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log", "munge/munged.log"):
            path = self.directory / name
            if path.exists():
                parts.append(f"--- {name} (end) ---\n" + "\n".join(path.read_text().splitlines()[-15:]))
        return "\n".join(parts)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"SLURM is not installed here (missing {', '.join(missing)}); install it with: {INSTALL}")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        pytest.fail(f"the Snakemake SLURM executor is not installed; install it with: {INSTALL}")
    directory = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "SLURM_CPUS": "2"}
    try:
        started = subprocess.run(["bash", str(SCRIPT), "start", str(directory)], env=env,
                                 capture_output=True, text=True, timeout=120, check=False)
        if started.returncode != 0:
            pytest.fail(f"could not start a single-node SLURM cluster with {SCRIPT.name} "
                        f"(exit {started.returncode}):\n{started.stdout}{started.stderr}\n"
                        + Cluster(directory, env).logs())
        env.update(SLURM_CONF=str(directory / "slurm.conf"), PATH=f"{directory / 'bin'}{os.pathsep}{env['PATH']}")
        yield Cluster(directory, env)
    finally:
        stopped = subprocess.run(["bash", str(SCRIPT), "stop", str(directory)], env=env,
                                 capture_output=True, text=True, timeout=120, check=False)
        assert stopped.returncode == 0, stopped.stderr
        for pid_file in ("slurmctld.pid", "slurmd.pid", "munge/munged.pid"):
            path = directory / pid_file
            if path.exists() and path.read_text().strip().isdigit():
                assert not Path(f"/proc/{path.read_text().strip()}").exists(), f"{pid_file}: daemon still runs"


def slurm_flags(logdir: Path) -> list[str]:
    """Executor flags for the test cluster; grouping as in profiles/slurm."""
    profile = yaml.safe_load(PROFILE.read_text())
    return [
        "--executor", "slurm", "--jobs", "8", "--retries", "1",
        "--slurm-no-account",                      # no accounting storage: no accounts
        "--slurm-status-command", "squeue",        # ... and no sacct; MinJobAge (1 h) keeps finished jobs
        "--slurm-init-seconds-before-status-checks", "1",
        "--slurm-logdir", str(logdir), "--slurm-keep-successful-logs",
        "--default-resources", "slurm_partition=harness", "mem_mb=1000", "runtime=30", "cpus_per_task=threads",
        "--groups", *[f"{rule}={group}" for rule, group in profile["groups"].items()],
        "--group-components", *[f"{group}={n}" for group, n in profile["group-components"].items()],
    ]


def _cancel_training(cluster: Cluster, done: threading.Event, record: dict) -> None:
    """scancel the first SLURM job that trains a supernet 2 s after it starts running (once).
    (The job's comment names its rule, or its group's rules: profiles/slurm groups training with
    scoring, and the training runs first.)"""
    while not done.is_set():
        queue = cluster.run("squeue", "-h", "-t", "running", "-o", "%i|%k")
        for line in queue.stdout.split():
            job, _, comment = line.partition("|")
            if "train_supernet" in comment:
                time.sleep(2)
                record["scancel"] = cluster.run("scancel", job)
                record["job"] = job
                return
        time.sleep(0.5)


def test_smoke_workflow_on_slurm_matches_local_run_and_survives_scancel(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke_slurm")
    logdir = workdir / "slurm_logs"
    done, record = threading.Event(), {}
    canceller = threading.Thread(target=_cancel_training, args=(cluster, done, record), daemon=True)
    command = ["snakemake", TARGET, "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(SMOKE),
               *slurm_flags(logdir)]
    proc = subprocess.Popen(command, cwd=workdir, env=cluster.env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    canceller.start()
    try:
        # the local reference (cached for the session) runs while SLURM jobs wait in the queue
        reference = reference_smoke_run(tmp_path_factory)
        output, _ = proc.communicate(timeout=900)
    finally:
        done.set()
        if proc.poll() is None:
            proc.kill()  # snakemake's own jobs are cancelled by the fixture's `stop`
            proc.wait()
        canceller.join(timeout=30)
    assert proc.returncode == 0, output[-6000:] + "\n" + cluster.logs()

    # a SLURM job training a supernet was cancelled, and Snakemake submitted the same job again
    assert "job" in record, "never saw a train_supernet job running; nothing was cancelled\n" + output[-3000:]
    assert record["scancel"].returncode == 0, record["scancel"].stderr
    submitted = re.findall(r"Job (\S+) has been submitted with SLURM jobid (\d+)", output)
    job = next(job for job, slurm_id in submitted if slurm_id == record["job"])
    again = [slurm_id for other, slurm_id in submitted if other == job and slurm_id != record["job"]]
    assert f"Trying to restart job {job}" in output and len(again) == 1, output[-6000:]
    states = dict(line.split("|") for line in cluster.run("squeue", "-h", "--states=all", "-o", "%i|%T").stdout.split())
    assert states[record["job"]] == "CANCELLED" and states[again[0]] == "COMPLETED", states

    # the steps ran as SLURM jobs (each leaves its sbatch log under --slurm-logdir)
    logs = [str(p.relative_to(logdir)) for p in logdir.rglob("*.log")]
    for rule in ("prepare_data", "retrain_shard", "train_supernet", "score", "correlate"):
        assert any(rule in log for log in logs), (rule, logs)
    assert len(logs) == len(submitted), (logs, submitted)

    results = workdir / "results" / "smoke"
    missing = [name for name in CHECKED if not (results / name).is_file()]
    assert not missing, missing
    assert_same_results(reference, results, part=True)


def _dry_run(tmp_path: Path, profile: str, *extra: str) -> str:
    local = tmp_path / "local.yaml"
    local.write_text(f"results_dir: {tmp_path / 'results'}\n")
    done = subprocess.run(["snakemake", "--snakefile", str(ROOT / "Snakefile"), "-n", "--profile",
                           str(ROOT / "profiles" / profile), "--configfile", str(SMOKE), str(local), *extra],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout + done.stderr


def _rule_resources(output: str, rule: str) -> str:
    block = output.split(f"rule {rule}:", 1)[1]
    return re.search(r"resources: (.*)", block).group(1)


def test_slurm_profile_asks_for_gpus_partition_and_account(tmp_path):
    # a dry run caps threads at --cores (1 by default); a SLURM run leaves them uncapped
    output = _dry_run(tmp_path, "slurm", "--cores", "64")
    train = _rule_resources(output, "train_supernet")
    for wanted in ("gpu=1", "slurm_partition=", "slurm_account=", "runtime=720", "cpus_per_task=8"):
        assert wanted in train, train
    assert "gpu=1" in _rule_resources(output, "score")
    assert "gpu=1" in _rule_resources(output, "retrain_shard")


def test_gpu_profile_runs_training_on_cuda_one_job_per_gpu(tmp_path):
    output = _dry_run(tmp_path, "gpu")
    assert "gpu=1" in _rule_resources(output, "train_supernet")
    assert "gpu=1" in _rule_resources(output, "score")
    assert "gpu=0" in _rule_resources(output, "sample_archs")
    config = yaml.safe_load((ROOT / "profiles" / "gpu" / "config.yaml").read_text())
    assert config["config"]["device"] == "cuda" and config["resources"]["gpu"] >= 1

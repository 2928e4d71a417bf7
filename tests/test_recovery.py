"""Recovering after a crash: a workflow run SIGKILLed mid-training leaves Snakemake's lock, so a
plain rerun refuses to start; `make resume` (the README's one command) unlocks and finishes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, SMOKE_CONFIG

from harness import paths

TARGET = "results/smoke/" + paths.TRAIN_RECORD.format(space="nats-tss", method="spos", seed=0)
TRAIN_LOG = "results/smoke/logs/nats-tss/spos/seed0/train_supernet.log"


def wait_for(path: Path, process: subprocess.Popen, log: Path, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert process.poll() is None, f"the run ended (rc {process.returncode}) before {path} appeared: " \
                                       f"{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout_s} s"
        time.sleep(0.5)


def test_make_resume_finishes_a_killed_run(tmp_path):
    args = [TARGET, "--directory", str(tmp_path), "--configfile", str(SMOKE_CONFIG)]  # --configfile takes several
    log = tmp_path / "killed-run.log"
    with log.open("w") as out:
        run = subprocess.Popen(["snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2", *args],
                               start_new_session=True, stdout=out, stderr=subprocess.STDOUT)
    wait_for(tmp_path / TRAIN_LOG, run, log)  # the first training job has started
    os.killpg(run.pid, signal.SIGKILL)  # kill -9 of the run and its jobs
    run.wait()
    assert any((tmp_path / ".snakemake" / "locks").iterdir()), "a killed run leaves the lock"
    assert not (tmp_path / TARGET).exists()

    again = subprocess.run(["snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2", *args],
                           capture_output=True, text=True)
    assert again.returncode != 0 and "lock" in (again.stdout + again.stderr).lower()

    env_dir = Path(sys.executable).parent.parent  # make runs this interpreter's snakemake
    resume = subprocess.run(["make", "-C", str(ROOT), "resume", f"ENV_DIR={env_dir}", "CORES=2",
                             "ARGS=" + " ".join(args)], capture_output=True, text=True)
    assert resume.returncode == 0, resume.stdout[-2000:] + resume.stderr[-3000:]
    assert (tmp_path / TARGET).is_file()
    locks = tmp_path / ".snakemake" / "locks"
    assert not locks.exists() or not any(locks.iterdir()), "the finished run released its lock"

"""scripts/gpu_check.py, the one prepared script for a GPU machine, run for real on the CPU
(`--device cpu --small`): every check it makes must run and pass here, so that a GPU session
only finds GPU problems."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_gpu_check_runs_every_check_on_the_cpu():
    done = subprocess.run(
        [sys.executable, "scripts/gpu_check.py", "--device", "cpu", "--small", "--bf16", "--channels-last",
         "--threads", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    checks = [line for line in done.stdout.splitlines() if line.startswith("[")]
    names = [line.split("]", 1)[1].split(":", 1)[0].strip() for line in checks]
    variants = ["fp32", "bf16 autocast", "channels_last", "bf16 + channels_last", "determinism cost"]
    steps = [f"step {net} {variant}" for net in ("NATS-Bench", "gpu.yaml nats-tss", "gpu.yaml spos-mobilenet")
             for variant in variants]
    assert names == ["pinning slots", "data", "train", *steps[:5], "end to end vs bare", *steps[5:], "score",
                     "score bf16", "determinism"]
    assert all(line.startswith("[ok]") for line in checks), done.stdout
    assert "equal the CPU's bit for bit" in done.stdout
    assert "two trainings give bitwise equal checkpoints" in done.stdout  # the CPU is deterministic
    assert "'deterministic_algorithms': True" in done.stdout  # applied as in every job
    use = done.stdout.split("use (config keys")[1]
    assert use.count("bf16: ") == 3 and use.count("channels_last: ") == 3
    assert f"{len(names)} of {len(names)} checks passed" in done.stdout

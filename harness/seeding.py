"""Seeds are derived from the run seed and the job's identity, never from time; a job's GPU work is
made bitwise reproducible by apply_determinism (config `deterministic`)."""

from __future__ import annotations

import hashlib
import os
import random
from typing import Any

import numpy as np
import torch


def derive_seed(run_seed: int, *keys: object) -> int:
    """A stable 31-bit seed for the job named by `keys` (e.g. "supernet", space, method, seed)."""
    text = "/".join(str(k) for k in (run_seed, *keys))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> np.random.Generator:
    """Seed python, numpy and torch; return a numpy Generator for explicit use."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- determinism

CUBLAS_WORKSPACE_ENV = "CUBLAS_WORKSPACE_CONFIG"
# The workspace settings with which cuBLAS is deterministic (NVIDIA's cuBLAS docs, "Results
# reproducibility"); :4096:8 is the one torch's error message suggests, :16:8 uses less memory.
DETERMINISTIC_CUBLAS = (":4096:8", ":16:8")


def apply_determinism(deterministic: bool) -> dict[str, Any]:
    """Make this process's GPU work bitwise reproducible (config `deterministic`, default true),
    or leave torch's faster defaults (false); return determinism_settings().

    Call it before any CUDA work: cuBLAS reads CUBLAS_WORKSPACE_CONFIG when the process creates
    its first handle, so the variable is set here (kept if it already names a deterministic
    workspace). torch.use_deterministic_algorithms(True) picks deterministic cuDNN and scatter
    kernels and makes an operation that has none an error instead of a silent difference;
    cudnn.benchmark stays off (its autotuner may choose different kernels from run to run).
    On the CPU the same settings change no result (the CPU kernels are deterministic already;
    tests/test_determinism.py checks that the smoke run's files are unchanged).
    `deterministic: false` (the speed option) only switches the algorithms check off; cuDNN
    autotuning is not switched on.
    """
    if deterministic and os.environ.get(CUBLAS_WORKSPACE_ENV) not in DETERMINISTIC_CUBLAS:
        os.environ[CUBLAS_WORKSPACE_ENV] = DETERMINISTIC_CUBLAS[0]
    torch.use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.benchmark = False
    return determinism_settings()


def determinism_settings() -> dict[str, Any]:
    """What decides whether this process's GPU results are reproducible, as a small plain dict
    for the job records (train.json) and the report's provenance."""
    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cublas_workspace_config": os.environ.get(CUBLAS_WORKSPACE_ENV),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "cudnn_allow_tf32": bool(torch.backends.cudnn.allow_tf32),
        "matmul_allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
    }

"""Seeds are derived from the run seed and the job's identity, never from time."""

from __future__ import annotations

import hashlib
import random

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

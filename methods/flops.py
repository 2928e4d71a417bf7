"""flops: the FLOPs (M multiply-adds, NATS-Bench convention) of the architecture's standalone
network, by the space's cost table. No supernet, no data. Sign: higher = better."""

import numpy as np

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy


@zero_cost_proxy(name="flops", kind="trivial")
def flops_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """no supernet; score = FLOPs (M) from the cost table (sign: higher = better)"""
    return np.asarray(ctx.space.cost_table().flops(archs), dtype=np.float64)

"""conv_count: how many searchable layers (cell edges in NATS-Bench) choose a candidate that
contains a convolution, the space's own count (SearchSpace.conv_op_counts, read off its
candidates). No data. This is what the BN-NAS indicator reduces to when every conv op's |gamma|
is still ~1. Sign: higher = better (more conv ops ranked higher)."""

import numpy as np

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy


@zero_cost_proxy(name="conv_count", kind="trivial")
def conv_count_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """no supernet; score = number of layers whose chosen op has a conv (sign: higher = better)"""
    return ctx.space.conv_op_counts(archs).astype(np.float64)

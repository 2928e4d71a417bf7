"""params: the parameter count (M) of the architecture's standalone network, by the space's cost
table. No supernet, no data. Sign: higher = better (a bigger network is ranked higher)."""

import numpy as np

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy


@zero_cost_proxy(name="params", kind="trivial")
def params_scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
    """no supernet; score = parameter count (M) from the cost table (sign: higher = better)"""
    return np.asarray(ctx.space.cost_table().params(archs), dtype=np.float64)  # rounded there: equal counts tie

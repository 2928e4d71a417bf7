"""params: the parameter count (M) of the architecture's standalone network, by the space's cost
table. No supernet, no data. Sign: higher = better (a bigger network is ranked higher)."""

from harness.method import Method
from harness.scoring.zero_cost import params_scorer

METHOD = Method(
    name="params",
    summary="no supernet; score = parameter count (M) from the cost table (sign: higher = better)",
    scorer=params_scorer,
    sampler=None,
    kind="trivial",
)

"""flops: the FLOPs (M multiply-adds, NATS-Bench convention) of the architecture's standalone
network, by the space's cost table. No supernet, no data. Sign: higher = better."""

from harness.method import Method
from harness.scoring.zero_cost import flops_scorer

METHOD = Method(
    name="flops",
    summary="no supernet; score = FLOPs (M) from the cost table (sign: higher = better)",
    scorer=flops_scorer,
    sampler=None,
    kind="trivial",
)

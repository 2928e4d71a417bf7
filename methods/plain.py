"""plain (NASLib zerocost): sum over conv/linear weights of dL/dw * w (signed), one seeded training batch, at initialisation (train-mode BN). Sign: higher = better (as NASLib ranks it)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, plain_scorer

METHOD = Method(
    name="plain",
    summary="no supernet; score = sum g * w over conv/linear weights on one batch (sign: higher = better)",
    scorer=plain_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

"""snip (Lee et al. 2019, as a zero-cost proxy in Abdelfattah et al. 2021): sum over conv and
linear weights of |dL/dw * w|, L the cross-entropy of one seeded training batch, at
initialisation (train-mode BN). Sign: higher = better (the raw saliency sum)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, snip_scorer

METHOD = Method(
    name="snip",
    summary="no supernet; score = sum |g * w| over conv/linear weights on one batch (sign: higher = better)",
    scorer=snip_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

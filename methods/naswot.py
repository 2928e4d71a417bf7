"""naswot (Mellor et al. 2021, "NAS without training" v2): log|det K| of the kernel of binary
ReLU codes of one seeded training batch, at initialisation (train-mode BN). A singular kernel
(e.g. cells that output zeros whatever the input) scores -1, below every non-singular one
(log det >= 0 for an integer kernel). Sign: higher = better (as in the paper)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, naswot_scorer

METHOD = Method(
    name="naswot",
    summary="no supernet; score = log|det K| of ReLU binary codes on one batch (sign: higher = better)",
    scorer=naswot_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

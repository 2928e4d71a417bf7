"""grad_norm (Abdelfattah et al. 2021): sum over conv and linear layers of the L2 norm of the
cross-entropy gradient of their weight, on one seeded training batch, at initialisation
(train-mode BN). Sign: higher = better (the raw sum of norms)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, grad_norm_scorer

METHOD = Method(
    name="grad_norm",
    summary="no supernet; score = sum of per-layer gradient L2 norms on one batch (sign: higher = better)",
    scorer=grad_norm_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

"""fisher (Turner et al. 2020, NASLib zerocost): sum over conv/linear layers and channels of 0.5 * mean over images of (sum over pixels of activation * its gradient)^2, one seeded training batch, at initialisation (train-mode BN). Sign: higher = better (as NASLib ranks it)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, fisher_scorer

METHOD = Method(
    name="fisher",
    summary="no supernet; score = sum over channels of 0.5 E[(sum a dL/da)^2] on one batch (sign: higher = better)",
    scorer=fisher_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

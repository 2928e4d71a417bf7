"""grasp (Wang et al. 2020, NASLib zerocost): -sum over conv/linear weights of w * (H g), g the cross-entropy gradient and H the Hessian of one seeded training batch, at initialisation (train-mode BN). Sign: higher = better (as NASLib ranks it)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, grasp_scorer

METHOD = Method(
    name="grasp",
    summary="no supernet; score = -sum w * Hg on one batch (sign: higher = better)",
    scorer=grasp_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

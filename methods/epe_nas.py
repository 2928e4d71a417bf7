"""epe_nas (Lopes et al. 2021, NASLib zerocost): sum over classes of , at initialisation (train-mode BN). Sign: higher = better (as NASLib ranks it)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, epe_nas_scorer

METHOD = Method(
    name="epe_nas",
    summary="no supernet; sum log(|corr| + 1e-5)| of the per-class correlation of the input jacobians of one seeded training batch|score = per-class jacobian-correlation score on one batch (sign: higher = better)",
    scorer=epe_nas_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

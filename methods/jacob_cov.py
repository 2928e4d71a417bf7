"""jacob_cov (Mellor et al. 2021 v1): -sum(log(v + k) + 1/(v + k)), k = 1e-5, v the eigenvalues
of the correlation matrix of the input jacobians of one seeded training batch, at
initialisation (train-mode BN). Sign: higher = better (as in the paper: less correlated
jacobians score higher)."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, jacob_cov_scorer

METHOD = Method(
    name="jacob_cov",
    summary="no supernet; score = jacobian-covariance score on one batch (sign: higher = better)",
    scorer=jacob_cov_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

"""l2_norm (NASLib zerocost): sum over conv/linear layers of the L2 norm of the weight at
initialisation (each subnet built after seeding torch). No data. Sign: higher = better."""

from harness.method import Method
from harness.scoring.zero_cost import l2_norm_scorer

METHOD = Method(
    name="l2_norm",
    summary="no supernet; score = sum of per-layer weight L2 norms at initialisation (sign: higher = better)",
    scorer=l2_norm_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
)

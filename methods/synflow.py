"""synflow (Tanaka et al. 2020) under the zero-cost protocol of Abdelfattah et al. 2021: each
subnet built after seeding torch with the run's seed, BN layers removed, float64, |weights|, an
all-ones input of the dataset's shape; score = sum over conv/linear weights of |w * dR/dw|,
R = sum of the output. No data. Sign: higher = better (the raw synflow value)."""

from harness.method import Method
from harness.scoring.zero_cost import synflow_scorer

METHOD = Method(
    name="synflow",
    summary="no supernet; score = synflow at init (no BN, float64, all-ones input) (sign: higher = better)",
    scorer=synflow_scorer,
    sampler=None,
    kind="zero-cost",
)

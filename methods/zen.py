"""Zen-NAS score (Lin et al., ICCV 2021, as NASLib's zerocost computes it): Gaussian
re-initialisation, one seeded Gaussian batch x and noise e; log of the mean over images of
sum |f(x) - f(x + 0.01 e)| (f = features before the global pool) plus sum over BN layers of
log sqrt(mean running variance). No data. Sign: higher = better."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, zen_scorer

METHOD = Method(
    name="zen",
    summary="no supernet; score = Zen-NAS log expressivity of pre-pool features under Gaussian perturbation plus "
            "BN scaling (sign: higher = better)",
    scorer=zen_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": DEFAULT_BATCH_SIZE, "mixup_gamma": 0.01},
)

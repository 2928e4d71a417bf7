"""BN-NAS (Chen et al., ICCV 2021): convolutions frozen at initialisation, only BN trained for 10%
of the baseline epochs; score = sum over layers of the chosen op's mean |gamma| of its last BN (no
data, no forward pass). `bnnas` uses the SPOS sampler (the paper's "BN-NAS on SPOS"),
`bnnas-fairnas` FairNAS's strict-fairness sampler.

trainable "bn" trains every BN as the paper says; "last_bn" trains only each op's last BN as
the official code (bychen515/BNNAS) does: set it with method_options or a method variant."""

import dataclasses

from harness.method import Method
from harness.scorers import bn_indicator

BNNAS = Method(
    name="bnnas",
    summary="uniform single path, only BN trained for 10% of the epochs; score = BN indicator",
    scorer=bn_indicator,
    sampler="uniform",
    trainable="bn",
    epoch_fraction=0.1,
    baseline="spos",
    options={"statistic": "abs_gamma", "no_bn_score": 0.0},
)
BNNAS_FAIRNAS = dataclasses.replace(
    BNNAS, name="bnnas-fairnas", sampler="fair", baseline="fairnas",
    summary="strict-fairness paths, only BN trained for 10% of the epochs; score = BN indicator",
)
METHODS = [BNNAS, BNNAS_FAIRNAS]

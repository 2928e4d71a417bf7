"""BN-NAS (Chen et al., ICCV 2021): convolutions frozen at initialisation, only BN trained for 10%
of the baseline epochs with the official code's optimiser (recipe "official": SGD momentum 0.9,
lr 0.25 linear to 5e-4 at batch 512 scaled linearly to the configured batch, clipping by value
5, label smoothing 0.1; see harness.training.recipes); score = sum over layers of the chosen op's mean
|gamma| of its last BN (no data, no forward pass). `bnnas` uses the SPOS sampler (the paper's
"BN-NAS on SPOS"), `bnnas-fairnas` FairNAS's strict-fairness sampler. A config variant with
`recipe: spos` trains with the shared SPOS recipe instead (the harness's earlier behaviour).

trainable "bn" trains every BN as the paper says; "last_bn" trains only each op's last BN as
the official code (bychen515/BNNAS) does: set it with method_options or a method variant.

On nats-sss (a width space) the indicator is the harness's extension of BN-NAS to width
search, not BN-NAS itself: see NatsSssSupernet.candidate_ops for which BNs count."""

import dataclasses

from harness.method import Method
from harness.scoring.scorers import bn_indicator

BNNAS = Method(
    name="bnnas",
    summary="uniform single path, only BN trained for 10% of the epochs with the official BN-NAS optimiser; "
            "score = BN indicator (on nats-sss: BN indicator, harness extension to width search)",
    scorer=bn_indicator,
    sampler="uniform",
    trainable="bn",
    epoch_fraction=0.1,
    recipe="official",
    baseline="spos",
    family="bn-nas",
    # The BN indicator's options, declared here only (harness.scoring.scorers reads them, and
    # diagnoses a supernet of another family, e.g. SPOS's gammas, with these).
    options={"statistic": "abs_gamma", "no_bn_score": 0.0, "zero_op": "parameter_free"},
)
BNNAS_FAIRNAS = dataclasses.replace(
    BNNAS, name="bnnas-fairnas", sampler="fair", baseline="fairnas",
    summary="strict-fairness paths, only BN trained for 10% of the epochs with the official BN-NAS optimiser; "
            "score = BN indicator",
)
METHODS = [BNNAS, BNNAS_FAIRNAS]

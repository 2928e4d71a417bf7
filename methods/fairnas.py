"""FairNAS (Chu et al., ICCV 2021), the harness's own implementation (no official training code
exists): strict-fairness sampling - every step trains m paths that together cover every candidate
of every layer exactly once, each on its own batch, gradients accumulated, one update; all
parameters trained; score = validation accuracy after BN recalibration, as SPOS."""

from harness.method import Method
from harness.scoring.scorers import validation_accuracy

METHOD = Method(
    name="fairnas",
    summary="strict-fairness paths, all weights trained; score = val. accuracy after BN recalibration",
    scorer=validation_accuracy,
    sampler="fair",
    trainable="all",
    epoch_fraction=1.0,
    family="fairnas",
)

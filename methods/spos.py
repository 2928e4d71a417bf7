"""SPOS (Guo et al., ECCV 2020): uniform single-path supernet, all parameters trained; an
architecture's score is its validation accuracy with inherited weights after BN recalibration."""

from harness.method import Method
from harness.scoring.scorers import validation_accuracy

METHOD = Method(
    name="spos",
    summary="uniform single path, all weights trained; score = val. accuracy after BN recalibration",
    scorer=validation_accuracy,
    sampler="uniform",
    trainable="all",
    epoch_fraction=1.0,
    family="spos",
)

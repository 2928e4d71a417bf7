"""AZ-NAS (Lee & Ham, CVPR 2024; official code cvlab-yonsei/AZ-NAS, NB201 notebook protocol):
expressivity, progressivity and trainability of the network re-initialised (kaiming normal,
fan in) on one batch of Gaussian noise (train-mode BN), plus complexity (FLOPs); the score is
the sum over the four of log(rank / m), ranks within the m architectures scored together.

Population-relative: an architecture's score depends on which others are scored with it, so
scores compare only within one scoring job. Sign: higher = better."""

from harness.method import Method
from harness.scoring.zero_cost import DEFAULT_BATCH_SIZE, az_nas_scorer

METHOD = Method(
    name="az_nas",
    summary="no supernet; score = sum of log-ranks of expressivity, progressivity, trainability and FLOPs "
            "within the scored population, Gaussian input (sign: higher = better)",
    scorer=az_nas_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    population_relative=True,
    options={"batch_size": DEFAULT_BATCH_SIZE},
)

"""MeCo (Jiang et al., NeurIPS 2023): sum over modules of the smallest eigenvalue of the
channel correlation matrix of the module's feature map for one seeded training image, at
initialisation (train-mode BN). Sign: higher = better."""

from harness.method import Method
from harness.scoring.zero_cost import meco_scorer

METHOD = Method(
    name="meco",
    summary="no supernet; score = sum over modules of the minimum eigenvalue of the channel correlation of one "
            "image's feature map (sign: higher = better)",
    scorer=meco_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": 1},
)

"""ZiCo (Li et al., ICLR 2023): sum over conv/linear layers of log(sum over weights of
mean|g| / std), over two seeded training batches at initialisation (train-mode BN).

Option `form`: "paper" (the paper's equation: std of |g|, gradients zeroed per batch, the
default) or "official" (SLDGroup/ZiCo's code: std of the signed g, gradients accumulated over
the batches). Sign: higher = better."""

from harness.method import Method
from harness.scoring.zero_cost import zico_scorer

METHOD = Method(
    name="zico",
    summary="no supernet; score = ZiCo, sum of log inverse coefficients of variation of gradients over 2 batches "
            "(sign: higher = better)",
    scorer=zico_scorer,
    sampler=None,
    kind="zero-cost",
    stochastic=True,
    options={"batch_size": 128, "batches": 2, "form": "paper"},
)

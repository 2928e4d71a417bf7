"""The claims a run is judged on: the BN-NAS paper's five and the harness's own sixth, each with
the rule that decides it (margin or threshold) and what it needs. One place for these facts:
harness.analysis.verdicts applies them, the report and the docs name them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    key: str
    text: str
    source: str  # "BN-NAS paper" or "this harness"
    needs: str  # what a run must produce to judge it (shown when it did not)


RANKING = Claim("ranking", "BN-NAS ranks subnets as well as SPOS", "BN-NAS paper",
                "correlations of BN-NAS and its baseline against a same-task ground truth")
TRAIN = Claim("train-speedup", "supernet training > 10x faster", "BN-NAS paper",
              "train.json of BN-NAS and its baseline with a common seed")
EVAL = Claim("eval-speedup", "subnet evaluation > 600,000x faster", "BN-NAS paper",
             "scoring.json of BN-NAS and its baseline with a common seed")
SEARCH = Claim("search", "no loss of searched accuracy", "BN-NAS paper",
               "final.csv of BN-NAS's and its baseline's searches with a common seed")
EARLY_BIRD = Claim("early-bird", "the indicator is stable early (early-bird)", "BN-NAS paper",
                   "BN-NAS scores at two or more checkpoints")
BEYOND_CONV = Claim("beyond-conv-count", "the BN indicator carries information beyond conv count", "this harness",
                    "tau within equal conv-op count of BN-NAS and its baseline against a same-task ground truth")
CLAIMS = (RANKING, TRAIN, EVAL, SEARCH, EARLY_BIRD, BEYOND_CONV)

# The paper's own setting of BN-NAS (the SPOS sampler, its recipe and 10% budget): the headline
# judges it when the run has it, else the first BN-NAS method (Method.family) the config lists.
PAPER_METHOD = "bnnas"
PAPER_EPOCH_FRACTION = 0.1  # BN-NAS trains 10% of the baseline's epochs: the training claim is about that budget

TAU_MARGIN = 0.05  # a tau loss this small counts as "as well as" (ranking, beyond conv count)
TOP1_MARGIN_PCT = 1.0  # a top-1 loss this small (percentage points) counts as "no loss"
TRAIN_SPEEDUP = 10.0
EVAL_SPEEDUP = 600_000.0
STABLE_TAU = 0.8  # tau(first checkpoint, final checkpoint) above this counts as "stable early"
# Largest change of the scores between the first and final checkpoint, relative to the largest
# score, that counts as "has not moved": BN-NAS's gammas start at 1, and after a short BN-only
# run they are still 1.00 +- 0.01, so its scores are still (almost) the starting count of
# BN-carrying ops and a stable ranking is no evidence of an early bird.
UNMOVED_RELATIVE = 0.01

# The SPOS code's evaluation protocol, in images forwarded per architecture: 200 x 128
# recalibration images (train-mode BN) and 8,000 validation images. Evaluation measured at a run's
# own, smaller protocol is a lower bound of the speed-up at it (harness.analysis.verdicts).
PAPER_RECALIBRATION_IMAGES = 200 * 128
PAPER_VALIDATION_IMAGES = 8_000
PAPER_EVAL_IMAGES = PAPER_RECALIBRATION_IMAGES + PAPER_VALIDATION_IMAGES

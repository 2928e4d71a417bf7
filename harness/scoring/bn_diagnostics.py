"""Gamma diagnostics of a BN-indicator supernet: has BN training moved the scores at all?

At every curve checkpoint of a supernet run (harness.training.supernet) this records, for the
BNs the BN indicator scores (harness.scoring.scorers.scored_bns: the last BN of every candidate op;
never a BN that only sees zeros):
    gamma_drift_max / gamma_drift_mean   max and mean over their channels of |gamma - gamma0|,
                                         gamma0 the values at initialisation (1.0 in torch)
    op_score_spread_max                  max over layers of (max - min) of the op scores of the
                                         layer's scored candidates (0 when nothing moved)
    conv_count_determined                the criterion below (None where conv count is constant)
    conv_count_margin                    its margin (positive = determined)

The conv-count criterion. Let S(a) be the BN indicator of architecture a (a sum of per-layer op
scores) and c(a) its conv-op count (SearchSpace.conv_op_table). For every achievable count k
let lo_k and hi_k be the smallest and largest S over ALL architectures with c = k (exact, by
dynamic programming over layers). The scores are "conv-count determined" when hi_k < lo_{k+1}
for every pair of consecutive achievable counts: then every pair of architectures with
different conv counts is ordered by S exactly as by c, i.e. the BN-indicator ranking of any
set of architectures is the lexicographic ranking (conv count, then S as a tie-break within a
count). Conversely, if hi_k >= lo_{k+1} some pair is ordered differently from its conv counts.
The margin is min_k (lo_{k+1} - hi_k). Untrained gammas (all 1) give margin = one op score
(e.g. N instances x 1.0 on nats-tss); the scores depart from conv count only when op scores
within layers spread by more than that, summed over layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from harness.scoring.scorers import indicator_options, score_table_for, scored_bns
from harness.spaces.base import SearchSpace, Supernet

DIAGNOSTICS_NAME = "gamma_diagnostics.csv"
# Spaces where the BN indicator is not the paper's BN-NAS (which scores operations) but the
# harness's own extension to width choices (harness/spaces/nats_sss.py): every label says so.
WIDTH_SEARCH_SPACES = ("nats-sss",)
WIDTH_SEARCH_LABEL = "BN indicator, harness extension to width search"
DIAGNOSTIC_COLUMNS = ["checkpoint", "epoch", "step", "scored_bn_channels", "gamma_drift_max", "gamma_drift_mean",
                      "op_score_spread_max", "conv_count_determined", "conv_count_margin"]


@dataclass(frozen=True)
class GammaBaseline:
    """The scored BNs' gammas at initialisation and what the diagnostics need of the method."""

    gamma0: torch.Tensor  # every scored BN's gamma, concatenated in scored_bns order
    conv: np.ndarray  # SearchSpace.conv_op_table: table[layer, choice] = 1 if the candidate has a conv
    options: Mapping[str, Any]  # the BN indicator's (indicator_options)

    @classmethod
    def of(cls, space: SearchSpace, supernet: Supernet, options: Mapping[str, Any]) -> "GammaBaseline":
        options = indicator_options(options)
        return cls(_gammas(supernet, options).clone(), space.conv_op_table(), options)

    def diagnose(self, supernet: Supernet) -> dict[str, Any]:
        drift = (_gammas(supernet, self.options) - self.gamma0).abs()
        table = score_table_for(supernet, self.options)
        scored = np.array([[bool(found) for found in per_choice] + [False] * (table.shape[1] - len(per_choice))
                           for per_choice in scored_bns(supernet, self.options["zero_op"])])
        determined, margin = conv_count_criterion(table, self.conv)
        return {
            "scored_bn_channels": int(drift.numel()),
            "gamma_drift_max": float(drift.max()) if drift.numel() else 0.0,
            "gamma_drift_mean": float(drift.mean()) if drift.numel() else 0.0,
            "op_score_spread_max": op_score_spread(table, scored),
            "conv_count_determined": determined,
            "conv_count_margin": margin,
        }


def _gammas(supernet: Supernet, options: Mapping[str, Any]) -> torch.Tensor:
    bns = [bn for per_choice in scored_bns(supernet, options["zero_op"])
           for found in per_choice for bn in found]
    if not bns:
        return torch.zeros(0)
    return torch.cat([bn.weight.detach().float().cpu().flatten() for bn in bns])


def op_score_spread(table: np.ndarray, scored: np.ndarray) -> float:
    """max over layers of (max - min) of the scores of that layer's scored candidates."""
    spreads = [float(np.ptp(row[mask])) for row, mask in zip(table, scored) if mask.sum() > 1]
    return max(spreads, default=0.0)


def score_range_by_count(table: np.ndarray, conv: np.ndarray, choices: Sequence[int] | None = None) -> dict[int, tuple[float, float]]:
    """{conv count k: (lowest, highest) architecture score among ALL archs with k conv ops},
    exact by dynamic programming over layers (score and count are both sums over layers).
    `choices[layer]` = the layer's number of candidates (default: the table's width; NaN
    entries are not candidates)."""
    ranges: dict[int, tuple[float, float]] = {0: (0.0, 0.0)}
    for layer in range(table.shape[0]):
        width = choices[layer] if choices is not None else table.shape[1]
        step: dict[int, tuple[float, float]] = {}
        for choice in range(width):
            score = table[layer, choice]
            if np.isnan(score):
                continue
            add = int(conv[layer, choice])
            for count, (low, high) in ranges.items():
                old = step.get(count + add)
                new = (low + score, high + score)
                step[count + add] = new if old is None else (min(old[0], new[0]), max(old[1], new[1]))
        ranges = step
    return dict(sorted(ranges.items()))


def conv_count_criterion(table: np.ndarray, conv: np.ndarray) -> tuple[bool | None, float | None]:
    """(determined, margin): see the module docstring; (None, None) when every architecture
    has the same conv count (nothing for conv count to decide, e.g. nats-sss)."""
    ranges = score_range_by_count(table, conv)
    counts = list(ranges)
    if len(counts) < 2:
        return None, None
    margin = min(ranges[upper][0] - ranges[lower][1] for lower, upper in zip(counts, counts[1:]))
    return bool(margin > 0), float(margin)


def diagnostics_frame(checkpoints: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per checkpoint of a train.json's `checkpoints` (columns DIAGNOSTIC_COLUMNS)."""
    return pd.DataFrame([{c: point.get(c) for c in DIAGNOSTIC_COLUMNS} for point in checkpoints],
                        columns=DIAGNOSTIC_COLUMNS)


def structure_statement(determined: bool | None, margin: float | None) -> str:
    """The words the report puts next to a BN-indicator tau."""
    if determined is None:
        return "conv count is the same for every architecture here: the ranking comes from the gammas alone"
    if determined:
        return (f"scores have not moved enough to change any ranking conv count gives (every arch with more conv ops "
                f"still scores higher, margin {margin:.3g}): this tau is conv count's plus a tie-break")
    return f"scores moved enough to reorder architectures of different conv counts (margin {margin:.3g} < 0)"

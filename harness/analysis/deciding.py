"""Which run would decide an inconclusive headline, and what it would cost: the projection of the
deciding statistic's CI to more architectures and seeds (harness.analysis.power), priced with
this run's own measured unit costs (harness.analysis.unit_costs)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from harness.analysis import claims as C
from harness.analysis.unit_costs import UnitCosts, unit_costs
from harness.results.model import Results

MAX_SEEDS = 50


def deciding_run(detail: Any, results: Results) -> dict[str, Any]:
    """{text, archs, seeds, cost, cost_unit} for an inconclusive headline (a verdicts.Detail)."""
    costs = unit_costs(results, detail.space, detail.method, detail.versus)
    if not detail.counted:
        return nothing_counted(detail, costs)
    if detail.claim == C.SEARCH:
        return more_seeds(detail, costs, np.asarray(detail.inputs["diffs"], float), -C.TOP1_MARGIN_PCT,
                          costs.search_seed_cost)
    if detail.claim == C.EARLY_BIRD and not detail.inputs.get("moved", True):
        return {"text": "no sample size decides it: the indicator did not move; a longer BN-only training would"}
    return {"text": "no projection: this run recorded no variance components for it"}


def nothing_counted(detail: Any, costs: UnitCosts) -> dict[str, Any]:
    if detail.claim in (C.RANKING, C.BEYOND_CONV):
        return {"text": "a same-task ground truth: retrain the sample on the run's own dataset "
                        "(config groundtruth) or judge against NATS-Bench on the dataset it was trained on"}
    return {"text": f"a run that produces {detail.claim.needs}"}


def more_seeds(detail: Any, costs: UnitCosts, per_seed: np.ndarray, boundary: float,
               seed_cost: float | None) -> dict[str, Any]:
    """A statistic whose unit is the seed (a mean of paired per-seed differences): its CI
    half-width shrinks as 1/sqrt(k); the smallest k whose t-interval at the observed mean
    excludes `boundary`."""
    if per_seed.size < 2 or np.std(per_seed, ddof=1) == 0:
        return {"text": "more paired seeds (no spread to project from with one seed)"}
    mean, sd = float(per_seed.mean()), float(np.std(per_seed, ddof=1))
    distance = abs(mean - boundary)
    for k in range(per_seed.size + 1, MAX_SEEDS + 1):
        if stats.t.ppf(0.975, k - 1) * sd / np.sqrt(k) < distance:
            cost = None if seed_cost is None else k * seed_cost
            return {"text": f"{k} paired seeds" + costs.describe(cost), "seeds": k, "cost": cost,
                    "cost_unit": costs.unit}
    return {"text": f"no run within reach decides it: the effect ({mean:+.2f}) sits at the margin "
                    f"({boundary:+g}); {MAX_SEEDS} seeds would not separate them"}

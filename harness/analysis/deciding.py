"""Which run would decide an inconclusive headline, and what it would cost: the deciding
statistic's CI projected to more architectures and seeds from this run's own variance components
(harness.analysis.power), priced with this run's own unit costs (harness.analysis.unit_costs).

Per claim:
- ranking, beyond conv count: the paired tau difference's components (correlate's columns);
  more architectures of the deciding ground truth (retrained ones cost their retraining and
  every method's scoring; NATS-Bench ones only the scoring) and more seeds of both methods;
- training and evaluation speed-ups: the log speed-up's seed-only components (more seeds of both);
- searched accuracy: the paired per-seed differences (more seeds: a supernet, a search and a
  retraining of the found architecture per seed and method);
- early bird: the tau(first, final) CI, more seeds; no sample size when the indicator did not move;
- a claim nothing counted for: the kind of run that would test it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from scipy import stats

from harness.analysis import claims as C
from harness.analysis.power import (COMPONENT_COLUMNS, CostModel, DecidingRun, VarianceComponents, deciding_run as project,
                                   seed_only_components, z_value)
from harness.analysis.truths import RETRAINED
from harness.analysis.unit_costs import UnitCosts, unit_costs
from harness.results.model import Results

MAX_SEEDS = 50
MAX_ARCHS = 10_000  # where the space is larger (or not enumerable): beyond this, "not within reach"


def seeds_phrase(k: int | None) -> str:
    return f"{k} seed" if k == 1 else f"{k} seeds"


def deciding_run(detail: Any, results: Results) -> dict[str, Any]:
    """{text, archs, seeds, cost, cost_unit} for an inconclusive headline (a verdicts.Detail)."""
    costs = unit_costs(results, detail.space, detail.method, detail.versus)
    if not detail.counted:
        return nothing_counted(detail, results)
    if detail.claim in (C.RANKING, C.BEYOND_CONV):
        return ranking_type(detail, results, costs)
    if detail.claim in (C.TRAIN, C.EVAL):
        return speed_up(detail, costs)
    if detail.claim == C.SEARCH:
        return search(detail, costs)
    if detail.claim == C.EARLY_BIRD:
        return early_bird(detail, costs)
    return {"text": "no projection for this claim"}


def answer(run: DecidingRun, costs: UnitCosts, what: str) -> dict[str, Any]:
    if not run.decided:
        return {"text": run.reason}
    text = f"{what(run)}{costs.describe(run.cost)}"
    return {"text": text, "archs": run.n, "seeds": run.seeds, "cost": run.cost, "cost_unit": costs.unit}


def space_size(results: Results, name: str) -> int:
    """How many architectures a ground truth on the space can have (capped at MAX_ARCHS)."""
    from harness.workflow.runs import configured_space

    try:
        size = configured_space(results.config or {}, name).size()
    except Exception:  # an unknown or unbuildable space: the cap
        return MAX_ARCHS
    return int(min(size, MAX_ARCHS)) if size else MAX_ARCHS


def calibrated(components: VarianceComponents, low: float, high: float, confidence: float = 0.95) -> VarianceComponents:
    """The components widened so that the projection at the run's own size is the CI the run
    reported, where that CI (a percentile bootstrap) is the wider one: at small samples the
    bootstrap is wider than the components say, and a projection must never decide at a size
    where the reported CI does not."""
    current = components.half_width(confidence=confidence)
    observed = (high - low) / 2
    if not (math.isfinite(current) and math.isfinite(observed)) or current <= 0 or observed <= current:
        return components
    factor = (observed / current) ** 2
    return dataclasses.replace(components, **{name: getattr(components, name) * factor
                                              for name in COMPONENT_COLUMNS if name.startswith("var_")})


def ranking_type(detail: Any, results: Results, costs: UnitCosts) -> dict[str, Any]:
    row = detail.inputs.get("row")
    if row is None or "var_arch" not in row:
        return {"text": "no projection: this run's correlations carry no variance components"}
    components = calibrated(VarianceComponents.from_row(row), detail.ci_low, detail.ci_high)
    retrained = detail.ground_truth == RETRAINED
    model = CostModel(
        unit=costs.unit,
        per_arch=(costs.retrain_per_arch or 0.0) if retrained else 0.0,
        per_seed=costs.train_per_seed.get(detail.method, 0.0),
        per_seed_other=costs.train_per_seed.get(detail.versus, 0.0),
        per_scored_arch=costs.score_per_arch.get(detail.method, 0.0),
        per_scored_arch_other=costs.score_per_arch.get(detail.versus, 0.0),
    )
    run = project(float(row["value"]), components, -C.TAU_MARGIN, model,
                  max_archs=space_size(results, detail.space), max_seeds=MAX_SEEDS)
    truth = "retrained" if retrained else f"with {detail.ground_truth} values"

    def what(r: DecidingRun) -> str:
        return (f"{r.n:,} architectures {truth}, {seeds_phrase(r.seeds)} of {detail.method} and {r.seeds_other} of "
                f"{detail.versus} (projected CI half-width {r.half_width:.3f} vs the effect's "
                f"{abs(float(row['value']) + C.TAU_MARGIN):.3f} from the margin)")

    return answer(run, costs, what)


def speed_up(detail: Any, costs: UnitCosts) -> dict[str, Any]:
    components = detail.inputs.get("components")
    if components is None:
        return {"text": "no projection: no timing components"}
    # one more seed: a supernet trained and scored (its sample, at every checkpoint)
    archs = int(detail.n_archs or 0) or 24
    model = CostModel(unit=costs.unit, per_seed=costs.seed_cost(detail.method, archs) or 0.0,
                      per_seed_other=costs.seed_cost(detail.versus, archs) or 0.0)
    boundary = math.log(C.TRAIN_SPEEDUP if detail.claim == C.TRAIN else C.EVAL_SPEEDUP)
    if detail.claim == C.EVAL and detail.inputs.get("lower_bound") and detail.inputs["log_value"] < boundary:
        return {"text": f"no sample size decides it at this protocol: measured with fewer images per architecture "
                        f"than the paper's, evaluation here is below {C.EVAL_SPEEDUP:,.0f}x, a lower bound; the "
                        f"paper's protocol ({C.PAPER_EVAL_IMAGES:,} images: config scoring) would, best on the "
                        "paper's network (config/paper.yaml, GPU)"}
    run = project(detail.inputs["log_value"], components, boundary, model, max_archs=1, max_seeds=MAX_SEEDS)

    def what(r: DecidingRun) -> str:
        return f"{seeds_phrase(r.seeds)} of {detail.method} and {r.seeds_other} of {detail.versus}"

    return answer(run, costs, what)


def search(detail: Any, costs: UnitCosts) -> dict[str, Any]:
    """The searched accuracy's CI is a t-interval over paired seeds: the smallest k whose
    t-interval, at the observed mean and spread, excludes the margin (the t quantile shrinks with
    k as well, so a normal projection from two seeds would promise far too much)."""
    diffs = np.asarray(detail.inputs["diffs"], dtype=float)
    if diffs.size < 2 or np.std(diffs, ddof=1) == 0:
        return {"text": f"at least 2 paired seeds of {detail.method} and {detail.versus} (one seed has no spread "
                        "to project from)"}
    mean, sd = float(diffs.mean()), float(np.std(diffs, ddof=1))
    distance = abs(mean + C.TOP1_MARGIN_PCT)
    per_seed = costs.search_seed_cost
    for k in range(diffs.size + 1, MAX_SEEDS + 1):
        if stats.t.ppf(0.975, k - 1) * sd / np.sqrt(k) < distance:
            cost = None if per_seed is None else k * per_seed
            return {"text": f"{seeds_phrase(k)} of {detail.method} and of {detail.versus}, paired (a supernet, a search and a "
                            f"retraining each; a t-interval at the observed spread, {sd:.2f} points)"
                            + costs.describe(cost), "seeds": k, "cost": cost, "cost_unit": costs.unit}
    return {"text": f"no run within reach decides it: the mean difference ({mean:+.2f} points) is {distance:.2f} from "
                    f"the margin (-{C.TOP1_MARGIN_PCT:g}) and the seeds' spread is {sd:.2f} points: {MAX_SEEDS} paired "
                    "seeds would not separate them"}


def early_bird(detail: Any, costs: UnitCosts) -> dict[str, Any]:
    """More seeds of the run whose scores moved. The CI of tau(first, final) resamples architectures
    and seeds; with one seed it is all architecture resampling, which more seeds do not shrink, so
    no projection is made from it. With more, the projection treats the whole CI as seed spread
    (and says so): an approximation that favours fewer seeds."""
    measured_seeds = int(detail.seeds or 1)
    half = (detail.ci_high - detail.ci_low) / 2
    if not np.isfinite(half):
        return {"text": "more seeds of a BN-NAS run whose scores move"}
    if measured_seeds < 2:
        return {"text": f"at least 2 seeds of {detail.method} (one seed's CI is architecture resampling only: "
                        "how far more seeds would narrow it cannot be projected from it)"}
    variance = (half / z_value(0.95)) ** 2
    components = seed_only_components(variance, measured_seeds)
    model = CostModel(unit=costs.unit, per_seed=costs.train_per_seed.get(detail.method, 0.0))
    run = project(detail.measured, components, C.STABLE_TAU, model, max_archs=1, max_seeds=MAX_SEEDS)

    def what(r: DecidingRun) -> str:
        return (f"{seeds_phrase(r.seeds)} of {detail.method}, architectures as now (projected as if the CI's "
                "width were all seed spread)")

    proposed = answer(run, costs, what)
    proposed.pop("archs", None)  # the architectures stay as they are
    return proposed


def nothing_counted(detail: Any, results: Results) -> dict[str, Any]:
    """A claim no row of this run tests: the kind of run that would."""
    if detail.claim in (C.RANKING, C.BEYOND_CONV):
        return {"text": "a same-task ground truth: retrain the sample on the run's own dataset (config "
                        "groundtruth), or train the supernets on the dataset a NATS-Bench truth was measured on "
                        "(config/paper-nats.yaml)"}
    if detail.claim == C.EARLY_BIRD and "did not move" in detail.evidence:
        return {"text": "no sample size decides it: no BN-NAS run's scores moved; a longer BN-only training "
                        "(a larger epoch_fraction, e.g. the budget sweep's variants) would"}
    return {"text": f"a run that produces {detail.claim.needs}"}

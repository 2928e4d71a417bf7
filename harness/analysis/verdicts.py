"""A verdict for each claim (harness.analysis.claims), from evidence that tests it.

verdicts_table(results) -> report/verdicts.csv: detail rows (every comparison the run measured,
per space, method pair and ground truth) and, per claim, exactly one headline row (headline =
True). A detail row is *counted* when it tests the claim: the same task (a ground truth measured
on the dataset the supernets were trained and scored on), the same architectures, paired (the
rankings; the speed-ups compare the two methods' runs of the same space and config, unpaired by
seed); a transfer truth, a width-search extension, a protocol other than the claim's, an indicator
that never moved or an undefined value is reported and labelled (`evidence`), with no verdict.
The rules:

- ranking: paired seed-mean tau difference, BN-NAS minus its baseline (correlate's
  `kendall_tau_diff_vs_<baseline>`, CI over architectures and seeds); non-inferiority with margin
  TAU_MARGIN: confirmed when the CI lies above -margin, refuted when below, else inconclusive.
- beyond conv count (the harness's own claim): the same on tau within equal conv-op count
  (`kendall_tau_within_conv_count_diff_vs_<baseline>`): does the BN indicator order architectures
  of equal conv count as well as its baseline does? Confirmed only when BN-NAS's own tau within
  conv count also lies above 0 (as good as a baseline that knows nothing there is no information).
- training > 10x / evaluation > 600,000x: baseline time / BN-NAS time with a CI from what varies
  in the measurement (harness.analysis.speedup); confirmed when the CI lies above the threshold,
  refuted when below. Evaluation measured at a protocol smaller than the paper's
  (PAPER_EVAL_IMAGES) is a lower bound of the paper's ratio that can confirm, never refute; its
  linear projection to the paper's image count is reported, not counted.
- no loss of searched accuracy: the searched architecture's retrained top-1, BN-NAS minus
  baseline, paired by seed, t-interval; non-inferiority with margin TOP1_MARGIN_PCT.
- early bird: seed-mean tau between a BN-NAS run's scores at its first and final checkpoint,
  two-level bootstrap; confirmed above STABLE_TAU, refuted below; counted only where the
  indicator moved (some score changed by more than UNMOVED_RELATIVE).

The headline of a claim is one counted row, chosen by the rule in `headline_priority` (written
down in the docs, tested): the paper's own setting first (PAPER_METHOD), then the comparison with
the most architectures; for the early bird the largest budget whose scores moved. A claim with no
counted row gets an inconclusive headline that says why. Every inconclusive headline says which
run would decide it and what that run would cost (harness.analysis.power, from this run's variance
components and unit costs), or that no run within reach would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness.analysis import claims as C
from harness.analysis import speedup
from harness.analysis.correlation import ALL_SEEDS, BASELINE
from harness.analysis.metrics import ci_sources, draw_resamples, kendall_tau, percentile_ci, seed_mean, seed_replicates
from harness.analysis.truths import RETRAINED, SAME_TASK, truth_task
from harness.results.model import Results, Run, SpaceResults
from harness.scoring.bn_diagnostics import WIDTH_SEARCH_LABEL, WIDTH_SEARCH_SPACES

CONFIRMED, REFUTED, INCONCLUSIVE = "confirmed", "refuted", "inconclusive"
NOT_JUDGED = ""  # the verdict of a row that is reported, not counted
CONFIDENCE = 0.95
N_BOOT = 1000

VERDICT_COLUMNS = [
    "claim", "headline", "verdict", "measured", "ci_low", "ci_high", "unit", "sentence", "space", "method",
    "versus", "ground_truth", "truth_task", "n_archs", "seeds", "counted", "evidence", "scope",
    "would_decide", "decide_archs", "decide_seeds", "decide_cost", "decide_cost_unit",
]  # fmt: skip

WITHIN_METRIC = "kendall_tau_within_conv_count"
DIFF_INFIX = "_diff_vs_"


@dataclass
class Detail:
    """One comparison a run measured for a claim (a row of verdicts.csv)."""

    claim: C.Claim
    space: str
    method: str
    versus: str
    measured: float
    ci_low: float
    ci_high: float
    unit: str
    verdict: str
    sentence: str
    scope: str
    counted: bool = True
    evidence: str = "measured by this run"
    ground_truth: str = ""
    truth_task: str = ""
    n_archs: int | None = None
    seeds: str = ""
    priority: tuple[Any, ...] = ()  # lower first (headline_priority)
    inputs: dict[str, Any] = field(default_factory=dict)  # what a projection of this row needs
    decider: dict[str, Any] = field(default_factory=dict)  # the run that would decide it (deciding_run)
    headline: bool = False

    def row(self) -> dict[str, Any]:
        return {"claim": self.claim.text, "headline": self.headline, "verdict": self.verdict,
                "measured": self.measured, "ci_low": self.ci_low, "ci_high": self.ci_high, "unit": self.unit,
                "sentence": self.sentence, "space": self.space, "method": self.method, "versus": self.versus,
                "ground_truth": self.ground_truth, "truth_task": self.truth_task, "n_archs": self.n_archs,
                "seeds": self.seeds, "counted": self.counted, "evidence": self.evidence, "scope": self.scope,
                "would_decide": self.decider.get("text", ""), "decide_archs": self.decider.get("archs"),
                "decide_seeds": self.decider.get("seeds"), "decide_cost": self.decider.get("cost"),
                "decide_cost_unit": self.decider.get("cost_unit", "")}


# ----------------------------------------------------------------------------------- rules


def non_inferiority(low: float, high: float, margin: float) -> str:
    """Confirmed when the CI lies above -margin, refuted when it lies below -margin."""
    if np.isnan(low) or np.isnan(high):
        return INCONCLUSIVE
    if low >= -margin:
        return CONFIRMED
    if high < -margin:
        return REFUTED
    return INCONCLUSIVE


def above_threshold(low: float, high: float, threshold: float) -> str:
    """Confirmed when the CI lies above `threshold`, refuted when it lies below it."""
    if np.isnan(low) or np.isnan(high):
        return INCONCLUSIVE
    if low > threshold:
        return CONFIRMED
    if high < threshold:
        return REFUTED
    return INCONCLUSIVE


def difference_outcome(low: float, high: float) -> str:
    """What a paired difference CI (method minus other) says: "beats" when it lies above 0,
    "worse" when below 0, else "no detectable difference"."""
    if low > 0:
        return "beats"
    if high < 0:
        return "worse"
    return "no detectable difference"


def ci_text(value: float, low: float, high: float, digits: str = ".2f") -> str:
    if np.isnan(low) or np.isnan(high):
        return f"{value:{digits}}"
    return f"{value:{digits}} [{low:{digits}}, {high:{digits}}]"


def ratio_text(value: float, low: float, high: float) -> str:
    def fmt(x: float) -> str:
        return f"{x:,.3g}" if x < 1000 else f"{x:,.0f}" if x < 1e6 else f"{x:.2g}"

    return f"{fmt(value)}x" + ("" if np.isnan(low) or np.isnan(high) else f" [{fmt(low)}, {fmt(high)}]")


# ------------------------------------------------------------------------------ statistics


def mean_ci(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval of the mean; NaN bounds with fewer than 2 values."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if values.size else float("nan")
    if values.size < 2:
        return mean, float("nan"), float("nan")
    if np.all(values == values[0]):
        return mean, mean, mean
    low, high = stats.t.interval(confidence, values.size - 1, loc=mean, scale=stats.sem(values))
    return mean, float(low), float(high)


def early_bird_stability(first: np.ndarray, final: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0,
                         confidence: float = CONFIDENCE) -> tuple[float, float, float, bool]:
    """(seed-mean tau(first, final), ci_low, ci_high, moved) over seeds (rows) and archs
    (columns); moved is False when no score changed by more than UNMOVED_RELATIVE."""
    first, final = np.atleast_2d(first), np.atleast_2d(final)
    scale = max(float(np.abs(first).max()), 1e-12)
    moved = bool(np.abs(final - first).max() / scale > C.UNMOVED_RELATIVE)
    resamples = draw_resamples(first.shape[1], n_boot, seed)
    low, high = percentile_ci(seed_replicates(kendall_tau, first, final, resamples, "early-bird"), confidence)
    return seed_mean(kendall_tau, first, final), low, high, moved


# ------------------------------------------------------------------------ who is compared


def bn_nas_methods(space: SpaceResults) -> list[str]:
    """BN-NAS and its variants on a space (Method.family as recorded), in the config's order."""
    return [m for m in space.methods if space.runs_of(m)[0].parts.is_bn_nas]


def primary_rank(method: str, config_methods: list[str]) -> tuple[int, int]:
    """Headline order of BN-NAS methods: the paper's setting first, then the config's order."""
    order = config_methods.index(method) if method in config_methods else len(config_methods)
    return (0 if method == C.PAPER_METHOD else 1, order)


def config_methods(results: Results) -> list[str]:
    return list((results.config or {}).get("methods") or [])


def space_rank(results: Results, space: str) -> int:
    names = [s.name for s in results.spaces]
    return names.index(space) if space in names else len(names)


def extension_note(space: str) -> str:
    return f"{space}: the method is the {WIDTH_SEARCH_LABEL}, not the paper's BN-NAS" if space in WIDTH_SEARCH_SPACES else ""


# ------------------------------------------------------------------- ranking-type claims


def split_difference(metric: str) -> tuple[str, str] | None:
    """`<metric>_diff_vs_<other>` -> (metric, other); None for any other metric name."""
    if DIFF_INFIX not in metric:
        return None
    base, other = metric.split(DIFF_INFIX, 1)
    return base, other


def paired_difference_details(results: Results, claim: C.Claim, metric: str, what: str) -> list[Detail]:
    """Every BN-NAS method vs its baseline on every ground truth of every space, from correlate's
    paired difference rows of `metric` (relation "baseline")."""
    details = []
    methods = config_methods(results)
    for space in results.spaces:
        if space.correlations is None or space.correlations.empty:
            continue
        family = set(bn_nas_methods(space))
        rows = space.correlations[(space.correlations["relation"] == BASELINE)
                                  & (space.correlations["seed"] == ALL_SEEDS)
                                  & space.correlations["method"].isin(family)]
        for _, row in rows.iterrows():
            split = split_difference(str(row["metric"]))
            if split is None or split[0] != metric:
                continue
            other = split[1]
            task = truth_task(str(row["ground_truth"]), results.dataset_name)
            value, low, high = float(row["value"]), float(row["ci_low"]), float(row["ci_high"])
            extension = extension_note(space.name) or ("" if np.isfinite([value, low, high]).all() else
                                                        "undefined: no finite difference or CI (e.g. scores tied "
                                                        "within every conv count)")
            counted = task == SAME_TASK and not extension
            verdict = non_inferiority(low, high, C.TAU_MARGIN) if counted else NOT_JUDGED
            own = ""
            if claim == C.BEYOND_CONV and verdict == CONFIRMED:
                verdict, own = carries_own_information(space, row)
            truth_text = ("retrained from scratch" if row["ground_truth"] == RETRAINED
                          else f"NATS-Bench {str(row['ground_truth']).split(':', 1)[-1]}")
            head = f"{row['method']} minus {other}: {what} difference {ci_text(value, low, high)}"
            if counted:
                sentence = (f"{head} on {int(row['n'])} architectures ({truth_text}); "
                            + margin_sentence(non_inferiority(low, high, C.TAU_MARGIN), low, high, C.TAU_MARGIN, "tau")
                            + own)
            else:
                sentence = f"{head}; not counted: " + (extension or (
                    f"a transfer truth (measured on {row['ground_truth']}, the supernets trained on "
                    f"{results.dataset_name}) measures how rankings transfer across datasets."))
            cause = space_conv_count_cause(space, str(row["method"])) if metric == "kendall_tau" and counted else ""
            details.append(Detail(
                claim=claim, space=space.name, method=str(row["method"]), versus=other, measured=value, ci_low=low,
                ci_high=high, unit="tau", verdict=verdict, sentence=sentence + cause,
                scope=f"{space.name}, {row['ground_truth']}: {row['method']} - {other} {what} "
                      f"(n={int(row['n'])}; {row['ci_sources']})",
                counted=counted,
                evidence=("same-task ground truth" if counted else extension or "transfer ground truth: reported, not counted"),
                ground_truth=str(row["ground_truth"]), truth_task=task, n_archs=int(row["n"]),
                seeds=seeds_text(row),
                priority=(primary_rank(str(row["method"]), methods), -int(row["n"]), space_rank(results, space.name),
                          0 if row["ground_truth"] == RETRAINED else 1),
                inputs={"row": row},
            ))
    return details


def carries_own_information(space: SpaceResults, row: pd.Series) -> tuple[str, str]:
    """(verdict, sentence) for a beyond-conv-count difference that is non-inferior: confirmed only
    when the BN-NAS method itself ranks within equal conv count (its seed-mean tau within conv count,
    at the same checkpoint and truth, has a CI above 0); as good as a baseline that knows nothing
    there is not information beyond conv count."""
    table = space.correlations
    own = table[(table["method"] == row["method"]) & (table["seed"] == ALL_SEEDS) & (table["metric"] == WITHIN_METRIC)
                & (table["ground_truth"] == row["ground_truth"]) & (table["checkpoint"] == row["checkpoint"])
                & (table["relation"].fillna("") == "")]
    if own.empty:
        return INCONCLUSIVE, f" {row['method']}'s own tau within conv count is missing: it cannot be said to carry any."
    value, low, high = (float(own.iloc[0][k]) for k in ("value", "ci_low", "ci_high"))
    if np.isfinite(low) and low > 0:
        return CONFIRMED, f" {row['method']}'s own tau within conv count, {ci_text(value, low, high)}, lies above 0."
    return INCONCLUSIVE, (f" But {row['method']}'s own tau within conv count, {ci_text(value, low, high)}, does not lie "
                          "above 0: as good as its baseline, neither shown to carry information beyond conv count.")


def seeds_text(row: pd.Series) -> str:
    sources = str(row.get("ci_sources", ""))
    if "(n=" in sources:
        return sources.split("(n=", 1)[1].rstrip(")")
    return str(row.get("seeds", ""))


def margin_sentence(verdict: str, low: float, high: float, margin: float, unit: str) -> str:
    if verdict == CONFIRMED:
        return f"the CI lies above -{margin:g} {unit} (the margin): no loss beyond the margin."
    if verdict == REFUTED:
        return f"the CI lies below -{margin:g} {unit}: worse by more than the margin."
    if np.isnan(low):
        return "no CI."
    return f"the CI spans -{margin:g} {unit} (the margin)."


def space_conv_count_cause(space: SpaceResults, method: str) -> str:
    """A note when every seed's final BN-NAS scores were conv-count determined."""
    flags = [run.train.conv_count_determined for run in space.runs_of(method) if run.train is not None]
    if flags and all(flag is True for flag in flags):
        return (" Every seed's final scores are conv-count determined (the gammas did not move enough to reorder "
                "two architectures of different conv counts): the ranking compared is conv count's with a tie-break.")
    return ""


# -------------------------------------------------------------------------------- speed-ups


def threshold_sentence(verdict: str, low: float, threshold: float, unit: str = "x") -> str:
    """What the CI says about a threshold claim, for the row's sentence."""
    bound = f"{threshold:,g}{unit}"
    if np.isnan(low):
        return "no CI."
    if verdict == CONFIRMED:
        return f"the CI lies above {bound}."
    if verdict == REFUTED:
        return f"the CI lies below {bound}."
    return f"the CI spans {bound}."


def speedup_details(results: Results) -> list[Detail]:
    """TRAIN and EVAL per space and BN-NAS method against its baseline."""
    details: list[Detail] = []
    methods = config_methods(results)
    for space in results.spaces:
        for method in bn_nas_methods(space):
            mine = space.runs_of(method)
            baseline = mine[0].baseline
            theirs = space.runs_of(baseline)
            if not theirs or baseline == method:
                continue
            priority = (primary_rank(method, methods), space_rank(results, space.name))
            train = training_speedup_detail(space, method, baseline, mine, theirs, priority)
            if train is not None:
                details.append(train)
            details += evaluation_speedup_details(results, space, method, baseline, mine, theirs, priority)
    return details


def training_speedup_detail(space: SpaceResults, method: str, baseline: str, mine: list[Run], theirs: list[Run],
                            priority: tuple[Any, ...]) -> Detail | None:
    """Baseline / BN-NAS training time, CI from each seed's step blocks and the seeds
    (harness.analysis.speedup): CPU seconds when every run has them on a CPU, wall seconds otherwise."""
    ours = [run.train.raw for run in mine if run.train is not None]
    base = [run.train.raw for run in theirs if run.train is not None]
    if not ours or not base:
        return None
    measure = "cpu" if speedup.cpu_measurable(ours + base) else "wall"
    result = speedup.training_speedup(base, ours, measure=measure)
    fraction = mine[0].parts.epoch_fraction
    paper_budget = math.isclose(fraction, C.PAPER_EPOCH_FRACTION)
    verdict = above_threshold(result.ci_low, result.ci_high, C.TRAIN_SPEEDUP) if paper_budget else NOT_JUDGED
    what = "CPU seconds" if measure == "cpu" else "wall seconds"
    column = "train_cpu_time_s" if measure == "cpu" else "train_time_s"
    sentence = (f"{baseline} trains {ratio_text(result.value, result.ci_low, result.ci_high)} as long as {method} "
                f"({what}; CI from {len(base)} vs {len(ours)} seeds and their step blocks); "
                + (threshold_sentence(verdict, result.ci_low, C.TRAIN_SPEEDUP) if paper_budget else
                   f"not counted: {method} trains {fraction:.0%} of the baseline's epochs, the paper's claim is "
                   f"about its {C.PAPER_EPOCH_FRACTION:.0%}."))
    return Detail(claim=C.TRAIN, space=space.name, method=method, versus=baseline, measured=result.value,
                  ci_low=result.ci_low, ci_high=result.ci_high, unit="x", verdict=verdict, sentence=sentence,
                  counted=paper_budget,
                  evidence="measured by this run" if paper_budget else
                  f"a budget of {fraction:.0%} of the baseline's epochs, not the paper's: reported, not counted",
                  scope=f"{space.name}: {baseline} / {method} {column} ({len(base)} vs {len(ours)} seeds, step blocks)",
                  seeds=f"{len(ours)} vs {len(base)}", priority=priority,
                  inputs={"components": result.components, "log_value": math.log(result.value),
                          "boundary": math.log(C.TRAIN_SPEEDUP), "runs": (method, baseline)})


def scoring_images(results: Results) -> int | None:
    """Images one SPOS-style evaluation of one architecture forwards in this run."""
    scoring = (results.config or {}).get("scoring") or {}
    try:
        return int(scoring["recalibration_batches"] * scoring["recalibration_batch_size"] + scoring["validation_images"])
    except KeyError:
        return None


def scoring_timings(runs: list[Run]) -> list[dict[str, Any]]:
    """Each run's scoring record for harness.analysis.speedup: its scoring of (a sample of) every
    architecture where it has one, else its sample's. A call costs a fixed part (building the BN
    indicator's table, a checkpoint's loading) plus a part per architecture, so the cost per
    architecture is read off the largest calls, never a mix of call sizes (a bootstrap over calls
    of 24 and of 15,625 architectures would resample that fixed part, not the measurement)."""
    found = []
    for run in runs:
        record = next((r for r in (run.all_scoring, run.scoring) if r is not None and r.time_per_arch_s), None)
        if record is not None:
            found.append({**record.raw, "device": record.device})
    return found


def evaluation_speedup_details(results: Results, space: SpaceResults, method: str, baseline: str, mine: list[Run],
                               theirs: list[Run], priority: tuple[Any, ...]) -> list[Detail]:
    """The measured evaluation speed-up at this run's protocol (the counted row) and, when that
    protocol is smaller than the paper's, its projection to the paper's image count (reported).

    At a smaller protocol the measured ratio is a lower bound of the paper's: the baseline forwards
    more images there (and, on the paper's network, costlier ones), BN-NAS's lookup does not grow
    with either. So it can confirm the claim, never refute it. The linear projection is no bound at
    all in the other direction: it scales the baseline's fixed cost per architecture (building the
    subnet, resetting its BN) as if it grew with the images, so it overstates, and is not counted."""
    ours, base = scoring_timings(mine), scoring_timings(theirs)
    if not ours or not base:
        return []
    cpu = all(str(r.get("device", "cpu")) == "cpu" and r.get("timed_calls")
              and all(c.get("cpu_seconds") is not None for c in r["timed_calls"]) for r in ours + base)
    result = speedup.evaluation_speedup(base, ours, measure="cpu" if cpu else "wall")
    value, low, high = result.value, result.ci_low, result.ci_high
    images = scoring_images(results)
    at_paper_scale = images is not None and images >= C.PAPER_EVAL_IMAGES
    seeds = f"{len(ours)} vs {len(base)}"
    scope = f"{space.name}: {baseline} / {method} time per architecture ({seeds} seeds, timed calls)"
    protocol = f"{images:,} images per architecture" if images else "an unrecorded number of images per architecture"
    measured_verdict = above_threshold(low, high, C.EVAL_SPEEDUP)
    if not at_paper_scale and measured_verdict == REFUTED:
        measured_verdict = INCONCLUSIVE  # a lower bound below the threshold refutes nothing
    inputs = {"components": result.components, "log_value": math.log(value), "boundary": math.log(C.EVAL_SPEEDUP),
              "runs": (method, baseline)}
    measured = Detail(
        claim=C.EVAL, space=space.name, method=method, versus=baseline, measured=value, ci_low=low, ci_high=high,
        unit="x", verdict=measured_verdict, scope=scope, seeds=seeds, priority=priority,
        counted=True, inputs={**inputs, "lower_bound": not at_paper_scale},
        evidence="measured at the paper's protocol" if at_paper_scale else
        f"this run's protocol ({protocol}): a lower bound of the paper's (fewer images per architecture)",
        sentence=(f"{baseline}'s evaluation takes {ratio_text(value, low, high)} as long as {method}'s "
                  f"at this run's protocol ({protocol}); "
                  + (threshold_sentence(measured_verdict, low, C.EVAL_SPEEDUP) if at_paper_scale or
                     measured_verdict == CONFIRMED else
                     f"below or across {C.EVAL_SPEEDUP:,.0f}x, which a lower bound (the paper forwards "
                     f"{C.PAPER_EVAL_IMAGES:,} images per architecture) cannot refute.")),
    )
    if at_paper_scale or images is None:
        return [measured]
    scale = C.PAPER_EVAL_IMAGES / images
    p_value, p_low, p_high = value * scale, low * scale, high * scale
    projected = Detail(
        claim=C.EVAL, space=space.name, method=method, versus=baseline, measured=p_value, ci_low=p_low,
        ci_high=p_high, unit="x", verdict=NOT_JUDGED, seeds=seeds, priority=priority, counted=False,
        evidence=f"projected linearly to the paper's {C.PAPER_EVAL_IMAGES:,} images per architecture: an estimate, "
                 "reported, not counted",
        scope=scope + f", projected x{scale:,.1f} to {C.PAPER_EVAL_IMAGES:,} images",
        inputs={**inputs, "log_value": math.log(p_value)},
        sentence=(f"projected from this run's cost per architecture to the paper's {C.PAPER_EVAL_IMAGES:,} images per "
                  f"architecture (x{scale:,.1f}): {ratio_text(p_value, p_low, p_high)}; an estimate, not a bound: "
                  "it scales the baseline's fixed cost per architecture with the images as well."),
    )
    return [measured, projected]


# ---------------------------------------------------------------------------------- search


def search_details(results: Results) -> list[Detail]:
    details = []
    methods = config_methods(results)
    for space in results.spaces:
        for method in bn_nas_methods(space):
            mine = {run.seed: run.searched_top1_pct() for run in space.runs_of(method)}
            mine = {s: v for s, v in mine.items() if v is not None}
            if not mine:
                continue
            baseline = space.runs_of(method)[0].baseline
            theirs = {run.seed: run.searched_top1_pct() for run in space.runs_of(baseline)}
            seeds = sorted(s for s in set(mine) & set(theirs) if theirs[s] is not None)
            if not seeds or baseline == method:
                continue
            diffs = np.array([mine[s] - theirs[s] for s in seeds])
            value, low, high = mean_ci(diffs)
            verdict = non_inferiority(low, high, C.TOP1_MARGIN_PCT) if len(seeds) > 1 else INCONCLUSIVE
            sentence = (f"{method}'s searched architecture retrained: {ci_text(value, low, high, '+.2f')} top-1 points "
                        f"vs {baseline}'s ({len(seeds)} paired seed(s)); "
                        + (margin_sentence(verdict, low, high, C.TOP1_MARGIN_PCT, "points") if len(seeds) > 1 else
                           "one seed: a single searched architecture says nothing about a loss."))
            details.append(Detail(
                claim=C.SEARCH, space=space.name, method=method, versus=baseline, measured=value, ci_low=low,
                ci_high=high, unit="top-1 points", verdict=verdict, sentence=sentence,
                scope=f"{space.name}: {method} - {baseline} top-1 % (paired by seed, seeds {', '.join(map(str, seeds))})",
                seeds=str(len(seeds)), priority=(primary_rank(method, methods), space_rank(results, space.name)),
                inputs={"diffs": diffs, "seeds": seeds},
            ))
    return details


# ------------------------------------------------------------------------------ early bird


def early_bird_details(results: Results) -> list[Detail]:
    """Every BN-NAS method's tau(first, final checkpoint); counted where its scores moved. The
    headline takes the largest budget (epoch_fraction) among those."""
    details = []
    methods = config_methods(results)
    for space in results.spaces:
        for method in bn_nas_methods(space):
            frames = [run.scores for run in space.runs_of(method) if run.scores is not None and not run.scores.empty]
            if not frames:
                continue
            checkpoints = sorted(set.intersection(*[set(f["checkpoint"]) for f in frames]))
            if len(checkpoints) < 2:
                continue
            first_cp, final_cp = checkpoints[0], checkpoints[-1]
            archs = sorted(set.intersection(*[set(f["arch_id"]) for f in frames]))

            def at(frame: pd.DataFrame, checkpoint: int) -> np.ndarray:
                rows = frame[frame["checkpoint"] == checkpoint].set_index("arch_id")
                return rows.loc[archs, "score"].to_numpy(float)

            first = np.stack([at(f, first_cp) for f in frames])
            final = np.stack([at(f, final_cp) for f in frames])
            finite = bool(np.isfinite(first).all() and np.isfinite(final).all())
            nan = float("nan")
            value, low, high, moved = early_bird_stability(first, final) if finite else (nan, nan, nan, False)
            fraction = space.runs_of(method)[0].parts.epoch_fraction
            verdict = above_threshold(low, high, C.STABLE_TAU) if moved else NOT_JUDGED
            where = early_fraction(space.runs_of(method)[0], first_cp, final_cp)
            why_not = ("a score is not finite (NaN or inf), so their ranking is undefined." if not finite else
                       f"no score moved by {C.UNMOVED_RELATIVE:.0%} between those checkpoints, so a stable ranking "
                       "is the starting one, no evidence of an early bird.")
            sentence = (f"{method} ({fraction:.0%} budget): tau between its scores {where} "
                        f"{ci_text(value, low, high)}; "
                        + (threshold_sentence(verdict, low, C.STABLE_TAU, unit="") if moved else "not counted: " + why_not))
            details.append(Detail(
                claim=C.EARLY_BIRD, space=space.name, method=method, versus="", measured=value, ci_low=low,
                ci_high=high, unit="tau", verdict=verdict, sentence=sentence, counted=moved,
                evidence=("the indicator moved" if moved else "the indicator did not move: reported, not counted"
                          if finite else "undefined: a non-finite score: reported, not counted"),
                scope=f"{space.name}: {method} scores at checkpoint {first_cp} vs {final_cp} "
                      f"(n={len(archs)}; {ci_sources(len(frames))})",
                n_archs=len(archs), seeds=str(len(frames)),
                priority=(-fraction, primary_rank(method, methods), space_rank(results, space.name)),
                inputs={"fraction": fraction, "moved": moved, "first": first, "final": final},
            ))
    return details


def early_fraction(run: Run, first_cp: int, final_cp: int) -> str:
    steps = {c["checkpoint"]: c.get("step") for c in (run.train.checkpoints if run.train else [])}
    if steps.get(first_cp) and steps.get(final_cp):
        return (f"at step {steps[first_cp]:,} ({steps[first_cp] / steps[final_cp]:.0%} of its training) and at the "
                f"end (step {steps[final_cp]:,})")
    return f"at checkpoints {first_cp} and {final_cp}"


# ------------------------------------------------------------------------------- headlines


def missing_headline(claim: C.Claim, details: list[Detail]) -> Detail:
    """The headline of a claim no counted row tests: inconclusive, saying why."""
    if details:
        why = f"nothing this run measured tests it ({details[0].evidence})"
    else:
        why = f"not measured: needs {claim.needs}"
    return Detail(claim=claim, space="", method="", versus="", measured=float("nan"), ci_low=float("nan"),
                  ci_high=float("nan"), unit="", verdict=INCONCLUSIVE, sentence=why[0].upper() + why[1:] + ".",
                  scope="", counted=False, evidence=why, headline=True)


def headline_priority(detail: Detail) -> tuple[Any, ...]:
    """The headline of a claim is its counted row with the lowest priority: ranking-type claims:
    the paper's setting (PAPER_METHOD) first, then the most architectures, then the space order
    of the run, the retrained truth before NATS-Bench; speed-ups and search: the paper's setting,
    then the space order; early bird: the largest budget, then as before."""
    return detail.priority


def choose_headlines(details: list[Detail]) -> list[Detail]:
    """Flag one headline per claim (a counted row), adding an inconclusive one where none counts."""
    out = []
    for claim in C.CLAIMS:
        mine = [d for d in details if d.claim == claim]
        counted = sorted((d for d in mine if d.counted), key=headline_priority)
        if counted:
            counted[0].headline = True
            out += [counted[0]] + [d for d in mine if d is not counted[0]]
        else:
            out += [missing_headline(claim, mine)] + mine
    return out


# ----------------------------------------------------------------------------------- table


Decider = Callable[[Detail, Results], dict[str, Any]]


def verdicts_table(results: Results, decide: Decider | None = None) -> pd.DataFrame:
    """Every claim's detail rows and its headline (harness.analysis.verdicts module docstring),
    columns VERDICT_COLUMNS, claims in the order of harness.analysis.claims.CLAIMS, each claim's
    headline first. `decide` says, for an inconclusive headline, which run would decide it
    (default: harness.analysis.power's projection)."""
    details = (paired_difference_details(results, C.RANKING, "kendall_tau", "tau")
               + speedup_details(results) + search_details(results) + early_bird_details(results)
               + paired_difference_details(results, C.BEYOND_CONV, WITHIN_METRIC, "tau within conv count"))
    chosen = choose_headlines(details)
    decide = decide or default_decider
    for detail in chosen:
        if detail.headline and detail.verdict == INCONCLUSIVE:
            detail.decider = decide(detail, results)
    return pd.DataFrame([d.row() for d in chosen], columns=VERDICT_COLUMNS)


def default_decider(detail: Detail, results: Results) -> dict[str, Any]:
    from harness.analysis.deciding import deciding_run

    return deciding_run(detail, results)


def headlines(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The headline rows of a verdicts table (one per claim)."""
    flags = verdicts["headline"].astype(str).str.lower().isin(["true", "1"])
    return verdicts[flags]


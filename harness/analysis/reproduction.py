"""Whether a re-executed job reproduces its record: the statistic each stage's outputs feed,
recomputed from the re-executed outputs, against the recorded value and its CI.

`python -m harness verify` asks this only when the outputs are not identical (see
harness.results.compare.same_content). Per stage (judge()):

  score, score_all_archs, score_free, score_bn
      Kendall tau of each re-scored run against each recorded ground truth it is judged on (the
      sample's: retrain, nats-bench:*; all-architecture scores: all-nats-bench:*), at every
      checkpoint. Within CI: every tau inside the recorded per-seed 95% bootstrap CI of that row
      of RESULTS/{space}/correlations.csv.
  train_supernet
      The re-trained supernet is scored at its final checkpoint (the run's planned scoring, final
      checkpoint only); then as for score, at that checkpoint.
  retrain_shard
      The recorded retrained ground truth with this shard's rows replaced by the re-trained ones;
      the tau of every recorded run's scores (each seed, each checkpoint) and of the retraining
      reliability (seed A vs seed B) against it. Within CI: each inside its recorded CI.
  correlate
      Each recomputed row's value against the recorded row: inside its recorded CI where the row
      has one, equal (to 1e-9) where it has none.
  search
      No CI is recorded for one search. Within CI: it found the same top architectures (in
      evolution and in random search): the only thing a later stage reads; the largest
      difference is that of their search scores.
  final
      Each rank's retrained test accuracy inside a 95% prediction interval for one seed's value
      from the method's recorded seeds on that space, mean +- t(0.975, n-1) sd sqrt(1 + 1/n);
      with one searched seed there is none.
  prepare_data, sample_archs, sample_all_archs, nats_bench_groundtruth
      Lookups and integer draws: no CI; they must be identical.

The largest difference is that of the statistic (tau, or accuracy as a fraction for final; for
the lookup stages, of the table cells).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import paths
from harness.analysis.correlation import PERFECT_SCORER, RETRAINING_RELIABILITY, mean_truth, seed_accuracies
from harness.analysis.metrics import kendall_tau
from harness.results.compare import FileComparison, read_frame, read_record
from harness.workflow import plan as harness_plan

EXACT_STAGES = ("prepare_data", "sample_archs", "sample_all_archs", "nats_bench_groundtruth")
TOLERANCE = 1e-9


@dataclass
class Judgement:
    """within: inside the recorded CIs (None: the stage has no CI); largest: the largest
    difference of the statistic; compared: what was compared; detail: the numbers."""

    within: bool | None
    largest: float
    compared: str
    detail: str


@dataclass
class Context:
    """A re-executed job: its spec, the plan and config of the run, the recorded results, the
    re-execution's results (outputs at the same relative paths) and how each output compared."""

    spec: Mapping[str, Any]
    plan: Mapping[str, Mapping[str, Any]]
    config: Mapping[str, Any]
    recorded: Path
    rerun: Path
    compared: list[FileComparison]  # each output file, recorded vs re-executed


# ------------------------------------------------------------------------------ tau vs CI


def truth_file(space: str, ground_truth: str) -> str:
    """The ground-truth table of a correlations row's ground_truth name."""
    if ground_truth == "retrain":
        return paths.GT_RETRAIN.format(space=space)
    return f"{space}/groundtruth/{ground_truth.replace('nats-bench:', 'nats-bench-')}.csv"


def correlation_rows(recorded: Path, space: str) -> pd.DataFrame:
    """The recorded per-seed Kendall tau rows of a space (seed >= 0), one per method, seed,
    checkpoint and ground truth."""
    table = read_frame(recorded / paths.CORRELATIONS.format(space=space))
    rows = table[(table["metric"] == "kendall_tau") & (table["seed"] >= 0)]
    if "relation" in rows.columns:
        rows = rows[rows["relation"].isna()]
    return rows


def tau(scores: pd.DataFrame, truth: pd.Series) -> float:
    """Kendall tau of one checkpoint's scores against a truth, archs in arch_id order (as correlate)."""
    group = scores.sort_values("arch_id")
    archs = group["arch_id"].to_numpy()
    return kendall_tau(group["score"].to_numpy(dtype=float), truth.loc[archs].to_numpy())


@dataclass
class TauCheck:
    label: str
    value: float
    recorded: float
    low: float
    high: float

    @property
    def inside(self) -> bool:
        if math.isnan(self.value) and math.isnan(self.recorded):  # undefined both times (tied scores): the same
            return True
        if math.isfinite(self.low) and math.isfinite(self.high):
            return self.low <= self.value <= self.high
        return abs(self.value - self.recorded) <= TOLERANCE

    @property
    def gap(self) -> float:
        """|value - recorded|: 0 when both are undefined, inf when only one is (never NaN, which max() mishandles)."""
        if math.isnan(self.value) and math.isnan(self.recorded):
            return 0.0
        gap = abs(self.value - self.recorded)
        return math.inf if math.isnan(gap) else gap

    def text(self) -> str:
        return f"{self.label}: tau {self.value:.4f} vs recorded {self.recorded:.4f} [{self.low:.4f}, {self.high:.4f}]"


def summarise(checks: list[TauCheck], compared: str, extra: str = "") -> Judgement:
    if not checks:
        return Judgement(None, math.nan, compared, "no recorded CI to compare with" + (f"; {extra}" if extra else ""))
    outside = [c for c in checks if not c.inside]
    largest = max((c.gap for c in checks), default=0.0)
    largest = 0.0 if largest <= TOLERANCE else largest  # the records keep 10 significant digits
    shown = outside[:3] if outside else sorted(checks, key=lambda c: -c.gap)[:2]
    head = (f"{len(outside)} of {len(checks)} outside their CI" if outside else f"all {len(checks)} inside their CI")
    detail = "; ".join([head, *[c.text() for c in shown], *([extra] if extra else [])])
    return Judgement(not outside, largest, compared, detail)


def run_tau_checks(recorded: Path, space: str, method: str, seed: int, scores: pd.DataFrame, every: bool,
                   rows: pd.DataFrame | None = None) -> list[TauCheck]:
    """Tau of a run's (re-computed) scores against each recorded ground truth its correlations
    rows name (all-architecture truths for `every`), per checkpoint in `scores`."""
    rows = correlation_rows(recorded, space) if rows is None else rows
    mine = rows[(rows["method"] == method) & (rows["seed"] == seed)
                & (rows["ground_truth"].str.startswith("all-") == every)]
    checks, truths = [], {}
    for (truth_name, checkpoint), row in mine.groupby(["ground_truth", "checkpoint"]):
        part = scores[scores["checkpoint"] == checkpoint]
        if part.empty:
            continue
        if truth_name not in truths:
            table = read_frame(recorded / truth_file(space, truth_name))
            truths[truth_name] = mean_truth(table) if len(table) else None
        if truths[truth_name] is None:
            continue
        first = row.iloc[0]
        checks.append(TauCheck(f"{method} seed {seed} ckpt {checkpoint} vs {truth_name}", tau(part, truths[truth_name]),
                               float(first["value"]), float(first["ci_low"]), float(first["ci_high"])))
    return checks


# ---------------------------------------------------------------------------------- stages


def judge_scores(ctx: Context) -> Judgement:
    runs = ctx.spec["runs"] if ctx.spec["stage"] in harness_plan.SCORE_GROUPS else [ctx.spec]
    checks: list[TauCheck] = []
    rows = correlation_rows(ctx.recorded, runs[0]["space"]["name"])
    for run in runs:
        every = run["stage"] == "score_all_archs"
        where = {"space": run["space"]["name"], "method": run["method"]["name"], "seed": run["seed"]}
        scores = read_frame(ctx.rerun / (paths.ALL_SCORES if every else paths.SCORES).format(**where))
        checks += run_tau_checks(ctx.recorded, where["space"], where["method"], run["seed"], scores, every, rows)
    return summarise(checks, "Kendall tau of the re-computed scores vs each recorded ground truth, per checkpoint")


def judge_rescored_supernet(ctx: Context, scores_path: Path) -> Judgement:
    """train_supernet: the re-trained supernet's scores at its final checkpoint (written by the
    caller to `scores_path`) against the recorded rows at that checkpoint."""
    spec = ctx.spec
    scores = read_frame(scores_path)
    checks = run_tau_checks(ctx.recorded, spec["space"]["name"], spec["method"]["name"], spec["seed"], scores, False)
    return summarise(checks, "Kendall tau of the re-trained supernet's scores (final checkpoint) vs each recorded "
                             "ground truth")


def judge_retrain_shard(ctx: Context) -> Judgement:
    space = ctx.spec["space"]["name"]
    shard_path = paths.GT_SHARD.format(space=space, shard=ctx.spec["shard"])
    old_shard, new_shard = read_frame(ctx.recorded / shard_path), read_frame(ctx.rerun / shard_path)
    keys = ["arch_id", "repetition"]
    truth = read_frame(ctx.recorded / paths.GT_RETRAIN.format(space=space)).set_index(keys)
    replaced = new_shard.set_index(keys)
    truth.loc[replaced.index, ["seed", "test_acc"]] = replaced[["seed", "test_acc"]].to_numpy()
    truth = truth.reset_index()
    moved = (old_shard.set_index(keys)["test_acc"] - replaced["test_acc"]).abs().max()
    new_truth = mean_truth(truth)
    rows = correlation_rows(ctx.recorded, space)
    rows = rows[rows["ground_truth"] == "retrain"]
    checks: list[TauCheck] = []
    for (method, seed), group in rows.groupby(["method", "seed"]):
        if method in (RETRAINING_RELIABILITY, PERFECT_SCORER):
            continue
        scores = read_frame(ctx.recorded / paths.SCORES.format(space=space, method=method, seed=seed))
        for checkpoint, row in group.groupby("checkpoint"):
            first = row.iloc[0]
            checks.append(TauCheck(f"{method} seed {seed} ckpt {checkpoint}",
                                   tau(scores[scores["checkpoint"] == checkpoint], new_truth),
                                   float(first["value"]), float(first["ci_low"]), float(first["ci_high"])))
    reliability = read_frame(ctx.recorded / paths.CORRELATIONS.format(space=space))
    reliability = reliability[(reliability["method"] == RETRAINING_RELIABILITY) & (reliability["metric"] == "kendall_tau")
                              & (reliability["ground_truth"] == "retrain")]
    if len(reliability):
        pairs = [row.dropna().to_numpy()[:2] for _, row in seed_accuracies(truth).iterrows()]
        pairs = np.array([pair for pair in pairs if pair.size == 2])
        if len(pairs) >= 2:
            first = reliability.iloc[0]
            checks.append(TauCheck("retraining reliability", kendall_tau(pairs[:, 0], pairs[:, 1]),
                                   float(first["value"]), float(first["ci_low"]), float(first["ci_high"])))
    return summarise(checks, "Kendall tau of every recorded run (and of the retraining reliability) vs the retrained "
                             "truth with this shard re-trained",
                     f"re-trained accuracies moved by up to {moved:.4f}")


def judge_correlate(ctx: Context) -> Judgement:
    part = paths.CORRELATION_PART.format(space=ctx.spec["space"]["name"],
                                         ground_truth=ctx.spec["ground_truth"].replace("nats-bench:", "nats-bench-"))
    keys = ["method", "seed", "checkpoint", "metric", "relation"]
    old, new = (read_frame(root / part) for root in (ctx.recorded, ctx.rerun))
    if old.empty and new.empty:
        return Judgement(True, 0.0, "correlation rows", "both empty")
    old, new = (frame.assign(relation=frame["relation"].astype(object).fillna("")).set_index(keys) for frame in (old, new))
    if set(old.index) != set(new.index):
        return Judgement(False, math.inf, "correlation rows", "different rows (methods, seeds, checkpoints or metrics)")
    checks = [TauCheck(" ".join(map(str, key)), float(new.loc[key, "value"]), float(row["value"]),
                       float(row["ci_low"]), float(row["ci_high"]))
              for key, row in old.iterrows()]
    checks = [c for c in checks if not (math.isnan(c.value) and math.isnan(c.recorded))]
    return summarise(checks, "each correlation row's value vs its recorded CI (equal where it has none)")


def judge_search(ctx: Context) -> Judgement:
    name = paths.SEARCH.format(space=ctx.spec["space"]["name"], method=ctx.spec["method"]["name"], seed=ctx.spec["seed"])
    old, new = read_record(ctx.recorded / name), read_record(ctx.rerun / name)
    same, largest, parts = True, 0.0, []
    for kind in ("evolution", "random"):
        a, b = old[kind]["top"], new[kind]["top"]
        found_same = [x["arch_str"] for x in a] == [x["arch_str"] for x in b]
        same &= found_same
        largest = max([largest, *(abs(x["score"] - y["score"]) for x, y in zip(a, b))])
        parts.append(f"{kind}: {'same' if found_same else 'different'} top-{len(a)} "
                     f"({', '.join(x['arch_str'] for x in b)})")
    return Judgement(same, largest, "the architectures found (no CI for one search); largest: their score", "; ".join(parts))


def prediction_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float] | None:
    """The interval that holds one more draw with `confidence` (normal, unknown variance)."""
    from scipy import stats

    if len(values) < 2:
        return None
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * values.std(ddof=1) * math.sqrt(1 + 1 / len(values))
    return float(values.mean() - half), float(values.mean() + half)


def judge_final(ctx: Context) -> Judgement:
    spec = ctx.spec
    space, method = spec["space"]["name"], spec["method"]["name"]
    new = read_frame(ctx.rerun / paths.FINAL.format(space=space, method=method, seed=spec["seed"]))
    seeds = [other["seed"] for other in ctx.plan.values()
             if other["stage"] == "final" and other["space"]["name"] == space and other["method"]["name"] == method]
    by_seed = {seed: read_frame(ctx.recorded / paths.FINAL.format(space=space, method=method, seed=seed))
               .set_index("rank")["test_acc"] for seed in seeds}
    compared = f"retrained test accuracy vs a 95% prediction interval over the method's {len(seeds)} searched seed(s)"
    checks = []
    for _, row in new.iterrows():
        rank = int(row["rank"])
        values = np.array([accuracy[rank] for accuracy in by_seed.values() if rank in accuracy.index], dtype=float)
        low, high = prediction_interval(values) or (math.nan, math.nan)
        checks.append(TauCheck(f"rank {rank}", float(row["test_acc"]), float(by_seed[spec["seed"]].get(rank, math.nan)),
                               low, high))
    judgement = summarise(checks, compared)
    detail = judgement.detail.replace(": tau ", ": accuracy ")
    if len(seeds) < 2:
        return Judgement(None, judgement.largest, compared, "one searched seed: no interval; " + detail)
    return Judgement(judgement.within, judgement.largest, compared, detail)


def judge_exact(ctx: Context) -> Judgement:
    gaps = [c.gap for c in ctx.compared if not c.identical and not math.isnan(c.gap)]
    return Judgement(None, max(gaps, default=math.nan),
                     "the outputs themselves (no CI: a lookup or integer draw must be identical)", "outputs differ")


JUDGES: dict[str, Callable[[Context], Judgement]] = {
    "score": judge_scores, "score_all_archs": judge_scores, "score_free": judge_scores, "score_bn": judge_scores,
    "retrain_shard": judge_retrain_shard, "correlate": judge_correlate, "search": judge_search,
    "final": judge_final, **{stage: judge_exact for stage in EXACT_STAGES},
}


def judge(ctx: Context) -> Judgement:
    """The stage's statistic against the record (train_supernet: see judge_rescored_supernet)."""
    return JUDGES[ctx.spec["stage"]](ctx)

"""A verdict for each of the paper's claims, from what a run measured.

verdicts_table(results_dir) -> one row per claim and scope (space, ground truth, method pair):
claim, scope, measured, ci_low, ci_high, verdict, reason. A verdict is CONFIRMED, REFUTED or
INCONCLUSIVE ("inconclusive at this scale"); the reason is one line. The rules, one per claim:

- "BN-NAS ranks subnets as well as SPOS" (and, on the fair sampler, as well as FairNAS):
  measured = seed-mean Kendall tau of BN-NAS minus its baseline's (correlate's
  `kendall_tau_diff_vs_<baseline>` row, paired bootstrap CI over archs and seeds). A
  non-inferiority rule with margin TAU_MARGIN: confirmed when the whole CI lies above -margin
  (BN-NAS loses at most that much); refuted when it lies entirely below -margin; else
  inconclusive.
- "supernet training > 10x faster": measured = geometric mean over seeds of the baseline's
  training time / BN-NAS's (paired by seed), t-interval on the log ratio. Confirmed when the CI
  lies above 10, refuted when below, else inconclusive; one seed: inconclusive (no CI).
- "subnet evaluation > 600,000x faster": the same for the time to score one architecture.
  Confirmed when the CI lies above 600,000; otherwise inconclusive at this scale, never refuted:
  the baseline's evaluation here (a few recalibration batches and validation images on a
  CPU-sized network) is far cheaper than the paper's ImageNet evaluation, so a lower ratio does
  not contradict the paper.
- "no loss of searched accuracy": measured = mean over seeds of the searched architecture's
  retrained top-1 (%) of BN-NAS minus its baseline's, paired by seed, t-interval. Non-inferiority
  with margin TOP1_MARGIN_PCT; needs >= 2 seeds, else inconclusive ("one seed").
- "the indicator is stable early (early-bird)": measured = seed-mean tau between BN-NAS's scores
  at its first and at its final checkpoint, two-level bootstrap CI (seeds, archs). Confirmed
  when the CI lies above STABLE_TAU, refuted when below, else inconclusive; inconclusive
  whenever the indicator has not moved between those checkpoints (no score changed by more
  than UNMOVED_RELATIVE of the largest score: a stable ranking is then no evidence).
"""

from __future__ import annotations

from collections.abc import Collection

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from harness import paths
from harness.analysis.correlation import ALL_SEEDS, BASELINE, DIFF_PREFIX, parse_path
from harness.io import read_json
from harness.scoring.bn_diagnostics import WIDTH_SEARCH_LABEL, WIDTH_SEARCH_SPACES
from harness.analysis.metrics import ci_sources, draw_resamples, kendall_tau, percentile_ci, seed_mean, seed_replicates

VERDICT_COLUMNS = ["claim", "scope", "measured", "ci_low", "ci_high", "verdict", "reason"]
CONFIRMED, REFUTED, INCONCLUSIVE = "confirmed", "refuted", "inconclusive at this scale"

# The paper's method, in its two settings: the claims are about these runs (ablations are not).
BN_NAS_METHODS = ("bnnas", "bnnas-fairnas")
RANKING_CLAIM = "BN-NAS ranks subnets as well as SPOS"
TRAIN_CLAIM = "supernet training > 10x faster"
EVAL_CLAIM = "subnet evaluation > 600,000x faster"
SEARCH_CLAIM = "no loss of searched accuracy"
EARLY_BIRD_CLAIM = "the indicator is stable early (early-bird)"

TAU_MARGIN = 0.05  # a tau loss this small counts as "as well as"
TOP1_MARGIN_PCT = 1.0  # a top-1 loss this small (percentage points) counts as "no loss"
TRAIN_SPEEDUP = 10.0
EVAL_SPEEDUP = 600_000.0
STABLE_TAU = 0.8  # tau(first checkpoint, final checkpoint) above this counts as "stable early"
# Largest change of the scores between the first and final checkpoint, relative to the largest
# score, that counts as "has not moved": BN-NAS's gammas start at 1, and after a short BN-only
# run they are still 1.00 +- 0.01 (CALIBRATION.md), so its scores are still (almost) the
# starting count of BN-carrying ops and a stable ranking is no evidence of an early bird.
UNMOVED_RELATIVE = 0.01
CONFIDENCE = 0.95
N_BOOT = 1000


def verdict_row(claim: str, scope: str, measured: float, low: float, high: float, verdict: str, reason: str) -> dict[str, Any]:
    return dict(zip(VERDICT_COLUMNS, [claim, scope, measured, low, high, verdict, reason]))


# ----------------------------------------------------------------------------------- rules


def non_inferiority(measured: float, low: float, high: float, margin: float, unit: str) -> tuple[str, str]:
    """Confirmed when the CI lies above -margin, refuted when it lies below -margin."""
    if np.isnan(low) or np.isnan(high):
        return INCONCLUSIVE, f"no CI (measured {measured:.3g} {unit})"
    if low >= -margin:
        return CONFIRMED, f"CI of the difference lies above -{margin:g} {unit} (the margin)"
    if high < -margin:
        return REFUTED, f"CI of the difference lies below -{margin:g} {unit}: worse by more than the margin"
    return INCONCLUSIVE, f"CI of the difference [{low:.3g}, {high:.3g}] spans -{margin:g} {unit} (the margin)"


def above_threshold(measured: float, low: float, high: float, threshold: float, what: str) -> tuple[str, str]:
    """Confirmed when the CI lies above `threshold`, refuted when it lies below it."""
    if np.isnan(low) or np.isnan(high):
        return INCONCLUSIVE, f"one seed: no CI (measured {what} {measured:,.3g})"
    if low > threshold:
        return CONFIRMED, f"CI of the {what} lies above {threshold:,g}"
    if high < threshold:
        return REFUTED, f"CI of the {what} lies below {threshold:,g}"
    return INCONCLUSIVE, f"CI of the {what} [{low:,.3g}, {high:,.3g}] spans {threshold:,g}"


def eval_speedup_rule(measured: float, low: float, high: float) -> tuple[str, str]:
    """Confirmed above EVAL_SPEEDUP; otherwise inconclusive at this scale (never refuted)."""
    if not np.isnan(low) and low > EVAL_SPEEDUP:
        return CONFIRMED, f"CI of the speed-up lies above {EVAL_SPEEDUP:,.0f}"
    return INCONCLUSIVE, (f"measured {measured:,.0f}x, but the baseline's evaluation here (small network, few "
                          "recalibration/validation images, CPU) is far cheaper than the paper's ImageNet one")


def early_bird_rule(measured: float, low: float, high: float, moved: bool) -> tuple[str, str]:
    if not moved:
        return INCONCLUSIVE, (f"indicator has not moved (no score changed by {UNMOVED_RELATIVE:.0%} between its first "
                              "and final checkpoint): a stable ranking is no evidence")
    return above_threshold(measured, low, high, STABLE_TAU, "tau(first, final checkpoint)")


def difference_outcome(low: float, high: float) -> str:
    """What a paired difference CI (method minus other) says: "beats" when it lies above 0,
    "worse" when below 0, else "no detectable difference"."""
    if low > 0:
        return "beats"
    if high < 0:
        return "worse"
    return "no detectable difference"


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


def ratio_ci(baseline: dict[int, float], method: dict[int, float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """Geometric mean over the common seeds of baseline / method, with a t-interval on the log."""
    seeds = sorted(set(baseline) & set(method))
    logs = np.log([baseline[s] / method[s] for s in seeds])
    mean, low, high = mean_ci(logs, confidence)
    return float(np.exp(mean)), float(np.exp(low)), float(np.exp(high))


def early_bird_stability(first: np.ndarray, final: np.ndarray, *, n_boot: int = N_BOOT, seed: int = 0,
                         confidence: float = CONFIDENCE) -> tuple[float, float, float, bool]:
    """(seed-mean tau(first, final), ci_low, ci_high, moved) over seeds (rows) and archs
    (columns); moved is False when no score changed by more than UNMOVED_RELATIVE."""
    first, final = np.atleast_2d(first), np.atleast_2d(final)
    scale = max(float(np.abs(first).max()), 1e-12)
    moved = bool(np.abs(final - first).max() / scale > UNMOVED_RELATIVE)
    resamples = draw_resamples(first.shape[1], n_boot, seed)
    low, high = percentile_ci(seed_replicates(kendall_tau, first, final, resamples, "early-bird"), confidence)
    return seed_mean(kendall_tau, first, final), low, high, moved


# -------------------------------------------------------------------------------- per claim


CONV_COUNT_CAVEAT = ("; but every seed's final BN-NAS scores are conv-count determined (the gammas have not moved "
                     "enough to reorder any two architectures of different conv-op counts), so the ranking compared "
                     "is conv count's with a tie-break, not information learned by BN training")


def ranking_verdicts(correlations: pd.DataFrame,
                     conv_count_determined: dict[tuple[str, str], bool] | None = None) -> list[dict[str, Any]]:
    """RANKING_CLAIM per space, ground truth and BN-NAS method, from correlate's difference rows.
    Where `conv_count_determined[(space, method)]` is true the reason says what was compared."""
    diffs = correlations[(correlations["relation"] == BASELINE) & correlations["method"].isin(BN_NAS_METHODS)
                         & (correlations["seed"] == ALL_SEEDS) & correlations["metric"].str.startswith(DIFF_PREFIX)]
    rows = []
    for _, row in diffs.iterrows():
        other = row["metric"][len(DIFF_PREFIX):]
        verdict, reason = non_inferiority(row["value"], row["ci_low"], row["ci_high"], TAU_MARGIN, "tau")
        if (conv_count_determined or {}).get((row["space"], row["method"])):
            reason += CONV_COUNT_CAVEAT
        if row["space"] in WIDTH_SEARCH_SPACES:
            reason += f"; on {row['space']} the method is the {WIDTH_SEARCH_LABEL}, not the paper's BN-NAS"
        scope = (f"{row['space']}, {row['ground_truth']}: {row['method']} - {other} tau "
                 f"(n={row['n']}; {row['ci_sources']})")
        rows.append(verdict_row(RANKING_CLAIM, scope, row["value"], row["ci_low"], row["ci_high"], verdict, reason))
    return rows


def train_time_column(costs: pd.DataFrame) -> str:
    """The training time a speed-up compares: "train_cpu_time_s" (CPU seconds, recorded for runs on
    a CPU device) when every run in `costs` that trained a supernet has it, else "train_time_s"
    (wall seconds). On a CPU, wall time grows with whatever else shares the cores (the default
    run trains two supernets at once on two cores), so a wall-time ratio moves with the load; the
    CPU time is the work done."""
    trained = costs[costs["train_time_s"].astype(float) > 0]
    has_cpu = "train_cpu_time_s" in costs.columns and trained["train_cpu_time_s"].notna().all()
    return "train_cpu_time_s" if has_cpu and len(trained) else "train_time_s"


def speedup_verdicts(costs: pd.DataFrame) -> list[dict[str, Any]]:
    """TRAIN_CLAIM and EVAL_CLAIM per space and BN-NAS method. `costs`: space, method, seed,
    baseline, train_time_s, time_per_arch_s and optionally train_cpu_time_s (see
    train_time_column)."""
    rows = []
    for (space, method), group in costs[costs["method"].isin(BN_NAS_METHODS)].groupby(["space", "method"]):
        baseline = group["baseline"].iloc[0]
        base = costs[(costs["space"] == space) & (costs["method"] == baseline)]
        if base.empty:
            continue
        for claim, column in ((TRAIN_CLAIM, train_time_column(pd.concat([group, base]))), (EVAL_CLAIM, "time_per_arch_s")):
            mine = group.dropna(subset=[column]).set_index("seed")[column].to_dict()
            theirs = base.dropna(subset=[column]).set_index("seed")[column].to_dict()
            seeds = sorted(set(mine) & set(theirs))
            if not seeds:
                continue
            measured, low, high = ratio_ci(theirs, mine)
            verdict, reason = (eval_speedup_rule(measured, low, high) if claim == EVAL_CLAIM
                               else above_threshold(measured, low, high, TRAIN_SPEEDUP, "speed-up"))
            scope = f"{space}: {baseline} / {method} {column} (seeds {', '.join(map(str, seeds))})"
            rows.append(verdict_row(claim, scope, measured, low, high, verdict, reason))
    return rows


def search_verdicts(top1: pd.DataFrame) -> list[dict[str, Any]]:
    """SEARCH_CLAIM per space and BN-NAS method. `top1`: space, method, seed, baseline,
    top1_pct (the searched architecture's retrained test top-1)."""
    rows = []
    for (space, method), group in top1[top1["method"].isin(BN_NAS_METHODS)].groupby(["space", "method"]):
        baseline = group["baseline"].iloc[0]
        base = top1[(top1["space"] == space) & (top1["method"] == baseline)].set_index("seed")["top1_pct"]
        mine = group.set_index("seed")["top1_pct"]
        seeds = sorted(set(mine.index) & set(base.index))
        if not seeds:
            continue
        measured, low, high = mean_ci(mine.loc[seeds].to_numpy() - base.loc[seeds].to_numpy())
        scope = f"{space}: {method} - {baseline} top-1 % (paired by seed, seeds {', '.join(map(str, seeds))})"
        if len(seeds) < 2:
            verdict, reason = INCONCLUSIVE, "one seed: a single searched architecture says nothing about a loss"
        else:
            verdict, reason = non_inferiority(measured, low, high, TOP1_MARGIN_PCT, "points")
        rows.append(verdict_row(SEARCH_CLAIM, scope, measured, low, high, verdict, reason))
    return rows


def early_bird_verdicts(scores: dict[tuple[str, str], dict[int, pd.DataFrame]]) -> list[dict[str, Any]]:
    """EARLY_BIRD_CLAIM per space and BN-NAS method. `scores`: (space, method) -> {seed: scores.csv}."""
    rows = []
    for (space, method), by_seed in sorted(scores.items()):
        if method not in BN_NAS_METHODS:
            continue
        frames = list(by_seed.values())
        checkpoints = sorted(set.intersection(*[set(f["checkpoint"]) for f in frames]))
        if len(checkpoints) < 2:
            continue
        first_cp, final_cp = checkpoints[0], checkpoints[-1]
        archs = sorted(set.intersection(*[set(f["arch_id"]) for f in frames]))

        def at(frame: pd.DataFrame, checkpoint: int) -> np.ndarray:
            return frame[frame["checkpoint"] == checkpoint].set_index("arch_id").loc[archs, "score"].to_numpy(float)

        first = np.stack([at(f, first_cp) for f in frames])
        final = np.stack([at(f, final_cp) for f in frames])
        measured, low, high, moved = early_bird_stability(first, final)
        verdict, reason = early_bird_rule(measured, low, high, moved)
        scope = (f"{space}: {method} scores at checkpoint {first_cp} vs {final_cp} "
                 f"(n={len(archs)}; {ci_sources(len(frames))})")
        rows.append(verdict_row(EARLY_BIRD_CLAIM, scope, measured, low, high, verdict, reason))
    return rows


# ------------------------------------------------------------------------------------ load


def _runs(root: Path, pattern: str, files: Collection[str] | None) -> list[tuple[dict[str, str], Path]]:
    """The run files of `pattern` under `root`: of `files` only (the report's manifest), if given."""
    found = []
    for path in sorted(root.glob(pattern.format(space="*", method="*", seed="*"))):
        relative = path.relative_to(root)
        fields = parse_path(pattern, relative)
        if fields is not None and fields["seed"].isdigit() and (files is None or str(relative) in files):
            found.append((fields, path))
    return found


def _baseline(record: dict[str, Any] | None) -> str | None:
    return ((record or {}).get("method") or {}).get("baseline")


def train_cpu_seconds(train_record: dict[str, Any]) -> float | None:
    """A training record's CPU seconds, only for a supernet trained on a CPU device: on a GPU the
    process's CPU time is not the work (None there, and for records that did not keep it)."""
    return train_record.get("train_cpu_time_s") if train_record.get("device", "cpu") == "cpu" else None


def load_costs(root: Path, files: Collection[str] | None = None) -> pd.DataFrame:
    """space, method, seed, baseline, train_time_s, train_cpu_time_s (runs on a CPU device only),
    time_per_arch_s from the runs' records."""
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for pattern, columns in ((paths.TRAIN_RECORD, ("train_time_s", "train_cpu_time_s")),
                             (paths.SCORING_RECORD, ("time_per_arch_s",))):
        for fields, path in _runs(root, pattern, files):
            record = read_json(path)
            key = (fields["space"], fields["method"], int(fields["seed"]))
            row = rows.setdefault(key, dict(zip(["space", "method", "seed"], key)))
            row.update({column: record.get(column) for column in columns})
            if "train_cpu_time_s" in columns:
                row["train_cpu_time_s"] = train_cpu_seconds(record)
            row["baseline"] = row.get("baseline") or _baseline(record)
    return pd.DataFrame(list(rows.values()), columns=["space", "method", "seed", "baseline", "train_time_s",
                                                      "train_cpu_time_s", "time_per_arch_s"])


def load_conv_count_determined(root: Path, files: Collection[str] | None = None) -> dict[tuple[str, str], bool]:
    """(space, method) -> whether every seed's final checkpoint was conv-count determined, for the
    runs whose train.json carries gamma diagnostics (BN-indicator methods)."""
    found: dict[tuple[str, str], bool] = {}
    for fields, path in _runs(root, paths.TRAIN_RECORD, files):
        checkpoints = read_json(path).get("checkpoints") or []
        if not checkpoints or "conv_count_determined" not in checkpoints[-1]:
            continue
        key = (fields["space"], fields["method"])
        found[key] = found.get(key, True) and bool(checkpoints[-1]["conv_count_determined"])
    return found


def load_top1(root: Path, files: Collection[str] | None = None) -> pd.DataFrame:
    """space, method, seed, baseline, top1_pct of each run's searched architecture (final.csv rank 0)."""
    rows = []
    for fields, path in _runs(root, paths.FINAL, files):
        final = pd.read_csv(path)
        best = final[final["rank"] == 0]
        search = root / paths.SEARCH.format(**fields)
        record = read_json(search) if search.is_file() else None
        if len(best):
            rows.append({"space": fields["space"], "method": fields["method"], "seed": int(fields["seed"]),
                         "baseline": _baseline(record), "top1_pct": 100 * float(best["test_acc"].iloc[0])})
    return pd.DataFrame(rows, columns=["space", "method", "seed", "baseline", "top1_pct"])


def load_scores(root: Path, files: Collection[str] | None = None) -> dict[tuple[str, str], dict[int, pd.DataFrame]]:
    found: dict[tuple[str, str], dict[int, pd.DataFrame]] = {}
    for fields, path in _runs(root, paths.SCORES, files):
        found.setdefault((fields["space"], fields["method"]), {})[int(fields["seed"])] = pd.read_csv(path)
    return found


def load_correlations(root: Path, files: Collection[str] | None = None) -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted(root.glob(paths.CORRELATIONS.format(space="*")))
              if p.parent.name != "report" and (files is None or str(p.relative_to(root)) in files)]
    frames = [f for f in frames if "relation" in f.columns]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["relation", "method", "seed", "metric"])


# What each claim needs, for the row that says it was not measured.
NEEDS = {
    RANKING_CLAIM: "correlations with BN-NAS and its baseline on one ground truth",
    TRAIN_CLAIM: "train.json of BN-NAS and its baseline with a common seed",
    EVAL_CLAIM: "scoring.json of BN-NAS and its baseline with a common seed",
    SEARCH_CLAIM: "final.csv of BN-NAS's and its baseline's searches with a common seed",
    EARLY_BIRD_CLAIM: "BN-NAS scores at two or more checkpoints",
}


def verdicts_table(results_dir: str | Path, files: Collection[str] | None = None) -> pd.DataFrame:
    """Every claim's verdicts from what exists under `results_dir` (of `files` only, paths relative
    to it, if given: the report passes its manifest's), columns VERDICT_COLUMNS, in the order of
    NEEDS; a claim without its inputs gets one inconclusive row saying what is missing."""
    root = Path(results_dir)
    rows = (ranking_verdicts(load_correlations(root, files), load_conv_count_determined(root, files))
            + speedup_verdicts(load_costs(root, files))
            + search_verdicts(load_top1(root, files)) + early_bird_verdicts(load_scores(root, files)))
    measured = {row["claim"] for row in rows}
    rows += [verdict_row(claim, "", float("nan"), float("nan"), float("nan"), INCONCLUSIVE, f"not measured: needs {need}")
             for claim, need in NEEDS.items() if claim not in measured]
    order = {claim: i for i, claim in enumerate(NEEDS)}
    return pd.DataFrame(sorted(rows, key=lambda row: order[row["claim"]]), columns=VERDICT_COLUMNS)

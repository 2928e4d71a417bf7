"""Rank correlations between each method's scores and a ground truth, per curve checkpoint.

Rows of the output (one tidy table, CORRELATION_COLUMNS):
  - per (method, seed, checkpoint): each metric with a bootstrap CI over architectures;
  - per (method, checkpoint), seed = ALL_SEEDS (-1, "over all seeds", as in the NATS-Bench
    ground truth): the mean over the method's seeds of each metric, with a two-level bootstrap
    CI (seeds, then architectures; `seeds` and `ci_sources` say what it covers). Written for
    every method, also one with a single seed, so a reader can always take the seed -1 rows;
    The metrics: Kendall tau, Spearman rho, Pearson r, top-k precision and, where the space's
    conv-op counts are known (structure_control.conv_counts), `kendall_tau_within_conv_count`;
  - per method at its final checkpoint, seed -1: metric `kendall_tau_diff_vs_<other>`, the
    difference of its seed-mean tau and <other>'s, with a paired CI (the same architecture
    resamples for both), against its baseline (relation "baseline") and against the best
    cheap answer (relation BEST_CHEAP: the trivial or zero-cost method with the highest
    seed-mean tau at the point estimate, on this ground truth); against the baseline also
    `kendall_tau_within_conv_count_diff_vs_<other>` (split_diff_metric reads these names);
  - method RETRAINING_RELIABILITY: one retraining seed against another (how reproducible the
    ground truth is; not a ceiling);
  - method PERFECT_SCORER: the expected tau of a perfect scorer against this ground truth
    (harness.analysis.ceiling), for ground truths with repeated retrainings.

Every seed-mean and paired-difference row also carries the variance components of its statistic
(harness.analysis.power: var_arch, var_arch_seed, var_arch_seed_other, var_seed, var_seed_other,
seeds_other and the *_pair parts; NaN on the other rows), from which power.deciding_run projects
the CI at more architectures and seeds. Seed-mean rows have no other method: seeds_other 0.

Cost: every metric's replicates are computed once per (method, checkpoint, archs) and shared by
the per-seed, seed-mean and difference rows; tau and tau within conv count on up to
metrics.WEIGHTED_MAX_ARCHS archs come from pair tables and resample weights (bit for bit the
values over the resampled pairs), top-k from one presence mask for all resamples.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness import paths
from harness.errors import HarnessError
from harness.io import write_csv
from harness.results.files import read_table
from harness.results.records import read_scoring_record

if TYPE_CHECKING:
    from harness.analysis.power import VarianceComponents

CORRELATION_COLUMNS = [
    "space", "method", "seed", "checkpoint", "epoch", "ground_truth",
    "n", "metric", "value", "ci_low", "ci_high", "seeds", "ci_sources", "relation",
    # variance components (harness.analysis.power.COMPONENT_COLUMNS) of the seed-mean and
    # paired-difference rows, NaN on the others
    "var_arch", "var_arch_seed", "var_arch_seed_other", "var_seed", "var_seed_other", "seeds_other",
    "var_arch_pair", "var_arch_seed_pair", "var_arch_seed_other_pair",
]  # fmt: skip
SCORES_COLUMNS = ["checkpoint", "epoch", "arch_id", "arch_str", "score"]
GROUNDTRUTH_COLUMNS = ["arch_id", "seed", "test_acc"]
ALL_SEEDS = -1
RETRAINING_RELIABILITY = "retraining-reliability"
PERFECT_SCORER = "perfect-scorer"
CHEAP_KINDS = ("trivial", "zero-cost")
BASELINE = "baseline"
BEST_CHEAP = "best cheap answer (highest point tau)"
DIFF_INFIX = "_diff_vs_"  # a paired-difference row's metric: <metric>_diff_vs_<other> (split_diff_metric)
DIFF_PREFIX = "kendall_tau" + DIFF_INFIX
WITHIN = "kendall_tau_within_conv_count"  # structure_control.METRIC_NAME (not imported: scipy at start-up)
# Largest sample whose tau components come from the U-statistic decomposition (O(n^2) per seed pair);
# above it the bootstrap's (the pair-level term they leave out is ~2% of the variance there)
PAIRWISE_COMPONENTS_MAX_ARCHS = 2000


def parse_path(pattern: str, path: str | Path) -> dict[str, str] | None:
    """The wildcard values of `path` under a harness.paths pattern, matched against the path's
    trailing components (so any results-dir prefix is fine); None if it does not match."""
    regex = ""
    for literal, field in re.findall(r"([^{]*)(?:\{(\w+)\})?", pattern):
        regex += re.escape(literal) + (f"(?P<{field}>[^/]+)" if field else "")
    match = re.search(f"(?:^|/){regex}$", Path(path).as_posix())
    return match.groupdict() if match else None


def run_identity(scores_path: Path, space: str) -> tuple[str, int]:
    """(method, seed) of a scores file, from its place in the results tree."""
    fields = parse_path(paths.SCORES, scores_path) or parse_path(paths.ALL_SCORES, scores_path)
    if fields is None or not fields["seed"].lstrip("-").isdigit():
        raise HarnessError(f"{scores_path}: cannot read method and seed from the path; "
                           f"expected {paths.SCORES} or {paths.ALL_SCORES}")
    if fields["space"] != space:
        raise HarnessError(f"{scores_path}: the path says space {fields['space']!r} but --space is {space!r}")
    return fields["method"], int(fields["seed"])


def seed_accuracies(retrain: pd.DataFrame) -> pd.DataFrame:
    """test_acc per arch_id (rows) and retraining seed (columns); repeated records are averaged."""
    return retrain.pivot_table(index="arch_id", columns="seed", values="test_acc", aggfunc="mean")


def mean_truth(retrain: pd.DataFrame) -> pd.Series:
    """Ground truth per arch_id: test accuracy averaged over its retraining seeds."""
    return seed_accuracies(retrain).mean(axis=1)


def check_covered(scores: pd.DataFrame, truth: pd.Series, scores_path: Path, truth_path: Path) -> None:
    missing = sorted(set(scores["arch_id"]) - set(truth.index))
    if missing:
        shown = ", ".join(str(a) for a in missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise HarnessError(
            f"{scores_path}: {len(missing)} scored arch(s) have no ground truth in {truth_path} "
            f"(arch_id {shown}); retrain them or score only archs in the ground truth"
        )


def check_unique(scores: pd.DataFrame, scores_path: Path) -> None:
    duplicated = scores[scores.duplicated(["checkpoint", "arch_id"])]
    if len(duplicated):
        raise HarnessError(f"{scores_path}: checkpoint {duplicated['checkpoint'].iloc[0]} scores some arch_id more than once")


def per_seed_rows(method: str, runs: dict[int, pd.DataFrame], truth: pd.Series, args: argparse.Namespace,
                  replicates: "Replicates") -> list[dict[str, Any]]:
    """Metric rows of every seed and checkpoint of a method, CI over architectures. Where the
    seed scored the same archs as the method's other seeds, the replicates are the seed rows'
    (the same resamples: bootstrap_ci draws them from the same seed), computed once."""
    from harness.analysis.metrics import bootstrap_ci, metrics_with_topk, percentile_ci

    rows = []
    common = {checkpoint: replicates.matrix(method, checkpoint)[1] for checkpoint in common_checkpoints(runs)}
    for index, (seed, scores) in enumerate(runs.items()):
        for checkpoint, group in scores.groupby("checkpoint", sort=True):
            group = group.sort_values("arch_id")
            archs = group["arch_id"].to_numpy()
            x, y = group["score"].to_numpy(dtype=float), truth.loc[archs].to_numpy()
            shared = checkpoint in common and np.array_equal(archs, common[checkpoint])
            for name, metric in metrics_with_topk(args.topk).items():
                if shared:
                    low, high = percentile_ci(replicates(method, int(checkpoint), archs, name)[index], args.confidence)
                else:
                    low, high = bootstrap_ci(metric, x, y, n_boot=args.bootstrap, confidence=args.confidence, seed=args.seed)
                rows.append({"method": method, "seed": seed, "checkpoint": int(checkpoint),
                             "epoch": float(group["epoch"].iloc[0]), "n": int(archs.size), "metric": name,
                             "value": metric(x, y), "ci_low": low, "ci_high": high, "seeds": 1,
                             "ci_sources": "architectures"})
            # issue 13: tau within strata of equal conv count
            if shared and replicates.strata is not None:
                within = [within_row(x, y, replicates.strata_of(archs),
                                     replicates(method, int(checkpoint), archs, WITHIN)[index], args)]
            else:
                within = structure_rows(group, y, args)
            for row in within:
                rows.append({"method": method, "seed": seed, "checkpoint": int(checkpoint),
                             "epoch": float(group["epoch"].iloc[0]), **row, "seeds": 1,
                             "ci_sources": "architectures"})
    return rows


def metric_rows(scores: np.ndarray, truth: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    # Imported here so that every `python -m harness` start-up does not pay for scipy.stats.
    from harness.analysis.metrics import correlation_rows

    return correlation_rows(
        scores, truth, n_boot=args.bootstrap, confidence=args.confidence, seed=args.seed, topk=args.topk
    )


def structure_rows(group: pd.DataFrame, truth: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Kendall tau within strata of equal conv-op count (issue 13, harness.analysis.structure_control)."""
    from harness.analysis.structure_control import within_conv_count_rows

    return within_conv_count_rows(group["score"].to_numpy(), truth, group["arch_str"], space_of(args),
                                  n_boot=args.bootstrap, confidence=args.confidence, seed=args.seed)


def within_row(x: np.ndarray, y: np.ndarray, strata: np.ndarray, replicates: np.ndarray,
               args: argparse.Namespace) -> dict[str, Any]:
    """structure_rows' row from replicates already computed (the same resamples, the same values)."""
    from harness.analysis.metrics import percentile_ci
    from harness.analysis.structure_control import kendall_tau_within_strata

    low, high = percentile_ci(replicates, args.confidence)
    return {"metric": WITHIN, "value": kendall_tau_within_strata(x, y, strata), "ci_low": low, "ci_high": high,
            "n": int(x.size)}


# ---------------------------------------------------------------------------- over seeds


def score_matrix(runs: dict[int, pd.DataFrame], checkpoint: int, archs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(seeds x archs scores, arch ids) at one checkpoint, archs sorted; by default the archs
    every seed scored there."""
    series = [frame[frame["checkpoint"] == checkpoint].set_index("arch_id")["score"] for frame in runs.values()]
    if archs is None:
        common = set(series[0].index).intersection(*[s.index for s in series[1:]])
        archs = np.array(sorted(common))
    return np.stack([s.loc[archs].to_numpy(dtype=float) for s in series]), archs


def common_checkpoints(runs: dict[int, pd.DataFrame]) -> list[int]:
    sets = [set(frame["checkpoint"].astype(int)) for frame in runs.values()]
    return sorted(set.intersection(*sets))


def space_of(args: argparse.Namespace) -> Any:
    """The space whose conv-op counts stratify (structure_control.counting_space of --space and the
    job spec's config), looked up once per command."""
    from harness.analysis.structure_control import counting_space

    if getattr(args, "counting_space", None) is None:
        args.counting_space = counting_space(args.space, getattr(args, "space_config", None))
    return args.counting_space


def conv_count_strata(runs: dict[str, dict[int, pd.DataFrame]], space: Any) -> pd.Series | None:
    """Conv-op count per arch_id of every scored architecture, from the space
    (structure_control.conv_counts of its arch_str); None without a space."""
    from harness.analysis.structure_control import conv_counts

    frames = [frame[["arch_id", "arch_str"]] for by_seed in runs.values() for frame in by_seed.values()]
    if not frames:
        return None
    strings = pd.concat(frames).drop_duplicates("arch_id").set_index("arch_id")["arch_str"].sort_index()
    counts = conv_counts(space, strings.to_numpy())
    return None if counts is None else pd.Series(counts, index=strings.index)


class Replicates:
    """Each seed's value of a metric on every architecture resample (seeds x n_boot), per
    (method, checkpoint, archs, metric), computed once: the per-seed rows, the seed rows and the
    paired differences share them. The metrics: metrics_with_topk's and, where the space's conv
    counts are known (`strata`, by default read off the scores' arch strings), WITHIN."""

    def __init__(self, runs: dict[str, dict[int, pd.DataFrame]], truth: pd.Series, args: argparse.Namespace,
                 strata: pd.Series | None = None):
        self.runs, self.truth, self.args = runs, truth, args
        self.strata = strata if strata is not None else conv_count_strata(runs, space_of(args))
        self.cache: dict[tuple[str, int, bytes, str], np.ndarray] = {}
        self.point_cache: dict[tuple[str, int, bytes, str], np.ndarray] = {}
        self.tables: dict[tuple[str, int], pd.DataFrame] = {}

    def matrix(self, method: str, checkpoint: int, archs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """score_matrix of the method's seeds, from a table (archs x seeds) built once per checkpoint."""
        key = (method, checkpoint)
        if key not in self.tables:
            columns = [frame[frame["checkpoint"] == checkpoint].set_index("arch_id")["score"]
                       for frame in self.runs[method].values()]
            self.tables[key] = pd.concat(columns, axis=1, keys=range(len(columns))).sort_index()
        table = self.tables[key]
        if archs is None:
            archs = table.dropna().index.to_numpy()
        return table.loc[archs].to_numpy(dtype=float).T, archs

    def metric_names(self) -> list[str]:
        from harness.analysis.metrics import metrics_with_topk

        return list(metrics_with_topk(self.args.topk)) + ([WITHIN] if self.strata is not None else [])

    def strata_of(self, archs: np.ndarray) -> np.ndarray:
        assert self.strata is not None
        return self.strata.loc[archs].to_numpy()

    def __call__(self, method: str, checkpoint: int, archs: np.ndarray, metric: str) -> np.ndarray:
        from harness.analysis.metrics import arch_replicates, draw_resamples, metrics_with_topk
        from harness.analysis.structure_control import within_strata_replicates

        key = (method, checkpoint, archs.tobytes(), metric)
        if key not in self.cache:
            scores, _ = self.matrix(method, checkpoint, archs)
            resamples = draw_resamples(archs.size, self.args.bootstrap, self.args.seed)
            truth = self.truth.loc[archs].to_numpy()
            if metric == WITHIN:
                self.cache[key] = within_strata_replicates(scores, truth, self.strata_of(archs), resamples.archs)
            else:
                self.cache[key] = arch_replicates(metrics_with_topk(self.args.topk)[metric], scores, truth, resamples)
        return self.cache[key]

    def points(self, method: str, checkpoint: int, archs: np.ndarray, metric: str) -> np.ndarray:
        """Each seed's value of the metric on `archs` (no resampling)."""
        from harness.analysis.metrics import metrics_with_topk
        from harness.analysis.structure_control import kendall_tau_within_strata

        key = (method, checkpoint, archs.tobytes(), metric)
        if key not in self.point_cache:
            scores, _ = self.matrix(method, checkpoint, archs)
            truth = self.truth.loc[archs].to_numpy()
            if metric == WITHIN:
                strata = self.strata_of(archs)
                values = [kendall_tau_within_strata(row, truth, strata) for row in scores]
            else:
                function = metrics_with_topk(self.args.topk)[metric]
                values = [function(row, truth) for row in scores]
            self.point_cache[key] = np.array(values, dtype=float)
        return self.point_cache[key]

    def components(self, method: str, checkpoint: int, archs: np.ndarray, metric: str,
                   other: tuple[str, int] | None = None) -> "VarianceComponents":
        """The variance components (harness.analysis.power) of the method's seed-mean `metric` on
        `archs`, or of its difference from `other` = (method, checkpoint). Kendall tau and tau
        within conv count on up to PAIRWISE_COMPONENTS_MAX_ARCHS archs: from the U-statistic
        decomposition (power.pairwise_components); otherwise from the bootstrap replicates
        (power.estimate_components)."""
        from harness.analysis.power import estimate_components, pairwise_components

        if metric in ("kendall_tau", WITHIN) and archs.size <= PAIRWISE_COMPONENTS_MAX_ARCHS:
            scores, _ = self.matrix(method, checkpoint, archs)
            theirs = None if other is None else self.matrix(other[0], other[1], archs)[0]
            strata = self.strata_of(archs) if metric == WITHIN else None
            return pairwise_components(scores, self.truth.loc[archs].to_numpy(), strata, theirs)
        mine = (self(method, checkpoint, archs, metric), self.points(method, checkpoint, archs, metric))
        theirs = (None, None) if other is None else (self(*other, archs, metric), self.points(*other, archs, metric))
        return estimate_components(*mine, *theirs, n=int(archs.size))


def defined_mean(values: np.ndarray) -> float:
    """Mean of the defined (non-NaN) values, NaN if none is: metrics.seed_mean of per-seed values."""
    defined = values[~np.isnan(values)]
    return float(np.mean(defined)) if defined.size else float("nan")


def seed_rows(method: str, runs: dict[int, pd.DataFrame], truth: pd.Series, args: argparse.Namespace,
              replicates: Replicates) -> list[dict[str, Any]]:
    """Rows (seed ALL_SEEDS) of every metric, mean over the method's seeds, per checkpoint, with
    the variance components of that mean (harness.analysis.power; no terms of another method)."""
    from harness.analysis.metrics import average_resampled_seeds, ci_sources, draw_resamples, percentile_ci

    rows = []
    for checkpoint in common_checkpoints(runs):
        _, archs = replicates.matrix(method, checkpoint)
        resamples = draw_resamples(archs.size, args.bootstrap, args.seed)
        epoch = float(np.mean([f.loc[f["checkpoint"] == checkpoint, "epoch"].iloc[0] for f in runs.values()]))
        for name in replicates.metric_names():
            per_seed = replicates(method, checkpoint, archs, name)
            points = replicates.points(method, checkpoint, archs, name)
            low, high = percentile_ci(average_resampled_seeds(per_seed, resamples, method), args.confidence)
            components = replicates.components(method, checkpoint, archs, name)
            rows.append({"method": method, "seed": ALL_SEEDS, "checkpoint": checkpoint, "epoch": epoch,
                         "n": int(archs.size), "metric": name, "value": defined_mean(points),
                         "ci_low": low, "ci_high": high, "seeds": len(runs), "ci_sources": ci_sources(len(runs)),
                         **components.columns()})
    return rows


def method_record(scores_path: Path, method: str) -> dict[str, Any]:
    """The method's parts (kind, baseline, ...) as its scoring job recorded them next to the
    scores; for scores without a record, the registered method of that name (or {})."""
    all_archs = scores_path.name == Path(paths.ALL_SCORES).name
    record = scores_path.parent / Path(paths.ALL_SCORING_RECORD if all_archs else paths.SCORING_RECORD).name
    if record.is_file():
        return read_scoring_record(record, method).method.raw
    from methods import registry

    known = registry().get(method)
    return known.describe() if known is not None else {}


def diff_metric(metric: str, other: str) -> str:
    """The name of a paired-difference row: `<metric>_diff_vs_<other>`."""
    return f"{metric}{DIFF_INFIX}{other}"


def split_diff_metric(name: str) -> tuple[str, str] | None:
    """(metric, other) of a paired-difference row's metric `<metric>_diff_vs_<other>` (for example
    ("kendall_tau_within_conv_count", "spos")); None for a metric that is not a difference."""
    metric, infix, other = name.partition(DIFF_INFIX)
    return (metric, other) if infix and metric and other else None


def difference_row(
    method: str, other: str, relation: str, runs: dict[str, dict[int, pd.DataFrame]], finals: dict[str, int],
    truth: pd.Series, args: argparse.Namespace, replicates: Replicates, metric: str = "kendall_tau",
) -> dict[str, Any]:
    """`method`'s seed-mean `metric` minus `other`'s, each at its final checkpoint, on the archs
    both scored, with a paired CI (every replicate resamples the same archs for both methods, and
    each method's own seeds) and the difference's variance components (harness.analysis.power)."""
    from harness.analysis.metrics import average_resampled_seeds, draw_resamples, percentile_ci

    archs = np.intersect1d(replicates.matrix(method, finals[method])[1], replicates.matrix(other, finals[other])[1])
    resamples = draw_resamples(archs.size, args.bootstrap, args.seed)
    mine, theirs = replicates(method, finals[method], archs, metric), replicates(other, finals[other], archs, metric)
    difference = average_resampled_seeds(mine, resamples, method) - average_resampled_seeds(theirs, resamples, other)
    low, high = percentile_ci(difference, args.confidence)
    points, other_points = (replicates.points(method, finals[method], archs, metric),
                            replicates.points(other, finals[other], archs, metric))
    components = replicates.components(method, finals[method], archs, metric, (other, finals[other]))
    first = next(iter(runs[method].values()))
    epoch = float(first.loc[first["checkpoint"] == finals[method], "epoch"].iloc[0])
    return {"method": method, "seed": ALL_SEEDS, "checkpoint": finals[method], "epoch": epoch, "n": int(archs.size),
            "metric": diff_metric(metric, other), "value": defined_mean(points) - defined_mean(other_points),
            "ci_low": low, "ci_high": high, "seeds": len(runs[method]),
            "ci_sources": f"architectures (paired)+seeds (n={len(runs[method])} vs {len(runs[other])})",
            "relation": relation, **components.columns()}


def best_cheap(seed_table: pd.DataFrame, records: dict[str, dict[str, Any]], finals: dict[str, int]) -> str | None:
    """The trivial or zero-cost method with the highest seed-mean tau at its final checkpoint
    (chosen on the point estimate); None if there is none with a defined tau."""
    tau = seed_table[seed_table["metric"] == "kendall_tau"]
    best, best_value = None, -np.inf
    for method, final in finals.items():
        if records[method].get("kind") not in CHEAP_KINDS:
            continue
        value = tau[(tau["method"] == method) & (tau["checkpoint"] == final)]["value"]
        if len(value) and not np.isnan(value.iloc[0]) and value.iloc[0] > best_value:
            best, best_value = method, float(value.iloc[0])
    return best


def difference_rows(
    runs: dict[str, dict[int, pd.DataFrame]], records: dict[str, dict[str, Any]], seed_table: pd.DataFrame,
    truth: pd.Series, args: argparse.Namespace, replicates: Replicates,
) -> list[dict[str, Any]]:
    """Every method against its baseline (when that ran; tau and, where conv counts are known,
    WITHIN) and against the best cheap answer (tau)."""
    finals = {method: max(common_checkpoints(by_seed)) for method, by_seed in runs.items() if common_checkpoints(by_seed)}
    cheap = best_cheap(seed_table, records, finals)
    rows = []
    for method in finals:
        baseline = records[method].get("baseline")
        if baseline in finals and baseline != method:
            rows.append(difference_row(method, baseline, BASELINE, runs, finals, truth, args, replicates))
            if replicates.strata is not None:
                rows.append(difference_row(method, baseline, BASELINE, runs, finals, truth, args, replicates, WITHIN))
        if cheap is not None and cheap != method:
            rows.append(difference_row(method, cheap, BEST_CHEAP, runs, finals, truth, args, replicates))
    return rows


# ------------------------------------------------------------------ the ground truth itself


def retraining_reliability_rows(retrain: pd.DataFrame, args: argparse.Namespace) -> list[dict]:
    """Seed A vs seed B accuracies over archs retrained at least twice (A, B: the arch's two
    lowest seeds): how reproducible the ground truth is. Not a ceiling (see PERFECT_SCORER).
    Empty if fewer than two archs have two seeds."""
    values = seed_accuracies(retrain).to_numpy(dtype=float)  # columns sorted by seed
    known = ~np.isnan(values)
    order = np.cumsum(known, axis=1)  # 1 at an arch's lowest seed, 2 at its second
    paired = known.sum(axis=1) >= 2
    first = np.where(known & (order == 1), values, 0.0).sum(axis=1)[paired]
    second = np.where(known & (order == 2), values, 0.0).sum(axis=1)[paired]
    pairs = np.stack([first, second], axis=1)
    if len(pairs) < 2:
        return []
    identity = {"method": RETRAINING_RELIABILITY, "seed": -1, "checkpoint": -1, "epoch": float("nan"),
                "seeds": 2, "ci_sources": "architectures"}
    return [{**identity, **row} for row in metric_rows(pairs[:, 0], pairs[:, 1], args)]


def perfect_scorer_rows(retrain: pd.DataFrame, archs: np.ndarray, args: argparse.Namespace) -> list[dict]:
    """The expected tau of a perfect scorer against the mean of each arch's retraining seeds,
    over `archs` (those the methods are judged on); empty if too few archs were retrained twice."""
    from harness.analysis.ceiling import perfect_scorer_ceiling

    by_seed = seed_accuracies(retrain).loc[archs]
    if (by_seed.notna().sum(axis=1) >= 2).sum() < 2:
        return []
    value, low, high = perfect_scorer_ceiling(by_seed.to_numpy(), n_boot=args.bootstrap,
                                              confidence=args.confidence, seed=args.seed)
    return [{"method": PERFECT_SCORER, "seed": -1, "checkpoint": -1, "epoch": float("nan"), "n": int(len(archs)),
             "metric": "kendall_tau", "value": value, "ci_low": low, "ci_high": high,
             "seeds": int(by_seed.notna().sum(axis=1).max()),
             "ci_sources": "retraining noise (parametric bootstrap)"}]


def check_arguments(args: argparse.Namespace) -> None:
    if args.bootstrap < 0:
        raise HarnessError(f"--bootstrap must be >= 0 (0 skips the CIs), got {args.bootstrap}")
    if not 0 < args.confidence < 1:
        raise HarnessError(f"--confidence must be between 0 and 1, got {args.confidence}")
    if args.topk < 1:
        raise HarnessError(f"--topk must be >= 1, got {args.topk}")


def write_correlations(args: argparse.Namespace) -> int:
    """The correlate command's work: read the scores and the ground truth named in `args`
    (see harness.commands.correlate) and write the correlations csv. The conv-op counts of the
    within-conv-count metric come from the space: the run's configured one when `args.space_config`
    holds the job spec's config (spaces, dataset), else the registered space's defaults."""
    check_arguments(args)
    space_of(args)
    retrain = read_table(args.groundtruth, GROUNDTRUTH_COLUMNS)
    if retrain.empty:  # a ground truth recorded as not available (its .json record says why)
        write_csv(pd.DataFrame(columns=CORRELATION_COLUMNS), args.output)
        print(f"note: {args.groundtruth} is empty (ground truth not available); no correlations")
        return 0
    truth = mean_truth(retrain)
    rows = []
    runs: dict[str, dict[int, pd.DataFrame]] = defaultdict(dict)
    records: dict[str, dict[str, Any]] = {}
    for scores_path in args.scores:
        method, seed = run_identity(scores_path, args.space)
        scores = read_table(scores_path, SCORES_COLUMNS)
        check_covered(scores, truth, scores_path, args.groundtruth)
        check_unique(scores, scores_path)
        runs[method][seed] = scores
        records.setdefault(method, method_record(scores_path, method))
    replicates = Replicates(runs, truth, args)
    for method, by_seed in runs.items():
        rows += per_seed_rows(method, by_seed, truth, args, replicates)
    seed_table = pd.DataFrame([row for method, by_seed in runs.items()
                               for row in seed_rows(method, by_seed, truth, args, replicates)], columns=CORRELATION_COLUMNS)
    rows += seed_table.to_dict("records") + difference_rows(runs, records, seed_table, truth, args, replicates)
    reliability = retraining_reliability_rows(retrain, args)
    scored = np.array(sorted(set().union(*[set(f["arch_id"]) for by_seed in runs.values() for f in by_seed.values()])))
    ceiling = perfect_scorer_rows(retrain, scored if scored.size else truth.index.to_numpy(), args)
    if not reliability:
        print(f"note: fewer than two archs retrained with two seeds in {args.groundtruth}; "
              "no retraining reliability and no perfect-scorer ceiling")
    rows += reliability + ceiling
    frame = pd.DataFrame(rows).assign(space=args.space, ground_truth=args.ground_truth_name)
    write_csv(frame.reindex(columns=CORRELATION_COLUMNS), args.output)
    print(f"wrote {len(frame)} correlation rows to {args.output}")
    return 0

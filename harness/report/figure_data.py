"""The data behind each figure of the report (plain frames that harness.report.figures draws),
from the results model."""

from __future__ import annotations

import pandas as pd

from harness.analysis.correlation import ALL_SEEDS, PERFECT_SCORER, RETRAINING_RELIABILITY, mean_truth
from harness.analysis.costs import baselines, method_order
from harness.analysis.structure_control import conv_counts, counting_space
from harness.analysis.truths import truth_label
from harness.report.page_tables import final_checkpoint_rows
from harness.results.model import Results, SpaceResults

RELIABILITY_LABEL = "retraining reliability"


def run_labels(space: SpaceResults) -> dict[tuple[str, int], str]:
    """Legend label per run: the method name, or `method · seed s` once a method has several seeds."""
    methods = [run.method for run in space.runs]
    several = len(methods) != len(set(methods))
    return {(r.method, r.seed): f"{r.method} · seed {r.seed}" if several else r.method for r in space.runs}


def final_scores_vs_truth(results: Results, space: SpaceResults) -> pd.DataFrame:
    """score, mean retrained test_acc and conv-op count (from the run's configured space,
    harness.analysis.structure_control.conv_counts) per arch, every run at its final checkpoint."""
    if space.retrain is None:
        return pd.DataFrame()
    counting = counting_space(space.name, results.config)
    truth = mean_truth(space.retrain).rename("test_acc")
    labels = run_labels(space)
    frames = []
    for run in space.runs:
        if run.scores is None or run.scores.empty:
            continue
        final = run.scores[run.scores["checkpoint"] == run.scores["checkpoint"].max()]
        joined = final.join(truth, on="arch_id", how="inner")
        counts = conv_counts(counting, joined["arch_str"])
        frames.append(joined.assign(run=labels[(run.method, run.seed)],
                                    conv_ops=counts if counts is not None else float("nan")))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def forest_data(results: Results) -> pd.DataFrame:
    """Final-checkpoint tau with CI of every method (seed mean) against every ground truth."""
    frames = []
    several_spaces = len(results.spaces) > 1
    names = baselines(results)
    for space in results.spaces:
        if space.correlations is None or space.correlations.empty:
            continue
        correlations = space.correlations
        shown = correlations[(correlations["seed"] == ALL_SEEDS)
                             | correlations["method"].isin([RETRAINING_RELIABILITY, PERFECT_SCORER])]
        tau = final_checkpoint_rows(shown[shown["metric"] == "kendall_tau"]).copy()
        labels = run_labels(space)
        texts = [(RELIABILITY_LABEL if m == RETRAINING_RELIABILITY else "perfect-scorer ceiling" if m == PERFECT_SCORER
                  else labels.get((m, int(s)), m)) for m, s in zip(tau["method"], tau["seed"])]
        tau["label"] = [t if (not several_spaces or t == RELIABILITY_LABEL) else f"{space.name}: {t}" for t in texts]
        truths = [truth_label(t, results.dataset_name) for t in tau["ground_truth"]]
        tau["ground_truth"] = [f"{space.name}: {t}" if several_spaces else t for t in truths]
        tau["order"] = [method_order(m, names) for m in tau["method"]]
        frames.append(tau.sort_values("order", kind="stable"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def curve_data(space: SpaceResults, truth: str) -> pd.DataFrame:
    """Tau per checkpoint against `truth` with the supernet training step of each checkpoint (from
    train.json), for every run with several checkpoints; plus the retraining reliability."""
    correlations = space.correlations
    tau = correlations[(correlations["metric"] == "kendall_tau") & (correlations["ground_truth"] == truth)]
    labels = run_labels(space)
    frames = []
    for run in space.runs:
        steps = {c["checkpoint"]: c.get("step") for c in (run.train.checkpoints if run.train else [])}
        line = tau[(tau["method"] == run.method) & (tau["seed"] == run.seed)]
        if line["checkpoint"].nunique() < 2 or not steps:
            continue
        frames.append(line.assign(label=labels[(run.method, run.seed)], step=line["checkpoint"].map(steps)))
    if not frames:
        return pd.DataFrame()
    ceiling = tau[tau["method"] == RETRAINING_RELIABILITY].assign(label=RELIABILITY_LABEL, step=float("nan"))
    return pd.concat(frames + [ceiling], ignore_index=True)


def pareto_points(space: SpaceResults) -> pd.DataFrame:
    """The searched architecture (rank 0) of every (method, seed): FLOPs and retrained top-1."""
    rows = [{"method": run.method, "seed": run.seed, "flops_M": best["flops_M"], "top1_pct": 100 * best["test_acc"]}
            for run in space.runs if run.final is not None
            for _, best in run.final[run.final["rank"] == 0].iterrows()]
    return pd.DataFrame(rows)


def cost_data(costs: pd.DataFrame, space: SpaceResults) -> pd.DataFrame:
    part = costs[costs["space"] == space.name]
    labels = run_labels(space)
    return pd.DataFrame({"label": [labels.get((m, int(s)), m) for m, s in zip(part["method"], part["seed"])],
                         "train_time_s": part["train_time_s"].to_numpy(),
                         "time_per_arch_s": part["time_per_arch_s"].to_numpy()})

"""The report's BN-indicator section: every BN-NAS run's tau beside its tau within strata of equal
conv count and its gamma diagnostics, a sentence saying whether the scores have moved enough to
change what conv count alone ranks, and the budget sweep (early-bird) figure against training
steps. Reads a space of the results model (runs with train.json, correlations.csv)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.scoring.bn_diagnostics import WIDTH_SEARCH_LABEL, WIDTH_SEARCH_SPACES, structure_statement
from harness.analysis.structure_control import METRIC_NAME
from harness.analysis.truths import truth_label
from harness.report.tables import format_ci

SWEEP_BASE = {"sampler": "uniform", "trainable": "bn", "recipe": "official"}  # bnnas's parts, but the budget


def run_label(method: dict[str, Any], name: str, space: str) -> str:
    """`bnnas` with the official recipe is the report's "BN-NAS (paper recipe)"."""
    recipe = "paper recipe" if method.get("recipe") == "official" else "SPOS recipe"
    label = f"BN-NAS ({recipe})" if name == "bnnas" else f"{name} ({recipe})"
    return f"{label}; {WIDTH_SEARCH_LABEL}" if space in WIDTH_SEARCH_SPACES else label


def _bn_runs(space: Any) -> list[Any]:
    """BN-NAS and its variants (Method.family, as recorded), those with a training record."""
    return [run for run in space.runs if run.train is not None and run.parts.is_bn_nas]


def _cell(rows: pd.DataFrame) -> str:
    if rows.empty:
        return "—"
    row = rows.iloc[0]
    if pd.isna(row["value"]):
        return "n/a (every pair within a stratum tied)" if row["metric"] == METRIC_NAME else "n/a"
    return format_ci(row["value"], row["ci_low"], row["ci_high"])


def bn_indicator_table(space: Any, dataset_name: str | None) -> pd.DataFrame:
    """One row per BN-indicator run at its final checkpoint; a truth measured on another dataset
    than `dataset_name` (the run's) is labelled a transfer truth."""
    correlations = space.correlations if space.correlations is not None else pd.DataFrame(
        columns=["ground_truth", "method", "seed", "checkpoint", "metric", "value", "ci_low", "ci_high"])
    rows = []
    for run in _bn_runs(space):
        final = run.train.final_checkpoint
        row: dict[str, Any] = {"run": run_label(run.parts.raw, run.method, space.name), "seed": run.seed,
                               "steps": run.train.steps}
        mine = correlations[(correlations["method"] == run.method) & (correlations["seed"] == run.seed)
                            & (correlations["checkpoint"] == final["checkpoint"])]
        for truth in dict.fromkeys(mine["ground_truth"]):
            of_truth = mine[mine["ground_truth"] == truth]
            label = truth_label(truth, dataset_name)
            row[f"τ vs {label}"] = _cell(of_truth[of_truth["metric"] == "kendall_tau"])
            row[f"τ within conv count vs {label}"] = _cell(of_truth[of_truth["metric"] == METRIC_NAME])
        if "gamma_drift_max" in final:
            row.update({"max |γ-γ0|": final["gamma_drift_max"], "mean |γ-γ0|": final["gamma_drift_mean"],
                        "max op-score spread in a layer": final["op_score_spread_max"],
                        "vs conv count": structure_statement(final["conv_count_determined"],
                                                             final["conv_count_margin"])})
        else:
            row["vs conv count"] = "no gamma diagnostics in train.json (trained by an older harness)"
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_runs(space: Any) -> list[Any]:
    """The budget sweep: BN-NAS runs that differ from `bnnas` only in epoch_fraction, by steps."""
    runs = [run for run in _bn_runs(space)
            if all(run.parts.raw.get(k) == v for k, v in SWEEP_BASE.items())
            and not run.parts.space_knobs.get(space.name)
            and run.parts.options.get("statistic", "abs_gamma") == "abs_gamma"]
    return sorted(runs, key=lambda run: run.train.steps or 0)


def departure_sentence(space: Any) -> str:
    """At which budget (if any) the indicator's scores depart from conv count's ranking."""
    runs = [run for run in sweep_runs(space) if "conv_count_determined" in run.train.final_checkpoint]
    if not runs:
        return "No budget sweep with gamma diagnostics in this space."
    finals = [(run.train.steps, run.train.final_checkpoint) for run in runs]
    if all(final["conv_count_determined"] is None for _, final in finals):
        return "Conv count is the same for every architecture in this space: the sweep's ranking comes from the gammas alone."
    departed = [steps for steps, final in finals if final["conv_count_determined"] is False]
    largest = max(steps for steps, _ in finals)
    if not departed:
        return (f"At no budget up to {largest} steps did the scores move enough to reorder any two architectures "
                "of different conv counts: at this scale the BN indicator is conv count plus a tie-break; "
                "what the tie-break adds is the τ within conv count.")
    return f"The scores first reorder architectures of different conv counts at {min(departed)} steps."


def sweep_figure(space: Any):  # -> matplotlib Figure | None
    """τ, τ within conv count (ground truth: retrain) and max |γ-γ0| against training steps,
    one line per sweep run (its checkpoints)."""
    import matplotlib.pyplot as plt

    runs = sweep_runs(space)
    if not runs:
        return None
    correlations = space.correlations if space.correlations is not None else pd.DataFrame()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for run in runs:
        points = pd.DataFrame(run.train.checkpoints)
        label = f"{run.method} ({run.train.steps} steps)"
        for ax, metric in zip(axes[:2], ("kendall_tau", METRIC_NAME)):
            if correlations.empty:
                continue
            rows = correlations[(correlations["method"] == run.method) & (correlations["seed"] == run.seed)
                                & (correlations["ground_truth"] == "retrain") & (correlations["metric"] == metric)]
            merged = rows.merge(points[["checkpoint", "step"]], on="checkpoint").sort_values("step")
            ax.plot(merged["step"], merged["value"], marker="o", label=label)
        if "gamma_drift_max" in points:
            axes[2].plot(points["step"], points["gamma_drift_max"], marker="o", label=label)
    for ax, title in zip(axes, ("Kendall τ vs retrained", "τ within conv count vs retrained", "max |γ - γ0|")):
        ax.set_xscale("log")
        ax.set_xlabel("supernet training steps")
        ax.set_title(title)
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig

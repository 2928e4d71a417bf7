"""The tables the report page shows, as display frames (cells already formatted), built from the
results model and the analysis: what the analyse job writes under report/tables/."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.analysis.correlation import (ALL_SEEDS, BASELINE, BEST_CHEAP, CORRELATION_COLUMNS, DIFF_PREFIX,
                                          PERFECT_SCORER, RETRAINING_RELIABILITY)
from harness.analysis.costs import baselines, method_order
from harness.analysis.paper import PUBLISHED
from harness.analysis.truths import truth_label
from harness.analysis.verdicts import difference_outcome
from harness.report.tables import collapse, describe_method, format_ci
from harness.results.model import Results, SpaceResults

TABLE_METRICS = {"kendall_tau": "Kendall τ [CI]", "spearman_rho": "Spearman ρ [CI]"}
PROTOCOL_COLUMNS = ["epochs", "batch_size", "lr", "train_images", "test_images", "threads"]
REFERENCES = {RETRAINING_RELIABILITY: "retraining reliability (retrain seed vs seed; not a ceiling)",
              PERFECT_SCORER: "perfect-scorer ceiling (expected τ of a scorer knowing expected accuracy)"}


def all_correlations(results: Results) -> pd.DataFrame:
    frames = [s.correlations for s in results.spaces if s.correlations is not None]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CORRELATION_COLUMNS)


def final_checkpoint_rows(correlations: pd.DataFrame) -> pd.DataFrame:
    """Each (ground truth, method, seed)'s rows at its largest checkpoint."""
    keys = ["ground_truth", "method", "seed"]
    final = correlations.groupby(keys, sort=False)["checkpoint"].transform("max")
    return correlations[correlations["checkpoint"] == final]


def final_correlation_table(results: Results, space: SpaceResults) -> pd.DataFrame:
    """tau and rho per method at its final checkpoint, mean over its seeds with a CI over seeds
    and architectures (the seed -1 rows; each seed's own rows are in correlations.csv); the
    ground truth's retraining reliability and perfect-scorer ceiling last."""
    correlations = space.correlations
    shown = correlations[(correlations["seed"] == ALL_SEEDS) | correlations["method"].isin(list(REFERENCES))]
    final = final_checkpoint_rows(shown[shown["metric"].isin(list(TABLE_METRICS))])
    names = baselines(results)
    rows = []
    for (truth, method, _), group in final.groupby(["ground_truth", "method", "seed"], sort=False):
        reference = method in REFERENCES
        by_metric = group.set_index("metric")
        row = {
            "method": REFERENCES.get(method, method),
            "seeds": "" if reference else str(group["seeds"].iloc[0]),
            "checkpoint": "" if reference else str(group["checkpoint"].iloc[0]),
            "epoch": "" if reference else f"{group['epoch'].iloc[0]:.2f}",
            "ground truth": truth_label(truth, results.dataset_name),
            "n": str(group["n"].iloc[0]),
            "CI over": group["ci_sources"].iloc[0],
        }
        for metric, label in TABLE_METRICS.items():
            cells = by_metric.loc[metric] if metric in by_metric.index else None
            row[label] = "" if cells is None else format_ci(cells["value"], cells["ci_low"], cells["ci_high"])
        rows.append(((reference, method_order(method, names)), row))
    rows.sort(key=lambda pair: pair[0])
    return pd.DataFrame([row for _, row in rows])


def cheap_answers_table(results: Results, space: SpaceResults, costs: pd.DataFrame) -> pd.DataFrame:
    """Does it beat the cheap answers? Per ground truth and method: the tau over its seeds (CI over
    seeds and architectures) and the paired tau differences against its baseline and against the
    best cheap answer, each read from its CI ("beats" = CI above 0, "worse" = below, else no
    detectable difference), beside the ground truth's retraining reliability and perfect-scorer
    ceiling and what the method cost."""
    if space.correlations is None or space.correlations.empty:
        return pd.DataFrame()
    means = space.correlations[space.correlations["seed"] == ALL_SEEDS]
    final = final_checkpoint_rows(means[means["metric"] == "kendall_tau"])
    diffs = means[means["metric"].str.startswith(DIFF_PREFIX)]
    references = final_checkpoint_rows(space.correlations[space.correlations["metric"] == "kendall_tau"])
    rows = []
    for truth, group in final.groupby("ground_truth", sort=False):
        def reference(method: str) -> str:
            found = references[(references["ground_truth"] == truth) & (references["method"] == method)]
            return "" if found.empty else format_ci(*found.iloc[0][["value", "ci_low", "ci_high"]])

        def versus(method: str, relation: str) -> str:
            found = diffs[(diffs["ground_truth"] == truth) & (diffs["method"] == method) & (diffs["relation"] == relation)]
            if found.empty:
                return ""
            row = found.iloc[0]
            other = row["metric"][len(DIFF_PREFIX):]
            return f"{difference_outcome(row['ci_low'], row['ci_high'])} {other}: Δτ {format_ci(row['value'], row['ci_low'], row['ci_high'])}"

        for _, row in group[~group["method"].isin(list(REFERENCES))].iterrows():
            cost = costs[(costs["space"] == space.name) & (costs["method"] == row["method"])]
            rows.append({
                "ground truth": truth_label(truth, results.dataset_name), "method": row["method"],
                "seeds": row["seeds"], "n": row["n"],
                "Kendall τ [CI]": format_ci(row["value"], row["ci_low"], row["ci_high"]),
                "CI over": row["ci_sources"],
                "vs its baseline": versus(row["method"], BASELINE),
                "vs the best cheap answer": versus(row["method"], BEST_CHEAP),
                "retraining reliability τ": reference(RETRAINING_RELIABILITY),
                "perfect-scorer ceiling τ": reference(PERFECT_SCORER),
                "supernet train s": cost["train_time_s"].mean() if len(cost) else float("nan"),
                "score s / arch": cost["time_per_arch_s"].mean() if len(cost) else float("nan"),
            })
    return pd.DataFrame(rows)


def ablation_table(results: Results, space: SpaceResults) -> pd.DataFrame:
    """BN-NAS and its variants side by side: what each changes and its tau at the final
    checkpoint against each ground truth."""
    if space.correlations is None:
        return pd.DataFrame()
    final = final_checkpoint_rows(space.correlations)
    tau = final[final["metric"] == "kendall_tau"]
    rows = []
    for run in space.runs:
        if run.train is None or not run.parts.is_bn_nas:
            continue
        row = {"method": run.method, "seed": run.seed, "what it changes": describe_method(run.parts.raw, space.name)}
        for _, cell in tau[(tau["method"] == run.method) & (tau["seed"] == run.seed)].iterrows():
            row[f"τ vs {truth_label(cell['ground_truth'], results.dataset_name)}"] = format_ci(
                cell["value"], cell["ci_low"], cell["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows)


def nats_query_table(space: SpaceResults) -> pd.DataFrame:
    """What was queried for every NATS-Bench ground truth (file, hash, schedule, keys, seeds)."""
    rows = []
    for record in space.nats_records:
        if record.get("available") is False:
            continue
        source = record.get("source", record)
        rows.append({"ground truth": record.get("ground_truth_name", ""),
                     **{k: str(source.get(k, "")) for k in ("file", "column", "hp", "dataset_key",
                                                           "eval_set", "metric", "split", "seed_policy")},
                     "SHA-256 (first 16)": str(source.get("sha256", ""))[:16]})
    if not rows:
        return pd.DataFrame()
    # the sample's and the all-archs query of one dataset read the same values: one row each
    table = pd.DataFrame(rows).drop_duplicates().sort_values("ground truth", kind="stable")
    return table.loc[:, lambda f: (f != "").any()].rename(columns=lambda c: c.replace("_", " "))


def protocol_table(retrain: pd.DataFrame) -> pd.DataFrame:
    """How the ground truth was produced, read off the retraining records themselves."""
    runs = retrain.groupby("arch_id").size()
    row = {
        "archs": str(retrain["arch_id"].nunique()),
        "training runs": str(len(retrain)),
        "archs trained more than once": str(int((runs > 1).sum())),
        "seeds": collapse(sorted(retrain["seed"].dropna().unique())),
    }
    for column in PROTOCOL_COLUMNS:
        if column in retrain.columns:
            row[column.replace("_", " ")] = collapse(sorted(retrain[column].dropna().unique()))
    if "train_time_s" in retrain.columns:
        row["total train time (h)"] = f"{retrain['train_time_s'].sum() / 3600:.2f}"
    return pd.DataFrame([row])


def methods_table(results: Results) -> pd.DataFrame:
    """What each method does, described from the parts it recorded (first run per method), never
    from its hand-written summary (a config variant inherits its base's). A population-relative
    method's scores compare only within one scoring job (e.g. AZ-NAS's log-ranks)."""
    seen: dict[str, dict[str, Any]] = {}
    for space in results.spaces:
        for run in space.runs:
            parts = run.parts
            if not parts.raw or run.method in seen:
                continue
            options = {k: v for k, v in parts.options.items() if k != "statistic"}
            what = describe_method(parts.raw) + ("; population-relative scores" if parts.population_relative else "")
            seen[run.method] = {"method": run.method, "what it does": what,
                                "scorer options": ", ".join(f"{k} = {v}" for k, v in sorted(options.items()))}
    return pd.DataFrame(list(seen.values()))


def published_table() -> pd.DataFrame:
    """The paper numbers as published (every digit kept: 473.5M FLOPs stays 473.5)."""
    table = pd.DataFrame(PUBLISHED)
    for column in ["top1_pct", "flops_M", "params_M"]:
        table[column] = [f"{v:g}" if pd.notna(v) else None for v in table[column]]
    return table.rename(columns={"top1_pct": "published ImageNet top-1 (%)", "flops_M": "FLOPs (M)",
                                 "params_M": "params (M)"})


def run_summary(results: Results) -> list[dict[str, Any]]:
    """What was run, per space: the sample, the retrained truth, methods and seeds."""
    items = []
    for space in results.spaces:
        methods = space.methods
        seeds = sorted({run.seed for run in space.runs})
        if space.archs is None:
            sample = "search only (no ranking sample)"
        elif space.retrain is None:
            sample = f"{len(space.archs)} sampled archs; no retrained ground truth found"
        else:
            runs = space.retrain.groupby("arch_id").size()
            sample = (f"{len(space.archs)} sampled archs, {len(runs)} retrained from scratch "
                      f"({len(space.retrain)} training runs, {int((runs > 1).sum())} archs twice or more)")
        items.append({"space": space.name, "sample": sample, "methods": collapse(methods, 8) or "none",
                      "seeds": collapse(seeds) or "none"})
    return items

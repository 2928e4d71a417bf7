"""The results report: one self-contained index.html plus the merged correlations and costs.

Reads whatever exists under the results directory (patterns from harness.paths); every
missing optional input becomes a note in the page, never an error.
"""

from __future__ import annotations

import base64
import html
import importlib.metadata
import io
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from harness import paths  # noqa: E402
from harness.analysis.correlation import (ALL_SEEDS, BASELINE, BEST_CHEAP, CORRELATION_COLUMNS, DIFF_PREFIX,  # noqa: E402
                                          PERFECT_SCORER, RETRAINING_RELIABILITY, mean_truth)
from harness.io import atomic_path, read_json, write_csv  # noqa: E402
from harness.groundtruth.nats_bench import SPACES as NATS_SPACES  # noqa: E402
from harness.workflow.plan import manifest_files  # noqa: E402
from harness.analysis.paper import PUBLISHED  # noqa: E402
from harness.analysis.verdicts import difference_outcome, train_cpu_seconds, train_time_column, verdicts_table  # noqa: E402
from harness.report.bn_section import bn_indicator_blocks  # noqa: E402
from harness.report.claims import verdicts_display  # noqa: E402
from harness.report.figures import cost_figure, curve_figure, forest_figure, pareto_figure, scatter_figure  # noqa: E402
from harness.report.tables import collapse, describe_method, humanize, seed_spread, table_html, write_table  # noqa: E402

BASELINE_METHOD = "spos"
COST_COLUMNS = [
    "space", "method", "seed", "epochs", "steps", "train_time_s", "train_cpu_time_s", "trainable_params",
    "total_params", "baseline", "time_per_arch_s", "train_speedup_vs_baseline", "scoring_speedup_vs_baseline",
]  # fmt: skip
TABLE_METRICS = {"kendall_tau": "Kendall τ [CI]", "spearman_rho": "Spearman ρ [CI]"}
LIBRARIES = ["torch", "numpy", "pandas", "scipy", "seaborn", "matplotlib", "snakemake"]
PROTOCOL_COLUMNS = ["epochs", "batch_size", "lr", "train_images", "test_images", "threads"]
FIGURES_DIR = Path(paths.REPORT_FIGURES).name
TABLES_DIR = Path(paths.REPORT_TABLES).name


def method_order(method: str) -> tuple[bool, str]:
    """Sort key that puts the baseline first, then the other methods by name."""
    return method != BASELINE_METHOD, method


# ---------------------------------------------------------------------------------------- load


@dataclass
class Run:
    """One (method, seed) directory; any of its files may be missing."""

    method: str
    seed: int
    train: dict[str, Any] | None
    scoring: dict[str, Any] | None
    scores: pd.DataFrame | None
    search: dict[str, Any] | None = None
    final: pd.DataFrame | None = None


@dataclass
class Space:
    name: str
    archs: pd.DataFrame | None
    runs: list[Run]
    retrain: pd.DataFrame | None
    correlations: pd.DataFrame | None
    nats_records: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Results:
    root: Path
    config: dict[str, Any] | None
    dataset: dict[str, Any] | None
    spaces: list[Space]


def optional_json(path: Path) -> Any:
    return read_json(path) if path.is_file() else None


def optional_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.is_file() else None


# What is read comes from the manifest (harness/workflow/plan.py build_manifest): the files of the runs
# the config plans, never whatever else lies under the results directory.


def _file(root: Path, relative: str | None) -> Path | None:
    return root / relative if relative else None


def load_run(root: Path, entry: dict[str, Any]) -> Run:
    files = {key: _file(root, value) for key, value in entry["files"].items()}
    return Run(
        method=entry["method"],
        seed=int(entry["seed"]),
        train=optional_json(files["train"]) if files.get("train") else None,
        scoring=optional_json(files["scoring"]) if files.get("scoring") else None,
        scores=optional_csv(files["scores"]) if files.get("scores") else None,
        search=optional_json(files["search"]) if files.get("search") else None,
        final=optional_csv(files["final"]) if files.get("final") else None,
    )


def load_space(root: Path, entry: dict[str, Any]) -> Space:
    runs = sorted(entry["runs"], key=lambda run: (method_order(run["method"]), int(run["seed"])))
    return Space(
        name=entry["name"],
        archs=optional_csv(root / entry["archs"]) if entry["archs"] else None,
        runs=[load_run(root, run) for run in runs],
        retrain=optional_csv(root / entry["retrain"]) if entry["retrain"] else None,
        correlations=optional_csv(root / entry["correlations"]) if entry["correlations"] else None,
        nats_records=[record for p in entry["nats_records"] if (record := optional_json(root / p)) is not None],
    )


def load_results(root: Path, manifest: dict[str, Any]) -> Results:
    return Results(
        root=root,
        config=optional_json(root / manifest["run_config"]),
        dataset=optional_json(root / manifest["dataset_meta"]),
        spaces=[load_space(root, entry) for entry in sorted(manifest["spaces"], key=lambda e: e["name"])],
    )


# -------------------------------------------------------------------------------------- tables


def all_correlations(results: Results) -> pd.DataFrame:
    frames = [s.correlations for s in results.spaces if s.correlations is not None]
    if not frames:
        return pd.DataFrame(columns=CORRELATION_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def baseline_of(run: Run) -> str:
    """The baseline a run's costs are compared with: its Method's `baseline` field (as recorded
    with the run), or the method itself if it is its own baseline."""
    method = (run.train or run.scoring or {}).get("method", {})
    return method.get("baseline") or run.method


def cost_row(space: str, run: Run) -> dict[str, Any]:
    train = run.train or {}
    scoring = run.scoring or {}
    return {
        "space": space,
        "method": run.method,
        "seed": run.seed,
        "baseline": baseline_of(run),
        "epochs": train.get("epochs"),
        "steps": train.get("steps"),
        "train_time_s": train.get("train_time_s", 0.0 if run.train is None and run.scoring else None),
        "train_cpu_time_s": train_cpu_seconds(train),
        "trainable_params": train.get("trainable_params"),
        "total_params": train.get("total_params"),
        "time_per_arch_s": scoring.get("time_per_arch_s"),
    }


def costs_table(results: Results) -> pd.DataFrame:
    """One row per (space, method, seed), with speed-ups against its baseline (spos or fairnas)
    of the same space and seed: baseline time / this time (NaN where the baseline did not run);
    the training speed-up from the time that train_time_column picks (CPU seconds on a CPU)."""
    rows = [cost_row(space.name, run) for space in results.spaces for run in space.runs]
    if not rows:
        return pd.DataFrame(columns=COST_COLUMNS)
    costs = pd.DataFrame(rows)
    for column in ["epochs", "train_time_s", "train_cpu_time_s", "time_per_arch_s"]:
        costs[column] = costs[column].astype(float)
    for column in ["steps", "trainable_params", "total_params"]:
        costs[column] = costs[column].astype("Int64")
    train_column = train_time_column(costs)
    timed = costs[["space", "seed", "method", train_column, "time_per_arch_s"]].rename(columns={"method": "baseline"})
    merged = costs.merge(timed, on=["space", "seed", "baseline"], how="left", suffixes=("", "_base"))
    trains = merged[train_column].where(merged["train_time_s"] > 0)  # no supernet: no training speed-up
    costs["train_speedup_vs_baseline"] = (merged[f"{train_column}_base"] / trains).to_numpy()
    costs["scoring_speedup_vs_baseline"] = (merged["time_per_arch_s_base"] / merged["time_per_arch_s"]).to_numpy()
    return costs[COST_COLUMNS]


def comparison_table(results: Results, costs: pd.DataFrame) -> pd.DataFrame:
    """The paper's comparison, one row per space x method: the searched architecture (rank 0 of
    each seed's evolution) retrained from scratch, its FLOPs and params, and what the search
    cost, with speed-ups of each method against its baseline."""
    rows = []
    for space in results.spaces:
        for method in dict.fromkeys(run.method for run in space.runs if run.final is not None):
            runs = [r for r in space.runs if r.method == method and r.final is not None and r.search]
            best = pd.concat([r.final[r.final["rank"] == 0] for r in runs])
            evolution = [r.search["evolution"] for r in runs]
            evaluated = sum(e["evaluated"] for e in evolution)
            cost = costs[(costs["space"] == space.name) & (costs["method"] == method)]
            rows.append({
                "space": space.name, "method": method, "seeds": len(runs),
                "top1_pct_mean": 100 * best["test_acc"].mean(),
                "top1_pct_std": 100 * best["test_acc"].std(ddof=1),  # NaN for one seed: no spread
                "flops_M": best["flops_M"].mean(), "params_M": best["params_M"].mean(),
                "supernet_train_time_s": cost["train_time_s"].mean(),
                "supernet_train_cpu_time_s": cost["train_cpu_time_s"].mean(),
                "search_time_s": sum(e["wall_time_s"] for e in evolution) / len(runs),
                "subnets_evaluated": evaluated / len(runs),
                "time_per_subnet_eval_s": sum(e["score_time_s"] for e in evolution) / max(evaluated, 1),
                "baseline": cost["baseline"].iloc[0] if len(cost) else method,
            })
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    train_column = "supernet_" + train_time_column(costs)
    base = table[["space", "method", train_column, "time_per_subnet_eval_s"]].rename(columns={"method": "baseline"})
    merged = table.merge(base, on=["space", "baseline"], how="left", suffixes=("", "_base"))
    table["train_speedup_vs_baseline"] = (merged[f"{train_column}_base"] / merged[train_column]).to_numpy()
    table["eval_speedup_vs_baseline"] = (merged["time_per_subnet_eval_s_base"] / merged["time_per_subnet_eval_s"]).to_numpy()
    return table


def published_table() -> pd.DataFrame:
    """The paper numbers as published (every digit kept: 473.5M FLOPs stays 473.5)."""
    table = pd.DataFrame(PUBLISHED)
    for column in ["top1_pct", "flops_M", "params_M"]:
        table[column] = [f"{v:g}" if pd.notna(v) else None for v in table[column]]
    return table.rename(columns={"top1_pct": "published ImageNet top-1 (%)", "flops_M": "FLOPs (M)",
                                 "params_M": "params (M)"})


def cheap_answers_table(space: Space, costs: pd.DataFrame) -> pd.DataFrame:
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

        for _, row in group[~group["method"].isin([RETRAINING_RELIABILITY, PERFECT_SCORER])].iterrows():
            cost = costs[(costs["space"] == space.name) & (costs["method"] == row["method"])]
            rows.append({
                "ground truth": truth, "method": row["method"], "seeds": row.get("seeds", 1), "n": row["n"],
                "Kendall τ [CI]": format_ci(row["value"], row["ci_low"], row["ci_high"]),
                "CI over": row.get("ci_sources", "architectures"),
                "vs its baseline": versus(row["method"], BASELINE),
                "vs the best cheap answer": versus(row["method"], BEST_CHEAP),
                "retraining reliability τ": reference(RETRAINING_RELIABILITY),
                "perfect-scorer ceiling τ": reference(PERFECT_SCORER),
                "supernet train s": cost["train_time_s"].mean() if len(cost) else float("nan"),
                "score s / arch": cost["time_per_arch_s"].mean() if len(cost) else float("nan"),
            })
    return pd.DataFrame(rows)


def ablation_table(space: Space) -> pd.DataFrame:
    """BN-NAS variants (every run scored by the BN indicator) side by side: what each changes and
    its tau at the final checkpoint against each ground truth."""
    if space.correlations is None:
        return pd.DataFrame()
    final = final_checkpoint_rows(space.correlations)
    tau = final[final["metric"] == "kendall_tau"]
    rows = []
    for run in space.runs:
        method = (run.train or {}).get("method", {})
        if method.get("scorer") != "bn_indicator":
            continue
        row = {"method": run.method, "seed": run.seed, "what it changes": describe_method(method, space.name)}
        for _, cell in tau[(tau["method"] == run.method) & (tau["seed"] == run.seed)].iterrows():
            row[f"τ vs {cell['ground_truth']}"] = format_ci(cell["value"], cell["ci_low"], cell["ci_high"])
        rows.append(row)
    return pd.DataFrame(rows)


def nats_query_table(space: Space) -> pd.DataFrame:
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


def format_ci(value: float, low: float, high: float) -> str:
    """Value and CI as `0.512 [0.41, 0.60]`; just the value when the CI is undefined."""
    if pd.isna(value):
        return "n/a"
    if pd.isna(low) or pd.isna(high):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.2f}, {high:.2f}]"


def final_checkpoint_rows(correlations: pd.DataFrame) -> pd.DataFrame:
    """Each (ground truth, method, seed)'s rows at its largest checkpoint."""
    keys = ["ground_truth", "method", "seed"]
    final = correlations.groupby(keys, sort=False)["checkpoint"].transform("max")
    return correlations[correlations["checkpoint"] == final]


def final_correlation_table(correlations: pd.DataFrame) -> pd.DataFrame:
    """Display table: tau and rho per method at its final checkpoint, mean over its seeds with a CI
    over seeds and architectures (the seed -1 rows; each seed's own rows are in correlations.csv);
    the ground truth's retraining reliability and perfect-scorer ceiling last."""
    shown = correlations[(correlations["seed"] == ALL_SEEDS)
                         | correlations["method"].isin([RETRAINING_RELIABILITY, PERFECT_SCORER])]
    final = final_checkpoint_rows(shown[shown["metric"].isin(list(TABLE_METRICS))])
    references = {RETRAINING_RELIABILITY: "retraining reliability (retrain seed vs seed; not a ceiling)",
                  PERFECT_SCORER: "perfect-scorer ceiling (expected τ of a scorer knowing expected accuracy)"}
    rows = []
    for (truth, method, _), group in final.groupby(["ground_truth", "method", "seed"], sort=False):
        reference = method in references
        by_metric = group.set_index("metric")
        row = {
            "method": references.get(method, method),
            "seeds": "" if reference else str(group["seeds"].iloc[0]) if "seeds" in group else "1",
            "checkpoint": "" if reference else str(group["checkpoint"].iloc[0]),
            "epoch": "" if reference else f"{group['epoch'].iloc[0]:.2f}",
            "ground truth": truth,
            "n": str(group["n"].iloc[0]),
            "CI over": group["ci_sources"].iloc[0] if "ci_sources" in group else "architectures",
        }
        for metric, label in TABLE_METRICS.items():
            cells = by_metric.loc[metric] if metric in by_metric.index else None
            row[label] = "" if cells is None else format_ci(cells["value"], cells["ci_low"], cells["ci_high"])
        rows.append(((reference, method_order(method)), row))
    rows.sort(key=lambda pair: pair[0])
    return pd.DataFrame([row for _, row in rows])


def distinct(values: pd.Series) -> str:
    return ", ".join(str(v) for v in sorted(values.dropna().unique()))


def protocol_table(retrain: pd.DataFrame) -> pd.DataFrame:
    """How the ground truth was produced, read off the retraining records themselves."""
    runs = retrain.groupby("arch_id").size()
    seeds = sorted(retrain["seed"].dropna().unique())
    row = {
        "archs": str(retrain["arch_id"].nunique()),
        "training runs": str(len(retrain)),
        "archs trained more than once": str(int((runs > 1).sum())),
        "seeds": collapse(seeds),
    }
    for column in PROTOCOL_COLUMNS:
        if column in retrain.columns:
            row[column.replace("_", " ")] = collapse(sorted(retrain[column].dropna().unique()))
    if "train_time_s" in retrain.columns:
        row["total train time (h)"] = f"{retrain['train_time_s'].sum() / 3600:.2f}"
    return pd.DataFrame([row])


def methods_table(results: Results) -> pd.DataFrame:
    """What each method does, described from the parts recorded in its train.json (or, for a
    method without a supernet, its scoring record; first record per method), never from its
    hand-written summary (a config variant inherits its base's). A population-relative method's
    scores compare only within one scoring job (e.g. AZ-NAS's log-ranks)."""
    seen: dict[str, dict[str, Any]] = {}
    for space in results.spaces:
        for run in space.runs:
            record = run.train if run.train and "method" in run.train else run.scoring
            if record and "method" in record and run.method not in seen:
                parts = record["method"]
                options = {k: v for k, v in (parts.get("options") or {}).items() if k != "statistic"}
                what = describe_method(parts) + ("; population-relative scores" if parts.get("population_relative") else "")
                seen[run.method] = {"method": run.method, "what it does": what,
                                    "scorer options": ", ".join(f"{k} = {v}" for k, v in sorted(options.items()))}
    return pd.DataFrame(list(seen.values()))


def library_versions() -> pd.DataFrame:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return pd.DataFrame({"library": list(versions), "version": list(versions.values())})


# ------------------------------------------------------------------------------ figure data


def run_labels(space: Space) -> dict[tuple[str, int], str]:
    """Legend label per run: the method name, or `method · seed s` once a method has several seeds."""
    methods = [run.method for run in space.runs]
    several = len(methods) != len(set(methods))
    return {(r.method, r.seed): f"{r.method} · seed {r.seed}" if several else r.method for r in space.runs}


def conv_ops(arch_str: str) -> int:
    """How many of the arch's chosen ops are convolutions (op names containing 'conv')."""
    return sum("conv" in token for token in str(arch_str).replace("+", "|").split("|") if token)


def final_scores_vs_truth(space: Space) -> pd.DataFrame:
    """score, mean retrained test_acc and conv-op count per arch, every run at its final checkpoint."""
    if space.retrain is None:
        return pd.DataFrame()
    truth = mean_truth(space.retrain).rename("test_acc")
    labels = run_labels(space)
    frames = []
    for run in space.runs:
        if run.scores is None or run.scores.empty:
            continue
        final = run.scores[run.scores["checkpoint"] == run.scores["checkpoint"].max()]
        joined = final.join(truth, on="arch_id", how="inner")
        frames.append(joined.assign(run=labels[(run.method, run.seed)], conv_ops=joined["arch_str"].map(conv_ops)))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def forest_data(results: Results) -> pd.DataFrame:
    """Final-checkpoint tau with CI of every run against every ground truth, one label per run."""
    frames = []
    several_spaces = len(results.spaces) > 1
    for space in results.spaces:
        if space.correlations is None or space.correlations.empty:
            continue
        correlations = space.correlations
        shown = correlations[(correlations["seed"] == ALL_SEEDS)
                             | correlations["method"].isin([RETRAINING_RELIABILITY, PERFECT_SCORER])]
        tau = final_checkpoint_rows(shown[shown["metric"] == "kendall_tau"]).copy()
        labels = run_labels(space)
        names = [("retraining reliability" if m == RETRAINING_RELIABILITY else "perfect-scorer ceiling" if m == PERFECT_SCORER
                  else labels.get((m, int(s)), m)) for m, s in zip(tau["method"], tau["seed"])]
        tau["label"] = [n if (not several_spaces or n == "retraining reliability") else f"{space.name}: {n}" for n in names]
        tau["ground_truth"] = [f"{space.name}: {t}" if several_spaces else t for t in tau["ground_truth"]]
        tau["order"] = [method_order(m) for m in tau["method"]]
        frames.append(tau.sort_values("order", kind="stable"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def curve_data(space: Space, truth: str) -> pd.DataFrame:
    """Tau per checkpoint against `truth` with the supernet training step of each checkpoint (from
    train.json), for every run with several checkpoints; plus the retraining reliability."""
    correlations = space.correlations
    tau = correlations[(correlations["metric"] == "kendall_tau") & (correlations["ground_truth"] == truth)]
    labels = run_labels(space)
    frames = []
    for run in space.runs:
        steps = {c["checkpoint"]: c.get("step") for c in (run.train or {}).get("checkpoints", [])}
        line = tau[(tau["method"] == run.method) & (tau["seed"] == run.seed)]
        if line["checkpoint"].nunique() < 2 or not steps:
            continue
        frames.append(line.assign(label=labels[(run.method, run.seed)], step=line["checkpoint"].map(steps)))
    if not frames:
        return pd.DataFrame()
    ceiling = tau[tau["method"] == RETRAINING_RELIABILITY].assign(label="retraining reliability", step=float("nan"))
    return pd.concat(frames + [ceiling], ignore_index=True)


def pareto_points(results: Results, space: Space) -> pd.DataFrame:
    """The searched architecture (rank 0) of every (method, seed): FLOPs and retrained top-1."""
    rows = [{"method": run.method, "seed": run.seed, "flops_M": best["flops_M"], "top1_pct": 100 * best["test_acc"]}
            for run in space.runs if run.final is not None
            for _, best in run.final[run.final["rank"] == 0].iterrows()]
    return pd.DataFrame(rows)


def cost_data(costs: pd.DataFrame, space: Space) -> pd.DataFrame:
    part = costs[costs["space"] == space.name]
    labels = run_labels(space)
    return pd.DataFrame({"label": [labels.get((m, int(s)), m) for m, s in zip(part["method"], part["seed"])],
                         "train_time_s": part["train_time_s"].to_numpy(),
                         "time_per_arch_s": part["time_per_arch_s"].to_numpy()})


# ----------------------------------------------------------------------------------- sections

Content = pd.DataFrame | Figure | str  # a table, a figure, or a note saying why there is none


@dataclass
class Block:
    """One titled table, figure or note of the page; `key` names its file under tables/ or figures/."""

    title: str
    content: Content
    key: str
    intro: str = ""
    level: int = 3


# Sections that other parts of the harness plug in: each gets the loaded results and returns
# (title, table or figure) pairs, shown after the per-space sections, before the methods.
SectionFn = Callable[[Results], Iterable[tuple[str, pd.DataFrame | Figure]]]
EXTRA_SECTIONS: list[SectionFn] = []


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def verdict_blocks(verdicts: pd.DataFrame) -> list[Block]:
    return [Block("Verdicts", verdicts_display(verdicts), "verdicts", level=2,
                  intro="Each claim of the BN-NAS paper, judged on this run (harness.analysis.verdicts; also "
                        "report/verdicts.csv): confirmed, refuted, or inconclusive at this scale, with the reason.")]


def headline_figure(results: Results) -> Block:
    forest = forest_data(results)
    if forest.empty:
        return Block("Kendall τ of every method", "No correlations yet: nothing to plot.", "forest-tau")
    return Block("Kendall τ of every method, with its bootstrap CI", forest_figure(forest), "forest-tau",
                 intro="Final checkpoint of each run; one marker per ground truth. Zero = no better than chance.")


def comparison_blocks(results: Results, comparison: pd.DataFrame) -> list[Block]:
    if comparison.empty:
        return []
    shown = comparison.copy()
    shown["top1_pct_std"] = [seed_spread(s, n) for s, n in zip(shown["top1_pct_std"], shown["seeds"])]
    blocks = [Block("Searched architectures retrained from scratch", humanize(shown), "comparison", level=2,
                    intro="Per space and method: the top architecture of the evolutionary search under the FLOPs "
                          "budget, retrained from scratch (test-split top-1, mean over supernet seeds), its FLOPs "
                          "and params, the search cost, and the speed-ups against the baseline.")]
    published = published_table()
    for space in results.spaces:
        points = pareto_points(results, space)
        if points.empty:
            continue
        paper = pd.DataFrame(PUBLISHED)
        paper = paper[paper["space"] == space.name]
        intro = ("Stars: the paper's ImageNet numbers on this space." if len(paper) else
                 f"No paper numbers on {space.name} (published ones are ImageNet on the MobileNet spaces): "
                 "none marked.")
        blocks.append(Block(f"{space.name}: searched accuracy vs FLOPs", pareto_figure(points, paper),
                            f"{slug(space.name)}-pareto", intro=intro))
    blocks.append(Block("Published ImageNet numbers (for reference; not measured by this run)", published,
                        "published"))
    return blocks


def space_blocks(space: Space, costs: pd.DataFrame) -> list[Block]:
    key = slug(space.name)
    blocks = [Block(f"Space {space.name}", "", key, level=2)]
    if space.correlations is None or space.correlations.empty:
        blocks.append(Block("Rank correlation at the final checkpoint",
                            f"No {paths.CORRELATIONS.format(space=space.name)}: run the correlate step.", f"{key}-corr"))
    else:
        blocks.append(Block("Rank correlation at the final checkpoint", final_correlation_table(space.correlations),
                            f"{key}-correlation"))
    cheap = cheap_answers_table(space, costs)
    if not cheap.empty:
        blocks.append(Block("Does it beat the cheap answers?", cheap, f"{key}-cheap-answers",
                            intro="Every method's τ, mean over its seeds, with its paired τ difference against its baseline "
                                  "(BN-NAS vs SPOS, BN-NAS on the fair sampler vs FairNAS) and against the best "
                                  "cheap answer (the trivial or zero-cost method with the highest τ, chosen on the "
                                  "point estimate). \"beats\" = the CI of the difference lies above 0, \"worse\" = "
                                  "below 0; otherwise no detectable difference. Retraining reliability is seed-vs-seed "
                                  "agreement of the ground truth; the perfect-scorer ceiling is the τ a scorer that "
                                  "knows each architecture's expected accuracy would reach against it."))
    ablation = ablation_table(space)
    if len(ablation) > 1:
        blocks.append(Block("BN-NAS ablations", ablation, f"{key}-ablations"))
    blocks += [Block(title, content, f"{key}-{slug(title)}", intro=intro) for title, content, intro in bn_indicator_blocks(space)]
    queried = nats_query_table(space)
    if not queried.empty:
        blocks.append(Block("NATS-Bench ground truth: what was queried", queried, f"{key}-nats-bench",
                            intro="The supernets were trained on the run's dataset, not on these benchmark datasets: "
                                  "correlations against NATS-Bench are proxy-dataset results."))
    elif space.name in NATS_SPACES:
        blocks.append(Block("NATS-Bench ground truth",
                            space.nats_records[0]["note"] if space.nats_records else
                            "No NATS-Bench ground truth was planned for this space (nats_bench.datasets is empty).",
                            f"{key}-nats-bench"))
    space_costs = costs[costs["space"] == space.name].drop(columns="space")
    if space_costs.empty:
        blocks.append(Block("Cost", "No method runs found for this space.", f"{key}-cost"))
    else:
        blocks.append(Block("Cost", humanize(space_costs), f"{key}-cost",
                            intro="Speed-up = baseline time / method time (baseline: spos, or fairnas for methods on "
                                  "the strict-fairness sampler; same space and seed). The training speed-up compares "
                                  "CPU seconds when every supernet trained on a CPU (wall time grows with whatever "
                                  "else shares the cores), wall seconds otherwise."))
        timed = cost_data(costs, space)
        if (timed[["train_time_s", "time_per_arch_s"]] > 0).any().any():
            blocks.append(Block("Cost on a log scale", cost_figure(timed), f"{key}-cost-log"))
    scatter = final_scores_vs_truth(space)
    blocks.append(Block("Score vs retrained accuracy at the final checkpoint",
                        scatter_figure(scatter) if not scatter.empty else
                        "No scatter: needs scores.csv of some run and groundtruth/retrain.csv.", f"{key}-scatter"))
    truths = [] if space.correlations is None else [t for t in dict.fromkeys(space.correlations["ground_truth"])
                                                    if not str(t).startswith("all-")]
    curves = 0
    for truth in truths:
        data = curve_data(space, truth)
        if not data.empty:
            curves += 1
            blocks.append(Block(f"Early-bird curve: Kendall τ vs training steps (ground truth: {truth})",
                                curve_figure(data), f"{key}-early-bird-{slug(truth)}"))
    if not curves:
        blocks.append(Block("Early-bird curve", "No curve: no run with several checkpoints has correlations "
                                                "for this space.", f"{key}-early-bird"))
    return blocks


def extra_blocks(results: Results) -> list[Block]:
    return [Block(title, content, slug(title)) for make in EXTRA_SECTIONS for title, content in make(results)]


def methods_block(results: Results) -> Block:
    methods = methods_table(results)
    if methods.empty:
        return Block("Methods", "No train.json found: method parts unknown.", "methods", level=2)
    return Block("Methods", methods, "methods", level=2,
                 intro="What each method does, generated from the parts it recorded in train.json.")


# --------------------------------------------------------------------------------- provenance


def git_state(repo: Path) -> dict[str, str]:
    """The checkout's commit and whether its tree had uncommitted changes (at report time)."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"commit": "unknown (not a git checkout)", "dirty": "unknown"}
    return {"commit": commit[:12], "dirty": "yes (uncommitted changes)" if git("status", "--porcelain") else "no"}


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name: the first "model name" of /proc/cpuinfo (`cpuinfo`, its text, read
    when None), else platform.processor(), else "unknown"."""
    if cpuinfo is None:
        source = Path("/proc/cpuinfo")
        cpuinfo = source.read_text(errors="replace") if source.is_file() else ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or "unknown"


def hardware() -> dict[str, str]:
    """The report job's machine. The CPU model and torch's CPU capability (the vector kernels it
    picked) are here because float results of long training differ between hosts: README,
    "Across hosts"."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else float("nan")
    try:
        import torch

        accelerator = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)"
        capability = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        accelerator = capability = "unknown (no torch)"
    return {"machine": platform.machine(), "system": platform.platform(terse=True), "CPU model": cpu_model(),
            "torch CPU capability": capability, "CPU cores": str(os.cpu_count()),
            "memory (GiB)": f"{memory:.0f}", "GPU": accelerator}


def run_times(results: Results) -> dict[str, str]:
    """Compute time per stage, summed from the run's own records, and the elapsed wall time."""
    train = sum((r.train or {}).get("train_time_s", 0.0) for s in results.spaces for r in s.runs)
    scoring = sum((r.scoring or {}).get("score_time_s", 0.0) for s in results.spaces for r in s.runs)
    search = sum((r.search or {}).get("evolution", {}).get("wall_time_s", 0.0) for s in results.spaces for r in s.runs)
    retrain = sum(s.retrain["train_time_s"].sum() for s in results.spaces
                  if s.retrain is not None and "train_time_s" in s.retrain.columns)
    rows = {"supernet training (s)": train, "scoring (s)": scoring, "search (s)": search,
            "ground-truth retraining (s)": retrain}
    shown = {k: f"{v:,.1f}" for k, v in rows.items()}
    start = results.root / paths.RUN_CONFIG
    report_dir = results.root / Path(paths.REPORT_HTML).parent
    written = [p.stat().st_mtime for p in results.root.rglob("*") if p.is_file() and report_dir not in p.parents]
    if start.is_file() and written:
        elapsed = max(written) - start.stat().st_mtime
        shown["wall time: run_config.json to the last result (s)"] = f"{elapsed:,.0f}"
    return shown


def dataset_files(dataset: dict[str, Any] | None) -> pd.DataFrame:
    """The dataset's files with their SHA-256 (provenance.files of data/dataset.json)."""
    dataset = dataset or {}
    files = (dataset.get("provenance") or {}).get("files") or dataset.get("files") or []
    if isinstance(files, dict):  # {name: {sha256: ...}}
        files = [{"path": name, **(info if isinstance(info, dict) else {"sha256": info})} for name, info in files.items()]
    return pd.DataFrame([{"file": str(f.get("path", "")), "bytes": f.get("bytes"), "SHA-256": str(f.get("sha256", ""))}
                         for f in files]).dropna(axis=1, how="all")


def key_value(pairs: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({"": list(pairs), "value": [str(v) for v in pairs.values()]})


def provenance_blocks(results: Results, argv: list[str]) -> list[Block]:
    repo = Path(__file__).resolve().parents[2]  # harness/report/page.py -> repository root
    record = results.dataset or {}
    dataset = {"dataset": record.get("dataset"), **(record.get("config") or {})} if record else {}
    dataset = {k.replace("_", " "): v for k, v in dataset.items() if v is not None and not isinstance(v, (dict, list))}
    blocks = [
        Block("Provenance", "", "provenance", level=2),
        Block("Code and command", key_value({**git_state(repo), "report command": " ".join(argv),
                                             "results": str(results.root)}), "provenance-code"),
        Block("Hardware (report job's machine)", key_value(hardware()), "provenance-hardware"),
        Block("Time", key_value(run_times(results)), "provenance-time",
              intro="Compute summed from the run's own records; elapsed includes queueing and pauses."),
        Block("Library versions", library_versions(), "provenance-libraries"),
        Block("Dataset", key_value(dataset) if dataset else f"No {paths.DATASET_META}.", "provenance-dataset"),
    ]
    files = dataset_files(results.dataset)
    if not files.empty:
        blocks.append(Block("Dataset files", files, "provenance-dataset-files"))
    for space in results.spaces:
        if space.retrain is not None:
            blocks.append(Block(f"Ground-truth protocol: {space.name}", protocol_table(space.retrain),
                                f"provenance-protocol-{slug(space.name)}"))
    return blocks


# ---------------------------------------------------------------------------------------- html

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 1.5em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; font-size: 1.5em; margin-top: 0; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #aaa; }
.table-wrap { max-width: 100%; overflow-x: auto; margin: .4em 0 1.2em; }
table { border-collapse: collapse; font-size: .85em; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; text-align: left !important; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .8em; max-width: 100%; }
.note { color: #8a4b00; font-style: italic; }
.lead { font-size: 1.05em; }
img { max-width: 100%; height: auto; }
details { margin: .6em 0; }
summary { cursor: pointer; color: #0645ad; }
"""


def h(text: Any) -> str:
    return html.escape(str(text))


def note(text: str) -> str:
    return f'<p class="note">{h(text)}</p>'


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def block_html(block: Block, figures: dict[str, bytes]) -> str:
    head = f"<h{block.level} id=\"{h(block.key)}\">{h(block.title)}</h{block.level}>"
    intro = f"<p>{h(block.intro)}</p>" if block.intro else ""
    content = block.content
    if isinstance(content, Figure):
        data = base64.b64encode(figures[block.key]).decode("ascii")
        body = f'<img alt="{h(block.title)}" src="data:image/png;base64,{data}">'
    elif isinstance(content, pd.DataFrame):
        body = table_html(content)
    else:
        body = note(content) if content else ""
    return head + intro + body


def summary_html(results: Results) -> str:
    dataset = (results.dataset or {}).get("dataset", "unknown (no data/dataset.json)")
    items = [f"<li>Dataset: {h(dataset)}</li>"]
    for space in results.spaces:
        methods = list(dict.fromkeys(run.method for run in space.runs))
        seeds = sorted({run.seed for run in space.runs})
        if space.archs is None:
            sample = "search only (no ranking sample)"
        elif space.retrain is None:
            sample = f"{len(space.archs)} sampled archs; no {paths.GT_RETRAIN.format(space=space.name)} found"
        else:
            runs = space.retrain.groupby("arch_id").size()
            sample = (f"{len(space.archs)} sampled archs, {len(runs)} retrained from scratch "
                      f"({len(space.retrain)} training runs, {int((runs > 1).sum())} archs twice or more)")
        items.append(f"<li><b>{h(space.name)}</b>: {h(sample)}; methods {h(collapse(methods, 8) or 'none')}; "
                     f"supernet seeds {h(collapse(seeds) or 'none')}</li>")
    return ('<p class="lead">Each method trains a one-shot supernet (or none) and scores a fixed sample of '
            "architectures; the scores are ranked against the same architectures retrained from scratch "
            "(Kendall τ, Spearman ρ, percentile bootstrap CIs over architectures).</p>"
            f"<ul>{''.join(items)}</ul>")


def raw_json_html(results: Results) -> str:
    parts = []
    for title, obj, missing in [("Dataset record (raw JSON)", results.dataset, paths.DATASET_META),
                                ("Run configuration (raw JSON)", results.config, paths.RUN_CONFIG)]:
        if obj is None:
            parts.append(note(f"No {missing}."))
        else:
            text = h(json.dumps(obj, indent=2, sort_keys=True, default=str))
            parts.append(f"<details><summary>{h(title)}</summary><pre>{text}</pre></details>")
    return "\n".join(parts)


def page_blocks(results: Results, comparison: pd.DataFrame, costs: pd.DataFrame, verdicts: pd.DataFrame,
                argv: list[str]) -> list[Block]:
    """Every block of the page in order: the answer first (verdicts, then one figure)."""
    blocks = verdict_blocks(verdicts) + [headline_figure(results)]
    blocks += comparison_blocks(results, comparison)
    for space in results.spaces:
        blocks += space_blocks(space, costs)
    blocks += extra_blocks(results)
    blocks.append(methods_block(results))
    blocks += provenance_blocks(results, argv)
    return blocks


def render_html(results: Results, blocks: list[Block], figures: dict[str, bytes]) -> str:
    title = "BN-NAS vs SPOS: ranking architectures with a supernet"
    body = [f"<h1>{h(title)}</h1>"]
    if not results.spaces:
        body.append(note("No search-space results found under the results directory."))
    rendered = [block_html(block, figures) for block in blocks]
    # the answer first (page_blocks starts with the verdicts and one figure), then what was run
    body += rendered[:2] + ['<h2 id="what-was-run">What was run</h2>', summary_html(results)] + rendered[2:]
    body.append(raw_json_html(results))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{h(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def build_report(results_dir: Path, output_dir: Path, manifest: dict[str, Any], argv: list[str] | None = None) -> None:
    """Write index.html, correlations.csv, costs.csv, comparison.csv and verdicts.csv (names from
    harness.paths), every table as Markdown and LaTeX under tables/ and every figure as a PNG under
    figures/, from the files the manifest names (the configured runs, nothing else in results/)."""
    results = load_results(results_dir, manifest)
    costs = costs_table(results)
    comparison = comparison_table(results, costs)
    write_csv(all_correlations(results), output_dir / Path(paths.REPORT_CORRELATIONS).name)
    write_csv(costs, output_dir / Path(paths.REPORT_COSTS).name)
    write_csv(comparison, output_dir / Path(paths.REPORT_COMPARISON).name)
    verdicts = verdicts_table(results_dir, set(manifest_files(manifest)))
    write_csv(verdicts, output_dir / Path(paths.REPORT_VERDICTS).name)
    blocks = page_blocks(results, comparison, costs, verdicts, argv if argv is not None else sys.argv)
    figures = {b.key: png_bytes(b.content) for b in blocks if isinstance(b.content, Figure)}
    for key, data in figures.items():
        with atomic_path(output_dir / FIGURES_DIR / f"{key}.png") as tmp:
            tmp.write_bytes(data)
    (output_dir / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    for block in blocks:
        if isinstance(block.content, pd.DataFrame):
            write_table(block.content, output_dir / TABLES_DIR, block.key, block.title)
    (output_dir / TABLES_DIR).mkdir(parents=True, exist_ok=True)
    with atomic_path(output_dir / Path(paths.REPORT_HTML).name) as tmp:
        tmp.write_text(render_html(results, blocks, figures), encoding="utf-8")

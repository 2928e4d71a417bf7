"""What each run cost, and the paper's comparison of searched architectures, from the results
model: costs.csv and comparison.csv of the report, and the cost inputs of the verdicts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.results.model import Results, Run

COST_COLUMNS = [
    "space", "method", "seed", "epochs", "steps", "train_time_s", "train_cpu_time_s", "trainable_params",
    "total_params", "baseline", "time_per_arch_s", "train_speedup_vs_baseline", "scoring_speedup_vs_baseline",
]  # fmt: skip
SPEEDUPS = ["train_speedup_vs_baseline", "scoring_speedup_vs_baseline"]


def baselines(results: Results) -> set[str]:
    """The methods some run names as its baseline (Method.baseline, as recorded)."""
    return {run.parts.baseline for space in results.spaces for run in space.runs if run.parts.baseline}


def method_order(method: str, baseline_names: set[str]) -> tuple[bool, str]:
    """Sort key: the baselines first, then the other methods, each by name."""
    return method not in baseline_names, method


def ordered_runs(results: Results, runs: list[Run]) -> list[Run]:
    names = baselines(results)
    return sorted(runs, key=lambda run: (method_order(run.method, names), run.seed))


def train_time_column(costs: pd.DataFrame) -> str:
    """The training time a speed-up compares: "train_cpu_time_s" (CPU seconds, recorded for runs on
    a CPU device) when every run in `costs` that trained a supernet has it, else "train_time_s"
    (wall seconds). On a CPU, wall time grows with whatever else shares the cores (the default
    run trains two supernets at once on two cores), so a wall-time ratio moves with the load; the
    CPU time is the work done."""
    trained = costs[costs["train_time_s"].astype(float) > 0]
    has_cpu = "train_cpu_time_s" in costs.columns and trained["train_cpu_time_s"].notna().all()
    return "train_cpu_time_s" if has_cpu and len(trained) else "train_time_s"


def cost_row(space: str, run: Run) -> dict[str, Any]:
    train, scoring = run.train, run.scoring
    no_supernet = train is None and scoring is not None
    return {
        "space": space, "method": run.method, "seed": run.seed, "baseline": run.baseline,
        "epochs": train.epochs if train else None,
        "steps": train.steps if train else None,
        "train_time_s": train.train_time_s if train else (0.0 if no_supernet else None),
        "train_cpu_time_s": train.train_cpu_time_s if train else None,
        "trainable_params": train.trainable_params if train else None,
        "total_params": train.total_params if train else None,
        "time_per_arch_s": scoring.time_per_arch_s if scoring else None,
    }


def costs_table(results: Results) -> pd.DataFrame:
    """One row per (space, method, seed), with speed-ups against its baseline of the same space
    and seed: baseline time / this time (NaN where the baseline did not run); the training
    speed-up from the time that train_time_column picks (CPU seconds on a CPU)."""
    rows = [cost_row(space.name, run) for space in results.spaces for run in ordered_runs(results, space.runs)]
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
    costs.loc[costs["method"] == costs["baseline"], SPEEDUPS] = np.nan  # a baseline against itself: no speed-up
    return costs[COST_COLUMNS]


def comparison_table(results: Results, costs: pd.DataFrame) -> pd.DataFrame:
    """The paper's comparison, one row per space x method: the searched architecture (rank 0 of
    each seed's evolution) retrained from scratch, its FLOPs and params, and what the search
    cost, with speed-ups of each method against its baseline."""
    rows = []
    for space in results.spaces:
        for method in dict.fromkeys(run.method for run in ordered_runs(results, space.runs) if run.final is not None):
            runs = [r for r in space.runs if r.method == method and r.final is not None and r.search]
            if not runs:
                continue
            best = pd.concat([r.final[r.final["rank"] == 0] for r in runs])
            evaluated = sum(r.search.evaluated for r in runs)
            cost = costs[(costs["space"] == space.name) & (costs["method"] == method)]
            rows.append({
                "space": space.name, "method": method, "seeds": len(runs),
                "top1_pct_mean": 100 * best["test_acc"].mean(),
                "top1_pct_std": 100 * best["test_acc"].std(ddof=1),  # NaN for one seed: no spread
                "flops_M": best["flops_M"].mean(), "params_M": best["params_M"].mean(),
                "supernet_train_time_s": cost["train_time_s"].mean(),
                "supernet_train_cpu_time_s": cost["train_cpu_time_s"].mean(),
                "search_time_s": sum(r.search.wall_time_s for r in runs) / len(runs),
                "subnets_evaluated": evaluated / len(runs),
                "time_per_subnet_eval_s": sum(r.search.score_time_s for r in runs) / max(evaluated, 1),
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
    table.loc[table["method"] == table["baseline"], ["train_speedup_vs_baseline", "eval_speedup_vs_baseline"]] = np.nan
    return table


def in_report_order(results: Results) -> Results:
    """The results with spaces by name and each space's runs baselines first (then by name and
    seed): the order every table and figure of the report lists them in."""
    results.spaces.sort(key=lambda space: space.name)
    for space in results.spaces:
        space.runs = ordered_runs(results, space.runs)
    return results

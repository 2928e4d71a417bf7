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
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from harness import paths  # noqa: E402
from harness.commands.correlate import CORRELATION_COLUMNS, NOISE_CEILING, mean_truth  # noqa: E402
from harness.io import atomic_path, read_json, write_csv  # noqa: E402
from harness.metrics import kendall_tau  # noqa: E402
from harness.nats_bench import SPACES as NATS_SPACES  # noqa: E402
from harness.paper import PUBLISHED  # noqa: E402

BASELINE_METHOD = "spos"
COST_COLUMNS = [
    "space", "method", "seed", "epochs", "steps", "train_time_s", "trainable_params", "total_params",
    "baseline", "time_per_arch_s", "train_speedup_vs_baseline", "scoring_speedup_vs_baseline",
]  # fmt: skip
TABLE_METRICS = {"kendall_tau": "Kendall τ [CI]", "spearman_rho": "Spearman ρ [CI]"}
LIBRARIES = ["torch", "numpy", "pandas", "scipy", "seaborn", "matplotlib", "snakemake"]
PROTOCOL_COLUMNS = ["epochs", "batch_size", "lr", "train_images", "test_images", "threads"]
MARKERS = ["o", "s", "^", "D", "v", "P"]
METHOD_PARTS = ["summary", "sampler", "trainable", "epoch_fraction", "scorer", "options"]


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


# What is read comes from the manifest (harness/plan.py build_manifest): the files of the runs
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
        "trainable_params": train.get("trainable_params"),
        "total_params": train.get("total_params"),
        "time_per_arch_s": scoring.get("time_per_arch_s"),
    }


def costs_table(results: Results) -> pd.DataFrame:
    """One row per (space, method, seed), with speed-ups against its baseline (spos or fairnas)
    of the same space and seed: baseline time / this time (NaN where the baseline did not run)."""
    rows = [cost_row(space.name, run) for space in results.spaces for run in space.runs]
    if not rows:
        return pd.DataFrame(columns=COST_COLUMNS)
    costs = pd.DataFrame(rows)
    for column in ["epochs", "train_time_s", "time_per_arch_s"]:
        costs[column] = costs[column].astype(float)
    for column in ["steps", "trainable_params", "total_params"]:
        costs[column] = costs[column].astype("Int64")
    timed = costs[["space", "seed", "method", "train_time_s", "time_per_arch_s"]].rename(columns={"method": "baseline"})
    merged = costs.merge(timed, on=["space", "seed", "baseline"], how="left", suffixes=("", "_base"))
    trains = merged["train_time_s"].where(merged["train_time_s"] > 0)  # no supernet: no training speed-up
    costs["train_speedup_vs_baseline"] = (merged["train_time_s_base"] / trains).to_numpy()
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
                "top1_pct_std": 100 * best["test_acc"].std(ddof=0),
                "flops_M": best["flops_M"].mean(), "params_M": best["params_M"].mean(),
                "supernet_train_time_s": cost["train_time_s"].mean(),
                "search_time_s": sum(e["wall_time_s"] for e in evolution) / len(runs),
                "subnets_evaluated": evaluated / len(runs),
                "time_per_subnet_eval_s": sum(e["score_time_s"] for e in evolution) / max(evaluated, 1),
                "baseline": cost["baseline"].iloc[0] if len(cost) else method,
            })
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    base = table[["space", "method", "supernet_train_time_s", "time_per_subnet_eval_s"]].rename(columns={"method": "baseline"})
    merged = table.merge(base, on=["space", "baseline"], how="left", suffixes=("", "_base"))
    table["train_speedup_vs_baseline"] = (merged["supernet_train_time_s_base"] / merged["supernet_train_time_s"]).to_numpy()
    table["eval_speedup_vs_baseline"] = (merged["time_per_subnet_eval_s_base"] / merged["time_per_subnet_eval_s"]).to_numpy()
    return table


def published_table() -> pd.DataFrame:
    return pd.DataFrame(PUBLISHED).rename(columns={"top1_pct": "published ImageNet top-1 %"})


def trivial_methods(space: Space) -> set[str]:
    """Methods of kind "trivial" (Method.kind, as recorded with each run)."""
    return {run.method for run in space.runs if (run.scoring or run.train or {}).get("method", {}).get("kind") == "trivial"}


def cheap_answers_table(space: Space, costs: pd.DataFrame) -> pd.DataFrame:
    """Does it beat the cheap answers? Per ground truth: every method's tau and rho (final
    checkpoint) beside the best trivial baseline's tau and the noise ceiling, with its costs."""
    if space.correlations is None or space.correlations.empty:
        return pd.DataFrame()
    final = final_checkpoint_rows(space.correlations)
    tau = final[final["metric"] == "kendall_tau"]
    rho = final[final["metric"] == "spearman_rho"].set_index(["ground_truth", "method", "seed"])
    rows = []
    for truth, group in tau.groupby("ground_truth", sort=False):
        trivial = group[group["method"].isin(trivial_methods(space))].sort_values("value", ascending=False)
        best = trivial.iloc[0] if len(trivial) else None
        ceiling = group[group["method"] == NOISE_CEILING]
        for _, row in group[group["method"] != NOISE_CEILING].iterrows():
            cost = costs[(costs["space"] == space.name) & (costs["method"] == row["method"]) & (costs["seed"] == row["seed"])]
            r = rho.loc[(truth, row["method"], row["seed"])] if (truth, row["method"], row["seed"]) in rho.index else None
            rows.append({
                "ground truth": truth, "method": row["method"], "seed": row["seed"], "n": row["n"],
                "Kendall τ [CI]": format_ci(row["value"], row["ci_low"], row["ci_high"]),
                "Spearman ρ [CI]": "" if r is None else format_ci(r["value"], r["ci_low"], r["ci_high"]),
                "best trivial": "" if best is None else f"{best['method']}: {best['value']:.3f}",
                "beats it": "" if best is None else ("yes" if row["ci_low"] > best["value"] else
                                                     "no" if row["ci_high"] < best["value"] else "within CI"),
                "noise ceiling τ": f"{ceiling['value'].iloc[0]:.3f}" if len(ceiling) else "",
                "supernet train s": cost["train_time_s"].iloc[0] if len(cost) else float("nan"),
                "score s / arch": cost["time_per_arch_s"].iloc[0] if len(cost) else float("nan"),
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
        row = {"method": run.method, "seed": run.seed, "sampler": method.get("sampler"),
               "trainable": method.get("trainable"), "epoch_fraction": method.get("epoch_fraction"),
               "statistic": method.get("options", {}).get("statistic"),
               "space knobs": json.dumps(method.get("space_knobs", {}).get(space.name, {}))}
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
                     **{k: str(source.get(k, "")) for k in ("file", "path", "column", "hp", "dataset_key",
                                                           "eval_set", "metric", "split", "seed_policy")},
                     "sha256": str(source.get("sha256", ""))[:16]})
    return pd.DataFrame(rows).loc[:, lambda f: (f != "").any()] if rows else pd.DataFrame()


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
    """Display table: tau and rho with CIs per method at its final checkpoint; noise ceiling last."""
    final = final_checkpoint_rows(correlations)
    rows = []
    for (truth, method, seed), group in final.groupby(["ground_truth", "method", "seed"], sort=False):
        ceiling = method == NOISE_CEILING
        by_metric = group.set_index("metric")
        row = {
            "method": "noise ceiling (retrain seed vs seed)" if ceiling else method,
            "seed": "" if ceiling else str(seed),
            "checkpoint": "" if ceiling else str(group["checkpoint"].iloc[0]),
            "epoch": "" if ceiling else f"{group['epoch'].iloc[0]:.2f}",
            "ground truth": truth,
            "n": str(group["n"].iloc[0]),
        }
        for metric, label in TABLE_METRICS.items():
            cells = by_metric.loc[metric] if metric in by_metric.index else None
            row[label] = "" if cells is None else format_ci(cells["value"], cells["ci_low"], cells["ci_high"])
        rows.append(((ceiling, method_order(method), seed), row))
    rows.sort(key=lambda pair: pair[0])
    return pd.DataFrame([row for _, row in rows])


def distinct(values: pd.Series) -> str:
    return ", ".join(str(v) for v in sorted(values.dropna().unique()))


def protocol_table(retrain: pd.DataFrame) -> pd.DataFrame:
    """How the ground truth was produced, read off the retraining records themselves."""
    per_seed = retrain.groupby("seed")["arch_id"].nunique()
    row = {
        "archs": str(retrain["arch_id"].nunique()),
        "records": str(len(retrain)),
        "seeds": distinct(retrain["seed"]),
        "archs per seed": ", ".join(f"{s}: {n}" for s, n in per_seed.items()),
    }
    for column in PROTOCOL_COLUMNS:
        if column in retrain.columns:
            row[column] = distinct(retrain[column])
    if "train_time_s" in retrain.columns:
        row["total train time (h)"] = f"{retrain['train_time_s'].sum() / 3600:.2f}"
    return pd.DataFrame([row])


def methods_table(results: Results) -> pd.DataFrame:
    """The parts of each method, as recorded in its train.json (first record per method)."""
    seen: dict[str, dict[str, Any]] = {}
    for space in results.spaces:
        for run in space.runs:
            if run.train and "method" in run.train and run.method not in seen:
                parts = run.train["method"]
                row = {"method": run.method, **{part: parts.get(part) for part in METHOD_PARTS}}
                row["options"] = json.dumps(row["options"] or {}, sort_keys=True)
                seen[run.method] = row
    return pd.DataFrame(list(seen.values()))


def library_versions() -> pd.DataFrame:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return pd.DataFrame({"library": list(versions), "version": list(versions.values())})


# ------------------------------------------------------------------------------------- figures


def run_labels(space: Space) -> dict[tuple[str, int], str]:
    """Legend label per run: the method name, or `method · seed s` once a method has several seeds."""
    methods = [run.method for run in space.runs]
    several = len(methods) != len(set(methods))
    return {(r.method, r.seed): f"{r.method} · seed {r.seed}" if several else r.method for r in space.runs}


def final_scores_vs_truth(space: Space) -> pd.DataFrame:
    """score and mean retrained test_acc per arch, for every run at its final checkpoint."""
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
        frames.append(joined.assign(run=labels[(run.method, run.seed)]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def scatter_figure(data: pd.DataFrame) -> Figure:
    """Score vs ground-truth accuracy, one facet per run, Kendall tau in each title."""
    with sns.axes_style("whitegrid"):
        grid = sns.relplot(
            data=data, x="score", y="test_acc", col="run", kind="scatter",
            col_wrap=min(3, data["run"].nunique()), height=3.2, aspect=1.1,
            facet_kws={"sharex": False, "sharey": True}, s=25, alpha=0.8,
        )  # fmt: skip
    for run, ax in grid.axes_dict.items():
        part = data[data["run"] == run]
        tau = kendall_tau(part["score"].to_numpy(), part["test_acc"].to_numpy())
        ax.set_title(f"{run}: τ = {tau:.3f} (n = {len(part)})")
    grid.set_axis_labels("score at final checkpoint", "retrained test accuracy")
    grid.figure.tight_layout()
    return grid.figure


def curve_figure(correlations: pd.DataFrame, labels: dict[tuple[str, int], str]) -> Figure:
    """The early-bird curve: Kendall tau (bootstrap CI band) vs supernet epoch, per run, with
    the retraining noise ceiling as a horizontal line."""
    tau = correlations[correlations["metric"] == "kendall_tau"]
    runs = tau[tau["method"] != NOISE_CEILING].sort_values("epoch")
    ceiling = tau[tau["method"] == NOISE_CEILING]
    several_truths = runs["ground_truth"].nunique() > 1
    groups = runs.groupby(["method", "seed", "ground_truth"]).groups
    keys = sorted(groups, key=lambda key: (method_order(key[0]), *key[1:]))
    methods = list(dict.fromkeys(method for method, _, _ in keys))
    color = dict(zip(methods, sns.color_palette(n_colors=max(len(methods), 1))))
    seeds = sorted({seed for _, seed, _ in keys})
    marker = {seed: MARKERS[i % len(MARKERS)] for i, seed in enumerate(seeds)}  # same method, same color
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for method, seed, truth in keys:
        line = runs[(runs["method"] == method) & (runs["seed"] == seed) & (runs["ground_truth"] == truth)]
        label = labels.get((method, int(seed)), f"{method} · seed {seed}")
        label += f" vs {truth}" if several_truths else ""
        ax.plot(line["epoch"], line["value"], marker=marker[seed], color=color[method], label=label)
        band = {"color": color[method], "alpha": 0.15, "linewidth": 0}
        ax.fill_between(line["epoch"], line["ci_low"], line["ci_high"], **band)
    for _, row in ceiling.iterrows():
        ax.axhline(row["value"], color="0.2", linestyle="--", label=f"noise ceiling ({row['value']:.2f})")
        if not pd.isna(row["ci_low"]):
            ax.axhspan(row["ci_low"], row["ci_high"], color="0.5", alpha=0.12, linewidth=0)
    ax.set_xlabel("supernet training epoch")
    ax.set_ylabel("Kendall τ vs ground truth")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def png_base64(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def space_figures(space: Space) -> dict[str, Figure | str]:
    """Each figure of a space, or the note that says why it is missing: the scatter, and one
    early-bird curve per ground truth (runs with several checkpoints, i.e. trained supernets)."""
    scatter = final_scores_vs_truth(space)
    figures: dict[str, Figure | str] = {
        "Score vs retrained accuracy at the final checkpoint": (
            scatter_figure(scatter) if not scatter.empty
            else "No scatter: needs scores.csv of some run and groundtruth/retrain.csv."
        ),
    }  # fmt: skip
    correlations = space.correlations if space.correlations is not None else pd.DataFrame(columns=CORRELATION_COLUMNS)
    curves = correlations[correlations.groupby(["ground_truth", "method", "seed"])["checkpoint"].transform("nunique") > 1]
    for truth in dict.fromkeys(curves["ground_truth"]):
        if truth.startswith("all-"):
            continue
        rows = pd.concat([curves[curves["ground_truth"] == truth],
                          correlations[(correlations["ground_truth"] == truth) & (correlations["method"] == NOISE_CEILING)]])
        figures[f"Early-bird curve: Kendall τ vs supernet epoch (ground truth: {truth})"] = curve_figure(rows, run_labels(space))
    if len(figures) == 1:
        figures["Early-bird curve"] = "No curve: no run with several checkpoints has correlations for this space."
    return figures


# ---------------------------------------------------------------------------------------- html

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #aaa; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .92em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f0f0f0; }
td:first-child, th:first-child { text-align: left; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; font-size: .85em; }
.note { color: #8a4b00; font-style: italic; }
img { max-width: 100%; }
"""


def h(text: Any) -> str:
    return html.escape(str(text))


def note(text: str) -> str:
    return f'<p class="note">{h(text)}</p>'


def table_html(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, na_rep="—", float_format=lambda v: f"{v:.3f}", border=0)


def figure_html(title: str, figure: Figure | str) -> str:
    if isinstance(figure, str):
        return f"<h3>{h(title)}</h3>{note(figure)}"
    return f'<h3>{h(title)}</h3><img alt="{h(title)}" src="data:image/png;base64,{png_base64(figure)}">'


def summary_html(results: Results) -> str:
    dataset = (results.dataset or {}).get("dataset", "unknown (no data/dataset.json)")
    items = [f"<li>Dataset: {h(dataset)}</li>"]
    for space in results.spaces:
        archs = "no archs.csv" if space.archs is None else f"{len(space.archs)} sampled archs"
        methods = list(dict.fromkeys(run.method for run in space.runs))
        seeds = sorted({run.seed for run in space.runs})
        truth = "no ground truth yet" if space.retrain is None else (
            f"retrained {space.retrain['arch_id'].nunique()} archs, seeds {distinct(space.retrain['seed'])}"
        )  # fmt: skip
        items.append(
            f"<li>Space <b>{h(space.name)}</b>: {h(archs)}; methods {h(', '.join(methods) or 'none')}; "
            f"supernet seeds {h(', '.join(map(str, seeds)) or 'none')}; {h(truth)}</li>"
        )
    methods = methods_table(results)
    parts = [
        "<h2>What was run</h2>",
        "<p>Each method trains a one-shot supernet (or none) and scores a fixed sample of "
        "architectures; the scores are ranked against the test accuracy of the same "
        "architectures retrained from scratch. Kendall τ and Spearman ρ carry percentile "
        "bootstrap confidence intervals over architectures.</p>",
        f"<ul>{''.join(items)}</ul>",
    ]
    missing = note("No train.json found: method parts unknown.")
    parts.append(missing if methods.empty else table_html(methods))
    return "\n".join(parts)


def space_html(space: Space, costs: pd.DataFrame) -> str:
    parts = [f"<h2>Space {h(space.name)}</h2>", "<h3>Rank correlation at the final checkpoint</h3>"]
    if space.correlations is None or space.correlations.empty:
        parts.append(note(f"No {paths.CORRELATIONS.format(space=space.name)}: run the correlate step."))
    else:
        parts.append(table_html(final_correlation_table(space.correlations)))
    cheap = cheap_answers_table(space, costs)
    if not cheap.empty:
        parts += ["<h3>Does it beat the cheap answers?</h3>",
                  "<p>Every method's τ and ρ beside the best trivial baseline (parameter count, FLOPs, "
                  "number of conv ops) and the noise ceiling; \"beats it\" = its whole CI lies above the "
                  "baseline's τ. Costs: supernet training time and scoring time per architecture.</p>",
                  table_html(cheap)]
    ablation = ablation_table(space)
    if len(ablation) > 1:
        parts += ["<h3>BN-NAS ablations</h3>", table_html(ablation)]
    queried = nats_query_table(space)
    if not queried.empty:
        parts += ["<h3>NATS-Bench ground truth: what was queried</h3>",
                  "<p>The supernets were trained on the run's dataset, not on these benchmark datasets: "
                  "correlations against NATS-Bench are proxy-dataset results (how a ranking learned on "
                  "the proxy transfers).</p>", table_html(queried)]
    elif space.name in NATS_SPACES:
        parts.append(note(space.nats_records[0]["note"] if space.nats_records else
                          "No NATS-Bench ground truth was planned for this space (nats_bench.datasets is empty)."))
    parts.append("<h3>Cost</h3>")
    space_costs = costs[costs["space"] == space.name].drop(columns="space")
    if space_costs.empty:
        parts.append(note("No method runs found for this space."))
    else:
        parts.append("<p>Speed-ups are baseline time / method time (baseline: spos, or fairnas for "
                     "methods on the strict-fairness sampler; same space and seed).</p>")
        parts.append(table_html(space_costs))
    parts += [figure_html(title, figure) for title, figure in space_figures(space).items()]
    return "\n".join(parts)


def comparison_html(comparison: pd.DataFrame) -> str:
    if comparison.empty:
        return ""
    return "\n".join([
        "<h2>Comparison: searched architectures retrained from scratch</h2>",
        "<p>Per space and method: the top architecture of the evolutionary search under the FLOPs "
        "budget, retrained from scratch (test-split top-1, mean ± std over supernet seeds), its FLOPs "
        "and params, the supernet training and search cost, and the speed-ups against the baseline.</p>",
        table_html(comparison),
        "<h3>Published ImageNet numbers (for reference; not measured by this run)</h3>",
        table_html(published_table()),
    ])


def pretty_json(obj: Any, missing: str) -> str:
    if obj is None:
        return note(missing)
    return f"<pre>{h(json.dumps(obj, indent=2, sort_keys=True, default=str))}</pre>"


def provenance_html(results: Results) -> str:
    parts = ["<h2>Provenance</h2>", "<h3>Ground-truth protocol</h3>"]
    for space in results.spaces:
        if space.retrain is None:
            parts.append(note(f"{space.name}: no {paths.GT_RETRAIN.format(space=space.name)}."))
        else:
            parts.append(f"<p>{h(space.name)}</p>{table_html(protocol_table(space.retrain))}")
    parts += [
        "<h3>Library versions</h3>",
        table_html(library_versions()),
        "<h3>Dataset</h3>",
        pretty_json(results.dataset, f"No {paths.DATASET_META}."),
        "<h3>Run configuration</h3>",
        pretty_json(results.config, f"No {paths.RUN_CONFIG}."),
    ]
    return "\n".join(parts)


def render_html(results: Results, costs: pd.DataFrame, comparison: pd.DataFrame) -> str:
    title = "BN-NAS vs SPOS: ranking architectures with a supernet"
    body = [f"<h1>{h(title)}</h1>", f"<p>Results directory: <code>{h(results.root)}</code></p>"]
    body.append(summary_html(results))
    if not results.spaces:
        body.append(note("No search-space results found under the results directory."))
    body.append(comparison_html(comparison))
    body += [space_html(space, costs) for space in results.spaces]
    body.append(provenance_html(results))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{h(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def build_report(results_dir: Path, output_dir: Path, manifest: dict[str, Any]) -> None:
    """Write index.html, correlations.csv and costs.csv (names from harness.paths) to output_dir,
    from the files the manifest names."""
    results = load_results(results_dir, manifest)
    costs = costs_table(results)
    comparison = comparison_table(results, costs)
    write_csv(all_correlations(results), output_dir / Path(paths.REPORT_CORRELATIONS).name)
    write_csv(costs, output_dir / Path(paths.REPORT_COSTS).name)
    write_csv(comparison, output_dir / Path(paths.REPORT_COMPARISON).name)
    page = render_html(results, costs, comparison)
    with atomic_path(output_dir / Path(paths.REPORT_HTML).name) as tmp:
        tmp.write_text(page, encoding="utf-8")

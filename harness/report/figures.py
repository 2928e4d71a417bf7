"""The report's figures, each from a plain DataFrame (harness.report.figure_data) to a matplotlib
Figure: forest plot of tau, score vs ground truth, early-bird curve, accuracy vs FLOPs, cost."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from harness.analysis.metrics import kendall_tau  # noqa: E402

WIDTH_IN = 9.0  # at the report's dpi this stays inside a 1280 px page
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def forest_figure(tau: pd.DataFrame) -> Figure:
    """Every run's Kendall tau with its CI, one row per run, one marker per ground truth.
    `tau`: columns label, ground_truth, value, ci_low, ci_high (a noise-ceiling row is drawn as
    a dashed vertical line per ground truth)."""
    ceiling = tau[tau["label"] == "retraining reliability"]
    rows = tau[tau["label"] != "retraining reliability"]
    labels = list(dict.fromkeys(rows["label"]))
    truths = list(dict.fromkeys(tau["ground_truth"]))
    colors = dict(zip(truths, sns.color_palette(n_colors=max(len(truths), 1))))
    offset = {t: (i - (len(truths) - 1) / 2) * 0.6 / max(len(truths), 1) for i, t in enumerate(truths)}
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.2 + 0.45 * max(len(labels), 1)))
    for i, truth in enumerate(truths):
        part = rows[rows["ground_truth"] == truth]
        y = np.array([labels.index(label) for label in part["label"]]) + offset[truth]
        low = (part["value"] - part["ci_low"]).clip(lower=0).fillna(0)
        high = (part["ci_high"] - part["value"]).clip(lower=0).fillna(0)
        ax.errorbar(part["value"], y, xerr=[low, high], fmt=MARKERS[i % len(MARKERS)], color=colors[truth],
                    capsize=3, label=truth)
    for _, row in ceiling.iterrows():
        ax.axvline(row["value"], color=colors[row["ground_truth"]], linestyle="--", linewidth=1)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Kendall τ vs ground truth (bars: bootstrap CI; dashed: retraining reliability, seed vs seed)")
    ax.legend(title="ground truth", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def scatter_figure(data: pd.DataFrame) -> Figure:
    """Score vs retrained accuracy, one facet per run, points coloured by the arch's conv-op
    count. `data`: run, score, test_acc, conv_ops."""
    runs = list(dict.fromkeys(data["run"]))
    cols = min(3, len(runs))
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots((len(runs) + cols - 1) // cols, cols, squeeze=False, sharey=True,
                                 figsize=(WIDTH_IN, 2.9 * ((len(runs) + cols - 1) // cols)))
    norm = plt.Normalize(data["conv_ops"].min(), max(data["conv_ops"].max(), data["conv_ops"].min() + 1))
    points = None
    for ax, run in zip(axes.flat, runs):
        part = data[data["run"] == run]
        points = ax.scatter(part["score"], part["test_acc"], c=part["conv_ops"], cmap="viridis", norm=norm,
                            s=22, alpha=0.85, edgecolors="none")
        tau = kendall_tau(part["score"].to_numpy(), part["test_acc"].to_numpy())
        ax.set_title(f"{run}: τ = {tau:.2f} (n = {len(part)})", fontsize=9)
        ax.set_xlabel("score at final checkpoint", fontsize=8)
    for ax in axes.flat[len(runs):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("retrained test accuracy", fontsize=8)
    fig.tight_layout()
    if points is not None:
        fig.colorbar(points, ax=axes.ravel().tolist(), label="conv ops in the arch", shrink=0.8)
    return fig


def curve_figure(curve: pd.DataFrame) -> Figure:
    """The early-bird curve: Kendall tau (CI band) vs supernet training steps, one line per run;
    `curve`: label, step, value, ci_low, ci_high; `ceiling` rows (label "retraining reliability") as a line."""
    ceiling = curve[curve["label"] == "retraining reliability"]
    runs = curve[curve["label"] != "retraining reliability"].sort_values("step")
    labels = list(dict.fromkeys(runs["label"]))
    colors = dict(zip(labels, sns.color_palette(n_colors=max(len(labels), 1))))
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(WIDTH_IN, 4.0))
    for i, label in enumerate(labels):
        line = runs[runs["label"] == label]
        ax.plot(line["step"], line["value"], marker=MARKERS[i % len(MARKERS)], color=colors[label], label=label)
        ax.fill_between(line["step"], line["ci_low"], line["ci_high"], color=colors[label], alpha=0.15, linewidth=0)
    for _, row in ceiling.iterrows():
        ax.axhline(row["value"], color="0.2", linestyle="--", label=f"retraining reliability ({row['value']:.2f})")
    ax.set_xlabel("supernet training steps")
    ax.set_ylabel("Kendall τ vs ground truth")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def pareto_front(points: pd.DataFrame) -> pd.DataFrame:
    """The points no other point beats on both axes (fewer FLOPs, higher accuracy)."""
    ordered = points.sort_values(["flops_M", "top1_pct"], ascending=[True, False])
    best = -np.inf
    keep = []
    for index, row in ordered.iterrows():
        if row["top1_pct"] > best:
            keep.append(index)
            best = row["top1_pct"]
    return ordered.loc[keep]


def pareto_figure(points: pd.DataFrame, published: pd.DataFrame) -> Figure:
    """Searched architectures: top-1 vs FLOPs per method (one point per seed), the Pareto front,
    and the paper's numbers where they are on the same space (`published` may be empty)."""
    methods = list(dict.fromkeys(points["method"]))
    colors = dict(zip(methods, sns.color_palette(n_colors=max(len(methods), 1))))
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(WIDTH_IN * 0.75, 3.8))
    for i, method in enumerate(methods):
        part = points[points["method"] == method]
        ax.scatter(part["flops_M"], part["top1_pct"], color=colors[method], marker=MARKERS[i % len(MARKERS)],
                   s=40, label=f"{method} (this run)")
    front = pareto_front(points)
    ax.plot(front["flops_M"], front["top1_pct"], color="0.4", linestyle=":", label="Pareto front")
    for _, row in published.iterrows():
        ax.scatter(row["flops_M"], row["top1_pct"], marker="*", s=120, color=colors.get(row["method"], "k"),
                   edgecolors="k", label=f"{row['method']} (paper: {row['source']})")
    ax.set_xlabel("FLOPs (M)")
    ax.set_ylabel("retrained top-1 (%)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def cost_figure(costs: pd.DataFrame) -> Figure:
    """Supernet training time and scoring time per arch per method, on log scales.
    `costs`: label, train_time_s, time_per_arch_s (NaN or 0 where there is none)."""
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 1.3 + 0.35 * max(len(costs), 1)), sharey=True)
    y = np.arange(len(costs))
    for ax, column, title in [(axes[0], "train_time_s", "supernet training (s)"),
                              (axes[1], "time_per_arch_s", "scoring per architecture (s)")]:
        values = costs[column].where(costs[column] > 0)
        timed = values.notna().to_numpy()
        ax.barh(y[timed], values[timed], color=sns.color_palette()[0 if ax is axes[0] else 1])
        ax.set_xscale("log")
        ax.set_xlabel(f"{title}, log scale")
        for yi, v in zip(y, values):
            if pd.isna(v):
                ax.text(0.02, yi, "none", transform=ax.get_yaxis_transform(), va="center", fontsize=8, color="0.4")
    axes[0].set_yticks(y, costs["label"])
    axes[0].invert_yaxis()
    fig.tight_layout()
    return fig

"""The report's first section: the BN-NAS paper's claims, each with its verdict when a verdicts
table exists (the statistics work: columns claim, value, ci_low, ci_high, verdict, reason), or
else with the value this run measured and no judgement."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

# The claims are about these two named methods (the paper's BN-NAS on SPOS's space and sampler).
CLAIM_METHOD = "bnnas"
CLAIM_BASELINE = "spos"
VERDICT_COLUMNS = ["claim", "value", "ci_low", "ci_high", "verdict", "reason"]
VERDICTS_FILE = "verdicts.csv"  # under the results directory, written by the statistics step

CLAIMS = {  # claim -> what the paper says (PAPER_FACTS.md)
    "ranking": ("BN-NAS ranks as well as SPOS", "as well as SPOS's accuracy-based evaluation"),
    "train_speedup": ("supernet training speed-up", "> 10×"),
    "eval_speedup": ("subnet evaluation speed-up", "> 600,000×"),
    "accuracy": ("searched accuracy vs SPOS", "no loss (ImageNet: 75.7% vs 75.4% top-1)"),
    "early_bird": ("early bird: ranking stable early", "stable at a very early stage of training"),
}


def read_verdicts(results_dir: Path) -> pd.DataFrame | None:
    """The statistics step's verdicts (results/verdicts.csv), or None while there are none."""
    path = results_dir / VERDICTS_FILE
    return pd.read_csv(path) if path.is_file() else None


# Where verdicts come from, first hit wins; the statistics work may append its own provider.
VERDICT_PROVIDERS: list[Callable[[Path], pd.DataFrame | None]] = [read_verdicts]


def find_verdicts(results_dir: Path) -> pd.DataFrame | None:
    for provider in VERDICT_PROVIDERS:
        verdicts = provider(results_dir)
        if verdicts is not None and not verdicts.empty:
            return verdicts
    return None


def verdicts_display(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The verdicts table for reading: value with its CI in one cell."""
    def value(row: pd.Series) -> str:
        if pd.isna(row.get("value")):
            return "n/a"
        if pd.isna(row.get("ci_low")) or pd.isna(row.get("ci_high")):
            return f"{row['value']:.3g}"
        return f"{row['value']:.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"

    shown = pd.DataFrame({"claim": verdicts["claim"], "measured [CI]": verdicts.apply(value, axis=1),
                          "verdict": verdicts["verdict"], "why": verdicts["reason"]})
    extra = [c for c in verdicts.columns if c not in VERDICT_COLUMNS]
    return pd.concat([shown, verdicts[extra]], axis=1)


def ci_text(row: pd.Series) -> str:
    if pd.isna(row["ci_low"]) or pd.isna(row["ci_high"]):
        return f"{row['value']:.2f}"
    return f"{row['value']:.2f} [{row['ci_low']:.2f}, {row['ci_high']:.2f}]"


def ranking_rows(final_tau: pd.DataFrame) -> list[dict[str, str]]:
    """BN-NAS's and SPOS's tau per space and ground truth (final checkpoint, seed 0 first)."""
    rows = []
    both = final_tau[final_tau["method"].isin([CLAIM_METHOD, CLAIM_BASELINE])]
    for (space, truth), group in both.groupby(["space", "ground_truth"], sort=False):
        by = {m: g.sort_values("seed").iloc[0] for m, g in group.groupby("method")}
        if len(by) < 2 or str(truth).startswith("all-"):
            continue
        seeds = group["seed"].nunique()
        note = f"seed {by[CLAIM_METHOD]['seed']}" + (f" of {seeds}" if seeds > 1 else "")
        rows.append({"claim": f"{CLAIMS['ranking'][0]} (τ vs {truth})", "paper says": CLAIMS["ranking"][1],
                     "measured here": f"{CLAIM_METHOD} {ci_text(by[CLAIM_METHOD])}; "
                                      f"{CLAIM_BASELINE} {ci_text(by[CLAIM_BASELINE])}",
                     "where": f"{space}; {note}"})
    return rows


def speedup_row(key: str, values: pd.Series, where: str, what: str) -> dict[str, str]:
    values = values.dropna()
    measured = "not measured" if values.empty else f"{values.mean():,.1f}×"
    if len(values) > 1:
        measured += f" (mean of {len(values)}: {values.min():,.1f}–{values.max():,.1f})"
    return {"claim": CLAIMS[key][0], "paper says": CLAIMS[key][1], "measured here": measured,
            "where": f"{where} ({what})"}


def accuracy_rows(comparison: pd.DataFrame) -> list[dict[str, str]]:
    rows = []
    if comparison.empty:
        return rows
    for space, group in comparison.groupby("space", sort=False):
        by = group.set_index("method")
        if CLAIM_METHOD not in by.index or CLAIM_BASELINE not in by.index:
            continue
        ours, theirs = by.loc[CLAIM_METHOD], by.loc[CLAIM_BASELINE]
        diff = ours["top1_pct_mean"] - theirs["top1_pct_mean"]
        seeds = int(min(ours["seeds"], theirs["seeds"]))
        spread = "1 seed, spread n/a" if seeds < 2 else f"mean of {seeds} seeds"
        rows.append({"claim": CLAIMS["accuracy"][0], "paper says": CLAIMS["accuracy"][1],
                     "measured here": f"{diff:+.2f} pp ({ours['top1_pct_mean']:.2f}% vs {theirs['top1_pct_mean']:.2f}%)",
                     "where": f"{space}, searched arch retrained; {spread}"})
    return rows


def early_bird_rows(correlations: pd.DataFrame) -> list[dict[str, str]]:
    """BN-NAS's tau at its first checkpoint vs at its last (retrain ground truth, seed 0)."""
    tau = correlations[(correlations["metric"] == "kendall_tau") & (correlations["method"] == CLAIM_METHOD)
                       & (correlations["ground_truth"] == "retrain")]
    rows = []
    for (space, seed), group in tau.groupby(["space", "seed"], sort=False):
        if group["checkpoint"].nunique() < 2:
            continue
        ordered = group.sort_values("checkpoint")
        first, last = ordered.iloc[0], ordered.iloc[-1]
        rows.append({"claim": CLAIMS["early_bird"][0], "paper says": CLAIMS["early_bird"][1],
                     "measured here": f"τ {ci_text(first)} at epoch {first['epoch']:.2g}; "
                                      f"{ci_text(last)} at epoch {last['epoch']:.2g}",
                     "where": f"{space}, {CLAIM_METHOD} seed {seed}, vs retrain (first vs last checkpoint)"})
        break  # one seed is enough for the summary; the curve figure shows all
    return rows


def measured_claims(final_tau: pd.DataFrame, correlations: pd.DataFrame, costs: pd.DataFrame,
                    comparison: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (or per space and ground truth): what the paper says, what this run
    measured. `final_tau`: kendall_tau rows at each run's final checkpoint, with a space column."""
    rows = ranking_rows(final_tau)
    mine = costs[costs["method"] == CLAIM_METHOD] if not costs.empty else costs
    rows.append(speedup_row("train_speedup", mine.get("train_speedup_vs_baseline", pd.Series(dtype=float)),
                            "supernet training", f"{CLAIM_BASELINE} time / {CLAIM_METHOD} time"))
    rows.append(speedup_row("eval_speedup", mine.get("scoring_speedup_vs_baseline", pd.Series(dtype=float)),
                            "scoring the ranking sample", "per arch; grows with the number scored"))
    if not comparison.empty and "eval_speedup_vs_baseline" in comparison.columns:
        search = comparison[comparison["method"] == CLAIM_METHOD]["eval_speedup_vs_baseline"]
        rows.append(speedup_row("eval_speedup", search, "inside the search", "per evaluated subnet"))
    rows += accuracy_rows(comparison)
    rows += early_bird_rows(correlations)
    for claim, paper in CLAIMS.values():
        if not any(row["claim"].startswith(claim) for row in rows):
            rows.append({"claim": claim, "paper says": paper, "measured here": "not measured by this run", "where": ""})
    return pd.DataFrame(rows)

"""The verdicts as the page shows them: the headline table (one row per claim) and the details
(every comparison measured, counted or not), from report/verdicts.csv's columns."""

from __future__ import annotations

import pandas as pd

NOT_COUNTED = "not counted"


def estimate_text(row: pd.Series) -> str:
    """The estimate with its CI and unit in one cell ("n/a" where nothing was measured)."""
    if pd.isna(row.get("measured")):
        return "n/a"
    unit = row.get("unit") or ""
    if unit == "x":
        value = f"{row['measured']:,.3g}x"
        bounds = "" if pd.isna(row.get("ci_low")) else f" [{row['ci_low']:,.3g}, {row['ci_high']:,.3g}]"
        return value + bounds
    value = f"{row['measured']:+.3f}" if unit in ("tau", "top-1 points") else f"{row['measured']:.3g}"
    bounds = "" if pd.isna(row.get("ci_low")) else f" [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
    return f"{value}{bounds} {unit}".strip()


def comparison_text(row: pd.Series) -> str:
    """What decided the claim: the pair, the ground truth, the architectures and seeds."""
    if not row.get("method"):
        return "—"
    pair = f"{row['method']} vs {row['versus']}" if row.get("versus") else str(row["method"])
    parts = [f"{row['space']}: {pair}"]
    if row.get("ground_truth"):
        parts.append(f"truth {row['ground_truth']}")
    if pd.notna(row.get("n_archs")) and row.get("n_archs") not in ("", None):
        parts.append(f"{int(float(row['n_archs'])):,} archs")
    if row.get("seeds") not in ("", None) and pd.notna(row.get("seeds")):
        parts.append(f"seeds {row['seeds']}")
    return ", ".join(parts)


def headline_display(headlines: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the claim, the verdict, the comparison that decided it, the estimate with
    its CI, one sentence, and for an inconclusive claim the run that would decide it."""
    rows = [{"claim": row["claim"], "verdict": row["verdict"], "decided by": comparison_text(row),
             "estimate [95% CI]": estimate_text(row), "in one sentence": row["sentence"],
             "what would decide it": row.get("would_decide") if isinstance(row.get("would_decide"), str) else ""}
            for _, row in headlines.iterrows()]
    return pd.DataFrame(rows, columns=["claim", "verdict", "decided by", "estimate [95% CI]", "in one sentence",
                                       "what would decide it"])


def details_display(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Every row, counted or not: what was compared, the estimate, the verdict or why it is not counted."""
    rows = [{"claim": row["claim"], "headline": "yes" if str(row["headline"]).lower() in ("true", "1") else "",
             "verdict": row["verdict"] if isinstance(row["verdict"], str) and row["verdict"] else NOT_COUNTED,
             "comparison": comparison_text(row), "estimate [95% CI]": estimate_text(row),
             "evidence": row["evidence"], "detail": row["sentence"]}
            for _, row in verdicts.iterrows()]
    return pd.DataFrame(rows, columns=["claim", "headline", "verdict", "comparison", "estimate [95% CI]", "evidence",
                                       "detail"])

"""The report's first section: every paper claim with the verdict harness.analysis.verdicts gives it
(columns claim, scope, measured, ci_low, ci_high, verdict, reason), shown for reading."""

from __future__ import annotations

import pandas as pd


def measured_text(row: pd.Series) -> str:
    """The measured value with its CI in one cell ("n/a" where nothing was measured)."""
    if pd.isna(row.get("measured")):
        return "n/a"
    if pd.isna(row.get("ci_low")) or pd.isna(row.get("ci_high")):
        return f"{row['measured']:.3g}"
    return f"{row['measured']:.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}]"


def verdicts_display(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The verdicts table for reading: claim, where it was judged, measured [CI], verdict, why."""
    return pd.DataFrame({"claim": verdicts["claim"], "where": verdicts["scope"],
                         "measured [CI]": verdicts.apply(measured_text, axis=1) if len(verdicts) else [],
                         "verdict": verdicts["verdict"], "why": verdicts["reason"]})

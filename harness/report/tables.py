"""How the report says things: method labels built from a method's parts, human column names
with units, rounding to what carries meaning, and each table as HTML, Markdown and LaTeX."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pandas as pd

from harness.io import atomic_path

TRAINABLE_TEXT = {
    "all": "trains all weights",
    "bn": "trains BN only (convs frozen)",
    "last_bn": "trains only each op's last BN",
}
SAMPLER_TEXT = {"uniform": "uniform single path", "fair": "strict-fairness paths"}
KNOB_TEXT = {("op_bn", "all"): "every op has a BN (op_bn = all)"}  # knobs that read better in words

# snake_case column -> (human name with unit, decimals; None = leave as it is)
COLUMNS: dict[str, tuple[str, int | None]] = {
    "space": ("space", None),
    "method": ("method", None),
    "seed": ("seed", None),
    "seeds": ("seeds", None),
    "baseline": ("baseline", None),
    "epochs": ("epochs", 2),
    "steps": ("steps", None),
    "train_time_s": ("supernet training (s)", 1),
    "train_cpu_time_s": ("supernet training CPU (s)", 1),
    "trainable_params": ("trainable params", None),
    "total_params": ("total params", None),
    "time_per_arch_s": ("scoring per arch (s)", 2),
    "train_speedup_vs_baseline": ("training speed-up (×)", 1),
    "scoring_speedup_vs_baseline": ("scoring speed-up (×)", 1),
    "top1_pct_mean": ("top-1 (%)", 2),
    "top1_pct_std": ("top-1 std (pp)", 2),
    "flops_M": ("FLOPs (M)", 3),
    "params_M": ("params (M)", 3),
    "supernet_train_time_s": ("supernet training (s)", 1),
    "supernet_train_cpu_time_s": ("supernet training CPU (s)", 1),
    "search_time_s": ("search (s)", 1),
    "subnets_evaluated": ("subnets evaluated", 0),
    "time_per_subnet_eval_s": ("eval per subnet (s)", 2),
    "eval_speedup_vs_baseline": ("eval speed-up (×)", 1),
}
NUMBER_CELL = re.compile(r"<td>([-+]?[\d,]*\.?\d+(?:e[-+]?\d+)?\s?[×%]?)</td>")
LIST_LIMIT = 4  # a cell lists at most this many items, then "… (n in all)"


def percent(fraction: float) -> str:
    return f"{100 * fraction:g}%"


def describe_method(parts: dict[str, Any], space: str | None = None) -> str:
    """One line that says what a method does, generated from its recorded parts (never from a
    hand-written summary, which a config variant would inherit from its base unchanged)."""
    scorer = str(parts.get("scorer", "?"))
    options = dict(parts.get("options") or {})
    statistic = options.pop("statistic", None)
    score = f"score: {scorer}" + (f" ({statistic})" if statistic else "")
    if not parts.get("sampler"):
        kind = parts.get("kind") or "no-supernet"
        pieces = [f"no supernet ({kind})", score]
    else:
        pieces = [
            SAMPLER_TEXT.get(parts["sampler"], f"{parts['sampler']} sampler"),
            TRAINABLE_TEXT.get(parts.get("trainable", "all"), f"trains {parts.get('trainable')}"),
            f"{percent(float(parts.get('epoch_fraction', 1.0)))} of the baseline epochs",
            score,
        ]
    knobs = dict(parts.get("space_knobs") or {})
    chosen = knobs.get(space, {}) if space is not None else {k: v for s in knobs.values() for k, v in s.items()}
    if chosen:
        pieces.append(", ".join(KNOB_TEXT.get((k, v), f"{k} = {v}") for k, v in sorted(chosen.items())))
    return "; ".join(pieces)


def seed_spread(std: float, seeds: int) -> str:
    """A spread over seeds, or why there is none (one seed has no spread)."""
    if seeds < 2 or pd.isna(std):
        return f"n/a ({seeds} seed)" if seeds == 1 else "n/a"
    return f"{std:.2f}"


KEY_COLUMN = "item"  # the first column of a key-value table (a CSV header cannot be empty: pandas names it "Unnamed: 0")


def key_value(pairs: dict[str, Any]) -> pd.DataFrame:
    """A two-column table of named values (the provenance sections, the run's times)."""
    return pd.DataFrame({KEY_COLUMN: list(pairs), "value": [str(v) for v in pairs.values()]})


def format_ci(value: float, low: float, high: float) -> str:
    """Value and CI as `0.512 [0.410, 0.600]`; just the value when the CI is undefined."""
    if pd.isna(value):
        return "n/a"
    if pd.isna(low) or pd.isna(high):
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"  # one precision: a value never prints outside its own CI


def collapse(items: list[Any], limit: int = LIST_LIMIT) -> str:
    """`0, 1, 2, 3, … (12 in all)` rather than a cell full of values."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown if len(items) <= limit else f"{shown}, … ({len(items)} in all)"


def format_number(value: Any, decimals: int | None) -> Any:
    """Rounded for reading: thousands separated and no decimals from 100 up (a 1,234× speed-up
    carries no decimals), below 1 three significant digits (times of 0.000123 s), else `decimals`."""
    if decimals is None or value is None or isinstance(value, str) or pd.isna(value):
        return value
    if decimals == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if 0 < abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.{decimals}f}"


def humanize(frame: pd.DataFrame) -> pd.DataFrame:
    """Display copy: known columns rounded and renamed (units in the name), the rest as they are."""
    shown = frame.copy()
    for column, (_, decimals) in COLUMNS.items():
        if column in shown.columns:
            shown[column] = [format_number(v, decimals) for v in shown[column]]
    return shown.rename(columns={c: name for c, (name, _) in COLUMNS.items()})


def cell_text(value: Any) -> str:
    """A cell as text: a dash where there is no value, floats to three significant digits."""
    if isinstance(value, (str, list, tuple, dict)):
        return str(value)
    if value is None or pd.isna(value):
        return "—"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def filled(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text (see cell_text)."""
    return frame.astype(object).map(cell_text) if not frame.empty else frame.astype(str)


def table_html(frame: pd.DataFrame) -> str:
    """A table inside a wrapper that scrolls sideways on its own, so the page never does."""
    body = filled(frame).to_html(index=False, border=0, escape=True)
    body = NUMBER_CELL.sub(r'<td class="num">\1</td>', body)
    return f'<div class="table-wrap">{body}</div>'


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table; a `|` in a header or cell (`max |γ-γ0|`) is escaped, or it would split the cell."""
    table = filled(frame)
    table = table.rename(columns=lambda name: str(name).replace("|", "\\|"))
    table = table.apply(lambda column: column.map(lambda cell: cell.replace("|", "\\|") if isinstance(cell, str) else cell))
    return table.to_markdown(index=False) + "\n"


def latex(frame: pd.DataFrame, caption: str) -> str:
    body = filled(frame).to_latex(index=False, escape=True)
    return f"% {caption}\n{body}"


def write_table(frame: pd.DataFrame, folder: Path, key: str, caption: str) -> None:
    """The table as key.md and key.tex under `folder` (for pasting into a paper)."""
    with atomic_path(folder / f"{key}.md") as tmp:
        tmp.write_text(f"<!-- {html.escape(caption)} -->\n\n" + markdown(frame), encoding="utf-8")
    with atomic_path(folder / f"{key}.tex") as tmp:
        tmp.write_text(latex(frame, caption), encoding="utf-8")

"""The report's content, as files: every table (CSV for the page, Markdown and LaTeX for papers)
and every figure (PNG) the page shows, and outline.json, the page's blocks in order. What a block
says in words (its title and introduction) lives in the templates (harness/report/templates/
blocks.j2), keyed by the block's type; the renderer (harness.report.render) only renders."""

from __future__ import annotations

import io
import re
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
from harness.analysis.costs import comparison_table, costs_table  # noqa: E402
from harness.analysis.paper import PUBLISHED  # noqa: E402
from harness.analysis.truths import truth_label  # noqa: E402
from harness.analysis.verdicts import headlines, verdicts_table  # noqa: E402
from harness.groundtruth.nats_bench import SPACES as NATS_SPACES  # noqa: E402
from harness.io import atomic_path, write_csv, write_json  # noqa: E402
from harness.report import bn_section, figure_data, page_tables  # noqa: E402
from harness.report.figures import cost_figure, curve_figure, forest_figure, pareto_figure, scatter_figure  # noqa: E402
from harness.report.tables import filled, humanize, key_value, seed_spread, write_table  # noqa: E402
from harness.report.verdict_tables import headline_display, details_display  # noqa: E402
from harness.results.model import Results  # noqa: E402

# file names inside the report folder (the analyse job's --output), from harness.paths
OUTLINE = Path(paths.REPORT_OUTLINE).name
TABLES_DIR = Path(paths.REPORT_TABLES).name
FIGURES_DIR = Path(paths.REPORT_FIGURES).name


@dataclass
class Block:
    """One block of the page: a heading, a table, a figure or a note. `type` selects its title and
    introduction in the templates; `key` names its files (tables/KEY.csv, figures/KEY.png) and its
    anchor; `facts` are the values the template's words refer to (a space, a ground truth)."""

    type: str
    key: str
    level: int = 3
    facts: dict[str, Any] = field(default_factory=dict)
    table: pd.DataFrame | None = None
    figure: Figure | None = None
    note: str = ""  # a finding or a reason computed from the data (not page prose)
    collapsed: bool = False

    def entry(self) -> dict[str, Any]:
        return {"type": self.type, "key": self.key, "level": self.level, "facts": self.facts,
                "table": self.table is not None, "figure": self.figure is not None, "note": self.note,
                "collapsed": self.collapsed}


# Sections that other parts of the harness plug in: each gets the loaded results and returns
# (title, table or figure) pairs, shown after the per-space sections, before the methods.
SectionFn = Callable[[Results], Iterable[tuple[str, pd.DataFrame | Figure]]]
EXTRA_SECTIONS: list[SectionFn] = []


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


# ---------------------------------------------------------------------------------- blocks


def verdict_blocks(verdicts: pd.DataFrame) -> list[Block]:
    return [Block("verdicts", "verdicts", level=2, table=headline_display(headlines(verdicts))),
            Block("verdict_details", "verdict-details", table=details_display(verdicts), collapsed=True)]


def headline_figure(results: Results) -> Block:
    forest = figure_data.forest_data(results)
    if forest.empty:
        return Block("forest_missing", "forest-tau")
    return Block("forest", "forest-tau", figure=forest_figure(forest))


def comparison_blocks(results: Results, comparison: pd.DataFrame) -> list[Block]:
    if comparison.empty:
        return []
    shown = comparison.copy()
    shown["top1_pct_std"] = [seed_spread(s, n) for s, n in zip(shown["top1_pct_std"], shown["seeds"])]
    blocks = [Block("comparison", "comparison", level=2, table=humanize(shown))]
    for space in results.spaces:
        points = figure_data.pareto_points(space)
        if points.empty:
            continue
        paper = pd.DataFrame(PUBLISHED)
        paper = paper[paper["space"] == space.name]
        blocks.append(Block("pareto", f"{slug(space.name)}-pareto", figure=pareto_figure(points, paper),
                            facts={"space": space.name, "published": bool(len(paper))}))
    blocks.append(Block("published", "published", table=page_tables.published_table()))
    return blocks


def space_blocks(results: Results, space: Any, costs: pd.DataFrame) -> list[Block]:
    key = slug(space.name)
    facts = {"space": space.name}
    blocks = [Block("space", key, level=2, facts=facts)]
    if space.correlations is None or space.correlations.empty:
        blocks.append(Block("correlation_missing", f"{key}-corr",
                            facts={**facts, "file": paths.CORRELATIONS.format(space=space.name)}))
    else:
        blocks.append(Block("correlation", f"{key}-correlation", facts=facts,
                            table=page_tables.final_correlation_table(results, space)))
    cheap = page_tables.cheap_answers_table(results, space, costs)
    if not cheap.empty:
        blocks.append(Block("cheap_answers", f"{key}-cheap-answers", facts=facts, table=cheap))
    ablation = page_tables.ablation_table(results, space)
    if len(ablation) > 1:
        blocks.append(Block("ablations", f"{key}-ablations", facts=facts, table=ablation))
    bn_table = bn_section.bn_indicator_table(space, results.dataset_name)
    if not bn_table.empty:
        blocks.append(Block("bn_indicator", f"{key}-bn-indicator-trained-or-conv-count", facts=facts, table=bn_table,
                            note=bn_section.departure_sentence(space)))
        sweep = bn_section.sweep_figure(space)
        if sweep is not None:
            blocks.append(Block("bn_sweep", f"{key}-bn-nas-budget-sweep-early-bird", facts=facts, figure=sweep))
    queried = page_tables.nats_query_table(space)
    if not queried.empty:
        blocks.append(Block("nats_query", f"{key}-nats-bench", facts=facts, table=queried))
    elif space.name in NATS_SPACES:
        blocks.append(Block("nats_unavailable", f"{key}-nats-bench", facts=facts,
                            note=space.nats_records[0].get("note", "") if space.nats_records else ""))
    space_costs = costs[costs["space"] == space.name].drop(columns="space")
    if space_costs.empty:
        blocks.append(Block("cost_missing", f"{key}-cost", facts=facts))
    else:
        blocks.append(Block("cost", f"{key}-cost", facts=facts, table=humanize(space_costs)))
        timed = figure_data.cost_data(costs, space)
        if (timed[["train_time_s", "time_per_arch_s"]] > 0).any().any():
            blocks.append(Block("cost_log", f"{key}-cost-log", facts=facts, figure=cost_figure(timed)))
    scatter = figure_data.final_scores_vs_truth(results, space)
    blocks.append(Block("scatter", f"{key}-scatter", facts=facts, figure=scatter_figure(scatter))
                  if not scatter.empty else Block("scatter_missing", f"{key}-scatter", facts=facts))
    truths = [] if space.correlations is None else [t for t in dict.fromkeys(space.correlations["ground_truth"])
                                                    if not str(t).startswith("all-")]
    curves = 0
    for truth in truths:
        data = figure_data.curve_data(space, truth)
        if not data.empty:
            curves += 1
            blocks.append(Block("early_bird", f"{key}-early-bird-{slug(truth)}",
                                facts={**facts, "truth": truth_label(truth, results.dataset_name)},
                                figure=curve_figure(data)))
    if not curves:
        blocks.append(Block("early_bird_missing", f"{key}-early-bird", facts=facts))
    return blocks


def extra_blocks(results: Results) -> list[Block]:
    blocks = []
    for make in EXTRA_SECTIONS:
        for title, content in make(results):
            is_figure = isinstance(content, Figure)
            blocks.append(Block("extra", slug(title), facts={"title": title},
                                figure=content if is_figure else None, table=None if is_figure else content))
    return blocks


def methods_block(results: Results) -> Block:
    methods = page_tables.methods_table(results)
    return Block("methods", "methods", level=2, table=methods) if not methods.empty else \
        Block("methods_missing", "methods", level=2)


def provenance_blocks(results: Results) -> list[Block]:
    """The run's own records: compute time per stage, the dataset, the ground-truth protocol. (The
    machine, code version and libraries come from the provenance job's provenance.json.)"""
    record = results.dataset or {}
    dataset = {"dataset": record.get("dataset"), **(record.get("config") or {})} if record else {}
    dataset = {k.replace("_", " "): v for k, v in dataset.items() if v is not None and not isinstance(v, (dict, list))}
    blocks = [Block("provenance_time", "provenance-time", table=key_value(run_times(results))),
              Block("provenance_dataset", "provenance-dataset", table=key_value(dataset) if dataset else None,
                    facts={"file": paths.DATASET_META})]
    files = dataset_files(results.dataset)
    if not files.empty:
        blocks.append(Block("provenance_dataset_files", "provenance-dataset-files", table=files))
    for space in results.spaces:
        if space.retrain is not None:
            blocks.append(Block("provenance_protocol", f"provenance-protocol-{slug(space.name)}",
                                facts={"space": space.name}, table=page_tables.protocol_table(space.retrain)))
    return blocks


def run_times(results: Results) -> dict[str, str]:
    """Compute time per stage, summed from the run's own records."""
    runs = [run for space in results.spaces for run in space.runs]
    train = sum((r.train.train_time_s or 0.0) for r in runs if r.train)
    scoring = sum((r.scoring.score_time_s or 0.0) for r in runs if r.scoring)
    search = sum(r.search.wall_time_s for r in runs if r.search)
    retrain = sum(s.retrain["train_time_s"].sum() for s in results.spaces
                  if s.retrain is not None and "train_time_s" in s.retrain.columns)
    rows = {"supernet training (s)": train, "scoring (s)": scoring, "search (s)": search,
            "ground-truth retraining (s)": retrain}
    return {k: f"{v:,.1f}" for k, v in rows.items()}


def dataset_files(dataset: dict[str, Any] | None) -> pd.DataFrame:
    """The dataset's files with their SHA-256 (provenance.files of data/dataset.json)."""
    dataset = dataset or {}
    files = (dataset.get("provenance") or {}).get("files") or dataset.get("files") or []
    if isinstance(files, dict):  # {name: {sha256: ...}}
        files = [{"path": name, **(info if isinstance(info, dict) else {"sha256": info})} for name, info in files.items()]
    return pd.DataFrame([{"file": str(f.get("path", "")), "bytes": f.get("bytes"), "SHA-256": str(f.get("sha256", ""))}
                         for f in files]).dropna(axis=1, how="all")


def page_blocks(results: Results, comparison: pd.DataFrame, costs: pd.DataFrame, verdicts: pd.DataFrame) -> list[Block]:
    """Every block of the page in order: the answer first (verdicts, then one figure)."""
    blocks = verdict_blocks(verdicts) + [headline_figure(results),
                                         Block("what_was_run", "what-was-run", level=2,
                                               facts={"dataset": results.dataset_name or "unknown",
                                                      "spaces": page_tables.run_summary(results)})]
    blocks += comparison_blocks(results, comparison)
    for space in results.spaces:
        blocks += space_blocks(results, space, costs)
    blocks += extra_blocks(results)
    blocks.append(methods_block(results))
    blocks.append(Block("provenance", "provenance", level=2))
    blocks += provenance_blocks(results)
    return blocks


# ----------------------------------------------------------------------------------- files


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def write_analysis(results: Results, output_dir: Path) -> dict[str, Path]:
    """The analysis of a run as files under `output_dir` (report/): correlations.csv, costs.csv,
    comparison.csv, verdicts.csv, tables/, figures/ and outline.json. Returns the CSVs' paths."""
    from harness.report.render import block_title  # the templates' titles, for the Markdown/LaTeX captions

    costs = costs_table(results)
    comparison = comparison_table(results, costs)
    verdicts = verdicts_table(results)
    written = {"correlations": output_dir / Path(paths.REPORT_CORRELATIONS).name,
               "costs": output_dir / Path(paths.REPORT_COSTS).name,
               "comparison": output_dir / Path(paths.REPORT_COMPARISON).name,
               "verdicts": output_dir / Path(paths.REPORT_VERDICTS).name}
    write_csv(page_tables.all_correlations(results), written["correlations"])
    write_csv(costs, written["costs"])
    write_csv(comparison, written["comparison"])
    write_csv(verdicts, written["verdicts"])
    blocks = page_blocks(results, comparison, costs, verdicts)
    for block in blocks:
        if block.figure is not None:
            data = png_bytes(block.figure)
            with atomic_path(output_dir / FIGURES_DIR / f"{block.key}.png") as tmp:
                tmp.write_bytes(data)
        if block.table is not None:
            write_csv(filled(block.table), output_dir / TABLES_DIR / f"{block.key}.csv")  # as the page shows it
            write_table(block.table, output_dir / TABLES_DIR, block.key, block_title(block.type, block.facts))
    (output_dir / FIGURES_DIR).mkdir(parents=True, exist_ok=True)
    (output_dir / TABLES_DIR).mkdir(parents=True, exist_ok=True)
    write_json([block.entry() for block in blocks], output_dir / OUTLINE)
    return written


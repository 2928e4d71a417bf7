"""Render report/index.html from the analysis files (outline.json, tables/*.csv, figures/*.png),
the provenance job's provenance.json and, when there is one, the latest verification. Nothing is
computed here; the words are the templates' (harness/report/templates/)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from harness import paths
from harness.io import atomic_path
from harness.report.tables import key_value, table_html
from harness.results.files import optional_json, read_bytes_file, read_json_file, read_table_text

# file names inside the report folder, from harness.paths (outline.py, which writes them, imports matplotlib)
OUTLINE = Path(paths.REPORT_OUTLINE).name
PROVENANCE = Path(paths.REPORT_PROVENANCE).name
TABLES_DIR = Path(paths.REPORT_TABLES).name
FIGURES_DIR = Path(paths.REPORT_FIGURES).name
# provenance.json section -> the block type that shows it (harness.commands.provenance writes them)
PROVENANCE_SECTIONS = {"code": "provenance_code", "hardware": "provenance_hardware",
                       "determinism": "provenance_determinism", "libraries": "provenance_libraries"}

ENVIRONMENT = jinja2.Environment(loader=jinja2.PackageLoader("harness.report", "templates"),
                                 autoescape=jinja2.select_autoescape(["html", "j2"]),
                                 undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def block_title(block_type: str, facts: dict[str, Any]) -> str:
    """A block's title as the templates word it (also the caption of its Markdown/LaTeX table)."""
    macros = ENVIRONMENT.get_template("blocks.j2").module
    return str(macros.title(block_type, _Facts(facts))).strip()


class _Facts(dict):
    """A block's facts for the templates: missing ones read as empty (a block sets only its own)."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name, "")


def trusted_table(frame: pd.DataFrame) -> Markup:
    """A table as HTML for the page: pandas escapes every cell, so the markup is safe to insert."""
    return Markup(table_html(frame))


def key_value_html(pairs: dict[str, Any]) -> Markup:
    return trusted_table(key_value(pairs))


def provenance_blocks(provenance: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not provenance:
        return []
    return [{"type": kind, "key": kind.replace("_", "-"), "level": 3, "facts": _Facts(), "note": "",
             "collapsed": False, "table_html": key_value_html(provenance[section]), "image": ""}
            for section, kind in PROVENANCE_SECTIONS.items() if provenance.get(section)]


def verification_block(results: Path) -> list[dict[str, Any]]:
    path = results / paths.VERIFICATION
    if not path.is_file():
        return []
    return [{"type": "verification", "key": "verification", "level": 2, "facts": _Facts(), "note": "",
             "collapsed": False, "table_html": trusted_table(read_table_text(path)), "image": ""}]


def render_blocks(report: Path, outline: list[dict[str, Any]], provenance: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The outline's blocks with their table as HTML and their figure as base64, the provenance
    job's sections inserted after the Provenance heading."""
    blocks = []
    for entry in outline:
        block = {**entry, "facts": _Facts(entry.get("facts") or {}), "table_html": "", "image": ""}
        if entry["table"]:
            block["table_html"] = trusted_table(read_table_text(report / TABLES_DIR / f"{entry['key']}.csv"))
        if entry["figure"]:
            block["image"] = base64.b64encode(read_bytes_file(report / FIGURES_DIR / f"{entry['key']}.png")).decode("ascii")
        blocks.append(block)
        if entry["type"] == "provenance":
            blocks += provenance_blocks(provenance)
    return blocks


def render_report(results: Path, report: Path) -> Path:
    """Write report/index.html; returns its path."""
    outline = read_json_file(report / OUTLINE, "report outline")
    provenance = optional_json(report / PROVENANCE)
    manifest = optional_json(results / paths.MANIFEST) or {}
    config = optional_json(results / manifest.get("run_config", paths.RUN_CONFIG))
    dataset = optional_json(results / manifest.get("dataset_meta", paths.DATASET_META))
    blocks = render_blocks(report, outline, provenance) + verification_block(results)
    raw = [(f"dataset record {paths.DATASET_META}", dataset), (f"run configuration {paths.RUN_CONFIG}", config)]
    page = ENVIRONMENT.get_template("page.html.j2").render(
        blocks=blocks, spaces=manifest.get("spaces", []),
        raw_json=[(title, None if obj is None else json.dumps(obj, indent=2, sort_keys=True, default=str))
                  for title, obj in raw])
    target = report / Path(paths.REPORT_HTML).name
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target

"""MkDocs hooks (mkdocs.yml `hooks:`): the parts of the site that are generated at build time from
the repository, never committed.

A page asks for generated content with an HTML comment on a line of its own:

    <!-- generate: config-reference -->   every key of config/schema.yaml: type, default, allowed, description
    <!-- generate: configs -->            the config files under config/ with their opening comment
    <!-- generate: methods -->            the method registry (methods/): one row per method, its parts
    <!-- generate: method-details -->     per method: summary and scorer options with their defaults
    <!-- generate: spaces -->             the search spaces the harness registers
    <!-- generate: commands -->           `python -m harness` commands and what each does
    <!-- generate: published -->          the published numbers the report shows beside its own
    <!-- generate: add-a-proxy-example --> README.md's example of a new proxy (tested there)
    <!-- table: PATH [where COL=V1,V2 ...] [last COL per C1,C2] [pivot ROW COLUMN] [columns C1,C2]
                [round N] [caption TEXT] -->
                                          a committed CSV under docs/ as a table: the rows `where`
                                          selects (values may be patterns: `metric=kendall_tau_diff*`), of those the ones with the largest COL in their
                                          group (`last`), optionally one row per ROW value and one
                                          column per COLUMN value (`pivot`: cells "value [ci_low,
                                          ci_high]"), numbers to N decimals; followed by the
                                          command that made it (a `command` column, or the
                                          `command:` of the sidecar PATH-without-.csv.yaml, or
                                          of source.yaml in the CSV's folder)

A marker naming something that does not exist (a file, a column) fails the build: a strict build in
the test suite then says which page and marker to fix.
"""

from __future__ import annotations

import csv
import fnmatch
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import yaml
from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARKER = re.compile(r"^<!--[ \t]*(?P<kind>generate|table):[ \t]*(?P<body>.*?)[ \t]*-->[ \t]*$", re.MULTILINE)


def on_config(config: Any) -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # the harness and methods packages of this checkout
    return config


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def replace(match: re.Match) -> str:
        try:
            if match["kind"] == "table":
                return csv_table(match["body"], page.file.src_uri)
            name = match["body"]
            if name not in GENERATORS:
                raise ValueError(f"unknown generator {name!r}; known: {', '.join(sorted(GENERATORS))}")
            return GENERATORS[name]()
        except Exception as exc:  # the build names the page and the marker
            raise PluginError(f"{page.file.src_uri}: <!-- {match['kind']}: {match['body']} -->: {exc}") from exc

    return MARKER.sub(replace, markdown)


# --- markdown helpers -------------------------------------------------------------------------

def cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ").strip()


def code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return f"`{text}`" if text != "" else ""


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


# --- config/schema.yaml -----------------------------------------------------------------------

def _type(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    names = []
    for k in kinds:
        if k == "array" and isinstance(schema.get("items"), dict) and "type" in schema["items"]:
            names.append(f"list of {_type(schema['items'])}")
        elif k == "object" and isinstance(schema.get("additionalProperties"), dict):
            names.append(f"map to {_type(schema['additionalProperties'])}")
        else:
            names.append(str(k))
    return " or ".join(names)


def _allowed(schema: dict[str, Any]) -> str:
    parts = []
    if "enum" in schema:
        parts.append("one of " + ", ".join(code(v) for v in schema["enum"]))
    for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in schema:
            parts.append(f"{sign} {schema[key]}")
    for key, what in (("minItems", "at least {} items"), ("maxItems", "at most {} items")):
        if key in schema:
            parts.append(what.format(schema[key]))
    items = schema.get("items")
    if isinstance(items, dict) and ("enum" in items or "minimum" in items):
        parts.append("each " + _allowed(items))
    return "; ".join(parts)


def _rows(properties: dict[str, Any], prefix: str) -> list[list[Any]]:
    rows = []
    for name, schema in properties.items():
        path = f"{prefix}{name}"
        nested = schema.get("properties")
        default = "" if "default" not in schema or nested else code(schema["default"])
        rows.append([code(path), _type(schema), default, _allowed(schema), schema.get("description", "")])
        if nested:
            rows += _rows(nested, f"{path}.")
    return rows


def config_reference() -> str:
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text(encoding="utf-8"))
    header = ["key", "type", "default", "allowed", "what it does"]
    top = {k: v for k, v in schema["properties"].items() if "properties" not in v}
    parts = ["### Top-level keys", "", markdown_table(header, _rows(top, ""))]
    for name, section in schema["properties"].items():
        if "properties" not in section:
            continue
        parts += ["", f"### `{name}`", "", section.get("description", ""), "",
                  markdown_table(header, _rows(section["properties"], f"{name}."))]
    return "\n".join(parts)


def configs() -> str:
    rows = []
    for path in sorted((ROOT / "config").glob("*.yaml")):
        if path.name == "schema.yaml":
            continue
        comment = []
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line[1:] if line.startswith("#") else None
            if text is None or not text.strip() or text.startswith("   "):
                break  # the opening paragraph ends at a blank or indented comment line
            comment.append(text.strip())
        paragraph = " ".join(comment).rstrip(":") + "." if comment else ""
        paragraph = paragraph.replace("..", ".")
        rows.append([code(f"config/{path.name}"), paragraph])
    return markdown_table(["file", "what it is (its opening comment)"], rows)


# --- the registries ---------------------------------------------------------------------------

def _methods() -> list[Any]:
    from methods import registry

    return sorted(registry().values(), key=lambda m: (["supernet", "zero-cost", "trivial"].index(m.kind), m.name))


def methods_table() -> str:
    rows = []
    for method in _methods():
        trains = method.sampler is not None
        rows.append([
            code(method.name), method.kind,
            code(method.sampler) if trains else "",
            code(method.trainable) if trains else "",
            f"{method.epoch_fraction:g}" if trains else "",
            code(method.recipe) if trains else "",
            code(method.baseline) if method.baseline else "",
            ", ".join(flag for flag, on in (("stochastic", method.stochastic),
                                            ("population-relative", method.population_relative)) if on),
        ])
    header = ["method", "kind", "sampler", "trainable", "budget (epoch fraction)", "recipe", "baseline", "scoring"]
    return markdown_table(header, rows)


def method_details() -> str:
    parts = []
    for method in _methods():
        options = ", ".join(f"{code(k)} = {code(v)}" for k, v in method.options.items()) or "none"
        scorer = getattr(method.scorer, "__name__", str(method.scorer))
        parts += [f"### `{method.name}`", "", method.summary, "",
                  f"Scorer `{scorer}`; options (defaults): {options}."]
        if method.space_knobs:
            parts += ["", f"Runs only on: {', '.join(code(s) for s in method.space_knobs)}."]
        parts.append("")
    return "\n".join(parts)


def spaces() -> str:
    from harness.spaces import space_names

    return ", ".join(code(name) for name in space_names())


def commands() -> str:
    import importlib
    import pkgutil

    from harness import commands as package

    rows = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        rows.append([code(f"python -m harness {module.NAME}"), module.HELP])
    return markdown_table(["command", "what it does"], rows)


def published() -> str:
    from harness.analysis.paper import PUBLISHED

    header = ["space", "method", "top-1 %", "MFLOPs", "M params", "source"]
    rows = [[code(p["space"]), code(p["method"]), p["top1_pct"], p["flops_M"], p.get("params_M") or "", p["source"]]
            for p in PUBLISHED]
    return markdown_table(header, rows)


def add_a_proxy_example() -> str:
    """The README's example of a new proxy (the python block after `<!-- example: add-a-proxy -->`),
    shown here as the README has it, so the two cannot differ."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- example: add-a-proxy -->\s*(```python\n.*?\n```)", readme, re.DOTALL)
    if not match:
        raise ValueError("README.md has no python block after <!-- example: add-a-proxy -->")
    return match[1]


GENERATORS = {
    "add-a-proxy-example": add_a_proxy_example,
    "config-reference": config_reference,
    "configs": configs,
    "methods": methods_table,
    "method-details": method_details,
    "spaces": spaces,
    "commands": commands,
    "published": published,
}


# --- committed CSVs ---------------------------------------------------------------------------

TABLE_KEYWORDS = ("where", "columns", "last", "pivot", "round")


def _parse_table_marker(body: str) -> tuple[Path, dict[str, Any], str | None]:
    """PATH [where COL=V1,V2 ...] [last COL per C1,C2] [pivot ROW COLUMN] [columns C1,C2] [round N] [caption TEXT]"""
    caption = None
    if " caption " in f" {body} ":
        body, _, caption = body.partition(" caption ")
    words = body.split()
    options: dict[str, Any] = {"where": {}}
    mode, args = None, []
    for word in words[1:] + ["where"]:  # a final keyword flushes the last group
        if word in TABLE_KEYWORDS:
            if mode == "columns":
                options["columns"] = [c for a in args for c in a.split(",") if c]
            elif mode == "last":
                if len(args) != 3 or args[1] != "per":
                    raise ValueError("use `last COL per C1,C2`")
                options["last"] = (args[0], args[2].split(","))
            elif mode == "pivot":
                if len(args) != 2:
                    raise ValueError("use `pivot ROW COLUMN`")
                options["pivot"] = tuple(args)
            elif mode == "round":
                options["round"] = int(args[0])
            elif mode == "where":
                for arg in args:
                    key, sep, values = arg.partition("=")
                    if not sep:
                        raise ValueError(f"cannot read {arg!r} after `where`: use COL=V1,V2")
                    options["where"][key] = values.split(",")
            mode, args = word, []
        elif mode is None:
            raise ValueError(f"cannot read {word!r}: use PATH then {', '.join(TABLE_KEYWORDS)}")
        else:
            args.append(word)
    return DOCS / words[0], options, caption


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _rounded(text: str, digits: int | None) -> str:
    value = _number(text)
    if digits is None or value is None or text.lstrip("-").isdigit():
        return text
    return f"{value:.{digits}f}"


def _last(rows: list[dict[str, str]], column: str, groups: list[str]) -> list[dict[str, str]]:
    """The rows whose `column` is the largest within their group (numbers compared as numbers)."""
    def key(value: str) -> tuple[int, float | str]:
        number = _number(value)
        return (1, number) if number is not None else (0, value)

    best: dict[tuple[str, ...], tuple[int, float | str]] = {}
    for row in rows:
        group = tuple(row[g] for g in groups)
        best[group] = max(best.get(group, key(row[column])), key(row[column]))
    return [r for r in rows if key(r[column]) == best[tuple(r[g] for g in groups)]]


def _pivot(rows: list[dict[str, str]], index: str, column: str, digits: int | None) -> tuple[list[str], list[list[str]]]:
    """One row per value of the `index` column(s) (comma-separated), one column per `column` value;
    a cell is `value [ci_low, ci_high]`."""
    keys = index.split(",")
    columns = list(dict.fromkeys(r[column] for r in rows))
    table: dict[tuple[str, ...], dict[str, str]] = {}
    for row in rows:
        text = _rounded(row["value"], digits)
        if row.get("ci_low") not in (None, "") and row.get("ci_high") not in (None, ""):
            text += f" [{_rounded(row['ci_low'], digits)}, {_rounded(row['ci_high'], digits)}]"
        table.setdefault(tuple(row[k] for k in keys), {})[row[column]] = text
    return [*keys, *columns], [[*names, *(cells.get(c, "") for c in columns)] for names, cells in table.items()]


def csv_table(body: str, page_uri: str) -> str:
    path, options, caption = _parse_table_marker(body)
    if not path.is_file():
        raise FileNotFoundError(f"{path.relative_to(ROOT)} does not exist")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = list(reader)
    where, columns, digits = options["where"], options.get("columns"), options.get("round")
    named = list(where) + (columns or [])
    if "last" in options:
        named += [options["last"][0], *options["last"][1]]
    if "pivot" in options:
        named += [*options["pivot"][0].split(","), options["pivot"][1], "value"]
    for name in named:
        if name not in header:
            raise KeyError(f"{path.relative_to(ROOT)} has no column {name!r}; its columns: {', '.join(header)}")
    rows = [r for r in rows if all(any(fnmatch.fnmatchcase(r[k], v) for v in values) for k, values in where.items())]
    if "last" in options:
        rows = _last(rows, *options["last"])
    if not rows:
        raise ValueError(f"{path.relative_to(ROOT)}: no row is left to show")
    if "pivot" in options:
        shown, cells = _pivot(rows, *options["pivot"], digits)
    else:
        shown = columns or header
        cells = [[code(r[c]) if c == "command" else _rounded(r[c], digits) for c in shown] for r in rows]
    table = markdown_table(shown, cells)
    sidecar = path.with_suffix(".yaml")
    if not sidecar.is_file():
        sidecar = path.parent / "source.yaml"  # one sidecar for a folder of CSVs (a run's report)
    meta = yaml.safe_load(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else {}
    command = meta.get("command")
    if not command and "command" not in header:
        raise ValueError(f"{path.relative_to(ROOT)}: no `command` column and no `command:` in "
                         f"{sidecar.relative_to(ROOT)}; every measurement names the command that made it")
    lines = ([f"*{caption}*"] if caption else []) + [table]
    if command:
        commands = [command] if isinstance(command, str) else list(command)
        lines.append("Made by " + "; then ".join(code(c) for c in commands)
                     + (f", {meta['measured']}" if meta.get("measured") else "") + ".")
    elif "command" not in shown:
        lines.append("Made by " + "; ".join(sorted({code(r["command"]) for r in rows if r["command"]})) + ".")
    if meta.get("note"):
        lines.append(" ".join(str(meta["note"]).split()))
    link = os.path.relpath(path, (DOCS / page_uri).parent).replace(os.sep, "/")
    lines.append(f"Data: [{path.relative_to(ROOT).as_posix()}]({link}).")
    return "\n\n".join(lines) + "\n"

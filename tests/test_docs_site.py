"""The documentation: the MkDocs site builds strictly (a broken link, anchor or generator marker fails
it), its generated pages hold what the repository declares, the README stays short, and no link
leaves the repository."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from html import escape
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README_LIMIT = 12 * 1024
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)[^)]*\)|href=\"([^\"]+)\"|src=\"([^\"]+)\"")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    return out


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


def schema_keys(properties: dict, prefix: str = "") -> list[str]:
    keys = []
    for name, schema in properties.items():
        keys.append(prefix + name)
        keys += schema_keys(schema.get("properties", {}), f"{prefix}{name}.")
    return keys


def test_the_configuration_page_describes_every_schema_key(site):
    schema = yaml.safe_load((ROOT / "config" / "schema.yaml").read_text())
    html = page(site, "configuration")
    missing = [k for k in schema_keys(schema["properties"]) if f"<code>{k}</code>" not in html]
    assert not missing, f"keys of config/schema.yaml missing from the configuration page: {missing}"


def test_the_methods_page_lists_every_registered_method(site):
    from methods import registry

    html = page(site, "methods")
    missing = [name for name in registry() if f"<code>{name}</code>" not in html]
    assert not missing, f"registered methods missing from the methods page: {missing}"


def test_the_results_page_renders_the_committed_report_csvs(site):
    html = page(site, "results")
    with (ROOT / "docs" / "results" / "verdicts.csv").open(newline="") as handle:
        verdicts = list(csv.DictReader(handle))
    assert verdicts and "<table>" in html
    for row in verdicts:
        assert escape(row["claim"], quote=False) in html and escape(row["verdict"], quote=False) in html


def test_the_readme_is_short_and_keeps_the_proxy_example():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.encode()) <= README_LIMIT, f"README.md is {len(text.encode())} bytes; keep it <= {README_LIMIT}"
    assert re.search(r"<!-- example: add-a-proxy -->\s*```python\n", text), \
        "README.md lost the `<!-- example: add-a-proxy -->` marker and the python block after it"


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_link_leaves_the_repository(path):
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    bad = []
    for match in LINK.finditer(text):
        target = next(t for t in match.groups() if t)
        if target.startswith("#"):
            continue
        resolved = (path.parent / target.split("#")[0]).resolve()
        if "://" in target or target.startswith(("/", "mailto:")) or not resolved.is_relative_to(ROOT) \
                or not resolved.exists():
            bad.append(target)
    assert not bad, f"{path.relative_to(ROOT)} links outside the repository or to nothing: {bad}"

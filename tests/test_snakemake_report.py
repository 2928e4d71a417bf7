"""Snakemake's own report of the smoke run (`snakemake --report report.html` / `report.zip`):
the harness report, its figures and tables are in it, with their captions."""

from __future__ import annotations

import zipfile

from conftest import run_snakemake, smoke_args


def test_snakemake_report_holds_the_figures_and_tables(smoke_run):
    workdir = smoke_run.parents[1]
    figures = sorted(p.name for p in (smoke_run / "report" / "figures").glob("*.png"))
    assert "forest-tau.png" in figures and any("early-bird" in f for f in figures)
    assert (smoke_run / "report" / "tables" / "verdicts.md").is_file()
    assert (smoke_run / "report" / "tables" / "verdicts.tex").is_file()
    for name in ("report.zip", "report.html"):
        done = run_snakemake("--report", name, *smoke_args(workdir), cwd=workdir)
        assert done.returncode == 0, done.stderr[-3000:]
    with zipfile.ZipFile(workdir / "report.zip") as archive:
        names = archive.namelist()
    for figure in figures:
        assert any(n.endswith(f"/{figure}") for n in names), figure
    assert any(n.endswith("/index.html") for n in names) and any(n.endswith("/verdicts.md") for n in names)
    page = (workdir / "report.html").read_text(encoding="utf-8")
    assert "forest-tau" in page and "Kendall tau with its bootstrap" in page  # a figure and its caption

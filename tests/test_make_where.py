"""`make reproduce` ends by saying where to look: the results folder a run with the same ARGS writes
(scripts/results_dir.py, Snakemake's precedence of config files and --config), its report and
verdicts, and the command for Snakemake's own report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args, expected", [
    ([], "results"),
    (["--configfile", "config/smoke.yaml"], "results/smoke"),
    (["--cores", "2", "--configfile=config/cpu-breadth.yaml"], "results/cpu-breadth"),
    (["--configfile", "config/smoke.yaml", "config/config.yaml"], "results"),  # the last file wins
    (["--configfile", "config/smoke.yaml", "--config", "seeds=[0]", "results_dir=elsewhere"], "elsewhere"),
    (["--config", 'methods=["spos"]', "--configfile", "config/smoke.yaml"], "results/smoke"),
])
def test_results_dir_follows_snakemakes_precedence(args, expected):
    done = subprocess.run([sys.executable, "scripts/results_dir.py", *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_make_where_names_the_report_the_headline_verdicts_and_snakemakes_report(tmp_path):
    report = tmp_path / "run" / "report"
    report.mkdir(parents=True)
    columns = "claim,headline,verdict,measured,ci_low,ci_high,unit,sentence,would_decide"
    (report / "verdicts.csv").write_text(
        f"{columns}\n"
        "supernet training > 10x faster,True,confirmed,14.8,12.1,17.9,x,the CI lies above 10x.,\n"
        "supernet training > 10x faster,False,confirmed,14.1,11.0,18.0,x,a detail row,\n"
        "no loss of searched accuracy,True,inconclusive,0.5,-2.9,3.9,top-1 points,spans the margin.,6 paired seeds\n")
    args = f"--configfile config/smoke.yaml --config results_dir={tmp_path / 'run'}"
    done = subprocess.run(["make", "--no-print-directory", "where", f"ARGS={args}",
                           f"RUN=PATH={Path(sys.executable).parent}:$$PATH"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"{report}/index.html" in done.stdout and f"{report}/verdicts.csv" in done.stdout
    lines = done.stdout.splitlines()
    assert sum("supernet training > 10x faster" in line for line in lines) == 1  # headlines only
    assert any(line.strip().startswith("CONFIRMED") and "14.8x [12.1, 17.9]" in line for line in lines)
    assert "would decide it: 6 paired seeds" in done.stdout
    assert f"snakemake --report report.html {args}" in done.stdout


def test_make_where_before_a_run_has_finished_says_so(tmp_path):
    done = subprocess.run(["make", "--no-print-directory", "where", f"ARGS=--config results_dir={tmp_path}",
                           f"RUN=PATH={Path(sys.executable).parent}:$$PATH"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "the run has not finished (make resume finishes it)" in done.stdout

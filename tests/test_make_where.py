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


def test_make_where_names_the_report_the_verdicts_and_snakemakes_report():
    done = subprocess.run(["make", "--no-print-directory", "where", "ARGS=--configfile config/smoke.yaml",
                           f"RUN=PATH={Path(sys.executable).parent}:$$PATH"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "results/smoke/report/index.html" in done.stdout
    assert "results/smoke/report/verdicts.csv" in done.stdout
    assert "snakemake --report report.html --configfile config/smoke.yaml" in done.stdout

"""The smoke workflow end to end (what `snakemake --cores 2 --configfile config/smoke.yaml` does),
and `snakemake --lint`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["snakemake", "--snakefile", str(ROOT / "Snakefile"), *args],
                          cwd=cwd, capture_output=True, text=True)


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("smoke")
    done = snakemake("--cores", "2", "--configfile", str(ROOT / "config" / "smoke.yaml"), cwd=workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir / "results" / "smoke"


def test_smoke_workflow_writes_the_report(smoke_run):
    html = (smoke_run / "report" / "index.html").read_text()
    assert "spos" in html and "bnnas" in html and "data:image/png;base64" in html
    correlations = pd.read_csv(smoke_run / "report" / "correlations.csv")
    for method in ("spos", "bnnas", "noise-ceiling"):
        rows = correlations[(correlations.method == method) & (correlations.metric == "kendall_tau")]
        assert len(rows) >= 1, method
        assert rows["value"].between(-1, 1).all()
    curve = correlations[(correlations.method == "spos") & (correlations.metric == "kendall_tau")]
    assert curve["checkpoint"].nunique() == 2  # smoke keeps 2 curve points
    costs = pd.read_csv(smoke_run / "report" / "costs.csv").set_index("method")
    assert costs.loc["bnnas", "baseline"] == "spos"
    assert costs.loc["bnnas", "train_speedup_vs_baseline"] > 1
    assert costs.loc["bnnas", "scoring_speedup_vs_baseline"] > 100


def test_smoke_workflow_records_how_ground_truth_was_made(smoke_run):
    retrain = pd.read_csv(smoke_run / "nats-tss" / "groundtruth" / "retrain.csv")
    assert len(retrain) == 8 + 4  # every arch once, repeat_archs twice
    assert {"arch_str", "seed", "epochs", "batch_size", "lr", "train_images", "test_acc"} <= set(retrain.columns)
    assert (retrain.groupby("arch_id").seed.nunique() <= 2).all()


def test_snakemake_lint_is_clean(tmp_path):
    done = snakemake("--lint", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Lints for" not in done.stdout + done.stderr, done.stdout + done.stderr

"""The smoke workflow end to end (what `snakemake --cores 2 --configfile config/smoke.yaml` does;
the run itself is conftest.py's smoke_run), and `snakemake --lint`."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from scipy.stats import kendalltau
from conftest import run_snakemake as snakemake

from harness.groundtruth.nats_bench_bundled import BUNDLED_SHA256, FULL_TABLE, bundled_path

# smoke_run: the session fixture in conftest.py (shared with the report and browser tests)


def test_smoke_workflow_writes_the_report(smoke_run):
    html = (smoke_run / "report" / "index.html").read_text()
    assert "spos" in html and "bnnas" in html and "data:image/png;base64" in html
    correlations = pd.read_csv(smoke_run / "report" / "correlations.csv")
    for method in ("spos", "bnnas", "retraining-reliability"):
        rows = correlations[(correlations.method == method) & (correlations.metric == "kendall_tau")]
        assert len(rows) >= 1, method
        assert rows["value"].between(-1, 1).all()
    curve = correlations[(correlations.method == "spos") & (correlations.metric == "kendall_tau")]
    assert curve["checkpoint"].nunique() == 2  # smoke keeps 2 curve points
    costs = pd.read_csv(smoke_run / "report" / "costs.csv")
    costs = costs[costs.seed == 0].set_index("method")  # the smoke run trains BN-NAS with two seeds
    assert costs.loc["bnnas", "baseline"] == "spos"
    assert costs.loc["bnnas", "train_speedup_vs_baseline"] > 1
    # 8 tiny archs: building BN-NAS's score table dominates its time here (90-800x measured);
    # `python -m benchmarks` measures the ratio at 1,000 archs
    assert costs.loc["bnnas", "scoring_speedup_vs_baseline"] > 10


def test_smoke_workflow_compares_searched_architectures(smoke_run):
    comparison = pd.read_csv(smoke_run / "report" / "comparison.csv").set_index("method")
    assert set(comparison.index) == {"spos", "bnnas"}
    assert (comparison["flops_M"] <= 0.06 + 1e-9).all()  # smoke.yaml's FLOPs budget
    assert comparison.loc["bnnas", "baseline"] == "spos"
    # per-subnet evaluation inside the search: BN-NAS rebuilds its score table per generation of
    # 6 candidates here, so the ratio is far below the 1,000-arch figure of `python -m benchmarks`
    assert comparison.loc["bnnas", "eval_speedup_vs_baseline"] > 5
    assert comparison["top1_pct_mean"].between(0, 100).all()
    html = (smoke_run / "report" / "index.html").read_text()
    assert "Does it beat the cheap answers?" in html and "Published ImageNet numbers" in html


def test_smoke_workflow_judges_against_nats_bench(smoke_run):
    correlations = pd.read_csv(smoke_run / "report" / "correlations.csv")
    truths = set(correlations["ground_truth"])
    for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
        assert f"nats-bench:{dataset}" in truths and f"all-nats-bench:{dataset}" in truths
    whole = correlations[(correlations.ground_truth == "all-nats-bench:cifar10") & (correlations.metric == "kendall_tau")
                         & (correlations.seed >= 0)]  # per-seed rows; seed -1 rows are the means over seeds
    n_by_run = whole.groupby(["method", "seed"])["n"].first().to_dict()
    assert n_by_run == {("bnnas", 0): 15625, ("bnnas", 1): 15625, ("params", 0): 15625, ("spos", 0): 20}
    params_tau = whole[whole.method == "params"]["value"].item()
    # what the correlate job had to compute: scipy's tau of the run's own scores against the bundled table
    scores = pd.read_csv(smoke_run / "nats-tss" / "params" / "seed0" / "all_scores.csv")
    joined = scores.merge(pd.read_csv(bundled_path(FULL_TABLE)), on="arch_str")
    assert len(joined) == 15625
    assert params_tau == pytest.approx(kendalltau(joined["score"], joined["c10_test_acc_200"])[0], abs=1e-9)
    record = json.loads((smoke_run / "nats-tss" / "groundtruth" / "nats-bench-cifar10.csv.json").read_text())
    assert record["source"]["hp"] == "200" and record["source"]["seed_policy"] == "mean"
    assert record["source"]["bundled"] is True and record["source"]["file"] == "nb201_tss_wide.csv.xz"
    assert record["source"]["sha256_uncompressed"] == BUNDLED_SHA256["nb201_tss_wide.csv"]
    assert "NATS-Bench ground truth: what was queried" in (smoke_run / "report" / "index.html").read_text()


def test_smoke_workflow_records_how_ground_truth_was_made(smoke_run):
    retrain = pd.read_csv(smoke_run / "nats-tss" / "groundtruth" / "retrain.csv")
    assert len(retrain) == 8 + 4  # every arch once, repeat_archs twice
    assert {"arch_str", "seed", "epochs", "batch_size", "lr", "train_images", "test_acc"} <= set(retrain.columns)
    assert (retrain.groupby("arch_id").seed.nunique() <= 2).all()


def test_snakemake_lint_is_clean(tmp_path):
    done = snakemake("--lint", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Lints for" not in done.stdout + done.stderr, done.stdout + done.stderr

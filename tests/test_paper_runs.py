"""Every shipped paper config runs end to end, for real, at a tiny scale on the CPU:
config/paper.yaml (ImageNet reader, paper recipes, search, final retraining) on a small synthetic
ImageFolder tree, and config/paper-nats.yaml (ranking on CIFAR-10 with NATS-Bench ground truth)
on small synthetic CIFAR-format pickles. Only sizes, epochs and the device are overridden; with
no NATS-Bench archive anywhere, its ground-truth jobs record "not available" and the report says so."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from test_data import make_cifar
from test_imagenet import make_tree

ROOT = Path(__file__).resolve().parents[1]
MOBILENETS = ("spos-mobilenet", "fairnas-mobilenet")
METHODS = ("spos", "bnnas", "fairnas", "bnnas-fairnas")
TINY_TRAINING = {"batch_size": 4, "lr": 0.05}


def run_workflow(config_name: str, overrides: dict[str, Any], workdir: Path) -> subprocess.CompletedProcess:
    """`snakemake --cores 2 --configfile config/NAME overrides.yaml` with no data or NATS-Bench
    found outside the test's folders. (A YAML file, not --config: Snakemake reads nested --config
    values as strings.)"""
    home = workdir / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_DATA", "TORCH_HOME")} | {"HOME": str(home)}
    override_file = workdir / "overrides.yaml"
    override_file.write_text(yaml.safe_dump(overrides))
    return subprocess.run(["snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2",
                           "--configfile", str(ROOT / "config" / config_name), str(override_file)],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=1800)


def test_paper_config_runs_end_to_end_on_a_tiny_imagefolder(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "imagenet")  # 3 classes: 6 train and 2 val images each
    space = {"width_mult": 0.1, "depths": [1, 1, 1, 1, 1, 1]}
    overrides = {
        "device": "cpu", "threads": 1,
        "dataset": {"root": str(tree), "resolution": 32, "train_images": 12, "val_images": 6},
        "spaces": {name: space for name in MOBILENETS},
        "supernet": {**TINY_TRAINING, "batch_size": 2, "epochs": 1, "space_epochs": {name: 1 for name in MOBILENETS},
                     "curve_points": 1},  # FairNAS trains 6 paths x 2 images a step: 12 training images
        "scoring": {"recalibration_batches": 1, "recalibration_batch_size": 4, "validation_images": 6, "batch_size": 6},
        "search": {"flops_budget": {name: 100.0 for name in MOBILENETS}, "generations": 1, "population": 4,
                   "parents": 2, "mutations": 1, "crossovers": 1, "topk": 1},
        "final": {**TINY_TRAINING, "epochs": 1},
    }
    done = run_workflow("paper.yaml", overrides, tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    results = tmp_path / "results" / "paper"
    assert json.loads((results / "data" / "dataset.json").read_text())["dataset"] == "imagenet"
    comparison = pd.read_csv(results / "report" / "comparison.csv")
    assert set(zip(comparison["space"], comparison["method"])) == {(s, m) for s in MOBILENETS for m in METHODS}
    assert comparison["top1_pct_mean"].between(0, 100).all()
    assert (comparison["flops_M"] <= 100.0).all()
    costs = pd.read_csv(results / "report" / "costs.csv").set_index(["space", "method"])
    assert costs.loc[("spos-mobilenet", "bnnas"), "baseline"] == "spos"
    assert costs.loc[("fairnas-mobilenet", "bnnas-fairnas"), "baseline"] == "fairnas"


def test_paper_nats_config_runs_end_to_end_on_tiny_cifar_pickles(tmp_path: Path) -> None:
    data = make_cifar(tmp_path / "data", "cifar10")  # 300 train, 50 test images
    overrides = {
        "device": "cpu", "threads": 1,
        "dataset": {"root": str(data), "train_images": 150, "val_images": 100},
        "spaces": {"nats-tss": {"C": 4, "N": 1}, "nats-sss": {"width_mult": 0.125}},
        "archs": {"count": 4},
        "supernet": {**TINY_TRAINING, "epochs": 1, "curve_points": 1},
        "scoring": {"recalibration_batches": 1, "recalibration_batch_size": 4, "validation_images": 20, "batch_size": 20},
        "groundtruth": {**TINY_TRAINING, "epochs": 1, "repeat_archs": 2, "shards": 1},
        "correlation": {"bootstrap": 10, "bootstrap_all_archs": 10},
        "nats_bench": {"datasets": ["cifar10"], "all_archs_methods": ["bnnas"]},
    }
    done = run_workflow("paper-nats.yaml", overrides, tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    results = tmp_path / "results" / "paper-nats"
    correlations = pd.read_csv(results / "report" / "correlations.csv")
    assert set(correlations["space"]) == {"nats-tss", "nats-sss"}
    assert set(METHODS) | {"retraining-reliability"} <= set(correlations["method"])
    truths = set(zip(correlations["space"], correlations["ground_truth"]))
    # nats-tss: the NATS-Bench table bundled with the package, on the sample and on every arch;
    # nats-sss: no archive in this $TORCH_HOME, so the retrained truth only, and the report says why
    assert {("nats-tss", "nats-bench:cifar10"), ("nats-tss", "all-nats-bench:cifar10")} <= truths
    assert {truth for space, truth in truths if space == "nats-sss"} == {"retrain"}
    tss = json.loads((results / "nats-tss" / "groundtruth" / "nats-bench-cifar10.csv.json").read_text())
    assert tss["source"]["bundled"] is True
    record = json.loads((results / "nats-sss" / "groundtruth" / "nats-bench-cifar10.csv.json").read_text())
    assert record["available"] is False and "NATS-sss" in record["note"]
    page = (results / "report" / "index.html").read_text()
    assert "NATS-Bench ground truth for nats-sss skipped" in page
    # every arch scored only where NATS-Bench values are declared (harness.workflow.plan.declared_source)
    assert len(pd.read_csv(results / "nats-tss" / "bnnas" / "seed0" / "all_scores.csv")) == 15625
    assert not (results / "nats-sss" / "bnnas" / "seed0" / "all_scores.csv").exists()

"""config/paper.yaml (the ImageNet search experiment) and config/paper-nats.yaml (the NATS-Bench
ranking experiment): merged over config/config.yaml as Snakemake merges a --configfile, they
validate, say where every value comes from, and plan the right jobs in a dry run. Without
ImageNet the dry run still succeeds (it reads no data); the run itself stops at prepare-data with
an error that says where ImageNet was looked for and how to get it."""

from __future__ import annotations

import copy
import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.workflow.config import validate_config
from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parents[1]
PAPER_SPACES = {"spos-mobilenet", "fairnas-mobilenet"}
METHODS = ["spos", "bnnas", "fairnas", "bnnas-fairnas"]


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """What Snakemake does with a --configfile (snakemake.utils.update_config): mappings merge key
    by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "config" / name).read_text())


def merged(name: str) -> dict[str, Any]:
    return validate_config(deep_merge(load("config.yaml"), load(name)))


# ----------------------------------------------------------------------------- the configs


def test_paper_config_is_the_papers_imagenet_setting() -> None:
    config = merged("paper.yaml")
    assert config["device"] == "cuda" and config["threads"] == 8
    assert config["dataset"] | {"root": None} == {
        "name": "imagenet", "root": None, "resolution": 224, "train_images": 1_231_167, "val_images": 50_000,
        "test_images": None, "split_seed": 0, "augment": True}
    assert PAPER_SPACES <= set(config["spaces"])
    assert config["spaces"]["spos-mobilenet"]["identity"] == "official"
    assert config["spaces"]["fairnas-mobilenet"]["identity"] == "none"
    assert all(config["spaces"][s]["width_mult"] == 1.0 for s in PAPER_SPACES)
    assert config["methods"] == METHODS and config["seeds"] == [0]
    supernet = config["supernet"]
    assert supernet["epochs"] == 100
    assert {s: supernet["space_epochs"][s] for s in PAPER_SPACES} == {"spos-mobilenet": 100, "fairnas-mobilenet": 150}
    assert (supernet["batch_size"], supernet["lr"], supernet["lr_schedule"], supernet["min_lr"]) == (512, 0.25, "linear", 5e-4)
    assert (supernet["label_smoothing"], supernet["grad_clip"], supernet["nesterov"]) == (0.1, 5.0, False)
    scoring = config["scoring"]
    assert (scoring["recalibration_batches"], scoring["recalibration_batch_size"], scoring["validation_images"]) == (200, 128, 8000)
    search = config["search"]
    assert {s: search["flops_budget"][s] for s in PAPER_SPACES} == {"spos-mobilenet": 475, "fairnas-mobilenet": 330}
    assert search["methods"] == METHODS
    assert [search[k] for k in ("generations", "population", "parents", "mutations", "crossovers", "mutation_prob", "topk")] \
        == [20, 50, 10, 25, 25, 0.1, 2]
    assert config["final"] == {"epochs": 240, "batch_size": 1024, "lr": 0.5, "momentum": 0.9, "weight_decay": 4e-5,
                               "grad_clip": 5.0}
    assert config["archs"]["spaces"] == [] and config["search"]["spaces"] == sorted(PAPER_SPACES, reverse=True)


def test_paper_nats_config_is_nats_bench_on_cifar10() -> None:
    config = merged("paper-nats.yaml")
    assert config["dataset"]["name"] == "cifar10" and config["dataset"]["resolution"] is None
    assert config["spaces"]["nats-tss"] == {"C": 16, "N": 5, "op_bn": "conv"}
    assert config["spaces"]["nats-sss"] == {"width_mult": 1.0}
    assert config["methods"] == METHODS and config["archs"]["spaces"] == ["nats-tss", "nats-sss"]
    groundtruth = config["groundtruth"]
    assert (groundtruth["epochs"], groundtruth["batch_size"], groundtruth["lr"], groundtruth["weight_decay"]) == (200, 256, 0.1, 5e-4)
    assert config["nats_bench"]["hp"] is None and "cifar10" in config["nats_bench"]["datasets"]
    assert config["search"]["spaces"] == []


@pytest.mark.parametrize("name", ["paper.yaml", "paper-nats.yaml"])
def test_every_value_names_its_source(name: str) -> None:
    for number, line in enumerate((ROOT / "config" / name).read_text().splitlines(), 1):
        if re.match(r"^\s*[\w-]+:\s*[^\s#]", line):  # a key with a value on its line
            assert re.search(r"#\s*(paper|NATS|SPOS|BN-NAS|FairNAS|harness|SET THIS)", line), f"{name}:{number}: {line}"


def test_without_imagenet_prepare_data_names_the_places_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.data.imagenet import prepare

    for name in ("HARNESS_DATA", "TORCH_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(HarnessError) as err:
        prepare(merged("paper.yaml")["dataset"], tmp_path / "dataset.pt", tmp_path / "dataset.json")
    message = str(err.value)
    assert str(tmp_path / "data" / "imagenet") in message and "dataset.root is null" in message
    assert "image-net.org" in message and "set dataset.root" in message
    assert not (tmp_path / "dataset.pt").exists()


# ----------------------------------------------------------------------------- dry runs


def job_counts(stdout: str) -> dict[str, int]:
    table = stdout.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        fields = line.split()
        if len(fields) != 2 or fields[0] == "total":
            break
        counts[fields[0]] = int(fields[1])
    return counts


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Both dry runs at once (each takes seconds), from empty directories, without any ImageNet;
    paper-nats.yaml's with a $TORCH_HOME holding (stub) NATS-Bench fast-mode folders."""
    from harness.groundtruth.nats_bench import META_NAME

    nats_home, empty_home = tmp_path_factory.mktemp("torch_home"), tmp_path_factory.mktemp("empty_torch_home")
    for folder in ("NATS-tss-v1_0-3ffb9-simple", "NATS-sss-v1_0-50262-simple"):
        (nats_home / folder).mkdir()
        (nats_home / folder / META_NAME).write_bytes(b"")  # the dry run only checks that it is there
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_DATA"}
    started = {}
    for name, torch_home in (("paper.yaml", empty_home), ("paper-nats.yaml", nats_home)):
        command = ["snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(ROOT / "config" / name)]
        started[name] = subprocess.Popen(command, cwd=tmp_path_factory.mktemp("run"), env=env | {"TORCH_HOME": str(torch_home)},
                                         text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


def test_paper_dry_run_plans_the_search_experiment(dry_runs) -> None:
    done = dry_runs["paper.yaml"]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    counts = job_counts(done.stdout)
    assert counts["prepare_data"] == 1
    assert counts["search"] == counts["final"] == len(PAPER_SPACES) * len(METHODS)
    for space in PAPER_SPACES:
        for method in METHODS:
            assert f"results/paper/{space}/{method}/seed0/final" in done.stdout


def test_paper_dry_run_trains_only_the_paper_spaces_and_retrains_no_sample(dry_runs) -> None:
    done = dry_runs["paper.yaml"]
    counts = job_counts(done.stdout)
    assert counts["train_supernet"] == len(PAPER_SPACES) * len(METHODS)
    assert "retrain_shard" not in counts and "sample_archs" not in counts
    assert "nats-tss" not in done.stdout


def test_paper_nats_dry_run_plans_the_ranking_experiment(dry_runs) -> None:
    done = dry_runs["paper-nats.yaml"]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    counts = job_counts(done.stdout)
    assert counts["train_supernet"] == 2 * len(METHODS)
    assert counts["retrain_shard"] == 2 * 8 and counts["sample_archs"] == 2
    assert "search" not in counts and "final" not in counts
    # NATS-Bench ground truth: 4 datasets x 2 spaces on the sample (nats-sss from $TORCH_HOME, found by
    # the job), and on every arch only where the values are declared: nats-tss (bundled); nats-sss
    # would need nats_bench.archive or csv to name its source (harness.workflow.plan.declared_source).
    assert counts["nats_bench_groundtruth"] == 4 * 2 + 4
    # BN-NAS's lookups (sample and every arch) in one job per space; SPOS and FairNAS score the sample
    assert "score_all_archs" not in counts and counts["score_bn_nats_tss"] == counts["score_bn_nats_sss"] == 1
    assert counts["score"] == 2 * 2
    assert "nats-bench-cifar10-valid.csv" in done.stdout


def test_cpu_breadth_adds_spaces_and_ablations_and_leaves_the_defaults_jobs_as_they_are() -> None:
    """config/cpu-breadth.yaml plans the nats-sss ranking, the MobileNet search and the ablations,
    and every training, scoring, retraining and search job of the default keeps its spec hash
    there: the default's results are the same numbers inside the wider run (README)."""
    from harness.workflow.plan import SCORE_GROUPS, build_plan

    def job_hashes(plan: dict) -> dict[str, str]:
        """Hash of every job and of every run inside a grouped scoring job (whose own hash grows
        with the runs the wider config adds to the group)."""
        specs = [one for spec in plan.values() for one in (spec["runs"] if spec["stage"] in SCORE_GROUPS else [spec])]
        return {spec["id"]: spec["hash"] for spec in specs if spec["stage"] in stages}

    default = build_plan(validate_config(load("config.yaml")))
    breadth = build_plan(merged("cpu-breadth.yaml"))
    stages = {"train_supernet", "score", "score_all_archs", "retrain_shard", "search", "final", "sample_archs"}
    shared, wider = job_hashes(default), job_hashes(breadth)
    assert {job.split(":")[0] for job in shared} == stages
    assert all(wider[job] == h for job, h in shared.items())
    added = {(spec["stage"], spec["space"]["name"]) for job, spec in breadth.items()
             if job not in default and isinstance(spec.get("space"), dict)}
    assert {("retrain_shard", "nats-sss"), ("train_supernet", "nats-sss"), ("search", "spos-mobilenet")} <= added
    methods = {spec["method"]["name"] for spec in breadth.values() if isinstance(spec.get("method"), dict)}
    assert {"bnnas-last-bn", "bnnas-bn-all-ops"} <= methods

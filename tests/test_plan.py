"""The run as a plan (harness/workflow/plan.py): each job's spec holds exactly the config it reads, and
Snakemake reruns exactly the jobs whose spec changed (plus what depends on their outputs).

The Snakemake half dry-runs config changes on top of the real smoke run (conftest.smoke_run):
for each key, every planned job whose spec contains the key reruns, and every other job that
reruns does so only because an input was rewritten upstream (Snakemake gives one reason per job,
so a job whose spec changed and whose input is rewritten may be listed for its input)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SMOKE_CONFIG, smoke_command, smoke_overrides

from harness.workflow import plan
from harness.workflow.config import validate_config

ROOT = Path(__file__).resolve().parents[1]


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Snakemake's merge of --configfile and --config: mappings key by key, the rest replaced."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def smoke_config(*overrides: Mapping[str, Any]) -> dict[str, Any]:
    """config.yaml, smoke.yaml, the smoke run's NATS-Bench settings, then `overrides`."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for override in (yaml.safe_load(SMOKE_CONFIG.read_text()), smoke_overrides(), *overrides):
        config = deep_merge(config, override)
    return validate_config(config)


def nested(path: str, value: Any) -> dict[str, Any]:
    """{"a": {"b": value}} from "a.b" (a dotted config key)."""
    for key in reversed(path.split(".")):
        value = {key: value}
    return value


def reads(spec: Mapping[str, Any], path: str) -> bool:
    """Whether the spec's config slice (or a folded run's) holds the dotted key `path`."""
    slices = [spec["config"]] + [run["config"] for run in spec.get("runs", [])]
    for part in slices:
        node: Any = part
        for key in path.split("."):
            if not isinstance(node, Mapping) or key not in node:
                break
            node = node[key]
        else:
            return True
    return False


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    """Jobs planned in both whose hash differs."""
    return {job for job in before.keys() & after.keys() if before[job]["hash"] != after[job]["hash"]}


# (dotted key, new value, stages that read it) on the smoke config
CASES = [
    ("seed", 1, {"sample_archs", "sample_all_archs", "retrain_shard", "train_supernet", "score", "score_free", "score_bn",
                 "score_all_archs", "search", "final", "correlate"}),
    ("method_options", {"bnnas": {"statistic": "beta"}}, {"train_supernet", "score_bn", "search"}),
    ("method_variants", {"bnnas": {"base": "bnnas", "trainable": "last_bn"}},
     {"train_supernet", "score_bn", "search"}),
    ("method_variants", {"unused-variant": {"base": "bnnas", "statistic": "beta"}}, set()),
    # correlate builds the space for its conv-op counts (the strata of tau within conv count)
    ("spaces.nats-tss.C", 2, {"sample_archs", "sample_all_archs", "retrain_shard", "train_supernet", "score",
                              "score_free", "score_bn", "score_all_archs", "search", "final", "correlate"}),
    ("dataset.train_images", 512, {"prepare_data"}),
    ("dataset.resolution", 16, {"prepare_data", "sample_archs", "sample_all_archs", "retrain_shard", "train_supernet",
                                "score", "score_free", "score_bn", "score_all_archs", "search", "final", "correlate"}),
    ("scoring.workers", 2, {"score", "score_free", "score_bn", "score_all_archs", "search"}),
    # cpu_capability enters a spec only when set (tests/test_verify.py checks where it goes)
    ("python", "/usr/bin/python3", set()),  # which interpreter runs the jobs changes no spec
    ("supernet.epochs", 3, {"train_supernet"}),
    ("scoring.validation_images", 128, {"score", "score_free", "score_bn", "score_all_archs", "search"}),
    ("groundtruth.epochs", 2, {"retrain_shard"}),
    ("groundtruth.space_epochs", {"nats-tss": 1}, {"retrain_shard"}),
    ("scoring.drop_nonfinite", True, {"score", "score_free", "score_bn", "score_all_archs", "search"}),
    ("nats_bench.sample", {"supernet": 10}, {"score_all_archs"}),
    ("search.generations", 3, {"search"}),
    ("final.epochs", 2, {"final"}),
    ("archs.count", 6, {"sample_archs"}),
    ("nats_bench.split", "valid", {"nats_bench_groundtruth"}),
    ("correlation.confidence", 0.9, {"correlate"}),
    # how a job computes: every job with a device (the determinism switch, training precision)
    ("deterministic", False, {"retrain_shard", "train_supernet", "score", "score_free", "score_bn", "score_all_archs",
                              "search", "final"}),
    ("bf16", True, {"retrain_shard", "train_supernet", "score", "score_free", "score_bn", "score_all_archs",
                    "search", "final"}),
    ("jobs_per_gpu", 8, set()),  # how many jobs share a GPU changes no result: it reruns nothing
]
CASE_IDS = [f"{key}={json.dumps(value)}" for key, value, _ in CASES]


# --------------------------------------------------------------------------- the plan alone


def test_a_spec_hash_is_its_content() -> None:
    specs = plan.build_plan(smoke_config())
    assert specs == plan.build_plan(smoke_config())  # stable across builds
    for spec in specs.values():
        assert spec["hash"] == plan.content_hash(spec)
        assert spec["id"].startswith(spec["stage"] + ":")
    tampered = copy.deepcopy(next(iter(specs.values())))
    tampered["config"]["extra"] = 1
    assert plan.content_hash(tampered) != tampered["hash"]


def test_a_run_spec_resolves_the_method_and_space() -> None:
    config = smoke_config({"method_variants": {"bnnas-all-ops": {"base": "bnnas", "space_knobs": {"nats-tss": {"op_bn": "all"}}}},
                           "methods": ["spos", "bnnas", "params", "bnnas-all-ops"]})
    spec = plan.build_plan(config)[plan.job_id("train_supernet", space="nats-tss", method="bnnas-all-ops", seed=0)]
    assert spec["method"]["sampler"] == "uniform" and spec["method"]["trainable"] == "bn"
    assert spec["method"]["kind"] == "supernet" and spec["method"]["baseline"] == "spos"
    assert spec["space"] == {"name": "nats-tss", "knobs": {"C": 4, "N": 1, "op_bn": "all"}}
    assert spec["config"]["method_variants"] == {"bnnas-all-ops": config["method_variants"]["bnnas-all-ops"]}
    assert set(spec["config"]) == {"seed", "device", "threads", "deterministic", "bf16", "channels_last", "spaces",
                                   "dataset", "method_variants", "method_options", "supernet"}


@pytest.mark.parametrize(("key", "value", "stages"), CASES, ids=CASE_IDS)
def test_a_key_changes_exactly_the_specs_that_read_it(key: str, value: Any, stages: set[str]) -> None:
    before = plan.build_plan(smoke_config())
    after = plan.build_plan(smoke_config(nested(key, value)))
    hits = changed(before, after)
    readers = {job for job, spec in before.items() if reads(spec, key.split(".")[0] if key.startswith("method_") else key)}
    if key.startswith("method_"):  # only the jobs of the method the entry names
        name = next(iter(value))
        readers = {job for job in readers if f"method={name}," in job or
                   any(run["method"]["name"] == name for run in before[job].get("runs", []))}
    assert hits == readers
    assert {before[job]["stage"] for job in hits} == stages


def test_seeds_come_from_seeds_for() -> None:
    config = smoke_config({"seeds": [0, 3], "seeds_by_kind": {"bn_indicator": 3, "supernet": 2}})
    specs = plan.build_plan(config)
    trained = {(s["method"]["name"], s["seed"]) for s in specs.values() if s["stage"] == "train_supernet"}
    assert trained == {(m, seed) for m in ("spos", "bnnas") for seed in plan.seeds_for(config, m)} \
        == {("spos", 0), ("spos", 3), ("bnnas", 0), ("bnnas", 3), ("bnnas", 4)}
    searched = {(s["method"]["name"], s["seed"]) for s in specs.values() if s["stage"] == "search"}
    assert searched == trained - {("bnnas", 4)}  # search.seeds: 2 (smoke_overrides), each method's first two


def test_cheap_scoring_of_a_space_is_one_job_per_group() -> None:
    config = smoke_config({"methods": ["spos", "bnnas", "params", "flops", "synflow"], "seeds_by_kind": {"bn_indicator": 2},
                           "nats_bench": {"all_archs_methods": ["spos", "bnnas", "params"]}})
    specs = plan.build_plan(config)
    runs = {stage: [(r["stage"], r["method"]["name"], r["seed"]) for s in specs.values() if s["stage"] == stage
                    for r in s["runs"]] for stage in plan.SCORE_GROUPS}
    # supernet-free methods: sample and all-architectures scoring in one job
    assert runs["score_free"] == [("score", "params", 0), ("score", "flops", 0), ("score", "synflow", 0),
                                  ("score_all_archs", "params", 0)]
    # BN-indicator runs (both seeds): likewise, after their supernets are trained
    assert runs["score_bn"] == [("score", "bnnas", 0), ("score", "bnnas", 1),
                                ("score_all_archs", "bnnas", 0), ("score_all_archs", "bnnas", 1)]
    # SPOS evaluates subnets for minutes: a job per run and stage
    assert {(s["stage"], s["method"]["name"]) for s in specs.values() if s["stage"] in ("score", "score_all_archs")} == \
        {("score", "spos"), ("score_all_archs", "spos")}
    assert [plan.rule_name(s) for s in specs.values() if s["stage"] in plan.SCORE_GROUPS] == \
        ["score_free_nats_tss", "score_bn_nats_tss"]
    # the BN indicators' NATS-Bench sample size is read by their group's job only
    resized = plan.build_plan(deep_merge(config, {"nats_bench": {"sample": {"bn_indicator": 10}}}))
    assert {specs[job]["stage"] for job in changed(specs, resized)} == {"score_bn"}
    # the correlate jobs' inputs keep the config's order, whichever job scored a run
    assert [(s["method"]["name"], s["seed"]) for s in plan.score_specs(specs, config, "nats-tss")] == \
        [("spos", 0), ("bnnas", 0), ("bnnas", 1), ("params", 0), ("flops", 0), ("synflow", 0)]
    assert [(s["method"]["name"], s["seed"]) for s in plan.score_specs(specs, config, "nats-tss", every=True)] == \
        [("spos", 0), ("bnnas", 0), ("bnnas", 1), ("params", 0)]


def test_the_manifest_lists_only_configured_runs() -> None:
    manifest = plan.build_manifest(smoke_config({"methods": ["spos", "bnnas"], "seeds_by_kind": {"bn_indicator": 1}}))
    (space,) = manifest["spaces"]
    assert [(r["method"], r["seed"]) for r in space["runs"]] == [("spos", 0), ("bnnas", 0)]
    assert space["runs"][0]["files"]["search"] == "nats-tss/spos/seed0/search.json"
    files = plan.report_files(smoke_config({"methods": ["spos", "bnnas"]}))
    assert not any("/params/" in f for f in files) and "nats-tss/bnnas/seed0/scores.csv" in files


# ----------------------------------------------------------------------- through Snakemake


def dry_run_jobs(stdout: str) -> dict[str, str]:
    """rule name + wildcards -> reason, of every job a `snakemake -n` listing plans."""
    jobs = {}
    for block in re.split(r"\n(?=(?:local)?rule \S+:\n)", "\n" + stdout):
        head = re.match(r"(?:local)?rule (\S+):\n", block)
        if not head:
            continue
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.M)
        fields = dict(item.split("=", 1) for item in wildcards.group(1).split(", ")) if wildcards else {}
        reason = re.search(r"^\s+reason: (.*)$", block, re.M)
        jobs[(head.group(1), tuple(sorted(fields.items())))] = reason.group(1) if reason else ""
    return jobs


def plan_ids(specs: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, tuple], str]:
    """(rule name, sorted wildcards) -> job id, the inverse of the Snakefile's naming."""
    ids = {}
    for job, spec in specs.items():
        fields = tuple(sorted(item.split("=", 1) for item in job.split(":", 1)[1].split(",") if item))
        if spec["stage"] in plan.SCORE_GROUPS:
            fields = ()
        ids[(plan.rule_name(spec), tuple(tuple(f) for f in fields))] = job
    return ids


@pytest.fixture(scope="module")
def dry_runs(smoke_run: Path) -> dict[str, subprocess.CompletedProcess]:
    """Every case's `snakemake -n --configfile config/smoke.yaml --config ...` on the finished
    smoke run, four at a time (each only reads)."""
    workdir = smoke_run.parents[1]
    base = smoke_overrides()
    commands = {case: smoke_command(workdir, deep_merge(base, nested(key, value)), "-n")
                for case, (key, value, _) in zip(CASE_IDS, CASES)}
    done = {}
    cases = list(commands)
    for start in range(0, len(cases), 4):
        started = {case: subprocess.Popen(commands[case], cwd=workdir, text=True, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT) for case in cases[start:start + 4]}
        for case, process in started.items():
            stdout, _ = process.communicate(timeout=600)
            done[case] = subprocess.CompletedProcess(process.args, process.returncode, stdout)
    return done


def test_an_unchanged_config_reruns_nothing(smoke_run: Path) -> None:
    workdir = smoke_run.parents[1]
    done = subprocess.run(smoke_command(workdir, smoke_overrides(), "-n"), cwd=workdir,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert dry_run_jobs(done.stdout) == {}, done.stdout[-3000:]


@pytest.mark.parametrize(("key", "value", "stages"), CASES, ids=CASE_IDS)
def test_snakemake_reruns_exactly_the_jobs_whose_spec_changed(dry_runs, key: str,
                                                               value: Any, stages: set[str]) -> None:
    done = dry_runs[f"{key}={json.dumps(value)}"]
    assert done.returncode == 0, done.stdout[-3000:]
    base = smoke_overrides()
    before = plan.build_plan(smoke_config(base))
    after = plan.build_plan(smoke_config(base, nested(key, value)))
    ids = plan_ids(after)
    jobs = dry_run_jobs(done.stdout)
    # Snakemake names one reason per job: a job whose input is rewritten upstream is not asked
    # about its params as well. So: every changed spec reruns, params are the reason only where the
    # spec changed, and every other rerun is a dependent of a rewritten input.
    reran = {ids[job]: reason for job, reason in jobs.items() if job in ids}
    spec_changed = changed(before, after)
    assert spec_changed <= reran.keys()
    assert {job for job, reason in reran.items() if "Params have changed" in reason} <= spec_changed
    assert {after[job]["stage"] for job in spec_changed} == stages
    for job, reason in reran.items():
        if job not in spec_changed:
            assert reason.startswith("Input files updated by another job"), (job, reason)
    if not stages & {"prepare_data", "train_supernet"}:  # training reads only its spec and the data
        assert not any(rule == "train_supernet" for rule, _ in jobs), "a key training does not read retrained"
    # the plan rule (run_config.json, plan.json, manifest.json) and the last stage (provenance,
    # analyse, report) follow any change
    assert {rule for rule, _ in jobs if (rule, _) not in ids} <= {"plan", "provenance", "analyse", "report", "all",
                                                                  "merge_groundtruth", "merge_correlations"}


def measured_html(results: Path) -> str:
    """The report page without its table of published numbers (which names BN-NAS always)."""
    page = (results / "report" / "index.html").read_text()
    start = page.index(">Published ImageNet numbers")
    return page[:start] + page[page.index("</table>", start):]


def test_dropping_a_method_drops_it_from_every_report_table(smoke_run: Path,
                                                            tmp_path: Path) -> None:
    """On a copy of the smoke run: rerun with bnnas dropped from methods (and search.methods); its
    files stay on disk, but no report table or the HTML shows it."""
    def tables(results: Path) -> dict[str, str]:
        report = results / "report"
        return {name: (report / name).read_text() for name in ("correlations.csv", "costs.csv", "comparison.csv")}

    before = tables(smoke_run)
    assert all(",bnnas," in text for text in before.values())
    assert "<td>bnnas</td>" in measured_html(smoke_run)
    workdir = tmp_path / "copy"
    shutil.copytree(smoke_run.parents[1], workdir, symlinks=True)
    override = deep_merge(smoke_overrides(), {"methods": ["spos", "params"], "search": {"methods": ["spos"]},
                                                             "nats_bench": {"all_archs_methods": ["params"]}})
    done = subprocess.run(smoke_command(workdir, override, "--cores", "2"), cwd=workdir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    results = workdir / "results" / "smoke"
    assert (results / "nats-tss" / "bnnas" / "seed0" / "scores.csv").exists()  # left on disk
    after = tables(results)
    for name, text in after.items():
        assert ",bnnas," not in text, name
    assert ",spos," in after["comparison.csv"] and ",params," in after["correlations.csv"]
    assert "<td>bnnas</td>" not in measured_html(results)
    assert "train_supernet" not in done.stderr  # nothing was retrained

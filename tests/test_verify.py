"""Issue 25: jobs run the workflow's interpreter; `python -m harness verify` re-executes recorded
jobs and finds what changed; `python -m harness bundle` writes an archive that verify checks.

The smoke run (conftest.smoke_run) is itself run with a decoy `python` first on the PATH
(conftest.unactivated_env), so every smoke-based test also shows that no job starts the PATH's
python. The verify tests work on copies of it.
"""

from __future__ import annotations

import hashlib
import json
import math
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT, run_snakemake, smoke_args, smoke_overrides, unactivated_env
from harness import environment, paths
from harness.analysis.reproduction import prediction_interval
from harness.commands.verify import sample_jobs
from harness.errors import HarnessError
from harness.results.compare import same_content
from harness.workflow.rerun import job_command

SPOS_SCORE = "score:method=spos,seed=0,space=nats-tss"


def harness(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          env={**unactivated_env(), "PYTHONPATH": str(ROOT)}, timeout=1800)


def copy_of(results: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "results"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("verification"))
    return copy


def verification(results: Path) -> pd.DataFrame:
    return pd.read_csv(results / paths.VERIFICATION)


# ------------------------------------------------------------------------------- interpreter


def test_jobs_start_the_workflow_interpreter_or_the_configured_one(tmp_path):
    """With a decoy `python` first on the PATH, the two jobs that failed in issue 25 run; naming
    the decoy as config `python` makes them start it (and fail), so the key is honoured."""
    targets = ["results/smoke/data/dataset.json", "results/smoke/nats-tss/archs.csv"]
    done = run_snakemake(*targets, "--cores", "2", "--configfile", str(ROOT / "config" / "smoke.yaml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / targets[1]).is_file()
    record = json.loads((tmp_path / "results/smoke" / environment.job_record_name("sample_archs:space=nats-tss")).read_text())
    assert record["environment"]["python"]["executable"] == sys.executable
    decoy = unactivated_env()["PATH"].split(":")[0] + "/python"
    other = tmp_path / "other"
    other.mkdir()
    done = run_snakemake(targets[1], "--cores", "1", "--configfile", str(ROOT / "config" / "smoke.yaml"), "--config",
                         f"python={decoy}", cwd=other)
    assert done.returncode != 0
    assert "a decoy python started" in (other / "results/smoke/logs/nats-tss/sample_archs.log").read_text()


def test_cpu_capability_pins_every_job_and_enters_the_specs_that_compute(tmp_path):
    """config cpu_capability: avx2 exports the pinning variables to every job (its record shows
    them and torch's AVX2 kernels) and enters the training and scoring specs; unset, the specs
    (and their hashes) are what they were."""
    target = "results/smoke/nats-tss/archs.csv"
    done = run_snakemake(target, "--cores", "1", "--configfile", str(ROOT / "config" / "smoke.yaml"), "--config",
                         "cpu_capability=avx2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((tmp_path / "results/smoke" / environment.job_record_name("sample_archs:space=nats-tss")).read_text())
    assert environment.CPU_PINS["avx2"].items() <= record["environment"]["variables"].items()
    assert record["environment"]["torch"]["cpu_capability"] == "AVX2"
    from harness.workflow.config import load_config
    from harness.workflow.plan import build_plan

    config = load_config(ROOT / "config" / "smoke.yaml")
    plain = build_plan(config)
    pinned = build_plan({**config, "cpu_capability": "avx2"})
    train = "train_supernet:method=spos,seed=0,space=nats-tss"
    assert pinned[train]["config"]["cpu_capability"] == "avx2" and "cpu_capability" not in plain[train]["config"]
    assert pinned["prepare_data:"]["hash"] == plain["prepare_data:"]["hash"]  # data preparation does not compute in torch


def test_job_commands_are_the_rules_commands(tmp_path):
    """job_command (what verify and bundle run and list) equals the shell command of every job
    that `snakemake --dry-run --printshellcmds` prints for the smoke plan (with the tests'
    overrides: every stage), and each starts the workflow's interpreter ($HARNESS_PYTHON, set by
    the rules' shell prefix: the other tests here show that it is this one)."""
    args = smoke_args(tmp_path, smoke_overrides())
    done = run_snakemake("results/smoke/plan.json", "--cores", "1", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = tmp_path / "results" / "smoke"
    plan = json.loads((results / "plan.json").read_text())
    config = json.loads((results / "run_config.json").read_text())
    done = run_snakemake("-n", "-p", "--forceall", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = set()
    for line in (done.stdout + done.stderr).splitlines():
        if " -m harness " not in line:
            continue
        words = shlex.split(line.split("Shell command:", 1)[-1].strip())
        words = words[: words.index(">")]
        assert words[:3] == ["$HARNESS_PYTHON", "-m", "harness"], words[:3]  # the rules' prefix sets it
        if "--spec" not in words:
            continue  # merge-csv and report: not planned jobs
        spec = json.loads(words[words.index("--spec") + 1])
        command = job_command(plan[spec["id"]], plan, config)
        assert command.args == words[3:], spec["id"]
        if spec["stage"] == "correlate":  # it also reads each run's scoring record: verify links them
            scores = words[words.index("--scores") + 1: words.index("--groundtruth")]
            records = {s.removeprefix("results/smoke/").replace("scores.csv", "scoring.json") for s in scores}
            assert records <= set(command.inputs), spec["id"]  # all_scores.csv -> all_scoring.json too
        seen.add(spec["id"])
    assert seen == set(plan), sorted(set(plan) - seen)
    assert {s["stage"] for s in plan.values()} >= {"sample_all_archs", "score_all_archs", "retrain_shard", "correlate",
                                                  "train_supernet", "score", "score_bn", "score_free", "search", "final"}


# ------------------------------------------------------------------------------------ verify


def test_an_untouched_run_verifies_identical(smoke_run, tmp_path):
    results = copy_of(smoke_run, tmp_path)
    done = harness("verify", str(results))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    table = verification(results)
    plan = json.loads((results / "plan.json").read_text())
    assert set(table["stage"]) == {spec["stage"] for spec in plan.values()}  # one job of every stage
    assert (table["outcome"] == "identical").all(), table[["job", "outcome", "detail"]].to_string()
    assert (table["environment"] == "same").all()
    assert done.stdout.startswith(f"verify: {len(table)} job(s) re-executed in ") and f"{len(table)} identical" in done.stdout
    summary = json.loads((results / "verification" / "verification.json").read_text())
    assert summary["outcomes"]["identical"] == len(table) and summary["jobs"] == len(table)


def plant_byte(path: Path) -> None:
    """Change the last digit of the first score in a scores.csv (one byte)."""
    lines = path.read_text().splitlines(keepends=True)
    line = lines[1].rstrip("\n")
    digit = line[-1]
    lines[1] = line[:-1] + ("1" if digit != "1" else "2") + "\n"
    path.write_text("".join(lines))


def test_a_planted_byte_in_a_recorded_score_is_found(smoke_run, tmp_path):
    results = copy_of(smoke_run, tmp_path)
    scores = results / paths.SCORES.format(space="nats-tss", method="spos", seed=0)
    before = scores.read_bytes()
    plant_byte(scores)
    assert sum(a != b for a, b in zip(before, scores.read_bytes())) == 1
    done = harness("verify", str(results), "--job", SPOS_SCORE)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    row = verification(results).set_index("job").loc[SPOS_SCORE]
    assert row["outcome"] == "differs" and row["environment"] == "same"
    assert 0 < row["largest_difference"] < 1e-6  # one low digit of one score
    assert "scores.csv" in row["detail"] and "1 differs" in done.stdout


def test_in_another_environment_the_recorded_cis_decide(smoke_run, tmp_path):
    """The record says the job ran with another CPU capability: the re-computed scores' tau is
    judged against the recorded CIs: within them as recorded, differs once the recorded CI is
    moved away from it."""
    results = copy_of(smoke_run, tmp_path)
    plant_byte(results / paths.SCORES.format(space="nats-tss", method="spos", seed=0))
    record_path = results / environment.job_record_name(SPOS_SCORE)
    record = json.loads(record_path.read_text())
    record["environment"]["torch"]["cpu_capability"] = "ANOTHER"
    record_path.write_text(json.dumps(record))
    done = harness("verify", str(results), "--job", SPOS_SCORE)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    row = verification(results).iloc[0]
    assert row["outcome"] == "within CI" and "cpu_capability" in row["environment"]
    assert row["largest_difference"] == 0  # the planted byte moves no tau
    correlations = results / paths.CORRELATIONS.format(space="nats-tss")
    table = pd.read_csv(correlations)
    mine = (table["method"] == "spos") & (table["seed"] == 0) & (table["metric"] == "kendall_tau")
    table.loc[mine, ["value", "ci_low", "ci_high"]] = [2.0, 1.99, 2.01]  # nothing a tau can reach
    table.to_csv(correlations, index=False)
    done = harness("verify", str(results), "--job", SPOS_SCORE)
    assert done.returncode == 1
    row = verification(results).iloc[0]
    assert row["outcome"] == "differs" and "outside their CI" in row["detail"] and row["largest_difference"] > 1


# ------------------------------------------------------------------------------------ bundle


def test_a_bundle_holds_the_run_and_verify_finds_a_tampered_file(smoke_run, tmp_path):
    results = copy_of(smoke_run, tmp_path)
    archive = tmp_path / "run.tar.gz"
    done = harness("bundle", str(results), "--output", str(archive))
    assert done.returncode == 0, done.stderr[-3000:]
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert digest in done.stdout and (tmp_path / "run.tar.gz.sha256").read_text().startswith(digest)
    with tarfile.open(archive) as packed:
        names = packed.getnames()
        top = names[0].split("/")[0]
        record = json.load(packed.extractfile(f"{top}/BUNDLE.json"))
        requirements = packed.extractfile(f"{top}/environment/requirements.txt").read().decode()
    files = record["files"]
    manifest = json.loads((results / "manifest.json").read_text())
    from harness.workflow.plan import manifest_files

    for name in manifest_files(manifest) + ["plan.json", "run_config.json", "manifest.json"]:
        assert files[name]["manifest"] and files[name]["sha256"] == hashlib.sha256((results / name).read_bytes()).hexdigest()
    assert any(name.endswith("/supernet/ckpt0.pt") for name in files)  # every job's outputs: verify can re-run any
    assert any(name.startswith("provenance/") for name in files)
    assert f"torch=={torch.__version__.split('+')[0]}" in requirements or f"torch=={torch.__version__}" in requirements
    assert record["torch"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert set(record["code"]) >= {"commit", "dirty", "in_job_records"}
    assert len(record["files"]) == sum(n.startswith(f"{top}/results/") for n in names)

    done = harness("verify", str(archive), "--unpack", str(tmp_path / "unpacked"), "--job", "sample_archs:space=nats-tss")
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    table = verification(tmp_path / "unpacked" / top / "results")
    assert list(table["outcome"]) == ["identical", "identical"] and table["stage"].iloc[0] == "bundle"

    tampered_dir = tmp_path / "tampered"
    with tarfile.open(archive) as packed:
        packed.extractall(tampered_dir, filter="data")
    plant_byte(tampered_dir / top / "results" / paths.SCORES.format(space="nats-tss", method="spos", seed=0))
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(tampered, "w:gz") as packed:
        packed.add(tampered_dir / top, arcname=top)
    done = harness("verify", str(tampered), "--unpack", str(tmp_path / "unpacked2"), "--job", "sample_archs:space=nats-tss")
    assert done.returncode == 1
    rows = verification(tmp_path / "unpacked2" / top / "results")
    bad = rows[rows["stage"] == "bundle"]
    assert list(bad["job"]) == ["nats-tss/spos/seed0/scores.csv"] and (bad["outcome"] == "differs").all()
    assert "1 file(s) tampered with" in done.stdout


def test_a_bundle_of_an_unfinished_run_is_refused(smoke_run, tmp_path):
    results = copy_of(smoke_run, tmp_path)
    (results / paths.FINAL.format(space="nats-tss", method="spos", seed=0)).unlink()
    done = harness("bundle", str(results), "--output", str(tmp_path / "x.tar.gz"))
    assert done.returncode == 2 and "not a finished run" in done.stderr and "final.csv" in done.stderr


# ------------------------------------------------------------------------------- components


def plan_of(stages: dict[str, int]) -> dict[str, dict]:
    plan = {}
    for stage, count in stages.items():
        for i in range(count):
            plan[f"{stage}:n={i}"] = {"id": f"{stage}:n={i}", "stage": stage}
    return plan


def test_the_sample_takes_one_job_of_every_stage_then_more_seeded():
    plan = plan_of({"a": 5, "b": 1, "c": 3})
    chosen = sample_jobs(plan, None, None, seed=0, ids=None)
    assert sorted(s["stage"] for s in chosen) == ["a", "b", "c"]
    more = sample_jobs(plan, None, 6, seed=0, ids=None)
    assert len(more) == 6 and {s["stage"] for s in more} == {"a", "b", "c"}
    assert more == sample_jobs(plan, None, 6, seed=0, ids=None)  # seeded
    assert {s["id"] for s in sample_jobs(plan, None, 1, seed=1, ids=None)} != set() and len(
        sample_jobs(plan, None, 1, seed=1, ids=None)) == 3  # at least one per stage
    assert {s["stage"] for s in sample_jobs(plan, ["c"], 2, seed=0, ids=None)} == {"c"}
    assert len(sample_jobs(plan, None, 100, seed=0, ids=None)) == 9
    assert [s["id"] for s in sample_jobs(plan, None, None, 0, ["c:n=2", "a:n=0"])] == ["a:n=0", "c:n=2"]
    with pytest.raises(HarnessError, match="no job in this plan"):
        sample_jobs(plan, ["d"], None, 0, None)
    with pytest.raises(HarnessError, match="not in the plan"):
        sample_jobs(plan, None, None, 0, ["a:n=9"])


def test_same_content_leaves_out_wall_time_and_compares_tensors_bit_for_bit(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    (a / "t.csv").write_text("arch_id,test_acc,train_time_s\n0,0.5,12.0\n")
    (b / "t.csv").write_text("arch_id,test_acc,train_time_s\n0,0.5,13.5\n")
    assert same_content(a / "t.csv", b / "t.csv").identical
    (b / "t.csv").write_text("arch_id,test_acc,train_time_s\n0,0.5001,13.5\n")
    found = same_content(a / "t.csv", b / "t.csv")
    assert not found.identical and found.gap == pytest.approx(1e-4)
    (a / "r.json").write_text(json.dumps({"steps": 3, "checkpoints": [{"step": 3, "time_s": 1.0}]}))
    (b / "r.json").write_text(json.dumps({"steps": 3, "checkpoints": [{"step": 3, "time_s": 9.0}]}))
    assert same_content(a / "r.json", b / "r.json").identical
    (a / "q.json").write_text(json.dumps({"source": {"path": "/one/checkout/harness/groundtruth/data/t.csv.xz"}}))
    (b / "q.json").write_text(json.dumps({"source": {"path": "/another/harness/groundtruth/data/t.csv.xz"}}))
    assert same_content(a / "q.json", b / "q.json").identical  # the same file of the code, another checkout
    (b / "q.json").write_text(json.dumps({"source": {"path": "/another/harness/groundtruth/data/u.csv.xz"}}))
    assert not same_content(a / "q.json", b / "q.json").identical
    weights = {"w": torch.arange(6, dtype=torch.float32)}
    torch.save(weights, a / "c.pt")
    torch.save({"w": weights["w"].clone()}, b / "c.pt")  # another file name inside the zip: bytes differ
    assert same_content(a / "c.pt", b / "c.pt").identical
    torch.save({"w": weights["w"] + 1e-6}, b / "c.pt")
    found = same_content(a / "c.pt", b / "c.pt")
    assert not found.identical and 0 < found.gap < 1e-5
    assert not same_content(a / "c.pt", b / "missing.pt").identical


def test_prediction_interval_holds_one_more_draw():
    low, high = prediction_interval(np.array([0.80, 0.82]))
    # mean 0.81, sd 0.01414, t(0.975, 1) = 12.706, sqrt(1 + 1/2)
    half = 12.7062 * 0.0141421 * math.sqrt(1.5)
    assert low == pytest.approx(0.81 - half, abs=1e-4) and high == pytest.approx(0.81 + half, abs=1e-4)
    assert prediction_interval(np.array([0.8])) is None


def test_environment_differences_name_what_changed_and_ignore_the_host_name():
    here = environment.describe()
    other = json.loads(json.dumps(here))
    other["host"]["hostname"] = "another-name"
    other["python"]["executable"] = "/elsewhere/bin/python"
    assert environment.differences(here, other) == []
    other["host"]["cpu_vector_units"] = ["sse4_2", "avx", "avx2"]
    other["variables"]["ATEN_CPU_CAPABILITY"] = "avx2"
    changed = environment.differences(here, other)
    assert any(c.startswith("vector_units:") for c in changed)
    assert any(c.startswith("variables.ATEN_CPU_CAPABILITY:") for c in changed)
    other = json.loads(json.dumps(here))
    other["code"]["commit"] = "0" * 40  # other code: identical outputs are not due either
    assert [c.split(":")[0] for c in environment.differences(here, other)] == ["code.commit"]


def test_a_pinned_job_refuses_to_start_without_its_variables(monkeypatch):
    spec = {"id": "train_supernet:method=spos,seed=0,space=nats-tss", "config": {"cpu_capability": "avx2"}}
    for name in environment.CPU_PINS["avx2"]:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(HarnessError, match="ATEN_CPU_CAPABILITY=avx2"):
        environment.check_pinned(spec)
    for name, value in environment.pin_variables("avx2").items():
        monkeypatch.setenv(name, value)
    environment.check_pinned(spec)
    environment.check_pinned({"id": "x:", "config": {}})  # nothing pinned: nothing asked
    group = {"id": "score_free:space=nats-tss", "config": {}, "runs": [spec]}  # a grouped job: its runs' pins
    assert environment.spec_pins(group) == environment.CPU_PINS["avx2"]
    monkeypatch.delenv("MKL_CBWR")
    with pytest.raises(HarnessError, match="MKL_CBWR is not set"):
        environment.check_pinned(group)


def test_job_record_names():
    assert environment.job_record_name("prepare_data:") == "provenance/prepare_data.json"
    assert (environment.job_record_name("score:method=spos,seed=0,space=nats-tss")
            == "provenance/score/method=spos,seed=0,space=nats-tss.json")
    with pytest.raises(HarnessError):
        environment.job_record_name("score:method=../../x")


# --------------------------------------------------------------------- judges, synthetic records


def judged(tmp_path: Path, spec: dict, files: dict[str, tuple[object, object]], plan: dict | None = None):
    """Write recorded and re-executed versions of `files` (relative name -> (recorded, rerun):
    DataFrame or JSON-able) and judge the spec's stage."""
    from harness.analysis.reproduction import Context, judge

    recorded, rerun = tmp_path / "recorded", tmp_path / "rerun"
    for name, versions in files.items():
        for root, content in zip((recorded, rerun), versions):
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, pd.DataFrame):
                content.to_csv(path, index=False)
            else:
                path.write_text(json.dumps(content))
    compared = [same_content(recorded / name, rerun / name, name) for name in files]
    return judge(Context(spec, plan or {spec["id"]: spec}, {}, recorded, rerun, compared))


def test_search_is_within_ci_when_it_finds_the_same_architectures(tmp_path):
    spec = {"id": "search:method=m,seed=0,space=s", "stage": "search", "space": {"name": "s"},
            "method": {"name": "m"}, "seed": 0}

    def record(archs, scores):
        top = [{"arch_str": a, "score": s} for a, s in zip(archs, scores)]
        return {"evolution": {"top": top}, "random": {"top": top}}

    name = paths.SEARCH.format(space="s", method="m", seed=0)
    same = judged(tmp_path / "a", spec, {name: (record(["x", "y"], [0.5, 0.4]), record(["x", "y"], [0.5001, 0.4]))})
    assert same.within and same.largest == pytest.approx(1e-4)
    other = judged(tmp_path / "b", spec, {name: (record(["x", "y"], [0.5, 0.4]), record(["y", "x"], [0.5, 0.4]))})
    assert other.within is False and "different top-2" in other.detail


def test_correlate_rows_are_judged_by_their_recorded_cis(tmp_path):
    spec = {"id": "correlate:ground_truth=retrain,space=s", "stage": "correlate", "space": {"name": "s"},
            "ground_truth": "retrain"}
    base = {"method": ["a", "b"], "seed": [0, 0], "checkpoint": [2, 2], "metric": ["kendall_tau"] * 2,
            "relation": [None, None], "value": [0.30, 0.10], "ci_low": [0.10, -0.2], "ci_high": [0.50, 0.4]}
    recorded = pd.DataFrame(base)
    inside = recorded.assign(value=[0.45, -0.1])
    name = paths.CORRELATION_PART.format(space="s", ground_truth="retrain")
    found = judged(tmp_path / "a", spec, {name: (recorded, inside)})
    assert found.within and found.largest == pytest.approx(0.2)
    outside = recorded.assign(value=[0.55, 0.1])
    found = judged(tmp_path / "b", spec, {name: (recorded, outside)})
    assert found.within is False and "1 of 2 outside" in found.detail


def test_final_accuracy_is_judged_by_the_prediction_interval_over_seeds(tmp_path):
    specs = {f"final:method=m,seed={s},space=s": {"id": f"final:method=m,seed={s},space=s", "stage": "final",
                                                  "space": {"name": "s"}, "method": {"name": "m"}, "seed": s}
             for s in (0, 1, 2)}
    accuracy = {0: 0.80, 1: 0.82, 2: 0.81}  # mean 0.81, sd 0.01: interval 0.81 +- 4.303 * 0.01 * sqrt(4/3)
    files = {paths.FINAL.format(space="s", method="m", seed=s): (pd.DataFrame({"rank": [0], "test_acc": [a]}),) * 2
             for s, a in accuracy.items()}
    mine = paths.FINAL.format(space="s", method="m", seed=0)
    spec = specs["final:method=m,seed=0,space=s"]
    files[mine] = (files[mine][0], pd.DataFrame({"rank": [0], "test_acc": [0.85]}))
    assert judged(tmp_path / "a", spec, files, specs).within  # 0.81 + 0.0497 = 0.8597
    files[mine] = (files[mine][0], pd.DataFrame({"rank": [0], "test_acc": [0.87]}))
    found = judged(tmp_path / "b", spec, files, specs)
    assert found.within is False and found.largest == pytest.approx(0.07)
    one = judged(tmp_path / "c", spec, {mine: files[mine]}, {spec["id"]: spec})
    assert one.within is None and "one searched seed" in one.detail


def test_an_emulated_host_without_avx512_is_within_the_recorded_cis(smoke_run, tmp_path):
    """The smoke run verified as if on an AVX2-only host (the variables that cap torch's and
    oneDNN's kernels): nothing may differ; where this host has AVX-512, training jobs are not
    identical but within the CIs, and every row names the changed capability."""
    results = copy_of(smoke_run, tmp_path)
    env = {**unactivated_env(), "PYTHONPATH": str(ROOT), "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
           "MKL_ENABLE_INSTRUCTIONS": "AVX2"}
    stages = ["train_supernet", "retrain_shard", "final", "score"]
    done = subprocess.run([sys.executable, "-m", "harness", "verify", str(results), *[f"--stage={s}" for s in stages]],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    table = verification(results)
    assert set(table["outcome"]) <= {"identical", "within CI"}, table.to_string()
    if torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        assert (table["environment"].str.contains("cpu_capability")).all()
        assert table.loc[table["stage"] == "train_supernet", "outcome"].eq("within CI").all()
    else:  # an AVX2 host capped at AVX2 runs the kernels it always runs
        assert (table["outcome"] == "identical").all(), table.to_string()


def test_a_tau_undefined_both_times_is_reproduced_and_one_side_undefined_is_not():
    from harness.analysis.reproduction import TauCheck, summarise

    nan = float("nan")
    same = summarise([TauCheck("a", nan, nan, nan, nan), TauCheck("b", 0.3, 0.3, 0.1, 0.5)], "taus")
    assert same.within is True and same.largest == 0.0
    for checks in ([TauCheck("a", nan, 0.2, 0.0, 0.4), TauCheck("b", 0.3, 0.3, 0.1, 0.5)],
                   [TauCheck("b", 0.3, 0.3, 0.1, 0.5), TauCheck("a", nan, 0.2, 0.0, 0.4)]):  # either order
        judged = summarise(checks, "taus")
        assert judged.within is False and judged.largest == float("inf")


def test_an_unreadable_recorded_file_differs_with_the_reason(tmp_path):
    from harness.results.compare import same_content

    good, bad = tmp_path / "good.pt", tmp_path / "bad.pt"
    torch.save({"w": torch.ones(3)}, good)
    bad.write_bytes(good.read_bytes()[:20])  # truncated
    judged = same_content(bad, good)
    assert judged.identical is False and "unreadable" in judged.note and "truncated" in judged.note
    table, garbled = tmp_path / "a.csv", tmp_path / "b.csv"
    table.write_text("x,y\n1,2\n")
    garbled.write_text('x,y\n"1,2\n3,4,5,6\n')
    judged = same_content(table, garbled)
    assert judged.identical is False and judged.note

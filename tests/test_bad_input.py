"""Bad input, tried as a new user would: every mistake ends with a non-zero exit and a message that
names the problem and how to fix it, and leaves earlier results untouched.

Through `snakemake -n --configfile bad.yaml` (the workflow's config validation) and through the
CLI (harness.cli.main, in-process: a HarnessError becomes `error: ...` and exit status 2).
Every case is expected to give a clean error; a regression fails the test.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import subprocess
import traceback
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.cli import main
from harness.workflow.config import validate_config
from harness.io import read_json, write_json

ROOT = Path(__file__).resolve().parents[1]
SPACE = "nats-tss"
TINY = {
    "dataset": {"resolution": 8, "train_images": 256, "val_images": 64, "test_images": 64},
    "spaces": {SPACE: {"C": 4, "N": 1}},
    "methods": ["spos", "bnnas"],
    "archs": {"count": 4},
    "supernet": {"epochs": 1, "batch_size": 32, "curve_points": 2},
    "scoring": {"recalibration_batches": 1, "recalibration_batch_size": 32, "validation_images": 64},
    "groundtruth": {"epochs": 1, "batch_size": 32, "repeat_archs": 0, "shards": 1},
    "correlation": {"bootstrap": 10},
}
SENTINEL = b"earlier result\n"


def cli(*args: str) -> tuple[int | None, str]:
    """(exit status, stderr) of `python -m harness ARGS`; status None = it died with a traceback."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exc:  # argparse
            status = exc.code
        except Exception:  # noqa: BLE001 - what a user would see: a traceback
            err.write(traceback.format_exc())
            status = None
    return status, err.getvalue()


def assert_clean_error(status: int | None, message: str, *fragments: str) -> None:
    assert status is not None, f"no clean error message, a traceback instead:\n{message[-2000:]}"
    assert status != 0, f"exit status 0 for bad input:\n{message}"
    missing = [f for f in fragments if f.lower() not in message.lower()]
    assert not missing, f"message lacks {missing}:\n{message}"
    assert "Traceback" not in message, message


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """Earlier results of a tiny run: config, dataset, archs, a trained spos supernet, its scores,
    a retrained ground truth."""
    root = tmp_path_factory.mktemp("earlier")
    config = root / "run_config.json"
    write_json(validate_config({"results_dir": str(root), **TINY}), config)
    steps = [
        ["prepare-data", "--config", config, "--output", root / "data.pt", "--meta", root / "data.json"],
        ["sample-archs", "--config", config, "--space", SPACE, "--output", root / "archs.csv"],
        ["train-supernet", "--config", config, "--space", SPACE, "--method", "spos", "--seed", 0,
         "--data", root / "data.pt", "--outdir", root / "supernet", "--no-progress"],
        ["score", "--config", config, "--space", SPACE, "--method", "spos", "--seed", 0, "--data", root / "data.pt",
         "--archs", root / "archs.csv", "--supernet-dir", root / "supernet",
         "--output", root / SPACE / "spos" / "seed0" / "scores.csv", "--record", root / "scoring.json"],
        ["retrain", "--config", config, "--space", SPACE, "--shard", 0, "--data", root / "data.pt",
         "--archs", root / "archs.csv", "--output", root / "retrain.csv"],
    ]
    for step in steps:
        status, message = cli(*step)
        assert status == 0, message
    return root


@pytest.fixture
def earlier(run):
    """The earlier results, checked unchanged after the test."""
    before = snapshot(run)
    yield run
    assert snapshot(run) == before, "a failed command changed earlier results"


def bad_config(run: Path, tmp_path: Path, **sections) -> Path:
    """The run's config with `sections` merged in (a dict merges into the section)."""
    config = copy.deepcopy(read_json(run / "run_config.json"))
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    path = tmp_path / "bad_config.json"
    write_json(config, path)
    return path


def output(tmp_path: Path, name: str) -> Path:
    """An output path already holding an earlier result (a failed command must leave it)."""
    path = tmp_path / name
    path.write_bytes(SENTINEL)
    return path


def score_args(run: Path, tmp_path: Path, **override) -> list:
    args = {"--config": run / "run_config.json", "--space": SPACE, "--method": "spos", "--seed": 0,
            "--data": run / "data.pt", "--archs": run / "archs.csv", "--supernet-dir": run / "supernet",
            "--output": output(tmp_path, "scores.csv"), "--record": output(tmp_path, "scoring.json"), **override}
    return ["score"] + [x for key, value in args.items() if value is not None for x in (key, value)]


def copy_supernet(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "supernet"
    target.mkdir()
    for path in (run / "supernet").iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


# --- through Snakemake: snakemake -n --configfile bad.yaml ---------------------------------------

SNAKEMAKE_CASES = {
    "unknown-space": ({"spaces": {"nats-tzz": {}}}, ["'nats-tzz' was unexpected", "spaces", "nats-tss"]),
    "unknown-method": ({"methods": ["spoz"]}, ["unknown method 'spoz'", "registered:", "spos"]),
    "unknown-dataset": ({"dataset": {"name": "mnist"}}, ["'mnist' is not one of", "fashion-mnist"]),
    "unknown-key": ({"epochz": 3}, ["'epochz' was unexpected"]),
    "negative-epochs": ({"supernet": {"epochs": -1}}, ["-1 is less than or equal to the minimum of 0", "epochs"]),
    "wrong-type": ({"archs": {"count": "many"}}, ["'many' is not of type 'integer'", "count"]),
    "count-above-space-size": ({"archs": {"count": 20000}}, ["archs.count", "15625"]),
}


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory) -> dict[str, tuple[int, str, bool]]:
    """Every bad config through `snakemake -n`, run side by side: name -> (status, output,
    earlier results unchanged)."""
    root = tmp_path_factory.mktemp("dry")
    results = root / "results"
    (results / "data").mkdir(parents=True)
    (results / "run_config.json").write_bytes(SENTINEL)
    (results / "data" / "dataset.json").write_bytes(SENTINEL)
    before = snapshot(results)
    procs = {}
    for name, (bad, _) in SNAKEMAKE_CASES.items():
        config = root / f"{name}.yaml"
        config.write_text(yaml.safe_dump({"results_dir": str(results), **bad}))
        procs[name] = subprocess.Popen(["snakemake", "--snakefile", str(ROOT / "Snakefile"), "-n", "--configfile",
                                        str(config)], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       text=True)
    outcome = {}
    for name, proc in procs.items():
        out, _ = proc.communicate(timeout=600)
        outcome[name] = (proc.returncode, out)
    intact = snapshot(results) == before
    return {name: (status, out, intact) for name, (status, out) in outcome.items()}


@pytest.mark.parametrize("case", [c for c in SNAKEMAKE_CASES if c != "count-above-space-size"])
def test_snakemake_rejects_bad_config(dry_runs, case):
    status, out, intact = dry_runs[case]
    assert status != 0, f"snakemake -n accepted {SNAKEMAKE_CASES[case][0]}:\n{out[-3000:]}"
    missing = [f for f in SNAKEMAKE_CASES[case][1] if f not in out]
    assert not missing, f"message lacks {missing}:\n{out[-3000:]}"
    assert intact, "the failed dry run changed earlier results"


def test_snakemake_rejects_more_archs_than_the_space_has(dry_runs):
    test_snakemake_rejects_bad_config(dry_runs, "count-above-space-size")


# --- through the CLI: configuration ----------------------------------------------------------------

def test_unknown_space_on_the_command_line(earlier, tmp_path):
    status, message = cli("sample-archs", "--config", earlier / "run_config.json", "--space", "nats-tzz",
                          "--output", output(tmp_path, "archs.csv"))
    assert_clean_error(status, message, "'nats-tzz'", "spaces: nats-tss")
    assert (tmp_path / "archs.csv").read_bytes() == SENTINEL


def test_unknown_space_in_the_config(earlier, tmp_path):
    config = bad_config(earlier, tmp_path, spaces={SPACE: {"C": 4, "N": 1}, "nats-tzz": {}})
    status, message = cli("sample-archs", "--config", config, "--space", SPACE, "--output", output(tmp_path, "a.csv"))
    assert_clean_error(status, message, "unknown key in spaces", "'nats-tzz'", "config/schema.yaml")


@pytest.mark.parametrize("where", ["command line", "config"])
def test_unknown_method(earlier, tmp_path, where):
    if where == "config":
        args = ["sample-archs", "--config", bad_config(earlier, tmp_path, methods=["spoz"]), "--space", SPACE,
                "--output", output(tmp_path, "a.csv")]
    else:
        args = ["train-supernet", "--config", earlier / "run_config.json", "--space", SPACE, "--method", "spoz",
                "--seed", 0, "--data", earlier / "data.pt", "--outdir", tmp_path / "supernet"]
    status, message = cli(*args)
    assert_clean_error(status, message, "unknown method 'spoz'", "registered:", "spos", "methods/")


def test_unknown_dataset(earlier, tmp_path):
    config = bad_config(earlier, tmp_path, dataset={"name": "mnist"})
    status, message = cli("prepare-data", "--config", config, "--output", output(tmp_path, "data.pt"),
                          "--meta", output(tmp_path, "data.json"))
    assert_clean_error(status, message, "'mnist'", "fashion-mnist", "cifar10")
    status, message = cli("sample-archs", "--config", config, "--space", SPACE, "--output", output(tmp_path, "a.csv"))
    assert_clean_error(status, message, "dataset.name", "'mnist'", "fashion-mnist")
    assert (tmp_path / "data.pt").read_bytes() == SENTINEL


@pytest.mark.parametrize("sections, fragments", [
    ({"epochz": 3}, ["unknown key", "'epochz'", "config/schema.yaml"]),
    ({"supernet": {"epochs": "ten"}}, ["supernet.epochs", "'ten' is not of type 'number'"]),
    ({"supernet": {"epochs": -1}}, ["supernet.epochs", "-1", "minimum"]),
    ({"groundtruth": {"epochs": 0}}, ["groundtruth.epochs", "minimum"]),
    ({"archs": {"count": 20000}}, ["archs.count", "20000", "15625", "lower archs.count"]),
], ids=["unknown-key", "wrong-type", "negative-epochs", "zero-retrain-epochs", "count-above-space-size"])
def test_bad_config_values(earlier, tmp_path, sections, fragments):
    status, message = cli("sample-archs", "--config", bad_config(earlier, tmp_path, **sections), "--space", SPACE,
                          "--output", output(tmp_path, "archs.csv"))
    assert_clean_error(status, message, *fragments)
    assert (tmp_path / "archs.csv").read_bytes() == SENTINEL


@pytest.mark.parametrize("where", ["command line", "config"])
def test_flops_budget_no_architecture_meets(earlier, tmp_path, where):
    config, budget = earlier / "run_config.json", ["--flops-budget", "0.00001"]
    if where == "config":
        config, budget = bad_config(earlier, tmp_path, search={"flops_budget": {SPACE: 0.00001}}), []
    status, message = cli("search", "--config", config, "--space", SPACE, "--method", "flops", "--seed", 0,
                          "--data", earlier / "data.pt", *budget, "--output", output(tmp_path, "search.json"))
    assert_clean_error(status, message, "FLOPs budget", "cannot be met", "cheapest", "raise the budget")
    assert (tmp_path / "search.json").read_bytes() == SENTINEL


# --- through the CLI: files ---------------------------------------------------------------------------

def test_score_with_a_missing_checkpoint(earlier, tmp_path):
    supernet = copy_supernet(earlier, tmp_path)
    (supernet / "ckpt1.pt").unlink()
    status, message = cli(*score_args(earlier, tmp_path, **{"--supernet-dir": supernet}))
    assert_clean_error(status, message, "ckpt1.pt", "missing", "train-supernet")
    assert (tmp_path / "scores.csv").read_bytes() == SENTINEL


def test_score_with_a_truncated_checkpoint(earlier, tmp_path):
    supernet = copy_supernet(earlier, tmp_path)
    data = (supernet / "ckpt1.pt").read_bytes()
    (supernet / "ckpt1.pt").write_bytes(data[: len(data) // 2])
    status, message = cli(*score_args(earlier, tmp_path, **{"--supernet-dir": supernet}))
    assert_clean_error(status, message, "ckpt1.pt", "unreadable", "delete it and rerun train-supernet")
    assert (tmp_path / "scores.csv").read_bytes() == SENTINEL


def test_score_before_the_supernet_was_trained(earlier, tmp_path):
    supernet = copy_supernet(earlier, tmp_path)
    (supernet / "train.json").unlink()
    status, message = cli(*score_args(earlier, tmp_path, **{"--supernet-dir": supernet}))
    assert_clean_error(status, message, "train.json", "train-supernet")


def test_score_without_supernet_dir(earlier, tmp_path):
    status, message = cli(*score_args(earlier, tmp_path, **{"--supernet-dir": None}))
    assert_clean_error(status, message, "--supernet-dir")


def grouped_spec(run: Path, stage: str) -> str:
    """The planned spec of a grouped scoring job (score_free / score_bn) of the run's config with
    spos, bnnas and params, bnnas and params also scored over all architectures."""
    from harness.workflow import plan

    config = validate_config({**read_json(run / "run_config.json"), "methods": ["spos", "bnnas", "params"],
                              "nats_bench": {**read_json(run / "run_config.json")["nats_bench"],
                                             "all_archs_methods": ["bnnas", "params"]}})
    (spec,) = [s for s in plan.build_plan(config).values() if s["stage"] == stage]
    return plan.stable_json(spec)


def test_grouped_score_without_the_all_archs_list(earlier, tmp_path):
    outputs = [output(tmp_path, name) for name in ("scores.csv", "all_scores.csv")]
    records = [output(tmp_path, name) for name in ("scoring.json", "all_scoring.json")]
    status, message = cli("score", "--spec", grouped_spec(earlier, "score_free"), "--data", earlier / "data.pt",
                          "--archs", earlier / "archs.csv", "--output", *outputs, "--record", *records)
    assert_clean_error(status, message, "--all-archs", "sample-archs --all")
    assert all(path.read_bytes() == SENTINEL for path in outputs + records)


def test_grouped_score_with_too_few_supernet_dirs(earlier, tmp_path):
    spec = grouped_spec(earlier, "score_bn")
    runs = len(json.loads(spec)["runs"])
    outputs = [output(tmp_path, f"scores{i}.csv") for i in range(runs)]
    records = [output(tmp_path, f"scoring{i}.json") for i in range(runs)]
    status, message = cli("score", "--spec", spec, "--data", earlier / "data.pt", "--archs", earlier / "archs.csv",
                          "--all-archs", earlier / "archs.csv", "--supernet-dir", earlier / "supernet",
                          "--output", *outputs, "--record", *records)
    assert_clean_error(status, message, f"{runs} run(s)", "one --supernet-dir per run", "got 1")
    assert all(path.read_bytes() == SENTINEL for path in outputs + records)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_dataset_file(earlier, tmp_path, damage):
    data = earlier / "data.pt"
    broken = tmp_path / "data.pt"
    broken.write_bytes(b"not a dataset\n" * 64 if damage == "garbage" else data.read_bytes()[:5000])
    status, message = cli("train-supernet", "--config", earlier / "run_config.json", "--space", SPACE, "--method",
                          "spos", "--seed", 0, "--data", broken, "--outdir", tmp_path / "supernet")
    assert_clean_error(status, message, str(broken), "truncated or unreadable", "prepare-data")
    status, message = cli(*score_args(earlier, tmp_path, **{"--data": broken}))
    assert_clean_error(status, message, str(broken), "prepare-data")
    assert not (tmp_path / "supernet" / "train.json").exists()


def test_malformed_architecture_string(earlier, tmp_path):
    archs = pd.read_csv(earlier / "archs.csv")
    archs.loc[2, "arch_str"] = "|nor_conv_3x3~0|+|bogus~0|none~1|+|skip_connect~0|none~1|none~2|"
    archs.to_csv(tmp_path / "archs.csv", index=False)
    status, message = cli(*score_args(earlier, tmp_path, **{"--archs": tmp_path / "archs.csv"}))
    assert_clean_error(status, message, "malformed", "bogus", "none, skip_connect, nor_conv_1x1")
    status, message = cli("retrain", "--config", earlier / "run_config.json", "--space", SPACE, "--shard", 0,
                          "--data", earlier / "data.pt", "--archs", tmp_path / "archs.csv",
                          "--output", output(tmp_path, "shard0.csv"))
    assert_clean_error(status, message, "malformed", "bogus")
    assert (tmp_path / "shard0.csv").read_bytes() == SENTINEL


def test_ground_truth_lacking_scored_architectures(earlier, tmp_path):
    truth = pd.read_csv(earlier / "retrain.csv")
    truth[truth["arch_id"] != 1].to_csv(tmp_path / "retrain.csv", index=False)
    status, message = cli("correlate", "--space", SPACE, "--scores", earlier / SPACE / "spos" / "seed0" / "scores.csv",
                          "--groundtruth", tmp_path / "retrain.csv", "--output", output(tmp_path, "correlations.csv"),
                          "--bootstrap", 10)
    assert_clean_error(status, message, "no ground truth", "arch_id 1", "retrain them")
    assert (tmp_path / "correlations.csv").read_bytes() == SENTINEL


def test_diverging_supernet_training_stops_naming_arch_epoch_and_step(earlier, tmp_path):
    config = bad_config(earlier, tmp_path, supernet={"lr": 1e30})
    status, message = cli("train-supernet", "--config", config, "--space", SPACE, "--method", "spos", "--seed", 0,
                          "--data", earlier / "data.pt", "--outdir", tmp_path / "supernet", "--no-progress")
    assert_clean_error(status, message, "loss became", "nats-tss/spos path |", "at epoch 0, step",
                       "lower the learning rate")
    assert not (tmp_path / "supernet" / "train.json").exists()


def test_diverging_retraining_stops_naming_arch_epoch_and_step(earlier, tmp_path):
    config = bad_config(earlier, tmp_path, groundtruth={"lr": 1e30})
    status, message = cli("retrain", "--config", config, "--space", SPACE, "--shard", 0, "--data", earlier / "data.pt",
                          "--archs", earlier / "archs.csv", "--output", output(tmp_path, "shard0.csv"))
    first = pd.read_csv(earlier / "archs.csv")["arch_str"][0]
    assert_clean_error(status, message, "loss became", f"arch {first}", "at epoch 0, step", "lower the learning rate")
    assert (tmp_path / "shard0.csv").read_bytes() == SENTINEL

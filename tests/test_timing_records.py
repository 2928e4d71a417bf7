"""The timing records behind the speed-up CIs: train.json `step_blocks` (kept across a resume)
and scoring.json `timed_calls` (steady: not the process's first call of the scorer)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from harness.io import read_json
from harness.training import supernet as supernet_training
from harness.training.step_timing import StepBlocks, block_size
from harness.training.supernet import train_supernet
from methods import resolve
from test_supernet_training import RECIPE

CPU = torch.device("cpu")


def test_block_size_gives_50_to_100_blocks():
    for total in (50, 78, 100, 101, 199, 780, 2340, 23_400):
        blocks = math.ceil(total / block_size(total))
        assert 50 <= blocks <= 100, (total, blocks)
    assert block_size(16) == 1 and math.ceil(16 / block_size(16)) == 16  # fewer steps: one block each


def test_step_blocks_survive_a_resume_mid_block():
    """A resume state taken inside a block continues it: the blocks cover every step once."""
    total = 250
    first = StepBlocks(total)
    for step in range(1, 101):  # block size 3: step 100 is one step into a block
        first.step_done(step)
    state = first.state()
    assert state["partial"]["steps"] == 1 and len(state["steps"]) == 33
    resumed = StepBlocks(total, state)
    for step in range(101, total + 1):
        resumed.step_done(step)
    record = resumed.record()
    assert sum(record["steps"]) == total and len(record["steps"]) == math.ceil(total / 3)
    assert record["steps"][33] == 3 and record["steps"][-1] == 1
    assert all(w >= 0 for w in record["wall_s"]) and all(c is not None for c in record["cpu_s"])
    unknown = StepBlocks(total, {**state, "partial": {"steps": 1, "wall_s": 0.0, "cpu_s": None}})
    unknown.step_done(101)
    unknown.step_done(102)
    assert unknown.record()["cpu_s"][-1] is None  # the block that spans unknown CPU time


def _train(space, data, out_dir):
    return train_supernet(space, resolve("spos"), data, RECIPE, seed=3, out_dir=out_dir, device=CPU, progress=False)


def test_train_json_records_step_blocks_and_keeps_them_across_a_kill(tiny_space, tiny_data, tmp_path, monkeypatch):
    record = _train(tiny_space, tiny_data, tmp_path / "a")
    blocks = record["step_blocks"]
    assert blocks["steps"] == [1] * 16 and len(blocks["wall_s"]) == len(blocks["cpu_s"]) == 16
    assert sum(blocks["wall_s"]) == pytest.approx(record["train_time_s"], rel=0.2)
    assert read_json(tmp_path / "a" / "train.json")["step_blocks"] == blocks

    real_step, calls = supernet_training._train_step, {"n": 0}

    def dies_after_a_while(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 11:  # mid second epoch: resume.pt holds the first epoch's 8 blocks
            raise KeyboardInterrupt("simulated kill")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(supernet_training, "_train_step", dies_after_a_while)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_space, tiny_data, tmp_path / "b")
    assert len(torch.load(tmp_path / "b" / "resume.pt", weights_only=True)["step_blocks"]["steps"]) == 8
    monkeypatch.setattr(supernet_training, "_train_step", real_step)
    resumed = _train(tiny_space, tiny_data, tmp_path / "b")["step_blocks"]
    assert resumed["steps"] == [1] * 16 and all(c is not None for c in resumed["cpu_s"])


@pytest.fixture(scope="module")
def scoring_run(tmp_path_factory) -> Path:
    """A tiny run (test_scoring_robustness's config) with a trained SPOS supernet (several checkpoints)."""
    from harness.workflow.config import validate_config
    from harness.io import write_json
    from test_bad_input import cli
    from test_scoring_robustness import SPACE, TINY

    root = tmp_path_factory.mktemp("timed")
    config = root / "run_config.json"
    write_json(validate_config({"results_dir": str(root), **TINY, "methods": ["params", "spos"]}), config)
    for step in (["prepare-data", "--config", config, "--output", root / "data.pt", "--meta", root / "data.json"],
                 ["sample-archs", "--config", config, "--space", SPACE, "--output", root / "archs.csv"],
                 ["train-supernet", "--config", config, "--space", SPACE, "--method", "spos", "--seed", 0,
                  "--data", root / "data.pt", "--outdir", root / "supernet", "--no-progress"]):
        status, message = cli(*step)
        assert status == 0, message
    return root


def score(run: Path, out: Path, method: str, *extra) -> dict:
    from test_bad_input import cli
    from test_scoring_robustness import SPACE

    status, message = cli("score", "--config", run / "run_config.json", "--space", SPACE, "--method", method,
                          "--seed", 0, "--data", run / "data.pt", "--archs", run / "archs.csv",
                          "--output", out / f"{method}.csv", "--record", out / f"{method}.json", *extra)
    assert status == 0, message
    return read_json(out / f"{method}.json")


def test_scoring_json_records_every_timed_call(scoring_run: Path, tmp_path: Path):
    record = score(scoring_run, tmp_path, "params")
    calls = record["timed_calls"]
    assert len(calls) == 1 and calls[0]["checkpoint"] == 0 and calls[0]["n_archs"] == 6
    assert calls[0]["steady"] is True  # the one-arch warm-up called the scorer first
    assert calls[0]["seconds"] == record["score_time_s"] and calls[0]["cpu_seconds"] >= 0


def test_only_the_first_checkpoint_call_of_a_supernet_method_is_not_steady(scoring_run: Path, tmp_path: Path):
    record = score(scoring_run, tmp_path, "spos", "--supernet-dir", scoring_run / "supernet")
    calls = record["timed_calls"]
    checkpoints = [c["checkpoint"] for c in read_json(scoring_run / "supernet" / "train.json")["checkpoints"]]
    assert len(checkpoints) > 1 and [c["checkpoint"] for c in calls] == checkpoints
    assert [c["steady"] for c in calls] == [False] + [True] * (len(calls) - 1)
    assert record["score_time_s"] == calls[-1]["seconds"]  # the existing keys: the final checkpoint's call
    assert record["all_checkpoints_score_time_s"] == pytest.approx(sum(c["seconds"] for c in calls))

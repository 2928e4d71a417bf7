"""The score command on bad scores and bad architecture lists: a non-finite score stops the job
with an error naming the method and the count (or, with scoring.drop_nonfinite, is dropped and
counted); an empty list is a clear error; no output is written unless it is whole. Also --limit
(the benchmark sample) and the seeded order of `sample-archs --all`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import harness.workflow.runs as runs
from harness.workflow.config import validate_config
from harness.io import read_json, write_json
from harness.method import ScoreContext
from harness.workflow.runs import configured_method
from test_bad_input import SENTINEL, assert_clean_error, cli

SPACE = "nats-tss"
TINY = {
    "dataset": {"resolution": 8, "train_images": 128, "val_images": 32, "test_images": 32},
    "spaces": {SPACE: {"C": 4, "N": 1}},
    "methods": ["params"],
    "archs": {"count": 6},
    "groundtruth": {"repeat_archs": 0, "shards": 1},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("robust")
    config = root / "run_config.json"
    write_json(validate_config({"results_dir": str(root), **TINY}), config)
    for step in (["prepare-data", "--config", config, "--output", root / "data.pt", "--meta", root / "data.json"],
                 ["sample-archs", "--config", config, "--space", SPACE, "--output", root / "archs.csv"]):
        status, message = cli(*step)
        assert status == 0, message
    return root


def with_drop(run: Path, tmp_path: Path) -> Path:
    config = read_json(run / "run_config.json")
    config["scoring"]["drop_nonfinite"] = True
    path = tmp_path / "run_config.json"
    write_json(config, path)
    return path


def sentinel(path: Path) -> Path:
    path.write_bytes(SENTINEL)
    return path


def score(run: Path, tmp_path: Path, config: Path | None = None, archs: Path | None = None, *extra: str):
    return cli("score", "--config", config or run / "run_config.json", "--space", SPACE, "--method", "params",
               "--seed", 0, "--data", run / "data.pt", "--archs", archs or run / "archs.csv",
               "--output", sentinel(tmp_path / "scores.csv"), "--record", sentinel(tmp_path / "scoring.json"), *extra)


@pytest.fixture
def nan_params(monkeypatch):
    """The real parameter-count scorer, with NaN for arch 1 and +inf for arch 4 of the sample."""
    real = configured_method

    def patched(config, name):
        method = real(config, name)

        def scorer(ctx: ScoreContext, archs: np.ndarray) -> np.ndarray:
            scores = np.asarray(method.scorer(ctx, archs), dtype=float)
            if len(scores) > 4:  # not the score command's one-arch warm-up call
                scores[[1, 4]] = [np.nan, np.inf]
            return scores

        return dataclasses.replace(method, scorer=scorer)

    monkeypatch.setattr(runs, "configured_method", patched)  # where every job resolves its method


def test_finite_scores_are_written(run, tmp_path):
    status, message = score(run, tmp_path)
    assert status == 0, message
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 6 and np.isfinite(scores["score"]).all()
    assert read_json(tmp_path / "scoring.json")["nonfinite_dropped"] == {}


def test_non_finite_scores_stop_the_job(run, tmp_path, nan_params):
    status, message = score(run, tmp_path)
    assert_clean_error(status, message, "'params'", "non-finite", "2 of 6", "drop_nonfinite")
    assert (tmp_path / "scores.csv").read_bytes() == SENTINEL
    assert (tmp_path / "scoring.json").read_bytes() == SENTINEL


def test_non_finite_scores_dropped_and_counted_when_allowed(run, tmp_path, nan_params):
    status, message = score(run, tmp_path, with_drop(run, tmp_path))
    assert status == 0, message
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert sorted(scores["arch_id"]) == [0, 2, 3, 5] and np.isfinite(scores["score"]).all()
    record = read_json(tmp_path / "scoring.json")
    assert record["nonfinite_dropped"] == {"0": 2} and record["n_archs"] == 6


@pytest.mark.parametrize("content", ["arch_id,arch_str,flops_M,params_M\n", ""])
def test_empty_architecture_list_is_a_clear_error(run, tmp_path, content):
    archs = tmp_path / "archs.csv"
    archs.write_text(content)
    status, message = score(run, tmp_path, None, archs)
    assert_clean_error(status, message, str(archs), "empty" if not content else "no rows", "sample-archs")
    assert (tmp_path / "scores.csv").read_bytes() == SENTINEL
    assert (tmp_path / "scoring.json").read_bytes() == SENTINEL
    status, message = cli("groundtruth", "query", "--space", SPACE, "--archs", archs, "--dataset", "cifar10",
                          "--csv", Path("harness/groundtruth/nats_bench_data/nb201_tss_wide.csv.xz").resolve(),
                          "--output", sentinel(tmp_path / "gt.csv"), "--record", sentinel(tmp_path / "gt.json"))
    assert_clean_error(status, message, str(archs), "empty" if not content else "no rows")
    assert (tmp_path / "gt.csv").read_bytes() == SENTINEL


def test_limit_scores_the_first_rows(run, tmp_path):
    status, message = score(run, tmp_path, None, None, "--limit", "4")
    assert status == 0, message
    archs = pd.read_csv(run / "archs.csv")
    assert pd.read_csv(tmp_path / "scores.csv")["arch_id"].tolist() == archs["arch_id"][:4].tolist()
    assert read_json(tmp_path / "scoring.json")["n_archs"] == 4
    status, message = score(run, tmp_path, None, None, "--limit", "0")
    assert_clean_error(status, message, "--limit")


def test_all_archs_list_is_every_arch_in_a_seeded_random_order(run, tmp_path):
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for path in paths:
        status, message = cli("sample-archs", "--all", "--config", run / "run_config.json", "--space", SPACE,
                              "--output", path)
        assert status == 0, message
    first, second = (pd.read_csv(p) for p in paths)
    pd.testing.assert_frame_equal(first, second)  # seeded: the same order every time
    assert sorted(first["arch_id"]) == list(range(15_625))
    head = first["arch_id"][:500].to_numpy()
    assert not (np.diff(head) > 0).all()  # not the enumeration order
    # a uniform sample: its first 500 ids spread over the whole range (mean near 7,812)
    assert abs(head.mean() - 7812) < 4 * 4510 / np.sqrt(500)


def test_groundtruth_space_epochs_overrides_the_epochs_of_one_space(run, tmp_path):
    config = read_json(run / "run_config.json")
    config["groundtruth"].update({"epochs": 2, "space_epochs": {SPACE: 1}, "shards": 6})
    path = tmp_path / "run_config.json"
    write_json(config, path)
    status, message = cli("retrain", "--config", path, "--space", SPACE, "--shard", 0, "--data", run / "data.pt",
                          "--archs", run / "archs.csv", "--output", tmp_path / "shard0.csv")
    assert status == 0, message
    assert pd.read_csv(tmp_path / "shard0.csv")["epochs"].tolist() == [1]

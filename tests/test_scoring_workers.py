"""config scoring.workers: a supernet-free method's architectures scored in that many processes
(harness.scoring.zero_cost.each_arch / per_arch) give the same score files as one process, through
the score command; 1 (the default) scores in the job's own process."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.io import read_json, write_json
from harness.workflow.config import validate_config
from test_bad_input import cli

SPACE = "nats-tss"
METHODS = ["snip", "az_nas", "synflow", "zico"]
TINY = {
    "dataset": {"resolution": 8, "train_images": 256, "val_images": 32, "test_images": 32},
    "spaces": {SPACE: {"C": 4, "N": 1}},
    "methods": METHODS,
    "method_options": {"zico": {"batch_size": 32}},
    "archs": {"count": 7},
    "groundtruth": {"repeat_archs": 0, "shards": 1},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("workers")
    for workers in (1, 3):
        write_json(validate_config({"results_dir": str(root), **TINY, "scoring": {"workers": workers}}),
                   root / f"run_config_{workers}.json")
    config = root / "run_config_1.json"
    for step in (["prepare-data", "--config", config, "--output", root / "data.pt", "--meta", root / "data.json"],
                 ["sample-archs", "--config", config, "--space", SPACE, "--output", root / "archs.csv"]):
        status, message = cli(*step)
        assert status == 0, message
    return root


def test_the_default_is_one_process() -> None:
    assert validate_config({})["scoring"]["workers"] == 1


@pytest.mark.parametrize("method", METHODS)
def test_scores_in_several_processes_equal_those_in_one(run: Path, method: str, monkeypatch) -> None:
    """Equal scores, and the sharded path really ran for workers 3 (and not for 1), so that equality
    is not two serial runs compared."""
    from harness.scoring import zero_cost

    sharded, real = [], zero_cost._per_arch_in_processes

    def spy(*args, **kwargs):
        sharded.append(args[-1])  # workers
        return real(*args, **kwargs)

    monkeypatch.setattr(zero_cost, "_per_arch_in_processes", spy)
    outputs = {}
    for workers in (1, 3):
        out = run / f"{method}-{workers}"
        out.mkdir()
        status, message = cli("score", "--config", run / f"run_config_{workers}.json", "--space", SPACE,
                              "--method", method, "--seed", 0, "--data", run / "data.pt", "--archs", run / "archs.csv",
                              "--output", out / "scores.csv", "--record", out / "scoring.json")
        assert status == 0, message
        outputs[workers] = (out / "scores.csv").read_bytes()
        assert read_json(out / "scoring.json")["n_archs"] == 7
        assert sharded == ([] if workers == 1 else [3]), method
    assert outputs[1] == outputs[3]


def test_workers_must_be_a_positive_integer() -> None:
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="scoring.workers"):
        validate_config({"scoring": {"workers": 0}})

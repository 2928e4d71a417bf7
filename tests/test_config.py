"""Config validation: defaults, unknown keys, types, ranges and cross-key checks name the key."""

from pathlib import Path

import pytest
import yaml

from harness.workflow.config import load_config, validate_config
from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parents[1]


def test_empty_config_gets_every_default():
    config = validate_config({})
    assert config["dataset"]["name"] == "fashion-mnist"
    assert config["supernet"]["epochs"] == 10
    assert config["groundtruth"]["shards"] == 4
    assert config["spaces"] == {"nats-tss": {"C": 16, "N": 5, "op_bn": "conv"}}
    assert config["methods"] == ["spos", "bnnas"]


def test_defaults_are_not_shared_between_configs():
    first = validate_config({})
    first["supernet"]["epochs"] = 99
    assert validate_config({})["supernet"]["epochs"] == 10


@pytest.mark.parametrize("name", ["config.yaml", "smoke.yaml"])
def test_shipped_configs_validate(name):
    raw = yaml.safe_load((ROOT / "config" / name).read_text())
    assert validate_config(raw)["results_dir"]


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ({"supernet": {"epochs": -1}}, "supernet.epochs"),
        ({"supernet": {"epochz": 3}}, "epochz"),
        ({"unknown_top": 1}, "unknown_top"),
        ({"dataset": {"name": "mnist"}}, "dataset.name"),
        ({"archs": {"count": "many"}}, "archs.count"),
        ({"groundtruth": {"shards": 0}}, "groundtruth.shards"),
        ({"methods": ["spos", "nosuchmethod"]}, "nosuchmethod"),
        ({"spaces": {"nats-tss": {"C": 0}}}, "spaces.nats-tss.C"),
        ({"archs": {"count": 4}, "groundtruth": {"repeat_archs": 5}}, "repeat_archs"),
    ],
)
def test_bad_config_names_the_key(raw, fragment):
    with pytest.raises(HarnessError, match="config|method") as err:
        validate_config(raw)
    assert fragment in str(err.value)


def test_missing_config_file_says_how_to_fix(tmp_path):
    with pytest.raises(HarnessError, match="does not exist"):
        load_config(tmp_path / "nope.json")

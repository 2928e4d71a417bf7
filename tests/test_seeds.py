"""Per-method run seeds (seeds_for, config seeds_by_kind) and benchmark sample sizes
(benchmark_sample_size, config nats_bench.sample): one function each, driven by the method's kind."""

from __future__ import annotations

import pytest

from harness.workflow.config import validate_config
from harness.errors import HarnessError
from harness.workflow.runs import benchmark_sample_size, configured_method, seed_kind, seeds_for

METHODS = ["spos", "bnnas", "fairnas", "bnnas-fairnas", "params", "naswot", "jacob_cov", "synflow", "bnnas-last-bn"]
VARIANTS = {"bnnas-last-bn": {"base": "bnnas", "trainable": "last_bn"}}


def config(**keys) -> dict:
    return validate_config({"methods": METHODS, "method_variants": VARIANTS, "spaces": {"nats-tss": {"C": 4, "N": 1}},
                            **keys})


def kinds(cfg: dict) -> dict[str, str]:
    return {name: seed_kind(configured_method(cfg, name)) for name in METHODS}


def test_each_method_has_its_kind():
    assert kinds(config()) == {
        "spos": "supernet", "fairnas": "supernet", "bnnas": "bn_indicator", "bnnas-fairnas": "bn_indicator",
        "bnnas-last-bn": "bn_indicator", "params": "deterministic", "synflow": "deterministic",
        "naswot": "stochastic", "jacob_cov": "stochastic",
    }  # fmt: skip


def test_without_seeds_by_kind_every_method_runs_config_seeds():
    cfg = config(seeds=[3, 5])
    assert {name: seeds_for(cfg, configured_method(cfg, name)) for name in METHODS} == {n: [3, 5] for n in METHODS}


def test_seeds_by_kind_sets_each_kind_its_count():
    cfg = config(seeds=[0], seeds_by_kind={"bn_indicator": 3, "supernet": 2, "stochastic": 3, "deterministic": 1})
    seeds = {name: seeds_for(cfg, configured_method(cfg, name)) for name in METHODS}
    assert seeds["bnnas"] == seeds["bnnas-fairnas"] == seeds["bnnas-last-bn"] == [0, 1, 2]
    assert seeds["spos"] == seeds["fairnas"] == [0, 1]
    assert seeds["naswot"] == seeds["jacob_cov"] == [0, 1, 2]
    assert seeds["params"] == seeds["synflow"] == [0]


def test_seeds_by_kind_keeps_config_seeds_first():
    cfg = config(seeds=[7, 4], seeds_by_kind={"supernet": 3, "deterministic": 1})
    assert seeds_for(cfg, configured_method(cfg, "spos")) == [7, 4, 8]
    assert seeds_for(cfg, configured_method(cfg, "params")) == [7]
    assert seeds_for(cfg, configured_method(cfg, "bnnas")) == [7, 4]  # kind not named: config seeds


def test_seeds_by_kind_rejects_unknown_kinds_and_zero():
    with pytest.raises(HarnessError, match="seeds_by_kind"):
        config(seeds_by_kind={"bn-indicator": 3})
    with pytest.raises(HarnessError, match="seeds_by_kind"):
        config(seeds_by_kind={"supernet": 0})


def test_benchmark_sample_size_per_kind():
    cfg = config(nats_bench={"sample": {"supernet": 300, "stochastic": 20_000, "deterministic": 50,
                                        "synflow": 1000, "params": None}})
    sizes = {name: benchmark_sample_size(cfg, configured_method(cfg, name), 15_625) for name in METHODS}
    assert sizes["spos"] == sizes["fairnas"] == 300
    assert sizes["naswot"] == 15_625  # at most the space
    assert sizes["synflow"] == 1000  # a method name wins over its kind (deterministic: 50)
    assert sizes["params"] == 15_625  # null: every architecture
    assert sizes["bnnas"] == 15_625  # kind not named: every architecture
    with pytest.raises(HarnessError, match="sample"):
        config(nats_bench={"sample": {"spos": 1}})
    with pytest.raises(HarnessError, match=r"nats_bench.sample names \['spoz'\]"):
        config(nats_bench={"sample": {"spoz": 100}})

"""The runs a config names: its spaces (with a method's knobs), its methods, and each method's
run seeds and NATS-Bench sample size. The plan and the jobs ask here, never the raw config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.data.shapes import dataset_shape
from harness.errors import HarnessError
from harness.method import Method
from harness.spaces import build_space
from harness.spaces.base import SearchSpace


def configured_space(config: dict[str, Any], name: str, knobs: Mapping[str, Any] | None = None) -> SearchSpace:
    """The space `name` at the run's dataset shape and configured knobs (`knobs` override them:
    a method's space_knobs)."""
    if name not in config["spaces"]:
        raise HarnessError(f"space {name!r} is not in this run's config (spaces: {', '.join(config['spaces'])})")
    dataset = config["dataset"]
    return build_space(name, dataset_shape(dataset["name"], dataset["resolution"]),
                       **{**config["spaces"][name], **(knobs or {})})


def configured_method(config: dict[str, Any], name: str) -> Method:
    from methods import resolve

    return resolve(name, config["method_variants"], config["method_options"])


# --- seeds and benchmark sample sizes per kind of method ----------------------------------------

SEED_KINDS = ("bn_indicator", "supernet", "stochastic", "deterministic")


def seed_kind(method: Method) -> str:
    """How a method's score varies with the run seed, and what a seed costs:

    bn_indicator   a BN-NAS method (Method.family "bn-nas", variants included): trains a supernet
                   whose score is its BN indicator (training is seconds)
    supernet       trains a supernet and evaluates each subnet with it (SPOS, FairNAS: minutes of
                   training, 0.1-1 s per scored architecture)
    stochastic     no supernet, but the score draws data or initialisations (Method.stochastic)
    deterministic  no supernet and the score does not depend on the seed (params, FLOPs)
    """
    if method.trains_supernet:
        return "bn_indicator" if method.family == "bn-nas" else "supernet"
    return "stochastic" if method.stochastic else "deterministic"


def seeds_for(config: Mapping[str, Any], method: Method) -> list[int]:
    """The run seeds of `method`: every place that enumerates runs asks here.

    Without `seeds_by_kind` (or without the method's kind in it): config `seeds`. With
    `seeds_by_kind[kind] = n`: the first n of config `seeds`, continued by consecutive integers
    after its largest when n is longer (seeds [0] and n = 3 give [0, 1, 2])."""
    seeds = [int(s) for s in config["seeds"]]
    count = config.get("seeds_by_kind", {}).get(seed_kind(method))
    if count is None:
        return seeds
    extra = range(max(seeds) + 1, max(seeds) + 1 + max(0, count - len(seeds)))
    return (seeds + list(extra))[:count]


def benchmark_sample_size(config: Mapping[str, Any], method: Method, space_size: int) -> int:
    """How many architectures of an enumerable space `method` scores against NATS-Bench: config
    nats_bench.sample[method name], else nats_bench.sample[kind] (null or missing = all of them),
    at most the space's size. The all-architectures list is in a seeded random order, so the
    first n rows are a uniform sample and a smaller sample is a subset of a larger one."""
    sample = config["nats_bench"].get("sample", {})
    count = sample[method.name] if method.name in sample else sample.get(seed_kind(method))
    return space_size if count is None else min(int(count), space_size)

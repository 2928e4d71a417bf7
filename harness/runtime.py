"""What every command needs from the run config: the space, the method, the device, the archs."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from harness.devices import pin_device
from harness.errors import HarnessError
from harness.method import Method
from harness.shapes import dataset_shape
from harness.spaces import build_space
from harness.spaces.base import SearchSpace


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that name one run (space x method x seed) and its inputs, shared by the
    commands that train, score, search or retrain for a run."""
    parser.add_argument("--config", required=True, help="run_config.json of the run")
    parser.add_argument("--space", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--seed", type=int, required=True, help="the run's supernet seed (config seeds)")
    parser.add_argument("--data", required=True, help="dataset.pt written by prepare-data")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: config threads)")


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


def setup_torch(device: str, threads: int) -> torch.device:
    """Pin the thread count (one job per core by default) and choose the device; on a machine
    with several GPUs each job claims its own (Snakemake does not set CUDA_VISIBLE_DEVICES)."""
    torch.set_num_threads(threads)
    if device == "auto":
        return pin_device(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    if device == "cuda" and not torch.cuda.is_available():
        raise HarnessError("config device is 'cuda' but no CUDA device is available; set device: cpu or auto")
    return pin_device(torch.device(device))


def read_archs(space: SearchSpace, path: str | Path) -> pd.DataFrame:
    """The arch sample (arch_id, arch_str, ...) with a decoded `arch` column; every string is
    validated by the space's codec, so a malformed one is named in the error."""
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"architecture list {path} is missing; rerun the sample-archs step")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise HarnessError(f"architecture list {path} is empty (not even a header); rerun the sample-archs step") from None
    missing = {"arch_id", "arch_str"} - set(frame.columns)
    if missing:
        raise HarnessError(f"{path} lacks column(s) {sorted(missing)}; it must have arch_id and arch_str")
    if frame.empty:
        raise HarnessError(f"architecture list {path} has a header but no rows: nothing to score or train; "
                           "rerun the sample-archs step (config archs.count >= 2)")
    frame["arch"] = [space.decode(text) for text in frame["arch_str"]]
    return frame


def arch_matrix(space: SearchSpace, frame: pd.DataFrame) -> np.ndarray:
    return space.to_matrix(list(frame["arch"]))


# --- seeds and benchmark sample sizes per kind of method ----------------------------------------

SEED_KINDS = ("bn_indicator", "supernet", "stochastic", "deterministic")


def seed_kind(method: Method) -> str:
    """How a method's score varies with the run seed, and what a seed costs:

    bn_indicator   trains a supernet whose score is its BN indicator (training is seconds)
    supernet       trains a supernet and evaluates each subnet with it (SPOS, FairNAS: minutes of
                   training, 0.1-1 s per scored architecture)
    stochastic     no supernet, but the score draws data or initialisations (Method.stochastic)
    deterministic  no supernet and the score does not depend on the seed (params, FLOPs)
    """
    from harness.scorers import bn_indicator

    if method.trains_supernet:
        return "bn_indicator" if method.scorer is bn_indicator else "supernet"
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

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
    frame = pd.read_csv(path)
    missing = {"arch_id", "arch_str"} - set(frame.columns)
    if missing:
        raise HarnessError(f"{path} lacks column(s) {sorted(missing)}; it must have arch_id and arch_str")
    frame["arch"] = [space.decode(text) for text in frame["arch_str"]]
    return frame


def arch_matrix(space: SearchSpace, frame: pd.DataFrame) -> np.ndarray:
    return space.to_matrix(list(frame["arch"]))

"""What every command needs from its job spec: the space, the method, the device, the archs (one
helper, open_job, instead of each command rebuilding them from the whole config)."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from harness.devices import Compute, pin_device
from harness.environment import check_pinned, note_job
from harness.errors import HarnessError
from harness.method import Method
from harness.seeding import apply_determinism, derive_seed
from harness.spaces.base import SearchSpace
from harness.workflow.config import load_config
from harness.workflow import runs
from harness.results.files import read_arch_table


def add_spec_arguments(parser: argparse.ArgumentParser, *names: str) -> None:
    """--spec (the job's planned spec, as the workflow passes it) or, by hand, --config plus the
    job's names (`names`: space, method, seed, shard), from which the same spec is planned."""
    parser.add_argument("--spec", help="the job's spec: JSON text or a JSON file (`python -m harness plan "
                                       "--config C --job ID` prints one); replaces --config and the names")
    parser.add_argument("--config", help="run config (YAML or run_config.json); with the job's names instead of --spec")
    for name in names:
        parser.add_argument(f"--{name}", type=int if name in ("seed", "shard") else str, default=None,
                            help="the run's supernet seed (config seeds)" if name == "seed" else None)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments that name one run (space x method x seed) and its inputs, shared by the
    commands that train, score, search or retrain for a run."""
    add_spec_arguments(parser, "space", "method", "seed")
    parser.add_argument("--data", required=True, help="dataset.pt written by prepare-data")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: config threads)")


def job_spec(args: argparse.Namespace, stage: str, *also: str) -> dict[str, Any]:
    """The job's spec: --spec as given (its hash checked; of `stage` or one of `also`), or
    planned from --config and the names (a `stage` job)."""
    from harness.workflow import plan

    if args.spec:
        text = args.spec if args.spec.lstrip().startswith("{") else _read_text(Path(args.spec))
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HarnessError(f"--spec is not valid JSON ({exc}); pass what `python -m harness plan` prints") from exc
        if spec.get("stage") not in (stage, *also):
            raise HarnessError(f"--spec is a {spec.get('stage')!r} job's spec, not a {stage!r} one")
        if spec.get("hash") != plan.content_hash(spec):
            raise HarnessError("--spec was edited after planning (its hash does not match its content); "
                               "change the config instead and plan again")
        note_job(spec)  # the job's record of what it ran with (harness.environment)
        check_pinned(spec)
        return spec
    if not args.config:
        raise HarnessError("pass --spec, or --config with the job's names")
    names = {name: getattr(args, name, None) for name in ("space", "method", "seed", "shard")}
    missing = [f"--{n}" for n, v in names.items() if hasattr(args, n) and v is None]
    if missing:
        raise HarnessError(f"with --config, also pass {' '.join(missing)} (or pass --spec)")
    spec = plan.stage_spec(load_config(args.config), stage, **{k: v for k, v in names.items() if hasattr(args, k)})
    note_job(spec)
    check_pinned(spec)
    return spec


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise HarnessError(f"--spec {path}: no such file; pass the spec's JSON text or an existing file")
    return path.read_text()


@dataclass
class Job:
    """One planned job, set up: its spec, the config slices it reads, and (for jobs on a space)
    the space, the method, the torch device and the thread count."""

    spec: dict[str, Any]
    config: dict[str, Any]
    space: SearchSpace | None = None
    method: Method | None = None
    device: torch.device | None = None
    threads: int | None = None
    determinism: dict[str, Any] | None = None  # harness.seeding.determinism_settings() once applied
    compute: Compute = Compute()

    @property
    def space_name(self) -> str:
        return self.spec["space"]["name"]

    @property
    def method_name(self) -> str:
        return self.spec["method"]["name"]

    def derive_seed(self, *keys: object) -> int:
        """A job seed from the config's seed (harness.seeding.derive_seed)."""
        return derive_seed(self.config["seed"], *keys)


def open_job(args: argparse.Namespace, stage: str) -> Job:
    """The job of the command's arguments: spec, method, space (with the method's knobs, except
    for the final retraining, which trains the space's own network), device and threads."""
    return setup_job(job_spec(args, stage), getattr(args, "threads", None))


def setup_job(spec: dict[str, Any], threads: int | None, device: torch.device | None = None) -> Job:
    """A Job from its spec; torch is set up unless `device` (already set up) is given.

    A job that computes (its spec has a device) applies the determinism settings first, before
    anything here or in the command touches CUDA (setup_torch asks torch.cuda): cuBLAS reads
    CUBLAS_WORKSPACE_CONFIG when it starts. tests/test_gpu_tier.py checks that order in a real job."""
    config = spec["config"]
    determinism = apply_determinism(config.get("deterministic", True)) if "device" in config else None
    method = runs.configured_method(config, spec["method"]["name"]) if "method_variants" in config else None
    space = None
    if "space" in spec and "spaces" in config:
        knobs = method.knobs_for(spec["space"]["name"]) if method is not None else None
        space = runs.configured_space(config, spec["space"]["name"], knobs)
    job = Job(spec=spec, config=config, space=space, method=method, determinism=determinism,
              compute=Compute.from_config(config))
    if "device" in config:
        job.threads = threads or config["threads"]
        job.device = device if device is not None else setup_torch(config["device"], job.threads)
    return job


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
    frame = read_arch_table(path, ["arch_id", "arch_str"])
    frame["arch"] = [space.decode(text) for text in frame["arch_str"]]
    return frame


def arch_matrix(space: SearchSpace, frame: pd.DataFrame) -> np.ndarray:
    return space.to_matrix(list(frame["arch"]))

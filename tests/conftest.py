"""Shared fixtures: a tiny real dataset (Fashion-MNIST from Debian's package), a tiny space, and
the smoke workflow's run (once per session, for the workflow, report and browser tests)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from harness.data.datasets import DataConfig, DataSplits, load_dataset
from harness.groundtruth.nats_bench_bundled import FULL_TABLE, HP12_TABLE, bundled_path
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.spaces.base import SearchSpace
from user_checkout import user_checkout  # noqa: F401  (session fixture: a user's fresh clone + scripts/setup.sh)

TINY_DATA = {"name": "fashion-mnist", "root": None, "resolution": 8, "train_images": 512,
             "val_images": 128, "test_images": 128, "split_seed": 0, "augment": True}


@pytest.fixture(scope="session")
def tiny_data() -> DataSplits:
    return load_dataset(DataConfig.from_dict(TINY_DATA))


@pytest.fixture(scope="session")
def tiny_space() -> SearchSpace:
    return build_space("nats-tss", dataset_shape("fashion-mnist", 8), C=4, N=1)


@pytest.fixture(scope="session")
def nats_wide_csv() -> Path:
    """The bundled NATS-Bench nats-tss table (200 epochs; xz-compressed package data)."""
    return bundled_path(FULL_TABLE)


@pytest.fixture(scope="session")
def nats_hp12_csv() -> Path:
    """The bundled NATS-Bench nats-tss 12-epoch table."""
    return bundled_path(HP12_TABLE)


ROOT = Path(__file__).resolve().parents[1]
SMOKE_CONFIG = ROOT / "config" / "smoke.yaml"


def unactivated_env() -> dict[str, str]:
    """The environment of a user who runs the venv's snakemake without activating the venv: a
    `python` that is not the project's first on the PATH (it fails when started), then the
    system's folders. Jobs that started the PATH's `python` would fail (issue 25)."""
    decoy = Path(tempfile.gettempdir()) / f"harness-decoy-python-{os.getuid()}"
    decoy.mkdir(exist_ok=True)
    for name in ("python", "python3"):
        script = decoy / name
        script.write_text("#!/bin/sh\necho 'a decoy python started: jobs must run the workflow interpreter' >&2\nexit 97\n")
        script.chmod(0o755)
    return {**os.environ, "PATH": f"{decoy}:/usr/bin:/bin"}


def run_snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """This interpreter's Snakemake (as `.venv/bin/snakemake` is run), with a PATH whose `python`
    is not the project's (unactivated_env)."""
    return subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), *args],
                          cwd=cwd, capture_output=True, text=True, env=unactivated_env())


def smoke_overrides() -> dict:
    """What the tests' smoke run adds to config/smoke.yaml: judged against the bundled NATS-Bench
    table (no source configured), with BN-NAS, params and SPOS also scored over the benchmark
    (SPOS on a 20-arch sample), BN-NAS trained with two seeds and two searches per method."""
    return {"nats_bench": {"all_archs_methods": ["bnnas", "params", "spos"], "sample": {"supernet": 20}},
            "seeds_by_kind": {"bn_indicator": 2}, "search": {"seeds": 2}}


def smoke_args(workdir: Path, overrides: dict | None = None) -> list[str]:
    """`--configfile config/smoke.yaml OVERRIDES.yaml` (default: smoke_overrides()); the overrides go
    in a YAML file written to `workdir` (Snakemake reads nested --config values as strings)."""
    overrides = smoke_overrides() if overrides is None else overrides
    override_file = workdir / f"overrides-{hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:12]}.yaml"
    override_file.write_text(yaml.safe_dump(overrides))
    return ["--configfile", str(SMOKE_CONFIG), str(override_file)]


def smoke_command(workdir: Path, overrides: dict, *options: str) -> list[str]:
    """`snakemake OPTIONS --configfile config/smoke.yaml OVERRIDES.yaml` (this interpreter's Snakemake)."""
    return [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), *options,
            *smoke_args(workdir, overrides)]


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """The smoke workflow on smoke_overrides(); shared by the workflow, plan, report and browser tests.
    Run as a user who did not activate the environment would (run_snakemake): it passes only if
    every job starts the workflow's interpreter."""
    workdir = tmp_path_factory.mktemp("smoke")
    done = run_snakemake("--cores", "2", *smoke_args(workdir), cwd=workdir)
    assert done.returncode == 0, done.stderr[-4000:]
    return workdir / "results" / "smoke"

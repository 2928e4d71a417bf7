"""Where a run ran: the code version, the machine, the libraries and the numerical settings, probed
once per run by the provenance job (report/provenance.json) and by `bundle`. Float results of long
training differ between hosts (docs: reproducibility), which is why the CPU model and torch's CPU
capability (the vector kernels it picked) are recorded."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

LIBRARIES = ["torch", "torchvision", "numpy", "pandas", "scipy", "seaborn", "matplotlib", "snakemake", "jinja2"]
REPOSITORY = Path(__file__).resolve().parents[1]


def git_state(repo: Path = REPOSITORY) -> dict[str, str]:
    """The checkout's commit and whether its tree had uncommitted changes."""
    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    if not commit:
        return {"commit": "unknown (not a git checkout)", "dirty": "unknown"}
    return {"commit": commit[:12], "dirty": "yes (uncommitted changes)" if git("status", "--porcelain") else "no"}


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's model name: the first "model name" of /proc/cpuinfo (`cpuinfo`, its text, read
    when None), else platform.processor(), else "unknown"."""
    if cpuinfo is None:
        source = Path("/proc/cpuinfo")
        cpuinfo = source.read_text(errors="replace") if source.is_file() else ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            return value.strip()
    return platform.processor() or "unknown"


def hardware() -> dict[str, str]:
    """This machine: CPU, cores, memory, GPU and what torch uses of them."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else float("nan")
    try:
        import torch

        accelerator = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)"
        capability = torch.backends.cpu.get_cpu_capability()
        cuda = torch.version.cuda or "none (CPU build)"
    except ImportError:
        accelerator = capability = cuda = "unknown (no torch)"
    return {"machine": platform.machine(), "system": platform.platform(terse=True), "CPU model": cpu_model(),
            "torch CPU capability": capability, "CPU cores": str(os.cpu_count()),
            "memory (GiB)": f"{memory:.0f}", "GPU": accelerator, "torch CUDA build": cuda}


def library_versions(names: list[str] | None = None) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names or LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def installed_packages() -> dict[str, str]:
    """Every installed distribution with its version (a lock of the Python environment)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[name] = dist.version
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower()))


def determinism(config: dict[str, Any] | None = None) -> dict[str, str]:
    """The numerical settings the run's jobs apply (config `deterministic`, harness.seeding), as a
    job of this run applies them on this machine."""
    from harness.seeding import apply_determinism

    flag = bool((config or {}).get("deterministic", True))
    return {"config deterministic": str(flag), **{k: str(v) for k, v in apply_determinism(flag).items()}}

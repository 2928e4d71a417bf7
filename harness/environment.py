"""What a job ran with: the host's CPU and vector units, the interpreter, the libraries, torch's
build and the code paths it chose, the determinism settings, and the code version.

Float results of training are identical only when all of these match (docs: reproducibility), so
every workflow job records them: the rules export HARNESS_RESULTS (the results directory), a job
notes its spec (note_job, called by harness.workflow.job.job_spec) and, when it succeeds,
`python -m harness` writes the job's record under it (write_job_record, at paths.JOB_RECORD):

    {"job": id, "stage": ..., "hash": spec hash, "end_time": ISO time, "environment": describe()}

`python -m harness verify` compares a recorded job's fingerprint() with its re-execution's: where
they match the outputs must be identical; where they differ, within the recorded CIs. The bundle
(`python -m harness bundle`) keeps the records and adds the full package lock (lock()).

CPU capability: config `cpu_capability` (pin_variables) pins torch's, oneDNN's and MKL's vector
code paths through environment variables that must be set before torch loads; the rules export
them for every job and `verify` sets them from the record for a re-executed job.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import paths

RESULTS_ENV = "HARNESS_RESULTS"  # the results directory a job's record goes under (set by the rules, and by verify)
# Environment variables that change which kernels run or in what order floats are summed.
NUMERIC_VARIABLES = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR",
                     "MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                     "CUBLAS_WORKSPACE_CONFIG", "NVIDIA_TF32_OVERRIDE", "PYTHONHASHSEED")
# config cpu_capability -> the variables that pin the CPU code paths. avx2: torch's own kernels
# (ATen) and oneDNN's convolutions at AVX2, MKL's BLAS on its "compatible" branch (the one
# conditional-numerical-reproducibility branch MKL honours on non-Intel CPUs as well). Measured
# (docs: reproducibility): an AVX-512 host emulating an AVX2-only one gives identical supernet
# checkpoints and retrained accuracies with these set, different ones without.
CPU_PINS = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "COMPATIBLE"},
}
# /proc/cpuinfo flags that name vector units (a host's set decides which kernels torch may pick)
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "avx_vnni")
# Packages whose versions change numbers (the full lock is in the bundle)
NUMERIC_PACKAGES = ("torch", "numpy", "scipy", "pandas", "scikit-learn", "pillow")

_noted: dict[str, Any] | None = None


def pin_variables(cpu_capability: str | None) -> dict[str, str]:
    """The environment variables that config cpu_capability sets for every job ({} for null)."""
    if cpu_capability is None:
        return {}
    if cpu_capability not in CPU_PINS:
        from harness.errors import HarnessError

        raise HarnessError(f"cpu_capability {cpu_capability!r} is not one of {sorted(CPU_PINS)} (or null)")
    return dict(CPU_PINS[cpu_capability])


def spec_pins(spec: dict[str, Any]) -> dict[str, str]:
    """The pinning variables a job's spec asks for (its config's cpu_capability, or its runs' for
    a grouped scoring job)."""
    configs = [spec.get("config") or {}] + [run.get("config") or {} for run in spec.get("runs", [])]
    wanted: dict[str, str] = {}
    for config in configs:
        wanted.update(pin_variables(config.get("cpu_capability")))
    return wanted


def check_pinned(spec: dict[str, Any]) -> None:
    """A job whose spec pins cpu_capability must run with its variables set (before torch
    loads, so the rules and verify set them); started without them it would compute with other
    kernels than its spec says: an error naming the variables."""
    wanted = spec_pins(spec)
    wrong = {k: v for k, v in wanted.items() if os.environ.get(k) != v}
    if wrong:
        from harness.errors import HarnessError

        shown = " ".join(f"{k}={v}" for k, v in wanted.items())
        raise HarnessError(f"job {spec.get('id')} pins cpu_capability (config): start it as `{shown} python -m harness "
                           f"...` (the workflow's rules and `python -m harness verify` set them); "
                           f"{', '.join(sorted(wrong))} {'is' if len(wrong) == 1 else 'are'} not set so")


# ---------------------------------------------------------------------------------- describe


def cpu_info(text: str | None = None) -> dict[str, Any]:
    """The CPU's model, vendor and vector units (from /proc/cpuinfo's first processor; `text`
    for tests)."""
    if text is None:
        source = Path("/proc/cpuinfo")
        text = source.read_text(errors="replace") if source.is_file() else ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block is enough
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    return {"model": fields.get("model name") or platform.processor() or "unknown",
            "vendor": fields.get("vendor_id", "unknown"),
            "vector_units": [flag for flag in VECTOR_FLAGS if flag in flags]}


def package_versions(names: tuple[str, ...] = NUMERIC_PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def torch_info() -> dict[str, Any] | None:
    """torch's build and the code paths and determinism settings in effect; None when the process
    never imported torch (a table-only job: importing it here would only cost time)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    info: dict[str, Any] = {
        "version": torch.__version__,
        "git_version": getattr(torch.version, "git_version", None),
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        "threads": torch.get_num_threads(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
        "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "gpus": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        info["cuda_matmul_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        info["cudnn_tf32"] = bool(torch.backends.cudnn.allow_tf32)
    return info


def code_version(root: Path | None = None) -> dict[str, Any]:
    """The checkout's commit and whether its tree was dirty (tracked or untracked changes outside
    .gitignore); "unknown" outside a git checkout or without git."""
    root = root or Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=normal"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": "unknown"}
    return {"commit": commit, "dirty": dirty}


def describe() -> dict[str, Any]:
    """Everything about this process's environment that can change a job's numbers."""
    return {
        "host": {"hostname": socket.gethostname(), "machine": platform.machine(), "system": platform.platform(terse=True),
                 **{f"cpu_{k}": v for k, v in cpu_info().items()}},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation(),
                   "executable": sys.executable},
        "packages": package_versions(),
        "torch": torch_info(),
        "variables": {name: os.environ[name] for name in NUMERIC_VARIABLES if name in os.environ},
        "code": code_version(),
    }


def hardware() -> dict[str, str]:
    """This machine as the report's provenance shows it: CPU, cores, memory, GPU and what torch
    uses of them (the provenance job, once per run)."""
    import torch

    cpu = cpu_info()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else float("nan")
    return {"machine": platform.machine(), "system": platform.platform(terse=True), "CPU model": cpu["model"],
            "CPU vector units": " ".join(cpu["vector_units"]) or "unknown",
            "torch CPU capability": torch.backends.cpu.get_cpu_capability(), "CPU cores": str(os.cpu_count()),
            "memory (GiB)": f"{memory:.0f}",
            "GPU": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU only)",
            "torch CUDA build": torch.version.cuda or "none (CPU build)"}


LIBRARIES = ("torch", "torchvision", "numpy", "pandas", "scipy", "seaborn", "matplotlib", "snakemake", "jinja2")


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """The interpreter's and the main libraries' versions ("not installed" where one is missing)."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def determinism(config: dict[str, Any] | None = None) -> dict[str, str]:
    """The numerical settings the run's jobs apply (config `deterministic`, harness.seeding), as a
    job of this run applies them on this machine, and its CPU pinning (config cpu_capability)."""
    from harness.seeding import apply_determinism

    config = config or {}
    flag = bool(config.get("deterministic", True))
    pins = pin_variables(config.get("cpu_capability"))
    return {"config deterministic": str(flag), **{k: str(v) for k, v in apply_determinism(flag).items()},
            "config cpu_capability": str(config.get("cpu_capability")),
            **{name: os.environ.get(name, "not set") for name in pins}}


def fingerprint(environment: dict[str, Any]) -> dict[str, Any]:
    """The part of a describe() record that must match for a job's outputs to be identical byte
    for byte: the code version (commit, dirty), CPU model and vector units, interpreter and
    library versions, torch's build, its chosen CPU capability, threads and determinism settings,
    GPUs, the numeric variables. Not the host's name or the interpreter's path."""
    host, torch = environment.get("host", {}), environment.get("torch") or {}
    code = environment.get("code") or {}
    return {
        "code": {"commit": code.get("commit"), "dirty": code.get("dirty")},
        "machine": host.get("machine"), "cpu_model": host.get("cpu_model"), "cpu_vendor": host.get("cpu_vendor"),
        "vector_units": host.get("cpu_vector_units"),
        "python": (environment.get("python") or {}).get("version"),
        "packages": environment.get("packages"),
        "torch": {k: v for k, v in torch.items() if k not in ("mkl",)},
        "variables": environment.get("variables"),
    }


def differences(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """The fingerprint entries that differ between two environments, as 'key: a -> b' lines
    (empty: the same environment)."""
    a, b = _flatten(fingerprint(recorded)), _flatten(fingerprint(current))
    return [f"{key}: {a.get(key)} -> {b.get(key)}" for key in sorted(a.keys() | b.keys()) if a.get(key) != b.get(key)]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


# ------------------------------------------------------------------------------ job records


def note_job(spec: dict[str, Any]) -> None:
    """Remember the job this process runs (its spec's id, stage and hash) for write_job_record."""
    global _noted
    _noted = {"job": spec.get("id"), "stage": spec.get("stage"), "hash": spec.get("hash")}


def job_record_name(job_id: str) -> str:
    """A job's record, relative to the results directory: paths.JOB_RECORD with the job id's stage
    as a folder ("score:method=spos,seed=0,space=nats-tss" -> provenance/score/method=spos,...json,
    "prepare_data:" -> provenance/prepare_data.json)."""
    stage, _, wildcards = job_id.partition(":")
    name = f"{stage}/{wildcards}" if wildcards else stage
    if not re.fullmatch(r"[\w.=,+-]+(/[\w.=,+-]+)?", name) or ".." in name:
        from harness.errors import HarnessError

        raise HarnessError(f"job id {job_id!r} cannot name a record file")
    return paths.JOB_RECORD.format(job=name)


def write_job_record(status: int) -> Path | None:
    """After a successful job (status 0) that noted its spec: write its record under
    $HARNESS_RESULTS (set by the workflow's rules and by verify); otherwise nothing."""
    results = os.environ.get(RESULTS_ENV)
    if status != 0 or _noted is None or not results:
        return None
    from harness.io import write_json

    path = Path(results) / job_record_name(_noted["job"])
    write_json({**_noted, "end_time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "environment": describe()}, path)
    return path


# ------------------------------------------------------------------------------------- lock


def lock() -> dict[str, str]:
    """Every installed Python distribution and its version (the environment's lock)."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name, dist.version)
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def torch_build() -> dict[str, Any]:
    """torch's build configuration (torch.__config__.show()) and its parallel settings, importing
    torch (the bundle wants it even from a table-only process)."""
    import torch

    return {"show": torch.__config__.show(), "parallel": torch.__config__.parallel_info(), **(torch_info() or {})}

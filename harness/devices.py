"""Which GPU a job uses when several are visible (Snakemake does not set CUDA_VISIBLE_DEVICES).

Snakemake's `resources: gpu=N` only bounds how many GPU jobs run at once; every job would still
start on cuda:0. pin_device() gives each job a GPU of its own: the job claims the first free slot
of a fixed list (GPU 0, GPU 1, ..., then a second job per GPU if HARNESS_JOBS_PER_GPU > 1) by
taking an exclusive, non-blocking fcntl.flock on the slot's lock file, and holds it for the rest
of the process's life. The kernel drops the lock when the process exits, however it exits (a
SIGKILL too), so a crashed job never leaves a GPU marked busy, and two jobs that start at the
same instant can never claim the same slot. Given the set of jobs running, the choice is
deterministic: the lowest free slot.

Nothing is pinned when the device is not CUDA, a device index is already given (cuda:1), only
one GPU is visible, or CUDA_VISIBLE_DEVICES names a single device (SLURM's --gpus=1 does that).
When every slot is taken (more GPU jobs than GPUs x HARNESS_JOBS_PER_GPU), the job shares a GPU,
chosen by its pid, and says so on stderr.

Lock files live in $HARNESS_GPU_LOCK_DIR (default: <tmp>/harness-gpu-locks-<uid>); they are named
after what CUDA_VISIBLE_DEVICES calls each GPU (a physical index or a UUID), so jobs that see
different subsets of one machine's GPUs still agree on which physical GPU a lock stands for.
"""

from __future__ import annotations

import fcntl
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from harness.errors import HarnessError

if TYPE_CHECKING:  # torch is imported where it is needed: claiming a slot does not pay for it
    import torch

LOCK_DIR_ENV = "HARNESS_GPU_LOCK_DIR"
JOBS_PER_GPU_ENV = "HARNESS_JOBS_PER_GPU"
CHOSEN_ENV = "HARNESS_GPU"  # set to the chosen device index, for the job's own records and children


@dataclass(frozen=True)
class GpuClaim:
    """The GPU a process claimed: `index` among its visible devices (torch's cuda:index)."""

    index: int
    gpu_id: str                # the GPU's name in CUDA_VISIBLE_DEVICES terms (or the index)
    slot: int                  # 0 = first job on this GPU, 1 = second, ...
    lock_path: Path | None     # None when shared (every slot was taken)

    @property
    def shared(self) -> bool:
        return self.lock_path is None


_held: list[IO[bytes]] = []        # open lock files: closing one would release its GPU
_claim: GpuClaim | None = None     # this process's claim (pin_device is idempotent)


def default_lock_dir() -> Path:
    return Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / f"harness-gpu-locks-{os.getuid()}")


def jobs_per_gpu() -> int:
    raw = os.environ.get(JOBS_PER_GPU_ENV, "1")
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise HarnessError(f"{JOBS_PER_GPU_ENV}={raw!r} must be a positive integer (jobs sharing one GPU)")
    return value


def visible_gpu_ids(count: int, env: dict[str, str] | None = None) -> list[str]:
    """What each of the `count` visible devices is called machine-wide: the entries of
    CUDA_VISIBLE_DEVICES when it is set, else "0".."count-1"."""
    env = os.environ if env is None else env
    listed = [x.strip() for x in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if x.strip()]
    if len(listed) >= count:
        return listed[:count]
    return [str(k) for k in range(count)]


def single_visible(env: dict[str, str] | None = None) -> bool:
    """True when CUDA_VISIBLE_DEVICES names exactly one device (already pinned, e.g. by SLURM)."""
    env = os.environ if env is None else env
    value = env.get("CUDA_VISIBLE_DEVICES")
    return value is not None and len([x for x in value.split(",") if x.strip()]) == 1


def _lock_name(gpu_id: str, slot: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", gpu_id)
    return f"gpu{safe}.lock" if slot == 0 else f"gpu{safe}.slot{slot}.lock"


def claim_gpu(gpu_ids: Sequence[str], *, lock_dir: str | Path | None = None,
              per_gpu: int | None = None) -> GpuClaim:
    """Claim the first free (slot, GPU) in the order GPU 0..n-1 for slot 0, then slot 1, ...

    The lock stays held until the process exits (or release_all() is called)."""
    if not gpu_ids:
        raise HarnessError("no GPU to claim: the list of visible GPUs is empty")
    lock_dir = Path(lock_dir) if lock_dir is not None else default_lock_dir()
    per_gpu = jobs_per_gpu() if per_gpu is None else per_gpu
    try:
        lock_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"cannot create the GPU lock directory {lock_dir} ({exc}); "
                           f"set {LOCK_DIR_ENV} to a writable directory") from exc
    for slot in range(per_gpu):
        for index, gpu_id in enumerate(gpu_ids):
            path = lock_dir / _lock_name(gpu_id, slot)
            handle = open(path, "a+b")  # noqa: SIM115 - kept open for the process lifetime
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            except OSError as exc:
                handle.close()
                raise HarnessError(f"cannot lock {path} ({exc}); set {LOCK_DIR_ENV} to a local directory "
                                   "that supports flock") from exc
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n".encode())
            handle.flush()
            _held.append(handle)
            return GpuClaim(index=index, gpu_id=gpu_id, slot=slot, lock_path=path)
    index = os.getpid() % len(gpu_ids)
    return GpuClaim(index=index, gpu_id=gpu_ids[index], slot=per_gpu, lock_path=None)


def release_all() -> None:
    """Drop every lock this process holds (tests; a job just exits)."""
    global _claim
    while _held:
        _held.pop().close()
    _claim = None


def pin_device(device: torch.device | str) -> torch.device:
    """The device this job should use: `device` itself, or for a bare "cuda" with several GPUs
    visible, "cuda:k" for a GPU claimed by this job (see the module doc). Idempotent."""
    import torch

    global _claim
    device = torch.device(device)
    if device.type != "cuda" or device.index is not None or single_visible():
        return device
    if _claim is None:
        count = torch.cuda.device_count()
        if count <= 1:
            return device
        _claim = claim_gpu(visible_gpu_ids(count))
        if _claim.shared:
            print(f"warning: all {count} GPU(s) x {jobs_per_gpu()} job slot(s) are taken (locks in "
                  f"{default_lock_dir()}); sharing GPU {_claim.index}. Lower Snakemake's resources: gpu "
                  f"or raise {JOBS_PER_GPU_ENV}.", file=sys.stderr)
        else:
            print(f"using GPU {_claim.index} (CUDA_VISIBLE_DEVICES entry {_claim.gpu_id}, slot "
                  f"{_claim.slot}; lock {_claim.lock_path})", file=sys.stderr)
        os.environ[CHOSEN_ENV] = str(_claim.index)
    torch.cuda.set_device(_claim.index)
    return torch.device("cuda", _claim.index)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA runs asynchronously): call before reading a clock."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def export_jobs_per_gpu(value: int | None) -> None:
    """Config `jobs_per_gpu` (profiles/gpu sets it) to the environment the workflow's jobs
    inherit, as HARNESS_JOBS_PER_GPU; None leaves the environment as it is. The Snakefile calls
    it: the count changes no result, so it travels beside the job specs, not in them."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise HarnessError(f"config jobs_per_gpu must be a positive integer or null, got {value!r}")
    os.environ[JOBS_PER_GPU_ENV] = str(value)


@dataclass(frozen=True)
class Compute:
    """How a training job computes on its device (config keys `bf16`, `channels_last`): bfloat16
    autocast around forward and loss, channels_last weights and batches. Both default off; turn
    one on only where scripts/gpu_check.py measures it faster on the GPU at hand. Both also run
    on the CPU (slowly: tests exercise them there)."""

    bf16: bool = False
    channels_last: bool = False

    @classmethod
    def from_config(cls, config: dict) -> Compute:
        return cls(bf16=bool(config.get("bf16", False)), channels_last=bool(config.get("channels_last", False)))

    def autocast(self, device: torch.device):  # noqa: ANN201 - a torch.autocast context
        import torch

        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def model(self, module: torch.nn.Module) -> torch.nn.Module:
        """The module in this memory format (in place, as Module.to is)."""
        import torch

        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        return images.contiguous(memory_format=torch.channels_last) if self.channels_last and images.dim() == 4 else images

    def describe(self) -> dict[str, bool]:
        return {"bf16": self.bf16, "channels_last": self.channels_last}

    def name(self) -> str:
        """One word for a table column: fp32, bf16, fp32+channels_last or bf16+channels_last."""
        return ("bf16" if self.bf16 else "fp32") + ("+channels_last" if self.channels_last else "")

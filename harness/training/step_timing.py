"""Per-block step times of a supernet training, the measurement behind the training speed-up's CI.

A training's total time is one number per seed: a speed-up CI from it alone is the spread of
two or three numbers. The time of each block of B consecutive steps is kept as well (train.json
`step_blocks`: {"steps": [...], "wall_s": [...], "cpu_s": [...]}), so that
harness.analysis.speedup can resample blocks within a seed as well as seeds. B is chosen from
the run's step count so that there are about 50-100 blocks (block_size).

A block's time runs from the end of the previous block (or the start of the training loop) to the
end of its last step, so it includes whatever the loop did in between (checkpoint and resume
saves): the blocks add up to the loop's time. `cpu_s` is this process's CPU seconds (all its
threads), None where not known. Blocks survive a resume: `state()` goes into resume.pt with the
time the unfinished block had taken when it was written, and `StepBlocks(..., state)` continues
from there (time between the last save and a kill is lost, as it is for train_time_s).
"""

from __future__ import annotations

import math
import time
from typing import Any

BLOCKS_TARGET = 100  # at most this many blocks; at least half as many once there are that many steps


def block_size(total_steps: int) -> int:
    """Steps per block: ceil(total / 100), so a run of >= 50 steps has 50-100 blocks."""
    return max(1, math.ceil(total_steps / BLOCKS_TARGET))


class StepBlocks:
    """Times blocks of `block_size(total_steps)` steps; `step_done(step)` after every step."""

    def __init__(self, total_steps: int, state: dict[str, Any] | None = None) -> None:
        self.total_steps, self.size = total_steps, block_size(total_steps)
        state = state or {}
        self.steps: list[int] = list(state.get("steps", []))
        self.wall_s: list[float] = list(state.get("wall_s", []))
        self.cpu_s: list[float | None] = list(state.get("cpu_s", []))
        partial = state.get("partial") or {}
        self.partial_steps = int(partial.get("steps", 0))
        self.block_wall = time.perf_counter() - float(partial.get("wall_s", 0.0))
        cpu = partial.get("cpu_s", 0.0)
        self.block_cpu = time.process_time() - (math.nan if cpu is None else float(cpu))

    def step_done(self, step: int) -> None:
        """Count one finished step (`step`: steps done so far); close the block at a multiple of
        the block size or at the last step."""
        self.partial_steps += 1
        if step % self.size == 0 or step == self.total_steps:
            wall, cpu = time.perf_counter(), time.process_time()
            self.steps.append(self.partial_steps)
            self.wall_s.append(wall - self.block_wall)
            self.cpu_s.append(_known(cpu - self.block_cpu))
            self.partial_steps, self.block_wall, self.block_cpu = 0, wall, cpu

    def record(self) -> dict[str, list]:
        """train.json's `step_blocks`: steps, wall seconds and CPU seconds (None: unknown) per block."""
        return {"steps": list(self.steps), "wall_s": list(self.wall_s), "cpu_s": list(self.cpu_s)}

    def state(self) -> dict[str, Any]:
        """What resume.pt keeps: the finished blocks and the unfinished one's time so far."""
        partial = {"steps": self.partial_steps, "wall_s": time.perf_counter() - self.block_wall,
                   "cpu_s": _known(time.process_time() - self.block_cpu)}
        return {**self.record(), "partial": partial}


def _known(seconds: float) -> float | None:
    return None if math.isnan(seconds) else seconds

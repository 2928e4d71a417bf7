"""The two things every benchmark shares: a robust timer and the figure record.

Timings on a shared 2-core machine are noisy, so every measurement warms up first, repeats,
and reports the median (time.perf_counter); the repeat count travels with the figure's note.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

# Comparison operators a goal may use, and how to test them.
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda value, target: value < target,
    "<=": lambda value, target: value <= target,
    ">": lambda value, target: value > target,
    ">=": lambda value, target: value >= target,
}


@dataclass(frozen=True)
class Timing:
    """Seconds of every repeat of one measured call (after warm-up): wall clock
    (time.perf_counter, the figure) and this process's CPU time (time.process_time, which leaves
    out the time spent waiting for a core that other processes hold: a check on a busy machine)."""

    times_s: tuple[float, ...]
    cpu_s: tuple[float, ...] = ()

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def median_cpu_s(self) -> float:
        return statistics.median(self.cpu_s) if self.cpu_s else math.nan

    @property
    def repeats(self) -> int:
        return len(self.times_s)

    def describe(self) -> str:
        low, high = min(self.times_s), max(self.times_s)
        return f"{fmt_seconds(self.median_s)}: median of {self.repeats} repeats (min {fmt_seconds(low)}, max {fmt_seconds(high)})"


def measure(fn: Callable[[], Any], *, repeats: int, warmup: int = 1) -> Timing:
    """Call `fn` `warmup` times untimed, then `repeats` times timed one call each."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    wall, cpu = zip(*(timed(fn) for _ in range(repeats)))
    return Timing(tuple(wall), tuple(cpu))


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one call."""
    wall_start, cpu_start = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall_start, time.process_time() - cpu_start


def measure_interleaved(fns: dict[str, Callable[[], Any]], *, repeats: int, warmup: int = 1) -> dict[str, Timing]:
    """Time several calls round-robin (A B A B ..., order alternating every round), so a burst of
    load from other processes hits all of them alike; a ratio of their medians is then fair."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for round_ in range(repeats):
        for name in names if round_ % 2 == 0 else reversed(names):
            wall, cpu_s = timed(fns[name])
            times[name].append(wall)
            cpu[name].append(cpu_s)
    return {name: Timing(tuple(times[name]), tuple(cpu[name])) for name in fns}


def paired_ratio(numerator: Timing, denominator: Timing, cpu: bool = False) -> float:
    """Median over rounds of numerator/denominator from the same round of measure_interleaved:
    a load burst that slows one round slows both sides of its ratio."""
    a, b = (numerator.cpu_s, denominator.cpu_s) if cpu else (numerator.times_s, denominator.times_s)
    return statistics.median(x / y for x, y in zip(a, b))


@dataclass(frozen=True)
class Goal:
    """`value <op> target`, e.g. Goal("<", 10.0) for "under 10 (in the figure's unit)"."""

    op: str
    target: float

    def __post_init__(self) -> None:
        if self.op not in _COMPARE:
            raise ValueError(f"unknown goal operator {self.op!r}; use one of {', '.join(_COMPARE)}")

    def met_by(self, value: float) -> bool | None:
        """True/False, or None when the value could not be measured (NaN)."""
        if value is None or math.isnan(value):
            return None
        return _COMPARE[self.op](value, self.target)

    def __str__(self) -> str:
        return f"{self.op} {fmt_number(self.target)}"


@dataclass(frozen=True)
class Figure:
    """One reported number. `passed` is None for a figure without a goal or one not measured
    (value NaN); `note` says how it was measured (repeats, extrapolation, data) or why not."""

    name: str
    value: float
    unit: str
    goal: Goal | None = None
    note: str = ""
    passed: bool | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "passed", None if self.goal is None else self.goal.met_by(self.value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: NaN becomes null (JSON has no NaN)."""
        return {
            "name": self.name,
            "value": None if math.isnan(self.value) else self.value,
            "unit": self.unit,
            "goal": None if self.goal is None else {"op": self.goal.op, "target": self.goal.target},
            "passed": self.passed,
            "note": self.note,
        }

    def line(self) -> str:
        """One printable line: name, value, goal and verdict."""
        verdict = {True: "PASS", False: "FAIL", None: "----"}[self.passed]
        goal = f"goal {self.goal} {self.unit}".rstrip() if self.goal else "(no goal)"
        value = "n/a" if math.isnan(self.value) else f"{fmt_number(self.value)} {self.unit}".rstrip()
        return f"[{verdict}] {self.name}: {value}   {goal}"


def fmt_number(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4g}"


def fmt_seconds(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def machine_info() -> dict[str, Any]:
    """What the figures depend on: cores, threads, versions, load at the time."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor(),
        "cuda_available": torch.cuda.is_available(),
        "cuda_device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "load_average_1_5_15_min": list(load),
    }

#!/usr/bin/env python3
"""`make gpu-check`: everything a GPU machine must verify, each figure beside its goal, in under
9 minutes on one GPU.

    make gpu-check                          # on a GPU machine (scripts/gpu_session.sh: offline ones)
    make gpu-check DEVICE=cpu               # every step on the CPU at tiny sizes (the test suite's run)
    python3 scripts/gpu_tier.py --help      # the options GPU_CHECK_ARGS can pass

Steps, in order (each one's output is streamed; the summary at the end repeats every figure):
  1. gpu_check      scripts/gpu_check.py --bf16 --channels-last: pinning, batches on the device,
                    end-to-end vs bare-step images/s (goal >= 0.80), the cost of determinism, which
                    of bf16 / channels_last to use, scoring, determinism in one process
  2. benchmark      python -m benchmarks gpu: BN-only vs all-weights step at paper size (goal <= 0.8x)
                    with the per-kernel profile
  3. run            snakemake --profile profiles/gpu --configfile config/gpu.yaml, timed (goal <= 6
                    min), the GPU's mean utilisation sampled with nvidia-smi every 0.5 s (goal >= 60%),
                    then job-seconds per rule and unit costs (what config/gpu.yaml was sized from)
  4. determinism    the run's SPOS supernet (nats-tss, seed 0) trained again in a new process from its
                    planned spec: every checkpoint bitwise equal to the run's (goal: equal)
  5. verdicts       the run's headline verdicts (report/verdicts.csv rows whose `headline` is true;
                    without that column, the first row of each claim): claim, verdict, estimate, CI

With DEVICE=cpu: gpu_check --device cpu --small, the benchmark's --tiny sizes, and config/gpu.yaml
with config/gpu-tiny.yaml on the CPU (2 cores); no goal on time or utilisation is judged there.
Exit status 1 when a step fails (a command's error, a failed check, unequal checkpoints); a
missed performance goal is reported, not an error. A summary is written to
<results>/gpu-check/summary.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import paths  # noqa: E402 - after the checkout is importable
RUN_GOAL_S = 360.0
UTILISATION_GOAL = 60.0
TOTAL_GOAL_S = 540.0
DETERMINISM_JOB = "train_supernet:method=spos,seed=0,space=nats-tss"


@dataclass
class Line:
    """One figure of the summary: value beside goal; passed None = not judged here."""

    name: str
    value: str
    goal: str = ""
    passed: bool | None = None

    def text(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "----"}[self.passed]
        return f"[{verdict}] {self.name}: {self.value}" + (f"   goal {self.goal}" if self.goal else "")


@dataclass
class Summary:
    lines: list[Line] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: str, goal: str = "", passed: bool | None = None) -> None:
        line = Line(name, value, goal, passed)
        self.lines.append(line)
        print(line.text(), flush=True)


def banner(text: str) -> None:
    print(f"\n== {text}", flush=True)


def child_env() -> dict[str, str]:
    """The environment of every command: this checkout first on PYTHONPATH (kept: .gpu-site)."""
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": str(ROOT) + (os.pathsep + path if path else "")}


def stream(command: list[str], *, cwd: Path = ROOT, log: Path | None = None, echo: bool = True) -> tuple[int, str]:
    """Run `command`, printing its output as it comes (and/or writing it to `log`); (status, output)."""
    print("$ " + shlex.join(command), flush=True)
    lines = []
    with subprocess.Popen(command, cwd=cwd, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as process:
        assert process.stdout is not None
        sink = open(log, "w") if log else None  # noqa: SIM115 - closed below
        try:
            for line in process.stdout:
                lines.append(line)
                if sink:
                    sink.write(line)
                if echo and not line.startswith(("USDT:", "ERROR:20")):  # the profiler's chatter
                    print("   " + line, end="", flush=True)
        finally:
            if sink:
                sink.close()
        status = process.wait()
    return status, "".join(lines)


# --------------------------------------------------------------------------- configuration

def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Snakemake's merge of config files: mappings key by key, everything else replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def config_files(tiny: bool) -> list[Path]:
    return [ROOT / "config" / "gpu.yaml"] + ([ROOT / "config" / "gpu-tiny.yaml"] if tiny else [])


def run_config(tiny: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    """The run's config as Snakemake will see it (config.yaml, the config files, --config)."""
    from harness.workflow.config import validate_config

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    for path in config_files(tiny):
        config = deep_merge(config, yaml.safe_load(path.read_text()))
    return validate_config(deep_merge(config, overrides))


# --------------------------------------------------------------------------- steps

def step_gpu_check(args: argparse.Namespace, summary: Summary) -> None:
    banner("1. gpu_check")
    command = [sys.executable, "scripts/gpu_check.py", "--bf16", "--channels-last", "--threads", str(args.threads)]
    if args.device == "cpu":
        command += ["--device", "cpu", "--small"]
    status, output = stream(command)
    checks = [line for line in output.splitlines() if line.startswith(("[ok]", "[FAIL]"))]
    failed = [line for line in checks if line.startswith("[FAIL]")]
    for line in checks:
        if "end to end vs bare" in line or "determinism cost" in line or line.startswith("[FAIL]"):
            summary.add("gpu_check " + line.split("]", 1)[1].split(":", 1)[0].strip(), line.split(":", 1)[1].strip())
    use = output.split("use (config keys", 1)[1].splitlines()[1:] if "use (config keys" in output else []
    for line in use:
        if line.startswith("  "):
            summary.add("use", line.strip())
    summary.add("gpu_check checks", f"{len(checks) - len(failed)} of {len(checks)} passed", "all",
                status == 0 and not failed and bool(checks))
    summary.record["gpu_check"] = {"status": status, "checks": checks}
    if status != 0:
        summary.errors.append(f"gpu_check exited with status {status}")


def step_benchmark(args: argparse.Namespace, summary: Summary, work: Path) -> None:
    banner("2. GPU benchmark")
    output = work / "benchmarks.json"
    command = [sys.executable, "-m", "benchmarks", "gpu", "--output", str(output), "--threads", str(args.threads)]
    if args.device == "cpu":
        command.append("--tiny")
    status, _ = stream(command)
    if status != 0 or not output.is_file():
        summary.errors.append(f"the GPU benchmark exited with status {status}")
        return
    figures = json.loads(output.read_text())["groups"]["gpu"]["figures"]
    for figure in figures:
        goal = figure["goal"]
        value = "n/a" if figure["value"] is None else f"{figure['value']:.4g} {figure['unit']}"
        summary.add(figure["name"], value, f"{goal['op']} {goal['target']:g} {figure['unit']}" if goal else "",
                    figure["passed"])
    summary.record["benchmark"] = figures


class UtilisationSampler:
    """nvidia-smi's GPU utilisation (%), sampled every 0.5 s in the background while the run lasts."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.process: subprocess.Popen[str] | None = None
        self.thread: threading.Thread | None = None
        self.note = ""

    def start(self) -> None:
        try:
            self.process = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits", "-lms", "500"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        except OSError as exc:
            self.note = f"not sampled: nvidia-smi is not available ({exc.strerror})"
            return
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            values = [float(v) for v in line.strip().split(",") if v.strip().replace(".", "", 1).isdigit()]
            if values:
                self.samples.append(statistics.mean(values))  # several GPUs: their mean

    def stop(self) -> float | None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if self.thread is not None:
            self.thread.join(timeout=10)
        if self.process is not None and not self.samples:
            self.note = "not sampled: nvidia-smi printed no utilisation"
        return statistics.mean(self.samples) if self.samples else None


def step_run(args: argparse.Namespace, summary: Summary, results: Path, overrides: dict[str, Any],
             work: Path) -> None:
    banner("3. config/gpu.yaml run")
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
               "--profile", str(ROOT / "profiles" / "gpu"), "--configfile", *map(str, config_files(args.tiny))]
    if overrides:
        command += ["--config", *[f"{key}={value}" for key, value in overrides.items()]]
    if args.device == "cpu":
        command += ["--cores", str(args.cores)]
    command += shlex.split(args.snakemake_args)
    sampler = UtilisationSampler()
    sampler.start()
    started = time.perf_counter()
    status, output = stream(command, cwd=args.workdir, log=work / "snakemake.log", echo=False)
    wall = time.perf_counter() - started
    utilisation = sampler.stop()
    if status != 0:
        print("".join(output.splitlines(keepends=True)[-60:]), flush=True)
        summary.errors.append(f"the config/gpu.yaml run exited with status {status} (log: {work / 'snakemake.log'})")
    on_gpu = args.device != "cpu"
    summary.add("config/gpu.yaml run wall time", f"{wall:.0f} s ({wall / 60:.1f} min)",
                f"<= {RUN_GOAL_S:.0f} s" if on_gpu else "", (wall <= RUN_GOAL_S) if on_gpu and status == 0 else None)
    summary.add("mean GPU utilisation over the run",
                f"{utilisation:.0f}% ({len(sampler.samples)} samples)" if utilisation is not None else sampler.note,
                f">= {UTILISATION_GOAL:.0f}%" if on_gpu else "",
                (utilisation >= UTILISATION_GOAL) if on_gpu and utilisation is not None else None)
    summary.record["run"] = {"status": status, "wall_s": wall, "utilisation_percent": utilisation,
                             "utilisation_samples": len(sampler.samples), "command": command}
    job_seconds(results, summary)
    unit_costs(results, summary)


def job_seconds(results: Path, summary: Summary) -> None:
    """Seconds per rule summed over its jobs, from Snakemake's benchmark files."""
    totals: dict[str, list[float]] = defaultdict(list)
    for tsv in sorted((results / "benchmarks").rglob("*.tsv")):
        rule = tsv.stem  # benchmarks/<space>/.../<rule>.tsv, but shard<N>.tsv and correlate-<truth>.tsv
        rule = "retrain_shard" if re.fullmatch(r"shard\d+", rule) else rule.split("-", 1)[0]
        with tsv.open() as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if rows and rows[0].get("s"):
            totals[rule].append(float(rows[0]["s"]))
    if not totals:
        summary.add("job-seconds by rule", "no benchmark files found")
        return
    parts = ", ".join(f"{rule} {len(v)} jobs {sum(v):.0f} s (max {max(v):.0f})"
                      for rule, v in sorted(totals.items(), key=lambda kv: -sum(kv[1])))
    summary.add("job-seconds by rule", f"{sum(sum(v) for v in totals.values()):.0f} s in all: {parts}")
    summary.record["job_seconds"] = {rule: v for rule, v in totals.items()}


def unit_costs(results: Path, summary: Summary) -> None:
    """What config/gpu.yaml's sizing assumed, as this run measured it."""
    steps: dict[str, list[float]] = defaultdict(list)
    for record_path in results.glob(paths.TRAIN_RECORD.format(space="*", method="*", seed="*")):
        record = json.loads(record_path.read_text())
        space = record["space"]
        trainable = record["method"].get("trainable", "all")
        images = record["steps"] * record["paths_per_step"]
        if images:
            steps[f"{space} {'BN-only' if trainable != 'all' else 'all weights'}"].append(
                1e3 * record["train_time_s"] / images)
    retrain: dict[str, list[float]] = defaultdict(list)
    for shard in results.glob(paths.GT_SHARD.format(space="*", shard="*")):
        with shard.open() as handle:
            for row in csv.DictReader(handle):
                retrain[shard.parts[-3]].append(float(row["train_time_s"]) + float(row["eval_time_s"]))
    scoring: dict[str, list[float]] = defaultdict(list)
    for record_path in results.glob(paths.SCORING_RECORD.format(space="*", method="*", seed="*")):
        record = json.loads(record_path.read_text())
        if "time_per_arch_s" in record and record.get("method", {}).get("scorer") == "validation_accuracy":
            scoring[record_path.parts[-4]].append(record["time_per_arch_s"])
    parts = [f"supernet {k} {statistics.median(v):.1f} ms per path-batch" for k, v in sorted(steps.items())]
    parts += [f"retraining {k} {statistics.median(v):.2f} s per arch" for k, v in sorted(retrain.items())]
    parts += [f"SPOS scoring {k} {statistics.median(v):.3f} s per arch" for k, v in sorted(scoring.items())]
    note = " (supernets: train.json's loop time per path-batch, checkpoint writes included: they dominate very short runs)"
    summary.add("unit costs (medians)", "; ".join(parts) + note if parts else "no records found")


def step_determinism(args: argparse.Namespace, summary: Summary, results: Path, work: Path) -> None:
    banner("4. determinism: the run's SPOS supernet trained again")
    plan_path, data = results / "plan.json", results / paths.DATASET
    if not plan_path.is_file() or not data.is_file():
        summary.add("determinism", f"not checked: {plan_path} or {data} is missing (the run did not get that far)",
                    "bitwise equal checkpoints", False)
        summary.errors.append("determinism not checked")
        return
    spec = json.loads(plan_path.read_text()).get(DETERMINISM_JOB)
    if spec is None:
        summary.add("determinism", f"not checked: the plan has no job {DETERMINISM_JOB}", "bitwise equal checkpoints",
                    False)
        summary.errors.append("determinism not checked")
        return
    original = results / paths.SUPERNET_DIR.format(space="nats-tss", method="spos", seed=0)
    again = work / "determinism"
    command = [sys.executable, "-m", "harness", "train-supernet", "--spec", json.dumps(spec), "--data", str(data),
               "--outdir", str(again), "--no-progress"]
    status, _ = stream(command)
    import torch

    checkpoints = sorted(original.glob("ckpt*.pt"))
    differing = []
    for path in checkpoints:
        a = torch.load(path, weights_only=True, map_location="cpu")
        other = again / path.name
        b = torch.load(other, weights_only=True, map_location="cpu") if other.is_file() else None
        if b is None or a.keys() != b.keys() or not all(torch.equal(a[k], b[k]) for k in a):
            differing.append(path.name)
    same = status == 0 and bool(checkpoints) and not differing
    summary.add("determinism: the run's nats-tss/spos/seed0 supernet retrained in a new process",
                f"{len(checkpoints) - len(differing)} of {len(checkpoints)} checkpoints bitwise equal"
                + (f" (differ: {', '.join(differing)})" if differing else ""), "all equal", same)
    if not same:
        summary.errors.append("determinism: checkpoints differ" if status == 0 else "determinism: training failed")


def step_verdicts(summary: Summary, results: Path) -> None:
    banner("5. headline verdicts")
    path = results / "report" / "verdicts.csv"
    if not path.is_file():
        summary.add("headline verdicts", f"{path} is missing (the run did not reach the report)")
        return
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    if rows and "headline" in rows[0]:
        chosen = [row for row in rows if row["headline"].strip().lower() in ("true", "1", "yes")]
        how = "rows with headline = true"
    else:
        seen: set[str] = set()
        chosen = []
        for row in rows:
            if row["claim"] not in seen:
                seen.add(row["claim"])
                chosen.append(row)
        how = "no `headline` column: the first row of each claim"
    print(f"({how}; {path})")
    for row in chosen:
        estimate = row.get("estimate") or row.get("measured") or ""
        summary.add(f"verdict: {row['claim']}", f"{row['verdict']} (estimate {_short(estimate)}{_short_ci(row)}"
                    f"{'; ' + row['scope'] if row.get('scope') else ''})")
    decided = [row for row in chosen if row["verdict"] in ("confirmed", "refuted")]
    summary.add("headline claims decided", f"{len(decided)} of {len(chosen)}")
    summary.record["verdicts"] = chosen


def _short(value: str) -> str:
    try:
        return f"{float(value):.3g}"
    except ValueError:
        return value


def _short_ci(row: dict[str, str]) -> str:
    if not row.get("ci_low"):
        return ""
    return f", CI [{_short(row['ci_low'])}, {_short(row.get('ci_high', ''))}]"


# --------------------------------------------------------------------------- main

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                        help="cpu: every step at tiny sizes on the CPU (config/gpu-tiny.yaml)")
    parser.add_argument("--tiny", action="store_true", help="config/gpu-tiny.yaml on top of config/gpu.yaml "
                                                            "(implied by --device cpu)")
    parser.add_argument("--results", type=Path, default=None, help="the run's results_dir (default: the config's)")
    parser.add_argument("--workdir", type=Path, default=ROOT, help="where Snakemake runs (default: this checkout)")
    parser.add_argument("--cores", type=int, default=2, help="Snakemake cores on the CPU (the profile's 16 on a GPU)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of gpu_check and the benchmark")
    parser.add_argument("--snakemake-args", default="", help='more Snakemake arguments, e.g. "--scheduler greedy"')
    parser.add_argument("--skip", nargs="*", default=[], choices=["gpu_check", "benchmark", "run", "determinism", "verdicts"],
                        help="steps to leave out")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.tiny = args.tiny or args.device == "cpu"
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            print("no GPU: torch sees no usable CUDA device. `make gpu-check DEVICE=cpu` runs every step on the CPU "
                  "at tiny sizes.")
            return 0
    overrides: dict[str, Any] = {}
    if args.device == "cpu":
        overrides["device"] = "cpu"
    if args.results is not None:
        overrides.update({"device": args.device, "results_dir": str(args.results)})
    config = run_config(args.tiny, overrides)
    results = Path(config["results_dir"])
    results = results if results.is_absolute() else args.workdir / results
    work = results / "gpu-check"
    work.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        if "gpu_check" not in args.skip:
            step_gpu_check(args, summary)
        if "benchmark" not in args.skip:
            step_benchmark(args, summary, work)
        if "run" not in args.skip:
            step_run(args, summary, results, overrides, work)
        if "determinism" not in args.skip:
            step_determinism(args, summary, results, Path(tmp))
        if "verdicts" not in args.skip:
            step_verdicts(summary, results)
    total = time.perf_counter() - started
    on_gpu = args.device != "cpu"
    summary.add("make gpu-check total", f"{total:.0f} s ({total / 60:.1f} min)", f"<= {TOTAL_GOAL_S:.0f} s" if on_gpu else "",
                (total <= TOTAL_GOAL_S) if on_gpu else None)
    banner(f"summary ({'GPU' if on_gpu else 'CPU, tiny sizes: no performance goal judged'})")
    for line in summary.lines:
        print(line.text())
    for error in summary.errors:
        print(f"ERROR: {error}")
    (work / "summary.json").write_text(json.dumps(
        {"device": args.device, "tiny": args.tiny, "total_s": total, "errors": summary.errors,
         "lines": [line.__dict__ for line in summary.lines], **summary.record}, indent=1, default=str))
    print(f"written to {work / 'summary.json'}")
    return 1 if summary.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())

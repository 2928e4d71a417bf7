"""Pipeline: what a finished default run (`snakemake --cores 2`) cost, from the files it left.

Sources, all written by the run itself:
  .snakemake/log/*.snakemake.log   Snakemake's own log: the command, every job's start and end
                                   (1 s resolution) and the run's "Elapsed time"
  {results}/benchmarks/**/*.tsv    the rules' `benchmark:` records: `s` = job wall time,
                                   `max_rss` = peak resident memory (MB)
  train.json / scoring.json / groundtruth shard CSVs   the time spent training and scoring
                                   inside the jobs
  correlations/*.csv.json          the time the correlate jobs spent on the statistics
                                   (everything else is overhead)

The default run is the latest complete Snakemake log that ran every job from run_config on, whose
run_config.json equals config/config.yaml apart from results_dir (failing that, the latest that
read config/config.yaml alone, flagged with the keys in which the config has changed since). The fixed cost of one job is
also measured directly: `python -m harness --help` start-up and `import torch`.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

import harness.paths as P
from benchmarks.core import Figure, Goal, fmt_seconds, measure
from benchmarks.fixtures import REPO_ROOT, default_config
from harness.workflow.config import validate_config
from harness.io import read_json
from harness.workflow.plan import SCORE_GROUPS, stage_of_rule

NAME = "pipeline"
DESCRIPTION = "pipeline: default run's wall time, overhead share, peak memory; per-job start-up"

HOW_TO_PRODUCE = "produce one with `snakemake --cores 2` (writes results/), then rerun `python -m benchmarks pipeline`"


@dataclass(frozen=True)
class Sizes:
    repo_root: Path           # where .snakemake/log and the run's results are looked for
    startup_repeats: int


FULL = Sizes(repo_root=REPO_ROOT, startup_repeats=3)
TINY = Sizes(repo_root=REPO_ROOT, startup_repeats=1)


# --------------------------------------------------------------------------- Snakemake's log

@dataclass
class Job:
    rule: str
    jobid: int
    start: datetime
    end: datetime | None = None
    outputs: list[str] = field(default_factory=list)
    benchmark: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.end is None else (self.end - self.start).total_seconds()


@dataclass
class SnakemakeLog:
    path: Path
    command: str = ""
    started: datetime | None = None
    workdir: Path | None = None
    elapsed_s: float | None = None
    complete: bool = False
    jobs: list[Job] = field(default_factory=list)

    def job(self, rule: str) -> Job | None:
        return next((j for j in self.jobs if j.rule == rule), None)


_STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
_RULE = re.compile(r"^(?:local)?rule (\w+):$")
_FINISHED = re.compile(r"^Finished jobid: (\d+) \(Rule: (\w+)\)")
_ELAPSED = re.compile(r"^Elapsed time: (?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)")
_DONE = re.compile(r"^(\d+) of (\d+) steps \(100%\) done")


def parse_log(path: Path) -> SnakemakeLog:
    """Jobs, command and elapsed time of one Snakemake log (its plain-text format, 8.x/9.x)."""
    log = SnakemakeLog(path)
    stamp: datetime | None = None
    current: Job | None = None
    by_id: dict[int, Job] = {}
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.strip()
        if m := _STAMP.match(line):
            stamp = datetime.strptime(" ".join(m.group(1).split()), "%a %b %d %H:%M:%S %Y")
        elif (m := _RULE.match(line)) and stamp is not None:
            current = Job(rule=m.group(1), jobid=-1, start=stamp)
            log.jobs.append(current)
        elif current is not None and line.startswith("output:"):
            current.outputs = [o.strip() for o in line[len("output:"):].split(",")]
        elif current is not None and line.startswith("benchmark:"):
            current.benchmark = line[len("benchmark:"):].strip()
        elif current is not None and line.startswith("jobid:"):
            current.jobid = int(line.split(":")[1])
            by_id[current.jobid] = current
        elif (m := _FINISHED.match(line)) and stamp is not None and int(m.group(1)) in by_id:
            by_id[int(m.group(1))].end = stamp
        elif line.startswith("Command:"):
            log.command = line[len("Command:"):].strip()
        elif line.startswith("Date:"):
            log.started = datetime.strptime(line[len("Date:"):].strip(), "%Y-%m-%d %H:%M:%S")
        elif line.startswith("Working directory:"):
            log.workdir = Path(line[len("Working directory:"):].strip())
        elif m := _ELAPSED.match(line):
            days, h, mi, s = m.groups()
            log.elapsed_s = int(days or 0) * 86400 + int(h) * 3600 + int(mi) * 60 + float(s)
        elif _DONE.match(line):
            log.complete = True
    return log


def results_dir_of(log: SnakemakeLog) -> Path | None:
    """The results directory of a log's run: the folder of the plan job's first output,
    run_config.json (the rule was called run_config before the plan)."""
    job = log.job("plan") or log.job("run_config")
    if job is None or not job.outputs:
        return None
    path = Path(job.outputs[0])
    return (path if path.is_absolute() else (log.workdir or Path.cwd()) / path).parent


def config_differences(results: Path) -> list[str] | None:
    """Top-level keys in which the run's config differs from config/config.yaml now (results_dir
    aside); None when the run's config cannot be read or validated."""
    try:
        run = validate_config(read_json(results / P.RUN_CONFIG))
    except Exception:  # missing, unreadable or rejected by the current schema: not comparable
        return None
    default = default_config()
    return sorted(k for k in set(run) | set(default) if k != "results_dir" and run.get(k) != default.get(k))


def uses_default_config_file(log: SnakemakeLog) -> bool:
    """The run read config/config.yaml only (no --configfile); --config overrides are checked by
    comparing run_config.json."""
    return "--configfile" not in log.command and "--configfiles" not in log.command


@dataclass(frozen=True)
class DefaultRun:
    log: SnakemakeLog
    results: Path
    differences: list[str]  # config keys that differ from config/config.yaml as it is now


def find_default_run(repo_root: Path) -> DefaultRun | None:
    """The latest complete, from-scratch Snakemake run of the default config: one whose config
    equals config/config.yaml now, else (the config has changed since) the latest one that read
    config/config.yaml alone, with the keys that differ."""
    candidates = []
    for path in sorted((repo_root / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True):
        log = parse_log(path)
        results = results_dir_of(log)
        if not (log.complete and log.elapsed_s is not None and results is not None and uses_default_config_file(log)):
            continue
        differences = config_differences(results)
        if differences == []:
            return DefaultRun(log, results, [])
        if differences is not None:
            candidates.append(DefaultRun(log, results, differences))
    return candidates[0] if candidates else None


# --------------------------------------------------------------------------- files of the run

def _glob(results: Path, pattern: str) -> list[Path]:
    return sorted(results.glob(re.sub(r"\{[^}]+\}", "*", pattern)))


def read_benchmark_tsvs(results: Path) -> pd.DataFrame:
    """Every `benchmark:` TSV of the run, one row per job, with its path relative to benchmarks/."""
    frames = []
    for path in sorted((results / "benchmarks").rglob("*.tsv")):
        frame = pd.read_csv(path, sep="\t")
        frame["job"] = str(path.relative_to(results / "benchmarks").with_suffix(""))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["s", "max_rss", "job"])


def work_seconds(results: Path) -> dict[str, float]:
    """Seconds spent training, scoring or evaluating inside the jobs, by stage (rule_stage), from
    the run's own records (retraining counts its test-set evaluation: that is the ground truth
    being measured; scoring counts every run's sample and all-architectures scoring, whichever
    job scored it)."""
    train = sum(read_json(p)["train_time_s"] for p in _glob(results, P.TRAIN_RECORD))
    score = sum(_scoring_seconds(p) for p in _glob(results, P.SCORING_RECORD))
    # every architecture scored at the final checkpoint only
    score += sum(read_json(p).get("score_time_s", 0.0) for p in _glob(results, P.ALL_SCORING_RECORD))
    searches = [read_json(p) for p in _glob(results, P.SEARCH)]
    return {
        "train_supernet": train,
        "scoring": score,
        "retrain_shard": sum(_csv_seconds(p) for p in _glob(results, P.GT_SHARD)),
        "search": sum(record[key]["wall_time_s"] for record in searches for key in ("evolution", "random") if key in record),
        "final": sum(_csv_seconds(p) for p in _glob(results, P.FINAL)),
    }


SCORING_RULES = ("score", "score_all_archs", *SCORE_GROUPS)


def rule_stage(rule: str) -> str:
    """The stage a Snakemake rule's jobs count under: every scoring rule (score, score_all_archs,
    the grouped score_free_<space> and score_bn_<space>) is "scoring"; any other rule is itself."""
    stage = stage_of_rule(rule)
    return "scoring" if stage in SCORING_RULES else stage


def _scoring_seconds(path: Path) -> float:
    """A score job's scoring time over all its checkpoints: recorded as such, or (older runs,
    whose scoring.json timed the final checkpoint only) that time x the checkpoints in train.json."""
    record = read_json(path)
    if "all_checkpoints_score_time_s" in record:
        return float(record["all_checkpoints_score_time_s"])
    train_record = path.parent / "supernet" / P.TRAIN_RECORD_NAME
    checkpoints = len(read_json(train_record)["checkpoints"]) if train_record.exists() else 1
    return float(record["score_time_s"]) * checkpoints


def _csv_seconds(path: Path) -> float:
    """Training + test evaluation of the retrained networks in one CSV: measuring the ground truth
    is the job's work, as scoring is a supernet method's (older runs recorded training only)."""
    frame = pd.read_csv(path)
    return float(sum(frame[column].sum() for column in ("train_time_s", "eval_time_s") if column in frame))


# --------------------------------------------------------------------------- figures

def startup_times(repeats: int) -> dict[str, Any]:
    """Median seconds of a fresh `python -m harness --help`, `import torch` and a bare interpreter,
    run as the workflow's jobs run them (this checkout on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}

    def run(*args: str) -> None:
        subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, check=True, capture_output=True)

    warmup = 1 if repeats > 1 else 0
    return {"harness": measure(lambda: run("-m", "harness", "--help"), repeats=repeats, warmup=warmup),
            "torch": measure(lambda: run("-c", "import torch"), repeats=repeats, warmup=warmup),
            "python": measure(lambda: run("-c", "pass"), repeats=repeats, warmup=warmup)}


FIRST_OPTIMIZER = ("import time, torch; start = time.perf_counter(); "
                   "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1); print(time.perf_counter() - start)")


def first_optimizer_times(repeats: int) -> list[float]:
    """Seconds the first torch.optim optimizer of a fresh process takes to construct: torch.optim
    imports torch._dynamo lazily on first use (torch._disable_dynamo), a fixed cost of every job
    that trains (train-supernet, retrain), timed inside the process."""
    out = [subprocess.run([sys.executable, "-c", FIRST_OPTIMIZER], check=True, capture_output=True, text=True).stdout
           for _ in range(repeats)]
    return [float(text.strip().splitlines()[-1]) for text in out]


def run(sizes: Sizes) -> list[Figure]:
    startup = startup_times(sizes.startup_repeats)
    optimizer_s = first_optimizer_times(sizes.startup_repeats)
    found = find_default_run(sizes.repo_root)
    figures = run_figures(found, startup["harness"].median_s)
    figures += [
        Figure("fixed cost per job: `python -m harness --help` start-up", startup["harness"].median_s, "s", None,
               f"fresh interpreter each time, {startup['harness'].describe()}; bare `python -c pass` "
               f"{fmt_seconds(startup['python'].median_s)}"),
        Figure("fixed cost per job: `import torch`", startup["torch"].median_s, "s", None,
               f"fresh interpreter each time, {startup['torch'].describe()}"),
        Figure("fixed cost per training job: first torch.optim optimizer (imports torch._dynamo)",
               statistics.median(optimizer_s), "s", None,
               f"timed inside a fresh interpreter after `import torch`, median of {len(optimizer_s)} "
               f"({', '.join(f'{t:.2f}' for t in optimizer_s)} s); every train-supernet and retrain job pays it once"),
    ]
    return figures


def analysis_seconds(results: Path) -> float:
    """Seconds the correlate jobs spent on the statistics (bootstrap CIs), from their records:
    the measurement the run exists for, counted apart from both work and overhead."""
    return sum(read_json(p)["analysis_time_s"] for p in _glob(results, P.CORRELATION_RECORD))


def run_figures(found: DefaultRun | None, startup_s: float) -> list[Figure]:
    names = ("default run wall time (snakemake --cores 2)",
             "default run: share of job time that is overhead (start-up, I/O, orchestration)",
             "default run: share of job time not training, scoring or evaluating networks (statistics included)",
             "default run: peak memory of any job (max_rss)")
    goals = (Goal("<=", 30.0), Goal("<", 5.0), None, Goal("<", 4096.0))
    units = ("min", "%", "%", "MB")
    if found is None:
        note = f"no finished default run found (.snakemake/log + results/): {HOW_TO_PRODUCE}"
        return [Figure(n, float("nan"), u, g, note) for n, g, u in zip(names, goals, units)]
    log, results = found.log, found.results
    tsvs = read_benchmark_tsvs(results)
    work = work_seconds(results)
    analysis = analysis_seconds(results)
    job_s = _job_seconds(log, results, tsvs)
    total_job_s = sum(job_s.values())
    total_work = sum(work.values())
    first_start = min(j.start for j in log.jobs)
    # Snakemake's own start-up (parsing, DAG) before the first job is overhead too.
    snakemake_s = max(0.0, (first_start - log.started).total_seconds()) if log.started else 0.0
    total_s = total_job_s + snakemake_s
    overhead = 100.0 * (total_s - total_work - analysis) / total_s if total_s else float("nan")
    not_work = 100.0 * (total_s - total_work) / total_s if total_s else float("nan")
    inside = {**work, "correlate": analysis}  # per stage: the seconds of its jobs that are not overhead
    per_stage = ", ".join(
        f"{stage} {job_s[stage]:.0f} s (work {inside.get(stage, 0.0):.0f} s)" for stage in sorted(job_s, key=job_s.get, reverse=True))
    n_jobs = sum(1 for j in log.jobs if j.rule != "all")
    peak = tsvs.loc[tsvs["max_rss"].idxmax()] if len(tsvs) else None
    source = f"{log.path.name} ({log.command}), results in {results}"
    if found.differences:
        source += (f"; CAUTION: config/config.yaml has changed since this run (keys {', '.join(found.differences)} "
                   f"differ): rerun `snakemake --cores 2` to measure the current default")
    sources = ("job seconds from the benchmark TSVs' `s` (from the log's timestamps for rules without one); "
               "training/scoring/evaluating from train.json, scoring.json and all_scoring.json, search.json and the "
               "retraining CSVs' train_time_s + eval_time_s; statistics from the correlate jobs' records")
    return [
        Figure(names[0], log.elapsed_s / 60, "min", goals[0],
               f"'Elapsed time' of {source}; first job started {first_start:%H:%M:%S}, {n_jobs} jobs"),
        Figure(names[1], overhead, "%", goals[1],
               f"(job seconds + Snakemake start-up - training/scoring/evaluating - statistics) / (job seconds + "
               f"start-up) = ({total_job_s:.0f} + {snakemake_s:.0f} - {total_work:.0f} - {analysis:.0f}) / {total_s:.0f}; "
               f"{sources}. Per stage (every scoring rule counts as 'scoring'; correlate's work is its statistics): "
               f"{per_stage}. Start-up alone: {n_jobs} jobs x {startup_s:.1f} s (`python -m harness --help` now) = "
               f"{n_jobs * startup_s:.0f} s"),
        Figure(names[2], not_work, "%", goals[2],
               f"as above with the correlate jobs' statistics ({analysis:.0f} s) counted as overhead: "
               f"({total_s:.0f} - {total_work:.0f}) / {total_s:.0f}"),
        Figure(names[3], float("nan") if peak is None else float(peak["max_rss"]), "MB", goals[3],
               "no benchmark TSVs" if peak is None else f"job {peak['job']} (max over {len(tsvs)} benchmark TSVs)"),
    ]


def _job_seconds(log: SnakemakeLog, results: Path, tsvs: pd.DataFrame) -> dict[str, float]:
    """Wall seconds per stage (rule_stage), summed over its jobs: the TSV's `s` where the rule
    writes one, else the log's end - start. Snakemake's target rule `all` runs nothing and is left out."""
    from_tsv = {str((results / "benchmarks" / job).with_suffix(".tsv")): s for job, s in zip(tsvs["job"], tsvs["s"])}
    seconds: dict[str, float] = {}
    for job in log.jobs:
        if job.rule == "all" or job.seconds is None:
            continue
        bench = str(_absolute(log, job.benchmark)) if job.benchmark else None
        value = from_tsv.get(bench, job.seconds) if bench else job.seconds
        stage = rule_stage(job.rule)
        seconds[stage] = seconds.get(stage, 0.0) + float(value)
    return seconds


def _absolute(log: SnakemakeLog, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else (log.workdir or Path.cwd()) / p

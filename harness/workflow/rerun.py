"""A planned job's command line, inputs and outputs (what its Snakemake rule runs), and its
re-execution in a scratch folder: `python -m harness verify` re-runs recorded jobs this way.

job_command(spec, plan, config) mirrors the rules (rules/*.smk): the same `python -m harness`
arguments, with paths under the run's results_dir. tests/test_verify.py checks it against the
commands `snakemake --dry-run --printshellcmds` prints for every job of the smoke plan, so the two
cannot drift apart unnoticed.

rerun() gives the job a folder of its own: its inputs are symbolic links to the recorded files
(RESULTS), its outputs are written fresh at the same relative paths, so the command line, and
every path a job records, is the one the workflow ran.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import paths
from harness.environment import RESULTS_ENV, spec_pins
from harness.errors import HarnessError
from harness.workflow import plan as harness_plan

REPO_ROOT = Path(__file__).resolve().parents[2]
SUPERNET_SKIPPED = (paths.RESUME_NAME, paths.STALE_RESUME_NAME)  # training state, not results


@dataclass
class JobCommand:
    """One job: `python -m harness ARGS` run from the folder that holds `results_dir`; inputs and
    outputs relative to the results directory. A directory input stands for its files; a
    directory output is where the job writes files beyond the declared ones (checkpoints)."""

    job: str
    stage: str
    args: list[str]
    inputs: list[str] = field(default_factory=list)
    input_dirs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    output_dirs: list[str] = field(default_factory=list)


def wildcards(spec: Mapping[str, Any]) -> dict[str, str]:
    """The job's wildcard values, read from its id ("score:method=spos,seed=0,space=nats-tss")."""
    _, _, text = spec["id"].partition(":")
    return dict(item.split("=", 1) for item in text.split(",")) if text else {}


def trains_supernet(run: Mapping[str, Any]) -> bool:
    return run["method"].get("sampler") is not None


def _run_path(pattern: str, run: Mapping[str, Any]) -> str:
    return pattern.format(space=run["space"]["name"], method=run["method"]["name"], seed=run["seed"])


def job_command(spec: Mapping[str, Any], plan: Mapping[str, Mapping[str, Any]], config: Mapping[str, Any]
                ) -> JobCommand:
    """The command of a planned job, as its rule runs it (paths prefixed by config results_dir)."""
    r = config["results_dir"]
    stage, text, threads = spec["stage"], harness_plan.stable_json(spec), str(config["threads"])

    def at(path: str) -> str:
        return f"{r}/{path}"

    def make(args: list[str], inputs=(), input_dirs=(), outputs=(), output_dirs=()) -> JobCommand:
        return JobCommand(spec["id"], stage, args, list(inputs), list(input_dirs), list(outputs), list(output_dirs))

    data = paths.DATASET
    if stage == "prepare_data":
        return make(["prepare-data", "--spec", text, "--output", at(data), "--meta", at(paths.DATASET_META)],
                    outputs=[data, paths.DATASET_META])
    space = spec.get("space", {}).get("name")
    if stage in ("sample_archs", "sample_all_archs"):
        every = stage == "sample_all_archs"
        output = (paths.ALL_ARCHS if every else paths.ARCHS).format(space=space)
        return make(["sample-archs", *(["--all"] if every else []), "--spec", text, "--output", at(output)],
                    outputs=[output])
    if stage == "retrain_shard":
        archs, output = paths.ARCHS.format(space=space), paths.GT_SHARD.format(space=space, shard=spec["shard"])
        return make(["retrain", "--spec", text, "--data", at(data), "--archs", at(archs), "--output", at(output),
                     "--threads", threads], inputs=[data, archs], outputs=[output])
    if stage == "nats_bench_groundtruth":
        every = wildcards(spec)["all"]
        archs = (paths.ALL_ARCHS if every else paths.ARCHS).format(space=space)
        table = f"{space}/groundtruth/{every}nats-bench-{spec['dataset']}.csv"
        return make(["groundtruth", "query", "--spec", text, "--archs", at(archs), "--output", at(table),
                     "--record", at(table + ".json")], inputs=[archs], outputs=[table, table + ".json"])
    if stage == "train_supernet":
        outdir = _run_path(paths.SUPERNET_DIR, spec)
        return make(["train-supernet", "--spec", text, "--data", at(data), "--outdir", at(outdir), "--threads", threads,
                     "--no-progress"], inputs=[data], outputs=[_run_path(paths.TRAIN_RECORD, spec)], output_dirs=[outdir])
    if stage in ("score", "score_all_archs"):
        every = stage == "score_all_archs"
        archs = (paths.ALL_ARCHS if every else paths.ARCHS).format(space=space)
        supernet = _run_path(paths.SUPERNET_DIR, spec)
        scores = _run_path(paths.ALL_SCORES if every else paths.SCORES, spec)
        record = _run_path(paths.ALL_SCORING_RECORD if every else paths.SCORING_RECORD, spec)
        return make(["score", "--spec", text, "--data", at(data), "--archs", at(archs), "--supernet-dir", at(supernet),
                     "--output", at(scores), "--record", at(record), "--threads", threads,
                     *(["--final-only"] if every else [])],
                    inputs=[data, archs], input_dirs=[supernet] if trains_supernet(spec) else [],
                    outputs=[scores, record])
    if stage in harness_plan.SCORE_GROUPS:
        runs = spec["runs"]
        every = [run for run in runs if run["stage"] == "score_all_archs"]
        archs = (paths.ARCHS if len(every) < len(runs) else paths.ALL_ARCHS).format(space=space)
        all_archs = [paths.ALL_ARCHS.format(space=space)] if every else []
        dirs = [_run_path(paths.SUPERNET_DIR, run) for run in runs if trains_supernet(run)]
        scores = [_run_path(paths.SCORES if run["stage"] == "score" else paths.ALL_SCORES, run) for run in runs]
        records = [_run_path(paths.SCORING_RECORD if run["stage"] == "score" else paths.ALL_SCORING_RECORD, run)
                   for run in runs]
        options = (["--all-archs", at(all_archs[0])] if every else []) + (["--supernet-dir", *map(at, dirs)] if dirs else [])
        return make(["score", "--spec", text, "--data", at(data), "--archs", at(archs), *options,
                     "--output", *map(at, scores), "--record", *map(at, records), "--threads", threads],
                    inputs=list(dict.fromkeys([data, archs, *all_archs])), input_dirs=dirs, outputs=scores + records)
    if stage == "search":
        supernet = _run_path(paths.SUPERNET_DIR, spec)
        output = _run_path(paths.SEARCH, spec)
        return make(["search", "--spec", text, "--data", at(data), "--supernet-dir", at(supernet), "--output", at(output),
                     "--threads", threads], inputs=[data], input_dirs=[supernet] if trains_supernet(spec) else [],
                    outputs=[output])
    if stage == "final":
        search, output = _run_path(paths.SEARCH, spec), _run_path(paths.FINAL, spec)
        return make(["final", "--spec", text, "--data", at(data), "--search", at(search), "--output", at(output),
                     "--threads", threads], inputs=[data, search], outputs=[output])
    if stage == "correlate":
        truth = wildcards(spec)["ground_truth"]
        every = truth.startswith("all-")
        runs = harness_plan.score_specs(plan, config, space, every)
        scores = [_run_path(paths.ALL_SCORES if every else paths.SCORES, run) for run in runs]
        # correlate also reads each run's scoring record beside its scores (the method's parts:
        # kind, baseline), which the rule does not declare
        records = [_run_path(paths.ALL_SCORING_RECORD if every else paths.SCORING_RECORD, run) for run in runs]
        table = paths.GT_RETRAIN.format(space=space) if truth == "retrain" else f"{space}/groundtruth/{truth}.csv"
        part = paths.CORRELATION_PART.format(space=space, ground_truth=truth)
        record = paths.CORRELATION_RECORD.format(space=space, ground_truth=truth)
        section = spec["config"]["correlation"]
        bootstrap = section.get("bootstrap_all_archs", section.get("bootstrap"))
        return make(["correlate", "--space", space, "--scores", *map(at, scores), "--groundtruth", at(table),
                     "--ground-truth-name", spec["ground_truth"], "--output", at(part), "--record", at(record),
                     "--bootstrap", str(bootstrap), "--confidence", str(section["confidence"]),
                     "--topk", str(section["topk"]), "--seed", str(spec["config"]["seed"]), "--spec", text],
                    inputs=[*scores, *records, table], outputs=[part, record])
    raise HarnessError(f"stage {stage!r} of job {spec['id']} has no command here (harness.workflow.rerun.job_command); "
                       "add it beside its rule")


def final_scoring_spec(score_spec: Mapping[str, Any]) -> dict[str, Any]:
    """A run's scoring at its final checkpoint only: its planned `score` spec as a
    `score_all_archs` one (what --final-only accepts), rehashed. The scores' seed comes from the
    run, not the stage, so they equal the planned job's at that checkpoint."""
    spec = {**score_spec, "stage": "score_all_archs"}
    spec["hash"] = harness_plan.content_hash(spec)
    return spec


def job_environment(spec: Mapping[str, Any], results_dir: Path, recorded_variables: Mapping[str, str]
                    ) -> dict[str, str]:
    """The re-executed job's environment: this process's, the checkout on PYTHONPATH, the job's
    record going under `results_dir`, and the numeric settings the recorded job ran with (its
    pinned CPU paths, thread variables) over those of config cpu_capability."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            RESULTS_ENV: str(results_dir), **spec_pins(dict(spec)), **recorded_variables}


@dataclass
class Rerun:
    """A finished re-execution: where it ran, its exit status, seconds, and its log."""

    folder: Path
    results: Path       # the scratch results directory (outputs at their planned relative paths)
    status: int
    seconds: float
    log: Path

    def tail(self, lines: int = 15) -> str:
        from harness.results.files import read_text_file

        text = read_text_file(self.log) if self.log.is_file() else ""
        return "\n".join(text.splitlines()[-lines:])


def scratch_results_dir(config: Mapping[str, Any]) -> str:
    """The results_dir a job is re-run under in its scratch folder: the recorded one when relative
    (so every path the job writes into its records is the workflow's), else `results`."""
    recorded = str(config["results_dir"])
    return "results" if Path(recorded).is_absolute() or ".." in Path(recorded).parts else recorded


def rerun(command: JobCommand, spec: Mapping[str, Any], recorded: Path, folder: Path, config: Mapping[str, Any],
          input_files: list[str], recorded_variables: Mapping[str, str] | None = None, log_name: str = "job.log") -> Rerun:
    """Run `command` in `folder`: each of `input_files` (relative to the results directory; the
    caller lists the input directories' files) a link to the recorded one under `recorded`,
    outputs written fresh. The command's paths are rewritten to the scratch results_dir."""
    relative = scratch_results_dir(config)
    results = folder / relative
    results.mkdir(parents=True, exist_ok=True)
    for name in input_files:
        link = results / name
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            link.symlink_to((recorded / name).resolve())
    for directory in command.output_dirs:
        (results / directory).mkdir(parents=True, exist_ok=True)
    prefix = f"{config['results_dir']}/"
    args = [f"{relative}/{arg[len(prefix):]}" if arg.startswith(prefix) else arg for arg in command.args]
    log = folder / log_name
    env = job_environment(spec, results.resolve(), recorded_variables or {})
    started = time.perf_counter()
    with open(log, "w") as out:
        out.write("$ " + shlex.join([sys.executable, "-m", "harness", *args])[:2000] + "\n")
        out.flush()
        done = subprocess.run([sys.executable, "-m", "harness", *args], cwd=folder, env=env, stdout=out,
                              stderr=subprocess.STDOUT, check=False)
    return Rerun(folder, results, done.returncode, time.perf_counter() - started, log)

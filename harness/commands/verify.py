"""`python -m harness verify RESULTS`: re-execute a sample of the recorded jobs from their specs
and say, per job, whether the outputs are identical, within the recorded CIs, or differ.

RESULTS is a results directory (the workflow's results_dir) or a bundle (`python -m harness
bundle`), which is unpacked and its files checked against their recorded sha256 first.

Each chosen job runs in a scratch folder of its own (harness.workflow.rerun): inputs are the
recorded files, the command is the rule's. Its outputs are compared with the record
(harness.results.compare.same_content): identical, or not. When not, the job's record of what it
ran with (RESULTS/provenance, harness.environment) decides what they should have been:
  - the same environment (CPU model and vector units, libraries, torch's build and CPU
    capability, threads, determinism settings): identical outputs were due: the job *differs*;
  - another environment, or none recorded: the statistic the outputs feed is recomputed and
    compared with the recorded value and its CI (harness.analysis.reproduction): *within CI* or
    *differs*.
A job that fails is *failed*; one whose inputs are not in RESULTS (a bundle made with
--manifest-only) is *skipped*.

Writes RESULTS/verification/verification.csv (paths.VERIFICATION) and a summary beside it
(verification.json: when, the command, the seed, the counts, the verifying checkout's code), and
prints a one-line summary. The table's columns:
    job, stage          the plan's job id and stage (stage "bundle": a bundle's file check)
    outcome             identical / within CI / differs / failed / skipped
    largest_difference  0 when identical; in the same environment, the largest difference of the
                        outputs' numbers (table cells, tensor elements); in another, of the
                        compared statistic (tau; accuracy for final)
    compared            what was compared
    environment         same / different: what changed / not recorded
    detail              the differing files and the statistic's values against their CIs
    seconds             the job's re-execution and comparison
Exit status 1 when a job differs or failed (or a bundle's file was tampered with), else 0.
"""

from __future__ import annotations

import argparse
import datetime
import math
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import paths
from harness.analysis import reproduction
from harness.environment import code_version, differences, job_record_name
from harness.errors import HarnessError
from harness.results import compare
from harness.workflow import plan as harness_plan
from harness.workflow.rerun import (SUPERNET_SKIPPED, JobCommand, final_scoring_spec, job_command, rerun,
                                    scratch_results_dir)

NAME = "verify"
HELP = ("Re-execute a sample of a results directory's (or a bundle's) recorded jobs and compare their outputs: "
        "identical, within the recorded CIs, or differs; writes verification/verification.csv.")

IDENTICAL, WITHIN_CI, DIFFERS, FAILED, SKIPPED = "identical", "within CI", "differs", "failed", "skipped"
OUTCOMES = (IDENTICAL, WITHIN_CI, DIFFERS, FAILED, SKIPPED)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="results directory (results_dir of the run) or a bundle "
                                                   "(.tar.gz or .zip written by `python -m harness bundle`)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="how many jobs to re-execute (default and minimum: one of every chosen stage)")
    parser.add_argument("--stage", action="append", default=None, metavar="STAGE",
                        help="only jobs of this stage (repeatable; default: every stage of the plan)")
    parser.add_argument("--job", action="append", default=None, metavar="ID",
                        help="re-execute exactly this job (an id of plan.json, repeatable); replaces the sample")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample of jobs (default 0)")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="folder for the re-executions (default: a temporary one, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (outputs and logs)")
    parser.add_argument("--unpack", type=Path, default=None,
                        help="a bundle is unpacked here (default: a folder named after it in the current directory)")


# ------------------------------------------------------------------------------------ sample


def sample_jobs(plan: Mapping[str, dict[str, Any]], stages: list[str] | None, count: int | None, seed: int,
                ids: list[str] | None) -> list[dict[str, Any]]:
    """The jobs to re-execute, in plan order: `ids` if given; else one of every stage in `stages`
    (default: all of the plan's), then more drawn at random up to `count`, all seeded."""
    if ids:
        unknown = [i for i in ids if i not in plan]
        if unknown:
            raise HarnessError(f"--job {unknown[0]!r} is not in the plan; its ids look like "
                               f"{next(iter(plan))!r} (plan.json of the results lists them all)")
        return [spec for key, spec in plan.items() if key in ids]
    planned = list(dict.fromkeys(spec["stage"] for spec in plan.values()))
    stages = planned if not stages else stages
    unknown = [s for s in stages if s not in planned]
    if unknown:
        raise HarnessError(f"--stage {unknown[0]!r} has no job in this plan; its stages: {', '.join(planned)}")
    if count is not None and count < 1:
        raise HarnessError(f"--jobs must be >= 1, got {count}")
    rng = random.Random(seed)
    chosen = {rng.choice([k for k, s in plan.items() if s["stage"] == stage]) for stage in stages}
    rest = [k for k, s in plan.items() if s["stage"] in stages and k not in chosen]
    extra = max(0, (count or 0) - len(chosen))
    chosen |= set(rng.sample(rest, min(extra, len(rest))))
    return [spec for key, spec in plan.items() if key in chosen]


# ------------------------------------------------------------------------------------ one job


def _check(spec: Mapping[str, Any], outcome: str, largest: float = math.nan, compared: str = "", environment: str = "",
           detail: str = "", seconds: float = 0.0) -> dict[str, Any]:
    return {"job": spec["id"], "stage": spec["stage"], "outcome": outcome, "largest_difference": largest,
            "compared": compared, "environment": environment, "detail": detail, "seconds": round(seconds, 1)}


def job_files(command: JobCommand, results: Path) -> tuple[list[str], list[str]]:
    """(inputs, outputs) of a job as files relative to the results directory: the declared ones
    and those of its input and output directories (supernet checkpoints), resume state left out."""
    inputs = command.inputs + [f for d in command.input_dirs for f in compare.files_under(results, d, SUPERNET_SKIPPED)]
    outputs = command.outputs + [f for d in command.output_dirs for f in compare.files_under(results, d, SUPERNET_SKIPPED)
                                 if f not in command.outputs]
    return list(dict.fromkeys(inputs)), list(dict.fromkeys(outputs))


def environment_text(recorded: dict[str, Any] | None, current: dict[str, Any] | None) -> tuple[bool | None, str]:
    """(same environment?, what to say): None when the recorded job has no record."""
    if recorded is None or current is None:
        return None, "not recorded" if recorded is None else "re-execution wrote no record"
    changed = differences(recorded["environment"], current["environment"])
    if not changed:
        return True, "same"
    return False, "different: " + "; ".join(changed[:4]) + (f"; +{len(changed) - 4} more" if len(changed) > 4 else "")


def run_score_spec(plan: Mapping[str, dict[str, Any]], space: str, method: str, seed: int) -> dict[str, Any] | None:
    """A run's planned `score` spec, also one inside a grouped scoring job; None if unplanned."""
    key = harness_plan.job_id("score", method=method, seed=seed, space=space)
    for spec in plan.values():
        for run in spec["runs"] if spec["stage"] in harness_plan.SCORE_GROUPS else [spec]:
            if run["id"] == key:
                return run
    return None


def rescore_command(score_spec: Mapping[str, Any], config: Mapping[str, Any]) -> JobCommand:
    """The run's scoring of the sample at its (re-trained) final checkpoint only."""
    r = config["results_dir"]
    where = {"space": score_spec["space"]["name"], "method": score_spec["method"]["name"], "seed": score_spec["seed"]}
    archs = paths.ARCHS.format(**where)
    args = ["score", "--spec", harness_plan.stable_json(final_scoring_spec(score_spec)), "--data", f"{r}/{paths.DATASET}",
            "--archs", f"{r}/{archs}", "--supernet-dir", f"{r}/{paths.SUPERNET_DIR.format(**where)}",
            "--output", f"{r}/{paths.SCORES.format(**where)}", "--record", f"{r}/{paths.SCORING_RECORD.format(**where)}",
            "--threads", str(config["threads"]), "--final-only"]
    return JobCommand(score_spec["id"], "score", args, inputs=[paths.DATASET, archs])


def verify_job(spec: dict[str, Any], plan: Mapping[str, dict[str, Any]], config: Mapping[str, Any], results: Path,
               folder: Path) -> dict[str, Any]:
    """Re-execute one job in `folder` and judge its outputs against the record."""
    started = time.perf_counter()
    command = job_command(spec, plan, config)
    inputs, outputs = job_files(command, results)
    missing = [name for name in inputs + outputs if not (results / name).is_file()]
    if missing:
        return _check(spec, SKIPPED, detail=f"not in the results: {', '.join(missing[:3])}"
                                            + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    record_name = job_record_name(spec["id"])
    recorded_record = compare.read_job_record(results, record_name)
    variables = (recorded_record or {}).get("environment", {}).get("variables", {})
    done = rerun(command, spec, results, folder, config, inputs, variables)
    if done.status != 0:
        return _check(spec, FAILED, detail=f"exit status {done.status}: {done.tail(5)}", seconds=done.seconds)
    compared = [compare.same_content(results / name, done.results / name, name) for name in outputs]
    same_env, env_text = environment_text(recorded_record, compare.read_job_record(done.results, record_name))
    if all(c.identical for c in compared):
        return _check(spec, IDENTICAL, 0.0, f"{len(outputs)} output file(s)", env_text, "", time.perf_counter() - started)
    differing = "; ".join(f"{c.name} ({c.note})" for c in compared if not c.identical)
    context = reproduction.Context(spec, plan, config, results, done.results, compared)
    if spec["stage"] == "train_supernet":
        judgement = rescored_supernet(spec, plan, config, results, folder, context, variables)
    else:
        judgement = reproduction.judge(context)
    detail = f"differing: {differing}; {judgement.detail}"
    if same_env:  # identical outputs were due: the difference that counts is the files'
        gaps = [c.gap for c in compared if not c.identical and not math.isnan(c.gap)]
        return _check(spec, DIFFERS, max(gaps, default=math.nan), "the outputs (same environment: identical was due)",
                      env_text, detail, time.perf_counter() - started)
    outcome = WITHIN_CI if judgement.within else DIFFERS
    return _check(spec, outcome, judgement.largest, judgement.compared, env_text, detail, time.perf_counter() - started)


def rescored_supernet(spec: dict[str, Any], plan: Mapping[str, dict[str, Any]], config: Mapping[str, Any],
                      results: Path, folder: Path, context: reproduction.Context,
                      variables: Mapping[str, str]) -> reproduction.Judgement:
    """A re-trained supernet that is not identical: score it at its final checkpoint as its
    planned scoring does, and judge those scores' tau against the recorded CIs."""
    score_spec = run_score_spec(plan, spec["space"]["name"], spec["method"]["name"], spec["seed"])
    if score_spec is None:
        return reproduction.Judgement(None, math.nan, "no scoring of this run is planned", "no statistic to compare")
    command = rescore_command(score_spec, config)
    done = rerun(command, score_spec, results, folder, config, command.inputs, variables, log_name="rescore.log")
    if done.status != 0:
        return reproduction.Judgement(False, math.nan, "re-scoring the re-trained supernet",
                                      f"scoring failed (exit {done.status}): {done.tail(5)}")
    where = {"space": spec["space"]["name"], "method": spec["method"]["name"], "seed": spec["seed"]}
    return reproduction.judge_rescored_supernet(context, done.results / paths.SCORES.format(**where))


# -------------------------------------------------------------------------------------- run


def summary_line(rows: list[dict[str, Any]], seconds: float, where: Path) -> str:
    jobs = [row for row in rows if row["stage"] != "bundle"]
    counts = {outcome: sum(row["outcome"] == outcome for row in jobs) for outcome in OUTCOMES}
    shown = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o] or o in (IDENTICAL, WITHIN_CI, DIFFERS))
    bundle = [row for row in rows if row["stage"] == "bundle"]
    problems = [row for row in bundle if row["outcome"] != IDENTICAL]
    checked = (f"; bundle: {len(problems)} file(s) tampered with or missing" if problems
               else f"; bundle: {bundle[0]['job']} match their sha256" if bundle else "")
    unrecorded = sum(row["environment"] == "not recorded" for row in jobs)
    note = f"; {unrecorded} without a job record (a run from before them)" if unrecorded else ""
    return f"verify: {len(jobs)} job(s) re-executed in {seconds / 60:.1f} min: {shown}{checked}{note} ({where})"


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    results = args.results
    if results.is_file():
        from harness.results import archive

        results, rows = archive.open_bundle(results, args.unpack)
    elif not results.is_dir():
        raise HarnessError(f"{results}: no such results directory or bundle")
    plan, config = compare.read_plan(results), compare.read_run_config(results)
    chosen = sample_jobs(plan, args.stage, args.jobs, args.seed, args.job)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="harness-verify-"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        for index, spec in enumerate(chosen, 1):
            folder = scratch / f"{index:03d}-{spec['stage']}"
            if folder.exists():
                shutil.rmtree(folder)
            row = verify_job(spec, plan, config, results, folder)
            rows.append(row)
            print(f"[{index}/{len(chosen)}] {spec['id']}: {row['outcome']} ({row['seconds']:.0f} s)"
                  + (f": {row['detail'][:300]}" if row["outcome"] != IDENTICAL else ""), file=sys.stderr, flush=True)
    finally:
        if args.scratch is None and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.perf_counter() - started
    summary = {"verified": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "command": ["python", "-m", "harness", *sys.argv[1:]], "seed": args.seed, "seconds": round(seconds, 1),
               "jobs": len(chosen), "outcomes": {o: sum(r["outcome"] == o for r in rows) for o in OUTCOMES},
               "code": code_version(), "scratch_results_dir": scratch_results_dir(config)}
    where = compare.write_verification(results, rows, summary)
    print(summary_line(rows, seconds, where))
    if args.keep or args.scratch is not None:
        print(f"re-executions kept in {scratch}")
    return 1 if any(row["outcome"] in (DIFFERS, FAILED) for row in rows) else 0

"""score: every architecture of the sample scored by a method at every curve checkpoint."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.datasets import DataSplits
from harness.data.store import load_splits
from harness.errors import HarnessError
from harness.io import write_csv, write_json
from harness.method import ScoreContext
from harness.paths import CHECKPOINT_NAME
from harness.workflow.job import Job, add_run_arguments, arch_matrix, job_spec, read_archs, setup_job
from harness.training.supernet import load_checkpoint, trained_checkpoints

NAME = "score"
HELP = "Score the architecture sample with a method at each supernet checkpoint."


# time_per_arch_s is the steady-state cost of scoring: the timed call (the final checkpoint's) is
# never the process's first call of the scorer. After earlier checkpoints it is not; a run scored at
# one checkpoint first gets an untimed call on this many archs (scores are seeded per call, so the
# warm-up changes none). Without it the first run of a grouped job (score_free, score_bn) paid the
# process's one-off set-up (torch's first kernels, the space's cost table): measured 1.7x the
# per-arch time of the same method's next seed in the same job.
WARM_UP_ARCHS = 1
# scoring.json's `timed_calls` keeps every checkpoint's call (checkpoint, n_archs, seconds, cpu_seconds,
# steady), the measurement behind the evaluation speed-up's CI (harness.analysis.speedup). A call is
# steady when it is not the process's first call of that scorer (a warm-up, an earlier checkpoint or an
# earlier run of a grouped job called it before): only steady calls measure the per-arch cost.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser)
    parser.add_argument("--archs", required=True, help="the architectures to score (for a grouped spec: the sample's)")
    parser.add_argument("--all-archs", help="a grouped spec's all-architectures list (archs.csv of sample-archs --all), "
                                            "for its score_all_archs runs")
    parser.add_argument("--supernet-dir", nargs="+",
                        help="the run's supernet/ directory (methods that train one); for a grouped spec one per "
                             "run, in its order")
    parser.add_argument("--output", required=True, nargs="+",
                        help="scores.csv (one per run of a grouped spec, in its order)")
    parser.add_argument("--record", required=True, nargs="+", help="scoring.json (likewise)")
    parser.add_argument("--final-only", action="store_true", help="score only the final checkpoint")
    parser.add_argument("--limit", type=int, default=None,
                        help="score only the first N architectures of --archs (the all-archs list is in a "
                             "seeded random order: its first N rows are a uniform sample)")


def check_finite(method: str, archs: pd.DataFrame, scores: np.ndarray, checkpoint: int, drop: bool) -> np.ndarray:
    """Mask of the architectures with a finite score. A NaN or infinite score is an error naming the
    method and how many architectures, unless config scoring.drop_nonfinite drops them (counted)."""
    finite = np.isfinite(scores)
    bad = int((~finite).sum())
    if bad and not drop:
        shown = ", ".join(map(str, archs["arch_id"].to_numpy()[~finite][:5])) + (", ..." if bad > 5 else "")
        raise HarnessError(f"method {method!r} returned a non-finite score (NaN or inf) for {bad} of {len(scores)} "
                           f"architecture(s) at checkpoint {checkpoint} (arch_id {shown}); fix the scorer, or set "
                           "config scoring.drop_nonfinite: true to drop them (they are counted in scoring.json)")
    return finite


def run(args: argparse.Namespace) -> int:
    """One run's scores, or (a grouped spec: score_free, score_bn) every run it holds in turn,
    each with its own files and timing record."""
    from harness.workflow.plan import SCORE_GROUPS

    spec = job_spec(args, "score_all_archs" if args.final_only else "score", *SCORE_GROUPS)
    specs = spec["runs"] if spec["stage"] in SCORE_GROUPS else [spec]
    if not len(args.output) == len(args.record) == len(specs):
        raise HarnessError(f"the spec has {len(specs)} run(s): pass as many --output and --record files "
                           f"(got {len(args.output)} and {len(args.record)})")
    supernet_dirs = args.supernet_dir or [None] * len(specs)
    if len(supernet_dirs) != len(specs):
        raise HarnessError(f"the spec has {len(specs)} run(s): pass one --supernet-dir per run "
                           f"(got {len(supernet_dirs)})")
    if spec["stage"] in SCORE_GROUPS and any(one["stage"] == "score_all_archs" for one in specs) and not args.all_archs:
        raise HarnessError("the spec scores all architectures of a space for some runs: pass --all-archs "
                           "(the archs.csv that `python -m harness sample-archs --all` writes)")
    data = load_splits(args.data)
    device = None
    called: set[str] = set()  # the scorers this process has called (a call after the first is steady)
    for one, supernet_dir, output, record in zip(specs, supernet_dirs, args.output, args.record):
        job = setup_job(one, args.threads, device)
        device = job.device
        every = one["stage"] == "score_all_archs"
        archs = args.all_archs if every and spec["stage"] in SCORE_GROUPS else args.archs
        score_run(job, data, archs, supernet_dir, args.final_only or every, args.limit, output, record, called)
    return 0


def score_run(job: Job, data: DataSplits, archs_path: str, supernet_dir: str | None, final_only: bool,
              limit: int | None, output: str, record: str, called: set[str] | None = None) -> None:
    """One run's scores of the architectures in `archs_path` (its first `limit`), at every
    supernet checkpoint or (`final_only`) the last one, written to `output` and `record`.
    `called`: the names of the scorers this process has already called (updated here)."""
    config, device, method, space = job.config, job.device, job.method, job.space
    archs = read_archs(space, archs_path)
    limit = job.spec.get("limit") or limit  # the plan's benchmark sample size (nats_bench.sample)
    if limit is not None:
        if limit < 1:
            raise HarnessError(f"--limit must be >= 1, got {limit}")
        archs = archs.iloc[:limit].reset_index(drop=True)
    matrix = arch_matrix(space, archs)
    options = {**config["scoring"], **method.options}
    seed = job.derive_seed("score", job.space_name, job.method_name, job.spec["seed"])

    if method.trains_supernet:
        checkpoints = trained_checkpoints(method, supernet_dir)  # a clear error when supernet_dir is None
        checkpoints = checkpoints[-1:] if final_only else checkpoints
        directory = Path(str(supernet_dir))
        supernet = space.build_supernet().to(device)
    else:
        checkpoints, supernet = [{"checkpoint": 0, "epoch": 0.0}], None

    warm_up = WARM_UP_ARCHS if len(checkpoints) == 1 else 0  # later checkpoints follow a call already
    frames, seconds, total, dropped, timed = [], 0.0, 0.0, {}, []
    called = set() if called is None else called
    scorer_name = str(method.describe()["scorer"])
    for point in checkpoints:
        if supernet is not None:
            load_checkpoint(supernet, directory / CHECKPOINT_NAME.format(checkpoint=point["checkpoint"]))
        context = ScoreContext(space=space, supernet=supernet, data=data, options=options, seed=seed, device=device)
        if warm_up:
            method.scorer(context, matrix[:warm_up])
            called.add(scorer_name)
        started, cpu_started = time.perf_counter(), time.process_time()
        scores = np.asarray(method.scorer(context, matrix), dtype=float)
        seconds = time.perf_counter() - started
        total += seconds
        timed.append({"checkpoint": point["checkpoint"], "n_archs": len(archs), "seconds": seconds,
                      "cpu_seconds": time.process_time() - cpu_started, "steady": scorer_name in called})
        called.add(scorer_name)
        finite = check_finite(job.method_name, archs, scores, point["checkpoint"], config["scoring"]["drop_nonfinite"])
        if not finite.all():
            dropped[str(point["checkpoint"])] = int((~finite).sum())
        frames.append(pd.DataFrame({"checkpoint": point["checkpoint"], "epoch": point["epoch"],
                                    "arch_id": archs["arch_id"], "arch_str": archs["arch_str"], "score": scores})[finite])
    # Both outputs are complete in memory before either is written.
    table = pd.concat(frames, ignore_index=True)
    summary = {"method": method.describe(), "n_archs": len(archs), "checkpoint": checkpoints[-1]["checkpoint"],
               "score_time_s": seconds, "time_per_arch_s": seconds / len(archs),
               "untimed_warm_up_archs": warm_up,
               "all_checkpoints_score_time_s": total, "device": str(device),
               "timed_calls": timed,  # every checkpoint's call, in order (see WARM_UP_ARCHS)
               "nonfinite_dropped": dropped,  # {checkpoint: archs dropped} (scoring.drop_nonfinite)
               "threads": config["threads"] if job.threads is None else job.threads,
               "determinism": job.determinism}
    write_csv(table, output)
    write_json(summary, record)

"""Rank correlations between each method's scores and a ground truth, per curve checkpoint.

Besides one block of rows per (method, seed, checkpoint), it writes the noise ceiling: how well
one retraining seed ranks the archs against another (method "noise-ceiling"), the best any
score can be expected to agree with a noisy ground truth.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness import paths
from harness.errors import HarnessError
from harness.io import write_csv

NAME = "correlate"
HELP = "Rank correlations (with bootstrap CIs) of method scores against a ground truth."

CORRELATION_COLUMNS = [
    "space", "method", "seed", "checkpoint", "epoch", "ground_truth",
    "n", "metric", "value", "ci_low", "ci_high",
]  # fmt: skip
SCORES_COLUMNS = ["checkpoint", "epoch", "arch_id", "arch_str", "score"]
GROUNDTRUTH_COLUMNS = ["arch_id", "seed", "test_acc"]
NOISE_CEILING = "noise-ceiling"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", required=True, help="search space name")
    parser.add_argument(
        "--scores", nargs="+", required=True, type=Path,
        help=f"scores files, laid out as {paths.SCORES} (method and seed are read from the path)",
    )  # fmt: skip
    parser.add_argument(
        "--groundtruth", required=True, type=Path, help="ground-truth csv (arch_id, seed, test_acc, ...)"
    )
    parser.add_argument("--output", required=True, type=Path, help="correlations csv to write")
    parser.add_argument(
        "--ground-truth-name", default="retrain", help="label of the ground truth in the output"
    )
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples per CI")
    parser.add_argument("--confidence", type=float, default=0.95, help="CI confidence level")
    parser.add_argument("--topk", type=int, default=5, help="k of the top-k precision metric")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")


def parse_path(pattern: str, path: str | Path) -> dict[str, str] | None:
    """The wildcard values of `path` under a harness.paths pattern, matched against the path's
    trailing components (so any results-dir prefix is fine); None if it does not match."""
    regex = ""
    for literal, field in re.findall(r"([^{]*)(?:\{(\w+)\})?", pattern):
        regex += re.escape(literal) + (f"(?P<{field}>[^/]+)" if field else "")
    match = re.search(f"(?:^|/){regex}$", Path(path).as_posix())
    return match.groupdict() if match else None


def run_identity(scores_path: Path, space: str) -> tuple[str, int]:
    """(method, seed) of a scores file, from its place in the results tree."""
    fields = parse_path(paths.SCORES, scores_path) or parse_path(paths.ALL_SCORES, scores_path)
    if fields is None or not fields["seed"].lstrip("-").isdigit():
        raise HarnessError(f"{scores_path}: cannot read method and seed from the path; "
                           f"expected {paths.SCORES} or {paths.ALL_SCORES}")
    if fields["space"] != space:
        raise HarnessError(f"{scores_path}: the path says space {fields['space']!r} but --space is {space!r}")
    return fields["method"], int(fields["seed"])


def read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise HarnessError(f"{path}: file not found")
    frame = pd.read_csv(path)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise HarnessError(f"{path}: missing column(s) {missing}; has {list(frame.columns)}")
    return frame


def seed_accuracies(retrain: pd.DataFrame) -> pd.DataFrame:
    """test_acc per arch_id (rows) and retraining seed (columns); repeated records are averaged."""
    return retrain.pivot_table(index="arch_id", columns="seed", values="test_acc", aggfunc="mean")


def mean_truth(retrain: pd.DataFrame) -> pd.Series:
    """Ground truth per arch_id: test accuracy averaged over its retraining seeds."""
    return seed_accuracies(retrain).mean(axis=1)


def check_covered(scores: pd.DataFrame, truth: pd.Series, scores_path: Path, truth_path: Path) -> None:
    missing = sorted(set(scores["arch_id"]) - set(truth.index))
    if missing:
        shown = ", ".join(str(a) for a in missing[:10]) + (", ..." if len(missing) > 10 else "")
        raise HarnessError(
            f"{scores_path}: {len(missing)} scored arch(s) have no ground truth in {truth_path} "
            f"(arch_id {shown}); retrain them or score only archs in the ground truth"
        )


def checkpoint_rows(
    scores: pd.DataFrame, truth: pd.Series, scores_path: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """Metric rows for every checkpoint of one scores file (without the identity columns)."""
    rows = []
    for checkpoint, group in scores.groupby("checkpoint", sort=True):
        if group["arch_id"].duplicated().any():
            raise HarnessError(f"{scores_path}: checkpoint {checkpoint} scores some arch_id more than once")
        accuracy = truth.loc[group["arch_id"]].to_numpy()
        identity = {"checkpoint": int(checkpoint), "epoch": float(group["epoch"].iloc[0])}
        for row in metric_rows(group["score"].to_numpy(), accuracy, args):
            rows.append({**identity, **row})
    return rows


def metric_rows(scores: np.ndarray, truth: np.ndarray, args: argparse.Namespace) -> list[dict[str, Any]]:
    # Imported here so that every `python -m harness` start-up does not pay for scipy.stats.
    from harness.metrics import correlation_rows

    return correlation_rows(
        scores, truth, n_boot=args.bootstrap, confidence=args.confidence, seed=args.seed, topk=args.topk
    )


def noise_ceiling_rows(retrain: pd.DataFrame, args: argparse.Namespace) -> list[dict]:
    """Seed A vs seed B accuracies over archs retrained at least twice (A, B: the arch's two
    lowest seeds). Empty if fewer than two archs have two seeds."""
    by_seed = seed_accuracies(retrain)
    pairs = [row.dropna().to_numpy()[:2] for _, row in by_seed.iterrows()]  # columns sorted by seed
    pairs = np.array([pair for pair in pairs if pair.size == 2])
    if len(pairs) < 2:
        return []
    identity = {"method": NOISE_CEILING, "seed": -1, "checkpoint": -1, "epoch": float("nan")}
    return [{**identity, **row} for row in metric_rows(pairs[:, 0], pairs[:, 1], args)]


def check_arguments(args: argparse.Namespace) -> None:
    if args.bootstrap < 0:
        raise HarnessError(f"--bootstrap must be >= 0 (0 skips the CIs), got {args.bootstrap}")
    if not 0 < args.confidence < 1:
        raise HarnessError(f"--confidence must be between 0 and 1, got {args.confidence}")
    if args.topk < 1:
        raise HarnessError(f"--topk must be >= 1, got {args.topk}")


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    retrain = read_table(args.groundtruth, GROUNDTRUTH_COLUMNS)
    if retrain.empty:  # a ground truth recorded as not available (its .json record says why)
        write_csv(pd.DataFrame(columns=CORRELATION_COLUMNS), args.output)
        print(f"note: {args.groundtruth} is empty (ground truth not available); no correlations")
        return 0
    truth = mean_truth(retrain)
    rows = []
    for scores_path in args.scores:
        method, seed = run_identity(scores_path, args.space)
        scores = read_table(scores_path, SCORES_COLUMNS)
        check_covered(scores, truth, scores_path, args.groundtruth)
        for row in checkpoint_rows(scores, truth, scores_path, args):
            rows.append({"method": method, "seed": seed, **row})
    ceiling = noise_ceiling_rows(retrain, args)
    if not ceiling:
        print(f"note: fewer than two archs retrained with two seeds in {args.groundtruth}; no noise ceiling")
    rows += ceiling
    frame = pd.DataFrame(rows).assign(space=args.space, ground_truth=args.ground_truth_name)
    write_csv(frame.reindex(columns=CORRELATION_COLUMNS), args.output)
    print(f"wrote {len(frame)} correlation rows to {args.output}")
    return 0

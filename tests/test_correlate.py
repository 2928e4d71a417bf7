"""The correlate command on a small synthetic results tree (2 methods, 3 checkpoints, 20 archs).

Accuracies are built so every expected value is known: mean retrained accuracy increases with
arch_id; bnnas scores = arch_id (perfect ranking at every checkpoint); spos is inverted at
checkpoint 1, arbitrary at 2, perfect at 3. Archs 0-9 have a second retraining seed whose
ranking swaps each adjacent pair (0<->1, 2<->3, ...): 5 discordant pairs of 45, tau = 7/9.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness import paths
from harness.cli import main
from harness.analysis.correlation import CORRELATION_COLUMNS

SPACE = "nb201"
N_ARCHS = 20
CHECKPOINTS = {1: 1.0, 2: 2.0, 3: 3.0}  # checkpoint -> supernet epoch
METHODS = ["spos", "bnnas"]


def retrain_frame() -> pd.DataFrame:
    arch = np.arange(N_ARCHS)
    first = pd.DataFrame({"arch_id": arch, "seed": 0, "test_acc": 50.0 + arch})
    paired = arch[:10]
    second = pd.DataFrame({"arch_id": paired, "seed": 1, "test_acc": 50.0 + (paired ^ 1) + 0.1 * paired})
    frame = pd.concat([first, second], ignore_index=True)
    return frame.assign(
        arch_str=[f"arch{a}" for a in frame["arch_id"]], val_acc=frame["test_acc"] - 1, epochs=12,
        batch_size=256, lr=0.1, train_images=5000, test_images=1000, train_time_s=30.0, threads=4,
    )  # fmt: skip


def scores_frame(method: str) -> pd.DataFrame:
    arch = np.arange(N_ARCHS)
    shuffled = np.random.default_rng(0).permutation(N_ARCHS)
    frames = []
    for checkpoint, epoch in CHECKPOINTS.items():
        if method == "bnnas":
            score = arch * float(checkpoint)
        else:
            score = {1: -arch, 2: shuffled, 3: arch}[checkpoint].astype(float)
        frames.append(pd.DataFrame({"checkpoint": checkpoint, "epoch": epoch, "arch_id": arch, "score": score}))
    frame = pd.concat(frames, ignore_index=True)
    return frame.assign(arch_str=[f"arch{a}" for a in frame["arch_id"]])[
        ["checkpoint", "epoch", "arch_id", "arch_str", "score"]
    ]


def scores_path(root: Path, method: str, seed: int = 0) -> Path:
    return root / paths.SCORES.format(space=SPACE, method=method, seed=seed)


def write_tree(root: Path) -> None:
    """retrain.csv and every method's scores.csv under `root`."""
    gt = root / paths.GT_RETRAIN.format(space=SPACE)
    gt.parent.mkdir(parents=True, exist_ok=True)
    retrain_frame().to_csv(gt, index=False)
    for method in METHODS:
        path = scores_path(root, method)
        path.parent.mkdir(parents=True, exist_ok=True)
        scores_frame(method).to_csv(path, index=False)


def correlate_args(root: Path, *extra: str) -> list[str]:
    return [
        "correlate", "--space", SPACE,
        "--scores", *[str(scores_path(root, m)) for m in METHODS],
        "--groundtruth", str(root / paths.GT_RETRAIN.format(space=SPACE)),
        "--output", str(root / paths.CORRELATIONS.format(space=SPACE)),
        "--bootstrap", "200", *extra,
    ]  # fmt: skip


def run_correlate(root: Path, *extra: str) -> pd.DataFrame:
    assert main(correlate_args(root, *extra)) == 0
    return pd.read_csv(root / paths.CORRELATIONS.format(space=SPACE))


def value(frame: pd.DataFrame, method: str, checkpoint: int, metric: str, seed: int = 0) -> pd.Series:
    if method in ("retraining-reliability", "perfect-scorer"):
        seed = -1
    row = frame[(frame["method"] == method) & (frame["checkpoint"] == checkpoint) & (frame["metric"] == metric)
                & (frame["seed"] == seed)]
    assert len(row) == 1
    return row.iloc[0]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write_tree(tmp_path)
    return tmp_path


def test_writes_tidy_rows_per_method_seed_checkpoint(tree):
    frame = run_correlate(tree)
    assert list(frame.columns) == CORRELATION_COLUMNS
    runs = frame[frame["method"].isin(METHODS) & (frame["seed"] >= 0)]
    assert len(runs) == len(METHODS) * len(CHECKPOINTS) * 4
    assert set(runs["metric"]) == {"kendall_tau", "spearman_rho", "pearson_r", "top5_precision"}
    assert (frame["space"] == SPACE).all() and (frame["ground_truth"] == "retrain").all()
    assert (runs["seed"] == 0).all() and (runs["n"] == N_ARCHS).all()
    assert dict(zip(runs["checkpoint"], runs["epoch"])) == CHECKPOINTS


def test_values_match_the_constructed_rankings(tree):
    frame = run_correlate(tree)
    for checkpoint in CHECKPOINTS:
        row = value(frame, "bnnas", checkpoint, "kendall_tau")
        assert (row["value"], row["ci_low"], row["ci_high"]) == (1.0, 1.0, 1.0)
        assert value(frame, "bnnas", checkpoint, "top5_precision")["value"] == 1.0
    assert value(frame, "spos", 1, "kendall_tau")["value"] == pytest.approx(-1.0)
    assert value(frame, "spos", 1, "top5_precision")["value"] == 0.0
    assert value(frame, "spos", 3, "spearman_rho")["value"] == pytest.approx(1.0)
    middle = value(frame, "spos", 2, "kendall_tau")
    shuffled = np.random.default_rng(0).permutation(N_ARCHS)
    assert middle["value"] == pytest.approx(stats.kendalltau(shuffled, np.arange(N_ARCHS)).statistic)
    assert middle["ci_low"] < middle["value"] < middle["ci_high"]


def test_retraining_reliability_compares_the_two_retraining_seeds(tree):
    frame = run_correlate(tree)
    ceiling = frame[frame["method"] == "retraining-reliability"]
    assert len(ceiling) == 4
    assert (ceiling["seed"] == -1).all() and (ceiling["checkpoint"] == -1).all()
    assert ceiling["epoch"].isna().all() and (ceiling["n"] == 10).all()
    tau = ceiling[ceiling["metric"] == "kendall_tau"].iloc[0]
    assert tau["value"] == pytest.approx(7 / 9)
    assert tau["ci_low"] < tau["value"] < tau["ci_high"]


def test_retraining_reliability_uses_the_two_lowest_seeds(tree):
    baseline = run_correlate(tree)
    gt = tree / paths.GT_RETRAIN.format(space=SPACE)
    extra = pd.DataFrame({"arch_id": range(10), "seed": 9, "test_acc": 100.0 - np.arange(10)})
    extra["arch_str"] = [f"arch{a}" for a in extra["arch_id"]]
    # seed 9 (reversed accuracies) comes before the others in the file but must be ignored
    pd.concat([extra, pd.read_csv(gt)], ignore_index=True).to_csv(gt, index=False)
    frame = run_correlate(tree)
    assert value(frame, "retraining-reliability", -1, "kendall_tau")["value"] == pytest.approx(7 / 9)
    assert len(frame) == len(baseline)


def test_options_are_applied(tree):
    frame = run_correlate(tree, "--topk", "3", "--ground-truth-name", "nats-bench", "--bootstrap", "0")
    assert "top3_precision" in set(frame["metric"])
    assert (frame["ground_truth"] == "nats-bench").all()
    assert frame["ci_low"].isna().all()


def test_method_and_seed_come_from_the_path(tree):
    path = scores_path(tree, "bn-nas_v2", seed=7)
    path.parent.mkdir(parents=True)
    scores_frame("bnnas").to_csv(path, index=False)
    output = tree / "out.csv"
    argv = [
        "correlate", "--space", SPACE, "--scores", str(path), "--bootstrap", "0",
        "--groundtruth", str(tree / paths.GT_RETRAIN.format(space=SPACE)), "--output", str(output),
    ]  # fmt: skip
    assert main(argv) == 0
    runs = pd.read_csv(output).query("method != 'retraining-reliability' and method != 'perfect-scorer'")
    assert set(runs["method"]) == {"bn-nas_v2"} and set(runs["seed"]) == {7, -1}


def test_scored_archs_missing_from_the_ground_truth_is_an_error(tree, capsys):
    gt = tree / paths.GT_RETRAIN.format(space=SPACE)
    retrain = pd.read_csv(gt)
    retrain[retrain["arch_id"] < 17].to_csv(gt, index=False)
    assert main(correlate_args(tree)) == 2
    message = capsys.readouterr().err
    assert "3 scored arch(s)" in message and "17, 18, 19" in message
    assert str(scores_path(tree, "spos")) in message and str(gt) in message
    assert not (tree / paths.CORRELATIONS.format(space=SPACE)).exists()


@pytest.mark.parametrize("bad_path", ["other/spos/seed0/scores.csv", "nb201/spos/scores.csv"])
def test_unparseable_or_foreign_scores_path_is_an_error(tree, bad_path, capsys):
    path = tree / bad_path
    path.parent.mkdir(parents=True, exist_ok=True)
    scores_frame("spos").to_csv(path, index=False)
    argv = correlate_args(tree)
    argv[argv.index("--scores") + 1] = str(path)
    assert main(argv) == 2
    assert str(path) in capsys.readouterr().err


def test_too_few_paired_seeds_gives_no_retraining_reliability(tree):
    gt = tree / paths.GT_RETRAIN.format(space=SPACE)
    retrain = pd.read_csv(gt)
    retrain[(retrain["seed"] == 0) | (retrain["arch_id"] == 0)].to_csv(gt, index=False)
    frame = run_correlate(tree)
    assert "retraining-reliability" not in set(frame["method"])
    assert not math.isnan(value(frame, "spos", 2, "kendall_tau")["value"])


# ----------------------------------------------- seeds, paired differences, the ceiling

N_PAIRED = 40
# method -> (kind, baseline, score noise sd; None: scores unrelated to the truth)
PAIRED_METHODS = {
    "good": ("supernet", "bad", 0.2),
    "bad": ("supernet", None, 3.0),
    "twin": ("supernet", "good", 0.2),
    "cheap_hi": ("trivial", None, 1.0),
    "cheap_lo": ("zero-cost", None, None),
}


def write_paired_tree(root: Path, seeds: int = 3) -> list[Path]:
    """40 archs with true quality = arch_id / 10; every method has `seeds` seeds whose scores
    are quality + noise of its own sd (fresh noise per seed), and a scoring.json record."""
    rng = np.random.default_rng(0)
    quality = np.arange(N_PAIRED) / 10
    retrain = pd.concat([
        pd.DataFrame({"arch_id": np.arange(N_PAIRED), "seed": 0, "test_acc": quality + 0.1 * rng.normal(size=N_PAIRED)}),
        pd.DataFrame({"arch_id": np.arange(20), "seed": 1, "test_acc": quality[:20] + 0.1 * rng.normal(size=20)}),
    ])  # fmt: skip
    gt = root / paths.GT_RETRAIN.format(space=SPACE)
    gt.parent.mkdir(parents=True, exist_ok=True)
    retrain.to_csv(gt, index=False)
    written = []
    for method, (kind, baseline, noise) in PAIRED_METHODS.items():
        for seed in range(seeds):
            score = rng.normal(size=N_PAIRED) if noise is None else quality + noise * rng.normal(size=N_PAIRED)
            frame = pd.DataFrame({"checkpoint": 0, "epoch": 1.0, "arch_id": np.arange(N_PAIRED),
                                  "arch_str": "a", "score": score})
            path = scores_path(root, method, seed)
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False)
            (path.parent / "scoring.json").write_text(json.dumps({"method": {"kind": kind, "baseline": baseline}}))
            written.append(path)
    return written


def run_paired(root: Path) -> pd.DataFrame:
    scores = write_paired_tree(root)
    output = root / "paired.csv"
    argv = ["correlate", "--space", SPACE, "--scores", *map(str, scores), "--bootstrap", "200",
            "--groundtruth", str(root / paths.GT_RETRAIN.format(space=SPACE)), "--output", str(output)]
    assert main(argv) == 0
    return pd.read_csv(output)


@pytest.fixture(scope="module")
def paired(tmp_path_factory) -> pd.DataFrame:
    return run_paired(tmp_path_factory.mktemp("paired"))


def test_seed_rows_average_the_seeds_and_say_what_the_ci_covers(paired):
    tau = paired[(paired["metric"] == "kendall_tau") & (paired["method"] == "bad")]
    per_seed = tau[tau["seed"] >= 0]
    overall = tau[tau["seed"] == -1].iloc[0]
    assert len(per_seed) == 3 and (per_seed["ci_sources"] == "architectures").all()
    assert overall["value"] == pytest.approx(per_seed["value"].mean())
    assert overall["seeds"] == 3 and overall["ci_sources"] == "architectures+seeds (n=3)"
    assert overall["ci_low"] < overall["value"] < overall["ci_high"]


def difference(frame: pd.DataFrame, method: str, other: str) -> pd.Series:
    rows = frame[(frame["method"] == method) & (frame["metric"] == f"kendall_tau_diff_vs_{other}")]
    assert len(rows) == 1
    return rows.iloc[0]


def test_paired_differences_each_way(paired):
    from harness.analysis.verdicts import difference_outcome

    better = difference(paired, "good", "bad")  # baseline
    assert better["relation"] == "baseline" and difference_outcome(better["ci_low"], better["ci_high"]) == "beats"
    worse = difference(paired, "bad", "cheap_hi")  # best cheap answer
    assert worse["relation"].startswith("best cheap") and difference_outcome(worse["ci_low"], worse["ci_high"]) == "worse"
    equal = difference(paired, "twin", "good")
    assert difference_outcome(equal["ci_low"], equal["ci_high"]) == "no detectable difference"
    taus = paired[(paired["metric"] == "kendall_tau") & (paired["seed"] == -1)].set_index("method")["value"]
    assert better["value"] == pytest.approx(taus["good"] - taus["bad"])
    assert better["ci_sources"] == "architectures (paired)+seeds (n=3 vs 3)"


def test_best_cheap_answer_is_the_highest_point_tau(paired):
    cheap = paired[paired["relation"].fillna("").str.startswith("best cheap")]
    assert set(cheap["metric"]) == {"kendall_tau_diff_vs_cheap_hi"}
    assert set(cheap["method"]) == {"good", "bad", "twin", "cheap_lo"}  # not cheap_hi against itself


def test_perfect_scorer_ceiling_row(paired):
    ceiling = paired[paired["method"] == "perfect-scorer"].iloc[0]
    assert ceiling["n"] == N_PAIRED and ceiling["ci_sources"] == "retraining noise (parametric bootstrap)"
    assert 0.8 < ceiling["value"] <= 1.0 and ceiling["ci_low"] <= ceiling["value"] <= ceiling["ci_high"]
    reliability = paired[(paired["method"] == "retraining-reliability") & (paired["metric"] == "kendall_tau")].iloc[0]
    assert reliability["n"] == 20

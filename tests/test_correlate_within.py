"""correlate's within-conv-count rows over seeds and against the baseline, with the variance
components on every seed-mean and paired-difference row: synthetic nats-tss scores where the
answer is known both ways."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from harness import paths
from harness.analysis.correlation import (CORRELATION_COLUMNS, DIFF_PREFIX, WITHIN, diff_metric,
                                          split_diff_metric)
from harness.analysis.power import COMPONENT_COLUMNS, VarianceComponents
from harness.cli import main

SPACE = "nats-tss"
N = 48
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
# method -> (baseline, seeds, what its scores know): "count" = conv count + a tie-break unrelated to
# the truth (as BN-NAS's are), "quality" = conv count + the within-stratum quality (as SPOS's are)
METHODS = {"spos": (None, 2, "quality"), "bnnas": ("spos", 3, "count"),
           "learner": ("bnnas", 3, "quality"), "conv_count": (None, 1, "exact count")}


def arch_strings(rng: np.random.Generator) -> list[str]:
    ops = rng.integers(0, 5, size=(N, 6))
    return [f"|{OPS[a[0]]}~0|+|{OPS[a[1]]}~0|{OPS[a[2]]}~1|+|{OPS[a[3]]}~0|{OPS[a[4]]}~1|{OPS[a[5]]}~2|" for a in ops]


@pytest.fixture(scope="module")
def frame(tmp_path_factory) -> pd.DataFrame:
    root = tmp_path_factory.mktemp("within")
    rng = np.random.default_rng(0)
    strings = arch_strings(rng)
    count = np.array([s.count("nor_conv") for s in strings], dtype=float)
    quality = rng.normal(size=N)
    gt = root / paths.GT_RETRAIN.format(space=SPACE)
    gt.parent.mkdir(parents=True)
    pd.concat([pd.DataFrame({"arch_id": range(N), "seed": 0, "test_acc": count + quality}),
               pd.DataFrame({"arch_id": range(20), "seed": 1, "test_acc": count[:20] + quality[:20] + 0.1}),
               ]).to_csv(gt, index=False)
    written = []
    for method, (baseline, seeds, knows) in METHODS.items():
        for seed in range(seeds):
            if knows == "quality":
                score = count + quality + 0.5 * rng.normal(size=N)
            elif knows == "count":
                score = count + 0.01 * rng.normal(size=N)
            else:
                score = count
            path = root / paths.SCORES.format(space=SPACE, method=method, seed=seed)
            path.parent.mkdir(parents=True)
            pd.DataFrame({"checkpoint": 0, "epoch": 1.0, "arch_id": range(N), "arch_str": strings,
                          "score": score}).to_csv(path, index=False)
            kind = "trivial" if method == "conv_count" else "supernet"
            (path.parent / "scoring.json").write_text(json.dumps({"method": {"kind": kind, "baseline": baseline}}))
            written.append(path)
    output = root / "correlations.csv"
    assert main(["correlate", "--space", SPACE, "--scores", *map(str, written), "--groundtruth", str(gt),
                 "--output", str(output), "--bootstrap", "300"]) == 0
    return pd.read_csv(output)


def row(frame: pd.DataFrame, method: str, metric: str, seed: int = -1) -> pd.Series:
    rows = frame[(frame["method"] == method) & (frame["metric"] == metric) & (frame["seed"] == seed)]
    assert len(rows) == 1, (method, metric, seed, len(rows))
    return rows.iloc[0]


def test_columns_end_with_the_variance_components(frame):
    assert list(frame.columns) == CORRELATION_COLUMNS
    assert CORRELATION_COLUMNS[-len(COMPONENT_COLUMNS):] == COMPONENT_COLUMNS


def test_within_seed_mean_rows_average_the_seeds(frame):
    for method in ("spos", "bnnas", "learner"):
        seeds = METHODS[method][1]
        mean = row(frame, method, WITHIN)
        per_seed = [row(frame, method, WITHIN, seed)["value"] for seed in range(seeds)]
        assert mean["value"] == pytest.approx(np.mean(per_seed)) and mean["seeds"] == seeds
        assert mean["ci_low"] < mean["value"] < mean["ci_high"]
        assert mean["ci_sources"] == f"architectures+seeds (n={seeds})"
    assert row(frame, "learner", WITHIN)["ci_low"] > 0.3  # knows the within-stratum order
    bnnas = row(frame, "bnnas", WITHIN)
    assert bnnas["ci_low"] < 0 < bnnas["ci_high"]  # a tie-break knows nothing within a stratum


def test_within_differences_against_the_baseline_each_way(frame):
    worse = row(frame, "bnnas", diff_metric(WITHIN, "spos"))
    assert worse["relation"] == "baseline" and worse["ci_high"] < 0
    assert worse["value"] == pytest.approx(row(frame, "bnnas", WITHIN)["value"] - row(frame, "spos", WITHIN)["value"])
    assert worse["ci_sources"] == "architectures (paired)+seeds (n=3 vs 2)" and worse["seeds_other"] == 2
    better = row(frame, "learner", diff_metric(WITHIN, "bnnas"))
    assert better["ci_low"] > 0
    # only against the baseline: not against the best cheap answer
    cheap = frame[frame["relation"].fillna("").str.startswith("best cheap")]
    assert set(cheap["metric"]) == {DIFF_PREFIX + "conv_count"}


def test_components_on_seed_mean_and_difference_rows_only(frame):
    summary = frame[frame["method"].isin(METHODS) & (frame["seed"] == -1)]
    defined = summary[~((summary["method"] == "conv_count") & (summary["metric"] == WITHIN))]  # NaN: all ties
    assert defined[COMPONENT_COLUMNS].notna().all().all()
    assert frame[frame["seed"] >= 0][COMPONENT_COLUMNS].isna().all().all()
    others = frame[~frame["method"].isin(METHODS)]  # retraining reliability, perfect scorer
    assert len(others) and others[COMPONENT_COLUMNS].isna().all().all()
    single = summary[summary["relation"].isna()]
    assert (single["seeds_other"] == 0).all() and (single["var_seed_other"].dropna() == 0).all()
    # the components' variance at the run's size is of the order of the CI's (normal approximation)
    diff = row(frame, "bnnas", diff_metric(WITHIN, "spos"))
    half = VarianceComponents.from_row(diff).half_width()
    assert 0.5 < half / ((diff["ci_high"] - diff["ci_low"]) / 2) < 2


def test_difference_metric_names_round_trip():
    assert split_diff_metric(diff_metric(WITHIN, "spos")) == (WITHIN, "spos")
    assert split_diff_metric("kendall_tau_diff_vs_bnnas-fairnas") == ("kendall_tau", "bnnas-fairnas")
    assert split_diff_metric("kendall_tau") is None and split_diff_metric("_diff_vs_x") is None
    assert diff_metric("kendall_tau", "spos").startswith(DIFF_PREFIX)

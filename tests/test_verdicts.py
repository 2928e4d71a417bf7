"""Each verdict rule on synthetic inputs, in each direction, and verdicts_table on a small tree."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness import paths
from harness.analysis import verdicts as v
from harness.analysis.verdicts import CONFIRMED, INCONCLUSIVE, REFUTED

SPACE = "nats-tss"


def test_difference_outcome_each_way():
    assert v.difference_outcome(0.01, 0.2) == "beats"
    assert v.difference_outcome(-0.3, -0.02) == "worse"
    assert v.difference_outcome(-0.1, 0.1) == "no detectable difference"


@pytest.mark.parametrize("low, high, expected", [
    (-0.04, 0.2, CONFIRMED),  # loses at most 0.04 < margin 0.05
    (-0.4, -0.1, REFUTED),  # worse by more than the margin
    (-0.2, 0.1, INCONCLUSIVE),  # spans the margin
    (float("nan"), float("nan"), INCONCLUSIVE),
])  # fmt: skip
def test_ranking_rule(low, high, expected):
    frame = pd.DataFrame([{"space": SPACE, "ground_truth": "retrain", "method": "bnnas", "seed": -1, "n": 32,
                           "metric": "kendall_tau_diff_vs_spos", "value": (low + high) / 2, "ci_low": low,
                           "ci_high": high, "ci_sources": "architectures (paired)+seeds (n=3 vs 2)",
                           "relation": "baseline"}])
    (row,) = v.ranking_verdicts(frame)
    assert row["verdict"] == expected and row["claim"] == v.RANKING_CLAIM and "bnnas - spos" in row["scope"]


@pytest.mark.parametrize("space, extension", [("nats-sss", True), ("nats-tss", False)])
def test_ranking_verdict_names_the_width_space_extension(space, extension):
    frame = pd.DataFrame([{"space": space, "ground_truth": "retrain", "method": "bnnas", "seed": -1, "n": 24,
                           "metric": "kendall_tau_diff_vs_spos", "value": -0.4, "ci_low": -0.8, "ci_high": -0.1,
                           "ci_sources": "architectures", "relation": "baseline"}])
    (row,) = v.ranking_verdicts(frame)
    assert row["verdict"] == REFUTED
    assert ("harness extension to width search" in row["reason"]) is extension


def test_ranking_rule_ignores_ablations_and_cheap_comparisons():
    base = {"space": SPACE, "ground_truth": "retrain", "seed": -1, "n": 32, "value": 0.1, "ci_low": 0.0,
            "ci_high": 0.2, "ci_sources": "architectures"}
    frame = pd.DataFrame([{**base, "method": "bnnas-beta", "metric": "kendall_tau_diff_vs_spos", "relation": "baseline"},
                          {**base, "method": "bnnas", "metric": "kendall_tau_diff_vs_params",
                           "relation": "best cheap answer (highest point tau)"}])
    assert v.ranking_verdicts(frame) == []


def costs(train: dict[str, list[float]], per_arch: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for method, baseline in (("spos", None), ("bnnas", "spos")):
        for seed, (t, a) in enumerate(zip(train[method], per_arch[method])):
            rows.append({"space": SPACE, "method": method, "seed": seed, "baseline": baseline,
                         "train_time_s": t, "time_per_arch_s": a})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("bnnas_train, expected", [
    ([2.0, 2.1, 1.9], CONFIRMED),  # ~15x
    ([6.0, 6.3, 5.8], REFUTED),  # ~5x
    ([2.0, 6.0, 3.0], INCONCLUSIVE),  # 5x-15x: CI spans 10
    ([2.0], INCONCLUSIVE),  # one seed: no CI
])  # fmt: skip
def test_train_speedup_rule(bnnas_train, expected):
    n = len(bnnas_train)
    table = costs({"spos": [30.0, 31.0, 29.0][:n], "bnnas": bnnas_train},
                  {"spos": [1.0] * n, "bnnas": [1e-6] * n})
    train = [r for r in v.speedup_verdicts(table) if r["claim"] == v.TRAIN_CLAIM]
    assert len(train) == 1 and train[0]["verdict"] == expected
    if n == 1:
        assert "one seed" in train[0]["reason"] and math.isnan(train[0]["ci_low"])


@pytest.mark.parametrize("bnnas_per_arch, expected", [
    ([1e-7, 1.1e-7, 0.9e-7], CONFIRMED),  # ~10,000,000x
    ([1e-4, 1.1e-4, 0.9e-4], INCONCLUSIVE),  # ~10,000x: not comparable with the paper's scale
])  # fmt: skip
def test_eval_speedup_rule_is_never_refuted_at_this_scale(bnnas_per_arch, expected):
    table = costs({"spos": [30.0] * 3, "bnnas": [2.0] * 3}, {"spos": [1.0, 1.05, 0.95], "bnnas": bnnas_per_arch})
    (row,) = [r for r in v.speedup_verdicts(table) if r["claim"] == v.EVAL_CLAIM]
    assert row["verdict"] == expected
    assert row["measured"] == pytest.approx(1.0 / np.exp(np.mean(np.log(bnnas_per_arch))), rel=0.05)


@pytest.mark.parametrize("bnnas_top1, expected", [
    ([85.1, 85.3, 85.2], CONFIRMED),  # +0.2 points, tight
    ([80.0, 80.5, 79.8], REFUTED),  # about -5 points
    ([83.0, 87.0, 85.0], INCONCLUSIVE),  # differences scatter over the margin
    ([85.2], INCONCLUSIVE),  # one seed
])  # fmt: skip
def test_search_rule(bnnas_top1, expected):
    n = len(bnnas_top1)
    rows = [{"space": SPACE, "method": "spos", "seed": s, "baseline": None, "top1_pct": t}
            for s, t in enumerate([85.0, 85.1, 84.9][:n])]
    rows += [{"space": SPACE, "method": "bnnas", "seed": s, "baseline": "spos", "top1_pct": t}
             for s, t in enumerate(bnnas_top1)]
    (row,) = v.search_verdicts(pd.DataFrame(rows))
    assert row["verdict"] == expected
    if n == 1:
        assert row["reason"].startswith("one seed")


def early_bird_scores(first: np.ndarray, final: np.ndarray) -> dict[tuple[str, str], dict[int, pd.DataFrame]]:
    runs = {}
    for seed in range(first.shape[0]):
        n = first.shape[1]
        runs[seed] = pd.DataFrame({"checkpoint": np.repeat([0, 4], n), "epoch": np.repeat([0.2, 1.0], n),
                                   "arch_id": np.tile(np.arange(n), 2), "score": np.concatenate([first[seed], final[seed]])})
    return {(SPACE, "bnnas"): runs}


def test_early_bird_rule_each_way():
    rng = np.random.default_rng(0)
    final = rng.normal(size=(3, 40))
    stable = v.early_bird_verdicts(early_bird_scores(0.5 * final + 0.005 * rng.normal(size=final.shape), final))
    unstable = v.early_bird_verdicts(early_bird_scores(rng.normal(size=final.shape), final))
    counts = rng.integers(0, 10, size=final.shape).astype(float)  # gammas still ~1: scores ~ op counts
    frozen = v.early_bird_verdicts(early_bird_scores(counts, counts + 1e-4 * rng.normal(size=counts.shape)))
    assert stable[0]["verdict"] == CONFIRMED and stable[0]["ci_low"] > v.STABLE_TAU
    assert unstable[0]["verdict"] == REFUTED
    assert frozen[0]["verdict"] == INCONCLUSIVE and "has not moved" in frozen[0]["reason"]
    middling = 0.9 * final + 0.29 * rng.normal(size=final.shape)  # tau ~0.8 with a wide CI
    assert v.early_bird_verdicts(early_bird_scores(middling, final))[0]["verdict"] == INCONCLUSIVE


def test_train_speedup_compares_cpu_time_when_every_run_has_it():
    """Wall times that a loaded host scattered (ratios 3x-45x: inconclusive) beside CPU times
    that say ~15x on every seed (confirmed): the verdict follows the CPU time and names it; a
    run without CPU time (trained on a GPU, or an older record) puts every run back on wall time."""
    table = costs({"spos": [30.0, 31.0, 29.0], "bnnas": [10.0, 0.7, 2.0]}, {"spos": [1.0] * 3, "bnnas": [1e-6] * 3})
    table["train_cpu_time_s"] = table["method"].map({"spos": 45.0, "bnnas": 3.0}) + 0.1 * table["seed"]
    assert v.train_time_column(table) == "train_cpu_time_s"
    (train,) = [r for r in v.speedup_verdicts(table) if r["claim"] == v.TRAIN_CLAIM]
    assert train["verdict"] == CONFIRMED and "train_cpu_time_s" in train["scope"]
    assert train["measured"] == pytest.approx(np.exp(np.mean(np.log([45 / 3, 45.1 / 3.1, 45.2 / 3.2]))))
    table.loc[table["method"].eq("spos") & table["seed"].eq(1), "train_cpu_time_s"] = np.nan
    assert v.train_time_column(table) == "train_time_s"
    (train,) = [r for r in v.speedup_verdicts(table) if r["claim"] == v.TRAIN_CLAIM]
    assert train["verdict"] == INCONCLUSIVE and "train_time_s" in train["scope"]


def test_verdicts_table_reads_a_results_tree(tmp_path: Path):
    rng = np.random.default_rng(1)
    for method, baseline, train_s, per_arch, top1 in (("spos", None, 30.0, 1.0, 85.0),
                                                     ("bnnas", "spos", 2.0, 1e-4, 85.2)):
        for seed in range(2):
            where = {"space": SPACE, "method": method, "seed": seed}
            record = {"method": {"baseline": baseline}}
            train = {"train_time_s": train_s * (1 + 0.01 * seed), "train_cpu_time_s": 1.5 * train_s, "device": "cpu"}
            for pattern, extra in ((paths.TRAIN_RECORD, train),
                                   (paths.SCORING_RECORD, {"time_per_arch_s": per_arch}), (paths.SEARCH, {})):
                path = tmp_path / pattern.format(**where)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps({**record, **extra}))
            pd.DataFrame({"rank": [0, 1], "test_acc": [top1 / 100 + 0.001 * seed, 0.5]}).to_csv(
                tmp_path / paths.FINAL.format(**where), index=False)
            final = rng.normal(size=20)
            pd.DataFrame({"checkpoint": np.repeat([0, 1], 20), "epoch": np.repeat([0.5, 1.0], 20),
                          "arch_id": np.tile(np.arange(20), 2), "arch_str": "a",
                          "score": np.concatenate([final + 0.01, final])}).to_csv(
                tmp_path / paths.SCORES.format(**where), index=False)
    pd.DataFrame([{"space": SPACE, "ground_truth": "retrain", "method": "bnnas", "seed": -1, "checkpoint": 1,
                   "n": 20, "metric": "kendall_tau_diff_vs_spos", "value": 0.1, "ci_low": 0.0, "ci_high": 0.2,
                   "ci_sources": "architectures (paired)+seeds (n=2 vs 2)", "relation": "baseline"}]).to_csv(
        tmp_path / paths.CORRELATIONS.format(space=SPACE), index=False)
    table = v.verdicts_table(tmp_path)
    assert list(table.columns) == v.VERDICT_COLUMNS
    by_claim = table.set_index("claim")
    assert by_claim.loc[v.RANKING_CLAIM, "verdict"] == CONFIRMED
    assert by_claim.loc[v.TRAIN_CLAIM, "verdict"] == CONFIRMED  # ~15x over 2 seeds
    assert "train_cpu_time_s" in by_claim.loc[v.TRAIN_CLAIM, "scope"]
    assert by_claim.loc[v.EVAL_CLAIM, "verdict"] == INCONCLUSIVE  # 10,000x
    assert by_claim.loc[v.SEARCH_CLAIM, "measured"] == pytest.approx(0.2)
    assert by_claim.loc[v.EARLY_BIRD_CLAIM, "scope"].startswith(f"{SPACE}: bnnas scores at checkpoint 0 vs 1")
    # a supernet trained on a GPU: its process CPU time is not the work, so the speed-up falls back to wall time
    gpu_record = tmp_path / paths.TRAIN_RECORD.format(space=SPACE, method="spos", seed=1)
    gpu_record.write_text(json.dumps({**json.loads(gpu_record.read_text()), "device": "cuda:0"}))
    missing = v.load_costs(tmp_path).set_index(["method", "seed"])["train_cpu_time_s"].isna()
    assert missing[missing].index.tolist() == [("spos", 1)]
    assert "train_time_s" in v.verdicts_table(tmp_path).set_index("claim").loc[v.TRAIN_CLAIM, "scope"]
    # the report passes its manifest's files: runs on disk that the config no longer plans reach no verdict
    assert v.verdicts_table(tmp_path, files=set())["reason"].str.startswith("not measured").all()


@pytest.mark.parametrize("determined, caveat", [((True, True), True), ((True, False), False)])
def test_ranking_verdict_says_when_bnnas_scores_are_conv_count(tmp_path: Path, determined, caveat):
    """The ranking verdict's reason names conv count when every BN-NAS seed's final checkpoint was
    conv-count determined (train.json diagnostics), and only then."""
    for seed, flag in enumerate(determined):
        path = tmp_path / paths.TRAIN_RECORD.format(space=SPACE, method="bnnas", seed=seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"checkpoints": [{"checkpoint": 0, "conv_count_determined": True},
                                                    {"checkpoint": 1, "conv_count_determined": flag}]}))
    pd.DataFrame([{"space": SPACE, "ground_truth": "retrain", "method": "bnnas", "seed": -1, "checkpoint": 1,
                   "n": 20, "metric": "kendall_tau_diff_vs_spos", "value": 0.1, "ci_low": 0.0, "ci_high": 0.2,
                   "ci_sources": "architectures", "relation": "baseline"}]).to_csv(
        tmp_path / paths.CORRELATIONS.format(space=SPACE), index=False)
    row = v.verdicts_table(tmp_path).set_index("claim").loc[v.RANKING_CLAIM]
    assert row["verdict"] == CONFIRMED
    assert ("conv-count determined" in row["reason"]) is caveat


def test_verdicts_table_of_an_empty_tree_says_what_each_claim_needs(tmp_path: Path):
    table = v.verdicts_table(tmp_path)
    assert list(table["claim"]) == list(v.NEEDS)
    assert (table["verdict"] == INCONCLUSIVE).all() and table["reason"].str.startswith("not measured").all()


def test_the_report_writes_verdicts_csv(tmp_path: Path):
    from harness.report.page import build_report

    build_report(tmp_path, tmp_path / "report",
                 {"run_config": paths.RUN_CONFIG, "dataset_meta": paths.DATASET_META, "spaces": []})
    written = pd.read_csv(tmp_path / paths.REPORT_VERDICTS)
    assert list(written.columns) == v.VERDICT_COLUMNS and len(written) == len(v.NEEDS)


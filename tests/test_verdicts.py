"""The verdict rules and the headline rule on synthetic results whose answer is known, each way:
which rows count (same task, not transfer), which row is the headline, what each claim's rule
says, and that every inconclusive headline names the run that would decide it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.analysis import claims as C
from harness.analysis import verdicts as v
from harness.analysis.verdicts import CONFIRMED, INCONCLUSIVE, NOT_JUDGED, REFUTED
from harness.results.model import Results, Run, SpaceResults
from harness.results.records import ScoringRecord, TrainingRecord

SPACE = "nats-tss"
BN = {"family": "bn-nas", "baseline": "spos", "kind": "supernet", "sampler": "uniform", "trainable": "bn",
      "recipe": "official", "scorer": "bn_indicator", "epoch_fraction": 0.1}
SPOS = {"family": "spos", "baseline": None, "kind": "supernet", "sampler": "uniform", "trainable": "all",
        "recipe": "spos", "scorer": "validation_accuracy", "epoch_fraction": 1.0}


def run(name: str, parts: dict, seed: int = 0, *, train_s: float = 10.0, cpu_s: float | None = None,
        per_arch: float = 1.0, scores: pd.DataFrame | None = None, top1: float | None = None,
        checkpoints: list[dict] | None = None) -> Run:
    train = {"method": {"name": name, **parts}, "steps": 100, "epochs": 1.0, "train_time_s": train_s,
             "train_cpu_time_s": cpu_s, "device": "cpu",
             "checkpoints": checkpoints or [{"checkpoint": 0, "step": 50}, {"checkpoint": 1, "step": 100}]}
    scoring = {"method": {"name": name, **parts}, "n_archs": 20, "time_per_arch_s": per_arch,
               "score_time_s": 20 * per_arch}
    final = None if top1 is None else pd.DataFrame({"rank": [0], "test_acc": [top1 / 100], "flops_M": [1.0],
                                                     "params_M": [0.1]})
    return Run(method=name, seed=seed, train=TrainingRecord.of(train, name), scoring=ScoringRecord.of(scoring, name),
               scores=scores, final=final)


def diff_row(method: str, truth: str, value: float, low: float, high: float, n: int = 24,
             metric: str = "kendall_tau", other: str = "spos") -> dict:
    return {"space": SPACE, "method": method, "seed": -1, "checkpoint": 1, "epoch": 1.0, "ground_truth": truth,
            "n": n, "metric": f"{metric}_diff_vs_{other}", "value": value, "ci_low": low, "ci_high": high,
            "seeds": 3, "ci_sources": "architectures (paired)+seeds (n=3 vs 2)", "relation": "baseline"}


def results(runs: list[Run], correlations: list[dict] | None = None, dataset: str = "fashion-mnist",
            methods: list[str] | None = None, scoring: dict | None = None) -> Results:
    space = SpaceResults(name=SPACE, archs=None, runs=runs, retrain=None,
                         correlations=pd.DataFrame(correlations) if correlations else None)
    config = {"methods": methods or list(dict.fromkeys(r.method for r in runs)), "device": "cpu",
              "scoring": scoring or {"recalibration_batches": 10, "recalibration_batch_size": 128,
                                     "validation_images": 2000}}
    return Results(root=Path("."), manifest={}, config=config, dataset={"dataset": dataset}, spaces=[space])


def no_decider(detail, results):  # the projection is tested on its own (test_power); here: the rules
    return {"text": "(projection)"}


def table(res: Results) -> pd.DataFrame:
    return v.verdicts_table(res, decide=no_decider)


def headline(frame: pd.DataFrame, claim: C.Claim) -> pd.Series:
    rows = frame[(frame["claim"] == claim.text) & frame["headline"]]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# ------------------------------------------------------------------------------------ rules


@pytest.mark.parametrize("low, high, expected", [
    (-0.04, 0.2, CONFIRMED),  # loses at most 0.04 < margin 0.05
    (-0.4, -0.1, REFUTED),  # worse by more than the margin
    (-0.2, 0.1, INCONCLUSIVE),  # spans the margin
    (float("nan"), float("nan"), INCONCLUSIVE),
])  # fmt: skip
def test_non_inferiority_each_way(low, high, expected):
    assert v.non_inferiority(low, high, C.TAU_MARGIN) == expected


@pytest.mark.parametrize("low, high, expected", [(11.0, 20.0, CONFIRMED), (3.0, 9.0, REFUTED), (5.0, 20.0, INCONCLUSIVE)])
def test_threshold_each_way(low, high, expected):
    assert v.above_threshold(low, high, C.TRAIN_SPEEDUP) == expected


def test_difference_outcome_each_way():
    assert v.difference_outcome(0.01, 0.2) == "beats"
    assert v.difference_outcome(-0.3, -0.02) == "worse"
    assert v.difference_outcome(-0.1, 0.1) == "no detectable difference"


# ------------------------------------------------------------- headlines: one row per claim


def test_every_claim_has_exactly_one_headline_even_with_nothing_measured():
    frame = table(results([]))
    assert list(frame[frame["headline"]]["claim"]) == [claim.text for claim in C.CLAIMS]
    assert (frame["verdict"] == INCONCLUSIVE).all() and frame["sentence"].str.startswith("Not measured").all()


def test_a_transfer_truth_is_reported_but_never_decides():
    """NATS-Bench CIFAR-10 (transfer: the supernets trained on Fashion-MNIST) says confirmed on 200
    archs; the retrained truth (same task) says refuted on 24: the headline is the refutation."""
    res = results([run("bnnas", BN), run("spos", SPOS)], [
        diff_row("bnnas", "all-nats-bench:cifar10", 0.5, 0.35, 0.65, n=200),
        diff_row("bnnas", "retrain", -0.4, -0.7, -0.1, n=24)])
    frame = table(res)
    top = headline(frame, C.RANKING)
    assert top["verdict"] == REFUTED and top["ground_truth"] == "retrain" and top["truth_task"] == "same task"
    transfer = frame[(frame["claim"] == C.RANKING.text) & (frame["ground_truth"] == "all-nats-bench:cifar10")].iloc[0]
    assert transfer["verdict"] == NOT_JUDGED and not transfer["counted"] and transfer["truth_task"] == "transfer"
    assert "transfer" in transfer["evidence"]


def test_a_same_task_benchmark_truth_decides_with_its_larger_sample():
    """A run on CIFAR-10: NATS-Bench CIFAR-10 is the same task and has the most architectures,
    so it is the headline (confirmed), not the 24 retrained ones (inconclusive)."""
    res = results([run("bnnas", BN), run("spos", SPOS)], [
        diff_row("bnnas", "all-nats-bench:cifar10", 0.05, 0.01, 0.09, n=15625),
        diff_row("bnnas", "nats-bench:cifar100", -0.5, -0.6, -0.4, n=24),  # another task: not counted
        diff_row("bnnas", "retrain", 0.0, -0.3, 0.3, n=24)], dataset="cifar10")
    frame = table(res)
    top = headline(frame, C.RANKING)
    assert top["verdict"] == CONFIRMED and top["ground_truth"] == "all-nats-bench:cifar10"
    assert not frame[frame["ground_truth"] == "nats-bench:cifar100"]["counted"].any()


def test_only_transfer_truths_give_an_inconclusive_headline_that_says_why():
    res = results([run("bnnas", BN), run("spos", SPOS)], [diff_row("bnnas", "nats-bench:cifar10", 0.5, 0.3, 0.7)])
    top = headline(table(res), C.RANKING)
    assert top["verdict"] == INCONCLUSIVE and "transfer" in top["sentence"] and not top["counted"]
    assert top["would_decide"]


def test_the_paper_setting_is_the_headline_and_a_variant_is_judged_in_the_details():
    """A method_variants copy of bnnas (its recorded family is bn-nas) gets its own detail row;
    the headline stays with the paper's own setting, bnnas, although the variant has more archs."""
    variant = {**BN, "epoch_fraction": 3.0}
    res = results([run("bnnas", BN), run("bnnas-budget-300pct", variant), run("spos", SPOS)], [
        diff_row("bnnas", "retrain", -0.02, -0.04, 0.01),
        diff_row("bnnas-budget-300pct", "retrain", -0.5, -0.7, -0.3, n=48)],
        methods=["spos", "bnnas-budget-300pct", "bnnas"])
    frame = table(res)
    assert headline(frame, C.RANKING)["method"] == "bnnas"
    judged = frame[(frame["claim"] == C.RANKING.text) & (frame["method"] == "bnnas-budget-300pct")].iloc[0]
    assert judged["verdict"] == REFUTED and judged["counted"]


def test_a_width_search_extension_is_reported_not_counted():
    res = results([run("bnnas", BN), run("spos", SPOS)], [diff_row("bnnas", "retrain", -0.4, -0.8, -0.1)])
    res.spaces[0].name = "nats-sss"
    res.spaces[0].correlations["space"] = "nats-sss"
    frame = table(res)
    row = frame[frame["claim"] == C.RANKING.text].iloc[-1]
    assert not row["counted"] and "width search" in row["evidence"]


@pytest.mark.parametrize("determined, caveat", [((True, True), True), ((True, False), False)])
def test_ranking_sentence_says_when_bnnas_scores_are_conv_count(determined, caveat):
    runs = [run("bnnas", BN, seed, checkpoints=[{"checkpoint": 0}, {"checkpoint": 1, "conv_count_determined": flag}])
            for seed, flag in enumerate(determined)]
    res = results(runs + [run("spos", SPOS)], [diff_row("bnnas", "retrain", 0.1, 0.0, 0.2)])
    top = headline(table(res), C.RANKING)
    assert top["verdict"] == CONFIRMED and ("conv-count determined" in top["sentence"]) is caveat


# ------------------------------------------------------------------ beyond conv count


def own_within_row(method: str, value: float, low: float, high: float) -> dict:
    """A method's own seed-mean tau within conv count (no relation), at diff_row's checkpoint."""
    return {"space": SPACE, "method": method, "seed": -1, "checkpoint": 1, "epoch": 1.0, "ground_truth": "retrain",
            "n": 24, "metric": v.WITHIN_METRIC, "value": value, "ci_low": low, "ci_high": high, "seeds": 3,
            "ci_sources": "architectures+seeds (n=3)"}


@pytest.mark.parametrize("value, low, high, own, expected", [
    (-0.45, -0.7, -0.2, (0.1, -0.2, 0.4), REFUTED),  # the indicator knows less than SPOS beyond conv count
    (0.02, -0.03, 0.08, (0.45, 0.2, 0.7), CONFIRMED),  # as much as SPOS, and itself above 0
    (0.02, -0.03, 0.08, (0.01, -0.3, 0.3), INCONCLUSIVE),  # as much as SPOS, but neither shown to know anything
    (0.02, -0.03, 0.08, None, INCONCLUSIVE),  # its own row missing
    (-0.1, -0.4, 0.2, (0.45, 0.2, 0.7), INCONCLUSIVE),
])  # fmt: skip
def test_beyond_conv_count_claim_each_way(value, low, high, own, expected):
    rows = [diff_row("bnnas", "retrain", 0.0, -0.3, 0.3), diff_row("bnnas", "retrain", value, low, high,
                                                                    metric=v.WITHIN_METRIC)]
    res = results([run("bnnas", BN), run("spos", SPOS)], rows + ([own_within_row("bnnas", *own)] if own else []))
    top = headline(table(res), C.BEYOND_CONV)
    assert top["verdict"] == expected and top["measured"] == value and "within conv count" in top["sentence"]
    if own is not None and expected != REFUTED:
        assert ("does not lie above 0" in top["sentence"]) is (own[1] <= 0)


def test_a_difference_without_a_finite_value_or_ci_is_not_counted():
    """Within-count tau is undefined when scores tie inside every stratum: such a row (here the larger,
    so otherwise the headline) is reported, not counted; the defined row decides."""
    res = results([run("bnnas", BN), run("spos", SPOS)], [
        diff_row("bnnas", "retrain", 0.1, 0.0, 0.2, n=24),
        diff_row("bnnas", "retrain", float("nan"), float("nan"), float("nan"), n=200)])
    rows = table(res)
    undefined = rows[(rows["claim"] == C.RANKING.text) & (rows["n_archs"] == 200)].iloc[0]
    assert not undefined["counted"] and undefined["verdict"] == NOT_JUDGED and "undefined" in undefined["evidence"]
    top = headline(rows, C.RANKING)
    assert top["verdict"] == CONFIRMED and top["n_archs"] == 24


# ----------------------------------------------------------------------- speed-ups


@pytest.mark.parametrize("bn_cpu, expected", [
    ([2.0, 2.1, 1.9], CONFIRMED),  # ~15x
    ([6.0, 6.3, 5.8], REFUTED),  # ~5x
])  # fmt: skip
def test_train_speedup_each_way(bn_cpu, expected):
    runs = [run("spos", SPOS, s, train_s=60.0, cpu_s=c) for s, c in enumerate([30.0, 31.0, 29.0])]
    runs += [run("bnnas", BN, s, train_s=9.0, cpu_s=c) for s, c in enumerate(bn_cpu)]
    top = headline(table(results(runs)), C.TRAIN)
    assert top["verdict"] == expected and "CPU seconds" in top["sentence"] and "train_cpu_time_s" in top["scope"]


def test_train_speedup_falls_back_to_wall_time_when_a_run_lacks_cpu_time():
    runs = [run("spos", SPOS, 0, train_s=60.0, cpu_s=30.0), run("bnnas", BN, 0, train_s=4.0, cpu_s=None)]
    assert "train_time_s" in headline(table(results(runs)), C.TRAIN)["scope"]


@pytest.mark.parametrize("bn_per_arch, expected", [
    ([1e-4, 1.1e-4, 0.9e-4], INCONCLUSIVE),  # 10,000x: a lower bound below 600,000x refutes nothing
    ([1e-7, 1.1e-7, 0.9e-7], CONFIRMED),  # 1e7x even with 10x fewer images than the paper
])  # fmt: skip
def test_eval_speedup_at_a_small_protocol_is_a_lower_bound(bn_per_arch, expected):
    """2,000 + 1,280 images per arch here vs 33,600 in the paper: the measured ratio is the counted
    row (it can confirm, never refute); the linear projection (x10.2) is reported, not counted."""
    runs = [run("spos", SPOS, s, per_arch=1.0) for s in range(3)]
    runs += [run("bnnas", BN, s, per_arch=p) for s, p in enumerate(bn_per_arch)]
    frame = table(results(runs))
    rows = frame[(frame["claim"] == C.EVAL.text) & ~frame["headline"]]
    projected = rows[~rows["counted"]].iloc[0]
    top = headline(frame, C.EVAL)
    assert top["verdict"] == expected and "lower bound" in top["evidence"]
    assert projected["verdict"] == NOT_JUDGED and "projected" in projected["evidence"]
    assert projected["measured"] == pytest.approx(top["measured"] * C.PAPER_EVAL_IMAGES / 3280)


def test_eval_speedup_at_the_papers_protocol_counts_as_measured():
    runs = [run("spos", SPOS, s, per_arch=1.0) for s in range(3)]
    runs += [run("bnnas", BN, s, per_arch=1e-7) for s in range(3)]
    paper = {"recalibration_batches": 200, "recalibration_batch_size": 128, "validation_images": 8000}
    top = headline(table(results(runs, scoring=paper)), C.EVAL)
    assert top["verdict"] == CONFIRMED and "measured at the paper's protocol" in top["evidence"]


# ---------------------------------------------------------------------------- search


@pytest.mark.parametrize("bn_top1, expected", [
    ([85.1, 85.3, 85.2], CONFIRMED),  # +0.2 points, tight
    ([80.0, 80.5, 79.8], REFUTED),  # about -5 points
    ([83.0, 87.0, 85.0], INCONCLUSIVE),  # differences scatter over the margin
    ([85.2], INCONCLUSIVE),  # one seed
])  # fmt: skip
def test_search_rule_each_way(bn_top1, expected):
    runs = [run("spos", SPOS, s, top1=t) for s, t in enumerate([85.0, 85.1, 84.9][:len(bn_top1)])]
    runs += [run("bnnas", BN, s, top1=t) for s, t in enumerate(bn_top1)]
    top = headline(table(results(runs)), C.SEARCH)
    assert top["verdict"] == expected
    if len(bn_top1) == 1:
        assert "one seed" in top["sentence"]


# ------------------------------------------------------------------------- early bird


def scores_at(first: np.ndarray, final: np.ndarray) -> pd.DataFrame:
    n = first.size
    return pd.DataFrame({"checkpoint": np.repeat([0, 1], n), "epoch": np.repeat([0.5, 1.0], n),
                         "arch_id": np.tile(np.arange(n), 2), "arch_str": "a",
                         "score": np.concatenate([first, final])})


def test_early_bird_is_judged_on_the_largest_budget_whose_scores_moved():
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 10, size=40).astype(float)  # gammas still ~1: scores ~ op counts, unmoved
    final = rng.normal(size=40)
    runs = [run("bnnas", BN, s, scores=scores_at(counts, counts + 1e-5 * rng.normal(size=40))) for s in range(2)]
    runs += [run("bnnas-budget-100pct", {**BN, "epoch_fraction": 1.0}, s,
                 scores=scores_at(final + 0.05 * rng.normal(size=40), final)) for s in range(2)]
    runs += [run("bnnas-budget-300pct", {**BN, "epoch_fraction": 3.0}, s,
                 scores=scores_at(rng.normal(size=40), final)) for s in range(2)]  # moved, unstable
    runs += [run("bnnas-budget-900pct", {**BN, "epoch_fraction": 9.0}, s,
                 scores=scores_at(counts, counts + 1e-6)) for s in range(2)]  # largest, but never moved
    frame = table(results(runs + [run("spos", SPOS)]))
    top = headline(frame, C.EARLY_BIRD)
    assert top["method"] == "bnnas-budget-300pct" and top["verdict"] == REFUTED
    stable = frame[(frame["claim"] == C.EARLY_BIRD.text) & (frame["method"] == "bnnas-budget-100pct")].iloc[0]
    assert stable["verdict"] == CONFIRMED and stable["ci_low"] > C.STABLE_TAU
    frozen = frame[(frame["claim"] == C.EARLY_BIRD.text) & (frame["method"] == "bnnas")].iloc[0]
    assert not frozen["counted"] and "did not move" in frozen["evidence"]


def test_early_bird_with_no_run_that_moved_is_inconclusive_with_the_reason():
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 10, size=30).astype(float)
    runs = [run("bnnas", BN, s, scores=scores_at(counts, counts + 1e-5)) for s in range(2)]
    top = headline(table(results(runs + [run("spos", SPOS)])), C.EARLY_BIRD)
    assert top["verdict"] == INCONCLUSIVE and "did not move" in top["sentence"]


def test_early_bird_with_a_nan_score_is_undefined_not_unmoved():
    rng = np.random.default_rng(2)
    first, final = rng.normal(size=30), rng.normal(size=30)
    final[3] = np.nan  # a diverged score: the ranking is undefined, not "did not move"
    runs = [run("bnnas", BN, s, scores=scores_at(first, final)) for s in range(2)]
    rows = table(results(runs + [run("spos", SPOS)]))
    row = rows[(rows["claim"] == C.EARLY_BIRD.text) & ~rows["headline"]].iloc[0]
    assert not row["counted"] and "undefined" in row["evidence"] and "not finite" in row["sentence"]
    assert headline(rows, C.EARLY_BIRD)["verdict"] == INCONCLUSIVE


# --------------------------------------------------------------- what would decide it


def test_every_inconclusive_headline_names_what_would_decide_it():
    res = results([run("bnnas", BN, top1=85.0), run("spos", SPOS, top1=85.0)],
                  [diff_row("bnnas", "retrain", 0.0, -0.3, 0.3)])
    frame = table(res)
    open_claims = frame[frame["headline"] & (frame["verdict"] == INCONCLUSIVE)]
    assert len(open_claims) >= 2 and (open_claims["would_decide"] == "(projection)").all()
    assert (frame[~frame["headline"]]["would_decide"] == "").all()

"""Kendall tau within strata of equal conv count: its definition, synthetic data where the
answer is known both ways, and the correlate output row."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.analysis import correlation
from harness.analysis.structure_control import (METRIC_NAME, conv_counts, counting_space, kendall_tau_within_strata,
                                                within_strata_ci)


def _pairwise(x, y, s) -> float:
    """The definition, over all pairs directly."""
    i, j = np.triu_indices(len(x), k=1)
    same = s[i] == s[j]
    sx, sy = np.sign(x[i] - x[j])[same], np.sign(y[i] - y[j])[same]
    return float((sx * sy).sum() / np.sqrt((sx ** 2).sum() * (sy ** 2).sum()))


def test_equals_the_pairwise_definition_with_ties_and_scipy_with_one_stratum() -> None:
    rng = np.random.default_rng(1)
    x, y, s = rng.integers(0, 5, 60).astype(float), rng.integers(0, 7, 60).astype(float), rng.integers(0, 3, 60)
    assert kendall_tau_within_strata(x, y, s) == pytest.approx(_pairwise(x, y, s))
    assert kendall_tau_within_strata(x, y, np.zeros(60)) == pytest.approx(stats.kendalltau(x, y).statistic)


def test_conv_count_plus_noise_has_no_information_within_strata() -> None:
    rng = np.random.default_rng(0)
    count = rng.integers(0, 7, 300).astype(float)
    truth = count + rng.normal(0, 0.5, 300)
    scores = count + rng.normal(0, 0.01, 300)  # conv count + a tie-break unrelated to the truth
    assert stats.kendalltau(scores, truth).statistic > 0.5  # plain tau looks good
    value, low, high = within_strata_ci(scores, truth, count, n_boot=200, confidence=0.95, seed=0)
    assert abs(value) < 0.1 and low < 0 < high


def test_scores_that_order_each_stratum_score_high_within_strata() -> None:
    rng = np.random.default_rng(0)
    count = rng.integers(0, 7, 300).astype(float)
    quality = rng.normal(0, 1, 300)
    truth = count + quality
    scores = quality + rng.normal(0, 0.3, 300)  # knows the within-stratum order, not conv count
    value, low, high = within_strata_ci(scores, truth, count, n_boot=200, confidence=0.95, seed=0)
    assert value > 0.6 and low > 0.5


def test_vectorised_bootstrap_equals_one_scipy_call_per_stratum(monkeypatch: pytest.MonkeyPatch) -> None:
    """The weighted path (pair tables and resample weights), the pairwise path (all pairs of every
    resample) and the large-sample route (one scipy call per resample) give the same replicates
    and CI, ties and repeated resampled architectures included; the first two bit for bit (the
    same integer sums)."""
    from harness.analysis import structure_control
    from harness.analysis.metrics import draw_resamples

    rng = np.random.default_rng(3)
    count = rng.integers(0, 4, 24).astype(float)
    truth = count + rng.normal(0, 1, 24)
    scores = np.round(truth + rng.normal(0, 1, (2, 24)))  # ties within strata; two seeds
    indices = draw_resamples(24, 300, seed=5).archs
    weighted = structure_control.within_strata_replicates(scores, truth, count, indices)
    fast = within_strata_ci(scores[0], truth, count, n_boot=300, confidence=0.9, seed=5)
    monkeypatch.setattr(structure_control, "WEIGHTED_MAX_ARCHS", 0)  # forces the pairwise path
    pairwise = structure_control.within_strata_replicates(scores, truth, count, indices)
    np.testing.assert_array_equal(weighted, pairwise)
    monkeypatch.setattr(structure_control, "PAIRWISE_BLOCK", 0)  # forces the large-sample route
    slow = within_strata_ci(scores[0], truth, count, n_boot=300, confidence=0.9, seed=5)
    np.testing.assert_allclose(structure_control.within_strata_replicates(scores, truth, count, indices), weighted,
                               rtol=0, atol=1e-12)
    assert fast == pytest.approx(slow, abs=1e-12)
    assert fast[1] < fast[0] < fast[2]


def test_one_scipy_call_per_resample_equals_one_per_stratum() -> None:
    """The large-sample route's cross-stratum keys give kendall_tau_within_strata of every
    resample: ties in both inputs, repeated archs, strata of one arch, and undefined resamples."""
    from harness.analysis.structure_control import _one_call_replicates

    rng = np.random.default_rng(4)
    count = rng.integers(0, 5, 60).astype(float)
    count[0] = 9.0  # a stratum of one
    truth = np.round(count + rng.normal(0, 1, 60), 1)
    scores = np.round(truth + rng.normal(0, 1, 60))
    indices = rng.integers(0, 60, size=(200, 60))
    indices[0] = 0  # one arch: no within-stratum pair
    expected = np.array([kendall_tau_within_strata(scores[i], truth[i], count[i]) for i in indices])
    np.testing.assert_allclose(_one_call_replicates(scores, truth, count, indices), expected, rtol=1e-14, atol=0)
    assert np.isnan(expected[0])


def test_undefined_cases_are_nan() -> None:
    assert np.isnan(kendall_tau_within_strata([1, 2, 3], [1, 2, 3], [0, 1, 2]))  # no pair shares a stratum
    assert np.isnan(kendall_tau_within_strata([1, np.nan], [1, 2], [0, 0]))
    with pytest.raises(ValueError):
        kendall_tau_within_strata([1, 2], [1, 2, 3], [0, 0])


def test_conv_counts_come_from_the_space() -> None:
    tss = ["|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|",
           "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    assert conv_counts(counting_space("nats-tss"), tss).tolist() == [3.0, 0.0]
    mobilenet = counting_space("spos-mobilenet")
    rng = np.random.default_rng(0)
    archs = [mobilenet.sample(rng) for _ in range(5)]
    expected = [sum(token.strip() != "-1" for token in mobilenet.encode(a).strip("[]").split(",")) for a in archs]
    assert conv_counts(mobilenet, [mobilenet.encode(a) for a in archs]).tolist() == expected
    assert conv_counts(counting_space("nats-sss"), ["8:16:24:32:40"]).tolist() == [5.0]
    assert counting_space("unknown-space") is None and conv_counts(None, ["x"]) is None
    # the run's own knobs: a MobileNet space with every layer searchable counts differently
    config = {"spaces": {"spos-mobilenet": {"width_mult": 0.25, "identity": "none"}},
              "dataset": {"name": "fashion-mnist", "resolution": 16}}
    assert counting_space("spos-mobilenet", config).choices != mobilenet.choices


def test_correlate_writes_the_within_conv_count_row() -> None:
    rng = np.random.default_rng(0)
    ops = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    archs = [rng.integers(0, 5, 6) for _ in range(40)]
    strs = [f"|{ops[a[0]]}~0|+|{ops[a[1]]}~0|{ops[a[2]]}~1|+|{ops[a[3]]}~0|{ops[a[4]]}~1|{ops[a[5]]}~2|" for a in archs]
    count = conv_counts(counting_space("nats-tss"), strs)
    frame = pd.DataFrame({"checkpoint": 0, "epoch": 1.0, "arch_id": range(40), "arch_str": strs, "score": count})
    args = argparse.Namespace(space="nats-tss", bootstrap=50, confidence=0.95, seed=0, topk=5)
    truth = pd.Series(count + rng.normal(0, 1, 40))
    runs = {0: frame}
    rows = correlation.per_seed_rows("conv-count", runs, truth, args, correlation.Replicates({"conv-count": runs}, truth, args))
    within = [r for r in rows if r["metric"] == METRIC_NAME]
    assert len(within) == 1 and np.isnan(within[0]["value"])  # conv count itself ties every within-stratum pair
    assert {r["metric"] for r in rows} >= {"kendall_tau", METRIC_NAME}

import functools
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from harness.analysis import metrics
from harness.analysis.metrics import (
    METRICS,
    bootstrap_ci,
    correlation_rows,
    kendall_tau,
    pearson_r,
    spearman_rho,
    topk_precision,
)

CORRELATIONS = [kendall_tau, spearman_rho, pearson_r]


def correlated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n)
    return truth + rng.normal(size=n), truth


@pytest.mark.parametrize("metric", CORRELATIONS)
def test_perfect_and_inverse_ranking(metric):
    truth = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    assert metric(truth * 2 + 1, truth) == pytest.approx(1.0)
    assert metric(-truth, truth) == pytest.approx(-1.0)


def test_known_values_for_one_swap():
    scores, truth = [1, 2, 3, 4], [1, 3, 2, 4]  # 5 concordant pairs, 1 discordant
    assert kendall_tau(scores, truth) == pytest.approx(4 / 6)
    assert spearman_rho(scores, truth) == pytest.approx(1 - 6 * 2 / (4 * (16 - 1)))
    assert pearson_r(scores, truth) == pytest.approx(0.8)


def test_kendall_is_tau_b_with_ties():
    # one tie in scores: 5 concordant, 0 discordant, tau-b = 5 / sqrt((6 - 1) * 6)
    assert kendall_tau([1, 1, 2, 3], [1, 2, 3, 4]) == pytest.approx(5 / math.sqrt(30))


def test_metrics_return_python_floats():
    scores, truth = correlated(10)
    for metric in CORRELATIONS:
        assert type(metric(scores, truth)) is float
    assert type(topk_precision(scores, truth, 3)) is float


@pytest.mark.parametrize("metric", [*CORRELATIONS, lambda s, t: topk_precision(s, t, 2)])
@pytest.mark.parametrize(
    "scores, truth",
    [([1, 1, 1, 1], [1, 2, 3, 4]), ([1, 2, 3, 4], [5, 5, 5, 5]), ([1], [2]), ([], []), ([1, np.nan, 3], [1, 2, 3])],
)
def test_undefined_input_gives_nan_without_warning(metric, scores, truth):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(metric(scores, truth))


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError):
        kendall_tau([1, 2, 3], [1, 2])


def test_topk_precision():
    scores = [0.9, 0.8, 0.1, 0.2, 0.5]
    truth = [5, 1, 4, 3, 2]  # best by truth: 0, 2, 3; best by score: 0, 1, 4
    assert topk_precision(scores, truth, 1) == 1.0
    assert topk_precision(scores, truth, 2) == 0.5
    assert topk_precision(scores, truth, 3) == pytest.approx(1 / 3)
    assert topk_precision(scores, truth, 5) == 1.0
    assert math.isnan(topk_precision(scores, truth, 6))
    assert math.isnan(topk_precision(scores, truth, 0))


def test_metrics_registry():
    assert METRICS == {"kendall_tau": kendall_tau, "spearman_rho": spearman_rho, "pearson_r": pearson_r}


def test_bootstrap_ci_contains_estimate_and_is_deterministic():
    scores, truth = correlated(40)
    ci = bootstrap_ci(kendall_tau, scores, truth, n_boot=500, confidence=0.95, seed=3)
    assert ci[0] < kendall_tau(scores, truth) < ci[1]
    assert bootstrap_ci(kendall_tau, scores, truth, n_boot=500, confidence=0.95, seed=3) == ci
    assert bootstrap_ci(kendall_tau, scores, truth, n_boot=500, confidence=0.95, seed=4) != ci


def test_bootstrap_ci_narrows_with_more_archs_and_less_confidence():
    def width(n: int, confidence: float = 0.95) -> float:
        low, high = bootstrap_ci(kendall_tau, *correlated(n), n_boot=400, confidence=confidence, seed=0)
        return high - low

    assert width(400) < width(100) < width(20)
    assert width(100, confidence=0.5) < width(100, confidence=0.95)


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap():
    scores, truth = correlated(40)
    ours = bootstrap_ci(pearson_r, scores, truth, n_boot=2000, confidence=0.9, seed=0)
    theirs = stats.bootstrap(
        (scores, truth), lambda s, t, axis: stats.pearsonr(s, t, axis=axis).statistic, paired=True,
        vectorized=True, n_resamples=2000, confidence_level=0.9, method="percentile", rng=1,
    ).confidence_interval  # fmt: skip
    assert ours == pytest.approx((theirs.low, theirs.high), abs=0.03)


def test_bootstrap_ci_ignores_nan_replicates():
    # Two archs: about half the resamples repeat one arch (constant -> NaN); the rest give +1.
    assert bootstrap_ci(kendall_tau, [1, 2], [1, 2], n_boot=200, confidence=0.95, seed=0) == (1.0, 1.0)
    low, high = bootstrap_ci(kendall_tau, [1, 1, 1], [1, 2, 3], n_boot=50, confidence=0.95, seed=0)
    assert math.isnan(low) and math.isnan(high)


def test_correlation_rows():
    scores, truth = correlated(30)
    rows = correlation_rows(scores, truth, n_boot=200, confidence=0.95, seed=0, topk=5)
    assert [r["metric"] for r in rows] == ["kendall_tau", "spearman_rho", "pearson_r", "top5_precision"]
    assert all(set(r) == {"metric", "value", "ci_low", "ci_high", "n"} and r["n"] == 30 for r in rows)
    assert rows[0]["value"] == kendall_tau(scores, truth)
    assert rows[3]["value"] == topk_precision(scores, truth, 5)
    assert all(r["ci_low"] <= r["value"] <= r["ci_high"] for r in rows[:3])


@pytest.mark.parametrize("metric", CORRELATIONS)
def test_vectorised_bootstrap_equals_one_call_per_resample(metric):
    scores, truth = correlated(25)
    scores[:5] = scores[0]  # ties, and some constant resamples
    looped = bootstrap_ci(lambda s, t: metric(s, t), scores, truth, n_boot=300, confidence=0.9, seed=1)
    assert bootstrap_ci(metric, scores, truth, n_boot=300, confidence=0.9, seed=1) == pytest.approx(looped)


@pytest.mark.parametrize("n, ties", [(2, 0), (9, 4), (40, 0), (40, 25)])
def test_weighted_kendall_replicates_equal_the_resampled_pairs_exactly(n, ties):
    """Resample weights and n x n pair tables give bit for bit the tau-b of the resampled arrays
    (integer sums), ties, repeated archs and constant resamples (NaN) included."""
    rng = np.random.default_rng(n + ties)
    x = rng.integers(0, n - ties if ties else 10 * n, size=n).astype(float)
    y = rng.normal(size=n).round(1 if ties else 6)
    indices = metrics.draw_resamples(n, 300, seed=3).archs
    indices[0] = 0  # one arch drawn n times: undefined
    expected = metrics._rowwise(metrics._kendall_rows, x[indices], y[indices])
    np.testing.assert_array_equal(metrics._replicates(kendall_tau, x, y, indices), expected)
    assert np.isnan(expected[0])


def test_resampled_ranks_are_scipys_ranks_and_spearman_is_unchanged():
    rng = np.random.default_rng(5)
    x = rng.integers(0, 6, 30).astype(float)
    y = rng.normal(size=30).round(1)
    indices = metrics.draw_resamples(30, 200, seed=1).archs
    indices[0] = 3  # constant: undefined
    np.testing.assert_array_equal(metrics.resampled_ranks(x, indices), stats.rankdata(x[indices], axis=-1))
    np.testing.assert_array_equal(metrics._replicates(spearman_rho, x, y, indices),
                                  metrics._rowwise(metrics._spearman_rows, x[indices], y[indices]))


def test_spearman_matches_scipy_with_ties():
    scores, truth = [3, 1, 1, 2, 5, 5, 4], [1, 2, 2, 3, 7, 6, 5]
    assert spearman_rho(scores, truth) == pytest.approx(stats.spearmanr(scores, truth).statistic)


@pytest.mark.parametrize("n, ties", [(2, 0), (7, 3), (32, 10), (60, 40)])
def test_rowwise_kendall_equals_scipy_row_by_row(n, ties, monkeypatch):
    """The all-pairs tau-b must equal scipy's, with ties in either input, in one block and
    split over several blocks, and the scipy path for samples too large for a block."""
    rng = np.random.default_rng(n)
    x = rng.integers(0, n - ties if ties else 10 * n, size=(25, n)).astype(float)
    y = rng.normal(size=(25, n)).round(1 if ties else 6)
    expected = np.array([stats.kendalltau(a, b).statistic for a, b in zip(x, y)])
    np.testing.assert_allclose(metrics._rowwise(metrics._kendall_rows, x, y), expected, rtol=1e-12, atol=1e-12,
                               equal_nan=True)
    for block in (n * (n - 1) // 2, 1):  # one row per block; every sample above the limit (scipy)
        monkeypatch.setattr(metrics, "PAIRWISE_BLOCK", block)
        np.testing.assert_allclose(metrics._rowwise(metrics._kendall_rows, x, y), expected, rtol=1e-12,
                                   atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_rowwise_topk_equals_set_intersection_row_by_row(k):
    """Resamples repeat archs and tie: positions, not values, are what the top-k sets share."""
    rng = np.random.default_rng(k)
    x = rng.integers(0, 6, size=(40, 8)).astype(float)
    y = rng.integers(0, 6, size=(40, 8)).astype(float)
    x[0] = 1.0  # a constant row: undefined

    def reference(a: np.ndarray, b: np.ndarray) -> float:
        if (a == a[0]).all() or (b == b[0]).all():
            return float("nan")
        return np.intersect1d(np.argsort(-a, kind="stable")[:k], np.argsort(-b, kind="stable")[:k]).size / k

    expected = np.array([reference(a, b) for a, b in zip(x, y)])
    np.testing.assert_array_equal(metrics._topk_rows(x, y, k), expected)
    np.testing.assert_array_equal(metrics._topk_rows(x, y, 9), np.full(40, np.nan))


def test_bootstrap_topk_counts_distinct_archs():
    """The score ranks every arch right except the best, which it puts last: on any set of
    distinct archs that contains the best, top-5 precision is 4/5 (else 5/5). Counting a
    resample's copies, a best arch drawn twice costs two places (3/5): biased down."""
    n, k = 20, 5
    truth = np.arange(n, dtype=float)
    scores = truth.copy()
    scores[-1] = -1.0
    indices = metrics.draw_resamples(n, 500, seed=0).archs
    old = metrics._topk_rows(scores[indices], truth[indices], k)
    new = metrics._replicates(functools.partial(topk_precision, k=k), scores, truth, indices)
    assert old.min() < 0.8 and (old < 0.8).mean() > 0.1
    assert new.min() == 0.8 and set(np.unique(new)) == {0.8, 1.0}
    low, _ = bootstrap_ci(functools.partial(topk_precision, k=k), scores, truth, n_boot=500, confidence=0.95, seed=0)
    assert low == 0.8


@pytest.mark.parametrize("k", [1, 3, 5])
def test_vectorised_distinct_topk_equals_one_call_per_resample(k):
    """All resamples at once give what topk_precision gives on each resample's distinct archs (in
    arch order), ties, constant subsets and too few distinct archs included."""
    rng = np.random.default_rng(k)
    x = rng.integers(0, 4, size=12).astype(float)
    y = rng.integers(0, 5, size=12).astype(float)
    y[:3] = 7.0
    indices = rng.integers(0, 12, size=(400, 12))
    indices[0] = 0  # one distinct arch
    indices[1, :] = [0, 1, 2] * 4  # three archs of equal truth: constant
    expected = np.array([topk_precision(x[np.unique(i)], y[np.unique(i)], k) for i in indices])
    np.testing.assert_array_equal(metrics._distinct_topk_replicates(x, y, indices, k), expected)


def test_bootstrap_topk_is_nan_when_fewer_than_k_distinct_archs():
    indices = np.array([[0, 0, 1, 1], [0, 1, 2, 3]])
    values = metrics._replicates(functools.partial(topk_precision, k=3), np.arange(4.0), np.arange(4.0), indices)
    assert math.isnan(values[0]) and values[1] == 1.0


def test_seed_bootstrap_with_one_seed_is_the_arch_bootstrap():
    scores, truth = correlated(30)
    resamples = metrics.draw_resamples(30, 300, seed=2)
    replicates = metrics.seed_replicates(kendall_tau, scores[None], truth, resamples, "m")
    ci = metrics.percentile_ci(replicates, 0.95)
    assert ci == bootstrap_ci(kendall_tau, scores, truth, n_boot=300, confidence=0.95, seed=2)


def test_seed_bootstrap_includes_the_variance_across_seeds():
    """Three seeds that disagree (tau ~0.9, ~0.5, ~0.0) give a wider CI than three equal seeds,
    and the point value is the mean of the seeds' taus."""
    rng = np.random.default_rng(0)
    truth = rng.normal(size=40)
    disagreeing = np.stack([truth + 0.1 * rng.normal(size=40), truth + 1.0 * rng.normal(size=40), rng.normal(size=40)])
    agreeing = np.stack([disagreeing[1]] * 3)
    resamples = metrics.draw_resamples(40, 500, seed=0)

    def width(scores: np.ndarray) -> float:
        low, high = metrics.percentile_ci(metrics.seed_replicates(kendall_tau, scores, truth, resamples, "m"), 0.95)
        return high - low

    assert width(disagreeing) > 1.5 * width(agreeing)
    assert metrics.seed_mean(kendall_tau, disagreeing, truth) == pytest.approx(
        np.mean([kendall_tau(s, truth) for s in disagreeing]))
    assert metrics.ci_sources(1) == "architectures" and metrics.ci_sources(3) == "architectures+seeds (n=3)"

"""Rank agreement between predicted scores and ground-truth accuracies, with bootstrap CIs.

Every metric takes two paired 1-D arrays (higher = better in both) and returns a float, NaN
when the value is undefined (constant input, fewer than two archs, NaN in the input); none
raises on such input. Correlations are scipy's; this module only adapts them.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

Metric = Callable[[np.ndarray, np.ndarray], float]


def _paired(scores: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(scores, dtype=float)
    y = np.asarray(truth, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"scores and truth must be 1-D of equal length, got {x.shape} and {y.shape}")
    return x, y


def _undefined_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row of 2-D x, y: True where no rank metric is meaningful (fewer than two archs, NaN,
    or a constant row)."""
    if x.shape[-1] < 2:
        return np.ones(x.shape[0], dtype=bool)
    nan = np.isnan(x).any(axis=-1) | np.isnan(y).any(axis=-1)
    constant = (x == x[:, :1]).all(axis=-1) | (y == y[:, :1]).all(axis=-1)
    return nan | constant


def _rowwise(statistic: Callable[[np.ndarray, np.ndarray], Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`statistic` of every row pair of 2-D x and y in one vectorised call; NaN where undefined."""
    undefined = _undefined_rows(x, y)
    if undefined.all():
        return np.full(x.shape[0], np.nan)
    with warnings.catch_warnings():
        # scipy warns on (near-)constant rows; those rows are masked to NaN below anyway.
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        values = np.asarray(statistic(x, y), dtype=float)
    return np.where(undefined, np.nan, values)


# Largest (rows x pairs) block of sign comparisons _kendall_rows builds at once (8 bytes each).
PAIRWISE_BLOCK = 4_000_000


def _kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every row pair. scipy computes one row per call (O(n log n), through
    apply_along_axis), which made bootstrapping 1,000 resamples of a 32-arch sample take most of
    a correlate job; for samples whose n (n - 1) / 2 pairs fit in PAIRWISE_BLOCK this compares
    all pairs of every row at once instead: tau-b = sum(sx sy) / sqrt(sum(sx^2) sum(sy^2)) with
    sx, sy the signs of the pairwise differences (a tie is 0: it counts in neither the
    concordant-minus-discordant sum nor its own variable's untied pairs). Tested equal to scipy."""
    n = x.shape[-1]
    pairs = n * (n - 1) // 2
    if pairs > PAIRWISE_BLOCK:
        return stats.kendalltau(x, y, axis=-1).statistic
    first, second = np.triu_indices(n, k=1)
    rows_per_block = max(1, PAIRWISE_BLOCK // max(pairs, 1))
    out = np.empty(x.shape[0])
    for start in range(0, x.shape[0], rows_per_block):
        block = slice(start, start + rows_per_block)
        sx = np.sign(x[block, first] - x[block, second])
        sy = np.sign(y[block, first] - y[block, second])
        with np.errstate(invalid="ignore", divide="ignore"):  # constant rows: 0/0, masked by _rowwise
            out[block] = (sx * sy).sum(-1) / np.sqrt((sx * sx).sum(-1) * (sy * sy).sum(-1))
    return out


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Spearman's rho is Pearson's r of the (average) ranks, as in scipy.stats.spearmanr, whose
    # own 2-D mode computes a full correlation matrix instead of row pairs.
    return stats.pearsonr(stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1), axis=-1).statistic


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return stats.pearsonr(x, y, axis=-1).statistic


def _single(statistic: Callable[[np.ndarray, np.ndarray], Any], scores: Any, truth: Any) -> float:
    x, y = _paired(scores, truth)
    return float(_rowwise(statistic, x[None], y[None])[0])


def kendall_tau(scores: Any, truth: Any) -> float:
    """Signed Kendall tau-b (ties in either input are accounted for)."""
    return _single(_kendall_rows, scores, truth)


def spearman_rho(scores: Any, truth: Any) -> float:
    return _single(_spearman_rows, scores, truth)


def pearson_r(scores: Any, truth: Any) -> float:
    return _single(_pearson_rows, scores, truth)


def topk_precision(scores: Any, truth: Any, k: int) -> float:
    """Fraction of the k best archs by truth that are among the k best by score.

    Ties at the k-th place are broken by array order (first wins), so the value is
    deterministic; NaN when k is not in 1..n or the ranking is undefined.
    """
    x, y = _paired(scores, truth)
    return float(_topk_rows(x[None], y[None], k)[0])


def _topk_rows(x: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """topk_precision of every row pair of 2-D x and y in one call."""
    if not 1 <= k <= x.shape[-1]:
        return np.full(x.shape[0], np.nan)
    best_by_score = np.argsort(-x, axis=-1, kind="stable")[:, :k]
    best_by_truth = np.argsort(-y, axis=-1, kind="stable")[:, :k]
    shared = (best_by_score[:, :, None] == best_by_truth[:, None, :]).any(axis=-1).sum(axis=-1)
    return np.where(_undefined_rows(x, y), np.nan, shared / k)


METRICS: dict[str, Metric] = {
    "kendall_tau": kendall_tau,
    "spearman_rho": spearman_rho,
    "pearson_r": pearson_r,
}

# The bootstrap evaluates these metrics on all resamples in one call.
_ROWWISE: dict[Metric, Callable[[np.ndarray, np.ndarray], Any]] = {
    kendall_tau: _kendall_rows,
    spearman_rho: _spearman_rows,
    pearson_r: _pearson_rows,
}


def metrics_with_topk(k: int) -> dict[str, Metric]:
    """METRICS plus `top{k}_precision`."""
    return {**METRICS, f"top{k}_precision": functools.partial(topk_precision, k=k)}


def bootstrap_ci(
    metric: Metric,
    scores: Any,
    truth: Any,
    *,
    n_boot: int,
    confidence: float,
    seed: int,
) -> tuple[float, float]:
    """Percentile bootstrap CI of `metric`, resampling (score, truth) pairs with replacement.

    All resample indices are drawn at once from `seed`, so equal seeds give equal intervals
    (and every metric called with the same seed sees the same resamples). Replicates where
    the metric is undefined (NaN) are dropped; (NaN, NaN) if none is left.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x, y = _paired(scores, truth)
    if n_boot < 1 or x.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, x.size, size=(n_boot, x.size))
    replicates = _replicates(metric, x[indices], y[indices])
    replicates = replicates[~np.isnan(replicates)]
    if replicates.size == 0:
        return float("nan"), float("nan")
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _replicates(metric: Metric, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """`metric` of every resample (row); vectorised for METRICS and top-k, a loop for any other."""
    statistic = _ROWWISE.get(metric)
    if statistic is not None:
        return _rowwise(statistic, xs, ys)
    if isinstance(metric, functools.partial) and metric.func is topk_precision:
        return _topk_rows(xs, ys, **metric.keywords)
    return np.array([metric(x, y) for x, y in zip(xs, ys)], dtype=float)


def correlation_rows(
    scores: Any,
    truth: Any,
    *,
    n_boot: int,
    confidence: float,
    seed: int,
    topk: int,
) -> list[dict[str, Any]]:
    """One row per metric (METRICS and top-k): metric, value, ci_low, ci_high, n."""
    x, y = _paired(scores, truth)
    rows = []
    for name, metric in metrics_with_topk(topk).items():
        low, high = bootstrap_ci(metric, x, y, n_boot=n_boot, confidence=confidence, seed=seed)
        rows.append({"metric": name, "value": metric(x, y), "ci_low": low, "ci_high": high, "n": int(x.size)})
    return rows

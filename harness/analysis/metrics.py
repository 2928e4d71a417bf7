"""Rank agreement between predicted scores and ground-truth accuracies, with bootstrap CIs.

Every metric takes two paired 1-D arrays (higher = better in both) and returns a float, NaN
when the value is undefined (constant input, fewer than two archs, NaN in the input); none
raises on such input. Correlations are scipy's; this module only adapts them.
"""

from __future__ import annotations

import functools
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
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


# Largest sample whose resampled tau comes from resample weights and n x n pair tables
# (_weighted_kendall_replicates: a few float32 tables of n^2, 17 MB each at this size; every sum
# in them is an integer below 2^24, exact in float32).
WEIGHTED_MAX_ARCHS = 2048


def resample_weights(indices: np.ndarray, n: int) -> np.ndarray:
    """(resamples x n) how often each architecture is drawn in each resample (row of `indices`)."""
    rows = indices.shape[0]
    flat = (np.arange(rows)[:, None] * n + indices).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)


def sign_table(values: np.ndarray) -> np.ndarray:
    """sign(v_i - v_j) for all i, j (n x n, float32: -1, 0, 1)."""
    return np.sign(values[:, None] - values[None, :]).astype(np.float32)


def weighted_tau(concordance: np.ndarray, untied_x: np.ndarray, untied_y: np.ndarray,
                 weights: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every resample from n x n pair tables (sign products, x's and y's untied
    indicators, 0 on pairs not counted) and resample weights w: a resample's pairs of copies sum
    to w' T w / 2 over a table T (a copy paired with a copy of itself is a tie in both: the
    tables' diagonals are 0). The sums are integers, exact (w T below 2^24 for n <=
    WEIGHTED_MAX_ARCHS, in float32; the rest in float64) whatever the order of summation, so the
    value is the same number as _kendall_rows on the resampled arrays gives; NaN where undefined."""
    compact = weights.astype(np.float32)

    def pair_sum(table: np.ndarray) -> np.ndarray:
        return ((compact @ table).astype(float) * weights).sum(axis=1) / 2

    s, ux, uy = pair_sum(concordance), pair_sum(untied_x), pair_sum(untied_y)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((ux > 0) & (uy > 0), s / np.sqrt(ux * uy), np.nan)


def _weighted_kendall_replicates(x: np.ndarray, y: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Kendall tau-b of every resample, equal to _rowwise(_kendall_rows, x[indices], y[indices])
    (x, y without NaN) in O(resamples n^2) multiply-adds instead of sign comparisons of every pair of
    every resample."""
    sx, sy = sign_table(x), sign_table(y)
    return weighted_tau(sx * sy, sx * sx, sy * sy, resample_weights(indices, x.size))


def resampled_ranks(values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """scipy.stats.rankdata(values[indices], axis=-1) (average ranks, 1-based) without sorting each
    resample: a copy's rank is the count of the resample's values below its value plus (the count
    of its value + 1) / 2, counted per distinct value of the original sample. The same numbers
    (integers and halves), so Spearman's rho of the resamples is unchanged, bit for bit."""
    groups, inverse = np.unique(values, return_inverse=True)
    members = inverse[indices]
    rows = indices.shape[0]
    totals = np.bincount((np.arange(rows)[:, None] * groups.size + members).ravel(),
                         minlength=rows * groups.size).reshape(rows, groups.size).astype(float)
    below = np.cumsum(totals, axis=1) - totals
    return np.take_along_axis(below + (totals + 1) / 2, members, axis=1)


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

    All resample indices are drawn at once from `seed` (draw_resamples), so equal seeds give
    equal intervals (and every metric called with the same seed sees the same resamples).
    Replicates where the metric is undefined (NaN) are dropped; (NaN, NaN) if none is left.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x, y = _paired(scores, truth)
    if n_boot < 1 or x.size == 0:
        return float("nan"), float("nan")
    indices = draw_resamples(x.size, n_boot, seed).archs
    return percentile_ci(_replicates(metric, x, y, indices), confidence)


def percentile_ci(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    """(low, high) percentiles of the defined (non-NaN) replicates; (NaN, NaN) if none is."""
    replicates = np.asarray(replicates, dtype=float)
    replicates = replicates[~np.isnan(replicates)]
    if replicates.size == 0:
        return float("nan"), float("nan")
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _replicates(metric: Metric, x: np.ndarray, y: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """`metric` of every resample (row of `indices` into x, y); vectorised for METRICS, top-k on
    the distinct architectures of each resample, a loop for any other metric."""
    if (metric is kendall_tau and 2 <= x.size <= WEIGHTED_MAX_ARCHS and indices.shape[0]
            and not (np.isnan(x).any() or np.isnan(y).any())):
        return _weighted_kendall_replicates(x, y, indices)
    if metric is spearman_rho and indices.shape[0] and not (np.isnan(x).any() or np.isnan(y).any()):
        return _rowwise(_pearson_rows, resampled_ranks(x, indices), resampled_ranks(y, indices))
    statistic = _ROWWISE.get(metric)
    if statistic is not None:
        return _rowwise(statistic, x[indices], y[indices])
    if isinstance(metric, functools.partial) and metric.func is topk_precision:
        return _distinct_topk_replicates(x, y, indices, **metric.keywords)
    return np.array([metric(x[row], y[row]) for row in indices], dtype=float)


def _distinct_topk_replicates(x: np.ndarray, y: np.ndarray, indices: np.ndarray, k: int) -> np.ndarray:
    """Top-k precision of every resample, computed on its distinct architectures.

    A resample repeats some architectures: counted once per copy, a repeated arch fills several
    of the k places at once, so one arch that the score misplaces costs several hits and the
    replicates fall below any value the metric takes on a set of distinct archs (biased down).
    Each resample is therefore reduced to its distinct archs, in arch order (so ties break as in
    topk_precision on them, first wins); NaN where fewer than k distinct archs remain.

    All resamples at once: a resample's distinct archs are a row of the (resamples x archs)
    presence mask; its top k by score are the first k present archs in the order of a stable
    sort of all archs by score (a stable sort restricted to a subset is the subset's stable
    sort), likewise by truth."""
    n = x.size
    present = np.zeros((indices.shape[0], n), dtype=bool)
    present[np.arange(indices.shape[0])[:, None], indices] = True
    distinct = present.sum(axis=1)

    def top(values: np.ndarray) -> np.ndarray:
        order = np.argsort(-values, kind="stable")
        ordered = present[:, order]
        chosen = ordered & (np.cumsum(ordered, axis=1) <= k)
        out = np.zeros_like(present)
        out[:, order] = chosen
        return out

    shared = (top(x) & top(y)).sum(axis=1)
    undefined = (distinct < max(k, 2)) | _undefined_subsets(x, present) | _undefined_subsets(y, present)
    return np.where(undefined, np.nan, shared / k)


def _undefined_subsets(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Per row of the presence mask: True where the present values hold a NaN or are all equal."""
    nan = (present & np.isnan(values)).any(axis=1)
    high = np.where(present, values, -np.inf).max(axis=1)
    low = np.where(present, values, np.inf).min(axis=1)
    return nan | (high == low)


@dataclass(frozen=True)
class Resamples:
    """The bootstrap's draws, shared by every method judged on the same architectures so that
    differences between methods are paired: `archs` holds n_boot rows of arch indices (into
    the arch order all methods are aligned to); `seeds(key, n)` draws, per replicate, which of
    a method's n seeds it uses (deterministic per key: a method's seeds are independent of
    another method's, since their supernets are trained separately)."""

    archs: np.ndarray
    seed: int

    @property
    def n_boot(self) -> int:
        return self.archs.shape[0]

    def seeds(self, key: str, n_seeds: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
        return rng.integers(0, n_seeds, size=(self.n_boot, n_seeds))


def draw_resamples(n_archs: int, n_boot: int, seed: int) -> Resamples:
    """n_boot resamples of n_archs architectures with replacement, all drawn from `seed`."""
    rng = np.random.default_rng(seed)
    return Resamples(archs=rng.integers(0, n_archs, size=(n_boot, n_archs)), seed=seed)


def _per_seed(scores: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    """Scores as (seeds x archs) and truth broadcast to it (one truth for all seeds, or one row each)."""
    x = np.atleast_2d(np.asarray(scores, dtype=float))
    y = np.asarray(truth, dtype=float)
    if y.shape[-1] != x.shape[1] or y.ndim > 2 or (y.ndim == 2 and y.shape != x.shape):
        raise ValueError(f"scores of shape {x.shape} do not fit truth of shape {y.shape}")
    return x, np.broadcast_to(y, x.shape)


def seed_mean(metric: Metric, scores: Any, truth: Any) -> float:
    """Mean over seeds (rows of 2-D `scores`) of `metric` against `truth` (1-D, or one row per
    seed); seeds where the metric is undefined are left out (NaN if it is for every seed)."""
    x, y = _per_seed(scores, truth)
    values = np.array([metric(a, b) for a, b in zip(x, y)], dtype=float)
    return float(np.mean(values[~np.isnan(values)])) if (~np.isnan(values)).any() else float("nan")


def seed_replicates(metric: Metric, scores: Any, truth: Any, resamples: Resamples, key: str) -> np.ndarray:
    """Two-level bootstrap replicates of seed_mean: replicate b resamples the seeds (rows of
    `scores`, drawn by resamples.seeds(key)) and, for all of them, the same architectures
    (resamples.archs[b]), and averages the metric over the resampled seeds (leaving out
    undefined values). With one seed it is the ordinary bootstrap over architectures."""
    return average_resampled_seeds(arch_replicates(metric, scores, truth, resamples), resamples, key)


def arch_replicates(metric: Metric, scores: Any, truth: Any, resamples: Resamples) -> np.ndarray:
    """(seeds x n_boot): `metric` of every seed's scores on every architecture resample."""
    x, y = _per_seed(scores, truth)
    return np.stack([_replicates(metric, a, b, resamples.archs) for a, b in zip(x, y)])


def average_resampled_seeds(per_seed: np.ndarray, resamples: Resamples, key: str) -> np.ndarray:
    """The second level of seed_replicates: replicate b averages the (defined) values of the
    seeds that resamples.seeds(key) draws for it."""
    picked = per_seed[resamples.seeds(key, per_seed.shape[0]), np.arange(resamples.n_boot)[:, None]]
    defined = ~np.isnan(picked)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined, picked, 0.0).sum(axis=1) / defined.sum(axis=1)


def ci_sources(n_seeds: int) -> str:
    """What a CI's resampling covers: the architectures, and the seeds when there are several."""
    return "architectures" if n_seeds < 2 else f"architectures+seeds (n={n_seeds})"


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

"""Information beyond structure: Kendall's tau within strata of equal conv-op count.

A score that is the conv-op count plus noise agrees with the ground truth only through conv
count. `kendall_tau_within_strata` asks what a score knows beyond that: Kendall's tau-b over
only the pairs of architectures in the same stratum (equal conv count), pooled over strata:

    tau_w = sum_{i<j, s_i = s_j} sx_ij sy_ij / sqrt(sum_{same stratum} sx_ij^2 * sum_{same stratum} sy_ij^2)

with sx_ij = sign(x_i - x_j), sy_ij = sign(y_i - y_j) (a tie is 0 and counts in neither the
sum nor its own variable's untied pairs; with one stratum this is scipy's tau-b). tau_w is
about 0 for conv count + noise and high for a score that orders archs within a stratum as the
truth does. NaN when no within-stratum pair is untied in both. The CI is a percentile
bootstrap over architectures (pairs of resampled copies of one arch are ties in both inputs,
so they count in no sum).

Each stratum's sums come from scipy.stats.kendalltau (O(n log n)): S = tau_b sqrt(Tx Ty), with
Tx = pairs - sum_ties t(t - 1) / 2 the pairs untied in x, which scales to all 15,625 NATS-Bench
architectures. The bootstrap of a sample whose pairs fit in metrics.PAIRWISE_BLOCK instead
evaluates the definition over all pairs of many replicates at once (one scipy call per stratum
and replicate made the within-conv-count CIs most of a correlate job's time).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from harness.analysis.metrics import PAIRWISE_BLOCK, WEIGHTED_MAX_ARCHS, resample_weights, sign_table, weighted_tau

if TYPE_CHECKING:
    from harness.spaces.base import SearchSpace

METRIC_NAME = "kendall_tau_within_conv_count"


def _untied_pairs(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    n = values.size
    return n * (n - 1) / 2 - float((counts * (counts - 1) / 2).sum())


def _stratum_sums(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(sum sx sy, pairs untied in x, pairs untied in y) over the pairs of one stratum."""
    tx, ty = _untied_pairs(x), _untied_pairs(y)
    if tx == 0 or ty == 0:
        return 0.0, tx, ty
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tau = stats.kendalltau(x, y).statistic
    return float(tau) * np.sqrt(tx * ty), tx, ty


def kendall_tau_within_strata(scores: Any, truth: Any, strata: Any) -> float:
    """Pooled Kendall tau-b over the pairs with equal `strata` (see the module docstring)."""
    x, y, s = (np.asarray(v, dtype=float) for v in (scores, truth, strata))
    if not (x.ndim == 1 and x.shape == y.shape == s.shape):
        raise ValueError(f"scores, truth and strata must be 1-D of equal length, got {x.shape}, {y.shape}, {s.shape}")
    if np.isnan(x).any() or np.isnan(y).any() or np.isnan(s).any():
        return float("nan")
    concordance = untied_x = untied_y = 0.0
    order = np.argsort(s, kind="stable")
    x, y, s = x[order], y[order], s[order]
    bounds = np.flatnonzero(np.diff(s)) + 1
    for xs, ys in zip(np.split(x, bounds), np.split(y, bounds)):
        if xs.size < 2:
            continue
        c, tx, ty = _stratum_sums(xs, ys)
        concordance, untied_x, untied_y = concordance + c, untied_x + tx, untied_y + ty
    if untied_x == 0 or untied_y == 0:
        return float("nan")
    return float(concordance / np.sqrt(untied_x * untied_y))


def _pairwise_rows(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """kendall_tau_within_strata of every row of 2-D x, y, s, from the definition over all pairs
    (sx = sign(x_i - x_j) on same-stratum pairs, 0 elsewhere), PAIRWISE_BLOCK comparisons at a time."""
    n = x.shape[-1]
    first, second = np.triu_indices(n, k=1)
    rows_per_block = max(1, PAIRWISE_BLOCK // max(first.size, 1))
    out = np.full(x.shape[0], np.nan)
    for start in range(0, x.shape[0], rows_per_block):
        block = slice(start, start + rows_per_block)
        same = s[block, first] == s[block, second]
        sx = np.where(same, np.sign(x[block, first] - x[block, second]), 0.0)
        sy = np.where(same, np.sign(y[block, first] - y[block, second]), 0.0)
        untied = (sx * sx).sum(-1) * (sy * sy).sum(-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[block] = np.where(untied > 0, (sx * sy).sum(-1) / np.sqrt(untied), np.nan)
    undefined = np.isnan(x).any(-1) | np.isnan(y).any(-1) | np.isnan(s).any(-1)
    return np.where(undefined, np.nan, out)


def within_strata_ci(scores: Any, truth: Any, strata: Any, *, n_boot: int, confidence: float,
                     seed: int) -> tuple[float, float, float]:
    """(value, ci_low, ci_high): the percentile bootstrap over architectures; NaN bounds when
    n_boot < 1 or no replicate is defined."""
    x, y, s = (np.asarray(v, dtype=float) for v in (scores, truth, strata))
    value = kendall_tau_within_strata(x, y, s)
    if n_boot < 1 or x.size == 0:
        return value, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, x.size, size=(n_boot, x.size))
    replicates = within_strata_replicates(x[None], y, s, indices)[0]
    replicates = replicates[~np.isnan(replicates)]
    if replicates.size == 0:
        return value, float("nan"), float("nan")
    alpha = 1.0 - confidence
    low, high = np.quantile(replicates, [alpha / 2, 1 - alpha / 2])
    return value, float(low), float(high)


def within_strata_replicates(scores: np.ndarray, truth: np.ndarray, strata: np.ndarray,
                             indices: np.ndarray) -> np.ndarray:
    """(seeds x n_boot): kendall_tau_within_strata of every seed's scores (rows of 2-D `scores`)
    against `truth` on every resample (row of `indices`, arch positions)."""
    x = np.atleast_2d(np.asarray(scores, dtype=float))
    y, s = np.asarray(truth, dtype=float), np.asarray(strata, dtype=float)
    n = x.shape[1]
    if indices.shape[0] == 0:
        return np.empty((x.shape[0], 0))
    if 2 <= n <= WEIGHTED_MAX_ARCHS and not (np.isnan(x).any() or np.isnan(y).any() or np.isnan(s).any()):
        # the definition's sums from pair tables and resample weights (metrics.weighted_tau): the
        # same integers as over the resampled pairs, so the same values, at a fraction of the cost
        same = (s[:, None] == s[None, :]).astype(np.float32)
        sy = sign_table(y) * same
        weights = resample_weights(indices, n)
        out = np.empty((x.shape[0], indices.shape[0]))
        for row, values in enumerate(x):
            sx = sign_table(values) * same
            out[row] = weighted_tau(sx * sy, sx * sx, sy * sy, weights)
        return out
    if n * (n - 1) // 2 <= PAIRWISE_BLOCK:
        k, r = x.shape[0], indices.shape[0]
        xs = x[:, indices].reshape(k * r, n)
        return _pairwise_rows(xs, np.tile(y[indices], (k, 1)), np.tile(s[indices], (k, 1))).reshape(k, r)
    if np.isnan(y).any() or np.isnan(s).any():
        return np.full((x.shape[0], indices.shape[0]), np.nan)
    return np.array([_one_call_replicates(row, y, s, indices) for row in x])


def _pair_count(counts: np.ndarray) -> float:
    return float((counts * (counts - 1) / 2).sum())


def _one_call_replicates(x: np.ndarray, y: np.ndarray, s: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """kendall_tau_within_strata of every resample, with one O(n log n) scipy call per resample
    instead of one per stratum: x and y are replaced by their dense ranks within (stratum, value)
    order, so that every pair of architectures from different strata is concordant and untied in
    both. Tau-b of those keys gives S' = S_within + P_cross (the cross-stratum pairs) and the
    untied counts U' = U_within + P_cross, from which the within-strata sums follow; S' is an
    integer and is rounded back to one (its float error is ~1e-16 S')."""
    if np.isnan(x).any():
        return np.full(indices.shape[0], np.nan)
    stratum = np.unique(s, return_inverse=True)[1]
    key_x = np.unique(np.stack([s, x]), axis=1, return_inverse=True)[1].ravel()
    key_y = np.unique(np.stack([s, y]), axis=1, return_inverse=True)[1].ravel()
    out = np.full(indices.shape[0], np.nan)
    n = indices.shape[1]
    for row, resample in enumerate(indices):
        kx, ky = key_x[resample], key_y[resample]
        cross = (n * n - float((np.bincount(stratum[resample]).astype(float) ** 2).sum())) / 2
        untied_x = n * (n - 1) / 2 - _pair_count(np.bincount(kx).astype(float))
        untied_y = n * (n - 1) / 2 - _pair_count(np.bincount(ky).astype(float))
        within_x, within_y = untied_x - cross, untied_y - cross
        if within_x <= 0 or within_y <= 0:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tau = stats.kendalltau(kx, ky).statistic
        concordance = float(np.rint(tau * np.sqrt(untied_x) * np.sqrt(untied_y))) - cross
        out[row] = concordance / np.sqrt(within_x * within_y)
    return out


def counting_space(name: str, config: Mapping[str, Any] | None = None) -> "SearchSpace | None":
    """The space whose conv-op counts stratify architectures: the run's configured one (`config`
    holds the run's `spaces` and `dataset` sections, as a correlate job's spec does), else the
    registered space at its default knobs and a small input (conv-op counts do not depend on the
    sizes); None for a space that is not registered."""
    from harness.data.shapes import dataset_shape
    from harness.spaces import build_space, space_names
    from harness.workflow.runs import configured_space

    if config and name in (config.get("spaces") or {}) and "dataset" in config:
        return configured_space(dict(config), name)
    if name not in space_names():
        return None
    return build_space(name, dataset_shape("fashion-mnist", 32), width_mult=0.25) if "mobilenet" in name or name == "nats-sss" \
        else build_space(name, dataset_shape("fashion-mnist", 8), C=4, N=1)


def conv_counts(space: "SearchSpace | None", arch_strs: Any) -> np.ndarray | None:
    """Conv-op count of each architecture string, from the space (SearchSpace.conv_op_counts:
    read off its own candidates, the one place that knows); None without a space (then no
    within-stratum metric is written)."""
    if space is None:
        return None
    return space.conv_op_counts_of_strings([str(a) for a in arch_strs]).astype(float)


def within_conv_count_rows(scores: Any, truth: Any, arch_strs: Any, space: "SearchSpace | None", *, n_boot: int,
                           confidence: float, seed: int) -> list[dict[str, Any]]:
    """The correlations row(s) of this metric (same columns as harness.analysis.metrics.correlation_rows)."""
    strata = conv_counts(space, arch_strs)
    if strata is None:
        return []
    value, low, high = within_strata_ci(scores, truth, strata, n_boot=n_boot, confidence=confidence, seed=seed)
    return [{"metric": METRIC_NAME, "value": value, "ci_low": low, "ci_high": high, "n": int(np.size(scores))}]

"""The expected Kendall tau of a perfect scorer against a noisy retrained ground truth.

A method is judged against `truth_i = mean of arch i's n_i retraining seeds`, not against the
arch's expected accuracy mu_i. Even a perfect scorer (one whose scores are mu_i) meets that
noise, so its expected tau is below 1: that expected tau is the ceiling a method can be held
to on this ground truth. It depends on the archs used (how far apart their mu_i lie) and on
how many seeds each truth value averages (n_i = 1 or 2 in the default run), so it is
estimated for exactly the archs and seed counts the methods are judged on.

Model: acc_ij = mu_i + e_ij, e_ij ~ N(0, sigma^2), the same sigma for every arch.
Estimator (all moments unweighted over archs):
  1. sigma^2: the pooled within-arch variance of the archs retrained more than once,
     sum_i sum_j (acc_ij - mean_i)^2 / sum_i (n_i - 1).
  2. The spread of the mu_i: t^2 = max(0, var(mean_i) - mean_i(sigma^2 / n_i)) (method of
     moments: a truth value's variance is the mu spread plus its own noise).
  3. Estimates of the mu_i with that spread ("constrained Bayes", Louis 1984): each mean is
     shrunk toward the grand mean m by its own reliability, p_i = m + t^2 / (t^2 + sigma^2/n_i)
     (mean_i - m), so one-seed archs move more; the shrunken values are then rescaled about m
     so that their variance is t^2. (The raw means overstate the spread of the mu_i and so the
     ceiling; the shrunken ones understate it.)
  4. The ceiling: the mean over `draws` simulated ground truths, mu*_i + N(0, sigma^2 / n_i), of
     tau(mu*, simulated truth). When t^2 = 0 (no spread left beyond the noise) it is 0.
CI: parametric bootstrap. Retrainings are simulated from the fitted model (mu*_i + N(0,
sigma^2), the same n_i per arch), steps 1-4 are re-run on each, and the percentile interval of
those estimates is reported.
Where the noise dominates the spread of the true values, t^2 is mostly noise and is truncated
at 0 and sigma^2 (few degrees of freedom) is often underestimated: with few archs the estimate
is then biased upward (about +0.2 at 40 archs and noise 100x the spread; about unbiased at 32
archs when the noise is comparable to the spread, as in the tests), and the CI, which then
reaches down to 0, is the figure to read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.errors import HarnessError
from harness.analysis.metrics import _kendall_rows, _rowwise, percentile_ci

# Simulated ground truths per expected-tau estimate (its Monte Carlo error is about 0.01 at 32
# archs), and per parametric-bootstrap replicate (about 0.02: it widens a CI of width ~0.2 by ~1%).
DRAWS = 200
REPLICATE_DRAWS = 50


@dataclass(frozen=True)
class NoiseModel:
    """The fitted model: estimated expected accuracies, retraining noise sd, seeds per arch."""

    true_values: np.ndarray
    noise_sd: float
    seed_counts: np.ndarray


def fit_noise_model(accuracies: np.ndarray) -> NoiseModel:
    """Steps 1-3 of the estimator. `accuracies`: one row per arch, one column per retraining
    seed, NaN where that arch was not retrained with that seed."""
    acc = np.asarray(accuracies, dtype=float)
    if acc.ndim != 2:
        raise HarnessError(f"accuracies must be a 2-D (archs x seeds) table, got shape {acc.shape}")
    counts = (~np.isnan(acc)).sum(axis=1)
    if (counts == 0).any():
        raise HarnessError(f"{int((counts == 0).sum())} arch(s) have no retrained accuracy; drop them first")
    if (counts >= 2).sum() < 2:
        raise HarnessError("the ceiling needs at least two archs retrained with two or more seeds "
                           f"(has {int((counts >= 2).sum())}); raise groundtruth.repeat_archs")
    means = np.nanmean(acc, axis=1)
    within = np.nansum((acc - means[:, None]) ** 2)
    noise_var = within / (counts - 1).sum()
    truth_noise = noise_var / counts
    grand = means.mean()
    spread = max(0.0, means.var(ddof=1) - truth_noise.mean())
    if spread == 0.0:
        return NoiseModel(np.full(means.size, grand), float(np.sqrt(noise_var)), counts)
    shrunk = grand + spread / (spread + truth_noise) * (means - grand)
    scale = np.sqrt(spread / shrunk.var(ddof=1))
    return NoiseModel(grand + scale * (shrunk - grand), float(np.sqrt(noise_var)), counts)


def expected_tau(model: NoiseModel, draws: int, rng: np.random.Generator) -> float:
    """Step 4: mean tau between the model's true values and `draws` simulated ground truths
    (true value + noise of sd sigma / sqrt(n_i)); 0 when the true values are all equal."""
    mu = model.true_values
    if np.all(mu == mu[0]):
        return 0.0
    noise = rng.normal(size=(draws, mu.size)) * (model.noise_sd / np.sqrt(model.seed_counts))
    return float(np.nanmean(_rowwise(_kendall_rows, np.broadcast_to(mu, noise.shape), mu + noise)))


def simulate_retraining(model: NoiseModel, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Accuracies drawn from the model at the observed (arch, seed) cells (`mask`), NaN elsewhere."""
    drawn = model.true_values[:, None] + model.noise_sd * rng.normal(size=mask.shape)
    return np.where(mask, drawn, np.nan)


def perfect_scorer_ceiling(
    accuracies: np.ndarray, *, n_boot: int, confidence: float, seed: int, draws: int = DRAWS,
    replicate_draws: int = REPLICATE_DRAWS,
) -> tuple[float, float, float]:
    """(estimate, ci_low, ci_high) of the expected tau of a perfect scorer against the mean of
    each arch's retraining seeds (the module docstring defines the estimator). The CI is
    (NaN, NaN) when n_boot is 0."""
    acc = np.asarray(accuracies, dtype=float)
    rng = np.random.default_rng(seed)
    model = fit_noise_model(acc)
    estimate = expected_tau(model, draws, rng)
    mask = ~np.isnan(acc)
    replicates = np.array([
        expected_tau(fit_noise_model(simulate_retraining(model, mask, rng)), replicate_draws, rng) for _ in range(n_boot)
    ])  # fmt: skip
    low, high = percentile_ci(replicates, confidence) if n_boot else (float("nan"), float("nan"))
    return estimate, low, high

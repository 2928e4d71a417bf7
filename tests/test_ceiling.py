"""The perfect-scorer ceiling on synthetic retrainings: accuracy = true value + Gaussian noise of
a known sd, so the true expected tau of a perfect scorer is known (computed by Monte Carlo here)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.ceiling import fit_noise_model, perfect_scorer_ceiling
from harness.errors import HarnessError
from harness.analysis.metrics import kendall_tau


def retrainings(n_archs: int, repeated: int, noise_sd: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(true values, archs x 2 accuracies): every arch retrained once, the first `repeated` twice."""
    rng = np.random.default_rng(seed)
    true = rng.normal(size=n_archs)
    acc = np.full((n_archs, 2), np.nan)
    acc[:, 0] = true + noise_sd * rng.normal(size=n_archs)
    acc[:repeated, 1] = true[:repeated] + noise_sd * rng.normal(size=repeated)
    return true, acc


def true_ceiling(true: np.ndarray, acc: np.ndarray, noise_sd: float, draws: int = 3000) -> float:
    """E[tau(true, mean of each arch's seeds)] at the seed counts of `acc`, by Monte Carlo."""
    rng = np.random.default_rng(123)
    counts = (~np.isnan(acc)).sum(axis=1)
    return float(np.mean([kendall_tau(true, true + rng.normal(size=true.size) * noise_sd / np.sqrt(counts))
                          for _ in range(draws)]))


@pytest.mark.parametrize("noise_sd, seed", [(0.3, 0), (0.7, 1), (1.2, 2)])
def test_estimate_is_close_to_the_true_expected_tau(noise_sd, seed):
    true, acc = retrainings(100, 50, noise_sd, seed)
    estimate, _, _ = perfect_scorer_ceiling(acc, n_boot=0, confidence=0.95, seed=0, draws=400)
    assert estimate == pytest.approx(true_ceiling(true, acc, noise_sd), abs=0.06)


def test_ci_contains_the_true_ceiling_and_excludes_one():
    true, acc = retrainings(32, 16, 0.5, 4)
    estimate, low, high = perfect_scorer_ceiling(acc, n_boot=200, confidence=0.95, seed=0)
    assert low < true_ceiling(true, acc, 0.5) < high
    assert low < estimate < high < 1.0


def test_averaging_more_seeds_raises_the_ceiling():
    true, acc = retrainings(60, 60, 0.8, 5)  # every arch retrained twice
    one_seed = acc.copy()
    one_seed[:, 1] = np.nan
    one_seed[:2, 1] = acc[:2, 1]  # the minimum the noise estimate needs
    both, _, _ = perfect_scorer_ceiling(acc, n_boot=0, confidence=0.95, seed=0)
    single, _, _ = perfect_scorer_ceiling(one_seed, n_boot=0, confidence=0.95, seed=0)
    assert both > single + 0.03


def test_raw_means_would_overstate_the_ceiling():
    """The constrained-Bayes values have the estimated true spread; the raw means are wider."""
    _, acc = retrainings(100, 100, 1.0, 6)
    model = fit_noise_model(acc)
    assert model.true_values.std() < np.nanmean(acc, axis=1).std()
    assert model.noise_sd == pytest.approx(1.0, abs=0.2)


def test_zero_noise_gives_one():
    true = np.random.default_rng(0).normal(size=20)
    acc = np.stack([true, np.where(np.arange(20) < 10, true, np.nan)], axis=1)
    assert perfect_scorer_ceiling(acc, n_boot=50, confidence=0.95, seed=0) == (1.0, 1.0, 1.0)


def test_huge_noise_gives_about_zero():
    """Noise 100x the spread of the true values: the true ceiling is ~0. The spread estimate is
    then mostly noise (truncated at 0), so single estimates scatter upward; at 100 archs their
    median is ~0 and the CI reaches down to 0."""
    estimates = []
    for seed in range(5):
        true, acc = retrainings(100, 50, 100.0, seed)
        estimates.append(perfect_scorer_ceiling(acc, n_boot=0, confidence=0.95, seed=0, draws=100)[0])
    assert abs(true_ceiling(true, acc, 100.0, draws=500)) < 0.03
    assert np.median(estimates) < 0.1
    _, low, high = perfect_scorer_ceiling(acc, n_boot=60, confidence=0.95, seed=0, draws=60)
    assert low == 0.0 and high < 0.6


def test_too_few_repeated_archs_is_an_error():
    _, acc = retrainings(10, 1, 0.5, 8)
    with pytest.raises(HarnessError, match="at least two archs"):
        fit_noise_model(acc)

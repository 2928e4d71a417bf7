"""What run would decide it (harness.analysis.power): the variance components correlate
estimates, their projection to a larger run checked against simulation, and the search for the
cheapest deciding run in both directions."""

from __future__ import annotations

import argparse
import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from harness.analysis import correlation
from harness.analysis.power import (CostModel, VarianceComponents, arch_grid, deciding_run, estimate_components,
                                    pairwise_components, seed_only_components, z_value)

# The synthetic scores: conv count c (0..6), quality q within a stratum, truth = c + q. Seed s of
# method m scores c + beta q + g (the method's arch-level error, shared by its seeds) + gamma_s h (the
# seed's supernet: a random weight on an arch feature h, which moves that seed's whole ranking) +
# sigma e (the seed's own arch-level noise). The statistic: seed-mean within-conv-count tau of a
# minus b's.
METHODS = {"a": dict(beta=1.5, shared=0.6, supernet=3.0, noise=0.4),
           "b": dict(beta=1.0, shared=0.6, supernet=3.0, noise=0.4)}


def draw_archs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = rng.binomial(6, 0.4, n).astype(float)
    quality = rng.normal(size=n)
    return counts, quality, counts + quality


def draw_scores(rng: np.random.Generator, counts: np.ndarray, quality: np.ndarray, seeds: int,
                beta: float, shared: float, supernet: float, noise: float) -> np.ndarray:
    n = counts.size
    feature = rng.normal(size=n)
    common = counts + beta * quality + shared * rng.normal(size=n)
    gamma = supernet * rng.normal(size=(seeds, 1))
    return common + gamma * feature + noise * rng.normal(size=(seeds, n))


def components_through_correlate(rng: np.random.Generator, n: int, seeds: int, n_boot: int) -> VarianceComponents:
    """One synthetic dataset at (n archs, `seeds` seeds each), through correlate's difference row."""
    counts, quality, truth = draw_archs(rng, n)
    runs = {}
    for method, parts in METHODS.items():
        scores = draw_scores(rng, counts, quality, seeds, **parts)
        runs[method] = {s: pd.DataFrame({"checkpoint": 0, "epoch": 1.0, "arch_id": np.arange(n), "arch_str": "x",
                                         "score": scores[s]}) for s in range(seeds)}
    args = argparse.Namespace(space="synthetic", bootstrap=n_boot, confidence=0.95, seed=int(rng.integers(1 << 30)),
                              topk=5)
    truth_series = pd.Series(truth, index=np.arange(n))
    replicates = correlation.Replicates(runs, truth_series, args, strata=pd.Series(counts, index=np.arange(n)))
    row = correlation.difference_row("a", "b", correlation.BASELINE, runs, {"a": 0, "b": 0}, truth_series, args,
                                     replicates, correlation.WITHIN)
    assert row["metric"] == "kendall_tau_within_conv_count_diff_vs_b"
    return VarianceComponents.from_row(row)


def within_tau(scores: np.ndarray, truth: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Tau within conv-count strata of every row of 2-D scores against truth (no ties: continuous
    data), float32 pairwise for speed: (concordant - discordant) / same-stratum pairs."""
    first, second = np.triu_indices(scores.shape[1], k=1)
    same = counts[..., first] == counts[..., second]
    product = ((scores[..., first] - scores[..., second]) * (truth[..., first] - truth[..., second])).astype(np.float32)
    return (np.sign(product) * same).sum(-1) / same.sum(-1)


def simulated_variance(rng: np.random.Generator, n: int, seeds: int, datasets: int) -> float:
    """The variance of the statistic over independent datasets at (n archs, `seeds` seeds each)."""
    values = []
    for _ in range(datasets):
        counts, quality, truth = draw_archs(rng, n)
        taus = [within_tau(draw_scores(rng, counts, quality, seeds, **parts), truth, counts).mean()
                for parts in METHODS.values()]
        values.append(taus[0] - taus[1])
    return float(np.var(values, ddof=1))


def test_projected_half_width_at_4x_archs_and_2x_seeds_matches_simulation():
    """Components estimated at 40 archs x 3 seeds per method through correlate's difference row
    (the projected variance averaged over 40 datasets, so that the test checks the estimator and
    not one draw) project the CI half-width at 160 archs x 6 seeds within 15% of the half-width
    measured over 500 independent datasets of that size (the estimator is within ~10% over
    other random seeds of this test)."""
    rng = np.random.default_rng(7)
    n0, k0 = 40, 3
    estimates = [components_through_correlate(rng, n0, k0, n_boot=20) for _ in range(40)]
    projected = np.mean([c.variance(4 * n0, 2 * k0, 2 * k0) for c in estimates])
    measured = simulated_variance(rng, 4 * n0, 2 * k0, datasets=500)
    z = z_value(0.95)
    assert z * math.sqrt(projected) == pytest.approx(z * math.sqrt(measured), rel=0.15)
    # every component is at work here (a projection that ignored seeds or archs would miss), and
    # the pair-level part of the arch terms (falling as 1/n^2) matters at 40 archs
    mean = {name: np.mean([getattr(c, name) for c in estimates]) for name in
            ("var_arch", "var_arch_seed", "var_arch_seed_other", "var_seed", "var_seed_other", "var_arch_seed_pair")}
    assert all(value > 0 for value in mean.values()), mean
    assert mean["var_arch_seed_pair"] > 0.2 * mean["var_arch_seed"]
    at_own_size = simulated_variance(rng, n0, k0, datasets=500)
    assert np.mean([c.variance() for c in estimates]) == pytest.approx(at_own_size, rel=0.2)


def test_components_of_one_method_with_known_parts():
    """Replicates built from known parts: a shared column effect (var 0.04), seed-specific column
    noise (var 0.09) and seed point values spread by a known seed variance."""
    rng = np.random.default_rng(0)
    seeds, n_boot = 4, 20000
    shared = 0.2 * rng.normal(size=n_boot)
    replicates = shared + 0.3 * rng.normal(size=(seeds, n_boot))
    points = np.array([0.1, 0.9, 0.4, 1.2])
    c = estimate_components(replicates, points, n=100)
    assert c.var_arch == pytest.approx(0.04, rel=0.05) and c.var_arch_seed == pytest.approx(0.09, rel=0.05)
    assert c.var_seed == pytest.approx(np.var(points, ddof=1) - c.var_arch_seed)
    assert c.seeds == 4 and c.seeds_other == 0 and c.var_seed_other == 0.0
    one = estimate_components(replicates[:1], points[:1], n=100)
    assert one.var_arch == pytest.approx(0.13, rel=0.05) and one.var_arch_seed == 0.0 and one.var_seed == 0.0
    undefined = replicates.copy()
    undefined[0, :-1] = np.nan
    assert not estimate_components(undefined, points, n=100).defined


def test_pairwise_components_of_independent_rankings_give_the_exact_variance_of_tau():
    """For independent continuous x and y the variance of Kendall's tau at n archs is
    2 (2n + 5) / (9 n (n - 1)) exactly (1/n alone would be 18% short at n = 20): the U-statistic
    estimate, averaged over datasets, gives it at the run's size and projected to 4x the archs."""
    rng = np.random.default_rng(0)
    n = 20
    estimates = [pairwise_components(rng.normal(size=(1, n)), rng.normal(size=n)) for _ in range(400)]

    def exact(size: int) -> float:
        return 2 * (2 * size + 5) / (9 * size * (size - 1))

    assert np.mean([c.variance() for c in estimates]) == pytest.approx(exact(n), rel=0.05)
    assert np.mean([c.variance(4 * n) for c in estimates]) == pytest.approx(exact(4 * n), rel=0.05)
    assert estimates[0].seeds == 1 and estimates[0].var_arch_seed == 0.0 and estimates[0].var_seed == 0.0


def test_pairwise_components_agree_with_the_bootstrap_where_it_is_unbiased():
    """At 300 archs (pair-level terms small, strata large) the U-statistic components of a
    two-method difference are close to the bootstrap-replicate ones."""
    from harness.analysis.metrics import draw_resamples
    from harness.analysis.structure_control import within_strata_replicates

    rng = np.random.default_rng(1)
    counts, quality, truth = draw_archs(rng, 300)
    a = draw_scores(rng, counts, quality, 3, **METHODS["a"])
    b = draw_scores(rng, counts, quality, 2, **METHODS["b"])
    exact = pairwise_components(a, truth, counts, b)
    indices = draw_resamples(300, 400, seed=0).archs
    boot = estimate_components(within_strata_replicates(a, truth, counts, indices),
                               within_tau(a, truth, counts), within_strata_replicates(b, truth, counts, indices),
                               within_tau(b, truth, counts), n=300)
    for name in ("var_arch", "var_arch_seed", "var_arch_seed_other"):
        assert getattr(exact, name) == pytest.approx(getattr(boot, name), rel=0.3), name
    assert exact.variance() == pytest.approx(boot.variance(), rel=0.1)
    assert (exact.n, exact.seeds, exact.seeds_other) == (300, 3, 2)


def test_projection_formula():
    c = VarianceComponents(n=100, seeds=2, seeds_other=3, var_arch=0.01, var_arch_seed=0.02,
                           var_arch_seed_other=0.03, var_seed=0.04, var_seed_other=0.06)
    assert c.variance() == pytest.approx(0.01 + 0.02 / 2 + 0.03 / 3 + 0.04 / 2 + 0.06 / 3)
    assert c.variance(400, 4, 6) == pytest.approx((0.01 + 0.02 / 4 + 0.03 / 6) / 4 + 0.04 / 4 + 0.06 / 6)
    row = {"n": 100, "seeds": 2, **c.columns()}
    assert VarianceComponents.from_row(row) == c
    assert arch_grid(24, 15625).tolist()[:3] == [24, 48, 96] and arch_grid(24, 15625)[-1] == 15625
    assert arch_grid(24, 24).tolist() == [24] and arch_grid(30, 10).tolist() == [30]


COMPONENTS = VarianceComponents(n=24, seeds=3, seeds_other=2, var_arch=0.004, var_arch_seed=0.01,
                                var_arch_seed_other=0.01, var_seed=0.004, var_seed_other=0.02)
COSTS = CostModel(unit="CPU-s", per_arch=40.0, per_seed=5.0, per_seed_other=60.0, per_scored_arch=0.001,
                  per_scored_arch_other=0.3)


def test_an_effect_far_from_the_boundary_gets_the_cheapest_deciding_run():
    current = COMPONENTS.half_width()
    value = -0.05 + 0.6 * current  # not decided now (the CI spans the margin), decided by a larger run
    assert current > 0.2
    run = deciding_run(value, COMPONENTS, -0.05, COSTS, max_archs=15625, max_seeds=50)
    assert run.decided and run.half_width < value + 0.05 and run.unit == "CPU-s"
    assert run.added_cost == pytest.approx(run.cost - COSTS.cost(24, 3, 2)) and run.added_cost > 0
    assert COMPONENTS.half_width(run.n, run.seeds, run.seeds_other) == pytest.approx(run.half_width)
    # nothing cheaper on the grid decides it
    for n in arch_grid(24, 15625):
        for ka in range(3, 51):
            for kb in range(2, 51):
                if COSTS.cost(n, ka, kb) < run.cost:
                    assert COMPONENTS.half_width(n, ka, kb) >= value + 0.05
    unpriced = deciding_run(value, COMPONENTS, -0.05, CostModel("CPU-s"), max_archs=15625, max_seeds=50)
    assert unpriced.decided and unpriced.cost == 0  # all free: the smallest deciding run, not the largest
    assert not any(COMPONENTS.half_width(n, ka, kb) < value + 0.05 for n in arch_grid(24, unpriced.n)[:-1]
                   for ka in range(3, 51) for kb in range(2, 51))
    already = deciding_run(-0.05 + 1.1 * current, COMPONENTS, -0.05, COSTS, max_archs=15625)
    assert already.decided and (already.n, already.seeds, already.seeds_other) == (24, 3, 2)
    assert already.added_cost == 0.0


def test_an_effect_at_the_boundary_gets_no_run():
    at = deciding_run(-0.05, COMPONENTS, -0.05, COSTS, max_archs=15625, max_seeds=50)
    assert not at.decided and at.n is None and at.cost is None and "no sample size decides it" in at.reason
    near = deciding_run(-0.049, COMPONENTS, -0.05, COSTS, max_archs=200, max_seeds=10)
    assert not near.decided and "no run within reach decides it" in near.reason and "200 archs" in near.reason
    assert not deciding_run(float("nan"), COMPONENTS, -0.05, COSTS, max_archs=100).decided
    assert not deciding_run(0.1, dataclasses.replace(COMPONENTS, var_seed=float("nan")), 0.0, COSTS,
                            max_archs=100).decided


def test_seed_only_projection():
    """V(k) = V0 k0 / k per method: a log speed-up of 2.1 (8.2x) with a variance of 0.04 from
    each method's 2 seeds; the boundary log(10)."""
    c = seed_only_components(0.04, 2, 0.04, 2)
    assert c.variance() == pytest.approx(0.08) and c.variance(1, 8, 8) == pytest.approx(0.02)
    costs = CostModel(unit="CPU-s", per_seed=10.0, per_seed_other=100.0)
    run = deciding_run(math.log(8.2), c, math.log(10), costs, max_archs=1, max_seeds=50)
    assert run.decided and run.n == 1 and run.seeds_other >= 2 and "archs" not in run.reason
    assert z_value(0.95) * math.sqrt(c.variance(1, run.seeds, run.seeds_other)) < math.log(10) - math.log(8.2)
    assert not deciding_run(math.log(9.99), c, math.log(10), costs, max_archs=1, max_seeds=50).decided


def _early_bird_detail(seeds: str, ci_low: float, ci_high: float):
    from types import SimpleNamespace

    from harness.analysis import claims

    return SimpleNamespace(claim=claims.EARLY_BIRD, seeds=seeds, ci_low=ci_low, ci_high=ci_high,
                           measured=(ci_low + ci_high) / 2, method="bnnas")


def test_early_bird_deciding_run_grows_with_the_ci_and_needs_two_seeds():
    """The early-bird projection: more seeds for a wider CI across the 0.8 threshold, priced from the
    method's supernet cost; none from one seed (its CI is architecture resampling only)."""
    from harness.analysis import deciding
    from harness.analysis.unit_costs import UnitCosts

    costs = UnitCosts(unit="CPU-s", cores=2, retrain_per_arch=1.0, train_per_seed={"bnnas": 10.0})
    narrow = deciding.early_bird(_early_bird_detail("3", 0.77, 0.89), costs)  # both across 0.8, mean 0.83
    wide = deciding.early_bird(_early_bird_detail("3", 0.74, 0.92), costs)
    assert narrow["seeds"] >= 3 and wide["seeds"] > narrow["seeds"]
    assert wide["cost"] == pytest.approx(10.0 * wide["seeds"])
    assert "seed spread" in wide["text"] and "archs" not in wide  # the architectures stay as they are
    assert "seeds" not in deciding.early_bird(_early_bird_detail("3", 0.70, 0.96), costs)  # beyond 50 seeds
    one = deciding.early_bird(_early_bird_detail("1", 0.70, 0.96), costs)
    assert "seeds" not in one and "at least 2 seeds" in one["text"]

"""Zero-cost baselines (methods/{params,flops,conv_count,synflow,naswot,jacob_cov,snip,grad_norm}.py,
their shared helpers in harness/scoring/zero_cost.py): each proxy on networks whose value is known by hand, and synflow
over the whole NATS-Bench topology space against the published correlations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import kendalltau, spearmanr
from torch import nn

import methods
from harness.spaces.cost import count_cost
from harness.method import ScoreContext
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.data.shapes import InputShape
from harness.analysis.paper import published_correlation
from harness.scoring.zero_cost import one_batch
from methods.grad_norm import grad_norm_score
from methods.jacob_cov import JACOB_COV_K, jacob_cov_score
from methods.naswot import NASWOT_SINGULAR, naswot_score
from methods.snip import snip_score
from methods.synflow import synflow_over_space, synflow_score

PROXIES = ("params", "flops", "conv_count", "synflow", "naswot", "jacob_cov", "snip", "grad_norm")
DATA_PROXIES = ("naswot", "jacob_cov", "snip", "grad_norm")
CPU = torch.device("cpu")

# Abdelfattah et al. 2021, |Spearman| of synflow vs test accuracy over all 15,625 archs; the
# CIFAR-10 column is against the cifar10-valid protocol's test accuracy (harness/analysis/paper.py).
PUBLISHED_SYNFLOW = {dataset: (row.target, row.spearman_rho)
                     for dataset in ("cifar10", "cifar100", "ImageNet16-120")
                     for row in [published_correlation("synflow", dataset)]}
TOLERANCE = 0.02
SUBSET_SIZE = 500
# The |Spearman| of a random 500-arch subset scatters around the all-arch value with a standard
# deviation of 0.021 (measured on 2,000 random subsets of the all-arch synflow values, CIFAR-10;
# the asymptotic (1 - rho^2) * sqrt(1.06 / (n - 3)) gives the same). Allow the published
# tolerance plus 3 standard deviations: 0.083. That guards against gross breakage only; finer
# mistakes need the all-arch check (e.g. the CIFAR-10 column: synflow has |Spearman| 0.779
# against c10_test_acc_200 but 0.739 against c10valid_test_acc_200, the published protocol).
SUBSET_TOLERANCE = TOLERANCE + 3 * (1 - 0.737**2) * np.sqrt(1.06 / (SUBSET_SIZE - 3))


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    """Tiny networks and batch-of-one synflow: intra-op threads only add overhead, and thrash
    when the CPUs are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def wide(nats_wide_csv: Path) -> pd.DataFrame:
    return pd.read_csv(nats_wide_csv)


@pytest.fixture(scope="module")
def sample(tiny_space) -> np.ndarray:
    rng = np.random.default_rng(3)
    archs = [tiny_space.sample(rng) for _ in range(5)] + [(0,) * 6, (3,) * 6]
    return tiny_space.to_matrix(archs)


def context(space, data, seed=0, **options) -> ScoreContext:
    return ScoreContext(space=space, supernet=None, data=data, options=options, seed=seed, device=CPU)


# --- the method files ---------------------------------------------------------------------

@pytest.mark.parametrize("name", PROXIES)
def test_each_proxy_is_a_registered_method_without_supernet(name: str) -> None:
    method = methods.resolve(name)
    assert method.name == name and not method.trains_supernet
    assert "higher = better" in method.summary
    if name in DATA_PROXIES:
        assert method.options == {"batch_size": 64}


# --- table proxies ------------------------------------------------------------------------

def test_params_and_flops_are_the_cost_table_and_the_real_counts(tiny_space, tiny_data, sample) -> None:
    ctx = context(tiny_space, tiny_data)
    params = methods.resolve("params").scorer(ctx, sample)
    flops = methods.resolve("flops").scorer(ctx, sample)
    table = tiny_space.cost_table()
    np.testing.assert_allclose(params, table.params(sample))
    np.testing.assert_allclose(flops, table.flops(sample))
    for arch, p, f in zip(sample, params, flops):
        real_flops, real_params = count_cost(tiny_space.build_subnet(tuple(arch)), tiny_space.input_shape)
        assert (f, p) == pytest.approx((real_flops, real_params), rel=1e-9, abs=1e-12)


def test_conv_count_counts_the_edges_with_a_conv(tiny_space, tiny_data) -> None:
    table = tiny_space.conv_op_table()
    # OPS = none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3
    np.testing.assert_array_equal(table, np.tile([0, 0, 1, 1, 0], (6, 1)))
    archs = tiny_space.to_matrix([(0,) * 6, (3,) * 6, (3, 3, 2, 1, 4, 0), (1, 4, 1, 4, 1, 2)])
    scores = methods.resolve("conv_count").scorer(context(tiny_space, tiny_data), archs)
    np.testing.assert_array_equal(scores, [0, 6, 3, 1])


# --- synflow ------------------------------------------------------------------------------

def two_layer_net(a: float, b: float, c: float, d: float) -> nn.Module:
    """conv1x1 (1 -> 2 channels, weights a, b) - BN - ReLU - mean pool - Linear(2 -> 1, weights c,
    d, bias). With |weights|, no BN and an all-ones input: R = |a||c| + |b||d| + |bias|, so
    synflow = |a dR/da| + |b dR/db| + |c dR/dc| + |d dR/dd| = 2 (|a c| + |b d|)."""
    model = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([a, b]).view(2, 1, 1, 1))
        model[1].weight.copy_(torch.tensor([3.0, -0.5]))  # BN would change R if it stayed
        model[1].running_mean.fill_(0.7)
        model[5].weight.copy_(torch.tensor([[c, d]]))
        model[5].bias.fill_(-4.0)
    return model


def test_synflow_by_hand_removes_bn_takes_abs_and_leaves_the_model_alone() -> None:
    model = two_layer_net(0.5, -2.0, -3.0, 0.25)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    model[0].register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0]))
    score = synflow_score(model, InputShape(channels=1, resolution=3, classes=1))
    assert score == pytest.approx(2 * (0.5 * 3.0 + 2.0 * 0.25), rel=1e-12)
    assert seen[0].dtype == torch.float64 and bool((seen[0] == 1).all()) and seen[0].shape == (1, 1, 3, 3)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # a copy was scored
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_synflow_sums_conv_and_linear_weights_only_in_float64() -> None:
    # Linear(1 -> 1) of weight -10, 30 layers deep: R = prod|w| = 1e30 and each weight's
    # |w dR/dw| = prod|w|, so synflow = 30 * 1e30: float32 rounds the powers of 10 beyond 1e10
    # (relative error ~1e-7), float64 is good to ~1e-15.
    layers = [nn.Linear(1, 1, bias=False) for _ in range(30)]
    for layer in layers:
        nn.init.constant_(layer.weight, -10.0)
    model = nn.Sequential(nn.Flatten(), *layers)
    assert synflow_score(model, InputShape(channels=1, resolution=1, classes=1)) == pytest.approx(30e30, rel=1e-14)


def test_synflow_over_space_is_seeded_per_arch_and_reuses_groups(tiny_space, sample) -> None:
    shape = tiny_space.input_shape
    state = torch.get_rng_state()
    scores = synflow_over_space(tiny_space, shape, sample, seed=5)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's RNG is untouched
    for arch, score in zip(sample[:3], scores):
        torch.manual_seed(5)
        assert score == synflow_score(tiny_space.build_subnet(tuple(arch)), shape)
    assert np.isfinite(scores).all() and (scores >= 0).all()
    # All-`none` cells output 0: without BN the classifier sees 0, R is its bias alone and every
    # dR/dw is 0.
    assert scores[-2] == 0.0 and scores[-1] > 0
    np.testing.assert_array_equal(scores, synflow_over_space(tiny_space, shape, sample, seed=5))
    assert not np.array_equal(scores, synflow_over_space(tiny_space, shape, sample, seed=6))
    grouped = synflow_over_space(tiny_space, shape, sample[:3], seed=5, groups=["a", "b", "a"])
    np.testing.assert_array_equal(grouped, [scores[0], scores[1], scores[0]])


# --- data-dependent proxies ---------------------------------------------------------------

def linear_batch(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(6, 1, 2, 2, generator=generator)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.randn(3, 4, generator=generator))
    return model, x, y


def test_snip_and_grad_norm_by_hand_on_a_linear_classifier() -> None:
    model, x, y = linear_batch()
    w = model[1].weight.detach().double().numpy()
    flat = x.reshape(6, 4).double().numpy()
    logits = flat @ w.T
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    grad = (p - np.eye(3)[y.numpy()]).T @ flat / len(flat)  # dCE/dW, mean over the batch
    assert snip_score(model, x, y) == pytest.approx(np.abs(grad * w).sum(), rel=1e-5)
    assert grad_norm_score(model, x, y) == pytest.approx(np.linalg.norm(grad), rel=1e-5)
    # Two layers: grad_norm is the sum of the per-layer norms, not the norm of all gradients.
    two = nn.Sequential(nn.Flatten(), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    loss = F.cross_entropy(two(x), y)
    norms = [float(g.norm()) for g in torch.autograd.grad(loss, [two[1].weight, two[3].weight])]
    assert grad_norm_score(two, x, y) == pytest.approx(sum(norms), rel=1e-5)


@pytest.mark.parametrize("inplace", [False, True])
def test_naswot_is_the_log_det_of_the_binary_code_kernel(inplace: bool) -> None:
    x = torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    original = x.clone()
    model = nn.Sequential(nn.Flatten(), nn.ReLU(inplace=inplace), nn.ReLU())
    codes = (x.reshape(6, -1) > 0).double().numpy()
    one_relu = codes @ codes.T + (1 - codes) @ (1 - codes).T
    sign, logdet = np.linalg.slogdet(2 * one_relu)  # both ReLUs see the same codes
    assert sign > 0
    assert naswot_score(model, x) == pytest.approx(logdet, rel=1e-12)
    assert torch.equal(x, original)  # the shared batch is not overwritten by an in-place ReLU
    # Two identical images: singular kernel, scored NASWOT_SINGULAR, below any non-singular
    # kernel (an integer matrix: |det| >= 1, log det >= 0).
    assert naswot_score(model, torch.cat([x[:3], x[:3]])) == NASWOT_SINGULAR < 0


def test_jacob_cov_by_hand() -> None:
    k, n = JACOB_COV_K, 6

    class HalfSquareSum(nn.Module):  # d(output)/dx = x: the jacobians are the images themselves
        def forward(self, x):
            return (x**2).flatten(1).sum(1, keepdim=True) / 2

    _, x, _ = linear_batch()
    v = np.linalg.eigvalsh(np.corrcoef(x.reshape(n, -1).double().numpy()))
    expected = -np.sum(np.log(np.clip(v, 0, None) + k) + 1 / (np.clip(v, 0, None) + k))
    assert jacob_cov_score(HalfSquareSum(), x) == pytest.approx(expected, rel=1e-9)
    # A linear network has the same jacobian for every image: correlations all 1, eigenvalues
    # (n, 0, ..., 0).
    model, _, _ = linear_batch()
    same = -(np.log(n + k) + 1 / (n + k) + (n - 1) * (np.log(k) + 1 / k))
    assert jacob_cov_score(model, x) == pytest.approx(same, rel=1e-9)
    # An output that ignores the input: undefined correlations count as 0, the lowest score.
    constant = nn.Sequential(nn.Flatten(), nn.Linear(4, 3)).requires_grad_(False)
    constant[1].weight.zero_()
    assert jacob_cov_score(constant, x) == pytest.approx(-n * (np.log(k) + 1 / k), rel=1e-9)


def test_data_proxies_use_one_seeded_training_batch(tiny_space, tiny_data, sample) -> None:
    ctx = context(tiny_space, tiny_data, seed=7, batch_size=32)
    x, y = one_batch(ctx)
    expected_x, expected_y = next(iter(tiny_data.batches("train", 32, generator=torch.Generator().manual_seed(7),
                                                          augment=False)))
    assert torch.equal(x, expected_x) and torch.equal(y, expected_y)
    for name in DATA_PROXIES:
        scorer = methods.resolve(name).scorer
        scores = scorer(ctx, sample)
        assert scores.shape == (len(sample),) and np.isfinite(scores).all(), name
        np.testing.assert_array_equal(scores, scorer(ctx, sample))
        assert not np.array_equal(scores, scorer(context(tiny_space, tiny_data, seed=8, batch_size=32), sample)), name


# --- the whole benchmark --------------------------------------------------------------------

def test_params_and_flops_correlations_over_all_archs(wide: pd.DataFrame) -> None:
    """The parameter count vs CIFAR-10 200-epoch test accuracy over all of NATS-Bench: the published
    Kendall tau (ZiCo's Table 1: 0.57, to two digits)."""
    space = build_space("nats-tss", dataset_shape("cifar10"), C=16, N=5)
    archs = space.to_matrix([space.decode(text) for text in wide["arch_str"]])
    ctx = context(space, None)
    params = methods.resolve("params").scorer(ctx, archs)
    flops = methods.resolve("flops").scorer(ctx, archs)
    np.testing.assert_allclose(params, wide["params_c10_M"], atol=1e-9)
    np.testing.assert_allclose(flops, wide["flops_c10_M"], atol=1e-9)
    # Equal costs are equal scores (float noise in the cost table's sums would break the ties).
    assert len(np.unique(params)) == wide["params_c10_M"].nunique() == 28
    assert len(np.unique(flops)) == wide["flops_c10_M"].nunique()
    published = published_correlation("params")
    assert kendalltau(params, wide[published.target])[0] == pytest.approx(published.kendall_tau, abs=0.01)


def synflow_correlation(wide: pd.DataFrame, dataset: str, rows: np.ndarray | None = None,
                        groups: bool = False) -> tuple[float, float]:
    """(|Spearman| of synflow vs the published column, the published value)."""
    column, published = PUBLISHED_SYNFLOW[dataset]
    table = wide if rows is None else wide.iloc[rows]
    shape = dataset_shape(dataset)
    space = build_space("nats-tss", shape, C=16, N=5)
    archs = [space.decode(text) for text in table["arch_str"]]
    scores = synflow_over_space(space, shape, archs, seed=0,
                                groups=list(table["unique_str"]) if groups else None)
    assert np.isfinite(scores).all()
    return abs(spearmanr(scores, table[column])[0]), published


def test_synflow_on_a_seeded_subset_matches_the_published_correlation(wide: pd.DataFrame) -> None:
    """Fast version of the check below: 500 random archs, CIFAR-10 (cifar10-valid test column)."""
    rows = np.random.default_rng(0).choice(len(wide), SUBSET_SIZE, replace=False)
    rho, published = synflow_correlation(wide, "cifar10", rows)
    assert rho == pytest.approx(published, abs=SUBSET_TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", list(PUBLISHED_SYNFLOW))
def test_synflow_over_all_archs_reproduces_the_published_correlation(wide: pd.DataFrame, dataset: str) -> None:
    """All 15,625 archs at C=16, N=5 and the dataset's input shape; isomorphic archs
    (`unique_str`, 6,466 classes) share one computation."""
    rho, published = synflow_correlation(wide, dataset, groups=True)
    assert rho == pytest.approx(published, abs=TOLERANCE)


# --- the published numbers (harness/analysis/paper.py) --------------------------------------

def test_published_zero_cost_numbers_name_registered_methods_and_real_columns(wide: pd.DataFrame) -> None:
    from harness.analysis.paper import PUBLISHED_ZERO_COST

    registered = methods.registry()
    for row in PUBLISHED_ZERO_COST:
        assert row.method in registered, row
        assert row.target is None or row.target in wide.columns, row
        assert row.kendall_tau is not None or row.spearman_rho is not None, row
        assert all(-1 <= v <= 1 for v in (row.kendall_tau, row.spearman_rho) if v is not None), row
        assert row.source and row.protocol and row.archs in (1000, 15625), row
    assert published_correlation("az_nas").kendall_tau == 0.741
    assert published_correlation("epe_nas", archs=None).archs == 1000
    with pytest.raises(KeyError, match="no published correlation for 'grasp'"):
        published_correlation("grasp")

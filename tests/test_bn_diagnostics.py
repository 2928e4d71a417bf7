"""Gamma diagnostics and the conv-count criterion on supernets whose gammas are set by hand;
the zero-input BN of the every-op ablation; the BN indicator's definition on nats-sss."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from harness.scoring.bn_diagnostics import (GammaBaseline, conv_count_criterion, score_range_by_count,
                                            structure_statement)
from harness.training.optim import last_bn
from harness.scoring.scorers import bn_score_table, scored_bns
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.spaces.nats_tss import OPS
from harness.training.supernet import train_supernet
from harness.training.recipes import SupernetRecipe
from methods import resolve

OPTIONS = {"statistic": "abs_gamma", "no_bn_score": 0.0, "zero_op": "parameter_free"}


def _set_gamma(supernet, layer: int, op: str, value: float) -> None:
    for instance in supernet.candidate_ops()[layer][OPS.index(op)]:
        with torch.no_grad():
            last_bn(instance).weight.fill_(value)


def test_untouched_gammas_are_conv_count_determined(tiny_space) -> None:
    supernet = tiny_space.build_supernet()
    report = GammaBaseline.of(tiny_space, supernet, OPTIONS).diagnose(supernet)
    assert report["gamma_drift_max"] == 0.0 and report["op_score_spread_max"] == 0.0
    assert report["conv_count_determined"] is True
    assert report["conv_count_margin"] == pytest.approx(3.0)  # one conv op = 3 cells x |gamma| 1
    assert "have not moved enough" in structure_statement(True, report["conv_count_margin"])


def test_small_moves_stay_determined_large_ones_reorder(tiny_space) -> None:
    supernet = tiny_space.build_supernet()
    baseline = GammaBaseline.of(tiny_space, supernet, OPTIONS)
    _set_gamma(supernet, 0, "nor_conv_1x1", 0.9)  # spread 0.3 in one layer: far below one conv op (2.7)
    small = baseline.diagnose(supernet)
    assert small["gamma_drift_max"] == pytest.approx(0.1) and small["op_score_spread_max"] == pytest.approx(0.3)
    assert small["conv_count_determined"] is True and 0 < small["conv_count_margin"] < 3
    for layer in range(6):
        _set_gamma(supernet, layer, "nor_conv_1x1", 0.1)  # conv_1x1 scores 0.3, conv_3x3 3.0
    moved = baseline.diagnose(supernet)
    assert moved["gamma_drift_max"] == pytest.approx(0.9) and moved["op_score_spread_max"] == pytest.approx(2.7)
    # two conv_1x1 edges (0.6) now score below one conv_3x3 edge (3.0): conv count no longer decides
    assert moved["conv_count_determined"] is False and moved["conv_count_margin"] < 0
    assert "moved enough to reorder" in structure_statement(False, moved["conv_count_margin"])


def test_score_ranges_by_count_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    table = rng.uniform(0, 3, size=(6, 5))
    conv = np.array([[0, 0, 1, 1, 0]] * 6, dtype=float)
    ranges = score_range_by_count(table, conv)
    archs = np.array(list(itertools.product(range(5), repeat=6)))
    scores = table[np.arange(6), archs].sum(1)
    counts = conv[np.arange(6), archs].sum(1)
    for k, (low, high) in ranges.items():
        assert low == pytest.approx(scores[counts == k].min()) and high == pytest.approx(scores[counts == k].max())
    determined, margin = conv_count_criterion(table, conv)
    pairs_agree = all(scores[counts == k + 1].min() > scores[counts == k].max() for k in range(6))
    assert determined == pairs_agree and margin == pytest.approx(
        min(scores[counts == k + 1].min() - scores[counts == k].max() for k in range(6)))


def test_a_bn_that_only_sees_zeros_is_never_reported_as_trained(tiny_data, tmp_path) -> None:
    space = build_space("nats-tss", dataset_shape("fashion-mnist", 8), C=4, N=1, op_bn="all")
    recipe = SupernetRecipe(epochs=1, batch_size=64, lr=0.1, lr_schedule="cosine", min_lr=0.0, momentum=0.9,
                            nesterov=True, weight_decay=5e-4, label_smoothing=0.0, grad_clip=5.0, curve_points=1)
    method = resolve("bnnas").with_overrides("bnnas-bn-all-ops", {"epoch_fraction": 1.0, "recipe": "official"})
    record = train_supernet(space, method, tiny_data, recipe, seed=0, out_dir=tmp_path, device=torch.device("cpu"),
                            progress=False)
    supernet = space.build_supernet()
    supernet.load_state_dict(torch.load(tmp_path / "ckpt0.pt", weights_only=True))
    none_bns = [last_bn(op) for layer in supernet.candidate_ops() for op in layer[OPS.index("none")]]
    assert none_bns and all(torch.equal(bn.weight, torch.ones_like(bn.weight)) for bn in none_bns)  # no gradient
    skip_bns = [last_bn(op) for layer in supernet.candidate_ops() for op in layer[OPS.index("skip_connect")]]
    assert any(not torch.equal(bn.weight, torch.ones_like(bn.weight)) for bn in skip_bns)  # trained ones did move
    table = bn_score_table(supernet)
    assert (table[:, OPS.index("none")] == 0.0).all()  # scored as a parameter-free op
    assert (bn_score_table(supernet, zero_op="bn")[:, OPS.index("none")] == 3.0).all()  # the pinned 1.0 x 3 cells
    assert all(not found for layer in scored_bns(supernet) for found in [layer[OPS.index("none")]])
    # the diagnostics count only scored BNs: 6 edges x 4 ops with a BN x cells of 4, 8, 16 channels
    assert record["checkpoints"][-1]["scored_bn_channels"] == 6 * 4 * (4 + 8 + 16)


def test_sss_indicator_scores_width_banks_without_stem_and_lastact() -> None:
    space = build_space("nats-sss", dataset_shape("fashion-mnist", 8), width_mult=0.25)
    supernet = space.build_supernet()
    with torch.no_grad():
        for bank in (supernet.stem[1], supernet.lastact[0]):
            for bn in bank.bns:
                bn.weight.fill_(5.0)  # not scored: the table must not change
        for bn in supernet.candidate_ops()[2][3]:  # layer 2's fourth width, every place it is used
            bn.weight.fill_(-2.0)  # |gamma|
    table = bn_score_table(supernet)
    expected = np.array([[5], [2], [6], [2], [6]]) * np.ones((1, 8))
    expected[2, 3] = 12.0
    np.testing.assert_array_equal(table, expected)
    assert conv_count_criterion(table, np.ones_like(table)) == (None, None)  # one conv count: nothing to decide
    archs = space.to_matrix([(0, 0, 3, 0, 0), (0, 0, 2, 0, 0)])
    scores = table[np.arange(5)[None, :], archs].sum(1)
    assert scores[0] - scores[1] == pytest.approx(6.0)

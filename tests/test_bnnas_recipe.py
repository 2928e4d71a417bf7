"""BN-NAS's official optimiser (harness.training.recipes): values, batch scaling, parameter groups,
clipping by value, label smoothing, linear schedule endpoints, and what train.json records."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from harness.errors import HarnessError
from harness.training.optim import BN_TYPES, lr_factor, make_sgd, select_trainable
from harness.training.recipes import OFFICIAL_BNNAS, SupernetRecipe, recipe_for
from harness.training.supernet import clip_gradients, make_criterion, train_supernet
from methods import resolve

SHARED = SupernetRecipe(epochs=2, batch_size=128, lr=0.1, lr_schedule="cosine", min_lr=0.0, momentum=0.9,
                        nesterov=True, weight_decay=5e-4, label_smoothing=0.0, grad_clip=5.0, curve_points=2)


def test_official_recipe_scales_lr_linearly_to_the_configured_batch() -> None:
    recipe, record = recipe_for("official", SHARED)
    assert recipe.lr == pytest.approx(0.25 * 128 / 512) and recipe.min_lr == pytest.approx(5e-4 * 128 / 512)
    assert (recipe.lr_schedule, recipe.momentum, recipe.nesterov) == ("linear", 0.9, False)
    assert (recipe.grad_clip, recipe.grad_clip_mode, recipe.label_smoothing) == (5.0, "value", 0.1)
    assert (recipe.batch_size, recipe.epochs) == (128, 2)
    assert record["paper"] == OFFICIAL_BNNAS and record["lr_scale"] == 0.25 and record["batch_size"] == 128
    at_paper_batch, _ = recipe_for("official", dataclasses.replace(SHARED, batch_size=512))
    assert at_paper_batch.lr == 0.25 and at_paper_batch.min_lr == 5e-4


def test_spos_recipe_is_the_config_section_unchanged() -> None:
    assert recipe_for("spos", SHARED)[0] is SHARED
    assert SHARED.grad_clip_mode == "norm"
    with pytest.raises(HarnessError, match="unknown supernet recipe"):
        recipe_for("adam", SHARED)


def test_linear_schedule_runs_from_lr_to_min_lr() -> None:
    recipe, _ = recipe_for("official", SHARED)
    lrs = [recipe.lr * lr_factor(step, 100, recipe.lr_schedule, recipe.lr, recipe.min_lr) for step in (0, 50, 100)]
    assert lrs[0] == pytest.approx(0.0625) and lrs[2] == pytest.approx(1.25e-4)
    assert lrs[1] == pytest.approx((0.0625 + 1.25e-4) / 2)


def test_no_weight_decay_on_bn_and_plain_momentum(tiny_space) -> None:
    recipe, _ = recipe_for("official", SHARED)
    supernet = tiny_space.build_supernet()
    params = select_trainable(supernet, "all")
    optimizer = make_sgd(supernet, params, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                         weight_decay=recipe.weight_decay)
    bn_ids = {id(p) for m in supernet.modules() if isinstance(m, BN_TYPES) for p in m.parameters()}
    decay_of = {id(p): group["weight_decay"] for group in optimizer.param_groups for p in group["params"]}
    assert bn_ids and all(decay_of[i] == 0.0 for i in bn_ids)
    assert any(d > 0 for i, d in decay_of.items() if i not in bn_ids)  # conv weights still decayed
    assert all(g["momentum"] == 0.9 and g["nesterov"] is False for g in optimizer.param_groups)


def test_clip_by_value_cuts_each_element_at_five_and_norm_clipping_scales() -> None:
    official, _ = recipe_for("official", SHARED)
    p = nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([12.0, -7.0, 3.0, 0.5])
    clip_gradients([p], official)
    assert p.grad.tolist() == [5.0, -5.0, 3.0, 0.5]
    p.grad = torch.tensor([12.0, -7.0, 3.0, 0.5])
    clip_gradients([p], SHARED)  # by norm: direction kept, norm 5
    assert p.grad.norm().item() == pytest.approx(5.0, rel=1e-5)
    assert p.grad[2].item() == pytest.approx(3.0 * 5.0 / math.sqrt(144 + 49 + 9 + 0.25), rel=1e-5)


def test_label_smoothing_of_the_official_criterion() -> None:
    official, _ = recipe_for("official", SHARED)
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    log_p = torch.log_softmax(logits, dim=1)[0]
    expected = -(0.9 * log_p[0] + 0.1 * log_p.mean())
    assert make_criterion(official)(logits, torch.tensor([0])).item() == pytest.approx(expected.item(), rel=1e-6)
    assert make_criterion(SHARED)(logits, torch.tensor([0])).item() == pytest.approx(-log_p[0].item(), rel=1e-6)


def test_train_json_records_the_recipe_used(tiny_space, tiny_data, tmp_path) -> None:
    shared = dataclasses.replace(SHARED, batch_size=64, epochs=1)
    official = train_supernet(tiny_space, resolve("bnnas").with_overrides("b", {"epoch_fraction": 0.5}), tiny_data,
                              shared, seed=0, out_dir=tmp_path / "o", device=torch.device("cpu"), progress=False)
    assert official["recipe"]["lr"] == pytest.approx(0.25 * 64 / 512) and official["recipe"]["grad_clip_mode"] == "value"
    assert official["recipe_source"]["name"] == "official" and official["recipe_source"]["lr_scale"] == 0.125
    variant = resolve("bnnas").with_overrides("bnnas-spos-recipe", {"recipe": "spos", "epoch_fraction": 0.5})
    spos = train_supernet(tiny_space, variant, tiny_data, shared, seed=0, out_dir=tmp_path / "s",
                          device=torch.device("cpu"), progress=False)
    assert spos["recipe"]["lr"] == 0.1 and spos["recipe"]["grad_clip_mode"] == "norm"
    assert spos["recipe_source"]["name"] == "spos"
    assert (tmp_path / "o" / "gamma_diagnostics.csv").is_file()

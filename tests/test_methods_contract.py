"""Contract tests over every registered method, the registry, and the scorers."""

from __future__ import annotations

import json
import sys
import textwrap

import numpy as np
import pytest
import torch

import methods
from harness.errors import HarnessError
from harness.method import METHOD_REGISTRY, Method, ScoreContext
from harness.scoring.scorers import bn_indicator, bn_score_table, validation_accuracy
from harness.training.supernet import SupernetRecipe, train_supernet

RECIPE = SupernetRecipe(epochs=1, batch_size=64, lr=0.1, lr_schedule="cosine", min_lr=0.0, momentum=0.9,
                        nesterov=True, weight_decay=5e-4, label_smoothing=0.1, grad_clip=5.0, curve_points=1)
SCORING = {"recalibration_batches": 2, "recalibration_batch_size": 64, "validation_images": 128, "batch_size": 64}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def sample(tiny_space):
    rng = np.random.default_rng(1)
    return tiny_space.to_matrix([tiny_space.sample(rng) for _ in range(6)])


@pytest.mark.parametrize("name", sorted(methods.registry()))
def test_every_method_scores_the_sample(name, tiny_space, tiny_data, sample, tmp_path):
    method = methods.resolve(name)
    json.dumps(method.describe())
    supernet = None
    if method.trains_supernet:
        train_supernet(tiny_space, method, tiny_data, RECIPE, seed=0, out_dir=tmp_path, device=CPU, progress=False)
        supernet = tiny_space.build_supernet()
        supernet.load_state_dict(torch.load(tmp_path / "ckpt0.pt", weights_only=True))
    context = ScoreContext(space=tiny_space, supernet=supernet, data=tiny_data,
                           options={**SCORING, **method.options}, seed=0, device=CPU)
    scores = method.scorer(context, sample)
    assert scores.shape == (len(sample),) and np.isfinite(scores).all()
    method.scorer(context, sample[-1:])  # a call between (the score command's untimed warm-up) changes nothing
    again = method.scorer(context, sample)
    np.testing.assert_array_equal(scores, again)


# Methods whose score of an architecture depends on which others are scored with it (AZ-NAS
# ranks its components within the scored set): their scores compare only within one job.
POPULATION_RELATIVE = {"az_nas"}


def test_the_population_relative_methods_are_the_declared_ones():
    declared = {name for name, method in methods.registry().items() if method.population_relative}
    assert declared == POPULATION_RELATIVE


@pytest.mark.parametrize("name", sorted(n for n, m in methods.registry().items() if not m.trains_supernet))
def test_population_relative_means_the_population_changes_the_scores(name, tiny_space, tiny_data, sample):
    """Scoring the first three archs alone or within the whole sample: the same scores exactly
    when the method is not population-relative. (Supernet methods score each arch by lookup or
    by its own validation pass and are not population-relative; training one here is too slow.)"""
    method = methods.resolve(name)
    context = ScoreContext(space=tiny_space, supernet=None, data=tiny_data,
                           options={**SCORING, **method.options}, seed=0, device=CPU)
    alone = method.scorer(context, sample[:3])
    within = method.scorer(context, sample)[:3]
    assert np.array_equal(alone, within) == (name not in POPULATION_RELATIVE)


def test_a_new_file_in_methods_is_registered(tmp_path, monkeypatch):
    (tmp_path / "myproxy.py").write_text(textwrap.dedent("""
        import numpy as np
        from harness.method import Method
        METHOD = Method(name="myproxy", summary="ones", sampler=None,
                        scorer=lambda ctx, archs: np.ones(len(archs)))
    """))
    monkeypatch.setattr(methods, "__path__", [*methods.__path__, str(tmp_path)])
    monkeypatch.setattr(sys, "path", [*sys.path])
    try:
        assert "myproxy" in methods.registry()
        assert not methods.resolve("myproxy").trains_supernet
    finally:  # the registry keeps what it found: forget the throw-away file's method
        METHOD_REGISTRY.unregister("myproxy")
        sys.modules.pop("methods.myproxy", None)


def test_variants_and_options_override_parts():
    variant = methods.resolve("bnnas-last", {"bnnas-last": {"base": "bnnas", "trainable": "last_bn"}})
    assert variant.trainable == "last_bn" and variant.name == "bnnas-last"
    tuned = methods.resolve("bnnas", options={"bnnas": {"statistic": "beta"}})
    assert tuned.options["statistic"] == "beta"
    with pytest.raises(HarnessError, match="unknown option"):
        methods.resolve("bnnas", options={"bnnas": {"statistik": "beta"}})
    with pytest.raises(HarnessError, match="unknown method 'nope'"):
        methods.resolve("nope")


def test_bn_indicator_is_the_sum_of_op_gammas(tiny_space, sample):
    supernet = tiny_space.build_supernet()
    generator = torch.Generator().manual_seed(0)
    for module in supernet.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.weight.data = torch.randn(module.weight.shape, generator=generator)
    table = bn_score_table(supernet)
    ops = supernet.candidate_ops()
    for layer in range(6):
        assert table[layer, 0] == 0.0  # none has no BN
        conv = ops[layer][3]  # nor_conv_3x3
        expected = sum(float([m for m in op.modules() if isinstance(m, torch.nn.BatchNorm2d)][-1]
                             .weight.detach().abs().mean()) for op in conv)
        assert table[layer, 3] == pytest.approx(expected)
    context = ScoreContext(space=tiny_space, supernet=supernet, data=None, options={}, seed=0, device=CPU)
    scores = bn_indicator(context, sample)
    manual = [sum(table[layer, op] for layer, op in enumerate(arch)) for arch in sample]
    np.testing.assert_allclose(scores, manual)
    no_bn = ScoreContext(space=tiny_space, supernet=supernet, data=None, options={"no_bn_score": 1.5}, seed=0, device=CPU)
    all_none = tiny_space.to_matrix([(0,) * 6])
    assert bn_indicator(no_bn, all_none)[0] == pytest.approx(9.0)


def test_validation_accuracy_recalibrates_bn(tiny_space, tiny_data, sample):
    supernet = tiny_space.build_supernet()
    context = ScoreContext(space=tiny_space, supernet=supernet, data=tiny_data, options=SCORING, seed=0, device=CPU)
    scores = validation_accuracy(context, sample[:2])
    assert ((0 <= scores) & (scores <= 1)).all()
    stem_bn = next(m for m in supernet.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert int(stem_bn.num_batches_tracked) == SCORING["recalibration_batches"]
    assert not torch.allclose(stem_bn.running_var, torch.ones_like(stem_bn.running_var))


def test_kind_follows_the_sampler_unless_given_and_must_fit_it():
    score = lambda ctx, archs: np.ones(len(archs))  # noqa: E731
    assert Method(name="a", summary="", scorer=score, sampler=None).kind == "zero-cost"
    assert Method(name="b", summary="", scorer=score, sampler="uniform").kind == "supernet"
    assert Method(name="c", summary="", scorer=score, sampler=None, kind="trivial").kind == "trivial"
    with pytest.raises(HarnessError, match="does not fit sampler"):
        Method(name="d", summary="", scorer=score, sampler="uniform", kind="trivial")
    with pytest.raises(HarnessError, match="unknown kind"):
        Method(name="e", summary="", scorer=score, sampler=None, kind="magic")
    assert {m.kind for m in methods.registry().values()} >= {"supernet", "zero-cost", "trivial"}
    assert methods.registry()["bnnas"].baseline == "spos" and methods.registry()["bnnas-fairnas"].baseline == "fairnas"


def test_family_is_declared_recorded_and_kept_by_variants():
    """Method.family says which published method a method is; a config variant is what its base is."""
    from harness.workflow.runs import seed_kind

    registered = methods.registry()
    assert {name: m.family for name, m in registered.items() if m.trains_supernet} == {
        "spos": "spos", "fairnas": "fairnas", "bnnas": "bn-nas", "bnnas-fairnas": "bn-nas"}
    assert all(m.family is None for m in registered.values() if not m.trains_supernet)
    variants = {"bnnas-spos-recipe-fair": {"base": "bnnas", "recipe": "spos", "sampler": "fair", "statistic": "beta"},
                "spos-bn-only": {"base": "spos", "trainable": "bn", "epoch_fraction": 0.1}}
    bn_variant = methods.resolve("bnnas-spos-recipe-fair", variants)
    assert bn_variant.family == "bn-nas" and bn_variant.describe()["family"] == "bn-nas"
    assert seed_kind(bn_variant) == "bn_indicator"  # seeds and the grouped BN scoring job follow the family
    spos_variant = methods.resolve("spos-bn-only", variants)
    assert spos_variant.family == "spos" and seed_kind(spos_variant) == "supernet"


def test_bn_indicator_options_are_declared_once():
    """The BN indicator's defaults are bnnas's Method.options; a context's options override them."""
    from harness.scoring.scorers import BN_INDICATOR_OPTIONS, indicator_options

    declared = methods.resolve("bnnas").options
    assert set(declared) == set(BN_INDICATOR_OPTIONS)
    assert indicator_options() == dict(declared) == indicator_options({"unrelated": 1})
    assert indicator_options({"statistic": "beta"}, zero_op="bn") == {**declared, "statistic": "beta", "zero_op": "bn"}

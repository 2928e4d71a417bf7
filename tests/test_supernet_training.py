"""Supernet training: what each trainable rule trains, skipped steps, schedules, resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from harness.devices import Compute
from harness.training import supernet as supernet_training
from harness.training.optim import BN_TYPES, last_bn, select_trainable
from harness.training.samplers import fair_sampler
from harness.seeding import seed_everything
from harness.training.supernet import SupernetRecipe, plan_schedule, train_supernet
from methods import resolve

RECIPE = SupernetRecipe(epochs=2, batch_size=64, lr=0.1, lr_schedule="cosine", min_lr=0.0, momentum=0.9,
                        nesterov=True, weight_decay=5e-4, label_smoothing=0.0, grad_clip=5.0, curve_points=3)
CPU = torch.device("cpu")


def _train(space, data, method, out_dir, recipe=RECIPE, seed=3, compute=Compute()):
    record = train_supernet(space, method, data, recipe, seed=seed, out_dir=out_dir, device=CPU, progress=False,
                            compute=compute)
    final = torch.load(out_dir / f"ckpt{record['checkpoints'][-1]['checkpoint']}.pt", weights_only=True)
    return record, final


def _initial_state(space, seed=3):
    seed_everything(seed)
    return space.build_supernet().state_dict()


def _changed(before, after, names):
    return {n for n in names if not torch.equal(before[n], after[n])}


def test_bn_only_training_leaves_convs_and_classifier_at_init(tiny_space, tiny_data, tmp_path):
    method = resolve("bnnas")
    assert method.trainable == "bn"
    record, final = _train(tiny_space, tiny_data, dataclasses.replace(method, epoch_fraction=1.0), tmp_path)
    init = _initial_state(tiny_space)
    bn_params = {n for n in init if n.endswith((".weight", ".bias")) and _is_bn_param(tiny_space, n)}
    other_params = {n for n, p in tiny_space.build_supernet().named_parameters()} - bn_params
    assert other_params and not _changed(init, final, other_params)
    assert _changed(init, final, bn_params)
    assert record["trainable_params"] == sum(init[n].numel() for n in bn_params)


def _is_bn_param(space, name):
    module_name = name.rsplit(".", 1)[0]
    return isinstance(dict(space.build_supernet().named_modules())[module_name], BN_TYPES)


def test_all_training_changes_convs(tiny_space, tiny_data, tmp_path):
    _, final = _train(tiny_space, tiny_data, resolve("spos"), tmp_path)
    init = _initial_state(tiny_space)
    convs = {n for n, m in tiny_space.build_supernet().named_modules() if isinstance(m, nn.Conv2d)}
    assert _changed(init, final, {f"{n}.weight" for n in convs})


def test_last_bn_rule_trains_only_each_ops_last_bn(tiny_space):
    supernet = tiny_space.build_supernet()
    trainable = {id(p) for p in select_trainable(supernet, "last_bn")}
    expected = {id(p) for layer in supernet.candidate_ops() for instances in layer for op in instances
                for p in last_bn(op).parameters()}
    assert trainable == expected and len(expected) > 0


def test_path_without_trainable_parameter_is_skipped(tiny_space, tiny_data):
    supernet = tiny_space.build_supernet()
    params = select_trainable(supernet, "bn")
    optimizer = torch.optim.SGD(params, lr=0.1)
    batches = tiny_data.batches("train", 32)
    skip_only = (1,) * 6  # every edge skip_connect: no op with a BN
    trained = supernet_training._train_step(supernet, tiny_space, [skip_only], batches, nn.CrossEntropyLoss(), optimizer,
                                            params, RECIPE, CPU, what="t", epoch=0, step=0)
    # the stem and stage BNs still carry gradient, so the step trains; with last_bn it cannot
    assert trained
    params = select_trainable(supernet, "last_bn")
    optimizer = torch.optim.SGD(params, lr=0.1)
    assert not supernet_training._train_step(supernet, tiny_space, [skip_only], batches, nn.CrossEntropyLoss(), optimizer,
                                             params, RECIPE, CPU, what="t", epoch=0, step=0)


def test_bnnas_budget_is_a_tenth_of_spos():
    spos = plan_schedule(dataclasses.replace(RECIPE, epochs=10), resolve("spos"), 6400, 1)
    bnnas = plan_schedule(dataclasses.replace(RECIPE, epochs=10), resolve("bnnas"), 6400, 1)
    assert spos.total_steps == 1000 and bnnas.total_steps == 100
    assert len(bnnas.checkpoint_steps) == 3 and bnnas.checkpoint_steps[-1] == 100


def test_fair_sampler_trains_every_candidate_once_per_step(tiny_space):
    rng = np.random.default_rng(0)
    for _ in range(20):
        paths = np.array(fair_sampler(tiny_space)(rng))
        assert paths.shape == (5, 6)
        for layer in range(6):
            assert sorted(paths[:, layer]) == list(range(5))


def test_killed_training_resumes_to_the_same_result(tiny_space, tiny_data, tmp_path, monkeypatch):
    method = resolve("spos")
    _, uninterrupted = _train(tiny_space, tiny_data, method, tmp_path / "a")

    real_step, calls = supernet_training._train_step, {"n": 0}

    def dies_after_a_while(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 11:  # mid second epoch, past a checkpoint
            raise KeyboardInterrupt("simulated kill")
        return real_step(*args, **kwargs)

    monkeypatch.setattr(supernet_training, "_train_step", dies_after_a_while)
    with pytest.raises(KeyboardInterrupt):
        _train(tiny_space, tiny_data, method, tmp_path / "b")
    assert (tmp_path / "b" / "resume.pt").exists() and not (tmp_path / "b" / "train.json").exists()
    monkeypatch.setattr(supernet_training, "_train_step", real_step)
    record, resumed = _train(tiny_space, tiny_data, method, tmp_path / "b")
    assert record["steps"] == 16
    for name in uninterrupted:
        assert torch.equal(uninterrupted[name], resumed[name]), name


def test_truncated_resume_file_is_a_clear_error(tiny_space, tiny_data, tmp_path):
    (tmp_path / "resume.pt").write_bytes(b"\x80\x02truncated")
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="Delete it"):
        _train(tiny_space, tiny_data, resolve("spos"), tmp_path)


def test_resume_file_of_a_different_run_is_moved_aside_not_continued(tiny_space, tiny_data, tmp_path, capfd):
    """Snakemake reruns train-supernet when the config changes, but resume.pt is not an output it
    deletes: a changed recipe must train from scratch, not continue the old run's state."""
    method = resolve("spos")
    _train(tiny_space, tiny_data, method, tmp_path / "old")  # leaves resume.pt from its first epoch
    assert (tmp_path / "old" / "resume.pt").exists()
    changed = dataclasses.replace(RECIPE, lr=0.05)
    _, fresh = _train(tiny_space, tiny_data, method, tmp_path / "fresh", recipe=changed)
    record, rerun = _train(tiny_space, tiny_data, method, tmp_path / "old", recipe=changed)
    assert record["steps"] == 16
    for name in fresh:
        assert torch.equal(fresh[name], rerun[name]), name
    assert (tmp_path / "old" / "resume.stale.pt").exists()
    assert "differs in: recipe" in capfd.readouterr().err


@pytest.mark.parametrize("change", ["channels_last", "deterministic"])
def test_resume_file_written_with_other_numerics_is_not_continued(tiny_space, tiny_data, tmp_path, capfd, change):
    """bf16/channels_last or the determinism setting changed (gpu_check may recommend the first):
    the job trains from scratch instead of finishing another setting's run."""
    method = resolve("spos")
    _train(tiny_space, tiny_data, method, tmp_path)  # leaves resume.pt from its first epoch
    compute = Compute(channels_last=True) if change == "channels_last" else Compute()
    was = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(not was if change == "deterministic" else was)
    try:
        record, _ = _train(tiny_space, tiny_data, method, tmp_path, compute=compute)
    finally:
        torch.use_deterministic_algorithms(was)
    assert record["steps"] == 16 and (tmp_path / "resume.stale.pt").exists()
    assert ("differs in: " + ("compute" if change == "channels_last" else "deterministic")) in capfd.readouterr().err


def test_resume_file_of_the_same_run_is_continued(tiny_space, tiny_data, tmp_path, capfd, monkeypatch):
    method = resolve("spos")
    _, first = _train(tiny_space, tiny_data, method, tmp_path)
    real_step, calls = supernet_training._train_step, {"n": 0}

    def counted(*args, **kwargs):
        calls["n"] += 1
        return real_step(*args, **kwargs)

    monkeypatch.setattr(supernet_training, "_train_step", counted)
    _, again = _train(tiny_space, tiny_data, method, tmp_path)
    assert calls["n"] == 8  # resumed at the end of epoch 1 of 2: only the last epoch's steps ran
    for name in first:
        assert torch.equal(first[name], again[name]), name
    assert not (tmp_path / "resume.stale.pt").exists() and "different run" not in capfd.readouterr().err

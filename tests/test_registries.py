"""Samplers and trainable rules are registries: a new file adds one with a decorator, and a
method can then name it (as methods/ files add methods)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.method import Method
from harness.training.optim import TRAINABLE_RULES, register_trainable, select_trainable
from harness.training.samplers import SAMPLERS, make_sampler, register_sampler


@pytest.fixture
def registered():
    """A sampler "first-choice" and a trainable rule "stem-bn" registered as a new file would,
    removed again afterwards."""

    @register_sampler("first-choice")
    def first_choice(space):
        return lambda rng: [tuple(0 for _ in space.choices)]

    @register_trainable("first-bn")
    def first_bn(supernet):
        from harness.training.optim import BN_TYPES

        bn = next(m for m in supernet.modules() if isinstance(m, BN_TYPES))
        return list(bn.parameters())

    yield
    SAMPLERS.unregister("first-choice")
    TRAINABLE_RULES.unregister("first-bn")


def test_a_registered_sampler_and_rule_make_a_method(registered, tiny_space) -> None:
    method = Method(name="probe", summary="test", scorer=lambda c, a: np.zeros(len(a)),
                    sampler="first-choice", trainable="first-bn")
    paths = make_sampler(method.sampler, tiny_space)(np.random.default_rng(0))
    assert paths == [tuple(0 for _ in tiny_space.choices)]
    supernet = tiny_space.build_supernet()
    trained = select_trainable(supernet, method.trainable)
    assert 1 <= len(trained) <= 2  # one BN's gamma and beta
    assert sum(p.requires_grad for p in supernet.parameters()) == len(trained)


def test_unregistered_names_are_rejected_and_names_are_unique(registered) -> None:
    with pytest.raises(HarnessError, match="unknown sampler"):
        Method(name="probe", summary="test", scorer=lambda c, a: a, sampler="nope")
    with pytest.raises(HarnessError, match="unknown trainable rule"):
        Method(name="probe", summary="test", scorer=lambda c, a: a, trainable="nope")
    with pytest.raises(HarnessError, match="registered twice"):
        register_sampler("first-choice")(lambda space: None)
    with pytest.raises(HarnessError, match="registered twice"):
        register_trainable("first-bn")(lambda supernet: [])


def test_the_builtin_rules_train_what_they_say(tiny_space) -> None:
    supernet = tiny_space.build_supernet()
    total = len(list(supernet.parameters()))
    assert len(select_trainable(supernet, "all")) == total
    bn = select_trainable(supernet, "bn")
    last = select_trainable(supernet, "last_bn")
    assert 0 < len(last) <= len(bn) < total

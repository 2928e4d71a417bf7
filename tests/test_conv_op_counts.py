"""Conv-op counts come from the space (SearchSpace.conv_op_counts, read off its own candidates),
checked on every registered space against the architecture strings: nats-tss counts its
nor_conv edges, the MobileNet spaces their non-identity layers, nats-sss every layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import methods
from harness.data.shapes import dataset_shape
from harness.errors import HarnessError
from harness.method import ScoreContext
from harness.spaces import build_space, space_names
from harness.spaces.base import SearchSpace

SHAPE = dataset_shape("fashion-mnist", 8)
SMALL_KNOBS = {"nats-tss": {"C": 4, "N": 1}, "nats-sss": {"width_mult": 0.25},
               "spos-mobilenet": {"width_mult": 0.25}, "fairnas-mobilenet": {"width_mult": 0.25}}


def nor_convs(arch_str: str) -> int:
    return arch_str.count("nor_conv")


def non_identity_layers(arch_str: str) -> int:
    return sum(token.strip() != "-1" for token in arch_str.strip("[]").split(","))


def every_layer(arch_str: str) -> int:
    return len(arch_str.split(":"))


# What each registered space's strings say about its conv ops (a new space adds its rule here).
BY_STRING: dict[str, Callable[[str], int]] = {"nats-tss": nor_convs, "nats-sss": every_layer,
                                              "spos-mobilenet": non_identity_layers,
                                              "fairnas-mobilenet": non_identity_layers}
VARIANTS = [(name, {}) for name in space_names()] + [
    ("nats-tss", {"op_bn": "all"}), ("spos-mobilenet", {"identity": "all"}), ("fairnas-mobilenet", {"identity": "none"})]


def small(name: str, **knobs) -> SearchSpace:
    return build_space(name, SHAPE, **{**SMALL_KNOBS.get(name, {}), **knobs})


def test_every_registered_space_has_a_rule_here() -> None:
    assert set(space_names()) == set(BY_STRING), "a registered space without a conv-op rule in this test: add one"


@pytest.mark.parametrize("name, knobs", VARIANTS, ids=[f"{n}{k}" for n, k in VARIANTS])
def test_conv_op_counts_match_the_architecture_strings(name: str, knobs: dict) -> None:
    space = small(name, **knobs)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(200)] + [tuple(len(c) - 1 for c in space.choices), (0,) * space.num_layers]
    strings = [space.encode(arch) for arch in archs]
    expected = np.array([BY_STRING[name](text) for text in strings])
    counts = space.conv_op_counts(space.to_matrix(archs))
    assert counts.dtype == np.int64 and counts.shape == (len(archs),)
    np.testing.assert_array_equal(counts, expected)
    np.testing.assert_array_equal(space.conv_op_counts_of_strings(strings), expected)
    # The conv_count method is this count (as a float score).
    ctx = ScoreContext(space=space, supernet=None, data=None, options={}, seed=0, device=torch.device("cpu"))
    scores = methods.resolve("conv_count").scorer(ctx, space.to_matrix(archs))
    assert scores.dtype == np.float64
    np.testing.assert_array_equal(scores, expected)


def test_nats_tss_counts_every_architecture_of_the_benchmark(nats_wide_csv: Path) -> None:
    strings = pd.read_csv(nats_wide_csv)["arch_str"]
    assert len(strings) == 15625
    counts = small("nats-tss").conv_op_counts_of_strings(strings)
    np.testing.assert_array_equal(counts, [nor_convs(text) for text in strings])
    # 2 of the 5 ops are convs on each of the 6 edges: counts follow binomial(6, 2/5) x 5^6 exactly.
    assert np.bincount(counts).tolist() == [round(15625 * p) for p in _binomial(6, 2 / 5)]


def _binomial(n: int, p: float) -> list[float]:
    from math import comb

    return [comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]


def test_the_table_is_read_only_and_bad_input_is_an_error() -> None:
    space = small("nats-tss")
    table = space.conv_op_table()
    np.testing.assert_array_equal(table, np.tile([0, 0, 1, 1, 0], (6, 1)))  # none, skip, conv1x1, conv3x3, pool
    assert space.conv_op_table() is table and not table.flags.writeable
    with pytest.raises(HarnessError, match="architectures of 5 layers, the space has 6"):
        space.conv_op_counts(np.zeros((2, 5), dtype=int))
    with pytest.raises(HarnessError, match="malformed"):
        space.conv_op_counts_of_strings(["|nor_conv_3x3~0|"])
    assert space.conv_op_counts_of_strings([]).shape == (0,)

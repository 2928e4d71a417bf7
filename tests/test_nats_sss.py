"""NATS-Bench SSS space: codec and index order, the real network against the official FLOPs/params,
the chain cost table against real counts, the slimmable supernet against standalone subnets, per-
width BatchNorms and the width multiplier."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from harness.cli import main
from harness.spaces.cost import count_cost
from harness.errors import HarnessError
from harness.training.optim import select_trainable
from harness.scoring.scorers import bn_score_table
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.data.shapes import InputShape
from harness.spaces.base import CostTable
from harness.spaces.nats_sss import (CELL_ARCH, CELL_GENOTYPE, WIDTHS, BNBank, NatsSss, Projection,
                                     scale_width)
from harness.spaces.nats_tss import NatsTss

SMALL = InputShape(channels=1, resolution=16, classes=10)
REFERENCES = {"8:8:8:8:8": (4.48111, 0.011714), "64:64:64:64:64": (274.39988, 0.713674)}


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    """Tiny networks: intra-op threads only add overhead on shared CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def space() -> NatsSss:
    return NatsSss(dataset_shape("cifar10"))


def random_archs(space: NatsSss, n: int, seed: int = 0) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


# --- codec and enumeration ---------------------------------------------------------------

def test_enumeration_is_the_nats_bench_index_order(space: NatsSss) -> None:
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 32_768 == space.size()
    assert archs == list(itertools.product(range(8), repeat=5))
    strings = [space.encode(arch) for arch in archs]
    assert strings[:2] == ["8:8:8:8:8", "8:8:8:8:16"]
    assert strings[8] == "8:8:8:16:8" and strings[-1] == "64:64:64:64:64"
    assert space.num_layers == 5 and space.choices == [[str(w) for w in WIDTHS]] * 5


def test_codec_round_trips_every_arch(space: NatsSss) -> None:
    archs = list(space.enumerate())
    strings = [space.encode(arch) for arch in archs]
    assert [space.decode(s) for s in strings] == archs
    pattern = re.compile(r"(8|16|24|32|40|48|56|64)(:(8|16|24|32|40|48|56|64)){4}")
    assert all(pattern.fullmatch(s) for s in strings) and len(set(strings)) == 32_768
    assert space.decode("8:16:64:32:8") == (0, 1, 7, 3, 0)


def test_cell_genotype_is_the_tss_string() -> None:
    assert NatsTss(SMALL).encode(CELL_ARCH) == CELL_GENOTYPE


@pytest.mark.parametrize("text", [
    "", "8", "8:8:8:8", "8:8:8:8:8:8", "8:8:8:8:9", "08:8:8:8:8", " 8:8:8:8:8", "8:8:8:8:8 ",
    "8:8:8:8:8\n", "8,8,8,8,8", "8::8:8:8", "8:8:8:8:8:", "8.0:8:8:8:8", "+8:8:8:8:8", "0:8:8:8:8",
    "|nor_conv_3x3~0|", 88888,
])
def test_decode_rejects_malformed_strings_naming_them(space: NatsSss, text: str) -> None:
    with pytest.raises(HarnessError) as info:
        space.decode(text)
    assert repr(text) in str(info.value) and "'c0:c1:c2:c3:c4'" in str(info.value)


@pytest.mark.parametrize("arch", [(0,) * 4, (0,) * 6, (0, 0, 0, 0, 8), (0, 0, 0, 0, -1), (0.0,) * 5, (True,) * 5])
def test_encode_rejects_invalid_archs(space: NatsSss, arch: tuple) -> None:
    with pytest.raises(HarnessError, match="invalid nats-sss architecture"):
        space.encode(arch)


@pytest.mark.parametrize("knobs, name", [
    ({"widths": []}, "widths"), ({"widths": [8, 8]}, "widths"), ({"widths": [0, 8]}, "widths"),
    ({"widths": [8.0]}, "widths"), ({"widths": "8"}, "widths"), ({"widths": [True]}, "widths"),
    ({"width_mult": 0}, "width_mult"), ({"width_mult": -1.0}, "width_mult"),
    ({"width_mult": float("nan")}, "width_mult"),
    ({"width_mult": True}, "width_mult"), ({"width_mult": "0.5"}, "width_mult"),
    ({"width_mult": 0.1}, "width_mult"),  # 16 and 24 both become 2 channels
])
def test_knobs_are_validated(knobs: dict, name: str) -> None:
    with pytest.raises(HarnessError, match=f"knob {name}"):
        build_space("nats-sss", dataset_shape("cifar10"), **knobs)


def test_resolution_must_survive_two_reductions() -> None:
    with pytest.raises(HarnessError, match="divisible by 4, got 30"):
        NatsSss(InputShape(channels=3, resolution=30, classes=10))


def test_mutate_and_crossover_give_valid_archs(space: NatsSss) -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        a, b = space.sample(rng), space.sample(rng)
        for arch in (space.crossover(a, b, rng), space.mutate(a, rng, 0.5)):
            assert space.decode(space.encode(arch)) == arch
        assert space.mutate(a, rng, 0.0) == a


# --- costs against the official values and against real counts ----------------------------

@pytest.mark.parametrize("text", REFERENCES)
def test_reference_costs(space: NatsSss, text: str) -> None:
    flops, params = REFERENCES[text]
    arch = space.decode(text)
    counted = count_cost(space.build_subnet(arch), space.input_shape)
    assert counted[0] == pytest.approx(flops, abs=1e-5) and counted[1] == pytest.approx(params, abs=1e-6)
    table = space.cost_table()
    assert isinstance(table, CostTable)
    matrix = space.to_matrix([arch])
    assert table.flops(matrix)[0] == pytest.approx(flops, abs=1e-5)
    assert table.params(matrix)[0] == pytest.approx(params, abs=1e-6)


@pytest.mark.parametrize("shape, knobs", [
    (dataset_shape("cifar10"), {}),
    (SMALL, {"widths": (8, 16, 24, 32), "width_mult": 0.5}),
])
def test_lookup_table_equals_real_counts(shape: InputShape, knobs: dict) -> None:
    space = NatsSss(shape, **knobs)
    top = len(space.widths) - 1
    # Equal adjacent widths (identity skip) and all pairs next to each other are both covered.
    archs = random_archs(space, 20) + [(0,) * 5, (top,) * 5, (1, 1, 1, 2, 2), (top, 0, top, 0, top)]
    table = space.cost_table()
    counted = np.array([count_cost(space.build_subnet(arch), shape) for arch in archs])
    matrix = space.to_matrix(archs)
    np.testing.assert_allclose(table.flops(matrix), counted[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(table.params(matrix), counted[:, 1], rtol=0, atol=1e-9)
    assert space.cost_table() is table


def test_costs_command_gives_the_reference_values(tmp_path: Path) -> None:
    out = tmp_path / "refs.csv"
    args = ["costs", "--space", "nats-sss", "--dataset", "cifar10", "--output", str(out)]
    assert main(args + [arg for text in REFERENCES for arg in ("--arch", text)]) == 0
    frame = pd.read_csv(out)
    assert list(frame["arch_str"]) == list(REFERENCES)
    np.testing.assert_allclose(frame["flops_M"], [f for f, _ in REFERENCES.values()], rtol=0, atol=1e-9)
    np.testing.assert_allclose(frame["params_M"], [p for _, p in REFERENCES.values()], rtol=0, atol=1e-9)
    assert main(args) == 0
    frame = pd.read_csv(out)
    assert len(frame) == 32_768 and frame["arch_str"].iloc[[0, 1, -1]].tolist() == [
        "8:8:8:8:8", "8:8:8:8:16", "64:64:64:64:64"]


# --- network structure and width multiplier --------------------------------------------------

def test_skip_edge_projects_only_when_widths_differ() -> None:
    space = NatsSss(SMALL, width_mult=0.25)
    same = space.build_subnet((0, 1, 1, 2, 2))
    differ = space.build_subnet((0, 1, 2, 2, 3))
    for cell in (same.cells[2], same.cells[4]):
        assert isinstance(cell.edges[3]["skip_connect"], nn.Identity)
    for cell in (differ.cells[2], differ.cells[4]):
        proj = cell.edges[3]["skip_connect"]
        assert isinstance(proj, Projection) and proj[0].kernel_size == (1, 1) and proj[0].bias is None
        assert isinstance(proj[1], nn.BatchNorm2d)
    assert isinstance(differ.cells[0].edges[3]["skip_connect"], nn.Identity)


def test_width_mult_scales_the_networks_but_not_the_strings() -> None:
    assert [scale_width(w, 0.3) for w in WIDTHS] == [2, 5, 7, 10, 12, 14, 17, 19]
    assert scale_width(5, 0.5) == 3 and scale_width(8, 0.01) == 1
    quarter = NatsSss(SMALL, width_mult=0.25)
    assert quarter.channels == (2, 4, 6, 8, 10, 12, 14, 16)
    assert quarter.encode((0, 1, 7, 3, 0)) == "8:16:64:32:8" == NatsSss(SMALL).encode((0, 1, 7, 3, 0))
    subnet = quarter.build_subnet((0, 1, 7, 3, 0))
    assert subnet.channels == (2, 4, 16, 8, 2)
    assert subnet.stem[0].out_channels == 2 and subnet.classifier.in_features == 2
    plain = NatsSss(SMALL, widths=(2, 4, 6, 8, 10, 12, 14, 16)).build_subnet((0, 1, 7, 3, 0))
    assert count_cost(subnet, SMALL) == count_cost(plain, SMALL)


# --- supernet ------------------------------------------------------------------------------

def randomise_bn(model: nn.Module, seed: int) -> None:
    """Non-trivial BN statistics and affine parameters, so eval-mode outputs depend on them."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            for tensor in (m.weight.data, m.bias.data, m.running_mean):
                tensor.copy_(torch.randn(tensor.shape, generator=gen))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def test_supernet_path_equals_subnet_with_sliced_weights() -> None:
    torch.manual_seed(0)
    space = NatsSss(SMALL, width_mult=0.25)
    supernet = space.build_supernet().eval()
    randomise_bn(supernet, 0)
    x = torch.randn(2, 1, 16, 16)
    for arch in random_archs(space, 8, seed=2) + [(0,) * 5, (7,) * 5, (0, 1, 1, 2, 2)]:
        subnet = space.build_subnet(arch).eval()
        for tensor in itertools.chain(subnet.parameters(), subnet.buffers()):
            tensor.data.fill_(float("nan") if tensor.is_floating_point() else -1)
        supernet.copy_path_to(subnet, arch)
        assert not any(torch.isnan(p).any() for p in subnet.parameters())
        with torch.no_grad():
            torch.testing.assert_close(supernet(x, arch), subnet(x), rtol=1e-5, atol=1e-5)
        assert count_cost(supernet, SMALL, (arch,))[0] == pytest.approx(count_cost(subnet, SMALL)[0], abs=1e-12)


def test_supernet_trains_only_the_slices_and_bns_of_its_path() -> None:
    torch.manual_seed(0)
    space = NatsSss(SMALL, width_mult=0.25)
    supernet = space.build_supernet().train()
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    arch = (1, 3, 0, 5, 2)
    loss = supernet(torch.randn(4, 1, 16, 16), arch).square().mean()
    loss.backward()
    stem_grad = supernet.stem[0].weight.grad
    c0 = space.channels[arch[0]]
    assert stem_grad[:c0].abs().sum() > 0 and torch.equal(stem_grad[c0:], torch.zeros_like(stem_grad[c0:]))
    torch.optim.SGD(supernet.parameters(), lr=0.1).step()
    after = supernet.state_dict()
    banks = [(name, m) for name, m in supernet.named_modules() if isinstance(m, BNBank)]
    assert len(banks) == 6 + 2 + 6 + 2 + 7
    for name, bank in banks:
        for choice in range(8):
            keys = [k for k in after if k.startswith(f"{name}.bns.{choice}.")]
            changed = any(not torch.equal(before[k], after[k]) for k in keys)
            skipped = name == "cells.2.edges.3.skip_connect.1" and arch[1] == arch[2]
            assert changed == (choice == arch[bank.layer] and not skipped), (name, choice)


def test_candidate_ops_give_every_width_its_own_bns() -> None:
    space = NatsSss(SMALL, width_mult=0.25)
    supernet = space.build_supernet()
    ops = supernet.candidate_ops()
    assert len(ops) == 5 and all(len(per_layer) == 8 for per_layer in ops)
    for layer, per_layer in enumerate(ops):
        assert [len(bns) for bns in per_layer] == [[5, 2, 6, 2, 6][layer]] * 8
        for choice, bns in enumerate(per_layer):
            assert all(type(bn) is nn.BatchNorm2d and bn.num_features == space.channels[choice] for bn in bns)
    all_bns = [id(bn) for per_layer in ops for bns in per_layer for bn in bns]
    assert len(all_bns) == len(set(all_bns)) == 8 * 21
    np.testing.assert_array_equal(bn_score_table(supernet), np.array([[5], [2], [6], [2], [6]]) * np.ones((1, 8)))
    last_bn = {id(p) for p in select_trainable(supernet, "last_bn")}
    unscored = {id(p) for block in (supernet.stem, supernet.lastact) for p in block.parameters()}
    assert last_bn == {id(p) for p in select_trainable(supernet, "bn")} - unscored
    assert last_bn == {id(p) for m in supernet.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()} - unscored
    assert not supernet.stem[0].weight.requires_grad


def test_supernet_skips_the_projection_when_widths_agree() -> None:
    space = NatsSss(SMALL, width_mult=0.25)
    supernet = space.build_supernet()
    calls: list[str] = []
    supernet.cells[2].edges[3]["skip_connect"][0].register_forward_hook(lambda *_: calls.append("proj"))
    x = torch.randn(1, 1, 16, 16)
    supernet(x, (0, 1, 1, 2, 2))
    assert calls == []
    supernet(x, (0, 1, 2, 2, 2))
    assert calls == ["proj"]
    with pytest.raises(HarnessError, match="invalid nats-sss architecture"):
        supernet(x, (0, 0, 0, 0, 8))

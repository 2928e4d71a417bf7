"""MobileNet-like spaces (spos-mobilenet, fairnas-mobilenet): codec, identity knob, the paper's
FLOPs/params through the costs command, lookup tables against real counts, supernet paths against
standalone subnets."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from harness.cli import main
from harness.errors import HarnessError
from harness.training.optim import last_bn
from harness.scoring.scorers import bn_score_table
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.data.shapes import InputShape
from harness.spaces.mobilenet import IDENTITY, OP_NAMES, MobileNetSpace

BNNAS_ARCH = "[3,-1,0,4,0,-1,-1,0,4,-1,4,4,1,4,2,0,0,4,0,2,2]"
SPOS_ARCH = "[0,-1,0,0,4,-1,-1,2,0,-1,4,4,3,0,2,1,0,4,2,5,2]"
# Official retraining logs (BNNAS/retrain/eval-SPOS/log.txt, SPOS/retrain/...): flops = 473.549240MB,
# param size = 5.228536MB; the paper reports SPOS at 468.8M / 5.8M.
PAPER = {BNNAS_ARCH: (473.549240, 5.228536), SPOS_ARCH: (468.8, 5.8)}
FORCED = (1, 5, 6, 9)
SMALL = InputShape(channels=3, resolution=32, classes=10)


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(name: str = "spos-mobilenet", **knobs) -> MobileNetSpace:
    return build_space(name, SMALL, **{"width_mult": 0.25, **knobs})


def random_archs(space: MobileNetSpace, n: int, seed: int = 0) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


# --- structure, identity knob and codec ------------------------------------------------------

def test_official_structure_of_both_spaces() -> None:
    spos = build_space("spos-mobilenet", dataset_shape("imagenet"))
    assert spos.num_layers == 21
    assert [i for i, c in enumerate(spos.choices) if c == [IDENTITY]] == list(FORCED)
    assert all(c == list(OP_NAMES) for i, c in enumerate(spos.choices) if i not in FORCED)
    assert spos.size() == 6 ** 17
    assert [(g.c_in, g.c_out, g.stride, g.resolution) for g in spos.geometry.layers[:5]] == [
        (24, 32, 2, 112), (32, 32, 1, 56), (32, 32, 1, 56), (32, 32, 1, 56), (32, 56, 2, 56)]
    fair = build_space("fairnas-mobilenet", dataset_shape("imagenet"))
    assert fair.num_layers == 19 and fair.choices == [list(OP_NAMES)] * 19  # FairNAS has no identity
    assert [g.c_out for g in fair.geometry.layers] == [32] * 2 + [40] * 4 + [80] * 4 + [96] * 4 + [192] * 4 + [320]
    assert (fair.geometry.stem, fair.geometry.first, fair.geometry.head) == (32, 16, 1280)


def test_identity_all_allows_it_where_shape_is_kept_and_none_nowhere() -> None:
    space = build_space("spos-mobilenet", dataset_shape("imagenet"), identity="all")
    with_identity = [i for i, c in enumerate(space.choices) if IDENTITY in c]
    # every layer but the first of each stage (stride 2, or 112 -> 128 and 256 -> 432 at stride 1)
    assert with_identity == [1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 17, 18, 19]
    assert all(c[:6] == list(OP_NAMES) and len(c) in (6, 7) for c in space.choices)
    assert space.size() == 7 ** 15 * 6 ** 6
    none = build_space("spos-mobilenet", dataset_shape("imagenet"), identity="none")
    assert none.choices == [list(OP_NAMES)] * 21
    with pytest.raises(HarnessError, match=r"layer 1: -1 is not allowed with identity='none'"):
        none.decode(BNNAS_ARCH)
    assert space.encode(space.decode(BNNAS_ARCH)) == BNNAS_ARCH


def test_paper_strings_round_trip_and_python_list_spacing_is_accepted() -> None:
    space = small()
    for text in PAPER:
        arch = space.decode(text)
        assert space.encode(arch) == text
        assert space.decode(text.replace(",", ", ")) == arch
        assert [arch[i] for i in FORCED] == [0] * 4
    assert space.decode(BNNAS_ARCH)[0] == OP_NAMES.index("k5e6")
    for identity in ("official", "none", "all"):
        other = small(identity=identity)
        for arch in random_archs(other, 50):
            assert other.decode(other.encode(arch)) == arch


@pytest.mark.parametrize("text", [
    "", "[]", "[3,-1,0]", BNNAS_ARCH + " ", " " + BNNAS_ARCH, BNNAS_ARCH[1:-1], "(" + BNNAS_ARCH[1:-1] + ")",
    BNNAS_ARCH[1:-1].replace(",", " "), BNNAS_ARCH.replace("]", ",]"), BNNAS_ARCH.replace("[3,", "[6,"),
    BNNAS_ARCH.replace("[3,", "[-2,"), BNNAS_ARCH.replace("[3,", "[03,"), BNNAS_ARCH.replace("[3,", "[+3,"),
    BNNAS_ARCH.replace("[3,-1,", "[3,0,"),  # layer 1 is forced identity
    BNNAS_ARCH.replace("[3,", "[-1,"),  # layer 0 has stride 2: no identity
    BNNAS_ARCH.replace(",", ",  "), BNNAS_ARCH.replace(",2]", ",2,2]"),
])
def test_decode_rejects_malformed_strings_naming_them(text: str) -> None:
    with pytest.raises(HarnessError) as info:
        small().decode(text)
    assert repr(text) in str(info.value) and "malformed spos-mobilenet arch string" in str(info.value)


@pytest.mark.parametrize("arch", [(0,) * 20, (0,) * 22, (1,) * 21, (0.0,) * 21, (True,) + (0,) * 20])
def test_encode_rejects_invalid_archs(arch: tuple) -> None:
    with pytest.raises(HarnessError, match="invalid mobilenet architecture"):
        small().encode(arch)


@pytest.mark.parametrize("knobs, name", [
    ({"width_mult": 0}, "width_mult"), ({"width_mult": "1"}, "width_mult"), ({"depths": [4] * 5}, "depths"),
    ({"depths": [0, 4, 4, 4, 4, 1]}, "depths"), ({"identity": "some"}, "identity"),
    ({"count_convention": "fvcore"}, "count_convention"),
])
def test_knobs_are_validated(knobs: dict, name: str) -> None:
    with pytest.raises(HarnessError, match=f"spos-mobilenet knob {name} "):
        build_space("spos-mobilenet", SMALL, **knobs)


def test_width_mult_truncates_like_the_official_code_and_scales_the_head_only_above_one() -> None:
    half = build_space("spos-mobilenet", dataset_shape("imagenet"), width_mult=0.5).geometry
    assert (half.stem, half.first, half.head) == (20, 12, 1728)
    assert sorted({g.c_out for g in half.layers}) == [16, 28, 56, 64, 128, 216]
    wide = build_space("fairnas-mobilenet", dataset_shape("imagenet"), width_mult=1.3).geometry
    assert (wide.stem, wide.first, wide.head) == (41, 20, 1664)
    with pytest.raises(HarnessError, match="without channels"):
        build_space("spos-mobilenet", SMALL, width_mult=0.01)


def test_depths_override_keeps_forced_identity_positions_that_exist() -> None:
    space = small(depths=[2, 1, 3, 1, 1, 1])
    assert space.num_layers == 9
    assert [i for i, c in enumerate(space.choices) if c == [IDENTITY]] == [1, 4]  # (stage 0, 1), (stage 2, 1)


# --- costs -------------------------------------------------------------------------------------

def test_paper_archs_through_the_costs_command(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["costs", "--space", "spos-mobilenet", "--dataset", "imagenet"]
    assert main(args + [x for text in PAPER for x in ("--arch", text)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "arch_str,flops_M,params_M" and len(lines) == 3
    for line, (text, (flops, params)) in zip(lines[1:], PAPER.items()):
        arch_str, ours_flops, ours_params = line.rsplit(",", 2)
        assert arch_str == f'"{text}"'
        assert float(ours_flops) == pytest.approx(flops, rel=0.01)
        assert float(ours_params) == pytest.approx(params, rel=0.01)
    assert lines[1].endswith(",473.54924,5.228536")  # exactly the official log's numbers
    assert main(args + ["--arch", "[3,-1]"]) == 2 and "'[3,-1]'" in capsys.readouterr().err


def test_paper_arch_real_count_equals_the_lookup() -> None:
    space = build_space("spos-mobilenet", dataset_shape("imagenet"))
    arch = space.decode(BNNAS_ARCH)
    table = space.cost_table()
    flops, params = space.count(space.build_subnet(arch))
    assert flops == pytest.approx(473.549240, abs=1e-6) and params == pytest.approx(5.228536, abs=1e-6)
    matrix = space.to_matrix([arch])
    assert table.flops(matrix)[0] == pytest.approx(flops, abs=1e-9)
    assert table.params(matrix)[0] == pytest.approx(params, abs=1e-9)


@pytest.mark.parametrize("name, knobs", [
    ("spos-mobilenet", {}),
    ("spos-mobilenet", {"identity": "all", "count_convention": "nats"}),
    ("fairnas-mobilenet", {}),
    ("fairnas-mobilenet", {"identity": "all", "count_convention": "thop", "depths": [1, 2, 2, 2, 2, 1]}),
])
def test_lookup_table_equals_real_counts(name: str, knobs: dict) -> None:
    space = small(name, **knobs)
    archs = random_archs(space, 5) + [tuple(len(c) - 1 for c in space.choices)]
    table = space.cost_table()
    matrix = space.to_matrix(archs)
    counted = np.array([space.count(space.build_subnet(arch)) for arch in archs])
    np.testing.assert_allclose(table.flops(matrix), counted[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(table.params(matrix), counted[:, 1], rtol=0, atol=1e-9)
    assert space.cost_table() is table


def test_count_conventions_differ_only_where_the_official_code_did() -> None:
    arch = (0,) * 19
    counts = {c: small("fairnas-mobilenet", count_convention=c).count(
        small("fairnas-mobilenet").build_subnet(arch)) for c in ("official", "thop", "nats")}
    geometry = small("fairnas-mobilenet").geometry
    stem, res = geometry.stem, geometry.stem_resolution
    assert counts["official"][0] - counts["thop"][0] == pytest.approx(stem * stem * res * res / 1e6, abs=1e-12)
    # thop counts the FC as (2 in - 1) per output, the NATS rule as in + 1 (bias)
    assert counts["thop"][0] - counts["nats"][0] == pytest.approx(10 * (1280 - 2) / 1e6, abs=1e-12)
    assert counts["official"][1] == counts["thop"][1] == counts["nats"][1]
    spos = {c: small(count_convention=c).count(small().build_subnet((0,) * 21))[0] for c in ("official", "thop")}
    assert spos["official"] == spos["thop"]


# --- supernet and subnets ----------------------------------------------------------------------

def randomise_bn(model: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            for tensor in (m.weight.data, m.bias.data, m.running_mean):
                tensor.copy_(torch.randn(tensor.shape, generator=gen))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


@pytest.mark.parametrize("name, identity", [("spos-mobilenet", "official"), ("fairnas-mobilenet", "all")])
def test_supernet_path_equals_subnet_with_its_weights(name: str, identity: str) -> None:
    torch.manual_seed(0)
    space = small(name, identity=identity)
    supernet = space.build_supernet().eval()
    randomise_bn(supernet, 0)
    state = supernet.state_dict()
    x = torch.randn(2, 3, 32, 32)
    for arch in random_archs(space, 4, seed=1):
        subnet = space.build_subnet(arch).eval()
        keys = subnet.state_dict().keys()
        assert set(keys) <= set(state)
        subnet.load_state_dict({k: state[k] for k in keys})
        with torch.no_grad():
            torch.testing.assert_close(supernet(x, arch), subnet(x), rtol=1e-4, atol=1e-5)
        assert space.count(supernet, (arch,))[0] == pytest.approx(space.count(subnet)[0], abs=1e-12)


def test_supernet_runs_only_the_chosen_ops() -> None:
    space = small(identity="all")
    supernet = space.build_supernet().eval()  # eval: the last BNs see 1x1 maps of one image
    called: set[tuple[int, str]] = set()
    for index, layer in enumerate(supernet.layers):
        for op_name, op in layer.items():
            op.register_forward_hook(lambda *_, key=(index, op_name): called.add(key))
    arch = random_archs(space, 1, seed=5)[0]
    supernet(torch.randn(1, 3, 32, 32), arch)
    assert called == {(i, space.choices[i][a]) for i, a in enumerate(arch)}


def test_candidate_ops_and_their_last_bn() -> None:
    supernet = small(identity="all").build_supernet()
    ops = supernet.candidate_ops()
    assert [len(per_layer) for per_layer in ops] == [len(c) for c in supernet.choices]
    for per_layer, names in zip(ops, supernet.choices):
        for instances, name in zip(per_layer, names):
            if name == IDENTITY:
                assert instances == []
            else:
                (op,) = instances
                assert last_bn(op) is op.conv[7]  # the BN whose gammas BN-NAS reads ('7.weight')
    table = bn_score_table(supernet)
    assert table.shape == (21, 7) and np.allclose(table[:, :6], 1.0)  # fresh BNs: gamma = 1
    assert np.allclose(table[[1, 2], 6], 0.0) and np.isnan(table[0, 6])  # identity 0; padding NaN


def test_subnet_has_the_official_dropout_and_the_supernet_none() -> None:
    space = small()
    assert space.build_subnet((0,) * 21).dropout.p == 0.2
    assert space.build_supernet().dropout.p == 0.0

"""NATS-Bench TSS space: codec, enumeration, the real network against the official FLOPs/params,
supernet paths against standalone subnets, op_bn ablation and the costs command."""

from __future__ import annotations

import itertools
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
from harness.data.shapes import dataset_shape
from harness.spaces import build_space
from harness.data.shapes import InputShape
from harness.spaces.nats_tss import OPS, AvgPool3x3, NatsTss, Zero

INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
SMALL = InputShape(channels=1, resolution=16, classes=10)
DATASET_COLUMNS = {"cifar10": "c10", "cifar100": "c100", "ImageNet16-120": "in16"}


@pytest.fixture(autouse=True, scope="module")
def single_thread() -> Iterator[None]:
    """These networks are tiny: intra-op threads only add overhead, and thrash (10x slower
    measured) when the CPUs are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def space() -> NatsTss:
    return NatsTss(dataset_shape("cifar10"))


@pytest.fixture(scope="module")
def wide(nats_wide_csv: Path) -> pd.DataFrame:
    return pd.read_csv(nats_wide_csv)


def random_archs(space: NatsTss, n: int, seed: int = 0) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


# --- codec and enumeration ---------------------------------------------------------------

def test_enumeration_is_the_product_of_5_ops_over_6_edges(space: NatsTss) -> None:
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 15_625 == space.size()
    assert archs == list(itertools.product(range(5), repeat=6))
    assert space.num_layers == 6 and space.choices == [list(OPS)] * 6


def test_codec_round_trips_every_arch_and_matches_the_official_strings(space: NatsTss, wide: pd.DataFrame) -> None:
    strings = [space.encode(arch) for arch in space.enumerate()]
    assert [space.decode(s) for s in strings] == list(space.enumerate())
    assert set(strings) == set(wide["arch_str"])
    assert space.decode(INDEX0) == (4, 2, 1, 2, 1, 1)
    assert space.encode((4, 2, 1, 2, 1, 1)) == INDEX0


@pytest.mark.parametrize("text", [
    "",
    "|none~0|",
    INDEX0 + " ",
    " " + INDEX0,
    INDEX0 + "\n",
    INDEX0.replace("avg_pool_3x3", "max_pool_3x3"),
    INDEX0.replace("avg_pool_3x3~0", "avg_pool_3x3~1"),
    INDEX0.replace("skip_connect~2", "skip_connect~02"),
    INDEX0.replace("skip_connect~2", "skip_connect"),
    INDEX0.replace("|+|", "|+"),
    INDEX0.replace("|skip_connect~2|", "|"),
    INDEX0.replace("|skip_connect~2|", "|skip_connect~2|none~3|"),
    INDEX0 + "+|none~0|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~1|nor_conv_1x1~0|+|none~0|none~1|none~2|",
    "|none ~0|+|none~0|none~1|+|none~0|none~1|none~2|",
])
def test_decode_rejects_malformed_strings_naming_them(space: NatsTss, text: str) -> None:
    with pytest.raises(HarnessError) as info:
        space.decode(text)
    message = str(info.value)
    assert repr(text) in message
    assert "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|" in message


@pytest.mark.parametrize("arch", [(0,) * 5, (0,) * 7, (0, 0, 0, 0, 0, 5), (0, 0, 0, 0, 0, -1), (0.0,) * 6])
def test_encode_rejects_invalid_archs(space: NatsTss, arch: tuple) -> None:
    with pytest.raises(HarnessError, match="invalid nats-tss architecture"):
        space.encode(arch)


@pytest.mark.parametrize("knobs, name", [
    ({"C": 0}, "C"), ({"N": -1}, "N"), ({"C": 2.5}, "C"), ({"N": True}, "N"), ({"op_bn": "bn"}, "op_bn"),
])
def test_knobs_are_validated(knobs: dict, name: str) -> None:
    with pytest.raises(HarnessError, match=f"knob {name} "):
        build_space("nats-tss", dataset_shape("cifar10"), **knobs)


def test_resolution_must_survive_two_reductions() -> None:
    with pytest.raises(HarnessError, match="divisible by 4, got 30"):
        NatsTss(InputShape(channels=3, resolution=30, classes=10))


def test_mutate_and_crossover_give_valid_archs(space: NatsTss) -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        a, b = space.sample(rng), space.sample(rng)
        child = space.crossover(a, b, rng)
        assert all(c in (x, y) for c, x, y in zip(child, a, b))
        for arch in (child, space.mutate(a, rng, 0.5)):
            assert space.decode(space.encode(arch)) == arch
        assert space.mutate(a, rng, 0.0) == a
    assert len({space.mutate((0,) * 6, rng, 1.0) for _ in range(50)}) > 1


# --- costs against the official values and against real counts ----------------------------

def test_index0_reference_cost(space: NatsTss) -> None:
    flops, params = count_cost(space.build_subnet(space.decode(INDEX0)), space.input_shape)
    assert flops == pytest.approx(15.64737, abs=1e-5)
    assert params == pytest.approx(0.129306, abs=1e-6)
    table = space.cost_table()
    matrix = space.to_matrix([space.decode(INDEX0)])
    assert table.flops(matrix)[0] == pytest.approx(15.64737, abs=1e-5)
    assert table.params(matrix)[0] == pytest.approx(0.129306, abs=1e-6)
    assert space.cost_table() is table


@pytest.mark.parametrize("shape, knobs", [
    (dataset_shape("cifar10"), {}),
    (SMALL, {"C": 8, "N": 1}),
    (SMALL, {"C": 8, "N": 1, "op_bn": "all"}),
])
def test_lookup_table_equals_real_counts(shape: InputShape, knobs: dict) -> None:
    space = NatsTss(shape, **knobs)
    archs = random_archs(space, 20) + [(0,) * 6, (3,) * 6]
    table = space.cost_table()
    matrix = space.to_matrix(archs)
    counted = np.array([count_cost(space.build_subnet(arch), shape) for arch in archs])
    np.testing.assert_allclose(table.flops(matrix), counted[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(table.params(matrix), counted[:, 1], rtol=0, atol=1e-9)


def test_costs_command_matches_the_official_table(tmp_path: Path, wide: pd.DataFrame) -> None:
    for dataset, tag in DATASET_COLUMNS.items():
        out = tmp_path / f"{tag}.csv"
        assert main(["costs", "--space", "nats-tss", "--dataset", dataset, "--output", str(out)]) == 0
        ours = pd.read_csv(out)
        assert list(ours.columns) == ["arch_str", "flops_M", "params_M"]
        assert len(ours) == 15_625 and ours["arch_str"].is_unique
        merged = ours.merge(wide, on="arch_str", how="inner", validate="one_to_one")
        assert len(merged) == 15_625
        np.testing.assert_allclose(merged["flops_M"], merged[f"flops_{tag}_M"], rtol=0, atol=1e-4)
        np.testing.assert_allclose(merged["params_M"], merged[f"params_{tag}_M"], rtol=0, atol=1e-4)


def test_costs_command_with_selected_archs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    none_arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert main(["costs", "--space", "nats-tss", "--dataset", "cifar10", "--arch", INDEX0, "--arch", none_arch]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["arch_str,flops_M,params_M", f"{INDEX0},15.64737,0.129306", f"{none_arch},7.78305,0.073306"]
    assert main(["costs", "--space", "nats-tss", "--dataset", "cifar10", "--arch", "bogus"]) == 2
    assert "'bogus'" in capsys.readouterr().err


# --- supernet, subnet and the op_bn ablation -----------------------------------------------

def randomise_bn(model: nn.Module, seed: int) -> None:
    """Non-trivial BN statistics and affine parameters, so eval-mode outputs depend on them."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            for tensor in (m.weight.data, m.bias.data, m.running_mean):
                tensor.copy_(torch.randn(tensor.shape, generator=gen))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


@pytest.mark.parametrize("op_bn", ["conv", "all"])
def test_supernet_path_equals_subnet_with_its_weights(op_bn: str) -> None:
    torch.manual_seed(0)
    space = NatsTss(SMALL, C=8, N=2, op_bn=op_bn)
    supernet = space.build_supernet().eval()
    randomise_bn(supernet, 0)
    x = torch.randn(2, 1, 16, 16)
    state = supernet.state_dict()
    for arch in random_archs(space, 10, seed=2) + [(0,) * 6]:
        subnet = space.build_subnet(arch).eval()
        sub_keys = subnet.state_dict().keys()
        assert set(sub_keys) <= set(state)
        subnet.load_state_dict({k: state[k] for k in sub_keys})
        with torch.no_grad():
            torch.testing.assert_close(supernet(x, arch), subnet(x), rtol=1e-5, atol=1e-5)
        assert count_cost(supernet, SMALL, (arch,))[0] == pytest.approx(count_cost(subnet, SMALL)[0], abs=1e-12)
        assert path_params(supernet, arch) == sum(p.numel() for p in subnet.parameters())


def path_params(supernet: nn.Module, arch: tuple[int, ...]) -> int:
    """Parameters of the supernet minus those of every candidate the path does not choose."""
    unchosen = sum(
        p.numel()
        for cell in supernet.search_cells()
        for edge, ops in enumerate(cell.edges)
        for name, op in ops.items() if name != OPS[arch[edge]]
        for p in op.parameters()
    )
    return sum(p.numel() for p in supernet.parameters()) - unchosen


def test_supernet_runs_only_the_chosen_ops() -> None:
    supernet = NatsTss(SMALL, C=4, N=1).build_supernet()
    called: set[tuple[int, str]] = set()
    cell = supernet.search_cells()[0]
    for edge, ops in enumerate(cell.edges):
        for name, op in ops.items():
            op.register_forward_hook(lambda *_, key=(edge, name): called.add(key))
    arch = (3, 0, 1, 4, 2, 0)
    supernet(torch.randn(1, 1, 16, 16), arch)
    assert called == {(e, OPS[o]) for e, o in enumerate(arch) if OPS[o] != "none"}


def test_all_none_cell_outputs_zeros() -> None:
    cell = NatsTss(SMALL, C=4, N=1).build_supernet().search_cells()[0]
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(cell(x, (0,) * 6), torch.zeros_like(x))


def test_candidate_ops_with_bn_only_in_convs() -> None:
    supernet = NatsTss(SMALL, C=4, N=2).build_supernet()
    ops = supernet.candidate_ops()
    assert len(ops) == 6 and all(len(per_edge) == 5 for per_edge in ops)
    for per_edge in ops:
        assert [len(instances) for instances in per_edge] == [0, 0, 6, 6, 0]
        assert len({id(m) for m in per_edge[3]}) == 6
        assert isinstance(list(per_edge[3][0].modules())[-1], nn.BatchNorm2d)


def test_op_bn_all_puts_a_bn_after_every_op() -> None:
    supernet = NatsTss(SMALL, C=4, N=2, op_bn="all").build_supernet().eval()
    for per_edge in supernet.candidate_ops():
        for instances in per_edge:
            assert len(instances) == 6
            bns = [m for m in instances[0].modules() if isinstance(m, nn.BatchNorm2d)]
            assert len(bns) == 1 and list(instances[0].modules())[-1] is bns[0]
    zero_op = supernet.candidate_ops()[0][0][0]
    assert isinstance(zero_op[0], Zero)
    zero_op[1].bias.data.fill_(0.5)
    assert torch.allclose(zero_op(torch.randn(1, 4, 8, 8)), torch.full((1, 4, 8, 8), 0.5))
    # The all-none subnet gains one BN (2 * width params) per edge of each of the 2 cells per stage.
    conv_params = count_cost(NatsTss(SMALL, C=4, N=2).build_subnet((0,) * 6), SMALL)[1]
    all_params = count_cost(NatsTss(SMALL, C=4, N=2, op_bn="all").build_subnet((0,) * 6), SMALL)[1]
    assert all_params - conv_params == pytest.approx(6 * 2 * 2 * (4 + 8 + 16) / 1e6, abs=1e-12)


# --- the fast avg_pool_3x3 ----------------------------------------------------------------

@pytest.mark.parametrize("height, width", [(1, 1), (1, 5), (2, 2), (7, 5), (16, 16)])
def test_avg_pool_equals_torch_pooling_without_padding_counted(height: int, width: int) -> None:
    """NATS-Bench's op is AvgPool2d(3, 1, 1, count_include_pad=False); ours must agree in value
    and gradient at every position, borders and degenerate sizes included."""
    x = torch.randn(3, 4, height, width, dtype=torch.float64, requires_grad=True)
    reference = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    ours, official = AvgPool3x3()(x), reference(x)
    upstream = torch.randn_like(official)
    ours_grad, = torch.autograd.grad(ours, x, upstream)
    official_grad, = torch.autograd.grad(official, x, upstream)
    torch.testing.assert_close(ours, official, rtol=0, atol=1e-12)
    torch.testing.assert_close(ours_grad, official_grad, rtol=0, atol=1e-12)


def test_avg_pool_costs_no_flops() -> None:
    assert count_cost(AvgPool3x3(), SMALL) == (0.0, 0.0)

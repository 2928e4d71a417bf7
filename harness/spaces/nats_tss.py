"""NATS-Bench topology space (TSS, = NAS-Bench-201): the exact "infer.tiny" network.

Network (NATS-Bench's TinyNetwork): stem conv3x3 (no bias) + BN; three stages of N cells at
C, 2C, 4C channels with a ResNet basic block between stages; BN, ReLU, global average pool,
Linear. A cell has 4 nodes; node j sums op(node i) over its incoming edges i < j. The 6 edges,
in arch-string order, are 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2; every cell shares the genotype.

The supernet and the standalone subnet are the same class of body: each edge holds a
ModuleDict keyed by op name (all 5 candidates in the supernet, only the chosen one in a
subnet), so a subnet's state_dict keys are a subset of the supernet's and its FLOPs/params
equal those of the supernet path.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from harness.spaces.cost import count_cost
from harness.errors import HarnessError
from harness.data.shapes import InputShape
from harness.spaces import register_space
from harness.spaces.base import Arch, CostTable, SearchSpace, Supernet

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
OP_BN_MODES: tuple[str, ...] = ("conv", "all")
NUM_NODES = 4
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))  # (source, target)
ARCH_FORMAT = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"


class Zero(nn.Module):
    """The `none` op. Cells never call a bare Zero (its edge adds nothing and costs nothing);
    it is only run when followed by a BN (op_bn="all"), where the op outputs BN(0) = beta and
    that BN's gamma never gets a gradient (harness.spaces.base.sees_only_zeros)."""

    outputs_zeros = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class AvgPool3x3(nn.Module):
    """NATS-Bench's avg_pool_3x3, AvgPool2d(3, stride 1, padding 1, count_include_pad=False), as
    a 3x3 box sum (shifted-slice adds over the zero-padded input, one axis at a time) scaled by
    1 / (number of in-image pixels under the window). Equal to nn.AvgPool2d up to float
    rounding (tested) and 2.5-4x faster forward + backward on CPU, where torch's pooling
    kernels took about half of a BN-only supernet step. It costs no FLOPs in the NATS-Bench
    convention, like the layer it replaces: torch's FlopCounterMode counts none of its ops."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _BoxMean3x3.apply(x)


class _BoxMean3x3(torch.autograd.Function):
    """y = D B x, with B the zero-padded 3x3 box sum and D the inverse window counts. B is
    symmetric, so the input gradient is B (D g): one more box sum instead of autograd's chain
    of slice backwards (each a zero-filled copy)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        inverse_count = _inverse_window_count(x.shape[-2], x.shape[-1], x.dtype, x.device)
        ctx.inverse_count = inverse_count
        return _box_sum_3x3(x) * inverse_count

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return _box_sum_3x3(grad * ctx.inverse_count)


def _box_sum_3x3(x: torch.Tensor) -> torch.Tensor:
    padded = nn.functional.pad(x, (1, 1, 1, 1))
    rows = padded[..., :, :-2] + padded[..., :, 1:-1] + padded[..., :, 2:]
    return rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :]


@functools.lru_cache(maxsize=64)
def _inverse_window_count(height: int, width: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """1 / (in-image pixels under the 3x3 window at each position): the window clipped at the
    border covers (rows in range) x (columns in range), so the count is an outer product."""
    def per_axis(size: int) -> torch.Tensor:
        counts = torch.full((size,), 3.0, dtype=torch.float64)
        counts[0] -= 1
        counts[-1] -= 1
        return counts.clamp(min=1.0)  # a size-1 axis: the window covers the one pixel

    return (1.0 / torch.outer(per_axis(height), per_axis(width))).to(dtype=dtype, device=device)


def relu_conv_bn(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    """NATS-Bench's ReLUConvBN: ReLU (not in place: a node feeds several edges), conv without
    bias, BN(affine=True, track_running_stats=True)."""
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
    )


def make_op(name: str, channels: int, op_bn: str) -> nn.Module:
    """One candidate op of a cell edge. With op_bn="all", ops without a BN of their own get one
    appended; conv ops keep their single ReLU-Conv-BN either way."""
    if name == "nor_conv_1x1":
        return relu_conv_bn(channels, channels, 1, 1)
    if name == "nor_conv_3x3":
        return relu_conv_bn(channels, channels, 3, 1)
    ops: dict[str, nn.Module] = {
        "none": Zero(),
        "skip_connect": nn.Identity(),
        "avg_pool_3x3": AvgPool3x3(),
    }
    op = ops[name]
    return nn.Sequential(op, nn.BatchNorm2d(channels)) if op_bn == "all" else op


class ResNetBasicBlock(nn.Module):
    """Reduction between stages: ReLU-conv3x3 s2-BN, ReLU-conv3x3-BN, plus the shortcut
    avgpool2x2 + conv1x1 (no bias, no BN)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = relu_conv_bn(c_in, c_out, 3, 2)
        self.conv_b = relu_conv_bn(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(self.conv_a(x)) + self.downsample(x)


class Cell(nn.Module):
    """A cell whose edge e holds the candidates `edge_choices[e]` (op indices)."""

    def __init__(self, channels: int, op_bn: str, edge_choices: Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleDict({OPS[o]: make_op(OPS[o], channels, op_bn) for o in choices})
            for choices in edge_choices
        )

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        nodes = [x]
        for target in range(1, NUM_NODES):
            terms = []
            for edge, (source, to) in enumerate(EDGES):
                if to != target:
                    continue
                op = self.edges[edge][OPS[arch[edge]]]
                if not isinstance(op, Zero):
                    terms.append(op(nodes[source]))
            # reduce, not sum(): sum() starts from 0, one more full-size add per node.
            nodes.append(functools.reduce(operator.add, terms) if terms else torch.zeros_like(x))
        return nodes[-1]


class TinyNetwork(nn.Module):
    """NATS-Bench's "infer.tiny" body; `run(x, arch)` returns the logits of the path `arch`."""

    def __init__(self, input_shape: InputShape, C: int, N: int, op_bn: str,
                 edge_choices: Sequence[Sequence[int]]) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape.channels, C, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(C),
        )
        layers: list[nn.Module] = []
        for stage, width in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ResNetBasicBlock(width // 2, width))
            layers.extend(Cell(width, op_bn, edge_choices) for _ in range(N))
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(4 * C, input_shape.classes)

    def run(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.cells:
            x = layer(x, arch) if isinstance(layer, Cell) else layer(x)
        return self.classifier(self.global_pooling(self.lastact(x)).flatten(1))

    def search_cells(self) -> list[Cell]:
        return [layer for layer in self.cells if isinstance(layer, Cell)]


class NatsSupernet(TinyNetwork, Supernet):
    """Every edge of every cell holds all 5 candidates; forward runs only the chosen ones."""

    def __init__(self, input_shape: InputShape, C: int, N: int, op_bn: str) -> None:
        super().__init__(input_shape, C, N, op_bn, [range(len(OPS))] * len(EDGES))

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:  # type: ignore[override]
        return self.run(x, check_arch(arch))

    def candidate_ops(self) -> list[list[list[nn.Module]]]:
        cells = self.search_cells()
        return [
            [[cell.edges[edge][name] for cell in cells] if _has_state(cells[0].edges[edge][name]) else []
             for name in OPS]
            for edge in range(len(EDGES))
        ]


class NatsSubnet(TinyNetwork):
    """A standalone architecture: each edge holds only its chosen op."""

    def __init__(self, input_shape: InputShape, C: int, N: int, op_bn: str, arch: Arch) -> None:
        super().__init__(input_shape, C, N, op_bn, [[a] for a in arch])
        self.arch = arch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x, self.arch)


def _has_state(module: nn.Module) -> bool:
    """Whether an op has anything a scorer or optimiser can use (parameters or a BN)."""
    return next(module.parameters(), None) is not None or any(
        isinstance(m, nn.BatchNorm2d) for m in module.modules()
    )


def check_arch(arch: Arch) -> Arch:
    """`arch` as a tuple of 6 Python ints in range; HarnessError otherwise."""
    values = tuple(arch)
    if len(values) != len(EDGES) or not all(
        isinstance(a, (int, np.integer)) and 0 <= a < len(OPS) for a in values
    ):
        raise HarnessError(
            f"invalid nats-tss architecture {arch!r}: expected {len(EDGES)} op indices in "
            f"0..{len(OPS) - 1} ({', '.join(OPS)})"
        )
    return tuple(int(a) for a in values)


def _check_positive_int(knob: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise HarnessError(f"nats-tss knob {knob} must be a positive integer, got {value!r}")


@register_space
class NatsTss(SearchSpace):
    """NATS-Bench TSS at width C, N cells per stage, for one input shape."""

    name = "nats-tss"

    def __init__(self, input_shape: InputShape, C: int = 16, N: int = 5, op_bn: str = "conv") -> None:
        _check_positive_int("C", C)
        _check_positive_int("N", N)
        if op_bn not in OP_BN_MODES:
            raise HarnessError(f"nats-tss knob op_bn must be one of {', '.join(OP_BN_MODES)}, got {op_bn!r}")
        if input_shape.resolution < 4 or input_shape.resolution % 4:
            # Two stride-2 reductions whose conv and avg-pool branches must agree in size.
            raise HarnessError(
                f"nats-tss needs an input resolution divisible by 4, got {input_shape.resolution}"
            )
        self.input_shape = input_shape
        self.C = C
        self.N = N
        self.op_bn = op_bn

    @property
    def num_layers(self) -> int:
        return len(EDGES)

    @property
    def choices(self) -> list[list[str]]:
        return [list(OPS) for _ in EDGES]

    def encode(self, arch: Arch) -> str:
        arch = check_arch(arch)
        nodes = []
        for target in range(1, NUM_NODES):
            tokens = [f"{OPS[arch[e]]}~{source}" for e, (source, to) in enumerate(EDGES) if to == target]
            nodes.append("|" + "|".join(tokens) + "|")
        return "+".join(nodes)

    def decode(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise _malformed(text, f"not a string but {type(text).__name__}")
        nodes = text.split("+")
        if len(nodes) != NUM_NODES - 1:
            raise _malformed(text, f"{len(nodes)} node(s) separated by '+', need {NUM_NODES - 1}")
        arch: list[int] = []
        for target, node in enumerate(nodes, start=1):
            if len(node) < 2 or not (node.startswith("|") and node.endswith("|")):
                raise _malformed(text, f"node {target} ({node!r}) is not enclosed in '|'")
            tokens = node[1:-1].split("|")
            if len(tokens) != target:
                raise _malformed(text, f"node {target} has {len(tokens)} edge(s), needs {target}")
            for source, token in enumerate(tokens):
                name, _, source_text = token.partition("~")
                if name not in OPS:
                    raise _malformed(text, f"unknown op {name!r} in {token!r}")
                if source_text != str(source):
                    raise _malformed(text, f"edge {token!r} of node {target} must come from node {source}")
                arch.append(OPS.index(name))
        return tuple(arch)

    def enumerate(self) -> Iterator[Arch]:
        """All 15,625 archs in itertools.product order (NOT the NATS-Bench index order)."""
        return itertools.product(range(len(OPS)), repeat=len(EDGES))

    def build_supernet(self) -> NatsSupernet:
        return NatsSupernet(self.input_shape, self.C, self.N, self.op_bn)

    def build_subnet(self, arch: Arch) -> NatsSubnet:
        return NatsSubnet(self.input_shape, self.C, self.N, self.op_bn, check_arch(arch))

    def cost_table(self) -> CostTable:
        return self._cost_table

    @functools.cached_property
    def _cost_table(self) -> CostTable:
        """Counted on real subnets. Costs are additive over edges (every cell shares the
        genotype, and an edge's op cost does not depend on the other edges), so
        base = all-`none` subnet and per_op[e, o] = cost(only edge e set to o) - base;
        per_op[e, none] = 0 by construction."""
        base_arch = (0,) * len(EDGES)
        base_flops, base_params = count_cost(self.build_subnet(base_arch), self.input_shape)
        flops = np.zeros((len(EDGES), len(OPS)))
        params = np.zeros((len(EDGES), len(OPS)))
        for edge in range(len(EDGES)):
            for op in range(1, len(OPS)):
                arch = base_arch[:edge] + (op,) + base_arch[edge + 1:]
                op_flops, op_params = count_cost(self.build_subnet(arch), self.input_shape)
                flops[edge, op] = op_flops - base_flops
                params[edge, op] = op_params - base_params
        return CostTable(base_flops, flops, base_params, params)


def _malformed(text: object, reason: str) -> HarnessError:
    return HarnessError(
        f"malformed nats-tss arch string {text!r}: {reason}; expected {ARCH_FORMAT!r} "
        f"with each op one of {', '.join(OPS)}"
    )

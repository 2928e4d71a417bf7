"""NATS-Bench size space (SSS): the exact "infer.shape.tiny" network, a slimmable supernet with one
BatchNorm per width choice, and an exact cost lookup.

Network (xautodl's DynamicShapeTinyNet with N=1; five searchable widths c0..c4):
    stem conv3x3 (no bias) -> c0 + BN
    cell c0 -> c0;  ResNet basic block c0 -> c1 (stride 2);  cell c1 -> c2
    ResNet basic block c2 -> c3 (stride 2);  cell c3 -> c4
    BN, ReLU, global average pool, Linear.
Every cell has the fixed genotype CELL_GENOTYPE. As in xautodl's InferCell, a cell whose input
and output widths differ changes width on the edges leaving node 0 only: nor_conv_3x3 there maps
c_in -> c_out, and skip_connect becomes conv1x1 (no bias) + BN (xautodl's FactorizedReduce at
stride 1: no ReLU). The cell structure, ReLU-Conv-BN op, ResNet block and the forward pass are
NATS-TSS's (harness.spaces.nats_tss), reused by subclassing.

Supernet (slimmable): the same network at the largest width of every layer, with each conv,
linear and BN replaced by a slimmable counterpart. A path runs the first c_l output channels of
every conv whose output has layer l's width (and the first channels its input has), so a path
costs what the standalone subnet costs. Every BN sits after a searchable width, and each holds
one BatchNorm per width choice, so each choice has its own gammas for the BN-NAS indicator.

Cost: FLOPs/params are not additive over layers (a conv costs c_in * c_out), but they are a sum
of terms that each depend on two ADJACENT layers at most (every block maps c_l -> c_l or
c_l -> c_{l+1}). ChainCostTable stores that exact decomposition, counted on real subnets.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from harness.spaces.cost import count_cost
from harness.errors import HarnessError
from harness.data.shapes import InputShape
from harness.spaces import register_space
from harness.spaces.base import Arch, CostTable, SearchSpace, Supernet
from harness.spaces.nats_tss import EDGES, OPS, Cell, ResNetBasicBlock, TinyNetwork, make_op, relu_conv_bn

WIDTHS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
NUM_LAYERS = 5
CELL_GENOTYPE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
# CELL_GENOTYPE as NATS-TSS op names per edge, in nats_tss.EDGES order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2).
CELL_OPS: tuple[str, ...] = (
    "nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_3x3",
)
CELL_ARCH: Arch = tuple(OPS.index(name) for name in CELL_OPS)
ARCH_FORMAT = "c0:c1:c2:c3:c4"
# Searchable layer whose width each top-level block outputs (the stem and lastact BN included).
BLOCK_LAYERS: dict[str, int] = {"stem": 0, "cells.0": 0, "cells.1": 1, "cells.2": 2, "cells.3": 3,
                                "cells.4": 4, "lastact": 4}
# Blocks whose BNs the BN indicator does not score (NatsSssSupernet.candidate_ops).
UNSCORED_BLOCKS: tuple[str, ...] = ("stem.", "lastact.")


# --- the standalone network ------------------------------------------------------------------

class Projection(nn.Sequential):
    """A width-changing skip_connect: conv1x1 (no bias) + BN. In the supernet it is the identity
    on paths where the cell's input already has the output width (as a standalone cell is)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        conv = self[0]
        out_width = conv.active_out_channels() if isinstance(conv, SlimConv2d) else conv.out_channels
        return x if x.shape[1] == out_width else super().forward(x)


def projection(c_in: int, c_out: int) -> Projection:
    return Projection(nn.Conv2d(c_in, c_out, kernel_size=1, bias=False), nn.BatchNorm2d(c_out))


class ShapeCell(Cell):
    """A NATS cell with the fixed SSS genotype from c_in to c_out channels (xautodl's InferCell).

    Cell.forward is reused; only the construction differs (Cell.__init__ builds same-width edges
    only). `dynamic_skip` (supernet) always holds a Projection on the skip edge from node 0, which
    acts as the identity on paths whose widths agree."""

    def __init__(self, c_in: int, c_out: int, dynamic_skip: bool = False) -> None:
        nn.Module.__init__(self)
        self.edges = nn.ModuleList(
            nn.ModuleDict({name: _cell_edge_op(name, c_in if source == 0 else c_out, c_out, dynamic_skip)})
            for (source, _), name in zip(EDGES, CELL_OPS)
        )


def _cell_edge_op(name: str, c_in: int, c_out: int, dynamic_skip: bool) -> nn.Module:
    if name == "nor_conv_3x3":
        return relu_conv_bn(c_in, c_out, 3, 1)
    if name == "skip_connect" and (dynamic_skip or c_in != c_out):
        return projection(c_in, c_out)
    return make_op(name, c_out, "conv")


class ShapeTinyNetwork(TinyNetwork):
    """xautodl's DynamicShapeTinyNet (N=1) at `channels` = (c0, ..., c4).

    TinyNetwork.run (forward over stem, cells, lastact, pool, classifier) is reused; its __init__
    (the TSS body at C, 2C, 4C with N cells per stage) is not, hence nn.Module.__init__."""

    def __init__(self, input_shape: InputShape, channels: Sequence[int], dynamic_skip: bool = False) -> None:
        nn.Module.__init__(self)
        c = list(channels)
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape.channels, c[0], kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c[0]),
        )
        self.cells = nn.ModuleList([
            ShapeCell(c[0], c[0]),
            ResNetBasicBlock(c[0], c[1]),
            ShapeCell(c[1], c[2], dynamic_skip),
            ResNetBasicBlock(c[2], c[3]),
            ShapeCell(c[3], c[4], dynamic_skip),
        ])
        self.lastact = nn.Sequential(nn.BatchNorm2d(c[4]), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c[4], input_shape.classes)


class NatsSssSubnet(ShapeTinyNetwork):
    """A standalone architecture at its real channel counts."""

    def __init__(self, input_shape: InputShape, channels: Sequence[int]) -> None:
        super().__init__(input_shape, channels)
        self.channels = tuple(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x, CELL_ARCH)


# --- the slimmable supernet ------------------------------------------------------------------

class SlimConv2d(nn.Conv2d):
    """A conv at the largest widths that runs the first channels only: every channel its input
    has, and as many outputs as the current path's width of `layer` (choice set by the supernet)."""

    def __init__(self, conv: nn.Conv2d, layer: int, channels: Sequence[int]) -> None:
        if conv.bias is not None or conv.groups != 1:
            raise ValueError("SlimConv2d slices plain convolutions without bias only")
        super().__init__(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                         padding=conv.padding, dilation=conv.dilation, bias=False)
        self.weight = conv.weight
        self.layer = layer
        self.channels = tuple(channels)
        self.choice = len(self.channels) - 1

    def active_out_channels(self) -> int:
        return self.channels[self.choice]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight[: self.active_out_channels(), : x.shape[1]]
        return F.conv2d(x, weight, None, self.stride, self.padding, self.dilation)


class SlimLinear(nn.Linear):
    """The classifier at the largest input width; a path uses the first inputs only."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__(linear.in_features, linear.out_features, bias=linear.bias is not None)
        self.weight = linear.weight
        self.bias = linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight[:, : x.shape[1]], self.bias)


class BNBank(nn.Module):
    """One BatchNorm2d per width choice of `layer`; a path runs (and trains) only its choice's."""

    def __init__(self, layer: int, channels: Sequence[int]) -> None:
        super().__init__()
        self.layer = layer
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for c in channels)
        self.choice = len(channels) - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bns[self.choice](x)


class NatsSssSupernet(ShapeTinyNetwork, Supernet):
    """The largest network made slimmable: forward(x, arch) runs the subnet `arch` on sliced
    weights and per-width BNs. It first sets `choice` on every SlimConv2d and BNBank from `arch`
    (their layer's entry), then runs TinyNetwork.run: the slimmable-network idiom, which lets the
    plain cell and ResNet block forwards be reused unchanged."""

    def __init__(self, input_shape: InputShape, channels: Sequence[int]) -> None:
        super().__init__(input_shape, [max(channels)] * NUM_LAYERS, dynamic_skip=True)
        self.channels = tuple(channels)
        for name, layer in BLOCK_LAYERS.items():
            _make_slim(self.get_submodule(name), layer, self.channels)
        self.classifier = SlimLinear(self.classifier)

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:  # type: ignore[override]
        arch = check_arch(arch, len(self.channels))
        for module in self.modules():
            if isinstance(module, (SlimConv2d, BNBank)):
                module.choice = arch[module.layer]
        return self.run(x, CELL_ARCH)

    def candidate_ops(self) -> list[list[list[nn.Module]]]:
        """[layer][choice]: that width's BatchNorm at every place inside the searchable blocks
        whose output has layer's width (cell 0: 5 BNs of its conv edges; each ResNet block: its
        2 conv BNs; cells 1 and 2: 6, the skip projection's BN included).

        This defines the BN indicator in a width space, a harness extension of BN-NAS (which
        scores operation choices, not widths): a width choice is scored like an op whose
        "last BNs" are that width's BNs after the searchable convs, each contributing the mean
        over its channels of |gamma| (mean, not sum, so widths of different channel counts
        are compared per channel, as BN-NAS compares ops of different widths); every layer has
        the same number of places for each of its widths. Left out: the stem BN (a fixed stem,
        as BN-NAS never scores its stem) and the final `lastact` BN (it feeds the frozen
        classifier and is nobody's op). Each width has its own BN bank, so the choices of a
        layer differ only in their gammas: untrained, every architecture scores the same."""
        banks = [(name, m) for name, m in self.named_modules() if isinstance(m, BNBank)
                 and not name.startswith(UNSCORED_BLOCKS)]
        return [[[bank.bns[choice] for _, bank in banks if bank.layer == layer]
                 for choice in range(len(self.channels))]
                for layer in range(NUM_LAYERS)]

    @torch.no_grad()
    def copy_path_to(self, subnet: NatsSssSubnet, arch: Arch) -> None:
        """Load into the standalone `subnet` of `arch` the weights the path `arch` uses: sliced
        convs and classifier, and the chosen BN of every bank (parameters and running stats)."""
        arch = check_arch(arch, len(self.channels))
        for name, target in subnet.named_modules():
            if isinstance(target, (nn.Conv2d, nn.Linear)):
                source = self.get_submodule(name).weight
                index = tuple(slice(0, n) for n in target.weight.shape)
                _copy(target.weight, source[index], name)
                if isinstance(target, nn.Linear) and target.bias is not None:
                    _copy(target.bias, self.get_submodule(name).bias, name)
            elif isinstance(target, nn.BatchNorm2d):
                bank = self.get_submodule(name)
                chosen = bank.bns[arch[bank.layer]]
                for key, value in chosen.state_dict().items():
                    _copy(target.get_parameter(key) if key in ("weight", "bias") else target.get_buffer(key),
                          value, f"{name}.{key}")


def _make_slim(block: nn.Module, layer: int, channels: Sequence[int]) -> None:
    """Replace, in place, every conv and BN under `block` by its slimmable counterpart, all of
    them producing `layer`'s width (every conv and BN of a block outputs the block's width)."""
    for name, child in block.named_children():
        if isinstance(child, nn.Conv2d):
            setattr(block, name, SlimConv2d(child, layer, channels))
        elif isinstance(child, nn.BatchNorm2d):
            setattr(block, name, BNBank(layer, channels))
        else:
            _make_slim(child, layer, channels)


def _copy(target: torch.Tensor, source: torch.Tensor, name: str) -> None:
    if target.shape != source.shape:
        raise HarnessError(f"cannot copy supernet weights into {name}: shape {tuple(source.shape)} "
                           f"vs {tuple(target.shape)}; is the subnet built for this architecture?")
    target.copy_(source)


# --- cost lookup -------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChainCostTable(CostTable):
    """cost(arch) = base + sum_l per_op[l, a_l] + sum_l per_pair[l, a_l, a_{l+1}].

    Exact for any cost that is a sum of terms each depending on two adjacent layers at most.
    Decomposition around the reference arch r = (0,)*L, from real counts f:
        base                = f(r)
        per_op[l, u]        = f(r with a_l = u) - f(r)
        per_pair[l, u, v]   = f(r with a_l = u, a_{l+1} = v) - f(r with a_l = u) - f(r with a_{l+1} = v) + f(r)
    (so per_op[l, 0] = per_pair[l, 0, :] = per_pair[l, :, 0] = 0)."""

    flops_per_pair: np.ndarray  # (num_layers - 1, max_choices, max_choices)
    params_per_pair: np.ndarray

    def _flops_sum(self, archs: np.ndarray) -> np.ndarray:
        return super()._flops_sum(archs) + _gather_pairs(self.flops_per_pair, archs)

    def _params_sum(self, archs: np.ndarray) -> np.ndarray:
        return super()._params_sum(archs) + _gather_pairs(self.params_per_pair, archs)


def _gather_pairs(table: np.ndarray, archs: np.ndarray) -> np.ndarray:
    archs = np.atleast_2d(archs)
    pairs = np.arange(table.shape[0])[None, :]
    return table[pairs, archs[:, :-1], archs[:, 1:]].sum(axis=1)


@functools.lru_cache(maxsize=None)
def chain_cost_table(input_shape: InputShape, channels: tuple[int, ...]) -> ChainCostTable:
    """Counted on 1 + 5*7 + 4*49 = 232 real subnets (a few seconds); cached per process, so
    spaces of equal shape and channels share one table."""

    def count_at(changes: dict[int, int]) -> np.ndarray:
        """(flops, params) of the reference arch r = (0,)*5 with the layers in `changes` set."""
        arch = [changes.get(layer, 0) for layer in range(NUM_LAYERS)]
        return np.array(count_cost(NatsSssSubnet(input_shape, [channels[a] for a in arch]), input_shape))

    k = len(channels)
    base = count_at({})
    single = np.zeros((NUM_LAYERS, k, 2))
    for layer, u in itertools.product(range(NUM_LAYERS), range(1, k)):
        single[layer, u] = count_at({layer: u}) - base
    pair = np.zeros((NUM_LAYERS - 1, k, k, 2))
    for layer, u, v in itertools.product(range(NUM_LAYERS - 1), range(1, k), range(1, k)):
        both = count_at({layer: u, layer + 1: v}) - base
        pair[layer, u, v] = both - single[layer, u] - single[layer + 1, v]
    return ChainCostTable(float(base[0]), single[..., 0], float(base[1]), single[..., 1],
                          pair[..., 0], pair[..., 1])


# --- the space ---------------------------------------------------------------------------------

def check_arch(arch: Arch, num_choices: int) -> Arch:
    """`arch` as a tuple of 5 Python ints in range; HarnessError otherwise."""
    values = tuple(arch)
    if len(values) != NUM_LAYERS or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < num_choices for a in values
    ):
        raise HarnessError(
            f"invalid nats-sss architecture {arch!r}: expected {NUM_LAYERS} width indices in 0..{num_choices - 1}"
        )
    return tuple(int(a) for a in values)


def scale_width(width: int, width_mult: float) -> int:
    """round(width * width_mult), halves rounded up, at least 1."""
    return max(1, math.floor(width * width_mult + 0.5))


def _check_widths(widths: object) -> tuple[int, ...]:
    if not isinstance(widths, (list, tuple)) or not widths or not all(
        isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths
    ) or len(set(widths)) != len(widths):
        raise HarnessError(
            f"nats-sss knob widths must be a non-empty list of distinct positive integers, got {widths!r}"
        )
    return tuple(widths)


def _check_width_mult(width_mult: object) -> float:
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not (
        math.isfinite(width_mult) and width_mult > 0
    ):
        raise HarnessError(f"nats-sss knob width_mult must be a positive number, got {width_mult!r}")
    return float(width_mult)


@register_space
class NatsSss(SearchSpace):
    """NATS-Bench SSS: 5 layers, each a width from `widths` (NATS-Bench: 8..64 in steps of 8).

    `width_mult` scales every candidate width of the real networks (rounded half up, at least 1),
    e.g. 0.25 gives 2..16 channels for CPU-sized runs. Architecture strings always carry the
    NOMINAL widths ("8:16:64:32:8"), so they stay NATS-Bench strings at any multiplier; the
    networks, costs and supernet use the scaled `channels`."""

    name = "nats-sss"

    def __init__(self, input_shape: InputShape, widths: Sequence[int] = WIDTHS, width_mult: float = 1.0) -> None:
        self.widths = _check_widths(widths)
        self.width_mult = _check_width_mult(width_mult)
        self.channels = tuple(scale_width(w, self.width_mult) for w in self.widths)
        if len(set(self.channels)) != len(self.channels):
            raise HarnessError(
                f"nats-sss knob width_mult={width_mult} maps the widths {list(self.widths)} to "
                f"{list(self.channels)} channels, which are not all distinct; use a larger width_mult"
            )
        if input_shape.resolution < 4 or input_shape.resolution % 4:
            # Two stride-2 ResNet blocks whose conv and avg-pool branches must agree in size.
            raise HarnessError(f"nats-sss needs an input resolution divisible by 4, got {input_shape.resolution}")
        self.input_shape = input_shape
        self._codes = {str(w): i for i, w in enumerate(self.widths)}

    @property
    def num_layers(self) -> int:
        return NUM_LAYERS

    @property
    def choices(self) -> list[list[str]]:
        return [[str(w) for w in self.widths] for _ in range(NUM_LAYERS)]

    def encode(self, arch: Arch) -> str:
        return ":".join(str(self.widths[a]) for a in check_arch(arch, len(self.widths)))

    def decode(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise self._malformed(text, f"not a string but {type(text).__name__}")
        tokens = text.split(":")
        if len(tokens) != NUM_LAYERS:
            raise self._malformed(text, f"{len(tokens)} field(s) separated by ':', need {NUM_LAYERS}")
        for layer, token in enumerate(tokens):
            if token not in self._codes:
                raise self._malformed(text, f"c{layer}={token!r} is not a candidate width")
        return tuple(self._codes[token] for token in tokens)

    def _malformed(self, text: object, reason: str) -> HarnessError:
        return HarnessError(
            f"malformed nats-sss arch string {text!r}: {reason}; expected {ARCH_FORMAT!r} with each "
            f"width one of {', '.join(map(str, self.widths))} (e.g. '8:16:64:32:8')"
        )

    def enumerate(self) -> Iterator[Arch]:
        """All archs in NATS-Bench SSS index order: itertools.product with c0 varying slowest
        (index 0 = 8:8:8:8:8, index 1 = 8:8:8:8:16, last = 64:64:64:64:64), the order of
        `traverse_net` that builds the benchmark's meta_archs (AutoDL-Projects,
        exps/NATS-Bench/main-sss.py and sss-collect.py)."""
        return itertools.product(range(len(self.widths)), repeat=NUM_LAYERS)

    def build_supernet(self) -> NatsSssSupernet:
        return NatsSssSupernet(self.input_shape, self.channels)

    def build_subnet(self, arch: Arch) -> NatsSssSubnet:
        arch = check_arch(arch, len(self.widths))
        return NatsSssSubnet(self.input_shape, [self.channels[a] for a in arch])

    def cost_table(self) -> ChainCostTable:
        """Not additive over layers: a ChainCostTable (CostTable plus adjacent-pair terms)."""
        return chain_cost_table(self.input_shape, self.channels)

    def conv_op_table(self) -> np.ndarray:
        """A width choice is the width of the layer's convolutions: 1 for every choice of a layer
        that has convs in the supernet (SlimConv2d of that layer: every layer), so every
        architecture has NUM_LAYERS conv ops. (candidate_ops here are the per-width BNs the BN
        indicator scores, not the convs.)"""
        cached = self.__dict__.get("_conv_op_table")
        if cached is None:
            with_convs = {m.layer for m in self.build_supernet().modules() if isinstance(m, SlimConv2d)}
            cached = np.array([[int(layer in with_convs)] * len(self.widths) for layer in range(NUM_LAYERS)],
                              dtype=np.int64)
            cached.setflags(write=False)
            self.__dict__["_conv_op_table"] = cached
        return cached

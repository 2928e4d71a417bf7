"""The MobileNet-like layer-wise spaces of BN-NAS's ImageNet experiments.

spos-mobilenet     the ABS "GPU" space that BN-NAS calls its SPOS setting (BN-NAS code,
                   bychen515/BNNAS, reusing ABS/AngleNAS, megvii-model/AngleNAS):
                   stem conv3x3 s2 -> 40, fixed MBConv(expand 1, k3) -> 24, 21 searchable
                   layers 32x4 s2, 56x4 s2, 112x4 s2, 128x4 s1, 256x4 s2, 432x1 s1,
                   head conv1x1 -> 1728, global average pool, FC.
fairnas-mobilenet  the FairNAS space as ABS builds it: stem conv3x3 s2 -> 32, fixed
                   MBConv(expand 1, k3) -> 16, 19 searchable layers 32x2 s2, 40x4 s2, 80x4 s2,
                   96x4 s1, 192x4 s2, 320x1 s1, head conv1x1 -> 1280, FC.

Every searchable layer chooses one MBConv, in the official index order (ABS `blocks_keys`):
0 k3e3, 1 k3e6, 2 k5e3, 3 k5e6, 4 k7e3, 5 k7e6. An MBConv with expansion e is conv1x1-BN-ReLU6,
depthwise kxk-BN-ReLU6, conv1x1-BN (the first conv is dropped when e = 1, as in the fixed stem
block), with a residual when stride 1 and C_in = C_out; its last BN is `conv[7]`, the one whose
gammas BN-NAS reads ('7.weight' in BNNAS/search/ea.py).

Identity (knob `identity`). In the official strings index -1 means "no block" (identity). The
BN-NAS and ABS code never sample it: random, mutation and crossover draw 0..5 and then
`change_depth` forces layers 1, 5, 6 and 9 (0-based) to -1 in every path (also in supernet
training, BNNAS/supernet/train.py). So:
    "official"  spos-mobilenet: layers 1, 5, 6, 9 are fixed identity (one candidate), the others
                have the six MBConvs. fairnas-mobilenet: FairNAS has no identity, same as "none".
    "none"      six MBConvs everywhere.
    "all"       identity is a 7th candidate (index 6) of every layer with stride 1 and
                C_in = C_out.
Internally an architecture holds, per layer, an index into `choices[layer]`; the codec maps
identity to -1 and MBConv names to their official index. The forced layers are written as
(stage, position) so that a `depths` override keeps their meaning where the position exists.

Width (knob `width_mult`): as the official code, int(c * width_mult) for the stem, the fixed
block and every stage; the head keeps 1728 / 1280 unless width_mult > 1 (MobileNetV2's rule).

FLOPs (knob `count_convention`), all in millions for one image:
    "official"  the ABS/BN-NAS lookup tables (op_flops_dict_{gpu,cpu}.pkl) that the FLOPs limits
                475M / 330M refer to. They were built with ABS's vendored thop
                (utils/flops_lookup_table_*.py, thop/count_hooks.py): only Conv2d and Linear are
                hooked; a conv counts C_in/groups * k*k multiply-adds per output element (no bias
                here), a Linear counts (2 * in_features - 1) per output element (multiplies AND
                adds); BN, ReLU6, pooling and residual adds count nothing. For spos-mobilenet
                this is exactly the real network (BN-NAS arch: 473.549240M, as its retraining log
                prints). For fairnas-mobilenet the CPU table's stem block
                (flops_test_blocks_cpu.py) has a 1x1 expansion conv that the trained network
                does not (its expand-1 MBConv is dw + pw), adding C*C*H*W multiply-adds
                (12.85M at 224 px); "official" includes it so that 330M means what it meant there.
    "thop"      the same rules on the real network (no phantom conv).
    "nats"      the harness's NATS-Bench rule (harness.spaces.cost.count_cost): Linear = multiply-adds
                plus bias adds.
Params are all parameters (BN included), as the official count_parameters_in_MB.

Costs are additive over layers: a layer's input/output channels and resolution are fixed, and
identity is only allowed where it changes neither. CostTable per_op[l, c] is the count of that
block alone on its input shape; base = real count of a whole network minus its blocks.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.spaces.cost import count_cost
from harness.errors import HarnessError
from harness.data.shapes import InputShape
from harness.spaces import register_space
from harness.spaces.base import Arch, CostTable, SearchSpace, Supernet

# Official index order (ABS config.blocks_keys): (kernel, expansion).
OPS: dict[str, tuple[int, int]] = {
    "k3e3": (3, 3), "k3e6": (3, 6), "k5e3": (5, 3), "k5e6": (5, 6), "k7e3": (7, 3), "k7e6": (7, 6),
}
OP_NAMES: tuple[str, ...] = tuple(OPS)
IDENTITY = "identity"
IDENTITY_MODES = ("official", "none", "all")
COUNT_CONVENTIONS = ("official", "thop", "nats")
CLASSIFIER_DROPOUT = 0.2  # the official retraining network (model.py); the supernet has none
ARCH_FORMAT = "[i0,i1,...] with one index per layer, -1 = identity, 0..5 = k3e3,k3e6,k5e3,k5e6,k7e3,k7e6"
_TOKEN = r"(?:-1|0|[1-9][0-9]*)"
_ARCH_RE = re.compile(rf"\[{_TOKEN}(?:, ?{_TOKEN})*\]")


@dataclass(frozen=True)
class MobileNetSpec:
    """The fixed part of a space. stages: (channels, layers, first stride)."""

    name: str
    stem_channels: int
    first_channels: int
    stages: tuple[tuple[int, int, int], ...]
    head_channels: int
    official_identity: frozenset[tuple[int, int]]  # (stage, position in stage)
    table_stem_expansion: bool  # the official table counted a 1x1 expansion conv in the stem block


SPOS_SPEC = MobileNetSpec(
    name="spos-mobilenet", stem_channels=40, first_channels=24,
    stages=((32, 4, 2), (56, 4, 2), (112, 4, 2), (128, 4, 1), (256, 4, 2), (432, 1, 1)),
    head_channels=1728,
    official_identity=frozenset({(0, 1), (1, 1), (1, 2), (2, 1)}),  # layers 1, 5, 6, 9
    table_stem_expansion=False,
)
FAIRNAS_SPEC = MobileNetSpec(
    name="fairnas-mobilenet", stem_channels=32, first_channels=16,
    stages=((32, 2, 2), (40, 4, 2), (80, 4, 2), (96, 4, 1), (192, 4, 2), (320, 1, 1)),
    head_channels=1280,
    official_identity=frozenset(),
    table_stem_expansion=True,
)


@dataclass(frozen=True)
class LayerGeometry:
    """A searchable layer's fixed shape: what every candidate block maps."""

    c_in: int
    c_out: int
    stride: int
    resolution: int  # input resolution
    stage: int
    position: int

    @property
    def allows_identity(self) -> bool:
        return self.stride == 1 and self.c_in == self.c_out


@dataclass(frozen=True)
class Geometry:
    """Channels and resolutions of a whole network (spec at a width, depth and input shape)."""

    input_shape: InputShape
    stem: int
    first: int
    head: int
    stem_resolution: int  # resolution after the stride-2 stem
    layers: tuple[LayerGeometry, ...]


def _half(resolution: int) -> int:
    """Output size of a stride-2 conv with padding k//2 (odd k): ceil(r / 2)."""
    return (resolution + 1) // 2


def make_geometry(spec: MobileNetSpec, input_shape: InputShape, width_mult: float,
                  depths: tuple[int, ...]) -> Geometry:
    def width(c: int) -> int:
        return int(c * width_mult)

    stem, first = width(spec.stem_channels), width(spec.first_channels)
    head = width(spec.head_channels) if width_mult > 1.0 else spec.head_channels
    resolution = _half(input_shape.resolution)
    stem_resolution, c_in, layers = resolution, first, []
    for stage, ((channels, _, stride), depth) in enumerate(zip(spec.stages, depths)):
        for position in range(depth):
            s = stride if position == 0 else 1
            layers.append(LayerGeometry(c_in, width(channels), s, resolution, stage, position))
            c_in, resolution = width(channels), (_half(resolution) if s == 2 else resolution)
    if min([stem, first, head] + [layer.c_out for layer in layers]) < 1:
        raise HarnessError(f"{spec.name} knob width_mult={width_mult} leaves a layer without channels; "
                           "use a larger width_mult")
    return Geometry(input_shape, stem, first, head, stem_resolution, tuple(layers))


# --- blocks and networks ---------------------------------------------------------------------

class MBConv(nn.Module):
    """ABS's InvertedResidual: [conv1x1-BN-ReLU6] (only if expand > 1), dw kxk-BN-ReLU6, conv1x1-BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(c_in, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [
            nn.Conv2d(hidden, hidden, kernel, stride, kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


def make_op(name: str, layer: LayerGeometry) -> nn.Module:
    if name == IDENTITY:
        return nn.Identity()
    kernel, expand = OPS[name]
    return MBConv(layer.c_in, layer.c_out, kernel, layer.stride, expand)


def conv_bn_relu6(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class MobileNetBody(nn.Module):
    """The network with, per searchable layer, a ModuleDict of candidate ops keyed by name
    (all candidates in the supernet, only the chosen one in a subnet): a subnet's state_dict keys
    are a subset of the supernet's, and its costs equal the supernet path's."""

    def __init__(self, geometry: Geometry, layer_ops: Sequence[Sequence[str]], dropout: float) -> None:
        super().__init__()
        shape = geometry.input_shape
        self.stem = conv_bn_relu6(shape.channels, geometry.stem, 3, 2)
        self.first = MBConv(geometry.stem, geometry.first, 3, 1, 1)
        self.layers = nn.ModuleList(
            nn.ModuleDict({name: make_op(name, layer) for name in names})
            for layer, names in zip(geometry.layers, layer_ops)
        )
        last = geometry.layers[-1].c_out
        self.head = conv_bn_relu6(last, geometry.head, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(geometry.head, shape.classes)

    def run(self, x: torch.Tensor, names: Sequence[str]) -> torch.Tensor:
        x = self.first(self.stem(x))
        for layer, name in zip(self.layers, names):
            x = layer[name](x)
        return self.classifier(self.dropout(self.pool(self.head(x)).flatten(1)))


class MobileNetSupernet(MobileNetBody, Supernet):
    """Every candidate of every layer; forward(x, arch) runs only the chosen ones."""

    def __init__(self, geometry: Geometry, choices: Sequence[Sequence[str]]) -> None:
        super().__init__(geometry, choices, dropout=0.0)
        self.choices = [list(c) for c in choices]

    def forward(self, x: torch.Tensor, arch: Arch) -> torch.Tensor:  # type: ignore[override]
        arch = check_arch(arch, self.choices)
        return self.run(x, [names[a] for names, a in zip(self.choices, arch)])

    def candidate_ops(self) -> list[list[list[nn.Module]]]:
        return [[[] if name == IDENTITY else [layer[name]] for name in names]
                for layer, names in zip(self.layers, self.choices)]


class MobileNetSubnet(MobileNetBody):
    """A standalone architecture (the official retraining network: dropout 0.2 before the FC)."""

    def __init__(self, geometry: Geometry, names: Sequence[str]) -> None:
        super().__init__(geometry, [[name] for name in names], dropout=CLASSIFIER_DROPOUT)
        self.names = list(names)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.run(x, self.names)


def check_arch(arch: Arch, choices: Sequence[Sequence[str]]) -> Arch:
    """`arch` as a tuple of Python ints, one valid index per layer; HarnessError otherwise."""
    values = tuple(arch)
    if len(values) != len(choices) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < len(c)
        for a, c in zip(values, choices)
    ):
        raise HarnessError(
            f"invalid mobilenet architecture {arch!r}: expected {len(choices)} indices, layer l in "
            f"0..len(choices[l])-1 (choice counts {[len(c) for c in choices]})"
        )
    return tuple(int(a) for a in values)


# --- counting --------------------------------------------------------------------------------

def count_with_convention(model: nn.Module, input_shape: InputShape, convention: str,
                          forward_args: tuple = ()) -> tuple[float, float]:
    """(flops_M, params_M) of one forward under `convention` ("official" and "thop" count alike
    here; the fairnas stem phantom is added by the space, which knows the geometry)."""
    if convention == "nats":
        return count_cost(model, input_shape, forward_args)
    extra = 0

    def linear_as_thop(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        # thop: (2*in - 1) per output element; count_cost: in (+1 with a bias).
        nonlocal extra
        extra += output.numel() * (module.in_features - 1 - (module.bias is not None))

    hooks = [m.register_forward_hook(linear_as_thop) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        flops, params = count_cost(model, input_shape, forward_args)
    finally:
        for hook in hooks:
            hook.remove()
    return flops + extra / 1e6, params


def phantom_stem_flops(spec: MobileNetSpec, geometry: Geometry, convention: str) -> float:
    """The official FairNAS table's extra stem conv1x1 (C_stem -> C_stem at the stem's output
    resolution), in M multiply-adds; 0 where the official table has none."""
    if convention != "official" or not spec.table_stem_expansion:
        return 0.0
    return geometry.stem * geometry.stem * geometry.stem_resolution ** 2 / 1e6


@functools.lru_cache(maxsize=None)
def mobilenet_cost_table(spec: MobileNetSpec, geometry: Geometry, choices: tuple[tuple[str, ...], ...],
                         convention: str) -> CostTable:
    """per_op[l, c] = the block alone on its input shape (counted once per distinct shape);
    base = a real whole network (every layer at its first choice) minus its blocks. Entries past
    a layer's last choice are NaN. Cached per process."""
    @functools.lru_cache(maxsize=None)
    def block_cost(name: str, layer: LayerGeometry) -> tuple[float, float]:
        if name == IDENTITY:
            return 0.0, 0.0
        return count_with_convention(make_op(name, layer), InputShape(layer.c_in, layer.resolution, 1), convention)

    width = max(len(c) for c in choices)
    flops = np.full((len(choices), width), np.nan)
    params = np.full((len(choices), width), np.nan)
    for l, (layer, names) in enumerate(zip(geometry.layers, choices)):
        for c, name in enumerate(names):
            flops[l, c], params[l, c] = block_cost(name, _shape_key(layer))
    reference = [names[0] for names in choices]
    total_flops, total_params = count_with_convention(
        MobileNetSubnet(geometry, reference), geometry.input_shape, convention)
    total_flops += phantom_stem_flops(spec, geometry, convention)
    rows = np.arange(len(choices))
    return CostTable(total_flops - float(flops[rows, 0].sum()), flops,
                     total_params - float(params[rows, 0].sum()), params)


def _shape_key(layer: LayerGeometry) -> LayerGeometry:
    """The layer without its place in the network, so equal shapes share one count."""
    return LayerGeometry(layer.c_in, layer.c_out, layer.stride, layer.resolution, 0, 0)


# --- the spaces ------------------------------------------------------------------------------

def _check_width_mult(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise HarnessError(f"{name} knob width_mult must be a positive number, got {value!r}")
    return float(value)


def _check_depths(spec: MobileNetSpec, value: object) -> tuple[int, ...]:
    if value is None:
        return tuple(layers for _, layers, _ in spec.stages)
    if not isinstance(value, (list, tuple)) or len(value) != len(spec.stages) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in value
    ):
        raise HarnessError(
            f"{spec.name} knob depths must be a list of {len(spec.stages)} positive integers "
            f"(layers per stage; default {[layers for _, layers, _ in spec.stages]}), got {value!r}"
        )
    return tuple(value)


def _check_choice(name: str, knob: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise HarnessError(f"{name} knob {knob} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


class MobileNetSpace(SearchSpace):
    """A MobileNet-like layer-wise space (see the module docstring for the knobs)."""

    spec: MobileNetSpec

    def __init__(self, input_shape: InputShape, width_mult: float = 1.0, depths: Sequence[int] | None = None,
                 identity: str = "official", count_convention: str = "official") -> None:
        self.width_mult = _check_width_mult(self.name, width_mult)
        self.depths = _check_depths(self.spec, depths)
        self.identity = _check_choice(self.name, "identity", identity, IDENTITY_MODES)
        self.count_convention = _check_choice(self.name, "count_convention", count_convention, COUNT_CONVENTIONS)
        self.input_shape = input_shape
        self.geometry = make_geometry(self.spec, input_shape, self.width_mult, self.depths)
        self._choices = tuple(self._layer_choices(layer) for layer in self.geometry.layers)

    def _layer_choices(self, layer: LayerGeometry) -> tuple[str, ...]:
        if self.identity == "official" and (layer.stage, layer.position) in self.spec.official_identity:
            return (IDENTITY,)
        if self.identity == "all" and layer.allows_identity:
            return OP_NAMES + (IDENTITY,)
        return OP_NAMES

    @property
    def num_layers(self) -> int:
        return len(self._choices)

    @property
    def choices(self) -> list[list[str]]:
        return [list(c) for c in self._choices]

    def size(self) -> int:
        return math.prod(len(c) for c in self._choices)

    def encode(self, arch: Arch) -> str:
        arch = check_arch(arch, self._choices)
        names = [names[a] for names, a in zip(self._choices, arch)]
        return "[" + ",".join("-1" if n == IDENTITY else str(OP_NAMES.index(n)) for n in names) + "]"

    def decode(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise self._malformed(text, f"not a string but {type(text).__name__}")
        match = _ARCH_RE.fullmatch(text)
        if match is None:
            raise self._malformed(text, "not a bracketed list of integers separated by ','")
        tokens = [int(t) for t in re.split(r", ?", text[1:-1])]
        if len(tokens) != self.num_layers:
            raise self._malformed(text, f"{len(tokens)} layer(s), need {self.num_layers}")
        arch = []
        for layer, (token, names) in enumerate(zip(tokens, self._choices)):
            if token >= len(OP_NAMES):
                raise self._malformed(text, f"layer {layer}: {token} is not an op index (-1..{len(OP_NAMES) - 1})")
            name = IDENTITY if token == -1 else OP_NAMES[token]
            if name not in names:
                allowed = ", ".join("-1" if n == IDENTITY else str(OP_NAMES.index(n)) for n in names)
                raise self._malformed(text, f"layer {layer}: {token} is not allowed with identity={self.identity!r} "
                                            f"(allowed: {allowed})")
            arch.append(names.index(name))
        return tuple(arch)

    def _malformed(self, text: object, reason: str) -> HarnessError:
        return HarnessError(f"malformed {self.name} arch string {text!r}: {reason}; expected {ARCH_FORMAT}")

    def build_supernet(self) -> MobileNetSupernet:
        return MobileNetSupernet(self.geometry, self._choices)

    def build_subnet(self, arch: Arch) -> MobileNetSubnet:
        arch = check_arch(arch, self._choices)
        return MobileNetSubnet(self.geometry, [names[a] for names, a in zip(self._choices, arch)])

    def count(self, model: nn.Module, forward_args: tuple = ()) -> tuple[float, float]:
        """(flops_M, params_M) of a whole network of this space (a subnet, or the supernet with
        forward_args=(arch,)) under this space's count_convention."""
        flops, params = count_with_convention(model, self.input_shape, self.count_convention, forward_args)
        return flops + phantom_stem_flops(self.spec, self.geometry, self.count_convention), params

    def cost_table(self) -> CostTable:
        return mobilenet_cost_table(self.spec, self.geometry, self._choices, self.count_convention)


@register_space
class SposMobilenet(MobileNetSpace):
    name = SPOS_SPEC.name
    spec = SPOS_SPEC


@register_space
class FairnasMobilenet(MobileNetSpace):
    name = FAIRNAS_SPEC.name
    spec = FAIRNAS_SPEC

"""The search-space seam: everything a method, the search and the cost tables need of a space.

An architecture is a tuple of ints, one candidate index per searchable layer (an "edge" in
cell spaces). A batch of architectures is an int64 array of shape (n, num_layers), which makes
table-lookup scorers (BN indicator, FLOPs, params) one vectorised gather.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from harness.errors import HarnessError

Arch = tuple[int, ...]


class Supernet(nn.Module, ABC):
    """A weight-sharing network. forward(x, arch) runs exactly one path."""

    @abstractmethod
    def forward(self, x, arch: Arch):  # type: ignore[override]
        ...

    @abstractmethod
    def candidate_ops(self) -> list[list[list[nn.Module]]]:
        """candidate_ops()[layer][choice]: every module instance of that candidate (one per cell
        in cell spaces, where all cells share the genotype; one in layer-wise spaces; empty for
        parameter-free ops such as zero or identity). The BN indicator of a candidate sums over
        its instances the mean |gamma| of each instance's last BatchNorm."""


def sees_only_zeros(op: nn.Module) -> bool:
    """Whether a candidate op's BN can only ever see zeros: the op contains a module marked
    `outputs_zeros` (NATS's `none` op followed by a BN in the BN-after-every-op ablation). Such
    a BN normalises 0 to 0, so its gamma gets no gradient and stays at its initial value."""
    return any(getattr(m, "outputs_zeros", False) for m in op.modules())


class SearchSpace(ABC):
    """A search space at a given size (knobs) and input shape."""

    name: str

    @property
    @abstractmethod
    def num_layers(self) -> int: ...

    @property
    @abstractmethod
    def choices(self) -> list[list[str]]:
        """choices[layer] = names of the candidates of that layer."""

    @abstractmethod
    def encode(self, arch: Arch) -> str: ...

    @abstractmethod
    def decode(self, text: str) -> Arch:
        """Parse an arch string; raise HarnessError naming the string if it is malformed."""

    def size(self) -> int:
        return int(np.prod([len(c) for c in self.choices]))

    def enumerate(self) -> Iterator[Arch]:
        """Every architecture in a fixed order (index order of the benchmark where one exists)."""
        raise NotImplementedError(f"space {self.name} is not enumerable")

    def sample(self, rng: np.random.Generator) -> Arch:
        return tuple(int(rng.integers(len(c))) for c in self.choices)

    def mutate(self, arch: Arch, rng: np.random.Generator, prob: float) -> Arch:
        return tuple(
            int(rng.integers(len(c))) if rng.random() < prob else a
            for a, c in zip(arch, self.choices)
        )

    def crossover(self, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
        return tuple(x if rng.random() < 0.5 else y for x, y in zip(a, b))

    def to_matrix(self, archs: Sequence[Arch]) -> np.ndarray:
        return np.asarray(archs, dtype=np.int64).reshape(len(archs), self.num_layers)

    @abstractmethod
    def build_supernet(self) -> Supernet: ...

    @abstractmethod
    def build_subnet(self, arch: Arch) -> nn.Module:
        """A standalone network (forward(x)) for retraining from scratch."""

    @abstractmethod
    def cost_table(self) -> "CostTable":
        """FLOPs and params by lookup; built from real counts and checked against them."""

    # --- conv-op counts: the structure the BN indicator reduces to -----------------------------

    def conv_op_table(self) -> np.ndarray:
        """table[layer, choice] = 1 if that candidate contains a convolution (any _ConvNd), read
        off the supernet's candidate ops (an identity, zero, skip or pooling candidate: 0); 0
        where a layer has fewer choices than the widest. Built once per space object (read-only).
        A space whose candidate_ops are not its convs (nats-sss: per-width BNs) overrides this."""
        cached = self.__dict__.get("_conv_op_table")
        if cached is None:
            ops = self.build_supernet().candidate_ops()
            cached = np.zeros((len(ops), max(len(c) for c in ops)), dtype=np.int64)
            for layer, per_choice in enumerate(ops):
                for choice, instances in enumerate(per_choice):
                    cached[layer, choice] = int(any(isinstance(m, nn.modules.conv._ConvNd)
                                                    for op in instances for m in op.modules()))
            cached.setflags(write=False)
            self.__dict__["_conv_op_table"] = cached
        return cached

    def conv_op_counts(self, archs: np.ndarray | Sequence[Arch]) -> np.ndarray:
        """(n,) int64: per architecture, how many searchable layers (cell edges) choose a
        candidate that contains a convolution (conv_op_table summed over the chosen candidates).
        The conv_count method's score and the strata of Kendall's tau within conv count."""
        archs = np.atleast_2d(np.asarray(archs, dtype=np.int64))
        if archs.size == 0:
            return np.zeros(0, dtype=np.int64)
        if archs.shape[1] != self.num_layers:
            raise HarnessError(f"{self.name}: architectures of {archs.shape[1]} layers, the space has {self.num_layers}")
        table = self.conv_op_table()
        return table[np.arange(table.shape[0])[None, :], archs].sum(axis=1)

    def conv_op_counts_of_strings(self, arch_strs: Iterable[str]) -> np.ndarray:
        """conv_op_counts of architecture strings (decoded by this space; a malformed one is an
        error naming it)."""
        archs = [self.decode(str(text)) for text in arch_strs]
        return self.conv_op_counts(self.to_matrix(archs)) if archs else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class CostTable:
    """cost(arch) = base + sum over layers of per_op[layer, choice] (FLOPs in M, params in M)."""

    flops_base: float
    flops_per_op: np.ndarray  # (num_layers, max_choices)
    params_base: float
    params_per_op: np.ndarray

    def flops(self, archs: np.ndarray) -> np.ndarray:
        return np.round(self._flops_sum(archs), COST_DECIMALS)

    def params(self, archs: np.ndarray) -> np.ndarray:
        return np.round(self._params_sum(archs), COST_DECIMALS)

    def _flops_sum(self, archs: np.ndarray) -> np.ndarray:
        """Unrounded FLOPs; a subclass with more terms extends this (rounding stays in flops())."""
        return self.flops_base + _gather_sum(self.flops_per_op, archs)

    def _params_sum(self, archs: np.ndarray) -> np.ndarray:
        return self.params_base + _gather_sum(self.params_per_op, archs)


# Costs are rounded to 1e-9 M: float sums in different orders would otherwise split architectures
# of equal cost into distinct values and bias rank correlations (ties matter to Kendall's tau).
COST_DECIMALS = 9


def _gather_sum(table: np.ndarray, archs: np.ndarray) -> np.ndarray:
    archs = np.atleast_2d(archs)
    return table[np.arange(table.shape[0])[None, :], archs].sum(axis=1)

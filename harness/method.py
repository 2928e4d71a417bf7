"""The method seam: a method is a composition of named parts.

    sampler        which path(s) each supernet step trains ("uniform", "fair"), or None for a
                   method that needs no supernet (zero-cost proxies, trivial baselines)
    trainable      which supernet parameters are trained ("all", "bn", "last_bn")
    epoch_fraction its supernet budget as a fraction of the configured baseline epochs
    recipe         the supernet optimiser: "spos" (the config's `supernet` section, shared by
                   SPOS and FairNAS) or "official" (the BN-NAS code's optimiser, harness.training.recipes)
    scorer         (context, archs) -> one score per architecture, higher = better
    options        the scorer's options with their defaults; config may override them
    kind           "supernet" (trains one), "zero-cost" (a training-free proxy computed on a
                   network) or "trivial" (a structural count: params, FLOPs, conv ops)
    baseline       the method this one's costs and ranking are compared with (BN-NAS on the
                   SPOS sampler -> "spos"), or None for a method that is its own baseline
    population_relative  a score depends on which architectures are scored together (e.g. a
                   log-rank within the scored set): scores are comparable only within one job
    stochastic     the score depends on the seed (draws data, inputs or initialisations):
                   such a method is scored with several seeds
    family         the published method this one is (a variant of): "bn-nas" (BN-NAS on any
                   sampler, and every config variant derived from it), "spos", "fairnas"; None
                   for a zero-cost proxy or trivial baseline. A config variant keeps its base's
                   family, so the seeds, the grouped BN scoring job, the report and the verdicts
                   treat it as what it is (harness.workflow.runs.seed_kind reads it).
    space_knobs    {space: {knob: value}}: knobs that override a space's for this method's
                   supernet and scoring (e.g. {nats-tss: {op_bn: all}} for the BN-after-every-op
                   ablation); the architecture sample and ground truth stay the space's own. A
                   method with space_knobs runs only on the spaces it names.

A method file in `methods/` defines `METHOD = Method(...)` (or `METHODS = [...]`), or declares a
zero-cost proxy with `@zero_cost_proxy(...)` (harness.scoring.proxy); METHOD_REGISTRY finds it. A
method can also live in another installed package, under the entry-point group
`bnnas_harness.methods` (harness.registry). Config can derive variants (`method_variants`) that
override these parts, except `family`, `kind` and `scorer`: a variant is what its base is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from harness.errors import HarnessError
from harness.registry import Registry
from harness.training.optim import TRAINABLE_RULES
from harness.training.recipes import RECIPES
from harness.training.samplers import SAMPLERS
from harness.spaces.base import SearchSpace, Supernet

if TYPE_CHECKING:
    from harness.data.datasets import DataSplits


@dataclass(frozen=True)
class ScoreContext:
    """Everything a scorer may use. `supernet` is None for methods without supernet training.
    `options`: the method's options over config's `scoring` section (the score command merges
    them), so a scorer also sees e.g. `workers` (harness.scoring.zero_cost.scoring_workers)."""

    space: SearchSpace
    supernet: Supernet | None
    data: "DataSplits"
    options: Mapping[str, Any]
    seed: int
    device: torch.device


Scorer = Callable[[ScoreContext, np.ndarray], np.ndarray]
METHOD_KINDS = ("supernet", "zero-cost", "trivial")


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    scorer: Scorer
    sampler: str | None = "uniform"
    trainable: str = "all"
    epoch_fraction: float = 1.0
    recipe: str = "spos"
    options: Mapping[str, Any] = field(default_factory=dict)
    space_knobs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    kind: str | None = None  # None: "supernet" with a sampler, else "zero-cost"
    baseline: str | None = None
    population_relative: bool = False
    stochastic: bool = False
    family: str | None = None

    def __post_init__(self) -> None:
        if self.kind is None:
            object.__setattr__(self, "kind", "supernet" if self.sampler is not None else "zero-cost")
        if self.kind not in METHOD_KINDS:
            raise HarnessError(f"method {self.name!r}: unknown kind {self.kind!r}; use one of {METHOD_KINDS}")
        if (self.kind == "supernet") != (self.sampler is not None):
            raise HarnessError(f"method {self.name!r}: kind {self.kind!r} does not fit sampler {self.sampler!r}: "
                               "a supernet method names a sampler, a zero-cost or trivial one has sampler None")
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise HarnessError(f"method {self.name!r}: {SAMPLERS.unknown(self.sampler)} (or None: no supernet)")
        if self.trainable not in TRAINABLE_RULES:
            raise HarnessError(f"method {self.name!r}: {TRAINABLE_RULES.unknown(self.trainable)}")
        if self.recipe not in RECIPES:
            raise HarnessError(f"method {self.name!r}: {RECIPES.unknown(self.recipe)}")
        if not 0 < self.epoch_fraction <= 1000:
            raise HarnessError(f"method {self.name!r}: epoch_fraction must be > 0, got {self.epoch_fraction}")

    @property
    def trains_supernet(self) -> bool:
        return self.sampler is not None

    def applies_to(self, space: str) -> bool:
        return not self.space_knobs or space in self.space_knobs

    def knobs_for(self, space: str) -> Mapping[str, Any]:
        return self.space_knobs.get(space, {})

    def with_overrides(self, name: str, overrides: Mapping[str, Any]) -> "Method":
        """A variant: part names (sampler, trainable, epoch_fraction) or scorer options."""
        parts = {"sampler", "trainable", "epoch_fraction", "recipe", "summary", "space_knobs", "baseline"}
        unknown = set(overrides) - parts - set(self.options)
        if unknown:
            raise HarnessError(
                f"method {name!r} (based on {self.name!r}): unknown option(s) {sorted(unknown)}; "
                f"allowed: {sorted(parts | set(self.options))}"
            )
        options = {**self.options, **{k: v for k, v in overrides.items() if k not in parts}}
        changes = {k: v for k, v in overrides.items() if k in parts}
        return dataclasses.replace(self, name=name, options=options, **changes)

    def describe(self) -> dict[str, Any]:
        """What a report and a provenance record say about this method."""
        return {
            "name": self.name,
            "summary": self.summary,
            "sampler": self.sampler,
            "trainable": self.trainable,
            "epoch_fraction": self.epoch_fraction,
            "recipe": self.recipe,
            "scorer": getattr(self.scorer, "__name__", str(self.scorer)),
            "options": dict(self.options),
            "space_knobs": dict(self.space_knobs),
            "kind": self.kind,
            "baseline": self.baseline,
            "population_relative": self.population_relative,
            "stochastic": self.stochastic,
            "family": self.family,
        }


def _declared(obj: Any, name: str) -> list[tuple[str, Method]]:
    """What a methods/ module (or an entry point) declares: its METHOD and METHODS (methods
    declared by decorator have registered themselves on import), or a Method or list of them."""
    if isinstance(obj, Method):
        declared = [obj]
    elif isinstance(obj, (list, tuple)):
        declared = list(obj)
    else:
        declared = list(getattr(obj, "METHODS", [])) + ([obj.METHOD] if hasattr(obj, "METHOD") else [])
    if not all(isinstance(method, Method) for method in declared):
        raise HarnessError(f"{name}: METHOD / METHODS must be Method objects (harness.method.Method)")
    return [(method.name, method) for method in declared]


METHOD_REGISTRY: Registry[Method] = Registry(
    "method", group="bnnas_harness.methods", package="methods", collect=_declared,
    how_to_add="Add a file to methods/ (or a method_variants entry in config, or an installed package's "
               "entry point in group bnnas_harness.methods).",
)

"""Path samplers: which architecture(s) one supernet step trains.

uniform  SPOS: one path, every layer's candidate drawn uniformly at random.
fair     FairNAS strict fairness: per layer an independent random permutation of its m
         candidates; path k takes the k-th entry of each. The m paths of a step together train
         every candidate of every layer exactly once. (Layers with fewer candidates than the
         largest layer repeat a fresh permutation; the harness's own implementation, as FairNAS
         published no training code.)

SAMPLERS is a registry (harness.registry): a new file adds a sampler with
`@register_sampler("name")` on a factory (space -> PathSampler), e.g. in the methods/ file whose
method uses it (the method registry imports every file there), or an installed package adds
one under the entry-point group `bnnas_harness.samplers`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.registry import Registry
from harness.spaces.base import Arch, SearchSpace

PathSampler = Callable[[np.random.Generator], list[Arch]]


SamplerFactory = Callable[[SearchSpace], PathSampler]
SAMPLERS: Registry[SamplerFactory] = Registry(
    "sampler", group="bnnas_harness.samplers",
    how_to_add="Register one with @register_sampler(\"name\") (harness.training.samplers) in a methods/ file, "
               "or in an installed package's entry point in group bnnas_harness.samplers.",
)
register_sampler = SAMPLERS.register
"""Decorator: `@register_sampler("name")` registers a sampler factory (a method's `sampler` part)."""


@register_sampler("uniform")
def uniform_sampler(space: SearchSpace) -> PathSampler:
    return lambda rng: [space.sample(rng)]


@register_sampler("fair")
def fair_sampler(space: SearchSpace) -> PathSampler:
    sizes = [len(c) for c in space.choices]
    m = max(sizes)

    def sample(rng: np.random.Generator) -> list[Arch]:
        columns = []
        for size in sizes:
            reps = -(-m // size)
            columns.append(np.concatenate([rng.permutation(size) for _ in range(reps)])[:m])
        return [tuple(int(col[k]) for col in columns) for k in range(m)]

    return sample


def make_sampler(name: str, space: SearchSpace) -> PathSampler:
    return SAMPLERS.get(name)(space)

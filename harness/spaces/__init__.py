"""Registry of search spaces: name -> factory(**knobs, input_shape) -> SearchSpace."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import HarnessError
from harness.data.shapes import InputShape
from harness.spaces.base import SearchSpace

SpaceFactory = Callable[..., SearchSpace]


def _factories() -> dict[str, SpaceFactory]:
    from harness.spaces.mobilenet import FairnasMobilenet, SposMobilenet
    from harness.spaces.nats_sss import NatsSss
    from harness.spaces.nats_tss import NatsTss

    return {"nats-tss": NatsTss, "nats-sss": NatsSss,
            "spos-mobilenet": SposMobilenet, "fairnas-mobilenet": FairnasMobilenet}


def space_names() -> list[str]:
    return sorted(_factories())


def build_space(name: str, input_shape: InputShape, **knobs: Any) -> SearchSpace:
    factories = _factories()
    if name not in factories:
        raise HarnessError(f"unknown search space {name!r}; known spaces: {', '.join(sorted(factories))}")
    try:
        return factories[name](input_shape=input_shape, **knobs)
    except TypeError as exc:
        raise HarnessError(f"bad size knobs for space {name!r}: {exc}") from exc

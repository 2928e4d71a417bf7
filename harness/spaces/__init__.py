"""Registry of search spaces: name -> factory(input_shape, **knobs) -> SearchSpace.

A space is one file under harness/spaces/ whose SearchSpace subclass is decorated with
`@register_space` (registered under its `name`); SPACES finds it by importing the package's
modules. An installed package adds one under the entry-point group `bnnas_harness.spaces`
(harness.registry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from harness.errors import HarnessError
from harness.data.shapes import InputShape
from harness.registry import Registry, call_site
from harness.spaces.base import SearchSpace

SpaceFactory = Callable[..., SearchSpace]
SPACES: Registry[SpaceFactory] = Registry(
    "search space", group="bnnas_harness.spaces", package="harness.spaces",
    how_to_add="Add a file to harness/spaces/ with a SearchSpace subclass decorated with @register_space "
               "(harness.spaces), or an installed package's entry point in group bnnas_harness.spaces.",
)
S = TypeVar("S", bound=type)


def register_space(cls: S) -> S:
    """Class decorator: register a SearchSpace subclass under its `name`."""
    SPACES.add(cls.name, cls, call_site())
    return cls


def space_names() -> list[str]:
    return SPACES.names()


def build_space(name: str, input_shape: InputShape, **knobs: Any) -> SearchSpace:
    factory = SPACES.get(name)
    try:
        return factory(input_shape=input_shape, **knobs)
    except TypeError as exc:
        raise HarnessError(f"bad size knobs for space {name!r}: {exc}") from exc

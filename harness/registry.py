"""Name -> object registries that a new file can extend (samplers, trainable rules)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


def registrar(table: dict[str, T], what: str) -> Callable[[str], Callable[[T], T]]:
    """A decorator factory that registers its target in `table` under a name; registering another
    object under a taken name is an error naming the `what` and the name."""

    def register(name: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in table and table[name] is not entry:
                raise HarnessError(f"{what} {name!r} is registered twice")
            table[name] = entry
            return entry

        return add

    return register

"""The methods: every module in this package is imported by the method registry
(harness.method.METHOD_REGISTRY), and registers what it declares: `METHOD = Method(...)` (or
`METHODS = [...]`), or a zero-cost proxy declared next to its code with
`@zero_cost_proxy(...)` (harness.scoring.proxy).

Drop a file here and its method can be named in config; nothing else needs editing. A method in
another installed package registers under the entry-point group `bnnas_harness.methods`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError
from harness.method import METHOD_REGISTRY, Method


def registry() -> dict[str, Method]:
    """Every registered method by name (this package's files and installed entry points)."""
    return dict(METHOD_REGISTRY.items())


def resolve(name: str, variants: Mapping[str, Mapping[str, Any]] | None = None,
            options: Mapping[str, Mapping[str, Any]] | None = None) -> Method:
    """The method `name`: a registered one or a config variant (`{base: NAME, **overrides}`),
    with config options applied."""
    variants = variants or {}
    if name in variants:
        spec = dict(variants[name])
        base = spec.pop("base", None)
        if not isinstance(base, str) or base not in METHOD_REGISTRY:
            raise HarnessError(f"method variant {name!r}: base {base!r} is not a registered method; "
                               f"known: {', '.join(METHOD_REGISTRY.names())}")
        method = METHOD_REGISTRY.get(base).with_overrides(name, spec)
    elif name in METHOD_REGISTRY:
        method = METHOD_REGISTRY.get(name)
    else:
        raise HarnessError(
            f"unknown method {name!r}; registered: {', '.join(METHOD_REGISTRY.names())}"
            + (f"; config variants: {', '.join(sorted(variants))}" if variants else "")
            + ". Add a file to methods/, a method_variants entry in config, or an installed package's entry point "
              "in group bnnas_harness.methods."
        )
    extra = (options or {}).get(name)
    return method.with_overrides(name, extra) if extra else method

"""Method registry: every module in this package that defines METHOD (or METHODS) is a method.

Drop a file here and its method can be named in config; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from harness.errors import HarnessError
from harness.method import Method


def registry() -> dict[str, Method]:
    found: dict[str, Method] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        declared = list(getattr(module, "METHODS", [])) + (
            [module.METHOD] if hasattr(module, "METHOD") else []
        )
        for method in declared:
            if method.name in found:
                raise HarnessError(f"method name {method.name!r} is declared twice (second in methods/{info.name}.py)")
            found[method.name] = method
    return found


def resolve(name: str, variants: Mapping[str, Mapping[str, Any]] | None = None,
            options: Mapping[str, Mapping[str, Any]] | None = None) -> Method:
    """The method `name`: a registered one or a config variant (`{base: NAME, **overrides}`),
    with config options applied."""
    known = registry()
    variants = variants or {}
    if name in variants:
        spec = dict(variants[name])
        base = spec.pop("base", None)
        if base not in known:
            raise HarnessError(f"method variant {name!r}: base {base!r} is not a registered method; known: {', '.join(sorted(known))}")
        method = known[base].with_overrides(name, spec)
    elif name in known:
        method = known[name]
    else:
        raise HarnessError(
            f"unknown method {name!r}; registered: {', '.join(sorted(known))}"
            + (f"; config variants: {', '.join(sorted(variants))}" if variants else "")
            + ". Add a file to methods/ or a method_variants entry in config."
        )
    extra = (options or {}).get(name)
    return method.with_overrides(name, extra) if extra else method

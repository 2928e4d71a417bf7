"""Name -> object registries: one type for every kind of part a run is made of.

    registry (module)                         holds                                   discovered in
    METHOD_REGISTRY (harness.method)          Method                                  methods/
    SPACES (harness.spaces)                   factory(input_shape, **knobs) -> space  harness/spaces/
    SAMPLERS (harness.training.samplers)      factory(space) -> PathSampler           (decorator only)
    TRAINABLE_RULES (harness.training.optim)  rule(supernet) -> parameters            (decorator only)
    RECIPES (harness.training.recipes)        recipe(shared) -> (recipe, record)      (decorator only)
    COMMANDS (harness.commands)               command module                          harness/commands/

and each has an entry-point group, bnnas_harness.<kind>: methods, spaces, samplers, trainable,
recipes, commands.

A registry is filled three ways, all of which end in `add`:

- a decorator, `@SAMPLERS.register("fair")`, in any module that gets imported;
- discovery in a package (`package`): when the registry is asked for a name it does not hold, or
  for all of its names, it imports every module of the package (methods/, harness/commands/,
  harness/spaces/); a module registers what it defines by decorator, or the registry's `collect`
  reads what it declares (a methods/ file's `METHOD = Method(...)`, a command module's NAME);
- an entry point in the registry's group (importlib.metadata), so that a method, space, sampler,
  rule, recipe or command can live in another installed package. In that package's pyproject.toml:

        [project.entry-points."bnnas_harness.methods"]
        my_proxy = "my_package.my_proxy"        # a module: importing it registers what it defines
        my_method = "my_package.more:METHOD"    # or an object, registered as `collect` says

Registering another object under a taken name is an error naming both places; asking for an
unknown name is an error listing the known ones and how to add one.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")
GROUP_PREFIX = "bnnas_harness."


def _named(obj: Any, name: str) -> Iterable[tuple[str, Any]]:
    """The default `collect`: a loaded entry point is registered under the entry point's name; a
    module registers itself (by decorator) when imported."""
    return [] if isinstance(obj, ModuleType) else [(name, obj)]


class Registry(Generic[T]):
    """name -> T, filled by decorator, package discovery and entry points (see the module docstring).

    what        the kind of thing, for messages ("sampler", "search space")
    group       the entry-point group (bnnas_harness.<kind>)
    package     the package whose modules are imported to discover entries (or None)
    collect     (module or entry-point object, entry-point name) -> [(name, entry)]: what such an
                object declares beyond what registered itself by decorator
    how_to_add  one sentence for the unknown-name error
    """

    def __init__(self, what: str, *, group: str, how_to_add: str, package: str | None = None,
                 collect: Callable[[Any, str], Iterable[tuple[str, T]]] = _named) -> None:
        self.what = what
        self.group = group
        self.package = package
        self.how_to_add = how_to_add
        self._collect = collect
        self._entries: dict[str, T] = {}
        self._where: dict[str, str] = {}
        self._entry_points: list[importlib.metadata.EntryPoint] | None = None
        self._loaded_points: set[tuple[str, str]] = set()

    # ------------------------------------------------------------------ adding

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `@REGISTRY.register("name")` adds its target under `name`."""
        where = call_site()

        def add(entry: T) -> T:
            return self.add(name, entry, where)

        return add

    def add(self, name: str, entry: T, where: str | None = None) -> T:
        """Add `entry` under `name` (again adding the same object is a no-op); `where` names the
        place for the duplicate-name error (default: the caller's file and line)."""
        where = call_site() if where is None else where
        if name in self._entries:
            if self._entries[name] is entry:
                return entry
            raise HarnessError(f"{self.what} {name!r} is registered twice: at {self._where[name]} and at {where}; "
                               f"rename one of them")
        self._entries[name] = entry
        self._where[name] = where
        return entry

    def unregister(self, name: str) -> T:
        """Remove and return an entry (tests that register a throw-away one)."""
        self._where.pop(name, None)
        return self._entries.pop(name)

    # ------------------------------------------------------------------ asking

    def get(self, name: str) -> T:
        """The entry `name`. An unknown name first imports only what may define it (the package's
        module of that name, the entry points of that name), then everything; still unknown, it
        is an error listing the known names and how to add one."""
        if name not in self._entries:
            self.discover(only=name)
        if name not in self._entries:
            self.discover()
        if name not in self._entries:
            raise HarnessError(self.unknown(name))
        return self._entries[name]

    def unknown(self, name: str) -> str:
        """The message for an unknown name: what is known and how to add one."""
        known = ", ".join(self.names()) or "none"
        return f"unknown {self.what} {name!r}; known: {known}. {self.how_to_add}"

    def where(self, name: str) -> str:
        """Where the entry `name` was registered (file:line, module file or entry point)."""
        self.get(name)
        return self._where[name]

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return [(name, self._entries[name]) for name in self.names()]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name not in self._entries:
            self.discover(only=name)
        if name not in self._entries:
            self.discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, group={self.group!r}, entries={sorted(self._entries)})"

    # ------------------------------------------------------------------ discovery

    def discover(self, only: str | None = None) -> None:
        """Import the package's modules and load the group's entry points (`only`: just those that
        may define that name). The package is listed again on every call (a module added to its
        path is found); an entry point is loaded once per process."""
        if self.package is not None:
            package = importlib.import_module(self.package)
            modules = sorted(info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_"))
            if only is not None:
                modules = [m for m in modules if m == only.replace("-", "_")]
            for module_name in modules:
                module = importlib.import_module(f"{self.package}.{module_name}")
                for name, entry in self._collect(module, module_name):
                    self.add(name, entry, _short(getattr(module, "__file__", None) or module.__name__))
        for point in self._points():
            if (only is not None and point.name != only) or (point.name, point.value) in self._loaded_points:
                continue
            self._loaded_points.add((point.name, point.value))
            try:
                loaded = point.load()
            except Exception as error:  # an installed package's broken entry point: say which
                raise HarnessError(f"entry point {point.name} = {point.value} (group {self.group}) failed to "
                                   f"load: {error}") from error
            where = f"entry point {point.name} = {point.value} (group {self.group})"
            for name, entry in self._collect(loaded, point.name):
                self.add(name, entry, where)

    def _points(self) -> list[importlib.metadata.EntryPoint]:
        if self._entry_points is None:
            self._entry_points = sorted(importlib.metadata.entry_points(group=self.group), key=lambda p: p.name)
        return self._entry_points


def call_site(depth: int = 1) -> str:
    """"file:line" of the code `depth` calls above the caller (1: whoever called the caller)."""
    frame = sys._getframe(depth + 1)
    return f"{_short(frame.f_code.co_filename)}:{frame.f_lineno}"


def _short(filename: str) -> str:
    """A file's path relative to the repository (or the working directory) when inside it."""
    path = Path(filename)
    for root in (Path(__file__).resolve().parents[1], Path.cwd()):
        try:
            return str(path.resolve().relative_to(root))
        except ValueError:
            continue
    return filename

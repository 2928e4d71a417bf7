"""One registry type (harness/registry.py) for methods, spaces, samplers, trainable rules, recipes
and commands: a new file adds one with a decorator (or a methods/ file by declaring it), a
method can then name it, and an installed package adds one through an entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import methods
from harness.commands import COMMANDS
from harness.errors import HarnessError
from harness.method import METHOD_REGISTRY, Method
from harness.registry import Registry
from harness.spaces import SPACES, space_names
from harness.training.optim import TRAINABLE_RULES, register_trainable, select_trainable
from harness.training.recipes import RECIPES
from harness.training.samplers import SAMPLERS, make_sampler, register_sampler


@pytest.fixture
def registered():
    """A sampler "first-choice" and a trainable rule "stem-bn" registered as a new file would,
    removed again afterwards."""

    @register_sampler("first-choice")
    def first_choice(space):
        return lambda rng: [tuple(0 for _ in space.choices)]

    @register_trainable("first-bn")
    def first_bn(supernet):
        from harness.training.optim import BN_TYPES

        bn = next(m for m in supernet.modules() if isinstance(m, BN_TYPES))
        return list(bn.parameters())

    yield
    SAMPLERS.unregister("first-choice")
    TRAINABLE_RULES.unregister("first-bn")


def test_a_registered_sampler_and_rule_make_a_method(registered, tiny_space) -> None:
    method = Method(name="probe", summary="test", scorer=lambda c, a: np.zeros(len(a)),
                    sampler="first-choice", trainable="first-bn")
    paths = make_sampler(method.sampler, tiny_space)(np.random.default_rng(0))
    assert paths == [tuple(0 for _ in tiny_space.choices)]
    supernet = tiny_space.build_supernet()
    trained = select_trainable(supernet, method.trainable)
    assert 1 <= len(trained) <= 2  # one BN's gamma and beta
    assert sum(p.requires_grad for p in supernet.parameters()) == len(trained)


def test_unregistered_names_are_rejected_and_names_are_unique(registered) -> None:
    with pytest.raises(HarnessError, match="unknown sampler"):
        Method(name="probe", summary="test", scorer=lambda c, a: a, sampler="nope")
    with pytest.raises(HarnessError, match="unknown trainable rule"):
        Method(name="probe", summary="test", scorer=lambda c, a: a, trainable="nope")
    with pytest.raises(HarnessError, match="registered twice"):
        register_sampler("first-choice")(lambda space: None)
    with pytest.raises(HarnessError, match="registered twice"):
        register_trainable("first-bn")(lambda supernet: [])


def test_the_builtin_rules_train_what_they_say(tiny_space) -> None:
    supernet = tiny_space.build_supernet()
    total = len(list(supernet.parameters()))
    assert len(select_trainable(supernet, "all")) == total
    bn = select_trainable(supernet, "bn")
    last = select_trainable(supernet, "last_bn")
    assert 0 < len(last) <= len(bn) < total


# --- the registry type (harness/registry.py) ------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
REGISTRIES = {"methods": METHOD_REGISTRY, "spaces": SPACES, "samplers": SAMPLERS, "trainable": TRAINABLE_RULES,
              "recipes": RECIPES, "commands": COMMANDS}


def test_register_get_and_the_errors_name_places_and_known_names() -> None:
    colours: Registry[str] = Registry("colour", group="bnnas_harness.test-colours", how_to_add="Paint one.")

    @colours.register("red")
    def red() -> str:
        return "red"

    colours.add("blue", "#00f")
    assert colours.get("red") is red and colours["blue"] == "#00f" and "red" in colours and "green" not in colours
    assert colours.names() == ["blue", "red"] == list(colours) and len(colours) == 2
    assert colours.where("red").startswith("tests/test_registries.py:")
    colours.add("blue", "#00f")  # the same object again: a no-op (a module imported twice by the scan)
    with pytest.raises(HarnessError, match=r"colour 'red' is registered twice: at tests/test_registries.py:\d+ "
                                           r"and at tests/test_registries.py:\d+"):
        colours.register("red")(lambda: "crimson")
    with pytest.raises(HarnessError, match=r"unknown colour 'green'; known: blue, red\. Paint one\."):
        colours.get("green")
    assert colours.unregister("blue") == "#00f" and colours.names() == ["red"]


def test_discovery_imports_every_module_of_the_package_and_collects_declarations(tmp_path, monkeypatch) -> None:
    package = tmp_path / "probe_parts"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "alpha.py").write_text("PART = 'a'\n")
    (package / "beta_gamma.py").write_text("PART = 'b'\n")
    (package / "_private.py").write_text("raise RuntimeError('a private module is not imported')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    parts: Registry[str] = Registry("part", group="bnnas_harness.test-parts", package="probe_parts", how_to_add="",
                                    collect=lambda module, name: [(name.replace("_", "-"), module.PART)])
    try:
        assert parts.get("beta-gamma") == "b" and "probe_parts.alpha" not in sys.modules  # only what may define it
        assert parts.names() == ["alpha", "beta-gamma"]
        (package / "delta.py").write_text("PART = 'd'\n")  # a file added later is found by the next scan
        assert parts.names() == ["alpha", "beta-gamma", "delta"]
    finally:
        for module in ("probe_parts", "probe_parts.alpha", "probe_parts.beta_gamma", "probe_parts.delta"):
            sys.modules.pop(module, None)


def test_every_registry_has_its_entry_point_group_and_its_builtin_entries() -> None:
    assert {kind: registry.group for kind, registry in REGISTRIES.items()} == {
        kind: f"bnnas_harness.{kind}" for kind in REGISTRIES}
    assert {"spos", "fairnas", "bnnas", "bnnas-fairnas", "synflow", "az_nas"} <= set(METHOD_REGISTRY.names())
    assert space_names() == ["fairnas-mobilenet", "nats-sss", "nats-tss", "spos-mobilenet"]
    assert SAMPLERS.names() == ["fair", "uniform"] and TRAINABLE_RULES.names() == ["all", "bn", "last_bn"]
    assert RECIPES.names() == ["official", "spos"]
    assert {"score", "train-supernet", "plan", "merge-csv"} <= set(COMMANDS.names())
    assert METHOD_REGISTRY.where("synflow").startswith("methods/synflow.py:")  # declared by decorator
    assert METHOD_REGISTRY.where("bnnas") == "methods/bnnas.py"  # declared as METHODS


def test_a_command_imports_only_its_own_module() -> None:
    """`python -m harness plan` pays for plan's imports only (no torch-heavy training module)."""
    code = ("import sys; from harness.cli import command_modules; "
            "assert [m.NAME for m in command_modules(['plan'])] == ['plan']; "
            "print(sorted(n for n in sys.modules if n.startswith('harness.commands.')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**_env(), "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['harness.commands.plan']"


# --- an installed package's entry points ---------------------------------------------------

PLUGIN_PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "bnnas-harness-test-plugin"
version = "0.0.1"

[tool.setuptools]
packages = ["probe_plugin"]

[project.entry-points."bnnas_harness.methods"]
probe_ones = "probe_plugin.proxy"

[project.entry-points."bnnas_harness.samplers"]
probe-first = "probe_plugin.proxy:first_choice"

[project.entry-points."bnnas_harness.commands"]
probe-hello = "probe_plugin.hello"
"""
PLUGIN_PROXY = '''\
"""A method, a sampler and a command that live outside the harness's repository."""
import numpy as np

from harness.method import ScoreContext
from harness.scoring.proxy import zero_cost_proxy


def first_choice(space):
    return lambda rng: [tuple(0 for _ in space.choices)]


@zero_cost_proxy(name="probe_ones")
def probe_ones_scorer(ctx: ScoreContext, archs: np.ndarray, *, value: float = 1.0) -> np.ndarray:
    """no supernet; score = the option value for every architecture (sign: higher = better)"""
    return np.full(len(archs), float(value))
'''
PLUGIN_COMMAND = '''\
NAME = "probe-hello"
HELP = "Say hello from an installed package."


def add_arguments(parser):
    parser.add_argument("--who", default="world")


def run(args):
    print(f"hello {args.who}")
    return 0
'''
PLUGIN_CHECK = """\
import dataclasses, json
import methods
from harness.errors import HarnessError
from harness.method import Method
from harness.workflow import plan
from harness.workflow.config import validate_config

method = methods.resolve("probe_ones", options={"probe_ones": {"value": 2.5}})
print("OPTIONS", json.dumps(method.options), method.kind, method.stochastic)
trained = dataclasses.replace(methods.resolve("spos"), name="spos-first", sampler="probe-first")
print("SAMPLER", trained.sampler)
config = validate_config({"methods": ["params", "probe_ones"], "spaces": {"nats-tss": {"C": 4, "N": 1}},
                          "archs": {"spaces": ["nats-tss"]}, "search": {"spaces": []},
                          "method_options": {"probe_ones": {"value": 2.5}}})
specs = plan.build_plan(config)
group = specs["score_free:space=nats-tss"]
print("PLANNED", sorted(run["method"]["name"] for run in group["runs"]))
print("SPEC_OPTIONS", json.dumps([run["method"]["options"] for run in group["runs"] if run["method"]["name"] == "probe_ones"]))
"""


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    """A package with entry points in three groups, really installed (pip install --target)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    (source / "probe_plugin").mkdir(parents=True)
    (source / "pyproject.toml").write_text(PLUGIN_PYPROJECT)
    (source / "probe_plugin" / "__init__.py").write_text("")
    (source / "probe_plugin" / "proxy.py").write_text(PLUGIN_PROXY)
    (source / "probe_plugin" / "hello.py").write_text(PLUGIN_COMMAND)
    site = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--no-build-isolation", "--target", str(site), str(source)],
                          capture_output=True, text=True, env=_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(site.glob("bnnas_harness_test_plugin-*.dist-info/entry_points.txt"))
    return site


def in_plugin_env(site: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env={**_env(), "PYTHONPATH": f"{site}:{ROOT}"})


def test_an_installed_package_adds_a_method_a_sampler_and_a_command(plugin: Path) -> None:
    done = in_plugin_env(plugin, "-c", PLUGIN_CHECK)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["OPTIONS"] == '{"value": 2.5} zero-cost False'  # options from the signature, config override
    assert lines["SAMPLER"] == "probe-first"
    assert lines["PLANNED"] == "['params', 'probe_ones']"  # the supernet-free scoring job scores it
    assert lines["SPEC_OPTIONS"] == '[{"value": 2.5}]'
    hello = in_plugin_env(plugin, "-m", "harness", "probe-hello", "--who", "plugin")
    assert hello.returncode == 0 and hello.stdout.strip() == "hello plugin", hello.stderr[-2000:]
    listed = in_plugin_env(plugin, "-m", "harness", "--help")
    assert "probe-hello" in listed.stdout and "train-supernet" in listed.stdout


def test_without_the_package_its_names_are_unknown_and_say_how_to_add_one() -> None:
    with pytest.raises(HarnessError, match=r"unknown method 'probe_ones'.*entry point in group bnnas_harness\.methods"):
        methods.resolve("probe_ones")
    with pytest.raises(HarnessError, match=r"unknown sampler 'probe-first'; known: fair, uniform\. Register one"):
        make_sampler("probe-first", None)

"""The runtime environment holds what the runtime needs, whatever the test extras bring along.

Runtime code: harness/, methods/, the Snakefile and rules/, and every script or module that a
documented command runs (`python scripts/X.py`, `python -m PACKAGE`). Each third-party module it
imports (outside a `try: ... except ImportError`, which marks an optional one) must come from a
distribution that pyproject.toml's [project].dependencies declares, environment.yml must declare
the same, and the environment a user gets (tests/user_checkout.py: scripts/setup.sh without the
test extras) must hold all of them, with the extras they name (snakemake[reports] for
`snakemake --report`)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from doc_commands import documented_blocks, strip_comment

ROOT = Path(__file__).resolve().parents[1]
LOCAL = {"harness", "methods", "benchmarks", "scripts", "tests"}
# Packages that a dependency imports only when a feature is used: the runtime code using the feature
# needs them declared although it never imports them.
FEATURE_NEEDS = {".to_markdown(": "tabulate", ".to_latex(": "jinja2"}
SMK_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.MULTILINE)


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def documented_command_texts() -> list[str]:
    return [strip_comment(c.text.replace("\\\n", " ")) for b in documented_blocks() for c in b.commands]


def runtime_files() -> list[Path]:
    """The code a run executes, and every script or module a documented command runs."""
    files = sorted((ROOT / "harness").rglob("*.py")) + sorted((ROOT / "methods").rglob("*.py"))
    files += [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    for text in documented_command_texts():
        for script in re.findall(r"python3?\s+(scripts/[\w./-]+\.py)", text):
            files.append(ROOT / script)
        for module in re.findall(r"python3?\s+-m\s+(\w+)", text):
            if (ROOT / module).is_dir():
                files += sorted((ROOT / module).rglob("*.py"))
    return list(dict.fromkeys(files))


def _optional(tree: ast.AST) -> set[int]:
    """Line numbers of imports inside a `try` whose handlers catch ImportError."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers):
            lines |= {n.lineno for stmt in node.body for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def third_party_imports(files: list[Path]) -> dict[str, list[str]]:
    """{top-level module: [files importing it]} for modules neither in the standard library nor local."""
    found: dict[str, list[str]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            tree = ast.parse(text)
            optional = _optional(tree)
            names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) and n.lineno not in optional for a in n.names]
            names += [n.module for n in ast.walk(tree)
                      if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module and n.lineno not in optional]
        else:  # Snakefile, rules/*.smk: Snakemake's Python dialect
            names = [a or b for a, b in SMK_IMPORT.findall(text)]
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in LOCAL:
                found.setdefault(top, []).append(path.relative_to(ROOT).as_posix())
    return found


def test_environment_yml_declares_what_pyproject_declares():
    declared = [str(r) for r in runtime_requirements()]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(str(Requirement(r)) for r in pip) == sorted(declared), (
        "environment.yml's pip list must be pyproject.toml's [project].dependencies, the same packages "
        "and bounds (the test tools stay out of both)")


def test_every_imported_package_is_a_declared_runtime_dependency():
    declared = {canonicalize_name(r.name) for r in runtime_requirements()}
    distributions = importlib.metadata.packages_distributions()
    imports = third_party_imports(runtime_files())
    assert {"torch", "snakemake", "yaml"} <= set(imports), "the import scan found too little: is it reading the code?"
    missing = []
    for module, users in sorted(imports.items()):
        names = {canonicalize_name(d) for d in distributions.get(module, [])}
        if not names:
            missing.append(f"{module} (imported by {users[0]}) is not installed here either; declare the "
                           "distribution that provides it")
        elif not names & declared:
            missing.append(f"{module} (imported by {users[0]}; distribution {', '.join(sorted(names))})")
    assert not missing, ("runtime code imports packages that pyproject.toml's [project].dependencies does not "
                         "declare (add each to it and to environment.yml):\n  " + "\n  ".join(missing))


def test_packages_that_features_of_dependencies_need_are_declared():
    declared = {canonicalize_name(r.name) for r in runtime_requirements()}
    missing = []
    for path in runtime_files():
        text = path.read_text(encoding="utf-8")
        missing += [f"{needed} (for {feature.strip('.(')} in {path.relative_to(ROOT)})"
                    for feature, needed in FEATURE_NEEDS.items() if feature in text and needed not in declared]
    assert not missing, "declare in pyproject.toml and environment.yml: " + ", ".join(sorted(set(missing)))


def test_documented_snakemake_reports_have_their_extra():
    assert any("--report" in text for text in documented_command_texts())  # the README's `snakemake --report`
    snakemake = next(r for r in runtime_requirements() if canonicalize_name(r.name) == "snakemake")
    assert "reports" in snakemake.extras, ("the docs show `snakemake --report`, which needs Snakemake's `reports` "
                                           "extra (pygments): declare snakemake[reports] in pyproject.toml")


def extra_requirements(requirement: Requirement) -> list[str]:
    """The distributions that `requirement`'s extras add (from the installed distribution's metadata)."""
    names = []
    for line in importlib.metadata.requires(requirement.name) or []:
        needed = Requirement(line)
        if needed.marker and any(needed.marker.evaluate({"extra": extra}) for extra in requirement.extras):
            names.append(needed.name)
    return names


def test_a_users_environment_holds_the_runtime_needs(user_checkout):
    """In the clone's .venv (no test extras): every declared distribution and its extras are installed,
    and every imported module is found."""
    requirements = runtime_requirements()
    distributions = [r.name for r in requirements] + [n for r in requirements for n in extra_requirements(r)]
    modules = sorted(third_party_imports(runtime_files()))
    probe = ("import importlib.metadata, importlib.util, json, sys\n"
             "wanted = json.loads(sys.argv[1])\n"
             "def installed(name):\n"
             "    try:\n        importlib.metadata.version(name); return True\n"
             "    except importlib.metadata.PackageNotFoundError:\n        return False\n"
             "print(json.dumps({'distributions': [d for d in wanted['distributions'] if not installed(d)],\n"
             "                  'modules': [m for m in wanted['modules'] if importlib.util.find_spec(m) is None]}))\n")
    done = subprocess.run([str(user_checkout.python), "-c", probe,
                           json.dumps({"distributions": distributions, "modules": modules})],
                          cwd=user_checkout.path, env=user_checkout.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    absent = json.loads(done.stdout)
    assert absent == {"distributions": [], "modules": []}, (
        f"a user's environment (bash scripts/setup.sh, no test extras) lacks {absent}: declare them as runtime "
        "dependencies in pyproject.toml and environment.yml")

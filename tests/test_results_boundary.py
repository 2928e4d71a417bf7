"""harness/results/ is the one place that opens result files: no other module under harness/
reads a file, except those listed here with what they read (inputs that are not results: a
config, a job's spec, the datasets, the NATS-Bench files, the machine). A new reader elsewhere
fails this test; add it to harness/results/ instead."""

from __future__ import annotations

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[1] / "harness"

# Calls that read a file (or find files to read): pandas/torch/numpy/json/pickle loaders, pathlib
# readers and globbing, open(), harness.io.read_json.
READERS = {"read_csv", "read_table", "read_parquet", "load", "read_json", "read_text", "read_bytes", "glob",
           "rglob", "open", "iterdir", "scandir", "listdir", "walk"}

NOT_RESULTS = {
    "io.py": "read_json: the generic JSON reader configs and specs go through",
    "workflow/config.py": "the config files (YAML, or a run_config.json passed as --config) and the schema",
    "workflow/job.py": "a job's --spec file",
    "commands/prepare_data.py": "a run config passed as --config",
    "data/datasets.py": "the datasets' official files",
    "data/imagenet.py": "ImageNet's image files",
    "groundtruth/nats_bench.py": "NATS-Bench's official archives and CSV exports",
    "groundtruth/nats_bench_bundled.py": "the NATS-Bench table bundled with the package",
    "devices.py": "the GPU lock files",
    "environment.py": "/proc/cpuinfo",
    "workflow/rerun.py": "open() to write a re-executed job's log (verify)",
    "registry.py": "discovery of a package's modules and entry points",
}


def reading_calls(path: Path) -> list[str]:
    """`name (line N)` of every call in the module whose function name is a reader, except the
    readers it imports from harness.results (that is where reading belongs)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    from_results = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and (node.module or "").startswith("harness.results") for alias in node.names}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in READERS and not (isinstance(func, ast.Name) and name in from_results):
                found.append(f"{name} (line {node.lineno})")
    return found


def test_only_harness_results_opens_result_files():
    offenders = {}
    for path in sorted(HARNESS.rglob("*.py")):
        relative = path.relative_to(HARNESS).as_posix()
        if relative.startswith("results/") or relative in NOT_RESULTS:
            continue
        calls = reading_calls(path)
        if calls:
            offenders[relative] = calls
    assert not offenders, ("modules outside harness/results/ that read files (move the reading into "
                           f"harness/results/, or list a non-result input in NOT_RESULTS): {offenders}")


def test_the_checker_finds_a_reader(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import pandas as pd\nfrom harness.results.files import read_table\n"
                      "frame = pd.read_csv('scores.csv')\nok = read_table('scores.csv')\n")
    assert reading_calls(module) == ["read_csv (line 3)"]


def test_every_exception_still_reads_something():
    """An entry of NOT_RESULTS whose module no longer reads anything is stale: remove it."""
    stale = [name for name in NOT_RESULTS if not reading_calls(HARNESS / name)]
    assert not stale, f"NOT_RESULTS lists modules that read nothing: {stale}"

"""The README's "Adding a method" example adds a zero-cost proxy by one file: dropped into a copy
of the methods/ package, config names it at once and the score command scores a tiny space with
it, its options and summary taken from the function (harness/scoring/proxy.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.io import read_json
from harness.workflow.config import validate_config

ROOT = Path(__file__).resolve().parents[1]
MARKER = "<!-- example: add-a-proxy -->"
TINY = {
    "results_dir": "results/proxy",
    "dataset": {"resolution": 8, "train_images": 128, "val_images": 32, "test_images": 32},
    "spaces": {"nats-tss": {"C": 4, "N": 1}},
    "archs": {"spaces": ["nats-tss"], "count": 6},
    "search": {"spaces": []},
    "groundtruth": {"repeat_archs": 0, "shards": 1},
}


def readme_example() -> tuple[str, str]:
    """(file name, code) of the python block right after the README's marker line; its first
    line names the file (`# methods/NAME.py`)."""
    text = (ROOT / "README.md").read_text()
    assert MARKER in text, f"README.md lost its {MARKER!r} line"
    match = re.match(r"\s*```python\n(.*?)```", text.split(MARKER, 1)[1], re.S)
    assert match, f"no ```python block right after {MARKER!r} in README.md"
    code = match.group(1)
    name = re.match(r"# methods/(\w+\.py)\n", code)
    assert name, "the example's first line must name its file: # methods/NAME.py"
    return name.group(1), code


def test_the_readme_example_is_one_new_file_that_config_names_and_the_score_command_scores(tmp_path: Path) -> None:
    filename, code = readme_example()
    method = re.search(r'@zero_cost_proxy\(name="(\w+)"', code).group(1)
    assert not (ROOT / "methods" / filename).exists()
    shutil.copytree(ROOT / "methods", tmp_path / "methods", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "methods" / filename).write_text(code)  # the one file the README adds
    # A run config as the workflow writes it (validated, defaults filled) that names the new method:
    # this process does not know it, each command (with the copied package) validates it again.
    config = tmp_path / "run_config.json"
    config.write_text(json.dumps({**validate_config({**TINY, "methods": ["params"]}), "methods": ["params", method]}))
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}

    def harness(*args: object) -> str:
        done = subprocess.run([sys.executable, "-m", "harness", *map(str, args)], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    harness("prepare-data", "--config", config, "--output", tmp_path / "data.pt", "--meta", tmp_path / "data.json")
    harness("sample-archs", "--config", config, "--space", "nats-tss", "--output", tmp_path / "archs.csv")
    assert f'"{method}"' in harness("plan", "--config", config, "--job", "score_free:space=nats-tss")
    harness("score", "--config", config, "--space", "nats-tss", "--method", method, "--seed", 0,
            "--data", tmp_path / "data.pt", "--archs", tmp_path / "archs.csv",
            "--output", tmp_path / "scores.csv", "--record", tmp_path / "scoring.json")
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 6 and np.isfinite(scores["score"]).all() and scores["score"].nunique() > 1
    described = read_json(tmp_path / "scoring.json")["method"]
    assert described["name"] == method and described["kind"] == "zero-cost" and described["stochastic"]
    assert described["scorer"] == f"{method}_scorer"
    assert described["options"] == {"batch_size": 32}  # from the signature
    assert "higher = better" in described["summary"]  # from the docstring


@pytest.mark.parametrize("broken, message", [
    ("def f(ctx, archs, batch_size=3):\n    'doc'\n", "two positional parameters, then keyword-only options"),
    ("def f(ctx, archs, *, batch_size):\n    'doc'\n", "option 'batch_size' of f needs a default"),
    ("def f(ctx, archs):\n    pass\n", "needs a docstring"),
])
def test_a_proxy_declaration_says_what_is_wrong(broken: str, message: str) -> None:
    from harness.errors import HarnessError
    from harness.scoring.proxy import zero_cost_proxy

    namespace: dict = {}
    exec(broken, namespace)
    with pytest.raises(HarnessError, match=re.escape(message)):
        zero_cost_proxy(name="broken")(namespace["f"])


def test_a_scorer_without_its_option_in_the_context_is_an_error(tiny_space) -> None:
    import torch

    import methods
    from harness.errors import HarnessError
    from harness.method import ScoreContext

    ctx = ScoreContext(space=tiny_space, supernet=None, data=None, options={}, seed=0, device=torch.device("cpu"))
    with pytest.raises(HarnessError, match="option\\(s\\) batch_size missing"):
        methods.resolve("az_nas").scorer(ctx, tiny_space.to_matrix([(0,) * 6]))

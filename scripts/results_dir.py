"""Print the results folder a Snakemake run with these arguments writes: the `results_dir` of
config/config.yaml, overridden by each `--configfile` in order and by `--config results_dir=DIR`
(Snakemake's own precedence). `make reproduce` uses it to say where the report is.

    python scripts/results_dir.py --configfile config/smoke.yaml     ->  results/smoke
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def results_dir(args: list[str]) -> str:
    files = [ROOT / "config" / "config.yaml"]
    overrides: list[str] = []
    current: list | None = None
    for arg in args:
        if arg.startswith("--configfile=") or arg.startswith("--configfiles="):
            files.append(Path(arg.split("=", 1)[1]))
            current = files
        elif arg in ("--configfile", "--configfiles"):
            current = files
        elif arg.startswith("--config=") or arg == "--config" or arg == "-C":
            current = overrides
            if "=" in arg[2:]:
                overrides.append(arg.split("=", 1)[1])
        elif arg.startswith("-"):
            current = None
        elif current is files:
            files.append(Path(arg))
        elif current is overrides:
            overrides.append(arg)
    result = "results"
    for path in files:
        config = yaml.safe_load((path if path.is_absolute() else Path.cwd() / path).read_text()) or {}
        result = config.get("results_dir", result)
    for item in overrides:
        key, _, value = item.partition("=")
        if key == "results_dir":
            result = value
    return str(result)


if __name__ == "__main__":
    print(results_dir(sys.argv[1:]))

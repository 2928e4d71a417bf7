"""`python -m benchmarks [NAME ...]`: run benchmark groups, print every figure beside its goal,
write them to results/benchmarks.json (merged with the groups not rerun)."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from benchmarks import GROUPS
from benchmarks.core import Figure, machine_info
from benchmarks.fixtures import REPO_ROOT, default_config
from harness.io import read_json, write_json

DEFAULT_OUTPUT = REPO_ROOT / "results" / "benchmarks.json"
TINY_OUTPUT = REPO_ROOT / "results" / "benchmarks-tiny.json"


def build_parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:9s} {module.DESCRIPTION}" for name, module in GROUPS.items())
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description="Run benchmark groups, print every figure beside its goal, "
                                                 "write them to results/benchmarks.json.",
                                     epilog=f"groups:\n{lines}", formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="groups to run (default: all)")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny sizes (checks the code paths in seconds; the figures mean nothing)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: the default config's `threads`, one per job)")
    parser.add_argument("--output", type=Path, default=None,
                        help=f"JSON file (default: {DEFAULT_OUTPUT.relative_to(REPO_ROOT)}, "
                             f"with --tiny {TINY_OUTPUT.relative_to(REPO_ROOT)})")
    return parser


def run_group(name: str, tiny: bool) -> tuple[list[Figure], float, str | None]:
    """(figures, seconds, error): a group that crashes yields its traceback, not a dead run."""
    module = GROUPS[name]
    start = time.perf_counter()
    try:
        figures = module.run(module.TINY if tiny else module.FULL)
        error = None
    except Exception:
        figures, error = [], traceback.format_exc()
    return figures, time.perf_counter() - start, error


def group_record(name: str, figures: list[Figure], seconds: float, error: str | None, tiny: bool) -> dict[str, Any]:
    module = GROUPS[name]
    sizes = module.TINY if tiny else module.FULL
    return {"description": module.DESCRIPTION, "runtime_s": seconds, "error": error,
            "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "sizes": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(sizes).items()},
            "figures": [f.to_dict() for f in figures]}


def write_results(path: Path, groups: dict[str, dict[str, Any]], total_s: float, tiny: bool) -> None:
    """Atomic write; groups not run this time keep their earlier records."""
    previous = read_json(path).get("groups", {}) if path.exists() else {}
    write_json({"machine": machine_info(), "tiny": tiny, "last_run_s": total_s,
                "last_run_groups": sorted(groups), "groups": {**previous, **groups}}, path)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    unknown = [n for n in args.names if n not in GROUPS]
    if unknown:
        print(f"error: unknown benchmark group(s) {unknown}; known: {', '.join(GROUPS)}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads or default_config()["threads"])
    names = args.names or list(GROUPS)
    output = args.output or (TINY_OUTPUT if args.tiny else DEFAULT_OUTPUT)
    machine = machine_info()
    print(f"benchmarks {' '.join(names)}{' (tiny sizes)' if args.tiny else ''}: {machine['cpu_count']} CPUs, "
          f"torch {machine['torch_version']} with {machine['torch_threads']} thread(s), "
          f"load {machine['load_average_1_5_15_min'][0]:.1f}", flush=True)
    started = time.perf_counter()
    records = {}
    for name in names:
        print(f"\n== {name}: {GROUPS[name].DESCRIPTION}", flush=True)
        figures, seconds, error = run_group(name, args.tiny)
        for figure in figures:
            print(figure.line())
            if figure.note:
                print(f"       {figure.note}")
        if error:
            print(f"   group {name} failed:\n{error}", file=sys.stderr)
        print(f"   ({name} took {seconds:.1f} s)", flush=True)
        records[name] = group_record(name, figures, seconds, error, args.tiny)
    total = time.perf_counter() - started
    write_results(output, records, total, args.tiny)
    all_figures = [f for r in records.values() for f in r["figures"]]
    counts = {verdict: sum(1 for f in all_figures if f["passed"] is verdict) for verdict in (True, False, None)}
    print(f"\n{counts[True]} PASS, {counts[False]} FAIL, {counts[None]} without verdict; "
          f"{total:.0f} s in all; written to {output}")
    return 1 if any(r["error"] for r in records.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m harness bundle RESULTS`: one archive of a finished run that another lab can check
byte for byte and re-execute (`python -m harness verify BUNDLE`); the layout is described in
harness/results/archive.py."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness import paths
from harness.environment import job_record_name
from harness.errors import HarnessError
from harness.results import archive, compare
from harness.workflow.plan import MANIFEST, PLAN, manifest_files
from harness.workflow.rerun import SUPERNET_SKIPPED, job_command

NAME = "bundle"
HELP = ("Write one archive of a finished run: config, plan, every result file with its sha256, the code version "
        "and the exact environment; `python -m harness verify` checks and re-executes it.")
EXTRA_FOLDERS = (str(Path(paths.REPORT_HTML).parent), str(Path(paths.VERIFICATION).parent))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, help="results directory of a finished run (its results_dir)")
    parser.add_argument("--output", type=Path, default=None,
                        help="archive to write (.tar.gz, .tgz or .zip; default: "
                             "harness-results-<commit>-<content hash>.tar.gz beside RESULTS)")
    parser.add_argument("--manifest-only", action="store_true",
                        help="only the files the manifest lists (the report's inputs) and the records, not every "
                             "job's outputs (checkpoints, dataset, shards): smaller, but verify can then re-execute "
                             "only the jobs whose inputs it holds")


def bundled_files(results: Path, manifest_only: bool) -> tuple[list[str], set[str], list[dict[str, Any]]]:
    """(every file to bundle, the ones the manifest lists, the code versions in the job records)."""
    plan, config, manifest = compare.read_plan(results), compare.read_run_config(results), compare.read_manifest(results)
    listed = set(manifest_files(manifest)) | {paths.RUN_CONFIG, PLAN, MANIFEST}
    names = set(listed)
    for spec in plan.values():
        if not manifest_only:
            command = job_command(spec, plan, config)
            names |= set(command.outputs)
            names |= {f for d in command.output_dirs for f in compare.files_under(results, d, SUPERNET_SKIPPED)}
        if (results / job_record_name(spec["id"])).is_file():
            names.add(job_record_name(spec["id"]))
    missing = sorted(name for name in names if not (results / name).is_file())
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise HarnessError(f"{results} is not a finished run: {shown} missing; finish it (snakemake --cores N with the "
                           "same config) or bundle --manifest-only")
    for folder in EXTRA_FOLDERS:
        names |= set(compare.files_in_tree(results, folder))
    codes = []
    for spec in plan.values():
        record = compare.read_job_record(results, job_record_name(spec["id"]))
        code = (record or {}).get("environment", {}).get("code")
        if code and code not in codes:
            codes.append(code)
    return sorted(names), listed, codes


def run(args: argparse.Namespace) -> int:
    if not args.results.is_dir():
        raise HarnessError(f"{args.results}: no such results directory")
    names, listed, codes = bundled_files(args.results, args.manifest_only)
    config = compare.read_run_config(args.results)
    output, digest = archive.write_bundle(args.results, names, listed, codes, str(config["results_dir"]), args.output)
    size = output.stat().st_size / 2**20
    print(f"wrote {output} ({len(names)} files, {size:.1f} MiB)\nsha256 {digest} (also in {output.name}.sha256)")
    if not codes:
        print("note: no job records (RESULTS/provenance): the run predates them; verify still finds identical outputs, "
              "but judges any other by the recorded CIs, as it cannot tell whether the environment changed")
    elif any(code.get("dirty") is not False for code in codes):
        print("note: some jobs ran from a tree with uncommitted changes (see BUNDLE.json code.in_job_records)")
    return 0

"""Reading, hashing and comparing result files for `python -m harness verify` and `bundle`.

Two runs of a job give *identical* outputs when every output file is the same apart from what
cannot repeat (same_content):
  - .csv: byte for byte, after dropping the columns that hold wall time (TIMING_NAME);
  - .json: equal after dropping the keys that hold wall time, absolute paths into the code's
    checkout (the bundled NATS-Bench table) compared relative to it;
  - .pt (torch.save): every tensor bit for bit, same dtype and shape; the archive's bytes are not
    compared, since torch.save names the zip records after the (temporary) file written;
  - other files: byte for byte.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness import paths
from harness.errors import HarnessError
from harness.results.files import read_torch_file
from harness.io import write_csv, write_json
from harness.workflow.plan import MANIFEST, PLAN

# A column or key holds wall time (or something derived from it) when its name says so:
# train_time_s, time_s, score_time_s, time_per_arch_s, load_seconds, analysis_time_s, ...
# A column, row label or JSON key holds wall time (or something derived from it) when its name says
# so: train_time_s, time_s, load_seconds, train_speedup_vs_spos, decide_cost (the cost of the run
# that would decide, from measured unit costs), and the report's display headers "supernet training
# (s)", "eval speed-up (×)", "score s / arch". would_decide ("what would decide it" on the page) is
# the sentence that states that cost. verify and the determinism test compare everything else.
TIMING_NAME = re.compile(r"(^|_)(time|seconds|wall|elapsed|duration|speedup|cost)(_|$)|_s$"
                         r"|\((s|×)\)|speed-up| s$| s / |^would_decide$|^what would decide it$")
CODE_PATH = re.compile(r"/((?:harness|methods)/[^\s]+)$")  # a file of the code's own packages
VERIFICATION_COLUMNS = ["job", "stage", "outcome", "largest_difference", "compared", "environment", "detail",
                        "seconds"]
VERIFICATION_SUMMARY = str(Path(paths.VERIFICATION).with_suffix(".json"))


# ------------------------------------------------------------------------------------ reading


def _json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise HarnessError(f"{path} is missing: not a complete results directory ({what}); "
                           "point verify at the folder the workflow wrote (results_dir), or a bundle")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise HarnessError(f"{path} is not valid JSON ({exc}); it was damaged after the run") from exc


def read_plan(results: Path) -> dict[str, dict[str, Any]]:
    """Every job's spec (plan.json, written by the workflow's plan rule)."""
    return _json(results / PLAN, "the plan")


def read_run_config(results: Path) -> dict[str, Any]:
    return _json(results / paths.RUN_CONFIG, "the run's config")


def read_manifest(results: Path) -> dict[str, Any]:
    return _json(results / MANIFEST, "the manifest")


def read_job_record(results: Path, relative: str) -> dict[str, Any] | None:
    """A job's record of what it ran with (paths.JOB_RECORD), or None when the job wrote none
    (results of a harness older than the records)."""
    path = results / relative
    return _json(path, "a job record") if path.is_file() else None


def read_frame(path: Path) -> pd.DataFrame:
    """A result table; an empty file (a ground truth recorded as not available) is an empty table."""
    if not path.is_file():
        raise HarnessError(f"{path} is missing; the results directory is incomplete")
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def read_record(path: Path) -> Any:
    return _json(path, "a record")


def files_under(results: Path, relative_dir: str, skipped: tuple[str, ...] = ()) -> list[str]:
    """The files of a results subfolder (relative to `results`), sorted; none when it is missing."""
    folder = results / relative_dir
    if not folder.is_dir():
        return []
    return sorted(f"{relative_dir}/{p.name}" for p in folder.iterdir()
                  if p.is_file() and p.name not in skipped and not p.name.startswith("."))


def files_in_tree(results: Path, relative_dir: str) -> list[str]:
    """Every file below a results subfolder (relative to `results`), hidden ones left out, sorted."""
    folder = results / relative_dir
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(results).as_posix() for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


# ---------------------------------------------------------------------------------- comparing


@dataclass
class FileComparison:
    """gap: the largest difference of a differing file's numbers (cells, tensors); NaN when it
    has none to measure, inf when its shape differs."""

    name: str
    identical: bool
    note: str = ""
    gap: float = math.nan


def _without_timing(value: Any) -> Any:
    """A JSON record without its wall-time keys, and with absolute paths into a checkout of the
    code (the bundled NATS-Bench table) made relative to it: another checkout reads the same file."""
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if not TIMING_NAME.search(str(k))}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    if isinstance(value, str) and value.startswith("/") and CODE_PATH.search(value):
        return "<checkout>/" + CODE_PATH.search(value).group(1)
    return value


def _csv_text(path: Path) -> str:
    text = path.read_text()
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return text
    timing = [c for c in frame.columns if TIMING_NAME.search(str(c))]
    return frame.drop(columns=timing).to_csv(index=False) if timing else text


def _tensors_equal(a: Any, b: Any) -> tuple[bool, float]:
    """Whether two torch.load results are equal bit for bit, and the largest absolute difference
    of their float tensors (inf when their structure differs)."""
    import torch

    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return False, math.inf
        pairs = [_tensors_equal(a[k], b[k]) for k in a]
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return False, math.inf
        pairs = [_tensors_equal(x, y) for x, y in zip(a, b)]
    elif isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False, math.inf
        if torch.equal(a, b):
            return True, 0.0
        gap = (a.double() - b.double()).abs().max().item() if a.numel() else 0.0
        return False, gap
    else:
        return a == b, 0.0 if a == b else math.inf
    return all(p[0] for p in pairs), max((p[1] for p in pairs), default=0.0)


def same_content(expected: Path, actual: Path, name: str | None = None) -> FileComparison:
    """Whether `actual` equals `expected` as the module docstring defines it; a file that cannot
    be read (truncated, not a table) differs, with the reason, instead of stopping verify."""
    name = name or expected.name
    try:
        return _same_content(expected, actual, name)
    except (HarnessError, ValueError, OSError, EOFError, RuntimeError) as exc:  # pandas' and torch's read errors
        return FileComparison(name, False, f"unreadable: {str(exc).splitlines()[0][:200]}")


def _same_content(expected: Path, actual: Path, name: str) -> FileComparison:
    if not expected.is_file():
        return FileComparison(name, False, "not in the record")
    if not actual.is_file():
        return FileComparison(name, False, "not written by the re-execution")
    if expected.suffix == ".pt":
        equal, gap = _tensors_equal(read_torch_file(expected, what="recorded file"),
                                    read_torch_file(actual, what="re-executed file"))
        return FileComparison(name, equal, "" if equal else f"tensors differ by up to {gap:.3g}", gap)
    if expected.suffix == ".csv":
        equal = _csv_text(expected) == _csv_text(actual)
        if not equal:
            gap = table_difference(read_frame(expected), read_frame(actual))
            return FileComparison(name, False, f"cells differ by up to {gap:.3g}" if math.isfinite(gap)
                                  else "rows, columns or text cells differ", gap)
    elif expected.suffix == ".json":
        try:
            equal = _without_timing(json.loads(expected.read_text())) == _without_timing(json.loads(actual.read_text()))
        except ValueError:
            equal = False
    else:
        equal = expected.read_bytes() == actual.read_bytes()
    return FileComparison(name, equal, "" if equal else "content differs")


def table_difference(expected: pd.DataFrame, actual: pd.DataFrame) -> float:
    """The largest absolute difference between the numeric cells of two tables of the same shape
    and columns (timing columns left out); inf when shape, columns or a text cell differ."""
    keep = [c for c in expected.columns if not TIMING_NAME.search(str(c))]
    if list(expected.columns) != list(actual.columns) or expected.shape != actual.shape:
        return math.inf
    gap = 0.0
    for column in keep:
        a, b = expected[column], actual[column]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            both_nan = a.isna() & b.isna()
            delta = (a.astype(float) - b.astype(float)).abs()[~both_nan]
            if delta.isna().any():
                return math.inf
            gap = max(gap, float(delta.max()) if len(delta) else 0.0)
        elif not a.astype(str).equals(b.astype(str)):
            return math.inf
    return gap


# ------------------------------------------------------------------------------ verification


def write_verification(results: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> Path:
    """verification.csv (one row per check, VERIFICATION_COLUMNS) and its summary beside it."""
    path = results / paths.VERIFICATION
    write_csv(pd.DataFrame(rows, columns=VERIFICATION_COLUMNS), path)
    write_json(summary, results / VERIFICATION_SUMMARY)
    return path


def read_verification(results: Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The latest verification of a results directory (table and summary), or None when it was
    never verified: what the report shows."""
    table, summary = results / paths.VERIFICATION, results / VERIFICATION_SUMMARY
    if not table.is_file() or not summary.is_file():
        return None
    return read_frame(table), read_record(summary)

"""Readers of result files: each checks what it reads and names the file and the fix when it is
missing, truncated or malformed. Writing stays with the job that owns a file (harness.io's
atomic writes); reading back is done here and only here."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import HarnessError


def read_json_file(path: str | Path, what: str = "record") -> Any:
    """A JSON result file; a missing or malformed one is an error that says which and how to remake it."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"{what} {path} is missing; rerun the step that writes it")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{what} {path} is unreadable ({exc}); delete it and rerun the step that writes it") from exc


def optional_json(path: str | Path) -> Any:
    """The JSON file's content, or None when it does not exist (an optional input of the report)."""
    return read_json_file(path) if Path(path).is_file() else None


def read_table(path: str | Path, columns: list[str] | tuple[str, ...] = (), what: str = "table",
               fix: str = "delete it and rerun the step that writes it") -> pd.DataFrame:
    """A CSV result file with at least `columns`; a missing file, a file that is not CSV or one
    that lacks a column is an error naming it and `fix`. A header-only file is an empty table."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"{what} {path} is missing; {fix}")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise HarnessError(f"{what} {path} is empty (not even a header); {fix}") from None
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise HarnessError(f"cannot read {what} {path} ({exc}); {fix}") from exc
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise HarnessError(f"{what} {path} lacks column(s) {missing} (has {list(frame.columns)}); {fix}")
    return frame


def optional_table(path: str | Path) -> pd.DataFrame | None:
    """The CSV file as a table, or None when it does not exist."""
    return read_table(path) if Path(path).is_file() else None


def read_arch_table(path: str | Path, columns: list[str]) -> pd.DataFrame:
    """An architecture list (archs.csv or all_archs.csv) with at least `columns` and one row; a
    missing, empty, header-only or column-short file is an error that says how to remake it."""
    frame = read_table(path, columns, what="architecture list", fix="rerun the sample-archs step")
    if frame.empty:
        raise HarnessError(f"architecture list {path} has a header but no rows: nothing to score or train; "
                           "rerun the sample-archs step (config archs.count >= 2)")
    return frame


def read_text_file(path: str | Path) -> str:
    """A text output (a rendered page, a log) as a string (undecodable bytes replaced)."""
    return Path(path).read_text(encoding="utf-8", errors="replace")


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, read in chunks (checkpoints can be large)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_bytes_file(path: str | Path) -> bytes:
    """A binary output (a figure) as bytes; a missing one is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"{path} is missing; rerun the step that writes it (snakemake rebuilds it)")
    return path.read_bytes()


def read_table_text(path: str | Path) -> pd.DataFrame:
    """A display table (report/tables/*.csv) with every cell as the text written (no parsing of
    numbers, empty cells stay empty)."""
    path = Path(path)
    if not path.is_file():
        raise HarnessError(f"{path}: file not found; rerun the analyse step")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def elapsed_seconds(root: str | Path, since: str) -> float | None:
    """Seconds from the file `since` (relative to `root`) to the newest file under `root` outside
    report/ (the run's wall time, queueing and pauses included); None when there is nothing."""
    root = Path(root)
    start = root / since
    written = [p.stat().st_mtime for p in root.rglob("*")
               if p.is_file() and "report" not in p.relative_to(root).parts[:1]]
    return max(written) - start.stat().st_mtime if start.is_file() and written else None


def read_torch_file(path: str | Path, map_location: Any = "cpu", *, what: str = "file", fix: str = "") -> Any:
    """A torch file a job saved (checkpoint, resume state, prepared dataset), loaded safely
    (weights_only: no code runs); a missing or unreadable one is an error naming it and `fix`."""
    import torch

    path = Path(path)
    fix = fix or "delete it and rerun the step that writes it"
    if not path.is_file():
        raise HarnessError(f"{what} {path} does not exist; {fix}")
    try:
        return torch.load(path, weights_only=True, map_location=map_location)
    except Exception as exc:  # truncated, foreign or tampered: torch and pickle raise many kinds
        raise HarnessError(f"{what} {path} is truncated or unreadable ({type(exc).__name__}: {exc}); {fix}") from exc

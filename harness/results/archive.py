"""Results bundles: one archive that another lab can check byte for byte and re-execute.

Layout (NAME = harness-results-<commit[:10]>-<content hash[:10]>: the commit the job records
name (the bundling checkout's when they name several), the content hash over every bundled
file's path and sha256):

    NAME/BUNDLE.json                 format, when and how it was made, the code version (commit,
                                     dirty) in the job records and at bundling, the environment
                                     of the bundling process, the package lock, and every file
                                     with its sha256, size and whether the manifest lists it
    NAME/results/...                 the run's files at their places under results_dir: config
                                     (run_config.json), plan.json, manifest.json, every file the
                                     manifest lists, the outputs of every planned job (checkpoints,
                                     dataset, shards, ...; not with --manifest-only), the job
                                     records (provenance/), the report and the latest verification
    NAME/environment/requirements.txt   `name==version` of every installed distribution
    NAME/environment/torch.txt       torch.__config__.show() and parallel_info()
    NAME/code/diff.patch             `git diff HEAD` of the bundling checkout when its tree was dirty

The tar.gz is written reproducibly (sorted members, fixed owner and times), so its sha256 depends
on its content only. `python -m harness verify NAME.tar.gz` unpacks it, checks every file
against BUNDLE.json and re-executes a sample of jobs (harness.commands.verify).
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness import environment
from harness.errors import HarnessError
from harness.results.compare import read_record
from harness.results.files import sha256_file

FORMAT = "harness-bundle/1"
BUNDLE_RECORD = "BUNDLE.json"
RESULTS = "results"
SUFFIXES = (".tar.gz", ".tgz", ".zip")


def content_hash(files: dict[str, dict[str, Any]]) -> str:
    text = "\n".join(f"{name} {info['sha256']}" for name, info in sorted(files.items()))
    return hashlib.sha256(text.encode()).hexdigest()


def describe_files(results: Path, names: Iterable[str], listed: set[str]) -> dict[str, dict[str, Any]]:
    """sha256, size and manifest membership of each file (relative to `results`)."""
    return {name: {"sha256": sha256_file(results / name), "bytes": (results / name).stat().st_size,
                   "manifest": name in listed} for name in sorted(set(names))}


def git_diff(root: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(root), "diff", "HEAD"], capture_output=True, text=True, check=True,
                              timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def bundle_record(results: Path, files: dict[str, dict[str, Any]], job_codes: list[dict[str, Any]],
                  results_dir: str) -> dict[str, Any]:
    here = environment.code_version()
    run = job_codes[0] if len(job_codes) == 1 else here  # the code the jobs ran, when they agree
    code = {"commit": run["commit"], "dirty": run["dirty"], "bundled_from": here, "in_job_records": job_codes}
    return {
        "format": FORMAT,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": ["python", "-m", "harness", *sys.argv[1:]],
        "results_dir": results_dir,
        "code": code,
        "environment": environment.describe(),
        "torch": {k: v for k, v in environment.torch_build().items() if k not in ("show", "parallel")},
        "packages": environment.lock(),
        "content_sha256": content_hash(files),
        "files": files,
        "verify": "python -m harness verify THIS_ARCHIVE (see `python -m harness verify --help`)",
    }


def _add(archive: tarfile.TarFile | zipfile.ZipFile, name: str, data: bytes | None = None, path: Path | None = None,
         mtime: int = 0) -> None:
    """One member, with fixed owner, mode and time (a reproducible archive)."""
    payload = data if data is not None else Path(path).read_bytes()  # type: ignore[arg-type]
    if isinstance(archive, zipfile.ZipFile):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, payload)
        return
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = len(payload), mtime, 0o644, 0, 0, "", ""
    archive.addfile(info, io.BytesIO(payload))


def write_bundle(results: Path, names: list[str], listed: set[str], job_codes: list[dict[str, Any]],
                 results_dir: str, output: Path | None) -> tuple[Path, str]:
    """Write the bundle of `names` (relative to `results`); return its path and sha256."""
    files = describe_files(results, names, listed)
    record = bundle_record(results, files, job_codes, results_dir)
    code = record["code"]
    name = f"harness-results-{str(code['commit'])[:10]}-{record['content_sha256'][:10]}"
    output = output or results.resolve().parent / f"{name}.tar.gz"
    if not output.name.endswith(SUFFIXES):
        raise HarnessError(f"--output {output}: name a .tar.gz, .tgz or .zip file")
    members: list[tuple[str, bytes | None, Path | None]] = [
        (f"{name}/{BUNDLE_RECORD}", (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), None),
        (f"{name}/environment/requirements.txt",
         "".join(f"{k}=={v}\n" for k, v in record["packages"].items()).encode(), None),
        (f"{name}/environment/torch.txt", _torch_text().encode(), None),
    ]
    if code["bundled_from"]["dirty"] is True:
        members.append((f"{name}/code/diff.patch", git_diff(Path(environment.__file__).resolve().parents[1]).encode(), None))
    members += [(f"{name}/{RESULTS}/{f}", None, results / f) for f in files]
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    if output.name.endswith(".zip"):
        with zipfile.ZipFile(partial, "w") as archive:
            for member, data, path in members:
                _add(archive, member, data, path)
    else:
        with open(partial, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed, \
                tarfile.open(fileobj=packed, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for member, data, path in members:
                _add(archive, member, data, path)
    partial.replace(output)
    digest = sha256_file(output)
    output.with_name(output.name + ".sha256").write_text(f"{digest}  {output.name}\n")
    return output, digest


def _torch_text() -> str:
    build = environment.torch_build()
    return build["show"] + "\n" + build["parallel"]


# ------------------------------------------------------------------------------------ reading


def bundle_name(archive: Path) -> str:
    for suffix in SUFFIXES:
        if archive.name.endswith(suffix):
            return archive.name[: -len(suffix)]
    raise HarnessError(f"{archive}: not a bundle (a .tar.gz, .tgz or .zip written by `python -m harness bundle`)")


def unpack(archive: Path, destination: Path) -> Path:
    """Unpack a bundle into `destination` (which must not hold files); return the bundle's folder
    (the one holding BUNDLE.json). Members outside the folder, links and devices are refused."""
    bundle_name(archive)
    if destination.exists() and any(destination.iterdir()):
        raise HarnessError(f"{destination} already exists and is not empty; remove it or pass --unpack DIR")
    destination.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as packed:
                for member in packed.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise HarnessError(f"{archive}: member {member!r} points outside the bundle; not unpacked")
                packed.extractall(destination)
        else:
            with tarfile.open(archive, "r:*") as packed:
                packed.extractall(destination, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise HarnessError(f"{archive}: cannot unpack ({exc}); the archive is damaged or incomplete") from exc
    found = sorted(destination.glob(f"*/{BUNDLE_RECORD}"))
    if len(found) != 1:
        raise HarnessError(f"{archive}: holds {len(found)} {BUNDLE_RECORD} files, not one; not a harness bundle")
    return found[0].parent


def check(folder: Path) -> list[dict[str, str]]:
    """Every file of an unpacked bundle against BUNDLE.json: [{file, problem}] for each one that is
    missing, whose sha256 differs (tampered with or damaged), or that the record does not list."""
    record = read_record(folder / BUNDLE_RECORD)
    if record.get("format") != FORMAT:
        raise HarnessError(f"{folder / BUNDLE_RECORD}: format {record.get('format')!r}, expected {FORMAT!r}")
    results = folder / RESULTS
    problems = []
    for name, info in record["files"].items():
        path = results / name
        if not path.is_file():
            problems.append({"file": name, "problem": "missing"})
        elif (digest := sha256_file(path)) != info["sha256"]:
            problems.append({"file": name, "problem": f"sha256 {digest[:16]}... but recorded {info['sha256'][:16]}..."})
    present = {p.relative_to(results).as_posix() for p in results.rglob("*") if p.is_file()}
    problems += [{"file": name, "problem": "not listed in BUNDLE.json"} for name in sorted(present - set(record["files"]))]
    return problems


def open_bundle(archive: Path, destination: Path | None) -> tuple[Path, list[dict[str, Any]]]:
    """Unpack and check a bundle for verify: (its results directory, one verification row per
    problem, or a single row saying every file matched)."""
    folder = unpack(archive, destination or Path.cwd() / bundle_name(archive))
    problems = check(folder)
    print(f"unpacked {archive} (sha256 {sha256_file(archive)}) into {folder}", file=sys.stderr)
    base = {"stage": "bundle", "largest_difference": float("nan"), "compared": "sha256 against BUNDLE.json",
            "environment": "", "seconds": 0.0}
    if not problems:
        count = len(read_record(folder / BUNDLE_RECORD)["files"])
        return folder / RESULTS, [{**base, "job": f"{count} files", "outcome": "identical", "detail": "every file matches"}]
    return folder / RESULTS, [{**base, "job": p["file"], "outcome": "differs", "detail": p["problem"]} for p in problems]

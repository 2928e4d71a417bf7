"""A checkout made the way a user makes it: a git clone of this repository into a temporary folder,
then `bash scripts/setup.sh` (the runtime environment, without the test extras), in a shell
environment without this test run's virtual environment. The documented-command and
runtime-dependency tests share it (one session fixture, registered in conftest.py).

The clone is of the commit under test with the working tree's uncommitted changes copied over, so it
holds what a commit of this working tree would give a user (in CI, the commit itself).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Set by the test run's own environment (make test, an activated venv, pytest, make): a user's fresh
# shell has none of them.
DROPPED = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "CONDA_PREFIX", "CONDA_DEFAULT_ENV",
           "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST", "PYTEST_VERSION",
           "DOC_COMMAND_TIMES")


# DOC_COMMAND_TIMES=FILE.csv: also write the setup's and each documented command's time there
# (document, command, seconds, result); this is how docs/measurements/documented_commands.csv is made.
TIMES_CSV = os.environ.get("DOC_COMMAND_TIMES")
_times_started = False


def record_time(document: str, command: str, seconds: float | None, result: str) -> None:
    global _times_started
    if not TIMES_CSV:
        return
    with open(TIMES_CSV, "a" if _times_started else "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        if not _times_started:
            writer.writerow(["document", "command", "seconds", "result"])
        writer.writerow([document, command, "" if seconds is None else f"{seconds:.1f}", result])
    _times_started = True


@dataclass(frozen=True)
class UserCheckout:
    path: Path               # the clone's root
    env: dict[str, str]      # a user's shell environment: no virtual environment on PATH
    setup_seconds: float

    @property
    def python(self) -> Path:
        return self.path / ".venv" / "bin" / "python"


def user_environment() -> dict[str, str]:
    """This process's environment less what the test run added: no VIRTUAL_ENV, no PYTHONPATH, no
    virtual environment's bin/ on PATH (a folder whose parent holds pyvenv.cfg)."""
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not (Path(p).parent / "pyvenv.cfg").is_file()]
    env["PATH"] = os.pathsep.join(path)
    return env


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def clone_working_tree(dest: Path) -> None:
    """Clone ROOT's HEAD into `dest`, then copy the working tree's uncommitted changes over it
    (modified and untracked, not ignored, files; deleted files removed)."""
    head = git("rev-parse", "HEAD", cwd=ROOT).strip()
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest)], check=True)
    git("checkout", "--quiet", "--detach", head, cwd=dest)
    changed = git("ls-files", "-z", "--modified", "--others", "--exclude-standard", cwd=ROOT).split("\0")
    deleted = set(git("ls-files", "-z", "--deleted", cwd=ROOT).split("\0"))
    for name in filter(None, changed):
        source, target = ROOT / name, dest / name
        if name in deleted or not source.is_file():
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


@pytest.fixture(scope="session")
def user_checkout(tmp_path_factory, request) -> UserCheckout:
    """A fresh clone with `bash scripts/setup.sh` run in it (about 1-3 minutes: pip installs the
    runtime dependencies into the clone's .venv from the local cache)."""
    dest = tmp_path_factory.mktemp("user") / "bnnas-harness"
    clone_working_tree(dest)
    env = user_environment()
    start = time.perf_counter()
    done = subprocess.run(["bash", "scripts/setup.sh"], cwd=dest, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    record_time("(every document)", "git clone, then bash scripts/setup.sh", seconds,
                "passed" if done.returncode == 0 else "failed")
    assert done.returncode == 0, f"bash scripts/setup.sh failed in a fresh clone:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nuser checkout: git clone, then bash scripts/setup.sh in {seconds:.0f} s ({dest})")
    return UserCheckout(path=dest, env=env, setup_seconds=seconds)

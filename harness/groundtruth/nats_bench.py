"""Ground truth from NATS-Bench: the official archives read through the official API
(`nats_bench.create`), or a CSV export of them.

Traps that every user of these benchmarks hits, each made explicit in NatsQuery and in every
record this module writes:

- hp: the API's `hp` defaults to '12' (a 12-epoch schedule). Ground truth is full training:
  hp='200' for the topology space (TSS), hp='90' for the size space (SSS). NatsQuery defaults to
  those, never to '12'. The SSS keys are zero-padded ('01', '12', '90'); hp=1 is normalised to '01'.
- seeds: `get_more_info(..., is_random=True)` (the API default) returns ONE randomly chosen seed,
  so two calls disagree. seed_policy "mean" queries `is_random=False` (mean over the seeds); an
  int seed queries that seed. NAS-Bench-201's seed 999 duplicates 888 for about half the TSS
  archs; the official mean includes both, and so does ours (it is the published number).
- CIFAR-10: validation accuracy exists only under the dataset key 'cifar10-valid' (trained on the
  train half, evaluated on 'x-valid'); test accuracy under 'cifar10' (trained on train+valid,
  evaluated on 'ori-test'). 'cifar10-valid' also has an 'ori-test' accuracy (the zero-cost-proxy
  papers' "CIFAR-10" column); ask for it with dataset="cifar10-valid", split="test".
  CIFAR-100 / ImageNet16-120: 'valid' / 'test' are 'x-valid' / 'x-test', the two halves of the
  original test set ('ori-test' is their union and is not used here).
- unknown archs: `query_index_by_arch` returns -1 for an unknown string instead of raising, and
  `get_more_info` then fails with an unrelated "invalid index" message; a numpy integer index is
  not an `int` to it and also gives -1. We look arch strings up ourselves and raise HarnessError.
- missing eval sets: `get_more_info` swallows the exception when an eval set is absent and simply
  leaves 'test-accuracy' / 'valid-accuracy' out of its dict; we check the key is there.
- `create(None, ...)` searches $TORCH_HOME (else $HOME/.torch) and prints even with verbose=False;
  we always pass the explicit path we located.
- the archives are bz2-compressed pickles: loading one runs arbitrary code if it was tampered
  with. Only load archives from a trusted source; every record carries the SHA-256 of the files
  actually read so a run can be traced to its bytes.

Accuracies are in percent, as NATS-Bench stores them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import pandas as pd

from harness.errors import HarnessError
from harness.results.files import sha256_file  # the one file hasher (also of benchmark files)

PICKLE_EXT = "pickle.pbz2"
META_NAME = f"meta.{PICKLE_EXT}"
DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120", "cifar10-valid")
SPLITS: tuple[str, ...] = ("test", "valid")
MEAN = "mean"
MEAN_SEED = -1  # the `seed` written for "mean over seeds" in ground-truth tables
TIDY_COLUMNS = ["space", "arch_index", "arch_str", "dataset", "split", "hp", "seed_policy", "accuracy"]
RESULT_COLUMNS = ["arch_str", "arch_index", "accuracy"]


@dataclass(frozen=True)
class SpaceInfo:
    api_name: str  # search_space argument of nats_bench.create
    base_name: str  # official archive name, without "-simple" / ".pickle.pbz2"
    full_hp: str  # hp of full training: the ground truth
    hps: tuple[str, ...]  # hp keys the official archive holds


SPACES: dict[str, SpaceInfo] = {
    "nats-tss": SpaceInfo("tss", "NATS-tss-v1_0-3ffb9", "200", ("12", "200")),
    "nats-sss": SpaceInfo("sss", "NATS-sss-v1_0-50262", "90", ("01", "12", "90")),
}


class NatsKey(NamedTuple):
    """Where a (dataset, split) lives in the official archive."""

    dataset: str  # dataset key passed to get_more_info
    eval_set: str  # evaluation-set name stored in the archive
    info_key: str  # key of get_more_info's dict holding that accuracy


_KEYS: dict[tuple[str, str], NatsKey] = {
    ("cifar10", "test"): NatsKey("cifar10", "ori-test", "test-accuracy"),
    ("cifar10", "valid"): NatsKey("cifar10-valid", "x-valid", "valid-accuracy"),
    ("cifar10-valid", "test"): NatsKey("cifar10-valid", "ori-test", "test-accuracy"),
    ("cifar10-valid", "valid"): NatsKey("cifar10-valid", "x-valid", "valid-accuracy"),
    ("cifar100", "test"): NatsKey("cifar100", "x-test", "test-accuracy"),
    ("cifar100", "valid"): NatsKey("cifar100", "x-valid", "valid-accuracy"),
    ("ImageNet16-120", "test"): NatsKey("ImageNet16-120", "x-test", "test-accuracy"),
    ("ImageNet16-120", "valid"): NatsKey("ImageNet16-120", "x-valid", "valid-accuracy"),
}


def check_space(space: str) -> SpaceInfo:
    if space not in SPACES:
        raise HarnessError(f"unknown NATS-Bench space {space!r}; known: {', '.join(SPACES)}")
    return SPACES[space]


def nats_bench_version() -> str:
    try:
        return importlib.metadata.version("nats_bench")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class NatsQuery:
    """One ground-truth column: which accuracy of which training run.

    space: "nats-tss" | "nats-sss". dataset: "cifar10", "cifar100", "ImageNet16-120" (the harness
    names), or "cifar10-valid" (the CIFAR-10 run trained on the train half). split: "test" |
    "valid". hp: training-schedule key; None means full training ("200" TSS, "90" SSS), NOT the
    API's default "12". seed_policy: "mean" (is_random=False: mean over seeds) or an int seed;
    never the API's default is_random=True (one random seed). See the module docstring for how
    (dataset, split) maps onto the archive's keys (key()).
    """

    space: str
    dataset: str
    split: str = "test"
    hp: str | None = None
    seed_policy: str | int = MEAN

    def __post_init__(self) -> None:
        info = check_space(self.space)
        if self.dataset not in DATASETS:
            raise HarnessError(f"unknown NATS-Bench dataset {self.dataset!r}; known: {', '.join(DATASETS)}")
        if self.split not in SPLITS:
            raise HarnessError(f"unknown split {self.split!r}; known: {', '.join(SPLITS)}")
        object.__setattr__(self, "hp", normalise_hp(self.hp, self.space, info))
        object.__setattr__(self, "seed_policy", normalise_seed_policy(self.seed_policy))

    def key(self) -> NatsKey:
        """Official dataset key, eval-set name and get_more_info key. CIFAR-10 valid lives only
        under 'cifar10-valid'/'x-valid'; CIFAR-10 test under 'cifar10'/'ori-test'; CIFAR-100 and
        ImageNet16-120 valid/test are 'x-valid'/'x-test'."""
        return _KEYS[(self.dataset, self.split)]

    @property
    def is_random(self) -> bool | int:
        """The get_more_info argument: False = mean over seeds, an int = that seed."""
        return False if self.seed_policy == MEAN else int(self.seed_policy)

    @property
    def seed(self) -> int:
        """Seed column of ground-truth tables: MEAN_SEED (-1) for the mean over seeds."""
        return MEAN_SEED if self.seed_policy == MEAN else int(self.seed_policy)

    def label(self) -> str:
        """Ground-truth name for reports, e.g. "nats-bench:cifar10"; non-default choices are
        appended (":valid", ":hp12", ":seed777") so two different ground truths never share one."""
        label = f"nats-bench:{self.dataset}"
        if self.split != "test":
            label += f":{self.split}"
        if self.hp != SPACES[self.space].full_hp:
            label += f":hp{self.hp}"
        if self.seed_policy != MEAN:
            label += f":seed{self.seed_policy}"
        return label

    def describe(self) -> dict[str, Any]:
        key = self.key()
        return {
            "space": self.space, "dataset": self.dataset, "split": self.split, "hp": self.hp,
            "seed_policy": self.seed_policy, "is_random": self.is_random, "dataset_key": key.dataset,
            "eval_set": key.eval_set, "metric": key.info_key, "units": "percent",
        }  # fmt: skip


def normalise_hp(hp: str | int | None, space: str, info: SpaceInfo) -> str:
    if hp is None:
        return info.full_hp
    text = str(hp).strip()
    if text.isdigit() and text.zfill(2) in info.hps:
        text = text.zfill(2)  # SSS stores '01', not '1'
    if text not in info.hps:
        raise HarnessError(f"hp {hp!r} does not exist for {space}; the archive holds {', '.join(info.hps)} "
                           f"(full training, the ground truth: {info.full_hp})")
    return text


def normalise_seed_policy(policy: str | int) -> str | int:
    if isinstance(policy, bool):
        raise HarnessError(f"seed_policy must be 'mean' or an int seed, got {policy!r}")
    if isinstance(policy, int):
        return policy
    text = str(policy).strip()
    if text == MEAN:
        return MEAN
    if text.lstrip("-").isdigit():
        return int(text)
    raise HarnessError(f"seed_policy must be 'mean' (average over seeds) or an int seed, got {policy!r}")


# --- hashing ---------------------------------------------------------------------------------

def combined_sha256(hashes: dict[str, str]) -> str:
    """SHA-256 of `sha256sum`-style lines ("<hash>  <name>\\n") sorted by name: reproducible with
    `sha256sum <the files, sorted> | sha256sum`."""
    text = "".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes))
    return hashlib.sha256(text.encode()).hexdigest()


# --- locating the official archive -----------------------------------------------------------

def torch_home() -> Path:
    """$TORCH_HOME, else ~/.torch (where nats_bench.create(None, ...) looks)."""
    return Path(os.environ["TORCH_HOME"]) if os.environ.get("TORCH_HOME") else Path.home() / ".torch"


def archive_name(space: str, fast_mode: bool) -> str:
    base = check_space(space).base_name
    return f"{base}-simple" if fast_mode else f"{base}.{PICKLE_EXT}"


def where_to_get(space: str) -> str:
    base = check_space(space).base_name
    return (
        f"The archives are linked (Google Drive) from the NATS-Bench README, github.com/D-X-Y/NATS-Bench: "
        f"download {base}-simple.tar and untar it into $TORCH_HOME (the folder {base}-simple, read with "
        f"fast mode), or use the single file {base}.{PICKLE_EXT} with fast mode off. There is no network "
        f"access from the build machines: copy the archive in, then pass its path (--path, or the config "
        f"key), or give a CSV export of it (--csv). For nats-tss the harness ships the values "
        f"(harness/groundtruth/nats_bench_data, hp 200 and 12, means over seeds) and uses them when nothing is configured."
    )


def expected_paths(space: str, fast_mode: bool) -> list[Path]:
    """Where the archive is looked for when no path is given: this mode's name first."""
    home = torch_home()
    return [home / archive_name(space, fast_mode), home / archive_name(space, not fast_mode)]


def locate_archive(space: str, path: str | Path | None, fast_mode: bool) -> Path:
    """The archive to read: `path` if given (it must exist and match fast_mode), else the
    official name for fast_mode under $TORCH_HOME. HarnessError names every path tried."""
    if path is not None:
        return check_archive(Path(path).expanduser(), space, fast_mode)
    candidate = expected_paths(space, fast_mode)[0]
    if candidate.exists():
        return check_archive(candidate, space, fast_mode)
    home_note = "$TORCH_HOME" if os.environ.get("TORCH_HOME") else "~/.torch ($TORCH_HOME is unset)"
    other = expected_paths(space, fast_mode)[1]
    raise HarnessError(
        f"NATS-Bench {space} archive not found: looked for {candidate} (fast_mode={fast_mode}, in "
        f"{home_note}); with fast_mode={not fast_mode} it would be {other}"
        f"{' (present: switch fast_mode)' if other.exists() else ''}. {where_to_get(space)}"
    )


def check_archive(path: Path, space: str, fast_mode: bool) -> Path:
    if not path.exists():
        raise HarnessError(f"NATS-Bench {space} archive {path} does not exist. {where_to_get(space)}")
    if fast_mode and not path.is_dir():
        raise HarnessError(f"{path} is a file, but fast mode reads the folder {archive_name(space, True)} "
                           f"(one file per arch); pass the folder, or turn fast mode off for this file")
    if not fast_mode and path.is_dir():
        raise HarnessError(f"{path} is a folder, but with fast mode off the API reads the single file "
                           f"{archive_name(space, False)}; turn fast mode on for this folder")
    if fast_mode and not (path / META_NAME).is_file():
        raise HarnessError(f"{path} has no {META_NAME}: not a NATS-Bench fast-mode folder "
                           f"(expected {archive_name(space, True)} from {archive_name(space, True)}.tar)")
    return path


# --- sources -----------------------------------------------------------------------------------

class GroundTruthSource(Protocol):
    def all_archs(self) -> list[str]: ...

    def query(self, arch_strs: Sequence[str], q: NatsQuery) -> pd.DataFrame: ...

    def query_many(self, arch_strs: Sequence[str], queries: Sequence[NatsQuery],
                   progress: bool = False) -> list[pd.DataFrame]: ...

    def record(self, q: NatsQuery) -> dict[str, Any]: ...


def missing_archs_error(missing: Sequence[str], total: int, where: str) -> HarnessError:
    shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
    return HarnessError(f"{len(missing)} of {total} architecture(s) are not in {where}: {shown}")


class OfficialSource:
    """The official NATS-Bench archive, read ONLY through nats_bench.create(path, ...) with the
    path located by locate_archive (never create(None, ...)).

    SHA-256 in the record: for the single file (fast mode off), of that file. For the fast-mode
    folder, of meta.pickle.pbz2 plus a combined hash (see combined_sha256) of the per-arch files
    actually opened by the queries so far: hashing all 15,625 (TSS) or 32,768 (SSS) files would
    read gigabytes that were never used.
    """

    def __init__(self, path: str | Path | None, space: str, fast_mode: bool = True) -> None:
        self.space = space
        self.info = check_space(space)
        self.fast_mode = fast_mode
        self.path = locate_archive(space, path, fast_mode)
        self._api: Any = None
        self._sha256: str | None = None
        self._arch_hashes: dict[str, str] = {}

    @property
    def api(self) -> Any:
        """The nats_bench API object, created on first use (loading the single-file archive takes
        minutes and gigabytes; the fast-mode folder only reads meta.pickle.pbz2)."""
        if self._api is None:
            import nats_bench

            try:
                self._api = nats_bench.create(str(self.path), self.info.api_name, fast_mode=self.fast_mode,
                                              verbose=False)
            except Exception as exc:  # noqa: BLE001 - the API raises ValueError, pickle/bz2 errors...
                raise HarnessError(f"nats_bench could not load {self.path}: {type(exc).__name__}: {exc}") from exc
            self._sha256 = sha256_file(self.path / META_NAME if self.fast_mode else self.path)
        return self._api

    def all_archs(self) -> list[str]:
        return list(self.api.meta_archs)

    def indexes(self, arch_strs: Sequence[str]) -> list[int]:
        """Official indexes of the arch strings; HarnessError if any is not in the archive."""
        lookup = self.api.archstr2index
        missing = [a for a in arch_strs if a not in lookup]
        if missing:
            raise missing_archs_error(missing, len(arch_strs), f"the NATS-Bench archive {self.path}")
        return [int(lookup[a]) for a in arch_strs]

    def query(self, arch_strs: Sequence[str], q: NatsQuery) -> pd.DataFrame:
        return self.query_many(arch_strs, [q])[0]

    def query_many(self, arch_strs: Sequence[str], queries: Sequence[NatsQuery],
                   progress: bool = False) -> list[pd.DataFrame]:
        """One frame [arch_str, arch_index, accuracy] per query. Each arch is loaded once for all
        queries and, in fast mode, dropped from the API's cache afterwards (the cache would grow
        to every arch file of the archive)."""
        for q in queries:
            self.check_query(q)
        arch_strs = list(arch_strs)
        indexes = self.indexes(arch_strs)
        values: list[list[float]] = [[] for _ in queries]
        for index in progress_bar(indexes, progress, f"NATS-Bench {self.space}"):
            if self.fast_mode:
                self.hash_arch_file(index)
            for column, q in zip(values, queries):
                column.append(self.accuracy(index, q))
            self.release(index)
        return [pd.DataFrame({"arch_str": arch_strs, "arch_index": indexes, "accuracy": column})
                for column in values]

    def check_query(self, q: NatsQuery) -> None:
        if q.space != self.space:
            raise HarnessError(f"query for {q.space} sent to the {self.space} archive {self.path}")

    def accuracy(self, index: int, q: NatsQuery) -> float:
        key = q.key()
        try:
            info = self.api.get_more_info(index, key.dataset, hp=q.hp, is_random=q.is_random)
        except (KeyError, ValueError, IndexError, TypeError) as exc:
            raise HarnessError(
                f"NATS-Bench {self.space} arch {index}: no {key.dataset}/{key.eval_set} result for hp={q.hp}, "
                f"seed_policy={q.seed_policy} in {self.path} ({type(exc).__name__}: {exc})"
            ) from exc
        if key.info_key not in info:
            raise HarnessError(f"NATS-Bench {self.space} arch {index}: {key.dataset} has no {key.eval_set} "
                               f"accuracy for hp={q.hp} in {self.path} (get_more_info gave {sorted(info)})")
        return float(info[key.info_key])

    def hash_arch_file(self, index: int) -> None:
        """Hash the file nats_bench's reload() opens for `index` ({index:06d}, else {index})."""
        for name in (f"{index:06d}.{PICKLE_EXT}", f"{index}.{PICKLE_EXT}"):
            if name in self._arch_hashes:
                return
            path = self.path / name
            if path.is_file():
                self._arch_hashes[name] = sha256_file(path)
                return
        raise HarnessError(f"NATS-Bench {self.space} arch {index}: {self.path} has no "
                           f"{index:06d}.{PICKLE_EXT}; the fast-mode folder is incomplete")

    def release(self, index: int) -> None:
        """Forget a fast-mode arch the API loaded (its next query reloads it from disk)."""
        if self.fast_mode:
            self.api.arch2infos_dict.pop(index, None)
            self.api.evaluated_indexes.discard(index)

    def record(self, q: NatsQuery) -> dict[str, Any]:
        _ = self.api  # the main file is read and hashed on first use
        record: dict[str, Any] = {
            "source": "nats-bench-archive", "path": str(self.path), "file": self.path.name,
            "fast_mode": self.fast_mode, "nats_bench_version": nats_bench_version(), **q.describe(),
        }  # fmt: skip
        record["sha256_of"] = META_NAME if self.fast_mode else self.path.name
        record["sha256"] = self._sha256
        if self.fast_mode:
            record["arch_files"] = {
                "count": len(self._arch_hashes),
                "sha256": combined_sha256(self._arch_hashes),
                "method": "sha256 of the `sha256sum` lines (sorted by name) of the per-arch files opened so far",
            }
        return record


class CsvSource:
    """A CSV of NATS-Bench accuracies, in one of two formats:

    - tidy (written by `groundtruth export`): columns TIDY_COLUMNS, one row per
      (arch, dataset, split, hp, seed_policy);
    - wide (the shared nb201_tss_wide.csv / nb201_tss_hp12_wide.csv, nats-tss only): columns
      index, arch_str and one per accuracy, named {prefix}_{split}_acc_{hp} with prefix from the
      official dataset key (WIDE_PREFIX): cifar10/test/200 -> c10_test_acc_200, cifar10/valid ->
      c10valid_valid_acc_200, cifar10-valid/test -> c10valid_test_acc_200, cifar100/test ->
      c100_test_acc_200, ImageNet16-120/test -> in16_test_acc_200. Wide columns are means over
      seeds: an int seed_policy cannot be answered.
    """

    WIDE_PREFIX = {"cifar10": "c10", "cifar10-valid": "c10valid", "cifar100": "c100", "ImageNet16-120": "in16"}
    WIDE_SPACE = "nats-tss"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise HarnessError(f"NATS-Bench CSV {self.path} not found")
        self.frame = pd.read_csv(self.path, dtype={"hp": str, "seed_policy": str})
        if set(TIDY_COLUMNS) <= set(self.frame.columns):
            self.format = "tidy"
        elif {"index", "arch_str"} <= set(self.frame.columns):
            self.format = "wide"
        else:
            raise HarnessError(f"{self.path}: neither a tidy export (columns {TIDY_COLUMNS}) nor a wide NATS-Bench "
                               f"table (index, arch_str, <accuracy columns>); has {list(self.frame.columns)}")
        self._sha256 = sha256_file(self.path)

    def all_archs(self) -> list[str]:
        return list(dict.fromkeys(self.frame["arch_str"]))

    def wide_column(self, q: NatsQuery) -> str:
        if q.space != self.WIDE_SPACE:
            raise HarnessError(f"{self.path} is a wide {self.WIDE_SPACE} table; it cannot answer a {q.space} query")
        columns = [c for c in self.frame.columns if "_acc_" in c]
        if q.seed_policy != MEAN:
            raise HarnessError(f"{self.path} holds means over seeds; it cannot answer seed_policy="
                               f"{q.seed_policy} ({q.label()}); accuracy columns present: {columns}. For "
                               f"one seed, configure the official archive (nats_bench.archive)")
        column = f"{self.WIDE_PREFIX[q.key().dataset]}_{q.split}_acc_{q.hp}"
        if column not in self.frame.columns:
            raise HarnessError(f"{self.path} cannot answer {q.label()} (dataset={q.dataset}, split={q.split}, "
                               f"hp={q.hp}): it has no column {column}; accuracy columns present: {columns}")
        return column

    def selection(self, q: NatsQuery) -> pd.DataFrame:
        """[arch_str, arch_index, accuracy] rows of the whole file that answer q."""
        if self.format == "wide":
            column = self.wide_column(q)
            return pd.DataFrame({"arch_str": self.frame["arch_str"], "arch_index": self.frame["index"],
                                 "accuracy": self.frame[column]})
        rows = self.frame[self.tidy_matches(q)]
        if rows.empty:
            present = sorted({tuple(r) for r in self.frame[["space", "dataset", "split", "hp", "seed_policy"]]
                             .astype(str).itertuples(index=False)})
            raise HarnessError(f"{self.path} cannot answer {q.label()} ({q.space}, dataset={q.dataset}, "
                               f"split={q.split}, hp={q.hp}, seed_policy={q.seed_policy}); it holds (space, "
                               f"dataset, split, hp, seed_policy) = {present}")
        return rows[RESULT_COLUMNS]

    def tidy_matches(self, q: NatsQuery) -> pd.Series:
        """Rows of the same space, hp and seed policy whose (dataset, split) maps to the same
        official key (so "cifar10/valid" rows answer "cifar10-valid/valid" and vice versa)."""
        groups = self.frame.groupby(["space", "dataset", "split", "hp", "seed_policy"], sort=False).groups
        mask = pd.Series(False, index=self.frame.index)
        for (space, dataset, split, hp, policy), index in groups.items():
            if space == q.space and str(hp) == q.hp and normalise_seed_policy(policy) == q.seed_policy \
                    and _KEYS.get((dataset, split)) == q.key():
                mask[index] = True
        return mask

    def query(self, arch_strs: Sequence[str], q: NatsQuery) -> pd.DataFrame:
        selected = self.selection(q)
        duplicated = selected["arch_str"][selected["arch_str"].duplicated()].unique()
        if len(duplicated):
            raise HarnessError(f"{self.path}: {len(duplicated)} arch(s) have more than one {q.label()} row "
                               f"(e.g. {duplicated[0]})")
        by_arch = selected.set_index("arch_str")
        arch_strs = list(arch_strs)
        missing = [a for a in arch_strs if a not in by_arch.index]
        if missing:
            raise missing_archs_error(missing, len(arch_strs), str(self.path))
        result = by_arch.loc[arch_strs].reset_index()
        if result["accuracy"].isna().any():
            raise HarnessError(f"{self.path}: {int(result['accuracy'].isna().sum())} requested arch(s) have "
                               f"no {q.label()} value (empty cell)")
        return result[RESULT_COLUMNS].astype({"arch_index": int, "accuracy": float})

    def query_many(self, arch_strs: Sequence[str], queries: Sequence[NatsQuery],
                   progress: bool = False) -> list[pd.DataFrame]:
        return [self.query(arch_strs, q) for q in queries]

    def record(self, q: NatsQuery) -> dict[str, Any]:
        record: dict[str, Any] = {
            "source": "csv", "path": str(self.path), "file": self.path.name, "sha256": self._sha256,
            "format": self.format, **q.describe(),
        }  # fmt: skip
        if self.format == "wide":
            record["column"] = self.wide_column(q)
        if self.path.suffix == ".xz":  # the bundled tables: also the checksum of the published CSV
            from harness.groundtruth.nats_bench_bundled import BUNDLED_DIR, uncompressed_sha256

            record["sha256_uncompressed"] = uncompressed_sha256(self.path)
            record["bundled"] = self.path.parent == BUNDLED_DIR
        sidecar = self.path.with_name(self.path.name + ".json")
        if sidecar.is_file():  # the export's own record of what it queried from the archive
            record["sidecar"] = {"path": str(sidecar), "sha256": sha256_file(sidecar)}
        return record


def find_source(space: str, configured_path: str | Path | None = None, csv_path: str | Path | None = None,
                fast_mode: bool = True, hp: str | None = None,
                seed_policy: str | int = MEAN) -> CsvSource | OfficialSource | None:
    """The ground-truth source a run should use: the configured CSV, else the configured official
    archive, else for nats-tss the table bundled with the package (harness/groundtruth/nats_bench_data; hp
    200 or 12, means over seeds: not for an int seed_policy), else the official archive under $TORCH_HOME (either mode's name), else None (the
    workflow reports "skipped" with how_to_enable()). A configured path that does not exist is an
    error, never a silent skip. The bundled table comes before $TORCH_HOME so that a default run
    gives the same answer on every machine."""
    from harness.groundtruth import nats_bench_bundled as bundled

    if csv_path:
        return CsvSource(csv_path)
    if configured_path:
        return OfficialSource(configured_path, space, fast_mode)
    if space == bundled.BUNDLED_SPACE and str(hp or SPACES[space].full_hp) in bundled.TABLE_FOR_HP \
            and normalise_seed_policy(seed_policy) == MEAN:
        return CsvSource(bundled.bundled_table(hp))
    for mode in (fast_mode, not fast_mode):
        if (torch_home() / archive_name(space, mode)).exists():
            return OfficialSource(None, space, mode)
    return None


def how_to_enable(space: str) -> str:
    """The "skipped" note for a run without a NATS-Bench source."""
    tried = ", ".join(str(p) for p in expected_paths(space, True))
    return (f"NATS-Bench ground truth for {space} skipped: no CSV or archive configured and none found "
            f"({tried}). {where_to_get(space)}")


def progress_bar(items: Iterable[int], enabled: bool, description: str) -> Iterable[int]:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=description, unit="arch")

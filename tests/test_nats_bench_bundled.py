"""The NATS-Bench tables bundled with the package: their bytes are the published CSVs (the
SHA-256 of the uncompressed bytes, recorded beside them), they are package data, and
they are the default NATS-Bench source for nats-tss."""

from __future__ import annotations

import lzma
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd
import pytest

from harness.groundtruth import nats_bench_bundled as bundled
from harness.errors import HarnessError
from harness.groundtruth.nats_bench import CsvSource, NatsQuery, find_source

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("table", sorted(bundled.BUNDLED_SHA256))
def test_bundled_table_has_the_published_checksum(table):
    path = bundled.bundled_path(table)
    assert bundled.uncompressed_sha256(path) == bundled.BUNDLED_SHA256[table]
    assert path.stat().st_size < 1_000_000  # compressed: the package stays small
    assert bundled.BUNDLED_SHA256[table] in (bundled.BUNDLED_DIR / "README.md").read_text()


def test_checksum_detects_a_changed_byte(tmp_path):
    data = bytearray(lzma.decompress(bundled.bundled_path(bundled.FULL_TABLE).read_bytes()))
    data[-3] = ord("0") if data[-3] != ord("0") else ord("1")
    changed = tmp_path / "changed.csv.xz"
    changed.write_bytes(lzma.compress(bytes(data)))
    assert bundled.uncompressed_sha256(changed) != bundled.BUNDLED_SHA256[bundled.FULL_TABLE]


def test_bundled_tables_are_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["harness"]
    files = [p.relative_to(ROOT / "harness").as_posix() for p in bundled.BUNDLED_DIR.iterdir()]
    assert sorted(files) == sorted(f"groundtruth/nats_bench_data/{name}" for name in
                                   ["README.md", *(f"{table}.xz" for table in bundled.BUNDLED_SHA256)])
    assert all(any(fnmatch(f, p) for p in patterns) for f in files)


def test_default_source_for_nats_tss_is_the_bundled_table(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # nothing there
    source = find_source("nats-tss")
    assert isinstance(source, CsvSource) and source.path == bundled.bundled_path(bundled.FULL_TABLE)
    assert find_source("nats-tss", hp="12").path == bundled.bundled_path(bundled.HP12_TABLE)
    assert find_source("nats-sss") is None  # no bundled size-space table
    assert find_source("nats-tss", seed_policy=777) is None  # means over seeds only: not the bundled table
    configured = tmp_path / "mine.csv"
    pd.read_csv(source.path).head(3).to_csv(configured, index=False)
    assert find_source("nats-tss", csv_path=configured).path == configured  # configuration wins


def test_bundled_table_answers_every_default_query():
    """The README's sanity figures: best CIFAR-10 94.3733 (index 6111), CIFAR-100 73.5133 (9930),
    ImageNet16-120 47.3111 (857); plus the cifar10-valid columns."""
    source = find_source("nats-tss")
    archs = source.all_archs()
    assert len(archs) == 15_625
    for dataset, best, index in [("cifar10", 94.3733, 6111), ("cifar100", 73.5133, 9930),
                                 ("ImageNet16-120", 47.3111, 857)]:
        result = source.query(archs, NatsQuery("nats-tss", dataset))
        top = result.loc[result["accuracy"].idxmax()]
        assert top["accuracy"] == pytest.approx(best, abs=1e-4) and top["arch_index"] == index
    for split in ("test", "valid"):
        values = source.query(archs, NatsQuery("nats-tss", "cifar10-valid", split))["accuracy"]
        assert values.notna().all() and 80 < values.median() < 95
    record = source.record(NatsQuery("nats-tss", "cifar10"))
    assert record["bundled"] is True and record["sha256_uncompressed"] == bundled.BUNDLED_SHA256[bundled.FULL_TABLE]


def test_bundled_table_refuses_what_it_cannot_answer():
    with pytest.raises(HarnessError, match="hp 200 and 12"):
        bundled.bundled_table("01")
    with pytest.raises(HarnessError, match="official archive"):
        find_source("nats-tss").query([], NatsQuery("nats-tss", "cifar10", seed_policy=777))

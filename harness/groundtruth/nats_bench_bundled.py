"""The NATS-Bench topology-space tables shipped inside the package (harness/groundtruth/nats_bench_data/).

Every clone judges nats-tss against NATS-Bench with no download: the two wide tables (15,625
architectures each; see harness/groundtruth/nats_bench_data/README.md for source and columns) are stored
xz-compressed, and pandas reads them as they are. BUNDLED_SHA256 is the SHA-256 of each table
*uncompressed* (the bytes of the published CSV), so a copy can be checked against the original
with `xz -dc FILE.csv.xz | sha256sum`.
"""

from __future__ import annotations

import hashlib
import lzma
from pathlib import Path

from harness.errors import HarnessError

BUNDLED_DIR = Path(__file__).resolve().parent / "nats_bench_data"
BUNDLED_SPACE = "nats-tss"
FULL_TABLE = "nb201_tss_wide.csv"  # 200-epoch accuracies (and cifar10-valid, FLOPs, params)
HP12_TABLE = "nb201_tss_hp12_wide.csv"  # 12-epoch accuracies: a low-fidelity signal, not ground truth
BUNDLED_SHA256: dict[str, str] = {
    FULL_TABLE: "edabd0fa7ba8bb62cf82c3a91f0d84cc169873850da36194f1ca3e1202f69bc9",
    HP12_TABLE: "5db6f508c02b3a4481b6baa29753c1a59be27325402790e1e85ad0c2355fa252",
}
TABLE_FOR_HP: dict[str, str] = {"200": FULL_TABLE, "12": HP12_TABLE}


def bundled_path(table: str) -> Path:
    """The compressed file of one bundled table (`table` is the CSV's name, e.g. FULL_TABLE)."""
    if table not in BUNDLED_SHA256:
        raise HarnessError(f"no bundled NATS-Bench table {table!r}; bundled: {', '.join(BUNDLED_SHA256)}")
    path = BUNDLED_DIR / f"{table}.xz"
    if not path.is_file():
        raise HarnessError(f"the bundled NATS-Bench table {path} is missing from this installation; "
                           "reinstall the package (it ships as package data) or configure nats_bench.csv")
    return path


def bundled_table(hp: str | None) -> Path:
    """The bundled nats-tss table answering schedule `hp` (None = full training, 200 epochs)."""
    key = "200" if hp is None else str(hp)
    if key not in TABLE_FOR_HP:
        raise HarnessError(f"the bundled NATS-Bench tables hold hp 200 and 12 for nats-tss, not hp={hp!r}; "
                           "configure nats_bench.archive (the official archive) for other schedules")
    return bundled_path(TABLE_FOR_HP[key])


def uncompressed_sha256(path: Path) -> str:
    """SHA-256 of the decompressed bytes of an .xz file (streamed)."""
    digest = hashlib.sha256()
    with lzma.open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

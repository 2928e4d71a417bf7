"""The prepared splits on disk: prepare-data writes them once, every later job loads them
(tensors for the small datasets, a manifest of image files for ImageNet)."""

from __future__ import annotations

from pathlib import Path

from harness.data.datasets import SPLITS_FORMAT, TENSOR_KEYS, DataSplits
from harness.data.imagenet import is_manifest, splits_from_manifest
from harness.data.shapes import InputShape
from harness.errors import HarnessError
from harness.io import save_torch
from harness.results.files import read_torch_file


def save_splits(splits: DataSplits, path: str | Path) -> None:
    """One torch file (written atomically) with the tensors and plain metadata."""
    tensors = {key: getattr(splits, key).contiguous() for key in TENSOR_KEYS}
    save_torch({"format": SPLITS_FORMAT, **splits.describe(), **tensors}, path)


def load_splits(path: str | Path) -> DataSplits:
    """The splits save_splits wrote, or for ImageNet an ImageFolderSplits (same interface,
    images read from disk) from the manifest harness.data.imagenet.save_manifest wrote."""
    path = Path(path)
    fix = f"rerun the prepare-data step (python -m harness prepare-data), or delete {path} so the pipeline rebuilds it"
    if not path.is_file():
        raise HarnessError(f"dataset file {path} does not exist; {fix}")
    saved = read_torch_file(path, "cpu", what="dataset file", fix=fix)
    if is_manifest(saved):  # ImageNet: prepare-data wrote a manifest of files on disk, not tensors
        return splits_from_manifest(saved, path)
    if not isinstance(saved, dict) or saved.get("format") != SPLITS_FORMAT:
        found = saved.get("format") if isinstance(saved, dict) else type(saved).__name__
        raise HarnessError(f"dataset file {path} has format {found!r}, expected {SPLITS_FORMAT}; {fix}")
    return DataSplits(
        dataset=saved["dataset"],
        **{key: saved[key] for key in TENSOR_KEYS},
        mean=tuple(saved["mean"]),
        std=tuple(saved["std"]),
        input_shape=InputShape(**saved["input_shape"]),
        augment=saved["augment"],
        provenance=saved["provenance"],
    )

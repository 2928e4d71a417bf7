"""ImageNet (ILSVRC2012) read from disk in torchvision's ImageFolder layout, never held in memory.

Layout under the configured root: `root/train/<wnid>/*.JPEG` (the official training set) and
`root/val/<wnid>/*.JPEG` (the official validation set, sorted into class folders). Splits as the
SPOS / BN-NAS code makes them: validation = a seeded subset of the official training set (50,000
images by default, `dataset.val_images`), train = the rest of it (or `dataset.train_images`
images if that is smaller), test = the official validation set (all of it, or a seeded subset of
`dataset.test_images`). Class labels are the indices of the sorted train/ folder names
(torchvision's ImageFolder convention).

The prepare-data step scans the folders once and writes a manifest (root, the relative file
names and labels of every split, sizes, seed; no pixels) in place of the tensor file the in-memory
datasets write; `harness.data.store.load_splits` recognises it and returns an ImageFolderSplits, which
the rest of the harness uses exactly like a DataSplits: `train_y`/`val_y`/`test_y`, `input_shape`,
`mean`/`std`, `augment`, `provenance`, `describe()` and `batches(...)`.

Batches are decoded by a torch DataLoader with worker processes ($HARNESS_DATA_WORKERS, default
min(8, available CPUs)). Training batches with augmentation get the standard ImageNet transforms
(RandomResizedCrop to the resolution, scale 0.08-1, aspect 3/4-4/3, then a horizontal flip with
p = 0.5); every other pass resizes the shorter side to resolution * 256 / 224 and centre-crops.
Determinism: the caller's generator draws the order and one seed per image; each image's crop and
flip come from its own seed, so a pass is reproducible from the generator's seed whatever the
number of workers.

Provenance: no SHA-256 of the ~1.3 million files (hashing ~150 GB would take longer than many
runs); the record holds the file counts, a SHA-256 of the sorted class list and one of the sorted
file names of each folder, which identify the copy's contents by name, not by bytes.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from harness.data.datasets import (TEST_SUBSET_SEED, DataSplits, check_dataset_values, check_section_keys,
                                   data_homes, held_out_test_indices, normalisation, plan_pass)
from harness.errors import HarnessError
from harness.io import save_torch, write_json
from harness.data.shapes import DATASET_SHAPES, dataset_shape
from harness.data.shapes import InputShape

NAME = "imagenet"
SPLITS = ("train", "val", "test")

# The manifest prepare-data writes in place of the tensor file: load_splits dispatches on KIND.
MANIFEST_KIND = "imagefolder-manifest"
MANIFEST_FORMAT = 1

# The ImageNet figures of the SPOS / BN-NAS code: 1,281,167 training images, of which 50,000 form
# the search-time validation split (BN-NAS supernet code: IMAGENET_TRAINING_SET_SIZE = 1231167).
DEFAULT_VAL_IMAGES = 50_000
OFFICIAL_TRAIN_IMAGES = 1_281_167
OFFICIAL_VAL_IMAGES = 50_000

# The conventional ImageNet statistics (torchvision's); not recomputed over 1.2M images.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision's ImageFolder extensions (matched case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

WORKERS_ENV = "HARNESS_DATA_WORKERS"
MAX_DEFAULT_WORKERS = 8

# Where the search looks when dataset.root is null (below $HARNESS_DATA, $TORCH_HOME/datasets, ~/data).
FOLDER_NAMES = ("imagenet", "ImageNet", "ILSVRC2012", "ilsvrc2012")

# The training and test folders of the official sets, and which one each split is drawn from.
TRAIN_FOLDER, TEST_FOLDER = "train", "val"
SPLIT_FOLDERS = {"train": TRAIN_FOLDER, "val": TRAIN_FOLDER, "test": TEST_FOLDER}

HOW_TO_GET = (
    "Get ILSVRC2012 (ImageNet-1k) from https://image-net.org/download.php (free registration; "
    "ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar). Extract the training tar and each per-class tar "
    "inside it into ROOT/train/<wnid>/, and sort the 50,000 validation images into ROOT/val/<wnid>/ "
    "(e.g. with the widely used valprep.sh script from soumith/imagenetloader.torch, or let "
    "torchvision.datasets.ImageNet(ROOT, split='val') do it with the devkit tar). Then set dataset.root to "
    "ROOT in the config (or put the folder at $HARNESS_DATA/imagenet)"
)


# --------------------------------------------------------------------------- config


@dataclass(frozen=True, kw_only=True)
class ImageNetConfig:
    """The `dataset` section of a run config for ImageNet (the keys of harness.data.datasets.DataConfig)."""

    name: str = NAME
    root: str | None = None
    resolution: int | None = None
    train_images: int | None = None  # None or more than available = every non-validation image
    val_images: int = DEFAULT_VAL_IMAGES
    test_images: int | None = None  # None = the whole official validation set
    split_seed: int = 0
    augment: bool = True

    def __post_init__(self) -> None:
        if self.name != NAME:
            raise HarnessError(f"dataset.name {self.name!r} is not ImageNet; harness.data.imagenet serves only {NAME!r}")
        check_dataset_values(self, train_images_optional=True)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ImageNetConfig:
        check_section_keys(cls, d)
        return cls(**d)

    @property
    def shape(self) -> InputShape:
        return dataset_shape(NAME, self.resolution)


def eval_resize(resolution: int) -> int:
    """Shorter side before the centre crop: 256 for 224, scaled alike for other resolutions."""
    return max(resolution, round(resolution * 256 / 224))


def default_workers() -> int:
    """DataLoader worker processes: $HARNESS_DATA_WORKERS, else min(8, CPUs this process may use)."""
    value = os.environ.get(WORKERS_ENV)
    if value is not None and value.strip():
        try:
            workers = int(value)
        except ValueError:
            workers = -1
        if workers < 0:
            raise HarnessError(f"${WORKERS_ENV} must be a whole number >= 0 (0 = decode in the main process), got {value!r}")
        return workers
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return min(MAX_DEFAULT_WORKERS, cpus)


# --------------------------------------------------------------------------- locating and scanning


def search_dirs(root: str | None) -> list[Path]:
    """Where ImageNet is looked for, in order: dataset.root, then FOLDER_NAMES under $HARNESS_DATA,
    $TORCH_HOME/datasets and ~/data. The first holding train/ and val/ wins."""
    if root:
        return [Path(root).expanduser()]
    return list(dict.fromkeys(base / name for base in data_homes() for name in FOLDER_NAMES))


def locate(root: str | None) -> Path:
    """The ImageNet root: the first search dir holding train/ and val/ folders."""
    looked = []
    for directory in search_dirs(root):
        missing = [name for name in (TRAIN_FOLDER, TEST_FOLDER) if not (directory / name).is_dir()]
        if not missing:
            return directory
        if directory.is_dir():
            looked.append(f"{directory} (exists but has no {' or '.join(name + '/' for name in missing)} folder)")
        else:
            looked.append(f"{directory} (does not exist)")
    hint = "" if root else "dataset.root is null, so the usual places were searched; "
    raise HarnessError(
        f"ImageNet not found: looked for the folders train/ and val/ (ImageFolder layout: train/<wnid>/*.JPEG, "
        f"val/<wnid>/*.JPEG) in: {'; '.join(looked)}. {hint}{HOW_TO_GET}."
    )


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _class_folders(folder: Path) -> list[str]:
    return sorted(entry.name for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith("."))


def _scan(folder: Path, classes: list[str]) -> tuple[list[str], list[int]]:
    """Sorted 'wnid/file' names of the images under folder/<class>/ and their labels."""
    files: list[str] = []
    labels: list[int] = []
    for label, wnid in enumerate(classes):
        directory = folder / wnid
        if not directory.is_dir():
            continue
        names = sorted(entry.name for entry in os.scandir(directory) if entry.is_file() and _is_image(entry.name))
        files += [f"{wnid}/{name}" for name in names]
        labels += [label] * len(names)
    return files, labels


def _sha256_lines(lines: list[str]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class _Listing:
    root: Path
    classes: list[str]
    train_files: list[str]
    train_labels: list[int]
    test_files: list[str]
    test_labels: list[int]
    test_classes: int


def scan(root: Path) -> _Listing:
    """Every image of root/train/<wnid>/ and root/val/<wnid>/ with its label (sorted train/ class index)."""
    train_dir, test_dir = root / TRAIN_FOLDER, root / TEST_FOLDER
    classes = _class_folders(train_dir)
    if not classes:
        loose = sum(1 for entry in os.scandir(train_dir) if entry.is_file() and _is_image(entry.name))
        raise HarnessError(
            f"{train_dir} has no class folders" + (f" ({loose} images lie directly in it)" if loose else "")
            + f"; it must hold one folder per class (train/<wnid>/*.JPEG). {HOW_TO_GET}."
        )
    if len(classes) > DATASET_SHAPES[NAME].classes:
        raise HarnessError(
            f"{train_dir} has {len(classes)} class folders, more than ImageNet-1k's {DATASET_SHAPES[NAME].classes}; "
            "point dataset.root at an ILSVRC2012 copy"
        )
    test_classes = _class_folders(test_dir)
    if not test_classes:
        loose = sum(1 for entry in os.scandir(test_dir) if entry.is_file() and _is_image(entry.name))
        raise HarnessError(
            f"{test_dir} has no class folders" + (f" ({loose} images lie directly in it: the validation set is not "
            "sorted into class folders yet)" if loose else "")
            + "; sort the validation images into val/<wnid>/ (e.g. with the valprep.sh script from "
            f"soumith/imagenetloader.torch). {HOW_TO_GET}."
        )
    unknown = sorted(set(test_classes) - set(classes))
    if unknown:
        shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
        raise HarnessError(
            f"{test_dir} has {len(unknown)} class folder(s) that {train_dir} lacks ({shown}); "
            "train/ and val/ must use the same class folder names (wnids)"
        )
    train_files, train_labels = _scan(train_dir, classes)
    empty = sorted(set(classes) - {name.split("/", 1)[0] for name in train_files})
    if empty:
        shown = ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else "")
        raise HarnessError(
            f"{len(empty)} class folder(s) of {train_dir} hold no images ({shown}); the extraction looks "
            f"incomplete: re-extract them. Images are files ending in {', '.join(IMAGE_EXTENSIONS)}"
        )
    test_files, test_labels = _scan(test_dir, classes)
    if not test_files:
        raise HarnessError(f"{test_dir} holds no images in its class folders; {HOW_TO_GET}.")
    return _Listing(root, classes, train_files, train_labels, test_files, test_labels, len(test_classes))


def _split_indices(cfg: ImageNetConfig, n_train: int, n_test: int) -> tuple[Tensor, Tensor, Tensor]:
    """(train, val, test) indices into the training folder's and the val folder's sorted listings."""
    if cfg.val_images >= n_train:
        raise HarnessError(
            f"dataset.val_images = {cfg.val_images} but the ImageNet training folder has only {n_train} images; "
            f"lower dataset.val_images below {n_train} (the rest is the training split)"
        )
    if cfg.test_images is not None and cfg.test_images > n_test:
        raise HarnessError(
            f"dataset.test_images = {cfg.test_images} but the ImageNet val folder has {n_test} images; "
            "lower it or set it to null to use all of them"
        )
    rest = n_train - cfg.val_images
    train_count = rest if cfg.train_images is None else min(cfg.train_images, rest)
    permutation = torch.randperm(n_train, generator=torch.Generator().manual_seed(cfg.split_seed))
    # Kept in permutation order: an unshuffled pass over the first k images (scoring's
    # `limit`) then sees a random sample of every class, not the first few classes.
    val = permutation[: cfg.val_images]
    train = permutation[cfg.val_images : cfg.val_images + train_count]
    return train, val, held_out_test_indices(cfg.test_images, n_test)


# --------------------------------------------------------------------------- serving batches


def _crop_box(width: int, height: int, rng: random.Random, scale: tuple[float, float] = (0.08, 1.0),
              ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a RandomResizedCrop box: area fraction uniform in `scale`, log
    aspect ratio uniform in `ratio`, ten tries, then the central crop clamped to `ratio`."""
    area = width * height
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(log_low, log_high))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    if width / height < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif width / height > ratio[1]:
        h, w = height, round(height * ratio[1])
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


class _ImageFiles(Dataset):
    """Items are (index, seed) when augmenting, else index; an item is (uint8 CHW image, label)."""

    def __init__(self, folder: Path, files: list[str], labels: Tensor, resolution: int, augment: bool) -> None:
        self.folder, self.files, self.labels = folder, files, labels
        self.resolution, self.augment = resolution, augment

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[Tensor, int]:
        from PIL import Image
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        index, seed = key if isinstance(key, tuple) else (key, None)
        path = self.folder / self.files[index]
        try:
            with Image.open(path) as opened:
                image = opened.convert("RGB")
        except FileNotFoundError as exc:
            raise HarnessError(f"image {path} is missing (listed by the dataset manifest); ImageNet changed since "
                               "prepare-data ran: restore the file or rerun prepare-data") from exc
        except OSError as exc:
            raise HarnessError(f"image {path} is unreadable ({exc}); re-extract it from the ILSVRC2012 tar") from exc
        size = self.resolution
        if seed is None:
            image = TF.resize(image, eval_resize(size), interpolation=InterpolationMode.BILINEAR, antialias=True)
            image = TF.center_crop(image, [size, size])
        else:
            rng = random.Random(seed)
            top, left, h, w = _crop_box(image.width, image.height, rng)
            image = TF.resized_crop(image, top, left, h, w, [size, size],
                                    interpolation=InterpolationMode.BILINEAR, antialias=True)
            if rng.random() < 0.5:
                image = TF.hflip(image)
        return TF.pil_to_tensor(image), int(self.labels[index])


class _Normalise:
    """collate_fn: stack uint8 images (in the worker) and normalise them like DataSplits does."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.scale, self.shift = normalisation(mean, std)

    def __call__(self, items: list[tuple[Tensor, int]]) -> tuple[Tensor, Tensor]:
        images = torch.stack([image for image, _ in items])
        labels = torch.tensor([label for _, label in items], dtype=torch.int64)
        return images.float().mul_(self.scale).add_(self.shift), labels


@dataclass
class ImageFolderSplits:
    """ImageNet splits served from disk: the DataSplits interface without images in memory."""

    dataset: str
    root: Path
    files: dict[str, list[str]]  # per split: 'wnid/file' names under root/SPLIT_FOLDERS[split]
    train_y: Tensor
    val_y: Tensor
    test_y: Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    input_shape: InputShape
    augment: bool
    provenance: dict[str, Any]
    num_workers: int | None = None  # None = default_workers() at each pass

    def split(self, name: str) -> tuple[list[str], Tensor]:
        """(file names relative to root/<folder>, labels) of split `name`."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; use one of {SPLITS}")
        return self.files[name], getattr(self, f"{name}_y")

    def paths(self, name: str) -> list[Path]:
        """Absolute paths of split `name`'s images."""
        files, _ = self.split(name)
        folder = self.root / SPLIT_FOLDERS[name]
        return [folder / file for file in files]

    # The same plain metadata as the in-memory splits (no file lists, no tensors).
    describe = DataSplits.describe

    def batches(
        self,
        split: str,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        augment: bool | None = None,
        drop_last: bool = False,
        limit: int | None = None,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        """Normalised float32 image batches and their int64 labels, decoded by DataLoader workers.

        Same contract as DataSplits.batches: shuffled iff `generator` is given; augmentation
        (RandomResizedCrop + flip) on by default for shuffled "train" passes of a dataset
        configured with augment=True, drawing one seed per image from the generator; `limit`
        caps the number of images (a random subset when shuffled, else the first ones).
        """
        files, labels = self.split(split)
        augment, count, permutation = plan_pass(len(labels), split, batch_size, dataset_augments=self.augment,
                                                generator=generator, augment=augment, limit=limit)
        order = list(range(count)) if permutation is None else permutation.tolist()
        keys: list[Any] = order
        if augment:
            assert generator is not None  # plan_pass refuses augmentation without one
            seeds = torch.randint(0, 2**62, (count,), generator=generator).tolist()
            keys = list(zip(order, seeds))
        dataset = _ImageFiles(self.root / SPLIT_FOLDERS[split], files, labels, self.input_shape.resolution, augment)
        workers = default_workers() if self.num_workers is None else self.num_workers
        loader = DataLoader(dataset, batch_size=batch_size, sampler=keys, num_workers=workers, drop_last=drop_last,
                            collate_fn=_Normalise(self.mean, self.std))
        return iter(loader)


# --------------------------------------------------------------------------- building and the manifest


def load_imagenet(cfg: ImageNetConfig, *, num_workers: int | None = None) -> ImageFolderSplits:
    """Locate and scan ImageNet, split it as the SPOS code does, and describe where it came from."""
    root = locate(cfg.root)
    started = time.perf_counter()
    listing = scan(root)
    scan_seconds = time.perf_counter() - started
    train, val, test = _split_indices(cfg, len(listing.train_files), len(listing.test_files))
    train_labels = torch.tensor(listing.train_labels, dtype=torch.int64)
    test_labels = torch.tensor(listing.test_labels, dtype=torch.int64)
    shape = cfg.shape
    classes = len(listing.classes)
    official = classes == shape.classes and len(listing.train_files) == OFFICIAL_TRAIN_IMAGES \
        and len(listing.test_files) == OFFICIAL_VAL_IMAGES
    provenance = {
        "dataset": NAME,
        "layout": "ImageFolder (train/<wnid>/*, val/<wnid>/*), read from disk per batch",
        "root": str(root),
        "requested_root": cfg.root,
        "split_seed": cfg.split_seed,
        "sizes": {"train": len(train), "val": len(val), "test": len(test)},
        "requested_sizes": {"train": cfg.train_images, "val": cfg.val_images, "test": cfg.test_images},
        "official_sizes": {"train": len(listing.train_files), "test": len(listing.test_files)},
        "splits": {"train": "official train set minus the validation split",
                   "val": f"seeded subset (split_seed {cfg.split_seed}) of the official train set",
                   "test": "official val set" + ("" if len(test) == len(listing.test_files)
                                                 else f" (seeded subset, seed {TEST_SUBSET_SEED})")},
        "test_subset": "all" if len(test) == len(listing.test_files) else f"seeded subset (seed {TEST_SUBSET_SEED})",
        "classes": classes,
        "classes_in_val_folder": listing.test_classes,
        "classes_sha256": _sha256_lines(listing.classes),
        "listing_sha256": {TRAIN_FOLDER: _sha256_lines(listing.train_files), TEST_FOLDER: _sha256_lines(listing.test_files)},
        "looks_like_full_ilsvrc2012": official,
        "integrity": "no per-file SHA-256 (about 1.3 million files, ~150 GB): the record holds file counts, "
                     "a SHA-256 of the sorted class list and one of the sorted file names per folder",
        "resolution": shape.resolution,
        "native_resolution": "variable (JPEGs of many sizes); 224 is the standard crop",
        "transforms": {
            "train_augmented": f"RandomResizedCrop({shape.resolution}, scale 0.08-1, ratio 3/4-4/3, bilinear) "
                               "+ horizontal flip p=0.5",
            "otherwise": f"Resize(shorter side {eval_resize(shape.resolution)}, bilinear) + CenterCrop({shape.resolution})",
        },
        "normalisation": "conventional ImageNet mean/std (torchvision), not recomputed",
        "scan_seconds": round(scan_seconds, 3),
    }
    return ImageFolderSplits(
        dataset=NAME,
        root=root,
        files={"train": [listing.train_files[i] for i in train.tolist()],
               "val": [listing.train_files[i] for i in val.tolist()],
               "test": [listing.test_files[i] for i in test.tolist()]},
        train_y=train_labels[train],
        val_y=train_labels[val],
        test_y=test_labels[test],
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        input_shape=shape,
        augment=cfg.augment,
        provenance=provenance,
        num_workers=num_workers,
    )


def save_manifest(splits: ImageFolderSplits, path: str | Path) -> None:
    """The small file prepare-data writes for ImageNet: root, file names, labels, metadata; no pixels."""
    save_torch({
        "kind": MANIFEST_KIND,
        "format": MANIFEST_FORMAT,
        **splits.describe(),
        "root": str(splits.root),
        "folders": dict(SPLIT_FOLDERS),
        # One newline-joined string per split: ~1.3M names load far faster than as a list.
        "files": {split: "\n".join(splits.files[split]) for split in SPLITS},
        "train_y": splits.train_y.contiguous(),
        "val_y": splits.val_y.contiguous(),
        "test_y": splits.test_y.contiguous(),
    }, path)


def is_manifest(saved: Any) -> bool:
    return isinstance(saved, dict) and saved.get("kind") == MANIFEST_KIND


def splits_from_manifest(saved: Mapping[str, Any], path: str | Path, *, num_workers: int | None = None) -> ImageFolderSplits:
    """The ImageFolderSplits a manifest describes; checks the root and one file per split exist."""
    fix = f"rerun the prepare-data step (python -m harness prepare-data), or delete {path} so the pipeline rebuilds it"
    if saved.get("format") != MANIFEST_FORMAT:
        raise HarnessError(f"ImageNet manifest {path} has format {saved.get('format')!r}, expected {MANIFEST_FORMAT}; {fix}")
    if dict(saved.get("folders", {})) != SPLIT_FOLDERS:
        raise HarnessError(f"ImageNet manifest {path} maps splits to folders {saved.get('folders')!r}, expected {SPLIT_FOLDERS}; {fix}")
    root = Path(saved["root"])
    files = {split: (saved["files"][split].split("\n") if saved["files"][split] else []) for split in SPLITS}
    for split in SPLITS:
        labels = saved[f"{split}_y"]
        if len(files[split]) != len(labels):
            raise HarnessError(f"ImageNet manifest {path} lists {len(files[split])} {split} files but "
                               f"{len(labels)} labels; {fix}")
        if files[split] and not (root / SPLIT_FOLDERS[split] / files[split][0]).is_file():
            raise HarnessError(
                f"ImageNet manifest {path} names root {root}, but {root / SPLIT_FOLDERS[split] / files[split][0]} "
                f"is not there on this machine: mount ImageNet at {root}, or set dataset.root and {fix}"
            )
    return ImageFolderSplits(
        dataset=saved["dataset"],
        root=root,
        files=files,
        train_y=saved["train_y"],
        val_y=saved["val_y"],
        test_y=saved["test_y"],
        mean=tuple(saved["mean"]),
        std=tuple(saved["std"]),
        input_shape=InputShape(**saved["input_shape"]),
        augment=saved["augment"],
        provenance=saved["provenance"],
        num_workers=num_workers,
    )


def prepare(section: Mapping[str, Any], output: str | Path, meta: str | Path) -> int:
    """prepare-data for ImageNet: scan, split, write the manifest to `output` and provenance to `meta`."""
    cfg = ImageNetConfig.from_dict(section)
    start = time.perf_counter()
    splits = load_imagenet(cfg)
    seconds = time.perf_counter() - start
    save_manifest(splits, output)
    write_json({"config": asdict(cfg), "load_seconds": round(seconds, 3), **splits.describe()}, meta)
    sizes = splits.provenance["sizes"]
    print(
        f"{NAME}: train {sizes['train']}, val {sizes['val']}, test {sizes['test']} images "
        f"({splits.provenance['classes']} classes) at {splits.input_shape.resolution}px from {splits.root}, "
        f"read from disk per batch; manifest -> {output} ({seconds:.1f} s)"
    )
    if not splits.provenance["looks_like_full_ilsvrc2012"]:
        official = splits.provenance["official_sizes"]
        print(f"note: {splits.root} holds {official['train']} training and {official['test']} validation images in "
              f"{splits.provenance['classes']} classes, not ILSVRC2012's {OFFICIAL_TRAIN_IMAGES} / "
              f"{OFFICIAL_VAL_IMAGES} in 1000: results are not comparable with the paper's")
    return 0

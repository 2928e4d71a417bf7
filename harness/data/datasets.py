"""Datasets in memory: the official files read, split, resized and served as normalised batches.

Every dataset here fits in memory as uint8, so a DataSplits holds plain tensors and serves
batches by indexing them; augmentation is vectorised over the batch. Splits: a seeded
permutation of the official training set gives validation (its first `val_images`) and train
(the next `train_images`); the test split comes from the official test set only.

The CIFAR and ImageNet16 files are Python pickles (their official format). Unpickling can run
code, so only read files from the official sources.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from harness.errors import HarnessError
from harness.data.shapes import DATASET_SHAPES, dataset_shape
from harness.data.shapes import InputShape

DATASETS = tuple(name for name in DATASET_SHAPES if name != "imagenet")
SPLITS = ("train", "val", "test")

# Where Debian's package dataset-fashion-mnist installs the gzipped IDX files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")

# The test subset (when test_images is below the official count) is drawn with a fixed seed, so
# runs with different split seeds are judged on the same test images.
TEST_SUBSET_SEED = 0

# Bump when the layout of the file written by save_splits changes.
SPLITS_FORMAT = 1

_RESIZE_CHUNK = 4096

_FOLDERS: dict[str, tuple[str, ...]] = {
    "fashion-mnist": ("fashion-mnist", "FashionMNIST/raw"),
    "cifar10": ("cifar-10-batches-py",),
    "cifar100": ("cifar-100-python",),
    "ImageNet16-120": ("ImageNet16",),
}

_FILES: dict[str, tuple[str, ...]] = {
    "fashion-mnist": (
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ),
    "cifar10": tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",),
    "cifar100": ("train", "test"),
    "ImageNet16-120": tuple(f"train_data_batch_{i}" for i in range(1, 11)) + ("val_data",),
}

_HOW_TO_GET: dict[str, str] = {
    "fashion-mnist": (
        "Install it with `apt-get install dataset-fashion-mnist` (files in "
        f"{DEBIAN_FASHION_MNIST}), or where a network exists download it with "
        "`torchvision.datasets.FashionMNIST(ROOT, download=True)` and set dataset.root to ROOT"
    ),
    "cifar10": (
        "Download the CIFAR-10 python version (cifar-10-python.tar.gz) from "
        "https://www.cs.toronto.edu/~kriz/ and extract it under dataset.root "
        "(or $HARNESS_DATA) so that cifar-10-batches-py/ is there"
    ),
    "cifar100": (
        "Download the CIFAR-100 python version (cifar-100-python.tar.gz) from "
        "https://www.cs.toronto.edu/~kriz/ and extract it under dataset.root "
        "(or $HARNESS_DATA) so that cifar-100-python/ is there"
    ),
    "ImageNet16-120": (
        "Download ImageNet16 (the 16x16 downsampled ImageNet) as the NATS-Bench / "
        "AutoDL-Projects instructions describe (https://github.com/D-X-Y/AutoDL-Projects) "
        "and put the folder ImageNet16/ under dataset.root (or $HARNESS_DATA)"
    ),
}


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """The `dataset` section of a run config."""

    name: str
    root: str | None = None
    resolution: int | None = None
    train_images: int
    val_images: int
    test_images: int | None = None
    split_seed: int
    augment: bool

    def __post_init__(self) -> None:
        if self.name not in DATASETS:
            raise HarnessError(f"dataset.name {self.name!r} is not supported; use one of {', '.join(DATASETS)}")
        check_dataset_values(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DataConfig:
        check_section_keys(cls, d)
        required = {"name", "train_images", "val_images", "split_seed", "augment"}
        missing = sorted(required - set(d))
        if missing:
            raise HarnessError(f"dataset: missing key(s) {missing}")
        return cls(**d)


def check_dataset_values(section: Any, *, train_images_optional: bool = False) -> None:
    """The value checks every dataset section shares (DataConfig here, ImageNetConfig in
    harness.data.imagenet): root, resolution, split sizes, split seed, augment."""
    if section.root is not None and not isinstance(section.root, str):
        raise HarnessError(f"dataset.root must be a path string or null, got {section.root!r}")
    _check_int("resolution", section.resolution, minimum=1, optional=True)
    _check_int("train_images", section.train_images, minimum=1, optional=train_images_optional)
    _check_int("val_images", section.val_images, minimum=0)
    _check_int("test_images", section.test_images, minimum=1, optional=True)
    _check_int("split_seed", section.split_seed, minimum=0)
    if not isinstance(section.augment, bool):
        raise HarnessError(f"dataset.augment must be true or false, got {section.augment!r}")


def check_section_keys(cls: type, d: Any) -> None:
    """`d` is a mapping whose keys are all fields of the dataclass `cls`; a clear error otherwise."""
    if not isinstance(d, Mapping):
        raise HarnessError(f"the dataset section of the config must be an object, got {d!r}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise HarnessError(f"dataset: unknown key(s) {unknown}; allowed: {sorted(names)}")


def _check_int(key: str, value: Any, *, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or null" if optional else "")
        raise HarnessError(f"dataset.{key} must be {allowed}, got {value!r}")


@dataclass
class DataSplits:
    """The split dataset: uint8 images (N, C, H, W) at the configured resolution, int64 labels."""

    dataset: str
    train_x: Tensor
    val_x: Tensor
    test_x: Tensor
    train_y: Tensor
    val_y: Tensor
    test_y: Tensor
    mean: tuple[float, ...]  # per channel, [0, 1] scale, of the train split
    std: tuple[float, ...]
    input_shape: InputShape
    augment: bool
    provenance: dict[str, Any]

    def split(self, name: str) -> tuple[Tensor, Tensor]:
        """(images, labels) of split `name` ("train", "val" or "test")."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; use one of {SPLITS}")
        return getattr(self, f"{name}_x"), getattr(self, f"{name}_y")

    def describe(self) -> dict[str, Any]:
        """Plain metadata (no tensors): what a provenance record says about these splits."""
        return {
            "dataset": self.dataset,
            "input_shape": asdict(self.input_shape),
            "mean": list(self.mean),
            "std": list(self.std),
            "augment": self.augment,
            "provenance": self.provenance,
        }

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
        """Normalised float32 image batches and their int64 labels.

        Shuffled iff `generator` is given. Augmentation (random crop with padding
        resolution // 8, then horizontal flip) draws from the same generator, so a pass is
        reproducible from the generator's seed. By default it is on for shuffled "train" passes
        of a dataset configured with augment=True, and off otherwise: an unshuffled pass is an
        evaluation pass. `limit` caps the number of images (a random subset when shuffled).

        Batches are made where the split's tensors are (see `to`): on a GPU the indexing,
        augmentation and normalisation run there. The random numbers are drawn on the CPU from
        `generator` in the same order on every device (the order at call, then every batch's
        crop offsets and flips when the first batch is taken), and the rest is indexing and
        elementwise float32 arithmetic, so a device's batches equal the CPU's bit for bit.
        """
        images, labels = self.split(split)
        augment, count, order = plan_pass(len(labels), split, batch_size, dataset_augments=self.augment,
                                          generator=generator, augment=augment, limit=limit)
        return self._iterate(images, labels, order, count, batch_size, drop_last, augment, generator)

    def _iterate(
        self,
        images: Tensor,
        labels: Tensor,
        order: Tensor | None,
        count: int,
        batch_size: int,
        drop_last: bool,
        augment: bool,
        generator: torch.Generator | None,
    ) -> Iterator[tuple[Tensor, Tensor]]:
        device = images.device
        scale, shift = (t.to(device) for t in normalisation(self.mean, self.std))
        padding = self.input_shape.resolution // 8
        sizes = batch_sizes(count, batch_size, drop_last)
        if order is not None:
            order = order.to(device)  # one copy per pass (a no-op on the CPU)
        draws = None
        if augment:
            assert generator is not None  # checked in batches()
            draws = pass_draws(sizes, padding, generator).to(device)
        start = 0
        for size in sizes:
            stop = start + size
            if order is None:
                x, y = images[start:stop], labels[start:stop]
            else:
                index = order[start:stop]
                x, y = images[index], labels[index]
            if draws is not None:
                x = crop_flip(x, padding, draws[:, start:stop])
            start = stop
            yield x.float().mul_(scale).add_(shift), y

    def to(self, device: torch.device | str) -> DataSplits:
        """These splits with every image and label tensor on `device` (uint8 images: a CIFAR-10
        train split is 150 MB), so batches are indexed, augmented and normalised there; the
        batches are the same numbers as on the CPU (see `batches`)."""
        moved = {key: getattr(self, key).to(device) for key in TENSOR_KEYS}
        return replace(self, **moved)


TENSOR_KEYS = ("train_x", "val_x", "test_x", "train_y", "val_y", "test_y")


def on_device(data: Any, device: torch.device) -> Any:
    """Training data where the training runs: DataSplits moved to a non-CPU `device` once (a GPU
    then never waits for batches made on the CPU); the CPU's, and ImageNet's image files (read
    from disk batch by batch), as they are."""
    if device.type == "cpu" or not isinstance(data, DataSplits):
        return data
    return data.to(device)


def batch_sizes(count: int, batch_size: int, drop_last: bool) -> list[int]:
    """The sizes of a pass's batches over `count` images (a last short batch unless drop_last)."""
    full, rest = divmod(count, batch_size)
    return [batch_size] * full + ([rest] if rest and not drop_last else [])


def draw_crop_flip(count: int, padding: int, generator: torch.Generator) -> Tensor:
    """(3, count) int64 on the CPU: each image's crop offsets dy, dx in 0..2 padding and its flip
    (0/1, p = 0.5), drawn from `generator` in that order."""
    dy = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (count,), generator=generator)
    flip = torch.rand(count, generator=generator) < 0.5
    return torch.stack([dy, dx, flip.long()])


def pass_draws(sizes: list[int], padding: int, generator: torch.Generator) -> Tensor:
    """Every batch's draw_crop_flip for a whole pass, batch after batch (the stream order of
    drawing them batch by batch), in one tensor: moved to the device once per pass."""
    if not sizes:
        return torch.zeros((3, 0), dtype=torch.long)
    return torch.cat([draw_crop_flip(size, padding, generator) for size in sizes], dim=1)


def crop_flip(images: Tensor, padding: int, draws: Tensor) -> Tensor:
    """Per image: the crop of the zero-padded image at offsets (dy, dx), then a horizontal flip
    where `flip` is 1 (draws = draw_crop_flip's (3, b), on the images' device).

    One pad and one gather for the whole batch: each image's crop offsets and flip become one
    row of flat pixel indices, shared by its channels. No per-image Python loop; pure indexing,
    so the result is the same on every device.
    """
    b, c, h, w = images.shape
    padded_width = w + 2 * padding
    padded = F.pad(images, (padding, padding, padding, padding)).view(b, c, -1)
    dy, dx, flip = draws[0], draws[1], draws[2].bool()
    columns = torch.arange(w, device=images.device)
    rows = dy[:, None] + torch.arange(h, device=images.device)  # (b, h)
    cols = dx[:, None] + torch.where(flip[:, None], columns.flip(0), columns)  # (b, w)
    index = (rows[:, :, None] * padded_width + cols[:, None, :]).view(b, 1, h * w)
    return padded.gather(2, index.expand(b, c, h * w)).view(b, c, h, w)


def random_crop_flip(images: Tensor, padding: int, generator: torch.Generator) -> Tensor:
    """Per image: a random crop of the zero-padded image, then a horizontal flip with p = 0.5
    (draw_crop_flip from `generator`, applied by crop_flip on the images' device)."""
    return crop_flip(images, padding, draw_crop_flip(len(images), padding, generator).to(images.device))


# --------------------------------------------------------------------------- loading


@dataclass
class _Official:
    """A dataset's official train and test sets, native resolution, before splitting."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor


def plan_pass(n: int, split: str, batch_size: int, *, dataset_augments: bool, generator: torch.Generator | None,
              augment: bool | None, limit: int | None) -> tuple[bool, int, Tensor | None]:
    """The contract of `batches` shared by every splits class: (augment, image count, order).
    Shuffled iff a generator is given (order = its permutation, else None for file order);
    augmentation defaults to on for shuffled "train" passes of a dataset configured to augment;
    `limit` caps the count."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")
    if augment is None:
        augment = dataset_augments and split == "train" and generator is not None
    if augment and generator is None:
        raise ValueError("augmentation needs a generator (for reproducibility); pass generator= or augment=False")
    count = n if limit is None else min(limit, n)
    order = None if generator is None else torch.randperm(n, generator=generator)[:count]
    return augment, count, order


def normalisation(mean: tuple[float, ...], std: tuple[float, ...]) -> tuple[Tensor, Tensor]:
    """(scale, shift) of shape (1, C, 1, 1) mapping uint8 pixels x to (x / 255 - mean) / std as
    x * scale + shift."""
    std_t = torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    return 1.0 / (255.0 * std_t), -mean_t / std_t


def data_homes() -> list[Path]:
    """Where users keep datasets, in search order: $HARNESS_DATA, $TORCH_HOME/datasets, ~/data."""
    homes = []
    if os.environ.get("HARNESS_DATA"):
        homes.append(Path(os.environ["HARNESS_DATA"]).expanduser())
    if os.environ.get("TORCH_HOME"):
        homes.append(Path(os.environ["TORCH_HOME"]).expanduser() / "datasets")
    homes.append(Path.home() / "data")
    return homes


def search_dirs(name: str, root: str | None) -> list[Path]:
    """Where load_dataset looks for dataset `name`, in order; the first with every file wins."""
    bases = ([Path(root).expanduser()] if root else []) + data_homes()
    dirs = [Path(root).expanduser()] if root else []
    dirs += [base / folder for base in bases for folder in _FOLDERS[name]]
    if name == "fashion-mnist":
        dirs.append(DEBIAN_FASHION_MNIST)
    return list(dict.fromkeys(dirs))


def _locate(name: str, root: str | None) -> tuple[Path, dict[str, Path]]:
    """The first search dir holding every official file of `name`, and those files."""
    looked = []
    for directory in search_dirs(name, root):
        found = {stem: _find_file(directory, stem, name) for stem in _FILES[name]}
        if all(found.values()):
            return directory, {stem: path for stem, path in found.items() if path is not None}
        missing = [stem for stem, path in found.items() if path is None]
        partial = len(missing) < len(found)
        looked.append(f"{directory} (has some files but lacks {', '.join(missing)})" if partial else str(directory))
    compressed = " (each plain or .gz)" if name == "fashion-mnist" else ""
    raise HarnessError(
        f"dataset {name!r} not found: looked for {', '.join(_FILES[name])}{compressed} in: {'; '.join(looked)}. "
        f"{_HOW_TO_GET[name]}."
    )


def _find_file(directory: Path, stem: str, name: str) -> Path | None:
    """`directory/stem`, or for Fashion-MNIST also its gzipped form; None if neither exists."""
    options = [stem, stem + ".gz"] if name == "fashion-mnist" else [stem]
    for option in options:
        if (directory / option).is_file():
            return directory / option
    return None


def _corrupt(name: str, path: Path, problem: str) -> HarnessError:
    return HarnessError(f"{path} is corrupt ({problem}); re-download or reinstall it. {_HOW_TO_GET[name]}.")


def _read(name: str, path: Path, record: list[dict[str, Any]]) -> bytes:
    """The content of `path` (gunzipped if .gz); appends its size and SHA-256 to `record`."""
    raw = path.read_bytes()
    record.append({"path": str(path), "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()})
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise _corrupt(name, path, f"bad gzip data: {exc}") from exc


def _read_idx(path: Path, record: list[dict[str, Any]], magic: int, dims: int) -> np.ndarray:
    """An IDX file of unsigned bytes: big-endian magic, `dims` sizes, then the data."""
    data = _read("fashion-mnist", path, record)
    header = 4 * (1 + dims)
    if len(data) < header:
        raise _corrupt("fashion-mnist", path, f"{len(data)} bytes, too short for an IDX header")
    found, *shape = struct.unpack(f">{1 + dims}I", data[:header])
    if found != magic:
        raise _corrupt("fashion-mnist", path, f"IDX magic number {found:#010x}, expected {magic:#010x}")
    count = int(np.prod(shape))
    if len(data) - header != count:
        raise _corrupt("fashion-mnist", path, f"{len(data) - header} data bytes but the header says {shape}")
    return np.frombuffer(data, dtype=np.uint8, count=count, offset=header).reshape(shape).copy()


def _fashion_mnist_pair(files: dict[str, Path], prefix: str, record: list[dict[str, Any]]) -> tuple[Tensor, Tensor]:
    images_path, labels_path = files[f"{prefix}-images-idx3-ubyte"], files[f"{prefix}-labels-idx1-ubyte"]
    images = _read_idx(images_path, record, magic=0x00000803, dims=3)
    labels = _read_idx(labels_path, record, magic=0x00000801, dims=1)
    shape = DATASET_SHAPES["fashion-mnist"]
    if images.shape[1:] != (shape.resolution, shape.resolution):
        raise _corrupt("fashion-mnist", images_path, f"images of {images.shape[1:]} pixels, expected 28x28")
    if len(labels) != len(images):
        raise _corrupt("fashion-mnist", labels_path, f"{len(labels)} labels for {len(images)} images in {images_path.name}")
    if labels.max(initial=0) >= shape.classes:
        raise _corrupt("fashion-mnist", labels_path, f"label {labels.max()} outside 0..{shape.classes - 1}")
    return torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _load_fashion_mnist(name: str, files: dict[str, Path], record: list[dict[str, Any]]) -> _Official:
    train_x, train_y = _fashion_mnist_pair(files, "train", record)
    test_x, test_y = _fashion_mnist_pair(files, "t10k", record)
    return _Official(train_x, train_y, test_x, test_y)


def _unpickle_batch(
    name: str, path: Path, record: list[dict[str, Any]], label_key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, C, R, R) and labels of one pickled batch file ({'data': N x C*R*R uint8, labels})."""
    data = _read(name, path, record)
    try:
        # latin1: the official files are Python 2 pickles holding numpy arrays.
        entry = pickle.loads(data, encoding="latin1")
    except Exception as exc:  # a damaged pickle can fail in many ways; all mean "corrupt"
        raise _corrupt(name, path, f"cannot unpickle: {type(exc).__name__}: {exc}") from exc
    if not isinstance(entry, dict) or "data" not in entry or label_key not in entry:
        raise _corrupt(name, path, f"expected a dict with keys 'data' and {label_key!r}")
    shape = DATASET_SHAPES[name]
    images, labels = entry["data"], np.asarray(entry[label_key], dtype=np.int64)
    pixels = shape.channels * shape.resolution**2
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != pixels:
        found = f"{type(images).__name__} {getattr(images, 'shape', '')} {getattr(images, 'dtype', '')}"
        raise _corrupt(name, path, f"'data' is {found}, expected uint8 of shape (N, {pixels})")
    if labels.shape != (len(images),):
        raise _corrupt(name, path, f"{labels.size} labels for {len(images)} images")
    return images.reshape(-1, shape.channels, shape.resolution, shape.resolution), labels


def _check_labels(name: str, path: Path, labels: np.ndarray, low: int, high: int) -> None:
    if labels.size and (labels.min() < low or labels.max() > high):
        raise _corrupt(name, path, f"labels outside {low}..{high}")


def _load_cifar(name: str, files: dict[str, Path], record: list[dict[str, Any]]) -> _Official:
    label_key = "labels" if name == "cifar10" else "fine_labels"
    classes = DATASET_SHAPES[name].classes
    parts = {}
    for stem, path in files.items():
        images, labels = _unpickle_batch(name, path, record, label_key)
        _check_labels(name, path, labels, 0, classes - 1)
        parts[stem] = (images, labels)
    test_stem = _FILES[name][-1]
    train = [parts[stem] for stem in _FILES[name][:-1]]
    return _Official(
        torch.from_numpy(np.concatenate([images for images, _ in train])),
        torch.from_numpy(np.concatenate([labels for _, labels in train])),
        torch.from_numpy(parts[test_stem][0]),
        torch.from_numpy(parts[test_stem][1]),
    )


def _load_imagenet16(name: str, files: dict[str, Path], record: list[dict[str, Any]]) -> _Official:
    """ImageNet16-120: the official ImageNet16 files, keeping classes 1..120 (as 0..119)."""
    classes = DATASET_SHAPES[name].classes
    kept = {}
    for stem, path in files.items():
        images, labels = _unpickle_batch(name, path, record, "labels")
        _check_labels(name, path, labels, 1, 1000)
        keep = labels <= classes
        kept[stem] = (images[keep], labels[keep] - 1)  # filter per file: the full set is ~1 GB
    train = [kept[stem] for stem in _FILES[name][:-1]]
    return _Official(
        torch.from_numpy(np.concatenate([images for images, _ in train])),
        torch.from_numpy(np.concatenate([labels for _, labels in train])),
        torch.from_numpy(kept["val_data"][0]),
        torch.from_numpy(kept["val_data"][1]),
    )


_LOADERS: dict[str, Callable[[str, dict[str, Path], list[dict[str, Any]]], _Official]] = {
    "fashion-mnist": _load_fashion_mnist,
    "cifar10": _load_cifar,
    "cifar100": _load_cifar,
    "ImageNet16-120": _load_imagenet16,
}


def _split_indices(cfg: DataConfig, n_train: int, n_test: int) -> tuple[Tensor, Tensor, Tensor]:
    """(train, val, test) indices into the official train and test sets."""
    if cfg.train_images + cfg.val_images > n_train:
        raise HarnessError(
            f"dataset.train_images + dataset.val_images = {cfg.train_images} + {cfg.val_images} but the "
            f"official training set of {cfg.name} has {n_train} images; lower dataset.train_images to at "
            f"most {max(n_train - cfg.val_images, 0)} (or dataset.val_images)"
        )
    if cfg.test_images is not None and cfg.test_images > n_test:
        raise HarnessError(
            f"dataset.test_images = {cfg.test_images} but the official test set of {cfg.name} has "
            f"{n_test} images; lower it or set it to null to use all of them"
        )
    permutation = torch.randperm(n_train, generator=torch.Generator().manual_seed(cfg.split_seed))
    val = permutation[: cfg.val_images]
    train = permutation[cfg.val_images : cfg.val_images + cfg.train_images]
    return train, val, held_out_test_indices(cfg.test_images, n_test)


def held_out_test_indices(test_images: int | None, n_test: int) -> Tensor:
    """Indices of the test split: all n_test images, or a sorted subset drawn with the fixed
    TEST_SUBSET_SEED (not the split seed: runs with different split seeds share it)."""
    if test_images is None or test_images == n_test:
        return torch.arange(n_test)
    subset = torch.randperm(n_test, generator=torch.Generator().manual_seed(TEST_SUBSET_SEED))
    return subset[:test_images].sort().values


def _resize(images: Tensor, resolution: int) -> Tensor:
    """Bilinear, antialiased resize of uint8 images (in chunks to bound memory); stays uint8."""
    n, c, h, w = images.shape
    if (h, w) == (resolution, resolution):
        return images
    out = torch.empty((n, c, resolution, resolution), dtype=torch.uint8)
    for start in range(0, n, _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK].float()
        resized = F.interpolate(chunk, size=(resolution, resolution), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + _RESIZE_CHUNK] = resized.round_().clamp_(0, 255).to(torch.uint8)
    return out


def _channel_stats(images: Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and (population) std on the [0, 1] scale, exact, from 256-bin histograms."""
    levels = torch.arange(256, dtype=torch.float64) / 255.0
    means, stds = [], []
    for channel in range(images.shape[1]):
        counts = torch.bincount(images[:, channel].reshape(-1), minlength=256).double()
        mean = (counts * levels).sum() / counts.sum()
        variance = (counts * (levels - mean) ** 2).sum() / counts.sum()
        if variance <= 0:
            raise HarnessError(f"channel {channel} of the train split is constant; the dataset files look corrupt")
        means.append(float(mean))
        stds.append(float(variance.sqrt()))
    return tuple(means), tuple(stds)


def load_dataset(cfg: DataConfig) -> DataSplits:
    """Read the official files of `cfg.name`, split, resize, and compute train statistics."""
    directory, files = _locate(cfg.name, cfg.root)
    record: list[dict[str, Any]] = []
    official = _LOADERS[cfg.name](cfg.name, files, record)
    train, val, test = _split_indices(cfg, len(official.train_y), len(official.test_y))
    shape = dataset_shape(cfg.name, cfg.resolution)
    train_x = _resize(official.train_x[train], shape.resolution)
    mean, std = _channel_stats(train_x)
    return DataSplits(
        dataset=cfg.name,
        train_x=train_x,
        val_x=_resize(official.train_x[val], shape.resolution),
        test_x=_resize(official.test_x[test], shape.resolution),
        train_y=official.train_y[train],
        val_y=official.train_y[val],
        test_y=official.test_y[test],
        mean=mean,
        std=std,
        input_shape=shape,
        augment=cfg.augment,
        provenance={
            "dataset": cfg.name,
            "root": str(directory),
            "requested_root": cfg.root,
            "files": record,
            "split_seed": cfg.split_seed,
            "sizes": {"train": len(train), "val": len(val), "test": len(test)},
            "official_sizes": {"train": len(official.train_y), "test": len(official.test_y)},
            "test_subset": "all" if len(test) == len(official.test_y) else f"seeded subset (seed {TEST_SUBSET_SEED})",
            "resolution": shape.resolution,
            "native_resolution": DATASET_SHAPES[cfg.name].resolution,
        },
    )


# --------------------------------------------------------------------------- saved splits

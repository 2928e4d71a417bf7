"""harness.data.datasets on small fixture files in the official formats, plus the real Debian Fashion-MNIST.

Every fixture image carries markers in its first pixel row: pixel 0 = a label marker, pixels 1-2
= a unique id (high, low byte). That lets a test trace any loaded image back to its source.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from harness.data import datasets as data
from harness.commands import prepare_data as prepare_data_command
from harness.data.datasets import DataConfig, DataSplits, load_dataset
from harness.data.store import load_splits, save_splits
from harness.errors import HarnessError

REAL_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def isolated_search(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may find data outside tmp_path unless it passes the root explicitly."""
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")


# ----------------------------------------------------------------------------- fixture writers


def marked_images(rng: np.random.Generator, markers: np.ndarray, ids: np.ndarray, channels: int, res: int) -> np.ndarray:
    images = rng.integers(0, 256, size=(len(ids), channels, res, res), dtype=np.uint8)
    images[:, 0, 0, 0] = markers
    images[:, 0, 0, 1] = ids // 256
    images[:, 0, 0, 2] = ids % 256
    return images


def ids_of(images: torch.Tensor) -> set[int]:
    return set((images[:, 0, 0, 1].long() * 256 + images[:, 0, 0, 2].long()).tolist())


def write_idx(path: Path, array: np.ndarray, magic: int | None = None) -> None:
    magic = magic if magic is not None else (0x0803 if array.ndim == 3 else 0x0801)
    content = struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(content))


def make_fashion(directory: Path, n_train: int = 300, n_test: int = 100) -> dict[str, np.ndarray]:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    arrays = {}
    for prefix, n, first_id in (("train", n_train, 0), ("t10k", n_test, 10_000)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        images = marked_images(rng, labels, np.arange(first_id, first_id + n), 1, 28)
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images[:, 0])
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[f"{prefix}_x"], arrays[f"{prefix}_y"] = images, labels
    return arrays


def write_pickle(path: Path, entry: object) -> None:
    path.write_bytes(pickle.dumps(entry, protocol=2))


def make_cifar(parent: Path, name: str, per_batch: int = 60, n_test: int = 50) -> Path:
    """CIFAR-10 (5 train batches) or CIFAR-100 (one train file) under parent; returns the folder."""
    classes, folder, label_key = (10, "cifar-10-batches-py", "labels") if name == "cifar10" else (100, "cifar-100-python", "fine_labels")
    directory = parent / folder
    directory.mkdir(parents=True)
    rng = np.random.default_rng(1)
    files = [f"data_batch_{i}" for i in range(1, 6)] if name == "cifar10" else ["train"]
    sizes = [per_batch] * len(files) if name == "cifar10" else [5 * per_batch]
    next_id = 0
    for stem, n in [*zip(files, sizes), ("test_batch" if name == "cifar10" else "test", n_test)]:
        labels = rng.integers(0, classes, size=n)
        images = marked_images(rng, labels, np.arange(next_id, next_id + n), 3, 32)
        next_id += n
        entry = {"data": images.reshape(n, -1), label_key: labels.tolist(), "batch_label": stem}
        if name == "cifar100":
            entry["coarse_labels"] = (labels // 5).tolist()
        write_pickle(directory / stem, entry)
    return directory


def make_imagenet16(parent: Path, per_batch: int = 40, n_val: int = 80) -> dict[str, np.ndarray]:
    """ImageNet16 with labels 1..240 (half kept by ImageNet16-120); returns all labels per split."""
    directory = parent / "ImageNet16"
    directory.mkdir(parents=True)
    rng = np.random.default_rng(2)
    train_labels, next_id = [], 0
    for stem, n in [*((f"train_data_batch_{i}", per_batch) for i in range(1, 11)), ("val_data", n_val)]:
        labels = rng.integers(1, 241, size=n)
        labels[:3] = (1, 120, 121)
        images = marked_images(rng, labels, np.arange(next_id, next_id + n), 3, 16)
        next_id += n
        write_pickle(directory / stem, {"data": images.reshape(n, -1), "labels": labels.tolist()})
        if stem != "val_data":
            train_labels.append(labels)
    return {"train": np.concatenate(train_labels), "val": labels}


def config(name: str, root: Path | str | None, /, **overrides: object) -> DataConfig:
    base = {"name": name, "root": str(root) if root else None, "train_images": 150, "val_images": 50,
            "test_images": None, "resolution": None, "split_seed": 0, "augment": False}
    return DataConfig.from_dict({**base, **overrides})


@pytest.fixture
def fashion(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "fmnist"
    return root, make_fashion(root)


# ----------------------------------------------------------------------------- loading


def test_fashion_mnist_images_and_labels_match_the_source(fashion) -> None:
    root, source = fashion
    splits = load_dataset(config("fashion-mnist", root, test_images=60))
    assert splits.train_x.shape == (150, 1, 28, 28) and splits.train_x.dtype == torch.uint8
    assert splits.val_x.shape == (50, 1, 28, 28) and splits.test_x.shape == (60, 1, 28, 28)
    assert splits.train_y.dtype == torch.int64
    for x, y, prefix, first_id in ((splits.train_x, splits.train_y, "train", 0), (splits.test_x, splits.test_y, "t10k", 10_000)):
        rows = (x[:, 0, 0, 1].long() * 256 + x[:, 0, 0, 2].long() - first_id).numpy()
        assert np.array_equal(x.numpy(), source[f"{prefix}_x"][rows])
        assert np.array_equal(y.numpy(), source[f"{prefix}_y"][rows])
    assert splits.input_shape == data.InputShape(channels=1, resolution=28, classes=10)
    files = splits.provenance["files"]
    assert [Path(f["path"]).name for f in files] == [
        "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in files)
    assert splits.provenance["sizes"] == {"train": 150, "val": 50, "test": 60}


@pytest.mark.parametrize("folder_itself", [False, True])
def test_cifar10_from_parent_or_extracted_folder(tmp_path: Path, folder_itself: bool) -> None:
    folder = make_cifar(tmp_path, "cifar10")
    splits = load_dataset(config("cifar10", folder if folder_itself else tmp_path, train_images=200, val_images=100))
    assert splits.train_x.shape == (200, 3, 32, 32)
    assert torch.equal(splits.train_x[:, 0, 0, 0].long(), splits.train_y)
    assert torch.equal(splits.test_x[:, 0, 0, 0].long(), splits.test_y) and len(splits.test_y) == 50
    assert splits.provenance["root"] == str(folder)
    assert len(splits.provenance["files"]) == 6


def test_cifar100_uses_fine_labels(tmp_path: Path) -> None:
    make_cifar(tmp_path, "cifar100")
    splits = load_dataset(config("cifar100", tmp_path))
    assert torch.equal(splits.train_x[:, 0, 0, 0].long(), splits.train_y)
    assert splits.train_y.max() >= 10  # fine (0..99), not coarse (0..19) labels
    assert splits.input_shape.classes == 100


def test_imagenet16_keeps_classes_1_to_120_as_0_to_119(tmp_path: Path) -> None:
    labels = make_imagenet16(tmp_path)
    n_train, n_val = int((labels["train"] <= 120).sum()), int((labels["val"] <= 120).sum())
    splits = load_dataset(config("ImageNet16-120", tmp_path, train_images=n_train - 20, val_images=20))
    for x, y in ((splits.train_x, splits.train_y), (splits.val_x, splits.val_y), (splits.test_x, splits.test_y)):
        assert torch.equal(x[:, 0, 0, 0].long(), y + 1)
    assert splits.provenance["official_sizes"] == {"train": n_train, "test": n_val}
    everything = torch.cat([splits.train_y, splits.val_y, splits.test_y])
    assert everything.min() == 0 and everything.max() == 119
    assert splits.train_x.shape[1:] == (3, 16, 16)


@pytest.mark.parametrize("name", ["fashion-mnist", "cifar10", "ImageNet16-120"])
def test_splits_are_disjoint_with_the_requested_sizes(tmp_path: Path, name: str) -> None:
    {"fashion-mnist": lambda: make_fashion(tmp_path), "cifar10": lambda: make_cifar(tmp_path, "cifar10"),
     "ImageNet16-120": lambda: make_imagenet16(tmp_path)}[name]()
    splits = load_dataset(config(name, tmp_path, train_images=100, val_images=30, test_images=25))
    assert (len(splits.train_y), len(splits.val_y), len(splits.test_y)) == (100, 30, 25)
    train, val, test = ids_of(splits.train_x), ids_of(splits.val_x), ids_of(splits.test_x)
    assert len(train) == 100 and len(val) == 30 and len(test) == 25
    assert not train & val and not train & test and not val & test


def test_same_seed_same_split_other_seed_other_split(fashion) -> None:
    root, _ = fashion
    first, again = (load_dataset(config("fashion-mnist", root, test_images=40)) for _ in range(2))
    other = load_dataset(config("fashion-mnist", root, test_images=40, split_seed=1))
    for key in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert torch.equal(getattr(first, key), getattr(again, key))
    assert ids_of(first.train_x) != ids_of(other.train_x)
    assert ids_of(first.val_x) != ids_of(other.val_x)
    assert torch.equal(first.test_x, other.test_x)  # the test subset does not depend on the split seed


def test_resize_is_antialiased_bilinear_and_stays_uint8(fashion) -> None:
    root, source = fashion
    native = load_dataset(config("fashion-mnist", root))
    small = load_dataset(config("fashion-mnist", root, resolution=16))
    assert small.train_x.shape == (150, 1, 16, 16) and small.train_x.dtype == torch.uint8
    assert small.input_shape.resolution == 16 and small.provenance["resolution"] == 16
    expected = F.interpolate(native.train_x.float(), size=(16, 16), mode="bilinear", antialias=True, align_corners=False)
    assert torch.equal(small.train_x, expected.round().clamp(0, 255).to(torch.uint8))
    assert torch.equal(small.train_y, native.train_y)


def test_mean_and_std_are_those_of_the_train_split(tmp_path: Path) -> None:
    make_cifar(tmp_path, "cifar10")
    splits = load_dataset(config("cifar10", tmp_path))
    pixels = splits.train_x.double() / 255
    assert np.allclose(splits.mean, pixels.mean(dim=(0, 2, 3)).numpy(), atol=1e-9)
    assert np.allclose(splits.std, pixels.std(dim=(0, 2, 3), unbiased=False).numpy(), atol=1e-9)
    assert len(splits.mean) == 3


# ----------------------------------------------------------------------------- batches


@pytest.fixture
def splits(fashion) -> DataSplits:
    root, _ = fashion
    return load_dataset(config("fashion-mnist", root, resolution=16, augment=True))


def test_unshuffled_batches_are_normalised_and_in_order(splits: DataSplits) -> None:
    batches = list(splits.batches("val", 16))
    assert [len(y) for _, y in batches] == [16, 16, 16, 2]
    x = torch.cat([b for b, _ in batches])
    assert x.dtype == torch.float32 and x.shape == (50, 1, 16, 16)
    expected = (splits.val_x.float() / 255 - splits.mean[0]) / splits.std[0]
    assert torch.allclose(x, expected, atol=1e-5)
    assert torch.equal(torch.cat([y for _, y in batches]), splits.val_y)
    train = torch.cat([b for b, _ in splits.batches("train", 64)])  # unshuffled: never augmented
    assert abs(train.mean().item()) < 1e-4 and abs(train.std(unbiased=False).item() - 1) < 1e-4


def test_drop_last_and_limit(splits: DataSplits) -> None:
    assert [len(y) for _, y in splits.batches("train", 64, drop_last=True)] == [64, 64]
    assert [len(y) for _, y in splits.batches("train", 64, limit=100)] == [64, 36]
    g = torch.Generator().manual_seed(0)
    assert sum(len(y) for _, y in splits.batches("train", 64, generator=g, limit=100)) == 100


def test_shuffled_batches_are_deterministic_given_the_generator(splits: DataSplits) -> None:
    def epoch(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(seed)
        pairs = list(splits.batches("train", 32, generator=g))
        return torch.cat([x for x, _ in pairs]), torch.cat([y for _, y in pairs])

    (x0, y0), (x0_again, y0_again), (x1, _) = epoch(0), epoch(0), epoch(1)
    assert torch.equal(x0, x0_again) and torch.equal(y0, y0_again)
    assert not torch.equal(x0, x1)
    assert sorted(y0.tolist()) == sorted(splits.train_y.tolist())  # a permutation: every image once


def test_augmentation_changes_images_by_crop_and_flip_only(splits: DataSplits) -> None:
    plain = torch.cat([x for x, _ in splits.batches("train", 50, generator=torch.Generator().manual_seed(3), augment=False)])
    augmented = torch.cat([x for x, _ in splits.batches("train", 50, generator=torch.Generator().manual_seed(3))])
    assert augmented.shape == plain.shape == (150, 1, 16, 16)
    assert not torch.equal(augmented, plain)
    # Every augmented image is one of the (2p+1)^2 crops of its zero-padded original, maybe flipped.
    padding = 16 // 8
    zero = -splits.mean[0] / splits.std[0]
    padded = F.pad(plain, (padding,) * 4, value=zero)
    for i in range(20):
        crops = [padded[i, :, dy : dy + 16, dx : dx + 16] for dy, dx in itertools.product(range(2 * padding + 1), repeat=2)]
        assert any(torch.allclose(augmented[i], c) or torch.allclose(augmented[i], c.flip(-1)) for c in crops)


def test_augmentation_defaults(splits: DataSplits) -> None:
    g = torch.Generator().manual_seed(0)
    val_shuffled = next(iter(splits.batches("val", 50, generator=g)))[0]
    val_order = torch.randperm(50, generator=torch.Generator().manual_seed(0))
    expected = (splits.val_x[val_order].float() / 255 - splits.mean[0]) / splits.std[0]
    assert torch.allclose(val_shuffled, expected, atol=1e-5)  # val: shuffled but not augmented
    with pytest.raises(ValueError, match="generator"):
        splits.batches("train", 8, augment=True)
    with pytest.raises(ValueError, match="split"):
        splits.batches("holdout", 8)


# ----------------------------------------------------------------------------- save / load


def test_save_and_load_round_trip(splits: DataSplits, tmp_path: Path) -> None:
    path = tmp_path / "out" / "dataset.pt"
    save_splits(splits, path)
    loaded = load_splits(path)
    for key in ("train_x", "val_x", "test_x", "train_y", "val_y", "test_y"):
        assert torch.equal(getattr(loaded, key), getattr(splits, key))
    assert loaded.describe() == splits.describe()
    assert loaded.input_shape == splits.input_shape and loaded.mean == splits.mean


def test_load_splits_missing_or_truncated_file(splits: DataSplits, tmp_path: Path) -> None:
    path = tmp_path / "dataset.pt"
    with pytest.raises(HarnessError, match="dataset.pt does not exist.*prepare-data"):
        load_splits(path)
    save_splits(splits, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(HarnessError, match="dataset.pt is truncated.*prepare-data"):
        load_splits(path)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "advice"),
    [("fashion-mnist", "apt-get install dataset-fashion-mnist"), ("cifar10", "cs.toronto.edu/~kriz"),
     ("cifar100", "cifar-100-python.tar.gz"), ("ImageNet16-120", "NATS-Bench")],
)
def test_missing_data_lists_every_place_and_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, advice: str) -> None:
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "harness-data"))
    with pytest.raises(HarnessError) as caught:
        load_dataset(config(name, tmp_path / "root"))
    message = str(caught.value)
    for directory in data.search_dirs(name, str(tmp_path / "root")):
        assert str(directory) in message
    assert str(tmp_path / "harness-data") in message and str(tmp_path / "home" / "data") in message
    assert advice in message


def test_partial_folder_is_reported(tmp_path: Path) -> None:
    folder = make_cifar(tmp_path, "cifar10")
    (folder / "test_batch").unlink()
    with pytest.raises(HarnessError, match="lacks test_batch"):
        load_dataset(config("cifar10", tmp_path))


def test_found_through_harness_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_fashion(tmp_path / "store" / "fashion-mnist")
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "store"))
    splits = load_dataset(config("fashion-mnist", None))
    assert splits.provenance["root"] == str(tmp_path / "store" / "fashion-mnist")


def test_truncated_gzip_names_the_file(fashion) -> None:
    root, _ = fashion
    path = root / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(HarnessError, match=r"train-images-idx3-ubyte.gz is corrupt.*re-download"):
        load_dataset(config("fashion-mnist", root))


def test_wrong_idx_magic_names_the_file(fashion) -> None:
    root, source = fashion
    write_idx(root / "t10k-labels-idx1-ubyte.gz", source["t10k_y"], magic=0x0803)
    with pytest.raises(HarnessError, match=r"t10k-labels-idx1-ubyte.gz is corrupt \(IDX magic number 0x00000803, expected 0x00000801"):
        load_dataset(config("fashion-mnist", root))


def test_wrong_idx_sizes_name_the_file(fashion) -> None:
    root, source = fashion
    header = struct.pack(">4I", 0x0803, 300, 28, 28)
    (root / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + source["train_x"].tobytes()[:-5]))
    with pytest.raises(HarnessError, match="train-images-idx3-ubyte.gz is corrupt.*header says"):
        load_dataset(config("fashion-mnist", root))
    write_idx(root / "train-images-idx3-ubyte.gz", source["train_x"][:, 0])
    write_idx(root / "train-labels-idx1-ubyte.gz", source["train_y"][:-1])
    with pytest.raises(HarnessError, match="train-labels-idx1-ubyte.gz is corrupt.*299 labels for 300 images"):
        load_dataset(config("fashion-mnist", root))


def test_unpicklable_file_names_it(tmp_path: Path) -> None:
    folder = make_cifar(tmp_path, "cifar10")
    (folder / "data_batch_3").write_bytes((folder / "data_batch_3").read_bytes()[:500])
    with pytest.raises(HarnessError, match=r"data_batch_3 is corrupt \(cannot unpickle.*re-download"):
        load_dataset(config("cifar10", tmp_path))


def test_pickle_with_wrong_shape_names_it(tmp_path: Path) -> None:
    make_imagenet16(tmp_path)
    write_pickle(tmp_path / "ImageNet16" / "val_data", {"data": np.zeros((4, 700), np.uint8), "labels": [1, 2, 3, 4]})
    with pytest.raises(HarnessError, match=r"val_data is corrupt.*expected uint8 of shape \(N, 768\)"):
        load_dataset(config("ImageNet16-120", tmp_path, train_images=10, val_images=10))


def test_too_many_images_requested_names_the_key_and_the_count(fashion) -> None:
    root, _ = fashion
    with pytest.raises(HarnessError, match=r"dataset.train_images \+ dataset.val_images = 290 \+ 50 .* has 300 images; lower dataset.train_images to at most 250"):
        load_dataset(config("fashion-mnist", root, train_images=290))
    with pytest.raises(HarnessError, match="dataset.test_images = 101 .* has 100 images"):
        load_dataset(config("fashion-mnist", root, test_images=101))


@pytest.mark.parametrize(
    ("change", "pattern"),
    [({"name": "imagenet"}, "dataset.name 'imagenet' is not supported"), ({"train_images": 0}, "dataset.train_images must be"),
     ({"val_images": "5"}, "dataset.val_images must be"), ({"resolution": 0}, "dataset.resolution must be"),
     ({"augment": "yes"}, "dataset.augment must be"), ({"colour": True}, r"unknown key\(s\) \['colour'\]")],
)
def test_config_errors(change: dict, pattern: str) -> None:
    with pytest.raises(HarnessError, match=pattern):
        config("fashion-mnist", None, **change)


def test_config_missing_key() -> None:
    with pytest.raises(HarnessError, match=r"missing key\(s\) \['split_seed'\]"):
        DataConfig.from_dict({"name": "cifar10", "train_images": 1, "val_images": 0, "augment": False})


# ----------------------------------------------------------------------------- CLI


def prepare_data(*argv: str) -> int:
    """The command through its own parser (not harness.cli, which imports every command)."""
    parser = argparse.ArgumentParser()
    prepare_data_command.add_arguments(parser)
    return prepare_data_command.run(parser.parse_args(argv))


def test_prepare_data_command(fashion, tmp_path: Path) -> None:
    root, _ = fashion
    run_config = tmp_path / "run_config.json"
    run_config.write_text(json.dumps({"dataset": {"name": "fashion-mnist", "root": str(root), "train_images": 100,
                                                  "val_images": 20, "split_seed": 4, "augment": True, "resolution": 16}}))
    output, meta = tmp_path / "results" / "data" / "dataset.pt", tmp_path / "results" / "data" / "dataset.json"
    assert prepare_data_command.NAME == "prepare-data"
    assert prepare_data("--config", str(run_config), "--output", str(output), "--meta", str(meta)) == 0
    loaded = load_splits(output)
    record = json.loads(meta.read_text())
    assert record["provenance"]["sizes"] == {"train": 100, "val": 20, "test": 100}
    assert record["config"]["split_seed"] == 4 and record["input_shape"]["resolution"] == 16
    assert record["mean"] == list(loaded.mean) and loaded.augment
    run_config.write_text(json.dumps({"space": "x"}))
    with pytest.raises(HarnessError, match="no key 'dataset'"):
        prepare_data("--config", str(run_config), "--output", str(output), "--meta", str(meta))
    with pytest.raises(HarnessError, match="missing.json does not exist"):
        prepare_data("--config", str(tmp_path / "missing.json"), "--output", str(output), "--meta", str(meta))


# ----------------------------------------------------------------------------- real data


def test_real_debian_fashion_mnist() -> None:
    if not REAL_FASHION_MNIST.is_dir():
        pytest.fail(f"{REAL_FASHION_MNIST} is missing; install it with `apt-get install dataset-fashion-mnist`")
    full = load_dataset(config("fashion-mnist", REAL_FASHION_MNIST, train_images=58_000, val_images=2_000))
    assert full.provenance["official_sizes"] == {"train": 60_000, "test": 10_000}
    assert full.train_x.shape == (58_000, 1, 28, 28) and full.test_x.shape == (10_000, 1, 28, 28)
    assert torch.bincount(full.test_y).tolist() == [1_000] * 10
    assert 0.25 < full.mean[0] < 0.32 and 0.33 < full.std[0] < 0.37
    with pytest.raises(HarnessError, match="has 60000 images"):
        load_dataset(config("fashion-mnist", REAL_FASHION_MNIST, train_images=58_001, val_images=2_000))

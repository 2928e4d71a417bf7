"""harness.data.imagenet on a tiny ImageFolder tree: splits, determinism, batches, errors, and the
prepare-data manifest that load_splits dispatches on.

Fixture images: every training image's red channel is constant at its class's marker (40, 120,
200), so a batch's labels can be checked against its pixels whatever the crop; green and blue hold
noise (PNG) so that crops differ, or are flat (JPEG, whose chroma subsampling would blur the
red marker of a noisy image).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from harness.data import imagenet
from harness.commands import prepare_data as prepare_data_command
from harness.data.store import load_splits
from harness.errors import HarnessError
from harness.data.imagenet import ImageFolderSplits, ImageNetConfig, load_imagenet

CLASSES = ("n01440764", "n01443537", "n01484850")
MARKERS = (40, 120, 200)
TRAIN_PER_CLASS, VAL_PER_CLASS = 6, 2
RES = 32


@pytest.fixture(autouse=True)
def isolated_search(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test may find data outside tmp_path unless it passes the root explicitly."""
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.delenv(imagenet.WORKERS_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def write_image(path: Path, marker: int, width: int, height: int, rng: np.random.Generator) -> None:
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[..., 0] = marker
    jpeg = path.suffix.lower() in (".jpeg", ".jpg")
    pixels[..., 1:] = 90 if jpeg else rng.integers(0, 256, size=(height, width, 2), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=95) if jpeg else Image.fromarray(pixels).save(path)


def make_tree(root: Path) -> Path:
    """root/train/<wnid>/ (6 images each, one a JPEG, sizes vary) and root/val/<wnid>/ (2 each)."""
    rng = np.random.default_rng(0)
    for wnid, marker in zip(CLASSES, MARKERS):
        for i in range(TRAIN_PER_CLASS):
            suffix = ".JPEG" if i == 0 else ".png"
            write_image(root / "train" / wnid / f"{wnid}_{i}{suffix}", marker, 40 + 4 * i, 32 + 2 * i, rng)
        for i in range(VAL_PER_CLASS):
            write_image(root / "val" / wnid / f"ILSVRC2012_val_{wnid}_{i}.png", marker, 36, 48, rng)
    (root / "train" / CLASSES[0] / "README.txt").write_text("not an image")  # ignored: not an image extension
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "imagenet")


def config(root: Path | None, **changes) -> ImageNetConfig:
    values = {"name": "imagenet", "root": None if root is None else str(root), "resolution": RES,
              "train_images": None, "val_images": 6, "test_images": None, "split_seed": 0, "augment": True}
    return ImageNetConfig.from_dict({**values, **changes})


def red_markers(images: torch.Tensor) -> torch.Tensor:
    """Mean red value (0-255 scale) of each normalised image."""
    mean, std = imagenet.IMAGENET_MEAN[0], imagenet.IMAGENET_STD[0]
    return (images[:, 0] * std + mean).mul(255).mean(dim=(1, 2))


def labels_match_pixels(images: torch.Tensor, labels: torch.Tensor) -> bool:
    expected = torch.tensor(MARKERS, dtype=torch.float32)[labels]
    return bool(((red_markers(images) - expected).abs() < 8).all())


# ----------------------------------------------------------------------------- splits


def test_splits_follow_the_spos_protocol(tree: Path) -> None:
    splits = load_imagenet(config(tree))
    assert splits.provenance["sizes"] == {"train": 12, "val": 6, "test": 6}
    assert splits.provenance["official_sizes"] == {"train": 18, "test": 6}
    assert set(splits.files["train"]).isdisjoint(splits.files["val"])
    everything = {f"{w}/{w}_{i}{'.JPEG' if i == 0 else '.png'}" for w in CLASSES for i in range(TRAIN_PER_CLASS)}
    assert set(splits.files["train"]) | set(splits.files["val"]) == everything  # README.txt skipped
    assert sorted(splits.files["test"]) == splits.files["test"]  # all of the official val set, in order
    for split in ("train", "val", "test"):
        files, labels = splits.split(split)
        assert labels.dtype == torch.int64 and len(labels) == len(files)
        assert [CLASSES[int(label)] for label in labels] == [name.split("/")[0] for name in files]
        assert all(path.is_file() for path in splits.paths(split))
    assert splits.input_shape.resolution == RES and splits.input_shape.classes == 1000
    assert splits.provenance["classes"] == 3 and not splits.provenance["looks_like_full_ilsvrc2012"]


def test_train_images_caps_the_rest_and_test_images_subsets(tree: Path) -> None:
    assert len(load_imagenet(config(tree, train_images=5)).train_y) == 5
    assert len(load_imagenet(config(tree, train_images=10_000)).train_y) == 12  # more than the rest: the rest
    small = load_imagenet(config(tree, test_images=4))
    assert len(small.test_y) == 4 and small.provenance["test_subset"] == "seeded subset (seed 0)"
    assert small.files["test"] == load_imagenet(config(tree, test_images=4, split_seed=3)).files["test"]


def test_split_is_deterministic_in_the_seed(tree: Path) -> None:
    first, again = load_imagenet(config(tree)), load_imagenet(config(tree))
    other = load_imagenet(config(tree, split_seed=1))
    assert first.files == again.files and torch.equal(first.val_y, again.val_y)
    assert first.files["val"] != other.files["val"]
    assert first.provenance["classes_sha256"] == other.provenance["classes_sha256"]
    assert first.provenance["listing_sha256"] == other.provenance["listing_sha256"]


def test_too_many_images_requested_name_the_key(tree: Path) -> None:
    with pytest.raises(HarnessError, match=r"dataset.val_images = 18 .* only 18 images"):
        load_imagenet(config(tree, val_images=18))
    with pytest.raises(HarnessError, match=r"dataset.test_images = 7 .* has 6 images"):
        load_imagenet(config(tree, test_images=7))
    with pytest.raises(HarnessError, match=r"unknown key\(s\) \['colour'\]"):
        config(tree, colour=True)


# ----------------------------------------------------------------------------- batches


def test_evaluation_batches_are_resized_centre_crops(tree: Path) -> None:
    splits = load_imagenet(config(tree), num_workers=0)
    batches = list(splits.batches("test", 4))
    assert [len(labels) for _, labels in batches] == [4, 2]
    images = torch.cat([x for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    assert images.shape == (6, 3, RES, RES) and images.dtype == torch.float32
    assert torch.equal(labels, splits.test_y)  # unshuffled: the split's order
    assert labels_match_pixels(images, labels)
    # The first image by hand: shorter side to 37 (= 32 * 256 / 224), centre crop 32, normalised.
    from torchvision.transforms import functional as TF
    with Image.open(splits.paths("test")[0]) as opened:
        image = TF.center_crop(TF.resize(opened.convert("RGB"), 37, antialias=True), [RES, RES])
    mean = torch.tensor(imagenet.IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(imagenet.IMAGENET_STD).view(3, 1, 1)
    expected = (TF.pil_to_tensor(image).float() / 255 - mean) / std
    assert torch.allclose(images[0], expected, atol=1e-5)


def test_limit_drop_last_and_shuffled_subset(tree: Path) -> None:
    splits = load_imagenet(config(tree), num_workers=0)
    assert [len(y) for _, y in splits.batches("train", 5, drop_last=True)] == [5, 5]
    assert sum(len(y) for _, y in splits.batches("val", 4, limit=5)) == 5
    picked = torch.cat([y for _, y in splits.batches("train", 4, generator=torch.Generator().manual_seed(1),
                                                       augment=False, limit=7)])
    assert len(picked) == 7
    with pytest.raises(ValueError, match="augmentation needs a generator"):
        splits.batches("train", 4, augment=True)
    with pytest.raises(ValueError, match="unknown split"):
        splits.batches("holdout", 4)


def test_augmented_passes_are_reproducible_from_the_generator_seed(tree: Path) -> None:
    splits = load_imagenet(config(tree), num_workers=0)

    def one_pass(seed: int, workers: int) -> tuple[torch.Tensor, torch.Tensor]:
        splits.num_workers = workers
        batches = list(splits.batches("train", 4, generator=torch.Generator().manual_seed(seed)))
        return torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])

    x, y = one_pass(7, workers=0)
    assert x.shape == (12, 3, RES, RES)
    assert labels_match_pixels(x, y)
    again_x, again_y = one_pass(7, workers=2)  # the same pass decoded by two worker processes
    assert torch.equal(x, again_x) and torch.equal(y, again_y)
    other_x, other_y = one_pass(8, workers=0)
    assert not torch.equal(x, other_x)
    # Augmented crops differ from the evaluation transform of the same images.
    plain = torch.cat([b for b, _ in splits.batches("train", 12, generator=torch.Generator().manual_seed(7),
                                                     augment=False)])
    assert not torch.equal(plain, x)


def test_workers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(imagenet.WORKERS_ENV, "3")
    assert imagenet.default_workers() == 3
    monkeypatch.setenv(imagenet.WORKERS_ENV, "many")
    with pytest.raises(HarnessError, match="HARNESS_DATA_WORKERS must be a whole number"):
        imagenet.default_workers()
    monkeypatch.delenv(imagenet.WORKERS_ENV)
    assert 1 <= imagenet.default_workers() <= imagenet.MAX_DEFAULT_WORKERS


def test_the_harness_consumes_it_like_data_splits(tree: Path) -> None:
    from harness.training.retrain import accuracy

    splits = load_imagenet(config(tree), num_workers=0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(4, splits.input_shape.classes))
    assert 0.0 <= accuracy(model, splits, "val", torch.device("cpu"), batch_size=4) <= 1.0
    described = splits.describe()
    assert set(described) == {"dataset", "input_shape", "mean", "std", "augment", "provenance"}  # as DataSplits
    assert described["dataset"] == "imagenet" and described["input_shape"]["resolution"] == RES
    json.dumps(described)  # plain metadata


# ----------------------------------------------------------------------------- errors


def test_missing_root_names_every_path_and_how_to_get_imagenet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(HarnessError) as err:
        load_imagenet(config(tmp_path / "nowhere"))
    message = str(err.value)
    assert f"{tmp_path / 'nowhere'} (does not exist)" in message
    assert "image-net.org" in message and "ILSVRC2012" in message and "valprep" in message

    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "store"))
    with pytest.raises(HarnessError) as err:
        load_imagenet(config(None))
    message = str(err.value)
    for looked in (tmp_path / "store" / "imagenet", tmp_path / "home" / "data" / "imagenet",
                   tmp_path / "store" / "ILSVRC2012"):
        assert str(looked) in message
    assert "dataset.root is null" in message


def test_found_under_harness_data(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_DATA", str(tree.parent))
    assert load_imagenet(config(None)).provenance["root"] == str(tree)


def test_missing_or_unsorted_val_folder_is_explained(tree: Path) -> None:
    for wnid in CLASSES:
        for image in (tree / "val" / wnid).iterdir():
            image.rename(tree / "val" / image.name)
        (tree / "val" / wnid).rmdir()
    with pytest.raises(HarnessError, match=r"6 images lie directly in it: the validation set is not sorted.*valprep"):
        load_imagenet(config(tree))
    for image in (tree / "val").iterdir():
        image.unlink()
    (tree / "val").rmdir()
    with pytest.raises(HarnessError, match=r"exists but has no val/ folder"):
        load_imagenet(config(tree))


def test_empty_class_folder_and_foreign_val_class(tree: Path) -> None:
    (tree / "val" / "n99999999").mkdir()
    with pytest.raises(HarnessError, match="class folder.*that .* lacks \\(n99999999\\)"):
        load_imagenet(config(tree))
    (tree / "val" / "n99999999").rmdir()
    (tree / "train" / "n00000000").mkdir()
    with pytest.raises(HarnessError, match=r"hold no images \(n00000000\)"):
        load_imagenet(config(tree))


def test_unreadable_image_names_the_file(tree: Path) -> None:
    splits = load_imagenet(config(tree), num_workers=0)
    broken = splits.paths("test")[0]
    broken.write_bytes(b"not a png")
    with pytest.raises(HarnessError, match=f"{broken}.*unreadable"):
        list(splits.batches("test", 4))


# ----------------------------------------------------------------------------- prepare-data and load_splits


def prepare_data(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    prepare_data_command.add_arguments(parser)
    return prepare_data_command.run(parser.parse_args(argv))


def run_config(path: Path, root: Path | None, **changes) -> Path:
    dataset = {"name": "imagenet", "root": None if root is None else str(root), "resolution": RES,
               "train_images": 1_231_167, "val_images": 6, "test_images": None, "split_seed": 0,
               "augment": True, **changes}
    path.write_text(json.dumps({"dataset": dataset}))
    return path


def test_prepare_data_writes_a_manifest_that_load_splits_reads(tree: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(imagenet.WORKERS_ENV, "0")
    output, meta = tmp_path / "data" / "dataset.pt", tmp_path / "data" / "dataset.json"
    assert prepare_data("--config", str(run_config(tmp_path / "run.json", tree)),
                        "--output", str(output), "--meta", str(meta)) == 0
    assert output.stat().st_size < 20_000  # names and labels only, no pixels
    direct = load_imagenet(config(tree))
    loaded = load_splits(output)
    assert isinstance(loaded, ImageFolderSplits)
    assert loaded.files == direct.files and loaded.root == tree
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(loaded, f"{split}_y"), getattr(direct, f"{split}_y"))
    assert loaded.input_shape == direct.input_shape and loaded.mean == imagenet.IMAGENET_MEAN
    x, y = next(iter(loaded.batches("val", 6)))
    assert x.shape == (6, 3, RES, RES) and labels_match_pixels(x, y)
    record = json.loads(meta.read_text())
    assert record["dataset"] == "imagenet" and record["config"]["val_images"] == 6
    assert record["provenance"]["sizes"] == {"train": 12, "val": 6, "test": 6}
    assert len(record["provenance"]["classes_sha256"]) == 64 and "no per-file SHA-256" in record["provenance"]["integrity"]
    assert CLASSES[0] + "_1.png" not in meta.read_text()  # no file lists in the provenance


def test_manifest_whose_images_moved_says_so(tree: Path, tmp_path: Path) -> None:
    output = tmp_path / "dataset.pt"
    imagenet.save_manifest(load_imagenet(config(tree)), output)
    tree.rename(tmp_path / "moved")
    with pytest.raises(HarnessError, match=f"names root {tree}.*not there on this machine.*prepare-data"):
        load_splits(output)


def test_prepare_data_without_imagenet_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"ImageNet not found: .*dataset.root is null.*image-net.org"):
        prepare_data("--config", str(run_config(tmp_path / "run.json", None)),
                     "--output", str(tmp_path / "d.pt"), "--meta", str(tmp_path / "d.json"))
    assert not (tmp_path / "d.pt").exists()

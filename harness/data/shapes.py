"""Native input shape of every dataset the harness knows (one place for this fact)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError


@dataclass(frozen=True)
class InputShape:
    """What a network is built for: image channels, resolution and number of classes."""

    channels: int
    resolution: int
    classes: int


DATASET_SHAPES: dict[str, InputShape] = {
    "fashion-mnist": InputShape(channels=1, resolution=28, classes=10),
    "cifar10": InputShape(channels=3, resolution=32, classes=10),
    "cifar100": InputShape(channels=3, resolution=32, classes=100),
    "ImageNet16-120": InputShape(channels=3, resolution=16, classes=120),
    "imagenet": InputShape(channels=3, resolution=224, classes=1000),
}


def dataset_shape(name: str, resolution: int | None = None) -> InputShape:
    """The input shape of `name`, optionally resized to `resolution` pixels."""
    if name not in DATASET_SHAPES:
        raise HarnessError(f"unknown dataset {name!r}; known: {', '.join(DATASET_SHAPES)}")
    shape = DATASET_SHAPES[name]
    if resolution is None:
        return shape
    return InputShape(channels=shape.channels, resolution=resolution, classes=shape.classes)
